#!/bin/bash
# State files are private even outside systemd (umask 022 here): the link
# DB (hashed credentials) and its -wal/-shm, the lock file, dhcp.leases, image files,
# kernels/initrds under <state>/boot, boot packs, server overlays and
# backups are 0600 in 0700 directories, whatever created them (`serve` or
# a CLI command). The server still serves the boot files it owns.
. "$(dirname "$0")/lib.sh"
requires python3 --version
requires jq --version
requires curl --version
requires "$LINKBOOT" image --help
DHCP_PROBE=${DHCP_PROBE:-$TOP/build/tests/tools/dhcp_probe}
[ -x "$DHCP_PROBE" ] || skip "build $DHCP_PROBE first (make)"

umask 022
IMG=$TMP/disk.img
head -c $((1 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
DHCP_PORT=$(free_port) PROXY_PORT=$(free_port) CLIENT_PORT=$(free_port)
LB_DHCP=full start_linkboot --dhcp-range 127.0.0.100,127.0.0.110 \
	--dhcp-port "$DHCP_PORT" --proxy-port "$PROXY_PORT" \
	--dhcp-client-port "$CLIENT_PORT" --dhcp-netmask 255.0.0.0
lb image add modes "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:00:51 --image modes --write server \
	>"$TMP/client.log" 2>&1 || { cat "$TMP/client.log"; die "client add"; }
TOKEN=$(lb client token 52:54:00:00:00:51 2>/dev/null)

# a server overlay: one WRITE through the client's token
python3 - "$TOP" 127.0.0.1 "$LB_NBD_PORT" "$TOKEN" <<'PY' || die "overlay write"
import sys
sys.path.insert(0, sys.argv[1] + "/tests/tools")
from nbd_raw import *
s = connect((sys.argv[2], int(sys.argv[3])))
assert go(s, sys.argv[4]) == NBD_REP_ACK
s.sendall(req(1, 0, 4096, 1) + b'\x5a' * 4096)
assert simple(s) == (0, 1)
s.close()
PY
# a lease: REQUEST from 127.0.0.1 (the ACK's broadcast may go nowhere)
"$DHCP_PROBE" -s 127.0.0.1 -p "$DHCP_PORT" -l "$CLIENT_PORT" -m 02:00:00:00:05:01 \
	-t request -x 50:7f000064 -x 54:7f000001 -n -w 300 >/dev/null 2>&1
wait_for 5 test -f "$LB_STATE/dhcp.leases" || die "no dhcp.leases written"
# the server serves its own boot files (HTTP) although they are 0600
kpath=$(cd "$LB_STATE" && find boot -type f -name '*vmlinuz*' | head -n 1)
[ -n "$kpath" ] || kpath=$(cd "$LB_STATE" && find boot -type f | head -n 1)
[ -n "$kpath" ] || die "no boot files under $LB_STATE/boot"
curl -sf "http://127.0.0.1:$LB_HTTP_PORT/$kpath" -o "$TMP/k.out" ||
	die "the server cannot serve its own boot file $kpath"
lb backup "$TMP/backup" >"$TMP/backup.log" 2>&1 || { cat "$TMP/backup.log"; die "backup"; }
# the DB's -wal and -shm exist while the server runs
for f in linkboot.db-wal linkboot.db-shm; do
	[ -e "$LB_STATE/$f" ] || die "no $f while serving (WAL mode?)"
	m=$(stat -c %a "$LB_STATE/$f")
	echo "$m $f (while serving)"
	[ "$m" = 600 ] || die "$f is $m, not 600"
done
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null

echo "--- modes under the state directory:"
(cd "$LB_STATE" && find . -printf '%m %y %p\n' | sort -k3 | head -n 40)
for f in . boot linkboot.db linkboot.db-wal linkboot.db-shm dhcp.leases; do
	[ -e "$LB_STATE/$f" ] || continue
	echo "$(stat -c '%a %n' "$LB_STATE/$f")"
done
[ -f "$LB_STATE/linkboot.db" ] || die "no linkboot.db"
open=$(find "$LB_STATE" "$TMP/backup" -mindepth 1 -perm /077 -printf "%m %p\n")
[ -z "$open" ] || die "readable by others than the owner: $open"
find "$LB_STATE" -path '*overlay*' -type f | grep -q . ||
	die "no overlay file was made (test broken?)"
echo "PASS: $TEST_NAME"
