# shellcheck shell=bash
# SAN boot of a Windows-class PC, proven with a Debian 12 disk (sourced by
# tests/e2e/san-*.sh after tests/lib.sh and lib-qemu.sh).
#
# The PC's own iPXE (NIC ROM on BIOS, efi-e1000.rom on UEFI) gets a script
# by DHCP + TFTP that does `sanboot iscsi:...`; the firmware path is then
# the one Windows takes: BIOS INT 13h (iPXE) -> MBR -> GRUB core.img in
# the bios_grub partition; UEFI block I/O (iPXE) -> \EFI\BOOT\BOOTX64.EFI
# on the ESP. Both leave an iBFT; the Debian initramfs (open-iscsi,
# ISCSI_AUTO=true) logs in again from it and mounts root by UUID.
#
#   san_requires            skip (77) unless every tool is here
#   san_image OUT           a copy of the SAN disk (built once, cached)
#   san_net_setup           netns + tap0 (lib-qemu.sh) + dnsmasq (DHCP,
#                           TFTP: san.ipxe and snponly.efi)
#   san_target_start IMG    the iSCSI target on 198.18.0.1:3260 serving
#                           IMG as LUN $SAN_LUN of $SAN_TARGET_IQN; the
#                           one function to swap for linkboot's target
#   san_boot NAME FW SECS   QEMU (TCG) with FW bios|uefi|uefi-virtio until
#                           the marker, with the time of each milestone;
#                           sets SAN_BOOT_MS, SAN_TIMES, SAN_MAC
#   san_capture_start FILE  tshark on the bridge (port 3260) -> FILE
#                           (san_boot does it when SAN_CAPTURE=1)
#   san_capture_report FILE [T0_MS]  per connection: login keys, PDUs,
#                           SCSI commands, read/write sizes, who closed it
#   san_ibft_lun            $SAN_LUN as /sys/firmware/ibft shows it
#
# The disk (hybrid GPT, boots on BIOS and UEFI):
#   p1 bios_grub 1 MiB   GRUB i386-pc core.img (grub-bios-setup writes
#                        boot.img to the protective MBR)
#   p2 ESP 32 MiB FAT    \EFI\BOOT\BOOTX64.EFI (GRUB x86_64-efi, what
#                        grub-install --removable puts there)
#   p3 ext4 root         Debian 12 minbase + systemd, linux-image-amd64,
#                        open-iscsi (its initramfs hooks; ISCSI_AUTO=true),
#                        GRUB modules + grub.cfg in /boot/grub
# Built without loop devices or mounts (the host kernel has no loop):
# mkfs.ext4 -d at an offset, mkfs.vfat + mtools on a file dd'ed in place,
# grub-mkimage for both platforms, and boot.img + core.img put where
# grub-bios-setup would (it wants the GRUB directory on a disk it can open).
# GRUB's early config finds the root by its UUID, as grub-install's does.
#
# The guest says how it booted on its serial console (/dev/console):
#   SAN: firmware efi|bios
#   SAN: root <source> <fstype>
#   SAN: rootdisk <the root disk's /dev/disk/by-path name>
#   SAN: ibft initiator=<iqn> target=<iqn> lun=<lun> ip=<addr> mac=<mac>
#   SAN: session <iscsiadm -m session line>
#   SAN: failed unit <name>
#   SAN: journal <warnings of this boot>
#   SAN: boots before <n>   (boots that wrote to this disk before this one)
#   SAN-BOOT-OK <hostname> uptime <s>
#   SAN-FROZEN              (the root file system frozen: clean on the disk)

SAN_HOSTNAME=sanpc
SAN_TARGET_IQN=${SAN_TARGET_IQN:-iqn.2025-01.test.linkboot:san-disk}
SAN_INITIATOR_IQN=${SAN_INITIATOR_IQN:-iqn.2025-01.test.linkboot:pc1}
# tgtd's LUN 0 is its controller (peripheral type 0x0c): the disk is LUN 1
SAN_LUN=${SAN_LUN:-1}
SAN_IMAGE_MIB=${SAN_IMAGE_MIB:-1536}
SAN_CACHE=${LINKBOOT_CACHE:-$HOME/.cache/linkboot}
SAN_MARKER=${SAN_MARKER:-SAN-BOOT-OK}
SAN_SUITE=bookworm
# minbase + a bootable systemd box whose root is on iSCSI; no recommends.
# busybox: open-iscsi's initramfs script needs `ip` for the iBFT gateway.
SAN_PKGS="systemd-sysv,udev,linux-image-amd64,initramfs-tools,busybox,open-iscsi,kmod,iproute2"

