# shellcheck shell=bash
# Shared setup for tests/e2e/image-*.sh (sourced after tests/lib.sh and
# lib-qemu.sh): the demo OS image (scripts/mkdemo-image.sh) booted through
# the whole chain with the real `linkboot serve`: PXE (stock iPXE ROM or
# OVMF) -> DHCP -> HTTP boot script -> kernel + `linkboot initramfs` ->
# linkboot-agent -> NBD from linkboot -> the image's /sbin/init.
#
#   image_requires          skip unless QEMU, root, the CLI, the agent, ...
#   image_setup             kernel, demo image "demo" in $LB_STATE, netns
#                           with tap0..tap2, `linkboot serve --dhcp full`
#                           (pxe_network, pxe_serve: lib-qemu.sh), the
#                           control web server (below)
#   guest_script HOST TEXT  what the PC whose hostname is HOST runs after
#                           its banner (the demo init fetches
#                           $CTL_URL/HOST.sh: demo.run= on the image's
#                           kernel command line); TEXT is a sh script
#   boot_banner NAME HOST SECS   wait for "linkboot demo: HOST up"; print
#                           the time from QEMU start; sets BOOT_S
#   client_field MAC KEY    KEY of `linkboot client show MAC -j`
#   server_restart_same_state   start `linkboot serve` again (old log kept)
#
# The guest talks back on its serial console only: markers "E2E-...".
# The control web server is busybox httpd in the test's netns on
# 198.18.0.1:8081: it stays up while linkboot is killed.

CTL_PORT=8081
CTL_URL=http://$E2E_SERVER_IP:$CTL_PORT

image_requires() {
	qemu_requires
	e2e_requires_cli image client initramfs
	[ -x "$LINKBOOT_AGENT" ] || skip "no $LINKBOOT_AGENT (make)"
	requires sfdisk --version
	requires mkfs.ext4 -V
	requires depmod --version
	requires jq --version
	busybox --list 2>/dev/null | grep -qx httpd || skip "requires busybox with httpd"
	requires cpio --version
}

image_setup() {
	e2e_kernel
	LB_STATE=$TMP/state
	mkdir -p "$LB_STATE" "$TMP/www"
	# a small payload: these tests are about the chain, not the cache
	DEMO_PAYLOAD_MIB=${DEMO_PAYLOAD_MIB:-4} DEMO_IMAGE_MIB=${DEMO_IMAGE_MIB:-96} \
		"$TOP/scripts/mkdemo-image.sh" "$TMP/demo.img" "$KROOT" \
		>"$TMP/mkdemo.log" 2>&1 || { cat "$TMP/mkdemo.log" >&2; die "mkdemo-image"; }
	lbc image add demo "$TMP/demo.img" >"$TMP/image-add.log" 2>&1 ||
		{ cat "$TMP/image-add.log" >&2; die "image add demo"; }
	rm -f "$TMP/demo.img"
	# linkboot.overlay: ram mode's tmpfs cap (the ENOSPC case fills it)
	lbc image set demo --cmdline \
		"console=ttyS0 linkboot.overlay=16 demo.run=$CTL_URL" >/dev/null ||
		die "image set demo --cmdline"

	pxe_network 3
	pxe_serve full
	ip netns exec "$NS" busybox httpd -f -p "$E2E_SERVER_IP:$CTL_PORT" -h "$TMP/www" \
		>"$TMP/httpd.log" 2>&1 &
	local httpd=$!
	cleanup_fn "kill $httpd"
	wait_for 10 in_ns ss -Hltn "sport = :$CTL_PORT" ||
		die "busybox httpd did not start on $CTL_PORT"
}

guest_script() {
	printf '%s\n' "$2" >"$TMP/www/$1.sh"
}

# boot_banner NAME HOST SECS
boot_banner() {
	local name=$1 host=$2 secs=$3
	qemu_expect "$name" "linkboot demo: $host up" "$secs"
	BOOT_S="$((QEMU_MS / 1000)).$(( (QEMU_MS % 1000) / 100 ))"
	echo "$name: QEMU start -> demo banner $BOOT_S s"
}

client_field() {
	lbc client show "$1" --json=short | jq -r ".$2"
}

# The value after "KEY=" in the first console line with MARKER.
guest_value() {
	grep -m1 -- "$1" "$QEMU_LOG" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# The guest must stay healthy: no block or filesystem errors on its
# console (the agent rides out server outages; a full overlay is ENOSPC).
assert_no_io_errors() {
	if grep -E 'I/O error|EXT4-fs error|EXT4-fs warning|Buffer I/O|Kernel panic|blocked for more than|Remounting filesystem read-only' \
		"$QEMU_LOG" >"$TMP/ioerr.txt"; then
		cat "$TMP/ioerr.txt" >&2
		die "$1: block/filesystem errors on the console"
	fi
}

server_restart_same_state() {
	mv "$LB_LOG" "$LB_LOG.$(date +%s%N)"
	pxe_serve full
}
