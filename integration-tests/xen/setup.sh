#!/bin/bash
# integration-tests/xen/setup.sh - install Debian's Xen 4.17 + QEMU and build the boot artefacts of the
# real-Xen tier. Idempotent: the apt step is skipped when every package is installed, the kernel .deb is
# kept once unpacked, and only the initramfs images are rebuilt (about 2 s).
#
# Produces in $DOM0J_XEN_DIR (default /tmp/dom0j-xen):
#   xen.elf              /boot/xen-4.17-amd64.gz uncompressed (QEMU's multiboot loader wants an ELF)
#   vmlinuz, kver        Debian's linux-image-6.1 kernel, unpacked from its .deb, never installed
#   dom0-initrd.cpio.gz  busybox-static + Xen/9p/overlay/loop/blkback/netback/tun/bridge modules + init-dom0
#   domU-initrd.cpio.gz  busybox-static + xen-blkfront + ext4 + xen-netfront + init-domU (the guest workloads)
#
# Env: DOM0J_XEN_DIR, SKIP_APT=1 (never call apt-get; fail if a package is missing).
# Runs as root (CI and the helpers' machines are root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${DOM0J_XEN_DIR:-/tmp/dom0j-xen}
mkdir -p "$W"
cd "$W"
t0=$(date +%s.%N)
log() { echo "setup: $*"; }

PKGS=(qemu-system-x86 qemu-system-xen xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils libxen-dev
      busybox-static cpio kmod e2fsprogs)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    [ "${SKIP_APT:-0}" = 1 ] && { log "SKIP_APT=1 but missing: ${missing[*]}"; exit 1; }
    log "installing ${missing[*]}"
    # No package postinst may start xencommons, xenstored or anything else on the host.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
    "${APT[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    need_lists=0
else
    need_lists=1
fi
t_apt=$(date +%s.%N)

# --- hypervisor ---------------------------------------------------------------------------------------
XENGZ=$(ls /boot/xen-4.17-amd64.gz)
if [ ! -s xen.elf ] || [ "$XENGZ" -nt xen.elf ]; then
    zcat "$XENGZ" > xen.elf.tmp && mv xen.elf.tmp xen.elf
fi

# --- kernel: Debian's 6.1 image is both a PV dom0 and a PV domU kernel ----------------------------------
# Reuse the unpacked one when there is one; otherwise ask apt which linux-image-6.1.0-N-amd64 is current.
KVER=$(cat kver 2>/dev/null || true)
if [ -z "$KVER" ] || [ ! -d "kpkg/lib/modules/$KVER" ] || [ ! -s "kpkg/boot/vmlinuz-$KVER" ]; then
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6/{print $2; exit}')
    if [ -z "$KPKG" ]; then
        [ "$need_lists" = 1 ] && apt-get -o DPkg::Lock::Timeout=600 -q update -qq
        KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6/{print $2; exit}')
    fi
    [ -n "$KPKG" ] || { log "cannot tell which linux-image-6.1 package is current"; exit 1; }
    KVER=${KPKG#linux-image-}
    log "downloading and unpacking $KPKG (not installing it)"
    rm -rf kpkg && mkdir kpkg
    ( cd kpkg && apt-get download -q "$KPKG" 2>&1 | grep -v -e unsandboxed -e '^Get:' || true )
    dpkg-deb -x kpkg/"$KPKG"_*.deb kpkg
    rm -f kpkg/*.deb
    depmod -b kpkg "$KVER"
    echo "$KVER" > kver
fi
cp -p "kpkg/boot/vmlinuz-$KVER" vmlinuz
t_kernel=$(date +%s.%N)

# --- initramfs images -----------------------------------------------------------------------------------
# mkinitrd OUT INIT MODULE... : busybox-static, the modules with their dependencies (in load order, from
# modprobe --show-depends) listed in /etc/modules.load, INIT as /init.
mkinitrd() {
    local out=$1 init=$2
    shift 2
    local R m f b
    R=$(mktemp -d "$W/rootfs.XXXX")
    mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,newroot,lib/modules}
    cp /bin/busybox "$R/bin/busybox"
    ln -s busybox "$R/bin/sh"
    : > "$R/etc/modules.load"
    for m in "$@"; do
        modprobe -d kpkg -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}' > "$R/deps"
        while read -r f; do
            b=$(basename "$f")
            if ! grep -qx "/lib/modules/$b" "$R/etc/modules.load"; then
                cp "$f" "$R/lib/modules/$b"
                echo "/lib/modules/$b" >> "$R/etc/modules.load"
            fi
        done < "$R/deps"
    done
    rm -f "$R/deps"
    cp "$init" "$R/init"
    chmod +x "$R/init"
    ( cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 ) > "$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$R"
}

mkinitrd dom0-initrd.cpio.gz "$HERE/init-dom0" \
    xen-evtchn xenfs xen-privcmd xen-gntdev xen-gntalloc xen-blkback xen-netback tun bridge \
    9pnet_virtio 9p overlay loop virtio_pci
mkinitrd domU-initrd.cpio.gz "$HERE/init-domU" xen-blkfront ext4 crc32c_generic xen-netfront
t_end=$(date +%s.%N)

ls -la xen.elf vmlinuz dom0-initrd.cpio.gz domU-initrd.cpio.gz | sed 's/^/setup: /'
awk -v a="$t0" -v b="$t_apt" -v c="$t_kernel" -v d="$t_end" -v k="$KVER" 'BEGIN {
    printf "setup: done in %.1fs (apt %.1fs, kernel %.1fs, initramfs %.1fs), kernel %s\n", d-a, b-a, c-b, d-c, k }'