san_requires() {
	qemu_requires
	local c
	for c in debootstrap sfdisk mkfs.ext4 mkfs.vfat mmd mcopy grub-mkimage \
		depmod md5sum dnsmasq tgtd tgtadm chroot; do
		command -v "$c" >/dev/null || skip "requires $c (scripts/deps.sh)"
	done
	[ -f /usr/lib/grub/i386-pc/boot.img ] || skip "requires grub-pc-bin"
	[ -d /usr/lib/grub/x86_64-efi ] || skip "requires grub-efi-amd64-bin"
	[ -f "$OVMF_FD" ] || skip "requires $OVMF_FD (ovmf)"
	[ -f "$IPXE_DIR/snponly.efi" ] || skip "requires $IPXE_DIR/snponly.efi (ipxe)"
}

# _san_rootfs TARBALL MIRROR: debootstrap once, trimmed as
# scripts/mkdebian-image.sh trims (docs, the distro initrd, drivers no PC
# here has), tarred.
_san_rootfs() {
	local tarball=$1 mirror=$2 t=$TMP/san-bootstrap kdir
	echo "san: debootstrap $SAN_SUITE from $mirror (once; cached in $tarball)"
	debootstrap --variant=minbase --include="$SAN_PKGS" "$SAN_SUITE" "$t" "$mirror" \
		>"$TMP/san-debootstrap.log" 2>&1 || {
		tail -n 20 "$TMP/san-debootstrap.log" >&2
		return 1
	}
	rm -rf "$t"/var/cache/apt/archives/*.deb "$t"/var/cache/apt/*.bin \
		"$t"/var/lib/apt/lists/* "$t"/usr/share/doc/* "$t"/usr/share/man/* \
		"$t"/usr/share/locale/* "$t"/usr/share/info/* "$t"/boot/initrd.img-* \
		"$t"/var/log/*.log "$t"/var/log/apt/*
	for kdir in "$t"/usr/lib/modules/*/; do
		rm -rf "$kdir"/kernel/drivers/{gpu,media,staging,iio,net/wireless} \
			"$kdir"/kernel/sound
		depmod -b "$t" "$(basename "$kdir")"
	done
	tar -C "$t" --numeric-owner -cf "$tarball.tmp" . || return 1
	mv "$tarball.tmp" "$tarball"
	rm -rf "$t"
}

# The cached debootstrap tree for SAN_PKGS (built when missing).
san_rootfs_tar() {
	local mirror key
	mirror=$("$TOP/scripts/debian-mirror.sh") ||
		die "no Debian mirror in /etc/apt/sources.list{,.d}; set DEBIAN_MIRROR"
	key=$(printf '%s\n' "$SAN_SUITE" "$SAN_PKGS" "$mirror" v1 | md5sum | cut -c1-12)
	SAN_ROOTFS_TAR=$SAN_CACHE/debian-san-rootfs-$key.tar
	mkdir -p "$SAN_CACHE"
	[ -s "$SAN_ROOTFS_TAR" ] || _san_rootfs "$SAN_ROOTFS_TAR" "$mirror"
}

# _san_le VALUE BYTES: VALUE as BYTES little-endian bytes (printf escapes).
_san_le() {
	local v=$1 n=$2 i out=""
	for ((i = 0; i < n; i++)); do
		out+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 )))
	done
	printf '%b' "$out"
}

