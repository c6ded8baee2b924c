# Raw iSCSI initiator pieces for the tests/iscsi-*.sh resource tests
# (imported by their inline python3 scripts: sys.path.insert(0, TOP +
# "/tests/tools")). RFC 7143 PDUs as the target reads them; no library, so
# a test can leave Data-In unread, pipeline commands, and see every PDU.
import socket, struct

from rawsock import closed, recvn  # noqa: F401 (the tests use both)


def pdu(op, flags, data=b'', itt=1, lun=0, w20=0, cmdsn=0, expstat=0,
        rest=b'', isid=None, b2=0, b3=0, dlen=None, imm=False):
    """a PDU's bytes; dlen: a DataSegmentLength other than the data's"""
    h = bytes([op | (0x40 if imm else 0), flags, b2, b3, 0])
    h += struct.pack('>I', len(data) if dlen is None else dlen)[1:]
    h += (isid + b'\0\0') if isid is not None else struct.pack('>Q', lun)
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


def sense_key(data):
    """(key, ASC, ASCQ) of a SCSI Response's sense data (fixed format)"""
    s = data[2:]
    return s[2] & 0x0f, s[12], s[13]


class Sess:
    """A normal session on target, logged in without CHAP; rcvbuf: a small
    socket receive buffer, so Data-In left unread stays at the target."""

    def __init__(self, host, port, target, n, rcvbuf=None,
                 keys=("MaxRecvDataSegmentLength=262144",
                       "MaxBurstLength=16776192")):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(30)
        self.s.connect((host, port))
        text = b''.join(k.encode() + b'\0' for k in (
            "InitiatorName=iqn.2026-12.test:raw%d" % n, "TargetName=" + target,
            "SessionType=Normal", "HeaderDigest=None", "DataDigest=None") + keys)
        isid = bytes([0x80, 0, 0, 0x4d, n >> 8 & 0xff, n & 0xff])
        self.s.sendall(pdu(0x43, 0x87, text, itt=7, cmdsn=1, isid=isid))
        op, h, d = rx(self.s)
        assert op == 0x23 and h[36:38] == b'\0\0', (hex(op), h[36:38])
        self.cmdsn = struct.unpack('>I', h[28:32])[0]
        self.itt = 100

    def read_send(self, lba, blocks):
        """READ(10) of blocks at lba, not waiting for its answer"""
        self.itt += 1
        cdb = struct.pack('>BBIBHB', 0x28, 0, lba, 0, blocks, 0)
        self.s.sendall(pdu(0x01, 0xc0, itt=self.itt, w20=blocks * 512,
                           cmdsn=self.cmdsn, rest=cdb))
        self.cmdsn += 1

    def read_pdus(self):
        """one command's Data-In PDUs, to its S bit or its SCSI Response:
        (itt, status, data, [(flags, datasn, offset, length)], response),
        response: (bhs, data) of the SCSI Response, or None"""
        parts, pdus = {}, []
        while True:
            op, h, d = rx(self.s)
            itt = struct.unpack('>I', h[16:20])[0]
            if op == 0x25:
                datasn, off = struct.unpack('>II', h[36:44])
                parts[off] = d
                pdus.append((h[1], datasn, off, len(d)))
            else:
                assert op == 0x21, hex(op)
            if op == 0x21 or h[1] & 1:
                data = b''.join(parts[k] for k in sorted(parts))
                return itt, h[3], data, pdus, (h, d) if op == 0x21 else None

    def read_data(self):
        """Data-In until the S bit: (itt, status, data)"""
        itt, status, data, pdus, response = self.read_pdus()
        return itt, status, data

    def read(self, off, n):
        """READ n bytes at byte offset off: (status, data)"""
        self.read_send(off // 512, n // 512)
        itt, status, data = self.read_data()
        return status, data
