#!/bin/bash
# e2e: the agent without linkboot.ip gets its address from DHCP with its own
# client from `linkboot serve --dhcp full` (20 s leases), renews the lease
# while the PC runs, and with linkboot.write=disk puts the overlay's upper
# layer on the local PARTLABEL=linkboot-cache partition, wiped at boot.
# The image has a separate /boot first: the agent finds the root by its init.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
requires debugfs -V

AGENT_INIT='echo "LBE2E: init pid $$"
$B test -e /stale && echo "LBE2E: stale upper file visible"
echo disk-mode >/root/on-ssd.txt && $B sync && echo "LBE2E: disk write ok"
$B grep -q "^/dev/vda1 /rw " /proc/mounts 2>/dev/null
echo "LBE2E: ip $($B ip -4 addr show eth0 | $B grep -o "inet [0-9.]*")"
$B sleep 25
echo "LBE2E: DONE"
$B poweroff -f'

IMG=$TMP/disk.img
AGENT_SEPARATE_BOOT=1 agent_demo_image "$IMG"
# the local cache disk, with a leftover from a "previous boot"
mkdir -p "$TMP/cache/upper"
echo old >"$TMP/cache/upper/stale"
mkfs.ext4 -q -F -d "$TMP/cache" "$TMP/cachepart.img" 30M || die "mkfs cache"
CACHE=$TMP/cache.img
agent_cache_disk "$CACHE" 32 30 "$TMP/cachepart.img"

agent_minimal_initramfs

agent_netns
LB_SERVE_ARGS="--dhcp full --interface lbtap0 --dhcp-range 198.18.0.100,198.18.0.109 \
--dhcp-netmask 255.255.255.0 --dhcp-lease-time 20"
agent_linkboot_start

agent_qemu_start -drive file="$CACHE",if=virtio,format=raw \
	-append "console=ttyS0 loglevel=4 panic=-1 \
linkboot.server=$SERVER_IP linkboot.export=demo linkboot.mac=$AGENT_MAC \
linkboot.write=disk linkboot.verbose=1"

agent_wait_console 150 'LBE2E: DONE' || die "guest did not finish"
assert_contains "$CONSOLE" 'dhcp: 198\.18\.0\.10[0-9] lease 20 s' "address from DHCP"
assert_contains "$CONSOLE" 'LBE2E: ip inet 198\.18\.0\.10[0-9]' "image sees the DHCP address"
assert_contains "$CONSOLE" 'dhcp: renewed 198\.18\.0\.10[0-9]' "lease renewed while running"
assert_contains "$CONSOLE" 'overlay upper on /dev/vda1' "upper layer on the cache partition"
assert_contains "$CONSOLE" 'nbd0p1 has no /sbin/init' "separate /boot skipped"
assert_contains "$CONSOLE" 'root: /dev/nbd0p2' "root found on partition 2"
assert_contains "$CONSOLE" 'LBE2E: disk write ok' "write in disk mode"
grep -qa 'LBE2E: stale upper file visible' "$CONSOLE" && die "cache partition not wiped at boot"
wait "$QEMU_PID" 2>/dev/null
# the write is on the local disk, not in RAM
dd if="$CACHE" of="$TMP/cachepart.out" bs=512 skip=2048 status=none
debugfs -R "cat /upper/root/on-ssd.txt" "$TMP/cachepart.out" 2>/dev/null |
	grep -q disk-mode || die "write not found on the cache partition"
echo "PASS: DHCP + renew, write mode disk"
