#!/bin/bash
# e2e: power cuts and the SSD cache. A QEMU PC (TCG, Debian kernel) boots
# through the agent with an SSD cache disk (PARTLABEL linkboot-cache) and
# reads its files while the cache fills; QEMU is killed with SIGKILL
# twice, at two points of the fill (the guest loses every write it had not
# handed to its virtual disk; what the disk acknowledged stays, as on a
# disk without a volatile cache). Each next boot reopens the same cache
# disk. Asserted: every boot that gets to read returns the right bytes
# (md5 of three files), the agent reuses the cache after the cuts (SSD
# hits), a torn entry is caught by its hash, never served, and no I/O or
# ext4 error reaches the guest's kernel log.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires

AGENT_INIT='echo "LBE2E: READING"
echo "LBE2E: md5 $($B md5sum /data.bin)"
echo "LBE2E: md5-2 $($B md5sum /data2.bin)"
echo "LBE2E: md5-3 $($B md5sum /data3.bin)"
'"$GUEST_REPORT_DONE"

IMG=$TMP/disk.img
agent_demo_image "$IMG"
agent_minimal_initramfs
LB_STATE=$TMP/state
lb image add demo "$IMG" --kernel "$VMLINUZ" --initrd "$INITRD" \
	>"$TMP/add.log" 2>&1 || die "image add: $(cat "$TMP/add.log")"
lb client add "$AGENT_MAC" --image demo --ram-cache 4 --ssd-cache auto \
	--write ram >/dev/null || die "client add"
SSD=$TMP/ssd.img
agent_cache_disk "$SSD" 64 48
agent_netns
# no boot pack: the SSD's blocks after the cuts are what the cut boots
# left there, not a pack fetched at the next boot
LB_SERVE_ARGS="--boot-trace-seconds 0" agent_linkboot_serve

cut=0
# boot N [CUT_AT PATTERN DELAY]: boot with the cache disk; with a pattern,
# cut the power DELAY seconds after the console shows it
boot() {
	local n=$1 pat=${2:-} delay=${3:-0} args
	args=$(agent_bootscript_args "$AGENT_MAC" |
		grep -oE 'linkboot\.(ticket|hashes|write|ram|ssd)=[^ ]+' | tr '\n' ' ')
	QEMU_TIMEOUT=200 agent_qemu_start -drive file="$SSD",if=virtio,format=raw \
		-append "console=ttyS0 loglevel=4 panic=-1 \
linkboot.server=$SERVER_IP linkboot.mac=$AGENT_MAC \
linkboot.ip=$AGENT_IP linkboot.netmask=255.255.255.0 \
linkboot.http=http://$SERVER_IP:8080 linkboot.root=LABEL=lbroot \
linkboot.reconnect=30 $args"
	if [ -n "$pat" ]; then
		agent_wait_console 180 "$pat" || { tail -n 30 "$CONSOLE"; die "boot $n: no '$pat'"; }
		sleep "$delay"
		# QEMU is the child of timeout(1): SIGKILL it, no shutdown at all
		pkill -KILL -P "$QEMU_PID" || die "boot $n: no QEMU to kill"
		cut=$((cut + 1))
		echo "boot $n: power cut ${delay}s after '$pat'"
	else
		agent_wait_console 180 'LBE2E: DONE' || { tail -n 40 "$CONSOLE"; die "boot $n did not finish"; }
	fi
	wait "$QEMU_PID" 2>/dev/null
	cp "$CONSOLE" "$TMP/console$n.log"
	exec 3>&-
	rm -f "$TMP/in"
}

# every md5 a boot printed is right; no I/O error reached the guest
check_boot() {
	local n=$1 log=$TMP/console$1.log
	grep -aoE 'LBE2E: md5(-[23])? [0-9a-f]+' "$log" | while read -r _ which sum; do
		case $which in
		md5) want=$DATA_MD5 ;; md5-2) want=$DATA2_MD5 ;; *) want=$DATA3_MD5 ;;
		esac
		[ "$sum" = "$want" ] || die "boot $n: $which $sum, want $want"
	done
	grep -aE 'I/O error|EXT4-fs error|blk_update_request' "$log" &&
		die "boot $n: an I/O error reached the guest"
	return 0
}

boot 1 'LBE2E: READING' 0.5
check_boot 1
boot 2 'LBE2E: md5 ' 0
check_boot 2
boot 3
check_boot 3
assert_eq "$cut" 2 "two power cuts"
assert_contains "$TMP/console3.log" "LBE2E: md5 $DATA_MD5" "boot 3 reads /data.bin right"
assert_contains "$TMP/console3.log" "LBE2E: md5-3 $DATA3_MD5" "boot 3 reads /data3.bin right"
assert_contains "$TMP/console3.log" 'cache: SSD cache on /dev/vda1' "the cache disk is reused after the cuts"
assert_contains "$TMP/console3.log" 'cache: RAM [0-9]+ hits .* SSD [1-9][0-9]* hits' "blocks cached before a cut are served from the SSD"
grep -aq 'cache: boot pack' "$TMP"/console[123].log && die "a boot pack was fetched (the SSD hits must be the cut boots')"
grep -ahE 'failed verification|cache: (RAM|SSD)|SSD cache' "$TMP"/console[123].log | head -n 12
echo "PASS: power cuts during the SSD fill: every byte right, the cache reused"
