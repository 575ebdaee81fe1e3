#!/usr/bin/env bash
# Installs what dom0j's build and tests need on a fresh Debian 12 machine. Idempotent: does nothing when every
# package is already there. Run as root (CI is root); otherwise it uses sudo when it can.
#   gcc, libxen-dev   : tests compile C programs against Xen's public headers (/usr/include/xen)
#   gcc-multilib      : the same, with -m32, to check the x86_32 guest ABI layouts
#   xenstore-utils    : Debian's xenstore-* clients, run against dom0j's xenstored in conformance tests
#   libxen*           : the Xen C libraries the JNA bindings load (pulled in by libxen-dev)
#   iproute2, iputils-ping : netback's drop-in (TAP) tests: network namespaces, ip, ping
#   tshark            : reads back the pcap 'dom0j capture' writes
#   iperf3            : 'dom0j bench net's baseline: the kernel moving the same frames over a veth pair
#   fio               : 'dom0j bench blk's baseline: the same I/O on the same file with the kernel's engines
#   qemu-utils, nbdkit: real NBD servers (qemu-nbd, nbdkit and its error/delay filters) for nbd-client's tests
#   maven, JDK 17     : the build
set -euo pipefail

packages=(gcc gcc-multilib libc6-dev libxen-dev xenstore-utils iproute2 iputils-ping tshark iperf3 fio qemu-utils nbdkit zsh maven openjdk-17-jdk-headless)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all present (${packages[*]})"
    exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
