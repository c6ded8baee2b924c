#!/bin/bash
# A disk as Windows leaves it (MBR, NTFS system partition, FAT32 beside
# it) imports as a SAN-boot image without the kernel warning that only
# applies to Linux images; its clients boot san. `image commit` of the
# super client's writes: a dirty FAT is refused even with --force, an NTFS
# partition (which linkboot cannot check) is refused without --force and
# committed unchecked with it, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-image.sh"
requires mkntfs --version
requires mkfs.vfat --help
requires python3 --version
requires jq --version

LB_STATE=$TMP/state
IMG=$TMP/win.img
MAC=52:54:00:00:0a:01
BS=65536
NTFS_START=$((1 << 20))			# 1 MiB, 31 MiB long
FAT_START=$((32 << 20))			# 32 MiB, to the end (64 MiB)

truncate -s 64M "$IMG"
printf 'label: dos\nstart=2048, size=63488, type=7\nstart=65536, type=c\n' |
	sfdisk -q "$IMG" || die "sfdisk"
truncate -s 31M "$TMP/p1"
mkntfs -q -F -Q -s 512 -p 2048 -H 255 -S 63 -L WINSYS "$TMP/p1" \
	>/dev/null 2>&1 || die "mkntfs"
truncate -s 32M "$TMP/p2"
mkfs.vfat -F 32 -n DATA "$TMP/p2" >/dev/null 2>&1 || die "mkfs.vfat"
dd if="$TMP/p1" of="$IMG" bs=1M seek=1 conv=notrunc status=none
dd if="$TMP/p2" of="$IMG" bs=1M seek=32 conv=notrunc status=none

lb image add win "$IMG" >"$TMP/out" 2>"$TMP/err" ||
	{ cat "$TMP/out" "$TMP/err"; die "image add"; }
grep -qi "warning" "$TMP/err" && { cat "$TMP/err"; die "import warned"; }
assert_contains "$TMP/out" "no Linux file system \(ntfs vfat\)" "import note"
assert_eq "$(db "SELECT boot_mode FROM images")" san "image boots san"
lb client add "$MAC" --image win >/dev/null || die "client add"
assert_eq "$(lb client show "$MAC" -j | jq -r .boot_mode)" san \
	"client inherits san"

id=$(db "SELECT id FROM images")
ovl=$LB_STATE/overlays/super-$id.ovl
# poke OFF BYTE: the super client's overlay (server-stub/store/delta.h,
# made on v1) holding the image's own 64 KiB block around OFF with the
# byte at OFF replaced by BYTE, as the NBD server would write it
poke() {
	mkdir -p "$LB_STATE/overlays"
	python3 - "$ovl" "$IMG" "$1" "$2" <<'PY'
import os, struct, sys
path, img, off, byte = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4], 0)
bs, size = 65536, os.path.getsize(img)
nblocks = size // bs
block = off // bs
data_off = (4096 + (nblocks + 7) // 8 + bs - 1) // bs * bs
hdr = b"LBDELTA1" + struct.pack("<IIQQQI", 1, bs, size, 4096, data_off, 1)
with open(img, "rb") as src:
    src.seek(block * bs)
    data = bytearray(src.read(bs))
data[off % bs] = byte
with open(path, "wb") as f:
    f.write(hdr.ljust(4096, b"\0"))
    bm = bytearray((nblocks + 7) // 8)
    bm[block // 8] |= 1 << (block % 8)
    f.write(bm)
    f.seek(data_off + block * bs)
    f.write(data)
    f.truncate(data_off + nblocks * bs)
PY
}
versions() { db "SELECT COUNT(*) FROM versions"; }

# FAT32 boot sector BS_Reserved1 (0x41) bit 0: mounted, never unmounted
poke $((FAT_START + 0x41)) 0x01
lb image commit win --force 2>"$TMP/err" && die "dirty FAT committed"
assert_contains "$TMP/err" "partition 2 \(vfat DATA\) is marked dirty" \
	"dirty FAT message"
assert_eq "$(versions)" 1 "no v2 after a dirty FAT"
[ -f "$ovl" ] || die "refused commit lost the overlay"

# a change inside the NTFS partition: cannot be checked here
poke $((NTFS_START + 40 * BS + 512)) 0x5a
lb image commit win 2>"$TMP/err" && die "NTFS committed without --force"
assert_contains "$TMP/err" "partition 1 \(ntfs WINSYS\) cannot be checked" \
	"NTFS refusal"
assert_contains "$TMP/err" "--force" "refusal names --force"
assert_eq "$(versions)" 1 "no v2 without --force"
lb image commit win --force >"$TMP/out" 2>"$TMP/err" ||
	{ cat "$TMP/out" "$TMP/err"; die "commit --force"; }
assert_contains "$TMP/err" "not checked \(--force\): partition 1:ntfs" \
	"unchecked partition named"
grep -qi "warning" "$TMP/err" && { cat "$TMP/err"; die "commit warned"; }
assert_contains "$TMP/out" "v2 committed" "v2 committed"
assert_eq "$(versions)" 2 "v2 recorded"
[ -e "$ovl" ] && die "overlay still there after commit"
echo "PASS: $TEST_NAME"
