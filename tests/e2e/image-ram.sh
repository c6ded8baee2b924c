#!/bin/bash
# The demo OS image through the whole chain:
#   PC A, BIOS (SeaBIOS + the e1000's stock iPXE ROM), write mode ram:
#     boot 1 reaches the image's banner; a file written there; filling
#     the overlay (linkboot.overlay=16 MiB) gives the writer ENOSPC and the
#     OS stays up (a write after freeing space works, no fs errors);
#     boot 2: the file is gone (restore on reboot).
#   PC B, UEFI (OVMF + efi-e1000.rom), same image: reaches the banner.
#   PC D, UEFI with OVMF's own virtio-net PXE (no NIC ROM): the same.
#   A, B and D get their own hostname and machine-id, the ones
#   `linkboot client show MAC -j` lists, and they differ.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-qemu.sh"
. "$(dirname "$0")/image-lib.sh"

image_requires
[ -f "$OVMF_FD" ] || skip "no $OVMF_FD (apt-get install ovmf)"
image_setup

MAC_A=$(e2e_mac 1)
MAC_B=$(e2e_mac 2)
MAC_D=$(e2e_mac 4)
lbc client add "$MAC_A" --image demo --name e2e-a >/dev/null || die "client add A"
lbc client add "$MAC_B" --image demo --name e2e-b >/dev/null || die "client add B"
lbc client add "$MAC_D" --image demo --name e2e-d >/dev/null || die "client add D"
assert_eq "$(client_field "$MAC_A" write_mode)" ram "A's write mode"

ID='echo "E2E-ID host=$(cat /etc/hostname) mid=$(cat /etc/machine-id) kernel_host=$(hostname)"'
guest_script e2e-a "$ID
echo e2e-ram-file >/root/e2e-file && sync && echo \"E2E-WROTE \$(cat /root/e2e-file)\"
out=\$(dd if=/dev/zero of=/root/fill bs=1M count=64 2>&1); rc=\$?
echo \"E2E-FILL rc=\$rc \$(echo \$out | tr '\n' ' ')\"
rm -f /root/fill
echo after >/root/after && echo \"E2E-ALIVE \$(cat /root/after)\"
dmesg | grep -iE 'overlay|tmpfs|EXT4-fs error' | sed 's/^/E2E-DMESG /'
echo E2E-DONE"
guest_script e2e-b "$ID
echo E2E-DONE"
guest_script e2e-d "$ID
echo E2E-DONE"

# PC A, boot 1 (BIOS)
qemu_start_bios a1 "$MAC_A" tap0
boot_banner a1 e2e-a 300
T_BIOS=$BOOT_S
qemu_expect a1 'E2E-DONE' 120
assert_contains "$QEMU_LOG" 'linkboot-agent: root: .*read-only \+ overlay, write mode ram' "ram mode overlay"
assert_contains "$QEMU_LOG" '^E2E-WROTE e2e-ram-file' "file written in boot 1"
assert_contains "$QEMU_LOG" '^E2E-FILL rc=[1-9].*No space left on device' "ENOSPC for the writer filling the overlay"
assert_contains "$QEMU_LOG" '^E2E-ALIVE after' "a write after freeing space"
assert_no_io_errors a1
qemu_running || die "a1: the PC died after the full overlay"
HOST_A=$(guest_value E2E-ID host) MID_A=$(guest_value E2E-ID mid)
grep -m1 '^E2E-FILL' "$QEMU_LOG"
# the per-NIC initramfs: the core + only the e1000's archive
assert_contains "$LB_LOG" 'NIC bus ID 018086100e: initramfs drivers e1000$' "A's initramfs: core + e1000"
qemu_stop

# PC B (UEFI, iPXE's EFI ROM)
qemu_start_uefi_e1000 b1 "$MAC_B" tap1
boot_banner b1 e2e-b 300
T_UEFI=$BOOT_S
qemu_expect b1 'E2E-DONE' 60
assert_contains "$QEMU_LOG" 'Linux version' "kernel on PC B"
assert_contains "$QEMU_LOG" 'linkboot-agent: root: switch_root' "agent switched root on PC B"
assert_no_io_errors b1
HOST_B=$(guest_value E2E-ID host) MID_B=$(guest_value E2E-ID mid)
qemu_stop

# PC D (UEFI, no NIC ROM: OVMF's own virtio-net PXE -> TFTP snponly.efi
# -> iPXE); the agent needs virtio_net from the image's modules
qemu_start_uefi_virtio d1 "$MAC_D" tap2
boot_banner d1 e2e-d 300
T_VIRTIO=$BOOT_S
qemu_expect d1 'E2E-DONE' 60
assert_contains "$QEMU_LOG" "NBP file downloaded successfully" "OVMF PXE loaded iPXE over TFTP"
assert_no_io_errors d1
HOST_D=$(guest_value E2E-ID host) MID_D=$(guest_value E2E-ID mid)
assert_contains "$LB_LOG" 'NIC bus ID 011af41000: initramfs drivers core$' "D's initramfs: the core drives virtio"
grep 'NIC bus ID' "$LB_LOG" | sed 's/^/server: /'
qemu_stop

# hostname and machine-id: the DB's, one per client
assert_eq "$HOST_A" "$(client_field "$MAC_A" hostname)" "A's /etc/hostname"
assert_eq "$HOST_B" "$(client_field "$MAC_B" hostname)" "B's /etc/hostname"
assert_eq "$MID_A" "$(client_field "$MAC_A" machine_id)" "A's /etc/machine-id"
assert_eq "$MID_B" "$(client_field "$MAC_B" machine_id)" "B's /etc/machine-id"
[ "$HOST_A" != "$HOST_B" ] || die "A and B have the same hostname $HOST_A"
[ "$MID_A" != "$MID_B" ] || die "A and B have the same machine-id $MID_A"
assert_eq "$HOST_D" "$(client_field "$MAC_D" hostname)" "D's /etc/hostname"
assert_eq "$MID_D" "$(client_field "$MAC_D" machine_id)" "D's /etc/machine-id"
if [ "$MID_D" = "$MID_A" ] || [ "$MID_D" = "$MID_B" ]; then
	die "D shares a machine-id ($MID_D)"
fi
[[ $MID_A =~ ^[0-9a-f]{32}$ ]] || die "A's machine-id '$MID_A' is not 32 hex digits"
echo "ids: A $HOST_A $MID_A, B $HOST_B $MID_B, D $HOST_D $MID_D"

# PC A, boot 2: the ram-mode file is gone
guest_script e2e-a "$ID
if [ -e /root/e2e-file ]; then echo E2E-FILE present; else echo E2E-FILE absent; fi
echo E2E-DONE"
qemu_start_bios a2 "$MAC_A" tap0
boot_banner a2 e2e-a 300
qemu_expect a2 'E2E-DONE' 60
assert_contains "$QEMU_LOG" '^E2E-FILE absent' "ram mode: boot 1's file is gone on boot 2"
assert_no_io_errors a2
T_BIOS2=$BOOT_S
qemu_stop
echo "boot times (QEMU start -> banner): BIOS $T_BIOS s, UEFI e1000 $T_UEFI s, UEFI virtio $T_VIRTIO s, BIOS again $T_BIOS2 s"
