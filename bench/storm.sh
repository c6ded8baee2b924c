#!/bin/bash
# NBD boot storm: N PCs switched on together, each replaying a boot's read
# trace (bench/boot-trace-synthetic.txt, 1512 reads, 39 MiB), against
# linkboot, nbdkit (file plugin) and qemu-nbd serving the same image
# read-only, in one run. Not a test: prints numbers, asserts nothing.
#
#   bench/storm.sh [CLIENTS_LIST [REPS]]   (default "1 50 200", 3 reps)
#   STORM_CLIENT=agent: the PCs run the agent's own client and cache code
#   PLOT=FILE.png: wall time, READ p99 and peak RSS against N (gnuplot)
#   STORM_LATLOG=DIR: every READ's issue time and latency, per run, in DIR
#   (bench/lat_timeline.py DIR/linkboot-N200-rep1.lat: where the tail is)
#   (make bench-storm builds bench/nbd_storm.c and runs this)
#
# Load: bench/nbd_storm.c (libnbd's async API, one process, 4 READs in
# flight per client: a boot is a chain of reads). Servers run one at a
# time per rep, interleaved (rep 1 of each, then rep 2), the image and
# linkboot's store file in the page cache for all (read once before);
# BENCH_COLD=1 drops the page cache before each run instead (a cold
# server; needs root). Per run: wall time (first connect to last READ),
# READ latency p50/p99/max, per-PC boot p99, failures, the server's peak
# RSS (VmHWM, reset before the run) and CPU seconds (utime+stime delta).
# The median rep and its min..max are printed; ratios are the best peer
# / linkboot per rep (> 1: linkboot better). Saved: bench/results/.
set -u
. "$(dirname "$0")/../tests/lib.sh"

CLIENTS_LIST=${1:-1 50 200}
REPS=${2:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-512}
TRACE=${BENCH_TRACE:-$TOP/bench/boot-trace-synthetic.txt}
STORM=${NBD_STORM:-$TOP/build/bench/nbd_storm}
requires nbdkit --version
requires qemu-nbd --version
[ -x "$LINKBOOT" ] || die "build first: make"
[ -x "$STORM" ] || die "build first: make build/bench/nbd_storm"
[ -r "$TRACE" ] || die "no trace $TRACE"
need=$(sed -n 's/.*needs an image of >= \([0-9]*\) MiB.*/\1/p' "$TRACE")
[ "${need:-0}" -le "$SIZE_MIB" ] || die "the trace needs a ${need} MiB image"
ulimit -n 8192 2>/dev/null || true

IMG=$TMP/bench.img
echo "== a ${SIZE_MIB} MiB image; servers"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$IMG" || die "image"

declare -A PID URI
# every bench PC comes from 127.0.0.1: lift the per-address cap (16)
start_linkboot --nbd-max-per-ip 0 --nbd-max-conns 2048
echo kernel >"$TMP/vmlinuz"; echo initrd >"$TMP/initrd"
lb image add bench "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "linkboot image add"; }
PID[linkboot]=$LB_PID URI[linkboot]=nbd://127.0.0.1:$LB_NBD_PORT/bench

P=$(free_port)
nbdkit -f -r -i 127.0.0.1 -p "$P" file "$IMG" >"$TMP/nbdkit.log" 2>&1 &
PID[nbdkit]=$! URI[nbdkit]=nbd://127.0.0.1:$P/
cleanup_fn "kill ${PID[nbdkit]}; wait ${PID[nbdkit]}"

P=$(free_port)
# -e: clients at once (its default is 1)
qemu-nbd -r -t -x bench -b 127.0.0.1 -p "$P" -e 2000 -f raw "$IMG" \
	>"$TMP/qemu-nbd.log" 2>&1 &
PID[qemu-nbd]=$! URI[qemu-nbd]=nbd://127.0.0.1:$P/bench
cleanup_fn "kill ${PID[qemu-nbd]}; wait ${PID[qemu-nbd]}"

