#!/bin/bash
# The split initramfs (store/initramfs.h): `linkboot initramfs --split`
# writes a core (agent, shell, nbd/overlay/ext4, virtio NIC; no disk or
# other NIC driver), the storage drivers, one archive per NIC driver, one
# with every NIC driver, the NIC map, and with -o all of them joined.
# Unpacked in the kernel's order (core, then the parts over it) the tree
# has the drivers, all their dependencies, and an index (modules.dep plus
# each part's linkboot.d/PART.dep, as the agent reads them) naming exactly
# what is there.
# Served: a version with the set gets a boot script that loads the core,
# the storage part only for a PC with an SSD cache or write mode disk, and
# nic.img?busid=${busid:hexraw}; the server answers an e1000 (8086:100e)
# with nic/e1000.img, a virtio NIC with nic/core.img, an unknown, missing,
# non-PCI or malformed bus ID with nic-all.img; a version without the set
# keeps the one initrd.
. "$(dirname "$0")/lib.sh"
requires cpio --version
requires curl --version
[ -x "$LINKBOOT_AGENT" ] || skip "build/linkboot-agent missing (make)"
KROOT=$(bash "$TOP/scripts/fetch-kernel.sh" 2>/dev/null) || skip "no Debian kernel"
KVER=$(ls "$KROOT/lib/modules" | head -n 1)
M=lib/modules/$KVER
S=$TMP/split

"$LINKBOOT" initramfs --split "$S" -o "$TMP/joined.img" --modules "$KROOT" \
	--agent "$LINKBOOT_AGENT" --no-xfs >"$TMP/out" || die "initramfs --split"
cat "$TMP/out"
assert_contains "$TMP/out" "core [0-9]+ bytes, storage [0-9]+ bytes, [0-9]+ NIC archives" "summary line"
for f in initrd-core.img initrd-storage.img nic-all.img nic.alias nic/core.img \
	nic/e1000.img nic/e1000e.img nic/r8169.img; do
	[ -s "$S/$f" ] || die "missing $f"
done
cat "$S/initrd-core.img" "$S/initrd-storage.img" "$S/nic-all.img" |
	cmp - "$TMP/joined.img" || die "-o is not core + storage + all NICs"