# _san_poke FILE OFFSET VALUE BYTES: write VALUE little-endian at OFFSET.
_san_poke() {
	_san_le "$3" "$4" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# _san_grub_bios DISK CORE_IMG CORE_LBA: what grub-bios-setup does for a
# GPT disk with a bios_grub partition (it cannot: it wants the GRUB
# directory on a disk it can open, and the image is not mounted).
# Offsets: GRUB 2.06 include/grub/i386/pc/boot.h and diskboot.S.
_san_grub_bios() {
	local disk=$1 core=$2 lba=$3 sectors
	sectors=$(( ($(stat -c %s "$core") + 511) / 512 ))
	# boot.img's code (0..439); the disk signature and the protective MBR's
	# partition table (440..511) stay as sfdisk wrote them
	dd if=/usr/lib/grub/i386-pc/boot.img of="$disk" bs=440 count=1 \
		conv=notrunc status=none
	_san_poke "$disk" $((0x5c)) "$lba" 8		# KERNEL_SECTOR: core.img's LBA
	_san_poke "$disk" $((0x64)) 255 1		# BOOT_DRIVE 0xff: the drive in %dl
	_san_poke "$disk" $((0x66)) $((0x9090)) 2	# DRIVE_CHECK: nop it on a hard disk
	dd if="$core" of="$disk" bs=512 seek="$lba" conv=notrunc status=none
	# diskboot.img (core.img's first sector) ends with a blocklist: the
	# rest of core.img is SECTORS-1 sectors from LBA+1, loaded at 0x820:0
	_san_poke "$disk" $(( lba * 512 + 500 )) $(( lba + 1 )) 8
	_san_poke "$disk" $(( lba * 512 + 508 )) $(( sectors - 1 )) 2
	_san_poke "$disk" $(( lba * 512 + 510 )) $((0x820)) 2
}

# _san_guest_files ROOT UUID KVER: what an installer and the admin leave on
# the root: fstab, hostname, ISCSI_AUTO, grub.cfg, the report unit.
_san_guest_files() {
	local root=$1 uuid=$2 kver=$3
	echo "$SAN_HOSTNAME" >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$SAN_HOSTNAME" >"$root/etc/hosts"
	cat >"$root/etc/fstab" <<-FSTAB
	# <file system> <mount point>   <type>  <options>       <dump>  <pass>
	UUID=$uuid /               ext4    errors=remount-ro 0       1
	FSTAB
	: >"$root/etc/machine-id"
	# no getty on the serial console: its prompt would land in the
	# middle of the report's lines
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
	# open-iscsi's local-top script: log in from the iBFT (iscsistart -N
	# for the NIC, then -b); README.Debian "Root on iSCSI"
	echo "ISCSI_AUTO=true" >"$root/etc/iscsi/iscsi.initramfs"
	# mkinitramfs' fsck hook reads the root's type off the mounted device,
	# which the image's is not here: name it, or fsck.ext4 is left out
	echo "FSTYPE=ext4" >"$root/etc/initramfs-tools/conf.d/san-fstype"

	mkdir -p "$root/boot/grub"
	cat >"$root/boot/grub/grub.cfg" <<-GRUBCFG
	# linkboot SAN test disk (tests/e2e/lib-san.sh)
	set timeout=0
	set default=0
	if [ "\$grub_platform" = pc ]; then
		serial --unit=0 --speed=115200
		terminal_input serial
		terminal_output serial
	fi
	echo "GRUB: \$grub_platform, prefix \$prefix"
	menuentry "Debian GNU/Linux (root on iSCSI)" {
		search --no-floppy --fs-uuid --set=root $uuid
		echo "GRUB: loading linux $kver"
		linux /boot/vmlinuz-$kver root=UUID=$uuid ro console=ttyS0,115200
		initrd /boot/initrd.img-$kver
	}
	GRUBCFG
	# the modules grub-install copies, for insmod from the disk
	local p
	for p in i386-pc x86_64-efi; do
		mkdir -p "$root/boot/grub/$p"
		cp /usr/lib/grub/$p/*.mod /usr/lib/grub/$p/*.lst "$root/boot/grub/$p/"
	done

	mkdir -p "$root/usr/local/sbin" "$root/etc/systemd/system/multi-user.target.wants"
	cat >"$root/usr/local/sbin/san-report" <<-'REPORT'
	#!/bin/sh
	# linkboot e2e (tests/e2e/lib-san.sh): how this PC booted, on the
	# console. /dev/console, not /dev/ttyS0: serial-getty's agetty
	# vhangup()s ttyS0 and every other open file of it then gets EIO.
	exec >/dev/console 2>&1
	echo
	if [ -d /sys/firmware/efi ]; then echo "SAN: firmware efi"; else echo "SAN: firmware bios"; fi
	src=$(findmnt -n -o SOURCE /)
	echo "SAN: root $(findmnt -n -o SOURCE,FSTYPE,OPTIONS /)"
	echo "SAN: rootsys $(readlink -f /sys/class/block/${src#/dev/})"
	disk=/dev/$(lsblk -n -d -o PKNAME "$src" 2>/dev/null)
	for l in /dev/disk/by-path/*; do
		[ "$(readlink -f "$l")" = "$disk" ] && echo "SAN: rootdisk ${l##*/}"
	done
	i=/sys/firmware/ibft
	if [ -d $i ]; then
		echo "SAN: ibft initiator=$(cat $i/initiator/initiator-name)" \
			"target=$(cat $i/target0/target-name)" \
			"lun=$(cat $i/target0/lun)" \
			"ip=$(cat $i/ethernet0/ip-addr)" \
			"mac=$(cat $i/ethernet0/mac)" \
			"origin=$(cat $i/ethernet0/origin 2>/dev/null)"
	else
		echo "SAN: ibft none"
	fi
	iscsiadm -m session 2>&1 | sed 's/^/SAN: session /'
	for s in /sys/class/iscsi_session/session*; do
		[ -d "$s" ] && echo "SAN: sysfs ${s##*/} $(cat $s/targetname) $(cat $s/initiatorname)"
	done
	ip -4 -o addr show | awk '$2 != "lo" { print "SAN: ip", $2, $4 }'
	echo "SAN: cmdline $(cat /proc/cmdline)"
	systemctl --failed --plain --no-legend | awk 'NF { print "SAN: failed unit", $1 }'
	journalctl -b -p warning -o cat --no-pager | tail -n 30 | sed 's/^/SAN: journal /'
	# what the disk held: a line per boot that wrote to it (versions,
	# restore on reboot), then this boot's line
	mkdir -p /var/lib/lbsan
	echo "SAN: boots before $(cat /var/lib/lbsan/boots 2>/dev/null | wc -l)"
	cat /proc/sys/kernel/random/boot_id >>/var/lib/lbsan/boots
	sync
	echo "SAN-BOOT-OK $(hostname) uptime $(cut -d' ' -f1 /proc/uptime)"
	# the test powers the PC off hard: a frozen file system is clean on
	# the disk (journal flushed), so `linkboot image commit` takes it
	fsfreeze --freeze / && echo "SAN-FROZEN"
	REPORT
	chmod 0755 "$root/usr/local/sbin/san-report"
	cat >"$root/etc/systemd/system/san-report.service" <<-'UNIT'
	[Unit]
	Description=linkboot e2e: report how the SAN boot went
	After=multi-user.target

	[Service]
	Type=oneshot
	ExecStart=/usr/local/sbin/san-report

	[Install]
	WantedBy=multi-user.target
	UNIT
	ln -sf /etc/systemd/system/san-report.service \
		"$root/etc/systemd/system/multi-user.target.wants/san-report.service"
}

