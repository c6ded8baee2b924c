#!/bin/bash
# Bench (not a test): TFTP and HTTP download throughput of linkboot against
# dnsmasq's TFTP and busybox httpd, in one run, on loopback inside a private
# network namespace (dnsmasq's TFTP only listens on port 69).
#
#   bench/tftp-http.sh [SIZE_MIB] [RUNS]
#
# Prints MiB/s per server and client (best of RUNS, runs interleaved) and
# linkboot/peer ratios; 0 means the download failed or differed.
# TFTP clients: curl --tftp-blksize 1432 (iPXE's block size; tftp-hpa's
# client cannot ask for a block size) and tftp-hpa at 512. linkboot's HTTP is
# measured when its server answers on --http-port, else reported absent.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
LINKBOOT=${LINKBOOT:-$TOP/build/linkboot}
SIZE_MIB=${1:-64}
RUNS=${2:-3}

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespace, port 69)" >&2; exit 1; }
for c in curl dnsmasq busybox ip; do
	command -v "$c" >/dev/null || { echo "bench: needs $c (scripts/deps.sh)" >&2; exit 1; }
done
[ -x "$LINKBOOT" ] || { echo "bench: build first (make)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/lbbench.XXXXXX)
chmod 755 "$TMP"
NS=lbbench$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || exit 1
ip netns exec "$NS" ip link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

mkdir -p "$TMP/root" "$TMP/state"
chmod 755 "$TMP/root"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$TMP/root/big.bin"
chmod 644 "$TMP/root/big.bin"

LB_TFTP=6969 LB_HTTP=8080 BB_HTTP=8081
# started with ip netns exec directly (not through a function) so that $!
# is the server itself (ip execs it) and cleanup can kill it
ip netns exec "$NS" "$LINKBOOT" serve --state "$TMP/state" --listen 127.0.0.1 --dhcp off \
	--tftp-port $LB_TFTP --http-port $LB_HTTP --nbd-port 0 --iscsi-port 0 \
	--root "$TMP/root" >"$TMP/linkboot.log" 2>&1 &
pids+=($!)
ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
	--listen-address=127.0.0.1 --bind-interfaces --user=root \
	--enable-tftp --tftp-root="$TMP/root" --quiet-tftp \
	--pid-file="$TMP/dnsmasq.pid" >"$TMP/dnsmasq.log" 2>&1 &
pids+=($!)
ip netns exec "$NS" busybox httpd -f -p 127.0.0.1:$BB_HTTP -h "$TMP/root" &
pids+=($!)
sleep 1
grep -q 'serving at' "$TMP/linkboot.log" || { cat "$TMP/linkboot.log"; exit 1; }

# one timed download: once CMD... (CMD writes $TMP/out); prints MiB/s
once() {
	local t0 t1
	rm -f "$TMP/out"
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo 0; return; }
	t1=$(date +%s%N)
	cmp -s "$TMP/out" "$TMP/root/big.bin" || { echo 0; return; }
	awk -v b=$((SIZE_MIB * 1024 * 1024)) -v ns=$((t1 - t0)) \
		'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }'
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 > a + 0) ? b : a }'; }
# pair A... -- B...: RUNS rounds, A then B each round (so load drift on this
# shared machine hits both alike); prints "bestA bestB"
pair() {
	local a=() b=() i ba=0 bb=0
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	for ((i = 0; i < RUNS; i++)); do
		ba=$(best "$ba" "$(once "${a[@]}")")
		bb=$(best "$bb" "$(once "${b[@]}")")
	done
	echo "$ba $bb"
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "n/a" }'
}
# each download bounded in time
run_ns() { timeout 300 ip netns exec "$NS" "$@"; }
curl_tftp() { run_ns curl -sS --tftp-blksize "$2" "tftp://127.0.0.1:$1/big.bin" -o "$TMP/out"; }
hpa_tftp() { run_ns tftp -m binary 127.0.0.1 "$1" -c get big.bin "$TMP/out"; }
curl_http() { run_ns curl -sS "http://127.0.0.1:$1/big.bin" -o "$TMP/out"; }

echo "bench: $SIZE_MIB MiB file, best of $RUNS, loopback in netns $NS, $(nproc) CPUs"
read -r lb1432 dq1432 < <(pair curl_tftp $LB_TFTP 1432 -- curl_tftp 69 1432)
read -r lb512 dq512 < <(pair hpa_tftp $LB_TFTP -- hpa_tftp 69)
printf '%-44s %10s MiB/s\n' "linkboot TFTP (curl, blksize 1432)" "$lb1432" \
	"dnsmasq  TFTP (curl, blksize 1432)" "$dq1432" \
	"linkboot TFTP (tftp-hpa, 512)" "$lb512" \
	"dnsmasq  TFTP (tftp-hpa, 512)" "$dq512"
printf '%-44s %10s\n' "ratio linkboot/dnsmasq TFTP 1432" "$(ratio "$lb1432" "$dq1432")" \
	"ratio linkboot/dnsmasq TFTP 512" "$(ratio "$lb512" "$dq512")"

if in_ns curl -s -o /dev/null -m 2 "http://127.0.0.1:$LB_HTTP/"; then
	read -r lbh bb < <(pair curl_http $LB_HTTP -- curl_http $BB_HTTP)
else
	read -r lbh bb < <(pair true -- curl_http $BB_HTTP)
	lbh="absent"
fi
printf '%-44s %10s MiB/s\n' "linkboot HTTP (curl)" "$lbh" "busybox httpd (curl)" "$bb"
printf '%-44s %10s\n' "ratio linkboot/busybox HTTP" "$(ratio "$lbh" "$bb")"
