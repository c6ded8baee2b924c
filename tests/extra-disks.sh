#!/bin/bash
# Extra disks (`linkboot client disk`): a group's read-only game disk and
# per-PC data disks (server: kept; ram: dropped at the next boot) beside
# the system disk. The agent's way in (POST /session lists them, NBD
# export CREDENTIAL/N) read by nbdcopy/qemu-io: every byte equal to the
# image; writes refused on a read-only disk, kept or dropped by mode,
# never seen by another PC. A SAN PC's way in: the same disks as LUN 1
# and 2 of its iSCSI target (QEMU's iSCSI driver, iscsi-inq), a LUN it
# has no disk at fails. Bad input: bad LUNs, modes, owners, taken LUNs,
# export names; `image rm` of a disk image is refused.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires nbdcopy --version
requires nbdinfo --version
requires qemu-io --version
requires qemu-img --version
requires iscsi-inq --help
requires jq --version
requires curl --version
qemu-img info iscsi://127.0.0.1:1/x/0 2>&1 | grep -q "Unknown protocol" &&
	skip "requires QEMU's iSCSI block driver (qemu-block-extra)"

A=52:54:00:00:07:01 B=52:54:00:00:07:02
head -c $((16 << 20)) /dev/urandom >"$TMP/sys.img"
head -c $((24 << 20)) /dev/urandom >"$TMP/games.img"
head -c $((8 << 20)) /dev/urandom >"$TMP/data.img"
echo kernel >"$TMP/vmlinuz"
echo initrd >"$TMP/initrd"
start_linkboot --trusted-net 127.0.0.1/32
for i in sys games data; do
	lb image add "$i" "$TMP/$i.img" --kernel "$TMP/vmlinuz" \
		--initrd "$TMP/initrd" >"$TMP/add-$i" 2>&1 ||
		{ cat "$TMP/add-$i"; die "image add $i"; }
done
lb client add $A --image sys --group room >/dev/null || die "client add A"
lb client add $B --image sys --group room >/dev/null || die "client add B"

# --- the CLI
lb client disk add --group room games >"$TMP/out" || die "group disk add"
assert_contains "$TMP/out" "group room: disk 1 is image games \(ro\)" "group disk at the lowest free LUN"
lb client disk add $A data --write server >"$TMP/out" || die "disk add A"
assert_contains "$TMP/out" "disk 2 is image data \(server\)" "A's data disk at LUN 2"
lb client disk add $B data --lun 2 --write ram >/dev/null || die "disk add B"
lb client disk list $A -j >"$TMP/list" || die "disk list A"
assert_eq "$(jq -c '[.[] | [.lun, .image, .write_mode, .group]]' "$TMP/list")" \
	'[[1,"games","ro",true],[2,"data","server",false]]' "A's disks: its group's and its own"
assert_eq "$(jq '.[0].size_bytes' "$TMP/list")" $((24 << 20)) "disk size"
lb client disk list --group room --no-legend >"$TMP/list" || die "disk list group"
assert_eq "$(wc -l <"$TMP/list")" 1 "the group has one disk"
lb client disk list >"$TMP/list" || die "disk list"
assert_contains "$TMP/list" "^OWNER +LUN +IMAGE" "text legend"
assert_eq "$(grep -c data "$TMP/list")" 2 "all stored disks"

lb why $A -j >"$TMP/why" || die "why A"
assert_eq "$(jq -r .extra_disks "$TMP/why")" "1 games v1 ro, 2 data v1 server" "why lists the disks"