# _san_disk_build OUT: partition, file systems, boot loaders, initramfs.
_san_disk_build() {
	local out=$1 root=$TMP/san-root kernel kver uuid disk=$1.tmp
	local esp_lba esp_sectors root_lba root_sectors
	rm -rf "$root"; mkdir -p "$root"
	tar -C "$root" --numeric-owner -xf "$SAN_ROOTFS_TAR" || die "untar $SAN_ROOTFS_TAR"
	kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -f "$kernel" ] || die "no /boot/vmlinuz-* in the rootfs"
	kver=${kernel##*/vmlinuz-}
	uuid=$(cat /proc/sys/kernel/random/uuid)
	_san_guest_files "$root" "$uuid" "$kver"
	# the initramfs with the iBFT config (MODULES=most: NIC drivers too)
	chroot "$root" update-initramfs -c -k "$kver" >"$TMP/san-initramfs.log" 2>&1 ||
		{ tail -n 20 "$TMP/san-initramfs.log" >&2; die "update-initramfs in the image"; }
	grep '^W:' "$TMP/san-initramfs.log" >&2
	echo "san: initramfs $(du -k "$root/boot/initrd.img-$kver" | cut -f1) KiB," \
		"$(zcat -f "$root/boot/initrd.img-$kver" | cpio -t 2>/dev/null | grep -c '\.ko')" modules

	rm -f "$disk"
	truncate -s "${SAN_IMAGE_MIB}M" "$disk"
	sfdisk -q "$disk" <<-PARTS || die "sfdisk"
	label: gpt
	start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=bios-grub
	start=4096, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
	start=69632, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=debian-root
	PARTS
	read -r esp_lba esp_sectors < <(sfdisk -d "$disk" | awk -F'[=,]' '/^[^ ]+2 :/ { print $2, $4 }')
	read -r root_lba root_sectors < <(sfdisk -d "$disk" | awk -F'[=,]' '/^[^ ]+3 :/ { print $2, $4 }')
	[ -n "$root_sectors" ] || die "sfdisk: no root partition"

	mkfs.ext4 -q -F -b 4096 -L debian-root -U "$uuid" -d "$root" \
		-E "offset=$((root_lba * 512))" "$disk" "$((root_sectors / 2))k" ||
		die "mkfs.ext4"

	# GRUB's early config, as grub-install writes it: find the root by
	# UUID, whatever drive number INT 13h or EFI gave the disk
	# shellcheck disable=SC2016 # $root is GRUB's
	printf 'search.fs_uuid %s root\nset prefix=($root)/boot/grub\n' "$uuid" \
		>"$TMP/san-early.cfg"
	grub-mkimage -O i386-pc -o "$TMP/san-core.img" -c "$TMP/san-early.cfg" \
		-p /boot/grub biosdisk part_gpt part_msdos ext2 search_fs_uuid ||
		die "grub-mkimage i386-pc"
	[ "$(stat -c %s "$TMP/san-core.img")" -le $((2048 * 512)) ] ||
		die "core.img does not fit the bios_grub partition"
	_san_grub_bios "$disk" "$TMP/san-core.img" 2048

	grub-mkimage -O x86_64-efi -o "$TMP/san-bootx64.efi" -c "$TMP/san-early.cfg" \
		-p /boot/grub part_gpt part_msdos ext2 search_fs_uuid ||
		die "grub-mkimage x86_64-efi"
	rm -f "$TMP/san-esp.img"
	mkfs.vfat -C -n ESP "$TMP/san-esp.img" $((esp_sectors / 2)) >/dev/null ||
		die "mkfs.vfat"
	if ! mmd -i "$TMP/san-esp.img" ::/EFI ::/EFI/BOOT ||
		! mcopy -i "$TMP/san-esp.img" "$TMP/san-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI; then
		die "mtools: \\EFI\\BOOT\\BOOTX64.EFI"
	fi
	dd if="$TMP/san-esp.img" of="$disk" bs=512 seek="$esp_lba" conv=notrunc,sparse \
		status=none || die "dd ESP"
	rm -rf "$root" "$TMP/san-esp.img"
	mv "$disk" "$out"
	echo "san: built $out (${SAN_IMAGE_MIB} MiB, kernel $kver, root UUID $uuid)"
}

