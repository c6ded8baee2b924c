#!/bin/bash
# Overnight pre-staging (`linkboot image prestage`), the server's side, with
# the agents played by curl as they speak (GET /boot.ipxe, POST /session,
# POST /prestage). The server runs in a network namespace whose eth0 (a
# veth on 198.18.0.0/24) carries its magic packets to a peer namespace,
# where tests/tools/wol_wait.py watches for them.
#   scheduled for later: listed, nothing woken; a second run refused;
#   due: the tick wakes the PCs that can stage (magic packets seen), skips
#     a SAN PC, one with its SSD cache off and a running one, each with
#     its reason; a woken PC's boot script says linkboot.prestage, the
#     others' do not; its report (POST /prestage) needs its credential
#     and a well-formed body, counts once; the run ends with one line;
#   a woken PC that never reports has failed after the bound;
#   bad input: no --at, a bad time, unknown image/version/group, a bad
#     stagger, an image without PCs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tools/dhcp-netns.sh"

requires_root
requires ip netns list
requires python3 --version
requires sqlite3 --version
requires curl --version

netns_lan srv peer
netns_addr srv 198.18.0.1/24
netns_addr peer 198.18.0.2/24
# the limited broadcast (255.255.255.255) leaves by the default route
in_ns srv ip route add default dev eth0 || die "default route"
REAL=$LINKBOOT
linkboot_in_ns srv

head -c $((8 << 20)) /dev/urandom >"$TMP/img"
echo kernel >"$TMP/k"; echo initrd >"$TMP/i"
LB_LISTEN=127.0.0.1 start_linkboot --trusted-net 127.0.0.1/32
lb image add demo "$TMP/img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 ||
	die "image add"
lb image add other "$TMP/img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 ||
	die "image add other"
ID=$(sqlite3 "$LB_STATE/linkboot.db" "SELECT id FROM images WHERE name = 'demo'")
M=(52:54:00:00:5e:01 52:54:00:00:5e:02 52:54:00:00:5e:03 52:54:00:00:5e:04 52:54:00:00:5e:05)
lb client add "${M[0]}" --image demo --ssd-cache auto --group lab >/dev/null || die "add 1"
lb client add "${M[1]}" --image demo --ssd-cache 2048 --group lab >/dev/null || die "add 2"
lb client add "${M[2]}" --image demo --ssd-cache auto --boot san >/dev/null || die "add 3"
lb client add "${M[3]}" --image demo --ssd-cache off >/dev/null || die "add 4"
lb client add "${M[4]}" --image demo --ssd-cache auto >/dev/null || die "add 5"
# PC 5 is running: a live session row, as the NBD server keeps one
sqlite3 "$LB_STATE/linkboot.db" "INSERT INTO sessions(pid, peer, mac, image_id,
 version, since) VALUES($LB_PID, '198.18.0.50:1', '${M[4]}', '$ID', 1, 'x')" ||
	die "session row"

H=http://127.0.0.1:$LB_HTTP_PORT
hcurl() { in_ns srv curl "$@"; }
script() { hcurl -sf "$H/boot.ipxe?mac=$1"; }
cred() {	# a boot of MAC begins as its agent's would: its credential
	local t
	t=$(script "$1" | grep -oE 'linkboot\.ticket=t1-[0-9a-f]+' | cut -d= -f2) ||
		die "no ticket for $1"
	hcurl -sf --local-port 600-1000 --data-binary "ticket=$t" "$H/session" |
		sed -n 's/^credential=//p' | grep . || die "POST /session $1"
}
report() {	# report CRED BODY: the HTTP status of POST /prestage
	hcurl -s -o /dev/null -w '%{http_code}' ${1:+-H "Authorization: Bearer $1"} \
		--data-binary "$2" "$H/prestage"
}
pc_state() {
	lb image prestages demo -j | python3 -c "import json, sys
for r in json.load(sys.stdin):
    if r['mac'] == '$1':
        print(r['state'], r['reason'] or ''); break"
}

