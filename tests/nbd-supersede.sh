#!/bin/bash
# A writing client whose old NBD session still looks alive (the PC lost
# power or its cable: no FIN reached the server) reconnects: the server
# closes the stale session and the new one gets the client's overlay,
# instead of EBUSY until TCP notices. Another client's session is untouched,
# and a connection with A's credential from another address never closes
# A's session (it is refused).
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires qemu-io --version
requires python3 --version

head -c $((8 << 20)) /dev/urandom >"$TMP/disk.img"
echo kernel >"$TMP/k"; echo initrd >"$TMP/i"
start_linkboot
lb image add disk "$TMP/disk.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 ||
	die "image add"
lb client add 52:54:00:00:05:01 --image disk --write server >/dev/null || die "client add A"
lb client add 52:54:00:00:05:02 --image disk --write server >/dev/null || die "client add B"
TA=$(lb client token 52:54:00:00:05:01 2>/dev/null) || die "client token A"
TB=$(lb client token 52:54:00:00:05:02 2>/dev/null) || die "client token B"
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
wait_for 10 bash -c "[ \$(grep -c 'export credential of' '$LB_LOG') -ge 2 ]" ||
	die "held sessions did not open"

# A's credential from another address (127.0.0.2): refused, A's session
# stays (a host on the LAN cannot take a PC's overlay from it)
python3 - "$LB_NBD_PORT" "$TA" <<'PY' || die "another address took A's overlay"
import socket, struct, sys
port, name = int(sys.argv[1]), sys.argv[2].encode()
s = socket.socket(); s.bind(("127.0.0.2", 0)); s.settimeout(10)
s.connect(("127.0.0.1", port))
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b)); assert c, "EOF"; b += c
    return b
recvn(18)
s.sendall(struct.pack(">I", 1) + struct.pack(">QII", 0x49484156454F5054, 7,
          4 + len(name) + 2) + struct.pack(">I", len(name)) + name + b"\0\0")
while True:
    magic, opt, typ, ln = struct.unpack(">QIII", recvn(20)); recvn(ln)
    if typ != 3: break
sys.exit(0 if typ & 0x80000000 else 1)
PY
assert_contains "$LB_LOG" "in use by a session from another address" \
	"refusal says why"
kill -0 "$HA" 2>/dev/null || die "A's session was closed by another address"

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
