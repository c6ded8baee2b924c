#!/bin/bash
# iSCSI target against bad initiators (a raw-socket client in python3):
# garbage and non-Login PDUs before login, an oversized Login, malformed
# login text, an unknown target, an unsupported version, a login that
# never finishes; after login: an unknown opcode, SNACK, unknown and
# out-of-range SCSI commands, a write to a read-only target, commands
# outside the CmdSN window and more writes in flight than the window
# allows, an oversized data segment. Each gets a Reject, a CHECK
# CONDITION, a login failure status or a closed connection (see
# server-stub/iscsi.c), and the server still serves a real initiator
# (iscsi-inq, qemu-img compare) afterwards.
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires "$LINKBOOT" image --help
requires iscsi-inq --help
requires qemu-img --version
requires jq --version

start_linkboot
IMG=$TMP/disk.img
head -c $((8 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
lb image add baddisk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:05:01 --image baddisk --write server >/dev/null ||
	die "client add"
lb client token 52:54:00:00:05:01 --iscsi >"$TMP/login" 2>/dev/null ||
	die "client token --iscsi"
TOKEN=$(sed -n 's/^chap_user=//p' "$TMP/login")
SECRET=$(sed -n 's/^chap_secret=//p' "$TMP/login")
[ ${#TOKEN} -ge 16 ] && [ ${#SECRET} -eq 16 ] || die "no iSCSI login for the client"

cat >"$TMP/bad.py" <<'PY'
import hashlib, socket, struct, sys, time
sys.path.insert(0, sys.argv[5] + "/tests/tools")
from iscsi_raw import closed, pdu, recvn, rx
HOST, PORT, TOKEN, SECRET = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
IQN = "iqn.2026-12.org.linkboot:"
PC = IQN + "pc.525400000501"	# the client's disk: CHAP with its login
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)
def conn():
    return socket.create_connection((HOST, PORT), timeout=10)
def kv(*p): return b''.join(x.encode() + b'\0' for x in p)
ISID = bytes([0x80, 0x12, 0x34, 0x56, 0x78, 0x9a])
nisid = [0]
def new_isid():	# one per session: the same one would reinstate it
    nisid[0] += 1
    return ISID[:4] + struct.pack('>H', nisid[0])
def login(s, target, extra=(), b3=0, isid=None):
    isid = isid or new_isid()
    keys = kv("InitiatorName=iqn.2026-12.test:bad",
              *(("TargetName=" + target,) if target else ()),
              "SessionType=Normal", "HeaderDigest=None", "DataDigest=None",
              "InitialR2T=Yes", "ImmediateData=No",
              *(() if any(e.startswith("MaxRecvDataSegmentLength=") for e in extra)
                else ("MaxRecvDataSegmentLength=262144",)), *extra)
    s.sendall(pdu(0x43, 0x87, keys, itt=7, cmdsn=1, isid=isid, b3=b3))
    op, h, d = rx(s)
    assert op == 0x23, hex(op)
    return (h[36] << 8) | h[37], struct.unpack('>III', h[24:36])
def text_of(d):
    return dict(x.split('=', 1) for x in d.decode().split('\0') if '=' in x)
def login_chap(s, target, extra=(), isid=None, secret=None):
    """RFC 7143 12.1.3: security stage with CHAP (MD5, RFC 1994), then
    operational keys; status and (StatSN, ExpCmdSN, MaxCmdSN)"""
    isid = isid or new_isid()
    def req(flags, keys):
        s.sendall(pdu(0x43, flags, kv(*keys), itt=7, cmdsn=1, isid=isid))
        op, h, d = rx(s)
        assert op == 0x23, hex(op)
        return (h[36] << 8) | h[37], h, text_of(d)
    st, h, t = req(0x01, ("InitiatorName=iqn.2026-12.test:bad", "TargetName=" + target,
                         "SessionType=Normal", "AuthMethod=CHAP"))
    if st: return st, None
    st, h, t = req(0x01, ("CHAP_A=5",))
    if st: return st, None
    cid, chal = int(t["CHAP_I"]), bytes.fromhex(t["CHAP_C"][2:])
    r = hashlib.md5(bytes([cid]) + (secret or SECRET).encode() + chal).hexdigest()
    st, h, t = req(0x81 | 0x00, ("CHAP_N=" + TOKEN, "CHAP_R=0x" + r))
    if st: return st, None
    st, h, t = req(0x87, ("HeaderDigest=None", "DataDigest=None", "InitialR2T=Yes",
                          "ImmediateData=No",
                          *(() if any(e.startswith("MaxRecvDataSegmentLength=") for e in extra)
                            else ("MaxRecvDataSegmentLength=262144",)), *extra))
    return st, struct.unpack('>III', h[24:36])
class Sess:
    def __init__(self, target, extra=(), isid=None):
        self.s = conn()
        if target == PC:
            st, sns = login_chap(self.s, target, extra, isid=isid)
        else:
            st, sns = login(self.s, target, extra, isid=isid)
        assert st == 0, hex(st)
        self.statsn, self.cmdsn, self.maxcmdsn = sns
        self.itt = 100
    def cmd(self, cdb, edtl=0, flags=0xc0, data=b'', cmdsn=None, send=True):
        self.itt += 1
        p = pdu(0x01, 0x80 | (flags & 0x60), data, itt=self.itt, w20=edtl,
                cmdsn=self.cmdsn if cmdsn is None else cmdsn, rest=bytes(cdb))
        if cmdsn is None: self.cmdsn += 1
        if send: self.s.sendall(p)
        return p
    def status(self):
        """SCSI Response (or the last Data-In with S): status, sense"""
        while True:
            op, h, d = rx(self.s)
            if op == 0x25 and h[1] & 1: return h[3], b''
            if op == 0x21: return h[3], d[2:]
            if op == 0x25: continue
            raise AssertionError("unexpected opcode 0x%02x" % op)
    def ping(self):
        self.itt += 1
        self.s.sendall(pdu(0x00, 0x80, b'ping', itt=self.itt, w20=0xffffffff,
                           cmdsn=self.cmdsn, imm=True))
        op, h, d = rx(self.s)
        return op == 0x20 and d == b'ping'
def sense(st_sense):
    st, s = st_sense
    return (st, s[2] & 0x0f, s[12], s[13]) if len(s) >= 14 else (st,)

# a login that never finishes: half a BHS, then silence (checked last);
# an idle session, which gets a NOP-In ping (checked last too)
slow = conn(); slow.sendall(b'\x43\x87\x00\x00')
t_slow = time.time()
idle = Sess(IQN + "image.baddisk")

s = conn(); s.sendall(b'GET / HTTP/1.0\r\n\r\n' + b'\0' * 40); check(closed(s), 'garbage before login: closed')
s = conn(); s.sendall(pdu(0x01, 0xc0, rest=bytes([0x28]))); check(closed(s), 'SCSI command before login: closed')
s = conn(); s.sendall(pdu(0x43, 0x87, b'x' * 20000, isid=ISID)); check(closed(s), 'Login with a 20000-byte data segment: closed')
s = conn(); s.sendall(pdu(0x43, 0x87, b'NoEqualsSign\0', isid=ISID))
op, h, d = rx(s); check(op == 0x23 and h[36] == 2 and h[37] == 0, 'malformed login text: initiator error')
check(closed(s), 'malformed login text: closed after the answer')
s = conn(); st, _ = login(s, IQN + "image.nosuch"); check(st == 0x0203, 'unknown target: not found (0x%04x)' % st)
s = conn(); st, _ = login(s, IQN + "image.baddisk", b3=5); check(st == 0x0205, 'version min 5: unsupported version')
s = conn(); st, _ = login(s, IQN + "image.baddisk", ("MaxBurstLength=1", "MaxBurstLength=2"))
check(st == 0x0200, 'a key twice: initiator error')
s = conn(); st, _ = login(s, None)
check(st == 0x0207, 'no TargetName: missing parameter')
s = conn(); st, _ = login(s, PC)
check(st == 0x0201, "a PC's disk without CHAP: authentication failure (0x%04x)" % st)
s = conn(); st, _ = login_chap(s, PC, secret="not-the-secret!!")
check(st == 0x0201, "a PC's disk with a wrong CHAP secret: authentication failure (0x%04x)" % st)

# full feature phase on the client's writable target
S = Sess(PC)
S.s.sendall(pdu(0x1c, 0x80, itt=9, cmdsn=S.cmdsn))
op, h, d = rx(S.s); check(op == 0x3f and h[2] == 0x05 and d[0] == 0x1c, 'unknown opcode: Reject (command not supported)')
S.s.sendall(pdu(0x10, 0x80, itt=0xffffffff))
op, h, d = rx(S.s); check(op == 0x3f and h[2] == 0x03, 'SNACK: Reject')
S.s.sendall(pdu(0x00, 0x00, itt=0xffffffff, w20=0xffffffff, cmdsn=S.cmdsn, imm=True))
op, h, d = rx(S.s); check(op == 0x3f and h[2] == 0x09, 'NOP-Out without F: Reject (invalid field)')
S.cmd([0xd0] + [0] * 15)
check(sense(S.status()) == (2, 5, 0x20, 0), 'unknown CDB opcode: ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE')
S.cmd([0x28, 0, 0, 0, 0x40, 0, 0, 0, 1, 0], edtl=512)
check(sense(S.status()) == (2, 5, 0x21, 0), 'READ(10) past the end: LBA OUT OF RANGE')
S.cmd([0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0], edtl=1024)
check(sense(S.status()) == (2, 5, 0x21, 0), 'READ(16) at LBA 2^64-1: LBA OUT OF RANGE (no wrap)')
S.cmd([0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0], edtl=512)
check(sense(S.status()) == (2, 5, 0x24, 0), 'RDPROTECT: INVALID FIELD IN CDB')
S.cmd([0x12, 0, 0, 0, 96, 0], edtl=96, cmdsn=S.cmdsn + 500)
check(S.ping(), 'a command far outside the CmdSN window: ignored, the session goes on')
# more writes in flight than the window: 100 WRITE(10)s waiting for R2T
r2ts = 0
for i in range(100):
    S.cmd([0x2a, 0, 0, 0, 0, i, 0, 0, 1, 0], edtl=512, flags=0xa0)
S.s.settimeout(5)
try:
    while True:
        op, h, d = rx(S.s)
        if op == 0x31: r2ts += 1
        if r2ts >= 100: break
except socket.timeout:
    pass
check(r2ts == 64, 'writes past the window: %d answered (the window is 64)' % r2ts)
S.s.settimeout(10)
S.itt += 1
S.s.sendall(pdu(0x02, 0x82, itt=S.itt, w20=0xffffffff, cmdsn=S.cmdsn, imm=True))
op, h, d = rx(S.s); check(op == 0x22 and h[2] == 0, 'ABORT TASK SET: function complete')
S.cmdsn = struct.unpack('>I', h[28:32])[0]	# the ignored ones never counted
check(S.ping(), 'after the flood: the session works')
S.s.sendall(pdu(0x01, 0xa0, dlen=300000, itt=999, w20=300000, cmdsn=S.cmdsn, rest=bytes([0x2a])))
check(closed(S.s), 'data segment over MaxRecvDataSegmentLength: closed')

# the image target is read-only
R = Sess(IQN + "image.baddisk")
R.cmd([0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], edtl=512, flags=0xa0)
check(sense(R.status()) == (2, 7, 0x27, 0), 'WRITE(10) to a read-only target: DATA PROTECT / WRITE PROTECTED')
R.cmd([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], flags=0)
check(R.status()[0] == 0, 'SYNCHRONIZE CACHE: GOOD')

# the smallest segments and bursts an initiator may ask for: Data-In
# split at its MaxRecvDataSegmentLength, F at each MaxBurstLength, DataSN
# in order, status in the last PDU; writes solicited by R2Ts of
# MaxBurstLength, MaxOutstandingR2T at a time
W = Sess(PC, ("MaxRecvDataSegmentLength=512", "MaxBurstLength=1024",
                       "FirstBurstLength=512", "MaxOutstandingR2T=2"))
W.cmd([0x2a, 0, 0, 0, 0, 16, 0, 0, 8, 0], edtl=4096, flags=0xa0)
data = bytes(range(256)) * 16
r2t = []
W.s.settimeout(5)
for _ in range(2):
    op, h, d = rx(W.s)
    if op == 0x31: r2t.append(struct.unpack('>IIII', h[20:24] + h[36:48]))
check([(x[2], x[3]) for x in r2t] == [(0, 1024), (1024, 1024)],
      'WRITE(10) of 4 KiB: two R2Ts of MaxBurstLength at once: %s' % r2t)
sent, nr2t = 0, len(r2t)
while r2t:
    ttt, r2tsn, off, ln = r2t.pop(0)
    for i, o in enumerate(range(off, off + ln, 512)):
        W.s.sendall(pdu(0x05, 0x80 if o + 512 == off + ln else 0, data[o:o + 512],
                        itt=W.itt, w20=ttt, rest=b'\0' * 4 + struct.pack('>II', i, o)))
    sent += ln
    if nr2t < 4:	# the data of one R2T frees the place of the next
        op, h, d = rx(W.s)
        if op == 0x31:
            r2t.append(struct.unpack('>IIII', h[20:24] + h[36:48]))
            nr2t += 1
check(sent == 4096 and W.status()[0] == 0, 'the write completes after its R2Ts (%d bytes sent)' % sent)
W.cmd([0x28, 0, 0, 0, 0, 16, 0, 0, 8, 0], edtl=4096)
pdus, got = [], b''
while True:
    op, h, d = rx(W.s)
    check(op == 0x25, 'READ(10): Data-In')
    pdus.append((h[1], struct.unpack('>I', h[36:40])[0], len(d)))
    got += d
    if h[1] & 1: break
check(got == data, 'READ(10) reads back what the R2Ts wrote')
check([p[2] for p in pdus] == [512] * 8 and [p[1] for p in pdus] == list(range(8)),
      'Data-In of 512 bytes, DataSN 0..7: %s' % pdus)
check([bool(p[0] & 0x80) for p in pdus] == [False, True] * 4 and pdus[-1][0] & 1,
      'F at every 1 KiB (MaxBurstLength), S on the last')

# RFC 7143 6.3.5: a new login with the InitiatorName and ISID of a live
# session (TSIH 0) replaces it at once
old = Sess(IQN + "image.baddisk", isid=ISID)
new = Sess(IQN + "image.baddisk", isid=ISID)
check(closed(old.s, 5), 'session reinstatement: the old session is closed')
check(new.ping(), 'session reinstatement: the new session works')

# a MaxBurstLength that is no multiple of the segment size: segments are
# cut at the burst boundary (1024 + 512 per 1536-byte sequence)
B = Sess(IQN + "image.baddisk", ("MaxRecvDataSegmentLength=1024", "MaxBurstLength=1536"))
B.cmd([0x28, 0, 0, 0, 0, 16, 0, 0, 8, 0], edtl=4096)
pdus = []
while True:
    op, h, d = rx(B.s)
    pdus.append((len(d), bool(h[1] & 0x80)))
    if op != 0x25 or h[1] & 1: break
check(pdus == [(1024, False), (512, True), (1024, False), (512, True), (1024, True)],
      'Data-In cut at MaxBurstLength 1536 with 1024-byte segments: %s' % pdus)

# the login that never finished is closed by the login deadline (30 s)
check(closed(slow, max(1, 45 - (time.time() - t_slow))), 'a login that never finishes: closed')
# the idle session got a NOP-In ping (ITT reserved, a TTT of ours)
idle.s.settimeout(max(1, 40 - (time.time() - t_slow)))
try:
    h = recvn(idle.s, 48)
    ping = h[0] & 0x3f == 0x20 and h[16:20] == b'\xff' * 4 and h[20:24] != b'\xff' * 4
except (socket.timeout, EOFError):
    ping = False
check(ping, 'an idle session gets a NOP-In ping')
sys.exit(1 if fails else 0)
PY
timeout -k 5 120 python3 "$TMP/bad.py" 127.0.0.1 "$LB_ISCSI_PORT" "$TOKEN" "$SECRET" "$TOP" ||
	die "bad input not handled as expected"
assert_alive "after bad input"
assert_contains "$LB_LOG" "before login: closing" "a log line for a PDU before login"
assert_contains "$LB_LOG" "Reject 0x05: unknown opcode" "a log line for the unknown opcode"
assert_contains "$LB_LOG" "outside \\[" "a log line for the CmdSN window"
assert_contains "$LB_LOG" "closed in login phase: login timeout" "the login deadline"
T() { timeout -k 5 60 "$@"; }
T iscsi-inq "iscsi://127.0.0.1:$LB_ISCSI_PORT/iqn.2026-12.org.linkboot:image.baddisk/0" \
	>"$TMP/inq" 2>&1 || { cat "$TMP/inq"; die "iscsi-inq after bad input"; }
T qemu-img compare -f raw -F raw "$IMG" \
	"iscsi://127.0.0.1:$LB_ISCSI_PORT/iqn.2026-12.org.linkboot:image.baddisk/0" \
	>/dev/null || die "qemu-img compare after bad input"
assert_alive "at the end"
