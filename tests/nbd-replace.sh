#!/bin/bash
# One PC runs one boot: a PC that is reset (or loses power) leaves its NBD
# connection open on the server (no FIN ever comes), holding its server
# overlay's single-writer lock. The PC's next connection with its token
# must replace that older connection, not get EBUSY until TCP gives up.
# A held-open qemu-io stands for the dead PC; a second qemu-io with the
# same token then writes; another client's open connection is untouched.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires qemu-io --version
requires jq --version

IMG=$TMP/disk.img
head -c $((8 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add disk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
MA=52:54:00:00:02:01 MB=52:54:00:00:02:02
lb client add "$MA" --image disk --write server >/dev/null || die "client add A"
lb client add "$MB" --image disk --write server >/dev/null || die "client add B"
token() { lb client show "$1" -j | jq -r .token; }
TA=$(token "$MA") TB=$(token "$MB")
URI=nbd://127.0.0.1:$LB_NBD_PORT

# qemu-io waits for commands on stdin: the connection stays open
hold() {	# hold NAME TOKEN: a connection that stays open (the "dead PC")
	mkfifo "$TMP/$1.in"
	qemu-io -f raw "$URI/$2" <"$TMP/$1.in" >"$TMP/$1.out" 2>&1 &
	cleanup_fn "kill $!"
	exec {fd}>"$TMP/$1.in"	# keep the fifo's write end open
	cleanup_fn "exec $fd>&-"
}
hold a1 "$TA"
wait_for 10 grep -q "export token of $MA" "$LB_LOG" || die "A's first connection"
hold b1 "$TB"
wait_for 10 grep -q "export token of $MB" "$LB_LOG" || die "B's connection"

# A "boots again": its new connection writes to its overlay
qemu-io -f raw -c 'write -P 0x5a 0 64k' "$URI/$TA" >"$TMP/a2.out" 2>&1 ||
	{ cat "$TMP/a2.out"; die "A's second connection could not write (older one still holds the overlay?)"; }
assert_contains "$LB_LOG" "client $MA connected again from .*closing its older connection" "older connection replaced"
assert_contains "$LB_LOG" "closed in transmission phase: replaced by a newer connection" "older connection closed"
grep -q "client $MB connected again" "$LB_LOG" && die "B's connection was replaced by A's"
qemu-io -f raw -c 'read -P 0x5a 0 64k' "$URI/$TA" >"$TMP/a3.out" 2>&1 ||
	{ cat "$TMP/a3.out"; die "A's write is not in its overlay"; }
# B's connection is still open (only A's older one was closed by us)
PB=$(sed -n "s/.*nbd \([0-9.:]*\): export token of $MB.*/\1/p" "$LB_LOG")
[ -n "$PB" ] || die "B's peer address not in the log"
grep -q "nbd $PB: closed" "$LB_LOG" && die "B's connection was closed"
assert_alive "after replacing a connection"
