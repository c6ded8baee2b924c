#!/bin/bash
# A real distribution boots diskless: a minimal Debian 12 with systemd,
# udev, its stock kernel and its own network setup (scripts/
# mkdebian-image.sh; fstab by UUID with fsck pass 1 and errors=remount-ro)
# is `linkboot image add`ed (kernel and modules come out of the image, the
# initramfs is built with the agent), linked to a MAC, and a BIOS PC (QEMU
# TCG, SeaBIOS + the stock iPXE ROM, e1000) PXE-boots it from `linkboot
# serve --dhcp full`. Three images, one boot each:
#   ifupdown  "allow-hotplug eth0 / iface eth0 inet dhcp", net.ifnames=0
#   networkd  DHCP=yes on e*, predictable names (udev tries to rename the
#             NIC the agent already brought up)
#   nm        NetworkManager with its default DHCP "Wired connection"
#             (a second debootstrap tree: + dbus, polkitd, logind)
# Asserts for each:
#   - multi-user.target is reached (the image's report unit prints a marker)
#     with the link's hostname, on the agent's NBD root + RAM overlay
#   - after the image's networking came up the boot NIC still has the
#     agent's address (and no second one), and the agent still serves: a
#     32 MiB file read from the root then has the right md5sum
#   - no systemd unit failed (remount-fs, fsck, networking, wait-online...)
#   - a clean `systemctl poweroff` completes: QEMU exits (-no-reboot) with
#     "reboot: Power down", no nbd/ext4 I/O errors, no hung tasks.
#   - the first image only (LBDEB_LINKDOWN=0 skips it): after multi-user,
#     the PC's link goes down for 5 s, then for 60 s, while journald
#     writes a line a second and reads run with the page cache dropped:
#     the OS goes on, every line is in the journal, the payload reads
#     right after, no I/O or ext4 error.
# DEBIAN_NET="ifupdown nm ..." picks the images; DEBIAN_WRITE=MODE links
# the PCs with --write MODE (default ram; server: the root check expects
# the read-write NBD disk). LBDEB_KEEP=DIR keeps the serial and server
# logs; LBDEB_MEM=MiB sets the PC's RAM (default 1024; 512 boots too).
# Runtime here: ~3 min (+2 min for each first debootstrap), TCG on 2 busy
# cores; it prints its numbers.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

qemu_requires
e2e_requires_cli image client
requires sfdisk --version
requires mkfs.ext4 -V
requires debootstrap --version
[ -x "$LINKBOOT_AGENT" ] || skip "no $LINKBOOT_AGENT (make)"

QEMU_MEM=${LBDEB_MEM:-1024}	# lib-qemu.sh already set its 512 default
LB_STATE=$TMP/state
VARIANTS=${DEBIAN_NET:-ifupdown networkd nm}
T0=$(date +%s)

# add_image NET N: image debian-NET, linked to a new MAC ending in N (sets
# MAC_<NET> and NAME_<NET>)
add_image() {
	local net=$1 img=$TMP/debian-$1.img ifnames="" mac name
	# the debootstrap tree is cached: ~2 min the first time, then seconds
	DEBIAN_NET=$net "$TOP/scripts/mkdebian-image.sh" "$img" \
		>"$TMP/mkdebian-$net.log" 2>&1 || {
		tail -n 5 "$TMP/mkdebian-$net.log" >&2
		grep -q 'debootstrap failed' "$TMP/mkdebian-$net.log" &&
			skip "debootstrap failed (no Debian mirror reachable?)"
		die "scripts/mkdebian-image.sh ($net) failed"
	}
	cat "$TMP/mkdebian-$net.log"
	lbc image add "debian-$net" "$img" >"$TMP/image-add.log" 2>&1 ||
		{ cat "$TMP/image-add.log" >&2; die "image add debian-$net"; }
	rm -f "$img"	# the store has its own copy
	[ "$net" = ifupdown ] && ifnames=" net.ifnames=0"
	[ "$2" = 7 ] && [ "${LBDEB_LINKDOWN:-1}" = 1 ] && ifnames="$ifnames lbdeb.linkdown"
	echo "$ifnames" >"$TMP/cmdline-$net"
	lbc image set "debian-$net" --cmdline "console=ttyS0$ifnames lbdeb.poweroff" \
		>/dev/null || die "image set --cmdline"
	mac=$(e2e_mac "$2")
	name=deb-$net-$RANDOM
	lbc client add "$mac" --image "debian-$net" --name "$name" \
		${DEBIAN_WRITE:+--write "$DEBIAN_WRITE"} \
		>"$TMP/client-add.log" 2>&1 ||
		{ cat "$TMP/client-add.log" >&2; die "client add $mac"; }
	printf -v "MAC_$net" %s "$mac"
	printf -v "NAME_$net" %s "$name"
}