# STORM_SERVERS="linkboot": a quick look at one server (no ratios then)
SERVERS=${STORM_SERVERS:-linkboot nbdkit qemu-nbd}
warm() {
	if [ "${BENCH_COLD:-0}" = 1 ]; then
		sync; echo 3 >/proc/sys/vm/drop_caches
	else
		cat "$IMG" "$LB_STATE"/store/* >/dev/null 2>&1
	fi
}
for s in $SERVERS; do
	wait_for 10 "$STORM" -u "${URI[$s]}" -f "$TRACE" -c 1 >/dev/null 2>&1 ||
		die "$s: no answer at ${URI[$s]}"
done

# STORM_CLIENT=agent: the PCs are agents (bench/agent_storm.c: the agent's
# NBD client, RAM cache and block verification against the version's
# hash table, one serve thread per PC) instead of libnbd clients. The
# agents hash every block on this machine's 2 cores too, so the load
# generator takes CPU from the server under test: every server loses by
# it, and wall times are not comparable with nbd_storm's.
AGENT_STORM=${AGENT_STORM:-$TOP/build/bench/agent_storm}
HASHES=$(ls "$LB_STATE"/boot/*/v1/hashes 2>/dev/null | head -n 1)
if [ "${STORM_CLIENT:-nbd}" = agent ]; then
	[ -x "$AGENT_STORM" ] || die "build first: make build/bench/agent_storm"
	[ -n "$HASHES" ] || die "no hash table for the image"
