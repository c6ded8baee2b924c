#!/bin/bash
# e2e: overnight pre-staging (`linkboot image prestage`). A QEMU PC (TCG,
# Debian kernel, the agent as /init) with an SSD cache disk, its server
# in a network namespace whose bridge carries the magic packets:
#   boot 1 (cold, SSD A): the baseline, every block the boot reads comes
#       over NBD;
#   prestage 1 (SSD B, blank partition): `image prestage demo 1 --at now`;
#       the server's tick sends the magic packet, a harness standing in
#       for the NIC's Wake-on-LAN (QEMU has none) starts the PC only when
#       it sees one for its MAC; the boot script tells the agent to
#       pre-stage; it fills SSD B, reports, powers off by itself;
#   boot 2 (SSD B): the morning's boot pulls <= 5% of boot 1's NBD bytes
#       and needs no boot pack;
#   prestage 2 (SSD B again): only blocks the SSD lacks are fetched: none.
# The server's own NBD byte counters (its log, at stop) are the measure.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
requires python3 --version
requires curl --version

AGENT_INIT='echo "LBE2E: md5 $($B md5sum /data.bin)"
'"$GUEST_REPORT_DONE"

IMG=$TMP/disk.img
agent_demo_image "$IMG"
agent_minimal_initramfs

LB_STATE=$TMP/state
lb image add demo "$IMG" --kernel "$VMLINUZ" --initrd "$INITRD" \
	>"$TMP/add.log" 2>&1 || die "image add: $(cat "$TMP/add.log")"
lb client add "$AGENT_MAC" --image demo --ram-cache 4 --ssd-cache auto --write ram >/dev/null ||
	die "client add"
agent_cache_disk "$TMP/ssd-a.img" 64 48
agent_cache_disk "$TMP/ssd-b.img" 64 48

# the server's address on a bridge, with the PC's tap and a veth pair
# whose far end (lbwol1) is where the harness watches for magic packets:
# with the veth up the bridge has a carrier even when QEMU is not running
agent_netns_bridge lbtap0
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link add lbwol0 type veth peer name lbwol1 || die "veth"
in_ns ip link set lbwol0 master lbbr0
in_ns ip link set lbwol0 up
in_ns ip link set lbwol1 up

