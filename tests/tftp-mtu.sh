#!/bin/bash
# blksize is capped to what fits the interface MTU unfragmented: in a
# private network namespace whose loopback has MTU 1500, curl asking
# blksize 8192 gets 1468 (1500 - 20 IPv4 - 8 UDP - 4 TFTP), and the file
# still arrives byte-identical.
. "$(dirname "$0")/lib.sh"
requires_root
requires curl --version
requires ip netns list

ns=lbtftpmtu$$
ip netns add "$ns" || skip "cannot create a network namespace"
cleanup_fn "ip netns del $ns"
ip netns exec "$ns" ip link set lo mtu 1500 up

# start_linkboot runs $LINKBOOT: run it inside the namespace
real=$LINKBOOT
LINKBOOT=$TMP/linkboot-in-ns
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$ns" "$real" >"$LINKBOOT"
chmod +x "$LINKBOOT"

root=$TMP/root
mkdir -p "$root"
head -c 50000 /dev/urandom >"$root/f.bin"
start_linkboot --root "$root" -v

timeout 30 ip netns exec "$ns" curl -sS --tftp-blksize 8192 \
	"tftp://127.0.0.1:$LB_TFTP_PORT/f.bin" -o "$TMP/out" || die "curl failed"
cmp "$TMP/out" "$root/f.bin" || die "f.bin differs"
assert_contains "$LB_LOG" 'RRQ "f\.bin".*blksize=8192' "request logged"
assert_contains "$LB_LOG" ': blksize 1468 windowsize 1 ' "blksize capped to the MTU"
exit 0
