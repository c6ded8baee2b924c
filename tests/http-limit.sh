#!/bin/bash
# HTTP: at http_max_conns the next client gets 503 with a text body, and is
# served again once a connection goes away.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
requires curl --version

make_root
start_linkboot --root "$ROOT" --http-max-conns 2
URL=http://127.0.0.1:$LB_HTTP_PORT

pids=()
for i in 1 2; do
	( exec 3<>"/dev/tcp/127.0.0.1/$LB_HTTP_PORT"; sleep 20 ) &
	pids+=($!)
	cleanup_fn "kill $! 2>/dev/null"
done
sleep 0.5
curl -s -D "$TMP/h" -o "$TMP/b" --max-time 5 "$URL/small.txt"
assert_contains "$TMP/h" '^HTTP/1\.1 503 ' "503 at the limit"
assert_contains "$TMP/b" 'too many connections' "503 body"
assert_contains "$LB_LOG" 'refused \(503\)' "refusal logged"
kill "${pids[@]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null
ok=0
for i in $(seq 50); do
	[ "$(curl -s --max-time 5 "$URL/small.txt")" = hello ] && { ok=1; break; }
	sleep 0.1
done
assert_eq "$ok" 1 "served again below the limit"
assert_alive "after the limit"
echo "PASS: $TEST_NAME"
