#!/bin/bash
# Run the integration and e2e tests: tests/*.sh then tests/e2e/*.sh.
# Each test exits 0 (pass), 77 (skipped: a requirement is missing) or
# anything else (fail). A skip fails the run too: `make deps` installs
# everything every test needs, so a missing tool is a broken setup, not
# a reason to pass. LINKBOOT_ALLOW_SKIP=1 lets skips through (a machine
# you know lacks something). Usage: tests/run.sh [TEST.sh ...]
set -u
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=(tests/*.sh tests/e2e/*.sh)
fi

pass=0 fail=0 skipped=0 failed=()
for t in "${tests[@]}"; do
	case "$(basename "$t")" in lib*.sh|*-lib.sh|run.sh) continue ;; esac
	[ -f "$t" ] || continue
	start=$(date +%s)
	# every test is bounded: 15 min even for e2e boots
	timeout -k 10 900 bash "$t" >"/tmp/lbtest-$(basename "$t").log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS: $t (${secs}s)" ;;
	77) skipped=$((skipped + 1)); echo "SKIP: $t: $(tail -n 1 "/tmp/lbtest-$(basename "$t").log")" ;;
	*) fail=$((fail + 1)); failed+=("$t"); echo "FAIL: $t (rc $rc, ${secs}s)"
	   sed 's/^/    /' "/tmp/lbtest-$(basename "$t").log" | tail -n 60 ;;
	esac
done
echo "tests: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] || exit 1
if [ "$skipped" -gt 0 ] && [ "${LINKBOOT_ALLOW_SKIP:-0}" != 1 ]; then
	echo "tests: $skipped skipped: a skip is a failure here (run \`make deps\`," \
		"or LINKBOOT_ALLOW_SKIP=1 to let skips pass)"
	exit 1
fi
