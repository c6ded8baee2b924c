#!/bin/bash
# Not a test: replay a boot-like read trace, one request at a time (a
# boot's dependent reads), against the agent's cache stack and against
# nbdkit's cache filter (cache-on-read) in front of the same `linkboot
# serve`. Prints per-pass latency percentiles, the blocks each layer
# served, the bytes the server sent (its own log) and the p99 ratios.
#
#   bench/cache.sh [IMAGE_MIB=256] [RAM_MIB=64]   (64: the agent's default)
#
# What one timed read is, on each side (bench/cache_replay.c plays nbd.ko):
#   agent   one NBD_CMD_READ round trip over an AF_UNIX socketpair to the
#           agent's real serve loop (agent/serve.c serve_socket(): poll,
#           cache_read -> RAM / SSD file (SHA-256 checked) / the server
#           over TCP, verified -> simple reply), in a thread of the bench
#           process. This is the path nbd.ko takes on a PC.
#   nbdkit  one NBD_CMD_READ round trip over a unix socket (nbdkit -U) to
#           nbdkit --filter=cache (cache-on-read, its cache a temp file
#           with no size limit) whose nbd plugin reaches the server over
#           TCP loopback. Also over TCP loopback (earlier runs' setup).
#   cache   (breakdown only) the agent's cache stack called in-process,
#           no NBD round trip to the agent.
# Both caches keep their data in page-cache-backed files here (the SSD
# cache file, nbdkit's temp file): no real disk latency on either side;
# the agent additionally hashes every block it takes from its SSD file.
#
# Every read's bytes are compared with the image (outside the timing).
# Passes: agent cold (RAM+SSD empty) then warm (same process: RAM, and
# SSD for what RAM cannot hold: the default trace touches ~100 MiB of
# 64 KiB blocks); agent warm SSD, cold RAM (a new process = the next
# boot); nbdkit cold then warm.
# TRACE=FILE replays your own "OFFSET LENGTH" lines instead.
# WRAP="perf record -g -o /tmp/p.data" runs the agent's replays under it;
# AGENT_ONLY=1 stops after the first agent run (cold + warm).
# PIN=A runs both sides (replay + agent thread; replay + nbdkit) on CPU A:
# a request and its reply hand over by a context switch on one core.
# PIN=A,B puts the replay ("the kernel") on CPU A and the serving side
# (the agent's serve thread; nbdkit) on CPU B: every handoff is a
# cross-CPU wakeup. Unpinned, the scheduler picks either from run to run,
# and on this 2-vCPU VM a cross-CPU wakeup (IPI to a halted vCPU) costs
# ~17 us, twice per round trip: both sides' numbers turn bimodal (agent
# warm p50 ~15 us or ~50 us). Compare like with like: pin, or run often.
#
# The last lines are p99 ratios (nbdkit's p99 / the agent's: > 1 means
# the agent is faster), like with like:
#   - warm, both holding the trace in memory: the agent with a RAM cache
#     the size of the trace's blocks, nbdkit's unbounded temp file;
#   - warm, the same memory budget: the agent's RAM_MIB + its SSD,
#     nbdkit with cache-max-size=RAM_MIB (it fetches what it evicted);
#   - the next boot: the agent's SSD survives (cold RAM), nbdkit's cache
#     does not (its first pass after a restart).
# and one that is not: the agent at RAM_MIB (its warm p99 is then an SSD
# hit, 64 KiB blocks read and SHA-256 checked) against unbounded nbdkit.
set -u
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/../tests/lib-image.sh"
requires nbdkit --version
requires curl --version
requires python3 --version

SIZE=${1:-256} RAM=${2:-64}
PINCMD=() SERVECMD=() AGENTCPU=()
if [ -n "${PIN:-}" ]; then
	PINCMD=(taskset -c "${PIN%,*}")
	SERVECMD=(taskset -c "${PIN#*,}")
	AGENTCPU=(-A "${PIN#*,}")
fi
MAC=52:54:00:00:0b:01
cc -std=c11 -D_GNU_SOURCE -O2 -I"$TOP/include" -I"$TOP/lib" \
	-o "$TMP/cache_replay" "$TOP/bench/cache_replay.c" "$TOP/bench/agent_bench.c" \
	"$TOP/build/libagent.a" "$TOP/build/liblb.a" -lblkid -lz -lsodium -lm \
	-pthread ||
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
	"${PINCMD[@]}" ${WRAP:-} "$TMP/cache_replay" "$@" | sed "s/^/$what /" |
		tee -a "$TMP/results"
	sleep 0.3
	after=$(served)
	echo "$what: server sent $((after - before)) bytes"
}
p99() {	# p99 of pass $2 of the run named $1
	grep -F "$1 pass $2:" "$TMP/results" | grep -oE 'p99 [0-9]+' | awk '{print $2}'
}
p50() {
	grep -F "$1 pass $2:" "$TMP/results" | grep -oE 'p50 [0-9]+' | awk '{print $2}'
}
ratio() {	# LABEL AGENT_US NBDKIT_US
	awk -v l="$1" -v a="$2" -v k="$3" 'BEGIN {
		printf "%s: agent %d us, nbdkit %d us = %.2fx\n", l, a, k,
		       (a > 0 ? k / a : 0) }'
}

