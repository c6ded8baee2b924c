#!/bin/bash
# Who may write a PC's disk: two hosts on one segment (network namespaces
# on a bridge, each with its own MAC), the real server, real clients.
#   - PC A's boot script carries a boot ticket; host B asking for A's
#     script (B knows A's MAC) gets no ticket and a screen that says why;
#     the GETs change nothing on the server
#   - A's ticket is refused from B, from A's unprivileged ports, twice, and
#     when altered; from A as root it yields a credential bound to A
#   - A's credential opens A's overlay from A only; B gets nothing with it
#     (NBD and reports); no ticket or credential reaches the server log
#   - the super grant goes to A's next boot only, and ends with it
. "$(dirname "$0")/lib.sh"
requires_root
requires curl --version
requires python3 --version
requires ip -V
requires "$LINKBOOT" client --help

SRV=198.18.0.1 IPA=198.18.0.5 IPB=198.18.0.6
MACA=52:54:00:a0:00:0a MACB=52:54:00:a0:00:0b
NS_S=lbauth-s$$ NS_A=lbauth-a$$ NS_B=lbauth-b$$
for ns in $NS_S $NS_A $NS_B; do
	ip netns add "$ns" || skip "cannot create network namespaces"
	cleanup_fn "ip netns del $ns"
	ip -n "$ns" link set lo up
done
ip -n $NS_S link add br0 type bridge
ip -n $NS_S addr add $SRV/24 dev br0
ip -n $NS_S link set br0 up
host() {	# host NS IP MAC IFNAME
	ip link add "$4" netns "$1" type veth peer name "s$4" netns $NS_S ||
		die "veth $4"
	ip -n $NS_S link set "s$4" master br0 up
	ip -n "$1" link set "$4" address "$3"
	ip -n "$1" addr add "$2/24" dev "$4"
	ip -n "$1" link set "$4" up
}
host $NS_A $IPA $MACA va$$
host $NS_B $IPB $MACB vb$$

LB_STATE=$TMP/state
LB_LOG=$TMP/linkboot.log
head -c $((4 << 20)) /dev/urandom >"$TMP/disk.img"
echo k >"$TMP/k"
lb image add demo "$TMP/disk.img" --kernel "$TMP/k" --initrd "$TMP/k" \
	>/dev/null 2>&1 || die "image add"
lb client add $MACA --image demo --write server >/dev/null || die "client add A"
lb client add $MACB --image demo >/dev/null || die "client add B"
ip netns exec $NS_S "$LINKBOOT" serve --state "$LB_STATE" --listen $SRV \
	--dhcp off --tftp-port 0 --http-port 8080 --nbd-port 10809 \
	>"$LB_LOG" 2>&1 &
LB_PID=$!
cleanup_fn "kill $LB_PID"
wait_for 10 grep -q 'serving at' "$LB_LOG" || die "server did not start"

URL=http://$SRV:8080
on() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
script() {	# script NS MAC OUT
	on "$1" curl -sf --max-time 10 -o "$3" "$URL/boot.ipxe?mac=$2" ||
		die "GET boot.ipxe from $1"
}
ticket_of() { grep -oE 'linkboot\.ticket=t1-[0-9a-f]+' "$1" | cut -d= -f2; }
redeem() {	# redeem NS TICKET PORTS OUT: the HTTP status
	on "$1" curl -s --max-time 10 --local-port "$3" -o "$4" \
		-w '%{http_code}' --data-binary "ticket=$2" "$URL/session"
}
q() { sqlite3 "$LB_STATE/linkboot.db" "$1"; }
state_of_a() { q "SELECT boot_seq, IFNULL(last_boot, '-'), IFNULL(super_token, '-') FROM clients WHERE mac = '$MACA'"; }

cat >"$TMP/go.py" <<'PY'
# NBD_OPT_GO on an export: "rw", "ro", or "refused"
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
recvn(18)
name = sys.argv[3].encode()
s.sendall(struct.pack(">IQII", 1, 0x49484156454F5054, 7, 6 + len(name)) +
          struct.pack(">I", len(name)) + name + b"\0\0")
flags = None
while True:
    magic, opt, typ, ln = struct.unpack(">QIII", recvn(20))
    d = recvn(ln)
    if typ == 3 and struct.unpack(">H", d[:2])[0] == 0:
        flags = struct.unpack(">H", d[10:12])[0]
    if typ != 3: break
print("refused" if typ & 0x80000000 else ("ro" if flags & 2 else "rw"))
PY
nbd_go() { on "$1" python3 "$TMP/go.py" $SRV 10809 "$2"; }

