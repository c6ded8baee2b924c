#!/bin/bash
# `linkboot status`: online from live sessions (only while a server runs),
# the counters of an agent report (stats) as hit rates and sizes, JSON
# that parses with the documented keys.
. "$(dirname "$0")/lib.sh"
requires sqlite3 --version
requires jq --version

LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
ID=0123456789abcdef
DB=$LB_STATE/linkboot.db
lb status >/dev/null || die "status on a new state dir"
sqlite3 "$DB" "
INSERT INTO images(id, name, size, production_version, created)
 VALUES('$ID', 'demo', 1048576, 1, '2026-11-25T00:00:00Z');
INSERT INTO versions(image_id, version, file, created)
 VALUES('$ID', 1, '$ID.v1', 'x'), ('$ID', 2, '$ID.v2', 'x');" || die "image rows"
lb client add 52:54:00:ee:00:01 --image demo >/dev/null || die "add 1"
lb client add 52:54:00:ee:00:02 --image demo >/dev/null || die "add 2"

lb status -j >"$TMP/s.json" || die "status -j"
jq -e 'length == 2 and all(.[]; .online == false and .ram_hit_percent == null)' \
	"$TMP/s.json" >/dev/null || { cat "$TMP/s.json"; die "status before reports"; }

# an agent report (the keys db_stats_update() parses) and a live session
sqlite3 "$DB" "
INSERT INTO stats(mac, time, boot_id, uptime_ms, bytes_from_server, ram_hits,
 ram_misses, ssd_hits, ssd_misses, overlay_bytes)
 VALUES('52:54:00:ee:00:01', '2026-11-25T16:00:00Z', 'b1', 3723000, 1572864,
 90, 10, 1, 3, 4096);
INSERT INTO sessions(pid, peer, mac, image_id, version, since)
 VALUES(1, '127.0.0.1:5000', '52:54:00:ee:00:01', '$ID', 1,
 '2026-11-25T16:00:00Z');" || die "stats/session rows"
# a newer production version: the online client still runs v1
sqlite3 "$DB" "UPDATE images SET production_version = 2"

# no server running: a stale session row does not make a client online
lb status -j | jq -e '.[0].online == false' >/dev/null ||
	die "stale session shown online without a server"

start_linkboot
# the server cleared stale sessions at start; add a live one again
sqlite3 "$DB" "INSERT INTO sessions(pid, peer, mac, image_id, version, since,
 bytes_read, bytes_written, io_errors)
 VALUES($LB_PID, '127.0.0.1:5000', '52:54:00:ee:00:01', '$ID', 1,
 '2026-11-25T16:00:00Z', 2097152, 4096, 2);" || die "session row"
lb status -j >"$TMP/s.json" || die "status -j with server"
jq -e '.[0] | .mac == "52:54:00:ee:00:01" and .online == true and
	.version == 1 and .uptime_ms == 3723000 and
	.bytes_from_server == 1572864 and .ram_hit_percent == 90 and
	.ssd_hit_percent == 25 and .overlay_bytes == 4096 and
	.peer == "127.0.0.1:5000" and .protocol == "nbd" and
	.session_bytes_read == 2097152 and .session_bytes_written == 4096 and
	.session_io_errors == 2' "$TMP/s.json" >/dev/null ||
	{ cat "$TMP/s.json"; die "status of the reporting client"; }
jq -e '.[1] | .online == false and .version == 2 and .protocol == null and
	.session_bytes_read == null' "$TMP/s.json" >/dev/null ||
	die "offline client follows production"
lb status >"$TMP/s.txt" || die "status text"
assert_contains "$TMP/s.txt" '^MAC +NAME +IMAGE +VERSION +ONLINE' "legend"
assert_contains "$TMP/s.txt" '52:54:00:ee:00:01 +PC-001 +demo +1 +nbd +2.0M +4.0K +2 +1h02m +1.5M +90% +25% ' \
	"text row"
lb status --bogus >/dev/null 2>&1
[ $? -eq 2 ] || die "bad status option: want exit 2"

# an agent report over HTTP (POST /report) reaches status; a report
# speaks for a PC: without the PC's credential it is refused and changes
# nothing (here an admin token, `client token`)
url="http://127.0.0.1:$LB_HTTP_PORT/report"
report='boot_id=b2\nuptime_ms=5000\nbytes_from_server=2048\nram_hits=1\nram_misses=1\n'
code=$(printf "$report" | curl -s -o /dev/null -w '%{http_code}' \
	-X POST --data-binary @- "$url?mac=52:54:00:ee:00:02")
assert_eq "$code" 403 "report without a credential"
lb status -j | jq -e '.[1].uptime_ms == null' >/dev/null ||
	die "a report without a credential reached status"
tok=$(lb client token 52:54:00:ee:00:02 2>/dev/null) || die "client token"
printf "$report" | curl -sf -X POST -H "Authorization: Bearer $tok" \
	--data-binary @- "$url" || die "POST /report with a credential"
lb status -j | jq -e '.[1] | .uptime_ms == 5000 and
	.bytes_from_server == 2048 and .ram_hit_percent == 50' >/dev/null ||
	die "HTTP report not in status"
