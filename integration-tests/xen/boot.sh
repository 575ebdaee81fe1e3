#!/bin/bash
# integration-tests/xen/boot.sh - boot Xen 4.17 + a PV dom0 under QEMU (TCG), run the dom0 script, exit.
# Usage: boot.sh [host|probe] [dom0-script (abs path; default dom0-tier.sh beside this file)]
#   host : dom0 chroots into this machine's / (9p, read-only, tmpfs overlay) and runs the script
#   probe: dom0 only loads the Xen modules and lists /dev/xen (about 15 s)
# Needs setup.sh's artefacts in $DOM0J_XEN_DIR. The serial console is logged, each line prefixed with host
# seconds since QEMU started, to $DOM0J_XEN_DIR/results/serial.log; TEST/INFO lines are echoed live.
# Exit status: 0 only when the DONE marker appeared and no TEST line says FAIL; 1 otherwise.
# Env: DOM0J_XEN_DIR (/tmp/dom0j-xen) DOM0J_REPO (this checkout) TIMEOUT (s, 1800) ACCEL (tcg,thread=single)
#      CPU (qemu64) SMP (2) MEM (MiB, 3072) DOM0MEM (MiB, 1536) DOM0J_SEED DOM0J_JAVA_OPTS DOM0J_CLI_JAVA_OPTS DOM0J_SERVE_READY
#      DOM0J_TIER_KILLS (kills of serve in the disk workload, 2) DOM0J_TIER_FULL=1 (also the kernel blkback's xl destroy path) DOM0J_TIER_ONLY (words cli blk net: only
#      those parts of dom0-tier.sh) DOM0J_TIER_ROUNDS (timed rounds of the disk workload per compared guest, 5)
#      DOM0J_TIER_WARMUP=1 (a warm-up guest before dom0j's measured one) DOM0J_TIER_PROFILE=1 (perf on serve) DOM0J_TIER_LONG=1 (the longer
#      disk workload through both backends) DOM0J_NET_MIB (MiB each way in the network workload, 16) DOM0J_NET_DEADLINE
#      XEN_EXTRA, DOM0_EXTRA (appended to the Xen / dom0 kernel command lines)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${DOM0J_XEN_DIR:-/tmp/dom0j-xen}
R=$W/results
MODE=${1:-host}
SCRIPT=${2:-$HERE/dom0-tier.sh}
TIMEOUT=${TIMEOUT:-1800}
# Multi-threaded TCG crashes freshly JIT-compiled code of JVMs in dom0 (SIGSEGV/SIGILL): keep thread=single.
ACCEL=${ACCEL:-tcg,thread=single}
CPU=${CPU:-qemu64}
SMP=${SMP:-2}
MEM=${MEM:-3072}
DOM0MEM=${DOM0MEM:-1536}
LOG=$R/serial.log

for f in xen.elf vmlinuz dom0-initrd.cpio.gz domU-initrd.cpio.gz; do
    [ -s "$W/$f" ] || { echo "boot.sh: $W/$f missing: run setup.sh first"; exit 1; }
done
command -v qemu-system-x86_64 > /dev/null || { echo "boot.sh: qemu-system-x86_64 missing: run setup.sh first"; exit 1; }

