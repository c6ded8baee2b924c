#!/bin/bash
# HTTP: path confinement (traversal, %2e%2e, %00, symlinks out), bounded
# headers/URIs/bodies (431/414/413), bad versions (505), malformed requests
# (400), garbage and half requests: the server keeps serving others.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
requires curl --version

make_root
start_linkboot --root "$ROOT"
URL=http://127.0.0.1:$LB_HTTP_PORT

# traversal: 403 or 404, never the file
for p in '/../etc/passwd' '/sub/../../etc/passwd' '/%2e%2e/%2e%2e/etc/passwd' \
	 '/%2E%2E%2Fetc%2Fpasswd' '/..%5c..%5cetc/passwd' '/sub/..%2f..%2f..%2fetc/passwd' \
	 '/escape' "/$TMP/outside.txt" '//etc/passwd'; do
	code=$(curl -s --path-as-is -o "$TMP/t.out" -w '%{http_code}' "$URL$p")
	case $code in 403|404) ;; *) die "traversal $p: status $code" ;; esac
	grep -q 'root:\|secret' "$TMP/t.out" && die "traversal $p: served the file"
done
assert_eq "$(http_code --path-as-is "$URL/../etc/passwd")" 403 "../ is refused"
curl -s --path-as-is -o "$TMP/t.out" "$URL/%2e%2e/etc/passwd"
assert_contains "$TMP/t.out" 'leaves the served directories' "403 body says why"
assert_eq "$(http_code "$URL/small.txt%00.bin")" 400 "%00 in the path"
assert_eq "$(http_code "$URL/small%zz")" 400 "bad percent escape"
assert_eq "$(curl -s "$URL/sm%61ll.txt")" "hello" "percent-decoded path"

# bounded sizes
big=$(head -c 9000 /dev/zero | tr '\0' a)
curl -s -D "$TMP/h431" -o "$TMP/b431" -H "X-Big: $big" "$URL/small.txt"
assert_contains "$TMP/h431" '^HTTP/1\.1 431 ' "oversized header"
assert_contains "$TMP/b431" 'larger than 8 KiB' "431 body"
longpath=$(head -c 3000 /dev/zero | tr '\0' a)
assert_eq "$(http_code "$URL/$longpath")" 414 "long URI"
head -c 5000 /dev/zero >"$TMP/5k"
assert_eq "$(http_code --data-binary @"$TMP/5k" "$URL/report?mac=52:54:00:12:34:56")" 413 "body > 4 KiB"

# versions and malformed requests, raw
printf 'GET /small.txt HTTP/2.0\r\nHost: t\r\n\r\n' >"$TMP/v2"
http_raw "$TMP/v2" | grep -q '^HTTP/1.1 505 ' || die "HTTP/2.0 -> 505"
printf 'GET /small.txt HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  folded\r\n\r\n' >"$TMP/fold"
http_raw "$TMP/fold" >"$TMP/fold.out"
grep -q '^HTTP/1.1 400 ' "$TMP/fold.out" || die "folded header -> 400"
grep -q 'folded header' "$TMP/fold.out" || die "400 body says why"
printf 'GET /small.txt HTTP/1.1\r\n\r\n' >"$TMP/nohost"
http_raw "$TMP/nohost" | grep -q '^HTTP/1.1 400 ' || die "no Host -> 400"
printf 'GET http://whatever/small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >"$TMP/abs"
http_raw "$TMP/abs" | grep -q '^hello' || die "absolute-form target"
printf 'GET /small.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >"$TMP/te"
http_raw "$TMP/te" | grep -q '^HTTP/1.1 501 ' || die "Transfer-Encoding -> 501"

# garbage bytes: 400, then the server still serves others
head -c 3000 /dev/urandom >"$TMP/garbage"
http_raw "$TMP/garbage" >/dev/null
printf '\x00\x01\x02\r\n\r\n' >"$TMP/garbage2"
http_raw "$TMP/garbage2" | grep -q '^HTTP/1.1 400 ' || die "binary request line -> 400"
assert_alive "after garbage"
assert_eq "$(curl -s "$URL/small.txt")" "hello" "serves after garbage"

# half requests held open do not block anyone
printf 'GET /small.txt HT' >"$TMP/half"
for i in 1 2 3; do
	( exec 3<>"/dev/tcp/127.0.0.1/$LB_HTTP_PORT"; cat "$TMP/half" >&3; sleep 20 ) &
	cleanup_fn "kill $! 2>/dev/null"
done
sleep 0.3
assert_eq "$(curl -s --max-time 5 "$URL/small.txt")" "hello" "serves beside half requests"
# a client that goes away after the headers (OVMF HTTP boot does this)
printf 'GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n' >"$TMP/getbig"
timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; cat "$2" >&3; head -c 200 <&3 >/dev/null' \
	_ "$LB_HTTP_PORT" "$TMP/getbig" || true
curl -s --max-time 30 -o "$TMP/big.out" "$URL/big.bin"
cmp "$TMP/big.out" "$ROOT/big.bin" || die "GET after an aborted GET"
assert_alive "after half requests"
echo "PASS: $TEST_NAME"
