#!/bin/bash
# linkboot doctor: names the process on a taken port, a missing image file
# with the repair command, and a second DHCP server handing out boot files
# (ltsp#446) on the interface's network.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-image.sh"
requires python3 --version

LB_STATE=$TMP/state
mkdir -p "$LB_STATE"
HTTP=$(free_port) TFTP=$(free_port) NBD=$(free_port) ISCSI=$(free_port)
doc() {
	"$LINKBOOT" doctor --state "$LB_STATE" --listen 127.0.0.1 --dhcp off \
		--http-port "$HTTP" --tftp-port "$TFTP" --nbd-port "$NBD" \
		--iscsi-port "$ISCSI" "$@"
}

# 1. all free, no images: warnings only, exit 0
doc --no-probe >"$TMP/d1" 2>&1 || die "doctor failed on a clean setup: $(cat "$TMP/d1")"
assert_contains "$TMP/d1" '^ok +http port [0-9]+ is free' "free port reported"
assert_contains "$TMP/d1" 'no images yet' "empty store reported"

# 2. another program on the HTTP port: named, exit 1
python3 -m http.server --bind 127.0.0.1 "$HTTP" >/dev/null 2>&1 &
PY=$!
cleanup_fn "kill $PY"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP" || die "python http.server did not start"
doc --no-probe >"$TMP/d2" 2>&1 && die "doctor passed with its HTTP port taken"
assert_contains "$TMP/d2" "FAIL +http port $HTTP is taken by python3 \\(pid $PY\\)" "port owner named"
kill $PY; wait $PY 2>/dev/null

# 3. an image whose file was moved away: FAIL with the repair command
make_image "$TMP/disk.img"
lb image add demo "$TMP/disk.img" >/dev/null 2>&1 || die "image add"
f=$(ls "$LB_STATE"/store/*.raw | head -n 1)
mkdir -p "$TMP/moved" && mv "$f" "$TMP/moved/"
doc --no-probe >"$TMP/d3" 2>&1 && die "doctor passed with an image file missing"
assert_contains "$TMP/d3" 'image demo v1: file .* is missing: .*linkboot image repair --scan DIR' "missing file + fix"

# 4. while linkboot serves, its own ports are fine
mv "$TMP/moved/"* "$LB_STATE/store/"
LB_HTTP_PORT=$HTTP LB_TFTP_PORT=$TFTP LB_NBD_PORT=$NBD start_linkboot
doc --no-probe >"$TMP/d4" 2>&1 || die "doctor failed beside a running linkboot: $(cat "$TMP/d4")"
assert_contains "$TMP/d4" "http port $HTTP is served by linkboot \\(pid $LB_PID\\)" "own port recognised"
assert_contains "$TMP/d4" 'all files present' "images ok"

# 5. a site DHCP server that also hands out a boot file, seen from a netns
if [ "$(id -u)" -eq 0 ] && command -v dnsmasq >/dev/null; then
	source "$TOP/tests/tools/dhcp-netns.sh"
	netns_lan site srv
	netns_addr site 198.18.0.2/24
	netns_addr srv 198.18.0.1/24
	in_ns site dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
		--interface=eth0 --bind-interfaces --no-ping \
		--dhcp-range=198.18.0.150,198.18.0.159,255.255.255.0,1h \
		--dhcp-boot=pxelinux.0 --dhcp-leasefile="$TMP/dnsmasq.leases" \
		--pid-file="$TMP/dnsmasq.pid" >"$TMP/dnsmasq.log" 2>&1 &
	DM=$!
	cleanup_fn "kill $DM; wait $DM"
	wait_for 10 grep -q 'DHCP, IP range' "$TMP/dnsmasq.log" || die "dnsmasq did not start"
	in_ns srv "$LINKBOOT" doctor --state "$TMP/st2" --interface eth0 \
		--dhcp proxy --listen 198.18.0.1 >"$TMP/d5" 2>&1
	assert_contains "$TMP/d5" 'warn +dhcp: 198.18.0.2 also offers a boot file' "second PXE server found"
fi
echo "doctor: ok"
