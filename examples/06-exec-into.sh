#!/usr/bin/env bash
# Example 6: joining a running container, as `docker exec` does, with
# nsenter-rs; and the articles' `nsenter --pid` followed by a fresh proc.
#
#   classic                                        ours
#   docker exec CT hostname                        nsenter-rs -t PID -a -- hostname
#   docker exec CT ps                              nsenter-rs -t PID -a -- ps
#   nsenter --target PID --pid; mount -t proc ...  nsenter-rs -t PID -p -- unshare-rs -m --mount-proc -- ps
#
# A container runs in the background (unshare-rs -fpnumi --hostname web --
# pivot ROOTFS -- sh). `-t PID` takes unshare-rs's own pid: nsenter-rs
# follows the supervising parent to the container's process. `-a` joins
# every namespace of it that differs from ours, and its root and working
# directory, so the program sees the container's files. `-p` alone joins
# only the PID namespace: the host's /proc still shows the host's
# processes, until a fresh proc is mounted (in a new mount namespace, so
# the host's /proc stays as it is).
#
# Run as root: bash examples/06-exec-into.sh (a busybox rootfs in a
# temporary directory; the container is stopped and everything removed at
# the end).
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
work=$(mktemp -d /tmp/chain-example6.XXXXXX)
ct=
stop() {
  if [ -n "$ct" ]; then
    kill "$ct" 2>/dev/null || true
    wait "$ct" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT
bash examples/mkrootfs.sh "$work/rootfs" >/dev/null

show "a container in the background: unshare-rs -fpnumi --hostname web -- pivot ROOTFS -- sh -c '...; sleep 600'"
"$bin/unshare-rs" -fpnumi --hostname web -- "$bin/pivot" "$work/rootfs" -- \
  /bin/sh -c 'echo "made inside" > /tmp/state; exec sleep 600' &
ct=$!
for _ in $(seq 200); do
  [ -s "$work/rootfs/tmp/state" ] && break
  sleep 0.05
done
[ -s "$work/rootfs/tmp/state" ] || { echo "06-exec-into: the container did not start" >&2; exit 1; }
echo "unshare-rs pid $ct"

show "nsenter-rs -t $ct -a -- hostname"
echo "hostname: $("$bin/nsenter-rs" -t "$ct" -a -- hostname)"

show "nsenter-rs -t $ct -a -- cat /tmp/state (the container's files)"
echo "state: $("$bin/nsenter-rs" -t "$ct" -a -- cat /tmp/state)"

show "nsenter-rs -t $ct -a -- ps -o pid,comm (busybox ps of the container)"
"$bin/nsenter-rs" -t "$ct" -a -- ps -o pid,comm

show "nsenter-rs -t $ct -p -- ps -e (only the PID namespace: the host's /proc)"
echo "processes seen: $("$bin/nsenter-rs" -t "$ct" -p -- ps -e -o pid= | wc -l)"

show "nsenter-rs -t $ct -p -- unshare-rs -m --mount-proc -- ps -e -o pid,comm (a fresh proc)"
"$bin/nsenter-rs" -t "$ct" -p -- "$bin/unshare-rs" -m --mount-proc -- ps -e -o pid,comm
