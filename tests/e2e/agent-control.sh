#!/bin/bash
# e2e: commands to a running PC (`linkboot client message|reboot`). A
# QEMU PC (TCG, Debian kernel) boots through the agent into a busybox
# init that waits; the server is killed, a message is queued while it is
# down, the server comes back and the agent fetches it: the console shows
# it and the command is acknowledged. A reboot reaches the image's init
# (busybox: SIGTERM) after its acknowledgement. `client commands` lists
# both acked, each run once; commands to an unknown MAC and a bad message
# are refused. The agent reports the image's health (its ready marker).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
requires sqlite3 --version

AGENT_INIT='trap "echo LBE2E: init got SIGTERM, rebooting; \$B poweroff -f" TERM
$B mkdir -p /run && $B touch /run/linkboot-ready
echo "LBE2E: READY"
i=0
while [ $i -lt 400 ]; do $B sleep 1; i=$((i + 1)); done
echo "LBE2E: no command came"
$B poweroff -f'

IMG=$TMP/disk.img
agent_demo_image "$IMG"
agent_minimal_initramfs
agent_netns
agent_linkboot_start
lb client add "$AGENT_MAC" --image demo >/dev/null || die "client add"
agent_qemu_start -append "console=ttyS0 loglevel=4 panic=-1 \
$(agent_bootscript_args "$AGENT_MAC")"
agent_wait_console 150 'LBE2E: READY' || die "guest did not reach READY"

# bad input first
lb client reboot 52:54:00:99:99:99 >"$TMP/bad" 2>&1 && die "reboot of an unknown MAC"
assert_contains "$TMP/bad" "not linked" "unknown MAC refused"
rc=0; lb client message "$AGENT_MAC" "$(printf 'bell\a')" >"$TMP/bad" 2>&1 || rc=$?
assert_eq "$rc" 2 "a message with a control character"

# a message queued while the server is down reaches the PC after it is back
agent_linkboot_kill
lb client message "$AGENT_MAC" "linkboot e2e says hello" >"$TMP/q" || die "message"
assert_contains "$TMP/q" "message queued \(command [0-9]+\)" "queued with the server down"
agent_linkboot_serve
lb client commands "$AGENT_MAC" -j | grep -q '"state": *"pending"' ||
	die "the command was lost across the restart"
T0=$(date +%s)
lb client message "$AGENT_MAC" "second message" --wait 90 >"$TMP/w" ||
	{ cat "$TMP/w"; die "second message not acknowledged"; }
agent_wait_console 30 "linkboot message: second message" || { tail -n 30 "$CONSOLE"; die "message 2 not shown"; }
assert_contains "$CONSOLE" 'linkboot message: linkboot e2e says hello' "message 1 shown on the console"
echo "messages acknowledged and shown in $(( $(date +%s) - T0 )) s"
# the agent's health reports (canary releases judge by them): the image
# made its ready marker, so "running"
for _ in $(seq 60); do
	[ "$(sqlite3 "$LB_STATE/linkboot.db" "SELECT system FROM health WHERE mac='$AGENT_MAC'")" = running ] && break
	sleep 1
done
assert_eq "$(sqlite3 "$LB_STATE/linkboot.db" "SELECT system FROM health WHERE mac='$AGENT_MAC'")" \
	running "the agent reports the image's health"

# reboot: through the image's init, after the acknowledgement
lb client reboot "$AGENT_MAC" --wait 90 >"$TMP/r" || { cat "$TMP/r"; die "reboot not acknowledged"; }
assert_contains "$TMP/r" "$AGENT_MAC: acknowledged" "reboot acknowledged"
agent_wait_console 60 'LBE2E: init got SIGTERM' || die "the image's init got no reboot"
wait "$QEMU_PID" 2>/dev/null
lb client commands "$AGENT_MAC" >"$TMP/cmds" || die "client commands"
assert_eq "$(grep -c ' acked ' "$TMP/cmds")" 3 "three commands acked"
assert_eq "$(grep -c 'linkboot message: second message' "$CONSOLE")" 1 "a message shown once"
assert_eq "$(grep -c 'control: command [0-9]*: reboot' "$CONSOLE")" 1 "the reboot ran once"
grep -q ' pending \| delivered ' "$TMP/cmds" && die "a command left unacknowledged"
echo "PASS: commands to a running PC"
