# Shared setup for the e2e tests that boot a QEMU PC straight into the
# agent (-kernel/-initrd: agent-*.sh, cache-ssd.sh, overlay-tiers.sh;
# sourced after tests/lib.sh):
#   agent_requires        skip unless root, QEMU, mkfs.ext4, sfdisk,
#                         busybox, the server and the agent are here; then
#                         agent_kernel: KROOT, KVER, VMLINUZ (Debian
#                         kernel, cached)
#   agent_demo_image F    partitioned ext4 image with busybox and the
#                         test's /sbin/init: $AGENT_INIT, a busybox sh
#                         script run with $B = busybox and /proc mounted
#   agent_cache_disk F DISK_MIB PART_MIB [PART_IMG]
#                         a disk with one GPT partition "linkboot-cache"
#                         of PART_MIB at 1 MiB (holding PART_IMG if given)
#   agent_netns           netns + tap lbtap0 with 198.18.0.1/24 (NS)
#   agent_linkboot_start  image add demo ($IMG, $VMLINUZ, $INITRD), then
#   agent_linkboot_serve [LOG]  linkboot serve in the netns: NBD
#                         198.18.0.1:10809, HTTP :8080 (+ $LB_SERVE_ARGS);
#                         LB_PID, LB_LOG (default $TMP/linkboot.log);
#                         agent_linkboot_kill
#   agent_bootscript_args MAC   linkboot.* args from GET /boot.ipxe?mac=
#   agent_ticket MAC            linkboot.ticket= of a fresh boot script
#   agent_qemu_start ARGS boot -kernel/-initrd, console in $CONSOLE, input
#                         from fd 3 (a fifo); QEMU_PID
#   agent_wait_console SECS PATTERN

AGENT_MAC=52:54:00:4c:42:01
AGENT_IP=198.18.0.10
SERVER_IP=198.18.0.1

agent_requires() {
	requires_root
	requires qemu-system-x86_64 --version
	requires mkfs.ext4 -V
	requires sfdisk --version
	requires busybox true
	requires ip netns list
	[ -x "$LINKBOOT" ] || skip "build/linkboot missing (make)"
	[ -x "$LINKBOOT_AGENT" ] || skip "build/linkboot-agent missing (make)"
	agent_kernel
}

agent_kernel() {
	KROOT=${KROOT:-$(bash "$TOP/scripts/fetch-kernel.sh" 2>/dev/null)} ||
		skip "no Debian kernel (scripts/fetch-kernel.sh)"
	KVER=$(ls "$KROOT/lib/modules" | head -n 1)
	VMLINUZ=$KROOT/boot/vmlinuz-$KVER
	[ -f "$VMLINUZ" ] || skip "no kernel at $VMLINUZ"
}

# agent_demo_image FILE: 64 MiB GPT disk, partition 1 ext4 "lbroot"
# agent_minimal_initramfs: $INITRD, the agent with only the e1000 driver
# (QEMU's default NIC here) beside the fixed module set
agent_minimal_initramfs() {
	INITRD=$TMP/initrd.gz
	"$LINKBOOT" initramfs -o "$INITRD" --modules "$KROOT" \
		--kernel-version "$KVER" --minimal --pci-ids 8086:100e \
		--agent "$LINKBOOT_AGENT" >"$TMP/initramfs.log" 2>&1 ||
		die "linkboot initramfs: $(cat "$TMP/initramfs.log")"
}

# Guest shell snippets for AGENT_INIT (busybox sh, $B = busybox):
# the agent sends its counters now (SIGUSR1); the same, then "LBE2E: DONE"
# and power off; $victim := the PID of the serving process (the newest
# @linkboot-agent)
GUEST_REPORT_NOW='for p in $($B ps | $B grep "[@]linkboot-agent" | $B awk "{print \$1}"); do
	$B kill -USR1 $p 2>/dev/null
