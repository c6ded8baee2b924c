#!/bin/bash
# Build a real distribution image: a minimal Debian 12 (bookworm) with
# systemd, udev, the stock kernel (linux-image-amd64: /boot/vmlinuz-<kver>
# + /lib/modules/<kver>, so `linkboot image add` extracts kernel and
# modules from it), and the image's own network setup, on a raw disk with
# a GPT and one ext4 partition, the way an installer leaves it:
#   - /etc/fstab mounts the root by UUID with errors=remount-ro, fsck pass 1
#   - DEBIAN_NET=ifupdown (default): "allow-hotplug eth0 / iface eth0 inet
#     dhcp" (isc-dhcp-client), networking.service enabled;
#     DEBIAN_NET=networkd: systemd-networkd with DHCP=yes on e*, enabled
#     DEBIAN_NET=nm: NetworkManager (+ D-Bus), its default "Wired
#     connection" DHCP on every Ethernet NIC (a separate cached tree)
#   - an empty /etc/machine-id (every clone gets its own)
# plus a test unit, lbdeb-report.service, that runs once multi-user.target
# is reached and prints to the console (console=ttyS0):
#   LBDEB: root <source> <fstype> <options>
#   LBDEB: ip <iface> <addr/prefix>         (every IPv4 address)
#   LBDEB: payload ok|BAD <bytes>           (md5sum -c of a random file read
#                                            from the root after networking
#                                            came up)
#   LBDEB: failed unit <name>               (systemctl --failed)
#   LBDEB: systemctl ok, <n> failed
#   LBDEB: networkd ...                     (networkd images: link states)
#   LBDEB: nm ...                           (NetworkManager images: devices)
#   LBDEB: journal ...                      (the boot's warnings, last 40)
#   LBDEB: multi-user reached <hostname> <machine-id> uptime <s>
# and, when the kernel command line has lbdeb.poweroff, powers the PC off.
# With lbdeb.linkdown it first writes to the journal for 100 s while the
# host pulls the link (LBDEB: linkdown ready / payload ok|BAD / ticks N
# journal N).
#
#   scripts/mkdebian-image.sh OUTPUT
#     DEBIAN_MIRROR   (default: the Debian mirror apt uses, from
#                     /etc/apt/sources.list{,.d})
#     DEBIAN_NET      ifupdown | networkd | nm (default ifupdown)
#     DEBIAN_PAYLOAD_MIB (default 32)
#     LINKBOOT_CACHE  (default ~/.cache/linkboot): the debootstrap tree is
#                     kept there as debian-rootfs-<key>.tar, so reruns take
#                     seconds instead of minutes
#
# Needs root (debootstrap, file ownership in mkfs.ext4 -d), debootstrap,
# sfdisk, mkfs.ext4, depmod. No loop devices, no mounts: the host kernel
# has neither loop nor nbd.
set -euo pipefail

out=${1:?usage: mkdebian-image.sh OUTPUT}
suite=bookworm
net=${DEBIAN_NET:-ifupdown}
payload_mib=${DEBIAN_PAYLOAD_MIB:-32}
cache=${LINKBOOT_CACHE:-$HOME/.cache/linkboot}
# minbase + what a bootable, networked systemd box needs; no recommends
pkgs="systemd-sysv,udev,linux-image-amd64,ifupdown,isc-dhcp-client,kmod,iproute2"
# debootstrap does not resolve virtual packages: polkitd needs a logind
[ "$net" = nm ] && pkgs="$pkgs,network-manager,dbus,libpam-systemd"

die() { echo "mkdebian-image: $*" >&2; exit 1; }

case $net in ifupdown|networkd|nm) ;; *) die "DEBIAN_NET=$net: ifupdown, networkd or nm" ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, owners in mkfs.ext4 -d)"
for c in debootstrap sfdisk mkfs.ext4 depmod md5sum tar; do
	command -v "$c" >/dev/null ||
		die "needs $c (scripts/deps.sh: debootstrap fdisk e2fsprogs kmod)"
done

# The mirror apt already uses (the only network we may touch).
mirror=$("$(dirname "$0")/debian-mirror.sh") || mirror=""
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list{,.d}; set DEBIAN_MIRROR"