fi
storm_client() {	# SERVER N REP
	local u=${URI[$1]#nbd://}
	if [ "${STORM_CLIENT:-nbd}" = agent ]; then
		"$AGENT_STORM" -s "${u%%/*}" -e "${u#*/}" -f "$TRACE" -c "$2" -q 4 \
			-t "$HASHES"
	else
		"$STORM" -u "${URI[$1]}" -f "$TRACE" -c "$2" -q 4 \
			${STORM_LATLOG:+-l "$STORM_LATLOG/$1-N$2-rep$3.lat"}
	fi
}

cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
# run SERVER N REP: one storm, its line to res-SERVER-N
run() {
	local s=$1 n=$2 rep=$3 out c0 c1
	out=$TMP/storm-$s-$n-$rep
	warm
	echo 5 >"/proc/${PID[$s]}/clear_refs"	# proc(5): reset VmHWM
	c0=$(cpu_ticks "${PID[$s]}")
	storm_client "$s" "$n" "$rep" >"$out" 2>"$out.err"
	c1=$(cpu_ticks "${PID[$s]}")
	[ -s "$out" ] || { echo "$s N=$n: no result: $(head -3 "$out.err")" >&2; return; }
	printf '%s hwm_kib=%s cpu_s=%s\n' "$(cat "$out")" \
		"$(awk '/^VmHWM/ { print $2 }' "/proc/${PID[$s]}/status")" \
		"$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')" \
		>>"$TMP/res-$s-$n"
	echo "$s N=$n rep $rep: $(tail -n 1 "$TMP/res-$s-$n")"
}

for n in $CLIENTS_LIST; do
	for ((rep = 1; rep <= REPS; rep++)); do
		for s in $SERVERS; do
			run "$s" "$n" "$rep"
			sleep 1
		done
	done
done

TRACE_NAME=${TRACE#"$TOP"/} python3 - "$TMP" "$CLIENTS_LIST" $SERVERS <<'PY'
import os, statistics, sys
tmp, ns, servers = sys.argv[1], [int(x) for x in sys.argv[2].split()], sys.argv[3:]
def rows(s, n):
    try:
        return [dict(kv.split('=') for kv in l.split())
                for l in open("%s/res-%s-%d" % (tmp, s, n))]
    except OSError:
        return []
def col(s, n, k): return [float(r[k]) for r in rows(s, n)]
def fmt(v, f="%.0f"):
    if not v: return "-"
    return (f + " (" + f + ".." + f + ")") % (statistics.median(v), min(v), max(v))
def ratio(n, k):
    """best peer / linkboot per rep (lower is better for k)"""
    a = col("linkboot", n, k)
    peers = [col(s, n, k) for s in servers if s != "linkboot"]
    if not peers: return "- (no peer in STORM_SERVERS)"
    m = min([len(a)] + [len(p) for p in peers])
    if not m: return "-"
    r = []
    for i in range(m):
        best = min(p[i] for p in peers)
        r.append(best / a[i] if a[i] else 0)
    return "%.2fx (%.2f..%.2f)" % (statistics.median(r), min(r), max(r))
print()
print("medians over the reps (min..max); trace %s, 4 READs in flight per PC, "
      "clients: %s" % (os.environ.get("TRACE_NAME", "?"),
      "agents (agent_storm)" if os.environ.get("STORM_CLIENT") == "agent" else "libnbd (nbd_storm)"))
for n in ns:
    print()
    print("N=%d PCs" % n)
    print("%-9s %-22s %-22s %-22s %-22s %-18s %-16s %s" % ("server", "wall s",
          "READ p50 us", "READ p99 us", "PC boot p99 s", "peak RSS MiB",
          "CPU s", "failures"))
    for s in servers:
        f = col(s, n, "failures")
        print("%-9s %-22s %-22s %-22s %-22s %-18s %-16s %s" % (s,
              fmt(col(s, n, "wall_s"), "%.2f"), fmt(col(s, n, "lat_p50_us")),
              fmt(col(s, n, "lat_p99_us")), fmt(col(s, n, "boot_p99_s"), "%.2f"),
              fmt([x / 1024 for x in col(s, n, "hwm_kib")], "%.1f"),
              fmt(col(s, n, "cpu_s"), "%.2f"), "%d" % sum(f) if f else "-"))
    print("  best peer / linkboot: wall %s, READ p99 %s, PC boot p99 %s" % (
          ratio(n, "wall_s"), ratio(n, "lat_p99_us"), ratio(n, "boot_p99_s")))
# for the plot: one file per server, "N wall min max p99_ms min max rss"
for s in servers:
    with open("%s/plot-%s.dat" % (tmp, s), "w") as f:
        for n in ns:
            w, p = col(s, n, "wall_s"), [x / 1e3 for x in col(s, n, "lat_p99_us")]
            r = [x / 1024 for x in col(s, n, "hwm_kib")]
            if w:
                f.write("%d %g %g %g %g %g %g %g\n" % (n, statistics.median(w), min(w),
                        max(w), statistics.median(p), min(p), max(p), statistics.median(r)))
PY

# PLOT=FILE.png (gnuplot): wall time, READ p99 and peak RSS against N,
# medians with min..max bars, one line per server
if [ -n "${PLOT:-}" ]; then
	if ! command -v gnuplot >/dev/null; then
		echo "no plot: gnuplot missing (apt-get install gnuplot-nox)"
	else
		plots=() p99=() rss=()
		for s in $SERVERS; do
			plots+=("'$TMP/plot-$s.dat' using 1:2:3:4 with yerrorlines title '$s'")
			p99+=("'$TMP/plot-$s.dat' using 1:5:6:7 with yerrorlines title '$s'")
			rss+=("'$TMP/plot-$s.dat' using 1:8 with linespoints title '$s'")
		done
		join() { local IFS=,; echo "$*"; }
		gnuplot <<EOG || echo "gnuplot failed"
set terminal png size 1500,450
set output '$PLOT'
set multiplot layout 1,3 title "NBD boot storm: $(basename "$TRACE"), ${STORM_CLIENT:-nbd} clients, medians of $REPS reps (bars: min..max)"
set xlabel 'PCs booting at once'
set logscale x
set key top left
set ylabel 'wall time, s (lower is better)'
plot $(join "${plots[@]}")
set ylabel 'READ p99, ms'
plot $(join "${p99[@]}")
set ylabel 'server peak RSS, MiB'
plot $(join "${rss[@]}")
unset multiplot
EOG
		[ -s "$PLOT" ] && echo "plot: $PLOT"
	fi
fi
