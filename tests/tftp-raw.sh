#!/bin/bash
# TFTP with crafted packets (python3 sockets, no TFTP library):
#  - garbage, runts, truncated requests, stray ACKs: clear errors, and the
#    server keeps answering
#  - unknown TID: ERROR 5 to the intruder, the transfer goes on (RFC 1350 §4)
#  - OVMF's pattern: tsize=0 blksize=1468 windowsize=4, ERROR 8 after the
#    OACK, then the real download with a window of 4 (RFC 7440)
#  - iPXE's RRQ (blksize=1432 tsize=0 exactly) for a loader name gets the
#    generated #!ipxe chain script; a plain client gets the loader file, and
#    asking again from the same address right after gets the script too
#  - a block lost inside a window: the client's ACK of its last in-order
#    block makes the server resend from there (RFC 7440 §4)
#  - no ACK: the DATA is sent again (same TID); a repeated RRQ from the same
#    port does not start a second session
#  - a session beyond --tftp-max-sessions gets ERROR 0 "server busy"
. "$(dirname "$0")/lib.sh"
requires python3 -c 'import socket'
requires tftp -V

root=$TMP/root
mkdir -p "$root"
head -c 70000 /dev/urandom >"$root/undionly.kpxe"
head -c 200000 /dev/urandom >"$root/big.bin"
head -c $((1468 * 8)) /dev/urandom >"$root/w.bin"
start_linkboot --root "$root" --server-addr 127.0.0.1 --tftp-max-sessions 2

cat >"$TMP/tc.py" <<'PY'
import socket, struct, sys

HOST = "127.0.0.1"
PORT = int(sys.argv[1])
ROOT = sys.argv[2]
TIMEOUT = 3.0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.settimeout(TIMEOUT)
    return s


def rrq(name, opts=(), mode=b"octet", op=1):
    p = struct.pack("!H", op) + name + b"\0" + mode + b"\0"
    for k, v in opts:
        p += k + b"\0" + v + b"\0"
    return p


def recv(s):
    try:
        return s.recvfrom(70000)
    except socket.timeout:
        fail("no answer within %.0f s" % TIMEOUT)


def expect_error(s, code, what):
    pkt, _ = recv(s)
    op, c = struct.unpack("!HH", pkt[:4])
    if op != 5 or c != code:
        fail("%s: expected ERROR %d, got opcode %d code %d %r" % (what, code, op, c, pkt[:40]))
    if not pkt.endswith(b"\0") or len(pkt) < 6:
        fail("%s: error message not NUL terminated: %r" % (what, pkt))


def parse_oack(pkt):
    f = pkt[2:].split(b"\0")[:-1]
    return {f[i].lower(): f[i + 1] for i in range(0, len(f) - 1, 2)}


def download(s, first, peer, blksize, window, acks_from=None):
    """Receive DATA from peer (first packet already in hand, or None after
    an OACK that we ACK now), ACK every `window` blocks; returns bytes."""
    data = bytearray()
    expect = 1
    since_ack = 0
    tries = 0
    if first is None:
        s.sendto(struct.pack("!HH", 4, 0), peer)
        pkt = None
    else:
        pkt = first
    while True:
        if pkt is None:
            try:
                pkt, frm = s.recvfrom(70000)
            except socket.timeout:
                tries += 1
                if tries > 5:
                    fail("download stalled at block %d" % expect)
                s.sendto(struct.pack("!HH", 4, (expect - 1) & 0xFFFF), peer)
                continue
            if frm != peer:
                fail("DATA from %r, expected %r" % (frm, peer))
        op, blk = struct.unpack("!HH", pkt[:4])
        if op != 3:
            fail("expected DATA, got %r" % pkt[:40])
        if blk == expect & 0xFFFF:
            data += pkt[4:]
            expect += 1
            since_ack += 1
            last = len(pkt) - 4 < blksize
            if since_ack == window or last:
                s.sendto(struct.pack("!HH", 4, blk), peer)
                since_ack = 0
            if last:
                return bytes(data)
        pkt = None


