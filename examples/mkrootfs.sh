#!/usr/bin/env bash
# mkrootfs.sh: build a small root filesystem for `pivot` in a directory.
#
# A container needs a root directory with a shell and a few tools in it.
# This builds one without any network access beyond apt:
#
#   - from busybox-static (preferred): one static binary plus a symlink per
#     applet. Nothing else is needed, so the rootfs is ~2 MB and runs on any
#     kernel. If /bin/busybox is missing and we are root with apt-get, the
#     Debian package busybox-static is installed first.
#   - from the host's own binaries (fallback, or MKROOTFS_FROM_HOST=1): sh,
#     ls, ps, id, ... copied to the same paths, with every shared library
#     `ldd` reports for them (the dynamic loader included), as the classic
#     "containers from scratch" articles do. Tools the host lacks are skipped.
#
# Both ways create the usual mount points (proc, sys, dev, tmp, ...) and a
# minimal etc (passwd, group, hostname). Running it again on the same
# directory brings it up to date; it never writes outside DIR.
#
#   - with --debian: a Debian minbase (bash, coreutils, apt) plus procps,
#     made by debootstrap from the mirror apt uses (~24 s and ~130 MB here),
#     in the host's release. The first build is kept as a tarball in
#     /var/cache/chain-rootfs (MKROOTFS_CACHE overrides), and later builds
#     unpack it (a few seconds). It is built in a temporary directory beside
#     DIR and renamed into place, so a failed build leaves nothing; an
#     existing DIR must be empty or an earlier --debian build (then it is
#     left as it is). MKROOTFS_SUITE and MKROOTFS_MIRROR override the
#     release and the mirror.
#
# Usage:
#   bash examples/mkrootfs.sh DIR
#   bash examples/mkrootfs.sh --debian DIR   # then: pivot DIR -- bash
#   MKROOTFS_FROM_HOST=1 bash examples/mkrootfs.sh DIR   # force the fallback
#   BUSYBOX=/path/to/busybox bash examples/mkrootfs.sh DIR
#
# Then, as root:
#   unshare-rs -fpnumi -- pivot DIR -- /bin/sh
set -euo pipefail

prog=mkrootfs
note() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { note "$*"; exit 1; }
usage() { note "$*"; echo "usage: bash examples/mkrootfs.sh [--debian] DIR" >&2; exit 2; }

debian=0
case ${1:-} in
--debian)
  debian=1
  shift
  ;;
esac
case ${1:-} in
-h | --help)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
  ;;
-*) usage "unknown option '$1' (the options are --debian and -h; a directory name starting with - goes as ./$1)" ;;
esac
[ $# -eq 1 ] || usage "expected one argument, the rootfs directory"
[ -n "$1" ] || usage "the rootfs directory is an empty string"
[ "$(realpath -m -- "$1")" != / ] || usage "refusing to build a rootfs in / (that is the host's root)"
[ ! -e "$1" ] || [ -d "$1" ] || usage "$1 exists and is not a directory"

# --- Debian (--debian) ---------------------------------------------------------

# The release and mirror apt uses here, so debootstrap reaches the same
# packages as apt-get does.
host_suite() { . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}"; }
host_mirror() {
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | grep -v security | head -n 1 | awk '$1 == "URIs:" { print $2; next } { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }')
  echo "${uri:-http://deb.debian.org/debian}"
}

