#!/bin/bash
# `make demo`: the whole chain on this machine, nothing but Debian packages.
#   1. build (make), fetch the Debian kernel (scripts/fetch-kernel.sh)
#   2. build a partitioned ext4 demo image (scripts/mkdemo-image.sh),
#      `linkboot image add` it, `linkboot client add` a PC's MAC
#   3. `linkboot serve --dhcp full` in a network namespace (198.18.0.0/24)
#   4. PXE-boot a QEMU PC (TCG, SeaBIOS, e1000 with the stock iPXE ROM,
#      an SSD with a GPT partition labelled linkboot-cache) to the image's
#      banner, twice: boot 1 fills the SSD cache, boot 2 reads from it
#   5. a timeline per boot and one summary line per boot:
#      boot N: <seconds> s, <MiB> MiB from server, ram cache hit <pct>%, ssd cache hit <pct>%
# Everything it starts is stopped at exit, also on Ctrl-C; the namespace
# is deleted. Files (image, logs) stay in $DEMO_DIR (default build/demo).
# Needs root (network namespace, tap).
#   DEMO_TIMEOUT  seconds per boot before giving up (default 300)
#   DEMO_SSD_BOOT1=0  boot 1 without the SSD (then boot 2's SSD starts cold)

TEST_NAME=demo
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/tests/e2e/lib-qemu.sh"
set -o pipefail

DEMO_DIR=${DEMO_DIR:-$TOP/build/demo}
DEMO_TIMEOUT=${DEMO_TIMEOUT:-300}
DEMO_SSD_BOOT1=${DEMO_SSD_BOOT1:-1}
MAC=52:54:00:de:30:01
HOST=demo-pc-01

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (it creates a network namespace and a tap): sudo make demo"
for c in "$QEMU" ip ss sfdisk mkfs.ext4 depmod cpio; do
	command -v "$c" >/dev/null || fail "$c missing: run 'make deps'"
