#!/bin/bash
# iPXE `sanboot` from the iSCSI target, the way Windows PCs start: a BIOS
# PC (TCG, SeaBIOS) runs Debian's iPXE (ipxe.lkrn, a two-line script as
# initrd: a static address, then the server's boot script) in the test's
# netns; the PC is linked --boot san --write server, so the script
# sanboots its own target with its boot's CHAP login. The disk's boot
# sector (assembled here) uses INT 13h as iPXE provides it: extended read
# of LBA 2048 (prints the text there on COM1), extended write of LBA 2049,
# read it back and print it. Then the PC's disk holds the written sector,
# the image does not; the next boot drops the PC's overlay (restore on
# reboot), unless `client keep` is on.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"
qemu_requires
e2e_requires_cli image client
requires as --version
requires ld --version
requires qemu-img --version
requires jq --version
[ -f "$IPXE_DIR/ipxe.lkrn" ] || skip "requires $IPXE_DIR/ipxe.lkrn (apt-get install ipxe)"
qemu-img info iscsi://127.0.0.1:1/x/0 2>&1 | grep -q "Unknown protocol" &&
	skip "requires QEMU's iSCSI block driver (qemu-block-extra)"

# --- the disk: a boot sector that talks INT 13h, and two text sectors
cat >"$TMP/boot.S" <<'ASM'
	.code16
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7c00, %sp
	sti
	mov %dl, drive
	mov $dap_read, %si		/* AH=42h extended read, LBA 2048 */
	mov $0x42, %ah
	mov drive, %dl
	int $0x13
	jc fail
	mov $0x8000, %si
	call puts
	mov $dap_write, %si		/* AH=43h extended write, LBA 2049 */
	mov $0x4300, %ax
	mov drive, %dl
	int $0x13
	jc fail
	mov $dap_back, %si		/* and read it back */
	mov $0x42, %ah
	mov drive, %dl
	int $0x13
	jc fail
	mov $0x8200, %si
	call puts
	jmp halt
fail:
	mov $failmsg, %si
	call puts
halt:
	hlt
	jmp halt
puts:					/* NUL-terminated ds:si to COM1 */
	lodsb
	test %al, %al
	jz 2f
	mov %al, %bl
	mov $0x3fd, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	jmp puts
2:	ret
drive:	.byte 0
failmsg: .asciz "E2E-SANBOOT INT13 FAILED\r\n"
wrmsg:	.asciz "E2E-SANBOOT wrote LBA 2049 through INT 13h\r\n"
	.balign 4
dap_read:  .byte 16, 0
	.word 1, 0x8000, 0
	.quad 2048
dap_write: .byte 16, 0
	.word 1, wrmsg, 0
	.quad 2049
dap_back:  .byte 16, 0
	.word 1, 0x8200, 0
	.quad 2049
	. = _start + 510
	.byte 0x55, 0xaa
ASM
as --32 -o "$TMP/boot.o" "$TMP/boot.S" || die "as"
ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$TMP/boot.bin" "$TMP/boot.o" || die "ld"
[ "$(stat -c %s "$TMP/boot.bin")" -eq 512 ] || die "boot sector is not 512 bytes"
IMG=$TMP/disk.img
truncate -s 8M "$IMG"
dd if="$TMP/boot.bin" of="$IMG" conv=notrunc status=none
printf 'E2E-SANBOOT read LBA 2048 through INT 13h\r\n\0' |
	dd of="$IMG" bs=512 seek=2048 conv=notrunc status=none
cp "$IMG" "$TMP/orig.img"
echo kernel >"$TMP/vmlinuz"
echo initrd >"$TMP/initrd"

# --- the server in the netns; the PC linked --boot san --write server
net_setup
net_add_tap lbtap0
LB_STATE=$TMP/state
lbc image add sandisk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
MAC=$(e2e_mac 7)
HEX=$(echo "$MAC" | tr -d :)
lbc client add "$MAC" --image sandisk --write server --boot san >/dev/null ||
	die "client add"
