# Sourced by the numbered examples: the few lines they share.

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "${0##*/}: run as root (namespaces, mounts and chroot need privileges)" >&2
    exit 1
  fi
}

# The directory of the release binaries, built when missing (CHAIN_BIN
# overrides: the tests pass the binaries they test).
chain_bin() {
  if [ -n "${CHAIN_BIN:-}" ]; then
    echo "$CHAIN_BIN"
    return
  fi
  . tests/target-dir.sh >&2
  local dir=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release
  if [ ! -x "$dir/pivot" ]; then
    bash build.sh --quiet >&2
  fi
  realpath "$dir"
}

show() { printf '\n== %s\n' "$1"; }
