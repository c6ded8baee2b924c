#!/bin/bash
# SIGHUP reload: serve with a config file, edit it, kill -HUP. Live options
# take effect at once (http_max_per_ip: a second connection gets 503;
# http_timeout: an idle connection is closed after 1 s, not 30; verbose:
# debug lines appear); a changed port is logged as needing a restart and
# the old port keeps serving; command-line options and the environment
# keep precedence over the file; a broken file (unknown key, [group:])
# is logged with file:line and the server serves on unchanged; systemd
# hears RELOADING=1 and READY=1 (sd_notify). Also: the
# options `serve --help` marks [live] are the ones linkboot.conf(5) lists.
source "$(dirname "$0")/lib.sh"
requires curl --version
requires python3 --version

CONF=$TMP/linkboot.conf
LB_STATE=$TMP/state LB_LOG=$TMP/linkboot.log
HTTP=$(free_port) NBD=$(free_port) NBD2=$(free_port) TFTP=$(free_port)
mkdir -p "$LB_STATE" "$TMP/root"
echo hello >"$TMP/root/hello.txt"

write_conf() {	# write_conf HTTP_MAX_PER_IP HTTP_TIMEOUT NBD_PORT [EXTRA]
	cat >"$CONF.new" <<EOF
[server]
state = $LB_STATE
root = $TMP/root
listen = 127.0.0.1
dhcp = off
tftp_port = $TFTP
[http]
http_port = $HTTP
http_max_per_ip = $1
http_timeout = $2
[nbd]
nbd_port = $3
nbd_idle_timeout = 7
[tftp]
tftp_max_sessions = 9
${4:-}
EOF
	mv "$CONF.new" "$CONF"	# atomic, as an editor's save
}

# hup PATTERN: send SIGHUP, wait for the reload's last line
reloads=0
hup() {
	local n
	kill -HUP "$LB_PID"
	reloads=$((reloads + 1))
	wait_for 10 eval '[ "$(grep -cE "reloaded \(|reload failed" "$LB_LOG")" -ge $reloads ]' ||
		die "no reload after SIGHUP $reloads"
}

# get: status of GET /hello.txt
get() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$HTTP/hello.txt"; }

# hold: one idle HTTP connection on fd 3
hold() { exec 3<>"/dev/tcp/127.0.0.1/$HTTP" || die "connect"; }
release() { exec 3<&- 3>&-; }

# systemd's notify socket: what serve says while reloading (bounded: 60 s)
python3 - "$TMP/notify" "$TMP/notify.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as log:
    try:
        while True:
            log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
    except socket.timeout:
        pass
EOF
NOTIFY_PID=$!
cleanup_fn "kill $NOTIFY_PID"
wait_for 5 test -S "$TMP/notify" || die "notify socket"

write_conf 16 30 "$NBD"
# argv: nbd_idle_timeout; environment: tftp_max_sessions
NOTIFY_SOCKET=$TMP/notify LINKBOOT_TFTP_MAX_SESSIONS=5 "$LINKBOOT" serve \
	--config "$CONF" --nbd-idle-timeout 50 >>"$LB_LOG" 2>&1 &
LB_PID=$!
cleanup_fn "kill $LB_PID; wait $LB_PID"
wait_for 10 grep -q 'serving at' "$LB_LOG" || die "linkboot serve did not start"
assert_contains "$LB_LOG" "tftp: listening on 127.0.0.1:$TFTP \(max 5 transfers\)" \
	"environment over file at start"

# --- before: two connections from one address are fine, no debug lines
hold
assert_eq "$(get)" 200 "second connection before the reload"
release
grep -q 'http 127.0.0.1:[0-9]*: connected' "$LB_LOG" && die "debug lines before verbose"

# --- live: per-IP cap 1, timeout 1 s, verbose; nbd_port needs a restart;
# file values under argv / environment change nothing
write_conf 1 1 "$NBD2" "verbose = yes
nbd_idle_timeout = 8
tftp_max_sessions = 10
efi_loader = other.efi
trusted_net = 127.0.0.1/32"
hup
assert_contains "$LB_LOG" "reload: http_max_per_ip = '1' \(was '16'\)" "http_max_per_ip reloaded"
assert_contains "$LB_LOG" "reload: http_timeout = '1' \(was '30'\)" "http_timeout reloaded"
assert_contains "$LB_LOG" "reload: verbose = 'yes' \(was 'no'\)" "verbose reloaded"
assert_contains "$LB_LOG" "reload: nbd_port changed \('$NBD' -> '$NBD2'\): takes effect after a restart" \
	"a port change needs a restart"
