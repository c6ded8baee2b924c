#!/bin/bash
# A BIOS PC (QEMU TCG, SeaBIOS, e1000 with the stock iPXE ROM, -boot n)
# PXE-boots from `linkboot serve --dhcp full` in a network namespace:
# DHCP -> iPXE fetches /boot.ipxe?mac= over HTTP -> the kernel and initrd
# of the image linked to its MAC -> the test initramfs prints a marker.
# Asserts the marker and that the kernel got the linkboot.* parameters of
# its link.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

qemu_requires
e2e_requires_cli image client
e2e_kernel
requires sfdisk --version
requires mkfs.ext4 -V

LB_STATE=$TMP/state
MARKER=LINKBOOT-E2E-BIOS-$RANDOM
MAC=$(e2e_mac 1)
e2e_link_marker_client "$MAC" "$MARKER"

net_setup
net_add_tap tap0
e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199
e2e_requires_ports udp:67 tcp:80

qemu_start_bios bios "$MAC" tap0
e2e_boot_marker bios "$MARKER" 180

# the script was generated for this MAC's link
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.ticket=t1-" "a boot ticket on the kernel cmdline"
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC" "linkboot.mac= of this PC"
assert_contains "$QEMU_LOG" "^cmdline: .*console=ttyS0" "the image's --cmdline"
assert_contains "$LB_LOG" "$MAC" "the server logged the client"
