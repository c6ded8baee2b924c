#!/bin/bash
# HTTP boot script against the real link DB: an unknown MAC gets the fix-it
# screen; `linkboot client add` on the running server turns the next fetch
# into a boot script whose kernel/initrd URLs serve the image's files and
# whose kernel arguments carry the link (include/lb_cmdline.h); a missing
# image file gets the repair screen; `client rm` brings the screen back.
# The boot ticket goes only to an asker the server recognises as the PC:
# on loopback nothing vouches for it (no ARP), so without --trusted-net
# the linked PC gets the "cannot tell" screen and no ticket.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
requires curl --version
requires "$LINKBOOT" image --help
requires "$LINKBOOT" client --help

# the command first, then the server options
cli() { local cmd=$1; shift; "$LINKBOOT" "$cmd" --state "$LB_STATE" "$@"; }

start_linkboot
URL=http://127.0.0.1:$LB_HTTP_PORT
MAC=52:54:00:12:34:56
script() { curl -sf --max-time 10 -o "$1" "$URL/boot.ipxe?mac=$MAC" || die "GET boot.ipxe"; }

script "$TMP/s0"
assert_contains "$TMP/s0" "linkboot client add $MAC --image" "unknown MAC: fix-it screen"

# link it while the server runs
truncate -s 8M "$TMP/disk.img"
head -c 300000 /dev/urandom >"$TMP/vmlinuz"
head -c 200000 /dev/urandom >"$TMP/initrd.img"
cli image add demo "$TMP/disk.img" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd.img" \
	>"$TMP/add.out" 2>&1 || die "image add: $(cat "$TMP/add.out")"
cli client add "$MAC" --image demo --ram-cache 128 >/dev/null || die "client add"
cli client show "$MAC" >"$TMP/show" || die "client show"
mid=$(awk '$1 == "MACHINE" && $2 == "ID:" { print $3 }' "$TMP/show")
[ -n "$mid" ] || die "no machine id in client show"

script "$TMP/s0b"
assert_contains "$TMP/s0b" "cannot tell that this request comes from the PC with MAC $MAC" \
	"unrecognised asker: no ticket, says why"
assert_contains "$TMP/s0b" "127\.0\.0\.1 is not on-link" "the reason"
grep -q 'linkboot\.ticket\|^kernel ' "$TMP/s0b" && die "ticket or kernel for an unrecognised asker"
assert_contains "$LB_LOG" 'no boot ticket for 52:54:00:12:34:56' "logged"
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
start_linkboot --trusted-net 127.0.0.1/32

script "$TMP/s1"
assert_contains "$TMP/s1" "^echo linkboot: PC-001 \($MAC\) boots image demo version 1$" "names client, image, version"
a="$TMP/s1"
assert_contains "$a" "linkboot\.server=127\.0\.0\.1:$LB_NBD_PORT " "NBD server"
assert_contains "$a" "linkboot\.http=http://127\.0\.0\.1:$LB_HTTP_PORT " "HTTP base"
assert_contains "$a" "linkboot\.ticket=t1-[0-9a-f]{78} " "boot ticket"
grep -q 'linkboot\.export=' "$a" && die "the script names an export"
t1=$(grep -oE 'linkboot\.ticket=[^ ]+' "$a")
script "$TMP/s1b"
[ "$(grep -oE 'linkboot\.ticket=[^ ]+' "$TMP/s1b")" != "$t1" ] ||
	die "two fetches got the same ticket"
assert_contains "$a" 'linkboot\.mac=\$\{mac\} linkboot\.ip=\$\{ip\} linkboot\.netmask=\$\{netmask\}' "address from iPXE"
assert_contains "$a" 'linkboot\.write=ram linkboot\.ram=128' "write mode, RAM cache"
assert_contains "$a" 'linkboot\.hostname=pc-001' "hostname"
assert_contains "$a" "systemd\.machine_id=$mid" "machine id"
assert_contains "$a" '^boot \|\| goto failed$' "boot step"

# the URLs in the script serve the image's kernel and initrd
k=$(sed -n 's/^kernel \(http:[^ ]*\) initrd=initrd\.img .*|| goto failed$/\1/p' "$a")
i=$(sed -n 's/^initrd --name initrd\.img \(http:[^ ]*\) || goto failed$/\1/p' "$a")
[ -n "$k" ] && [ -n "$i" ] || die "no kernel/initrd URL in the script"
curl -sf -o "$TMP/k.out" "$k" || die "GET $k"
curl -sf -o "$TMP/i.out" "$i" || die "GET $i"
cmp "$TMP/k.out" "$TMP/vmlinuz" || die "kernel served differs"
cmp "$TMP/i.out" "$TMP/initrd.img" || die "initrd served differs"

# the image file goes away: the repair screen
mkdir -p "$TMP/moved"
mv "$LB_STATE"/store/*.raw "$TMP/moved/"
script "$TMP/s2"
assert_contains "$TMP/s2" 'linkboot image repair --scan DIR' "image missing: repair screen"
mv "$TMP/moved"/*.raw "$LB_STATE/store/"

# unlinked again: back to the fix-it screen
cli client rm "$MAC" >/dev/null || die "client rm"
script "$TMP/s3"
assert_contains "$TMP/s3" "linkboot client add $MAC --image" "unlinked: fix-it screen"
assert_contains "$LB_LOG" 'script=boot$' "boot script logged"
assert_alive "after linked boot scripts"
echo "PASS: $TEST_NAME"
