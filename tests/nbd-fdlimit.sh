#!/bin/bash
# NBD out of file descriptors: at EMFILE the listener is paused (as HTTP's
# is) instead of spinning the loop, the warning is rate-limited, a client
# already connected is still answered, and NBD accepts again once fds are
# free. Then at start-up: a soft RLIMIT_NOFILE below what the connection
# limits need is raised toward the hard limit, and limits that still do not
# fit are lowered, with one line saying what and why.
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires prlimit --version
requires "$LINKBOOT" image --help

IMG=$TMP/disk.img
head -c $((1 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add fd "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }

# --- 1. fds run out under a running server (lowered from outside)
python3 - "$TOP" 127.0.0.1 "$LB_NBD_PORT" "$LB_PID" "$LB_LOG" "$LB_TFTP_PORT" <<'PY' || die "EMFILE"
import os, socket, subprocess, sys, time
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from nbd_raw import *
addr, pid, logf = (sys.argv[2], int(sys.argv[3])), int(sys.argv[4]), sys.argv[5]
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)
def cpu_ticks():
    f = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
    return int(f[11]) + int(f[12])      # utime + stime
def loglines():
    return sum(1 for _ in open(logf, errors='replace'))

keep = connect(addr)                    # a client from before the shortage
check(go(keep, 'fd') == NBD_REP_ACK, 'first client: NBD_OPT_GO')
n0 = nfds(pid)
# the soft limit only: raising it back needs no privilege
subprocess.run(['prlimit', '--pid', str(pid), '--nofile=%d:' % (n0 + 8)], check=True)
# more connections than fds: the kernel queues the rest in the backlog
socks = []
for i in range(40):
    try:
        socks.append(socket.create_connection(addr, timeout=5))
    except OSError:
        break
time.sleep(0.5)
lines0, cpu0, t0 = loglines(), cpu_ticks(), time.monotonic()
time.sleep(3)
lines1, cpu1, t1 = loglines(), cpu_ticks(), time.monotonic()
hz = os.sysconf('SC_CLK_TCK')
cpu = (cpu1 - cpu0) / hz / (t1 - t0)
t = time.monotonic()
e, d = read(keep, 0, 4096, 9)
lat = time.monotonic() - t
print("fds %d (limit %d), %d connections queued; over 3 s: %d log lines, "
      "CPU %.0f%% of a core; probe READ on the old connection %.3f s"
      % (nfds(pid), n0 + 8, len(socks), lines1 - lines0, 100 * cpu, lat),
      flush=True)
check(e == 0 and lat < 2, 'the connected client is answered within 2 s')
check(lines1 - lines0 < 20, 'fewer than 20 log lines in 3 s (no spin)')
check(cpu < 0.5, 'the loop does not spin (CPU < 50% of a core)')
# TFTP has no fd for the file either: ERROR "busy", the client retries
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
u.sendto(b'\0\1some-file\0octet\0', (addr[0], int(sys.argv[6])))
try:
    pkt = u.recv(600)
except socket.timeout:
    pkt = b''
print("TFTP RRQ at EMFILE ->", pkt, flush=True)
check(pkt[:2] == b'\0\5' and b'busy' in pkt, 'TFTP: ERROR "server busy" at EMFILE')
for s in socks: s.close()
subprocess.run(['prlimit', '--pid', str(pid), '--nofile=4096:'], check=True)
ok = None
for i in range(50):
    ok = probe(addr, 'fd', timeout=5)
    if ok is not None: break
    time.sleep(0.2)
check(ok is not None and ok < 2, "accepts again once fds are back (%s s)" % (ok if ok is None else "%.3f" % ok))
keep.close()
sys.exit(1 if fails else 0)
PY
assert_contains "$LB_LOG" 'nbd: accept.*pausing' "the EMFILE warning"
assert_alive "after the fd shortage"
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null

# --- 2. start-up: soft 64 / hard 4096 is raised; hard 64 lowers the limits
prlimit --nofile=64:4096 -- true || skip "prlimit cannot set limits here"
LINKBOOT_REAL=$LINKBOOT
cat >"$TMP/lb-soft" <<EOS
#!/bin/sh
exec prlimit --nofile=64:4096 -- $LINKBOOT_REAL "\$@"
EOS
chmod +x "$TMP/lb-soft"
LINKBOOT=$TMP/lb-soft start_linkboot
soft=$(awk '/Max open files/ {print $4}' "/proc/$LB_PID/limits")
echo "soft 64 / hard 4096 at start -> soft $soft"
[ "$soft" -gt 64 ] || die "soft fd limit not raised (still $soft)"
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null

cat >"$TMP/lb-hard" <<EOS
#!/bin/sh
exec prlimit --nofile=64:64 -- $LINKBOOT_REAL "\$@"
EOS
chmod +x "$TMP/lb-hard"
LINKBOOT=$TMP/lb-hard start_linkboot
grep 'fd limit' "$LB_LOG"
assert_contains "$LB_LOG" 'fd limit 64.*nbd_max_conns 1024 -> [0-9]+' \
	"lowered limits are logged"
python3 - "$TOP" 127.0.0.1 "$LB_NBD_PORT" "$LB_PID" <<'PY' || die "lowered limits"
import socket, sys, time
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from nbd_raw import *
addr, pid = (sys.argv[2], int(sys.argv[3])), int(sys.argv[4])
socks = []
for i in range(100):
    try: socks.append(socket.create_connection(addr, timeout=5))
    except OSError: break
time.sleep(1)
n = nfds(pid)
print("100 connections at hard limit 64: server holds %d fds" % n)
sys.exit(0 if n < 64 else 1)
PY
if grep -q 'nbd: accept.*Too many open files' "$LB_LOG"; then
	die "EMFILE reached although the limits were lowered to fit"
fi
assert_alive "with lowered limits"
echo "PASS: $TEST_NAME"
