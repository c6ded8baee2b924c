#!/bin/bash
# linkboot why MAC: an unknown MAC's next step is the exact `client add`;
# a linked MAC shows its image, version and modes, never booted until it
# boots, and -j is one JSON object jq parses with the same facts; the
# recent events say what the server saw of it (reports, sessions, DHCP),
# with its agent's last timeline.
source "$(dirname "$0")/lib.sh"

requires jq --version
requires curl --version

cli() { local cmd=$1; shift; "$LINKBOOT" "$cmd" --state "$LB_STATE" "$@"; }
MAC=52:54:00:12:34:77

start_linkboot --trusted-net 127.0.0.1/32

# --- unknown
cli why "$MAC" >"$TMP/w0" || die "why unknown: $(cat "$TMP/w0")"
assert_contains "$TMP/w0" "KNOWN: no" "unknown MAC"
assert_contains "$TMP/w0" "NEXT STEP: linkboot client add $MAC --image" "next step: client add"
cli why "$MAC" -j | jq -e ".known == false and .mac == \"$MAC\"" >/dev/null ||
	die "why -j unknown"

# --- linked, never booted
truncate -s 8M "$TMP/disk.img"
head -c 3000 /dev/urandom >"$TMP/vmlinuz"
head -c 2000 /dev/urandom >"$TMP/initrd.img"
cli image add demo "$TMP/disk.img" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd.img" \
	>"$TMP/add.out" 2>&1 || die "image add: $(cat "$TMP/add.out")"
cli client add "$MAC" --image demo --group lab >/dev/null || die "client add"
cli why "$MAC" >"$TMP/w1" || die "why linked"
assert_contains "$TMP/w1" "IMAGE: demo" "image"
assert_contains "$TMP/w1" "VERSION: 1" "version"
assert_contains "$TMP/w1" "GROUP: lab" "group"
assert_contains "$TMP/w1" "NEXT STEP: never booted" "next step: never booted"
cli why "$MAC" -j >"$TMP/w1.json" || die "why -j linked"
jq -e '.known and .image == "demo" and .version == 1 and .group == "lab"
	and .boots == 0 and .last_boot == null' "$TMP/w1.json" >/dev/null ||
	die "why -j linked: $(cat "$TMP/w1.json")"

# --- after a boot began (boot script fetched, ticket redeemed)
boot_credential "$MAC" >/dev/null
cli why "$MAC" -j >"$TMP/w2.json" || die "why -j booted"
jq -e '.boots == 1 and .last_boot != null and (.next_step | startswith("none"))' \
	"$TMP/w2.json" >/dev/null || die "why -j after a boot: $(cat "$TMP/w2.json")"
# what the server saw, in order: the agent's report, its timeline
CRED=$(boot_credential "$MAC")
printf 'boot_id=b1\nuptime_ms=4000\ntimeline=net 900 ms, nbd 1200 ms, root 2100 ms\n' |
	curl -sf -H "Authorization: Bearer $CRED" --data-binary @- \
	"http://127.0.0.1:$LB_HTTP_PORT/report?mac=$MAC" >/dev/null || die "POST /report"
cli why "$MAC" -j >"$TMP/w3.json" || die "why -j reported"
jq -e '(.recent_events | test("report")) and (.timeline | test("root 2100 ms"))' \
	"$TMP/w3.json" >/dev/null || die "why: events/timeline: $(cat "$TMP/w3.json")"

# --- its image file gone (moved away): the screen's repair command
mv "$LB_STATE/store" "$TMP/store.moved" || die "moving the store"
cli why "$MAC" >"$TMP/w4" || die "why missing"
assert_contains "$TMP/w4" "IMAGE MISSING: yes" "image missing"
assert_contains "$TMP/w4" "NEXT STEP: the file of image demo v1 is missing .*linkboot image repair --scan DIR" "next step: repair"
mv "$TMP/store.moved" "$LB_STATE/store" || die "moving the store back"

# --- bad input
cli why not-a-mac >"$TMP/bad" 2>&1 && die "bad MAC accepted"
cli why >"$TMP/bad" 2>&1 && die "missing MAC accepted"
assert_alive "after why"