done'
GUEST_REPORT_DONE="$GUEST_REPORT_NOW"'
$B sleep 3
echo "LBE2E: DONE"
$B poweroff -f'
GUEST_FIND_DAEMON='victim=0
for d in /proc/[0-9]*; do
	case "$($B tr "\\0" " " <$d/cmdline 2>/dev/null)" in @linkboot-agent*) p=${d#/proc/}; [ "$p" -gt "$victim" ] && victim=$p ;; esac
done'

agent_demo_image() {
	local img=$1 root=$TMP/rootfs
	mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,tmp,root,run}
	cp /bin/busybox "$root/bin/busybox"
	ln -sf busybox "$root/bin/sh"
	printf '%s\n' '#!/bin/busybox sh' 'B=/bin/busybox' \
		'$B mount -t proc proc /proc 2>/dev/null' "$AGENT_INIT" \
		>"$root/sbin/init"
	chmod 755 "$root/sbin/init"
	echo "image-hostname" >"$root/etc/hostname"
	printf '%s\n' '# image fstab' 'UUID=0000-root / ext4 errors=remount-ro 0 1' \
		'tmpfs /tmp tmpfs defaults 0 0' >"$root/etc/fstab"
	head -c 4M /dev/urandom >"$root/data.bin"
	DATA_MD5=$(md5sum <"$root/data.bin" | cut -d' ' -f1)
	head -c 2M /dev/urandom >"$root/data2.bin"
	DATA2_MD5=$(md5sum <"$root/data2.bin" | cut -d' ' -f1)
	head -c 2M /dev/urandom >"$root/data3.bin"
	DATA3_MD5=$(md5sum <"$root/data3.bin" | cut -d' ' -f1)
	mkfs.ext4 -q -F -L lbroot -d "$root" "$TMP/part.img" 60M ||
		die "mkfs.ext4 -d"
	if [ "${AGENT_SEPARATE_BOOT:-0}" = 1 ]; then
		# an image with a separate /boot first: the agent must skip it
		mkdir -p "$TMP/bootfs"
		echo "not a kernel" >"$TMP/bootfs/vmlinuz"
		mkfs.ext4 -q -F -L boot -d "$TMP/bootfs" "$TMP/boot.img" 8M ||
			die "mkfs.ext4 boot"
		truncate -s 72M "$img"
		printf '%s\n' 'label: gpt' \
			'start=2048, size=16384, type=linux, name=boot' \
			'start=18432, size=122880, type=linux, name=root' |
			sfdisk -q "$img" || die "sfdisk"
		dd if="$TMP/boot.img" of="$img" bs=512 seek=2048 conv=notrunc \
			status=none || die "dd"
		ROOT_SECTOR=18432
	else
		truncate -s 64M "$img"
		echo 'label: gpt
start=2048, size=122880, type=linux, name=root' | sfdisk -q "$img" ||
			die "sfdisk"
		ROOT_SECTOR=2048
	fi
	dd if="$TMP/part.img" of="$img" bs=512 seek=$ROOT_SECTOR conv=notrunc \
		status=none || die "dd"
}

agent_cache_disk() {
	local disk=$1 disk_mib=$2 part_mib=$3 part_img=${4:-}
	truncate -s "${disk_mib}M" "$disk"
	printf '%s\n' 'label: gpt' \
		"start=2048, size=$((part_mib * 2048)), type=linux, name=linkboot-cache" |
		sfdisk -q "$disk" || die "sfdisk $disk"
	[ -z "$part_img" ] ||
		dd if="$part_img" of="$disk" bs=512 seek=2048 conv=notrunc \
			status=none || die "dd $part_img"
}

agent_netns() {
	NS=lbagent$$
	ip netns add "$NS" || die "ip netns add"
	cleanup_fn "ip netns del $NS"
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" ip tuntap add dev lbtap0 mode tap
	ip netns exec "$NS" ip addr add "$SERVER_IP/24" dev lbtap0
	ip netns exec "$NS" ip link set lbtap0 up
}

# agent_netns_bridge TAP...: as agent_netns, but the server's address is
# on a bridge (lbbr0) with the given taps as ports, one per PC, and the
# default route out of it (a limited broadcast, e.g. a magic packet,
# leaves that way). agent_qemu_start uses lbtap0.
agent_netns_bridge() {
	local tap
	NS=lbagent$$
	ip netns add "$NS" || die "ip netns add"
	cleanup_fn "ip netns del $NS"
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" ip link add lbbr0 type bridge forward_delay 0 \
		stp_state 0 || die "bridge"
	ip netns exec "$NS" ip addr add "$SERVER_IP/24" dev lbbr0
	ip netns exec "$NS" ip link set lbbr0 up
	for tap in "$@"; do
		ip netns exec "$NS" ip tuntap add dev "$tap" mode tap
		ip netns exec "$NS" ip link set "$tap" master lbbr0
		ip netns exec "$NS" ip link set "$tap" up
	done
	ip netns exec "$NS" ip route add default dev lbbr0
}

