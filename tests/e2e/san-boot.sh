#!/bin/bash
# e2e: Windows-class PCs boot from linkboot's iSCSI target the way Windows
# does, with a Debian 12 disk installed the ordinary way (GPT, GRUB on the
# disk, the disk's own kernel, an initramfs whose open-iscsi finds its root
# through the iBFT; tests/e2e/lib-san.sh). Everything comes from `linkboot
# serve` in a network namespace: DHCP, iPXE over TFTP, the PC's boot script
# over HTTP (`client add --boot san`: sanboot of the PC's own target with
# its boot's CHAP login), the disk over iSCSI.
#   PC A, the super client, BIOS: its disk hooked (sanhook), the admin's
#     install script (<root>/install/IMAGE.ipxe, the place for a Windows
#     installer) runs and boots the hooked disk; multi-user.target, root
#     on the iSCSI session iPXE's iBFT describes; what it wrote becomes v2
#     with `linkboot image commit`
#   PC B, UEFI: boots v2 and sees A's write (OVMF + the NIC's iPXE EFI
#     ROM); booted again (OVMF's own PXE -> snponly.efi from linkboot's
#     TFTP -> the script) it does not see its own first boot's write
#     (restore on reboot)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"
SAN_MARKER=SAN-FROZEN
. "$(dirname "$0")/lib-san.sh"
san_requires
e2e_requires_cli image client
requires sqlite3 --version

san_image "$TMP/san.img"
LB_STATE=$TMP/state
t0=$(date +%s)
lbc image add sandeb "$TMP/san.img" --move >"$TMP/add.log" 2>&1 ||
	{ cat "$TMP/add.log"; die "image add"; }
echo "image add: $(( $(date +%s) - t0 )) s"
MAC_A=$(e2e_mac 1) MAC_B=$(e2e_mac 2)
lbc client add "$MAC_A" --image sandeb --boot san >/dev/null || die "client add A"
lbc client add "$MAC_B" --image sandeb --boot san >/dev/null || die "client add B"
lbc client super "$MAC_A" on >/dev/null || die "client super A"
# the super client's install hook: here it only says so and boots the
# hooked disk, as an installer's script would after setup
mkdir -p "$TMP/www/install"
printf '#!ipxe\necho SAN-INSTALL-HOOK ran\nsanboot --drive 0x80\n' \
	>"$TMP/www/install/sandeb.ipxe"
pxe_network 1
e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199 --iscsi-port 3260 \
	--root "$TMP/www"
e2e_requires_ports udp:67 udp:69 tcp:80 tcp:3260

# what a boot's serial console says: root, iBFT, sessions, boots before
san_check() {	# san_check NAME FIRMWARE MAC BOOTS-BEFORE
	local hex
	hex=$(echo "$3" | tr -d :)
	assert_contains "$QEMU_LOG" "SAN: firmware $2" "$1: $2 firmware"
	assert_contains "$QEMU_LOG" 'SAN: root /dev/sd[a-z]3 ext4' "$1: root on the SAN disk"
	assert_contains "$QEMU_LOG" "SAN: ibft initiator=iqn.2026-12.org.linkboot.pc:$hex target=iqn.2026-12.org.linkboot:pc.$hex lun=0" \
		"$1: the iBFT names the PC's own initiator and target"
	assert_contains "$QEMU_LOG" "SAN: sysfs session[0-9]+ iqn.2026-12.org.linkboot:pc.$hex iqn.2026-12.org.linkboot.pc:$hex" \
		"$1: the OS's initiator took over the session"
	assert_contains "$QEMU_LOG" "SAN: boots before $4\$" "$1: the disk held $4 boot(s) before"
	grep -q 'SAN: failed unit' "$QEMU_LOG" && die "$1: a systemd unit failed"
	return 0
}

san_boot superpc bios 600 "$MAC_A"
san_check superpc bios "$MAC_A" 0
assert_contains "$QEMU_LOG" "SAN-INSTALL-HOOK ran" "A ran the install hook with its disk hooked"
assert_contains "$LB_LOG" "iscsi: $MAC_A began boot 1 .*write mode super" "A's boot took the super grant"
assert_contains "$LB_LOG" "login .* -> target iqn.2026-12.org.linkboot:pc.$(echo "$MAC_A" | tr -d :) .*super \(next version\), CHAP" \
	"A writes the next version"
# the powered-off PC's sessions look alive until the target's NOP-In
# ping goes unanswered (about 20 s); iPXE's and the OS's sessions come
# and go during a boot, so wait for every one that logged in to close
iscsi_sessions_open() {
	awk '/ iscsi [0-9.]+:[0-9]+: login .* -> target / { open[$4] = 1 }
	     / iscsi [0-9.]+:[0-9]+: closed / { delete open[$4] }
	     END { n = 0; for (p in open) n++; print n }' "$LB_LOG"
}
iscsi_sessions_closed() { [ "$(iscsi_sessions_open)" = 0 ]; }
wait_for 90 iscsi_sessions_closed ||
	die "the dead super client's sessions were not dropped ($(iscsi_sessions_open) open)"
lbc image commit sandeb >"$TMP/commit.log" 2>&1 || { cat "$TMP/commit.log"; die "image commit"; }
assert_contains "$TMP/commit.log" 'v2' "the super client's writes are v2"

san_boot pc-b1 uefi 600 "$MAC_B"
san_check pc-b1 efi "$MAC_B" 1	# v2: A's boot
grep -q "SAN-INSTALL-HOOK" "$QEMU_LOG" && die "B (not super) ran the install hook"
assert_contains "$LB_LOG" "iscsi: $MAC_B began boot 1 .*image sandeb v2, write mode ram" "B boots v2, restore on reboot"
san_boot pc-b2 uefi-virtio 600 "$MAC_B"
san_check pc-b2 efi "$MAC_B" 1	# its own first boot's write is gone
assert_contains "$LB_LOG" "iscsi: $MAC_B began boot 2" "B's second boot is a new boot"
assert_contains "$LB_LOG" "tftp .*snponly.efi" "B's second boot came through OVMF's PXE and snponly.efi"
grep -qE 'chap_secret|password' "$LB_LOG" && die "a CHAP secret in the server log?"
echo "PASS: SAN boot: super client -> v2 -> PC B (UEFI), restore on reboot"
