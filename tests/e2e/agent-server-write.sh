#!/bin/bash
# e2e: a PC linked with --write server boots with the kernel arguments of
# its boot script (GET /boot.ipxe?mac=): its boot credential is writable, the
# agent serves the root read-write and forwards writes and flushes to the
# server's per-client overlay (through the agent's write-back overlay:
# RAM first, every FLUSH pushes the dirty sectors to the server); re-read
# after dropping the page cache, and
# read back over NBD after the PC is off, with an admin token. The PC's
# extra disks: a read-only game disk readable at /dev/linkboot/disk1 and
# refusing writes, a kept data disk whose write is on the server after.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
requires debugfs -V
requires e2fsck -V
requires curl --version
requires nbdcopy --version

AGENT_INIT='[ -f /root/persist.txt ] && echo "LBE2E: found $($B cat /root/persist.txt)"
$B grep -q "^/dev/nbd0p1 / ext4 rw" /proc/mounts && echo "LBE2E: root rw on nbd"
echo "LBE2E: hostname=$($B hostname)"
echo persisted-by-agent >/root/persist.txt && $B sync && echo "LBE2E: synced"
echo 3 >/proc/sys/vm/drop_caches
[ "$($B cat /root/persist.txt)" = persisted-by-agent ] && echo "LBE2E: re-read from server ok"
$B mount -o remount,ro / && echo "LBE2E: remounted ro"
[ -L /dev/linkboot/disk1 ] && $B dd if=/dev/linkboot/disk1 bs=512 count=1 2>/dev/null |
	$B grep -aq LBGAMES-MARK && echo "LBE2E: game disk readable"
$B dd if=/dev/zero of=/dev/linkboot/disk1 bs=512 count=1 conv=fsync 2>/dev/null ||
	echo "LBE2E: game disk refuses writes"
echo LBDATA-WRITTEN | $B dd of=/dev/linkboot/disk2 bs=512 conv=sync,fsync 2>/dev/null &&
	echo "LBE2E: data disk written"
echo "LBE2E: DONE"
$B poweroff -f'

IMG=$TMP/disk.img
agent_demo_image "$IMG"
INITRD=$TMP/initrd.gz
# the default (full) initramfs here: every ethernet driver, modalias picks
"$LINKBOOT" initramfs -o "$INITRD" --modules "$KROOT" --kernel-version "$KVER" \
	--agent "$LINKBOOT_AGENT" -q ||
	die "linkboot initramfs"
agent_netns
agent_linkboot_start
lb client add "$AGENT_MAC" --image demo --write server --hostname pc-srv \
	>/dev/null || die "client add"
lb client keep "$AGENT_MAC" on >/dev/null || die "client keep"
# extra disks: a read-only game disk, a kept data disk
head -c $((4 << 20)) /dev/zero >"$TMP/games.img"
printf 'LBGAMES-MARK' | dd of="$TMP/games.img" conv=notrunc status=none
head -c $((4 << 20)) /dev/zero >"$TMP/data.img"
lb image add games "$TMP/games.img" >/dev/null 2>&1 || die "image add games"
lb image add data "$TMP/data.img" >/dev/null 2>&1 || die "image add data"
lb client disk add "$AGENT_MAC" games >/dev/null || die "disk add games"
lb client disk add "$AGENT_MAC" data --write server >/dev/null || die "disk add data"
ARGS=$(agent_bootscript_args "$AGENT_MAC")
echo "boot script args: $ARGS"
agent_qemu_start -append "console=ttyS0 loglevel=4 panic=-1 $ARGS"

agent_wait_console 150 'LBE2E: DONE' || die "guest did not finish"
assert_contains "$CONSOLE" 'read-write, RAM cache' "device attached read-write"
assert_contains "$CONSOLE" "every block of the version verified against .*the PC's own blocks not: 0 in the server's overlay" \
	"a written export is checked against the version's table"
grep -aE 'driver .* \(from modalias\)|boot: agent start' "$CONSOLE"
assert_contains "$CONSOLE" 'LBE2E: root rw on nbd' "root mounted rw from nbd"
assert_contains "$CONSOLE" 'LBE2E: synced' "sync (NBD FLUSH) completes"
# keep on: writes land in the agent's RAM overlay and reach the server's
# overlay at every FLUSH (the nbdcopy below finds them there)
assert_contains "$CONSOLE" 'overlay: block writes go to RAM .* written back to the server at every FLUSH' \
	"kept overlay: write-back at FLUSH"
