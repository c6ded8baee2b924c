#!/bin/bash
# The IPv6 router-solicitation responder: an RS to ff02::2 gets an RA with
# router lifetime 0, from a link-local address, with hop limit 255. With
# --router-advert no there is none. Also: --dhcp off binds no DHCP port.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

RA_PROBE=$TOP/build/tests/tools/ra_probe
requires_root
requires ip netns list
[ -x "$RA_PROBE" ] || skip "build $RA_PROBE first (make)"

netns_lan srv cli
netns_addr srv 198.18.0.1/24
# wait for IPv6 DAD on both ends: a tentative link-local cannot send
no_tentative() { [ -z "$(ip -n "$1" -6 addr show tentative)" ]; }
wait_for 10 no_tentative "$NS_srv" && wait_for 10 no_tentative "$NS_cli" ||
	skip "IPv6 link-local addresses never left DAD"
ip -n "$NS_srv" -6 addr show dev eth0 scope link | grep -q fe80 ||
	skip "no IPv6 on veth"

linkboot_in_ns srv
LB_LISTEN=198.18.0.1 LB_DHCP=off start_linkboot --interface eth0 -v
timeout 20 ip netns exec "$NS_cli" "$RA_PROBE" -i eth0 >"$TMP/ra.out" ||
	die "no RA answer to an RS"
assert_eq "$(kv "$TMP/ra.out" lifetime)" 0 "router lifetime"
assert_eq "$(kv "$TMP/ra.out" hoplimit)" 255 "RA hop limit"
case "$(kv "$TMP/ra.out" from)" in fe80:*) ;; *)
	die "RA not from a link-local address: $(kv "$TMP/ra.out" from)" ;; esac
assert_contains "$LB_LOG" "RS -> RA" "RA logged"

# --dhcp off: no DHCP sockets at all
in_ns srv ss -Hlun >"$TMP/ss.out"
grep -qE ':(67|4011)\b' "$TMP/ss.out" && die "--dhcp off still binds: $(cat "$TMP/ss.out")"

# --router-advert no: silence
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
# start_linkboot truncates the log in the background child: move the old
# one away so its "serving at" cannot satisfy the wait for the new one
mv "$LB_LOG" "$LB_LOG.1"
LB_LISTEN=198.18.0.1 LB_DHCP=off start_linkboot --interface eth0 --router-advert=no
timeout 20 ip netns exec "$NS_cli" "$RA_PROBE" -i eth0 -w 1000 >/dev/null &&
	die "RA sent with --router-advert no"
assert_alive "after RA checks"
echo "ok: dhcp-ra"