# --- bad input
lb image prestage demo 1 >"$TMP/out" 2>&1 && die "prestage without --at"
assert_contains "$TMP/out" "--at HH:MM" "no --at: the usage says it"
lb image prestage demo 1 --at 24:00 >"$TMP/out" 2>&1 && die "--at 24:00 accepted"
lb image prestage demo 1 --at 7:5 >"$TMP/out" 2>&1 && die "--at 7:5 accepted"
lb image prestage nope 1 --at now >"$TMP/out" 2>&1 && die "unknown image accepted"
assert_contains "$TMP/out" "nope: no such image" "unknown image"
lb image prestage demo 9 --at now >"$TMP/out" 2>&1 && die "unknown version accepted"
assert_contains "$TMP/out" "demo has no version 9" "unknown version"
lb image prestage demo 1 --at now --group nope >"$TMP/out" 2>&1 && die "unknown group accepted"
assert_contains "$TMP/out" "nope: no such group" "unknown group"
lb image prestage demo 1 --at now --stagger 99999 >"$TMP/out" 2>&1 && die "stagger 99999 accepted"
lb image prestage other 1 --at now >"$TMP/out" 2>&1 && die "an image without PCs accepted"
assert_contains "$TMP/out" "no PC boots other" "an image without PCs"
lb image prestage demo 1 --at now extra >"$TMP/out" 2>&1 && die "extra argument accepted"
[ -z "$(lb image prestages --no-legend)" ] || die "a refused prestage left rows"

# --- scheduled for later: nothing happens yet
lb image prestage demo 1 --at 23:59 --stagger 0 >"$TMP/out" 2>&1 || die "prestage: $(cat "$TMP/out")"
assert_contains "$TMP/out" "prestage 1: demo v1 into the SSD caches of 5 PCs" "scheduled for 5 PCs"
lb image prestage demo 1 --at now >"$TMP/out" 2>&1 && die "a second run of one image accepted"
assert_contains "$TMP/out" "has a pre-staging scheduled or running" "a second run refused"
sleep 6	# more than a tick
assert_eq "$(pc_state "${M[0]}")" "pending " "before its time, nothing is woken"
script "${M[0]}" | grep -q prestage && die "a PC not woken got linkboot.prestage"

# --- due now: the tick wakes the PCs that can stage
in_ns peer python3 "$TOP/tests/tools/wol_wait.py" eth0 "${M[0]}" 20 >"$TMP/wol" 2>&1 &
WOL=$!
wait_for 10 grep -q ready "$TMP/wol" || die "WoL listener did not start"
sqlite3 "$LB_STATE/linkboot.db" "UPDATE prestages SET at_unix = strftime('%s', 'now')" ||
	die "moving the run to now"
wait "$WOL" || die "no magic packet for ${M[0]}: $(tail -n 5 "$LB_LOG")"
assert_contains "$LB_LOG" "prestage demo v1: waking its PCs, 0 s apart" "the run starts"
wait_for 10 grep -q "prestage demo v1: ${M[1]} woken" "$LB_LOG" || die "PC 2 not woken"
assert_contains "$LB_LOG" "prestage demo v1: ${M[0]} woken \(magic packet\)" "PC 1 woken"
assert_eq "$(pc_state "${M[2]}")" "skipped boots from a SAN disk: no agent, no cache to fill" "SAN PC skipped"
assert_eq "$(pc_state "${M[3]}")" "skipped its SSD cache is off (--ssd-cache off)" "SSD off skipped"
assert_eq "$(pc_state "${M[4]}")" "skipped running: someone may be using it" "running PC skipped"

# the woken PCs' boot scripts say so, the others' do not
script "${M[0]}" >"$TMP/s1" || die "script 1"
assert_contains "$TMP/s1" "linkboot\.prestage=demo@1 linkboot\.prestage_hashes=boot/$ID/v1/hashes" "woken PC: prestage arguments"
script "${M[3]}" | grep -q prestage && die "a skipped PC got linkboot.prestage"
# fetching scripts changed nothing
assert_eq "$(pc_state "${M[0]}")" "woken " "GETs change nothing"

