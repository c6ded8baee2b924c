#!/bin/bash
# TFTP downloads with real clients (tftp-hpa, curl, busybox) are
# byte-identical: empty, small, multi-block and exact multiples of the
# block size (the last DATA is then empty, RFC 1350 §6).
. "$(dirname "$0")/lib.sh"
requires tftp -V
requires curl --version

root=$TMP/root
mkdir -p "$root/sub"
: >"$root/empty.bin"
head -c 100 /dev/urandom >"$root/small.bin"
head -c 100000 /dev/urandom >"$root/sub/multi.bin"
head -c $((512 * 20)) /dev/urandom >"$root/x512.bin"
head -c $((1432 * 20)) /dev/urandom >"$root/x1432.bin"
files="empty.bin small.bin sub/multi.bin x512.bin x1432.bin"

start_linkboot --root "$root"
port=$LB_TFTP_PORT

for f in $files; do
	out=$TMP/out.hpa.$(basename "$f")
	# tftp-hpa 5.2 has no blksize/tsize: plain RFC 1350, 512-byte blocks
	timeout 30 tftp -m binary 127.0.0.1 "$port" -c get "$f" "$out" \
		>"$TMP/hpa.err" 2>&1 || die "tftp-hpa get $f failed"
	[ -s "$TMP/hpa.err" ] && { cat "$TMP/hpa.err" >&2; die "tftp-hpa get $f: error"; }
	cmp "$out" "$root/$f" || die "tftp-hpa: $f differs"

	for bs in 512 1432 1468 8192; do
		out=$TMP/out.curl$bs.$(basename "$f")
		timeout 30 curl -sS --tftp-blksize "$bs" \
			"tftp://127.0.0.1:$port/$f" -o "$out" ||
			die "curl blksize $bs $f failed"
		cmp "$out" "$root/$f" || die "curl blksize $bs: $f differs"
	done
	# no options at all: the server must start with DATA 1, not an OACK
	out=$TMP/out.noopt.$(basename "$f")
	timeout 30 curl -sS --tftp-no-options "tftp://127.0.0.1:$port/$f" \
		-o "$out" || die "curl --tftp-no-options $f failed"
	cmp "$out" "$root/$f" || die "curl --tftp-no-options: $f differs"
done

if timeout 5 busybox tftp --help </dev/null 2>&1 | grep -q -- '-b SIZE'; then
	out=$TMP/out.bb
	(cd "$TMP" && timeout 30 busybox tftp -g -b 1432 -r sub/multi.bin \
		-l "$out" 127.0.0.1 "$port" </dev/null) || die "busybox tftp failed"
	cmp "$out" "$root/sub/multi.bin" || die "busybox tftp: differs"
fi

# one start and one end line per transfer, with peer, name, options, size
assert_contains "$LB_LOG" 'tftp 127\.0\.0\.1:[0-9]+: RRQ "sub/multi\.bin" tsize=0 blksize=1432 timeout=[0-9]+ -> 97 KiB sent' \
	"transfer end log line"
assert_contains "$LB_LOG" 'RRQ "empty\.bin" -> 0 bytes sent' "empty file log line"
assert_alive "after downloads"
exit 0