bad() {	# bad WANT_RC WANT_TEXT ARGS...: refused with WANT_TEXT, exit WANT_RC
	local want=$1 text=$2 rc=0
	shift 2
	lb client disk "$@" >"$TMP/bad" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { cat "$TMP/bad"; die "client disk $*: rc $rc, want $want"; }
	assert_contains "$TMP/bad" "$text" "client disk $*"
}
bad 2 "--lun '9': give 1 to 7" add $A games --lun 9
bad 2 "--lun '0': give 1 to 7" add $A games --lun 0
bad 2 "--write 'rw': give ro, ram" add $A games --write rw
bad 1 "already has a disk at LUN 2" add $A games --lun 2
bad 1 "nosuch: no such image" add $A nosuch
bad 1 "--version 5: image games has no such version" add $A games --version 5
bad 1 "not linked" add 52:54:00:00:07:99 games
bad 1 "no client is in that group" add --group nosuch games
bad 2 "not a MAC address" add not-a-mac games
bad 1 "has no disk at LUN 5" rm $A 5
bad 2 "give one IMAGE" add $A
bad 2 "unknown command 'frob'" frob
lb image rm games >"$TMP/rm" 2>&1 && die "image rm of a disk image"
assert_contains "$TMP/rm" "extra disk of 1 client" "image rm names the disk users"

# --- a Linux PC's agent: POST /session lists the disks, NBD serves them
session() {	# session MAC: the answer to POST /session of a new boot
	local t
	t=$(curl -sf "http://127.0.0.1:$LB_HTTP_PORT/boot.ipxe?mac=$1" |
		grep -oE 'linkboot\.ticket=t1-[0-9a-f]+' | cut -d= -f2) ||
		die "no boot ticket for $1"
	curl -sf --local-port 600-1000 --data-binary "ticket=$t" \
		"http://127.0.0.1:$LB_HTTP_PORT/session"
}
session $A >"$TMP/sa" || die "POST /session A"
assert_contains "$TMP/sa" "^disk=1 ro $((24 << 20))$" "session lists the game disk"
assert_contains "$TMP/sa" "^disk=2 server $((8 << 20))$" "session lists the data disk"
CA=$(sed -n 's/^credential=//p' "$TMP/sa")
CB=$(session $B | sed -n 's/^credential=//p')
[ -n "$CA" ] && [ -n "$CB" ] || die "no credentials"
N=nbd://127.0.0.1:$LB_NBD_PORT
T() { timeout -k 5 120 "$@"; }
T nbdcopy "$N/$CA/1" "$TMP/g" || die "nbdcopy A's disk 1"
cmp "$TMP/g" "$TMP/games.img" || die "A's disk 1: bytes differ from the image"
T nbdcopy "$N/$CA" "$TMP/s" || die "nbdcopy A's system disk"
cmp "$TMP/s" "$TMP/sys.img" || die "A's system disk: bytes differ"
rm -f "$TMP/g" "$TMP/s"
T nbdinfo --json "$N/$CA/2" >"$TMP/info" || die "nbdinfo A's disk 2"
assert_eq "$(jq '.exports[0]."export-size"' "$TMP/info")" $((8 << 20)) "disk 2 size"
assert_eq "$(jq '.exports[0].is_read_only' "$TMP/info")" false "server disk writable"
T nbdinfo --json "$N/$CA/1" >"$TMP/info" || die "nbdinfo A's disk 1"
assert_eq "$(jq '.exports[0].is_read_only' "$TMP/info")" true "game disk read-only"
T qemu-io -f raw -c 'write -P 0x11 0 4096' "$N/$CA/1" >"$TMP/qio" 2>&1 &&
	die "a write to the read-only disk succeeded"
for name in "$CA/3" "$CA/0" "$CA/8" "$CA/x" "$CA/1/1" "${CA}x/1"; do
	T nbdinfo "$N/$name" >/dev/null 2>&1 && die "export '${name:0:6}...${name#$CA}' opened"
done

# writes: A's kept disk, B's restore-on-reboot disk, never each other's
T qemu-io -f raw -c 'write -P 0xa1 65536 131072' -c flush "$N/$CA/2" \
	>"$TMP/qio" 2>&1 || { cat "$TMP/qio"; die "write A's disk 2"; }
T qemu-io -f raw -c 'write -P 0xb2 65536 131072' -c flush "$N/$CB/2" \
	>"$TMP/qio" 2>&1 || { cat "$TMP/qio"; die "write B's disk 2"; }
