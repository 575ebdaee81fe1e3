#!/bin/bash
# Runs INSIDE the xen-lab dom0 (see ../shared/xen-lab/README.md): starts xenstored and xen-init-dom0,
# then runs `dom0j selftest --platform xen` and `dom0j list` from the jar built on the host.
# Host: mvn -B -q -pl toolstack-cli -am package -DskipTests
#       DOM0_EXTRA="XENLAB_JAR=$PWD/toolstack-cli/target/dom0j.jar" ../shared/xen-lab/boot.sh host $PWD/toolstack-cli/src/xenlab/dom0-selftest.sh
JAR=${XENLAB_JAR:-/work/wt/grants/toolstack-cli/target/dom0j.jar}
XB=/usr/lib/xen-4.17/bin
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "TEST: [$(up)] $*"; }
mkdir -p /run/xenstored /var/lib/xenstored /var/log/xen/console /run/xen
$XB/xenstored --pid-file /run/xenstored.pid; say "xenstored rc=$?"
for i in $(seq 30); do xenstore-read -s / >/dev/null 2>&1 && break; sleep 1; done
$XB/xen-init-dom0 >/dev/null 2>&1 && say "xen-init-dom0 ok"
$XB/xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console; say "xenconsoled rc=$?"
say "ls /dev/xen: $(ls /dev/xen | tr '\n' ' ')"
JVM="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -Xshare:auto"
say "dom0j --platform xen selftest:"
$JVM -jar "$JAR" --platform xen selftest 2>&1 | sed 's/^/TEST:   /'
say "selftest exit ${PIPESTATUS[0]}"
say "xl list:"; xl list 2>&1 | sed 's/^/TEST:   /'

# A paused PV domU (the lab's kernel + initramfs, no devices) for list/pause/unpause/destroy.
W=${XENLAB_DIR:-/tmp/xenlab}
cat > /run/domu-ctl.cfg <<CFG
name = "dom0j-ctl"
type = "pv"
kernel = "$W/vmlinuz"
ramdisk = "$W/domU-initrd.cpio.gz"
extra = "console=hvc0 quiet loglevel=4"
memory = 128
vcpus = 1
on_poweroff = "preserve"
CFG
xl create -p /run/domu-ctl.cfg >/run/xl-ctl.log 2>&1; say "xl create -p rc=$?"
grep -v '^ *$' /run/xl-ctl.log | tail -8 | sed 's/^/TEST:   xl: /'
D=$(xl domid dom0j-ctl 2>/dev/null); say "domU id $D"
[ -n "$D" ] || { say "no domU; skipping pause/unpause/destroy"; exit 0; }
dj() { $JVM -jar "$JAR" --platform xen "$@" 2>&1 | sed 's/^/TEST:   /'; }
say "dom0j list (domU created paused):"; dj list
say "dom0j domain unpause $D:"; dj domain unpause "$D"
say "xl list after dom0j unpause (the domU's init powers off at once; on_poweroff=preserve keeps it):"
xl list 2>&1 | sed 's/^/TEST:   /'
say "dom0j domain pause $D:"; dj domain pause "$D"
say "xl list after dom0j pause:"; xl list 2>&1 | sed 's/^/TEST:   /'
say "dom0j list:"; dj list
say "dom0j domain destroy $D:"; dj domain destroy "$D"
sleep 1
say "xl list after dom0j destroy:"; xl list 2>&1 | sed 's/^/TEST:   /'
say "dom0j domain destroy $D again:"; dj domain destroy "$D"
