#!/bin/bash
# NBD exports of an image through real clients: nbdinfo --list shows the
# exports and sizes; nbdcopy (1 and 4 connections), qemu-img compare and
# fio's nbd engine read the exact bytes; writes through one client's token
# (qemu-io: write, FUA write, write-zeroes, discard, flush) land only in
# that client's server overlay: another client's token and NAME@1 read the
# image unchanged; a `ram` client's token is read-only.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires nbdinfo --version
requires nbdcopy --version
requires qemu-img --version
requires qemu-io --version
requires fio --version
requires jq --version

IMG=$TMP/disk.img
SIZE=$((16 << 20))
head -c "$SIZE" /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add disk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:01:01 --image disk --write server >/dev/null ||
	die "client add A"
lb client add 52:54:00:00:01:02 --image disk --write server >/dev/null ||
	die "client add B"
lb client add 52:54:00:00:01:03 --image disk --write ram >/dev/null ||
	die "client add C"
token() { lb client token "$1" 2>/dev/null; }
TA=$(token 52:54:00:00:01:01) TB=$(token 52:54:00:00:01:02)
TC=$(token 52:54:00:00:01:03)
[ ${#TA} -ge 16 ] && [ ${#TB} -ge 16 ] || die "no client tokens"
URI=nbd://127.0.0.1:$LB_NBD_PORT

# --- listing: images and NAME@VERSION, never client tokens
nbdinfo --list "$URI" >"$TMP/list" || die "nbdinfo --list"
assert_contains "$TMP/list" '^export="disk":' "lists disk"
assert_contains "$TMP/list" '^export="disk@1":' "lists disk@1"
assert_contains "$TMP/list" "export-size: $SIZE " "lists the size"
grep -q "$TA" "$TMP/list" && die "a client token is listed"
nbdinfo "$URI/disk" >"$TMP/info" || die "nbdinfo disk"
assert_contains "$TMP/info" 'is_read_only: true' "NAME is read-only"
assert_contains "$TMP/info" 'can_multi_conn: true' "read-only: multi-conn"
assert_contains "$TMP/info" 'block_size_maximum: 33554432' "max block 32M"
nbdinfo "$URI/no-such-disk" >"$TMP/err" 2>&1 && die "unknown export opened"
assert_alive "after an unknown export"

# --- byte equality: one connection, four, qemu-img, fio
for e in disk disk@1; do
	rm -f "$TMP/copy"
	nbdcopy "$URI/$e" "$TMP/copy" || die "nbdcopy $e"
	cmp "$TMP/copy" "$IMG" || die "nbdcopy $e: bytes differ"
	qemu-img compare -f raw -F raw "$IMG" "$URI/$e" >/dev/null ||
		die "qemu-img compare $e"
done
rm -f "$TMP/copy"
nbdcopy --connections=4 "$URI/disk" "$TMP/copy" || die "nbdcopy -C 4"
cmp "$TMP/copy" "$IMG" || die "nbdcopy --connections=4: bytes differ"
for rw in "randread 4k 16" "read 1m 4"; do
	set -- $rw
	fio --name=t --ioengine=nbd --uri="$URI/disk" --rw="$1" --bs="$2" \
		--iodepth="$3" --size="$SIZE" --output-format=json \
		>"$TMP/fio.json" 2>"$TMP/fio.err" || { cat "$TMP/fio.err"; die "fio $rw"; }
	python3 - "$TMP/fio.json" "$SIZE" <<'PY' || die "fio $rw: short or failed"
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
sys.exit(0 if j["error"] == 0 and j["read"]["io_bytes"] == int(sys.argv[2]) else 1)
PY
done

# --- writes through client A's token stay in A's overlay
qemu-io -f raw -c 'write -P 0xab 4096 8192' -c 'write -f -P 0xcd 1048576 4096' \
	-c 'write -z 2097152 65536' -c 'discard 3145728 65536' -c flush \
	"$URI/$TA" >"$TMP/qio" 2>&1 || { cat "$TMP/qio"; die "qemu-io writes"; }
cp "$IMG" "$TMP/want"
python3 - "$TMP/want" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    for off, data in ((4096, b"\xab" * 8192), (1048576, b"\xcd" * 4096),
                      (2097152, b"\0" * 65536), (3145728, b"\0" * 65536)):
        f.seek(off); f.write(data)
PY
rm -f "$TMP/copy"
nbdcopy "$URI/$TA" "$TMP/copy" || die "nbdcopy token A"
cmp "$TMP/copy" "$TMP/want" || die "token A does not read its own writes"
qemu-img compare -f raw -F raw "$IMG" "$URI/$TB" >/dev/null ||
	die "client B sees client A's writes"
qemu-img compare -f raw -F raw "$IMG" "$URI/disk@1" >/dev/null ||
	die "disk@1 changed by a client's writes"
qemu-img compare -f raw -F raw "$IMG" "$URI/disk" >/dev/null ||
	die "disk changed by a client's writes"

# --- a `ram` client writes in its own RAM: its export is read-only
nbdinfo "$URI/$TC" >"$TMP/info" || die "nbdinfo ram client"
assert_contains "$TMP/info" 'is_read_only: true' "ram client read-only"
qemu-io -f raw -c 'write 0 512' "$URI/$TC" >"$TMP/qio" 2>&1 &&
	die "write through a read-only export succeeded"
assert_contains "$LB_LOG" 'export disk: image [0-9a-f]+ v1, 16777216 bytes, read-only' \
	"one log line per connection"
assert_contains "$LB_LOG" 'export credential of 52:54:00:00:01:01: image' \
	"a credential is logged by whose it is"
grep -qF -e "$TA" -e "$TB" -e "$TC" -e "${TA:3:20}" "$LB_LOG" &&
	die "a credential in the server log"
assert_alive "at the end"
