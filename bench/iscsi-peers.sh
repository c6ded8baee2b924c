#!/bin/bash
# iSCSI read performance: linkboot's target (`linkboot serve`, an image
# target iqn.2026-12.org.linkboot:image.NAME: read-only, no CHAP) vs
# Debian's tgtd (file backing store, read-only LUN) serving the same image
# in the same run. Not a test: prints numbers, asserts nothing.
#
#   bench/iscsi-peers.sh [SECONDS=10] [REPS=3] [CLIENTS=200]
#   (make bench-iscsi builds bench/iscsi_storm.c and runs this)
#
# Load: bench/iscsi_storm.c (libiscsi's async API; Debian's fio has no
# libiscsi engine), the same binary and arguments for both servers:
#   4K-rr    one initiator, 4 KiB random reads, 16 in flight, SECONDS
#   1M-seq   one initiator, 1 MiB sequential reads, 4 in flight, SECONDS
#   storm    CLIENTS initiators log in at once and each replays
#            bench/boot-trace-synthetic.txt (bench/boot_trace_gen.py:
#            a synthetic boot, 4-64 KiB reads and sequential runs), 4 in
#            flight: wall time (first login to last read), READ latency
#            p50/p99/max, failures
#   1M-storm CLIENTS initiators each reading 1 MiB sequentially, 4 in
#            flight, SECONDS/2: what large reads on many connections cost
#            in server memory (an earlier linkboot kept ~4 MiB per
#            connection for good after such reads)
# Reps are interleaved (rep 1 of both servers, then rep 2, ...) so load
# from other processes on a shared machine hits both alike; printed: the
# median and min..max of each server and of the ratio linkboot/tgtd per
# rep. Server memory: the peak RSS during each storm (VmHWM, reset before
# it through /proc/PID/clear_refs), and VmRSS 3 s after the last run.
#
# What differs between the two (not like for like in every respect):
#   linkboot  one event-loop thread for every connection; reads go
#             through its vdisk layer (the image version's chain: raw
#             base + deltas, bitmaps in memory; no hash is checked on
#             read) with one pread() per Data-In PDU
#   tgtd      an event loop plus a pool of pread() worker threads per LUN
#             (bs rdwr: the image file itself, no version chain, nothing
#             checked)
#   both      512-byte blocks, read-only, no CHAP, no digests;
#             MaxRecvDataSegmentLength 256 KiB and the largest
#             MaxBurstLength on both sides (tgtd's set to linkboot's)
# Both read through the page cache (the image is read once beforehand).
set -u
. "$(dirname "$0")/../tests/lib.sh"

RUNTIME=${1:-10}
REPS=${2:-3}
CLIENTS=${3:-200}
SIZE_MIB=${BENCH_SIZE_MIB:-512}
TRACE=${BENCH_TRACE:-$TOP/bench/boot-trace-synthetic.txt}
STORM=${ISCSI_STORM:-$TOP/build/bench/iscsi_storm}
requires tgtd --version
requires tgtadm --help
[ -x "$LINKBOOT" ] || die "build first: make"
[ -x "$STORM" ] || die "build first: make bench-iscsi-build"
[ -r "$TRACE" ] || die "no trace $TRACE"
need=$(sed -n 's/.*needs an image of >= \([0-9]*\) MiB.*/\1/p' "$TRACE")
[ "${need:-0}" -le "$SIZE_MIB" ] || die "the trace needs a ${need} MiB image"
# 200 initiators: a socket each, both ends in this machine
ulimit -n 4096 2>/dev/null || true

IMG=$TMP/bench.img
echo "== a ${SIZE_MIB} MiB image; servers"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$IMG" || die "image"

declare -A PID PORTAL IQN LUN
start_linkboot
echo kernel >"$TMP/vmlinuz"; echo initrd >"$TMP/initrd"
lb image add bench "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "linkboot image add"; }
PID[linkboot]=$LB_PID PORTAL[linkboot]=127.0.0.1:$LB_ISCSI_PORT
IQN[linkboot]=iqn.2026-12.org.linkboot:image.bench LUN[linkboot]=0

