#!/bin/bash
# TFTP timeout option (RFC 2349) cannot hold a session slot for long:
#  - "timeout 255" is declined (left out of the OACK): RFC 2349 says the
#    OACK's value "must match the value specified by the client", so the
#    server cannot answer a smaller one; a small timeout is accepted as is
#  - a client that never ACKs loses its slot within ~40 s (RFC 1350
#    retransmissions, backoff 1..8 s, 6 of them), not 7 x 255 s = 30 min:
#    with --tftp-max-sessions 1, a second client is served after that.
. "$(dirname "$0")/lib.sh"
requires python3 -c 'import socket'

root=$TMP/root
mkdir -p "$root"
head -c 70000 /dev/urandom >"$root/file.bin"
start_linkboot --root "$root" --tftp-max-sessions 1

python3 - 127.0.0.1 "$LB_TFTP_PORT" <<'PY' || die "timeout option"
import socket, struct, sys, time
addr = (sys.argv[1], int(sys.argv[2]))
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)
def rrq(opts):
    p = b'\0\1file.bin\0octet\0'
    for k, v in opts: p += k + b'\0' + v + b'\0'
    return p
def ask(opts, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(rrq(opts), addr)
    try:
        pkt, frm = s.recvfrom(70000)
    except socket.timeout:
        pkt, frm = b'', None
    return s, pkt, frm
def oack_opts(pkt):
    f = pkt[2:].split(b'\0')
    return dict(zip(f[0::2], f[1::2]))

# a small timeout is accepted unchanged; the session is then ended by us
s, pkt, frm = ask([(b'timeout', b'3'), (b'tsize', b'0')])
check(pkt[:2] == b'\0\6' and oack_opts(pkt).get(b'timeout') == b'3',
      'timeout 3: accepted in the OACK (%r)' % pkt[:40])
s.sendto(b'\0\5\0\0done\0', frm)
time.sleep(0.3)

# timeout 255 is declined; the session goes on with our own timer
s, pkt, frm = ask([(b'timeout', b'255'), (b'tsize', b'0')])
o = oack_opts(pkt) if pkt[:2] == b'\0\6' else {}
print("RRQ timeout=255 -> %r" % pkt[:40], flush=True)
check(pkt[:2] == b'\0\6' and b'timeout' not in o and o.get(b'tsize') == b'70000',
      'timeout 255: declined (OACK without it)')
# ... and never ACKed: how long until the one slot is free again?
t0 = time.monotonic()
freed = None
while time.monotonic() - t0 < 60:
    s2, pkt2, frm2 = ask([], timeout=2)
    if pkt2[:2] == b'\0\3':
        freed = time.monotonic() - t0
        s2.sendto(b'\0\5\0\0done\0', frm2)
        break
    s2.close()
    time.sleep(2)
print("slot of a silent client free again after %s s" %
      ("%.1f" % freed if freed is not None else "> 60"), flush=True)
check(freed is not None, 'a silent client loses its slot within 60 s')
sys.exit(1 if fails else 0)
PY
assert_alive "after the timeout sessions"
echo "PASS: $TEST_NAME"
