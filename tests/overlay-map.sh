#!/bin/bash
# GET /overlay-map: which blocks of a written export (write mode server)
# are the PC's own, from its server overlay, so the agent checks every
# other block against the version's hash table. Real clients: qemu-io
# writes through the PC's credential, curl reads the map as the agent
# does (Authorization: Bearer). Asserted: no overlay = no runs; writes
# show as their 64 KiB blocks; a kept overlay keeps its map into the next
# boot; a dropped one is empty once the next boot attached; no or a
# wrong credential, or another address, gets 403.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires qemu-io --version
requires nbdinfo --version
requires curl --version

MAC=52:54:00:00:08:01
head -c $((8 << 20)) /dev/urandom >"$TMP/img"
echo kernel >"$TMP/vmlinuz"
echo initrd >"$TMP/initrd"
start_linkboot --trusted-net 127.0.0.1/32
lb image add img "$TMP/img" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>/dev/null 2>&1 || die "image add"
lb client add $MAC --image img --write server >/dev/null || die "client add"
lb client keep $MAC on >/dev/null || die "client keep"
URL=http://127.0.0.1:$LB_HTTP_PORT/overlay-map
map() { curl -s -H "Authorization: Bearer $1" "$URL"; }

C1=$(boot_credential $MAC)
assert_eq "$(map "$C1")" "LBMAP1 65536 128" "nothing written: no runs"
T() { timeout -k 5 60 "$@"; }
T qemu-io -f raw -c 'write -P 0x11 327780 10' -c 'write -P 0x22 458752 131072' \
	-c flush "nbd://127.0.0.1:$LB_NBD_PORT/$C1" >"$TMP/qio" 2>&1 ||
	{ cat "$TMP/qio"; die "qemu-io"; }
assert_eq "$(map "$C1" | tr '\n' '|')" "LBMAP1 65536 128|5 1|7 2|" "blocks 5, 7, 8 written"

# a kept overlay: the next boot's map is the same
C2=$(boot_credential $MAC)
T nbdinfo "nbd://127.0.0.1:$LB_NBD_PORT/$C2" >/dev/null || die "nbdinfo boot 2"
assert_eq "$(map "$C2" | tr '\n' '|')" "LBMAP1 65536 128|5 1|7 2|" "kept overlay keeps its map"
# not kept: the next boot's attach drops it, and so its map
lb client keep $MAC off >/dev/null || die "client keep off"
C3=$(boot_credential $MAC)
T nbdinfo "nbd://127.0.0.1:$LB_NBD_PORT/$C3" >/dev/null || die "nbdinfo boot 3"
T qemu-io -f raw -c 'read -P 0 0 4096' "nbd://127.0.0.1:$LB_NBD_PORT/$C3" >/dev/null 2>&1 ||
	true	# (the image's own bytes: not checked here)
assert_eq "$(map "$C3")" "LBMAP1 65536 128" "a dropped overlay has no runs"

# who may ask
CODE=$(curl -s -o "$TMP/e" -w '%{http_code}' "$URL")
assert_eq "$CODE" 403 "no credential"
assert_contains "$TMP/e" "needs the PC's credential" "says what is missing"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer c1-00000000000000000000000000000000" "$URL")
assert_eq "$CODE" 403 "a made-up credential"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $C1" "$URL")
assert_eq "$CODE" 403 "an earlier boot's credential"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 \
	-H "Authorization: Bearer $C3" "$URL")
assert_eq "$CODE" 403 "the credential from another address"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $C3" "$URL")
assert_eq "$CODE" 405 "POST"
assert_alive "after the map requests"
echo ok
