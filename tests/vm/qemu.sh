# tests/vm/qemu.sh: booting a stock Debian kernel under qemu with an
# initramfs, for tests/vm/run.sh and examples/10-initramfs.sh (sourced; bash).
# See tests/vm/README.md for the facts behind each step.
#
# The caller sets, before calling anything here:
#   VM_CACHE   the kernel cache directory
#   MODULES    kernel modules the guest needs (array; may be empty)
#   VM_TIMEOUT seconds before qemu is killed
# defines note MSG and die MSG (die exits), and calls vm_begin PREFIX first.
# Sets: TMP (vm_begin), KDIR (the cached kernel), QEMU_RC (after vm_boot).

QEMU_PID=
CACHE_NEW=   # a cache entry being built, renamed into place when complete
KDIR=

## Packages ################################################################

APT_UPDATED=0
# apt's and dpkg's chatter goes to a log in TMP, shown when a step fails.
apt_log_tail() { tail -n 20 "$TMP/apt.log" | sed 's/^/    /' >&2; }

apt_update_once() {
  (( APT_UPDATED )) && return 0
  note "apt-get update"
  apt-get update -qq >>"$TMP/apt.log" 2>&1 || { apt_log_tail; return 1; }
  APT_UPDATED=1
}

apt_install() {
  apt_update_once || return 1
  note "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$TMP/apt.log" 2>&1 \
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
  apt-get "${opts[@]}" update -qq >>"$TMP/apt.log" 2>&1 || { apt_log_tail; die "apt-get update of the backports index failed"; }
  # Simulate first: never remove anything (qemu-utils in particular).
  sim=$(apt-get "${opts[@]}" -s install -t "$codename-backports" --no-install-recommends qemu-system-x86) \
    || die "apt-get cannot install qemu-system-x86 from $codename-backports"
  if grep -q '^Remv' <<<"$sim"; then
    die "installing qemu-system-x86 would remove: $(grep '^Remv' <<<"$sim" | awk '{print $2}' | tr '\n' ' ')"
  fi
  note "apt-get install -t $codename-backports qemu-system-x86"
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y -qq -t "$codename-backports" \
    --no-install-recommends qemu-system-x86 >>"$TMP/apt.log" 2>&1 || { apt_log_tail; die "apt-get install qemu-system-x86 failed"; }
}

# No program interpreter: plain static or static-pie (the musl Rust builds).
is_static() { file -L "$1" 2>/dev/null | grep -Eq 'statically linked|static-pie linked'; }

