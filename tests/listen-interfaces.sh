#!/bin/bash
# --interface and --listen hold for every service: a server namespace with
# two interfaces, ethA 198.18.0.1/25 (client namespace "a") and ethB
# 198.18.0.129/25 (client namespace "b"). `serve --interface ethA` (once with
# --listen 0.0.0.0, once with --listen 198.18.0.1) answers TFTP (curl
# tftp://), HTTP (curl) and NBD (nbdinfo) from a, and none of them from b:
# neither at ethB's own address nor at ethA's address routed in over ethB.
# Every probe is bounded (connection refused, or a 3-5 s timeout).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
requires curl --version
requires nbdinfo --version
requires busybox ping -c 1 127.0.0.1
curl --version | grep -qw tftp || skip "requires curl with tftp://"

# --- the namespaces: srv with ethA and ethB, one client on each
for role in srv a b; do
	ip netns add "${_NS_ID}$role" || skip "cannot create network namespaces"
	cleanup_fn ip netns del "${_NS_ID}$role"
	ip -n "${_NS_ID}$role" link set lo up
done
for side in a b; do
	ip -n "${_NS_ID}srv" link add "eth${side^^}" type veth peer name eth0 \
		netns "${_NS_ID}$side" || die "veth for $side"
	ip -n "${_NS_ID}srv" link set "eth${side^^}" up
	ip -n "${_NS_ID}$side" link set eth0 up
done
ip -n "${_NS_ID}srv" addr add 198.18.0.1/25 dev ethA
ip -n "${_NS_ID}srv" addr add 198.18.0.129/25 dev ethB
ip -n "${_NS_ID}a" addr add 198.18.0.2/25 dev eth0
ip -n "${_NS_ID}b" addr add 198.18.0.130/25 dev eth0
# b also routes ethA's network through ethB: a server bound to ethA must
# not answer its own ethA address when the packet comes in on ethB
ip -n "${_NS_ID}b" route add 198.18.0.0/25 via 198.18.0.129
in_ns a busybox ping -c 1 -W 5 198.18.0.1 >/dev/null || die "a cannot reach ethA"
in_ns b busybox ping -c 1 -W 5 198.18.0.129 >/dev/null || die "b cannot reach ethB"

ROOT=$TMP/root
mkdir -p "$ROOT"
echo "served on A" >"$ROOT/hello.txt"
head -c $((1 << 20)) /dev/urandom >"$TMP/disk.img"
echo kernel >"$TMP/vmlinuz"
echo initrd >"$TMP/initrd"
linkboot_in_ns srv

# answers ROLE ADDR: every service answers ROLE at ADDR, with the right bytes
answers() {
	local role=$1 addr=$2 out
	out=$(in_ns "$role" curl -sf --max-time 5 \
		"http://$addr:$LB_HTTP_PORT/hello.txt") ||
		die "HTTP: $role got no answer at $addr"
	assert_eq "$out" "served on A" "HTTP from $role at $addr"
	out=$(in_ns "$role" curl -sf --max-time 5 \
		"tftp://$addr:$LB_TFTP_PORT/hello.txt") ||
		die "TFTP: $role got no answer at $addr"
	assert_eq "$out" "served on A" "TFTP from $role at $addr"
	in_ns "$role" timeout 10 nbdinfo "nbd://$addr:$LB_NBD_PORT/disk" \
		>"$TMP/nbd.out" 2>&1 || die "NBD: $role got no answer at $addr"
	assert_contains "$TMP/nbd.out" "export-size: $((1 << 20))" \
		"NBD from $role at $addr"
}

# silent ROLE ADDR: no service answers ROLE at ADDR (refused or timed out)
silent() {
	local role=$1 addr=$2
	in_ns "$role" curl -s --max-time 3 -o /dev/null \
		"http://$addr:$LB_HTTP_PORT/hello.txt" &&
		die "HTTP answered $role at $addr (--interface ignored)"
	in_ns "$role" curl -s --max-time 3 -o /dev/null \
		"tftp://$addr:$LB_TFTP_PORT/hello.txt" &&
		die "TFTP answered $role at $addr (--interface ignored)"
	in_ns "$role" timeout 5 nbdinfo "nbd://$addr:$LB_NBD_PORT/disk" \
		>/dev/null 2>&1 &&
		die "NBD answered $role at $addr (--interface ignored)"
	return 0
}

# --- --interface ethA, all addresses
LB_LISTEN=0.0.0.0 start_linkboot --interface ethA --root "$ROOT"
lb image add disk "$TMP/disk.img" --kernel "$TMP/vmlinuz" \
	--initrd "$TMP/initrd" >"$TMP/add.log" 2>&1 ||
	{ cat "$TMP/add.log"; die "image add"; }
answers a 198.18.0.1
silent b 198.18.0.129
silent b 198.18.0.1
kill "$LB_PID"; wait "$LB_PID"

# --- --interface ethA, --listen ethA's address
LB_LISTEN=198.18.0.1 start_linkboot --interface ethA --root "$ROOT"
answers a 198.18.0.1
silent b 198.18.0.129
silent b 198.18.0.1
assert_alive "after the probes"
echo "PASS: $TEST_NAME"
