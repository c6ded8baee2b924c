#!/bin/bash
# NBD read throughput: linkboot vs nbdkit (file plugin), nbd-server and
# qemu-nbd serving the same 1 GiB image read-only, measured with fio's nbd
# engine (libnbd) on loopback. Not a test: prints numbers, asserts nothing.
#
#   bench/nbd-peers.sh [SECONDS]      (default 10 s per run)
#
# Runs: 4K random read at iodepth 16, 1M sequential read at iodepth 4.
# Prints IOPS, MiB/s, linkboot/best-peer ratios, each server's peak RSS and
# CPU seconds per GiB served (process and its reaped children).
set -u
. "$(dirname "$0")/../tests/lib.sh"

RUNTIME=${1:-10}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
requires fio --version
requires nbdkit --version
requires qemu-nbd --version
requires which nbd-server
[ -x "$LINKBOOT" ] || die "build first: make"

IMG=$TMP/bench.img
echo "== making a ${SIZE_MIB} MiB image"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$IMG" || die "image"

start_linkboot
echo kernel >"$TMP/vmlinuz"; echo initrd >"$TMP/initrd"
lb image add bench "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 ||
	{ cat "$TMP/add.log"; die "linkboot image add"; }

# cpu_ticks PID: utime+stime+cutime+cstime (clock ticks)
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)

# run_fio NAME PID URI RW BS DEPTH: prints "iops mibs cpu_s_per_gib"
declare -A IOPS MIBS CPUG RSS
run_fio() {
	local name=$1 pid=$2 uri=$3 rw=$4 bs=$5 depth=$6 t0 t1 out
	out=$TMP/fio-$name-$rw.json
	t0=$(cpu_ticks "$pid")
	fio --name="$name" --ioengine=nbd --uri="$uri" --rw="$rw" --bs="$bs" \
		--iodepth="$depth" --runtime="$RUNTIME" --time_based \
		--size=$((SIZE_MIB << 20)) --output-format=json >"$out" 2>"$out.err" ||
		{ cat "$out.err" >&2; echo "0 0 0"; return; }
	sleep 0.2
	t1=$(cpu_ticks "$pid")
	python3 - "$out" "$((t1 - t0))" "$HZ" <<'PY'
import json, sys
t = open(sys.argv[1]).read()  # fio's nbd engine prints a line first
j = json.loads(t[t.index("{"):])["jobs"][0]["read"]
gib = j["io_bytes"] / 2**30
cpu = int(sys.argv[2]) / int(sys.argv[3])
print("%.0f %.0f %.2f" % (j["iops"], j["bw_bytes"] / 2**20, cpu / gib if gib else 0))
PY
}

bench_server() {
	local name=$1 pid=$2 uri=$3 r
	wait_for 10 nbdinfo "$uri" || { echo "$name: not answering at $uri"; return; }
	r=$(run_fio "$name" "$pid" "$uri" randread 4k 16)
	IOPS[$name-4k]=${r%% *}; r=${r#* }; MIBS[$name-4k]=${r%% *}; CPUG[$name-4k]=${r#* }
	r=$(run_fio "$name" "$pid" "$uri" read 1m 4)
	IOPS[$name-1m]=${r%% *}; r=${r#* }; MIBS[$name-1m]=${r%% *}; CPUG[$name-1m]=${r#* }
	RSS[$name]=$(rss_kib "$pid")
}

echo "== linkboot"
bench_server linkboot "$LB_PID" "nbd://127.0.0.1:$LB_NBD_PORT/bench"

echo "== nbdkit (file plugin)"
P=$(free_port)
nbdkit -f -r -i 127.0.0.1 -p "$P" file "$IMG" >"$TMP/nbdkit.log" 2>&1 &
pid=$!; cleanup_fn "kill $pid"
bench_server nbdkit "$pid" "nbd://127.0.0.1:$P/"
kill "$pid"; wait "$pid" 2>/dev/null

echo "== nbd-server"
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
wait_for 5 test -s "$TMP/nbd-server.pid"
pid=$(cat "$TMP/nbd-server.pid"); cleanup_fn "kill $pid"
bench_server nbd-server "$pid" "nbd://127.0.0.1:$P/bench"
kill "$pid"; wait "$pid" 2>/dev/null

echo "== qemu-nbd"
P=$(free_port)
qemu-nbd -r -f raw -x bench -b 127.0.0.1 -p "$P" -t --shared=16 "$IMG" \
	>"$TMP/qemu-nbd.log" 2>&1 &
pid=$!; cleanup_fn "kill $pid"
bench_server qemu-nbd "$pid" "nbd://127.0.0.1:$P/bench"
kill "$pid"; wait "$pid" 2>/dev/null

echo
printf "%-11s %12s %12s %12s %12s %10s %10s\n" server "4K-rr IOPS" "4K-rr MiB/s" \
	"1M-seq MiB/s" "1M IOPS" "RSS MiB" "CPU s/GiB"
for s in linkboot nbdkit nbd-server qemu-nbd; do
	printf "%-11s %12s %12s %12s %12s %10s %10s\n" "$s" "${IOPS[$s-4k]:-0}" \
		"${MIBS[$s-4k]:-0}" "${MIBS[$s-1m]:-0}" "${IOPS[$s-1m]:-0}" \
		"$(( ${RSS[$s]:-0} / 1024 ))" \
		"${CPUG[$s-4k]:-0}/${CPUG[$s-1m]:-0}"
done
best4=0 best1=0
for s in nbdkit nbd-server qemu-nbd; do
	[ "${IOPS[$s-4k]:-0}" -gt "$best4" ] && best4=${IOPS[$s-4k]}
	[ "${MIBS[$s-1m]:-0}" -gt "$best1" ] && best1=${MIBS[$s-1m]}
done
python3 -c "
b4, b1, l4, l1 = $best4, $best1, ${IOPS[linkboot-4k]:-0}, ${MIBS[linkboot-1m]:-0}
print('linkboot/best peer: 4K random read %.2fx, 1M sequential read %.2fx' %
      (l4 / b4 if b4 else 0, l1 / b1 if b1 else 0))"
echo "(CPU s/GiB: 4K run / 1M run, server process incl. reaped children)"
