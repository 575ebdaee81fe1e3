#!/bin/bash
# integration-tests/xen/run-tier.sh - the real-Xen test tier, one command for CI and for people:
# setup (idempotent), boot Xen 4.17 + a Debian PV dom0 under QEMU TCG, run dom0-tier.sh's checks in dom0,
# print every TEST line and the summary "N passed, M failed, K skipped" as the last line.
# It builds nothing but the initramfs images: build the jar first,
#   mvn -B -q -pl toolstack-cli -am package -DskipTests
# Exit status: 0 when every check passed (SKIP is not a failure), 1 otherwise. On failure it prints the
# tail of the serial log and of the dom0j log. Logs: $DOM0J_XEN_DIR/results/ (default /tmp/dom0j-xen).
# Env: everything boot.sh and setup.sh take (DOM0J_XEN_DIR, TIMEOUT, SKIP_APT, DOM0J_JAVA_OPTS, ...), and
#      DOM0J_TIER_SCRIPT (another dom0 script, absolute path).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export DOM0J_XEN_DIR=${DOM0J_XEN_DIR:-/tmp/dom0j-xen}
export DOM0J_REPO=${DOM0J_REPO:-$REPO}
W=$DOM0J_XEN_DIR
R=$W/results
JAR=$DOM0J_REPO/toolstack-cli/target/dom0j.jar
t0=${EPOCHREALTIME/./}
secs() { local us=$(( ${EPOCHREALTIME/./} - $1 )); echo "$((us / 1000000)).$((us % 1000000 / 100000))"; }
summary() {
    local p=$1 f=$2 s=$3
    echo "run-tier: load average $(cut -d' ' -f1-3 /proc/loadavg); whole tier $(secs "$t0")s"
    echo "$p passed, $f failed, $s skipped"
}
mkdir -p "$W"
# one tier at a time per work directory
exec 9> "$W/.tier.lock"
flock -w 900 9 || { echo "TEST: tier-lock FAIL another run-tier.sh holds $W/.tier.lock"; summary 0 1 0; exit 1; }

echo "run-tier: repo $DOM0J_REPO, work dir $W, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
if [ ! -f "$JAR" ]; then
    echo "TEST: tier-jar FAIL $JAR is missing: run 'mvn -B -q -pl toolstack-cli -am package -DskipTests' first"
    summary 0 1 0
    exit 1
fi

ts=${EPOCHREALTIME/./}
if ! "$HERE/setup.sh" > "$W/setup.log" 2>&1; then
    tail -20 "$W/setup.log"
    echo "TEST: tier-setup FAIL setup.sh failed after $(secs "$ts")s (log above, $W/setup.log)"
    summary 0 1 0
    exit 1
fi
echo "run-tier: $(tail -1 "$W/setup.log" | sed 's/^setup: //')"
setup_line="TEST: tier-setup PASS $(secs "$ts")s"

tb=${EPOCHREALTIME/./}
# DOM0J_TIER_SCRIPT: another dom0 script (absolute path), for working on the harness itself
"$HERE/boot.sh" host ${DOM0J_TIER_SCRIPT:+"$DOM0J_TIER_SCRIPT"}
boot_rc=$?
boot_secs=$(secs "$tb")

# The dom0 script appends every TEST line to results/tests.log (9p share): count from there, since a Xen
# message can cut a line of the serial log. Fall back to the serial log when the share did not work.
if [ -s "$R/tests.log" ]; then
    tests=$(cat "$R/tests.log")
else
    tests=$(grep -a -o 'TEST: [^ ]* [A-Z]*.*' "$R/serial.log" 2>/dev/null)
fi
tests=$(printf '%s\n%s\n' "$setup_line" "$tests")
if [ "$boot_rc" -gt 1 ]; then
    # 0: all passed, 1: a check failed (counted below); anything else is the harness's own error
    tests=$(printf '%s\n%s\n' "$tests" "TEST: tier-boot FAIL boot.sh rc=$boot_rc after ${boot_secs}s")
elif grep -a -q 'DOM0J-TIER: DONE' "$R/serial.log" 2>/dev/null; then
    tests=$(printf '%s\n%s\n' "$tests" "TEST: tier-boot PASS dom0 script finished, boot.sh rc=$boot_rc, ${boot_secs}s")
else
    tests=$(printf '%s\n%s\n' "$tests" "TEST: tier-boot FAIL no DONE marker after ${boot_secs}s (boot.sh rc=$boot_rc; TIMEOUT=${TIMEOUT:-1800})")
fi
# the dom0 script's own count must agree with what arrived
res=$(grep -a -o 'DOM0J-TIER: RESULT passed=[0-9]* failed=[0-9]* skipped=[0-9]*' "$R/serial.log" 2>/dev/null | tail -1)
pass=$(grep -c '^TEST: [^ ]* PASS' <<< "$tests")
fail=$(grep -c '^TEST: [^ ]* FAIL' <<< "$tests")
skip=$(grep -c '^TEST: [^ ]* SKIP' <<< "$tests")
done_rc=$(grep -a -o 'DOM0J-TIER: DONE rc=[0-9]*' "$R/serial.log" 2>/dev/null | tail -1 | sed 's/.*rc=//')
if [ -z "$res" ] && [ -n "$done_rc" ]; then
    # the dom0 script died before its end (a bash error, set -u): the checks it never reached count as a failure
    tests=$(printf '%s\n%s\n' "$tests" "TEST: tier-result FAIL the dom0 script ended (rc=$done_rc) without its RESULT line")
    fail=$((fail + 1))
fi
if [ -n "$res" ]; then
    dfail=$(sed 's/.*failed=\([0-9]*\).*/\1/' <<< "$res")
    dpass=$(sed 's/.*passed=\([0-9]*\).*/\1/' <<< "$res")
    if [ "$((dpass + 2))" != "$pass" ] || [ "$dfail" != "$fail" ]; then
        tests=$(printf '%s\n%s\n' "$tests" "TEST: tier-count FAIL dom0 counted $res, the log has $pass passed (incl. 2 tier checks) $fail failed")
        fail=$((fail + 1))
    fi
fi
echo "==== real-Xen tier results"
grep '^TEST: ' <<< "$tests"
grep -a -h '^\[ *[0-9.]*\] INFO: \(timing\|dom0j/kernel\|net ratio\)' "$R/serial.log" 2>/dev/null | sed 's/^\[ *[0-9.]*\] /run-tier: /'
echo "run-tier: setup $(sed -n 's/^setup: done in \([0-9.]*s\).*/\1/p' "$W/setup.log"), boot+checks ${boot_secs}s, logs in $R"
if [ "$fail" -gt 0 ]; then
    echo "==== tail of the serial log ($R/serial.log)"
    tail -40 "$R/serial.log" 2>/dev/null
    echo "==== tail of the dom0j log ($R/dom0j.log)"
    if [ -s "$R/dom0j.log" ]; then
        tail -40 "$R/dom0j.log"
    else
        grep -a 'DOM0J-LOG: ' "$R/serial.log" 2>/dev/null | tail -40
    fi
fi
summary "$pass" "$fail" "$skip"
[ "$fail" = 0 ]
