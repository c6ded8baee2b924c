#!/bin/bash
# HTTP: GET/HEAD byte-identical, Range 206/416/multi, keep-alive, HTTP/1.0,
# pipelining, 404/405, Content-Type, the per-request log line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
requires curl --version

make_root
start_linkboot --root "$ROOT"
URL=http://127.0.0.1:$LB_HTTP_PORT

# GET: byte-identical, logged with peer, method, path, status, bytes
curl -sf --max-time 30 -o "$TMP/big.out" "$URL/big.bin" || die "GET big.bin failed"
cmp "$TMP/big.out" "$ROOT/big.bin" || die "GET big.bin differs"
assert_contains "$LB_LOG" 'http 127\.0\.0\.1:[0-9]+: GET "/big\.bin" 200 20000000$' \
	"one log line per request"
assert_eq "$(curl -s "$URL/small.txt")" "hello" "small file"
assert_eq "$(curl -s -o /dev/null -w '%{size_download}' "$URL/empty")" 0 "empty file"

# HEAD: headers only, the right Content-Length
curl -s -I "$URL/big.bin" >"$TMP/head"
assert_contains "$TMP/head" '^HTTP/1\.1 200 OK' "HEAD status"
assert_contains "$TMP/head" '^Content-Length: 20000000' "HEAD Content-Length"
assert_contains "$TMP/head" '^Accept-Ranges: bytes' "Accept-Ranges"
assert_eq "$(curl -s -I -o /dev/null -w '%{size_download}' "$URL/big.bin")" 0 "HEAD has no body"

# Content-Type by extension
assert_eq "$(curl -s -o /dev/null -w '%{content_type}' "$URL/sub/menu.ipxe")" \
	"text/plain; charset=utf-8" "iPXE script type"
assert_eq "$(curl -s -o /dev/null -w '%{content_type}' "$URL/big.bin")" \
	"application/octet-stream" "default type"

# Range: 206 with Content-Range, bytes identical to the file's
curl -s -D "$TMP/rh" -r 1000-1999 -o "$TMP/r.out" "$URL/big.bin"
assert_contains "$TMP/rh" '^HTTP/1\.1 206 ' "Range status"
assert_contains "$TMP/rh" '^Content-Range: bytes 1000-1999/20000000' "Content-Range"
dd if="$ROOT/big.bin" of="$TMP/r.want" bs=1000 skip=1 count=1 status=none
cmp "$TMP/r.out" "$TMP/r.want" || die "range bytes differ"
curl -s -r 19999990- -o "$TMP/r2.out" "$URL/big.bin"
tail -c 10 "$ROOT/big.bin" | cmp - "$TMP/r2.out" || die "open range differs"
curl -s -H 'Range: bytes=-10' -o "$TMP/r3.out" "$URL/big.bin"
tail -c 10 "$ROOT/big.bin" | cmp - "$TMP/r3.out" || die "suffix range differs"
# unsatisfiable: 416 with Content-Range: bytes */SIZE and a text body
curl -s -D "$TMP/r4h" -r 20000000- -o "$TMP/r4.out" "$URL/big.bin"
assert_contains "$TMP/r4h" '^HTTP/1\.1 416 ' "416"
assert_contains "$TMP/r4h" '^Content-Range: bytes \*/20000000' "416 Content-Range"
assert_contains "$TMP/r4.out" 'Range Not Satisfiable' "416 body"
# several ranges: we answer 200 with the whole file
assert_eq "$(curl -s -r 0-1,5-6 -o "$TMP/r5.out" -w '%{http_code}' "$URL/big.bin")" 200 "multi-range"
cmp "$TMP/r5.out" "$ROOT/big.bin" || die "multi-range body is not the whole file"
# Range on HEAD is ignored (RFC 9110 §14.2)
assert_eq "$(http_code -I -r 0-1 "$URL/big.bin")" 200 "HEAD ignores Range"

# keep-alive: two URLs in one curl reuse the connection
curl -sv -o /dev/null -o /dev/null "$URL/small.txt" "$URL/sub/menu.ipxe" 2>"$TMP/ka"
assert_contains "$TMP/ka" 'Re-using existing connection' "keep-alive"
# ... also after an error response that keeps the connection
curl -sv -o /dev/null -o /dev/null "$URL/nope" "$URL/small.txt" 2>"$TMP/ka2"
assert_contains "$TMP/ka2" 'Re-using existing connection' "keep-alive after 404"
# HTTP/1.0 closes unless asked; Connection: close honoured
curl -s -0 -D "$TMP/h10" -o /dev/null "$URL/small.txt"
assert_contains "$TMP/h10" '^Connection: close' "HTTP/1.0 closes"
curl -s -D "$TMP/hc" -H 'Connection: close' -o /dev/null "$URL/small.txt"
assert_contains "$TMP/hc" '^Connection: close' "Connection: close honoured"

# pipelining: three requests in one write, answered in order
printf 'GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\nHEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /sub/menu.ipxe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >"$TMP/pipe"
http_raw "$TMP/pipe" >"$TMP/pipe.out"
assert_eq "$(grep -c '^HTTP/1.1 200' "$TMP/pipe.out")" 3 "three pipelined responses"
tr -d '\r' <"$TMP/pipe.out" | awk '/^Content-Length:/ { print $2 }' | tr '\n' ' ' >"$TMP/pipe.len"
assert_eq "$(cat "$TMP/pipe.len")" "6 20000000 15 " "pipelined responses in request order"

# errors: a text body saying what was wrong
curl -s -D "$TMP/e404" -o "$TMP/e404.body" "$URL/no/such/file"
assert_contains "$TMP/e404" '^HTTP/1\.1 404 ' "404"
assert_contains "$TMP/e404.body" 'no such file' "404 body"
curl -s -D "$TMP/e405" -o "$TMP/e405.body" -X DELETE "$URL/small.txt"
assert_contains "$TMP/e405" '^HTTP/1\.1 405 ' "405"
assert_contains "$TMP/e405" '^Allow: GET, HEAD' "405 Allow"
assert_contains "$TMP/e405.body" 'only GET and HEAD' "405 body"
assert_eq "$(http_code -X POST --data x "$URL/small.txt")" 405 "POST to a file"
assert_eq "$(http_code "$URL/")" 404 "directory root"
assert_eq "$(http_code "$URL/sub")" 404 "directory"
assert_eq "$(curl -s "$URL/sub/inside")" "hello" "symlink inside the root"

assert_alive "after GET tests"
echo "PASS: $TEST_NAME"
