#!/bin/bash
# The server's overlay file system nearly full while a PC writes to its
# server overlay (a 300 MiB tmpfs as <state>/overlays; the server keeps
# 256 MiB free there for everyone else): the writer gets a clean ENOSPC,
# the log says why, `linkboot status` counts the failed writes of the live
# session; what was written before reads back intact (also after a server
# restart: the overlay is kept), and reads go on for this PC and others.
. "$(dirname "$0")/lib.sh"
requires_root
requires qemu-io --version
requires nbdcopy --version
requires jq --version

MAC=52:54:00:00:0e:01
head -c $((128 << 20)) /dev/urandom >"$TMP/disk.img"
echo kernel >"$TMP/k"
echo initrd >"$TMP/i"
LB_STATE=$TMP/state
mkdir -p "$LB_STATE/overlays"
mount -t tmpfs -o size=300m,mode=0700 linkboot-test "$LB_STATE/overlays" ||
	skip "cannot mount a tmpfs"
cleanup_fn "umount -l '$LB_STATE/overlays'"
start_linkboot --trusted-net 127.0.0.1/32
lb image add demo "$TMP/disk.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null ||
	die "image add"
lb client add "$MAC" --image demo --write server >/dev/null || die "client add"
lb client keep "$MAC" on >/dev/null || die "client keep"
C=$(boot_credential "$MAC")
U=nbd://127.0.0.1:$LB_NBD_PORT/$C
T() { timeout 60 "$@"; }

T qemu-io -f raw "$U" -c "write -P 0x5a 0 16M" -c flush >"$TMP/w1" 2>&1 ||
	{ cat "$TMP/w1"; die "the first 16 MiB did not fit"; }
grep -q "failed" "$TMP/w1" && { cat "$TMP/w1"; die "first write failed"; }
# 64 MiB more does not fit above the reserve; the session stays open a
# moment so that status sees it
{ echo "write -P 0xa5 32M 64M"; echo flush; sleep 6; } |
	T qemu-io -f raw "$U" >"$TMP/w2" 2>&1 &
W2=$!
wait_for 10 grep -q "No space left on device" "$TMP/w2" ||
	{ cat "$TMP/w2"; die "the writer did not get ENOSPC"; }
wait_for 10 sh -c "'$LINKBOOT' status --state '$LB_STATE' -j |
	jq -e '.[] | select(.mac == \"$MAC\") | .online and .session_io_errors > 0' >/dev/null" ||
	{ lb status -j; die "status does not count the refused writes"; }
wait "$W2"
assert_contains "$LB_LOG" "NBD_CMD_WRITE .*NBD_ENOSPC \(the overlays' file system is nearly full" \
	"the log says why"
avail=$(df -B1 --output=avail "$LB_STATE/overlays" | tail -n 1)
[ "$avail" -ge $((250 << 20)) ] || die "the reserve was eaten: $avail bytes left"

check() {	# what was written before, and the image around it
	T qemu-io -f raw "$U" -c "read -P 0x5a 0 16M" >"$TMP/r" 2>&1 &&
		! grep -q "verification failed\|failed" "$TMP/r" ||
		{ cat "$TMP/r"; die "$1: the first 16 MiB are not intact"; }
	T nbdcopy "$U" "$TMP/now.img" || die "$1: reading the whole disk"
	cmp -s <(tail -c +$(( (16 << 20) + 1 )) "$TMP/now.img") \
		<(tail -c +$(( (16 << 20) + 1 )) "$TMP/disk.img") ||
		die "$1: a refused write changed the disk"
	# another reader: the image export
	T nbdcopy "nbd://127.0.0.1:$LB_NBD_PORT/demo" - | cmp -s - "$TMP/disk.img" ||
		die "$1: the image export reads wrong"
}
check "after ENOSPC"
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
start_linkboot --trusted-net 127.0.0.1/32
check "after a server restart"
assert_alive "end"
echo "PASS: $TEST_NAME"
