#!/bin/bash
# Wake-on-LAN across a router: a room on its own subnet (198.18.0.128/25)
# behind a Linux router that forwards directed broadcasts (bc_forwarding),
# the server on 198.18.0.0/25. The limited broadcast (255.255.255.255)
# never leaves the server's subnet, so a PC there is reached only through
# its subnet's directed broadcast (198.18.0.255), sent when its link names
# the subnet (`client set --wake-subnet`): by `client wake` and by the
# running server's pre-staging tick. tests/tools/wol_wait.py in the room
# stands in for the PC's NIC.
source "$(dirname "$0")/lib.sh"

requires_root
requires ip netns list
requires python3 --version
requires sqlite3 --version

NS=lbwr$$
for role in srv rtr room; do
	ip netns add "$NS$role" || skip "cannot create network namespaces"
	cleanup_fn ip netns del "$NS$role"
	ip -n "$NS$role" link set lo up
done
in_ns() { local r=$1; shift; ip netns exec "$NS$r" "$@"; }
ip -n "${NS}srv" link add eth0 type veth peer name eth0 netns "${NS}rtr" || die "veth 1"
ip -n "${NS}rtr" link add eth1 type veth peer name eth0 netns "${NS}room" || die "veth 2"
ip -n "${NS}srv" addr add 198.18.0.1/25 dev eth0
ip -n "${NS}rtr" addr add 198.18.0.2/25 dev eth0
ip -n "${NS}rtr" addr add 198.18.0.129/25 dev eth1
ip -n "${NS}room" addr add 198.18.0.130/25 dev eth0
for pair in srv:eth0 rtr:eth0 rtr:eth1 room:eth0; do
	ip -n "$NS${pair%%:*}" link set "${pair#*:}" up
done
ip -n "${NS}srv" route add default via 198.18.0.2
ip -n "${NS}room" route add default via 198.18.0.129
in_ns rtr sysctl -qw net.ipv4.ip_forward=1 || die "ip_forward"
for c in all eth0 eth1; do
	in_ns rtr sysctl -qw "net.ipv4.conf.$c.bc_forwarding=1" ||
		skip "the kernel has no bc_forwarding (Linux 4.19+)"
done

LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
lb client list >/dev/null || die "client list on a new state dir"
head -c $((1 << 20)) /dev/urandom >"$TMP/img"
echo k >"$TMP/k"; echo i >"$TMP/i"
lb image add demo "$TMP/img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 ||
	die "image add"
MAC=52:54:00:77:80:01
lb client add "$MAC" --image demo --ssd-cache auto >/dev/null || die "client add"
wake() { in_ns srv "$LINKBOOT" client --state "$LB_STATE" wake "$@"; }
listen() {	# listen SECONDS: wol_wait.py in the room, in the background
	# (a fresh file: the last listener's "ready" must not count)
	rm -f "$TMP/wol"
	in_ns room python3 "$TOP/tests/tools/wol_wait.py" eth0 "$MAC" "$1" \
		>"$TMP/wol.new" 2>&1 &
	WOL=$!
	wait_for 10 grep -q ready "$TMP/wol.new" || die "listener did not start"
	mv "$TMP/wol.new" "$TMP/wol"
}

# without a wake subnet: nothing reaches the room
listen 4
wake "$MAC" >"$TMP/out" 2>&1 || die "wake: $(cat "$TMP/out")"
wait "$WOL" && die "a limited broadcast crossed the router?"

# bad subnets are refused, with the fix
lb client set "$MAC" --wake-subnet 198.18.0.0/31 >"$TMP/out" 2>&1 && die "/31 accepted"
assert_contains "$TMP/out" "--wake-subnet '198.18.0.0/31': give the PC's routed subnet" "a /31 refused"
lb client set "$MAC" --wake-subnet 300.1.1.0/24 >/dev/null 2>&1 && die "300.1.1.0 accepted"
lb client set "$MAC" --wake-subnet 198.18.0.128 >/dev/null 2>&1 && die "no /N accepted"

# with it: the directed broadcast is routed into the room
lb client set "$MAC" --wake-subnet 198.18.0.128/25 >/dev/null || die "client set"
lb client show "$MAC" >"$TMP/show" || die "client show"
assert_contains "$TMP/show" "WAKE SUBNET: 198.18.0.128/25" "client show says it"
listen 10
wake "$MAC" >"$TMP/out" 2>&1 || die "wake: $(cat "$TMP/out")"
wait "$WOL" || die "no magic packet in the room: $(cat "$TMP/out")"
assert_contains "$TMP/wol" "woken udp" "UDP/9 directed broadcast"

# the running server's pre-staging tick wakes it the same way
LINKBOOT_REAL=$LINKBOOT
cat >"$TMP/lb-srv" <<EOS
#!/bin/sh
exec ip netns exec ${NS}srv $LINKBOOT_REAL "\$@"
EOS
chmod +x "$TMP/lb-srv"
LINKBOOT=$TMP/lb-srv start_linkboot
listen 20
lb image prestage demo 1 --at now >"$TMP/out" 2>&1 || die "prestage: $(cat "$TMP/out")"
wait "$WOL" || die "the pre-staging's magic packet did not reach the room: $(tail -n 5 "$LB_LOG")"
assert_contains "$LB_LOG" "prestage demo v1: $MAC woken \(magic packet\)" "the tick woke it"
echo "PASS: $TEST_NAME"
