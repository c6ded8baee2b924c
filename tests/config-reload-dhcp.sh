#!/bin/bash
# SIGHUP reload of the DHCP options (full mode, in a network namespace):
# efi_loader, dhcp_netmask and dhcp_lease_time change what the next offer
# says (dhcp_probe), while a new dhcp_range is logged as needing a restart
# and offers stay in the old range. The DHCP service held pointers to the
# loader names, which a reload frees: run under ASan to catch a stale one
# (LINKBOOT=build/asan/linkboot).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
[ -x "$DHCP_PROBE" ] || skip "build $DHCP_PROBE first (make)"

netns_lan srv cli
netns_addr srv 198.18.0.1/24
netns_addr cli 198.18.0.9/24
linkboot_in_ns srv

CONF=$TMP/linkboot.conf
write_conf() {	# write_conf EFI_LOADER NETMASK LEASE_TIME RANGE_END
	cat >"$CONF.new" <<EOF
[dhcp]
dhcp_range = 198.18.0.100,$4
dhcp_netmask = $2
dhcp_lease_time = $3
efi_loader = $1
EOF
	mv "$CONF.new" "$CONF"
}
write_conf snponly.efi 255.255.255.128 3600 198.18.0.109
LB_LISTEN=198.18.0.1 LB_DHCP=full start_linkboot --interface eth0 --config "$CONF"
EFI_VC=$(printf 'PXEClient:Arch:00007:UNDI:003000' | od -An -tx1 | tr -d ' \n')

offer() {	# offer MAC: an EFI PXE client's DISCOVER, the answer in $TMP/p.out
	probe cli -m "$1" -x 93:0007 -x 60:$EFI_VC >"$TMP/p.out" ||
		die "no offer for $1"
}
offer 02:00:00:00:0b:01
assert_eq "$(kv "$TMP/p.out" file)" snponly.efi "loader before"
assert_eq "$(kv "$TMP/p.out" opt1)" 255.255.255.128 "netmask before"
assert_eq "$(kv "$TMP/p.out" opt51)" 00000e10 "lease time before (3600)"

write_conf other.efi 255.255.255.0 600 198.18.0.119
kill -HUP "$LB_PID"
wait_for 10 grep -q 'reloaded (' "$LB_LOG" || die "no reload"
assert_contains "$LB_LOG" "reload: efi_loader = 'other.efi' \(was 'snponly.efi'\)" "efi_loader"
assert_contains "$LB_LOG" "reload: dhcp_range changed \('198.18.0.100,198.18.0.109' -> '198.18.0.100,198.18.0.119'\): takes effect after a restart" \
	"dhcp_range needs a restart"
assert_contains "$LB_LOG" "reloaded \(3 options changed live\)" "three live changes"
for i in 2 3; do	# twice: the old strings are gone by now
	offer 02:00:00:00:0b:0$i
	assert_eq "$(kv "$TMP/p.out" file)" other.efi "loader after the reload"
	assert_eq "$(kv "$TMP/p.out" opt1)" 255.255.255.0 "netmask after the reload"
	assert_eq "$(kv "$TMP/p.out" opt51)" 00000258 "lease time after the reload (600)"
	case "$(kv "$TMP/p.out" yiaddr)" in
	198.18.0.10[0-9]) ;;
	*) die "offer $(kv "$TMP/p.out" yiaddr) outside the running range" ;;
	esac
done
assert_alive "after the reload"
echo "PASS: $TEST_NAME"
