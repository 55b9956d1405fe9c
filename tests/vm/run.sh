#!/usr/bin/env bash
# tests/vm/run.sh: the cgroup layouts this machine cannot show (pure v2, pure
# v1), tested in a throw-away VM. See tests/vm/README.md.
#
# Boots a stock Debian kernel under qemu with an initramfs holding the static
# release binaries, busybox and the guest scripts (tests/vm/guest/); the
# guest's /init mounts each cgroup layout in turn, runs the checks and
# prints one "RESULT PASS|FAIL layout/name detail" line per check on the
# serial console. This script prints those lines and a summary.
#
# Exit status: 0 when every check passed; 1 when a check failed, the guest
# did not reach its end marker, or the VM could not be run at all. There is
# no SKIP: CI must fail when this cannot run.
#
# Environment:
#   CHAIN_BIN_DIR        the release binaries (default: the musl release
#                        build, as tests/run.sh builds it)
#   CHAIN_VM_CACHE       kernel cache (default /var/cache/chain-vm)
#   CHAIN_VM_TIMEOUT     seconds before qemu is killed (default 300)
#   CHAIN_VM_LOG         copy the guest's console log to this file
#   CHAIN_VM_ACCEL       tcg or kvm (default: tcg on PVM hosts, see below)
#   CHAIN_VM_CHECKS      only the checks matching this shell pattern on
#                        layout/name, e.g. 'v1/*' or '*/mem-*' (debugging)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# Packages, the cached kernel, the boot: shared with examples/10-initramfs.sh.
. "$HERE/qemu.sh"
VM_CACHE=${CHAIN_VM_CACHE:-/var/cache/chain-vm}
VM_TIMEOUT=${CHAIN_VM_TIMEOUT:-300}
TOOLS=(cgctl unshare-rs pivot mapids nsenter-rs vethctl seccompctl)
# Kernel modules the guest loads (names without .ko; dependencies are added
# from modules.dep). The cgroup checks need none: Debian builds cgroups,
# namespaces and tmpfs in. Add e.g. veth or overlay here for network or
# overlay checks; the cache is refreshed when the list changes.
MODULES=()
END_MARKER=CHAIN-VM-END

note() { echo "vm: $*" >&2; }
# Every failure to run is a failure of the test (no SKIP, see above).
die() { echo "vm: FAIL: $*" >&2; exit 1; }

# The binaries: where tests/run.sh builds them (tests/target-dir.sh may move
# the target directory to /var/tmp when the checkout is not world-readable).
if [[ -z ${CHAIN_BIN_DIR:-} ]]; then
  target=$(cd "$REPO" && . tests/target-dir.sh >&2 && echo "${CARGO_TARGET_DIR:-$REPO/target}")
  CHAIN_BIN_DIR=$target/x86_64-unknown-linux-musl/release
fi
for t in "${TOOLS[@]}"; do
  [[ -x $CHAIN_BIN_DIR/$t ]] || die "$CHAIN_BIN_DIR/$t is missing: build first (bash build.sh) or set CHAIN_BIN_DIR"
done

[[ $(id -u) = 0 ]] || die "run as root: it installs packages and writes $VM_CACHE"

# On every exit: no qemu left running, no temporary file left behind.
vm_begin chain-vm

## 1. Packages ##############################################################