# san_image OUT: a private copy of the cached SAN disk (built on a miss).
# The cache key covers the recipe itself: change a function, get a rebuild.
san_image() {
	local out=$1 key cached t0
	t0=$(date +%s%3N)
	san_rootfs_tar || { grep -q 'Failed getting release file\|Couldn.t download' \
		"$TMP/san-debootstrap.log" 2>/dev/null &&
		skip "debootstrap failed (no Debian mirror reachable?)"; die "debootstrap"; }
	key=$( { echo "$SAN_ROOTFS_TAR $SAN_IMAGE_MIB $SAN_HOSTNAME"
		declare -f _san_guest_files _san_disk_build _san_grub_bios _san_le _san_poke
		cat /usr/lib/grub/i386-pc/boot.img; } | md5sum | cut -c1-12)
	cached=$SAN_CACHE/san-disk-$key.img
	if [ ! -s "$cached" ]; then
		rm -f "$SAN_CACHE"/san-disk-*.img	# older recipes
		cleanup_fn "rm -f $cached.$$ $cached.$$.tmp"
		_san_disk_build "$cached.$$"
		mv "$cached.$$" "$cached"
	fi
	cp --sparse=always "$cached" "$out" || die "copy $cached"
	SAN_IMAGE_MS=$(( $(date +%s%3N) - t0 ))
	echo "san: disk $out from $cached in $((SAN_IMAGE_MS / 1000)) s"
}

# --- the LAN: DHCP + TFTP (dnsmasq), the boot script -----------------------

# san_ipxe_script FILE: what the PC's iPXE runs. LUN $SAN_LUN: tgtd's disk
# is LUN 1 (an empty LUN field in the URI means 0).
san_ipxe_script() {
	cat >"$1" <<-EOF
	#!ipxe
	echo SAN-IPXE: \${platform} \${mac} \${ip}
	set initiator-iqn $SAN_INITIATOR_IQN
	sanboot iscsi:$E2E_SERVER_IP:::$SAN_LUN:$SAN_TARGET_IQN || goto failed
	:failed
	echo SAN-IPXE-FAILED \${errno}
	EOF
}

# san_net_setup: netns with tap0 on the bridge, dnsmasq on it: DHCP for
# 198.18.0.100-199 without router or DNS (the target is on-link), TFTP
# with san.ipxe for iPXE (option 175 present) and snponly.efi for OVMF's
# own PXE. Option 175.176=1 spares iPXE its ~2 s proxyDHCP wait.
san_net_setup() {
	net_setup
	net_add_tap tap0
	mkdir -p "$TMP/tftp"
	san_ipxe_script "$TMP/tftp/san.ipxe"
	cp "$IPXE_DIR/snponly.efi" "$TMP/tftp/"
	SAN_DNSMASQ_LOG=$TMP/dnsmasq.log
	ip netns exec "$NS" dnsmasq --keep-in-foreground --port=0 --user=root \
		--bind-interfaces --interface="$BR" --except-interface=lo \
		--dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,1h \
		--dhcp-leasefile="$TMP/dnsmasq.leases" --no-ping --log-dhcp \
		--dhcp-option=3 --dhcp-option=6 \
		--dhcp-match=set:ipxe,175 \
		--dhcp-match=set:efi64,option:client-arch,7 \
		--dhcp-match=set:efi64,option:client-arch,9 \
		--dhcp-option-force=tag:ipxe,encap:175,176,1b \
		--dhcp-boot=tag:ipxe,san.ipxe \
		--dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi \
		--enable-tftp --tftp-root="$TMP/tftp" \
		--log-facility="$SAN_DNSMASQ_LOG" --pid-file="$TMP/dnsmasq.pid" \
		>"$TMP/dnsmasq.out" 2>&1 &
	local pid=$!
	cleanup_fn "kill $pid"
	wait_for 10 in_ns ss -Hlun "sport = :67" ||
		{ cat "$TMP/dnsmasq.out" >&2; die "dnsmasq did not start in $NS"; }
}

