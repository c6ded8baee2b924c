#!/bin/bash
# proxyDHCP: the site's DHCP server (dnsmasq, addresses only, no boot
# options) runs on another host of the segment (a second netns at
# 198.18.0.2); `linkboot serve --dhcp proxy` adds the boot information.
# A BIOS PC (SeaBIOS + iPXE ROM) gets its address from dnsmasq and still
# boots the test initramfs linked to its MAC.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

pxe_requires
requires dnsmasq --version
MAC=$(e2e_mac 1)
pxe_marker_image PROXY "$MAC"
pxe_network 1
net_add_peer_ns 198.18.0.2
# addresses only: no dhcp-boot, no PXE service, no DNS (--port=0), no ping
ip netns exec "$PEER_NS" dnsmasq --no-daemon --port=0 --no-ping \
	--conf-file=/dev/null --interface=eth0 --bind-interfaces \
	--dhcp-range=198.18.0.150,198.18.0.180,255.255.255.0,10m \
	--dhcp-leasefile="$TMP/dnsmasq.leases" --log-dhcp \
	>"$TMP/dnsmasq.log" 2>&1 &
cleanup_fn "kill $!"

pxe_serve proxy

qemu_start_bios proxy "$MAC" tap0
e2e_boot_marker proxy 180

# the address came from dnsmasq's range, the boot from linkboot
assert_contains "$TMP/dnsmasq.log" "DHCPACK\(eth0\) 198\.18\.0\.1[5-8][0-9] $MAC" "dnsmasq leased the address"
assert_contains "$QEMU_LOG" "net0: 198\.18\.0\.1[5-8][0-9]/" "iPXE uses dnsmasq's address"
assert_contains "$QEMU_LOG" "^cmdline: .*linkboot\.mac=$MAC" "linkboot.mac= of this PC"
