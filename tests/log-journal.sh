#!/bin/bash
# Boot events carry journald fields: with LINKBOOT_JOURNAL_SOCKET naming a
# python3 AF_UNIX datagram listener (the journal's native protocol,
# systemd.journal-fields(7)), beginning a boot sends one datagram with
# MESSAGE=, PRIORITY=6, MAC=, IMAGE=, VERSION=, CLIENT_IP=, and so does
# the PC's NBD session.
source "$(dirname "$0")/lib.sh"

requires_root
requires python3 --version
requires curl --version
requires nbdinfo --version

SOCK=$TMP/journal.sock
timeout 60 python3 - "$SOCK" >"$TMP/journal" 2>"$TMP/journal.err" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(50)
seen = 0
while seen < 2:
    d = s.recv(65536).decode()
    if "began boot" in d or "nbd " in d:
        print(d, end="", flush=True)
        seen += 1
PY
LISTENER=$!
cleanup_fn "kill $LISTENER"
wait_for 10 test -S "$SOCK" || die "listener did not start"

export LINKBOOT_JOURNAL_SOCKET=$SOCK
start_linkboot --trusted-net 127.0.0.1/32
MAC=52:54:00:12:34:88
truncate -s 8M "$TMP/disk.img"
head -c 3000 /dev/urandom >"$TMP/vmlinuz"
head -c 2000 /dev/urandom >"$TMP/initrd.img"
lb image add demo "$TMP/disk.img" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd.img" \
	>"$TMP/add.out" 2>&1 || die "image add: $(cat "$TMP/add.out")"
lb client add "$MAC" --image demo >/dev/null || die "client add"
CRED=$(boot_credential "$MAC")
wait_for 10 grep -q "^MAC=" "$TMP/journal" || die "no journal datagram: $(cat "$TMP/journal.err")"
assert_contains "$TMP/journal" "^MESSAGE=http .*$MAC began boot" "MESSAGE"
assert_contains "$TMP/journal" "^PRIORITY=6$" "PRIORITY"
assert_contains "$TMP/journal" "^MAC=$MAC$" "MAC"
assert_contains "$TMP/journal" "^IMAGE=demo$" "IMAGE"
assert_contains "$TMP/journal" "^VERSION=1$" "VERSION"
assert_contains "$TMP/journal" "^CLIENT_IP=127\.0\.0\.1" "CLIENT_IP"
grep -q "began boot" "$LB_LOG" && die "the line went to stderr as well"
# the PC's NBD session begins: its line has the same fields
timeout 30 nbdinfo "nbd://127.0.0.1:$LB_NBD_PORT/$CRED" >/dev/null 2>&1 ||
	die "nbdinfo with the credential"
wait_for 10 grep -q "^MESSAGE=nbd .*export credential of $MAC" "$TMP/journal" ||
	die "no journal datagram for the NBD session: $(cat "$TMP/journal")"
[ "$(grep -c "^MAC=$MAC$" "$TMP/journal")" = 2 ] || die "MAC= in both datagrams"
assert_alive "after the journal event"
