#!/usr/bin/env python3
# wol_wait.py IFACE MAC SECONDS: the test's stand-in for a NIC's
# Wake-on-LAN logic (QEMU has none). Watches IFACE (AF_PACKET, every
# frame in or out) for a magic packet (6 x 0xff, then MAC 16 times) as a
# UDP/9 payload or an ethertype 0x0842 frame; prints "ready" once
# listening and "woken udp|ether" when one for MAC arrives (exit 0), or
# exits 1 after SECONDS.
import socket
import sys
import time

iface, mac, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
want = bytes(int(x, 16) for x in mac.split(":"))
magic = b"\xff" * 6 + want * 16
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.settimeout(0.5)
print("ready", flush=True)
end = time.time() + secs
while time.time() < end:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    etype = f[12:14]
    if etype == b"\x08\x42" and f[14:14 + len(magic)] == magic:
        print("woken ether", flush=True)
        sys.exit(0)
    if etype == b"\x08\x00" and len(f) > 34 and f[23] == 17:
        ihl = (f[14] & 15) * 4
        udp = f[14 + ihl:14 + ihl + 8]
        if int.from_bytes(udp[2:4], "big") == 9 and \
                f[14 + ihl + 8:14 + ihl + 8 + len(magic)] == magic:
            print("woken udp", flush=True)
            sys.exit(0)
sys.exit(1)