e2e_start_server --dhcp off --iscsi-port 3260
e2e_requires_ports tcp:3260 tcp:80
TARGET=iqn.2026-12.org.linkboot:pc.$HEX
# the admin's view of the PC's disk (iSCSI with an admin token), from
# where the PC was, between its boots: a powered-off PC's session still
# looks alive to the server (no FIN), and only a login from the same
# address takes the disk over (the single writer of an overlay)
lbc client token "$MAC" --iscsi >"$TMP/login" 2>/dev/null || die "client token"
ADMIN="$(sed -n 's/^chap_user=//p' "$TMP/login")%$(sed -n 's/^chap_secret=//p' "$TMP/login")"
PCDISK=iscsi://$ADMIN@$E2E_SERVER_IP/$TARGET/0
net_add_peer_ns 198.18.0.50
ip netns exec "$PEER_NS" ip link set eth0 down
ip netns exec "$PEER_NS" ip link set eth0 address "$MAC"
as_pc() {
	ip netns exec "$PEER_NS" ip link set eth0 up
	ip netns exec "$PEER_NS" "$@"
	local rc=$?
	ip netns exec "$PEER_NS" ip link set eth0 down
	return $rc
}

# iPXE as on the PC's NIC: an address, then the server's boot script
cat >"$TMP/sanboot.ipxe" <<'IPXE'
#!ipxe
set net0/ip 198.18.0.50
set net0/netmask 255.255.255.0
ifopen net0
chain http://198.18.0.1/boot.ipxe?mac=${net0/mac} || echo E2E-SANBOOT-IPXE-FAILED
IPXE
printf '\xf8\x03' >"$TMP/sercon-port.bin"
# boot N: the PC sanboots (its boot sector writes LBA 2049)
boot_pc() {
	_qemu_start "pc$1" lbtap0 -kernel "$IPXE_DIR/ipxe.lkrn" -initrd "$TMP/sanboot.ipxe" \
		-fw_cfg "name=etc/sercon-port,file=$TMP/sercon-port.bin" \
		-device "e1000,netdev=n0,mac=$MAC"
	qemu_wait 'E2E-SANBOOT wrote LBA 2049|FAILED' 180 || { qemu_dump "pc$1"; die "boot $1: no sanboot marker"; }
	grep -q FAILED "$QEMU_LOG" && { qemu_dump "pc$1"; die "boot $1: sanboot failed"; }
	assert_contains "$QEMU_LOG" "E2E-SANBOOT read LBA 2048 through INT 13h" "boot $1: INT 13h read"
	echo "sanboot $1: boot sector ran ${QEMU_MS} ms after QEMU start"
	qemu_stop
}
# a sector of the PC's disk as the admin sees it
sector() {
	as_pc qemu-img convert -f raw -O raw "$PCDISK" "$TMP/pc.img" ||
		die "read the PC's disk"
	dd if="$TMP/pc.img" bs=512 skip="$1" count=1 status=none | tr -d '\0'
}

boot_pc 1
assert_contains "$LB_LOG" "san [0-9a-f:]+ v1 from 198.18.0.50|script=san" "the script was the SAN one"
assert_contains "$LB_LOG" "iscsi: $MAC began boot 1 from 198.18.0.50" "the first login began the boot"
assert_contains "$LB_LOG" "iscsi 198.18.0.50:[0-9]+: login iqn.2026-12.org.linkboot.pc:$HEX -> target $TARGET .*server overlay, CHAP" \
	"iPXE logged in with its own names and CHAP"
case $(sector 2049) in *"E2E-SANBOOT wrote LBA 2049"*) ;; *) die "the written sector is not on the PC's disk" ;; esac
in_ns qemu-img compare -f raw -F raw "$TMP/orig.img" \
	"iscsi://$E2E_SERVER_IP/iqn.2026-12.org.linkboot:image.sandisk/0" >/dev/null ||
	die "the image changed"

# restore on reboot: what boot 1 left is gone at boot 2 (keep off)...
printf 'LEFT-BY-BOOT-1' | as_pc qemu-io -f raw -c "write -s /dev/stdin 1536000 14" "$PCDISK" \
	>/dev/null 2>&1 || die "write a marker into the PC's overlay"
[ "$(sector 3000)" = LEFT-BY-BOOT-1 ] || die "marker not written"
boot_pc 2
assert_contains "$LB_LOG" "iscsi: $MAC began boot 2" "a new boot"
[ -z "$(sector 3000)" ] || die "boot 2 still sees what boot 1 wrote (restore on reboot)"
# ...and stays with `client keep on`
lbc client keep "$MAC" on >/dev/null || die "client keep"
printf 'LEFT-BY-BOOT-2' | as_pc qemu-io -f raw -c "write -s /dev/stdin 1536000 14" "$PCDISK" \
	>/dev/null 2>&1 || die "write a marker again"
boot_pc 3
[ "$(sector 3000)" = LEFT-BY-BOOT-2 ] || die "a kept overlay lost its data at the next boot"
grep -qF -e "${ADMIN#*%}" "$LB_LOG" && die "a CHAP secret is in the log"
assert_alive "at the end"