# --- the target -----------------------------------------------------------

# san_target_start IMG: the iSCSI target the PC boots from, on
# 198.18.0.1:3260, IMG as LUN $SAN_LUN of $SAN_TARGET_IQN, open to any
# initiator. SAN_TARGET=tgtd (default) picks Debian's tgtd; linkboot's own
# target plugs in here as another case.
san_target_start() {
	case ${SAN_TARGET:-tgtd} in
	tgtd) san_target_start_tgtd "$1" ;;
	*) die "SAN_TARGET=$SAN_TARGET: no such target" ;;
	esac
}

# tgtd's management socket is /var/run/tgtd/socket.N, shared by all
# network namespaces: a control port of our own keeps us apart from any
# other tgtd on this machine.
san_target_start_tgtd() {
	local img=$1 i
	SAN_TGT_PORT=$(( 20000 + RANDOM % 10000 ))
	SAN_TARGET_LOG=$TMP/tgtd.log
	ip netns exec "$NS" tgtd -f -C "$SAN_TGT_PORT" -d "${SAN_TGTD_DEBUG:-0}" \
		--iscsi "portal=$E2E_SERVER_IP:3260" >"$SAN_TARGET_LOG" 2>&1 &
	SAN_TARGET_PID=$!
	# tgtd ignores SIGTERM while it has targets: qemu_stop goes on to KILL,
	# which leaves the socket files behind
	cleanup_fn "rm -f /var/run/tgtd/socket.$SAN_TGT_PORT /var/run/tgtd/socket.$SAN_TGT_PORT.lock"
	cleanup_fn "qemu_stop $SAN_TARGET_PID"
	for ((i = 0; i < 50; i++)); do
		tgtadm -C "$SAN_TGT_PORT" --op show --mode sys >/dev/null 2>&1 && break
		sleep 0.2
	done
	_tgtadm --op new --mode target --tid 1 -T "$SAN_TARGET_IQN"
	_tgtadm --op new --mode logicalunit --tid 1 --lun "$SAN_LUN" -b "$img"
	_tgtadm --op bind --mode target --tid 1 -I ALL
	wait_for 10 in_ns ss -Hltn "sport = :3260" ||
		{ cat "$SAN_TARGET_LOG" >&2; die "tgtd does not listen on 3260"; }
}

_tgtadm() {
	tgtadm -C "$SAN_TGT_PORT" --lld iscsi "$@" >>"$TMP/tgtadm.log" 2>&1 ||
		{ cat "$TMP/tgtadm.log" "$SAN_TARGET_LOG" >&2; die "tgtadm $*"; }
}

# --- the PC ---------------------------------------------------------------

# What the console shows on the way, in order: name|ERE. The times at
# which each first shows up (ms from QEMU start) are the boot's breakdown.
SAN_MILESTONES=(
	"ipxe|iPXE initialising devices"
	"script|SAN-IPXE: "
	"sanboot|Booting from SAN device|SAN device 0x"
	"grub|^GRUB: "
	"kernel|Linux version [0-9]"
	"initramfs|Run /init as init process"
	"ibft-net|IP-Config: .* complete|Setting up software interface"
	"login|iscsistart: .* is operational"
	"root|EXT4-fs \\(sd[a-z]+[0-9]+\\): mounted"
	"systemd|Welcome to .*Debian"
	"iscsid|Started iscsid.service"
	"multi-user|Reached target multi-user.target"
	"marker|$SAN_MARKER"
)

# _san_wait SECS: like qemu_wait, for the marker (or a failure we know),
# noting the milestones. Sets QEMU_MS, SAN_TIMES ("name=s.s ...").
_san_wait() {
	local secs=$1 i m alive now
	local -A seen=()
	SAN_TIMES=""
	QEMU_MS=""
	for ((i = 0; i < secs * 4; i++)); do
		alive=0
		qemu_running && alive=1
		strip_ansi "$QEMU_RAW" >"$QEMU_LOG"
		now=$(( $(date +%s%3N) - QEMU_T0 ))
		for m in "${SAN_MILESTONES[@]}"; do
			[ -n "${seen[${m%%|*}]:-}" ] && continue
			grep -qE -- "${m#*|}" "$QEMU_LOG" || continue
			seen[${m%%|*}]=1
			SAN_TIMES+="${m%%|*}=$((now / 1000)).$(( (now % 1000) / 100 )) "
		done
		if [ -n "${seen[marker]:-}" ]; then
			QEMU_MS=$now
			return 0
		fi
		grep -qE 'SAN-IPXE-FAILED|Kernel panic|Gave up waiting for root' "$QEMU_LOG" &&
			return 1
		[ "$alive" -eq 1 ] || return 1
		[ "$now" -lt $((secs * 1000)) ] || return 1
		sleep 0.25
	done
	return 1
}

