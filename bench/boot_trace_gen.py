#!/usr/bin/env python3
"""Write a synthetic boot read trace (bench/boot-trace-synthetic.txt).

No real Windows boot can be recorded here (no Windows image), and a real
Debian SAN boot under TCG QEMU takes minutes per run, so the storm replays
a synthetic trace. Its shape is an assumption, not a recording: the usual
picture of boot I/O at the block layer, a chain of mostly small reads with
a few sequential runs:

  1. firmware + loader (INT 13h / UEFI block I/O, one read at a time):
     MBR/GPT, the partition boot sector, then the loader and kernel files
     as sequential runs of 32-64 KiB reads (bootmgr/winload/ntoskrnl,
     GRUB/vmlinuz/initrd)
  2. the OS's own initiator: drivers, registry hives, DLLs, the page of a
     file system's metadata (MFT, inode tables) again and again: 4-64 KiB
     reads, 60 % of them 4 KiB, clustered around a few hot areas, with
     short sequential runs (read-ahead)

Every client replays the same trace (a room boots the same image), so
both servers see the same page-cache hits. Deterministic (seeded).

  bench/boot_trace_gen.py [IMAGE_MIB=512] [SEED=10] > bench/boot-trace-synthetic.txt
"""
import random, sys

img_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 10
rnd = random.Random(seed)
IMG = img_mib << 20
ops = []

def run(off, n, size):
    for i in range(n):
        if off + size > IMG:
            break
        ops.append((off, size))
        off += size
    return off

# 1. firmware and loader
ops += [(0, 512), (512, 512), (1 << 20, 4096), (1 << 20, 512)]
off = 2 << 20
for files in range(6):			# loader, kernel, drivers bundle ...
    n = rnd.randint(8, 48)
    off = run(off + rnd.randint(1, 64) * 4096, n, rnd.choice((32768, 65536)))
# 2. the OS: hot areas (metadata, registry, system32-like dirs)
hot = [rnd.randrange(4 << 20, IMG - (8 << 20)) & ~4095 for _ in range(12)]
while len(ops) < 1500:
    r = rnd.random()
    if r < 0.08:			# read-ahead: a short sequential run
        base = (rnd.choice(hot) + rnd.randrange(0, 4 << 20)) & ~4095
        run(base, rnd.randint(4, 16), rnd.choice((16384, 32768, 65536)))
        continue
    if r < 0.75:			# near a hot area
        base = rnd.choice(hot) + rnd.randrange(0, 2 << 20)
    else:				# anywhere in the system part
        base = rnd.randrange(0, IMG * 3 // 4)
    size = rnd.choices((4096, 8192, 16384, 32768, 65536),
                       weights=(60, 12, 12, 8, 8))[0]
    base &= ~4095
    if base + size <= IMG:
        ops.append((base, size))

total = sum(s for _, s in ops)
print("# synthetic boot read trace: bench/boot_trace_gen.py %d %d" % (img_mib, seed))
print("# %d reads, %.1f MiB; OFFSET LENGTH in bytes; needs an image of >= %d MiB"
      % (len(ops), total / 2**20, img_mib))
for o, s in ops:
    print(o, s)
