#!/bin/bash
# Not part of `make check`: it tests Debian's tgtd and the SAN recipe, not
# linkboot (tests/e2e/san-boot.sh boots the same disk from linkboot). Kept
# as the peer reference for SAN boot times and initiator behaviour.
# SAN boot the way a Windows-class PC does it, with a Debian 12 disk as the
# stand-in OS (tests/e2e/lib-san.sh): the PC's stock iPXE (NIC ROM) gets
# `sanboot iscsi:198.18.0.1:::1:<iqn>` from DHCP + TFTP (dnsmasq) and boots
# the disk from Debian's tgtd in a network namespace:
#   BIOS  SeaBIOS + pxe-e1000.rom: INT 13h -> MBR -> GRUB core.img
#   UEFI  OVMF + efi-e1000.rom: block I/O -> \EFI\BOOT\BOOTX64.EFI (GRUB)
# then the disk's kernel and initramfs, whose open-iscsi logs in again from
# the iBFT iPXE left, and systemd up to multi-user.target. Asserts, for each:
#   - the guest reached multi-user.target (its report unit's marker)
#   - it booted on the firmware asked for (/sys/firmware/efi or not)
#   - root is on the iSCSI disk: the root device's sysfs path is under an
#     iSCSI session, whose target is ours, and its by-path name says
#     iscsi-<target>-lun-<lun>
#   - the iBFT was there, naming our initiator, target, LUN and the NIC's MAC
#   - no systemd unit failed
# SAN_FW="bios uefi" picks the boots (also uefi-virtio: OVMF's own PXE ->
# snponly.efi -> script); SAN_TARGET picks the target (lib-san.sh);
# SAN_CAPTURE=1 records port 3260 with tshark and prints what the initiators
# used; SAN_KEEP=DIR keeps the serial logs.
# Runtime here: ~1 min to build the disk the first time (+2 min debootstrap;
# both cached under ~/.cache/linkboot), then 90-130 s per boot (TCG on 2 busy
# cores); it prints its numbers. Findings: tests/e2e/SAN-NOTES.md.
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/tests/e2e/lib-qemu.sh"
. "$TOP/tests/e2e/lib-san.sh"

san_requires
T0=$(date +%s)
san_image "$TMP/san-disk.img"
san_net_setup
san_target_start "$TMP/san-disk.img"

for fw in ${SAN_FW:-bios uefi}; do
	san_boot "san-$fw" "$fw" "${SAN_BOOT_SECS:-400}"
	log=$QEMU_LOG
	grep -E '^SAN[:-]|^GRUB:|SAN-IPXE' "$log" | grep -v '^SAN: journal' | head -n 40
	case $fw in
	bios) want=bios ;;
	*) want=efi ;;
	esac
	assert_contains "$log" "^SAN: firmware $want\$" "$fw: booted by the $want firmware"
	assert_contains "$log" "^SAN: root /dev/sd[a-z]+[0-9] ext4 " "$fw: root is a SCSI disk's partition, ext4"
	assert_contains "$log" "^SAN: rootsys /sys/devices/platform/host[0-9]+/session[0-9]+/" \
		"$fw: the root device hangs under an iSCSI session"
	assert_contains "$log" "^SAN: sysfs session[0-9]+ $SAN_TARGET_IQN $SAN_INITIATOR_IQN\$" \
		"$fw: the session is ours (target, initiator from the iBFT)"
	assert_contains "$log" "^SAN: rootdisk ip-$E2E_SERVER_IP:3260-iscsi-$SAN_TARGET_IQN-lun-$SAN_LUN\$" \
		"$fw: the root disk is LUN $SAN_LUN of our target"
	assert_contains "$log" "^SAN: ibft initiator=$SAN_INITIATOR_IQN target=$SAN_TARGET_IQN lun=$(san_ibft_lun) ip=198\.18\.0\.[0-9]+ mac=$SAN_MAC" \
		"$fw: the iBFT iPXE left"
	if grep -q '^SAN: failed unit' "$log"; then
		grep '^SAN: journal' "$log" >&2
		die "$fw: systemd units failed: $(grep -o 'SAN: failed unit.*' "$log" | cut -d' ' -f4 | tr '\n' ' ')"
	fi
	[ "${SAN_CAPTURE:-0}" = 1 ] && san_capture_report "$TMP/san-$fw.pcapng" "$QEMU_T0"
done
echo "san-tgtd: ${SAN_FW:-bios uefi} passed in $(( $(date +%s) - T0 )) s"