def case_garbage():
    s = sock()
    srv = (HOST, PORT)
    s.sendto(b"\x00", srv)                       # runt: silently dropped
    s.sendto(b"", srv)
    s.sendto(b"\x00\x01undionly.kpxe", srv)      # no NUL after the name
    expect_error(s, 4, "filename without NUL")
    s.sendto(b"\x00\x01undionly.kpxe\x00octet", srv)
    expect_error(s, 4, "mode without NUL")
    s.sendto(b"\x00\x63\xff\xfe", srv)           # opcode 99
    expect_error(s, 4, "unknown opcode")
    s.sendto(struct.pack("!HH", 4, 1), srv)      # ACK to the server port
    expect_error(s, 5, "stray ACK")
    s.sendto(rrq(b"undionly.kpxe", mode=b"mail"), srv)
    expect_error(s, 4, "mail mode")
    s.sendto(b"\x00\x01" + b"A" * 65000, srv)    # huge, no NUL
    expect_error(s, 4, "huge request")
    # trailing garbage after a complete option is tolerated
    s.sendto(rrq(b"big.bin", [(b"blksize", b"1024")]) + b"\xff\xfe", srv)
    pkt, peer = recv(s)
    o = parse_oack(pkt)
    if pkt[:2] != b"\x00\x06" or o.get(b"blksize") != b"1024":
        fail("trailing garbage: expected OACK blksize 1024, got %r" % pkt[:40])
    got = download(s, None, peer, 1024, 1)
    if got != open(ROOT + "/big.bin", "rb").read():
        fail("trailing garbage: download differs")


def case_unknown_tid():
    a, b = sock(), sock()
    a.sendto(rrq(b"big.bin"), (HOST, PORT))
    first, peer = recv(a)
    if peer[1] == PORT:
        fail("transfer must use its own port (TID), not %d" % PORT)
    b.sendto(struct.pack("!HH", 4, 1), peer)     # intruder ACKs block 1
    expect_error(b, 5, "unknown TID")
    got = download(a, first, peer, 512, 1)
    if got != open(ROOT + "/big.bin", "rb").read():
        fail("unknown TID: download differs")


def case_ovmf():
    s = sock()
    opts = [(b"tsize", b"0"), (b"blksize", b"1468"), (b"windowsize", b"4")]
    s.sendto(rrq(b"w.bin", opts), (HOST, PORT))
    pkt, peer = recv(s)
    o = parse_oack(pkt)
    size = len(open(ROOT + "/w.bin", "rb").read())
    if pkt[:2] != b"\x00\x06" or o != {b"tsize": str(size).encode(),
                                       b"blksize": b"1468", b"windowsize": b"4"}:
        fail("OVMF OACK: %r" % pkt)
    # OVMF has what it wanted (the size): it aborts with ERROR 8
    s.sendto(struct.pack("!HH", 5, 8) + b"aborted\0", peer)
    s2 = sock()
    s2.sendto(rrq(b"w.bin", opts), (HOST, PORT))
    pkt, peer2 = recv(s2)
    if pkt[:2] != b"\x00\x06":
        fail("OVMF second RRQ: no OACK")
    got = download(s2, None, peer2, 1468, 4)
    if got != open(ROOT + "/w.bin", "rb").read():
        fail("windowsize 4 download differs")
    # the aborted session must be gone: its port does not answer
    s.sendto(struct.pack("!HH", 4, 0), peer)
    s.settimeout(0.5)
    try:
        pkt, _ = s.recvfrom(100)
        if pkt[:2] == b"\x00\x03":
            fail("aborted session still sends DATA")
    except (socket.timeout, ConnectionRefusedError):
        pass


def case_ipxe():
    s = sock()
    s.sendto(rrq(b"undionly.kpxe", [(b"blksize", b"1432"), (b"tsize", b"0")]),
             (HOST, PORT))
    pkt, peer = recv(s)
    o = parse_oack(pkt)
    got = download(s, None, peer, 1432, 1)
    if not got.startswith(b"#!ipxe\n"):
        fail("iPXE fingerprint: expected a #!ipxe script, got %r" % got[:40])
    if int(o[b"tsize"]) != len(got):
        fail("script tsize %r != %d" % (o[b"tsize"], len(got)))
    sys.stdout.write(got.decode())


def case_retransmit():
    s = sock()
    s.sendto(rrq(b"big.bin"), (HOST, PORT))
    s.sendto(rrq(b"big.bin"), (HOST, PORT))      # the client's own retry
    first, peer = recv(s)
    # no ACK: DATA 1 must come again, from the same TID (one session only)
    again, frm = recv(s)
    if frm != peer or again != first:
        fail("expected DATA 1 retransmitted from %r, got %r from %r" % (peer, again[:4], frm))
    got = download(s, first, peer, 512, 1)
    if got != open(ROOT + "/big.bin", "rb").read():
        fail("retransmit: download differs")


