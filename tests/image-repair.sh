#!/bin/bash
# Moved/renamed image files are found again by identity (size, partition
# table UUID, file system UUIDs/labels) and confirmed by content hash, so a
# clone that shares the UUIDs is never attached by mistake.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-image.sh"

LB_STATE=$TMP/state
make_image "$TMP/disk.img"
echo "fake initrd" >"$TMP/initrd.img"
lb image add demo "$TMP/disk.img" --initrd "$TMP/initrd.img" >/dev/null ||
	die "image add"
id=$(db "SELECT id FROM images")
lb image repair --scan "$TMP" >"$TMP/out" || die "repair with nothing missing"
assert_contains "$TMP/out" "no image files are missing" "nothing to do"

# the admin moves the store file somewhere else under another name
mkdir -p "$TMP/scan/a" "$TMP/scan/b"
mv "$LB_STATE/store/$id.v1.raw" "$TMP/scan/b/renamed.img"
# a clone: same partition table and file system UUIDs, other content
# (a byte in the unallocated 7..8 MiB range)
cp "$TMP/disk.img" "$TMP/scan/a/clone.img"
printf 'X' | dd of="$TMP/scan/a/clone.img" bs=1 seek=$((7 * 1048576 + 4096)) \
	conv=notrunc 2>/dev/null
# and a file of another size that must not even be probed
head -c 1000 /dev/zero >"$TMP/scan/a/small.img"

lb image list >"$TMP/list" 2>"$TMP/err" || die "list"
assert_contains "$TMP/list" "MISSING" "list shows the missing file"
assert_contains "$TMP/err" "image repair --scan" "list names the fix"

# only the clone there: refused, nothing attached
mv "$TMP/scan/b/renamed.img" "$TMP/renamed.img"
lb image repair --scan "$TMP/scan" >"$TMP/out" 2>&1 && die "clone attached"
assert_contains "$TMP/out" "skipped .*clone.img: same identity" "clone refused"
assert_contains "$TMP/out" "not found: demo v1" "not found"
assert_eq "$(db "SELECT file FROM versions")" "$id.v1.raw" "path kept"

mv "$TMP/renamed.img" "$TMP/scan/b/renamed.img"
lb image repair --scan "$TMP/scan" >"$TMP/out" 2>&1 || { cat "$TMP/out"; die "repair"; }
assert_contains "$TMP/out" "re-attached: demo v1 = $TMP/scan/b/renamed.img" "re-attached"
assert_eq "$(db "SELECT file FROM versions")" "$TMP/scan/b/renamed.img" "new path"
lb image list >"$TMP/list" || die "list"
assert_contains "$TMP/list" "^demo .* ok$" "list ok again"

exit 0
