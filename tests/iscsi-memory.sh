#!/bin/bash
# iSCSI memory: connections that once read a lot must not keep it. 24
# sessions on an image target each READ 8 MiB (the largest READ, VPD 0xb0)
# one after the other, then all 24 pipeline 64 KiB reads at once, then
# idle: the server must not hold 24 x 8 MiB (tbuf grows for one long
# READ's Data-In and shrinks back once drained), and an idle connection's
# buffers give their pages back, and connections that read in turn borrow
# the same pooled buffers (server-stub/net/iscsi.c, "Memory").
# Prints RSS and VmHWM; bounds are generous (a loaded 2-core VM, ASan).
# A raw-socket initiator in python3 (as tests/iscsi-bad-input.sh).
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

python3 - 127.0.0.1 "$LB_ISCSI_PORT" "$LB_PID" "$IMG" <<'PY' || die "memory"
import socket, struct, sys, time
HOST, PORT, PID, IMG = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
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
def recvn(s, n):
    b = bytearray()
    while len(b) < n:
        c = s.recv(min(n - len(b), 1 << 20))
        if not c: raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += c
    return bytes(b)
def pdu(op, flags, data=b'', itt=1, w20=0, cmdsn=0, expstat=0, rest=b'',
        isid=None, imm=False):
    h = bytes([op | (0x40 if imm else 0), flags, 0, 0, 0])
    h += struct.pack('>I', len(data))[1:]
    h += (isid + b'\0\0') if isid is not None else bytes(8)
    h += struct.pack('>IIII', itt, w20, cmdsn, expstat) + rest.ljust(16, b'\0')
    return h + data + b'\0' * ((4 - len(data) % 4) % 4)
def rx(s):
    """next PDU that is not a NOP-In ping: (opcode, bhs, data)"""
    while True:
        h = recvn(s, 48)
        n = int.from_bytes(h[5:8], 'big')
        d = recvn(s, n + (4 - n % 4) % 4)[:n]
        if h[0] & 0x3f == 0x20 and h[16:20] == b'\xff' * 4:
            continue
        return h[0] & 0x3f, h, d
class Sess:
    def __init__(self, n):
        self.s = socket.create_connection((HOST, PORT), timeout=30)
        keys = b''.join(k.encode() + b'\0' for k in (
            "InitiatorName=iqn.2026-12.test:mem%d" % n, "TargetName=" + TARGET,
            "SessionType=Normal", "HeaderDigest=None", "DataDigest=None",
            "MaxRecvDataSegmentLength=262144", "MaxBurstLength=16776192"))
        isid = bytes([0x80, 0, 0, 0x4d, 0, n])
        self.s.sendall(pdu(0x43, 0x87, keys, itt=7, cmdsn=1, isid=isid))
        op, h, d = rx(self.s)
        assert op == 0x23 and h[36:38] == b'\0\0', (hex(op), h[36:38])
        self.cmdsn = struct.unpack('>I', h[28:32])[0]
        self.itt = 100
    def read_send(self, lba, blocks):
        self.itt += 1
        cdb = struct.pack('>BBIBHB', 0x28, 0, lba, 0, blocks, 0)
        self.s.sendall(pdu(0x01, 0xc0, itt=self.itt, w20=blocks * 512,
                           cmdsn=self.cmdsn, rest=cdb))
        self.cmdsn += 1
    def read_data(self):
        """Data-In until the S bit: (itt, status, data)"""
        parts = {}
        while True:
            op, h, d = rx(self.s)
            if op == 0x21:	# SCSI Response: not GOOD
                return struct.unpack('>I', h[16:20])[0], h[3], b''
            assert op == 0x25, hex(op)
            parts[struct.unpack('>I', h[40:44])[0]] = d
            if h[1] & 1:
                data = b''.join(parts[k] for k in sorted(parts))
                return struct.unpack('>I', h[16:20])[0], h[3], data
    def read(self, off, n):
        self.read_send(off // 512, n // 512)
        itt, st, d = self.read_data()
        return st == 0 and d == img[off:off + n]

N, BIG = 24, 8 << 20
rss0 = status_kib('VmRSS')
sess = [Sess(i) for i in range(N)]
for i, S in enumerate(sess):
    off = (i % 32) << 20
    check(S.read(off, BIG), 'session %d: 8 MiB READ, data right' % i)
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
    check(S.read(((i + 3) % 39) << 20, 1 << 20), 'session %d: reads after idle' % i)
rss_seq = status_kib('VmRSS')
print("RSS after 24 sessions read 1 MiB one after the other: %d KiB" % rss_seq,
      flush=True)
check(rss_seq < rss_idle + (8 << 10),
      'sessions reading in turn share buffers: RSS < 8 MiB above idle')
for S in sess:
    S.s.close()
sys.exit(1 if fails else 0)
PY
assert_alive "after the big reads"
echo "PASS: $TEST_NAME"
