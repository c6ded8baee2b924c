#!/bin/bash
# UEFI Secure Boot (README "Secure Boot"): OVMF's Secure Boot build with
# Microsoft's keys enrolled (Debian's ovmf: OVMF_CODE_4M.secboot.fd +
# OVMF_VARS_4M.ms.fd, a fresh copy of the vars per PC), QEMU TCG, q35 with
# SMM (the secboot build keeps its variables in SMM-protected flash).
#  1. The PC's link says `--secure-boot on` (the server: auto): its own
#     PXE (virtio-net, no ROM) loads shimx64.efi (Microsoft-signed) over
#     TFTP, shim loads grubx64.efi (Debian-signed network GRUB), GRUB
#     fetches grub/grub.cfg and the PC's grub.cfg-MAC, then the image's
#     Debian-signed kernel (shim verifies it) and linkboot's initramfs.
#     The kernel says Secure Boot is on and locks itself down; the agent
#     loads its modules (nbd, virtio_net: Debian's signed .ko files, which
#     lockdown requires), redeems the ticket, and the image's init prints
#     its banner, the lockdown state and that nbd is loaded.
#  2. `client set --secure-boot off` (live): DHCP hands the same PC iPXE
#     (snponly.efi, not signed) and the firmware refuses to run it. This
#     proves the firmware enforces signatures, so 1 proves the chain.
#  3. The server with `--secure-boot on`, an unknown MAC: GRUB shows the
#     registration screen with the exact `linkboot client add` command;
#     `client add` then boots it (GRUB fetches its config every 5 s).
#  4. that PC with a boot menu of two images: GRUB's timeout boots the
#     default, a key press (QEMU monitor sendkey) the other.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"
. "$(dirname "$0")/lib-agent.sh"

CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
qemu_requires
agent_requires
for f in "$CODE" "$VARS" /usr/lib/shim/shimx64.efi.signed \
	/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed "$IPXE_DIR/snponly.efi"; do
	[ -f "$f" ] || skip "$f missing (scripts/deps.sh: ovmf shim-signed grub-efi-amd64-signed ipxe)"
done

# E2E_KEEP=DIR: keep the serial and server logs there
[ -n "${E2E_KEEP:-}" ] && cleanup_fn "mkdir -p $E2E_KEEP; cp $TMP/*.log* $E2E_KEEP/"
MAC1=$(e2e_mac 1)
MAC2=$(e2e_mac 2)

# the demo image: the image's init prints what the test checks, then
# powers off (QEMU -no-reboot exits)
AGENT_INIT='$B mount -t sysfs sysfs /sys 2>/dev/null
$B mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
echo "LBE2E: banner: image booted by linkboot under Secure Boot"
echo "LBE2E: lockdown $($B cat /sys/kernel/security/lockdown 2>/dev/null || echo unknown)"
$B grep -q "^nbd " /proc/modules && echo "LBE2E: nbd module loaded"
$B ps | $B grep -q "[@]linkboot-agent" && echo "LBE2E: agent alive"
echo "LBE2E: DONE"
$B sleep 1
$B poweroff -f'
IMG=$TMP/demo.img
agent_demo_image "$IMG"
# virtio-net (transitional and modern IDs): the NIC OVMF's own PXE uses
INITRD=$TMP/initrd.gz
"$LINKBOOT" initramfs -o "$INITRD" --modules "$KROOT" --kernel-version "$KVER" \
	--minimal --pci-ids 1af4:1000,1af4:1041 --agent "$LINKBOOT_AGENT" \
	>"$TMP/initramfs.log" 2>&1 || die "linkboot initramfs: $(cat "$TMP/initramfs.log")"
LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
lbc image add demo "$IMG" --kernel "$VMLINUZ" --initrd "$INITRD" \
	>"$TMP/image-add.log" 2>&1 || die "image add: $(cat "$TMP/image-add.log")"
lbc image set demo --cmdline "console=ttyS0" >/dev/null || die "image set --cmdline"
lbc client add "$MAC1" --image demo --secure-boot on >/dev/null || die "client add"

pxe_network 2
e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199
e2e_requires_ports udp:67 udp:69 tcp:80 tcp:10809

# qemu_start_secboot NAME MAC TAP: OVMF Secure Boot, MS keys, own PXE
qemu_start_secboot() {
	local name=$1 mac=$2 tap=$3
	shift 3
	cp "$VARS" "$TMP/$name.vars.fd" || die "copy $VARS"
	_qemu_start "$name" "$tap" -machine q35,smm=on \
		-global driver=cfi.pflash01,property=secure,value=on \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$TMP/$name.vars.fd" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=0" "$@"
}

