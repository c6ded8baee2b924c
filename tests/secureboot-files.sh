#!/bin/bash
# The Secure Boot chain's files and GRUB configuration, over TFTP and HTTP
# with real clients (tftp-hpa, curl): shimx64.efi, grubx64.efi and
# mmx64.efi are Debian's signed binaries byte for byte; grub/grub.cfg is
# the stub that fetches grub/grub.cfg-$net_default_mac; the per-MAC config
# shows the unknown-MAC screen with the exact `linkboot client add`
# command, then, once linked, boots the image's kernel + initramfs with
# the same command line as boot.ipxe, a fresh ticket each time, and the
# ticket redeems (POST /session). Without --trusted-net (nothing vouches
# for 127.0.0.1) no ticket: the "cannot tell" screen.
. "$(dirname "$0")/lib.sh"
requires curl --version
requires tftp -V
SHIM=/usr/lib/shim/shimx64.efi.signed
MM=/usr/lib/shim/mmx64.efi.signed
GRUB=/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed
for f in "$SHIM" "$MM" "$GRUB"; do
	[ -f "$f" ] || skip "$f missing (scripts/deps.sh: shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed)"
done

MAC=52:54:00:5b:00:01
# tftp-hpa reads "a:b" as HOST:FILE, so TFTP gets GRUB's own 01- name;
# the colon form (what the stub asks, $net_default_mac) goes over HTTP
DMAC=01-${MAC//:/-}
tget() { # tget REMOTE LOCAL: one TFTP read, bounded
	timeout 30 tftp -m binary 127.0.0.1 "$LB_TFTP_PORT" -c get "$1" "$2" 2>&1 &&
		[ -f "$2" ] || die "tftp get $1"
}
hget() { curl -sf --max-time 10 -o "$2" "http://127.0.0.1:$LB_HTTP_PORT/$1" || die "GET /$1"; }

start_linkboot --secure-boot on
URL=http://127.0.0.1:$LB_HTTP_PORT

# the signed binaries under the names the chain asks for
tget shimx64.efi "$TMP/shim.t"; cmp "$TMP/shim.t" "$SHIM" || die "TFTP shimx64.efi differs"
tget grubx64.efi "$TMP/grub.t"; cmp "$TMP/grub.t" "$GRUB" || die "TFTP grubx64.efi is not grubnetx64.efi.signed"
hget mmx64.efi "$TMP/mm.h"; cmp "$TMP/mm.h" "$MM" || die "HTTP mmx64.efi differs"
hget grubx64.efi "$TMP/grub.h"; cmp "$TMP/grub.h" "$GRUB" || die "HTTP grubx64.efi differs"

# the stub: the same for every PC
tget grub/grub.cfg "$TMP/stub"
assert_contains "$TMP/stub" '^source "\$lb_cfg"$' "stub sources the PC's config"
assert_contains "$TMP/stub" 'set lb_cfg="\$prefix/grub.cfg-\$net_default_mac"' "per-MAC name"
assert_contains "$TMP/stub" '^	sleep 5$' "retries"
# Debian's GRUB tests for this first: not found, so it takes grub/grub.cfg
out=$(timeout 30 tftp -m binary 127.0.0.1 "$LB_TFTP_PORT" -c get grub/x86_64-efi/grub.cfg "$TMP/none" 2>&1)
echo "$out" | grep -qi "not found" || die "grub/x86_64-efi/grub.cfg: $out"

# unknown MAC: the registration screen, by TFTP and by HTTP, both MAC spellings
tget "grub/grub.cfg-$DMAC" "$TMP/u1"
assert_contains "$TMP/u1" "^echo '  linkboot client add $MAC --image IMAGE'$" "unknown: exact command"
assert_contains "$TMP/u1" "this PC is not linked to an image yet" "unknown: screen"
hget "grub/grub.cfg-$MAC" "$TMP/u2"
cmp "$TMP/u1" "$TMP/u2" || die "TFTP (01- name) and HTTP (MAC) configs differ"
assert_contains "$LB_LOG" 'GRUB config: unknown' "TFTP log says what was served"
out=$(curl -s -o /dev/null -w '%{http_code}' "$URL/grub/grub.cfg-nomac")
[ "$out" = 200 ] || die "bad MAC: HTTP $out"
curl -s "$URL/grub/grub.cfg-nomac" | grep -q "bad request" || die "bad MAC: no message"

# link it
truncate -s 8M "$TMP/disk.img"
head -c 300000 /dev/urandom >"$TMP/vmlinuz"
head -c 200000 /dev/urandom >"$TMP/initrd.img"
lb image add demo "$TMP/disk.img" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd.img" \
	>"$TMP/add.out" 2>&1 || die "image add: $(cat "$TMP/add.out")"
lb client add "$MAC" --image demo --ram-cache 128 >/dev/null || die "client add"

# 127.0.0.1 is not on-link: no ticket, says why
tget "grub/grub.cfg-$DMAC" "$TMP/v0"
assert_contains "$TMP/v0" "cannot tell that this request comes from the PC with MAC $MAC" "no ticket: why"
grep -q 'linkboot\.ticket\|^linux ' "$TMP/v0" && die "ticket for an unrecognised asker"

kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
start_linkboot --secure-boot on --trusted-net 127.0.0.1/32
URL=http://127.0.0.1:$LB_HTTP_PORT
tget "grub/grub.cfg-$DMAC" "$TMP/b1"
a=$TMP/b1
assert_contains "$a" "boots image demo version 1 \(Secure Boot chain" "names the image and version"
assert_contains "$a" "^linux /boot/[^ ]+/v1/[^ ]+ linkboot\.server=127\.0\.0\.1:$LB_NBD_PORT " "kernel + NBD server"
assert_contains "$a" "linkboot\.http=http://127\.0\.0\.1:$LB_HTTP_PORT " "HTTP base"
assert_contains "$a" "linkboot\.ticket=t1-[0-9a-f]{78} " "boot ticket"
assert_contains "$a" "linkboot\.mac=$MAC linkboot\.write=ram linkboot\.ram=128" "MAC, write mode, RAM cache"
assert_contains "$a" 'linkboot\.hostname=pc-001' "hostname"
assert_contains "$a" '^initrd /boot/[^ ]+/v1/' "initramfs"
assert_contains "$a" '^boot$' "boot"
# same decisions as boot.ipxe: same kernel, initrd, write mode, hashes
s=$(curl -sf "$URL/boot.ipxe?mac=$MAC") || die "boot.ipxe"
k=$(sed -n 's|^linux /\([^ ]*\) .*|\1|p' "$a")
i=$(sed -n 's|^initrd /\([^ ]*\)$|\1|p' "$a")
echo "$s" | grep -q "/$k " || die "boot.ipxe boots another kernel than $k"
echo "$s" | grep -q "/$i" || die "boot.ipxe loads another initrd than $i"
h=$(grep -oE 'linkboot\.hashes=[^ ]+' "$a") || die "no hashes"
echo "$s" | grep -q -- "$h" || die "boot.ipxe has other $h"
# the files named there are served over TFTP
tget "$k" "$TMP/k"; cmp "$TMP/k" "$TMP/vmlinuz" || die "kernel via TFTP differs"
tget "$i" "$TMP/i"; cmp "$TMP/i" "$TMP/initrd.img" || die "initrd via TFTP differs"
# a fresh ticket each time, and it redeems
tget "grub/grub.cfg-$DMAC" "$TMP/b2"
t1=$(grep -oE 'linkboot\.ticket=[^ ]+' "$TMP/b1" | cut -d= -f2)
t2=$(grep -oE 'linkboot\.ticket=[^ ]+' "$TMP/b2" | cut -d= -f2)
[ "$t1" != "$t2" ] || die "two fetches got the same ticket"
curl -sf --local-port 600-1000 --data-binary "ticket=$t2" "$URL/session" |
	grep -q '^credential=' || die "the GRUB config's ticket does not redeem"

# secure_boot off/auto: no change for iPXE PCs (DHCP side: unit tests)
echo "secure boot files: ok"
