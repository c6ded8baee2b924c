# Shared by tests/image-*.sh (sourced after lib.sh).

PT_UUID=11111111-2222-3333-4444-555555555555
FS_UUID=0bbb0000-0000-4000-8000-000000000001
KVER=6.1.0-t

requires sfdisk --version
requires mkfs.ext4 -V
requires sqlite3 --version
requires e2fsck -V
requires "$LINKBOOT" image --help

# make_image FILE: 8 MiB GPT disk, p1 = ext4 (1..7 MiB) with a fake
# /boot/vmlinuz-$KVER and /lib/modules/$KVER; 7..8 MiB unallocated.
make_image() {
	local img=$1 root=$TMP/root
	rm -rf "$root"
	mkdir -p "$root/boot" "$root/lib/modules/$KVER/kernel"
	echo "fake kernel $KVER $RANDOM" >"$root/boot/vmlinuz-$KVER"
	echo "kernel/nbd.ko:" >"$root/lib/modules/$KVER/modules.dep"
	echo "fake module" >"$root/lib/modules/$KVER/kernel/nbd.ko"
	truncate -s 8M "$img"
	printf 'label: gpt\nlabel-id: %s\nstart=2048, size=12288, type=L\n' \
		"$PT_UUID" | sfdisk -q "$img" || die "sfdisk"
	mkfs.ext4 -q -F -E offset=1048576 -d "$root" -U "$FS_UUID" -L ROOTFS \
		"$img" 6M || die "mkfs.ext4"
}

db() { sqlite3 "$LB_STATE/linkboot.db" "$@"; }
