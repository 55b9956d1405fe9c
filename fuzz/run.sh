#!/usr/bin/env bash
# Coverage-guided fuzzing of the tools' parsers (cargo-fuzz, libFuzzer with
# AddressSanitizer); fuzz/README.md says what each target checks.
#
#   bash fuzz/run.sh            every target for 10 s (a CI run: ~70 s, 2.5-3.5 min with the first build)
#   bash fuzz/run.sh 600        every target for 600 s (a long run)
#
# Installs what is missing (g++, the pinned nightly, cargo-fuzz), builds
# every target, runs each for SECONDS and prints one line per target. Exits
# non-zero when a target crashes, naming the input that crashed it (kept
# in fuzz/artifacts/TARGET/) and the panic. The inputs libFuzzer finds go
# to fuzz/corpus-run/TARGET and are read again by the next run; the seeds
# in fuzz/corpus/TARGET are only read. Both artifacts/ and corpus-run/ are
# ignored by git.
set -euo pipefail
cd "$(dirname "$0")"

secs=${1:-10}
if ! [[ $secs =~ ^[1-9][0-9]*$ ]] || (($# > 1)); then
  echo "usage: fuzz/run.sh [SECONDS]" >&2
  exit 2
fi

# The shipped binaries' toolchain, read from build.sh so that one date
# moves both: cargo fuzz needs a nightly (-Zsanitizer), and this one is
# the nightly the project already installs and has built with.
NIGHTLY=$(sed -n 's/^NIGHTLY=\([^ #]*\).*/\1/p' ../build.sh)
[[ -n $NIGHTLY ]] || { echo "fuzz/run.sh: no NIGHTLY= line in build.sh" >&2; exit 1; }
# Sanitizers work with glibc, not musl, and .cargo/config.toml makes musl
# the default target of the whole repo: name the target every time.
TARGET=x86_64-unknown-linux-gnu

# libfuzzer-sys compiles libFuzzer's C++ sources.
if ! command -v g++ >/dev/null; then
  echo "fuzz/run.sh: installing g++ (apt-get)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >&2
fi
if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing $NIGHTLY (rustup)" >&2
  rustup toolchain install "$NIGHTLY" --profile minimal >&2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing cargo-fuzz (cargo install)" >&2
  cargo install cargo-fuzz --locked >&2
fi

SECONDS=0
# fuzz/target, whatever CARGO_TARGET_DIR says: the binaries are run from there.
CARGO_TERM_QUIET=true cargo "+$NIGHTLY" fuzz build --target "$TARGET" --target-dir target
bin=target/$TARGET/release
mapfile -t targets < <(cargo "+$NIGHTLY" fuzz list)
for t in "${targets[@]}"; do
  [[ -x $bin/$t ]] || { echo "fuzz/run.sh: the build did not make $bin/$t" >&2; exit 1; }
done
echo "fuzz: built ${#targets[@]} targets in $SECONDS s"

# The cgroup target writes its files under $TMPDIR: a directory of ours,
# removed at the end.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus-run/$t" "artifacts/$t" "corpus/$t"
  log=artifacts/$t/last-run.log
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a run growing
  # past 2 GB is a leak or a blow-up (the machine has 2 cores and others
  # build on it, so also one target at a time).
  rc=0
  TMPDIR=$tmp RUST_BACKTRACE=1 "$bin/$t" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" \
    "corpus-run/$t" "corpus/$t" >"$log" 2>&1 || rc=$?
  done_line=$(grep -aE '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
  if ((rc == 0)) && [[ -n $done_line ]]; then
    runs=$(awk '{print $2}' <<<"$done_line")
    took=$(awk '{print $5}' <<<"$done_line")
    echo "fuzz: $t: $runs runs in $took s, no crash"
    continue
  fi
  failed=1
  input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1 || true)
  runs=$(grep -aoE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
  when=${runs:+after $runs runs}
  echo "fuzz: $t: CRASH (libFuzzer exit status $rc) ${when:-while reading the corpus}"
  echo "fuzz: $t: input: ${input:+fuzz/}${input:-none written}"
  # The panic message (up to the backtrace), or libFuzzer's own report
  # (leak, timeout, out of memory, sanitizer error).
  if grep -aq 'panicked at' "$log"; then
    sed -n '/panicked at/,/^stack backtrace:/p' "$log" | grep -av '^stack backtrace:' | head -n 20 | sed "s/^/fuzz: $t:   /" || true
  else
    grep -aE '^==[0-9]+== ?ERROR|^SUMMARY|^Direct leak|out-of-memory|timeout after' "$log" | head -n 10 | sed "s/^/fuzz: $t:   /" || true
  fi
  [[ -n $input ]] && echo "fuzz: $t: reproduce: fuzz/$bin/$t fuzz/$input"
  echo "fuzz: $t: whole log: fuzz/$log"
done
exit "$failed"