: >"$TMP/results"
truncate -s 1G "$TMP/ssd.img"
A="agent RAM ${RAM} MiB+SSD"
run "$A" "${AGENTCPU[@]}" -r "$RAM" -t "$TMP/hashes" -s "$TMP/ssd.img" \
	-c "$TMP/disk.img" \
	-p 2 127.0.0.1 "$LB_NBD_PORT" "$TOKEN" "$TRACE"
[ -n "${AGENT_ONLY:-}" ] && exit 0
# the same with a RAM cache that holds the whole trace, as nbdkit's cache
# (a page-cached temp file without a size limit) does
FIT=$(awk '{ for (b = int($1 / 65536); b <= int(($1 + $2 - 1) / 65536); b++)
	s[b] = 1 } END { n = 0; for (b in s) n++; print int(n / 16) + 8 }' "$TRACE")
truncate -s 1G "$TMP/ssd-fit.img"
F="agent RAM ${FIT} MiB (holds the trace)"
run "$F" "${AGENTCPU[@]}" -r "$FIT" -t "$TMP/hashes" -s "$TMP/ssd-fit.img" \
	-c "$TMP/disk.img" \
	-p 2 127.0.0.1 "$LB_NBD_PORT" "$TOKEN" "$TRACE"
S="agent warm SSD, cold RAM"
run "$S" "${AGENTCPU[@]}" -r "$RAM" -t "$TMP/hashes" -s "$TMP/ssd.img" \
	-c "$TMP/disk.img" \
	-p 1 127.0.0.1 "$LB_NBD_PORT" "$TOKEN" "$TRACE"
run "cache alone (no NBD to the agent), warm SSD" -d -r "$RAM" \
	-t "$TMP/hashes" -s "$TMP/ssd.img" -p 2 127.0.0.1 "$LB_NBD_PORT" \
	"$TOKEN" "$TRACE"

nbdkit_run() {	# NAME nbdkit-listen-args... -- replay-host replay-port
	local name=$1 nk before; shift
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	TMPDIR=$TMP "${SERVECMD[@]}" nbdkit -f "${args[@]}" --filter=cache \
		nbd hostname=127.0.0.1 port="$LB_NBD_PORT" export="$TOKEN" \
		cache-on-read=true ${NK_PARAMS:-} >"$TMP/nbdkit.log" 2>&1 &
	nk=$!
	cleanup_fn "kill $nk 2>/dev/null"
	wait_for 10 nbdinfo --size "$NBDKIT_URI" || sleep 1
	before=$(served)
	"${PINCMD[@]}" "$TMP/cache_replay" -c "$TMP/disk.img" -p 2 "$1" "$2" \
		"" "$TRACE" |
		sed "s/^/$name /" |
		tee -a "$TMP/results"
	kill "$nk"; wait "$nk" 2>/dev/null
	sleep 0.3
	echo "$name: server sent $(($(served) - before)) bytes"
}
NBDKIT_URI="nbd+unix:///?socket=$TMP/nbdkit.sock"
K="nbdkit cache filter (unix)"
nbdkit_run "$K" -U "$TMP/nbdkit.sock" -- "$TMP/nbdkit.sock" 0
# nbdkit with the agent's RAM budget (cache-max-size): what it evicts it
# fetches again from the server, having no second local layer
B="nbdkit cache filter, cache-max-size=${RAM}M (unix)"
NBDKIT_URI="nbd+unix:///?socket=$TMP/nbdkit-max.sock"
NK_PARAMS="cache-max-size=${RAM}M" nbdkit_run "$B" -U "$TMP/nbdkit-max.sock" \
	-- "$TMP/nbdkit-max.sock" 0
NBDKIT_PORT=$(free_port)
NBDKIT_URI="nbd://127.0.0.1:$NBDKIT_PORT"
nbdkit_run "nbdkit cache filter (TCP)" -i 127.0.0.1 -p "$NBDKIT_PORT" -- \
	127.0.0.1 "$NBDKIT_PORT"

W=${PIN:+, PIN=$PIN}
echo "warm p50$W: agent $(p50 "$A" 2) us, nbdkit $(p50 "$K" 2) us"
# like with like: both caches hold the trace in memory; both get the same
# memory budget (the agent also has its SSD); a restart (the next boot:
# the agent's SSD survives, nbdkit's temp file does not)
ratio "warm p99, both hold the trace in memory (agent RAM ${FIT} MiB$W)" \
	"$(p99 "$F" 2)" "$(p99 "$K" 2)"
ratio "warm p99, same budget (agent RAM ${RAM} MiB+SSD, nbdkit cache-max-size ${RAM}M$W)" \
	"$(p99 "$A" 2)" "$(p99 "$B" 2)"
ratio "next-boot p99 (agent: warm SSD, cold RAM; nbdkit: restarted, cold$W)" \
	"$(p99 "$S" 1)" "$(p99 "$K" 1)"
ratio "agent warm RAM+SSD vs nbdkit warm unbounded (not like with like$W)" \
	"$(p99 "$A" 2)" "$(p99 "$K" 2)"
