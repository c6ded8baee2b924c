#!/bin/bash
# e2e: the block write overlay's tiers (agent/woverlay.c). A QEMU PC linked
# with --write server (overlay not kept) boots through the agent with a
# 4 MiB RAM tier (client --overlay 4 -> linkboot.overlay=4) and a 14 MiB cache disk
# (PARTLABEL linkboot-cache); the server caps its overlay at 8 MiB
# (--overlay-max 8). The guest writes 3 MiB (RAM), then 10 MiB (RAM fills,
# the cache partition takes the rest), then 24 MiB: the partition fills,
# the server takes what it can, then answers ENOSPC. Asserted:
#   - the writer gets an error and the console says the overlay is full;
#   - nothing written before is lost: both earlier files read back with
#     the right md5 after the page cache is dropped;
#   - the agent's counters show every tier in use; the cache disk holds
#     overlay pages, not the SSD read cache's superblock;
#   - `linkboot status -j` shows the PC's overlay use;
#   - the serving process killed with SIGKILL after the first two files:
#     its replacement finds every page (the overlay's memory is a memfd
#     the supervisor holds), both files read back right.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
requires curl --version
requires jq --version

AGENT_INIT='$B grep -q "^/dev/nbd0p1 / ext4 rw" /proc/mounts && echo "LBE2E: root rw on nbd"
w() {	# w NAME MiB: write NAME, sync, print its md5
	$B dd if=/dev/urandom of=/root/$1 bs=1M count=$2 conv=fsync 2>/dev/null
	echo "LBE2E: $1 rc=$? md5 $($B md5sum </root/$1)"
}
w a.bin 3
w b.bin 10
# crash the serving process (the newest @linkboot-agent): its successor
# must find the overlay (memfd + partition) as it was
'"$GUEST_FIND_DAEMON"'
$B kill -9 "$victim" && echo "LBE2E: killed the disk daemon $victim"
$B sleep 3
echo 3 >/proc/sys/vm/drop_caches
echo "LBE2E: replaced a.bin md5 $($B md5sum </root/a.bin)"
echo "LBE2E: replaced b.bin md5 $($B md5sum </root/b.bin)"
w c.bin 24
$B sync
echo 3 >/proc/sys/vm/drop_caches
echo "LBE2E: again a.bin md5 $($B md5sum </root/a.bin)"
echo "LBE2E: again b.bin md5 $($B md5sum </root/b.bin)"
'"$GUEST_REPORT_DONE"

IMG=$TMP/disk.img
agent_demo_image "$IMG"
agent_minimal_initramfs

# the cache disk: 14 MiB partition "linkboot-cache", with a stale SSD
# read-cache superblock the overlay must wipe
SSD=$TMP/ssd.img
agent_cache_disk "$SSD" 16 14
printf 'LBSSDC01' | dd of="$SSD" bs=512 seek=2048 conv=notrunc status=none

agent_netns
LB_SERVE_ARGS="--overlay-max 8"
agent_linkboot_start
lb client add "$AGENT_MAC" --image demo --write server --ssd-cache auto \
	--overlay 4 >/dev/null ||
	die "client add"
ARGS=$(agent_bootscript_args "$AGENT_MAC")
case $ARGS in *linkboot.keep=*) die "keep off, but the boot script says keep: $ARGS" ;; esac
case $ARGS in *linkboot.overlay=4*) ;; *) die "no linkboot.overlay=4 from client --overlay 4: $ARGS" ;; esac
agent_qemu_start -drive file="$SSD",if=virtio,format=raw \
	-append "console=ttyS0 loglevel=4 panic=-1 $ARGS"

agent_wait_console 200 'LBE2E: DONE' || {
	tail -n 40 "$CONSOLE"
	die "guest did not finish"
}
wait "$QEMU_PID" 2>/dev/null
grep -aE 'LBE2E|overlay' "$CONSOLE"

assert_contains "$CONSOLE" 'LBE2E: root rw on nbd' "root mounted rw"
assert_contains "$CONSOLE" 'overlay: block writes go to RAM \(4 MiB\), then the cache partition, then the server' \
	"the agent set up RAM -> partition -> server"
A=$(grep -aoE 'LBE2E: a.bin rc=0 md5 [0-9a-f]+' "$CONSOLE" | awk '{print $NF}')
B=$(grep -aoE 'LBE2E: b.bin rc=0 md5 [0-9a-f]+' "$CONSOLE" | awk '{print $NF}')
[ -n "$A" ] && [ -n "$B" ] || die "the first two writes (13 MiB) failed"
grep -aqE 'LBE2E: c.bin rc=0 ' "$CONSOLE" &&
	die "24 MiB more fit into 4 + 13 + 8 MiB of overlay? (no full error)"
assert_contains "$CONSOLE" 'LBE2E: killed the disk daemon' "the serving process was killed"
assert_contains "$CONSOLE" 'disk daemon died \(signal 9\)' "the supervisor replaced it"
assert_contains "$CONSOLE" "LBE2E: replaced a.bin md5 $A" "a.bin intact after the daemon was replaced (RAM tier in the memfd)"
assert_contains "$CONSOLE" "LBE2E: replaced b.bin md5 $B" "b.bin intact after the daemon was replaced (partition tier)"
assert_contains "$CONSOLE" 'WRITE OVERLAY FULL' "console message when every tier is full"
assert_contains "$CONSOLE" "LBE2E: again a.bin md5 $A" "a.bin intact after the overlay filled (RAM tier)"
assert_contains "$CONSOLE" "LBE2E: again b.bin md5 $B" "b.bin intact after the overlay filled (RAM + partition tiers)"
STATS=$(grep -aoE 'overlay: RAM [0-9]+ of [0-9]+ MiB, cache partition [0-9]+ of [0-9]+ MiB, [0-9]+ MiB sent to the server' \
	"$CONSOLE" | tail -n 1)
echo "agent: $STATS"
read -r RAM_USED PART_USED SRV <<<"$(echo "$STATS" |
	sed -E 's/.*RAM ([0-9]+) of [0-9]+ MiB, cache partition ([0-9]+) of [0-9]+ MiB, ([0-9]+) MiB.*/\1 \2 \3/')"
[ "${RAM_USED:-0}" -ge 4 ] || die "RAM tier not full: $STATS"
[ "${PART_USED:-0}" -ge 12 ] || die "partition tier not full: $STATS"
[ "${SRV:-0}" -ge 1 ] || die "nothing went to the server tier: $STATS"

# the cache disk: no SSD read-cache superblock, overlay pages at +1 MiB
MAGIC=$(dd if="$SSD" bs=512 skip=2048 count=1 status=none | head -c 8 | tr -d '\0')
[ -z "$MAGIC" ] || die "the SSD read-cache superblock is still there: $MAGIC"
NZ=$(dd if="$SSD" bs=1M skip=2 count=8 status=none | tr -d '\0' | head -c 1M | wc -c)
[ "$NZ" -gt 100000 ] || die "no overlay pages on the cache partition ($NZ bytes)"

J=$(lb status -j) || die "linkboot status -j"
OV=$(echo "$J" | jq -r --arg m "$AGENT_MAC" \
	'[.. | objects | select(.mac? == $m) | .overlay_bytes?] | map(select(. != null)) | first // 0')
echo "status: overlay_bytes=$OV"
[ "${OV:-0}" -gt $((16 << 20)) ] || die "status shows no overlay use: $OV"
echo "PASS: overlay tiers RAM -> partition -> server, full = ENOSPC + message, nothing lost"