if [ "$debian" = 1 ]; then
  prog="mkrootfs --debian"
  suite=${MKROOTFS_SUITE:-$(host_suite)}
  [ -n "$suite" ] || die "cannot tell the host's Debian release from /etc/os-release: set MKROOTFS_SUITE (e.g. bookworm)"
  mirror=${MKROOTFS_MIRROR:-$(host_mirror)}
  dest=$(realpath -m -- "$1")
  marker=.mkrootfs-debian
  if [ -e "$dest/$marker" ]; then
    echo "$prog: $dest is already a Debian $(cat "$dest/$marker") rootfs: left as it is"
    exit 0
  fi
  if [ -d "$dest" ] && [ -n "$(ls -A -- "$dest")" ]; then
    die "$dest is not empty and not a --debian build: give an empty or new directory"
  fi
  [ "$(id -u)" = 0 ] || die "debootstrap needs root (it installs packages with their owners and device nodes)"
  if ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || die "no debootstrap and no apt-get to install it"
    note "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || die "installing debootstrap failed"
  fi
  cache=${MKROOTFS_CACHE:-/var/cache/chain-rootfs}
  tarball=$cache/debian-$suite-minbase-procps.tar
  mkdir -p -- "$(dirname -- "$dest")" "$cache"
  # Built beside DIR (same filesystem, so the rename is atomic) and removed
  # on any failure: DIR appears complete or not at all. --one-file-system:
  # an interrupted debootstrap can leave its /proc or /sys mounted inside.
  tmp=$(mktemp -d -- "$dest.mkrootfs-XXXXXX")
  trap 'rm -rf --one-file-system -- "$tmp" "$tmp.log" "$tarball.part"' EXIT
  if [ -s "$tarball" ]; then
    tar -xf "$tarball" -C "$tmp" --numeric-owner
    how="from the cached $tarball"
  else
    note "debootstrap --variant=minbase --include=procps $suite from $mirror (once; cached in $cache)"
    debootstrap --variant=minbase --include=procps "$suite" "$tmp" "$mirror" > "$tmp.log" 2>&1 \
      || { tail -n 5 "$tmp.log" >&2; rm -f "$tmp.log"; die "debootstrap failed (the lines above are its log's last)"; }
    rm -f "$tmp.log"
    # apt's package lists are not needed to run the rootfs.
    rm -rf -- "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
    tar -cf "$tarball.part" -C "$tmp" --numeric-owner . && mv -- "$tarball.part" "$tarball"
    how="with debootstrap from $mirror"
  fi
  echo container > "$tmp/etc/hostname"
  : > "$tmp/etc/resolv.conf"
  echo "$suite" > "$tmp/$marker"
  chmod 755 "$tmp"
  rmdir -- "$dest" 2>/dev/null || true
  mv -T -- "$tmp" "$dest"
  trap - EXIT
  echo "$prog: built $dest, Debian $suite minbase with bash and procps $how, $(du -sh -- "$dest" | cut -f1)"
  exit 0
fi

mkdir -p -- "$1"
root=$(realpath -- "$1")

# Everything below writes to "$root/..." paths. A top-level symlink to an
# absolute path (say etc -> /etc) would send those writes to the host.
for d in "$root"/*; do
  if [ -L "$d" ]; then
    case $(readlink -- "$d") in /*) die "$d is a symlink to an absolute path; refusing to write through it";; esac
  fi
done

# Copy SRC (following symlinks) to the same path inside the rootfs. The
# destination is removed first so that an existing symlink there (from an
# earlier busybox build: bin/ls -> busybox) is replaced, never written through.
copy_in() {
  local src=$1 dst=$root$1
  mkdir -p -- "$(dirname -- "$dst")"
  cp -L --remove-destination -- "$src" "$dst"
}

# Static means no ELF interpreter. readelf says so directly; without it,
# ldd prints "not a dynamic executable" (or "statically linked") and fails.
is_static() {
  if command -v readelf >/dev/null 2>&1; then
    ! readelf -l -- "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
  else
    local out
    out=$(ldd -- "$1" 2>&1) || true
    case $out in *"not a dynamic executable"*|*"statically linked"*) return 0;; *) return 1;; esac
  fi
}

# --- busybox ---------------------------------------------------------------

busybox=${BUSYBOX:-/bin/busybox}
way=""
if [ "${MKROOTFS_FROM_HOST:-0}" != 1 ]; then
  if [ ! -x "$busybox" ] && [ -z "${BUSYBOX:-}" ] && [ "$(id -u)" = 0 ] \
     && command -v apt-get >/dev/null 2>&1; then
    note "no $busybox: installing busybox-static"
    apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null \
      || note "installing busybox-static failed"
  fi
  if [ ! -x "$busybox" ]; then
    note "no $busybox (as root: apt-get install busybox-static); falling back to the host's binaries"
  elif ! is_static "$busybox"; then
    note "$busybox is dynamically linked (Debian's busybox, not busybox-static); falling back to the host's binaries"
  else
    way=busybox
  fi
fi

if [ "$way" = busybox ]; then
  mkdir -p -- "$root/bin"
  cp --remove-destination -- "$busybox" "$root/bin/busybox"
  chmod 755 "$root/bin/busybox"
  # --list-full gives paths (usr/bin/env); older builds only know --list.
  if ! applets=$("$busybox" --list-full 2>/dev/null) || [ -z "$applets" ]; then
    applets=$("$busybox" --list | sed 's|^|bin/|')
  fi
  n=0
  while IFS= read -r path; do
    case $path in ""|bin/busybox|linuxrc|/*|*..*) continue;; esac
    # A relative link (usr/bin/env -> ../../bin/busybox) resolves both inside
    # the container and from the host, which is how this script is checked.
    up=$(printf '%s' "$path" | sed 's|[^/]*/|../|g; s|[^/]*$||')
    mkdir -p -- "$root/$(dirname -- "$path")"
    ln -sfn -- "${up}bin/busybox" "$root/$path"
    n=$((n + 1))
  done <<<"$applets"
  version=$("$busybox" 2>&1 | head -n1 | awk '{print $2}') || true
  summary="from busybox ${version:-?} ($busybox, static, $n applets)"
