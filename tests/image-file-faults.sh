#!/bin/bash
# An image file truncated or gone under a running server: no PC gets a
# wrong byte. Truncated: NBD refuses the export and the log says the file
# is shorter than imported (re-import); the image export refuses too.
# Missing: the PC's boot script shows the screen naming the image and
# `linkboot image repair --scan DIR`, NBD refuses with "No such file";
# the file put back serves again, byte for byte.
. "$(dirname "$0")/lib.sh"
requires curl --version
requires nbdinfo --version
requires nbdcopy --version
requires sqlite3 --version

MAC=52:54:00:00:0c:01
head -c $((16 << 20)) /dev/urandom >"$TMP/disk.img"
echo kernel >"$TMP/k"
echo initrd >"$TMP/i"
start_linkboot --trusted-net 127.0.0.1/32
lb image add demo "$TMP/disk.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null ||
	die "image add"
lb client add "$MAC" --image demo >/dev/null || die "client add"
C=$(boot_credential "$MAC")
id=$(sqlite3 "$LB_STATE/linkboot.db" "SELECT id FROM images")
F=$LB_STATE/store/$id.v1.raw
NBD=nbd://127.0.0.1:$LB_NBD_PORT

cp "$F" "$TMP/keep.raw"
truncate -s 8M "$F"
nbdcopy "$NBD/$C" "$TMP/out.img" 2>"$TMP/err" && die "a truncated image was served"
nbdinfo --size "$NBD/demo" >/dev/null 2>&1 && die "the truncated image export opened"
assert_contains "$LB_LOG" "is 8388608 bytes, the image was imported with 16777216; re-import it" \
	"truncation named in the log"

rm -f "$F"
curl -sf "http://127.0.0.1:$LB_HTTP_PORT/boot.ipxe?mac=$MAC" >"$TMP/script" ||
	die "boot script of a PC whose image file is gone"
assert_contains "$TMP/script" "image file of image demo .* is missing on the server" \
	"missing-file screen"
assert_contains "$TMP/script" "image repair --scan" "the screen names the repair"
grep -q "linkboot.ticket" "$TMP/script" && die "a ticket for a missing image"
nbdinfo --size "$NBD/demo" 2>"$TMP/err" && die "the missing image export opened"
assert_contains "$TMP/err" "No such file" "NBD names the missing file"

mv "$TMP/keep.raw" "$F"
nbdcopy "$NBD/$C" "$TMP/out.img" || die "serving again after the file came back"
cmp -s "$TMP/out.img" "$TMP/disk.img" || die "bytes differ after the file came back"
assert_alive "end"
echo "PASS: $TEST_NAME"
