#!/bin/bash
# Per-address caps, with the defaults (16 HTTP connections, 16 NBD
# connections, 8 TFTP transfers per client IP; loopback is not exempt):
# one host over its cap is refused at once (HTTP 503 first, NBD closed
# before the greeting, TFTP ERROR "busy") with rate-limited log lines,
# while another address (127.0.0.2) is still served.
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires "$LINKBOOT" image --help

root=$TMP/root
mkdir -p "$root"
echo hello >"$root/small.txt"
head -c 200000 /dev/urandom >"$root/file.bin"
IMG=$TMP/disk.img
head -c $((1 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot --root "$root"
lb image add cap "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }

python3 - "$TOP" "$LB_HTTP_PORT" "$LB_NBD_PORT" "$LB_TFTP_PORT" "$LB_LOG" <<'PY' || die "per-IP caps"
import socket, sys, time
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from nbd_raw import *
http, nbd, tftp, logf = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)
def loglines(pat):
    return sum(1 for l in open(logf, errors='replace') if pat in l)
def tcp(port, src='127.0.0.1'):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(('127.0.0.1', port))
    return s
def http_get(s):
    s.sendall(b'GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n')
    b = b''
    try:
        while b'hello' not in b and b'\r\n\r\n' not in b[:-1] or len(b) < 20:
            c = s.recv(4096)
            if not c: break
            b += c
            if b'503' in b[:12] or b'hello' in b: break
    except OSError:
        pass
    return b

# --- HTTP: 16 keep-alive connections from 127.0.0.1, the 17th gets 503
hs = [tcp(http) for i in range(16)]
ok = all(b'200 OK' in http_get(s) for s in hs)
check(ok, 'HTTP: 16 connections from one address served')
extra = [tcp(http) for i in range(40)]
r = [http_get(s) for s in extra]
n503 = sum(b' 503 ' in x[:20] for x in r)
print("HTTP: %d of 40 more connections from 127.0.0.1 answered 503" % n503, flush=True)
check(n503 == 40, 'HTTP: connections over the cap get 503')
other = tcp(http, '127.0.0.2')
check(b'200 OK' in http_get(other), 'HTTP: another address is served')
for s in hs + extra + [other]: s.close()

# --- NBD: 16 connections greeted, the 17th closed without a greeting
ns = [connect(('127.0.0.1', nbd)) for i in range(16)]
check(all(s is not None for s in ns), 'NBD: 16 connections from one address greeted')
refused = 0
for i in range(40):
    s = tcp(nbd)
    try:
        g = s.recv(18)
    except OSError:
        g = b''
    refused += g == b''
    s.close()
print("NBD: %d of 40 more connections from 127.0.0.1 closed" % refused, flush=True)
check(refused == 40, 'NBD: connections over the cap are closed at once')
o = tcp(nbd, '127.0.0.2')
check(recvn(o, 18)[:8] == b'NBDMAGIC' and go(o, 'cap') == NBD_REP_ACK,
      'NBD: another address is served')
o.close()
for s in ns: s.close()

# --- TFTP: 8 transfers open (no ACK), the 9th from the same address busy
def rrq(src='127.0.0.1'):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((src, 0))
    u.settimeout(5)
    u.sendto(b'\0\1file.bin\0octet\0', ('127.0.0.1', tftp))
    try:
        return u, u.recvfrom(70000)
    except socket.timeout:
        return u, (b'', None)
held = [rrq() for i in range(8)]
check(all(p[:2] == b'\0\3' for u, (p, f) in held), 'TFTP: 8 transfers from one address')
busy = [rrq() for i in range(20)]
nb = sum(p[:2] == b'\0\5' and b'busy' in p for u, (p, f) in busy)
print("TFTP: %d of 20 more RRQs from 127.0.0.1 answered busy" % nb, flush=True)
check(nb == 20, 'TFTP: transfers over the cap get ERROR busy')
u, (p, f) = rrq('127.0.0.2')
check(p[:2] == b'\0\3', 'TFTP: another address is served')
for u, (p, f) in held + busy + [(u, (p, f))]:
    if f: u.sendto(b'\0\5\0\0bye\0', f)
    u.close()

time.sleep(0.5)
lines = loglines('per_ip')
print("log lines naming a per-address cap: %d (for 100 refusals)" % lines, flush=True)
check(1 <= lines <= 10, 'refusals are logged, rate-limited')
sys.exit(1 if fails else 0)
PY
assert_alive "after the per-address caps"
echo "PASS: $TEST_NAME"