# 1. the signed chain to the image's banner
qemu_start_secboot sb-linked "$MAC1" tap0
qemu_expect sb-linked "LBE2E: DONE" 600 "shim -> GRUB -> kernel -> agent -> image"
echo "sb-linked: QEMU start -> image done $((QEMU_MS / 1000)) s"
qemu_stop
L=$QEMU_LOG
assert_contains "$LB_LOG" 'RRQ "shimx64.efi".* -> [0-9.]+ [KM]iB sent' "firmware fetched shim"
assert_contains "$LB_LOG" 'RRQ "grubx64.efi".* -> [0-9.]+ [KM]iB sent' "shim fetched GRUB from the same directory"
assert_contains "$LB_LOG" 'RRQ "/?grub/grub.cfg".* sent \(GRUB config: stub\)' "GRUB fetched grub/grub.cfg"
assert_contains "$LB_LOG" "grub.cfg-$MAC1\".* sent \(GRUB config: boot\)" "GRUB fetched the PC's config"
# (GRUB's console wraps at 80 columns)
assert_contains "$L" "^linkboot: PC-001 \($MAC1\) boots image demo version 1" "GRUB ran the PC's config"
assert_contains "$L" "^EFI stub: UEFI Secure Boot is enabled" "the kernel's EFI stub saw Secure Boot"
assert_contains "$L" "[Ss]ecure boot enabled" "the kernel says Secure Boot is on"
assert_contains "$L" "Kernel is locked down from EFI Secure Boot" "lockdown"
assert_contains "$L" "^LBE2E: lockdown .*\[(integrity|confidentiality)\]" "locked down in the image"
assert_contains "$L" "^LBE2E: nbd module loaded" "signed nbd.ko loaded under lockdown"
assert_contains "$L" "^LBE2E: banner: image booted" "the image's banner"
assert_contains "$L" "^LBE2E: agent alive" "the agent runs"
grep -qiE "Loading of unsigned module|module verification failed|Lockdown: .*unsigned module" "$L" &&
	die "a module was refused under lockdown: $(grep -iE 'unsigned module|verification failed' "$L" | head -n 3)"
assert_contains "$LB_LOG" "POST \"/session\" 200.* session=$MAC1" "the agent redeemed the GRUB config's ticket"

# 2. the same PC, its link now off: unsigned iPXE, refused by the firmware
lbc client set "$MAC1" --secure-boot off >/dev/null || die "client set --secure-boot off"
qemu_start_secboot sb-ipxe "$MAC1" tap0
qemu_expect sb-ipxe "Access Denied" 240 "the firmware refusing unsigned snponly.efi"
qemu_stop
assert_contains "$LB_LOG" 'RRQ "snponly.efi".* -> [0-9.]+ [KM]iB sent' "iPXE was sent"
grep -q "iPXE initialising\|iPXE 1\." "$QEMU_LOG" && die "unsigned iPXE ran under Secure Boot"

# 3. the server says on; an unknown MAC: the registration screen via GRUB
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
mv "$LB_LOG" "$LB_LOG.auto"
e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199 --secure-boot on
qemu_start_secboot sb-unknown "$MAC2" tap1
qemu_expect sb-unknown "linkboot client add $MAC2 --image IMAGE" 300 \
	"GRUB's registration screen"
assert_contains "$QEMU_LOG" "this PC is not linked to an image yet" "unknown-MAC screen"
assert_contains "$LB_LOG" 'RRQ "shimx64.efi".* -> [0-9.]+ [KM]iB sent' "server-wide on: shim"
assert_contains "$LB_LOG" "grub.cfg-$MAC2\".* sent \(GRUB config: unknown\)" "served the unknown screen"
# GRUB fetches its config again every 5 s: linking it boots it, no hand on it
lbc client add "$MAC2" --image demo >/dev/null || die "client add $MAC2"
qemu_expect sb-unknown "LBE2E: DONE" 300 "the retry loop picking up the new link"
qemu_stop
assert_contains "$QEMU_LOG" "^LBE2E: nbd module loaded" "PC 2 booted the image"

# 4. a boot menu through GRUB: the timeout boots the default, a key
# press (QEMU monitor sendkey) the other image
lbc image add demo2 "$IMG" --kernel "$VMLINUZ" --initrd "$INITRD" \
	>"$TMP/image-add2.log" 2>&1 || die "image add demo2: $(cat "$TMP/image-add2.log")"
lbc image set demo2 --cmdline "console=ttyS0" >/dev/null || die "image set demo2"
lbc client set "$MAC2" --menu demo,demo2 --menu-default demo --menu-timeout 4 \
	>/dev/null || die "client set --menu"
qemu_start_secboot sb-menu1 "$MAC2" tap1
qemu_expect sb-menu1 "LBE2E: DONE" 300 "the menu's default after the timeout"
qemu_stop
assert_contains "$QEMU_LOG" "boots image demo version" "GRUB's timeout took the default"
assert_contains "$LB_LOG" "grub.cfg-$MAC2.menu\".* sent \(GRUB config: menu\)" "GRUB fetched the menu"
lbc client show "$MAC2" | grep -q 'MENU PICKED: demo$' || die "client show: pick demo"
qemu_start_secboot sb-menu2 "$MAC2" tap1 -monitor "unix:$TMP/monitor.sock,server,nowait"
qemu_expect sb-menu2 "demo2" 300 "GRUB's menu"
python3 - "$TMP/monitor.sock" <<'PY' || die "sendkey"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(0.2)
for k in ("down", "ret"):
    s.sendall(("sendkey %s\n" % k).encode())
    time.sleep(0.3)
PY
qemu_expect sb-menu2 "LBE2E: DONE" 300 "the picked entry's boot"
qemu_stop
assert_contains "$QEMU_LOG" "boots image demo2 version" "the key press picked demo2"
lbc client show "$MAC2" | grep -q 'MENU PICKED: demo2$' || die "client show: pick demo2"
echo "secure boot: ok"