P=$(free_port)
TGT_CTL=$((20000 + RANDOM % 10000))
tgtd -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$P" >"$TMP/tgtd.log" 2>&1 &
PID[tgtd]=$! PORTAL[tgtd]=127.0.0.1:$P
# tgtd ignores SIGTERM: stop it through its control port, then for sure
cleanup_fn "tgtadm -C $TGT_CTL --mode system --op delete --force; sleep 0.5; kill -9 ${PID[tgtd]}; wait ${PID[tgtd]}"
tgt() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }
wait_for 10 tgt --mode target --op show || die "tgtd did not start"
IQN[tgtd]=iqn.2026-12.org.linkboot.bench:tgt LUN[tgtd]=1
tgt --mode target --op new --tid 1 -T "${IQN[tgtd]}" || die "tgtadm target"
tgt --mode logicalunit --op new --tid 1 --lun 1 -b "$IMG" || die "tgtadm lun"
tgt --mode logicalunit --op update --tid 1 --lun 1 --params readonly=1 ||
	die "tgtadm readonly"
tgt --mode target --op bind --tid 1 -I ALL || die "tgtadm bind"
# the session parameters linkboot offers, so neither cuts PDUs smaller
for kv in MaxRecvDataSegmentLength=262144 MaxBurstLength=16776192; do
	tgt --mode target --op update --tid 1 --name "${kv%=*}" --value "${kv#*=}" ||
		die "tgtadm $kv"
done

SERVERS="linkboot tgtd"
# warm the page cache for both the same way (linkboot's store holds the
# image's blocks in its own files)
cat "$IMG" "$LB_STATE"/store/* >/dev/null 2>&1
cat "$LB_STATE"/store/*/* >/dev/null 2>&1
for s in $SERVERS; do
	"$STORM" -p "${PORTAL[$s]}" -T "${IQN[$s]}" -L "${LUN[$s]}" -t 1 \
		>"$TMP/probe-$s" 2>&1 || { cat "$TMP/probe-$s"; die "$s: no answer"; }
done

# run SERVER TEST REP ARGS...: one iscsi_storm run, its line to res-SERVER-TEST
run() {
	local s=$1 t=$2 rep=$3 out
	shift 3
	out=$TMP/storm-$s-$t-$rep
	"$STORM" -p "${PORTAL[$s]}" -T "${IQN[$s]}" -L "${LUN[$s]}" "$@" \
		>"$out" 2>"$out.err"
	[ -s "$out" ] || { echo "$s $t: no result: $(head -3 "$out.err")" >&2; return; }
	echo "$s $t rep $rep: $(cat "$out")"
	cat "$out" >>"$TMP/res-$s-$t"
	case $t in *storm)
		awk '/^VmHWM/ { print $2 }' "/proc/${PID[$s]}/status" \
			>>"$TMP/hwm-$t-$s" ;;
	esac
}
# peak RSS from here on (proc(5): clear_refs 5 resets VmHWM)
hwm_reset() { echo 5 >"/proc/${PID[$1]}/clear_refs" || die "clear_refs"; }

for ((rep = 1; rep <= REPS; rep++)); do
	for s in $SERVERS; do
		echo "== rep $rep/$REPS: $s"
		run "$s" 4k "$rep" -m rand -b 4096 -q 16 -t "$RUNTIME"
		run "$s" 1m "$rep" -m seq -b $((1 << 20)) -q 4 -t "$RUNTIME"
		hwm_reset "$s"
		run "$s" storm "$rep" -m trace -f "$TRACE" -c "$CLIENTS" -q 4
		hwm_reset "$s"
		run "$s" 1mstorm "$rep" -m seq -b $((1 << 20)) -c "$CLIENTS" \
			-q 4 -t $(((RUNTIME + 1) / 2))
		sleep 1
	done
