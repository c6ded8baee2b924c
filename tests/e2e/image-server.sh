#!/bin/bash
# The demo OS image through the whole chain:
#   PC C (BIOS, stock iPXE ROM) is not linked: it shows the screen with
#   its MAC and the fix command; `linkboot client add --write server` and
#   `linkboot client keep MAC on` on the server boot it with no hand on the
#   PC. Root is then read-write on the NBD disk (writes go to the client's
#   server overlay).
#   While the image's init writes + syncs + re-reads a file once a second,
#   `linkboot serve` is killed (SIGKILL, like a crash) and started again on
#   the same state dir: the agent reconnects, the OS only sees a pause
#   (no round completes while the server is down: sync waits for it;
#   later rounds succeed, no I/O or fs errors).
#   Then its cable is pulled for 30 s: the agent reconnects, the server
#   replaces the old connection it still holds, the rounds go on.
#   Boot 2: the file written in boot 1 is still there (kept overlay).
#   Boot 3, after `client keep MAC off`: it is gone (overlay dropped).
#   QEMU is killed after each boot (a reset PC: no FIN reaches the
#   server), so boots 2 and 3 also need the server to replace the dead
#   PC's connection, which holds the overlay's lock.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"
. "$(dirname "$0")/image-lib.sh"

image_requires
image_setup

MAC=$(e2e_mac 3)
ID='echo "E2E-ID host=$(cat /etc/hostname) mid=$(cat /etc/machine-id)"'
# boot 1: the kept file, then rounds of write + sync + drop caches + read
guest_script e2e-c "$ID
echo \"e2e-kept \$(cat /proc/sys/kernel/random/boot_id)\" >/root/e2e-kept && sync &&
	echo \"E2E-KEPT-WROTE \$(cat /root/e2e-kept)\"
