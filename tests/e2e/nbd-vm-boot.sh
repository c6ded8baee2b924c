#!/bin/bash
# QEMU guests boot from a linkboot NBD export as a virtio and as an IDE
# disk (`-drive file=nbd://...`): SeaBIOS reads the export's boot sector,
# which prints a marker on the serial port. Also shows an image without a
# Linux kernel is accepted for NBD clients.
source "$(dirname "$0")/../lib.sh"
requires qemu-system-x86_64 --version
requires python3 --version

MARK="LINKBOOT-VM-$$"
python3 "$TOP/tests/tools/mkmbr-image.py" "$TMP/vm.img" "$MARK" 8388608 ||
	die "mkmbr-image"
LB_STATE=$TMP/state
lb image add vmdisk "$TMP/vm.img" >"$TMP/add" 2>&1 || die "image add: $(cat "$TMP/add")"
assert_contains "$TMP/add" "boot mode san); NBD clients can use it now" "kernel-less image: SAN boot mode, NBD clients accepted"
start_linkboot

for ifc in virtio ide; do
	log=$TMP/serial-$ifc.log
	: >"$log"
	timeout -k 5 120 qemu-system-x86_64 -accel tcg -m 128 -display none \
		-no-reboot -serial "file:$log" -boot c \
		-drive "file=nbd://127.0.0.1:$LB_NBD_PORT/vmdisk,format=raw,if=$ifc,snapshot=on" \
		>"$TMP/qemu-$ifc.log" 2>&1 &
	QPID=$!
	cleanup_fn "kill $QPID"
	wait_for 100 grep -q "$MARK" "$log" ||
		{ cat "$TMP/qemu-$ifc.log" >&2; die "$ifc: no boot marker from the NBD disk"; }
	kill $QPID; wait $QPID 2>/dev/null
	echo "$ifc: booted from nbd://.../vmdisk"
done
assert_contains "$LB_LOG" "nbd .*vmdisk" "server logged the VM sessions"
