#!/bin/bash
# `linkboot client ...` against the real binary and a fresh link DB:
# add/set/list/show/rm round trip with every MAC spelling, JSON that parses,
# bad input naming the field with exit 2, one super client per image, and
# the live effect on a running server's boot script (no restart).
. "$(dirname "$0")/lib.sh"
requires sqlite3 --version
requires jq --version

LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
ID=0123456789abcdef
lb client list >/dev/null || die "client list on a new state dir"
# image rows as the image store writes them (until `linkboot image add`)
sqlite3 "$LB_STATE/linkboot.db" "
INSERT INTO images(id, name, size, production_version, created)
 VALUES('$ID', 'demo', 1048576, 1, '2026-11-25T00:00:00Z');
INSERT INTO versions(image_id, version, file, kernel, initrd, created)
 VALUES('$ID', 1, '$ID.v1', '$ID/v1/vmlinuz', '$ID/v1/initrd.img', 'x'),
       ('$ID', 2, '$ID.v2', '$ID/v2/vmlinuz', '$ID/v2/initrd.img', 'x');
INSERT INTO images(id, name, size, production_version, created)
 VALUES('fedcba9876543210', 'other', 2048, 1, '2026-11-25T00:00:00Z');
INSERT INTO versions(image_id, version, file, created)
 VALUES('fedcba9876543210', 1, 'fedcba9876543210.v1', 'x');" ||
	die "inserting image rows"

# --- add with every common MAC spelling; stored normalised
spellings=(52:54:00:AA:00:01 52-54-00-aa-00-02 5254.00aa.0003 525400AA0004
	52:54:00:aa:0:5)
for m in "${spellings[@]}"; do
	lb client add "$m" --image demo >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; die "client add $m"; }
done
lb client list --json=short >"$TMP/list.json" || die "client list --json"
jq -e . "$TMP/list.json" >/dev/null || die "client list JSON does not parse"
assert_eq "$(jq length "$TMP/list.json")" 5 "clients listed"
assert_eq "$(jq -r '[.[].mac] | sort | join(" ")' "$TMP/list.json")" \
	"52:54:00:aa:00:01 52:54:00:aa:00:02 52:54:00:aa:00:03 52:54:00:aa:00:04 52:54:00:aa:00:05" \
	"normalised MACs"
assert_eq "$(jq -r '.[0].name + " " + .[0].hostname' "$TMP/list.json")" \
	"PC-001 pc-001" "default name pattern"
assert_eq "$(jq -r '.[4].name' "$TMP/list.json")" "PC-005" "next free name"
assert_eq "$(jq -r '.[0].ram_cache_bytes' "$TMP/list.json")" 67108864 \
	"built-in RAM cache 64 MiB, in bytes"
jq -e 'all(.[]; (.machine_id | test("^[0-9a-f]{32}$")) and .boots == 0 and
	.admin_tokens == 0 and (has("token") | not))' "$TMP/list.json" >/dev/null ||
	die "machine_id not 32 hex digits, or a token listed"
assert_eq "$(jq -r '[.[].machine_id] | unique | length' "$TMP/list.json")" 5 \
	"machine ids unique"

# --- admin tokens: shown once, counted, revoked
T1=$(lb client token 52:54:00:aa:00:01 2>"$TMP/tok.err") || die "client token"
[[ $T1 =~ ^c1-[0-9a-f]{32}$ ]] || die "admin token shape: $T1"
T2=$(lb client token 52:54:00:aa:00:01 --peer 198.18.0.5 2>/dev/null) ||
	die "client token --peer"
