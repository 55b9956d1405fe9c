#!/usr/bin/env bash
# The project's test command (README: "Test").
#
# Installs what the tests need on a fresh Debian machine (as root), builds
# the release binaries (static musl), then runs the unit tests and the
# end-to-end tests against those binaries. The end-to-end tests need root:
# they create namespaces and run some checks as an unprivileged test user.
#
# CHAIN_FAIL_ON_SKIP=1 (set by CI) turns every skipped test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the tools the tests compare with or drive.
#   util-linux: unshare, nsenter, ipcmk   procps: ps   iproute2: ip
#   bubblewrap, hyperfine: the benchmark   busybox-static: a static rootfs
#   uidmap: newuidmap/newgidmap            crun: the benchmark
#   gcc, libc6-dev: static C helpers the tests and the benchmark compile
#   libseccomp-dev, python3-seccomp: libseccomp's filters, the seccomp
#   benchmark's peer (tests/bench/seccomp.sh)
#   golang-github-containers-common: podman's seccomp.json, its profile
#   containernetworking-plugins (CNI bridge, host-local in /usr/lib/cni),
#   iptables (the bridge plugin's ipMasq): the network benchmark's peers
#   (tests/bench/net.sh)   nftables: nft, to read vethctl --nat's ruleset
#   passt: pasta, for vethctl --pasta (rootless networking)
#   cgroup-tools: cgcreate/cgset/cgexec, example 5's classic one-liner
#   runc, umoci: example 9 runs an OCI bundle (an image umoci unpacked)
#   with runc and with our chain, and compares
#   strace: tests/tests/startup.rs (no tool of a chain calls brk)
# (an entry is a command, or a path pattern for packages that have none)
need=()
for pair in unshare:util-linux nsenter:util-linux ipcmk:util-linux ps:procps ip:iproute2 \
            bwrap:bubblewrap hyperfine:hyperfine busybox:busybox-static newuidmap:uidmap crun:crun \
            cc:gcc /usr/include/seccomp.h:libseccomp-dev \
            '/usr/lib/python3/dist-packages/seccomp*.so:python3-seccomp' \
            /usr/share/containers/seccomp.json:golang-github-containers-common \
            /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables nft:nftables pasta:passt \
            cgcreate:cgroup-tools runc:runc umoci:umoci strace:strace; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || compgen -G "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing packages: ${need[*]} (install them as root)" >&2
  fi
fi

. tests/target-dir.sh

# The unit and end-to-end tests build with stable Rust for the musl target
# (.cargo/config.toml).
if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi

# The binaries the end-to-end tests, the examples and the VM run are the
# ones that ship: build.sh (a pinned nightly rebuilds std, see there).
# `cargo test` below does not rebuild them.
bash build.sh

# The Debian rootfs that tests/tests/examples.rs and the demo run bash in
# (examples/mkrootfs.sh --debian) is debootstrapped once into the script's
# cache, here, without the 30 s a test's command gets: on a fresh machine
# installing debootstrap and running it took longer (CI, 2026-12-07). Later
# builds unpack the cached tarball in seconds.
cache=${MKROOTFS_CACHE:-/var/cache/chain-rootfs}
if [ "$(id -u)" = 0 ] && ! compgen -G "$cache/debian-*-minbase-procps.tar" >/dev/null; then
  warm=$(mktemp -d)
  bash examples/mkrootfs.sh --debian "$warm/rootfs" >/dev/null \
    || echo "tests/run.sh: the Debian rootfs could not be made (examples.rs will fail and say why)" >&2
  rm -rf --one-file-system -- "$warm"
fi

# The tests, then one closing line with the totals over every test binary.
log=$(mktemp)
# The tests create the user chaintest (uid 4242) with subordinate ids for the
# rootless checks (tests/src/lib.rs: test_user); it goes when the run ends.
remove_test_user() {
  rm -f "$log"
  if id chaintest >/dev/null 2>&1; then userdel chaintest >/dev/null 2>&1 || true; fi
  sed -i '/^chaintest:/d' /etc/subuid /etc/subgid 2>/dev/null || true
}
trap remove_test_user EXIT
status=0
cargo test --release --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
# What this machine cannot show (pure cgroup v2, pure v1): cgctl's checks in
# a throw-away VM, one boot (tests/vm/README.md). It installs qemu and gets
# a kernel itself, and fails, never skips, when it cannot run.
bash tests/vm/run.sh 2>&1 | tee -a "$log" || status=1
# Coverage-guided fuzzing, a short run of every target (fuzz/README.md); a
# crash fails the run. It installs g++ and cargo-fuzz when missing.
bash fuzz/run.sh 2>&1 | tee -a "$log" || status=1
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^vm: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
     /^fuzz: [a-z_]+: [0-9]+ runs in .*, no crash$/ { p += 1 }
     /^fuzz: [a-z_]+: CRASH/ { f += 1 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
