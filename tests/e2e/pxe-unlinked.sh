#!/bin/bash
# An unknown MAC, then a live link: a BIOS PC whose MAC is not linked
# shows the screen that names its MAC and the exact fix command, and keeps
# retrying; `linkboot client add` on the server (no restart, no hand on
# the PC) then boots it to the marker of the linked image.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

qemu_requires
e2e_requires_cli image client
e2e_kernel
requires sfdisk --version
requires mkfs.ext4 -V

LB_STATE=$TMP/state
MARKER=LINKBOOT-E2E-LIVE-$RANDOM
MAC=$(e2e_mac 1)
e2e_marker_image "$MARKER"

net_setup
net_add_tap tap0
e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199
e2e_requires_ports udp:67 tcp:80

qemu_start_bios unlinked "$MAC" tap0
qemu_wait "linkboot client add $MAC --image" 120 || {
	qemu_dump unlinked 40
	die "no 'not linked' screen with the fix command for $MAC"
}
assert_contains "$QEMU_LOG" "not linked to an image" "unknown-MAC screen"
grep -q "$MARKER" "$QEMU_LOG" && die "an unlinked PC booted the image"

lbc client add "$MAC" --image e2e >/dev/null || die "client add $MAC"
e2e_boot_marker unlinked "$MARKER" 120
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC" "linkboot.mac= of this PC"
