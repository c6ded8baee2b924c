#!/bin/bash
# e2e: linkboot.write=server: the export is writable, the agent serves the
# root read-write and forwards block writes and flushes to the server, so
# a file the PC writes is in the server's disk image afterwards.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
agent_kernel
requires debugfs -V
requires e2fsck -V
[ -x "$LINKBOOT" ] || skip "build/linkboot missing (make)"

AGENT_INIT='#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc 2>/dev/null
$B grep -q "^/dev/nbd0p1 / ext4 rw" /proc/mounts && echo "LBE2E: root rw on nbd"
echo persisted-by-agent >/root/persist.txt && $B sync && echo "LBE2E: synced"
$B mount -o remount,ro / && echo "LBE2E: remounted ro"
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
agent_nbd_start
agent_qemu_start -append "console=ttyS0 loglevel=4 panic=-1 \
linkboot.server=$SERVER_IP linkboot.export=demo linkboot.ip=$AGENT_IP \
linkboot.netmask=24 linkboot.write=server"

agent_wait_console 150 'LBE2E: DONE' || die "guest did not finish"
assert_contains "$CONSOLE" 'read-write, RAM cache' "device attached read-write"
grep -aE 'driver .* \(from modalias\)|boot: agent start' "$CONSOLE"
assert_contains "$CONSOLE" 'LBE2E: root rw on nbd' "root mounted rw from nbd"
assert_contains "$CONSOLE" 'LBE2E: synced' "sync (NBD FLUSH) completes"
wait "$QEMU_PID" 2>/dev/null
agent_nbd_stop
dd if="$IMG" of="$TMP/root.out" bs=512 skip=$ROOT_SECTOR status=none
e2fsck -fy "$TMP/root.out" >/dev/null 2>&1
debugfs -R "cat /root/persist.txt" "$TMP/root.out" 2>/dev/null |
	grep -q persisted-by-agent || die "the write did not reach the server's image"
echo "PASS: write mode server"
