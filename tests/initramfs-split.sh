#!/bin/bash
# The per-NIC initramfs (store/initramfs.h): `linkboot initramfs --split`
# writes a core (agent, shell, base modules, no NIC driver but virtio),
# one archive per NIC driver, one with every NIC driver, the NIC map, and
# with -o the core and all NICs joined. Unpacked in the kernel's order
# (core, then the NIC archive over it) the tree has the driver, all its
# dependencies and an index naming exactly what is there.
# Served: a version with the set gets a boot script that loads the core
# and nic.img?busid=${busid:hexraw}; the server answers an e1000 (8086:100e)
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
assert_contains "$TMP/out" "core [0-9]+ bytes, [0-9]+ NIC archives" "summary line"
for f in initrd-core.img nic-all.img nic.alias nic/core.img nic/e1000.img \
	nic/e1000e.img nic/r8169.img; do
	[ -s "$S/$f" ] || die "missing $f"
done
cat "$S/initrd-core.img" "$S/nic-all.img" | cmp - "$TMP/joined.img" ||
	die "-o is not core + all NICs"

# unpack archives in order into one tree, as the kernel does
unpack() {
	rm -rf "$TMP/x" && mkdir -p "$TMP/x"
	for a in "$@"; do
		(cd "$TMP/x" && zcat "$a" | cpio -idu --quiet) || die "cpio cannot read $a"
	done
}
deps_present() {
	cut -d: -f2 "$TMP/x/$M/modules.dep" | tr ' ' '\n' | sed '/^$/d' | sort -u |
		while read -r d; do [ -f "$TMP/x/$M/$d" ] || die "$1: dep $d missing"; done
	cut -d: -f1 "$TMP/x/$M/modules.dep" |
		while read -r d; do [ -f "$TMP/x/$M/$d" ] || die "$1: $d indexed, not there"; done
}
unpack "$S/initrd-core.img"
cmp "$TMP/x/init" "$LINKBOOT_AGENT" || die "core: /init is not the agent"
for k in kernel/drivers/block/nbd.ko kernel/fs/ext4/ext4.ko kernel/drivers/net/virtio_net.ko \
	kernel/drivers/nvme/host/nvme.ko; do
	[ -f "$TMP/x/$M/$k" ] || die "core: missing $k"
done
[ -e "$TMP/x/$M/kernel/drivers/net/ethernet" ] && die "core holds an ethernet driver"
[ -e "$TMP/x/$M/kernel/fs/xfs/xfs.ko" ] && die "--no-xfs kept xfs"
deps_present core

unpack "$S/initrd-core.img" "$S/nic/e1000.img"
[ -f "$TMP/x/$M/kernel/drivers/net/ethernet/intel/e1000/e1000.ko" ] || die "no e1000.ko"
[ -f "$TMP/x/init" ] || die "the NIC archive dropped the core"
assert_contains "$TMP/x/$M/modules.alias" 'pci:v00008086d0000100Esv.* e1000$' "e1000 in the index"
assert_contains "$TMP/x/$M/modules.dep" '^kernel/fs/ext4/ext4.ko:' "core still in the index"
[ "$(find "$TMP/x/$M/kernel/drivers/net/ethernet" -name '*.ko' | wc -l)" = 1 ] ||
	die "the e1000 archive holds other NIC drivers"
deps_present "core + e1000"

unpack "$S/initrd-core.img" "$S/nic-all.img"
for k in intel/e1000/e1000.ko realtek/r8169.ko intel/e1000e/e1000e.ko; do
	[ -f "$TMP/x/$M/kernel/drivers/net/ethernet/$k" ] || die "all NICs: missing $k"
done
deps_present "core + all NICs"

assert_contains "$S/nic.alias" '^alias pci:v00008086d0000100Esv\S+ e1000$' "map: e1000"
assert_contains "$S/nic.alias" '^alias pci:v00001AF4d\S+ core$' "map: virtio is the core's"
grep -v '^alias pci:\S\+ [a-z0-9_]\+$' "$S/nic.alias" | head -n 3 | grep . &&
	die "map lines not in the alias form"
core=$(stat -c %s "$S/initrd-core.img")
e1000=$(stat -c %s "$S/nic/e1000.img")
joined=$(stat -c %s "$TMP/joined.img")
echo "sizes: core $core + e1000 $e1000 = $((core + e1000)) bytes vs all NICs joined $joined"
[ $((core + e1000)) -lt $((joined / 2)) ] || die "core + e1000 is not under half the joined initrd"

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
cp -r "$S/initrd-core.img" "$S/nic-all.img" "$S/nic" "$S/nic.alias" "$V/"
MAC=52:54:00:12:34:57
MAC2=52:54:00:12:34:58
lb client add "$MAC" --image demo >/dev/null || die "client add"
lb client add "$MAC2" --image other >/dev/null || die "client add other"
start_linkboot --trusted-net 127.0.0.1/32
URL=http://127.0.0.1:$LB_HTTP_PORT

curl -sf --max-time 10 -o "$TMP/s1" "$URL/boot.ipxe?mac=$MAC" || die "GET boot.ipxe"
assert_contains "$TMP/s1" "^kernel http:\S+ initrd=initrd\.img initrd=nic\.img " "EFI stub: both initrds"
assert_contains "$TMP/s1" "^initrd --name initrd\.img $URL/boot/$id/v1/initrd-core\.img \|\| goto failed$" "core"
assert_contains "$TMP/s1" "^initrd --name nic\.img $URL/boot/$id/v1/nic\.img\?busid=\\\$\{busid:hexraw\} \|\| goto failed$" "NIC archive by bus ID"
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
