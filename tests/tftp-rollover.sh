#!/bin/bash
# A file above 32 MiB in 512-byte blocks needs more than 65535 blocks: the
# block number wraps to 0 (as tftp-hpa and iPXE expect) and the download is
# still byte-identical, with tftp-hpa (RFC 1350 only) and curl (tsize).
. "$(dirname "$0")/lib.sh"
requires tftp -V
requires curl --version

root=$TMP/root
mkdir -p "$root"
# 65536 * 512 + 1000: crosses the wrap and ends past it
head -c $((65536 * 512 + 1000)) /dev/urandom >"$root/big.img"
start_linkboot --root "$root"

out=$(timeout 300 tftp -m binary 127.0.0.1 "$LB_TFTP_PORT" -c get big.img "$TMP/hpa" 2>&1)
[ -z "$out" ] || die "tftp-hpa: $out"
cmp "$TMP/hpa" "$root/big.img" || die "tftp-hpa: big.img differs"

timeout 300 curl -sS "tftp://127.0.0.1:$LB_TFTP_PORT/big.img" -o "$TMP/curl" ||
	die "curl failed"
cmp "$TMP/curl" "$root/big.img" || die "curl: big.img differs"

assert_contains "$LB_LOG" 'RRQ "big\.img" -> 32 MiB sent' "tftp-hpa transfer logged"
exit 0
