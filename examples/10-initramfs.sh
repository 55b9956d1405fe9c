#!/usr/bin/env bash
# Example 10: a bootable initramfs whose /init runs containers with our
# static tools: the "container in the initrd" of minimal distributions and
# test harnesses. Booted here in a throw-away VM (qemu), with the
# container's output read back from the serial console.
#
#   classic                                  ours, in the initramfs's /init
#   (no way to pivot_root the initramfs:     unshare-rs -fpmui --hostname initrd --
#    switch_root, then runc or chroot)         pivot --no-pivot /box -- sh /report
#   switch_root /newroot /init               the same (busybox), then the headline:
#   runc run ... (a bundle, a daemon-less    cgctl --mem 64M --pids 32 -- unshare-rs -fpnumi
#    runtime, its libc and config)             --hostname box -- pivot /box --
#                                              seccompctl --default -- sh /report
#
# The initramfs holds busybox (static), four of our binaries (static musl:
# no libc in there), examples/initramfs/init and a busybox rootfs /box with
# examples/initramfs/report. The kernel is the stock Debian one the VM
# test uses (tests/vm/qemu.sh: downloaded once, never installed, cached in
# /var/cache/chain-vm). pure cgroup v2 is mounted by /init.
#
# Run as root: bash examples/10-initramfs.sh [--keep FILE] (first run:
# installs qemu-system-x86, busybox-static and cpio where missing and
# downloads the kernel package; then about 7-10 s under software
# emulation). --keep FILE also saves the initramfs. The temporary directory
# goes at the end; qemu is killed if it still runs.
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

keep=
case ${1:-} in
  --keep) keep=${2:?--keep needs a FILE}; [[ $keep = /* ]] || keep=$PWD/$keep ;;
  "") ;;
  *) echo "usage: ${0##*/} [--keep FILE]" >&2; exit 2 ;;
esac

need_root
bin=$(chain_bin)
TOOLS=(cgctl unshare-rs pivot seccompctl)

note() { echo "example10: $*" >&2; }
die() { echo "example10: $*" >&2; exit 1; }
. tests/vm/qemu.sh
VM_CACHE=${CHAIN_VM_CACHE:-/var/cache/chain-vm}
VM_TIMEOUT=${CHAIN_VM_TIMEOUT:-300}
# The same (empty) module list as tests/vm/run.sh: the cache is shared.
MODULES=()
vm_begin chain-example10

vm_install_packages
fetch_kernel

# The initramfs: busybox, our tools, /init; the container's root /box.
root=$TMP/root
busybox_tree "$root"
mkdir -p "$root"/{proc,sys,dev,newroot,etc}
# The kernel opens /dev/console for /init before anything is mounted.
mknod -m 600 "$root/dev/console" c 5 1
for t in "${TOOLS[@]}"; do
  is_static "$bin/$t" || die "$bin/$t is not static (build for x86_64-unknown-linux-musl)"
  install -m 755 "$bin/$t" "$root/bin/$t"
done
install -m 755 examples/initramfs/init "$root/init"
busybox_tree "$root/box"
mkdir -p "$root/box"/{proc,sys,dev,tmp,etc}
echo box >"$root/box/etc/hostname"
install -m 755 examples/initramfs/report "$root/box/report"
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$TMP/initramfs.gz"

size() { stat -c %s "$1"; }
tools_bytes=0
for t in "${TOOLS[@]}"; do tools_bytes=$((tools_bytes + $(size "$bin/$t"))); done
show "the initramfs"
echo "initramfs: $(size "$TMP/initramfs.gz") bytes (cpio, gzip -9); busybox $(size /bin/busybox) bytes; ${TOOLS[*]}: $tools_bytes bytes"
if [[ -n $keep ]]; then
  cp "$TMP/initramfs.gz" "$keep"
  echo "kept as $keep"
fi

note "booting $(basename "$KDIR") ($(accel), 1 vCPU, 512 MiB)"
VM_SMP=1 VM_MEM=512 vm_boot "$TMP/initramfs.gz" "$TMP/console.log"
vm_clean_console "$TMP/console.log" "$TMP/clean.log"
show "the serial console (from /init's first line to its last)"
sed -n '/^EXAMPLE10-BEGIN$/,/^EXAMPLE10-END$/p' "$TMP/clean.log" | sed '/^EXAMPLE10-\(BEGIN\|END\)$/d'
if ! grep -qx EXAMPLE10-END "$TMP/clean.log"; then
  echo "example10: the guest did not reach the end of /init (qemu exit $QEMU_RC); the console's last lines:" >&2
  tail -n 20 "$TMP/clean.log" | sed 's/^/    /' >&2
  exit 1
fi
