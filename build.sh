#!/usr/bin/env bash
# The release build, as the binaries ship: static musl, each under 600 KiB.
#
#   bash build.sh            build into ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release
#   bash build.sh --print    also print each binary's size in bytes
#   bash build.sh --quiet    no progress lines from cargo
#
# It uses a pinned nightly toolchain (installed with rustup when missing,
# with rust-src and the musl target) to rebuild std without its backtrace
# printer: std's default panic hook links gimli, addr2line, miniz_oxide and
# the demangler (~120 KB per binary) even with panic=abort, and only
# -Zbuild-std can leave them out. Panic messages stay; opt-level and LTO
# are the workspace's release profile. README "Sizes" has the figures.
#
# Plain `cargo build --release` with stable Rust still works and gives the
# same programs, 100-300 KB larger each.
set -euo pipefail
cd "$(dirname "$0")"

# The toolchain the shipped binaries are built with. Moving it: change the
# date, run the tests and the benchmark, update README "Sizes".
NIGHTLY=nightly-2026-05-20
TARGET=x86_64-unknown-linux-musl

print=0 quiet=()
for arg in "$@"; do
  case $arg in
    --print) print=1 ;;
    --quiet) quiet=(--quiet) ;;
    *) echo "usage: build.sh [--print] [--quiet]" >&2; exit 2 ;;
  esac
done

# The toolchain, its std sources (build-std compiles them) and the musl
# target (its self-contained crt objects and libc.a link the binaries).
if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 \
   || ! rustup component list --installed --toolchain "$NIGHTLY" 2>/dev/null | grep -qx rust-src \
   || ! rustup target list --installed --toolchain "$NIGHTLY" 2>/dev/null | grep -qx "$TARGET"; then
  echo "build.sh: installing $NIGHTLY with rust-src and $TARGET (rustup)" >&2
  rustup toolchain install "$NIGHTLY" --profile minimal -c rust-src -t "$TARGET" >&2
fi

# std, core and panic_abort built with the workspace's profile; no std
# feature (the default ones are backtrace and the unwinder's glue).
cargo "+$NIGHTLY" build "${quiet[@]}" --release --workspace --locked --target "$TARGET" \
  -Zbuild-std=std,panic_abort -Zbuild-std-features=

if ((print)); then
  dir=${CARGO_TARGET_DIR:-target}/$TARGET/release
  for bin in cgctl seccompctl vethctl unshare-rs mapids pivot nsenter-rs; do
    printf '%s %s\n' "$bin" "$(stat -c %s "$dir/$bin")"
  done
fi
