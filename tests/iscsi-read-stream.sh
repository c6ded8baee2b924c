#!/bin/bash
# A READ's Data-In is streamed in pieces as the socket drains
# (server-stub/net/iscsi.c, "Data path"). Cut across pieces as if queued
# whole: odd segment and burst sizes (padding, F at each MaxBurstLength,
# S on the last PDU only, DataSN and offsets in order). A disk error in a
# later piece: the Data-In before it arrives, right and without the S
# bit, then a SCSI Response with CHECK CONDITION (MEDIUM ERROR) and the
# ExpDataSN of what was sent (RFC 7143 §11.7, §11.4); a READ pipelined
# behind it and later ones are answered as usual. The disk error:
# tests/tools/preload/pread_eio.c fails the image file's preads from
# 12 MiB on. A raw-socket initiator in python3 (tests/tools/iscsi_raw.py).
. "$(dirname "$0")/lib.sh"
requires python3 --version
EIO_SO=$(dirname "$LINKBOOT")/tests/tools/pread_eio.so
[ -r "$EIO_SO" ] || die "build first: make (no $EIO_SO)"

IMG=$TMP/disk.img
head -c $((16 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
# (in the state dir: landlock lets the server read nothing else of $TMP)
LB_STATE=$TMP/state
LD_PRELOAD=$EIO_SO LB_EIO_FILE=$LB_STATE/eio start_linkboot
lb image add stream "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
F=$(ls "$LB_STATE"/store/*.v1.raw) || die "no image file in the store"

python3 - "$TOP" 127.0.0.1 "$LB_ISCSI_PORT" "$IMG" "$LB_STATE/eio" "$(stat -c %i "$F")" \
	<<'PY' || die "streamed READs"
import struct, sys
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from iscsi_raw import *
HOST, PORT, IMG, EIO, INO = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
TARGET = "iqn.2026-12.org.linkboot:image.stream"
MIB = 1 << 20
img = open(IMG, 'rb').read()
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond: fails.append(what)

def cuts(length, seg, burst):
    """a READ's Data-In PDUs as RFC 7143 has them cut: (length, F, S) each"""
    out, done, in_burst = [], 0, 0
    while done < length:
        n = min(seg, length - done, burst - in_burst)
        in_burst = (in_burst + n) % burst
        done += n
        out.append((n, in_burst == 0 or done == length, done == length))
    return out

# 1 MiB in 1001-byte segments (3 bytes of padding each) and 5000-byte
# bursts: ~1050 PDUs, five pieces
SEG, BURST = 1001, 5000
S = Sess(HOST, PORT, TARGET, 1, keys=("MaxRecvDataSegmentLength=%d" % SEG,
                                      "MaxBurstLength=%d" % BURST))
off = 3 * MIB
S.read_send(off // 512, MIB // 512)
itt, st, data, pdus, rsp = S.read_pdus()
want = cuts(MIB, SEG, BURST)
check(st == 0 and rsp is None and data == img[off:off + MIB],
      'READ of 1 MiB in %d-byte segments: GOOD on the last Data-In, data right' % SEG)
check([(p[3], bool(p[0] & 0x80), bool(p[0] & 1)) for p in pdus] == want,
      '%d Data-In PDUs cut as if queued whole: F at each %d-byte burst, S on the last'
      % (len(want), BURST))
check([p[1] for p in pdus] == list(range(len(want))) and
      [p[2] for p in pdus] == [sum(w[0] for w in want[:i]) for i in range(len(want))],
      'DataSN 0..%d and buffer offsets in order' % (len(want) - 1))
check(S.read(off, 4096) == (0, img[off:off + 4096]), 'the next READ: GOOD')

# a bad stretch from 12 MiB on
open(EIO, 'w').write("%s %d\n" % (INO, 12 * MIB))
E = Sess(HOST, PORT, TARGET, 2)
off, length = 11 * MIB, 2 * MIB
E.read_send(off // 512, length // 512)
E.read_send(MIB // 512, MIB // 512)		# pipelined behind it
itt, st, data, pdus, rsp = E.read_pdus()
check(itt == E.itt - 1 and st == 2 and rsp is not None and
      sense_key(rsp[1]) == (3, 0x11, 0),
      'READ across 12 MiB: CHECK CONDITION, MEDIUM ERROR / UNRECOVERED READ ERROR')
check(data == img[off:12 * MIB] and not any(p[0] & 1 for p in pdus),
      'the Data-In before 12 MiB came first, right, without the S bit '
      '(%d bytes in %d PDUs)' % (len(data), len(pdus)))
check(rsp is not None and struct.unpack('>I', rsp[0][36:40])[0] == len(pdus),
      'the SCSI Response counts them in ExpDataSN')
itt, st, data = E.read_data()
check(itt == E.itt and st == 0 and data == img[MIB:2 * MIB],
      'the READ pipelined behind it: GOOD, data right')
E.read_send(12 * MIB // 512, 128)
itt, st, data, pdus, rsp = E.read_pdus()
check(st == 2 and not pdus, 'a READ starting in the bad stretch: CHECK CONDITION alone')
check(E.read(5 * MIB, MIB) == (0, img[5 * MIB:6 * MIB]), 'the session goes on')
sys.exit(1 if fails else 0)
PY
assert_alive "after the read errors"
assert_contains "$LB_LOG" "CHECK CONDITION after 1048576 bytes of Data-In" \
	"the read error after a part of the Data-In logged"
echo "PASS: $TEST_NAME"
