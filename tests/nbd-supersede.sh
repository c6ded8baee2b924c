#!/bin/bash
# A writing client whose old NBD session still looks alive (the PC lost
# power or its cable: no FIN reached the server) reconnects: the server
# closes the stale session and the new one gets the client's overlay,
# instead of EBUSY until TCP notices. Another client's session is untouched.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires qemu-io --version
requires jq --version

head -c $((8 << 20)) /dev/urandom >"$TMP/disk.img"
echo kernel >"$TMP/k"; echo initrd >"$TMP/i"
start_linkboot
lb image add disk "$TMP/disk.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 ||
	die "image add"
lb client add 52:54:00:00:05:01 --image disk --write server >/dev/null || die "client add A"
lb client add 52:54:00:00:05:02 --image disk --write server >/dev/null || die "client add B"
TA=$(lb client show 52:54:00:00:05:01 -j | jq -r .token)
TB=$(lb client show 52:54:00:00:05:02 -j | jq -r .token)
URI=nbd://127.0.0.1:$LB_NBD_PORT

# two sessions that stay open: A's "dead" one and B's live one
# (qemu-io connects at start, then waits for commands on its stdin, a
# fifo this shell keeps open)
mkfifo "$TMP/ctl-a" "$TMP/ctl-b"
qemu-io -f raw "$URI/$TA" <"$TMP/ctl-a" >"$TMP/hold-a.log" 2>&1 &
HA=$!
exec 7>"$TMP/ctl-a"
qemu-io -f raw "$URI/$TB" <"$TMP/ctl-b" >"$TMP/hold-b.log" 2>&1 &
HB=$!
exec 8>"$TMP/ctl-b"
cleanup_fn "kill $HA $HB"
wait_for 10 bash -c "[ \$(grep -c 'export token of' '$LB_LOG') -ge 2 ]" ||
	die "held sessions did not open"

# A reconnects and writes: allowed, and the old session is closed
qemu-io -f raw -c 'write -P 0x33 0 65536' -c flush "$URI/$TA" >"$TMP/qio" 2>&1 ||
	{ cat "$TMP/qio"; die "A's new session could not write (stale session kept the overlay)"; }
assert_contains "$LB_LOG" "client 52:54:00:00:05:01 connected again .*closing its old session" \
	"stale session closed with a reason"
qemu-io -f raw -r -c 'read -P 0x33 0 65536' "$URI/$TA" >"$TMP/qio" 2>&1 ||
	{ cat "$TMP/qio"; die "A's write not read back"; }
kill -0 "$HB" 2>/dev/null || die "B's session was closed too"
assert_alive "after superseding"
echo "nbd-supersede: ok"