[ "$T1" != "$T2" ] || die "two tokens alike"
assert_contains "$TMP/tok.err" 'shown once' "token: says it is shown once"
assert_eq "$(lb client show 52:54:00:aa:00:01 -j | jq .admin_tokens)" 2 "2 admin tokens"
grep -rq "$T1" "$LB_STATE" && die "the token is stored in the clear"
lb client token 52:54:00:aa:00:01 --peer 300.1.1.1 >/dev/null 2>&1
assert_eq "$?" 2 "bad --peer: usage error"
lb client token 52:54:00:ff:ff:ff >/dev/null 2>&1 && die "token for an unknown client"
lb client token 52:54:00:aa:00:01 --revoke >"$TMP/rev" || die "token --revoke"
assert_contains "$TMP/rev" '2 admin token' "revoked both"
assert_eq "$(lb client show 52:54:00:aa:00:01 -j | jq .admin_tokens)" 0 "none left"
lb client list --json=pretty | jq -e . >/dev/null || die "pretty JSON"
lb client list >"$TMP/list.txt" || die "client list"
assert_contains "$TMP/list.txt" '^MAC +NAME +IMAGE +VERSION' "legend"
assert_contains "$TMP/list.txt" '^52:54:00:aa:00:03 +PC-003 +demo +1 ' "table row"
lb client list --no-legend >"$TMP/list.txt"
[ "$(wc -l <"$TMP/list.txt")" -eq 5 ] || die "--no-legend prints rows only"

# --- set: one client, then a whole group
lb client add 52:54:00:aa:00:06 --image demo --name LAB-1 --hostname lab-one \
	--group lab --ram-cache 256 --ssd-cache auto --write disk >/dev/null ||
	die "client add with every option"
lb client add 52:54:00:aa:00:07 --image demo --name LAB-2 --group lab \
	>/dev/null || die "second lab client"
lb client set 5254.00AA.0001 --ram-cache 512 --write server --version 2 \
	>/dev/null || die "client set"
lb client show 52:54:00:aa:00:01 -j >"$TMP/show.json" || die "client show -j"
assert_eq "$(jq -r '[.ram_cache_bytes, .write_mode, .version] | join(" ")' \
	"$TMP/show.json")" "536870912 server 2" "set took effect"
lb client set --group lab --ssd-cache 2048 >"$TMP/out" || die "set --group"
assert_contains "$TMP/out" "2 client" "group set count"
lb client list -j | jq -r '.[] | select(.group == "lab") | .ssd_cache' \
	>"$TMP/ssd" || die "list -j"
assert_eq "$(sort -u "$TMP/ssd")" 2048 "group-wide set"
# --overlay: RAM for the PC's writes, shown and given to the agent
lb client set 52:54:00:aa:00:01 --overlay 128 >/dev/null || die "--overlay"
assert_eq "$(lb client show 52:54:00:aa:00:01 -j | jq .overlay_ram_bytes)" \
	134217728 "--overlay stored"
lb client set 52:54:00:aa:00:01 --overlay inherit >/dev/null
assert_eq "$(lb client show 52:54:00:aa:00:01 -j | jq .overlay_ram_bytes)" \
	null "--overlay inherit: the agent's default"
lb client set 52:54:00:aa:00:01 --overlay 0 >/dev/null 2>&1 &&
	die "--overlay 0 accepted"
lb client set 52:54:00:aa:00:01 --ram-cache inherit >/dev/null
assert_eq "$(lb client show 52:54:00:aa:00:01 -j | jq .ram_cache_bytes)" \
	67108864 "inherit clears the override"
lb client set 52:54:00:aa:00:07 --group none >/dev/null || die "--group none"
assert_eq "$(lb client show 52:54:00:aa:00:07 -j | jq .group)" null \
	"--group none leaves the group"
lb client set 52:54:00:aa:00:07 --group lab >/dev/null || die "back to lab"
lb client show 52:54:00:aa:00:06 >"$TMP/show.txt" || die "client show"
assert_contains "$TMP/show.txt" 'HOSTNAME: lab-one' "show text"

# --- super client: one per image, granted to its next boot
lb client super 52:54:00:aa:00:02 on >"$TMP/super" || die "super on"
assert_contains "$TMP/super" 'next boot writes the next version' "super grant"
grep -qE '[0-9a-f]{32}' "$TMP/super" && die "super prints a secret"
lb client super 52:54:00:aa:00:03 on >"$TMP/out" 2>&1 &&
	die "a second super client of the same image was accepted"
assert_contains "$TMP/out" 'already the super client' "one super per image"
lb client super 52:54:00:aa:00:02 off >/dev/null || die "super off"
lb client super 52:54:00:aa:00:03 on >/dev/null || die "super after off"
lb client set 52:54:00:aa:00:03 --image other >"$TMP/out" 2>&1 &&
	die "moved the super client to another image"
