#!/bin/bash
# Boot storm over a shaped link: bytes on the wire per boot and time until
# every PC has its bytes, for cold PCs, boot packs and warm SSD caches.
# Not a test: prints numbers, asserts nothing.
#
#   bench/storm-link.sh [RATES [CLIENTS_LIST [REPS]]]
#   default: "1gbit 10gbit", "50 200", 2 reps; needs root (netns, tc) and
#   `make demo` run once (its image and its first boot's trace)
#
# Two network namespaces on a bridge (198.18.0.0/24): the server's NIC is
# shaped with tc tbf to RATE in both directions; all N PCs share the other
# side. The servers: linkboot with the demo image (`image add` builds the
# one-file initramfs and the per-NIC set, `image pack` the boot pack from
# the demo's recorded boot trace), nbdkit and qemu-nbd serving the same
# image read-only. Each phase is N PCs at once, phases one after another:
#
#   http-one    kernel + the one-file initramfs (every driver)
#   http-nic    kernel + the core + the e1000's archive (nic.img?busid=):
#               a PC without local disk
#   http-ssd    the same + the storage drivers: a PC with an SSD cache
#   http-*-full the same for an image with Debian's whole module tree (the
#               demo image keeps 45 modules; a stock install has ~4000)
#   nbd-cold    the recorded trace (425 reads, 26.6 MiB) over NBD, for
#               linkboot, nbdkit and qemu-nbd (4 READs in flight per PC)
#   pack        the boot pack over HTTP (what a cold PC reads instead)
#   hashes      the version's block-hash table (a warm SSD's only fetch
#               besides kernel and initramfs)
#
# Bytes are the server NIC's tx + rx counters (Ethernet frames) over the
# phase, per PC; wall time is the phase's. A boot is then summed from its
# phases (a PC fetches them in this order; real boots overlap them, so
# the sums are an upper bound on the time). Saved: bench/results/.
set -u
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/tests/tools/dhcp-netns.sh"

