#!/bin/bash
# iSCSI memory: connections that once read a lot must not keep it, and a
# connection whose initiator does not read holds what is in flight only.
# 24 sessions on an image target each READ 8 MiB (the largest READ, VPD
# 0xb0) one after the other, then all 24 pipeline 64 KiB reads at once,
# then idle: the server must not hold 24 x 8 MiB (a READ's Data-In is
# streamed in pieces as the socket drains), an idle connection's buffers
# give their pages back, and connections that read in turn borrow the
# same pooled buffers. Then 24 sessions with 4 READs of 8 MiB in flight
# leave their Data-In unread for a while: each holds a piece of it, not
# whole READs (server-stub/net/iscsi.c, "Data path", "Memory").
# Prints RSS and VmHWM; bounds are generous (a loaded 2-core VM, ASan).
# A raw-socket initiator in python3 (tests/tools/iscsi_raw.py).
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires "$LINKBOOT" image --help

IMG=$TMP/disk.img
head -c $((40 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add mem "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }

python3 - "$TOP" 127.0.0.1 "$LB_ISCSI_PORT" "$LB_PID" "$IMG" <<'PY' || die "memory"
import sys, time
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from iscsi_raw import *
HOST, PORT, PID, IMG = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
TARGET = "iqn.2026-12.org.linkboot:image.mem"
img = open(IMG, 'rb').read()
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)
def status_kib(key):
    for line in open('/proc/%d/status' % PID):
        if line.startswith(key + ':'):
            return int(line.split()[1])
    return -1

N, BIG = 24, 8 << 20
rss0 = status_kib('VmRSS')
sess = [Sess(HOST, PORT, TARGET, i) for i in range(N)]
for i, S in enumerate(sess):
    off = (i % 32) << 20
    check(S.read(off, BIG) == (0, img[off:off + BIG]),
          'session %d: 8 MiB READ, data right' % i)
hwm_big = status_kib('VmHWM')
# all at once: 8 reads of 64 KiB in flight on every session
for rnd in range(4):
    for i, S in enumerate(sess):
        for k in range(8):
            S.read_send(((i * 8 + k + rnd * 3) % 600) * 128, 128)
    ok = True
    for i, S in enumerate(sess):
        got = {}
        for k in range(8):
            itt, st, d = S.read_data()
            got[itt] = (st, d)
        for k in range(8):
            off = ((i * 8 + k + rnd * 3) % 600) * 65536
            st, d = got[S.itt - 7 + k]
            ok = ok and st == 0 and d == img[off:off + 65536]
    check(ok, 'round %d: 24 x 8 pipelined 64 KiB READs, data right' % rnd)
rss_busy = status_kib('VmRSS')
time.sleep(3.5)		# idle: past ISCSI_TRIM_MS
rss_idle = status_kib('VmRSS')
hwm = status_kib('VmHWM')
print("RSS before %d KiB, after the reads %d KiB, idle %d KiB, VmHWM %d KiB "
      "(%d KiB after the 8 MiB READs)" % (rss0, rss_busy, rss_idle, hwm, hwm_big),
      flush=True)
check(rss_idle < rss0 + (48 << 10),
      'idle RSS < 48 MiB above the start with %d sessions open' % N)
check(hwm < rss0 + (96 << 10),
      'VmHWM < 96 MiB above the start (%d x 8 MiB would be %d)' % (N, N * 8))
# the trimmed sessions still work; one after the other, they borrow the
# same pooled buffers: 24 x 1 MiB of Data-In must not leave 24 MiB of
# buffers behind (each connection's own tbuf would, until ISCSI_TRIM_MS)
for i, S in enumerate(sess):
    off = ((i + 3) % 39) << 20
    check(S.read(off, 1 << 20) == (0, img[off:off + (1 << 20)]),
          'session %d: reads after idle' % i)
rss_seq = status_kib('VmRSS')
print("RSS after 24 sessions read 1 MiB one after the other: %d KiB" % rss_seq,
      flush=True)
check(rss_seq < rss_idle + (8 << 10),
      'sessions reading in turn share buffers: RSS < 8 MiB above idle')
for S in sess:
    S.s.close()

# Data-In left unread: M sessions (a small socket receive buffer each)
# with Q READs of 8 MiB in flight read nothing for a while, more than the
# kernel's socket buffers take. A READ's Data-In streams as the socket
# drains ("Data path"): a connection touches one piece (ISCSI_READ_PIECE,
# 256 KiB) and a short tail of tbuf, not a whole READ (queued whole: 8 MiB
# of tbuf each); then everything is read and checked
M, Q, LEN = 24, 4, 8 << 20
slow = [Sess(HOST, PORT, TARGET, 100 + i, rcvbuf=32 << 10) for i in range(M)]
def slow_off(i, k):
    return ((i * Q + k) % 32) << 20
time.sleep(3.5)		# past ISCSI_TRIM_MS: no warm pooled pages to reuse
rss_ready = status_kib('VmRSS')
for i, S in enumerate(slow):
    for k in range(Q):
        S.read_send(slow_off(i, k) // 512, LEN // 512)
time.sleep(1)		# the target has done what it can; not yet ISCSI_TRIM_MS
rss_held = status_kib('VmRSS')
grown = rss_held - rss_ready
print("%d sessions with %d x 8 MiB READs unread: RSS %d KiB -> %d KiB, %d KiB "
      "more, %d KiB per connection" % (M, Q, rss_ready, rss_held, grown, grown // M),
      flush=True)
check(grown < M * 512,
      'Data-In unread: < 512 KiB RSS per connection (a piece and a tail), '
      'not whole READs (%d KiB each)' % (grown // M))
ok = True
for i, S in enumerate(slow):
    got = {}
    for k in range(Q):
        itt, st, d = S.read_data()
        got[itt] = (st, d)
    for k in range(Q):
        off = slow_off(i, k)
        ok = ok and got.get(S.itt - Q + 1 + k) == (0, img[off:off + LEN])
check(ok, '%d x %d READs of 8 MiB read late: all Data-In there, data right' % (M, Q))
for S in slow:
    S.s.close()
sys.exit(1 if fails else 0)
PY
assert_alive "after the big reads"
echo "PASS: $TEST_NAME"
