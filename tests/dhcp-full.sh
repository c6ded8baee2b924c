#!/bin/bash
# linkboot serve --dhcp full in a network namespace: busybox udhcpc and
# dhcp_probe get leases and the right boot file for BIOS, EFI, HTTP boot
# and iPXE; no address is handed out twice; RELEASE, renew, INFORM, relay;
# leases survive a restart (dhcp.leases).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
requires busybox udhcpc --help
[ -x "$DHCP_PROBE" ] || skip "build $DHCP_PROBE first (make)"

netns_lan srv cli
netns_addr srv 198.18.0.1/24
netns_addr cli 198.18.0.9/24
linkboot_in_ns srv
# a /25 on the wire so that 198.18.0.200 counts as "another network" below
LB_LISTEN=198.18.0.1 LB_DHCP=full start_linkboot --interface eth0 \
	--dhcp-range 198.18.0.100,198.18.0.119 --dhcp-router 198.18.0.1 \
	--dhcp-netmask 255.255.255.128 -v
URL="http://198.18.0.1:$LB_HTTP_PORT"
climac=$(in_ns cli cat /sys/class/net/eth0/address)
BIOS_VC=$(printf 'PXEClient:Arch:00000:UNDI:002001' | od -An -tx1 | tr -d ' \n')
EFI_VC=$(printf 'PXEClient:Arch:00007:UNDI:003000' | od -An -tx1 | tr -d ' \n')
HTTP_VC=$(printf 'HTTPClient:Arch:00016:UNDI:003000' | od -An -tx1 | tr -d ' \n')
IPXE_UC=69505845		# "iPXE"
LINKBOOT_UC=6c696e6b626f6f74	# "linkboot"

in_range() { case "$1" in 198.18.0.1[01][0-9]) return 0 ;; esac; return 1; }

# --- udhcpc as a BIOS PXE ROM: lease + undionly.kpxe over TFTP
udhcpc_in_ns cli bios -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000 ||
	die "udhcpc (BIOS) got no lease: $(cat "$TMP/bios.udhcpc.log")"
bios_ip=$(kv "$TMP/bios.env" ip)
in_range "$bios_ip" || die "BIOS lease $bios_ip outside the range"
assert_eq "$(kv "$TMP/bios.env" boot_file)" undionly.kpxe "BIOS boot file"
assert_eq "$(kv "$TMP/bios.env" siaddr)" 198.18.0.1 "BIOS siaddr"
assert_eq "$(kv "$TMP/bios.env" vendor)" PXEClient "BIOS option 60"
assert_eq "$(kv "$TMP/bios.env" opt43)" 060108ff "PXE discovery control"
assert_eq "$(kv "$TMP/bios.env" router)" 198.18.0.1 "option 3"
assert_eq "$(kv "$TMP/bios.env" lease)" 3600 "option 51"
assert_eq "$(kv "$TMP/bios.env" subnet)" 255.255.255.128 "option 1"
assert_contains "$LB_LOG" "dhcp $climac: DISCOVER arch 0 \(BIOS\) -> offer $bios_ip undionly.kpxe" "log line"
# dhcp.leases is rewritten by a tick, within a second of the change
wait_for 5 grep -q "^$climac $bios_ip " "$LB_STATE/dhcp.leases" ||
	die "lease not persisted in dhcp.leases"
# the boot event is in the link DB for `linkboot status`
if command -v sqlite3 >/dev/null && [ -f "$LB_STATE/linkboot.db" ]; then
	sqlite3 "$LB_STATE/linkboot.db" \
		"SELECT detail FROM events WHERE kind = 'dhcp' AND mac = '$climac'" \
		>"$TMP/events.out" 2>&1
	assert_contains "$TMP/events.out" "ack arch 0 \(BIOS\) $bios_ip undionly.kpxe" "DB boot event"
fi

# --- the same client again keeps its address
udhcpc_in_ns cli again -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000 ||
	die "udhcpc (again) got no lease"
assert_eq "$(kv "$TMP/again.env" ip)" "$bios_ip" "same MAC, same address"

