#!/bin/bash
# Canary releases (`linkboot image release`), with the agents played by
# curl as they speak: POST /session (the version a boot runs), POST
# /health (system=STATE every few seconds). The server's own tick judges.
#   v2 on 2 of 3 PCs, both healthy: promoted to production after
#      --promote-after, the canaries follow production again, the third
#      PC booted v1 until then;
#   v3 on 1 PC whose system reports degraded: rolled back, production
#      stays v2, the reason names the PC;
#   v3 on 1 PC that never boots it: rolled back after --boot-within;
#   bad input: no such image/version, --canary 0, two at once.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires curl --version
requires python3 --version
requires sqlite3 --version

head -c $((8 << 20)) /dev/urandom >"$TMP/img"
echo kernel >"$TMP/k"; echo initrd >"$TMP/i"
start_linkboot --trusted-net 127.0.0.1/32
lb image add demo "$TMP/img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 ||
	die "image add"
ID=$(sqlite3 "$LB_STATE/linkboot.db" "SELECT id FROM images")
# new_version BYTE: a super client's overlay with one changed block,
# committed (no Linux file system here: --force)
new_version() {
	mkdir -p "$LB_STATE/overlays"
	python3 - "$LB_STATE/overlays/super-$ID.ovl" "$1" "$2" <<'PY' || die "overlay"
import struct, sys
path, parent, byte = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0)
bs, size = 65536, 8 << 20
nblocks = size // bs
data_off = (4096 + (nblocks + 7) // 8 + bs - 1) // bs * bs
with open(path, "wb") as f:
    f.write((b"LBDELTA1" + struct.pack("<IIQQQI", 1, bs, size, 4096, data_off, parent)).ljust(4096, b"\0"))
    bm = bytearray((nblocks + 7) // 8); bm[0] |= 1
    f.write(bm)
    f.seek(data_off); f.write(bytes([byte]) * bs)
    f.truncate(data_off + nblocks * bs)
PY
	lb image commit demo --force >"$TMP/commit" 2>&1 || { cat "$TMP/commit"; die "commit"; }
}
new_version 1 0x11
M=(52:54:00:00:0c:01 52:54:00:00:0c:02 52:54:00:00:0c:03)
for m in "${M[@]}"; do
	lb client add "$m" --image demo >/dev/null || die "client add $m"
done
lb image set demo --production 1 >/dev/null || die "production 1"

H=http://127.0.0.1:$LB_HTTP_PORT
# boot MAC: a boot begins as the agent's would; its credential, and the
# version it runs in $TMP/ver-MAC
boot() {
	local t
	t=$(curl -sf "$H/boot.ipxe?mac=$1" | grep -oE 'linkboot\.ticket=t1-[0-9a-f]+' |
		cut -d= -f2) || die "no ticket for $1"
	curl -sf --local-port 600-1000 --data-binary "ticket=$t" "$H/session" >"$TMP/s-$1" ||
		die "POST /session $1"
	sed -n 's/^version=//p' "$TMP/s-$1" >"$TMP/ver-$1"
	sed -n 's/^credential=//p' "$TMP/s-$1"
}
health() { curl -sf -H "Authorization: Bearer $1" --data-binary "system=$2" "$H/health" >/dev/null; }
state() { lb image releases demo -j | python3 -c "import json,sys; r=json.load(sys.stdin); print(r[0]['state'] if r else '')"; }

# --- v2: two healthy canaries -> production
lb image release demo 2 --canary 2 --promote-after 6 --boot-within 60 >"$TMP/r" ||
	{ cat "$TMP/r"; die "release 2"; }
assert_contains "$TMP/r" "release 1: demo v2 on its canaries" "release started"
C1=$(boot "${M[0]}") C2=$(boot "${M[1]}") C3=$(boot "${M[2]}")
assert_eq "$(cat "$TMP/ver-${M[0]}")$(cat "$TMP/ver-${M[1]}")" 22 "canaries boot v2"
assert_eq "$(cat "$TMP/ver-${M[2]}")" 1 "the third PC boots v1"
for _ in $(seq 40); do
	health "$C1" running; health "$C2" running
	[ "$(state)" = promoted ] && break
	sleep 1
done
assert_eq "$(state)" promoted "v2 promoted"
assert_contains "$LB_LOG" "release demo v2: promoted to production" "the log says so"
C3=$(boot "${M[2]}")
assert_eq "$(cat "$TMP/ver-${M[2]}")" 2 "the third PC now boots v2"
lb client show "${M[0]}" >"$TMP/show" || die "client show"
assert_contains "$TMP/show" "VERSION: 2$" "the canary follows production"
sqlite3 "$LB_STATE/linkboot.db" "SELECT version IS NULL FROM clients WHERE mac='${M[0]}'" |
	grep -qx 1 || die "the canary's pin was not given back"

# --- v3: the canary's system is degraded -> rolled back
new_version 2 0x33
lb image set demo --production 2 >/dev/null || die "production 2"
lb image release demo 3 --canary 1 --promote-after 60 --boot-within 60 >/dev/null ||
	die "release 3"
lb image release demo 3 --canary 1 --promote-after 60 >"$TMP/e" 2>&1 &&
	die "a second release of the same image ran"
assert_contains "$TMP/e" "has a release running" "one release at a time"
C1=$(boot "${M[0]}")
assert_eq "$(cat "$TMP/ver-${M[0]}")" 3 "the canary boots v3"
for _ in $(seq 30); do
	health "$C1" degraded
	[ "$(state)" = rolled_back ] && break
	sleep 1
done
assert_eq "$(state)" rolled_back "v3 rolled back"
lb image releases demo >"$TMP/list" || die "image releases"
assert_contains "$TMP/list" "${M[0]}: its system is degraded on v3" "the reason names the PC"
assert_contains "$LB_LOG" "release demo v3: rolled back: ${M[0]}" "the log says so"
lb status >"$TMP/status" || die "status"
assert_contains "$TMP/status" "^release 2: demo v3 on 1 canary: ROLLED BACK: ${M[0]}: its system is degraded" \
	"status says it"
C1=$(boot "${M[0]}")
assert_eq "$(cat "$TMP/ver-${M[0]}")" 2 "the canary is back on v2"
C2=$(boot "${M[1]}")
assert_eq "$(cat "$TMP/ver-${M[1]}")" 2 "the others never boot v3"

# --- v3 again: the canary never boots -> rolled back after --boot-within
lb image release demo 3 --canary 1 --promote-after 5 --boot-within 10 >/dev/null ||
	die "release 3 again"
for _ in $(seq 40); do
	[ "$(state)" = rolled_back ] && break
	sleep 1
done
assert_eq "$(state)" rolled_back "a canary that never booted: rolled back"
lb image releases demo | grep -q "no healthy report on v3 within 10 s (it did not boot it)" ||
	die "the reason for a canary that did not boot"

# --- bad input
lb image release nosuch 2 --canary 1 --promote-after 5 >"$TMP/e" 2>&1 && die "no such image"
assert_contains "$TMP/e" "nosuch: no such image" "unknown image"
lb image release demo 9 --canary 1 --promote-after 5 >"$TMP/e" 2>&1 && die "no such version"
assert_contains "$TMP/e" "has no version 9" "unknown version"
rc=0; lb image release demo 3 --canary 0 --promote-after 5 >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "--canary 0"
rc=0; lb image release demo 3 --canary 1 >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "no --promote-after"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "system=running" "$H/health")
assert_eq "$CODE" 403 "health without a credential"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $C1" --data-binary 'system=Run;x' "$H/health")
assert_eq "$CODE" 400 "a bad health word"
assert_alive "after the releases"
echo ok
