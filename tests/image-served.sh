#!/bin/bash
# What image add writes per version is what clients fetch over HTTP:
# boot/<id>/v1/vmlinuz, initrd.img and hashes (the block-hash table the
# agent verifies blocks against), byte for byte from the running server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-image.sh"
requires curl --version

LB_STATE=$TMP/state
make_image "$TMP/disk.img"
echo "fake initrd" >"$TMP/initrd.img"
lb image add demo "$TMP/disk.img" --initrd "$TMP/initrd.img" >/dev/null ||
	die "image add"
id=$(db "SELECT id FROM images")
start_linkboot
for f in vmlinuz initrd.img hashes; do
	curl -sf -o "$TMP/got" "http://127.0.0.1:$LB_HTTP_PORT/boot/$id/v1/$f" ||
		die "GET boot/$id/v1/$f"
	cmp -s "$TMP/got" "$LB_STATE/boot/$id/v1/$f" || die "$f served differs"
done
assert_eq "$(head -c 6 "$TMP/got")" "LBHASH" "hashes magic over HTTP"
exit 0
