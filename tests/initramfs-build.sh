#!/bin/bash
# `linkboot initramfs` writes a gzip'ed newc cpio that the kernel (and GNU
# cpio) reads: /init = the agent, /dev/console, nbd, overlay, ext4 with its
# deps and the softdep crc32c_generic, xfs, every ethernet driver (default)
# or only the requested ones (--minimal --pci-ids), and modules.dep/alias
# for exactly that set. Bad input: a clear error, no file.
. "$(dirname "$0")/lib.sh"
requires cpio --version
[ -x "$LINKBOOT_AGENT" ] || skip "build/linkboot-agent missing (make)"
KROOT=$(bash "$TOP/scripts/fetch-kernel.sh" 2>/dev/null) || skip "no Debian kernel"
KVER=$(ls "$KROOT/lib/modules" | head -n 1)
M=lib/modules/$KVER

unpack() {
	rm -rf "$TMP/x" && mkdir -p "$TMP/x"
	(cd "$TMP/x" && zcat "$1" | cpio -id --quiet) || die "cpio cannot read $1"
}

"$LINKBOOT" initramfs -o "$TMP/full.gz" --modules "$KROOT" \
	--agent "$LINKBOOT_AGENT" >"$TMP/out" || die "initramfs (default)"
cat "$TMP/out"
assert_contains "$TMP/out" "kernel $KVER, [0-9]+ modules" "summary line"
unpack "$TMP/full.gz"
cmp "$TMP/x/init" "$LINKBOOT_AGENT" || die "/init is not the agent"
[ -c "$TMP/x/dev/console" ] || die "no /dev/console"
for k in kernel/drivers/block/nbd.ko kernel/fs/overlayfs/overlay.ko \
	kernel/fs/ext4/ext4.ko kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko \
	kernel/lib/crc16.ko kernel/crypto/crc32c_generic.ko kernel/fs/xfs/xfs.ko \
	kernel/drivers/net/ethernet/intel/e1000/e1000.ko \
	kernel/drivers/net/ethernet/realtek/r8169.ko kernel/drivers/net/usb/r8152.ko \
	kernel/drivers/nvme/host/nvme.ko kernel/drivers/block/virtio_blk.ko; do
	[ -f "$TMP/x/$M/$k" ] || die "missing $k"
done
assert_contains "$TMP/x/$M/modules.dep" '^kernel/fs/ext4/ext4.ko: .*jbd2' "ext4 deps"
assert_contains "$TMP/x/$M/modules.softdep" 'softdep ext4 pre: crypto-crc32c' "softdep kept"
assert_contains "$TMP/x/$M/modules.alias" 'crypto-crc32c crc32c_generic' "crc32c alias"
assert_contains "$TMP/x/$M/modules.alias" ' e1000$' "NIC aliases"
# every dep named in modules.dep is in the archive
cut -d: -f2 "$TMP/x/$M/modules.dep" | tr ' ' '\n' | sed '/^$/d' | sort -u |
	while read -r d; do [ -f "$TMP/x/$M/$d" ] || die "dep $d not included"; done
# nothing in modules.dep/alias for a module left out (sound)
grep -q 'snd' "$TMP/x/$M/modules.dep" && die "modules.dep lists modules not in the archive"

"$LINKBOOT" initramfs -o "$TMP/min.gz" --modules "$KROOT/$M" --minimal \
	--pci-ids 10ec:8168 --agent "$LINKBOOT_AGENT" -q || die "initramfs --minimal"
unpack "$TMP/min.gz"
[ -f "$TMP/x/$M/kernel/drivers/net/ethernet/realtek/r8169.ko" ] ||
	die "--pci-ids 10ec:8168 did not pull r8169"
[ -f "$TMP/x/$M/kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko" ] &&
	die "--minimal kept unrelated NIC drivers"
[ "$(stat -c %s "$TMP/min.gz")" -lt "$(stat -c %s "$TMP/full.gz")" ] ||
	die "--minimal is not smaller"
echo "sizes: default $(stat -c %s "$TMP/full.gz") bytes, minimal $(stat -c %s "$TMP/min.gz") bytes"

# bad input: a message naming the problem, exit != 0, no output file
"$LINKBOOT" initramfs -o "$TMP/bad.gz" --modules "$TMP/nowhere" \
	--agent "$LINKBOOT_AGENT" 2>"$TMP/err" && die "missing modules accepted"
assert_contains "$TMP/err" 'no kernel modules under' "missing modules message"
"$LINKBOOT" initramfs -o "$TMP/bad.gz" --modules "$KROOT" --minimal \
	--pci-ids zz:1 --agent "$LINKBOOT_AGENT" 2>"$TMP/err" && die "bad --pci-ids accepted"
assert_contains "$TMP/err" 'pci-ids: bad' "bad --pci-ids message"
"$LINKBOOT" initramfs --modules "$KROOT" 2>/dev/null
[ $? -eq 2 ] || die "no -o: not a usage error"
[ -e "$TMP/bad.gz" ] && die "a failed build left a file"
ls "$TMP"/*.tmp.* >/dev/null 2>&1 && die "temporary file left behind"
echo "PASS: initramfs build"
