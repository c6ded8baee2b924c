# Helpers for tests/http-*.sh (sourced after tests/lib.sh).
#   http_raw FILE [SECS]   send FILE's bytes on one TCP connection to the
#                          server's HTTP port, print what comes back (the
#                          connection is cut after SECS, default 5)
#   http_code ARGS...      curl's status code for a request
#   make_root              $TMP/root with test files; sets ROOT

http_raw() {
	timeout "${2:-5}" bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		cat "$2" >&3
		cat <&3' _ "$LB_HTTP_PORT" "$1" || true
}

http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"
}

make_root() {
	ROOT=$TMP/root
	mkdir -p "$ROOT/sub"
	head -c 20000000 /dev/urandom >"$ROOT/big.bin"
	printf 'hello\n' >"$ROOT/small.txt"
	printf '#!ipxe\necho hi\n' >"$ROOT/sub/menu.ipxe"
	: >"$ROOT/empty"
	printf 'secret\n' >"$TMP/outside.txt"
	ln -s "$TMP/outside.txt" "$ROOT/escape"
	ln -s ../small.txt "$ROOT/sub/inside"
}
