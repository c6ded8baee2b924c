# shellcheck shell=bash
# QEMU PXE-boot harness for tests/e2e/*.sh and scripts/demo.sh (sourced,
# after tests/lib.sh or a cleanup_fn of the caller's own).
#
#   net_setup                 netns $NS with bridge $BR = 198.18.0.1/24
#   net_add_tap TAP           a tap in $NS on the bridge (for one QEMU NIC)
#   net_add_peer_ns ADDR      a second netns $PEER_NS on the same segment
#                             (veth) with ADDR/24: "another box on the LAN"
#   in_ns CMD...              run CMD in $NS
#   qemu_start_bios NAME MAC TAP [QEMU ARGS...]
#   qemu_start_uefi_e1000 NAME MAC TAP [QEMU ARGS...]
#   qemu_start_uefi_virtio NAME MAC TAP [QEMU ARGS...]
#                             start a TCG PC in $NS that PXE-boots; serial
#                             goes to $TMP/NAME.serial.raw; sets QEMU_PID,
#                             QEMU_LOG (ANSI-stripped copy), QEMU_T0 (ms)
#   qemu_wait PATTERN SECONDS wait until PATTERN is in the serial log (0),
#                             QEMU exits or time runs out (1); sets QEMU_MS
#                             (ms from QEMU start to the marker)
#   qemu_expect NAME PATTERN SECONDS [HINT]
#                             qemu_wait, or show NAME's serial log and die
#   qemu_stop                 kill the current QEMU (bounded)
#
# The set-up of a PXE test (pxe-*.sh, image-lib.sh, debian-systemd.sh):
#   pxe_requires              skip unless QEMU PXE boots of the marker image
#                             can run here (root, netns, QEMU, the CLI, the
#                             Debian kernel: KROOT KVER KERNEL, sfdisk,
#                             mkfs.ext4)
#   pxe_network NTAPS         net_setup + tap0 .. tap<NTAPS-1> on the bridge
#   pxe_serve MODE            `linkboot serve --dhcp MODE` (full: pool
#                             198.18.0.100-199; proxy) in $NS: LB_PID,
#                             LB_LOG; skip unless it has DHCP, TFTP, HTTP
#                             and NBD
#   pxe_marker_image NAME [MAC...]
#                             MARKER (LINKBOOT-E2E-NAME-<random>), image
#                             "e2e" in LB_STATE=$TMP/state (the kernel + an
#                             initramfs that prints MARKER), each MAC linked
#   pxe_setup NAME [MAC...]   all of a PXE test but its PCs:
#                             pxe_marker_image, one tap per MAC (at least
#                             tap0), pxe_serve full
#   e2e_boot_marker NAME SECS wait for MARKER, print the time, stop QEMU
#
# Verified recipe and gotchas (see /work/shared/DESIGN.md):
# - TCG only: -accel kvm hangs after "Booting from ROM" here.
# - SeaBIOS uses the NIC's iPXE ROM with -boot n (ipxe-qemu's pxe-e1000.rom
#   / efi-e1000.rom). OVMF ignores -boot n: bootindex=0 on the NIC.
# - e1000 with romfile= (no ROM) has no driver under OVMF; virtio-net with
#   romfile= uses OVMF's own virtio driver + PXE (-> TFTP snponly.efi).
# - OVMF sits in the EFI shell when nothing boots: every wait is bounded
#   and QEMU is killed in the trap. -no-reboot turns a panic (or the test
#   initramfs' poweroff) into a QEMU exit.
# - iPXE stalls ~15 s at "Configuring" waiting for an IPv6 RA unless the
#   server answers router solicitations; Debian's iPXE shows a 2 s Ctrl-B
#   prompt. Both only cost time.
# - Serial logs carry ANSI escapes (OVMF, iPXE): match on the stripped copy.
# - SeaBIOS (and the iPXE ROM's console through it) prints on the serial
#   port only with fw_cfg etc/sercon-port = 0x3f8 (QEMU warns that the name
#   lacks "opt/": harmless); OVMF and the kernel (console=ttyS0) always do.
# - Measured here (QEMU start -> marker, TCG, 2 busy cores): BIOS e1000
#   8.6-17 s, UEFI efi-e1000.rom 13-19 s, UEFI virtio OVMF PXE 16.6-23 s.
#
# Networking only on 198.18.0.0/24 inside namespaces made here, deleted at
# exit (cleanup_fn); `ip netns list` is empty afterwards.