# The results directory is shared read-write with dom0 (second 9p device): dom0 writes its logs there, and
# reads the environment of its script from tier.env (no quoting through the kernel command line).
rm -rf "$R"
mkdir -p "$R"
{
    printf 'DOM0J_REPO=%q\n' "${DOM0J_REPO:-$(cd "$HERE/../.." && pwd)}"
    printf 'DOM0J_XEN_DIR=%q\n' "$W"
    printf 'DOM0J_SEED=%q\n' "${DOM0J_SEED:-$(( $(date +%s) % 100000 ))}"
    [ -n "${DOM0J_JAVA_OPTS+set}" ] && printf 'DOM0J_JAVA_OPTS=%q\n' "$DOM0J_JAVA_OPTS"
    [ -n "${DOM0J_CLI_JAVA_OPTS+set}" ] && printf 'DOM0J_CLI_JAVA_OPTS=%q\n' "$DOM0J_CLI_JAVA_OPTS"
    [ -n "${DOM0J_SERVE_READY:-}" ] && printf 'DOM0J_SERVE_READY=%q\n' "$DOM0J_SERVE_READY"
    # the tier's knobs, when set
    for v in DOM0J_TIER_FULL DOM0J_TIER_ONLY DOM0J_TIER_KILLS DOM0J_TIER_PROFILE DOM0J_TIER_ROUNDS DOM0J_TIER_WARMUP \
        DOM0J_TIER_WARMUP_ROUNDS DOM0J_TIER_LONG DOM0J_TIER_ALT DOM0J_TIER_ALT_ROUNDS DOM0J_TIER_ALT_WARMUP \
        DOM0J_TIER_ALT_SERVE_ARGS DOM0J_TIER_ALT_JAVA_OPTS DOM0J_TIER_ALT_STRACE DOM0J_TIER_ALT_PROFILE \
        DOM0J_NET_MIB DOM0J_NET_DEADLINE; do
        [ -n "${!v:-}" ] && printf '%s=%q\n' "$v" "${!v}"
    done
    # which subcommands the jar has: asked here (about 1 s) rather than in dom0 (15-50 s under TCG)
    # (DOM0J_COMMANDS set by the caller wins: a way to exercise a hook by hand)
    jar=${DOM0J_REPO:-$(cd "$HERE/../.." && pwd)}/toolstack-cli/target/dom0j.jar
    if [ -n "${DOM0J_COMMANDS:-}" ]; then
        printf 'DOM0J_COMMANDS=%q\n' "$DOM0J_COMMANDS"
    elif [ -f "$jar" ]; then
        cmds=$(timeout 60 java -jar "$jar" --help 2>/dev/null |
            awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' | tr '\n' ' ')
        [ -n "$cmds" ] && printf 'DOM0J_COMMANDS=%q\n' "$cmds"
    fi
} > "$R/tier.env"

XEN_CMD="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all console_timestamps=boot \
dom0_mem=${DOM0MEM}M,max:${DOM0MEM}M dom0_max_vcpus=$SMP ${XEN_EXTRA:-}"
# quiet: every console byte goes through Xen's emulated UART, slow under TCG; dom0's dmesg is saved at the end
DOM0_CMD="console=hvc0 earlyprintk=xen quiet dom0j.mode=$MODE dom0j.script=$SCRIPT dom0j.results=$R ${DOM0_EXTRA:-}"
QEMU=(qemu-system-x86_64 -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM" -no-reboot
    -kernel "$W/xen.elf" -append "$XEN_CMD"
    -initrd "$W/vmlinuz $DOM0_CMD,$W/dom0-initrd.cpio.gz"
    -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
    -fsdev local,id=results,path="$R",security_model=none
    -device virtio-9p-pci,fsdev=results,mount_tag=results
    -display none -monitor none -serial stdio)

echo "boot.sh: mode=$MODE accel=$ACCEL cpu=$CPU smp=$SMP mem=$MEM dom0=$DOM0MEM timeout=${TIMEOUT}s" \
    "load=$(cut -d' ' -f1-3 /proc/loadavg) log=$LOG"
start=${EPOCHREALTIME/./}
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" < /dev/null 2>&1 | {
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line//$'\r'/}
        us=$(( ${EPOCHREALTIME/./} - start ))
        printf -v stamped '[%4d.%02d] %s' $((us / 1000000)) $((us % 1000000 / 10000)) "$line"
        printf '%s\n' "$stamped" >> "$LOG"
        case "$line" in
            *TEST:*|*INFO:*|*DOM0J-TIER:*) printf '%s\n' "$stamped";;
        esac
    done
}
rc=${PIPESTATUS[0]}
us=$(( ${EPOCHREALTIME/./} - start ))
echo "boot.sh: qemu rc=$rc (124 = timeout) wall=$((us / 1000000)).$((us % 1000000 / 100000))s" \
    "load=$(cut -d' ' -f1-3 /proc/loadavg)"
grep -a -m1 -E '\(XEN\).*Xen version' "$LOG" | sed 's/^/boot.sh: milestone xen-banner:  /'
grep -a -m1 -E 'Linux version' "$LOG" | sed 's/^/boot.sh: milestone dom0-kernel: /'
grep -a -m1 -E 'DOM0J-TIER: dom0 init started' "$LOG" | sed 's/^/boot.sh: milestone dom0-init:   /'
grep -a -m1 -E 'DOM0J-TIER: host root mounted' "$LOG" | sed 's/^/boot.sh: milestone dom0-hostfs: /'
grep -a -m1 -E 'DOM0J-TIER: DONE' "$LOG" | sed 's/^/boot.sh: milestone done:        /'
if ! grep -a -q 'DOM0J-TIER: DONE' "$LOG"; then
    echo "boot.sh: no 'DOM0J-TIER: DONE' marker (qemu rc=$rc)"
    exit 1
fi
if grep -a -q -E 'TEST: [^ ]+ FAIL|DOM0J-TIER: FAIL' "$LOG"; then
    exit 1
fi
exit 0
