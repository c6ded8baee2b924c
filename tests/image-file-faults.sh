#!/bin/bash
# An image file truncated or gone under a running server: no PC gets a
# wrong byte. Truncated under an open connection: a READ past the cut reads
# a hole, the rest reads right. Truncated: NBD refuses the export and the log
# says the file is shorter than imported (re-import); the image export
# refuses too.
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
# cut short under an open connection: a READ past the cut reads as a
# hole (zeroes; never the old bytes, never a reply cut off after its
# header), and the connection goes on reading what is left byte for byte.
# qemu-io reads its commands from the pipe, so the cut falls between them.
p1=$(od -An -tx1 -j $((1 << 20)) -N 16 "$F" | tr -d ' \n')
{
	echo "read 12M 64k"
	sleep 1
	truncate -s 8M "$F"
	echo "read -v 12M 64k"
	echo "read -v 1M 16"
	sleep 1
} | qemu-io -r -f raw "$NBD/demo" >"$TMP/cut.out" 2>&1
sed -n '1,12p' "$TMP/cut.out"
hexline() { grep -o "$1:.*" "$TMP/cut.out" | cut -d: -f2 | cut -c1-50 | tr -d ' '; }
[ "$(hexline 00c00000)" = 00000000000000000000000000000000 ] ||
	die "a READ past the cut did not read as zeroes"
[ "$(hexline 00100000)" = "$p1" ] ||
	die "the same connection does not read the bytes before the cut right"
assert_contains "$LB_LOG" "closed in closing phase: client disconnected \(NBD_CMD_DISC\) \(4 requests" \
	"the connection lived through the cut"
cp "$TMP/keep.raw" "$F"
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