done
mkdir -p "$DEMO_DIR/logs"
rm -f "$DEMO_DIR"/logs/*
# keep the logs when $TMP goes (this runs after QEMU and the server stop)
cleanup_fn "cp $TMP/*.log $TMP/*.serial.log $DEMO_DIR/logs/ 2>/dev/null"

say "build"
make -C "$TOP" -j2 all >"$DEMO_DIR/logs/make.log" 2>&1 ||
	{ tail -n 20 "$DEMO_DIR/logs/make.log"; fail "make failed"; }
"$LINKBOOT" image --help >/dev/null 2>&1 ||
	fail "this build has no 'linkboot image' command yet (image store not merged)"
"$LINKBOOT" client --help >/dev/null 2>&1 ||
	fail "this build has no 'linkboot client' command yet (link DB not merged)"

say "Debian kernel"
KROOT=$("$TOP/scripts/fetch-kernel.sh") || fail "scripts/fetch-kernel.sh failed"
KERNEL=$(ls "$KROOT"/boot/vmlinuz-* | head -n 1)
echo "$KERNEL"

say "demo image"
"$TOP/scripts/mkdemo-image.sh" "$DEMO_DIR/demo.img" "$KROOT" || fail "mkdemo-image failed"

LB_STATE=$DEMO_DIR/state
rm -rf "$LB_STATE"
mkdir -p "$LB_STATE"
AGENT=1
if "$LINKBOOT" initramfs --help >/dev/null 2>&1; then
	lbc image add demo "$DEMO_DIR/demo.img" || fail "linkboot image add failed"
else
	# No agent in this build: a stand-in initramfs shows that the PC got
	# its kernel and initrd from the link; it cannot mount the image.
	AGENT=0
	"$TOP/scripts/mktest-initrd.sh" "$DEMO_DIR/standin-initrd.gz" \
		"LINKBOOT-DEMO-STANDIN: kernel and initrd fetched" || fail "mktest-initrd"
	lbc image add demo "$DEMO_DIR/demo.img" \
		--initrd "$DEMO_DIR/standin-initrd.gz" || fail "linkboot image add failed"
fi
lbc image set demo --cmdline "console=ttyS0" >/dev/null || fail "image set"
lbc client add "$MAC" --image demo --name "$HOST" --ssd-cache auto ||
	fail "linkboot client add failed"
lbc client list

# The PC's SSD: a raw disk with a GPT partition the agent may use as cache.
SSD=$DEMO_DIR/ssd.img
rm -f "$SSD"
truncate -s 512M "$SSD"
printf 'label: gpt\nstart=2048, type=L, name=linkboot-cache\n' | sfdisk -q "$SSD" ||
	fail "sfdisk ssd"

say "server in network namespace"
net_setup
net_add_tap tap0
e2e_start_server --dhcp full --dhcp-range 198.18.0.100,198.18.0.199
for p in udp:67 udp:69 tcp:80 tcp:10809; do
	proto=${p%%:*} port=${p#*:}
	in_ns ss -Hln "--$proto" "sport = :$port" | grep -q . ||
		echo "demo: warning: linkboot serve has no $proto port $port in this build (service not merged yet)"
done
echo "netns $NS: $BR 198.18.0.1/24, server log $DEMO_DIR/logs/linkboot.log"

# Milestones: name, where (serial|server), regex.
M_NAME=(DHCP script kernel initrd "kernel start" "agent up" "root mounted" banner)
M_RE=('net0: 198\.18\.0\.[0-9]+/'
	'boot\.ipxe.*(ok|\[script\])'
	'vmlinuz[^ ]*\.\.\. ?ok'
	'initrd[^ ]*\.\.\. ?ok'
	'Linux version [0-9]'
	'linkboot-agent .*starting'
	'root: (/dev/|switch_root)'
	'linkboot demo: .* up')
if [ "$AGENT" -eq 0 ]; then
	M_NAME=(DHCP script kernel initrd "kernel start" "stand-in initrd")
	M_RE=("${M_RE[@]:0:5}" 'LINKBOOT-DEMO-STANDIN')
fi

# watch_boot SECONDS: record when each milestone first shows on the
# serial console (ms since QEMU start); 0 when the last one was seen.
declare -A SEEN
watch_boot() {
	local secs=$1 i k n=${#M_NAME[@]} now alive
	SEEN=()
	for ((i = 0; i < secs * 5; i++)); do
		alive=0
		qemu_running && alive=1
		strip_ansi "$QEMU_RAW" >"$QEMU_LOG"
		now=$(( $(date +%s%3N) - QEMU_T0 ))
		for ((k = 0; k < n; k++)); do
			[ -n "${SEEN[$k]:-}" ] && continue
			grep -qE -- "${M_RE[$k]}" "$QEMU_LOG" && SEEN[$k]=$now
		done
		[ -n "${SEEN[$((n - 1))]:-}" ] && return 0
		[ "$alive" -eq 1 ] || return 1
		sleep 0.2
	done
	return 1
}

# Server log milestones: the first line of each kind, as ms since QEMU
# start (the log's stamps are HH:MM:SS.mmm UTC); "ms<TAB>name<TAB>text".
S_NAME=("DHCP offer" "DHCP ack" "GET script" "GET kernel" "GET initrd"
	"NBD connect" "agent report")
S_RE=('dhcp .*-> offer' 'dhcp .*-> ack' 'GET "/boot\.ipxe' 'GET "[^"]*vmlinuz'
	'GET "[^"]*initrd' 'nbd .*: connected' 'POST "/report')
server_events() {
	local log=$1 t0=$2 day k line hms ms
	day=$(date -u -d "@$((t0 / 1000))" +%F)
	for ((k = 0; k < ${#S_NAME[@]}; k++)); do
		line=$(grep -a -m1 -E -- "${S_RE[$k]}" "$log") || continue
		hms=${line%% *}
		[[ $hms =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}$ ]] || continue
		ms=$(( $(date -u -d "$day ${hms%.*}" +%s) * 1000 + 10#${hms#*.} - t0 ))
		line=${line#* }
		printf '%s\t%s\t%s\n' "$ms" "${S_NAME[$k]}" "${line#linkboot: }"
	done
}

# Bytes the server sent this boot, from its (verbose) log: HTTP bodies
# (GET ... 200 SIZE) and NBD reads (NBD_CMD_READ ... length N).
server_bytes() {
	awk '/GET "[^"]*" 200 [0-9]+/ { for (i = 1; i < NF; i++) if ($i == "200") { http += $(i + 1); break } }
	     /NBD_CMD_READ/ { for (i = 1; i < NF; i++) if ($i == "length") nbd += $(i + 1) }
	     END { printf "%d %d\n", http, nbd }' "$1"
}

ms_to_s() { awk -v m="$1" 'BEGIN { printf "%.1f", m / 1000 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

json_field() {	# json_field KEY < json: first value of KEY for our MAC
	tr '{' '\n' | grep -i "\"mac\":\"$MAC\"" | head -n 1 |
		sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" | tr -d '"'
}

SUMMARY=() NOTES=()
boot() {
	local n=$1 ssd_args=() k secs ok mib ram ssd st bytes
	if [ "$n" -ge 2 ] || [ "$DEMO_SSD_BOOT1" = 1 ]; then
		# shellcheck disable=SC2054 # commas belong to QEMU's syntax
		ssd_args=(-device ahci,id=ahci0
			-drive "if=none,id=ssd0,file=$SSD,format=raw,cache=unsafe"
			-device ide-hd,drive=ssd0,bus=ahci0.0)
	fi
	say "boot $n: PXE-booting $MAC${ssd_args[*]:+ (with SSD cache disk)}"
	: >"$TMP/status.json"
	local logmark
	logmark=$(wc -l <"$LB_LOG")
	qemu_start_bios "boot$n" "$MAC" tap0 "${ssd_args[@]}"
	ok=0
	watch_boot "$DEMO_TIMEOUT" && ok=1
	local t_end=${SEEN[$((${#M_NAME[@]} - 1))]:-} http nbd
	tail -n +"$((logmark + 1))" "$LB_LOG" >"$TMP/boot$n.server.log"
	{
		for ((k = 0; k < ${#M_NAME[@]}; k++)); do
			[ -n "${SEEN[$k]:-}" ] || continue
			printf '%s\tPC: %s\t%s\n' "${SEEN[$k]}" "${M_NAME[$k]}" \
				"$(grep -m1 -oE -- "${M_RE[$k]}.{0,60}" "$QEMU_LOG" | head -n 1)"
		done
		server_events "$TMP/boot$n.server.log" "$QEMU_T0" |
			sed 's/\t/\tserver: /'
	} | sort -s -n -k1,1 | while IFS=$'\t' read -r ms what text; do
		printf '%7s s  %-21s %.90s\n' "$(ms_to_s "$ms")" "$what" "$text"
	done
	for ((k = 0; k < ${#M_NAME[@]}; k++)); do
		[ -n "${SEEN[$k]:-}" ] || printf '%9s  %-21s (not seen)\n' - "PC: ${M_NAME[$k]}"
	done
	read -r http nbd < <(server_bytes "$TMP/boot$n.server.log")
	echo "   server log: HTTP $(mib "$http") MiB (kernel, initrd, script), NBD $(mib "$nbd") MiB"
	if [ "$ok" -ne 1 ]; then
		qemu_dump "boot$n" 30
		echo "demo: boot $n did not reach '${M_NAME[-1]}' within ${DEMO_TIMEOUT}s"
		FAILED=1
	fi
	# the agent's report (linkboot status) for this boot: bounded wait
	mib="" ram=n/a ssd=n/a
	if [ "$AGENT" -eq 1 ] && [ "$ok" -eq 1 ]; then
		# counters as of after the banner: the agent reports at
		# switch_root (before the init reads anything) and every 60 s
		local want
		want=$(date -u -d "@$(( (QEMU_T0 + t_end) / 1000 ))" +%FT%T)
		echo "waiting for the agent's next report (after $want, up to 75 s)"
		for ((k = 0; k < 75; k++)); do
			lbc status --json=short >"$TMP/status.json" 2>/dev/null
			st=$(json_field report_time <"$TMP/status.json")
			[ -n "$st" ] && [ "$st" != null ] && ! [[ ${st:0:19} < $want ]] && break
			sleep 1
		done
		[ "$k" -lt 75 ] || NOTES+=("boot $n: no agent report after the banner; numbers are from its last report ($st)")
		bytes=$(json_field bytes_from_server <"$TMP/status.json")
		ram=$(json_field ram_hit_percent <"$TMP/status.json")
		ssd=$(json_field ssd_hit_percent <"$TMP/status.json")
		# kernel + initrd over HTTP (server log) + the root disk over
		# NBD as the agent counted it
		[[ $bytes =~ ^[0-9]+$ ]] && mib=$(mib "$((http + bytes))")
		[[ $ram =~ ^[0-9.]+$ ]] || ram=n/a
		[[ $ssd =~ ^[0-9.]+$ ]] || ssd=n/a
		[ "$ssd" = n/a ] && [ "${#ssd_args[@]}" -gt 0 ] &&
			NOTES+=("boot $n: the SSD was attached but the agent reported no SSD cache counters (this agent build does not read through the SSD cache)")
	fi
	if [ -z "$mib" ]; then
		mib=$(mib "$((http + nbd))")
		NOTES+=("boot $n: no agent report: MiB from server = HTTP + NBD bytes in the server log, hit rates n/a")
	fi
	qemu_stop
	secs=n/a
	[ -n "$t_end" ] && secs=$(ms_to_s "$t_end")
	[ "$ram" = n/a ] || ram=$ram%
	[ "$ssd" = n/a ] || ssd=$ssd%
	SUMMARY+=("boot $n: $secs s, $mib MiB from server, ram cache hit $ram, ssd cache hit $ssd")
	return 0
}

FAILED=0
boot 1
[ "$FAILED" -eq 0 ] && boot 2

echo
if [ "$AGENT" -eq 0 ]; then
	say "NOTE: this build has no client agent (linkboot initramfs): the demo"
	say "stopped after the PC fetched kernel and initrd (a stand-in initramfs);"
	say "no image mount, no banner, no cache numbers (n/a)."
fi
for line in "${NOTES[@]}"; do
	echo "note: $line"
done
for line in "${SUMMARY[@]}"; do
	echo "$line"
done
[ "$FAILED" -eq 0 ] || fail "a boot failed: logs in $DEMO_DIR/logs"