# san_boot NAME bios|uefi|uefi-virtio SECS [MAC]: a PC with the stock iPXE in
# its NIC ROM (SeaBIOS: pxe-e1000.rom; OVMF: efi-e1000.rom; uefi-virtio:
# OVMF's own PXE -> snponly.efi) boots until the marker. Sets SAN_BOOT_MS
# (QEMU start -> marker), SAN_MAC, SAN_TIMES; dies with the log on failure.
# SAN_CAPTURE=1: tshark records port 3260 meanwhile ($TMP/NAME.pcapng).
san_boot() {
	local name=$1 fw=$2 secs=$3
	SAN_MAC=${4:-$(e2e_mac 1)}
	# shellcheck disable=SC2034 # lib-qemu.sh's
	QEMU_MEM=${SAN_MEM:-1024}
	SAN_CAP_PID=""
	[ "${SAN_CAPTURE:-0}" = 1 ] && san_capture_start "$TMP/$name.pcapng"
	case $fw in
	bios) qemu_start_bios "$name" "$SAN_MAC" tap0 ;;
	uefi) qemu_start_uefi_e1000 "$name" "$SAN_MAC" tap0 ;;
	uefi-virtio) qemu_start_uefi_virtio "$name" "$SAN_MAC" tap0 ;;
	*) die "san_boot: firmware $fw?" ;;
	esac
	if ! _san_wait "$secs"; then
		qemu_dump "$name" 80
		_san_keep "$name"
		die "$name: no '$SAN_MARKER' on the serial console within ${secs}s (${SAN_TIMES:-nothing})"
	fi
	SAN_BOOT_MS=$QEMU_MS
	echo "$name: QEMU start -> $SAN_MARKER $((SAN_BOOT_MS / 1000)).$(( (SAN_BOOT_MS % 1000) / 100 )) s"
	echo "$name: seconds from QEMU start: $SAN_TIMES"
	qemu_stop
	[ -n "$SAN_CAP_PID" ] && qemu_stop "$SAN_CAP_PID"
	_san_keep "$name"
}

_san_keep() {
	[ -n "${SAN_KEEP:-}" ] || return 0
	mkdir -p "$SAN_KEEP"
	cp "$TMP/$1".* "$SAN_KEEP/" 2>/dev/null
	cp "$SAN_TARGET_LOG" "$SAN_KEEP/" 2>/dev/null
	return 0
}

# --- what the initiators used ----------------------------------------------

# san_capture_start FILE: tshark on the bridge, port 3260, into FILE;
# sets SAN_CAP_PID. The whole payload is kept: SCSI CDBs can start anywhere
# in a TCP segment, so the dissector needs the reassembled stream.
san_capture_start() {
	local file=$1 i
	command -v tshark >/dev/null || { echo "san: no tshark, no capture" >&2; return 0; }
	ip netns exec "$NS" tshark -q -i "$BR" -f "tcp port 3260" -w "$file" \
		>"$file.log" 2>&1 &
	SAN_CAP_PID=$!
	cleanup_fn "qemu_stop $SAN_CAP_PID"
	# dumpcap says so on stderr once it captures
	for ((i = 0; i < 50; i++)); do
		grep -q "Capturing on" "$file.log" 2>/dev/null && break
		sleep 0.2
	done
}

# san_capture_report FILE [T0_MS]: per TCP connection (one per login):
# when (s from T0_MS, QEMU's start), who (ISID: 0x00023d... is open-iscsi,
# 0x4000... iPXE), the login keys each side sent, the iSCSI PDUs each side
# sent (RFC 7143 section 11.1.1 opcodes), the SCSI commands, the reads and
# writes (count, bytes, largest), the immediate data, and who closed it.
san_capture_report() {
	local file=$1 t0=${2:-0}
	[ -s "$file" ] || { echo "san: no capture in $file"; return 0; }
	tshark -r "$file" -Y "iscsi || tcp.flags.fin == 1 || tcp.flags.reset == 1" \
		-T fields -E separator='|' -E occurrence=a -E aggregator=';' \
		-e tcp.stream -e tcp.dstport -e frame.time_epoch -e iscsi.isid \
		-e iscsi.keyvalue -e iscsi.opcode -e iscsi.datasegmentlength \
		-e iscsi.scsicommand.R -e iscsi.scsicommand.W \
		-e iscsi.scsicommand.expecteddatatransferlength -e tcp.flags.fin \
		-e tcp.flags.reset -e _ws.col.Info 2>/dev/null |
		awk -F'|' -v t0="$t0" -f <(_san_report_awk)
}

