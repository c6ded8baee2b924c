#!/bin/bash
# e2e: the client cache with a persistent SSD cache disk. A QEMU PC (TCG,
# Debian kernel) boots through the agent from `linkboot serve` (NBD token
# export + HTTP block-hash table) twice with the same cache disk (a raw
# file with a GPT partition named linkboot-cache):
#   boot 1 (cold): everything comes from the server, the SSD fills;
#   between the boots one SSD block that holds /data.bin bytes is
#       corrupted in the cache file;
#   boot 2 (warm): pulls <= 5% of boot 1's NBD bytes from the server, the
#       corrupted block fails verification and is refetched (the guest's
#       md5 of /data.bin still matches); the boot pack the server built
#       from boot 1's trace is skipped (the SSD holds all its blocks);
#   boot 2b (warm SSD, after `image pack --retrace`): the server traces
#       it; the agent reads past its SSD meanwhile, so the new pack holds
#       every block the boot reads, not only those the SSD lacked;
#   boot 3 (no SSD, 64 MiB RAM): the boot pack is streamed into RAM and
#       the boot reads nothing over NBD (the pack holds every block it
#       reads, all-zero blocks are never fetched);
#   boot 4 (linkboot.ssd=auto): a blank disk gets a GPT partition
#       linkboot-cache, a disk with a file system is not touched; the
#       pack fills that cold SSD and again nothing is read over NBD.
# The server's own NBD byte counters (its log, at stop) are the measure.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
requires python3 --version
requires curl --version

AGENT_INIT='echo "LBE2E: md5 $($B md5sum /data.bin)"
# the agent reports its counters now (SIGUSR1), then we stop
'"$GUEST_REPORT_DONE"

IMG=$TMP/disk.img
agent_demo_image "$IMG"
agent_minimal_initramfs

LB_STATE=$TMP/state
lb image add demo "$IMG" --kernel "$VMLINUZ" --initrd "$INITRD" \
	>"$TMP/add.log" 2>&1 || die "image add: $(cat "$TMP/add.log")"
lb client add "$AGENT_MAC" --image demo --ram-cache 4 --ssd-cache auto \
	--write ram >/dev/null || die "client add"

# the SSD cache disk: 48 MiB partition "linkboot-cache", left blank
SSD=$TMP/ssd.img
agent_cache_disk "$SSD" 64 48

agent_netns
# a log per boot: its NBD byte counters (logged at a clean stop)
serve_start() { agent_linkboot_serve "$TMP/serve$1.log"; }
serve_stop() {
	kill "$LB_PID" 2>/dev/null
	wait "$LB_PID" 2>/dev/null
}
# the server's NBD bytes read for this boot's sessions (logged at close)
nbd_bytes() {
	grep -aoE 'closed in transmission phase: [^(]*\([0-9]+ requests, [0-9]+ bytes read' \
		"$TMP/serve$1.log" | grep -oE '[0-9]+ bytes read' |
		awk '{ s += $1 } END { print s + 0 }'
}

# the boot script's cache arguments, and a fresh ticket for each boot
script_args() {
	agent_bootscript_args "$AGENT_MAC" |
		grep -oE 'linkboot\.(ticket|hashes|write|ram|ssd)=[^ ]+' | tr '\n' ' '
}
serve_start 1
ARGS=$(script_args)
case $ARGS in *linkboot.hashes=*) ;; *) die "boot script has no linkboot.hashes: $ARGS" ;; esac
echo "cmdline from the boot script: $ARGS"

boot() {
	local n=$1 extra=$2
	shift 2
	[ "$n" = 1 ] || ARGS=$(script_args)
	QEMU_TIMEOUT=200 agent_qemu_start "$@" \
		-append "console=ttyS0 loglevel=4 panic=-1 \
linkboot.server=$SERVER_IP linkboot.mac=$AGENT_MAC \
linkboot.ip=$AGENT_IP linkboot.netmask=255.255.255.0 \
linkboot.http=http://$SERVER_IP:8080 linkboot.root=LABEL=lbroot \
linkboot.reconnect=30 $ARGS $extra"
	agent_wait_console 180 'LBE2E: DONE' || {
		tail -n 40 "$CONSOLE"
		die "boot $n did not finish"
	}
	wait "$QEMU_PID" 2>/dev/null
	cp "$CONSOLE" "$TMP/console$n.log"
	exec 3>&-
	rm -f "$TMP/in"
}

DRIVE=(-drive file="$SSD",if=virtio,format=raw)
boot 1 "" "${DRIVE[@]}"
assert_contains "$TMP/console1.log" "LBE2E: md5 $DATA_MD5" "boot 1 reads /data.bin right"
assert_contains "$TMP/console1.log" 'cache: SSD cache on /dev/vda1' "the agent found PARTLABEL=linkboot-cache"
assert_contains "$TMP/console1.log" 'every block verified against' "blocks verified against the hash table"
lb status --json >"$TMP/status1.json" 2>&1
serve_stop
B1=$(nbd_bytes 1)
[ "$B1" -gt 0 ] || die "no NBD bytes logged for boot 1"

# corrupt one SSD block that holds /data.bin bytes (found by content)
python3 - "$SSD" "$TMP/rootfs/data.bin" <<'EOF' || die "no data.bin block in the SSD cache"
import sys
ssd = open(sys.argv[1], "r+b")
data = open(sys.argv[2], "rb").read()
disk = ssd.read()
needle = data[1 << 20:(1 << 20) + 4096]
at = disk.find(needle)
if at < 0:
    sys.exit(1)
ssd.seek(at + 100)
b = disk[at + 100]
ssd.write(bytes([b ^ 0xff]))
print("corrupted SSD byte at", at + 100)
EOF