# --- a plain DHCP client: a lease, no boot file
udhcpc_in_ns cli plain || die "udhcpc (plain) got no lease"
assert_eq "$(kv "$TMP/plain.env" ip)" "$bios_ip" "plain lease"
assert_eq "$(kv "$TMP/plain.env" boot_file)" "" "no boot file for non-PXE"

# --- iPXE (user-class iPXE): the script URL, 175.176 = 1
udhcpc_in_ns cli ipxe -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000 \
	-x 0x4d:$IPXE_UC || die "udhcpc (iPXE) got no lease"
assert_eq "$(kv "$TMP/ipxe.env" boot_file)" "$URL/boot.ipxe?mac=$climac" "iPXE script URL"
assert_eq "$(kv "$TMP/ipxe.env" opt175)" b00101ff "iPXE no-proxyDHCP-wait"

# --- option 93 variants through the probe (one MAC each)
p() { probe cli "$@" -x 60:$EFI_VC >"$TMP/p.out" || die "no reply to probe $*"; }
p -m 02:00:00:00:00:07 -x 93:0007
assert_eq "$(kv "$TMP/p.out" file)" snponly.efi "arch 7"
assert_eq "$(kv "$TMP/p.out" type)" OFFER "arch 7 type"
p -m 02:00:00:00:00:09 -x 93:0009
assert_eq "$(kv "$TMP/p.out" file)" snponly.efi "arch 9 (errata)"
p -m 02:00:00:00:00:0b -x 93:000b
assert_eq "$(kv "$TMP/p.out" file)" arm64-efi/snponly.efi "arch 11"
probe cli -m 02:00:00:00:00:10 -x 93:0010 -x 60:$HTTP_VC >"$TMP/p.out" ||
	die "no reply to HTTP boot"
assert_eq "$(kv "$TMP/p.out" file)" "$URL/snponly.efi" "arch 16 URL"
assert_eq "$(kv "$TMP/p.out" opt60)" HTTPClient "arch 16 option 60"
p -m 02:00:00:00:00:ee -x 93:0007 -x 77:$LINKBOOT_UC
assert_eq "$(kv "$TMP/p.out" file)" "$URL/boot.ipxe?mac=02:00:00:00:00:ee" "linkboot iPXE"
assert_eq "$(kv "$TMP/p.out" opt175)" b00101ff "linkboot iPXE 175"
# option 175 alone also means iPXE
p -m 02:00:00:00:00:ef -x 93:0000 -x 175:b10101
assert_eq "$(kv "$TMP/p.out" file)" "$URL/boot.ipxe?mac=02:00:00:00:00:ef" "iPXE by 175"

