#!/bin/bash
# client wake: in a server namespace with a veth pair on 198.18.0.0/24, a
# python3 AF_PACKET listener on the peer end captures what `linkboot client
# wake` sends and checks each UDP/9 broadcast and each ethertype 0x0842
# frame carries exactly the magic packet (6 x 0xff + 16 x MAC) of the PC;
# --all with 3 clients and --stagger 1 wakes the 3 in order; --wait
# follows each PC until it is online; an unknown MAC or group is an error
# with a non-zero exit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
requires python3 --version
requires sqlite3 --version

for role in srv peer; do
	ip netns add "${_NS_ID}$role" || skip "cannot create network namespaces"
	cleanup_fn ip netns del "${_NS_ID}$role"
	ip -n "${_NS_ID}$role" link set lo up
done
ip -n "${_NS_ID}srv" link add eth0 type veth peer name eth0 \
	netns "${_NS_ID}peer" || die "veth pair"
ip -n "${_NS_ID}srv" addr add 198.18.0.1/24 dev eth0
ip -n "${_NS_ID}peer" addr add 198.18.0.2/24 dev eth0
ip -n "${_NS_ID}srv" link set eth0 up
ip -n "${_NS_ID}peer" link set eth0 up

LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
lb client list >/dev/null || die "client list on a new state dir"
ID=0123456789abcdef
sqlite3 "$LB_STATE/linkboot.db" "
INSERT INTO images(id, name, size, production_version, created)
 VALUES('$ID', 'demo', 1048576, 1, '2026-11-25T00:00:00Z');
INSERT INTO versions(image_id, version, file, created)
 VALUES('$ID', 1, '$ID.v1', 'x');" || die "inserting image rows"
MACS=(52:54:00:77:00:01 52:54:00:77:00:02 52:54:00:77:00:03)
lb client add "${MACS[0]}" --image demo --group lab >/dev/null || die "add 1"
lb client add "${MACS[1]}" --image demo --group lab >/dev/null || die "add 2"
lb client add "${MACS[2]}" --image demo >/dev/null || die "add 3"

# capture COUNT: records every WoL packet seen on peer's eth0 for up to
# 20 s (or until COUNT UDP + COUNT 0x0842 arrived) as "udp|ether MAC"
capture() {
	rm -f "$TMP/cap"	# the last capture's "ready" must not count
	in_ns peer timeout 25 python3 - "$1" >"$TMP/cap" 2>"$TMP/cap.err" <<'PY' &
import socket, sys, time
want = int(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
s.settimeout(1)
print("ready", flush=True)
udp = eth = 0
end = time.time() + 20
def magic(p):
    if len(p) < 102 or p[:6] != b"\xff" * 6:
        return None
    mac = p[6:12]
    if p[6:102] != mac * 16:
        return "bad"
    return ":".join("%02x" % b for b in mac)
while time.time() < end and (udp < want or eth < want):
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    etype = f[12:14]
    if etype == b"\x08\x42":
        m = magic(f[14:])
        if m: eth += 1; print("ether", m, len(f[14:]), flush=True)
    elif etype == b"\x08\x00" and f[23] == 17:
        ihl = (f[14] & 15) * 4
        udph = f[14 + ihl:14 + ihl + 8]
        dport = int.from_bytes(udph[2:4], "big")
        dst = socket.inet_ntoa(f[30:34])
        if dport == 9:
            m = magic(f[14 + ihl + 8:])
            if m: udp += 1; print("udp", m, dst, len(f[14 + ihl + 8:]), flush=True)
PY
	CAP_PID=$!
	for _ in $(seq 50); do
		grep -q ready "$TMP/cap" 2>/dev/null && return 0
		sleep 0.1
	done
	die "listener did not start: $(cat "$TMP/cap.err")"
}

LINKBOOT_REAL=$LINKBOOT
wake() { ip netns exec "${_NS_ID}srv" "$LINKBOOT_REAL" client --state "$LB_STATE" wake "$@"; }

# --- one PC: the exact magic packet both ways
capture 1
wake "${MACS[0]}" --interface eth0 >"$TMP/out" 2>&1 || die "wake: $(cat "$TMP/out")"
wait "$CAP_PID"
assert_contains "$TMP/out" "woke ${MACS[0]}: sent" "progress line"
grep -q "^udp ${MACS[0]} 255.255.255.255 102$" "$TMP/cap" ||
	die "no UDP/9 broadcast magic packet: $(cat "$TMP/cap")"
grep -q "^ether ${MACS[0]} 102$" "$TMP/cap" ||
	die "no 0x0842 magic frame: $(cat "$TMP/cap")"
grep -q bad "$TMP/cap" && die "a malformed magic packet: $(cat "$TMP/cap")"

# --- --all: 3 PCs, in order, one each, staggered
capture 3
start=$(date +%s)
wake --all --stagger 1 --interface eth0 >"$TMP/out" 2>&1 || die "wake --all: $(cat "$TMP/out")"
took=$(( $(date +%s) - start ))
wait "$CAP_PID"
got=$(awk '$1 == "ether" { print $2 }' "$TMP/cap" | tr '\n' ' ')
assert_eq "$got" "${MACS[*]} " "0x0842 frames, in order"
got=$(awk '$1 == "udp" { print $2 }' "$TMP/cap" | tr '\n' ' ')
assert_eq "$got" "${MACS[*]} " "UDP/9 broadcasts, in order"
[ "$(grep -c ': sent$' "$TMP/out")" = 3 ] || die "3 progress lines: $(cat "$TMP/out")"
[ "$took" -ge 2 ] || die "--stagger 1 over 3 PCs took ${took}s (< 2)"

# --- --group: only the group's PCs
wake --group lab --stagger 0 --interface eth0 >"$TMP/out" 2>&1 || die "wake --group"
[ "$(grep -c ': sent$' "$TMP/out")" = 2 ] || die "group lab is 2 PCs: $(cat "$TMP/out")"
grep -q "${MACS[2]}" "$TMP/out" && die "woke a PC outside the group"

# --- --wait: each woken PC followed until it is online (a live session)
( sleep 2; sqlite3 "$LB_STATE/linkboot.db" "INSERT INTO sessions(pid, peer, mac,
  image_id, version, since) VALUES($$, '198.18.0.50:1', '${MACS[0]}', '$ID', 1, 'x')" ) &
wake "${MACS[0]}" --interface eth0 --wait 20 >"$TMP/out" 2>&1 ||
	die "wake --wait: $(cat "$TMP/out")"
assert_contains "$TMP/out" "${MACS[0]}: online after [0-9]+ s" "--wait sees the PC come up"
wake "${MACS[1]}" --interface eth0 --wait 1 >"$TMP/out" 2>&1 &&
	die "wake --wait: a PC that never came up"
assert_contains "$TMP/out" "${MACS[1]}: not online after 1 s" "--wait says which PC did not come up"
wake "${MACS[1]}" --wait 0 >"$TMP/out" 2>&1 && die "--wait 0 accepted"

# --- bad input
wake 52:54:00:77:00:99 --interface eth0 >"$TMP/out" 2>&1 && die "unknown MAC woke"
grep -qi "52:54:00:77:00:99" "$TMP/out" || die "unknown MAC error: $(cat "$TMP/out")"
wake --group nope >"$TMP/out" 2>&1 && die "unknown group woke"
assert_contains "$TMP/out" "no client in group nope" "unknown group error"
wake >"$TMP/out" 2>&1 && die "wake with no target"
wake --all --stagger 999 >"$TMP/out" 2>&1 && die "stagger 999 accepted"
echo "PASS: $TEST_NAME"