# link_down NET: the PC's cable pulled for 5 s, then for 60 s, while its
# report unit writes to the journal and reads (lbdeb.linkdown)
link_down() {
	local net=$1 log=$QEMU_LOG secs
	qemu_expect "$net" 'LBDEB: linkdown ready' 60
	for secs in 5 60; do
		sleep 5
		ip netns exec "$NS" ip link set tap0 down || die "tap0 down"
		echo "$net: link down for $secs s"
		sleep "$secs"
		ip netns exec "$NS" ip link set tap0 up || die "tap0 up"
	done
	qemu_expect "$net" 'LBDEB: linkdown ticks' 240
	assert_contains "$log" 'LBDEB: linkdown payload ok' "$net: reads right after the outages"
	assert_contains "$log" 'LBDEB: linkdown ticks 100 journal 100' "$net: journald kept writing through the outages"
	grep -q 'LBDEB: linkdown read failed' "$log" && die "$net: a read failed during an outage"
	LINKDOWN_DONE=1
}

# boot NET: PXE-boot the PC linked to debian-NET, check, power it off
boot() {
	local net=$1 mac name log multi_ms off_ms agent_addr bad i t
	mac=MAC_$net; mac=${!mac}
	name=NAME_$net; name=${!name}
	qemu_start_bios "$net" "$mac" tap0
	log=$QEMU_LOG
	[ -n "${LBDEB_KEEP:-}" ] &&
		cleanup_fn "mkdir -p $LBDEB_KEEP; cp $TMP/$net.serial.raw $TMP/linkboot.log $LBDEB_KEEP/"
	qemu_expect "$net" 'LBDEB: multi-user reached' 420
	multi_ms=$QEMU_MS
	grep -o 'LBDEB:.*' "$log" | grep -v 'LBDEB: journal'

	assert_contains "$log" "LBDEB: multi-user reached $name " \
		"$net: the link's hostname"
	case ${DEBIAN_WRITE:-ram} in
	ram|disk) assert_contains "$log" 'LBDEB: root overlay overlay ' \
		"$net: root is the agent's overlay" ;;
	*) assert_contains "$log" 'LBDEB: root /dev/nbd0p1 +ext4 +rw' \
		"$net: root is the NBD disk, read-write" ;;
	esac
	# the address the agent set is the NIC's only one (no second lease)
	agent_addr=$(grep -oE 'linkboot-agent: net: [a-z0-9]+ [0-9a-f:]+ [0-9./]+' "$log" |
		awk '{ print $NF; exit }')
	[ -n "$agent_addr" ] || die "$net: no 'linkboot-agent: net:' line on the console"
	assert_contains "$log" "LBDEB: ip [a-z0-9]+ ${agent_addr//./\\.}\$" \
		"$net: the boot NIC kept the agent's address $agent_addr"
	assert_eq "$(grep -c 'LBDEB: ip ' "$log")" 1 "$net: IPv4 addresses in the guest"
	assert_contains "$log" 'LBDEB: payload ok 33554432' \
		"$net: a 32 MiB file read after networking came up is intact"
	assert_contains "$log" 'LBDEB: systemctl ok' "$net: systemctl answers"
	if grep -q 'LBDEB: failed unit' "$log"; then
		grep -o 'LBDEB: journal.*' "$log" >&2
		die "$net: systemd units failed: $(grep -o 'LBDEB: failed unit.*' "$log" | cut -d' ' -f4 | tr '\n' ' ')"
	fi

	grep -q 'lbdeb.linkdown' "$TMP/cmdline-$net" 2>/dev/null && link_down "$net"

	# clean poweroff: systemd stops everything (networking too),
	# systemd-shutdown spares the agent ('@' argv[0]), the kernel powers
	# off and QEMU exits
	qemu_expect "$net" 'reboot: Power down' 180 \
		"poweroff did not complete: root pulled away?"
	off_ms=$QEMU_MS
	for ((i = 0; i < 50; i++)); do qemu_running || break; sleep 0.2; done
	qemu_running && { qemu_dump "$net" 30; die "$net: QEMU still runs after 'reboot: Power down'"; }
	# a pulled cable may cost the agent its connection: then it must
	# have come back; otherwise nothing may have been lost
	lost='linkboot-agent: nbd: server connection lost'
	if [ -n "${LINKDOWN_DONE:-}" ]; then
		grep -q "$lost" "$log" && { assert_contains "$log" \
			'linkboot-agent: nbd: reconnected after' "$net: the agent reconnected"; }
		lost='linkboot-agent: nbd: server unreachable for more than'
		LINKDOWN_DONE=
	fi
	for bad in 'blocked for more than' 'nbd[0-9]+: .*(timed out|Dead connection)' \
		'I/O error, dev nbd' 'EXT4-fs error' 'Kernel panic' "$lost"; do
		if grep -qE -- "$bad" "$log"; then
			grep -E -- "$bad" "$log" | head -n 5 >&2
			die "$net: serial log has '$bad'"
		fi
	done
	t=$(grep -o 'LBDEB: multi-user reached.*' "$log" | awk '{ print $NF }')
	echo "$net: QEMU start -> multi-user.target $((multi_ms / 1000)) s (guest uptime $t s), -> powered off $((off_ms / 1000)) s"
}

n=7
for net in $VARIANTS; do
	case $net in ifupdown|networkd|nm) ;; *) die "DEBIAN_NET=$net: ifupdown, networkd or nm" ;; esac
	add_image "$net" $((n++))
done

pxe_network 1
pxe_serve full

for net in $VARIANTS; do
	boot "$net"
done
echo "debian-systemd: $VARIANTS passed in $(( $(date +%s) - T0 )) s"