# --- no double assignment: two offers, two addresses; stealing gets a NAK
probe cli -m 02:00:00:00:0a:01 >"$TMP/a.out" || die "no offer A"
probe cli -m 02:00:00:00:0a:02 >"$TMP/b.out" || die "no offer B"
ipa=$(kv "$TMP/a.out" yiaddr) ipb=$(kv "$TMP/b.out" yiaddr)
in_range "$ipa" && in_range "$ipb" || die "offers $ipa $ipb outside range"
[ "$ipa" != "$ipb" ] || die "two clients offered the same $ipa"
[ "$ipa" != "$bios_ip" ] || die "offered $bios_ip, which is leased"
ipa_hex=$(printf '%02x' ${ipa//./ })
sid_hex=c6120001	# 198.18.0.1
probe cli -m 02:00:00:00:0a:02 -t request -x 50:$ipa_hex -x 54:$sid_hex >"$TMP/n.out" ||
	die "no answer to a stolen REQUEST"
assert_eq "$(kv "$TMP/n.out" type)" NAK "REQUEST for another's address"
probe cli -m 02:00:00:00:0a:01 -t request -x 50:$ipa_hex -x 54:$sid_hex >"$TMP/ack.out" ||
	die "no ACK for A"
assert_eq "$(kv "$TMP/ack.out" type)" ACK "A's REQUEST"
assert_eq "$(kv "$TMP/ack.out" yiaddr)" "$ipa" "A's address"
wait_for 5 grep -q "^02:00:00:00:0a:01 $ipa " "$LB_STATE/dhcp.leases" ||
	die "A not persisted in dhcp.leases"

# --- INIT-REBOOT (no server id): another network -> NAK; an address of
# this network outside our range may be someone else's -> silence
probe cli -m 02:00:00:00:0a:03 -t request -x 50:c61200c8 >"$TMP/ir.out" ||
	die "no answer to INIT-REBOOT from another network"
assert_eq "$(kv "$TMP/ir.out" type)" NAK "INIT-REBOOT, wrong network"
probe cli -m 02:00:00:00:0a:03 -t request -x 50:c6120032 -n -w 500 ||
	die "answered an INIT-REBOOT for an address that is not ours"

# --- DECLINE parks the address: nobody is offered it afterwards
probe cli -m 02:00:00:00:0a:04 >"$TMP/d.out" || die "no offer D"
ipd=$(kv "$TMP/d.out" yiaddr)
ipd_hex=$(printf '%02x' ${ipd//./ })
probe cli -m 02:00:00:00:0a:04 -t decline -x 50:$ipd_hex -x 54:$sid_hex -n -w 300 ||
	die "DECLINE got an answer"
probe cli -m 02:00:00:00:0a:05 -x 50:$ipd_hex >"$TMP/e.out" || die "no offer E"
[ "$(kv "$TMP/e.out" yiaddr)" != "$ipd" ] || die "declined $ipd offered again"
assert_contains "$LB_LOG" "DECLINE $ipd -> address parked" "DECLINE logged"

# --- relayed (giaddr): the answer goes to the relay's port 67
probe cli -m 02:00:00:00:0b:01 -g 198.18.0.9 -l 67 -s 198.18.0.1 \
	-x 60:$BIOS_VC -x 93:0000 >"$TMP/r.out" || die "no answer to the relay"
assert_eq "$(kv "$TMP/r.out" type)" OFFER "relayed offer"
assert_eq "$(kv "$TMP/r.out" file)" undionly.kpxe "relayed boot file"

# --- INFORM from a configured client: options, no address
probe cli -m 02:00:00:00:0c:01 -t inform -c 198.18.0.9 -s 198.18.0.1 >"$TMP/i.out" ||
	die "no answer to INFORM"
assert_eq "$(kv "$TMP/i.out" type)" ACK "INFORM answer"
assert_eq "$(kv "$TMP/i.out" yiaddr)" 0.0.0.0 "INFORM yiaddr"

# --- renew (unicast, ciaddr) then RELEASE
netns_addr cli "$ipa/24"
probe cli -m 02:00:00:00:0a:01 -t request -c "$ipa" -s 198.18.0.1 >"$TMP/rn.out" ||
	die "no answer to renew"
assert_eq "$(kv "$TMP/rn.out" type)" ACK "renew"
assert_eq "$(kv "$TMP/rn.out" yiaddr)" "$ipa" "renewed address"
probe cli -m 02:00:00:00:0a:01 -t release -c "$ipa" -s 198.18.0.1 -x 54:$sid_hex -n -w 300 ||
	die "RELEASE got an answer"
wait_for 5 sh -c "! grep -q '^02:00:00:00:0a:01 ' '$LB_STATE/dhcp.leases'" ||
	die "released lease still in dhcp.leases"

# --- leases survive a restart
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
# start_linkboot truncates the log in the background child: move the old
# one away so its "serving at" cannot satisfy the wait for the new one
mv "$LB_LOG" "$LB_LOG.1"
LB_LISTEN=198.18.0.1 LB_DHCP=full start_linkboot --interface eth0 \
	--dhcp-range 198.18.0.100,198.18.0.119 -v
assert_contains "$LB_LOG" "leases restored" "restart reads dhcp.leases"
probe cli -m "$climac" -x 60:$BIOS_VC -x 93:0000 >"$TMP/rs.out" || die "no offer after restart"
assert_eq "$(kv "$TMP/rs.out" yiaddr)" "$bios_ip" "lease kept across restart"
assert_alive "after the full-mode run"
echo "ok: dhcp-full"