i=0
while [ \$i -lt 240 ]; do
	i=\$((i + 1))
	echo \"round \$i\" >/root/io.txt && sync && echo 3 >/proc/sys/vm/drop_caches &&
		[ \"\$(cat /root/io.txt)\" = \"round \$i\" ] &&
		echo \"E2E-IO \$i ok\" || echo \"E2E-IO \$i FAILED\"
	sleep 1
done"

qemu_start_bios c1 "$MAC" tap0
qemu_expect c1 "linkboot client add $MAC --image" 240 \
	"the 'not linked' screen with the fix command"
assert_contains "$QEMU_LOG" "not linked to an image" "unknown-MAC screen"
lbc client add "$MAC" --image demo --name e2e-c --write server >/dev/null ||
	die "client add $MAC --write server"
lbc client keep "$MAC" on >/dev/null || die "client keep $MAC on"
assert_eq "$(client_field "$MAC" keep_overlay)" true "keep_overlay"
boot_banner c1 e2e-c 300
T_LINKED=$BOOT_S
assert_contains "$QEMU_LOG" 'linkboot-agent: root: .*read-write, write mode server' "server mode: root read-write"
qemu_expect c1 '^E2E-IO 3 ok' 120
assert_contains "$QEMU_LOG" '^E2E-KEPT-WROTE e2e-kept ' "file written in boot 1"
KEPT=$(grep -m1 '^E2E-KEPT-WROTE' "$QEMU_LOG" | cut -d' ' -f2-)
assert_eq "$(guest_value E2E-ID host)" "$(client_field "$MAC" hostname)" "C's /etc/hostname"
assert_eq "$(guest_value E2E-ID mid)" "$(client_field "$MAC" machine_id)" "C's /etc/machine-id"

# the server crashes while the PC runs, and comes back on the same state
last_round() {
	strip_ansi "$QEMU_RAW" >"$QEMU_LOG"
	grep -E '^E2E-IO [0-9]+ ok' "$QEMU_LOG" | tail -n 1 | cut -d' ' -f2
}
kill -9 "$LB_PID"
wait "$LB_PID" 2>/dev/null
T_KILL=$(date +%s%3N)
AT_KILL=$(last_round)
sleep 10
qemu_running || die "the PC died while the server was down"
LAST=$(last_round)
echo "server down 10 s: last round at the kill $AT_KILL, before the restart $LAST"
# server mode: a write is done when the server has it, so sync blocks
# while it is away (one round may have been past its sync at the kill)
[ "$LAST" -le $((AT_KILL + 1)) ] ||
	die "rounds $AT_KILL..$LAST completed with the server down: writes acknowledged without the server?"
server_restart_same_state
T_UP=$(date +%s%3N)
qemu_expect c1 "^E2E-IO $((LAST + 3)) ok" 180
echo "restart -> round $((LAST + 3)) ok: $(( ($(date +%s%3N) - T_UP) / 1000 )) s (outage $(( (T_UP - T_KILL) / 1000 )) s)"
assert_contains "$QEMU_LOG" 'linkboot-agent: nbd: server connection (lost|closed)' "agent saw the server go"
assert_contains "$QEMU_LOG" 'linkboot-agent: nbd: reconnected after' "agent reconnected"
grep -E 'linkboot-agent: nbd: (server connection (lost|closed)|reconnected)' "$QEMU_LOG" | head -n 4
if grep -E '^E2E-IO [0-9]+ FAILED' "$QEMU_LOG"; then
	die "a write/read round failed across the server restart"
fi

# a pulled cable, longer than the agent's TCP_USER_TIMEOUT (15 s): the
# agent drops its connection and reconnects after the cable is back, while
# the server still holds the old connection (nothing ever told it), which
# has the overlay's lock: the newer one must replace it
AT_PULL=$(last_round)
in_ns ip link set tap0 down
sleep 30
qemu_running || die "the PC died while its cable was pulled"
in_ns ip link set tap0 up
T_PLUG=$(date +%s%3N)
qemu_expect c1 "^E2E-IO $((AT_PULL + 4)) ok" 180
echo "cable pulled 30 s at round $AT_PULL; round $((AT_PULL + 4)) ok $(( ($(date +%s%3N) - T_PLUG) / 1000 )) s after it was back"
grep -E 'linkboot-agent: nbd: (server connection (lost|closed)|reconnected)' "$QEMU_LOG" | tail -n +3
[ "$(grep -c 'linkboot-agent: nbd: reconnected after' "$QEMU_LOG")" -ge 2 ] ||
	die "the agent did not reconnect after the cable pull"
assert_contains "$LB_LOG" "client $MAC connected again .*closing its old session" "the pre-pull connection replaced"
if grep -E '^E2E-IO [0-9]+ FAILED' "$QEMU_LOG"; then
	die "a write/read round failed across the cable pull"
fi
assert_no_io_errors c1
qemu_stop

# boot 2: the kept server overlay still has the file
guest_script e2e-c "$ID
echo \"E2E-KEPT \$(cat /root/e2e-kept 2>&1)\"
echo E2E-DONE"
qemu_start_bios c2 "$MAC" tap0
boot_banner c2 e2e-c 300
qemu_expect c2 '^E2E-DONE' 60
assert_contains "$QEMU_LOG" "^E2E-KEPT $KEPT\$" "server mode + keep: boot 1's file on boot 2"
assert_no_io_errors c2
T_BOOT2=$BOOT_S
qemu_stop

# boot 3, keep off: the server overlay is dropped at the boot (restore on
# reboot); boot 2's connection, never closed by the killed PC, is replaced
lbc client keep "$MAC" off >/dev/null || die "client keep $MAC off"
qemu_start_bios c3 "$MAC" tap0
boot_banner c3 e2e-c 300
qemu_expect c3 '^E2E-DONE' 60
assert_contains "$QEMU_LOG" "^E2E-KEPT .*No such file" "server mode, keep off: the overlay is dropped at boot"
assert_no_io_errors c3
T_BOOT3=$BOOT_S
qemu_stop
assert_contains "$LB_LOG" "client $MAC connected again .*closing its old session" "a reset PC's stale connection replaced"
echo "boot times (QEMU start -> banner): unlinked then linked $T_LINKED s, boot 2 $T_BOOT2 s, boot 3 $T_BOOT3 s"
