#!/bin/bash
# e2e: canary releases with real PCs. Three QEMU PCs (TCG, Debian kernel,
# the agent as /init) are linked to one image; two of them boot at once,
# side by side on the server's bridge. The image's init says which version
# it runs (/etc/lbver) and, when the version is good, makes the image's
# ready marker (/run/linkboot-ready): the agent's health report says
# "running", else "starting".
#   v2 (good) released to 2 canaries: they boot v2 while the third PC's
#     boot script stays on v1; both report healthy -> v2 is production;
#   v3 (its init never gets ready) released to the same 2: they boot v3,
#     report "starting" -> rolled back after --boot-within: production
#     stays v2, the canaries' pins are restored and the running ones are
#     rebooted through the control channel (the image's init gets SIGTERM);
#     the third PC's boot script never named v3.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-agent.sh"

agent_requires
requires python3 --version
requires sqlite3 --version

# shellcheck disable=SC2016 # expanded by the guest's shell
AGENT_INIT='trap "echo LBE2E: init got SIGTERM; \$B poweroff -f" TERM
v=$($B cat /etc/lbver)
echo "LBE2E: booted $v"
case $v in *GOOD*) $B mkdir -p /run && $B touch /run/linkboot-ready ;; esac
echo "LBE2E: READY"
i=0
while [ $i -lt 400 ]; do $B sleep 1; i=$((i + 1)); done
$B poweroff -f'

IMG=$TMP/disk.img
mkdir -p "$TMP/rootfs/etc"
echo "LBVER=v1 GOOD" >"$TMP/rootfs/etc/lbver"
agent_demo_image "$IMG"
agent_minimal_initramfs
LB_STATE=$TMP/state
lb image add demo "$IMG" --kernel "$VMLINUZ" --initrd "$INITRD" \
	>"$TMP/add.log" 2>&1 || die "image add: $(cat "$TMP/add.log")"
ID=$(sqlite3 "$LB_STATE/linkboot.db" "SELECT id FROM images")

