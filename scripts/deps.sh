#!/bin/sh
# Install every build, test and demo dependency of linkboot from Debian's
# packages. Idempotent: packages already present are left alone, and the
# package lists are refreshed only when something is missing.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libblkid-dev zlib1g-dev libsqlite3-dev libsodium-dev libcmocka-dev libext2fs-dev
sqlite3 jq e2fsprogs fdisk cpio kmod iproute2 procps psmisc
curl tftp-hpa dnsmasq-base busybox-static python3
libnbd-bin libnbd-dev nbdkit nbd-server qemu-utils fio gnuplot-nox
qemu-system-x86 ipxe-qemu ipxe ovmf debootstrap
tgt grub-pc-bin grub-efi-amd64-bin
shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed dosfstools mtools ntfs-3g xz-utils zstd
libiscsi-bin libiscsi-dev qemu-block-extra"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
