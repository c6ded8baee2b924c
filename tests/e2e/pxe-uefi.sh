#!/bin/bash
# UEFI PCs (QEMU TCG, OVMF) PXE-boot from `linkboot serve --dhcp full`:
#  1. e1000 with iPXE's EFI ROM (efi-e1000.rom): iPXE does DHCP and
#     fetches /boot.ipxe?mac= over HTTP;
#  2. virtio-net without ROM (romfile=): OVMF's own PXE -> TFTP
#     snponly.efi -> iPXE -> HTTP script.
# Both reach the marker of the test initramfs linked to their MAC; on EFI
# the kernel needs initrd=<name> on its cmdline (asserted).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

pxe_requires
[ -f "$OVMF_FD" ] || skip "no $OVMF_FD (apt-get install ovmf)"
MAC1=$(e2e_mac 1)
MAC2=$(e2e_mac 2)
pxe_setup UEFI "$MAC1" "$MAC2"

qemu_start_uefi_e1000 uefi-e1000 "$MAC1" tap0
e2e_boot_marker uefi-e1000 240
assert_contains "$QEMU_LOG" "^cmdline: .*initrd=" "initrd= on the EFI kernel cmdline"
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC1" "linkboot.mac= of PC 1"

qemu_start_uefi_virtio uefi-virtio "$MAC2" tap1
e2e_boot_marker uefi-virtio 240
assert_contains "$QEMU_LOG" "NBP file downloaded successfully" "OVMF PXE loaded iPXE over TFTP"
assert_contains "$QEMU_LOG" "^cmdline: .*initrd=" "initrd= on the EFI kernel cmdline"
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC2" "linkboot.mac= of PC 2"
