#!/usr/bin/env bash
# Example 3: the articles' clone() demo program, and the same container as
# one line of ours.
#
# The articles compile a C program (examples/c/clone-demo.c here) that calls
# clone(2) with new user, PID, mount, network, UTS and IPC namespaces,
# writes the child's uid and gid maps from the parent, and in the child
# mounts a fresh proc, sets a hostname and execs a shell. Ours:
#
#   mapids --root -- unshare-rs -Ufpnmui --mount-proc --hostname demo -- PROGRAM
#
# mapids forks the helper that writes the maps from outside (as the demo's
# parent does), unshare-rs makes the namespaces in one unshare(2), forks
# PID 1, makes / private, mounts proc and sets the hostname. Both print the
# same four facts: the hostname, the uid, the processes, the links.
#
# Run as root: bash examples/03-clone-demo.sh (it compiles the demo with gcc
# into a temporary directory, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
work=$(mktemp -d /tmp/chain-example3.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/clone-demo" examples/c/clone-demo.c

facts='echo "hostname: $(hostname)"; echo "uid: $(id -u)"; echo "processes: $(ps -e -o pid= | wc -l), pid 1 is $(ps -o comm= -p 1)"; echo "links: $(ip -br link | awk "{print \$1, \$2}" | paste -sd,)"'

show "the clone() demo: $work/clone-demo sh -c ..."
"$work/clone-demo" sh -c "$facts"

show "ours: mapids --root -- unshare-rs -Ufpnmui --mount-proc --hostname demo -- sh -c ..."
"$bin/mapids" --root -- "$bin/unshare-rs" -Ufpnmui --mount-proc --hostname demo -- sh -c "$facts"
