#!/bin/bash
# `linkboot serve --overlay-max MiB`: a client's server-side overlay (the
# block overlay's last tier, agent/woverlay.h) holds at most that much.
# qemu-io writes through the client's token: 1 MiB fits in a 2 MiB cap,
# 4 MiB more is refused with ENOSPC (NBD proto.md "Error values"), the
# first write still reads back, the server stays up, and a client of
# another image (no cap reached) still writes.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires qemu-io --version
requires jq --version

IMG=$TMP/disk.img
head -c $((16 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot --overlay-max 2
lb image add disk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:02:01 --image disk --write server >/dev/null ||
	die "client add A"
lb client add 52:54:00:00:02:02 --image disk --write server >/dev/null ||
	die "client add B"
token() { lb client token "$1" 2>/dev/null; }
TA=$(token 52:54:00:00:02:01) TB=$(token 52:54:00:00:02:02)
URI=nbd://127.0.0.1:$LB_NBD_PORT

qemu-io -f raw -c 'write -P 0x5a 0 1M' -c flush "$URI/$TA" >"$TMP/qio1" 2>&1 ||
	{ cat "$TMP/qio1"; die "1 MiB under a 2 MiB cap"; }
qemu-io -f raw -c 'write -P 0x6b 4M 4M' "$URI/$TA" >"$TMP/qio2" 2>&1
cat "$TMP/qio2"
assert_contains "$TMP/qio2" 'No space left on device' "4 MiB more: ENOSPC"
assert_contains "$LB_LOG" 'NBD_ENOSPC' "the server logs the refusal"
qemu-io -f raw -r -c 'read -P 0x5a 0 1M' "$URI/$TA" >"$TMP/qio3" 2>&1 ||
	{ cat "$TMP/qio3"; die "the first write did not survive the full overlay"; }
assert_alive "after a full overlay"
qemu-io -f raw -c 'write -P 0x7c 0 1M' "$URI/$TB" >"$TMP/qio4" 2>&1 ||
	{ cat "$TMP/qio4"; die "another client's overlay is capped separately"; }
echo "PASS: --overlay-max caps a client's server overlay"