assert_contains "$CONSOLE" 'LBE2E: re-read from server ok' "write read back from the server"
assert_contains "$CONSOLE" 'LBE2E: hostname=pc-srv' "hostname from the link"
assert_contains "$CONSOLE" 'disks: disk 1 is /dev/nbd[0-9]+ \(read-only\), linked as /dev/linkboot/disk1' "game disk attached"
assert_contains "$CONSOLE" 'LBE2E: game disk readable' "game disk read in the booted system"
assert_contains "$CONSOLE" 'LBE2E: game disk refuses writes' "game disk read-only"
assert_contains "$CONSOLE" 'LBE2E: data disk written' "data disk written"
wait "$QEMU_PID" 2>/dev/null
# the ticket the PC's /proc/cmdline still shows is spent: nobody, not
# even root at the PC's own address, can trade it again
T=$(echo "$ARGS" | grep -oE 'linkboot\.ticket=[^ ]+' | cut -d= -f2)
ip netns exec "$NS" ip addr add "$AGENT_IP/32" dev lo || die "AGENT_IP on lo"
CODE=$(ip netns exec "$NS" curl -s --interface "$AGENT_IP" --local-port 600-1000 \
	-o "$TMP/again" -w '%{http_code}' --data-binary "ticket=$T" \
	"http://$SERVER_IP:8080/session")
ip netns exec "$NS" ip addr del "$AGENT_IP/32" dev lo
assert_eq "$CODE" 403 "the PC's ticket, traded again"
assert_contains "$TMP/again" 'already used' "the cmdline's ticket is spent"
# the powered-off PC never closed its TCP session, which holds the overlay:
# restart the server (the overlay is kept: `client keep on`)
agent_linkboot_kill
agent_linkboot_serve
TOKEN=$(lb client token "$AGENT_MAC" 2>/dev/null) || die "client token"
ip netns exec "$NS" nbdcopy "nbd://$SERVER_IP:10809/$TOKEN" "$TMP/overlay.img" ||
	die "nbdcopy of the client's export"
dd if="$TMP/overlay.img" of="$TMP/root.out" bs=512 skip=$ROOT_SECTOR status=none
e2fsck -fy "$TMP/root.out" >/dev/null 2>&1
debugfs -R "cat /root/persist.txt" "$TMP/root.out" 2>/dev/null |
	grep -q persisted-by-agent || die "the write is not in the client's overlay on the server"
cmp -s "$TMP/overlay.img" "$IMG" && die "the base image changed? (writes must go to the overlay)"
ip netns exec "$NS" nbdcopy "nbd://$SERVER_IP:10809/$TOKEN/2" "$TMP/data.out" ||
	die "nbdcopy of the PC's data disk"
head -c 14 "$TMP/data.out" | grep -q LBDATA-WRITTEN ||
	die "the data disk's write is not on the server"
cmp -s "$TMP/data.img" <(head -c $((4 << 20)) /dev/zero) ||
	die "the data image itself changed"
echo "PASS: extra disks"

# boot 2 on the kept overlay: the version's blocks are checked, the PC's
# own (the server overlay's map) are taken as they are
exec 3>&-
rm -f "$TMP/in"
cp "$CONSOLE" "$TMP/console1.log"
ARGS=$(agent_bootscript_args "$AGENT_MAC")
agent_qemu_start -append "console=ttyS0 loglevel=4 panic=-1 $ARGS"
agent_wait_console 150 'LBE2E: DONE' || { tail -n 30 "$CONSOLE"; die "boot 2 did not finish"; }
assert_contains "$CONSOLE" 'LBE2E: found persisted-by-agent' "boot 2 reads the kept write"
assert_contains "$CONSOLE" "the PC's own blocks not: [1-9][0-9]* in the server's overlay at start" \
	"boot 2's agent takes the overlay's blocks from the map"
grep -aE 'failed verification|I/O error|refetch' "$CONSOLE" | grep -v ' 0 failed\| 0 network' &&
	die "boot 2: a block failed its check"
wait "$QEMU_PID" 2>/dev/null
echo "PASS: kept overlay, checked boot"
echo "PASS: write mode server"
