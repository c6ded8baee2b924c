#!/bin/bash
# Full DHCP in a network namespace, against a host that abuses DECLINE and
# a burst of REQUESTs:
#  - a DECLINE for an address never offered to that MAC is ignored (it used
#    to park the address for a whole lease: 8 DECLINEs emptied the pool)
#  - a DECLINE from the client an address was offered to parks it for
#    600 s, and at most a quarter of the pool is parked at a time
#  - 30 REQUESTs in a row rewrite dhcp.leases about once a second, not 30
#    times (each write is an fsync inside the loop), and an ACKed lease is
#    in dhcp.leases after a clean stop right behind it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
requires python3 --version
[ -x "$DHCP_PROBE" ] || skip "build $DHCP_PROBE first (make)"

netns_lan srv cli
netns_addr srv 198.18.0.1/24
netns_addr cli 198.18.0.9/24
linkboot_in_ns srv
LB_LISTEN=198.18.0.1 LB_DHCP=full start_linkboot --interface eth0 \
	--dhcp-range 198.18.0.100,198.18.0.107 --dhcp-netmask 255.255.255.0
sid_hex=c6120001	# 198.18.0.1
hex() { printf '%02x' ${1//./ }; }

# --- DECLINEs for addresses never offered to the sender: ignored
for i in $(seq 100 107); do
	probe cli -m 02:00:00:00:66:66 -t decline -x 50:"$(hex 198.18.0.$i)" \
		-x 54:$sid_hex -n -w 100 || die "a DECLINE got an answer"
done
probe cli -m 02:00:00:00:0a:01 >"$TMP/a.out" ||
	die "no offer after 8 DECLINEs from a host that was offered nothing: pool parked"
echo "after 8 foreign DECLINEs a new client is offered $(kv "$TMP/a.out" yiaddr)"
assert_contains "$LB_LOG" "DECLINE 198.18.0.10[0-7], an address it was not offered: ignored" \
	"foreign DECLINE logged as ignored"
n=$(grep -c 'not offered: ignored' "$LB_LOG")
echo "log lines for 8 ignored DECLINEs: $n"
[ "$n" -le 2 ] || die "ignored DECLINEs logged $n times (not rate-limited)"

# --- DECLINEs of offered addresses: parked, at most 2 of 8 at once
for i in 1 2 3 4 5 6 7 8; do
	mac=02:00:00:00:0d:0$i
	probe cli -m $mac >"$TMP/d.out" || continue	# pool may be held by offers
	ip=$(kv "$TMP/d.out" yiaddr)
	probe cli -m $mac -t decline -x 50:"$(hex "$ip")" -x 54:$sid_hex -n -w 100 ||
		die "DECLINE got an answer"
done
grep 'address parked' "$LB_LOG" | head -n 3
assert_contains "$LB_LOG" 'DECLINE 198.18.0.1[0-9]+ -> address parked for 600 s' "parked for 600 s"
assert_contains "$LB_LOG" 'the oldest parked one freed' "the parked set is bounded"

# --- 30 REQUESTs in a row: dhcp.leases written about once a second
python3 - "$LB_STATE" 30 <<'PY' >"$TMP/inotify.out" 2>&1 &
# count renames onto dhcp.leases (each one is a complete rewrite) for N s
import ctypes, os, select, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x80)   # IN_MOVED_TO
n, end = 0, time.monotonic() + 8
print("watching", flush=True)
while time.monotonic() < end:
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r: continue
    buf = os.read(fd, 65536)
    i = 0
    while i < len(buf):
        wd, mask, cookie, ln = struct.unpack_from('iIII', buf, i)
        name = buf[i + 16:i + 16 + ln].rstrip(b'\0')
        n += name == b'dhcp.leases'
        i += 16 + ln
print("writes", n, flush=True)
PY
watcher=$!
cleanup_fn "kill $watcher"
wait_for 5 grep -q watching "$TMP/inotify.out" || die "inotify watcher did not start"
probe cli -m 02:00:00:00:0e:01 >"$TMP/r.out" || die "no offer for the REQUEST burst"
ip=$(kv "$TMP/r.out" yiaddr)
t0=$(date +%s%N)
for i in $(seq 30); do
	probe cli -m 02:00:00:00:0e:01 -t request -x 50:"$(hex "$ip")" -x 54:$sid_hex \
		>"$TMP/ack.out" || die "no ACK to REQUEST $i"
	assert_eq "$(kv "$TMP/ack.out" type)" ACK "REQUEST $i"
done
secs=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$watcher"
writes=$(sed -n 's/^writes //p' "$TMP/inotify.out")
echo "30 ACKs in $secs ms: dhcp.leases written $writes times"
[ -n "$writes" ] && [ "$writes" -ge 1 ] || die "dhcp.leases never written"
[ "$writes" -le $((secs / 1000 + 3)) ] ||
	die "dhcp.leases written $writes times in $secs ms (more than once a second)"
assert_contains "$LB_STATE/dhcp.leases" "^02:00:00:00:0e:01 $ip " "the lease is on disk"

# --- a clean stop right after an ACK keeps the lease
probe cli -m 02:00:00:00:0f:01 >"$TMP/s.out" || die "no offer (stop)"
ip=$(kv "$TMP/s.out" yiaddr)
probe cli -m 02:00:00:00:0f:01 -t request -x 50:"$(hex "$ip")" -x 54:$sid_hex \
	>"$TMP/s2.out" || die "no ACK (stop)"
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
assert_contains "$LB_STATE/dhcp.leases" "^02:00:00:00:0f:01 $ip " \
	"a lease ACKed just before a clean stop is in dhcp.leases"
echo "PASS: $TEST_NAME"