# our server in the netns: NBD on 198.18.0.1:10809, HTTP (POST /report) on
# :8080; the image is added as "demo" (kernel + the test's initrd)
agent_linkboot_start() {
	LB_STATE=$TMP/state
	mkdir -p "$LB_STATE"
	"$LINKBOOT" image add demo "$IMG" --kernel "$VMLINUZ" --initrd "$INITRD" \
		--state "$LB_STATE" >"$TMP/image-add.log" 2>&1 ||
		die "image add: $(cat "$TMP/image-add.log")"
	agent_linkboot_serve
}

# --trusted-net AGENT_IP: the test fetches the PC's boot script for it
# (agent_bootscript_args), from AGENT_IP on this netns' lo, where no ARP
# entry can vouch for the address
agent_linkboot_serve() {
	LB_LOG=${1:-$TMP/linkboot.log}
	ip netns exec "$NS" "$LINKBOOT" serve --state "$LB_STATE" \
		--listen "$SERVER_IP" --dhcp off --tftp-port 6969 \
		--http-port 8080 --nbd-port 10809 \
		--trusted-net "${AGENT_TRUSTED_NET:-$AGENT_IP/32}" \
		${LB_SERVE_ARGS:-} >>"$LB_LOG" 2>&1 &
	LB_PID=$!
	cleanup_fn "kill -9 $LB_PID 2>/dev/null"
	wait_for 10 grep -q 'serving at' "$LB_LOG" ||
		die "linkboot serve did not start: $(tail -n 5 "$LB_LOG")"
}

# agent_bootscript_args MAC: the linkboot.* arguments the server's boot
# script (GET /boot.ipxe?mac=) gives this PC, iPXE variables filled in, as
# iPXE on the PC would fetch it: from AGENT_IP (so the boot ticket in it is
# bound to the address the agent redeems it from). A ticket is good for
# one boot: call this again for the next one.
agent_bootscript_args() {
	ip netns exec "$NS" ip addr add "$AGENT_IP/32" dev lo ||
		die "AGENT_IP on lo"
	ip netns exec "$NS" curl -sf --interface "$AGENT_IP" \
		"http://$SERVER_IP:8080/boot.ipxe?mac=$1" >"$TMP/boot.ipxe"
	local rc=$?
	ip netns exec "$NS" ip addr del "$AGENT_IP/32" dev lo
	[ $rc -eq 0 ] || die "GET /boot.ipxe"
	grep -q 'linkboot\.ticket=t1-' "$TMP/boot.ipxe" ||
		die "no boot ticket in the script: $(cat "$TMP/boot.ipxe")"
	grep '^set lb-args ' "$TMP/boot.ipxe" | sed 's/^set lb-args //; s/\${lb-args} *//' |
		tr '\n' ' ' | sed "s/\${mac}/$1/; s/\${ip}/$AGENT_IP/; s/\${netmask}/255.255.255.0/"
}

# agent_ticket MAC: just "linkboot.ticket=..." of a fresh boot script
agent_ticket() {
	agent_bootscript_args "$1" | grep -oE 'linkboot\.ticket=[^ ]+'
}

# the server dies (SIGKILL: a crash)
agent_linkboot_kill() {
	kill -9 "$LB_PID" 2>/dev/null
	wait "$LB_PID" 2>/dev/null
	# a restart must not see this run's 'serving at'
	mv "$LB_LOG" "$LB_LOG.1"
}

agent_qemu_start() {
	CONSOLE=$TMP/console.log
	mkfifo "$TMP/in"
	exec 3<>"$TMP/in"
	timeout -k 5 "${QEMU_TIMEOUT:-240}" ip netns exec "$NS" \
		qemu-system-x86_64 -accel tcg -m 512 -display none \
		-monitor none -serial stdio -no-reboot \
		-kernel "$VMLINUZ" -initrd "$INITRD" \
		-netdev tap,id=n0,ifname=lbtap0,script=no,downscript=no \
		-device e1000,netdev=n0,mac=$AGENT_MAC "$@" \
		<&3 >"$CONSOLE" 2>&1 &
	QEMU_PID=$!
	cleanup_fn "kill $QEMU_PID 2>/dev/null"
}

# agent_wait_console SECS PATTERN: bounded wait for a console line
agent_wait_console() {
	local secs=$1 pat=$2 i
	for ((i = 0; i < secs * 5; i++)); do
		grep -qaE -- "$pat" "$CONSOLE" 2>/dev/null && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.2
	done
	grep -qaE -- "$pat" "$CONSOLE" 2>/dev/null
}