assert_contains "$TMP/out" "super 52:54:00:aa:00:03 off" "super move refused"
lb client keep 52:54:00:aa:00:03 on >/dev/null || die "keep on"
assert_eq "$(lb client show 52:54:00:aa:00:03 -j | jq -r '.keep_overlay')" \
	true "keep_overlay"

# --- bad input: exit 2, message names the field
bad() {
	local field=$1; shift
	lb client "$@" >"$TMP/bad" 2>&1
	local rc=$?
	[ "$rc" -eq 2 ] || { cat "$TMP/bad"; die "'client $*' exit $rc, want 2"; }
	assert_contains "$TMP/bad" "$field" "error for 'client $*' names $field"
}
bad "MAC 'zz:54'" add zz:54 --image demo
bad "MAC '52:54:00:aa:00'" add 52:54:00:aa:00 --image demo
bad "--ram-cache 'lots'" add 52:54:00:aa:00:09 --image demo --ram-cache lots
bad "--ssd-cache 'big'" add 52:54:00:aa:00:09 --image demo --ssd-cache big
bad "--write 'tmpfs'" add 52:54:00:aa:00:09 --image demo --write tmpfs
bad "--version '0'" add 52:54:00:aa:00:09 --image demo --version 0
bad "--hostname 'a b'" add 52:54:00:aa:00:09 --image demo --hostname 'a b'
bad "--image NAME missing" add 52:54:00:aa:00:09
bad "unknown option '--colour'" add 52:54:00:aa:00:09 --image demo --colour red
bad "give on or off" super 52:54:00:aa:00:01 maybe
bad "unknown command 'frobnicate'" frobnicate
# runtime errors: exit 1
lb client add 52:54:00:aa:00:09 --image nope >"$TMP/bad" 2>&1
[ $? -eq 1 ] || die "unknown image: want exit 1"
assert_contains "$TMP/bad" "--image 'nope': no such image" "unknown image"
lb client add 52-54-00-AA-00-01 --image demo >"$TMP/bad" 2>&1 &&
	die "duplicate MAC accepted"
assert_contains "$TMP/bad" "already linked" "duplicate MAC"
lb client add 52:54:00:aa:00:09 --image demo --name PC-001 >"$TMP/bad" 2>&1 &&
	die "duplicate name accepted"
assert_contains "$TMP/bad" "another client has that name" "duplicate name"
lb client add 52:54:00:aa:00:09 --image demo --version 7 >"$TMP/bad" 2>&1 &&
	die "missing version accepted"
lb client --help | grep -q "add MAC --image NAME" || die "client --help"
lb client add --help | grep -q -- "--ssd-cache" || die "client add --help"

# --- rm, in another spelling
lb client rm 525400aa0004 >/dev/null || die "client rm"
lb client rm 525400aa0004 >/dev/null 2>&1 && die "rm of a removed client"
assert_eq "$(lb client list -j | jq length)" 6 "after rm"

# --- live effect on a running server: unknown-MAC script -> linked script
LIVE=52:54:00:aa:00:42
start_linkboot --trusted-net 127.0.0.1/32
url="http://127.0.0.1:$LB_HTTP_PORT/boot.ipxe?mac=$LIVE"
curl -sf -o "$TMP/before" "$url" || die "boot script of an unknown MAC"
grep -q "linkboot client add" "$TMP/before" ||
	{ cat "$TMP/before"; die "unknown MAC script does not show the fix"; }
lb client add "$LIVE" --image demo >/dev/null || die "live client add"
# the version file is not in the store yet: the PC shows the repair command
curl -sf -o "$TMP/missing" "$url" || die "boot script, image file missing"
assert_contains "$TMP/missing" "linkboot image repair --scan" \
	"missing image file: repair command on screen"
mkdir -p "$LB_STATE/store"
head -c 1048576 /dev/zero >"$LB_STATE/store/$ID.v1"
head -c 1048576 /dev/zero >"$LB_STATE/store/$ID.v2"
curl -sf -o "$TMP/after" "$url" || die "boot script after client add"
assert_contains "$TMP/after" "linkboot\.ticket=t1-" "linked script carries a boot ticket"
assert_alive "after the live link"
