# Network namespaces for the dhcp-*.sh tests (sourced after tests/lib.sh).
# Only 198.18.0.0/24, only inside namespaces made here, all deleted at exit.
#
#   netns_lan ROLE...   one bridge namespace plus one namespace per ROLE,
#                       each with eth0 (a veth into the bridge) and lo up;
#                       sets NS_<ROLE> to the namespace name
#   netns_addr ROLE CIDR
#   in_ns ROLE CMD...   run CMD inside ROLE's namespace
#   linkboot_in_ns ROLE sets LINKBOOT to a wrapper running linkboot in ROLE
#   udhcpc_in_ns ROLE NAME ARGS...  one bounded udhcpc run; the env of its
#                       "bound" event lands in $TMP/NAME.env
#   probe ROLE ARGS...  build/tests/tools/dhcp_probe in ROLE on eth0

DHCP_PROBE=${DHCP_PROBE:-$TOP/build/tests/tools/dhcp_probe}
_LB_REAL=$LINKBOOT	# LINKBOOT=build/asan/linkboot tests/run.sh ... works too
_NS_ID="lbd$$"

netns_lan() {
	local role ns br="${_NS_ID}br"
	ip netns add "$br" || skip "cannot create network namespaces"
	cleanup_fn ip netns del "$br"
	ip -n "$br" link add br0 type bridge forward_delay 0 stp_state 0 ||
		die "cannot create bridge"
	ip -n "$br" link set br0 up
	ip -n "$br" link set lo up
	for role in "$@"; do
		ns="${_NS_ID}$role"
		ip netns add "$ns" || die "netns $ns"
		cleanup_fn ip netns del "$ns"
		ip -n "$br" link add "p$role" type veth peer name eth0 netns "$ns" ||
			die "veth for $role"
		ip -n "$br" link set "p$role" master br0 up
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
		eval "NS_$role=$ns"
	done
}

netns_addr() { ip -n "${_NS_ID}$1" addr add "$2" dev eth0; }

in_ns() { local r=$1; shift; ip netns exec "${_NS_ID}$r" "$@"; }

linkboot_in_ns() {
	cat >"$TMP/linkboot-$1" <<EOS
#!/bin/sh
exec ip netns exec ${_NS_ID}$1 $_LB_REAL "\$@"
EOS
	chmod +x "$TMP/linkboot-$1"
	LINKBOOT="$TMP/linkboot-$1"
}

udhcpc_in_ns() {
	local role=$1 name=$2; shift 2
	cat >"$TMP/udhcpc-$name.sh" <<EOS
#!/bin/sh
[ "\$1" = bound ] && env | sort >"$TMP/$name.env"
exit 0
EOS
	chmod +x "$TMP/udhcpc-$name.sh"
	rm -f "$TMP/$name.env"
	# bounded: 3 discovers 1 s apart, then give up (-n), exit on lease (-q)
	timeout 20 ip netns exec "${_NS_ID}$role" busybox udhcpc -i eth0 -f -q \
		-n -t 3 -T 1 -s "$TMP/udhcpc-$name.sh" "$@" \
		>"$TMP/$name.udhcpc.log" 2>&1
}

probe() {
	local role=$1; shift
	timeout 20 ip netns exec "${_NS_ID}$role" "$DHCP_PROBE" -i eth0 "$@"
}

# value of KEY= in a key=value file
kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }
