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
say "ls /dev/xen: $(ls /dev/xen | tr '\n' ' ')"
JVM="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -Xshare:auto"
say "dom0j --platform xen selftest:"
$JVM -jar "$JAR" --platform xen selftest 2>&1 | sed 's/^/TEST:   /'
say "selftest exit ${PIPESTATUS[0]}"
say "dom0j --platform xen list:"
$JVM -jar "$JAR" --platform xen list 2>&1 | sed 's/^/TEST:   /'
say "list exit ${PIPESTATUS[0]}"
say "xl list:"; xl list 2>&1 | sed 's/^/TEST:   /'
say "dom0j --platform xen platform:"
$JVM -jar "$JAR" --platform xen platform 2>&1 | sed 's/^/TEST:   /'
