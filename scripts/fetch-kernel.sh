#!/bin/bash
# Fetch the Debian kernel (linux-image-amd64's current image package) with
# `apt-get download` + `dpkg -x`, and run depmod on its modules. Idempotent:
# prints the directory holding boot/vmlinuz-* and lib/modules/<ver>/.
#   KCACHE (default ~/.cache/linkboot/kernel) is where it goes.
set -euo pipefail

KCACHE=${KCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/linkboot/kernel}
mkdir -p "$KCACHE"
cd "$KCACHE"

# linux-image-amd64 is a metapackage: find the real image package it pulls.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
	apt-get update -q >&2
	pkg=$(apt-cache depends linux-image-amd64 |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
[ -n "$pkg" ] || { echo "fetch-kernel: cannot resolve linux-image-amd64" >&2; exit 1; }
kver=${pkg#linux-image-}
root=$KCACHE/$kver

if [ ! -f "$root/.done" ]; then
	rm -rf "$root" ./*.deb
	echo "fetch-kernel: downloading $pkg" >&2
	apt-get download "$pkg" >&2
	mkdir -p "$root"
	dpkg -x ./"${pkg}"_*.deb "$root"
	rm -f ./*.deb
	# the .deb carries no modules.dep
	depmod -b "$root" "$kver"
	touch "$root/.done"
fi
echo "$root"