fi

# --- the host's binaries -----------------------------------------------------

if [ -z "$way" ]; then
  way=host
  command -v ldd >/dev/null 2>&1 || die "neither a static busybox nor ldd: cannot build a rootfs"

  # A merged-/usr host (bin -> usr/bin, lib64 -> usr/lib64) gets the same
  # symlinks, so /bin/sh, /lib64/ld-linux-x86-64.so.2 and /usr/bin/... all
  # resolve inside as they do outside. An existing real directory stays.
  for d in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$d" ] && [ ! -e "$root/$d" ] && [ ! -L "$root/$d" ]; then
      target=$(readlink "/$d")
      case $target in /*) continue;; esac
      mkdir -p -- "$root/$target"
      ln -s -- "$target" "$root/$d"
    fi
  done

  tools="sh ls ps id hostname mount umount cat ip true sleep touch mkdir rm cp ln chmod grep head env uname whoami"
  copied=() skipped=() libs=()
  for t in $tools; do
    src=""
    for dir in /bin /usr/bin /sbin /usr/sbin; do
      if [ -f "$dir/$t" ] && [ -x "$dir/$t" ]; then src=$dir/$t; break; fi
    done
    if [ -z "$src" ]; then skipped+=("$t"); continue; fi
    copy_in "$src"
    copied+=("$t")
    # ldd lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)",
    # "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)" (the
    # vDSO is in the kernel, not a file). Static binaries print nothing useful.
    while IFS= read -r lib; do
      libs+=("$lib")
    done < <(ldd -- "$src" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
  done
  [ ${#skipped[@]} -eq 0 ] || note "the host has no ${skipped[*]}: skipped"
  [ ${#copied[@]} -gt 0 ] || die "found none of the tools on the host"
  readarray -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)
  for lib in "${libs[@]}"; do
    [ -n "$lib" ] && copy_in "$lib"
  done
  summary="from the host's binaries (${#copied[@]} tools, ${#libs[@]} libraries)"
fi

# --- the common skeleton -------------------------------------------------------

# Mount points (pivot mounts proc, sysfs and a /dev on them) and the usual dirs.
mkdir -p -- "$root"/{proc,sys,dev,tmp,root,etc,run,var/tmp}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 700 "$root/root"
chmod 755 "$root"

write() { rm -f -- "$root/$1"; cat >"$root/$1"; }
write etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
write etc/group <<'EOF'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOF
echo container | write etc/hostname
# glibc tools (the host fallback) look users up through NSS; busybox ignores it.
write etc/nsswitch.conf <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
: | write etc/resolv.conf

echo "$prog: built $root $summary, $(du -sh -- "$root" | cut -f1)"
