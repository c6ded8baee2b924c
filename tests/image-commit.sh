#!/bin/bash
# The super client's overlay becomes v2 (a delta) only when the file
# system in it is clean; rollback moves production back; merge flattens
# v1+v2 into a raw v3 with the same bytes. The overlay is written here
# in the delta format (server-stub/store/delta.h) as the NBD server would.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-image.sh"
requires python3 --version

LB_STATE=$TMP/state
make_image "$TMP/disk.img"
echo "fake initrd" >"$TMP/initrd.img"
lb image add demo "$TMP/disk.img" --initrd "$TMP/initrd.img" >/dev/null ||
	die "image add"
id=$(db "SELECT id FROM images")
ovl=$LB_STATE/overlays/super-$id.ovl

# write_overlay PARENT BLOCK BYTE [OFF]: block BLOCK = 64 KiB of BYTE, or
# with OFF the image's own block with 64 bytes of BYTE at OFF
write_overlay() {
	mkdir -p "$LB_STATE/overlays"
	python3 - "$ovl" "$1" "$2" "$3" "${4:--1}" "$TMP/disk.img" <<'PY'
import struct, sys
path, parent, block, byte = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4], 0)
off, img = int(sys.argv[5]), sys.argv[6]
bs, size = 65536, 8 << 20
nblocks = size // bs
data_off = (4096 + (nblocks + 7) // 8 + bs - 1) // bs * bs
hdr = b"LBDELTA1" + struct.pack("<IIQQQI", 1, bs, size, 4096, data_off, parent)
with open(path, "wb") as f:
    f.write(hdr.ljust(4096, b"\0"))
    bm = bytearray((nblocks + 7) // 8)
    bm[block // 8] |= 1 << (block % 8)
    f.write(bm)
    data = bytearray(bytes([byte]) * bs)
    if off >= 0:
        with open(img, "rb") as src:
            src.seek(block * bs)
            data = bytearray(src.read(bs))
        data[off:off + 64] = bytes([byte]) * 64
    f.seek(data_off + block * bs)
    f.write(data)
    f.truncate(data_off + nblocks * bs)
PY
}

lb image commit demo 2>"$TMP/err" && die "commit without an overlay"
assert_contains "$TMP/err" "no super client writes" "no overlay message"

# garbage in the group descriptors (fs block 2 of 1 KiB, partition at
# block 16), superblock intact: e2fsck -fn fails, commit refuses
write_overlay 1 16 0xa5 2048
lb image commit demo 2>"$TMP/err" && die "commit of an unclean file system"
assert_contains "$TMP/err" "not clean" "unclean refused"
assert_eq "$(db "SELECT COUNT(*) FROM versions")" 1 "no v2 after refusal"
[ -f "$ovl" ] || die "refused commit lost the overlay"

# a journal that needs recovery (EXT3_FEATURE_INCOMPAT_RECOVER in the
# superblock at partition + 1024 + 0x60; block 16 holds it): refused. The
# superblock checksum is stale then too; either way it is not clean.
write_overlay 1 16 0x04 $((1024 + 0x60))
lb image commit demo 2>"$TMP/err" && die "commit with a dirty journal"
assert_contains "$TMP/err" "not (unmounted cleanly|clean)" "dirty journal refused"

# a change outside the file system (block 120 = 7.5 MiB): clean
write_overlay 1 120 0x5a
# while the NBD server holds the overlay (its flock), commit refuses
if command -v flock >/dev/null; then
	flock "$ovl" "$LINKBOOT" image --state "$LB_STATE" commit demo \
		2>"$TMP/err" && die "commit while the overlay is attached"
	assert_contains "$TMP/err" "still connected" "attached overlay refused"
fi
lb image commit demo >"$TMP/out" 2>&1 || { cat "$TMP/out"; die "commit"; }
assert_eq "$(db "SELECT parent || ' ' || file FROM versions WHERE version = 2")" \
	"1 $id.v2.delta" "v2 is a delta on v1"
assert_eq "$(db "SELECT production_version FROM images")" 2 "v2 production"
[ -e "$ovl" ] && die "overlay still there after commit"
cmp -s "$LB_STATE/boot/$id/v1/vmlinuz" "$LB_STATE/boot/$id/v2/vmlinuz" ||
	die "v2 kernel"
# v2's block hashes: block 120 changed, block 0 did not
h1=$LB_STATE/boot/$id/v1/hashes h2=$LB_STATE/boot/$id/v2/hashes
blk() { dd if="$1" bs=1 skip=$((32 + $2 * 32)) count=32 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
assert_eq "$(blk "$h2" 0)" "$(blk "$h1" 0)" "block 0 hash unchanged"
want=$(head -c 65536 /dev/zero | tr '\0' '\132' | sha256sum | cut -d' ' -f1)
assert_eq "$(blk "$h2" 120)" "$want" "block 120 hash = new content"
# a stale overlay (made on v1, newest is v2) is refused
write_overlay 1 121 0x11
lb image commit demo 2>"$TMP/err" && die "stale overlay committed"
assert_contains "$TMP/err" "made on v1, the newest is v2" "stale message"
rm -f "$ovl"

# the store file of v2 is moved away: repair finds it by name + header
mkdir -p "$TMP/moved"
mv "$LB_STATE/store/$id.v2.delta" "$TMP/moved/"
lb image versions demo >"$TMP/vers" 2>&1 || die "versions"
assert_contains "$TMP/vers" "^v2 .*MISSING" "v2 missing"
lb image repair --scan "$TMP/moved" >"$TMP/out" 2>&1 || { cat "$TMP/out"; die "repair v2"; }
assert_contains "$TMP/out" "re-attached: demo v2" "v2 re-attached"
mv "$TMP/moved/$id.v2.delta" "$LB_STATE/store/"
db "UPDATE versions SET file = '$id.v2.delta' WHERE version = 2"

lb image rollback demo >/dev/null || die "rollback"
assert_eq "$(db "SELECT production_version FROM images")" 1 "rolled back to v1"
lb image rollback demo 2>/dev/null && die "rollback before v1"
lb image set demo --production 2 >/dev/null || die "production 2"

lb image merge demo >"$TMP/out" || die "merge"
assert_eq "$(db "SELECT IFNULL(parent, 'raw') || ' ' || file FROM versions WHERE version = 3")" \
	"raw $id.v3.raw" "v3 is raw"
assert_eq "$(db "SELECT production_version FROM images")" 3 "v3 production"
# v3 = v1 with block 120 replaced, byte for byte
cp "$TMP/disk.img" "$TMP/want.img"
head -c 65536 /dev/zero | tr '\0' '\132' |
	dd of="$TMP/want.img" bs=65536 seek=120 conv=notrunc 2>/dev/null
cmp "$TMP/want.img" "$LB_STATE/store/$id.v3.raw" || die "merged v3 differs"
cmp -s "$h2" "$LB_STATE/boot/$id/v3/hashes" || die "v3 hashes != v2 hashes"
# old versions stay (clients may still use them)
[ -f "$LB_STATE/store/$id.v2.delta" ] || die "merge removed v2"
lb image versions demo >"$TMP/vers" || die "versions"
assert_contains "$TMP/vers" "^v2 +v1 .*64K" "v2 changed 64K"
assert_contains "$TMP/vers" "^v3 +- .*raw.*\(production\)" "v3 raw production"

# prune: a live session on v2 keeps v2 and its parent v1
db "INSERT INTO sessions(pid, peer, mac, image_id, version, since)
    VALUES($$, '127.0.0.1:1', NULL, '$id', 2, 'now')"
lb image prune demo >"$TMP/out" || die "prune"
assert_contains "$TMP/out" "still needed" "nothing pruned while in use"
assert_eq "$(db "SELECT group_concat(version) FROM versions")" "1,2,3" "all kept"
# the session ends: v1 and v2 are nobody's now
db "DELETE FROM sessions"
lb image prune demo >"$TMP/out" || die "prune"
assert_contains "$TMP/out" "v1 removed" "v1 pruned"
assert_contains "$TMP/out" "v2 removed" "v2 pruned"
assert_eq "$(db "SELECT group_concat(version) FROM versions")" "3" "only v3"
[ -e "$LB_STATE/store/$id.v1.raw" ] && die "v1 file left"
[ -e "$LB_STATE/store/$id.v2.delta" ] && die "v2 file left"
[ -d "$LB_STATE/boot/$id/v1" ] && die "v1 boot files left"
cmp -s "$TMP/want.img" "$LB_STATE/store/$id.v3.raw" || die "v3 changed"
exit 0
