#!/bin/bash
# ipxe-embed/Makefile: the commands it would run (make -n), its refusal of
# a missing tree, and a real run against a fake iPXE tree that records
# what it was asked to build. The embedded script: every goto has a label.
. "$(dirname "$0")/lib.sh"
requires make --version
E=$TOP/ipxe-embed

# dry run: the targets, EMBED=, config copy
make -s -n -C "$E" IPXE_SRC=/nonexistent ROMS="8086100e 10ec8168" OUT="$TMP/out" >"$TMP/n" 2>&1 ||
	die "make -n failed: $(cat "$TMP/n")"
assert_contains "$TMP/n" "EMBED=$TMP/out/linkboot\.ipxe" "EMBED= passed"
for t in bin/undionly.kpxe bin-x86_64-efi/ipxe.efi bin-x86_64-efi/snponly.efi \
	 bin/8086100e.rom bin/10ec8168.rom bin-x86_64-efi/8086100e.efirom \
	 bin-x86_64-efi/10ec8168.efirom; do
	assert_contains "$TMP/n" "-C /nonexistent/src .* $t( |$)" "target $t"
done
assert_contains "$TMP/n" "cp .*config/local/general\.h .*/nonexistent/src/config/local/" "config copied"

# a real run without a tree fails clearly
make -s -C "$E" IPXE_SRC=/nonexistent OUT="$TMP/out" >"$TMP/e1" 2>&1 && die "built without a tree"
assert_contains "$TMP/e1" "not an iPXE source tree" "missing tree message"
make -s -C "$E" OUT="$TMP/out" >"$TMP/e2" 2>&1 && die "built without IPXE_SRC"
assert_contains "$TMP/e2" "give IPXE_SRC=" "usage message"
make -s -C "$E" IPXE_SRC=/nonexistent ROMS='x;rm' OUT="$TMP/out" >"$TMP/e3" 2>&1 && die "bad ROMS accepted"

# a fake iPXE tree whose make records its arguments and makes the files
fake=$TMP/ipxe
mkdir -p "$fake/src/config/local"
cat >"$fake/src/Makefile" <<'MK'
all:
	@true
bin/%:
	@echo "$(MAKECMDGOALS) EMBED=$(EMBED) EXTRA=$(EXTRA_CFLAGS)" >> args.log
	@mkdir -p $(@D) && echo fake > $@
bin-x86_64-efi/%:
	@echo "$(MAKECMDGOALS) EMBED=$(EMBED)" >> args.log
	@mkdir -p $(@D) && echo fake > $@
MK
make -s -C "$E" IPXE_SRC="$fake" ROMS=8086100e LINKBOOT_HTTP=http://198.18.0.1:8080 \
	SERIAL=0 OUT="$TMP/out" >"$TMP/real" 2>&1 || die "fake build failed: $(cat "$TMP/real")"
for f in undionly.kpxe ipxe.efi snponly.efi 8086100e.rom 8086100e.efirom linkboot.ipxe; do
	[ -f "$TMP/out/$f" ] || die "no $f in OUT"
done
[ -f "$fake/src/config/local/general.h" ] && [ -f "$fake/src/config/local/console.h" ] ||
	die "config/local not copied into the tree"
assert_contains "$fake/src/args.log" "EMBED=$TMP/out/linkboot\.ipxe" "EMBED given to iPXE"
assert_contains "$fake/src/args.log" "EXTRA=-DLINKBOOT_NO_SERIAL" "SERIAL=0"
assert_contains "$TMP/out/linkboot.ipxe" '^set linkboot-http http://198\.18\.0\.1:8080$' "LINKBOOT_HTTP baked in"

# the script: magic first, user-class, every goto target exists
S=$E/linkboot.ipxe
assert_eq "$(head -n 1 "$S")" "#!ipxe" "script magic"
assert_contains "$S" '^set user-class linkboot$' "user-class"
assert_contains "$S" 'boot\.ipxe\?mac=\$\{mac\}' "chains the boot script"
assert_contains "$E/config/local/general.h" '^#undef NET_PROTO_IPV6' "no IPv6"
assert_contains "$E/config/local/general.h" '^#define DOWNLOAD_PROTO_HTTP' "HTTP"
assert_contains "$E/config/local/console.h" '^#define CONSOLE_SERIAL' "serial console"
for l in $(grep -o 'goto [a-z_]*' "$S" | awk '{ print $2 }' | sort -u); do
	grep -q "^:$l\$" "$S" || die "goto $l: no label :$l"
done
echo "PASS: $TEST_NAME"
