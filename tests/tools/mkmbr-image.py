#!/usr/bin/env python3
"""Write a raw disk image whose boot sector prints a marker on COM1.

A VM that boots from the disk (SeaBIOS, any disk interface) shows that the
disk's first sector reached it intact. Usage: mkmbr-image.py FILE MARKER SIZE
"""
import sys

# 16-bit real mode at 0000:7C00:
#   xor ax,ax; mov ds,ax; cld; mov si,msg; mov dx,0x3f8
# l: lodsb; test al,al; jz done; out dx,al; jmp l
# done: hlt; jmp done
CODE = bytes([0x31, 0xC0, 0x8E, 0xD8, 0xFC, 0xBE, 0x16, 0x7C,
              0xBA, 0xF8, 0x03, 0xAC, 0x84, 0xC0, 0x74, 0x03,
              0xEE, 0xEB, 0xF8, 0xF4, 0xEB, 0xFD])
assert len(CODE) == 0x16  # msg follows at 0x7C16

path, marker, size = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
msg = marker + b"\r\n\0"
sector = bytearray(512)
sector[:len(CODE)] = CODE
sector[len(CODE):len(CODE) + len(msg)] = msg
sector[510:512] = b"\x55\xAA"
with open(path, "wb") as f:
    f.write(sector)
    f.truncate(size)
