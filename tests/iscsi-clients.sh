#!/bin/bash
# iSCSI through real initiators: QEMU's iSCSI driver (qemu-img convert /
# compare) reads every byte of an image target; writes through one
# client's writable target (qemu-io: write, write-zeroes, discard, flush)
# land in that client's overlay only: another client's target and the
# image target read unchanged; libiscsi's iscsi-ls, iscsi-inq and
# iscsi-readcapacity16 work; header digests (CRC32C); `linkboot status`
# shows a client online while its iSCSI session lasts. A PC's disk
# (iqn.2026-12.org.linkboot:pc.<mac>) needs CHAP: no CHAP, a wrong secret,
# another PC's token or a revoked one are refused; image targets need
# none.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires qemu-img --version
requires qemu-io --version
requires iscsi-ls --help
requires iscsi-inq --help
requires iscsi-readcapacity16 --help
requires jq --version
requires python3 --version
# QEMU's iscsi:// driver lives in qemu-block-extra
qemu-img info iscsi://127.0.0.1:1/x/0 2>&1 | grep -q "Unknown protocol" &&
	skip "requires QEMU's iSCSI block driver (qemu-block-extra)"

IMG=$TMP/disk.img
SIZE=$((64 << 20))
head -c "$SIZE" /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add disk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:04:01 --image disk --write server >/dev/null ||
	die "client add A"
lb client add 52:54:00:00:04:02 --image disk --write server >/dev/null ||
	die "client add B"
