#!/bin/bash
# NBD idle connections: --nbd-idle-timeout closes a transmission-phase
# connection that sent no request for that long (a busy one stays), NBD and
# HTTP sockets carry TCP keepalive (a vanished peer is found), and the
# agent's serve loop (agent/disk_serve.c, playing nbd.ko with
# tests/tools/agent_reads) rides over the idle closes: every read right,
# no error for "the kernel".
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires ss --version
requires "$LINKBOOT" image --help
AGENT_READS=$TOP/build/tests/tools/agent_reads
[ -x "$AGENT_READS" ] || skip "build $AGENT_READS first (make)"

IMG=$TMP/disk.img
head -c $((4 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
mkdir -p "$TMP/root"
echo hello >"$TMP/root/small.txt"
start_linkboot --nbd-idle-timeout 2 --root "$TMP/root"
lb image add idle "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }

python3 - "$TOP" 127.0.0.1 "$LB_NBD_PORT" "$LB_HTTP_PORT" <<'PY' || die "idle timeout"
import socket, subprocess, sys, time
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from nbd_raw import *
addr, http = (sys.argv[2], int(sys.argv[3])), int(sys.argv[4])
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)
def timers(port):
    return subprocess.run(['ss', '-Htno', 'state', 'established',
                           '( sport = :%d )' % port], capture_output=True,
                          text=True).stdout

idle = connect(addr)
busy = connect(addr)
check(go(idle, 'idle') == NBD_REP_ACK and go(busy, 'idle') == NBD_REP_ACK,
      'two connections in the transmission phase')
h = socket.create_connection(('127.0.0.1', http))
h.sendall(b'GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n')
h.recv(4096)
time.sleep(0.5)     # the last replies ACKed: ss shows the keepalive timer
t = timers(addr[1]) + timers(http)
print(t, flush=True)
check(t.count('keepalive') >= 3, 'server-side NBD and HTTP sockets have a keepalive timer')
h.close()
t0 = time.monotonic()
busy_ok = True
while time.monotonic() - t0 < 5:
    e, d = read(busy, 0, 4096, 5)
    busy_ok = busy_ok and e == 0
    time.sleep(0.5)
check(busy_ok, 'a connection with a request every 0.5 s stays open (5 s)')
t = time.monotonic()
gone = closed(idle, 10)
print("idle connection closed by the server %.1f s after 5 s of silence" %
      (time.monotonic() - t), flush=True)
check(gone, 'a connection idle for 2 s is closed (nbd_idle_timeout 2)')
sys.exit(1 if fails else 0)
PY
assert_contains "$LB_LOG" 'idle for 2 s \(nbd_idle_timeout\)' "the idle close is logged"

"$AGENT_READS" 127.0.0.1 "$LB_NBD_PORT" idle "$IMG" 4 3 >"$TMP/agent.out" 2>&1
rc=$?
cat "$TMP/agent.out"
[ "$rc" -eq 0 ] || die "the agent's reads failed across idle closes"
n=$(grep -c 'idle for 2 s' "$LB_LOG")
echo "idle closes in the server log: $n"
[ "$n" -ge 3 ] || die "the agent's connection was not closed while idle"
assert_contains "$TMP/agent.out" 'reconnected' "the agent reconnected"
assert_alive "after idle closes"
echo "PASS: $TEST_NAME"
