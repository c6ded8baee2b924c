#!/bin/bash
# A BIOS PC (QEMU TCG, SeaBIOS, e1000 with the stock iPXE ROM, -boot n)
# PXE-boots from `linkboot serve --dhcp full` in a network namespace:
# DHCP -> iPXE fetches /boot.ipxe?mac= over HTTP -> the kernel and initrd
# of the image linked to its MAC -> the test initramfs prints a marker.
# Asserts the marker and that the kernel got the linkboot.* parameters of
# its link.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

pxe_requires
MAC=$(e2e_mac 1)
pxe_setup BIOS "$MAC"

qemu_start_bios bios "$MAC" tap0
e2e_boot_marker bios 180

# the script was generated for this MAC's link
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.ticket=t1-" "a boot ticket on the kernel cmdline"
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC" "linkboot.mac= of this PC"
assert_contains "$QEMU_LOG" "^cmdline: .*console=ttyS0" "the image's --cmdline"
assert_contains "$LB_LOG" "$MAC" "the server logged the client"
