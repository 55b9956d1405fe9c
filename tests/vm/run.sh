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
CACHE=${CHAIN_VM_CACHE:-/var/cache/chain-vm}
TIMEOUT=${CHAIN_VM_TIMEOUT:-300}
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
  [[ -x $CHAIN_BIN_DIR/$t ]] || die "$CHAIN_BIN_DIR/$t is missing: build first (cargo build --release --workspace) or set CHAIN_BIN_DIR"
done

[[ $(id -u) = 0 ]] || die "run as root: it installs packages and writes $CACHE"

TMP=$(mktemp -d /tmp/chain-vm.XXXXXX)
# apt's downloads run as user _apt: it must reach the lists and the .deb.
chmod 755 "$TMP"
QEMU_PID=
CACHE_NEW=   # a cache entry being built, renamed into place when complete
# On every exit: no qemu left running, no temporary file left behind.
cleanup() {
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill -KILL "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP" ${CACHE_NEW:+"$CACHE_NEW"}
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

## 1. Packages ##############################################################

APT_UPDATED=0
# apt's and dpkg's chatter goes to a log, shown when a step fails.
APT_LOG=$TMP/apt.log
apt_log_tail() { tail -n 20 "$APT_LOG" | sed 's/^/    /' >&2; }

apt_update_once() {
  (( APT_UPDATED )) && return 0
  note "apt-get update"
  apt-get update -qq >>"$APT_LOG" 2>&1 || { apt_log_tail; return 1; }
  APT_UPDATED=1
}

apt_install() {
  apt_update_once || return 1
  note "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$APT_LOG" 2>&1 \
    || { apt_log_tail; return 1; }
}

# qemu-system-x86 comes from <codename>-backports: this image ships
# qemu-utils 10.0 from there, and the distribution's qemu-system-x86 (7.2)
# would remove it. The backports index goes to a temporary sources list and
# lists directory, so /etc/apt and /var/lib/apt/lists stay as they are.
install_qemu() {
  local codename apt=$TMP/apt opts sim
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ -n $codename ]] || die "no VERSION_CODENAME in /etc/os-release: cannot pick a backports suite for qemu"
  mkdir -p "$apt/lists/partial" "$apt/parts"
  local key=/usr/share/keyrings/debian-archive-keyring.gpg
  cat >"$apt/sources.list" <<EOF
deb [signed-by=$key] http://deb.debian.org/debian $codename main
deb [signed-by=$key] http://deb.debian.org/debian $codename-updates main
deb [signed-by=$key] http://deb.debian.org/debian-security $codename-security main
deb [signed-by=$key] http://deb.debian.org/debian $codename-backports main
EOF
  opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  note "apt-get update (temporary sources list with $codename-backports)"
  apt-get "${opts[@]}" update -qq >>"$APT_LOG" 2>&1 || { apt_log_tail; die "apt-get update of the backports index failed"; }
  # Simulate first: never remove anything (qemu-utils in particular).
  sim=$(apt-get "${opts[@]}" -s install -t "$codename-backports" --no-install-recommends qemu-system-x86) \
    || die "apt-get cannot install qemu-system-x86 from $codename-backports"
  if grep -q '^Remv' <<<"$sim"; then
    die "installing qemu-system-x86 would remove: $(grep '^Remv' <<<"$sim" | awk '{print $2}' | tr '\n' ' ')"
  fi
  note "apt-get install -t $codename-backports qemu-system-x86"
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y -qq -t "$codename-backports" \
    --no-install-recommends qemu-system-x86 >>"$APT_LOG" 2>&1 || { apt_log_tail; die "apt-get install qemu-system-x86 failed"; }
}

# No program interpreter: plain static or static-pie (the musl Rust builds).
is_static() { file -L "$1" 2>/dev/null | grep -Eq 'statically linked|static-pie linked'; }

