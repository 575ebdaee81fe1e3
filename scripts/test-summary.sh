#!/usr/bin/env bash
# Adds up every Surefire and Failsafe report under the repository and prints one closing line:
#   tests: N passed, M failed, K skipped
# Exits 1 when any test failed or errored, or when no test ran at all. scripts/test.sh adds the real-Xen tier.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tests=0; failures=0; errors=0; skipped=0
while IFS= read -r f; do
    line=$(grep -m1 -o '<testsuite [^>]*>' "$f" || true)
    [ -n "$line" ] || continue
    get() { echo "$line" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
    tests=$((tests + $(get tests)))
    failures=$((failures + $(get failures)))
    errors=$((errors + $(get errors)))
    skipped=$((skipped + $(get skipped)))
done < <(find "$root" -path '*/target/surefire-reports/TEST-*.xml' -o -path '*/target/failsafe-reports/TEST-*.xml' \
    2>/dev/null)
failed=$((failures + errors))
passed=$((tests - failed - skipped))
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$tests" -gt 0 ]