serve_start() { agent_linkboot_serve "$TMP/serve$1.log"; }
serve_stop() {
	kill "$LB_PID" 2>/dev/null
	wait "$LB_PID" 2>/dev/null
}
nbd_bytes() {
	grep -aoE 'closed in transmission phase: [^(]*\([0-9]+ requests, [0-9]+ bytes read' \
		"$TMP/serve$1.log" | grep -oE '[0-9]+ bytes read' |
		awk '{ s += $1 } END { print s + 0 }'
}
script_args() {
	agent_bootscript_args "$AGENT_MAC" |
		grep -oE 'linkboot\.(ticket|hashes|write|ram|ssd|prestage|prestage_hashes)=[^ ]+' |
		tr '\n' ' '
}
qemu_pc() {	# qemu_pc NAME SSD ARGS: the PC with its cache disk
	QEMU_TIMEOUT=200 agent_qemu_start \
		-drive file="$2",if=virtio,format=raw \
		-append "console=ttyS0 loglevel=4 panic=-1 \
linkboot.server=$SERVER_IP linkboot.mac=$AGENT_MAC \
linkboot.ip=$AGENT_IP linkboot.netmask=255.255.255.0 \
linkboot.http=http://$SERVER_IP:8080 linkboot.root=LABEL=lbroot \
linkboot.reconnect=30 $3"
}
boot() {	# boot N SSD: an ordinary boot to the image's init
	local args
	args=$(script_args)
	case $args in *prestage*) die "boot $1: a pre-staging boot script: $args" ;; esac
	qemu_pc "boot$1" "$2" "$args"
	agent_wait_console 180 'LBE2E: DONE' || {
		tail -n 40 "$CONSOLE"
		die "boot $1 did not finish"
	}
	wait "$QEMU_PID" 2>/dev/null
	cp "$CONSOLE" "$TMP/console$1.log"
	exec 3>&-
	rm -f "$TMP/in"
	assert_contains "$TMP/console$1.log" "LBE2E: md5 $DATA_MD5" "boot $1 reads /data.bin right"
}
# prestage N SSD: schedule, wait for the magic packet, then start the PC
prestage() {
	local args
	in_ns python3 "$(dirname "$0")/../tools/wol_wait.py" lbwol1 "$AGENT_MAC" 30 \
		>"$TMP/wol$1.log" 2>&1 &
	local wol=$!
	wait_for 10 grep -q ready "$TMP/wol$1.log" || die "WoL harness did not start"
	lb image prestage demo 1 --at now --stagger 0 >"$TMP/ps$1.out" 2>&1 ||
		die "image prestage: $(cat "$TMP/ps$1.out")"
	assert_contains "$TMP/ps$1.out" "into the SSD caches of 1 PC" "prestage $1 scheduled"
	wait "$wol" || die "prestage $1: no magic packet for $AGENT_MAC within 30 s: $(tail -n 5 "$LB_LOG")"
	assert_contains "$LB_LOG" "prestage demo v1: $AGENT_MAC woken \(magic packet\)" "the server logs the wake"
	args=$(script_args)
	case $args in *"linkboot.prestage=demo@1 "*) ;; *) die "woken PC's boot script: no linkboot.prestage: $args" ;; esac
	qemu_pc "prestage$1" "$2" "$args"
	# it powers itself off when done
	wait "$QEMU_PID" 2>/dev/null
	cp "$CONSOLE" "$TMP/prestage-console$1.log"
	exec 3>&-
	rm -f "$TMP/in"
	assert_contains "$TMP/prestage-console$1.log" 'prestage: demo@1 staged in [0-9]+ ms' "prestage $1: the agent staged the version"
	assert_contains "$TMP/prestage-console$1.log" 'prestage: powering off' "prestage $1: powered off by itself"
	# boot 1 made the version's boot pack: its blocks go last
	assert_contains "$TMP/prestage-console$1.log" "prestage: the boot pack's [1-9][0-9]* blocks last" "prestage $1: the boot pack's blocks staged last"
	grep -qa 'LBE2E: md5' "$TMP/prestage-console$1.log" && die "prestage $1 ran the image's init"
	wait_for 15 grep -q "prestage demo v1: done: 1 staged" "$LB_LOG" ||
		die "prestage $1: the run did not end: $(tail -n 5 "$LB_LOG")"
	lb image prestages demo -j >"$TMP/ps$1.json" || die "image prestages"
	python3 - "$TMP/ps$1.json" >"$TMP/ps$1.kv" <<'PY' || die "prestage $1: $(cat "$TMP/ps$1.json")"
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["state"] == "done" and r["run_state"] == "done", r
print(r["fetched"], r["bytes"], r["had"])
PY
	read -r PS_FETCHED PS_BYTES PS_HAD <"$TMP/ps$1.kv"
	echo "prestage $1: fetched $PS_FETCHED blocks ($PS_BYTES bytes), had $PS_HAD"
}

serve_start 1
boot 1 "$TMP/ssd-a.img"
serve_stop
# the server traced boot 1 and built the version's boot pack from it
pack_built() { compgen -G "$LB_STATE/boot/*/v1/boot.pack" >/dev/null; }
wait_for 30 pack_built || die "no boot pack after boot 1"
COLD=$(nbd_bytes 1)
[ "$COLD" -gt 0 ] || die "no NBD bytes logged for the cold boot"

serve_start p1
prestage 1 "$TMP/ssd-b.img"
serve_stop
[ "$PS_FETCHED" -gt 0 ] || die "prestage 1 fetched nothing into a blank SSD"
[ "$PS_HAD" -eq 0 ] || die "prestage 1: a blank SSD had $PS_HAD blocks"
P1=$(nbd_bytes p1)
[ "$P1" -eq "$PS_BYTES" ] || die "the server counted $P1 NBD bytes, the agent $PS_BYTES"

serve_start 2
boot 2 "$TMP/ssd-b.img"
serve_stop
MORNING=$(nbd_bytes 2)
echo "NBD bytes: cold boot $COLD, pre-staging $P1, boot after it $MORNING ($((MORNING * 100 / COLD))% of cold)"
[ $((MORNING * 20)) -le "$COLD" ] || die "the pre-staged boot pulled $MORNING bytes > 5% of the cold boot's $COLD"
grep -qaE 'cache: boot pack: [1-9][0-9]* blocks' "$TMP/console2.log" &&
	die "the pre-staged boot streamed a boot pack"

serve_start p2
prestage 2 "$TMP/ssd-b.img"
serve_stop
[ "$PS_FETCHED" -eq 0 ] || die "prestage 2 fetched $PS_FETCHED blocks the SSD already held"
[ "$PS_HAD" -gt 0 ] || die "prestage 2 found nothing on the SSD"
echo "PASS: pre-staging: the next boot pulled $MORNING of a cold boot's $COLD NBD bytes; a second run fetched 0 blocks ($PS_HAD on the SSD)"
