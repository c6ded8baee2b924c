#!/bin/bash
# image add records identity + content hash + per-block hashes and takes
# the kernel out of the image's ext4 partition (no mount); versions, set,
# rename (links keep working: they name the ID), rm refuses while linked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-image.sh"

LB_STATE=$TMP/state
make_image "$TMP/disk.img"
echo "fake initrd" >"$TMP/initrd.img"
sha=$(sha256sum "$TMP/disk.img" | cut -d' ' -f1)

# a file that is no disk image at all: clear error, nothing recorded
head -c 65536 /dev/urandom >"$TMP/junk.img"
lb image add junk "$TMP/junk.img" --initrd "$TMP/initrd.img" 2>"$TMP/err" &&
	die "image add accepted an image without a kernel"
assert_contains "$TMP/err" "no /boot/vmlinuz" "no-kernel message"
assert_eq "$(db 'SELECT COUNT(*) FROM images')" 0 "junk left a row"

# a qcow2 file: refused with the conversion command
if qemu-img --version >/dev/null 2>&1; then
	qemu-img convert -O qcow2 "$TMP/disk.img" "$TMP/disk.qcow2" || die "qemu-img"
	lb image add q "$TMP/disk.qcow2" 2>"$TMP/err" && die "qcow2 accepted"
	assert_contains "$TMP/err" "qemu-img convert -O raw" "qcow2 message"
fi

lb image add demo "$TMP/disk.img" --initrd "$TMP/initrd.img" >"$TMP/out" 2>&1 ||
	{ cat "$TMP/out"; die "image add"; }
id=$(db "SELECT id FROM images WHERE name = 'demo'")
[[ $id =~ ^[0-9a-f]{16}$ ]] || die "image id '$id'"
assert_eq "$(db "SELECT size FROM images WHERE id = '$id'")" 8388608 "size"
assert_eq "$(db "SELECT pt_type || ' ' || pt_uuid FROM images")" "gpt $PT_UUID" "pt"
assert_eq "$(db "SELECT identity FROM images")" "1:ext4:$FS_UUID:ROOTFS" "identity"
assert_eq "$(db "SELECT content_sha256 FROM images")" "$sha" "content hash"
assert_eq "$(db "SELECT kver FROM versions WHERE version = 1")" "$KVER" "kver"
# files are named by ID, never by name
[ -f "$LB_STATE/store/$id.v1.raw" ] || die "store file by id"
cmp -s "$TMP/disk.img" "$LB_STATE/store/$id.v1.raw" || die "copy differs"
# the kernel came out of the ext4 partition byte for byte
cmp -s "$TMP/root/boot/vmlinuz-$KVER" "$LB_STATE/boot/$id/v1/vmlinuz" ||
	die "extracted kernel differs"
