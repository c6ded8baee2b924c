#!/bin/bash
# iSCSI through real initiators: QEMU's iSCSI driver (qemu-img convert /
# compare) reads every byte of an image target; writes through one
# client's writable target (qemu-io: write, write-zeroes, discard, flush)
# land in that client's overlay only: another client's target and the
# image target read unchanged; libiscsi's iscsi-ls, iscsi-inq and
# iscsi-readcapacity16 work; header digests (CRC32C); `linkboot status` shows a client online while
# its iSCSI session lasts; with --iscsi-chap-secret a wrong secret is
# refused and the right one accepted; mutual CHAP with
# --iscsi-chap-target-secret satisfies libiscsi's check of our answer.
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
token() { lb client show "$1" -j | jq -r .token; }
TA=$(token 52:54:00:00:04:01) TB=$(token 52:54:00:00:04:02)
[ ${#TA} -ge 16 ] && [ ${#TB} -ge 16 ] || die "no client tokens"
PORTAL=127.0.0.1:$LB_ISCSI_PORT
IQN=iqn.2026-12.org.linkboot
U_IMG=iscsi://$PORTAL/$IQN:image.disk/0
U_A=iscsi://$PORTAL/$IQN:$TA/0
U_B=iscsi://$PORTAL/$IQN:$TB/0
T() { timeout -k 5 120 "$@"; }

# --- libiscsi tools
T iscsi-ls -s "iscsi://$PORTAL" >"$TMP/ls" 2>&1 || { cat "$TMP/ls"; die "iscsi-ls"; }
assert_contains "$TMP/ls" "Target:$IQN:image.disk Portal:$PORTAL,1" "discovery lists the image"
assert_contains "$TMP/ls" "Lun:0 +Type:DIRECT_ACCESS" "LUN 0 is a disk"
grep -q "$TA" "$TMP/ls" && die "discovery lists a client token"
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
	-c 'read -P 0x5e 8388608 1048576' "$HD,file.target=$IQN:$TA" \
	>"$TMP/qio" 2>&1 || { cat "$TMP/qio"; die "qemu-io with header digests"; }
grep -q "Pattern verification failed" "$TMP/qio" && die "header digests: read back differs"
assert_contains "$LB_LOG" "read-only, CRC32C digests" "digests logged"

# --- `linkboot status`: online while the session lasts
(sleep 4) | T qemu-io -f raw "$U_B" >/dev/null 2>&1 &
HOLD=$!
wait_for 3 sh -c "'$LINKBOOT' status --state '$LB_STATE' -j |
	jq -e '.[] | select(.mac == \"52:54:00:00:04:02\") | .online == true' >/dev/null" ||
	die "status does not show the iSCSI session"
wait "$HOLD"
assert_contains "$LB_LOG" "iscsi 127.0.0.1:[0-9]+: login iqn.2008-11.org.linux-kvm.* -> target $IQN:image.disk image [0-9a-f]+ v1, $SIZE bytes, read-only" \
	"login log line"
grep -q "$TA" "$LB_LOG" && die "a client token is in the log"
assert_alive "before CHAP"

# --- CHAP: the same server restarted with a secret
kill "$LB_PID"; wait "$LB_PID"
start_linkboot --iscsi-chap-user alice --iscsi-chap-secret s3cret-of-12chars \
	--iscsi-chap-target-secret t4rget-of-12chars
T iscsi-inq "iscsi://$PORTAL/$IQN:image.disk/0" >"$TMP/c0" 2>&1 &&
	die "no CHAP: logged in anyway"
T iscsi-inq "iscsi://alice%wrong-secret-12@$PORTAL/$IQN:image.disk/0" \
	>"$TMP/c1" 2>&1 && die "wrong CHAP secret: logged in anyway"
T iscsi-inq "iscsi://mallory%s3cret-of-12chars@$PORTAL/$IQN:image.disk/0" \
	>"$TMP/c2" 2>&1 && die "wrong CHAP name: logged in anyway"
T iscsi-inq "iscsi://alice%s3cret-of-12chars@$PORTAL/$IQN:image.disk/0" \
	>"$TMP/c3" 2>&1 || { cat "$TMP/c3"; die "right CHAP secret refused"; }
T qemu-img compare -f raw -F raw "$IMG" \
	"iscsi://alice%s3cret-of-12chars@$PORTAL/$IQN:image.disk/0" >/dev/null ||
	die "qemu-img with CHAP"
# mutual CHAP: the initiator checks our answer (CHAP_N is the target name)
MUT="target_user=$IQN:image.disk&target_password"
T iscsi-inq "iscsi://alice%s3cret-of-12chars@$PORTAL/$IQN:image.disk/0?$MUT=t4rget-of-12chars" \
	>"$TMP/c4" 2>&1 || { cat "$TMP/c4"; die "mutual CHAP refused"; }
T iscsi-inq "iscsi://alice%s3cret-of-12chars@$PORTAL/$IQN:image.disk/0?$MUT=another-secret" \
	>"$TMP/c5" 2>&1 && die "mutual CHAP: the initiator took a target that does not know its secret"
assert_contains "$TMP/c5" "CHAP_R" "the initiator refuses our CHAP_R for a wrong target secret"
assert_contains "$LB_LOG" "login of .* refused: authentication failure" "CHAP failure logged"
assert_contains "$LB_LOG" "read-only, CHAP" "CHAP login logged"
grep -q "s3cret\|t4rget" "$LB_LOG" && die "a CHAP secret is in the log"
assert_alive "at the end"
