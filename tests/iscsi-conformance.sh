#!/bin/bash
# iSCSI conformance: libiscsi's iscsi-test-cu against `linkboot serve` and,
# in the same run, against Debian's tgtd serving a copy of the same image,
# for the SCSI block families and the iSCSI families (-d: data-modifying
# tests too, through a writable target: a `--write server` client's disk,
# iqn.2026-12.org.linkboot:pc.<mac>, logged in to with CHAP and an admin
# token, `client token --iscsi`). Prints pass/fail/skip counts
# for both and fails when a test fails on linkboot that passes on tgtd.
. "$(dirname "$0")/lib.sh"
requires "$LINKBOOT" image --help
requires iscsi-test-cu --list
requires tgtd --version
requires tgtadm --help
requires jq --version
requires python3 --version

FAMILIES="SCSI.Inquiry SCSI.ReadCapacity10 SCSI.ReadCapacity16 SCSI.Read10
SCSI.Read16 SCSI.Write10 SCSI.Write16 SCSI.WriteSame16 SCSI.Unmap
SCSI.TestUnitReady SCSI.ReportLuns SCSI.ModeSense6 iSCSI"
# only the families this libiscsi has (SCSI.ReportLuns is missing in some)
iscsi-test-cu --list >"$TMP/list" 2>&1 || die "iscsi-test-cu --list"
TESTS=
for f in $FAMILIES; do
	grep -qx "$f" "$TMP/list" && TESTS="$TESTS${TESTS:+,}$f"
done
[ -n "$TESTS" ] || die "no test family found in iscsi-test-cu --list"

IMG=$TMP/disk.img
head -c $((256 << 20)) /dev/urandom >"$IMG"
echo "kernel" >"$TMP/vmlinuz"
echo "initrd" >"$TMP/initrd"
start_linkboot
lb image add disk "$IMG" --kernel "$TMP/vmlinuz" --initrd "$TMP/initrd" \
	>"$TMP/add.log" 2>&1 || { cat "$TMP/add.log"; die "image add"; }
lb client add 52:54:00:00:03:01 --image disk --write server >/dev/null ||
	die "client add"
lb client token 52:54:00:00:03:01 --iscsi >"$TMP/login" 2>/dev/null ||
	die "client token --iscsi"
TOKEN=$(sed -n 's/^chap_user=//p' "$TMP/login")
SECRET=$(sed -n 's/^chap_secret=//p' "$TMP/login")
TARGET=$(sed -n 's/^iscsi_target=//p' "$TMP/login")
[ ${#TOKEN} -ge 16 ] && [ ${#SECRET} -eq 16 ] || die "no iSCSI login: $(cat "$TMP/login")"
assert_eq "$TARGET" iqn.2026-12.org.linkboot:pc.525400000301 "the PC's target"

# tgtd on its own portal and control port, a copy of the image (it writes)
TGT_PORT=$(free_port)
TGT_CTL=$((20000 + RANDOM % 10000))
cp "$IMG" "$TMP/tgt.img"
tgtd -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$TGT_PORT" >"$TMP/tgtd.log" 2>&1 &
TGT_PID=$!
# tgtd ignores SIGTERM: stop it through its control port, then for sure
cleanup_fn "tgtadm -C $TGT_CTL --mode system --op delete --force; sleep 0.5; kill -9 $TGT_PID; wait $TGT_PID"
tgt() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }
wait_for 10 tgt --mode target --op show || die "tgtd did not start"
TGT_IQN=iqn.2026-12.org.linkboot.test:tgt
tgt --mode target --op new --tid 1 -T "$TGT_IQN" || die "tgtadm target"
tgt --mode logicalunit --op new --tid 1 --lun 1 -b "$TMP/tgt.img" ||
	die "tgtadm lun"
tgt --mode target --op bind --tid 1 -I ALL || die "tgtadm bind"

# run_cu NAME URL: the families against one target, CUnit log kept
run_cu() {
	timeout -k 5 600 iscsi-test-cu -d -t "$TESTS" "$2" >"$TMP/$1.log" 2>&1
	echo "iscsi-test-cu $1: exit $?" >>"$TMP/$1.log"
}
run_cu linkboot "iscsi://$TOKEN%$SECRET@127.0.0.1:$LB_ISCSI_PORT/$TARGET/0"
run_cu tgtd "iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1"
assert_alive "after iscsi-test-cu"

# results per test from CUnit's basic output: "Test: NAME ..." then,
# maybe after libiscsi's own lines, "passed" or "FAILED"; a test with a
# "[SKIPPED]" notice before its result counts as skipped
python3 - "$TMP/linkboot.log" "$TMP/tgtd.log" >"$TMP/compare" <<'PY'
import re, sys
def results(path):
    res, suite, cur, skipped = {}, None, None, False
    for line in open(path, errors="replace"):
        m = re.match(r"\s*Suite: (\S+)", line)
        if m:
            suite, cur = m.group(1), None
            continue
        m = re.search(r"Test: (\S+) \.\.\.(.*)", line)
        if m:
            cur, skipped, line = "%s.%s" % (suite, m.group(1)), False, m.group(2)
        if cur is None:
            continue
        m = re.match(r"\s*(passed|FAILED)", line)
        # a notice after the result is the next test's setup talking
        if "[SKIPPED]" in (line[:m.start(1)] if m else line):
            skipped = True
        if m:
            res[cur] = "FAILED" if m.group(1) == "FAILED" else (
                "skipped" if skipped else "passed")
            cur = None
    return res
lb, tg = results(sys.argv[1]), results(sys.argv[2])
for who, r in (("linkboot", lb), ("tgtd", tg)):
    n = lambda k: sum(v == k for v in r.values())
    print("%s: %d passed, %d failed, %d skipped" % (who, n("passed"), n("FAILED"), n("skipped")))
for t in sorted(set(lb) | set(tg)):
    if lb.get(t) == "FAILED" or tg.get(t) == "FAILED":
        print("  %-45s linkboot %-8s tgtd %s" % (t, lb.get(t, "-"), tg.get(t, "-")))
bad = [t for t in sorted(lb) if lb[t] == "FAILED" and tg.get(t) in ("passed", "skipped")]
for t in bad:
    print("REGRESSION %s fails on linkboot, not on tgtd" % t)
sys.exit(1 if bad or len(lb) < 10 else 0)
PY
rc=$?
cat "$TMP/compare"
for who in linkboot tgtd; do
	grep -E "^ +tests " "$TMP/$who.log" | sed "s/^ */$who: CUnit /"
done
[ $rc -eq 0 ] || { tail -n 60 "$TMP/linkboot.log" >&2; die "a test fails on linkboot that passes on tgtd"; }
grep -q "Run Summary" "$TMP/linkboot.log" || die "iscsi-test-cu did not finish against linkboot"
assert_contains "$LB_LOG" "iscsi 127.0.0.1:[0-9]+: login .* -> target iqn.2026-12.org.linkboot:pc.525400000301 image [0-9a-f]+ v1, 268435456 bytes, server overlay, CHAP" \
	"one login log line, the token not shown"
grep -qF -e "$TOKEN" -e "$SECRET" "$LB_LOG" && die "a secret is in the log"
assert_alive "at the end"