readback() {	# readback URI PATTERN: 128 KiB at 64 KiB hold the pattern?
	T qemu-io -f raw -c "read -P $2 65536 131072" "$1" 2>&1 |
		grep -q "read 131072/131072"
}
readback "$N/$CA/2" 0xa1 || die "A's write not read back"
readback "$N/$CB/2" 0xb2 || die "B's write not read back (same boot)"
T qemu-img compare -f raw -F raw "$TMP/games.img" "$N/$CB/1" >/dev/null ||
	die "B's game disk changed"
CA2=$(session $A | sed -n 's/^credential=//p')
CB2=$(session $B | sed -n 's/^credential=//p')
readback "$N/$CA2/2" 0xa1 || die "A's server-mode disk lost its writes at a new boot"
T qemu-img compare -f raw -F raw "$TMP/data.img" "$N/$CB2/2" >/dev/null ||
	die "B's ram-mode disk kept writes into its next boot"
# the old boot's credential is spent for the disks too
T nbdinfo "$N/$CB/2" >/dev/null 2>&1 && die "an earlier boot's credential opened a disk"

# --- a SAN PC: the same disks as LUNs of its iSCSI target
login() {
	lb client token "$1" --iscsi 2>/dev/null |
		sed -n 's/^chap_user=//p; s/^chap_secret=//p' | paste -sd%
}
LA=$(login $A)
[ ${#LA} -ge 30 ] || die "no iSCSI login for A"
U=iscsi://$LA@127.0.0.1:$LB_ISCSI_PORT/iqn.2026-12.org.linkboot:pc.525400000701
T qemu-img compare -f raw -F raw "$TMP/games.img" "$U/1" >/dev/null ||
	die "iSCSI LUN 1: bytes differ from the game image"
T iscsi-inq "$U/1" >"$TMP/inq" 2>&1 || { cat "$TMP/inq"; die "iscsi-inq LUN 1"; }
assert_contains "$TMP/inq" "Vendor:LINKBOOT" "LUN 1 answers INQUIRY"
T iscsi-inq -e 1 -c 128 "$U/0" >"$TMP/s0" 2>&1 || die "iscsi-inq VPD 0x80 LUN 0"
T iscsi-inq -e 1 -c 128 "$U/1" >"$TMP/s1" 2>&1 || die "iscsi-inq VPD 0x80 LUN 1"
cmp -s "$TMP/s0" "$TMP/s1" && die "LUN 0 and 1 have the same serial number"
readback "$U/2" 0xa1 || die "iSCSI LUN 2: A's kept writes missing"
T qemu-io -f raw -c 'write -P 0x22 0 4096' "$U/1" >"$TMP/qio" 2>&1 &&
	die "an iSCSI write to the read-only LUN 1 succeeded"
T qemu-img info "$U/3" >"$TMP/l3" 2>&1 && die "LUN 3 (no disk) opened"
T qemu-img compare -f raw -F raw "$TMP/sys.img" "$U/0" >/dev/null ||
	die "iSCSI LUN 0 is no longer the system disk"
assert_contains "$LB_LOG" "LUN 1: image [0-9a-f]+ v1, $((24 << 20)) bytes, read-only" "server logs the LUNs"

# --- removing a disk: gone from the next boot; given again, it starts afresh
lb client disk rm $A 2 >"$TMP/out" || die "disk rm"
assert_contains "$TMP/out" "disk 2 removed" "rm says so"
session $A >"$TMP/sa3" || die "POST /session A 3"
grep -q "^disk=2" "$TMP/sa3" && die "a removed disk is still listed"
CA3=$(sed -n 's/^credential=//p' "$TMP/sa3")
T nbdinfo "$N/$CA3/2" >/dev/null 2>&1 && die "a removed disk opened"
lb client disk add $A data --lun 2 --write server >/dev/null || die "disk add again"
CA4=$(session $A | sed -n 's/^credential=//p')
T qemu-img compare -f raw -F raw "$TMP/data.img" "$N/$CA4/2" >/dev/null ||
	die "a disk given again kept the old overlay"
lb client rm $B >/dev/null || die "client rm B"
lb client disk list --no-legend | grep -q "$B" && die "B's disk outlived its link"
assert_alive "after the extra-disk requests"
echo "ok"
