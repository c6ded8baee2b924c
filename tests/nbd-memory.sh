#!/bin/bash
# NBD memory: 32 MiB READs (the largest a request may ask) on 8 connections
# at once must not leave the server holding 8 x 32 MiB. A READ longer than
# the reply buffer is sent in pieces, a buffer grown for a big WRITE shrinks
# back once drained, and an idle connection's buffers give their pages back.
# Prints RSS and VmHWM; bounds are generous (a loaded 2-core VM, ASan).
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires jq --version
requires "$LINKBOOT" image --help

IMG=$TMP/disk.img
head -c $((40 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add mem "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:00:41 --image mem --write server \
	>"$TMP/client.log" 2>&1 || { cat "$TMP/client.log"; die "client add"; }
TOKEN=$(lb client token 52:54:00:00:00:41 2>/dev/null)

python3 - "$TOP" 127.0.0.1 "$LB_NBD_PORT" "$LB_PID" "$IMG" "$TOKEN" <<'PY' || die "memory"
import struct, sys, time
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from nbd_raw import *
addr, pid, img = (sys.argv[2], int(sys.argv[3])), int(sys.argv[4]), sys.argv[5]
token = sys.argv[6]
want = open(img, 'rb').read(32 << 20)
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)

rss0 = status_kib(pid, 'VmRSS')
conns = [connect(addr) for i in range(8)]
for s in conns:
    assert go(s, 'mem') == NBD_REP_ACK
# all eight ask at once, then read their replies one after the other
for i, s in enumerate(conns):
    s.sendall(req(CMD_READ, 0, 32 << 20, 100 + i))
for i, s in enumerate(conns):
    e, h = simple(s)
    data = recvn(s, 32 << 20)
    check(e == 0 and h == 100 + i and data == want,
          'conn %d: 32 MiB READ answered, data right' % i)
# structured replies: the streamed READ is one OFFSET_DATA chunk all the same
st = connect(addr)
st.sendall(struct.pack('>I', 3) + opt(8))
check(rep(st)[1] == NBD_REP_ACK, 'NBD_OPT_STRUCTURED_REPLY')
st.sendall(opt(NBD_OPT_GO, opt_go_data('mem')))
while rep(st)[1] == NBD_REP_INFO: pass
st.sendall(req(CMD_READ, 4096, 32 << 20, 50))
m, fl, ty, h, ln = struct.unpack('>IHHQI', recvn(st, 20))
d = recvn(st, ln)
check((m, fl, ty, h, ln) == (0x668e33ef, 1, 1, 50, 8 + (32 << 20)) and
      struct.unpack('>Q', d[:8])[0] == 4096 and d[8:] == open(img, 'rb').read(4096 + (32 << 20))[4096:],
      'structured: a 32 MiB READ is one OFFSET_DATA chunk, data right')
st.close()
# a client with a writable export sends a 32 MiB WRITE (rbuf grows for it)
w = connect(addr)
check(go(w, token) == NBD_REP_ACK, 'writable export: NBD_OPT_GO')
w.sendall(req(1, 0, 32 << 20, 300) + bytes(32 << 20))
check(simple(w) == (0, 300), '32 MiB WRITE answered')
rss_busy = status_kib(pid, 'VmRSS')
time.sleep(3)       # idle: past the buffer trim delay
rss_idle = status_kib(pid, 'VmRSS')
hwm = status_kib(pid, 'VmHWM')
lat = probe(addr, 'mem')
print("RSS before %d KiB, after the reads %d KiB, idle %d KiB, VmHWM %d KiB, "
      "probe %s s" % (rss0, rss_busy, rss_idle, hwm,
                      "%.3f" % lat if lat is not None else "none"), flush=True)
check(rss_idle < 64 << 10, 'idle RSS < 64 MiB with 9 connections open')
check(hwm < 160 << 10, 'VmHWM < 160 MiB (8 x 32 MiB would be 256)')
check(lat is not None and lat < 2, 'a probe is answered within 2 s')
# the trimmed connections still work
for i, s in enumerate(conns):
    e, d = read(s, 1 << 20, 1 << 20, 200 + i)
    check(e == 0 and d == want[1 << 20:2 << 20], 'conn %d: reads after idle' % i)
    s.close()
e, d = read(w, 0, 4096, 301)
check(e == 0 and d == bytes(4096), 'the writer reads its zeroes back after idle')
w.close()
sys.exit(1 if fails else 0)
PY
assert_alive "after the big reads"
echo "PASS: $TEST_NAME"
