#!/bin/bash
# TFTP refusals with real clients: path traversal, absolute paths and
# symlinks out of the root are access violations or not found (never the
# file), a missing file is ERROR 1, WRQ is ERROR 2 (read-only), netascii is
# ERROR 0; each refusal is logged; the server keeps serving.
. "$(dirname "$0")/lib.sh"
requires tftp -V
requires curl --version

root=$TMP/root
mkdir -p "$root/dir" "$TMP/outside"
echo "top secret" >"$TMP/outside/secret"
head -c 3000 /dev/urandom >"$root/ok.bin"
ln -s ../outside/secret "$root/escape"
ln -s "$TMP/outside/secret" "$root/escape-abs"
ln -s ok.bin "$root/inside-link"
start_linkboot --root "$root"
port=$LB_TFTP_PORT

# hpa_get NAME: prints tftp-hpa's stderr (it exits 0 even on errors)
hpa_get() {
	rm -f "$TMP/got"
	timeout 30 tftp -m "${2:-binary}" 127.0.0.1 "$port" -c get "$1" "$TMP/got" 2>&1
}
expect_error() {	# NAME CODE
	local out
	out=$(hpa_get "$1")
	case $out in
	*"Error code $2:"*) ;;
	*) die "tftp-hpa get '$1': expected ERROR $2, got '$out'" ;;
	esac
	! grep -q secret "$TMP/got" 2>/dev/null || die "'$1' leaked the secret"
}

expect_error "../outside/secret" 2
expect_error "dir/../../outside/secret" 2
expect_error "..\\outside\\secret" 2
expect_error "$TMP/outside/secret" 1	# absolute = relative to the root
expect_error "/../outside/secret" 2
expect_error "escape" 2			# symlink out of the root
expect_error "escape-abs" 2
expect_error "missing.bin" 1
expect_error "dir" 1			# not a regular file

# a symlink inside the root is fine
out=$(hpa_get inside-link)
[ -z "$out" ] || die "inside-link: $out"
cmp "$TMP/got" "$root/ok.bin" || die "inside-link differs"

# netascii: refused with ERROR 0 (boot files are binary)
out=$(hpa_get ok.bin netascii)
case $out in *"Error code 0:"*netascii*) ;; *) die "netascii: '$out'" ;; esac

# WRQ: read-only server, ERROR 2
echo data >"$TMP/up.txt"
out=$(cd "$TMP" && timeout 30 tftp -m binary 127.0.0.1 "$port" -c put up.txt 2>&1)
case $out in *"Error code 2:"*) ;; *) die "WRQ: expected ERROR 2, got '$out'" ;; esac
[ ! -e "$root/up.txt" ] || die "WRQ created a file"

# curl maps the same codes to its own exit codes: 68 not found, 69 denied
rc=0; timeout 30 curl -sS "tftp://127.0.0.1:$port/missing.bin" -o /dev/null 2>/dev/null || rc=$?
assert_eq "$rc" 68 "curl missing file"
rc=0; timeout 30 curl -sS "tftp://127.0.0.1:$port/escape" -o /dev/null 2>/dev/null || rc=$?
assert_eq "$rc" 69 "curl symlink escape"

assert_contains "$LB_LOG" 'RRQ "\.\./outside/secret" -> ERROR 2 "access violation"' "traversal logged"
assert_contains "$LB_LOG" 'RRQ "missing\.bin" -> ERROR 1 "file not found"' "missing logged"
assert_contains "$LB_LOG" 'WRQ "up\.txt" -> ERROR 2 "read-only server"' "WRQ logged"

# still serving
out=$(hpa_get ok.bin)
[ -z "$out" ] || die "after errors: $out"
cmp "$TMP/got" "$root/ok.bin" || die "after errors: differs"
assert_alive "after refusals"
exit 0
