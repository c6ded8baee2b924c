#!/bin/bash
# HTTP: GET /boot.ipxe?mac=... (the generated iPXE script; it changes
# nothing on the server) and POST /report?mac=... (only with a PC's
# credential) against the real server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
requires curl --version

start_linkboot
URL=http://127.0.0.1:$LB_HTTP_PORT
MAC=52:54:00:12:34:56

curl -s -D "$TMP/h" -o "$TMP/s" "$URL/boot.ipxe?mac=$MAC"
assert_contains "$TMP/h" '^HTTP/1\.1 200 ' "script status"
assert_contains "$TMP/h" '^Content-Type: text/plain' "script type"
assert_contains "$TMP/h" '^Cache-Control: no-store' "script not cached"
assert_eq "$(head -n 1 "$TMP/s")" "#!ipxe" "script magic"
assert_contains "$TMP/s" "MAC address: +$MAC" "MAC on screen"
assert_contains "$TMP/s" "boot server: +127\.0\.0\.1" "server on screen"
assert_contains "$TMP/s" "^sleep 5$" "retries every 5 s"
assert_contains "$TMP/s" "^chain --replace --autofree http://127\.0\.0\.1:$LB_HTTP_PORT/boot\.ipxe\?mac=$MAC \|\| goto retry$" \
	"re-chains the same URL"
assert_contains "$TMP/s" "linkboot client add $MAC --image" "unknown MAC: the command that links it"

# MAC spellings are normalised; only the parsed MAC reaches the script
curl -s -o "$TMP/s2" "$URL/boot.ipxe?mac=5254.0012.3456"
assert_contains "$TMP/s2" "mac=$MAC " "MAC re-formatted"
curl -s -o "$TMP/s3" "$URL/boot.ipxe?x=1&mac=52%3A54%3A00%3A12%3A34%3A56"
assert_contains "$TMP/s3" "mac=$MAC " "percent-encoded MAC"

# a bad or missing mac: 400, script-safe, none of the client's bytes
curl -s -D "$TMP/hb" -o "$TMP/sb" "$URL/boot.ipxe?mac=%24%7Bx%7D"
assert_contains "$TMP/hb" '^HTTP/1\.1 400 ' "bad mac -> 400"
assert_eq "$(head -n 1 "$TMP/sb")" "#!ipxe" "400 body is a script"
grep -q '${x}' "$TMP/sb" && die "client bytes reached the script"
assert_eq "$(http_code "$URL/boot.ipxe")" 400 "missing mac"
assert_eq "$(http_code "$URL/boot.ipxe?mac=")" 400 "empty mac"
assert_eq "$(http_code "$URL/boot.ipxe?mac=52:54:00:12:34")" 400 "short mac"

# HEAD gives the length, no body; POST is not allowed there
assert_eq "$(curl -s -I -o /dev/null -w '%{size_download}' "$URL/boot.ipxe?mac=$MAC")" 0 "HEAD script"
curl -s -D "$TMP/h405" -o /dev/null -X POST --data x "$URL/boot.ipxe?mac=$MAC"
assert_contains "$TMP/h405" '^Allow: GET, HEAD' "POST boot.ipxe -> 405"

# agent reports: only with a PC's credential (a report speaks for a PC)
printf 'boot_ms=5123\ncache_hits=77\n' >"$TMP/report"
assert_eq "$(http_code --data-binary @"$TMP/report" "$URL/report?mac=$MAC")" 403 "report without a credential"
assert_eq "$(http_code -H 'Authorization: Bearer c1-00000000000000000000000000000000' \
	--data-binary @"$TMP/report" "$URL/report?mac=$MAC")" 403 "report with an unknown credential"
assert_eq "$(http_code "$URL/report?mac=$MAC")" 405 "GET /report"
echo k >"$TMP/k"
"$LINKBOOT" image add demo "$TMP/k" --kernel "$TMP/k" --initrd "$TMP/k" \
	--state "$LB_STATE" >/dev/null 2>&1 || die "image add"
"$LINKBOOT" client add "$MAC" --image demo --state "$LB_STATE" >/dev/null ||
	die "client add"
CRED=$("$LINKBOOT" client token "$MAC" --state "$LB_STATE" 2>/dev/null) ||
	die "client token"
AUTH="Authorization: Bearer $CRED"
assert_eq "$(http_code -H "$AUTH" --data-binary @"$TMP/report" "$URL/report?mac=$MAC")" 204 "report -> 204"
# Expect: 100-continue is answered
assert_eq "$(http_code -H "$AUTH" -H 'Expect: 100-continue' --data-binary @"$TMP/report" "$URL/report?mac=$MAC")" 204 "report with Expect"

# reports land in the link DB; the GETs above left nothing there
q() { sqlite3 "$LB_STATE/linkboot.db" "$1"; }
if command -v sqlite3 >/dev/null; then
	[ "$(q "SELECT count(*) FROM events WHERE kind='report' AND mac='$MAC' AND detail LIKE '%boot_ms=5123%'")" -ge 2 ] ||
		die "report not recorded in the link DB"
	assert_eq "$(q "SELECT count(*) FROM events WHERE kind != 'report'")" 0 \
		"a GET of the boot script recorded something"
	before=$(q "SELECT boot_seq, IFNULL(last_boot, '-'), IFNULL(super_token, '-') FROM clients")
	for i in 1 2 3; do curl -sf -o /dev/null "$URL/boot.ipxe?mac=$MAC"; done
	assert_eq "$(q "SELECT boot_seq, IFNULL(last_boot, '-'), IFNULL(super_token, '-') FROM clients")" \
		"$before" "a GET of the boot script changed the client"
fi

assert_contains "$LB_LOG" 'GET "/boot\.ipxe\?mac=52:54:00:12:34:56" 200 [0-9]+ script=(unknown|db-error)$' "script request logged"
assert_alive "after boot script tests"
echo "PASS: $TEST_NAME"
