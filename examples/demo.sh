#!/usr/bin/env bash
# The demo: build the release binaries, then run a container and show what
# it is isolated from. Run as root from anywhere: bash examples/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

. tests/target-dir.sh

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi
cargo build --release --workspace --locked --quiet
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release

show() { printf '\n== %s\n' "$1"; }

show "the host"
echo "hostname: $(hostname)   processes: $(ls -d /proc/[0-9]* | wc -l)   links: $(ip -o link | wc -l)   mounts: $(wc -l </proc/self/mountinfo)"

show "a container: new mount, UTS, IPC, network and PID namespaces (trace on)"
CHAIN_TRACE=1 "$bin/unshare-rs" -fpnumi --mount-proc --hostname demo -- sh -c '
  echo "hostname: $(hostname)"
  echo "processes (ps -e):"; ps -e -o pid,comm
  echo "network links:"; ip -o link | cut -d" " -f2,9
  echo "id: $(id)"'

if id nobody >/dev/null 2>&1; then
  show "the same, as an unprivileged user, inside a new user namespace"
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$bin/unshare-rs" -U -fpnumi --mount-proc --hostname rootless -- sh -c '
      echo "hostname: $(hostname)   uid inside: $(id -u) (unmapped: nobody)"
      echo "processes (ps -e):"; ps -e -o pid,comm'
fi

show "exit statuses pass through"
set +e
"$bin/unshare-rs" -fp -- sh -c 'exit 7'; echo "sh -c 'exit 7' -> $?"
"$bin/unshare-rs" -fp -- no-such-program 2>&1; echo "missing program -> $?"
