#!/usr/bin/env bash
# Example 8: a pod. Two containers share one network namespace and talk
# over localhost, as CRI-O's pod sandbox does (pinns persists the pod's
# namespace, each container joins it).
#
#   CRI-O / podman                      ours
#   pinns -n ... (the pod's netns)      unshare-rs --net=POD/net -- true
#   container A, joining the pod        nsenter-rs --net=POD/net -- unshare-rs -fpmui --hostname a -- pivot ROOTFS -- nc -l -p 8080
#   container B, joining the pod        nsenter-rs --net=POD/net -- unshare-rs -fpmui --hostname b -- pivot ROOTFS -- nc 127.0.0.1 8080
#   podman pod rm                       umount POD/net; rm POD/net
#
# unshare-rs --net=FILE makes a network namespace and persists it by a bind
# mount on FILE (like `ip netns add`), then runs `true`: the namespace lives
# on without a process. Each container joins it with nsenter-rs and makes
# its own mount, PID, UTS and IPC namespaces: separate filesystems and
# processes, one lo.
#
# Run as root: bash examples/08-pod.sh (a busybox rootfs and the pod's
# namespace file in a temporary directory, unmounted and removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
work=$(mktemp -d /tmp/chain-example8.XXXXXX)
server=
stop() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  umount "$work/net" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT
bash examples/mkrootfs.sh "$work/rootfs" >/dev/null

show "the pod: unshare-rs --net=$work/net -- ip link set lo up"
"$bin/unshare-rs" --net="$work/net" -- ip link set lo up
echo "pod netns: $(stat -L -c %i "$work/net") (persisted: $(findmnt -n -o TARGET "$work/net"))"

in_pod() {
  local name=$1
  shift
  "$bin/nsenter-rs" --net="$work/net" -- "$bin/unshare-rs" -fpmui --hostname "$name" -- "$bin/pivot" "$work/rootfs" -- "$@"
}

show "container A (server): nsenter-rs --net=POD -- unshare-rs -fpmui --hostname a -- pivot ROOTFS -- sh -c 'echo hello | nc -l -p 8080'"
in_pod a /bin/sh -c 'echo "A netns: $(readlink /proc/self/ns/net)"; echo "hello from $(hostname)" | nc -l -p 8080' &
server=$!

show "container B (client): the same with --hostname b, -- nc 127.0.0.1 8080"
# B's nc keeps its input open a moment (sleep), so it reads A's answer
# before it closes; a refused connect (A not listening yet) is retried.
in_pod b /bin/sh -c 'echo "B netns: $(readlink /proc/self/ns/net)"; echo "B hostname: $(hostname)"; for i in $(seq 100); do reply=$(sleep 0.3 | nc 127.0.0.1 8080 2>/dev/null); if [ -n "$reply" ]; then echo "B received: $reply"; exit 0; fi; sleep 0.05; done; echo "B: no answer from A"; exit 1'
wait "$server"
server=