work=$(mktemp -d /tmp/mkdebian-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root" "$cache"

key=$(printf '%s\n' "$suite" "$pkgs" "$mirror" v1 | md5sum | cut -c1-12)
tarball=$cache/debian-rootfs-$key.tar

# debootstrap once, trimmed (docs, apt caches, the distro initrd and
# module trees a diskless PC never loads), then cached as a tar.
bootstrap() {
	local t=$work/bootstrap kdir
	echo "mkdebian-image: debootstrap $suite from $mirror (once; cached in $tarball)"
	debootstrap --variant=minbase --include="$pkgs" "$suite" "$t" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || {
		tail -n 20 "$work/debootstrap.log" >&2
		die "debootstrap failed (log above)"
	}
	rm -rf "$t"/var/cache/apt/archives/*.deb "$t"/var/cache/apt/*.bin \
		"$t"/var/lib/apt/lists/* "$t"/usr/share/doc/* "$t"/usr/share/man/* \
		"$t"/usr/share/locale/* "$t"/usr/share/info/* "$t"/boot/initrd.img-* \
		"$t"/var/log/*.log "$t"/var/log/apt/*
	for kdir in "$t"/usr/lib/modules/*/; do
		rm -rf "$kdir"/kernel/drivers/{gpu,media,infiniband,staging,iio,net/wireless} \
			"$kdir"/kernel/sound
		depmod -b "$t" "$(basename "$kdir")"
	done
	tar -C "$t" --numeric-owner -cf "$tarball.tmp" . || die "tar $tarball"
	mv "$tarball.tmp" "$tarball"
	rm -rf "$t"
}
[ -s "$tarball" ] || bootstrap
tar -C "$root" --numeric-owner -xf "$tarball" || die "untar $tarball"

kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -f "$kernel" ] || die "no /boot/vmlinuz-* in the rootfs (linux-image-amd64?)"
kver=${kernel##*/vmlinuz-}

# --- what an installer leaves behind --------------------------------------
uuid=$(cat /proc/sys/kernel/random/uuid)
echo debian >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<EOF
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$uuid /               ext4    errors=remount-ro 0       1
EOF
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"	# console login for debugging

wants=$root/etc/systemd/system/multi-user.target.wants
mkdir -p "$wants"
if [ "$net" = ifupdown ]; then
	cat >"$root/etc/network/interfaces" <<'EOF'
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug eth0
iface eth0 inet dhcp
EOF
	ln -sf /lib/systemd/system/networking.service "$wants/networking.service"
elif [ "$net" = nm ]; then
	printf 'auto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
	rm -f "$root"/etc/systemd/system/*.wants/networking.service
	[ -f "$root/lib/systemd/system/NetworkManager.service" ] ||
		die "no NetworkManager in the rootfs"
	ln -sf /lib/systemd/system/NetworkManager.service \
		"$wants/NetworkManager.service"
else
	printf 'auto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
	rm -f "$root"/etc/systemd/system/*.wants/networking.service
	mkdir -p "$root/etc/systemd/network"
	cat >"$root/etc/systemd/network/80-dhcp.network" <<'EOF'
[Match]
Name=e*

[Network]
DHCP=yes
EOF
	ln -sf /lib/systemd/system/systemd-networkd.service \
		"$wants/systemd-networkd.service"
	mkdir -p "$root/etc/systemd/system/sockets.target.wants" \
		"$root/etc/systemd/system/network-online.target.wants"
	ln -sf /lib/systemd/system/systemd-networkd.socket \
		"$root/etc/systemd/system/sockets.target.wants/"
	ln -sf /lib/systemd/system/systemd-networkd-wait-online.service \
		"$root/etc/systemd/system/network-online.target.wants/"
fi

# --- the test's report unit -----------------------------------------------
mkdir -p "$root/usr/share/lbdeb" "$root/usr/local/sbin"
head -c "$((payload_mib * 1024 * 1024))" /dev/urandom >"$root/usr/share/lbdeb/payload.bin"
(cd "$root" && md5sum usr/share/lbdeb/payload.bin) >"$root/usr/share/lbdeb/payload.md5"

cat >"$root/usr/local/sbin/lbdeb-report" <<'EOF'
#!/bin/sh
# linkboot e2e (scripts/mkdebian-image.sh): report the booted system on
# the serial port; lbdeb.poweroff on the kernel command line powers off.
# /dev/console, not /dev/ttyS0: serial-getty's agetty vhangup()s ttyS0
# when it starts, and every other open file of it then gets EIO; the
# console's file is spared
exec >/dev/console 2>&1
echo	# a getty's login prompt may be on the line
echo "LBDEB: root $(findmnt -n -o SOURCE,FSTYPE,OPTIONS /)"
ip -4 -o addr show | awk '$2 != "lo" { print "LBDEB: ip", $2, $4 }'
if (cd / && md5sum -c --status usr/share/lbdeb/payload.md5); then
	echo "LBDEB: payload ok $(stat -c %s /usr/share/lbdeb/payload.bin)"
else
	echo "LBDEB: payload BAD"
fi
if failed=$(systemctl --failed --plain --no-legend); then
	echo "$failed" | awk 'NF { print "LBDEB: failed unit", $1 }'
	echo "LBDEB: systemctl ok, $(echo "$failed" | grep -c .) failed"
fi
if systemctl -q is-active systemd-networkd; then	# networkctl needs D-Bus
	for f in /run/systemd/netif/links/*; do
		echo "LBDEB: networkd link $(basename "$f")" \
			$(grep -E '^(ADMIN|OPER|CARRIER|ADDRESS)_STATE=|^NETWORK_FILE=' "$f")
	done
	journalctl -b -u systemd-networkd -o cat --no-pager | tail -n 15 |
		sed 's/^/LBDEB: networkd /'
fi
if systemctl -q is-active NetworkManager; then
	nmcli -t -f DEVICE,STATE,CONNECTION device | sed 's/^/LBDEB: nm /'
fi
journalctl -b -u systemd-udevd -o cat --no-pager | grep -iE 'eth|ens|renam' |
	tail -n 5 | sed 's/^/LBDEB: udevd /'
# what went wrong, if anything (warnings and worse, this boot)
journalctl -b -p warning -o cat --no-pager | tail -n 40 | sed 's/^/LBDEB: journal /'
echo "LBDEB: multi-user reached $(hostname) $(cat /etc/machine-id) uptime $(cut -d' ' -f1 /proc/uptime)"
# lbdeb.linkdown: the host pulls the link while journald writes and the
# page cache is dropped under reads: 100 ticks, a second apart
if grep -qw lbdeb.linkdown /proc/cmdline; then
	echo "LBDEB: linkdown ready"
	i=0
	while [ $i -lt 100 ]; do
		logger -t lbdeb "linkdown tick $i"
		echo "tick $i" >>/var/tmp/lbdeb.ticks
		if [ $((i % 10)) -eq 5 ]; then
			sync
			echo 3 >/proc/sys/vm/drop_caches
			head -c 4194304 /usr/share/lbdeb/payload.bin >/dev/null ||
				echo "LBDEB: linkdown read failed at tick $i"
		fi
		sleep 1
		i=$((i + 1))
	done
	echo 3 >/proc/sys/vm/drop_caches
	if (cd / && md5sum -c --status usr/share/lbdeb/payload.md5); then
		echo "LBDEB: linkdown payload ok"
	else
		echo "LBDEB: linkdown payload BAD"
	fi
	echo "LBDEB: linkdown ticks $(wc -l </var/tmp/lbdeb.ticks)" \
		"journal $(journalctl -b -t lbdeb -o cat --no-pager | grep -c 'linkdown tick')"
fi
if grep -qw lbdeb.poweroff /proc/cmdline; then
	echo "LBDEB: powering off"
	systemctl --no-block poweroff
fi
EOF
chmod 0755 "$root/usr/local/sbin/lbdeb-report"
cat >"$root/etc/systemd/system/lbdeb-report.service" <<'EOF'
[Unit]
Description=linkboot e2e: report that multi-user.target was reached
After=multi-user.target network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lbdeb-report

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/lbdeb-report.service "$wants/lbdeb-report.service"

# --- disk: GPT, one Linux partition, ext4 made from the tree ---------------
used_mib=$(du -sm "$root" | cut -f1)
image_mib=$(( (used_mib * 13 / 10 + 64 + 63) / 64 * 64 ))
disk=$out.tmp.$$
rm -f "$disk"
truncate -s "${image_mib}M" "$disk"
sfdisk -q "$disk" <<EOF
label: gpt
start=2048, type=L, name=debian-root
EOF
read -r pstart psize < <(sfdisk -d "$disk" | awk -F'[=,]' '/^[^ ]+1 :/ { print $2, $4 }')
[ -n "$psize" ] || die "sfdisk: no partition"
mkfs.ext4 -q -F -b 4096 -L debian-root -U "$uuid" -d "$root" \
	-E "offset=$((pstart * 512))" "$disk" "$((psize / 2))k" ||
	die "mkfs.ext4 failed"
mv "$disk" "$out"
echo "mkdebian-image: $out (${image_mib} MiB, ${used_mib} MiB used, kernel $kver, net $net, root UUID $uuid)"
