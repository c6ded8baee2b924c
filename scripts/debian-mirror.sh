#!/bin/bash
# Print the Debian mirror to debootstrap from: $DEBIAN_MIRROR, else the
# first non-security mirror apt itself uses (/etc/apt/sources.list{,.d},
# one-line and deb822 formats): the only network the image builds touch.
# Exit 1 when there is none. Used by scripts/mkdebian-image.sh and
# tests/e2e/lib-san.sh.
set -u

if [ -n "${DEBIAN_MIRROR:-}" ]; then
	echo "$DEBIAN_MIRROR"
	exit 0
fi
mirror=$(
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ && $0 !~ /security/ && $2 ~ /\/debian\/?$/ { print $2 }' "$f"
	done | head -n 1
)
[ -n "$mirror" ] || exit 1
echo "$mirror"
