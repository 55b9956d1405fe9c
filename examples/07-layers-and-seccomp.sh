#!/usr/bin/env bash
# Example 7: what an image and Docker's defaults add to the root of example 1.
#
# 1. An overlay root from read-only layers (what image layers are): a base
#    layer (busybox), an app layer on top, and a writable upper directory
#    that takes every change, so the layers stay as they were.
#
#      mount -t overlay overlay -o lowerdir=APP:BASE,upperdir=U,workdir=W ROOT
#      unshare-rs -m -- pivot --overlay APP:BASE --upper U --work W ROOT -- sh
#
# 2. Capabilities and a seccomp filter (what Docker adds by default): the
#    same container as root, without and with seccompctl --default
#    (Docker's capability set without CAP_MKNOD, no_new_privs, Docker's
#    seccomp decisions).
#
#      docker run --rm busybox sh -c 'grep Cap /proc/self/status'
#      ... pivot ROOTFS -- seccompctl --default -- sh -c '...'
#
# Run as root: bash examples/07-layers-and-seccomp.sh (layers in a
# temporary directory, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
work=$(mktemp -d /tmp/chain-example7.XXXXXX)
trap 'rm -rf "$work"' EXIT
bash examples/mkrootfs.sh "$work/base" >/dev/null
mkdir -p "$work/app/app" "$work/upper" "$work/work" "$work/root"
echo "hello from the app layer" > "$work/app/app/hello.txt"

show "1. unshare-rs -m -- pivot --overlay APP:BASE --upper U --work W ROOT -- sh -c '...'"
"$bin/unshare-rs" -m -- "$bin/pivot" --overlay "$work/app:$work/base" \
  --upper "$work/upper" --work "$work/work" "$work/root" -- /bin/sh -c \
  'echo "inside: $(cat /app/hello.txt)"; echo changed > /app/hello.txt; rm /bin/ls; echo "inside after: $(cat /app/hello.txt)"'
echo "app layer still: $(cat "$work/app/app/hello.txt")"
echo "base layer still has /bin/ls: $([ -e "$work/base/bin/ls" ] && echo yes || echo no)"
echo "upper holds: $(cd "$work/upper" && find . -mindepth 1 | sort | paste -sd' ')"
echo "upper ./bin/ls is a whiteout (the deletion): $(stat -c %F "$work/upper/bin/ls")"

facts='echo "CapEff: $(grep CapEff /proc/self/status | cut -f2)"; echo "NoNewPrivs: $(grep NoNewPrivs /proc/self/status | cut -f2)"; echo "Seccomp: $(grep "^Seccomp:" /proc/self/status | cut -f2)"; if mknod /tmp/loop0 b 7 0 2>/dev/null; then echo "mknod b 7:0: made"; else echo "mknod b 7:0: refused"; fi; if mount -t tmpfs none /tmp 2>/dev/null; then echo "mount tmpfs: done"; else echo "mount tmpfs: refused"; fi'

show "2a. root in the container, no seccompctl: unshare-rs -fpnumi -- pivot ROOTFS -- sh -c '...'"
"$bin/unshare-rs" -fpnumi -- "$bin/pivot" "$work/base" -- /bin/sh -c "$facts"

show "2b. with Docker's defaults: ... pivot ROOTFS -- seccompctl --default -- sh -c '...'"
"$bin/unshare-rs" -fpnumi -- "$bin/pivot" "$work/base" -- "$bin/seccompctl" --default -- /bin/sh -c "$facts"