# unpack archives in order into one tree, as the kernel does
unpack() {
	rm -rf "$TMP/x" && mkdir -p "$TMP/x"
	for a in "$@"; do
		(cd "$TMP/x" && zcat "$a" | cpio -idu --quiet) || die "cpio cannot read $a"
	done
}
# the index as the agent reads it: modules.dep, then every part's
index() { cat "$TMP/x/$M/modules.$1" "$TMP/x/$M"/linkboot.d/*."$1" 2>/dev/null; }
deps_present() {
	index dep | cut -d: -f2 | tr ' ' '\n' | sed '/^$/d' | sort -u |
		while read -r d; do [ -f "$TMP/x/$M/$d" ] || die "$1: dep $d missing"; done
	index dep | cut -d: -f1 |
		while read -r d; do [ -f "$TMP/x/$M/$d" ] || die "$1: $d indexed, not there"; done
	[ "$(find "$TMP/x/$M/kernel" -name '*.ko' | wc -l)" = "$(index dep | cut -d: -f1 | sort -u | wc -l)" ] ||
		die "$1: modules in the tree that no index names"
}
unpack "$S/initrd-core.img"
cmp "$TMP/x/init" "$LINKBOOT_AGENT" || die "core: /init is not the agent"
for k in kernel/drivers/block/nbd.ko kernel/fs/ext4/ext4.ko kernel/drivers/net/virtio_net.ko \
	kernel/fs/overlayfs/overlay.ko; do
	[ -f "$TMP/x/$M/$k" ] || die "core: missing $k"
done
[ -e "$TMP/x/$M/kernel/drivers/net/ethernet" ] && die "core holds an ethernet driver"
[ -e "$TMP/x/$M/kernel/drivers/ata" ] && die "core holds a disk driver"
[ -e "$TMP/x/$M/kernel/fs/xfs/xfs.ko" ] && die "--no-xfs kept xfs"
deps_present core

unpack "$S/initrd-core.img" "$S/initrd-storage.img"
for k in kernel/drivers/nvme/host/nvme.ko kernel/drivers/ata/ahci.ko kernel/drivers/scsi/sd_mod.ko \
	kernel/drivers/usb/storage/usb-storage.ko kernel/drivers/block/virtio_blk.ko; do
	[ -f "$TMP/x/$M/$k" ] || die "storage: missing $k"
done
assert_contains "$TMP/x/$M/linkboot.d/storage.dep" '^kernel/drivers/ata/ahci.ko:' "storage index"
assert_contains "$TMP/x/$M/modules.dep" '^kernel/fs/ext4/ext4.ko:' "the core's index kept"
deps_present "core + storage"

unpack "$S/initrd-core.img" "$S/nic/e1000.img"
[ -f "$TMP/x/$M/kernel/drivers/net/ethernet/intel/e1000/e1000.ko" ] || die "no e1000.ko"
[ -f "$TMP/x/init" ] || die "the NIC archive dropped the core"
assert_contains "$TMP/x/$M/linkboot.d/nic.alias" 'pci:v00008086d0000100Esv.* e1000$' "e1000 in its index"
assert_contains "$TMP/x/$M/modules.dep" '^kernel/fs/ext4/ext4.ko:' "core still in the index"
[ "$(find "$TMP/x/$M/kernel/drivers/net/ethernet" -name '*.ko' | wc -l)" = 1 ] ||
	die "the e1000 archive holds other NIC drivers"
deps_present "core + e1000"

unpack "$S/initrd-core.img" "$S/initrd-storage.img" "$S/nic/r8169.img"
deps_present "core + storage + r8169"
unpack "$S/initrd-core.img" "$S/initrd-storage.img" "$S/nic-all.img"
for k in intel/e1000/e1000.ko realtek/r8169.ko intel/e1000e/e1000e.ko; do
	[ -f "$TMP/x/$M/kernel/drivers/net/ethernet/$k" ] || die "all NICs: missing $k"
done
deps_present "core + storage + all NICs"

assert_contains "$S/nic.alias" '^alias pci:v00008086d0000100Esv\S+ e1000$' "map: e1000"
assert_contains "$S/nic.alias" '^alias pci:v00001AF4d\S+ core$' "map: virtio is the core's"
grep -v '^alias pci:\S\+ [a-z0-9_]\+$' "$S/nic.alias" | head -n 3 | grep . &&
	die "map lines not in the alias form"
core=$(stat -c %s "$S/initrd-core.img")
storage=$(stat -c %s "$S/initrd-storage.img")
e1000=$(stat -c %s "$S/nic/e1000.img")
joined=$(stat -c %s "$TMP/joined.img")
echo "sizes: core $core + e1000 $e1000 = $((core + e1000)) bytes (+ storage $storage) vs all joined $joined"
[ $((core + storage + e1000)) -lt $((joined / 2)) ] ||
	die "core + storage + e1000 is not under half the joined initrd"

# --- served ---
truncate -s 8M "$TMP/disk.img"
head -c 300000 /dev/urandom >"$TMP/vmlinuz"
LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
lb image add demo "$TMP/disk.img" --kernel "$TMP/vmlinuz" --initrd "$TMP/joined.img" \
	>"$TMP/add.out" 2>&1 || die "image add: $(cat "$TMP/add.out")"
lb image add other "$TMP/disk.img" --kernel "$TMP/vmlinuz" --initrd "$TMP/joined.img" \
	>/dev/null 2>&1 || die "image add other"
id=$(sqlite3 "$LB_STATE/linkboot.db" "SELECT id FROM images WHERE name = 'demo'")
V=$LB_STATE/boot/$id/v1
cp -r "$S"/* "$V/"
MAC=52:54:00:12:34:57
MAC2=52:54:00:12:34:58
MAC3=52:54:00:12:34:59
MAC4=52:54:00:12:34:5a
lb client add "$MAC" --image demo >/dev/null || die "client add"
lb client add "$MAC2" --image other >/dev/null || die "client add other"
lb client add "$MAC3" --image demo --ssd-cache 1024 >/dev/null || die "client add ssd"
lb client add "$MAC4" --image demo --write disk --ssd-cache auto >/dev/null || die "client add disk"
start_linkboot --trusted-net 127.0.0.1/32
URL=http://127.0.0.1:$LB_HTTP_PORT

curl -sf --max-time 10 -o "$TMP/s1" "$URL/boot.ipxe?mac=$MAC" || die "GET boot.ipxe"
assert_contains "$TMP/s1" "^kernel http:\S+ initrd=initrd\.img initrd=nic\.img " "EFI stub: both initrds"
grep -q 'storage' "$TMP/s1" && die "a PC without local disk loads the storage drivers"
assert_contains "$TMP/s1" "^initrd --name initrd\.img $URL/boot/$id/v1/initrd-core\.img \|\| goto failed$" "core"
assert_contains "$TMP/s1" "^initrd --name nic\.img $URL/boot/$id/v1/nic\.img\?busid=\\\$\{busid:hexraw\} \|\| goto failed$" "NIC archive by bus ID"
for m in "$MAC3" "$MAC4"; do
	curl -sf --max-time 10 -o "$TMP/s3" "$URL/boot.ipxe?mac=$m" || die "GET boot.ipxe $m"
	assert_contains "$TMP/s3" "^kernel http:\S+ initrd=initrd\.img initrd=storage\.img initrd=nic\.img " \
		"EFI stub: three initrds for $m"
	assert_contains "$TMP/s3" "^initrd --name storage\.img $URL/boot/$id/v1/initrd-storage\.img \|\| goto failed$" \
		"storage drivers for $m"
done
curl -sf --max-time 10 -o "$TMP/s2" "$URL/boot.ipxe?mac=$MAC2" || die "GET boot.ipxe other"
assert_contains "$TMP/s2" "^initrd --name initrd\.img \S+/v1/initrd\.img \|\| goto failed$" "no set: one initrd"
grep -q 'nic\.img' "$TMP/s2" && die "a version without the set asks for nic.img"

nic() { curl -sf --max-time 10 -o "$TMP/n.out" "$URL/boot/$id/v1/nic.img$1" || die "GET nic.img$1"; }
nic "?busid=018086100e"; cmp "$TMP/n.out" "$S/nic/e1000.img" || die "e1000 not answered with nic/e1000.img"
nic "?busid=01808610D3"; cmp "$TMP/n.out" "$S/nic/e1000e.img" || die "82574L not answered with nic/e1000e.img"
nic "?busid=011af41000"; cmp "$TMP/n.out" "$S/nic/core.img" || die "virtio not answered with nic/core.img"
for q in "?busid=01ffff0001" "?busid=" "" "?busid=078086100e" "?busid=zz%00..%2F" \
	"?busid=018086100e00" "?mac=1"; do
	nic "$q"; cmp "$TMP/n.out" "$S/nic-all.img" || die "bus ID '$q' not answered with nic-all.img"
done
assert_contains "$LB_LOG" 'NIC bus ID 018086100e: initramfs drivers e1000' "logged"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/boot/$(sqlite3 "$LB_STATE/linkboot.db" \
	"SELECT id FROM images WHERE name = 'other'")/v1/nic.img?busid=018086100e")
[ "$code" = 404 ] || die "nic.img of a version without the set: $code, want 404"
code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$URL/boot/../../etc/nic.img?busid=01")
case $code in 403|404) ;; *) die "traversal in nic.img: $code";; esac
echo "ok: per-NIC initramfs built and served"
