#!/usr/bin/env bash
# The test command (README): installs what the tests need, builds everything, runs every test (unit,
# conformance against Xen's headers and Debian's xenstore tools, the simulator across processes), then the
# real-Xen tier (Xen 4.17 + a Debian dom0 under QEMU, dom0j serving a Linux guest; integration-tests/xen), and
# prints one closing line, "tests: N passed, M failed, K skipped". Exits non-zero on any failure.
#
#   DOM0J_XEN_TIER=0   skip the real-Xen tier (it needs root, apt and about 5 minutes)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/install-deps.sh" || { echo "test: installing dependencies failed" >&2; exit 1; }

find "$root" -path '*/target/surefire-reports' -o -path '*/target/failsafe-reports' | xargs rm -rf
mvn -B -ntp -Dstyle.color=never verify
build=$?
echo   # Maven leaves a colour reset at the end of its last line
unit=$("$root/scripts/test-summary.sh")
echo "$unit (unit, conformance and simulator)"
read -r upass ufail uskip < <(sed 's/tests: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\1 \2 \3/' <<< "$unit")

tpass=0; tfail=0; tskip=0; tier=0
if [ "${DOM0J_XEN_TIER:-1}" = 1 ] && [ $build -eq 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test: the real-Xen tier needs root (it boots Xen under QEMU); skipped. DOM0J_XEN_TIER=0 hides this." >&2
        tskip=1
    else
        # One retry: a boot under software emulation on a loaded machine can miss a timeout; a check that fails
        # twice fails the run. Both attempts' output is printed.
        for attempt in 1 2; do
            echo "==== real-Xen tier, attempt $attempt"
            log=$(mktemp)
            # The whole boot took 1,190 s of a 1,200 s timeout in a clean-clone run on 2026-12-06 (with the
            # alternating guest, and a second tier beside it): leave room.
            TIMEOUT="${TIMEOUT:-1800}" integration-tests/xen/run-tier.sh 2>&1 | tee "$log"
            tier=${PIPESTATUS[0]}
            out=$(tail -1 "$log")
            rm -f "$log"
            if [[ "$out" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
                tpass=${BASH_REMATCH[1]}; tfail=${BASH_REMATCH[2]}; tskip=${BASH_REMATCH[3]}
            else
                tpass=0; tfail=1; tskip=0
            fi
            [ "$tfail" = 0 ] && [ "$tier" = 0 ] && break
            echo "test: real-Xen tier attempt $attempt failed ($out)" >&2
        done
    fi
fi

pass=$((upass + tpass)); fail=$((ufail + tfail)); skip=$((uskip + tskip))
[ $build -ne 0 ] && echo "test: the Maven build failed (exit $build); see the first [ERROR] above" >&2
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $build -eq 0 ] && [ "$fail" -eq 0 ] && [ "$upass" -gt 0 ]
