#!/bin/bash
# e2e with the server built with ASan/UBSan (`make SAN=1`, build/asan;
# `make check` builds it): two decisive boots run against it unchanged:
#   pxe-bios.sh            DHCP, TFTP (iPXE), HTTP (boot script, kernel,
#                          initrd) to a BIOS PC under QEMU
#   agent-server-write.sh  the agent's session (POST /session), NBD reads,
#                          writes and flushes into a kept server overlay,
#                          read back with an admin token
# Each must pass, and the sanitizers must have nothing to say: any report
# (a memory error, UB, or a leak at the server's exit) fails the test.
. "$(dirname "$0")/../lib.sh"

ASAN_LINKBOOT=$TOP/build/asan/linkboot
[ -x "$ASAN_LINKBOOT" ] ||
	die "no $ASAN_LINKBOOT: build it with 'make SAN=1 build/asan/linkboot' (make check does)"
"$ASAN_LINKBOOT" --version >/dev/null 2>&1 || "$ASAN_LINKBOOT" --help >/dev/null 2>&1 ||
	die "$ASAN_LINKBOOT does not run"
nm -D "$ASAN_LINKBOOT" 2>/dev/null | grep -q __asan_init ||
	ldd "$ASAN_LINKBOOT" | grep -q libasan || die "$ASAN_LINKBOOT is not an ASan build"

mkdir -p "$TMP/san"
export LINKBOOT=$ASAN_LINKBOOT
# reports go to files (the tests' own logs keep the server's output);
# halt at the first error so a test notices a dead server
export ASAN_OPTIONS="log_path=$TMP/san/asan:halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$TMP/san/ubsan:halt_on_error=1:print_stacktrace=1"
for t in pxe-bios agent-server-write; do
	start=$(date +%s)
	bash "$TOP/tests/e2e/$t.sh" >"$TMP/$t.log" 2>&1
	rc=$?
	echo "$t under ASan/UBSan: exit $rc in $(( $(date +%s) - start )) s"
	[ "$rc" -eq 77 ] && { tail -n 3 "$TMP/$t.log"; skip "$t skipped (above)"; }
	[ "$rc" -eq 0 ] || { tail -n 30 "$TMP/$t.log"; die "$t failed with the ASan server (exit $rc)"; }
done
if ls "$TMP/san"/* >/dev/null 2>&1; then
	head -n 60 "$TMP/san"/*
	die "the sanitizers reported errors (above)"
fi
echo "PASS: $TEST_NAME: two boots against the ASan/UBSan server, no reports"