# What every boot needs: cpio for the initramfs, file to check that
# binaries are static, a static busybox (there is no libc in the
# initramfs), qemu, and python3 for the kernel's XZ payload.
vm_install_packages() {
  local need=()
  command -v cpio >/dev/null || need+=(cpio)
  command -v file >/dev/null || need+=(file)
  if ((${#need[@]})); then apt_install "${need[@]}" || die "apt-get install ${need[*]} failed"; fi
  if ! is_static /bin/busybox; then
    apt_install busybox-static || die "apt-get install busybox-static failed"
  fi
  is_static /bin/busybox || die "/bin/busybox is not static (busybox-static)"
  command -v qemu-system-x86_64 >/dev/null || install_qemu
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 still missing"
  command -v python3 >/dev/null || die "python3 is needed to decompress the kernel (lzma)"
}

## Kernel (cached) ########################################################

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
  KDIR=$VM_CACHE/$key
  # The cache holds exactly the modules of MODULES (all of them get loaded).
  if [[ -f $KDIR/vmlinux && -f $KDIR/modules/order ]] \
     && [[ $(cat "$KDIR/modules/wanted") = "$(printf '%s\n' "${MODULES[@]}")" ]]; then
    return 0
  fi
  note "kernel $key: downloading (cached in $VM_CACHE afterwards)"
  local dl=$TMP/deb
  mkdir -p "$dl" "$VM_CACHE"
  # apt-get download writes to the current directory; a stale index (the
  # version left the mirror) is refreshed once.
  if ! (cd "$dl" && apt-get download -qq "$pkg" >>"$TMP/apt.log" 2>&1); then
    apt_update_once || die "apt-get update failed"
    pkg=$(kernel_package)
    ver=$(apt-cache show --no-all-versions "$pkg" | awk '/^Version:/ {print $2; exit}')
    key="${pkg}_${ver}"
    KDIR=$VM_CACHE/$key
    (cd "$dl" && apt-get download -qq "$pkg" >>"$TMP/apt.log" 2>&1) || { apt_log_tail; die "apt-get download $pkg failed"; }
  fi
  local deb x=$TMP/kx new=$VM_CACHE/.new-$$
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
  find "$VM_CACHE" -mindepth 1 -maxdepth 1 ! -path "$KDIR" -exec rm -rf {} +
  note "kernel $key cached in $KDIR"
}

## Initramfs and boot #####################################################

# A busybox tree: the binary and one symlink per applet.
busybox_tree() {
  local root=$1 applet
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet = busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
}

# /dev/kvm exists on this machine kind, but its KVM is PVM (kvm_pvm): qemu
# aborts with -cpu host and hangs with other models. TCG works everywhere.
accel() {
  if [[ -n ${CHAIN_VM_ACCEL:-} ]]; then echo "$CHAIN_VM_ACCEL"
  elif [[ -w /dev/kvm && ! -e /sys/module/kvm_pvm ]]; then echo kvm
  else echo tcg
  fi
}

# Boots KDIR's kernel with INITRAMFS, the serial console going to LOG, and
# waits for qemu to end (at most VM_TIMEOUT seconds, then it is killed).
# Sets QEMU_RC. VM_APPEND adds kernel command line words, VM_MEM the
# guest's memory (MiB), VM_SMP its CPUs.
vm_boot() { # INITRAMFS LOG
  local initramfs=$1 log=$2 start now
  : >"$log"
  # -M pc: the robust machine for the PVH vmlinux (microvm panics with it
  # and hangs with -smp 2). loglevel=1 keeps kernel messages (OOM reports)
  # off the console lines; panic=-1 with -no-reboot ends qemu at once when
  # /init dies.
  qemu-system-x86_64 -M pc -accel "$(accel)" -nodefaults -nic none -nographic -no-reboot \
    -smp "${VM_SMP:-2}" -m "${VM_MEM:-1024}" -kernel "$KDIR/vmlinux" -initrd "$initramfs" \
    -append "console=ttyS0 loglevel=1 panic=-1${VM_APPEND:+ $VM_APPEND}" \
    -serial "file:$log" </dev/null >"$TMP/qemu.out" 2>&1 &
  QEMU_PID=$!
  start=$(date +%s)
  while kill -0 "$QEMU_PID" 2>/dev/null; do
    now=$(date +%s)
    if (( now - start > VM_TIMEOUT )); then
      note "timeout after ${VM_TIMEOUT}s: killing qemu (pid $QEMU_PID)"
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

# SeaBIOS and the kernel leave ANSI escapes and CRs on the console.
vm_clean_console() { # IN OUT
  sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Z0-9]//g' -e 's/\x1bc//g' -e 's/\r$//' "$1" >"$2"
}

# TMP, a temporary directory /tmp/PREFIX.XXXXXX, and the traps that leave
# nothing behind on any exit: no qemu running, no half-built cache entry,
# no TMP.
vm_begin() { # PREFIX
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  # apt's downloads run as user _apt: it must reach the lists and the .deb.
  chmod 755 "$TMP"
  trap vm_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

vm_cleanup() {
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill -KILL "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  QEMU_PID=
  if [[ -n $CACHE_NEW ]]; then rm -rf "$CACHE_NEW"; fi
  CACHE_NEW=
  if [[ -n ${TMP:-} ]]; then rm -rf "$TMP"; fi
}