install_packages() {
  local need=()
  command -v cpio >/dev/null || need+=(cpio)
  command -v file >/dev/null || need+=(file)
  command -v gcc >/dev/null || need+=(gcc)
  [[ -e /usr/lib/x86_64-linux-gnu/libc.a ]] || need+=(libc6-dev)   # gcc -static
  if ((${#need[@]})); then apt_install "${need[@]}" || die "apt-get install ${need[*]} failed"; fi
  # The guest's busybox must be static: there is no libc in the initramfs.
  if ! is_static /bin/busybox; then
    apt_install busybox-static || die "apt-get install busybox-static failed"
  fi
  is_static /bin/busybox || die "/bin/busybox is not static (busybox-static)"
  command -v qemu-system-x86_64 >/dev/null || install_qemu
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 still missing"
  command -v python3 >/dev/null || die "python3 is needed to decompress the kernel (lzma)"
}

## 2. Kernel (cached) #######################################################

# Named dependency of linux-image-amd64, resolved now: the ABI number in the
# name changes and old packages leave the mirror.
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {print $2; exit}'
}

# The bzImage's payload is one XZ stream; its decompressed ELF vmlinux boots
# through the PVH entry note and saves ~3.5 s of XZ decompression under TCG.
extract_vmlinux() {
  python3 - "$1" "$2" <<'EOF'
import lzma, sys
data = open(sys.argv[1], "rb").read()
start = 0
while True:
    i = data.find(b"\xfd7zXZ\x00", start)
    if i < 0:
        sys.exit("no XZ stream in " + sys.argv[1] + " that decompresses to an ELF file")
    try:
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[i:])
    except lzma.LZMAError:
        out = b""
    if out[:4] == b"\x7fELF":
        open(sys.argv[2], "wb").write(out)
        break
    start = i + 1
EOF
}

# A module's dependencies, from the depends= field of its .modinfo section
# (the package has no modules.dep: depmod makes it when it is installed).
module_deps() {
  tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' ' '
}

# Extracts MODULES and what they depend on from DEB into DIR, with DIR/order
# listing the files in load order (dependencies first).
extract_modules() { # DEB DIR
  local deb=$1 out=$2 x=$TMP/mods m p d
  local -A path=() deps=()
  local want=("${MODULES[@]}") next all
  mkdir -p "$x"
  all=$(dpkg-deb -c "$deb" | awk '{ print $NF }' | grep '\.ko$')
  while ((${#want[@]})); do
    local pats=()
    for m in "${want[@]}"; do
      # modules.dep spells names with _ where files may have -.
      p=$(grep -m1 "/${m//_/[-_]}\.ko$" <<<"$all") || die "module $m is not in $deb"
      path[$m]=$p
      pats+=("$p")
    done
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" "${pats[@]}" || die "extracting ${pats[*]} failed"
    next=()
    for m in "${want[@]}"; do
      deps[$m]=$(module_deps "$x/${path[$m]}")
      for d in ${deps[$m]}; do [[ -n ${path[$d]:-} ]] || next+=("$d"); done
    done
    want=($(printf '%s\n' "${next[@]}" | sort -u))
  done
  local -A done_=()
  visit() {
    local m=$1 d
    [[ -n ${done_[$m]:-} ]] && return 0
    done_[$m]=1
    for d in ${deps[$m]}; do visit "$d"; done
    cp "$x/${path[$m]}" "$out/"
    echo "${path[$m]##*/}" >>"$out/order"
  }
  for m in "${MODULES[@]}"; do visit "$m"; done
}

# Sets KDIR to the cache directory of the current kernel package version:
# vmlinux, config, modules/ (the .ko files in load order, listed in
# modules/order). Downloads and extracts only when it is missing.
fetch_kernel() {
  local pkg ver key
  pkg=$(kernel_package)
  if [[ -z $pkg ]]; then
    apt_update_once || die "apt-get update failed"
    pkg=$(kernel_package)
  fi
  [[ -n $pkg ]] || die "apt-cache depends linux-image-amd64 names no linux-image package"
  ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
  [[ -n $ver ]] || die "apt-cache show $pkg gives no version"
  key="${pkg}_${ver}"
  KDIR=$CACHE/$key
  # The cache holds exactly the modules of MODULES (all of them get loaded).
  if [[ -f $KDIR/vmlinux && -f $KDIR/modules/order ]] \
     && [[ $(cat "$KDIR/modules/wanted") = "$(printf '%s\n' "${MODULES[@]}")" ]]; then
    return 0
  fi
  note "kernel $key: downloading (cached in $CACHE afterwards)"
  local dl=$TMP/deb
  mkdir -p "$dl" "$CACHE"
  # apt-get download writes to the current directory; a stale index (the
  # version left the mirror) is refreshed once.
  if ! (cd "$dl" && apt-get download -qq "$pkg" >>"$APT_LOG" 2>&1); then
    apt_update_once || die "apt-get update failed"
    pkg=$(kernel_package)
    ver=$(apt-cache show --no-all-versions "$pkg" | awk '/^Version:/ {print $2; exit}')
    key="${pkg}_${ver}"
    KDIR=$CACHE/$key
    (cd "$dl" && apt-get download -qq "$pkg" >>"$APT_LOG" 2>&1) || { apt_log_tail; die "apt-get download $pkg failed"; }
  fi
  local deb x=$TMP/kx new=$CACHE/.new-$$
  CACHE_NEW=$new
  deb=$(ls "$dl"/*.deb)
  mkdir -p "$x"
  # Only what the VM needs: vmlinuz and the config ...
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*' './boot/config-*' \
    || die "extracting the kernel from $deb failed"
  rm -rf "$new"
  mkdir -p "$new/modules"
  cp "$x"/boot/config-* "$new/config"
  cp "$x"/boot/vmlinuz-* "$new/vmlinuz"
  extract_vmlinux "$new/vmlinuz" "$new/vmlinux" || die "no vmlinux in $x/boot/vmlinuz-*"
  # ... and the modules asked for, with their dependencies.
  extract_modules "$deb" "$new/modules"
  touch "$new/modules/order"
  printf '%s\n' "${MODULES[@]}" >"$new/modules/wanted"
  # Into place in one rename; other versions go (66 MB each).
  rm -rf "$KDIR"
  mv "$new" "$KDIR"
  CACHE_NEW=
  find "$CACHE" -mindepth 1 -maxdepth 1 ! -path "$KDIR" -exec rm -rf {} +
  note "kernel $key cached in $KDIR"
}

## 3. Initramfs #############################################################

# A busybox tree: the binary and one symlink per applet.
busybox_tree() {
  local root=$1 applet
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet = busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
}

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

## 4. Boot ##################################################################

# /dev/kvm exists on this machine kind, but its KVM is PVM (kvm_pvm): qemu
# aborts with -cpu host and hangs with other models. TCG works everywhere.
accel() {
  if [[ -n ${CHAIN_VM_ACCEL:-} ]]; then echo "$CHAIN_VM_ACCEL"
  elif [[ -w /dev/kvm && ! -e /sys/module/kvm_pvm ]]; then echo kvm
  else echo tcg
  fi
}

boot() {
  local log=$TMP/console.log start now
  : >"$log"
  # -M pc: the robust machine for the PVH vmlinux (microvm panics with it
  # and hangs with -smp 2). 2 vCPUs: the cpuset check needs a second CPU.
  # loglevel=1 keeps kernel messages (OOM reports) out of the result lines;
  # panic=-1 with -no-reboot ends qemu at once when /init dies.
  qemu-system-x86_64 -M pc -accel "$(accel)" -nodefaults -nic none -nographic -no-reboot \
    -smp 2 -m 1024 -kernel "$KDIR/vmlinux" -initrd "$TMP/initramfs.gz" \
    -append "console=ttyS0 loglevel=1 panic=-1${CHAIN_VM_CHECKS:+ chain.checks=$CHAIN_VM_CHECKS}" \
    -serial "file:$log" </dev/null >"$TMP/qemu.out" 2>&1 &
  QEMU_PID=$!
  start=$(date +%s)
  while kill -0 "$QEMU_PID" 2>/dev/null; do
    now=$(date +%s)
    if (( now - start > TIMEOUT )); then
      note "timeout after ${TIMEOUT}s: killing qemu (pid $QEMU_PID)"
      kill -KILL "$QEMU_PID" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  QEMU_RC=0
  # (stderr: no "Killed" job report from bash after a timeout)
  { wait "$QEMU_PID" || QEMU_RC=$?; } 2>/dev/null
  QEMU_PID=
}

## Main #####################################################################

install_packages
fetch_kernel
build_initramfs
note "booting $(basename "$KDIR") ($(accel), 2 vCPU, 1 GiB)"
t0=$(date +%s.%N)
boot
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

# SeaBIOS and the kernel leave ANSI escapes and CRs on the console.
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Z0-9]//g' -e 's/\x1bc//g' -e 's/\r$//' \
  "$TMP/console.log" >"$TMP/clean.log"
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