# new_version TEXT PARENT: the image with /etc/lbver's bytes (same length)
# replaced, as a super client's overlay of one block, committed
new_version() {
	mkdir -p "$LB_STATE/overlays"
	python3 - "$IMG" "$LB_STATE/overlays/super-$ID.ovl" "$1" "$2" <<'PY' || die "overlay"
import struct, sys
img, ovl, text, parent = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
data = open(img, "rb").read()
old = b"LBVER=v1 GOOD\n"
at = data.find(old)
assert at >= 0 and len(text) == len(old) - 1
bs, size = 65536, len(data)
blk = at // bs
block = bytearray(data[blk * bs:(blk + 1) * bs])
block[at - blk * bs:at - blk * bs + len(text)] = text
nblocks = (size + bs - 1) // bs
data_off = (4096 + (nblocks + 7) // 8 + bs - 1) // bs * bs
with open(ovl, "wb") as f:
    f.write((b"LBDELTA1" + struct.pack("<IIQQQI", 1, bs, size, 4096, data_off, parent)).ljust(4096, b"\0"))
    bm = bytearray((nblocks + 7) // 8)
    bm[blk // 8] |= 1 << (blk % 8)
    f.write(bm)
    f.seek(data_off + blk * bs)
    f.write(block)
    f.truncate(data_off + nblocks * bs)
PY
	lb image commit demo >"$TMP/commit" 2>&1 || { cat "$TMP/commit"; die "commit $1"; }
}
new_version "LBVER=v2 GOOD" 1
new_version "LBVER=v3 BAD!" 2
# the kernel given at `image add` (the disk has no /boot) stays with them
assert_eq "$(sqlite3 "$LB_STATE/linkboot.db" "SELECT count(*) FROM versions
 WHERE kernel != '' AND initrd != ''")" 3 "v2 and v3 keep the kernel given to v1"
lb image set demo --production 1 >/dev/null || die "production 1"

MACS=(52:54:00:4c:43:01 52:54:00:4c:43:02 52:54:00:4c:43:03)
IPS=(198.18.0.10 198.18.0.11 198.18.0.12)
for m in "${MACS[@]}"; do
	lb client add "$m" --image demo >/dev/null || die "client add $m"
done

# the server on a bridge with a tap per PC
agent_netns_bridge lbtap0 lbtap1
AGENT_TRUSTED_NET=198.18.0.8/29 agent_linkboot_serve

# version N the PC's boot script (its block-hash table) names
script_version() {
	AGENT_IP=${IPS[$1]} agent_bootscript_args "${MACS[$1]}" |
		grep -oE 'linkboot\.hashes=boot/[0-9a-f]+/v[0-9]+' | grep -oE '[0-9]+$'
}
declare -a PC_PID
pc_start() {	# pc_start N: PC N on lbtapN, its console in $TMP/pcN-RUN.log
	local n=$1 args
	args=$(AGENT_IP=${IPS[$n]} agent_bootscript_args "${MACS[$n]}") ||
		die "PC $n: no boot script"
	PC_LOG[$n]=$TMP/pc$n-$2.log
	timeout -k 5 300 ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 384 \
		-display none -monitor none -no-reboot -serial "file:${PC_LOG[$n]}" \
		-kernel "$VMLINUZ" -initrd "$INITRD" \
		-netdev "tap,id=n0,ifname=lbtap$n,script=no,downscript=no" \
		-device "e1000,netdev=n0,mac=${MACS[$n]}" \
		-append "console=ttyS0 loglevel=4 panic=-1 $args" </dev/null >/dev/null 2>&1 &
	PC_PID[$n]=$!
	cleanup_fn "kill ${PC_PID[$n]} 2>/dev/null"
}
pc_wait() {	# pc_wait N SECS PATTERN
	wait_for "$2" grep -qaE -- "$3" "${PC_LOG[$1]}" ||
		{ tail -n 30 "${PC_LOG[$1]}"; die "PC $1: no '$3' within $2 s"; }
}
pc_stop() { kill "${PC_PID[$1]}" 2>/dev/null; wait "${PC_PID[$1]}" 2>/dev/null; }
release_state() {
	lb image releases demo -j | python3 -c "import json, sys
r = json.load(sys.stdin)[0]
print(r['state'], r['reason'] or '')"
}
release_ended() { [ "$(release_state | cut -d' ' -f1)" != running ]; }

# --- v2, good: promoted
lb image release demo 2 --canary 2 --promote-after 15 --boot-within 240 >"$TMP/r2" ||
	{ cat "$TMP/r2"; die "release 2"; }
assert_eq "$(script_version 2)" 1 "the third PC stays on v1 during the release"
T0=$(date +%s)
pc_start 0 v2
pc_start 1 v2
pc_wait 0 180 'LBE2E: READY'
pc_wait 1 180 'LBE2E: READY'
assert_contains "${PC_LOG[0]}" 'LBE2E: booted LBVER=v2 GOOD' "canary 1 booted v2"
assert_contains "${PC_LOG[1]}" 'LBE2E: booted LBVER=v2 GOOD' "canary 2 booted v2"
wait_for 150 release_ended || die "release 2 did not end: $(release_state)"
assert_eq "$(release_state)" "promoted every canary healthy for 15 s" "v2 promoted"
echo "v2: promoted $(( $(date +%s) - T0 )) s after the canaries were started"
assert_contains "$LB_LOG" "release demo v2: promoted to production" "the log says so"
assert_eq "$(script_version 2)" 2 "the third PC boots v2 now"
pc_stop 0
pc_stop 1

# --- v3, its init never ready: rolled back
lb image release demo 3 --canary 2 --promote-after 15 --boot-within 75 >"$TMP/r3" ||
	{ cat "$TMP/r3"; die "release 3"; }
T0=$(date +%s)
pc_start 0 v3
pc_start 1 v3
pc_wait 0 180 'LBE2E: READY'
pc_wait 1 180 'LBE2E: READY'
assert_contains "${PC_LOG[0]}" 'LBE2E: booted LBVER=v3 BAD!' "canary 1 booted v3"
assert_eq "$(script_version 2)" 2 "the third PC does not see v3"
wait_for 150 release_ended || die "release 3 did not end: $(release_state)"
assert_contains <(release_state) "^rolled_back 52:54:00:4c:43:0[12]: no healthy report on v3 within 75 s" "v3 rolled back, the reason names a canary"
echo "v3: rolled back $(( $(date +%s) - T0 )) s after the canaries were started"
assert_contains "$LB_LOG" "release demo v3: rolled back" "the log says so"
# the running canaries are rebooted out of v3 (acknowledged command)
pc_wait 0 60 'LBE2E: init got SIGTERM'
pc_wait 1 60 'LBE2E: init got SIGTERM'
assert_eq "$(script_version 0)$(script_version 1)$(script_version 2)" 222 "every PC boots v2 again"
assert_eq "$(sqlite3 "$LB_STATE/linkboot.db" "SELECT production_version FROM images")" 2 "production stays v2"
echo "PASS: canary releases on QEMU PCs: v2 promoted, v3 rolled back and its canaries rebooted"