assert_contains "$LB_LOG" "reload: efi_loader = 'other.efi' \(was 'snponly.efi'\)" "efi_loader reloaded"
assert_contains "$LB_LOG" "reload: trusted_net = '127.0.0.1/32' \(was ''\)" "trusted_net reloaded"
assert_contains "$LB_LOG" "auth: hosts in 127.0.0.1/32 get boot tickets" "auth re-read trusted_net"
assert_contains "$LB_LOG" "reloaded \(5 options changed live\)" "reloaded line"
# sd_notify: READY=1 at start, then RELOADING=1 (with the time) and READY=1
wait_for 5 eval '[ "$(grep -c "^READY=1" "$TMP/notify.log")" -ge 2 ]' ||
	die "no READY=1 after the reload: $(cat "$TMP/notify.log")"
assert_eq "$(head -n 3 "$TMP/notify.log" | sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/' | tr '\n' '|')" \
	"READY=1|RELOADING=1 MONOTONIC_USEC=N|READY=1|" "sd_notify messages"
grep -q "reload: nbd_idle_timeout" "$LB_LOG" && die "argv option overridden by the file on reload"
grep -q "reload: tftp_max_sessions" "$LB_LOG" && die "environment overridden by the file on reload"

# per-IP cap 1: with one connection held, the next gets 503
hold
assert_eq "$(get)" 503 "second connection after http_max_per_ip = 1"
assert_contains "$LB_LOG" "refused \(503\): 1 connections from this address \(http_max_per_ip" \
	"per-IP refusal logged"
# http_timeout 1: the idle connection is closed within ~1 s (was 30 s)
start=$(date +%s%N)
timeout 10 cat <&3 >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
release
[ "$ms" -lt 5000 ] || die "idle connection closed after $ms ms (http_timeout 1)"
# verbose: debug lines now
get >/dev/null
assert_contains "$LB_LOG" 'http 127\.0\.0\.1:[0-9]+: connected' "debug lines after verbose = yes"
# the NBD port is still the old one
(exec 4<>"/dev/tcp/127.0.0.1/$NBD") 2>/dev/null || die "old NBD port closed by a reload"
(exec 4<>"/dev/tcp/127.0.0.1/$NBD2") 2>/dev/null && die "new NBD port opened without a restart"

# --- a broken file: errors with file:line, nothing changes
write_conf 16 30 "$NBD" "bogus_key = 1
[group:lab]"
hup
assert_contains "$LB_LOG" "config $CONF:16: unknown key 'bogus_key'" "unknown key on reload"
assert_contains "$LB_LOG" "config $CONF:17: \[group:lab\]: per-group settings live in the link DB" \
	"[group:] on reload"
assert_contains "$LB_LOG" "reload failed: .*still running with the previous configuration" \
	"reload failed line"
assert_alive "after a broken reload"
hold
assert_eq "$(get)" 503 "the old http_max_per_ip (1) is still in force"
release
# a bad value too
write_conf 16 soon "$NBD"
hup
assert_contains "$LB_LOG" "config $CONF:10: bad value 'soon' for 'http_timeout'" "bad value on reload"
assert_eq "$(grep -c 'reload failed' "$LB_LOG")" 2 "second failed reload"

# --- fixed again: back to the first values
write_conf 16 30 "$NBD"
hup
assert_contains "$LB_LOG" "reload: http_max_per_ip = '16' \(was '1'\)" "cap back to 16"
hold
assert_eq "$(get)" 200 "second connection after http_max_per_ip = 16"
release
assert_alive "after four reloads"

# --- the man page lists exactly the options --help marks [live]
"$LINKBOOT" serve --help | sed -n 's/^  --\([a-z0-9-]*\).*\[live\]$/\1/p' |
	tr - _ | sort >"$TMP/live.help"
[ -s "$TMP/live.help" ] || die "no [live] options in --help"
sed -n '/^\.SH RELOAD/,/^\.SH /p' "$TOP/man/linkboot.conf.5" |
	sed -n 's/^\.B \([a-z0-9_]*\)$/\1/p' | sort >"$TMP/live.man"
diff -u "$TMP/live.help" "$TMP/live.man" >&2 ||
	die "linkboot.conf(5) RELOAD and serve --help [live] differ"
echo "PASS: $TEST_NAME"
