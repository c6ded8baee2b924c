#!/bin/bash
# NBD server against bad peers: garbage, unknown client flags, wrong option
# magic, oversized and truncated options, unknown options and exports,
# out-of-range and oversized requests, a WRITE to a read-only export, an
# unknown command and a bad request magic. Each gets an NBD error reply or
# a clean close (see server-stub/net/nbd.c), and the server then still serves
# a real client (nbdinfo, nbdcopy).
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires nbdinfo --version
requires nbdcopy --version
requires jq --version
requires "$LINKBOOT" image --help

start_linkboot
IMG=$TMP/disk.img
head -c $((8 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
lb image add baddisk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 ||
	{ cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:00:31 --image baddisk --write server \
	>"$TMP/client.log" 2>&1 || { cat "$TMP/client.log"; die "client add"; }
TOKEN=$(lb client token 52:54:00:00:00:31 2>/dev/null)
[ ${#TOKEN} -ge 16 ] || die "no token for the client"

cat >"$TMP/bad.py" <<'PY'
import socket, struct, sys
HOST, PORT, RO, RW = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
IHAVEOPT = 0x49484156454F5054
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)
def recvn(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += c
    return b
def conn():
    s = socket.create_connection((HOST, PORT), timeout=20)
    check(recvn(s, 18)[:16] == b'NBDMAGICIHAVEOPT', 'greeting')
    return s
def closed(s):
    try:
        while True:
            if not s.recv(65536): return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
def opt(o, data=b''): return struct.pack('>QII', IHAVEOPT, o, len(data)) + data
def rep(s):
    magic, o, t, ln = struct.unpack('>QIII', recvn(s, 20))
    assert magic == 0x3e889045565a9, hex(magic)
    return o, t, recvn(s, ln)
def go(s, name):
    n = name.encode()
    s.sendall(opt(7, struct.pack('>I', len(n)) + n + b'\0\0'))
    while True:
        o, t, d = rep(s)
        if t != 3: return t        # skip NBD_REP_INFO
def req(t, off, ln, h, flags=0):
    return struct.pack('>IHHQQI', 0x25609513, flags, t, h, off, ln)
def simple(s):
    m, e, h = struct.unpack('>IIQ', recvn(s, 16))
    assert m == 0x67446698, hex(m)
    return e, h

s = conn(); s.sendall(b'GET / HTTP/1.0\r\n\r\n'); check(closed(s), 'garbage: closed')
s = conn(); s.sendall(struct.pack('>I', 0xff)); check(closed(s), 'unknown client flags: closed')
s = conn(); s.sendall(struct.pack('>I', 1) + struct.pack('>QII', 0x1122334455667788, 7, 0))
check(closed(s), 'wrong option magic: closed')
s = conn(); s.sendall(struct.pack('>I', 1) + struct.pack('>QII', IHAVEOPT, 7, 0xffffffff))
check(closed(s), 'oversized option length: closed')
s = conn(); s.sendall(struct.pack('>I', 1) + opt(7, b'\0\0\0\4abcd\0\0')[:10]); s.close()

s = conn(); s.sendall(struct.pack('>I', 1))
s.sendall(opt(99, b'xyz')); o, t, d = rep(s)
check(o == 99 and t == 0x80000001, 'unknown option: NBD_REP_ERR_UNSUP')
check(go(s, 'no-such-export') == 0x80000006, 'unknown export: NBD_REP_ERR_UNKNOWN')
s.sendall(opt(7, b'\0\0\0\x09abc')); o, t, d = rep(s)
check(t == 0x80000003, 'truncated NBD_OPT_GO data: NBD_REP_ERR_INVALID')
s.sendall(opt(2)); o, t, d = rep(s)
check(t == 1, 'NBD_OPT_ABORT: NBD_REP_ACK'); check(closed(s), 'closed after abort')

# read-only export: errors keep the stream in step
s = conn(); s.sendall(struct.pack('>I', 3))
check(go(s, RO) == 1, 'NBD_OPT_GO ' + RO)
s.sendall(req(0, 1 << 50, 512, 1)); check(simple(s) == (22, 1), 'read past the end: EINVAL')
s.sendall(req(0, (8 << 20) - 256, 512, 2)); check(simple(s) == (22, 2), 'read across the end: EINVAL')
s.sendall(req(0, 0, 33 << 20, 3)); check(simple(s) == (75, 3), '33 MiB read: EOVERFLOW')
s.sendall(req(1, 0, 4096, 4) + b'\xaa' * 4096); check(simple(s) == (1, 4), 'write to read-only: EPERM')
s.sendall(req(77, 0, 1, 5)); check(simple(s) == (22, 5), 'unknown command: EINVAL')
s.sendall(req(0, 0, 4096, 6)); e, h = simple(s); recvn(s, 4096)
check((e, h) == (0, 6), 'then a read works')
s.sendall(b'\x12\x34\x56\x78' + b'\0' * 24); check(closed(s), 'bad request magic: closed')

# writable export: an oversized WRITE's payload is skipped, then EOVERFLOW
s = conn(); s.sendall(struct.pack('>I', 3))
check(go(s, RW) == 1, 'NBD_OPT_GO client token')
big = 33 << 20
s.sendall(req(1, 0, big, 7)); s.sendall(b'\0' * big)
check(simple(s) == (75, 7), '33 MiB write: EOVERFLOW after its data')
s.sendall(req(1, 8 << 20, 512, 8) + b'\1' * 512); check(simple(s) == (22, 8), 'write past the end: EINVAL')
s.sendall(req(0, 0, 512, 9)); e, h = simple(s); recvn(s, 512)
check((e, h) == (0, 9), 'then a read works')
s.sendall(req(2, 0, 0, 10)); check(closed(s), 'NBD_CMD_DISC: closed')
# structured replies: READ errors are error chunks, data an OFFSET_DATA chunk
def chunk(s):
    m, fl, ty, h, ln = struct.unpack('>IHHQI', recvn(s, 20))
    assert m == 0x668e33ef, hex(m)
    return fl, ty, h, recvn(s, ln)
s = conn(); s.sendall(struct.pack('>I', 3) + opt(8))
o, t, d = rep(s); check(t == 1, 'NBD_OPT_STRUCTURED_REPLY: NBD_REP_ACK')
check(go(s, RO) == 1, 'NBD_OPT_GO with structured replies')
s.sendall(req(0, 8 << 20, 512, 20)); fl, ty, h, d = chunk(s)
check(fl == 1 and ty == 0x8001 and h == 20 and struct.unpack('>I', d[:4])[0] == 22,
      'structured: read past the end is an NBD_REPLY_TYPE_ERROR chunk (EINVAL, DONE)')
s.sendall(req(0, 4096, 512, 21)); fl, ty, h, d = chunk(s)
check(fl == 1 and ty == 1 and h == 21 and len(d) == 8 + 512 and
      struct.unpack('>Q', d[:8])[0] == 4096,
      'structured: read is one NBD_REPLY_TYPE_OFFSET_DATA chunk with DONE')
s.close()

# NBD_OPT_EXPORT_NAME (old clients): 124 zero bytes unless NO_ZEROES;
# an unknown name cannot be answered with an error: the server closes
for cflags, n in ((1, 134), (3, 10)):
    s = conn(); s.sendall(struct.pack('>I', cflags) + opt(1, RO.encode()))
    r = recvn(s, n); size, tf = struct.unpack('>QH', r[:10])
    check(size == 8 << 20 and tf & 3 == 3 and r[10:] == b'\0' * (n - 10),
          'NBD_OPT_EXPORT_NAME, client flags %d: %d-byte answer' % (cflags, n))
    s.sendall(req(0, 512, 512, 12)); e, h = simple(s); recvn(s, 512)
    check((e, h) == (0, 12), 'read after NBD_OPT_EXPORT_NAME')
    s.close()
s = conn(); s.sendall(struct.pack('>I', 3) + opt(1, b'no-such-export'))
check(closed(s), 'NBD_OPT_EXPORT_NAME of an unknown export: closed')
# a name longer than the 4096 bytes a name may have, no NUL (was a stack
# overflow): the session ends, the server lives on (checked below)
for ln in (4097, 4400, 16 << 10):
    s = conn(); s.sendall(struct.pack('>I', 1) + opt(1, b'A' * ln))
    check(closed(s), 'NBD_OPT_EXPORT_NAME with a %d-byte name: closed' % ln)
    s = conn(); s.sendall(struct.pack('>I', 1))
    check(go(s, RO) == 1, 'the server still answers after the %d-byte name' % ln)
    s.close()

# a client that never reads its replies does not hold up another one
slow = conn(); slow.sendall(struct.pack('>I', 3))
check(go(slow, RO) == 1, 'slow reader: NBD_OPT_GO')
slow.sendall(b''.join(req(0, 0, 1 << 20, 100 + i) for i in range(64)))
s = conn(); s.sendall(struct.pack('>I', 3))
check(go(s, RO) == 1, 'second client: NBD_OPT_GO')
s.sendall(req(0, 1 << 20, 1 << 20, 11)); e, h = simple(s); recvn(s, 1 << 20)
check((e, h) == (0, 11), 'second client served while the first does not read')
slow.close(); s.close()
sys.exit(1 if fails else 0)
PY
python3 "$TMP/bad.py" 127.0.0.1 "$LB_NBD_PORT" baddisk "$TOKEN" ||
	die "bad input handling"
assert_alive "after bad input"
assert_contains "$LB_LOG" 'bad option magic' "logs the bad magic"
nbdinfo "nbd://127.0.0.1:$LB_NBD_PORT/baddisk" >"$TMP/info" ||
	die "nbdinfo after bad input"
nbdcopy "nbd://127.0.0.1:$LB_NBD_PORT/baddisk" "$TMP/copy.img" ||
	die "nbdcopy after bad input"
cmp "$TMP/copy.img" "$IMG" || die "data differs after bad input"
