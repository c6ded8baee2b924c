#!/bin/bash
# Boot packs, server side: a PC's boot session is traced (blocks read
# in its first seconds, in order), the pack is built from the trace by a
# detached child, served over HTTP under boot/<id>/v<N>/boot.pack, and
# `linkboot image pack NAME` rebuilds it; bad names/versions are refused;
# `image commit` packs the new version from its parent's trace, and its
# own first boot's trace is joined to it; a trace is written when its
# window ends even if the client stays connected.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-image.sh"
requires qemu-io --version
requires curl --version

MAC=52:54:00:00:05:01
make_image "$TMP/disk.img"
echo "fake initrd" >"$TMP/initrd.img"
# a short trace window: a session still open after it is traced too
start_linkboot --boot-trace-seconds 4 --trusted-net 127.0.0.1/32
lb image add demo "$TMP/disk.img" --initrd "$TMP/initrd.img" >/dev/null ||
	die "image add"
lb client add $MAC --image demo >/dev/null || die "client add"
TOKEN=$(boot_credential $MAC)
ID=$(db "SELECT id FROM images WHERE name = 'demo'")
[ -n "$TOKEN" ] && [ -n "$ID" ] || die "no credential/id"
DIR=$LB_STATE/boot/$ID/v1
URI=nbd://127.0.0.1:$LB_NBD_PORT/$TOKEN

# the block-hash table's index (agents keep table chunks in their SSD)
assert_eq "$(head -c 8 "$DIR/hashes.idx")" "LBHIDX01" "hashes.idx written at add"
curl -sf "http://127.0.0.1:$LB_HTTP_PORT/boot/$ID/v1/hashes.idx" -o "$TMP/idx" ||
	die "GET hashes.idx"
cmp -s "$TMP/idx" "$DIR/hashes.idx" || die "served hashes.idx differs"
assert_eq "$(stat -c %s "$TMP/idx")" 56 "index of a one-chunk table"

lb image pack demo >"$TMP/nopack" 2>&1 && die "pack without a trace"
assert_contains "$TMP/nopack" 'no boot trace yet' "no-trace message"

# a "boot": block 0, blocks 16-17 (head/tail of a 128 KiB read), block 64
qemu-io -f raw -r -c 'read 0 65536' -c 'read 1048576 131072' \
	-c 'read 4194304 4096' -c 'read 100 10' "$URI" >"$TMP/qio" 2>&1 ||
	die "qemu-io: $(cat "$TMP/qio")"
wait_for 10 test -f "$DIR/boot.trace" || die "no boot.trace after the session"
assert_eq "$(tr '\n' ' ' <"$DIR/boot.trace")" "0 16 17 64 " "trace: blocks in first-read order"
wait_for 20 test -f "$DIR/boot.pack" || die "boot.pack was not built"
assert_eq "$(head -c 8 "$DIR/boot.pack")" "LBPACK01" "pack magic"
curl -sf "http://127.0.0.1:$LB_HTTP_PORT/boot/$ID/v1/boot.pack" -o "$TMP/got.pack" ||
	die "GET boot.pack"
cmp -s "$TMP/got.pack" "$DIR/boot.pack" || die "served pack differs"

# a second session does not trace again
cp "$DIR/boot.trace" "$TMP/trace1"
qemu-io -f raw -r -c 'read 7340032 4096' "$URI" >/dev/null 2>&1 || die "qemu-io 2"
sleep 0.5
cmp -s "$TMP/trace1" "$DIR/boot.trace" || die "trace rewritten by a later session"

rm -f "$DIR/boot.pack"
lb image pack demo >"$TMP/pack" 2>&1 || die "image pack: $(cat "$TMP/pack")"
assert_contains "$TMP/pack" 'boot pack v1: 4 blocks' "image pack output"
assert_eq "$(head -c 8 "$DIR/boot.pack")" "LBPACK01" "rebuilt pack magic"
lb image pack demo --version 7 >"$TMP/bad" 2>&1 && die "pack of a missing version"
assert_contains "$TMP/bad" 'no version 7' "missing version message"
lb image pack nosuch >"$TMP/bad" 2>&1 && die "pack of a missing image"
lb image pack >/dev/null 2>&1; assert_eq "$?" 2 "usage exit code"
lb image pack demo --retrace >"$TMP/retrace" 2>&1 || die "pack --retrace"
[ -e "$DIR/boot.trace" ] && die "--retrace left the trace"
qemu-io -f raw -r -c 'read 2097152 4096' "$URI" >/dev/null 2>&1 || die "qemu-io 3"
wait_for 10 test -f "$DIR/boot.trace" || die "no new trace after --retrace"
assert_eq "$(cat "$DIR/boot.trace")" "32" "the new boot's trace"
wait_for 20 test -f "$DIR/boot.pack" || die "no pack from the new trace"