E2E_SERVER_IP=198.18.0.1
OVMF_FD=${OVMF_FD:-/usr/share/ovmf/OVMF.fd}
IPXE_DIR=${IPXE_DIR:-/usr/lib/ipxe}
QEMU=${QEMU:-qemu-system-x86_64}
QEMU_MEM=${QEMU_MEM:-512}

_e2e_uid="$$.$RANDOM"
NS=""
PEER_NS=""
BR=lbbr0
QEMU_PID=""

# Skip (77) unless this machine can run QEMU PXE boots.
qemu_requires() {
	[ "$(id -u)" -eq 0 ] || skip "requires root (netns, tap)"
	command -v "$QEMU" >/dev/null || skip "requires $QEMU (apt-get install qemu-system-x86)"
	command -v ip >/dev/null || skip "requires ip (iproute2)"
	[ -c /dev/net/tun ] || skip "requires /dev/net/tun"
	ip netns add "lbe2e-probe-$_e2e_uid" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "lbe2e-probe-$_e2e_uid"
}

in_ns() { ip netns exec "$NS" "$@"; }

# Kill what still runs in a namespace (bounded), then delete it.
_ns_destroy() {
	local ns=$1 i pids
	for ((i = 0; i < 20; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null) || break
		[ -z "$pids" ] && break
		# TERM first, KILL after ~2 s
		# shellcheck disable=SC2086
		if ((i < 10)); then kill $pids; else kill -9 $pids; fi 2>/dev/null
		sleep 0.2
	done
	ip netns del "$ns" 2>/dev/null
}

net_setup() {
	NS="lbe2e-${TEST_NAME:-x}-$_e2e_uid"
	NS=${NS:0:40}
	ip netns add "$NS" || die "ip netns add $NS"
	cleanup_fn "_ns_destroy $NS"
	in_ns ip link set lo up
	in_ns ip link add "$BR" type bridge stp_state 0 forward_delay 0 ||
		die "bridge in $NS"
	in_ns ip addr add "$E2E_SERVER_IP/24" dev "$BR"
	in_ns ip link set "$BR" up
}

net_add_tap() {
	local tap=$1
	in_ns ip tuntap add dev "$tap" mode tap || die "tap $tap"
	in_ns ip link set "$tap" master "$BR"
	in_ns ip link set "$tap" up
}

# Another host on the same segment: netns $PEER_NS, veth into the bridge.
net_add_peer_ns() {
	local addr=$1
	PEER_NS="lbe2e-peer-$_e2e_uid"
	ip netns add "$PEER_NS" || die "ip netns add $PEER_NS"
	cleanup_fn "_ns_destroy $PEER_NS"
	ip netns exec "$PEER_NS" ip link set lo up
	in_ns ip link add vpeer0 type veth peer name eth0 netns "$PEER_NS" ||
		die "veth into $PEER_NS"
	in_ns ip link set vpeer0 master "$BR"
	in_ns ip link set vpeer0 up
	ip netns exec "$PEER_NS" ip addr add "$addr/24" dev eth0
	ip netns exec "$PEER_NS" ip link set eth0 up
}

# Strip ANSI escapes and CRs: OVMF and iPXE paint the console.
strip_ansi() {
	sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' \
		-e 's/\x1b[=>c78]//g' -e 's/\r//g' "$1" 2>/dev/null | tr -d '\000'
}

# _qemu_start NAME TAP ARGS...: common part of the launchers.
_qemu_start() {
	local name=$1 tap=$2; shift 2
	QEMU_RAW=$TMP/$name.serial.raw
	QEMU_LOG=$TMP/$name.serial.log
	: >"$QEMU_RAW"
	QEMU_T0=$(date +%s%3N)
	ip netns exec "$NS" "$QEMU" -accel tcg -m "$QEMU_MEM" \
		-display none -vga none -monitor none \
		-serial "file:$QEMU_RAW" -no-reboot \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		"$@" >"$TMP/$name.qemu.out" 2>&1 &
	QEMU_PID=$!
	cleanup_fn "qemu_stop $QEMU_PID"
}

# SeaBIOS + the e1000's iPXE ROM (ipxe-qemu pxe-e1000.rom), -boot n.
# etc/sercon-port makes SeaBIOS (and so iPXE's BIOS console) print on the
# serial port too: without it the log shows only the kernel.
qemu_start_bios() {
	local name=$1 mac=$2 tap=$3; shift 3
	printf '\xf8\x03' >"$TMP/sercon-port.bin"	# 0x3f8, COM1
	_qemu_start "$name" "$tap" -boot n \
		-fw_cfg "name=etc/sercon-port,file=$TMP/sercon-port.bin" \
		-device "e1000,netdev=n0,mac=$mac" "$@"
}

# OVMF + the e1000's iPXE EFI ROM (efi-e1000.rom): iPXE does the DHCP.
qemu_start_uefi_e1000() {
	local name=$1 mac=$2 tap=$3 rom; shift 3
	rom=$IPXE_DIR/qemu/efi-e1000.rom
	[ -f "$rom" ] || rom=/usr/share/qemu/efi-e1000.rom
	_qemu_start "$name" "$tap" -bios "$OVMF_FD" \
		-device "e1000,netdev=n0,mac=$mac,romfile=$rom,bootindex=0" "$@"
}

# OVMF's own virtio-net driver and PXE (no NIC ROM): DHCP -> TFTP
# snponly.efi -> iPXE -> HTTP script.
qemu_start_uefi_virtio() {
	local name=$1 mac=$2 tap=$3; shift 3
	_qemu_start "$name" "$tap" -bios "$OVMF_FD" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=0" "$@"
}

qemu_running() { [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; }

# qemu_wait PATTERN SECONDS: bounded by time and by QEMU's exit.
qemu_wait() {
	local pattern=$1 secs=$2 i alive
	QEMU_MS=""
	for ((i = 0; i < secs * 5; i++)); do
		alive=0
		qemu_running && alive=1
		strip_ansi "$QEMU_RAW" >"$QEMU_LOG"
		if grep -qE -- "$pattern" "$QEMU_LOG"; then
			QEMU_MS=$(( $(date +%s%3N) - QEMU_T0 ))
			return 0
		fi
		[ "$alive" -eq 1 ] || return 1
		sleep 0.2
	done
	return 1
}

# qemu_stop [PID]: TERM, then KILL after ~3 s.
qemu_stop() {
	local pid=${1:-$QEMU_PID} i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 15; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Show what the PC printed (on failure).
qemu_dump() {
	strip_ansi "$QEMU_RAW" >"$QEMU_LOG"
	echo "--- serial log ($1, last ${2:-40} lines):" >&2
	grep -v '^[[:space:]]*$' "$QEMU_LOG" | tail -n "${2:-40}" >&2
	[ -s "$TMP/$1.qemu.out" ] && { echo "--- qemu:" >&2; tail -n 10 "$TMP/$1.qemu.out" >&2; }
	return 0
}

# qemu_expect NAME PATTERN SECONDS [HINT]: PATTERN on the serial console
# in time, or the log's tail and die.
qemu_expect() {
	local name=$1 pattern=$2 secs=$3 hint=${4:+ ($4)}
	qemu_wait "$pattern" "$secs" && return 0
	qemu_dump "$name" 60
	die "$name: no /$pattern/ on the serial console within ${secs}s$hint"
}

# The Debian kernel (cached by scripts/fetch-kernel.sh): sets KROOT, KVER,
# KERNEL. Skips when it cannot be had.
e2e_kernel() {
	KROOT=$("$TOP/scripts/fetch-kernel.sh" 2>"$TMP/fetch-kernel.log") ||
		skip "no Debian kernel (scripts/fetch-kernel.sh failed: $(tail -n 1 "$TMP/fetch-kernel.log"))"
	KERNEL=$(ls "$KROOT"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -f "$KERNEL" ] || skip "no vmlinuz in $KROOT/boot"
	KVER=${KERNEL##*/vmlinuz-}
}

# A MAC unique to this run (locally administered).
e2e_mac() { printf '52:54:00:%02x:%02x:%02x\n' $((RANDOM % 256)) $((RANDOM % 256)) "${1:-1}"; }

# lbc COMMAND ARGS...: the CLI against $LB_STATE (command first: main.c
# takes argv[1] as the command).
lbc() { local cmd=$1; shift; "$LINKBOOT" "$cmd" --state "$LB_STATE" "$@"; }

# Skip unless the CLI has the commands the e2e tests link clients with.
e2e_requires_cli() {
	[ -x "$LINKBOOT" ] || skip "no $LINKBOOT (make)"
	local c
	for c in "$@"; do
		"$LINKBOOT" "$c" --help >/dev/null 2>&1 ||
			skip "linkboot has no '$c' command in this build yet"
	done
}

# e2e_start_server ARGS...: `linkboot serve` in $NS on 198.18.0.1 with the
# standard ports; sets LB_PID, LB_LOG. Extra ARGS e.g. --dhcp full.
e2e_start_server() {
	LB_LOG=$TMP/linkboot.log
	mkdir -p "$LB_STATE"
	# ip netns exec directly (not the in_ns function, which would fork a
	# subshell): LB_PID must be the server itself, for kill and restart
	ip netns exec "$NS" "$LINKBOOT" serve --state "$LB_STATE" --listen "$E2E_SERVER_IP" \
		--interface "$BR" --tftp-port 69 --http-port 80 --nbd-port 10809 \
		--ipxe-dir "$IPXE_DIR" -v "$@" >"$LB_LOG" 2>&1 &
	LB_PID=$!
	cleanup_fn "kill $LB_PID; wait $LB_PID"
	wait_for 10 grep -q 'serving at' "$LB_LOG" || {
		tail -n 20 "$LB_LOG" >&2
		die "linkboot serve did not start in $NS"
	}
}

# e2e_requires_ports udp:67 udp:69 tcp:80 ...: skip when the server in $NS
# does not listen there (that service is not in this build yet).
e2e_requires_ports() {
	local p proto port
	for p in "$@"; do
		proto=${p%%:*} port=${p#*:}
		in_ns ss -Hln "--$proto" "sport = :$port" | grep -q . ||
			skip "linkboot serve has no $proto port $port in this build yet"
	done
}

# e2e_disk FILE: a small GPT + ext4 disk (nothing bootable in it; the
# boot-services tests give --kernel/--initrd).
e2e_disk() {
	truncate -s 8M "$1"
	printf 'label: gpt\nstart=2048, size=12288, type=L\n' | sfdisk -q "$1" ||
		die "sfdisk"
	mkdir -p "$TMP/e2e-root/etc"
	echo e2e >"$TMP/e2e-root/etc/hostname"
	mkfs.ext4 -q -F -E offset=1048576 -d "$TMP/e2e-root" -L E2EROOT "$1" 6M ||
		die "mkfs.ext4"
}

# e2e_marker_image MARKER: image "e2e" = Debian kernel + the marker
# initramfs (scripts/mktest-initrd.sh), serial console on ttyS0.
e2e_marker_image() {
	local marker=$1
	lbc image list 2>/dev/null | grep -q '^e2e ' && return 0
	"$TOP/scripts/mktest-initrd.sh" "$TMP/test-initrd.gz" "$marker" ||
		die "mktest-initrd"
	e2e_disk "$TMP/e2e-disk.img"
	lbc image add e2e "$TMP/e2e-disk.img" --kernel "$KERNEL" \
		--initrd "$TMP/test-initrd.gz" >"$TMP/image-add.log" 2>&1 ||
		{ cat "$TMP/image-add.log" >&2; die "image add"; }
	lbc image set e2e --cmdline "console=ttyS0" >/dev/null ||
		die "image set --cmdline"
}

# e2e_boot_marker NAME SECONDS: wait for MARKER (pxe_setup), report the
# time, stop QEMU.
e2e_boot_marker() {
	local name=$1 secs=$2
	qemu_expect "$name" "$MARKER" "$secs"
	echo "$name: QEMU start -> marker $((QEMU_MS / 1000)).$(( (QEMU_MS % 1000) / 100 )) s"
	qemu_stop
}

pxe_requires() {
	qemu_requires
	e2e_requires_cli image client
	e2e_kernel
	requires sfdisk --version
	requires mkfs.ext4 -V
}

pxe_network() {
	local i
	net_setup
	for ((i = 0; i < $1; i++)); do
		net_add_tap "tap$i"
	done
}

pxe_serve() {
	case $1 in
	full) e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199 ;;
	*) e2e_start_server --dhcp "$1" ;;
	esac
	e2e_requires_ports udp:67 udp:69 tcp:80 tcp:10809
}

pxe_marker_image() {
	local mac
	LB_STATE=$TMP/state
	MARKER=LINKBOOT-E2E-$1-$RANDOM
	e2e_marker_image "$MARKER"
	for mac in "${@:2}"; do
		lbc client add "$mac" --image e2e >"$TMP/client-add.log" 2>&1 ||
			{ cat "$TMP/client-add.log" >&2; die "client add $mac"; }
	done
}

pxe_setup() {
	pxe_marker_image "$@"
	pxe_network $(($# > 1 ? $# - 1 : 1))
	pxe_serve full
}
