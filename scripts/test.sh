#!/usr/bin/env bash
# The test command (README): installs what the tests need, builds everything, runs every test (unit,
# conformance against Xen's headers and Debian's xenstore tools, simulator across processes), and prints a
# summary line. Exits non-zero on any failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/install-deps.sh" || { echo "test: installing dependencies failed" >&2; exit 1; }

find "$root" -path '*/target/surefire-reports' -o -path '*/target/failsafe-reports' | xargs rm -rf
mvn -B -ntp -Dstyle.color=never verify
build=$?

echo   # Maven leaves a colour reset at the end of its last line; the summary stands on its own line
"$root/scripts/test-summary.sh"
summary=$?
if [ $build -ne 0 ]; then
    echo "test: the Maven build failed (exit $build); see the first [ERROR] above" >&2
    exit $build
fi
exit $summary