# the server traced boot 1 and built the version's boot pack
PACK=$LB_STATE/boot/$(printf '%s' "$ARGS" | grep -oE 'boot/[0-9a-f]+/v[0-9]+' | cut -d/ -f2-)/boot.pack
wait_for 30 test -s "$PACK" || die "no boot pack after boot 1 ($PACK)"

serve_start 2
boot 2 "" "${DRIVE[@]}"
assert_contains "$TMP/console2.log" "LBE2E: md5 $DATA_MD5" "boot 2 reads /data.bin right (corrupt SSD block not returned)"
assert_contains "$TMP/console2.log" 'SSD block for image block [0-9]+ failed verification' "the corrupted SSD block was caught"
assert_contains "$TMP/console2.log" 'block-hash table: 1 of 1 chunks from the SSD' "warm SSD holds the hash table"
lb status --json >"$TMP/status2.json" 2>&1
serve_stop
B2=$(nbd_bytes 2)
grep -ahE 'cache: (RAM|SSD|boot pack)' "$TMP/console1.log" "$TMP/console2.log"
echo "NBD bytes from the server: boot 1 $B1, boot 2 $B2 ($((B2 * 100 / B1))%)"
[ $((B2 * 20)) -le "$B1" ] || die "boot 2 pulled $B2 bytes > 5% of boot 1's $B1"
assert_contains "$TMP/console2.log" 'cache: RAM [0-9]+ hits .* SSD [1-9][0-9]* hits' "the agent logs its per-layer counters"
assert_contains "$TMP/status2.json" '"ssd_hit_percent": *[1-9]' "status --json shows the SSD hit rate"
assert_contains "$TMP/console2.log" 'the SSD holds all [0-9]+ blocks of the boot pack: not fetched' "warm SSD skips the pack"

# boot 2b: `image pack --retrace`, and this warm-SSD PC is the one the
# server traces: its agent reads past the SSD for the window, so the new
# trace, and the pack boot 3 gets, hold every block the boot reads (else
# only what the SSD lacked)
cp "$(dirname "$PACK")/boot.trace" "$TMP/trace1"
lb image pack demo --retrace >/dev/null || die "image pack --retrace"
serve_start 2b
boot 2b "" "${DRIVE[@]}"
assert_contains "$TMP/console2b.log" "LBE2E: md5 $DATA_MD5" "boot 2b reads /data.bin right"
assert_contains "$TMP/console2b.log" 'the server traces this boot for the boot pack: no SSD reads' "the traced warm-SSD boot reads past its SSD"
serve_stop
wait_for 30 test -s "$PACK" || die "no boot pack after boot 2b ($PACK)"
echo "trace of boot 1: $(wc -l <"$TMP/trace1") blocks; of boot 2b (warm SSD): $(wc -l <"$(dirname "$PACK")/boot.trace") blocks, NBD bytes $(nbd_bytes 2b)"

# boot 3: no SSD, a RAM cache the boot pack fits in: streamed in at start
serve_start 3
boot 3 "linkboot.ram=64"
assert_contains "$TMP/console3.log" "LBE2E: md5 $DATA_MD5" "boot 3 reads /data.bin right"
assert_contains "$TMP/console3.log" 'cache: boot pack: [1-9][0-9]* blocks' "boot 3 streamed the boot pack"
serve_stop
B3=$(nbd_bytes 3)
grep -ahE 'cache: (RAM|boot pack)' "$TMP/console3.log"
echo "boot 3 (pack, no SSD): NBD bytes $B3 ($((B3 * 100 / B1))% of boot 1)"
[ "$B3" -eq 0 ] || die "boot 3 read $B3 bytes over NBD: the boot pack lacks blocks the boot reads"

# boot 4: linkboot.ssd=auto with a blank disk and a disk holding an ext4
# file system (no partition table): the blank one gets the GPT partition,
# the other is not touched
BLANK=$TMP/blank.img
truncate -s 96M "$BLANK"
mkfs.ext4 -q -F -L notmine "$TMP/fs.img" 80M || die "mkfs notmine"
FS_MD5=$(md5sum <"$TMP/fs.img")
serve_start 4
boot 4 "" -drive file="$BLANK",if=virtio,format=raw \
	-drive file="$TMP/fs.img",if=virtio,format=raw
assert_contains "$TMP/console4.log" "LBE2E: md5 $DATA_MD5" "boot 4 reads /data.bin right"
assert_contains "$TMP/console4.log" 'ssd auto: /dev/vd[ab] was blank: created GPT partition linkboot-cache' "ssd auto partitioned the blank disk"
assert_contains "$TMP/console4.log" 'cache: SSD cache on /dev/vd[ab]1' "the new partition is the SSD cache"
assert_contains "$TMP/console4.log" 'cache: boot pack: [1-9][0-9]* blocks' "boot 4 streamed the boot pack into the cold SSD"
serve_stop
B4=$(nbd_bytes 4)
echo "boot 4 (pack, cold SSD): NBD bytes $B4"
[ "$B4" -eq 0 ] || die "boot 4 read $B4 bytes over NBD: the boot pack lacks blocks the boot reads"
sfdisk -d "$BLANK" >"$TMP/blank.sfdisk" 2>&1 || die "no partition table on the blank disk"
assert_contains "$TMP/blank.sfdisk" 'name="linkboot-cache", attrs="GUID:62,63"' "GPT partition name and attributes"
sfdisk --verify "$BLANK" >/dev/null 2>&1 || die "sfdisk --verify failed on the created GPT"
assert_eq "$(md5sum <"$TMP/fs.img")" "$FS_MD5" "the disk with a file system was not touched"
echo "PASS: SSD cache: boot 2 pulled $B2 of boot 1's $B1 NBD bytes; corrupt block refetched; boots with the pack: $B3 and $B4 NBD bytes"
