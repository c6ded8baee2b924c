#!/bin/bash
# Not a test: replay a boot-like read trace against the agent's cache stack
# (agent/cache.c: RAM -> SSD file -> `linkboot serve`, every block
# verified) and against nbdkit's cache filter (cache-on-read) in front of
# the same server, one request at a time. Prints per-pass latency
# percentiles and the bytes the server sent (its own log).
#
#   bench/cache.sh [IMAGE_MIB=256] [RAM_MIB=64]
#
# Passes: agent cold (RAM+SSD empty), agent warm RAM (same process),
# agent warm SSD (new process, empty RAM), nbdkit cold, nbdkit warm.
# TRACE=FILE replays your own "OFFSET LENGTH" lines instead.
set -u
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/../tests/lib-image.sh"
requires nbdkit --version
requires curl --version
requires python3 --version

SIZE=${1:-256} RAM=${2:-64}
MAC=52:54:00:00:0b:01
cc -std=c11 -D_GNU_SOURCE -O2 -I"$TOP/include" -I"$TOP/lib" \
	-o "$TMP/cache_replay" "$TOP/bench/cache_replay.c" \
	"$TOP/build/libagent.a" "$TOP/build/liblb.a" -lblkid -lz -lsodium -lm ||
	die "build cache_replay (run make first)"

# image: GPT, one ext4 partition holding random data
mkdir -p "$TMP/root"
head -c "$(((SIZE - 40) << 20))" /dev/urandom >"$TMP/root/data.bin"
truncate -s "${SIZE}M" "$TMP/disk.img"
printf 'label: gpt\nstart=2048, type=L\n' | sfdisk -q "$TMP/disk.img" || die sfdisk
mkfs.ext4 -q -F -E offset=1048576 -d "$TMP/root" "$TMP/disk.img" \
	"$((SIZE - 2))M" || die mkfs
rm -rf "$TMP/root"
echo "fake initrd" >"$TMP/initrd.img"
start_linkboot
lb image add bench "$TMP/disk.img" --kernel "$TMP/initrd.img" --initrd "$TMP/initrd.img" >"$TMP/add.log" 2>&1 ||
	die "image add: $(cat "$TMP/add.log")"
lb client add $MAC --image bench >/dev/null || die "client add"
TOKEN=$(lb client show $MAC | grep -oE '[0-9a-f]{32}' | head -n 1)
ID=$(db "SELECT id FROM images WHERE name = 'bench'")
curl -sf "http://127.0.0.1:$LB_HTTP_PORT/boot/$ID/v1/hashes" -o "$TMP/hashes" ||
	die "GET hashes"

# a boot-like trace: runs of sequential 4-128 KiB reads (files, readahead)
# at random places, interleaved with random 4 KiB reads (metadata), some
# places read twice
if [ -z "${TRACE:-}" ]; then
	TRACE=$TMP/trace
	python3 - "$((SIZE << 20))" >"$TRACE" <<'EOF'
import random, sys
size = int(sys.argv[1]); random.seed(7); out = []
hot = [random.randrange(0, size - (8 << 20)) & ~4095 for _ in range(150)]
for base in hot:
    off = base
    for _ in range(random.randint(2, 24)):
        n = random.choice([4096, 16384, 32768, 65536, 131072])
        out.append((off, n)); off += n
    for _ in range(4):
        out.append((random.randrange(0, size - 4096) & ~4095, 4096))
for base in random.sample(hot, 30):          # re-reads
    out.append((base, 4096))
for o, n in out:
    print(o, n)
EOF
fi
echo "trace: $(wc -l <"$TRACE") reads, $(awk '{s += $2} END {print int(s / 1048576)}' "$TRACE") MiB"

served() {	# bytes the server logged for closed sessions so far
	grep -aoE '[0-9]+ bytes read' "$LB_LOG" | awk '{s += $1} END {print s + 0}'
}
run() {
	local what=$1 before after; shift
	before=$(served)
	"$TMP/cache_replay" "$@" | sed "s/^/$what /"
	sleep 0.3
	after=$(served)
	echo "$what: server sent $((after - before)) bytes"
}

truncate -s 1G "$TMP/ssd.img"
run "agent (RAM ${RAM} MiB, SSD)" -r "$RAM" -t "$TMP/hashes" -s "$TMP/ssd.img" \
	-p 2 127.0.0.1 "$LB_NBD_PORT" "$TOKEN" "$TRACE"
run "agent warm SSD, cold RAM" -r "$RAM" -t "$TMP/hashes" -s "$TMP/ssd.img" \
	-p 1 127.0.0.1 "$LB_NBD_PORT" "$TOKEN" "$TRACE"

NBDKIT_PORT=$(free_port)
TMPDIR=$TMP nbdkit -f -i 127.0.0.1 -p "$NBDKIT_PORT" --filter=cache \
	nbd hostname=127.0.0.1 port="$LB_NBD_PORT" export="$TOKEN" \
	cache-on-read=true >"$TMP/nbdkit.log" 2>&1 &
NK=$!
cleanup_fn "kill $NK 2>/dev/null"
wait_for 10 nbdinfo --size "nbd://127.0.0.1:$NBDKIT_PORT" || sleep 1
before=$(served)
"$TMP/cache_replay" -p 2 127.0.0.1 "$NBDKIT_PORT" "" "$TRACE" | sed 's/^/nbdkit cache filter /'
kill "$NK"; wait "$NK" 2>/dev/null
sleep 0.3
echo "nbdkit cache filter: server sent $(($(served) - before)) bytes"
