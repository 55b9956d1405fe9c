#!/usr/bin/env bash
# The demo: build the release binaries and a small rootfs (busybox), then run
# a real container in it and show what it is isolated from:
#
#   unshare-rs -fpnumi --hostname demo -- pivot ROOTFS -- /bin/sh -c '...'
#
# unshare-rs creates the namespaces (mount, UTS, IPC, network, PID) and
# supervises; pivot makes ROOTFS the root and mounts /proc, /sys and /dev in
# it. Run as root from anywhere: bash examples/demo.sh
# (CHAIN_TRACE=1 bash examples/demo.sh also prints every kernel-visible step.)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "demo: run as root (creating namespaces and mounts needs CAP_SYS_ADMIN)" >&2
  exit 1
fi

. tests/target-dir.sh

# The release binaries as they ship (static musl, build.sh).
bash build.sh --quiet
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release
if [ ! -x "$bin/pivot" ]; then
  echo "demo: pivot is not built (no $bin/pivot; is pivot a member of the workspace?)" >&2
  exit 1
fi

# The container's root: busybox-static and a minimal /etc, built once.
rootfs=${CARGO_TARGET_DIR:-target}/demo-rootfs
if [ ! -x "$rootfs/bin/sh" ] || [ ! -e "$rootfs/etc/hostname" ]; then
  bash examples/mkrootfs.sh "$rootfs"
fi
rootfs=$(realpath "$rootfs")

show() { printf '\n== %s\n' "$1"; }

show "the host"
echo "hostname: $(hostname)   processes: $(ls -d /proc/[0-9]* | wc -l)   links: $(ip -o link | wc -l)   mounts: $(wc -l </proc/self/mountinfo)"

show "a container: new mount, UTS, IPC, network and PID namespaces, root in $rootfs"
"$bin/unshare-rs" -fpnumi --hostname demo -- "$bin/pivot" "$rootfs" -- /bin/sh -c '
  echo "hostname: $(hostname)"
  echo "id: $(id)"
  echo "processes:"; ps
  echo "root:"; ls /
  echo "mounts:"; cat /proc/self/mounts'

show "the same with seccompctl --default last: Docker's posture, closed further"
# pivot carries seccompctl in from the host (the rootfs does not have it);
# without it, root in the container could mknod the host's disk and mount it.
"$bin/unshare-rs" -fpnumi --hostname demo -- "$bin/pivot" "$rootfs" -- "$bin/seccompctl" --default -- /bin/sh -c '
  grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status
  mknod /tmp/disk b 8 0 2>&1 || true
  unshare -U true 2>&1 || true
  echo "the chain variables the workload sees: [$(env | grep ^CHAIN_ || true)]"'

if id nobody >/dev/null 2>&1; then
  show "the same, rootless: as nobody, mapped to root inside by mapids"
  # mapids --root maps nobody's own uid and gid to 0 in the user namespace
  # unshare-rs creates, so pivot has the capabilities to build the root.
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$bin/mapids" --root -- "$bin/unshare-rs" -Ufpnmui --hostname rootless -- "$bin/pivot" "$rootfs" -- /bin/sh -c '
      echo "hostname: $(hostname)   id: $(id)"
      echo "uid map: $(cat /proc/self/uid_map)"
      echo "processes:"; ps'
fi

show "the headline: cgctl --mem 100M -- unshare-rs -fpnumi -- pivot DEBIAN -- seccompctl --default -- bash"
# A Debian minbase rootfs (mkrootfs.sh --debian: debootstrap once, cached),
# so the README's one-liner runs bash as it shows it.
debian=${CARGO_TARGET_DIR:-target}/demo-debian
bash examples/mkrootfs.sh --debian "$debian"
"$bin/cgctl" --mem 100M -- "$bin/unshare-rs" -fpnumi --hostname demo -- "$bin/pivot" "$(realpath "$debian")" -- \
  "$bin/seccompctl" --default -- bash -c '
    echo "bash $BASH_VERSION in $(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "its cgroup (made by cgctl, removed when it ends): $(grep -m1 -E "^0::|:memory:" /proc/self/cgroup)"
    ps -eo pid,comm'

show "exit statuses pass through"
set +e
"$bin/unshare-rs" -fp -- sh -c 'exit 7'; echo "sh -c 'exit 7' -> $?"
"$bin/unshare-rs" -fp -- no-such-program 2>&1; echo "missing program -> $?"
"$bin/unshare-rs" -fpm -- "$bin/pivot" "$rootfs" -- bash 2>&1; echo "bash, which the rootfs lacks -> $?"
