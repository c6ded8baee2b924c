#!/bin/bash
# The link DB locked by another process (an admin's sqlite3 holding an
# exclusive transaction): the server's one loop does not stall on it (the
# daemon waits 250 ms for a lock, not 5 s), boot scripts are still served
# (WAL readers are not blocked), a new NBD session (which must be recorded)
# is refused with the reason, a boot that must write (POST
# /session) gets 503 "locked by another process" and its ticket stays
# good, so the agent's retry succeeds once the lock is gone; the CLI says
# the same in words. Nothing is half-written.
. "$(dirname "$0")/lib.sh"
requires sqlite3 --version
requires curl --version
requires nbdinfo --version

MAC=52:54:00:00:0d:01
head -c $((8 << 20)) /dev/urandom >"$TMP/disk.img"
echo kernel >"$TMP/k"
echo initrd >"$TMP/i"
start_linkboot --trusted-net 127.0.0.1/32
lb image add demo "$TMP/disk.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null ||
	die "image add"
lb client add "$MAC" --image demo --write server >/dev/null || die "client add"
URL=http://127.0.0.1:$LB_HTTP_PORT
ticket=$(curl -sf "$URL/boot.ipxe?mac=$MAC" | grep -oE 'linkboot\.ticket=t1-[0-9a-f]+' |
	cut -d= -f2) || die "no ticket"

# hold the write lock for 8 s in another process
sqlite3 "$LB_STATE/linkboot.db" "BEGIN EXCLUSIVE; SELECT 1;" ".shell sleep 8" \
	"COMMIT;" >/dev/null 2>&1 &
HOLDER=$!
cleanup_fn "kill $HOLDER 2>/dev/null"
sleep 1

ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
code=$(curl -s -o "$TMP/session" -w '%{http_code}' --local-port 600-1000 \
	--data-binary "ticket=$ticket" "$URL/session")
t1=$(ms)
assert_eq "$code" 503 "POST /session while the DB is locked"
assert_contains "$TMP/session" "locked by another process" "503 says why"
[ $((t1 - t0)) -lt 2000 ] || die "the server waited $((t1 - t0)) ms for the lock"
# reads go on, and promptly: the loop is not stuck
t0=$(ms)
curl -sf "$URL/boot.ipxe?mac=$MAC" | grep -q 'linkboot.ticket=t1-' ||
	die "boot script while the DB is locked"
# a new NBD session must be recorded (so its version is never pruned
# under it): refused cleanly, named in the log, never served unrecorded
nbdinfo --size "nbd://127.0.0.1:$LB_NBD_PORT/demo" >"$TMP/size" 2>&1 &&
	die "an NBD session opened without its session row"
t1=$(ms)
[ $((t1 - t0)) -lt 3000 ] || die "answers took $((t1 - t0)) ms under the lock"
# the CLI says it in words
lb client add 52:54:00:00:0d:02 --image demo >"$TMP/cli" 2>&1 &&
	die "client add succeeded under an exclusive lock"
assert_contains "$TMP/cli" "locked by another process" "CLI names the lock"
assert_contains "$LB_LOG" "locked by another process" "server log names the lock"

wait "$HOLDER"
# the same ticket, retried as the agent does, now begins the boot
curl -sf --local-port 600-1000 --data-binary "ticket=$ticket" "$URL/session" \
	>"$TMP/session" || die "POST /session after the lock was released"
assert_contains "$TMP/session" "^credential=c1-" "the unspent ticket works"
nbdinfo --size "nbd://127.0.0.1:$LB_NBD_PORT/demo" >"$TMP/size" ||
	die "NBD image export after the lock"
assert_eq "$(cat "$TMP/size")" $((8 << 20)) "NBD export size"
assert_eq "$(sqlite3 "$LB_STATE/linkboot.db" "SELECT count(*) FROM clients")" 1 \
	"the refused client add left nothing"
assert_alive "after the lock"
echo "PASS: $TEST_NAME"
