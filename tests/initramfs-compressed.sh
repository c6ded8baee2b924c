#!/bin/bash
# Kernels whose distribution compresses modules and firmware (Ubuntu's
# .ko.zst, Fedora's .ko.xz, firmware .bin.xz): `linkboot initramfs` puts
# them in uncompressed under their plain names, so the agent loads them
# on any kernel (Debian's lacks CONFIG_MODULE_DECOMPRESS); modules.dep
# names the plain files; the firmware a module references is found
# compressed and added decompressed. The tree: Debian's kernel modules
# with some of them compressed (xz and zstd) and depmod run again, as a
# distribution's package ships it.
. "$(dirname "$0")/lib.sh"
requires cpio --version
requires xz --version
requires zstd --version
requires depmod -V
[ -x "$LINKBOOT_AGENT" ] || skip "build/linkboot-agent missing (make)"
KROOT=$(bash "$TOP/scripts/fetch-kernel.sh" 2>/dev/null) || skip "no Debian kernel"
KVER=$(ls "$KROOT/lib/modules" | head -n 1)
M=lib/modules/$KVER
ROOT=$TMP/root

# hard links, so compressing a file replaces the link only
mkdir -p "$ROOT/lib/modules"
cp -al "$KROOT/$M" "$ROOT/$M" 2>/dev/null || cp -a "$KROOT/$M" "$ROOT/$M" ||
	die "copy of the modules tree"
squeeze() {	# squeeze xz|zstd FILE: FILE.xz / FILE.zst instead of FILE
	local ext=$1 f=$2
	[ "$1" = zstd ] && ext=zst
	"$1" -q -c "$f" >"$f.$ext" || die "$1 $f"
	rm -f "$f"
}
xzs="kernel/drivers/block/nbd.ko kernel/fs/ext4/ext4.ko
	kernel/drivers/net/ethernet/intel/e1000/e1000.ko"
zsts="kernel/fs/jbd2/jbd2.ko kernel/drivers/net/ethernet/broadcom/tg3.ko"
for k in $xzs; do squeeze xz "$ROOT/$M/$k"; done
for k in $zsts; do squeeze zstd "$ROOT/$M/$k"; done
depmod -b "$ROOT" "$KVER" || die "depmod"
grep -q '^kernel/fs/ext4/ext4.ko.xz: .*jbd2.ko.zst' "$ROOT/$M/modules.dep" ||
	die "depmod did not record the compressed names"
# tg3's firmware, compressed as distributions ship it
fw=$(modinfo -F firmware "$KROOT/$M/kernel/drivers/net/ethernet/broadcom/tg3.ko" | head -n 1)
[ -n "$fw" ] || die "tg3 names no firmware"
mkdir -p "$ROOT/lib/firmware/$(dirname "$fw")"
head -c 3000 /dev/urandom >"$TMP/fw.bin"
xz -c "$TMP/fw.bin" >"$ROOT/lib/firmware/$fw.xz"

"$LINKBOOT" initramfs -o "$TMP/i.gz" --modules "$ROOT" --kernel-version "$KVER" \
	--agent "$LINKBOOT_AGENT" >"$TMP/out" 2>&1 || { cat "$TMP/out"; die "initramfs"; }
cat "$TMP/out"
mkdir -p "$TMP/x"
(cd "$TMP/x" && zcat "$TMP/i.gz" | cpio -id --quiet) || die "cpio cannot read the archive"
find "$TMP/x" -name '*.xz' -o -name '*.zst' | grep . && die "compressed files in the initramfs"
for k in $xzs $zsts; do
	[ -f "$TMP/x/$M/$k" ] || die "missing $k (plain)"
	cmp -s "$TMP/x/$M/$k" "$KROOT/$M/$k" || die "$k differs from the original module"
done
grep -qE '\.ko\.(xz|zst)' "$TMP/x/$M/modules.dep" && die "modules.dep names compressed files"
assert_contains "$TMP/x/$M/modules.dep" '^kernel/fs/ext4/ext4.ko: .*kernel/fs/jbd2/jbd2.ko' \
	"ext4 and its dep under plain names"
# every dep named in modules.dep is in the archive
cut -d: -f2 "$TMP/x/$M/modules.dep" | tr ' ' '\n' | sed '/^$/d' | sort -u |
	while read -r d; do [ -f "$TMP/x/$M/$d" ] || die "dep $d not included"; done
cmp -s "$TMP/x/lib/firmware/$fw" "$TMP/fw.bin" || die "firmware $fw not added decompressed"
# a module that does not decompress: a clear error, no file
echo "not xz" >"$ROOT/$M/kernel/drivers/block/nbd.ko.xz"
"$LINKBOOT" initramfs -o "$TMP/bad.gz" --modules "$ROOT" --kernel-version "$KVER" \
	--agent "$LINKBOOT_AGENT" >"$TMP/out" 2>&1 && die "a corrupt module was accepted"
assert_contains "$TMP/out" "nbd.ko.xz: cannot decompress" "corrupt module named"
[ -e "$TMP/bad.gz" ] && die "an initramfs was written anyway"
echo "PASS: $TEST_NAME"
