#!/bin/bash
# NBD handshake flood: clients that pipeline megabytes of NBD_OPT_INFO (each
# one a link DB lookup) must not stall the single loop. The server does a
# bounded number of options per wake-up, closes a connection after more
# options than any real client sends, and a concurrent probe (connect, GO,
# READ) is answered quickly all along. Prints the probe latencies and what
# one NBD_OPT_INFO costs. Refused requests do not flood the log either.
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires "$LINKBOOT" image --help

IMG=$TMP/disk.img
head -c $((1 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add flood "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }

python3 - "$TOP" 127.0.0.1 "$LB_NBD_PORT" "$LB_LOG" <<'PY' || die "handshake flood"
import socket, struct, sys, threading, time
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from nbd_raw import *
addr = (sys.argv[2], int(sys.argv[3]))
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)

info = opt(NBD_OPT_INFO, opt_go_data('flood'))
# what one NBD_OPT_INFO costs, lock-step like a real client, 20 of them
s = connect(addr)
s.sendall(struct.pack('>I', 3))
t0 = time.monotonic()
for i in range(20):
    s.sendall(info)
    while True:
        o, t, d = rep(s)
        if t != NBD_REP_INFO: break
    assert t == NBD_REP_ACK, t
per = (time.monotonic() - t0) / 20
print("one NBD_OPT_INFO round trip (link DB lookup included): %.0f us" % (per * 1e6),
      flush=True)
s.close()

# four flooders, 2 MB of pipelined NBD_OPT_INFO each, never reading replies
flood = struct.pack('>I', 3) + info * ((2 << 20) // len(info))
ends = {}
def flooder(k):
    f = socket.create_connection(addr, timeout=60)
    f.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        f.sendall(flood)
        ends[k] = 'sent all'
    except OSError as e:
        ends[k] = 'send: %s' % e.strerror
    t = time.monotonic()
    ends[k] += ', closed by the server' if closed(f, 30) else ', still open'
    ends[k] += ' %.1f s after' % (time.monotonic() - t)
    f.close()
th = [threading.Thread(target=flooder, args=(k,)) for k in range(4)]
for t in th: t.start()
lat = []
t_end = time.monotonic() + 6
while time.monotonic() < t_end:
    l = probe(addr, 'flood', timeout=30)
    lat.append(l if l is not None else 99)
    time.sleep(0.1)
for t in th: t.join(60)
print("probe latencies during the flood (s): max %.3f, %d probes: %s" %
      (max(lat), len(lat), ' '.join('%.3f' % l for l in lat[:20])), flush=True)
for k in sorted(ends): print("flooder %d: %s" % (k, ends[k]), flush=True)
check(max(lat) < 2, 'every probe answered within 2 s during the flood')
check(all('closed by the server' in v for v in ends.values()),
      'the flooders are closed by the server')

# refused requests are logged a few per connection, not one line each
lines0 = sum(1 for _ in open(sys.argv[4], errors='replace'))
s = connect(addr)
assert go(s, 'flood') == NBD_REP_ACK
s.sendall(b''.join(req(CMD_READ, 1 << 40, 512, i) for i in range(20000)))
got = 0
for i in range(20000):
    e, h = simple(s)
    got += e == 22
s.close()
time.sleep(0.5)
lines = sum(1 for _ in open(sys.argv[4], errors='replace')) - lines0
print("20000 out-of-range READs: %d EINVAL replies, %d log lines" % (got, lines),
      flush=True)
check(got == 20000, 'each bad READ gets its EINVAL')
check(lines < 50, 'fewer than 50 log lines for 20000 refused requests')
sys.exit(1 if fails else 0)
PY
assert_alive "after the handshake flood"
echo "PASS: $TEST_NAME"
