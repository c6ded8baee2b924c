#!/bin/bash
# A boot menu per link (client --menu): a BIOS PC (QEMU TCG, SeaBIOS, the
# e1000's stock iPXE ROM) linked with a menu of two images and a 3 s
# timeout. Boot 1: nobody touches it: the default entry boots (its image's
# marker), and the pick shows in `client show` and `status`. Boot 2: the
# down key and Enter through QEMU's monitor (sendkey) pick the other
# image, which boots. A menu of one entry boots straight through.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"

pxe_requires
requires python3 --version
MAC=$(e2e_mac 1)
pxe_marker_image MENU
# a second image: another marker
MARKER2=LINKBOOT-E2E-MENU2-$RANDOM
"$TOP/scripts/mktest-initrd.sh" "$TMP/test-initrd2.gz" "$MARKER2" ||
	die "mktest-initrd"
lbc image add other "$TMP/e2e-disk.img" --kernel "$KERNEL" \
	--initrd "$TMP/test-initrd2.gz" >"$TMP/image-add2.log" 2>&1 ||
	{ cat "$TMP/image-add2.log" >&2; die "image add other"; }
lbc image set other --cmdline "console=ttyS0" >/dev/null || die "image set"
lbc client add "$MAC" --image e2e --menu e2e,other,local --menu-default e2e \
	--menu-timeout 3 >/dev/null || die "client add --menu"
pxe_network 1
pxe_serve full

# sendkey KEY...: keys to the PC's keyboard through the monitor socket
sendkey() {
	python3 - "$TMP/monitor.sock" "$@" <<'PY' || die "sendkey $*"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(0.2)
for k in sys.argv[2:]:
    s.sendall(("sendkey %s\n" % k).encode())
    time.sleep(0.3)
s.close()
PY
}

# boot 1: the timeout takes the default
qemu_start_bios menu1 "$MAC" tap0
qemu_expect menu1 'linkboot: entry 1' 120 "the menu did not time out to entry 1"
e2e_boot_marker menu1 180
assert_contains "$TMP/menu1.serial.log" 'Local disk' "the menu lists its entries"
lbc client show "$MAC" >"$TMP/show1" || die "client show"
assert_contains "$TMP/show1" 'MENU PICKED: e2e$' "client show: the default was picked"
lbc status -j >"$TMP/status1" || die "status"
assert_contains "$TMP/status1" '"menu_picked": *"e2e"' "status: the entry picked"

# boot 2: a key press picks the second entry
qemu_start_bios menu2 "$MAC" tap0 -monitor "unix:$TMP/monitor.sock,server,nowait"
qemu_expect menu2 'Local disk' 120 "no menu on the second boot"
sendkey down ret
qemu_expect menu2 'linkboot: entry 2' 60 "the key press did not pick entry 2"
qemu_expect menu2 "$MARKER2" 180 "the other image did not boot"
echo "menu2: QEMU start -> other image $((QEMU_MS / 1000)) s"
qemu_stop
grep -q "$MARKER" "$TMP/menu2.serial.log" && die "boot 2 booted the default image"
lbc client show "$MAC" >"$TMP/show2" || die "client show"
assert_contains "$TMP/show2" 'MENU PICKED: other$' "client show: the key press's pick"
assert_contains "$TMP/show2" 'IMAGE: other$' "this boot runs the picked image"
assert_contains "$LB_LOG" "menu: $MAC picked other" "the server logged the pick"

# one entry: straight through, no menu
lbc client set "$MAC" --menu e2e >/dev/null || die "client set --menu e2e"
qemu_start_bios menu3 "$MAC" tap0
e2e_boot_marker menu3 180
grep -q 'Local disk\|linkboot: entry' "$TMP/menu3.serial.log" &&
	die "a one-entry menu was shown"
echo "PASS: boot menu (BIOS/iPXE)"