# an admin token's iSCSI login (`client token --iscsi`): "USER%SECRET"
login() {
	lb client token "$1" --iscsi 2>/dev/null |
		sed -n 's/^chap_user=//p; s/^chap_secret=//p' | paste -sd%
}
LA=$(login 52:54:00:00:04:01) LB=$(login 52:54:00:00:04:02)
TA=${LA%%%*} SA=${LA#*%}
[ ${#TA} -ge 16 ] && [ ${#SA} -eq 16 ] && [ ${#LB} -ge 30 ] ||
	die "no iSCSI logins: '$LA' '$LB'"
PORTAL=127.0.0.1:$LB_ISCSI_PORT
IQN=iqn.2026-12.org.linkboot
U_IMG=iscsi://$PORTAL/$IQN:image.disk/0
U_A=iscsi://$LA@$PORTAL/$IQN:pc.525400000401/0
U_B=iscsi://$LB@$PORTAL/$IQN:pc.525400000402/0
T() { timeout -k 5 120 "$@"; }

# --- libiscsi tools
T iscsi-ls -s "iscsi://$PORTAL" >"$TMP/ls" 2>&1 || { cat "$TMP/ls"; die "iscsi-ls"; }
assert_contains "$TMP/ls" "Target:$IQN:image.disk Portal:$PORTAL,1" "discovery lists the image"
assert_contains "$TMP/ls" "Lun:0 +Type:DIRECT_ACCESS" "LUN 0 is a disk"
grep -q "$TA\|pc\." "$TMP/ls" && die "discovery lists a PC's disk"
T iscsi-inq "$U_IMG" >"$TMP/inq" 2>&1 || { cat "$TMP/inq"; die "iscsi-inq"; }
assert_contains "$TMP/inq" "Vendor:LINKBOOT" "INQUIRY vendor"
T iscsi-inq -e 1 -c 128 "$U_IMG" >"$TMP/inq80" 2>&1 ||
	{ cat "$TMP/inq80"; die "iscsi-inq VPD 0x80"; }
assert_contains "$TMP/inq80" "[0-9a-f]{16}" "unit serial number"
T iscsi-readcapacity16 "$U_IMG" >"$TMP/rc" 2>&1 || { cat "$TMP/rc"; die "iscsi-readcapacity16"; }
assert_contains "$TMP/rc" "Total size:$SIZE" "capacity"
assert_contains "$TMP/rc" "LBPME:0" "read-only image: not thin"
T iscsi-readcapacity16 "$U_A" >"$TMP/rca" 2>&1 || die "iscsi-readcapacity16 A"
assert_contains "$TMP/rca" "LBPME:1" "writable target: thin (UNMAP)"
T iscsi-inq "iscsi://$PORTAL/$IQN:image.nosuch/0" >"$TMP/err" 2>&1 &&
	die "an unknown target logged in"

# --- every byte, through QEMU's driver
T qemu-img compare -f raw -F raw "$IMG" "$U_IMG" >/dev/null || die "qemu-img compare image"
T qemu-img convert -f raw -O raw "$U_IMG" "$TMP/copy" || die "qemu-img convert"
cmp "$TMP/copy" "$IMG" || die "qemu-img convert: bytes differ"
rm -f "$TMP/copy"

# --- writes through client A's target stay in A's overlay
T qemu-io -f raw -c 'write -P 0xab 4096 8192' -c 'write -P 0xcd 1000000 300000' \
	-c 'write -z 2097152 65536' -c 'discard 3145728 1048576' -c flush \
	"$U_A" >"$TMP/qio" 2>&1 || { cat "$TMP/qio"; die "qemu-io writes"; }
grep -qi "error\|fail" "$TMP/qio" && { cat "$TMP/qio"; die "qemu-io reported an error"; }
cp "$IMG" "$TMP/want"
python3 - "$TMP/want" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    for off, data in ((4096, b"\xab" * 8192), (1000000, b"\xcd" * 300000),
                      (2097152, b"\0" * 65536), (3145728, b"\0" * 1048576)):
        f.seek(off); f.write(data)
PY
T qemu-img compare -f raw -F raw "$TMP/want" "$U_A" >/dev/null ||
	die "client A does not read its own writes"
T qemu-img compare -f raw -F raw "$IMG" "$U_B" >/dev/null ||
	die "client B sees client A's writes"
T qemu-img compare -f raw -F raw "$IMG" "$U_IMG" >/dev/null ||
	die "the image target changed by a client's writes"
T qemu-io -f raw -c 'write 0 512' "$U_IMG" >"$TMP/qio" 2>&1
grep -qi "wrote" "$TMP/qio" && die "a write through the image target succeeded"

# --- HeaderDigest=CRC32C (RFC 7143 13.1): every PDU's header checked
HD="driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=$PORTAL,file.lun=0,file.header-digest=crc32c"
T qemu-img compare --image-opts "driver=raw,file.filename=$IMG" \
	"$HD,file.target=$IQN:image.disk" >/dev/null || die "qemu-img compare with header digests"
T qemu-io --image-opts -c 'write -P 0x5e 8388608 1048576' \
	-c 'read -P 0x5e 8388608 1048576' \
	"$HD,file.target=$IQN:pc.525400000401,file.user=$TA,file.password-secret=sa" \
	--object "secret,id=sa,data=$SA" \
	>"$TMP/qio" 2>&1 || { cat "$TMP/qio"; die "qemu-io with header digests"; }
grep -q "Pattern verification failed" "$TMP/qio" && die "header digests: read back differs"
assert_contains "$LB_LOG" "read-only, CRC32C digests" "digests logged"

# --- `linkboot status`: online while the session lasts, with what the
# server has served it (a SAN PC has no agent to report)
{ echo "read 0 1M"; sleep 5; } | T qemu-io -f raw "$U_B" >/dev/null 2>&1 &
HOLD=$!
wait_for 4 sh -c "'$LINKBOOT' status --state '$LB_STATE' -j |
	jq -e '.[] | select(.mac == \"52:54:00:00:04:02\") | .online == true and
		.protocol == \"iscsi\" and .session_bytes_read >= 1048576 and
		.session_io_errors == 0' >/dev/null" ||
	{ lb status -j; die "status does not show the iSCSI session and its bytes"; }
lb status | grep -E "^52:54:00:00:04:02 .* iscsi +1(\.[0-9])? ?M" >/dev/null ||
	{ lb status; die "status text: protocol and bytes read"; }
wait "$HOLD"
assert_contains "$LB_LOG" "iscsi 127.0.0.1:[0-9]+: login iqn.2008-11.org.linux-kvm.* -> target $IQN:image.disk image [0-9a-f]+ v1, $SIZE bytes, read-only" \
	"login log line"
grep -qF -e "$TA" -e "$SA" "$LB_LOG" && die "a secret is in the log"
assert_alive "before CHAP"

# --- a PC's disk needs its CHAP login
T iscsi-inq "iscsi://$PORTAL/$IQN:pc.525400000401/0" >"$TMP/c0" 2>&1 &&
	die "no CHAP: logged in to a PC's disk anyway"
T iscsi-inq "iscsi://$TA%wrong-secret-16@$PORTAL/$IQN:pc.525400000401/0" \
	>"$TMP/c1" 2>&1 && die "wrong CHAP secret: logged in anyway"
T iscsi-inq "iscsi://$LB@$PORTAL/$IQN:pc.525400000401/0" \
	>"$TMP/c2" 2>&1 && die "B's token opened A's disk"
T iscsi-inq "iscsi://$PORTAL/$IQN:pc.52540000ffff/0" >"$TMP/c3" 2>&1 &&
	die "an unknown PC's disk logged in"
T iscsi-inq "$U_A" >"$TMP/c4" 2>&1 || { cat "$TMP/c4"; die "A's login refused"; }
assert_contains "$LB_LOG" "login of .* refused: authentication failure" "CHAP failure logged"
assert_contains "$LB_LOG" "credentials of another PC" "another PC's token: why"
assert_contains "$LB_LOG" "server overlay, CHAP" "CHAP login logged"
lb client token 52:54:00:00:04:01 --revoke >/dev/null || die "revoke"
T iscsi-inq "$U_A" >"$TMP/c5" 2>&1 && die "a revoked token logged in"
grep -qF -e "$SA" -e "${LB#*%}" "$LB_LOG" && die "a CHAP secret is in the log"
assert_alive "at the end"