done
sleep 3		# past linkboot's idle trim (ISCSI_TRIM_MS)
for s in $SERVERS; do
	# tgtd's threads share its address space: one process to read
	awk '/^VmRSS/ { print $2 }' "/proc/${PID[$s]}/status" >"$TMP/rss-idle-$s"
done

python3 - "$TMP" "$CLIENTS" $SERVERS <<'PY'
import statistics, sys
tmp, clients, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def rows(s, t):
    try:
        return [dict(kv.split('=') for kv in l.split())
                for l in open("%s/res-%s-%s" % (tmp, s, t))]
    except OSError:
        return []
def col(s, t, k):
    return [float(r[k]) for r in rows(s, t)]
def fmt(v, f="%.0f"):
    if not v: return "-"
    return (f + " (" + f + ".." + f + ")") % (statistics.median(v), min(v), max(v))
def ratio(t, k, invert=False):
    a, b = col("linkboot", t, k), col("tgtd", t, k)
    n = min(len(a), len(b))
    if not n: return "-"
    r = [(b[i] / a[i] if invert else a[i] / b[i]) if (a[i] and b[i]) else 0
         for i in range(n)]
    return "%.2fx (%.2f..%.2f)" % (statistics.median(r), min(r), max(r))
def kib(path):
    try:
        v = [int(x) for x in open(path).read().split()]
        return v
    except (OSError, ValueError):
        return []
print()
print("medians over the reps (min..max)")
print("%-9s %-24s %-22s" % ("server", "4K-rr IOPS (qd16)", "1M-seq MiB/s (qd4)"))
for s in servers:
    print("%-9s %-24s %-22s" % (s, fmt(col(s, "4k", "iops")), fmt(col(s, "1m", "mib_s"))))
print()
print("storm: %d initiators x bench/boot-trace-synthetic.txt, 4 in flight each" % clients)
print("%-9s %-22s %-22s %-22s %-22s %-8s" % ("server", "wall s", "p50 us", "p99 us",
      "max us", "failures"))
for s in servers:
    f = col(s, "storm", "failures")
    print("%-9s %-22s %-22s %-22s %-22s %-8s" % (s, fmt(col(s, "storm", "wall_s"), "%.2f"),
          fmt(col(s, "storm", "lat_p50_us")), fmt(col(s, "storm", "lat_p99_us")),
          fmt(col(s, "storm", "lat_max_us")), "%d" % sum(f) if f else "-"))
print()
print("1M-storm: %d initiators x 1 MiB sequential reads, 4 in flight each" % clients)
for s in servers:
    print("%-9s MiB/s %-22s failures %d" % (s, fmt(col(s, "1mstorm", "mib_s")),
          sum(col(s, "1mstorm", "failures"))))
print()
print("server memory, MiB: peak RSS during each run (median (min..max)), RSS 3 s after the last")
def mib(v): return [x / 1024 for x in v]
for s in servers:
    r = kib("%s/rss-idle-%s" % (tmp, s))
    print("%-9s storm %-20s 1M-storm %-22s idle %.1f" % (s,
          fmt(mib(kib("%s/hwm-storm-%s" % (tmp, s))), "%.1f"),
          fmt(mib(kib("%s/hwm-1mstorm-%s" % (tmp, s))), "%.1f"),
          r[0] / 1024 if r else 0))
print()
print("linkboot/tgtd per rep, median (min..max); goal in issue 10: >= 1.25x, >= 2x")
print("  4K random read IOPS     %s" % ratio("4k", "iops"))
print("  1M sequential MiB/s     %s" % ratio("1m", "mib_s"))
print("  storm wall time         %s  (tgtd / linkboot: > 1 = linkboot faster)" % ratio("storm", "wall_s", True))
print("  storm p99 latency       %s  (tgtd / linkboot)" % ratio("storm", "lat_p99_us", True))
print("  1M-storm MiB/s          %s" % ratio("1mstorm", "mib_s"))
PY
