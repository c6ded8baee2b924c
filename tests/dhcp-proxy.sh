#!/bin/bash
# linkboot serve --dhcp proxy beside dnsmasq (the site's DHCP server, no
# boot options): a PXE client gets its address from dnsmasq and a proxy
# offer from us (option 60 PXEClient, siaddr, file, 43, 97 echoed, yiaddr
# 0); the 4011 REQUEST gets an ACK; non-PXE clients get nothing from us.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
requires busybox udhcpc --help
requires dnsmasq --version
[ -x "$DHCP_PROBE" ] || skip "build $DHCP_PROBE first (make)"

netns_lan srv site cli
netns_addr srv 198.18.0.1/24
netns_addr site 198.18.0.2/24
netns_addr cli 198.18.0.9/24

# the site's DHCP server: addresses only, no DNS (--port=0), no ping delay
in_ns site dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
	--interface=eth0 --bind-interfaces --no-ping --dhcp-authoritative \
	--dhcp-range=198.18.0.150,198.18.0.159,255.255.255.0,1h \
	--dhcp-leasefile="$TMP/dnsmasq.leases" --pid-file="$TMP/dnsmasq.pid" \
	--log-dhcp >"$TMP/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!
cleanup_fn "kill $DNSMASQ_PID; wait $DNSMASQ_PID"
wait_for 10 grep -q 'DHCP, IP range' "$TMP/dnsmasq.log" || die "dnsmasq did not start"

linkboot_in_ns srv
# no --interface: replies leave by the arrival interface (IP_PKTINFO)
LB_LISTEN=198.18.0.1 LB_DHCP=proxy start_linkboot -v
URL="http://198.18.0.1:$LB_HTTP_PORT"
climac=$(in_ns cli cat /sys/class/net/eth0/address)
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
BIOS_VC=$(hex 'PXEClient:Arch:00000:UNDI:002001')
EFI_VC=$(hex 'PXEClient:Arch:00007:UNDI:003000')
HTTP_VC=$(hex 'HTTPClient:Arch:00016:UNDI:003000')
UUID=00112233445566778899aabbccddeeff00
ME=198.18.0.1 SITE=198.18.0.2

# --- a BIOS PXE DISCOVER: the proxy offer (from us) ...
probe cli -m 52:54:00:00:00:01 -F $ME -x 60:$BIOS_VC -x 93:0000 \
	-x 97:$UUID -x 94:010201 >"$TMP/po.out" || die "no proxy offer"
assert_eq "$(kv "$TMP/po.out" type)" OFFER "proxy offer type"
assert_eq "$(kv "$TMP/po.out" yiaddr)" 0.0.0.0 "proxy offer yiaddr"
assert_eq "$(kv "$TMP/po.out" siaddr)" $ME "proxy offer siaddr"
assert_eq "$(kv "$TMP/po.out" file)" undionly.kpxe "proxy offer file"
assert_eq "$(kv "$TMP/po.out" opt60)" PXEClient "proxy offer option 60"
assert_eq "$(kv "$TMP/po.out" opt43)" 060108ff "proxy offer option 43"
assert_eq "$(kv "$TMP/po.out" opt97)" $UUID "proxy offer echoes option 97"
assert_eq "$(kv "$TMP/po.out" opt54)" $ME "proxy offer option 54"
assert_contains "$LB_LOG" "dhcp 52:54:00:00:00:01: DISCOVER arch 0 \(BIOS\) -> proxy offer undionly.kpxe" "log line"
# ... and the same DISCOVER still gets an address from the site's server
probe cli -m 52:54:00:00:00:01 -F $SITE -x 60:$BIOS_VC -x 93:0000 >"$TMP/so.out" ||
	die "no offer from dnsmasq"
case "$(kv "$TMP/so.out" yiaddr)" in 198.18.0.15[0-9]) ;; *)
	die "dnsmasq offered $(kv "$TMP/so.out" yiaddr)" ;; esac

# --- the 4011 round: REQUEST from the client's address -> ACK
probe cli -m 52:54:00:00:00:01 -s $ME -p 4011 -l 4011 -c 198.18.0.9 -t request \
	-x 60:$BIOS_VC -x 93:0000 -x 97:$UUID >"$TMP/pa.out" || die "no ACK on 4011"