# a commit packs the new version from its parent's trace
lb client super $MAC on >"$TMP/super" || die "client super"
ST=$(boot_credential $MAC)
qemu-io -f raw -c 'write -P 0x5a 7864320 65536' -c flush \
	"nbd://127.0.0.1:$LB_NBD_PORT/$ST" >"$TMP/qio" 2>&1 || die "super write"
boot_credential $MAC >/dev/null	# the PC's next boot ends the super one
lb image commit demo >"$TMP/commit" 2>&1 || die "image commit: $(cat "$TMP/commit")"
assert_contains "$TMP/commit" 'boot pack v2: 1 blocks' "commit built the v2 pack"
assert_eq "$(head -c 8 "$LB_STATE/boot/$ID/v2/boot.pack")" "LBPACK01" "v2 pack magic"
V2=$LB_STATE/boot/$ID/v2
assert_eq "$(cat "$V2/boot.trace.base")" "32" "v2 inherits v1's trace"
# v2's own first boot is traced too (on a PC whose SSD holds v1's blocks
# it fetches only what changed): the pack is rebuilt from both traces
lb client super $MAC off >/dev/null || die "client super off"
URI=nbd://127.0.0.1:$LB_NBD_PORT/$(boot_credential $MAC)
qemu-io -f raw -r -c 'read 7864320 4096' "$URI" >"$TMP/qio" 2>&1 ||
	die "qemu-io v2: $(cat "$TMP/qio")"
wait_for 10 test -f "$V2/boot.trace" || die "v2's first boot was not traced"
assert_eq "$(cat "$V2/boot.trace")" "120" "v2's own trace"
# the rebuilt pack has 2 extents: block 120 (v2's boot), block 32 (v1's)
wait_for 20 sh -c "[ \$(od -An -tu4 -j12 -N4 '$V2/boot.pack') = 2 ]" ||
	die "v2's pack was not rebuilt from both traces"
lb image pack demo >"$TMP/pack2" 2>&1 || die "image pack v2: $(cat "$TMP/pack2")"
assert_contains "$TMP/pack2" 'boot pack v2: 2 blocks' "v2 pack: own + inherited trace"
lb image pack demo --retrace >/dev/null 2>&1 || die "pack --retrace v2"
[ -e "$V2/boot.trace.base" ] && die "--retrace left the inherited trace"
# a PC that stays up: its trace is written when the window ends, not at
# its shutdown, so the next PCs get the pack while it runs
qemu-io -f raw -r -c 'read 6291456 4096' -c 'sleep 20000' "$URI" \
	>"$TMP/qio" 2>&1 &
QIO=$!
cleanup_fn "kill $QIO 2>/dev/null"
# the agent of the traced boot asks (it then reads past its SSD)
BT="http://127.0.0.1:$LB_HTTP_PORT/boottrace?mac=$MAC"
wait_for 3 sh -c "curl -sf '$BT' | grep -q '^traced_ms=[1-9]'" ||
	die "GET /boottrace: $(curl -s "$BT")"
wait_for 12 test -f "$V2/boot.trace" ||
	die "no trace at the end of the window of a session still open"
assert_eq "$(curl -sf "$BT")" "traced_ms=0" "no trace running after the window"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$LB_HTTP_PORT/boottrace?mac=junk")" 400 "bad MAC"
kill -0 $QIO 2>/dev/null || die "qemu-io ended early: $(cat "$TMP/qio")"
assert_eq "$(cat "$V2/boot.trace")" "96" "trace of the open session"
wait_for 20 test -f "$V2/boot.pack" || die "no pack while the session is open"
kill $QIO 2>/dev/null
assert_alive "after the pack commands"
echo "PASS: boot pack trace, auto build, HTTP, image pack"
