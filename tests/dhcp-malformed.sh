#!/bin/bash
# Malformed DHCP packets (truncated, no cookie, option lengths past the end,
# bad message type, hlen > 16, oversized, a BOOTREPLY, empty) on 67 and
# 4011: each is dropped with a debug line, and the server stays alive and
# keeps answering.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
[ -x "$DHCP_PROBE" ] || skip "build $DHCP_PROBE first (make)"

netns_lan srv cli
netns_addr srv 198.18.0.1/24
netns_addr cli 198.18.0.9/24
linkboot_in_ns srv
LB_LISTEN=198.18.0.1 LB_DHCP=full start_linkboot --interface eth0 \
	--dhcp-range 198.18.0.100,198.18.0.109 -v

# fixed header (op htype hlen hops xid ... chaddr sname file) + cookie
hdr() {
	printf "\\x$1\\x01\\x$2\\x00\\x12\\x34\\x56\\x78"
	head -c 20 /dev/zero
	printf '\x52\x54\x00\xaa\xbb\xcc'
	head -c $((10 + 64 + 128)) /dev/zero
	printf '\x63\x82\x53\x63'
}
P=$TMP/pkt
mkdir -p "$P"
{ hdr 01 06; printf '\x35\x01\x01\x3c\x09PXEClient\xff'; } >"$P/valid"
head -c 100 "$P/valid" >"$P/truncated"
head -c 239 "$P/valid" >"$P/no-cookie-room"
{ head -c 236 "$P/valid"; printf 'XXXX\x35\x01\x01\xff'; } >"$P/bad-cookie"
{ hdr 01 06; printf '\x35\x01\x01\x3c\x40PXEClient'; } >"$P/optlen-past-end"
{ hdr 01 06; printf '\x35\x01\x01\x3c'; } >"$P/optlen-missing"
{ hdr 01 06; printf '\x35\x01\x63\xff'; } >"$P/bad-type"
{ hdr 01 06; printf '\x35\x02\x01\x01\xff'; } >"$P/bad-type-len"
{ hdr 01 ff; printf '\x35\x01\x01\xff'; } >"$P/hlen-255"
{ hdr 02 06; printf '\x35\x01\x02\xff'; } >"$P/bootreply"
{ hdr 01 06; printf '\x35\x01\x01\x34\x01\x01\xff'; } >"$P/overload-garbage"
printf 'z' | dd of="$P/overload-garbage" bs=1 seek=$((108 + 126)) conv=notrunc 2>/dev/null
{ hdr 01 06; printf '\x35\x01\x01'; head -c 2000 /dev/zero; } >"$P/oversized"
: >"$P/empty"

n=0
for f in "$P"/*; do
	[ "$(basename "$f")" = valid ] && continue
	for port in 67 4011; do
		probe cli -r "$f" -s 198.18.0.1 -p $port -l 0 || die "could not send $f"
		n=$((n + 1))
	done
done
probe cli -r "$P/truncated" -l 0 || die "could not broadcast"

# still alive, still answering a well-formed DISCOVER
probe cli -m 52:54:00:aa:bb:cd -x 60:505845436c69656e74 -x 93:0000 >"$TMP/ok.out" ||
	die "no answer after $n malformed packets"
assert_eq "$(kv "$TMP/ok.out" type)" OFFER "answer after malformed packets"
assert_alive "after malformed packets"
drops=$(grep -c 'dropped' "$LB_LOG")
[ "$drops" -ge 20 ] || die "expected >= 20 'dropped' debug lines, got $drops"
assert_contains "$LB_LOG" "option longer than the bytes left" "option length check"
assert_contains "$LB_LOG" "oversized" "oversized check"
assert_contains "$LB_LOG" "without the magic cookie" "cookie check"
echo "ok: dhcp-malformed ($n packets, $drops drops)"
