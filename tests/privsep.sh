#!/bin/bash
# serve --user: after binding, the server runs as the user (Uid/Gid, no
# capabilities, NoNewPrivs), under Landlock (a config file outside the
# allowed set cannot be read at reload, though its mode allows it), and
# still serves: TFTP, HTTP boot.ipxe, NBD reads and server-overlay writes
# with a boot credential, SIGHUP. An unknown --user fails at start.
. "$(dirname "$0")/lib.sh"
requires_root
requires curl --version
requires nbdinfo --version
requires qemu-io --version
id nobody >/dev/null 2>&1 || skip "no user nobody"

# --- an unknown user: a clear error, no server
timeout 10 "$LINKBOOT" serve --state "$TMP/x" --listen 127.0.0.1 --dhcp off \
	--tftp-port 0 --http-port 0 --nbd-port 0 --iscsi-port 0 \
	--user no-such-user-lb >"$TMP/unknown" 2>&1 && die "unknown --user started"
assert_contains "$TMP/unknown" '--user no-such-user-lb: no such user' "unknown user message"

chmod 755 "$TMP"	# the user reaches its state dir by path
mkdir -p "$TMP/root" "$TMP/conf/conf.d" "$TMP/outside"
echo hello >"$TMP/root/hello.txt"
ln -s /etc/shadow "$TMP/root/shadow"
chmod -R a+rX "$TMP/root" "$TMP/conf" "$TMP/outside"
printf '[server]\nverbose = no\n' >"$TMP/conf/linkboot.conf"
printf '[server]\nverbose = no\n' >"$TMP/outside/x.conf"
chmod 644 "$TMP/conf/linkboot.conf" "$TMP/outside/x.conf"

LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
IMG=$TMP/disk.img
head -c $((4 << 20)) /dev/urandom >"$IMG"
echo kernel >"$TMP/vmlinuz"; echo initrd >"$TMP/initrd"
lb image add disk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add" 2>&1 || { cat "$TMP/add"; die "image add"; }
MAC=52:54:00:00:0b:01
lb client add $MAC --image disk --write server >/dev/null || die "client add"

start_linkboot --user nobody --root "$TMP/root" --config "$TMP/conf" \
	--trusted-net 127.0.0.1/32
grep -q 'landlock: not in this kernel' "$LB_LOG" &&
	skip "the kernel has no Landlock (the rest holds without it)"
assert_contains "$LB_LOG" 'privdrop: running as user nobody' "drop logged"
assert_contains "$LB_LOG" 'landlock: ABI v[0-9]+: .* / is not readable' "landlock logged"

# --- the process: no root id left, no capability, no new privileges
ST=/proc/$LB_PID/status
assert_eq "$(awk '/^Uid:/ {print $2,$3,$4,$5}' $ST)" "65534 65534 65534 65534" "Uid"
assert_eq "$(awk '/^Gid:/ {print $2,$3,$4,$5}' $ST)" "65534 65534 65534 65534" "Gid"
assert_eq "$(awk '/^CapEff:/ {print $2}' $ST)" 0000000000000000 "CapEff"
assert_eq "$(awk '/^CapPrm:/ {print $2}' $ST)" 0000000000000000 "CapPrm"
assert_eq "$(awk '/^NoNewPrivs:/ {print $2}' $ST)" 1 "NoNewPrivs"
assert_eq "$(stat -c %u "$LB_STATE/linkboot.db")" 65534 "state given to the user"

# --- service goes on
assert_eq "$(curl -s tftp://127.0.0.1:$LB_TFTP_PORT/hello.txt)" hello "TFTP get"
code=$(curl -s -o "$TMP/s" -w '%{http_code}' "http://127.0.0.1:$LB_HTTP_PORT/boot.ipxe?mac=$MAC")
assert_eq "$code" 200 "GET /boot.ipxe"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LB_HTTP_PORT/shadow")" 403 \
	"a served symlink out of the tree"
curl -s tftp://127.0.0.1:$LB_TFTP_PORT/shadow >/dev/null && die "TFTP served /etc/shadow"
assert_contains "$LB_LOG" 'RRQ "shadow".*access violation' "TFTP log says why"

CRED=$(boot_credential $MAC)
URI=nbd://127.0.0.1:$LB_NBD_PORT/$CRED
nbdinfo "$URI" >"$TMP/info" || die "nbdinfo with the boot credential"
qemu-io -f raw -c 'write -P 0x5a 4096 4096' -c flush "$URI" >"$TMP/qio" 2>&1 ||
	{ cat "$TMP/qio"; die "write to the server overlay"; }
qemu-io -f raw -c 'read -P 0x5a 4096 4096' "$URI" >"$TMP/qio" 2>&1 ||
	{ cat "$TMP/qio"; die "read back the overlay"; }
ls "$LB_STATE"/overlays/*.ovl >/dev/null 2>&1 || die "no overlay file"
assert_eq "$(stat -c %u "$LB_STATE"/overlays/*.ovl | head -1)" 65534 "overlay owned by the user"

# --- root's CLI while the server runs: what it makes stays openable
lb client add 52:54:00:00:0b:02 --image disk >/dev/null || die "client add while running"
assert_eq "$(find "$LB_STATE" -uid 0 | wc -l)" 0 "files left to root by the CLI"

# --- SIGHUP works, and Landlock stops a config file outside its set
kill -HUP "$LB_PID"
wait_for 5 grep -q 'reloaded' "$LB_LOG" || die "no reload"
ln -s "$TMP/outside/x.conf" "$TMP/conf/conf.d/x.conf"
su -s /bin/sh nobody -c "cat $TMP/conf/conf.d/x.conf" >/dev/null ||
	die "nobody cannot read the file by its mode (test setup)"
kill -HUP "$LB_PID"
wait_for 5 grep -q 'reload failed' "$LB_LOG" || die "reload of an outside file did not fail"
assert_contains "$LB_LOG" 'x.conf: cannot open: Permission denied' "denied by Landlock"
assert_contains "$LB_LOG" 'Landlock' "log says why"
assert_alive "after the denied reload"
echo "PASS: $TEST_NAME"
