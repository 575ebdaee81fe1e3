#!/bin/bash
# A manual check of 'dom0j create' on real Xen (libxl through JNA), not part of the tier: run in dom0 by the
# tier's boot.sh. It starts xenstored, xen-init-dom0 and xenconsoled, creates a PV guest (128 MiB, maxmem 160,
# 1 vCPU, the tier's kernel and guest initramfs in idle mode, a 64 MiB raw disk on the kernel's blkback) with
# 'dom0j -v create', prints xl list, the guest's console lines (READY once its blkfront saw xvda) and both ends'
# vbd states, tries the same name again (libxl must refuse), and destroys the guest. Results (create.log,
# xl-list-l.json: libxl's stored configuration, guest-create1.log, vbd.txt) go to $DOM0J_RESULTS. Run from the
# repository root, with the jar built and the tier's artefacts copied to a directory of their own:
#   mkdir -p /tmp/dj-create-xen && cp -p /tmp/dom0j-xen/{xen.elf,vmlinuz,dom0-initrd.cpio.gz,domU-initrd.cpio.gz} \
#       /tmp/dj-create-xen/
#   DOM0J_XEN_DIR=/tmp/dj-create-xen TIMEOUT=420 integration-tests/xen/boot.sh host \
#       "$PWD/integration-tests/xen/create-check.sh"
# Seen on 4 December 2026 (loaded 2-core host): done in 110 s; dom0j create took 36 s in dom0.
set -u
R=${DOM0J_RESULTS:-/tmp/dom0j-results}
[ -f "$R/tier.env" ] && . "$R/tier.env"
W=$DOM0J_XEN_DIR
JAR=$DOM0J_REPO/toolstack-cli/target/dom0j.jar
XB=/usr/lib/xen-4.17/bin
J=(java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$JAR")
up() { local u _; read -r u _ < /proc/uptime; echo "$u"; }
mkdir -p /run/xenstored /var/lib/xenstored /var/log/xen/console /run/xen
"$XB/xenstored" --pid-file /run/xenstored.pid
for _ in $(seq 100); do xenstore-read -s / > /dev/null 2>&1 && break; sleep 0.3; done
"$XB/xen-init-dom0" > /dev/null 2>&1
"$XB/xenconsoled" --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
echo "TEST: services up at $(up)"
truncate -s 64M /run/d.img
cat > /run/c1.cfg <<CFG
name = "create1"
kernel = "$W/vmlinuz"
ramdisk = "$W/domU-initrd.cpio.gz"
extra = "console=hvc0 loglevel=5 dom0j.mode=idle dom0j.seed=7"
memory = 128
maxmem = 160
vcpus = 1
disk = [ '/run/d.img,raw,xvda,rw' ]
on_crash = "preserve"
CFG
t=$(up)
timeout 240 "${J[@]}" -v create /run/c1.cfg > "$R/create.log" 2>&1
rc=$?
echo "TEST: dom0j-create rc=$rc took $(awk -v a=$t -v b=$(up) 'BEGIN{print b-a}')s: $(tr '\n' ' ' < "$R/create.log" | cut -c1-600)"
xl list > "$R/xl-list.txt" 2>&1; echo "TEST: xl list: $(tr '\n' '|' < "$R/xl-list.txt")"
xl list -l create1 > "$R/xl-list-l.json" 2>&1
for _ in $(seq 120); do grep -q READY /var/log/xen/console/guest-create1.log 2>/dev/null && break; sleep 1; done
echo "TEST: guest console: $(tr -d '\r\000' < /var/log/xen/console/guest-create1.log | grep DOMU | tr '\n' '|' | cut -c1-800)"
xenstore-ls -f /local/domain/0/backend/vbd > "$R/vbd.txt" 2>&1
echo "TEST: backend state $(xenstore-read /local/domain/0/backend/vbd/$(xl domid create1)/51712/state 2>&1) frontend $(xenstore-read /local/domain/$(xl domid create1)/device/vbd/51712/state 2>&1)"
cp /var/log/xen/console/guest-create1.log "$R/" 2>/dev/null
timeout 120 "${J[@]}" create /run/c1.cfg > "$R/create-again.log" 2>&1; echo "TEST: create same name again rc=$? $(tr '\n' ' ' < "$R/create-again.log" | cut -c1-300)"
xl destroy create1; echo "TEST: xl destroy rc=$?"
