#!/bin/bash
# Manual smoke test of linkboot's DHCP against real firmware (not run by
# tests/run.sh: QEMU TCG boots are slow). DHCP from linkboot, TFTP from
# dnsmasq (--port=0, no DHCP), HTTP from busybox httpd, all in a network
# namespace on 198.18.0.0/24; the boot script fetches a marker URL.
#
#   tests/tools/dhcp-qemu.sh full|proxy bios|efi|efihttp [own]
#
# own: linkboot serves TFTP and HTTP too (from /usr/lib/ipxe and the link
#      DB); success is its log showing the GET of /boot.ipxe?mac=...
#
# bios: SeaBIOS + the iPXE e1000 ROM (93=0, 77 iPXE, 175) -> script URL.
# efi:  OVMF's own virtio PXE (93=7) -> snponly.efi over TFTP -> iPXE
#       (77 iPXE) -> script URL.
# efihttp: OVMF with no TFTP server: PXEv4 fails, then UEFI HTTP boot
#       (93=16, HTTPClient) fetches snponly.efi over HTTP -> iPXE -> script.
# proxy adds dnsmasq as the site's DHCP server in a second namespace.
set -u
MODE=${1:?full|proxy} FW=${2:?bios|efi|efihttp} OWN=${3:-}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/lbqemu.XXXXXX)
NS=lbq$$ SITE=lbq$$s
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null; ip netns del "$SITE" 2>/dev/null
	echo "logs kept in $TMP"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge forward_delay 0
ip -n "$NS" addr add 198.18.0.1/24 dev br0
ip -n "$NS" link set br0 up
ip -n "$NS" tuntap add tap0 mode tap
ip -n "$NS" link set tap0 master br0 up
if [ "$MODE" = proxy ]; then
	ip netns add "$SITE"
	ip -n "$NS" link add psite type veth peer name eth0 netns "$SITE"
	ip -n "$NS" link set psite master br0 up
	ip -n "$SITE" link set lo up
	ip -n "$SITE" addr add 198.18.0.2/24 dev eth0
	ip -n "$SITE" link set eth0 up
	ip netns exec "$SITE" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--user=root --interface=eth0 --bind-interfaces --no-ping \
		--dhcp-range=198.18.0.150,198.18.0.159,255.255.255.0,1h \
		--dhcp-leasefile="$TMP/site.leases" --log-dhcp >"$TMP/site.log" 2>&1 &
	PIDS+=($!)
fi
mkdir -p "$TMP/www" "$TMP/state"
cat >"$TMP/www/boot.ipxe" <<'EOS'
#!ipxe
echo linkboot dhcp smoke: ${mac} ${platform}
chain http://198.18.0.1:8080/done-${mac}-${platform}
EOS
if [ "$OWN" = own ]; then
	: >"$TMP/tftp.log"; : >"$TMP/http.log"
elif [ "$FW" = efihttp ]; then
	ln -s /usr/lib/ipxe/snponly.efi "$TMP/www/snponly.efi"
	: >"$TMP/tftp.log"
else
	ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--user=root --interface=br0 --bind-interfaces --enable-tftp \
		--tftp-root=/usr/lib/ipxe --log-facility=- >"$TMP/tftp.log" 2>&1 &
	PIDS+=($!)
fi
TFTPPORT=0
if [ "$OWN" = own ]; then
	TFTPPORT=69
else
	ip netns exec "$NS" busybox httpd -f -vv -p 198.18.0.1:8080 -h "$TMP/www" \
		>"$TMP/http.log" 2>&1 &
	PIDS+=($!)
	sleep 0.5	# busybox httpd has the port before linkboot tries it
fi
ip netns exec "$NS" "$TOP/build/linkboot" serve --state "$TMP/state" \
	--listen 198.18.0.1 --interface br0 --dhcp "$MODE" \
	--dhcp-range 198.18.0.100,198.18.0.109 --http-port 8080 \
	--tftp-port $TFTPPORT --ipxe-dir /usr/lib/ipxe -v \
	>"$TMP/linkboot.log" 2>&1 &
PIDS+=($!)
sleep 1

case $FW in
bios) FWARGS=(-device e1000,netdev=n0,mac=52:54:00:00:00:b1 -boot n) ;;
efi|efihttp) FWARGS=(-bios /usr/share/ovmf/OVMF.fd
	      -device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:e1,romfile=,bootindex=0) ;;
esac
start=$(date +%s.%N)
ip netns exec "$NS" timeout 240 qemu-system-x86_64 -accel tcg -m 512 \
	-display none -serial file:"$TMP/serial.log" -no-reboot \
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no "${FWARGS[@]}" &
QPID=$!
PIDS+=($QPID)
ok=1
for ((i = 0; i < 2300; i++)); do
	grep -q 'done-' "$TMP/http.log" && { ok=0; break; }
	[ "$OWN" = own ] && grep -q 'GET "/boot.ipxe?mac=' "$TMP/linkboot.log" &&
		{ ok=0; break; }
	kill -0 $QPID 2>/dev/null || break
	sleep 0.1
done
end=$(date +%s.%N)
echo "== $MODE $FW: $([ $ok = 0 ] && echo OK || echo FAILED) after $(echo "$end - $start" | bc) s"
echo "-- linkboot:"; grep -E 'dhcp .*->|ra ' "$TMP/linkboot.log" | grep -v 'ra:' | head -20
echo "-- tftp:"; grep -ih 'sent' "$TMP/tftp.log" "$TMP/linkboot.log" | head -5
grep -E '^[0-9:.]+ linkboot: http ' "$TMP/linkboot.log" | head -5
echo "-- http:"; grep -E 'GET|url' "$TMP/http.log" | head -5
exit $ok
