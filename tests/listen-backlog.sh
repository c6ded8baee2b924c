#!/bin/bash
# A room switched on at once: more PCs connect than one loop cycle accepts.
# With the server stopped (SIGSTOP: the worst case of a busy loop), 300
# connections to each TCP service (NBD, iSCSI, HTTP) must all complete the
# TCP handshake into the accept queue; with a queue of 128 the rest had
# their handshakes dropped and waited for SYN-ACK retransmits (1 s, 3 s,
# ...). Once the server runs again every NBD connection gets its greeting.
. "$(dirname "$0")/lib.sh"
requires python3 --version

N=300
# the kernel caps every accept queue at net.core.somaxconn (4096 by default
# since Linux 5.4)
max=$(cat /proc/sys/net/core/somaxconn)
[ "$max" -ge "$N" ] || die "net.core.somaxconn is $max: no accept queue can hold $N"
start_linkboot --nbd-max-per-ip 0
cleanup_fn "kill -CONT $LB_PID"

python3 - "$LB_PID" "$N" "$LB_NBD_PORT" "$LB_ISCSI_PORT" "$LB_HTTP_PORT" <<'PY' ||
import errno, os, select, signal, socket, sys, time
pid, n = int(sys.argv[1]), int(sys.argv[2])
ports = {'nbd': int(sys.argv[3]), 'iscsi': int(sys.argv[4]),
         'http': int(sys.argv[5])}
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        fails.append(what)

def connect_all(port):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        rc = s.connect_ex(('127.0.0.1', port))
        if rc not in (0, errno.EINPROGRESS):
            raise OSError(rc, os.strerror(rc))
        socks.append(s)
    return socks

def ready(socks, events, timeout_ms):
    """The sockets poll() finds ready (select() stops at fd 1024)."""
    p, byfd = select.poll(), {s.fileno(): s for s in socks}
    for fd in byfd:
        p.register(fd, events)
    return [byfd[fd] for fd, _ in p.poll(timeout_ms)]

def established(socks, seconds):
    """Sockets whose TCP handshake completed within seconds."""
    done, pending = set(), set(socks)
    deadline = time.monotonic() + seconds
    while pending and time.monotonic() < deadline:
        for s in ready(pending, select.POLLOUT, 100):
            pending.discard(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.add(s)
    return done

conns = {}
os.kill(pid, signal.SIGSTOP)
try:
    for name, port in ports.items():
        conns[name] = connect_all(port)
        ok = established(conns[name], 0.8)
        check(len(ok) == n, "%s: %d of %d connections in the accept queue "
              "of a stopped server within 0.8 s" % (name, len(ok), n))
finally:
    os.kill(pid, signal.SIGCONT)

# every NBD client gets its greeting (proto.md "Fixed newstyle
# negotiation": NBDMAGIC, IHAVEOPT, handshake flags: 18 bytes)
want = b'NBDMAGIC' + bytes.fromhex('49484156454f5054')
got, buf = 0, {s: b'' for s in conns['nbd']}
deadline = time.monotonic() + 10
while buf and time.monotonic() < deadline:
    for s in ready(buf, select.POLLIN, 200):
        data = s.recv(18 - len(buf[s]))
        if not data:
            del buf[s]
            continue
        buf[s] += data
        if len(buf[s]) == 18:
            got += buf[s][:16] == want
            del buf[s]
check(got == n, "nbd: %d of %d connections greeted within 10 s of SIGCONT"
      % (got, n))
for socks in conns.values():
    for s in socks:
        s.close()
sys.exit(1 if fails else 0)
PY
	die "connections lost in the accept queue"
kill -0 "$LB_PID" || die "server gone"
echo "PASS: $N connections per service queued while the server was stopped"
