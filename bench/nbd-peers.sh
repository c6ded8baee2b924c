#!/bin/bash
# NBD read throughput: linkboot vs nbdkit (file plugin), nbd-server and
# qemu-nbd serving the same image read-only, measured with fio's nbd
# engine (libnbd) on loopback. Not a test: prints numbers, asserts nothing.
#
#   bench/nbd-peers.sh [SECONDS [REPS]]   (default 10 s per run, 3 reps)
#
# Runs: 4K random read at iodepth 16 and 1M sequential read at iodepth 4.
# All four servers run at once and the runs are interleaved (rep 1 of every
# server, then rep 2, ...) so load from other processes on a shared machine
# hits them alike; the median rep is reported. Prints IOPS, MiB/s,
# linkboot/best-peer ratios, peak RSS and CPU seconds per GiB served (the
# server process plus its reaped children: nbd-server forks per client).
set -u
. "$(dirname "$0")/../tests/lib.sh"

RUNTIME=${1:-10}
REPS=${2:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
requires fio --version
requires nbdinfo --version
requires nbdkit --version
requires qemu-nbd --version
requires which nbd-server
[ -x "$LINKBOOT" ] || die "build first: make"

IMG=$TMP/bench.img
echo "== a ${SIZE_MIB} MiB image; servers"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$IMG" || die "image"

declare -A PID URI
start_linkboot
echo kernel >"$TMP/vmlinuz"; echo initrd >"$TMP/initrd"
lb image add bench "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "linkboot image add"; }
PID[linkboot]=$LB_PID URI[linkboot]=nbd://127.0.0.1:$LB_NBD_PORT/bench

P=$(free_port)
nbdkit -f -r -i 127.0.0.1 -p "$P" file "$IMG" >"$TMP/nbdkit.log" 2>&1 &
PID[nbdkit]=$! URI[nbdkit]=nbd://127.0.0.1:$P/
cleanup_fn "kill ${PID[nbdkit]}"

P=$(free_port)
cat >"$TMP/nbd-server.conf" <<CONF
[generic]
	listenaddr = 127.0.0.1
	port = $P
[bench]
	exportname = $IMG
	readonly = true
CONF
# -d would serve one connection only: let it daemonize, take its pid file
nbd-server -C "$TMP/nbd-server.conf" -p "$TMP/nbd-server.pid" \
	>"$TMP/nbd-server.log" 2>&1
wait_for 5 test -s "$TMP/nbd-server.pid" || die "nbd-server did not start"
PID[nbd-server]=$(cat "$TMP/nbd-server.pid") URI[nbd-server]=nbd://127.0.0.1:$P/bench
cleanup_fn "kill ${PID[nbd-server]}"

P=$(free_port)
qemu-nbd -r -f raw -x bench -b 127.0.0.1 -p "$P" -t --shared=16 "$IMG" \
	>"$TMP/qemu-nbd.log" 2>&1 &
PID[qemu-nbd]=$! URI[qemu-nbd]=nbd://127.0.0.1:$P/bench
cleanup_fn "kill ${PID[qemu-nbd]}"

SERVERS="linkboot nbdkit nbd-server qemu-nbd"
for s in $SERVERS; do
	wait_for 10 nbdinfo "${URI[$s]}" || die "$s: not answering at ${URI[$s]}"
	# warm the page cache for everyone the same way
	[ "$s" = linkboot ] && cat "$IMG" "$LB_STATE"/store/* >/dev/null 2>&1
done

# cpu_ticks PID: utime+stime+cutime+cstime (clock ticks)
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run SERVER TEST RW BS DEPTH REP: one fio run, appends "iops bw_bytes
# io_bytes cpu_ticks" to $TMP/res-SERVER-TEST
run() {
	local s=$1 t=$2 out=$TMP/fio-$1-$2-$6.json t0 t1
	t0=$(cpu_ticks "${PID[$s]}")
	fio --name="$s" --ioengine=nbd --uri="${URI[$s]}" --rw="$3" --bs="$4" \
		--iodepth="$5" --runtime="$RUNTIME" --time_based \
		--size=$((SIZE_MIB << 20)) --output-format=json >"$out" 2>&1 ||
		{ echo "$s $t: fio failed" >&2; return; }
	sleep 0.2
	t1=$(cpu_ticks "${PID[$s]}")
	python3 - "$out" "$((t1 - t0))" >>"$TMP/res-$s-$t" <<'PY'
import json, sys
t = open(sys.argv[1]).read()   # fio's nbd engine prints a line first
r = json.loads(t[t.index("{"):])["jobs"][0]["read"]
print(r["iops"], r["bw_bytes"], r["io_bytes"], sys.argv[2])
PY
}

for ((rep = 1; rep <= REPS; rep++)); do
	for s in $SERVERS; do
		echo "== rep $rep/$REPS: $s"
		run "$s" 4k randread 4k 16 "$rep"
		run "$s" 1m read 1m 4 "$rep"
	done
done
for s in $SERVERS; do
	awk '/^VmHWM/ { print $2 }' "/proc/${PID[$s]}/status" >"$TMP/rss-$s"
done

python3 - "$TMP" "$HZ" $SERVERS <<'PY'
import statistics, sys
tmp, hz, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def load(s, t):
    try:
        rows = [list(map(float, l.split())) for l in open("%s/res-%s-%s" % (tmp, s, t))]
    except OSError:
        return 0, 0, 0
    iops = statistics.median(r[0] for r in rows)
    mib = statistics.median(r[1] for r in rows) / 2**20
    gib = sum(r[2] for r in rows) / 2**30
    cpu = sum(r[3] for r in rows) / hz
    return iops, mib, cpu / gib if gib else 0
res = {s: (load(s, "4k"), load(s, "1m")) for s in servers}
print()
print("%-11s %11s %11s %12s %8s %8s %14s" % ("server", "4K-rr IOPS", "4K-rr MiB/s",
      "1M-seq MiB/s", "1M IOPS", "RSS MiB", "CPU s/GiB 4K/1M"))
for s in servers:
    (i4, m4, c4), (i1, m1, c1) = res[s]
    try:
        rss = int(open("%s/rss-%s" % (tmp, s)).read().strip() or 0) / 1024
    except (OSError, ValueError):
        rss = 0
    print("%-11s %11.0f %11.0f %12.0f %8.0f %8.1f %9.2f/%.2f" % (s, i4, m4, m1, i1, rss, c4, c1))
peers = [s for s in servers if s != "linkboot"]
b4 = max(res[s][0][0] for s in peers)
b1 = max(res[s][1][1] for s in peers)
l4, l1 = res["linkboot"][0][0], res["linkboot"][1][1]
print("linkboot/best peer: 4K random read %.2fx (best peer %.0f IOPS), "
      "1M sequential read %.2fx (best peer %.0f MiB/s)" %
      (l4 / b4 if b4 else 0, b4, l1 / b1 if b1 else 0, b1))
print("(medians of the reps; CPU includes reaped children)")
PY
