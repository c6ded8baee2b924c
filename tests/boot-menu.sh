#!/bin/bash
# Boot menus over HTTP (curl as iPXE and GRUB fetch them): the menu, an
# entry's script (another image, rescue, local), the pick recorded and
# applied to the boot's credential (POST /session: image=), dropped at the
# next menu; a pick from an address that is not the PC changes nothing;
# bad entries and menus refused with the reason.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires curl --version

MAC=52:54:00:00:0a:01
head -c $((4 << 20)) /dev/urandom >"$TMP/a.img"
head -c $((4 << 20)) /dev/urandom >"$TMP/b.img"
echo kernel >"$TMP/k"; echo initrd >"$TMP/i"
start_linkboot --trusted-net 127.0.0.1/32
lb image add lab "$TMP/a.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 || die "image add lab"
lb image add win "$TMP/b.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 || die "image add win"
lb client add $MAC --image lab --write server --menu lab,win,local,rescue \
	--menu-default win --menu-timeout 7 >/dev/null || die "client add --menu"
H=http://127.0.0.1:$LB_HTTP_PORT
U="$H/boot.ipxe?mac=$MAC"

curl -s "$U" >"$TMP/menu" || die "GET menu"
assert_contains "$TMP/menu" '^item 2 win$' "iPXE menu item"
assert_contains "$TMP/menu" '^item 3 Local disk$' "local entry"
assert_contains "$TMP/menu" 'choose --default 2 --timeout 7000' "default and timeout"
grep -q 'linkboot.ticket' "$TMP/menu" && die "the menu carries a ticket"
curl -s "$H/grub/grub.cfg-$MAC.menu" >"$TMP/gmenu" || die "GET grub menu"
assert_contains "$TMP/gmenu" '^set timeout=7$' "GRUB timeout"
assert_contains "$TMP/gmenu" '^set default=1$' "GRUB default (0-based)"
assert_contains "$TMP/gmenu" "grub.cfg-$MAC.e4" "GRUB entry file"

# a pick from another address: no ticket, nothing recorded
curl -s --interface 127.0.0.2 "$U&entry=2" >"$TMP/other" || die "GET from .2"
grep -q 'linkboot.ticket=' "$TMP/other" && die "another address got a ticket"
lb client show $MAC | grep -q 'MENU PICKED: -' || die "another address recorded a pick"

# entry 2 from the PC: its script, its credential on image win, ram mode
curl -s "$U&entry=2" >"$TMP/e2" || die "GET entry 2"
T=$(grep -oE 'linkboot\.ticket=t1-[0-9a-f]+' "$TMP/e2" | cut -d= -f2)
[ -n "$T" ] || die "entry 2 has no ticket"
assert_contains "$TMP/e2" 'linkboot.write=ram' "another image boots ram"
curl -sf --local-port 600-1000 --data-binary "ticket=$T" "$H/session" >"$TMP/s" ||
	die "POST /session"
assert_contains "$TMP/s" '^image=win$' "the credential runs the picked image"
lb client show $MAC >"$TMP/show" || die "client show"
assert_contains "$TMP/show" 'MENU PICKED: win$' "client show: the pick"
lb status -j | grep -q '"menu_picked": *"win"' || die "status -j: menu_picked"
assert_contains "$LB_LOG" "menu: $MAC picked win" "the pick is logged"

# a SAN image's entry: its PC sanboots its iSCSI disk (the iSCSI work)
lb image add winsan "$TMP/b.img" --kernel "$TMP/k" --initrd "$TMP/i" >/dev/null 2>&1 ||
	die "image add winsan"
lb image set winsan --boot san >/dev/null || die "image set --boot san"
lb client set $MAC --menu lab,win,local,rescue,winsan --boot linux >/dev/null ||
	die "client set --menu with a SAN entry"
curl -s "$U&entry=5" >"$TMP/san" || die "GET entry 5"
assert_contains "$TMP/san" '^sanboot ' "a SAN entry sanboots"
lb client set $MAC --menu lab,win,local,rescue >/dev/null || die "client set --menu"

# rescue: the link's image into rescue.target; local: back to the firmware
curl -s "$U&entry=4" | grep -q 'systemd.unit=rescue.target' || die "rescue entry"
curl -s "$U&entry=3" >"$TMP/local" || die "GET entry 3"
assert_contains "$TMP/local" '^exit$' "local: exit to the firmware"
# the next menu drops the last pick: the credential is the link's again
curl -s "$U&entry=2" >/dev/null
curl -s "$U" >/dev/null
lb client show $MAC | grep -q 'IMAGE: lab$' || die "the pick outlived the next menu"

# bad input
for e in 0 9 x 99999999999999999999; do
	curl -s "$U&entry=$e" | grep -q '^choose ' ||
		die "entry=$e: want the menu again"
done
bad() {
	local want=$1; shift
	lb client set $MAC "$@" >"$TMP/bad" 2>&1 && die "client set $* accepted"
	assert_contains "$TMP/bad" "$want" "client set $*"
}
bad "entry 'nope' is no image" --menu lab,nope
bad "give up to 8 entries" --menu 'a b'
bad "give up to 8 entries" --menu a,b,c,d,e,f,g,h,i
bad "not an entry of --menu" --menu lab,win --menu-default local
bad "give seconds, 0 to 3600" --menu-timeout 4000
# one entry: straight through
lb client set $MAC --menu lab >/dev/null || die "client set --menu lab"
curl -s "$U" | grep -q 'linkboot.ticket=' || die "a one-entry menu did not boot straight through"
assert_alive "after the menu requests"
echo ok