RATES=${1:-1gbit 10gbit}
CLIENTS_LIST=${2:-50 200}
REPS=${3:-2}
STORM=${NBD_STORM:-$TOP/build/bench/nbd_storm}
DEMO_IMG=${BENCH_IMAGE:-$TOP/build/demo/demo.img}
DEMO_TRACE=$(ls "$TOP"/build/demo/state/boot/*/v1/boot.trace 2>/dev/null | head -n 1)
TRACE=$TOP/bench/boot-trace-demo.txt
requires nbdkit --version
requires qemu-nbd --version
requires curl --version
requires tc -V
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, tc)"
[ -x "$LINKBOOT" ] || die "build first: make"
[ -x "$STORM" ] || die "build first: make build/bench/nbd_storm"
[ -r "$DEMO_IMG" ] && [ -n "$DEMO_TRACE" ] || die "run make demo once (image + boot trace)"
ulimit -n 8192 2>/dev/null || true

netns_lan srv pcs
netns_addr srv 198.18.0.1/24
netns_addr pcs 198.18.0.2/24
SRV=198.18.0.1

# --- servers ---
LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
lb image add demo "$DEMO_IMG" >"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
ID=$(sqlite3 "$LB_STATE/linkboot.db" "SELECT id FROM images WHERE name = 'demo'")
V=$LB_STATE/boot/$ID/v1
[ -f "$V/nic.alias" ] || die "image add wrote no per-NIC initramfs"
cp "$DEMO_TRACE" "$V/boot.trace"
lb image pack demo >"$TMP/pack.log" 2>&1 || { cat "$TMP/pack.log"; die "image pack"; }
[ -s "$V/boot.pack" ] || die "no boot pack"
KROOT=$(bash "$TOP/scripts/fetch-kernel.sh" 2>/dev/null) || die "no Debian kernel"
truncate -s $(( $(du -sm "$KROOT" | cut -f1) + 200 ))M "$TMP/full.img"
mkfs.ext4 -q -F -d "$KROOT" -L full "$TMP/full.img" || die "mkfs full image"
lb image add full "$TMP/full.img" >"$TMP/add-full.log" 2>&1 ||
	{ cat "$TMP/add-full.log"; die "image add full"; }
rm -f "$TMP/full.img"
FID=$(sqlite3 "$LB_STATE/linkboot.db" "SELECT id FROM images WHERE name = 'full'")
FV=$LB_STATE/boot/$FID/v1
linkboot_in_ns srv
# every bench PC comes from 198.18.0.2: lift the per-address caps
LB_LISTEN=$SRV start_linkboot --nbd-max-per-ip 0 --nbd-max-conns 2048 \
	--http-max-per-ip 0 --http-max-conns 2048
BASE=http://$SRV:$LB_HTTP_PORT/boot/$ID/v1
FBASE=http://$SRV:$LB_HTTP_PORT/boot/$FID/v1

declare -A PID URI
PID[linkboot]=$LB_PID URI[linkboot]=nbd://$SRV:$LB_NBD_PORT/demo
RAW=$(ls "$LB_STATE"/store/*.raw | head -n 1)
P=$(free_port)
in_ns srv nbdkit -f -r -i "$SRV" -p "$P" file "$RAW" >"$TMP/nbdkit.log" 2>&1 &
PID[nbdkit]=$! URI[nbdkit]=nbd://$SRV:$P/
cleanup_fn "kill ${PID[nbdkit]}; wait ${PID[nbdkit]}"
P=$(free_port)
in_ns srv qemu-nbd -r -t -x demo -b "$SRV" -p "$P" -e 2000 -f raw "$RAW" \
	>"$TMP/qemu-nbd.log" 2>&1 &
PID[qemu-nbd]=$! URI[qemu-nbd]=nbd://$SRV:$P/demo
cleanup_fn "kill ${PID[qemu-nbd]}; wait ${PID[qemu-nbd]}"
for s in linkboot nbdkit qemu-nbd; do
	wait_for 10 in_ns pcs "$STORM" -u "${URI[$s]}" -f "$TRACE" -c 1 ||
		die "$s: no answer at ${URI[$s]}"
done
cat "$RAW" "$V"/* >/dev/null 2>&1	# every server reads from the page cache

shape() {	# RATE: the server's NIC, both directions (ingress via ifb-less
	# policing would drop; shaping egress on both ends is the same link)
	local burst=$(( ${1%gbit} * 2 ))mb
	in_ns srv tc qdisc replace dev eth0 root tbf rate "$1" burst "$burst" latency 20ms
	in_ns pcs tc qdisc replace dev eth0 root tbf rate "$1" burst "$burst" latency 20ms
}
nic_bytes() { in_ns srv sh -c 'echo $(( $(cat /sys/class/net/eth0/statistics/tx_bytes) + $(cat /sys/class/net/eth0/statistics/rx_bytes) ))'; }
now() { date +%s.%N; }

# http N URL...: every PC GETs every URL, N at once (curl --parallel)
http() {
	local n=$1 i u; shift
	: >"$TMP/curl.cfg"
	for ((i = 0; i < n; i++)); do
		for u in "$@"; do
			printf 'url = "%s"\noutput = "/dev/null"\n' "$u" >>"$TMP/curl.cfg"
		done
	done
	in_ns pcs curl -s -Z --parallel-max "$n" --parallel-immediate --max-time 600 \
		-w '%{http_code}\n' -K "$TMP/curl.cfg" >"$TMP/codes" 2>/dev/null
	FAILED=$(grep -vc '^200$' "$TMP/codes")
}
nbd() {
	in_ns pcs "$STORM" -u "${URI[$1]}" -f "$TRACE" -c "$2" -q 4 >"$TMP/nbd.out" 2>"$TMP/nbd.err"
	FAILED=$(sed -n 's/.*failures=\([0-9]*\).*/\1/p' "$TMP/nbd.out")
	[ -n "$FAILED" ] || FAILED=$2
}
# phase RATE N REP NAME CMD...: one phase, its line into $TMP/res
phase() {
	local rate=$1 n=$2 rep=$3 name=$4 b0 b1 t0 t1; shift 4
	b0=$(nic_bytes) t0=$(now)
	"$@"
	t1=$(now) b1=$(nic_bytes)
	printf 'rate=%s n=%s rep=%s phase=%s wall_s=%s bytes_per_pc=%s failed=%s\n' \
		"$rate" "$n" "$rep" "$name" "$(echo "$t1 - $t0" | bc)" \
		$(((b1 - b0) / n)) "$FAILED" | tee -a "$TMP/res"
	sleep 1
}

