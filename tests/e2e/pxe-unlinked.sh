#!/bin/bash
# An unknown MAC, then a live link: a BIOS PC whose MAC is not linked
# shows the screen that names its MAC and the exact fix command, and keeps
# retrying; `linkboot client add` on the server (no restart, no hand on
# the PC) then boots it to the marker of the linked image.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

pxe_requires
MAC=$(e2e_mac 1)
pxe_setup LIVE	# the image only: MAC is linked below

qemu_start_bios unlinked "$MAC" tap0
qemu_expect unlinked "linkboot client add $MAC --image" 120 \
	"the 'not linked' screen with the fix command"
assert_contains "$QEMU_LOG" "not linked to an image" "unknown-MAC screen"
grep -q "$MARKER" "$QEMU_LOG" && die "an unlinked PC booted the image"

lbc client add "$MAC" --image e2e >/dev/null || die "client add $MAC"
e2e_boot_marker unlinked 120
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC" "linkboot.mac= of this PC"
