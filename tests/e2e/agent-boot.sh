#!/bin/bash
# e2e: a QEMU PC (TCG, Debian kernel) boots the initramfs `linkboot
# initramfs` builds: the agent loads modules, brings the e1000 up, attaches
# the NBD export through nbd.ko over a socketpair, mounts the root with a
# RAM overlay and switch_roots into the image's init, which prints markers.
# Then the NBD server is killed, the guest reads (uncached) and writes while
# it is down, the server comes back, and the I/O completes correctly; the
# serving process is killed (the supervisor replaces it); the cable is
# pulled for 20 s during a read.
# Server: build/linkboot serve (NBD + HTTP /report) in a netns.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires

AGENT_INIT='echo "LBE2E: init pid $$"
echo "LBE2E: hostname=$($B cat /etc/hostname) machine-id=$($B cat /etc/machine-id)"
$B ps | $B grep -q "[@]linkboot-agent" && echo "LBE2E: agent alive"
$B test -f /etc/systemd/network/00-linkboot-boot-nic.network && echo "LBE2E: networkd file"
$B grep -q "^# linkboot: UUID=0000-root" /etc/fstab && $B grep -q "^tmpfs /tmp" /etc/fstab && echo "LBE2E: fstab root line off"
echo hello >/root/written.txt && [ "$($B cat /root/written.txt)" = hello ] && echo "LBE2E: ram write ok"
$B dd if=/dev/zero of=/root/big bs=1M count=64 2>&1 | $B grep -q "No space" && echo "LBE2E: overlay full is ENOSPC"
$B rm -f /root/big
echo "LBE2E: READY"
read line
echo "LBE2E: got $line"
echo "LBE2E: md5 $($B md5sum /data.bin)"
echo after >/root/after.txt && $B sync && [ "$($B cat /root/after.txt)" = after ] && echo "LBE2E: write after outage ok"
echo "LBE2E: DONE"
read line
echo 3 >/proc/sys/vm/drop_caches
echo "LBE2E: md5-cached $($B md5sum /data.bin)"
read line
# crash the serving process (the newest @linkboot-agent): the supervisor
# starts a new one on a new socketpair (NBD_CMD_RECONFIGURE)
$B sync; $B sleep 1
'"$GUEST_FIND_DAEMON"'
echo "LBE2E: killing $victim"
$B kill -9 "$victim"
$B sleep 3
echo "LBE2E: md5-2 $($B md5sum /data2.bin)"
echo "LBE2E: AFTER-CRASH"
read line
echo "LBE2E: md5-3 $($B md5sum /data3.bin)"
echo "LBE2E: AFTER-CABLE"
$B sleep 1
$B poweroff -f'

IMG=$TMP/disk.img
agent_demo_image "$IMG"
agent_minimal_initramfs
cat "$TMP/initramfs.log"

agent_netns
agent_linkboot_start
lb client add "$AGENT_MAC" --image demo >/dev/null || die "client add"

MID=0123456789abcdef0123456789abcdef
agent_qemu_start -append "console=ttyS0 loglevel=4 panic=-1 \
linkboot.server=$SERVER_IP $(agent_ticket "$AGENT_MAC") linkboot.mac=$AGENT_MAC \
linkboot.ip=$AGENT_IP linkboot.netmask=255.255.255.0 \
linkboot.http=http://$SERVER_IP:8080 linkboot.root=LABEL=lbroot \
linkboot.write=ram linkboot.overlay=16 linkboot.ram=32 linkboot.reconnect=60 \
linkboot.hostname=pc-e2e-01 systemd.machine_id=$MID linkboot.verbose=1"

agent_wait_console 150 'LBE2E: READY' || die "guest did not reach READY"
assert_contains "$CONSOLE" 'LBE2E: init pid 1' "image init runs as PID 1"
assert_contains "$CONSOLE" "hostname=pc-e2e-01 machine-id=$MID" "per-client hostname/machine-id"
assert_contains "$CONSOLE" 'LBE2E: agent alive' "agent survives switch_root"
assert_contains "$CONSOLE" 'LBE2E: networkd file' "boot NIC excluded from networkd"
assert_contains "$CONSOLE" 'LBE2E: fstab root line off' "image fstab block lines commented out"
assert_contains "$CONSOLE" 'LBE2E: ram write ok' "write in ram mode"
assert_contains "$CONSOLE" 'LBE2E: overlay full is ENOSPC' "full overlay gives ENOSPC"

# server outage while the guest reads and writes
agent_linkboot_kill
echo go >&3
sleep 3
grep -qa 'LBE2E: DONE' "$CONSOLE" && die "I/O finished while the server was down?"
agent_linkboot_serve
agent_wait_console 90 'LBE2E: DONE' || die "guest I/O did not finish after the server came back"
assert_contains "$CONSOLE" "LBE2E: md5 $DATA_MD5" "data read after reconnect is correct"
assert_contains "$CONSOLE" 'LBE2E: write after outage ok' "write after outage"
assert_contains "$CONSOLE" 'reconnected after' "agent logged the reconnect"
# RAM cache: with the server down and the page cache dropped, what was read
# before is served by the agent alone
agent_linkboot_kill
echo go >&3
agent_wait_console 30 "LBE2E: md5-cached" || { tail -n 15 "$CONSOLE"; die "cached data not served while the server is down"; }
assert_contains "$CONSOLE" "LBE2E: md5-cached $DATA_MD5" "RAM cache data is correct"
agent_linkboot_serve
echo go >&3
agent_wait_console 60 'LBE2E: AFTER-CRASH' || die "guest I/O stuck after the disk daemon was killed"
assert_contains "$CONSOLE" 'disk daemon died \(signal 9\)' "supervisor saw the crash"
assert_contains "$CONSOLE" "LBE2E: md5-2 $DATA2_MD5" "reads served by the re-spawned daemon"

# cable pull: the link is down for 20 s (longer than TCP_USER_TIMEOUT)
# while the guest reads; the agent reconnects once it is back
ip netns exec "$NS" ip link set lbtap0 down
echo go >&3
sleep 20
grep -qa 'LBE2E: AFTER-CABLE' "$CONSOLE" && die "read finished without a link?"
ip netns exec "$NS" ip link set lbtap0 up
agent_wait_console 90 'LBE2E: AFTER-CABLE' || die "guest I/O stuck after the cable came back"
assert_contains "$CONSOLE" "LBE2E: md5-3 $DATA3_MD5" "data read after the cable pull is correct"


# boot timeline (agent start -> root mounted) for the report
grep -aE 'boot: agent start|connection lost|reconnected after|daemon died|killing' "$CONSOLE"
# the agent's reports are in the link DB (POST /report)
if command -v sqlite3 >/dev/null; then
	sqlite3 "$LB_STATE/linkboot.db" \
		"SELECT mac, detail FROM events WHERE kind = 'report'" >"$TMP/reports"
	assert_contains "$TMP/reports" "^$AGENT_MAC\\|event=net_up" "net_up report"
	assert_contains "$TMP/reports" 'event=switch_root' "switch_root report"
	assert_contains "$TMP/reports" 'event=reconnected' "reconnect report"
	assert_contains "$TMP/reports" 'bytes_from_server=[1-9]' "counters in the reports"
fi
wait "$QEMU_PID" 2>/dev/null
echo "PASS: agent boot, ram overlay, server restart"