cmp -s "$TMP/initrd.img" "$LB_STATE/boot/$id/v1/initrd.img" || die "initrd"
# block hashes: 32-byte header + 128 x SHA-256 of 64 KiB, block 5 checked
h=$LB_STATE/boot/$id/v1/hashes
assert_eq "$(stat -c %s "$h")" $((32 + 128 * 32)) "hash table size"
assert_eq "$(head -c 6 "$h")" "LBHASH" "hash table magic"
want=$(dd if="$TMP/disk.img" bs=65536 skip=5 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
got=$(dd if="$h" bs=1 skip=$((32 + 5 * 32)) count=32 2>/dev/null | od -An -tx1 | tr -d ' \n')
assert_eq "$got" "$want" "hash of block 5"

lb image list >"$TMP/list" || die "image list"
assert_contains "$TMP/list" "^demo +$id +8388608 .* ok" "list row"
lb image list -j >"$TMP/json" || die "image list -j"
assert_contains "$TMP/json" "\"name\":\"demo\",\"id\":\"$id\",\"size\":8388608" "json"
lb image versions demo >"$TMP/vers" || die "versions"
assert_contains "$TMP/vers" "^v1 +- +production +$KVER" "versions row"

# a second image of the same name is refused
lb image add demo "$TMP/disk.img" 2>"$TMP/err" && die "duplicate name accepted"
assert_contains "$TMP/err" "exists" "duplicate message"

lb image set demo --ram-cache 128 --write server --mark 1=test \
	--cmdline "quiet" >/dev/null || die "image set"
assert_eq "$(db "SELECT ram_cache_mib || write_mode || cmdline FROM images")" \
	"128serverquiet" "set values"
assert_eq "$(db "SELECT state FROM versions")" "test" "mark"
lb image set demo --write bogus 2>/dev/null; assert_eq $? 2 "bad --write = usage"
# --state is the server's state dir option: VERSION=STATE is caught
(cd "$TMP" && "$LINKBOOT" image set demo --state 1=production 2>"$TMP/err")
assert_eq $? 2 "--state V=S = usage error"
assert_contains "$TMP/err" "--mark 1=production" "names --mark"
[ -e "$TMP/1=production" ] && die "created a state dir named 1=production"
lb image set demo --production 7 2>/dev/null && die "unknown version accepted"

# rename: one row, the ID and every link stay
lb image rename demo lab >/dev/null || die "rename"
assert_eq "$(db "SELECT id FROM images WHERE name = 'lab'")" "$id" "id after rename"
if lb client --help >/dev/null 2>&1; then
	lb client add 52:54:00:00:00:01 --image lab >/dev/null || die "client add"
else
	db "INSERT INTO clients(mac, name, hostname, image_id, token, machine_id, created)
	    VALUES('52:54:00:00:00:01', 'PC-001', 'pc-001', '$id', 't1', 'm1', 'now')"
fi
lb image rm lab 2>"$TMP/err" && die "rm of a linked image"
assert_contains "$TMP/err" "52:54:00:00:00:01" "rm names the linked client"
[ -f "$LB_STATE/store/$id.v1.raw" ] || die "refused rm deleted the file"
# a live session pins it even with --force
db "INSERT INTO sessions(pid, peer, mac, image_id, version, since)
    VALUES($$, '127.0.0.1:1234', NULL, '$id', 1, 'now')"
lb image rm lab --force 2>"$TMP/err" && die "rm of an image in use"
assert_contains "$TMP/err" "in use" "rm names the session"
db "DELETE FROM sessions"
lb image rm lab --force >/dev/null || die "rm --force"
assert_eq "$(db 'SELECT COUNT(*) FROM images')" 0 "rm left the row"
assert_eq "$(db "SELECT COUNT(*) FROM clients WHERE image_id IS NULL")" 1 "client unlinked"
[ -e "$LB_STATE/store/$id.v1.raw" ] && die "rm left the file"
[ -e "$LB_STATE/boot/$id" ] && die "rm left the boot files"
[ -f "$TMP/disk.img" ] || die "rm touched the source"

# --in-place records the admin's path; rm never deletes the admin's file
lb image add inplace "$TMP/disk.img" --in-place --initrd "$TMP/initrd.img" \
	>/dev/null || die "add --in-place"
assert_eq "$(db "SELECT file FROM versions")" "$TMP/disk.img" "in-place path"
lb image rm inplace >/dev/null || die "rm in-place"
[ -f "$TMP/disk.img" ] || die "rm deleted an --in-place file"
# --move takes the file into the store
cp "$TMP/disk.img" "$TMP/move.img"
lb image add moved "$TMP/move.img" --move --initrd "$TMP/initrd.img" \
	>/dev/null || die "add --move"
[ -e "$TMP/move.img" ] && die "--move left the source"
id=$(db "SELECT id FROM images WHERE name = 'moved'")
cmp -s "$TMP/disk.img" "$LB_STATE/store/$id.v1.raw" || die "moved content"
exit 0
