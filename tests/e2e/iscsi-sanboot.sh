#!/bin/bash
# iPXE `sanboot` from the iSCSI target, the way Windows PCs start: a BIOS
# PC (TCG, SeaBIOS) runs Debian's iPXE (ipxe.lkrn, script as initrd) with a
# static address in the test's netns and sanboots the writable target of a
# `--write server` client. The disk's boot sector (assembled here) uses
# INT 13h as iPXE provides it: extended read of LBA 2048 (prints the text
# there on COM1), extended write of LBA 2049, read it back and print it.
# Then the client's target holds the written sector, the image does not.
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

# --- the server in the netns, the client linked with --write server
net_setup
net_add_tap lbtap0
LB_STATE=$TMP/state
lbc image add sandisk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
MAC=$(e2e_mac 7)
lbc client add "$MAC" --image sandisk --write server >/dev/null || die "client add"
TOKEN=$(lbc client show "$MAC" -j | jq -r .token)
[ ${#TOKEN} -ge 16 ] || die "no client token"
e2e_start_server --dhcp off --iscsi-port 3260
e2e_requires_ports tcp:3260
TARGET=iqn.2026-12.org.linkboot:$TOKEN

cat >"$TMP/sanboot.ipxe" <<IPXE
#!ipxe
set net0/ip 198.18.0.50
set net0/netmask 255.255.255.0
ifopen net0
sanboot iscsi:$E2E_SERVER_IP::::$TARGET || echo E2E-SANBOOT-IPXE-FAILED
IPXE
printf '\xf8\x03' >"$TMP/sercon-port.bin"
_qemu_start pc lbtap0 -kernel "$IPXE_DIR/ipxe.lkrn" -initrd "$TMP/sanboot.ipxe" \
	-fw_cfg "name=etc/sercon-port,file=$TMP/sercon-port.bin" \
	-device "e1000,netdev=n0,mac=$MAC"
qemu_wait 'E2E-SANBOOT wrote LBA 2049|FAILED' 180 || { qemu_dump pc; die "no sanboot marker"; }
grep -q FAILED "$QEMU_LOG" && { qemu_dump pc; die "sanboot failed"; }
assert_contains "$QEMU_LOG" "E2E-SANBOOT read LBA 2048 through INT 13h" "INT 13h read"
echo "sanboot: boot sector ran ${QEMU_MS} ms after QEMU start"
qemu_stop

assert_contains "$LB_LOG" "iscsi 198.18.0.50:[0-9]+: login iqn.* -> target iqn.2026-12.org.linkboot:[0-9a-f]{6}\.\.\. \(token of $MAC\) .*server overlay" \
	"iPXE's login"
# what the PC wrote is in its overlay, not in the image
in_ns qemu-img convert -f raw -O raw "iscsi://$E2E_SERVER_IP/$TARGET/0" "$TMP/client.img" ||
	die "read the client's target"
dd if="$TMP/client.img" bs=512 skip=2049 count=1 status=none | grep -aq "E2E-SANBOOT wrote LBA 2049" ||
	die "the written sector is not on the client's target"
in_ns qemu-img compare -f raw -F raw "$TMP/orig.img" \
	"iscsi://$E2E_SERVER_IP/iqn.2026-12.org.linkboot:image.sandisk/0" >/dev/null ||
	die "the image changed"
assert_alive "at the end"
