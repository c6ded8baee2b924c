# Shared helpers for tests/*.sh (sourced). Like nbdkit's tests/functions.sh:
#   requires CMD...        skip (exit 77) unless each command runs
#   requires_root          skip unless root (netns, tap)
#   cleanup_fn CMD...      run CMD at exit (in reverse order), also on ^C
#   start_linkboot ARGS    start build/linkboot serve on loopback with a fresh
#                          state dir and free ports; sets LB_PID, LB_STATE,
#                          LB_LOG, LB_TFTP_PORT, LB_HTTP_PORT, LB_NBD_PORT,
#                          LB_ISCSI_PORT
#   lb ARGS                run the CLI against $LB_STATE
#   die MSG                fail the test
#   assert_eq A B MSG / assert_contains FILE PATTERN MSG
# Every wait is bounded: nothing here loops forever.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LINKBOOT=${LINKBOOT:-$TOP/build/linkboot}
LINKBOOT_AGENT=${LINKBOOT_AGENT:-$TOP/build/linkboot-agent}
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/lbtest.$TEST_NAME.XXXXXX")

_cleanups=()
cleanup_fn() { _cleanups+=("$*"); }
_run_cleanups() {
	local rc=$? i
	# a background ( ... ) subshell can run this trap too (seen when its
	# exec 3<>/dev/tcp fails): only the test itself cleans up
	[ "$BASHPID" = "$$" ] || exit "$rc"
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	# safety net: anything still running with our scratch dir on its
	# command line (a server started through a wrapper or a subshell,
	# whose $! was not the server itself) goes too
	pkill -TERM -f -- "$TMP/" >/dev/null 2>&1 && sleep 0.2
	pkill -KILL -f -- "$TMP/" >/dev/null 2>&1
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${LB_LOG:-}" ] && [ -f "$LB_LOG" ]; then
		echo "--- linkboot log ($LB_LOG, last 40 lines):" >&2
		tail -n 40 "$LB_LOG" >&2
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

die() { echo "FAIL: $TEST_NAME: $*" >&2; exit 1; }
skip() { echo "SKIP: $TEST_NAME: $*" >&2; exit 77; }

requires() {
	"$@" >/dev/null 2>&1 || skip "requires: $*"
}
requires_root() { [ "$(id -u)" -eq 0 ] || skip "requires root"; }

assert_eq() { [ "$1" = "$2" ] || die "$3: expected '$2', got '$1'"; }
assert_contains() {
	grep -qE -- "$2" "$1" || { echo "--- $1:" >&2; tail -n 30 "$1" >&2; die "$3 (no /$2/ in $1)"; }
}

# A free TCP+UDP port on 127.0.0.1 (bounded tries), below the ephemeral
# range (32768-60999), so no client socket of another test holds it.
free_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 12000))
		if ! ss -Htuln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"; return 0
		fi
	done
	die "no free port"
}

# (the command comes first: main.c dispatches on argv[1])
lb() { local cmd=$1; shift; "$LINKBOOT" "$cmd" --state "$LB_STATE" "$@"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local secs=$1 i; shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

start_linkboot() {
	LB_STATE=${LB_STATE:-$TMP/state}
	LB_LOG=$TMP/linkboot.log
	LB_TFTP_PORT=${LB_TFTP_PORT:-$(free_port)}
	LB_HTTP_PORT=${LB_HTTP_PORT:-$(free_port)}
	LB_NBD_PORT=${LB_NBD_PORT:-$(free_port)}
	LB_ISCSI_PORT=${LB_ISCSI_PORT:-$(free_port)}
	mkdir -p "$LB_STATE"
	# a restart appends to the same log: keep the old run's lines apart so
	# its "serving at" cannot satisfy the wait below
	[ -f "$LB_LOG" ] && mv "$LB_LOG" "$LB_LOG.$(date +%s%N)"
	: >"$LB_LOG"
	"$LINKBOOT" serve --state "$LB_STATE" --listen "${LB_LISTEN:-127.0.0.1}" \
		--dhcp "${LB_DHCP:-off}" --tftp-port "$LB_TFTP_PORT" \
		--http-port "$LB_HTTP_PORT" --nbd-port "$LB_NBD_PORT" \
		--iscsi-port "$LB_ISCSI_PORT" "$@" \
		>>"$LB_LOG" 2>&1 &
	LB_PID=$!
	cleanup_fn "kill $LB_PID; wait $LB_PID"
	wait_for 10 grep -q 'serving at' "$LB_LOG" ||
		die "linkboot serve did not start"
}

# boot_credential MAC: begin a boot of MAC as its agent would, and print
# the boot's credential: the boot script's ticket (the server must run
# with --trusted-net 127.0.0.1/32: on loopback no ARP entry vouches for
# the PC), redeemed from a reserved port (POST /session, as root).
boot_credential() {
	local t
	t=$(curl -sf "http://127.0.0.1:$LB_HTTP_PORT/boot.ipxe?mac=$1" |
		grep -oE 'linkboot\.ticket=t1-[0-9a-f]+' | cut -d= -f2) ||
		die "no boot ticket for $1 (server without --trusted-net?)"
	curl -sf --local-port 600-1000 --data-binary "ticket=$t" \
		"http://127.0.0.1:$LB_HTTP_PORT/session" |
		sed -n 's/^credential=//p' | grep . || die "POST /session for $1"
}

# Still alive? (after bad input)
assert_alive() {
	kill -0 "$LB_PID" 2>/dev/null || die "linkboot serve died: $*"
}
