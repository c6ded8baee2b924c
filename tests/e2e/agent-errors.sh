#!/bin/bash
# e2e: a bad linkboot.* value never hangs the PC silently: the agent (PID 1)
# prints what failed, names the parameter, says what to check, and drops to
# the rescue shell from the initramfs (busybox), which answers commands.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires

agent_minimal_initramfs
agent_netns
QEMU_TIMEOUT=90 agent_qemu_start -append "console=ttyS0 loglevel=4 panic=-1 \
linkboot.server=$SERVER_IP linkboot.export=demo linkboot.write=tmpfs"

agent_wait_console 60 'rescue shell' || die "no rescue shell"
assert_contains "$CONSOLE" 'kernel command line failed' "says what failed"
assert_contains "$CONSOLE" "linkboot.write: bad value 'tmpfs'" "names the parameter"
assert_contains "$CONSOLE" 'check: ' "says what to check"
# the shell is alive (PID 1 did not exit: no kernel panic)
echo 'echo SHELL-$((6*7))' >&3
agent_wait_console 20 'SHELL-42' || die "rescue shell does not answer"
grep -qa 'Kernel panic' "$CONSOLE" && die "kernel panic: PID 1 exited"
echo "PASS: bad parameter -> message + rescue shell"
