#!/bin/bash
# proxyDHCP: the site's DHCP server (dnsmasq, addresses only, no boot
# options) runs on another host of the segment (a second netns at
# 198.18.0.2); `linkboot serve --dhcp proxy` adds the boot information.
# A BIOS PC (SeaBIOS + iPXE ROM) gets its address from dnsmasq and still
# boots the test initramfs linked to its MAC.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

qemu_requires
e2e_requires_cli image client
e2e_kernel
requires dnsmasq --version
requires sfdisk --version
requires mkfs.ext4 -V

LB_STATE=$TMP/state
MARKER=LINKBOOT-E2E-PROXY-$RANDOM
MAC=$(e2e_mac 1)
e2e_link_marker_client "$MAC" "$MARKER"

net_setup
net_add_tap tap0
net_add_peer_ns 198.18.0.2
# addresses only: no dhcp-boot, no PXE service, no DNS (--port=0), no ping
ip netns exec "$PEER_NS" dnsmasq --no-daemon --port=0 --no-ping \
	--conf-file=/dev/null --interface=eth0 --bind-interfaces \
	--dhcp-range=198.18.0.150,198.18.0.180,255.255.255.0,10m \
	--dhcp-leasefile="$TMP/dnsmasq.leases" --log-dhcp \
	>"$TMP/dnsmasq.log" 2>&1 &
cleanup_fn "kill $!"

e2e_start_server --dhcp proxy
e2e_requires_ports udp:67 tcp:80

qemu_start_bios proxy "$MAC" tap0
e2e_boot_marker proxy "$MARKER" 180

# the address came from dnsmasq's range, the boot from linkboot
assert_contains "$TMP/dnsmasq.log" "DHCPACK\(eth0\) 198\.18\.0\.1[5-8][0-9] $MAC" "dnsmasq leased the address"
assert_contains "$QEMU_LOG" "net0: 198\.18\.0\.1[5-8][0-9]/" "iPXE uses dnsmasq's address"
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC" "linkboot.mac= of this PC"
