#!/bin/bash
# The agent's persistent SSD cache survives being killed mid-write (power
# cut, kill -9): after each SIGKILL of a writer that fills a small cache
# round and round, the next start opens the same cache without formatting
# it, keeps blocks (hits), and returns no block whose content differs from
# what its key says; bytes flipped in the data area are caught and dropped.
. "$(dirname "$0")/lib.sh"
TOOL=$TOP/build/tests/tools/ssdcache_tool
[ -x "$TOOL" ] || die "missing $TOOL (make)"

DEV=$TMP/cache.img
truncate -s 16M "$DEV"		# ~250 blocks of 64 KiB: the ring wraps
BLOCKS=2000

for round in 1 2 3; do
	"$TOOL" write "$DEV" "$BLOCKS" >"$TMP/w$round" 2>&1 &
	W=$!
	# kill it after a varying number of puts (bounded wait)
	want=$((100 * round + RANDOM % 50))
	for ((i = 0; i < 200; i++)); do
		n=$(tail -n 1 "$TMP/w$round" | awk '{print $2}')
		[ -n "$n" ] && [ "$n" -ge "$want" ] && break
		sleep 0.05
	done
	kill -9 "$W" 2>/dev/null
	wait "$W" 2>/dev/null
	last=$(tail -n 1 "$TMP/w$round" | awk '{print $2}')
	[ -n "$last" ] || die "round $round: the writer wrote nothing"
	"$TOOL" check "$DEV" "$BLOCKS" >"$TMP/c$round" 2>&1 ||
		{ cat "$TMP/c$round"; die "round $round: cache not usable or wrong data after kill -9 at block $last"; }
	hits=$(sed -n 's/.*hits=\([0-9]*\).*/\1/p' "$TMP/c$round")
	[ "${hits:-0}" -gt 0 ] || die "round $round: the cache lost everything (reformatted?)"
	echo "round $round: killed after block $last; reopened: $(cat "$TMP/c$round")"
done

# flip bytes in the data area (torn or rotten blocks): detected, never returned
python3 - "$DEV" <<'PY'
import sys
f = open(sys.argv[1], "r+b")
for off in range(1 << 20, 16 << 20, 1 << 20):
    f.seek(off + 4096)
    b = f.read(1)
    f.seek(off + 4096)
    f.write(bytes([b[0] ^ 0xff]))
PY
"$TOOL" check "$DEV" "$BLOCKS" >"$TMP/flip" 2>&1 ||
	{ cat "$TMP/flip"; die "wrong data returned after bytes were flipped"; }
assert_contains "$TMP/flip" 'corrupt=[1-9]' "flipped blocks were detected"
echo "flipped: $(cat "$TMP/flip")"