# Beyond what every boot needs: gcc -static for the guest's helpers.
install_packages() {
  local need=()
  command -v gcc >/dev/null || need+=(gcc)
  [[ -e /usr/lib/x86_64-linux-gnu/libc.a ]] || need+=(libc6-dev)
  if ((${#need[@]})); then apt_install "${need[@]}" || die "apt-get install ${need[*]} failed"; fi
  vm_install_packages
}

## 2. Initramfs #############################################################

# A dynamic program and what it links, at the same paths in ROOT.
add_dynamic() { # ROOT PROGRAM
  local root=$1 prog=$2 lib
  install -D -m 755 "$prog" "$root$prog"
  for lib in $(ldd "$prog" | grep -o '/[^ ]*'); do
    install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# `crun spec`, made to match the headline chain: /bin/true, no terminal,
# a read-only /rootfs, 100M of memory.
crun_bundle() {
  local d
  d=$(mktemp -d "$TMP/spec.XXXXXX")
  (cd "$d" && crun spec) || die "crun spec failed"
  python3 - "$d/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"] = {"path": "/rootfs", "readonly": True}
c.setdefault("linux", {}).setdefault("resources", {})["memory"] = {"limit": 104857600}
print(json.dumps(c))
PY
}

build_initramfs() {
  local r=$TMP/root t
  busybox_tree "$r"
  mkdir -p "$r"/{proc,sys,dev,tmp,etc,newroot,guest,lib/modules}
  # The kernel opens /dev/console for /init before anything is mounted.
  mknod -m 600 "$r/dev/console" c 5 1
  for t in "${TOOLS[@]}"; do
    is_static "$CHAIN_BIN_DIR/$t" || die "$CHAIN_BIN_DIR/$t is not static (build for x86_64-unknown-linux-musl)"
    install -m 755 "$CHAIN_BIN_DIR/$t" "$r/bin/$t"
  done
  # The workloads: the memory hog of the articles, the fork counter.
  gcc -static -O2 -o "$r/bin/hog" "$REPO/tests/c/hog.c" || die "gcc -static hog.c failed"
  gcc -static -O2 -o "$r/bin/forks" "$REPO/tests/c/forks.c" || die "gcc -static forks.c failed"
  # The benchmark's timer and its peer: crun with its shared libraries (and
  # the loader, exec bit kept), a bundle whose root is the guest's /rootfs.
  gcc -static -O2 -o "$r/bin/timeit" "$HERE/guest/timeit.c" || die "gcc -static timeit.c failed"
  # The kernel floor of cgctl's headline run (no libc: tests/bench/cgfloor.c).
  gcc -O2 -static -nostdlib -fno-stack-protector -fno-builtin -o "$r/bin/cgfloor" \
    "$REPO/tests/bench/cgfloor.c" || die "gcc cgfloor.c failed"
  add_dynamic "$r" "$(command -v crun)"
  mkdir -p "$r/bundle" "$r/run"
  crun_bundle >"$r/bundle/config.json"
  install -m 755 "$HERE/guest/init" "$r/init"
  install -m 644 "$HERE"/guest/*.sh "$r/guest/"
  cp "$KDIR"/modules/*.ko "$r/lib/modules/" 2>/dev/null || true
  cp "$KDIR/modules/order" "$r/lib/modules/order"
  # root, and the unprivileged user of the delegation checks.
  printf 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/tmp:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\ntester:x:1000:\n' >"$r/etc/group"
  # The container's root for the headline chain: busybox alone.
  busybox_tree "$r/rootfs"
  mkdir -p "$r/rootfs"/{proc,sys,dev,tmp,etc}
  (cd "$r" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$TMP/initramfs.gz"
}

## Main #####################################################################

install_packages
fetch_kernel
build_initramfs
note "booting $(basename "$KDIR") ($(accel), 2 vCPU, 1 GiB)"
t0=$(date +%s.%N)
VM_APPEND=${CHAIN_VM_CHECKS:+chain.checks=$CHAIN_VM_CHECKS}
# 2 vCPUs: the cpuset check needs a second CPU.
VM_SMP=2 VM_MEM=1024 vm_boot "$TMP/initramfs.gz" "$TMP/console.log"
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

vm_clean_console "$TMP/console.log" "$TMP/clean.log"
[[ -n ${CHAIN_VM_LOG:-} ]] && cp "$TMP/clean.log" "$CHAIN_VM_LOG"

# RESULT lines, with the NOTE lines (the output of a failed check) below.
grep -E '^(RESULT (PASS|FAIL) |NOTE )' "$TMP/clean.log" | sed 's/^NOTE /      | /' || true
pass=$(grep -cE '^RESULT PASS ' "$TMP/clean.log" || true)
fail=$(grep -cE '^RESULT FAIL ' "$TMP/clean.log" || true)
status=0
if ! grep -qx "$END_MARKER" "$TMP/clean.log"; then
  note "the guest did not print $END_MARKER (qemu exit $QEMU_RC); the console's last lines:"
  { tail -n 30 "$TMP/clean.log"; echo; } | sed -e '/^$/d' -e 's/^/    /' >&2
  if [[ -s $TMP/qemu.out ]]; then sed 's/^/    qemu: /' "$TMP/qemu.out" >&2; fi
  status=1
fi
(( fail == 0 && pass > 0 )) || status=1
echo "vm: $pass passed, $fail failed, boot and checks ${secs}s$( ((status)) && echo ' (FAILED)')"
exit "$status"
