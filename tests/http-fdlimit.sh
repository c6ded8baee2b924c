#!/bin/bash
# HTTP: out of file descriptors (EMFILE on accept) the server neither spins
# nor dies, and serves again when connections go away.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
requires curl --version

requires prlimit --version

make_root
# (no per-address cap: all 60 connections come from 127.0.0.1)
start_linkboot --root "$ROOT" --http-max-per-ip 0
# lowered under the running server (the soft limit only, no privilege
# needed): at start-up the server would have lowered http_max_conns to fit
# a 48-fd limit and answered 503 long before accept() failed
prlimit --pid "$LB_PID" --nofile=48: || die "prlimit"
URL=http://127.0.0.1:$LB_HTTP_PORT
pids=()
for i in $(seq 60); do
	( exec 3<>"/dev/tcp/127.0.0.1/$LB_HTTP_PORT"; sleep 20 ) 2>/dev/null &
	pids+=($!)
	cleanup_fn "kill $! 2>/dev/null"
done
wait_for 10 grep -q 'accept (pausing' "$LB_LOG" || die "no EMFILE warning"
assert_alive "at the fd limit"
kill "${pids[@]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null
ok=0
for i in $(seq 50); do
	[ "$(curl -s --max-time 5 "$URL/small.txt")" = hello ] && { ok=1; break; }
	sleep 0.2
done
assert_eq "$ok" 1 "serves again after the fd shortage"
n=$(grep -c 'accept (pausing' "$LB_LOG")
[ "$n" -lt 50 ] || die "accept warning repeated $n times: spinning"
echo "PASS: $TEST_NAME"
