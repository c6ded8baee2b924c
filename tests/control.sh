#!/bin/bash
# Commands to running PCs over HTTP, as the agent asks (curl with the
# boot's credential): GET /control hands the oldest command of this boot,
# POST /control acknowledges it (twice is fine); nothing without a boot
# credential (none, an admin token, another address); a command waits
# across a server restart; the PC's next boot expires what is left; the
# CLI refuses unknown MACs, empty groups and bad messages.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires curl --version
requires jq --version

MAC=52:54:00:00:0b:01
head -c $((4 << 20)) /dev/urandom >"$TMP/a.img"
echo kernel >"$TMP/k"; echo initrd >"$TMP/i"
start_linkboot --trusted-net 127.0.0.1/32
lb image add lab "$TMP/a.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 || die "image add"
lb client add $MAC --image lab --group room >/dev/null || die "client add"
H=http://127.0.0.1:$LB_HTTP_PORT/control
C=$(boot_credential $MAC)
get() { curl -s -H "Authorization: Bearer $1" "$H"; }
ack() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" --data-binary "ack=$2" "$H"; }

assert_eq "$(get "$C")" "none" "nothing queued"
lb client message $MAC "hello room" >"$TMP/q" || die "message"
assert_contains "$TMP/q" "message queued \(command 1\)" "queued"
lb client reboot --group room >/dev/null || die "reboot --group"
get "$C" >"$TMP/c1"
assert_contains "$TMP/c1" '^id=1$' "the oldest first"
assert_contains "$TMP/c1" '^text=hello room$' "the message's text"
# not acknowledged: delivered again
get "$C" | grep -q '^id=1$' || die "an unacknowledged command was not sent again"
assert_eq "$(ack "$C" 1)" 200 "ack"
assert_eq "$(ack "$C" 1)" 200 "ack twice"
get "$C" | grep -q '^kind=reboot$' || die "the next command"
lb status -j | jq -e '.[0].commands_pending == 1' >/dev/null ||
	die "status: one command pending"
lb client commands $MAC -j >"$TMP/cmds" || die "client commands"
assert_eq "$(jq -r '.[] | "\(.id) \(.state)"' "$TMP/cmds" | tr '\n' ' ')" "2 delivered 1 acked " "states"

# who may ask
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$H")
assert_eq "$CODE" 403 "no credential"
TOK=$(lb client token $MAC 2>/dev/null) || die "client token"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "$H")
assert_eq "$CODE" 403 "an admin token"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Authorization: Bearer $C" "$H")
assert_eq "$CODE" 403 "another address"
assert_eq "$(ack "$C" 99)" 404 "ack of no such command"
assert_eq "$(ack "$C" x)" 400 "ack of no number"

# a server restart loses nothing
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
start_linkboot --trusted-net 127.0.0.1/32
get "$C" | grep -q '^id=2$' || die "the pending reboot did not survive the restart"
# the next boot expires it
C2=$(boot_credential $MAC)
assert_eq "$(get "$C2")" "none" "an earlier boot's command does not reach the next boot"
lb client commands $MAC | grep -q ' expired ' || die "the old command is not expired"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $C" "$H")
assert_eq "$CODE" 403 "the earlier boot's credential"

# the CLI's refusals
lb client reboot 52:54:00:00:0b:99 >"$TMP/e" 2>&1 && die "unknown MAC"
assert_contains "$TMP/e" "not linked" "unknown MAC"
lb client poweroff --group nosuch >"$TMP/e" 2>&1 && die "empty group"
assert_contains "$TMP/e" "no client is in that group" "empty group"
rc=0; lb client message $MAC "$(head -c 300 /dev/zero | tr '\0' x)" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "a 300-byte message"
rc=0; lb client reboot >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "no target"
lb client message $MAC "offline" >"$TMP/o" || die "message to a PC not running"
assert_contains "$TMP/o" "not running: it expires at its next boot" "says the PC is not running"
rc=0; lb client message $MAC "waits" --wait 1 >"$TMP/w" || rc=$?
assert_eq "$rc" 1 "--wait with no agent"
assert_contains "$TMP/w" "not acknowledged in 1 s" "says so"
assert_alive "after the control requests"
echo ok
