# Raw NBD client pieces for the tests/nbd-*.sh resource tests (imported by
# their inline python3 scripts: sys.path.insert(0, TOP + "/tests/tools")).
# Fixed newstyle as proto.md spells it; no library, so a test can send what
# a real client would not (thousands of options, huge reads, nothing at all).
import os, socket, struct, time

from rawsock import closed, recvn  # noqa: F401 (the tests use both)

IHAVEOPT = 0x49484156454F5054
NBD_OPT_GO, NBD_OPT_INFO, NBD_OPT_ABORT = 7, 6, 2
NBD_REP_ACK, NBD_REP_INFO = 1, 3
CMD_READ, CMD_DISC = 0, 2


def connect(addr, timeout=20):
    """TCP connect and read the greeting; None when the server closes."""
    s = socket.create_connection(addr, timeout=timeout)
    try:
        g = recvn(s, 18)
    except (EOFError, ConnectionResetError):
        s.close()
        return None
    if g[:16] != b'NBDMAGICIHAVEOPT':
        raise ValueError("bad greeting %r" % g)
    return s


def opt(o, data=b''):
    return struct.pack('>QII', IHAVEOPT, o, len(data)) + data


def opt_go_data(name, infos=()):
    n = name.encode()
    return (struct.pack('>I', len(n)) + n + struct.pack('>H', len(infos)) +
            b''.join(struct.pack('>H', i) for i in infos))


def rep(s):
    magic, o, t, ln = struct.unpack('>QIII', recvn(s, 20))
    assert magic == 0x3e889045565a9, hex(magic)
    return o, t, recvn(s, ln)


def go(s, name, cflags=3):
    """Client flags + NBD_OPT_GO; the final reply type (1 = ACK)."""
    s.sendall(struct.pack('>I', cflags) + opt(NBD_OPT_GO, opt_go_data(name)))
    while True:
        o, t, d = rep(s)
        if t != NBD_REP_INFO:
            return t


def req(t, off, ln, h, flags=0):
    return struct.pack('>IHHQQI', 0x25609513, flags, t, h, off, ln)


def simple(s):
    m, e, h = struct.unpack('>IIQ', recvn(s, 16))
    assert m == 0x67446698, hex(m)
    return e, h


def read(s, off, ln, h=1):
    """One READ on a simple-reply connection; (error, data)."""
    s.sendall(req(CMD_READ, off, ln, h))
    e, hh = simple(s)
    assert hh == h, (hh, h)
    return e, (recvn(s, ln) if e == 0 else b'')


def probe(addr, name, timeout=20):
    """Seconds a fresh connection takes from connect to a 4 KiB READ's
    data (the loop's latency as a client sees it), or None on failure."""
    t0 = time.monotonic()
    try:
        s = connect(addr, timeout)
        if s is None or go(s, name) != NBD_REP_ACK:
            return None
        e, d = read(s, 0, 4096, 7)
        s.close()
        return time.monotonic() - t0 if e == 0 else None
    except (OSError, EOFError):
        return None


def status_kib(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return -1


def nfds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))