# --- the script: a ticket for A, none for B asking for A; nothing changes
before=$(state_of_a)
script $NS_A $MACA "$TMP/a1"
TA=$(ticket_of "$TMP/a1")
[ -n "$TA" ] || die "A got no ticket: $(cat "$TMP/a1")"
script $NS_B $MACA "$TMP/b1"
grep -q 'linkboot\.ticket' "$TMP/b1" && die "B got a ticket for A's MAC"
assert_contains "$TMP/b1" "cannot tell that this request comes from the PC with MAC $MACA" \
	"B: no ticket, the screen says so"
assert_contains "$TMP/b1" "198\.18\.0\.6 is $MACB on this network, not this PC" "and why"
assert_eq "$(state_of_a)" "$before" "a GET of the boot script changed A's state"
assert_eq "$(q "SELECT count(*) FROM events")" 0 "a GET recorded events"

# --- redeeming A's ticket
assert_eq "$(redeem $NS_B "$TA" 600-1000 "$TMP/r")" 403 "A's ticket from B"
assert_contains "$TMP/r" 'issued to another address' "B: why"
assert_eq "$(redeem $NS_A "$TA" 20000-30000 "$TMP/r")" 403 "from A's unprivileged port"
assert_contains "$TMP/r" 'reserved port' "unprivileged: why"
bad=${TA:0:40}$( [ "${TA:40:1}" = 0 ] && echo 1 || echo 0 )${TA:41}
assert_eq "$(redeem $NS_A "$bad" 600-1000 "$TMP/r")" 403 "an altered ticket"
assert_contains "$TMP/r" 'not signed by this server' "altered: why"
assert_eq "$(state_of_a)" "$before" "refused tickets changed A's state"
assert_eq "$(redeem $NS_A "$TA" 600-1000 "$TMP/ra")" 200 "A's ticket from A, as root"
CA=$(sed -n 's/^credential=//p' "$TMP/ra")
[[ $CA =~ ^c1-[0-9a-f]{32}$ ]] || die "no credential: $(cat "$TMP/ra")"
assert_contains "$TMP/ra" '^write=server$' "A's write mode"
assert_eq "$(redeem $NS_A "$TA" 600-1000 "$TMP/r")" 403 "the same ticket again"
assert_contains "$TMP/r" 'already used' "replay: why"

# --- the credential: A's overlay from A only
assert_eq "$(nbd_go $NS_A "$CA")" rw "A opens its overlay"
assert_eq "$(nbd_go $NS_B "$CA")" refused "B with A's credential"
assert_contains "$LB_LOG" 'not for this address' "refusal logged"
auth=(-H "Authorization: Bearer $CA" --data-binary 'ram_hits=1')
assert_eq "$(on $NS_B curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$URL/report?mac=$MACA")" 403 \
	"B reports for A"
assert_eq "$(on $NS_A curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$URL/report?mac=$MACA")" 204 \
	"A reports"
assert_eq "$(on $NS_B curl -s -o /dev/null -w '%{http_code}' --data-binary x "$URL/report?mac=$MACA")" 403 \
	"a report without a credential"

# --- super: the grant is A's next boot's, nobody else's, and one boot long
lb client super $MACA on >/dev/null || die "client super"
script $NS_B $MACA "$TMP/b2"
grep -q 'linkboot\.ticket' "$TMP/b2" && die "B got a ticket for the super client"
script $NS_A $MACA "$TMP/a2"
assert_contains "$TMP/a2" 'linkboot\.write=super' "A's script: super"
assert_eq "$(redeem $NS_A "$(ticket_of "$TMP/a2")" 600-1000 "$TMP/rs")" 200 "A's super boot"
assert_contains "$TMP/rs" '^write=super$' "the boot took the grant"
CS=$(sed -n 's/^credential=//p' "$TMP/rs")
assert_eq "$(nbd_go $NS_A "$CA")" refused "the previous boot's credential"
assert_eq "$(nbd_go $NS_B "$CS")" refused "B with the super credential"
assert_eq "$(nbd_go $NS_A "$CS")" rw "A writes the next version"
assert_eq "$(nbd_go $NS_A "$CS")" rw "A reconnects within its boot"
script $NS_A $MACA "$TMP/a3"
grep -q 'linkboot\.write=super' "$TMP/a3" && die "the grant outlived its boot"
assert_eq "$(redeem $NS_A "$(ticket_of "$TMP/a3")" 600-1000 "$TMP/r3")" 200 "A's next boot"
assert_contains "$TMP/r3" '^write=server$' "an ordinary boot again"
assert_eq "$(nbd_go $NS_A "$CS")" refused "the super credential after the next boot"

# --- secrets stay out of the log
for s in "$TA" "$CA" "$CS" "${CA:3:16}"; do
	grep -qF "$s" "$LB_LOG" && die "a secret in the server log: ${s:0:8}..."
done
kill -0 $LB_PID || die "server died"
echo "PASS: $TEST_NAME"