def case_window_loss():
    """RFC 7440 §4: a gap in a window; the client ACKs its last in-order
    block and the server goes on from there."""
    s = sock()
    s.sendto(rrq(b"big.bin", [(b"windowsize", b"8")]), (HOST, PORT))
    pkt, peer = recv(s)
    if parse_oack(pkt).get(b"windowsize") != b"8":
        fail("window loss: no OACK windowsize 8: %r" % pkt)
    s.sendto(struct.pack("!HH", 4, 0), peer)
    want = open(ROOT + "/big.bin", "rb").read()
    data, expect, since, dropped, gap_acked = bytearray(), 1, 0, set(), False
    for _ in range(20000):
        try:
            pkt, _ = s.recvfrom(70000)
        except socket.timeout:
            fail("window loss: stalled at block %d" % expect)
        blk = struct.unpack("!H", pkt[2:4])[0]
        if blk == (expect & 0xFFFF) and expect % 10 == 5 and expect not in dropped:
            dropped.add(expect)                  # lose it, once
            continue
        if blk != (expect & 0xFFFF):
            if not gap_acked:                    # one ACK per gap
                s.sendto(struct.pack("!HH", 4, (expect - 1) & 0xFFFF), peer)
                gap_acked, since = True, 0
            continue
        gap_acked = False
        data += pkt[4:]
        expect += 1
        since += 1
        last = len(pkt) - 4 < 512
        if since == 8 or last:
            s.sendto(struct.pack("!HH", 4, blk), peer)
            since = 0
        if last:
            break
    if bytes(data) != want:
        fail("window loss: download differs (%d of %d bytes)" % (len(data), len(want)))
    if len(dropped) < 30:
        fail("window loss: only %d drops exercised" % len(dropped))


def case_busy():
    a, b, c = sock(), sock(), sock()
    a.sendto(rrq(b"big.bin"), (HOST, PORT))
    recv(a)                                      # DATA 1, never ACKed
    b.sendto(rrq(b"big.bin"), (HOST, PORT))
    recv(b)
    c.sendto(rrq(b"big.bin"), (HOST, PORT))
    expect_error(c, 0, "third session")


globals()["case_" + sys.argv[3]]()
PY

tc() { timeout 60 python3 "$TMP/tc.py" "$LB_TFTP_PORT" "$root" "$@"; }

tc garbage || die "garbage"
assert_alive "after garbage"
tc unknown_tid || die "unknown TID"
tc ovmf || die "OVMF pattern"
tc retransmit || die "retransmission"
tc window_loss || die "loss inside a window"
assert_contains "$LB_LOG" 'RRQ "w\.bin" tsize=0 blksize=1468 windowsize=4 -> client ERROR 8 "aborted"' \
	"client ERROR logged"

tc ipxe >"$TMP/script" || die "iPXE fingerprint"
printf '#!ipxe\nchain http://127.0.0.1:%s/boot.ipxe?mac=${mac}\n' "$LB_HTTP_PORT" >"$TMP/want"
cmp "$TMP/script" "$TMP/want" || { cat "$TMP/script" >&2; die "script text"; }

# a plain client (tftp-hpa, no options) gets the loader itself ...
timeout 30 tftp -m binary 127.0.0.1 "$LB_TFTP_PORT" -c get undionly.kpxe "$TMP/l1"
cmp "$TMP/l1" "$root/undionly.kpxe" || die "plain client did not get the loader"
# ... and whatever asks again from that address right away is that loader
timeout 30 tftp -m binary 127.0.0.1 "$LB_TFTP_PORT" -c get undionly.kpxe "$TMP/l2"
cmp "$TMP/l2" "$TMP/want" || die "re-request after the loader did not get the script"
# other files are never replaced
timeout 30 tftp -m binary 127.0.0.1 "$LB_TFTP_PORT" -c get big.bin "$TMP/b"
cmp "$TMP/b" "$root/big.bin" || die "big.bin"

tc busy || die "server busy"
assert_contains "$LB_LOG" '-> ERROR 0 "server busy' "busy logged"
assert_alive "at the end"
exit 0