for rate in $RATES; do
	shape "$rate"
	for n in $CLIENTS_LIST; do
		for ((rep = 1; rep <= REPS; rep++)); do
			for v in "" -full; do
				b=$BASE
				[ -z "$v" ] || b=$FBASE
				phase "$rate" "$n" "$rep" "http-one$v" http "$n" "$b/vmlinuz" \
					"$b/initrd.img"
				phase "$rate" "$n" "$rep" "http-nic$v" http "$n" "$b/vmlinuz" \
					"$b/initrd-core.img" "$b/nic.img?busid=018086100e"
				phase "$rate" "$n" "$rep" "http-ssd$v" http "$n" "$b/vmlinuz" \
					"$b/initrd-core.img" "$b/initrd-storage.img" \
					"$b/nic.img?busid=018086100e"
			done
			for s in linkboot nbdkit qemu-nbd; do
				phase "$rate" "$n" "$rep" "nbd-cold-$s" nbd "$s" "$n"
			done
			phase "$rate" "$n" "$rep" pack http "$n" "$BASE/boot.pack"
			phase "$rate" "$n" "$rep" hashes http "$n" "$BASE/hashes"
		done
	done
done

echo
sizes() { echo "initrd.img $(stat -c %s "$1/initrd.img"), core $(stat -c %s "$1/initrd-core.img"), storage $(stat -c %s "$1/initrd-storage.img"), nic/e1000.img $(stat -c %s "$1/nic/e1000.img")"; }
echo "files: vmlinuz $(stat -c %s "$V/vmlinuz"), $(sizes "$V"), boot.pack $(stat -c %s "$V/boot.pack"), hashes $(stat -c %s "$V/hashes") bytes"
echo "full-module image: $(sizes "$FV") bytes"
python3 - "$TMP/res" <<'PY'
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in l.split()) for l in open(sys.argv[1])]
def med(rate, n, ph, k):
    v = [float(r[k]) for r in rows if r["rate"] == rate and r["n"] == n and r["phase"] == ph]
    return (statistics.median(v), min(v), max(v)) if v else (0, 0, 0)
def f(t, fmt="%.2f"): return (fmt + " (" + fmt + ".." + fmt + ")") % t
keys = []
for r in rows:
    if (r["rate"], r["n"]) not in keys: keys.append((r["rate"], r["n"]))
for rate, n in keys:
    print("\n%s, N=%s PCs (median of reps, min..max)" % (rate, n))
    phases = []
    for r in rows:
        if r["rate"] == rate and r["n"] == n and r["phase"] not in phases: phases.append(r["phase"])
    print("%-18s %-24s %-16s %s" % ("phase", "wall s", "MB/PC on wire", "failed"))
    for ph in phases:
        fails = sum(int(r["failed"]) for r in rows if r["rate"] == rate and r["n"] == n and r["phase"] == ph)
        print("%-18s %-24s %-16.2f %d" % (ph, f(med(rate, n, ph, "wall_s")),
              med(rate, n, ph, "bytes_per_pc")[0] / 1e6, fails))
    w = lambda ph: med(rate, n, ph, "wall_s")[0]
    b = lambda ph: med(rate, n, ph, "bytes_per_pc")[0] / 1e6
    print("boots (phases summed): MB/PC on wire, seconds until all N have their bytes")
    for img, v in (("demo image", ""), ("full modules", "-full")):
        for label, ph, split in (("cold, NBD", "nbd-cold-linkboot", "http-nic"),
                                 ("cold, boot pack", "pack", "http-nic"),
                                 ("warm SSD", "hashes", "http-ssd")):
            one, split = "http-one" + v, split + v
            print("  %-13s %-16s one-file initramfs %6.2f MB %6.2f s | split %6.2f MB %6.2f s" % (
                  img, label, b(one) + b(ph), w(one) + w(ph), b(split) + b(ph), w(split) + w(ph)))
    lb = w("nbd-cold-linkboot")
    peers = [w(p) for p in ("nbd-cold-nbdkit", "nbd-cold-qemu-nbd") if w(p)]
    if lb and peers:
        print("  NBD cold phase, best peer / linkboot wall: %.2fx" % (min(peers) / lb))
PY
