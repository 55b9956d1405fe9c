#!/usr/bin/env bash
# Example 1: the chroot jail and its escape, and why pivot in a mount
# namespace stops it.
#
# The classic commands:
#
#   chroot ROOTFS /escape MARKER          # root in a chroot gets out:
#                                         # mkdir x; chroot x; cd ../../..; chroot .
#
# Ours:
#
#   unshare-rs -m -- pivot ROOTFS -- /escape MARKER
#
# chroot(2) only changes where path lookups start; the old root stays
# reachable for a process whose working directory is outside its root.
# pivot (in the mount namespace unshare-rs -m makes) calls pivot_root(2) and
# detaches the old root: there is nothing above the container's / to walk
# to, so the same program, still root and still allowed to chroot, stays
# inside.
#
# Run as root: bash examples/01-chroot-escape.sh
# It builds a busybox rootfs and the escape program (gcc, static) in a
# temporary directory, and removes both (and its marker file) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
work=$(mktemp -d /tmp/chain-example1.XXXXXX)
marker=/tmp/chain-example1-marker-$$
trap 'rm -rf "$work" "$marker"' EXIT
touch "$marker"

bash examples/mkrootfs.sh "$work/rootfs" >/dev/null
cc -static -O2 -o "$work/rootfs/escape" examples/c/chroot-escape.c

show "chroot $work/rootfs /escape $marker"
chroot "$work/rootfs" /escape "$marker"

show "unshare-rs -m -- pivot $work/rootfs -- /escape $marker"
"$bin/unshare-rs" -m -- "$bin/pivot" "$work/rootfs" -- /escape "$marker"