# --- reports
C1=$(cred "${M[0]}")
C2=$(cred "${M[1]}")
C4=$(cred "${M[3]}")
assert_eq "$(report "" "fetched=1
bytes=65536
had=0")" 403 "a report without a credential"
assert_eq "$(report "c1-$(printf '0%.0s' $(seq 64))" "fetched=1")" 403 "a report with a made-up credential"
assert_eq "$(report "$C1" "fetched=lots")" 400 "a malformed report"
assert_eq "$(report "$C1" "bytes=1")" 400 "a report without fetched/had"
assert_eq "$(report "$C4" "fetched=1
bytes=65536
had=0")" 409 "a PC that was not woken"
assert_eq "$(report "$C1" "fetched=100
bytes=6553600
had=20")" 200 "PC 1 done"
assert_eq "$(report "$C1" "fetched=100
bytes=6553600
had=20")" 409 "a second report of PC 1"
assert_eq "$(report "$C2" 'error=no SSD cache partition <script>')" 200 "PC 2 failed"
wait_for 15 grep -q "prestage demo v1: done: 1 staged, 1 failed, 3 skipped" "$LB_LOG" ||
	die "the run did not end: $(tail -n 5 "$LB_LOG")"
assert_eq "$(pc_state "${M[0]}")" "done " "PC 1 done"
assert_eq "$(pc_state "${M[1]}")" "failed no SSD cache partition _script_" "PC 2 failed, why kept (filtered)"
lb image prestages demo -j | python3 -c "import json, sys
r = [x for x in json.load(sys.stdin) if x['mac'] == '${M[0]}'][0]
assert (r['fetched'], r['bytes'], r['had'], r['run_state']) == (100, 6553600, 20, 'done'), r" ||
	die "PC 1's counts"
lb status >"$TMP/status" || die "status"
assert_contains "$TMP/status" "^prestage 1: demo v1 from .*: done \(1 done, 1 failed, 3 skipped\)" "status sums the run up"
lb image prestages >"$TMP/list" || die "prestages"
assert_contains "$TMP/list" "^ID +IMAGE +VERSION +AT +RUN +MAC" "the table's legend"
script "${M[0]}" | grep -q prestage && die "a done PC still gets linkboot.prestage"

# --- a woken PC that never reports
lb client set "${M[1]}" --ssd-cache off >/dev/null || die "client set"
lb client set "${M[3]}" --ssd-cache auto >/dev/null || die "client set"
lb image prestage demo 1 --at now --group lab --stagger 0 >"$TMP/out" 2>&1 ||
	die "second run: $(cat "$TMP/out")"
assert_contains "$TMP/out" "into the SSD caches of 2 PCs" "the group's 2 PCs"
wait_for 10 sh -c "lb_state=\$(sqlite3 '$LB_STATE/linkboot.db' \"SELECT state FROM prestage_pcs WHERE prestage_id = 2 AND mac = '${M[0]}'\"); [ \"\$lb_state\" = woken ]" ||
	die "PC 1 not woken in the second run"
sqlite3 "$LB_STATE/linkboot.db" "UPDATE prestage_pcs SET woken_unix = woken_unix - 4000 WHERE prestage_id = 2" ||
	die "ageing the wake"
wait_for 15 grep -q "prestage demo v1: done: 0 staged, 1 failed, 1 skipped" "$LB_LOG" ||
	die "the silent PC did not fail: $(tail -n 5 "$LB_LOG")"
lb image prestages demo -j | python3 -c "import json, sys
r = [x for x in json.load(sys.stdin) if x['id'] == 2 and x['mac'] == '${M[0]}'][0]
assert r['state'] == 'failed' and 'no report within 1800 s' in r['reason'], r" ||
	die "the silent PC's reason"
assert_alive "after the pre-staging runs"
echo "PASS: $TEST_NAME"