_san_report_awk() {
	cat <<-'AWK'
	function add(list, item) {
		return index(";" list ";", ";" item ";") ? list : (list == "" ? item : list ";" item)
	}
	function opname(o) {
		return o in ops ? ops[o] : "opcode " o
	}
	function counted(s, list, cnt,   a, i, k, line) {
		k = split(list, a, ";")
		for (i = 1; i <= k; i++)
			line = line sprintf("%s%s x%d", i > 1 ? ", " : "", a[i], cnt[s, a[i]])
		return line
	}
	BEGIN {
		split("0x00 NOP-Out;0x01 SCSI-Command;0x02 TaskMgmt;0x03 Login;0x04 Text;" \
			"0x05 Data-Out;0x06 Logout;0x10 SNACK;0x20 NOP-In;0x21 SCSI-Response;" \
			"0x22 TaskMgmt-Response;0x23 Login-Response;0x24 Text-Response;" \
			"0x25 Data-In;0x26 Logout-Response;0x31 R2T;0x32 Async;0x3f Reject", o, ";")
		for (i in o) { split(o[i], kv, " "); ops[kv[1]] = kv[2] }
	}
	{
		s = $1; out = ($2 == 3260)
		if (!(s in first)) { first[s] = $3 * 1000 - t0; order[++n] = s }
		# the first FIN and the first RST each side sent
		if ($11 == 1 || $12 == 1) {
			c = sprintf("%s by the %s", $12 == 1 ? "RST" : "FIN", out ? "initiator" : "target")
			if (!((s, c) in fin))
				closed[s] = closed[s] sprintf("%s%s at %.1f s", closed[s] == "" ? "" : ", ", c,
					($3 * 1000 - t0) / 1000)
			fin[s, c] = 1
		}
		if ($4 != "" && isid[s] == "") { split($4, a, ";"); isid[s] = a[1] }
		k = split($5, kv, ";")
		for (i = 1; i <= k; i++)
			if (out) ikeys[s] = add(ikeys[s], kv[i]); else tkeys[s] = add(tkeys[s], kv[i])
		k = split($6, op, ";"); split($7, dsl, ";")
		for (i = 1; i <= k; i++) {
			c = opname(op[i])
			if (out) { ipdu[s, c]++; ipdus[s] = add(ipdus[s], c) }
			else { tpdu[s, c]++; tpdus[s] = add(tpdus[s], c) }
			if (out && op[i] == "0x01" && dsl[i] > 0) { imm[s]++; immb[s] += dsl[i] }
		}
		if (!out) next
		k = split($8, r, ";"); split($9, w, ";"); split($10, len, ";")
		for (i = 1; i <= k; i++) {
			if (r[i] == "True" || r[i] == 1) { rd[s]++; rdb[s] += len[i]; if (len[i] > rdmax[s]) rdmax[s] = len[i] }
			if (w[i] == "True" || w[i] == 1) { wr[s]++; wrb[s] += len[i]; if (len[i] > wrmax[s]) wrmax[s] = len[i] }
		}
		info = $13
		while (match(info, /SCSI: [A-Za-z0-9 ()\/-]+ LUN/)) {
			c = substr(info, RSTART + 6, RLENGTH - 10)
			scsi[s, c]++; cmds[s] = add(cmds[s], c)
			info = substr(info, RSTART + RLENGTH)
		}
	}
	END {
		for (j = 1; j <= n; j++) {
			s = order[j]
			printf "connection %d at %.1f s, ISID %s\n", s, first[s] / 1000, isid[s]
			printf "  initiator keys: %s\n", ikeys[s]
			printf "  target keys:    %s\n", tkeys[s]
			printf "  initiator PDUs: %s\n", counted(s, ipdus[s], ipdu)
			printf "  target PDUs:    %s\n", counted(s, tpdus[s], tpdu)
			printf "  SCSI commands:  %s\n", counted(s, cmds[s], scsi)
			printf "  reads %d (%.1f MiB, largest %d KiB), writes %d (%.1f MiB, largest %d KiB), immediate data in %d commands (%d KiB)\n",
				rd[s], rdb[s] / 1048576, rdmax[s] / 1024, wr[s], wrb[s] / 1048576, wrmax[s] / 1024, imm[s], immb[s] / 1024
			printf "  closed: %s\n", closed[s] == "" ? "no (open at the end of the capture)" : closed[s]
		}
	}
	AWK
}

# The iBFT's LUN as Linux shows it (/sys/firmware/ibft/target0/lun): the
# 8 bytes of the SAM LUN each printed with %x, no padding; iPXE writes
# LUN n < 256 as 00 nn 00 00 00 00 00 00.
san_ibft_lun() {
	printf '0%x000000\n' "$SAN_LUN"
}
