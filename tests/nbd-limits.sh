#!/bin/bash
# --nbd-max-conns: connections over the limit are closed at once (logged),
# the ones in use are not disturbed, and a slot freed is usable again.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires python3 --version
requires nbdinfo --version

IMG=$TMP/disk.img
head -c $((1 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot --nbd-max-conns 2
lb image add lim "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }

python3 - 127.0.0.1 "$LB_NBD_PORT" <<'PY' || die "connection limit"
import socket, sys, time
addr = (sys.argv[1], int(sys.argv[2]))
def conn():
    s = socket.create_connection(addr, timeout=10)
    return s
def greeting(s):
    b = b''
    try:
        while len(b) < 18:
            c = s.recv(18 - len(b))
            if not c: break
            b += c
    except ConnectionResetError:
        pass
    return b[:16] == b'NBDMAGICIHAVEOPT'
a, b = conn(), conn()
ok = greeting(a) and greeting(b)
print("two within the limit greeted:", ok)
c = conn()
refused = not greeting(c)
print("third refused:", refused)
a.close()
# the server frees the slot on its next loop turn: bounded retries
for i in range(50):
    again = greeting(conn())
    if again: break
    time.sleep(0.1)
print("slot reused:", again)
sys.exit(0 if ok and refused and again else 1)
PY
assert_contains "$LB_LOG" 'nbd_max_conns' "refusal is logged"
nbdinfo "nbd://127.0.0.1:$LB_NBD_PORT/lim" >/dev/null ||
	die "a free slot is not usable"
assert_alive "after the limit"
