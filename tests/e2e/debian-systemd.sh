#!/bin/bash
# A real distribution boots diskless: a minimal Debian 12 with systemd,
# udev, its stock kernel and its own network setup (scripts/
# mkdebian-image.sh: ifupdown with "iface eth0 inet dhcp", fstab by UUID
# with fsck pass 1 and errors=remount-ro) is `linkboot image add`ed (the
# kernel and modules come out of the image, the initramfs is built with
# the agent), linked to a MAC, and a BIOS PC (QEMU TCG, SeaBIOS + the stock
# iPXE ROM, e1000) PXE-boots it from `linkboot serve --dhcp full`.
# Asserts:
#   - multi-user.target is reached (the image's report unit prints a marker)
#     with the link's hostname, on the read-only NBD root + RAM overlay
#   - after the image's networking came up the boot NIC still has its
#     address and the agent still serves: a 32 MiB file read from the root
#     then has the right md5sum
#   - no systemd unit failed (remount-fs, fsck, networking, ...)
#   - a clean `systemctl poweroff` completes: QEMU exits (-no-reboot) with
#     "reboot: Power down", no nbd/ext4 I/O errors, no hung tasks.
# DEBIAN_NET=networkd builds the image with systemd-networkd instead.
# Runtime here: see the report line it prints (TCG, 2 busy cores).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

qemu_requires
e2e_requires_cli image client
requires sfdisk --version
requires mkfs.ext4 -V
requires debootstrap --version
[ -x "$LINKBOOT_AGENT" ] || skip "no $LINKBOOT_AGENT (make)"

QEMU_MEM=${QEMU_MEM:-1024}
LB_STATE=$TMP/state
MAC=$(e2e_mac 7)
NAME=deb-pc-$RANDOM
T0=$(date +%s)

# The image (the debootstrap tree is cached: ~2 min the first time).
IMG=$TMP/debian.img
"$TOP/scripts/mkdebian-image.sh" "$IMG" >"$TMP/mkdebian.log" 2>&1 || {
	tail -n 5 "$TMP/mkdebian.log" >&2
	grep -q 'debootstrap failed' "$TMP/mkdebian.log" &&
		skip "debootstrap failed (no Debian mirror reachable?)"
	die "scripts/mkdebian-image.sh failed"
}
cat "$TMP/mkdebian.log"

lbc image add debian "$IMG" >"$TMP/image-add.log" 2>&1 ||
	{ cat "$TMP/image-add.log" >&2; die "image add"; }
rm -f "$IMG"	# the store has its own copy
lbc image set debian --cmdline "console=ttyS0 net.ifnames=0 lbdeb.poweroff" \
	>/dev/null || die "image set --cmdline"
lbc client add "$MAC" --image debian --name "$NAME" >"$TMP/client-add.log" 2>&1 ||
	{ cat "$TMP/client-add.log" >&2; die "client add $MAC"; }

net_setup
net_add_tap tap0
e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199
e2e_requires_ports udp:67 tcp:80 tcp:10809

qemu_start_bios debian "$MAC" tap0
# LBDEB_KEEP=DIR keeps the serial and server logs (debugging)
[ -n "${LBDEB_KEEP:-}" ] &&
	cleanup_fn "mkdir -p $LBDEB_KEEP; cp $TMP/debian.serial.raw $TMP/linkboot.log $LBDEB_KEEP/"
if ! qemu_wait 'LBDEB: multi-user reached' 420; then
	qemu_dump debian 80
	die "no 'LBDEB: multi-user reached' on the serial console within 420 s"
fi
multi_ms=$QEMU_MS
grep '^LBDEB:' "$QEMU_LOG"

assert_contains "$QEMU_LOG" "^LBDEB: multi-user reached $NAME " "the link's hostname"
assert_contains "$QEMU_LOG" '^LBDEB: root overlay overlay ' "root is the agent's overlay"
assert_contains "$QEMU_LOG" '^LBDEB: ip eth0 198\.18\.0\.[0-9]+/24' \
	"the boot NIC kept its address after the image's networking"
assert_contains "$QEMU_LOG" '^LBDEB: payload ok 33554432' \
	"a 32 MiB file read after networking came up is intact"
if grep -q '^LBDEB: failed unit' "$QEMU_LOG"; then
	die "systemd units failed: $(grep '^LBDEB: failed unit' "$QEMU_LOG" | cut -d' ' -f4 | tr '\n' ' ')"
fi

# clean poweroff: systemd stops everything, systemd-shutdown spares the
# agent ('@' argv[0]), and the kernel powers off (QEMU exits)
if ! qemu_wait 'reboot: Power down' 180; then
	qemu_dump debian 60
	die "poweroff did not complete within 180 s (root pulled away?)"
fi
for ((i = 0; i < 50 && $(qemu_running && echo 1 || echo 0); i++)); do sleep 0.2; done
qemu_running && { qemu_dump debian 30; die "QEMU still runs after 'reboot: Power down'"; }
off_ms=$QEMU_MS
for bad in 'blocked for more than' 'nbd[0-9]*: .*(timed out|Connection timed out|Dead connection)' \
	'I/O error, dev nbd' 'EXT4-fs error' 'Kernel panic' 'linkboot-agent.*(died|killed)'; do
	if grep -qE -- "$bad" "$QEMU_LOG"; then
		grep -E -- "$bad" "$QEMU_LOG" | head -n 5 >&2
		die "serial log has '$bad'"
	fi
done

echo "debian: QEMU start -> multi-user.target $((multi_ms / 1000)) s, -> powered off $((off_ms / 1000)) s; test $(( $(date +%s) - T0 )) s"