assert_eq "$(kv "$TMP/pa.out" type)" ACK "4011 answer type"
assert_eq "$(kv "$TMP/pa.out" from)" "$ME:4011" "4011 answer source"
assert_eq "$(kv "$TMP/pa.out" file)" undionly.kpxe "4011 ACK file"
assert_eq "$(kv "$TMP/pa.out" opt60)" PXEClient "4011 ACK option 60"
assert_eq "$(kv "$TMP/pa.out" siaddr)" $ME "4011 ACK siaddr"
assert_eq "$(kv "$TMP/pa.out" yiaddr)" 0.0.0.0 "4011 ACK yiaddr"

# --- an arch we have no boot file for (6, EFI ia32): no answer, and
# `linkboot why` says so
probe cli -m 52:54:00:00:00:06 -F $ME -x 60:$(hex 'PXEClient:Arch:00006:UNDI:003000') \
	-x 93:0006 >"$TMP/ia32.out" 2>&1 && die "an EFI ia32 PC got a proxy offer"
assert_contains "$LB_LOG" "dhcp 52:54:00:00:00:06: DISCOVER arch 6 \(EFI ia32\) -> ignored \(no boot file for this arch\)" "ia32: log line"
lb why 52:54:00:00:00:06 -j >"$TMP/why6.json" || die "why"
assert_contains "$TMP/why6.json" "no answer to DISCOVER arch 6 \(EFI ia32\): no boot file for this arch" "why: the unanswered request"

# --- OVMF PXE (arch 7), OVMF HTTP boot (16), iPXE (77 + 175) as proxy
probe cli -m 52:54:00:00:00:07 -F $ME -x 60:$EFI_VC -x 93:0007 >"$TMP/e.out" ||
	die "no proxy offer for EFI"
assert_eq "$(kv "$TMP/e.out" file)" snponly.efi "EFI proxy file"
probe cli -m 52:54:00:00:00:10 -F $ME -x 60:$HTTP_VC -x 93:0010 >"$TMP/h.out" ||
	die "no proxy offer for HTTP boot"
assert_eq "$(kv "$TMP/h.out" file)" "$URL/snponly.efi" "HTTP boot URL"
assert_eq "$(kv "$TMP/h.out" opt60)" HTTPClient "HTTP boot option 60"
probe cli -m 52:54:00:00:00:aa -F $ME -x 60:$BIOS_VC -x 93:0000 -x 77:$(hex iPXE) \
	-x 175:b10101eb0101 >"$TMP/x.out" || die "no proxy offer for iPXE"
assert_eq "$(kv "$TMP/x.out" file)" "$URL/boot.ipxe?mac=52:54:00:00:00:aa" "iPXE script URL"
assert_eq "$(kv "$TMP/x.out" opt175)" b00101ff "iPXE 175.176"
assert_eq "$(kv "$TMP/x.out" opt60)" PXEClient "iPXE proxy option 60"

# --- non-PXE clients: nothing from us (dnsmasq still answers them)
probe cli -m 52:54:00:00:00:02 -F $ME -w 1500 -n ||
	die "proxy answered a non-PXE client"
probe cli -m 52:54:00:00:00:02 -F $SITE >/dev/null || die "dnsmasq did not answer"
assert_contains "$LB_LOG" "52:54:00:00:00:02: DISCOVER without PXEClient" "non-PXE logged"

# --- busybox udhcpc (not PXE) gets its lease from the site's server while
# the proxy runs. (udhcpc takes the first OFFER, even one with yiaddr 0, so
# PXE-flavoured udhcpc runs beside a proxy are left to dhcp_probe above.)
udhcpc_in_ns cli plain ||
	die "udhcpc got no lease beside the proxy: $(cat "$TMP/plain.udhcpc.log")"
case "$(kv "$TMP/plain.env" ip)" in 198.18.0.15[0-9]) ;; *)
	die "udhcpc lease $(kv "$TMP/plain.env" ip) not from dnsmasq" ;; esac
assert_eq "$(kv "$TMP/plain.env" serverid)" $SITE "udhcpc lease from dnsmasq"
assert_contains "$LB_LOG" "dhcp $climac: DISCOVER without PXEClient" "udhcpc not proxied"
assert_alive "after the proxy run"
echo "ok: dhcp-proxy"
