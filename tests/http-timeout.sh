#!/bin/bash
# HTTP: a request that never completes gets 408 and is closed; an idle
# keep-alive connection is closed quietly; a client trickling header bytes
# does not keep its slot forever (--http-timeout 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
requires curl --version

make_root
start_linkboot --root "$ROOT" --http-timeout 1
URL=http://127.0.0.1:$LB_HTTP_PORT

# half a request, then silence: 408 with a body, then EOF (timeout 10 bounds it)
timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET /small.txt HT" >&3; cat <&3' \
	_ "$LB_HTTP_PORT" >"$TMP/half.out" || die "no close after an incomplete request"
assert_contains "$TMP/half.out" '^HTTP/1\.1 408 ' "408 for an incomplete request"
assert_contains "$TMP/half.out" 'did not arrive in time' "408 body"

# idle keep-alive: the answer, then EOF without another response
timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"
	printf "GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n" >&3; cat <&3' \
	_ "$LB_HTTP_PORT" >"$TMP/idle.out" || die "idle keep-alive connection not closed"
assert_eq "$(grep -c '^HTTP/1.1' "$TMP/idle.out")" 1 "one response, then a quiet close"

# trickling one header byte every 0.3 s does not extend the deadline
timeout 15 bash -c 'trap "" PIPE; exec 3<>"/dev/tcp/127.0.0.1/$1"
	cat <&3 >"$2" &
	printf "GET /small.txt HTTP/1.1\r\n" >&3
	for i in $(seq 40); do printf "X" >&3 2>/dev/null || break; sleep 0.3; done
	wait' _ "$LB_HTTP_PORT" "$TMP/trickle.out" || true
assert_contains "$TMP/trickle.out" '^HTTP/1\.1 408 ' "trickled request timed out"
assert_contains "$LB_LOG" '"-" 408 [0-9]+ \(incomplete request after 1 s\)' "408 logged"
assert_eq "$(curl -s "$URL/small.txt")" "hello" "still serving"
assert_alive "after timeouts"
echo "PASS: $TEST_NAME"
