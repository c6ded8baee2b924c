#!/bin/bash
# Not a test: GET throughput of `linkboot serve` vs busybox httpd for one
# large file on loopback with curl, files in /dev/shm. Prints MiB/s and the
# ratio. Usage: bench/http-busybox.sh [SIZE_MIB=1024] [ROUNDS=3]
set -eu
cd "$(dirname "$0")/.."
. tests/lib.sh
SIZE=${1:-1024} ROUNDS=${2:-3}
command -v busybox >/dev/null || skip "no busybox"
D=$(mktemp -d /dev/shm/lbbench.XXXXXX)
cleanup_fn rm -rf "$D"
head -c "$((SIZE << 20))" /dev/zero >"$D/big.bin"
start_linkboot --root "$D"
BB_PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$BB_PORT" -h "$D" &
BB_PID=$!
cleanup_fn "kill $BB_PID"
sleep 0.3
speed() { curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$1/big.bin"; }
lb=0 bb=0
for ((i = 0; i < ROUNDS; i++)); do
	a=$(speed "$LB_HTTP_PORT"); b=$(speed "$BB_PORT")
	printf 'round %d: linkboot %.0f MiB/s  busybox %.0f MiB/s\n' "$i" \
		"$(echo "$a / 1048576" | bc -l)" "$(echo "$b / 1048576" | bc -l)"
	lb=$(echo "$lb + $a" | bc -l); bb=$(echo "$bb + $b" | bc -l)
done
printf 'mean: linkboot %.0f MiB/s, busybox %.0f MiB/s, ratio %.2fx\n' \
	"$(echo "$lb / $ROUNDS / 1048576" | bc -l)" "$(echo "$bb / $ROUNDS / 1048576" | bc -l)" \
	"$(echo "$lb / $bb" | bc -l)"
