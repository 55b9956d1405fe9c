#!/usr/bin/env bash
# bench.sh: how much does unshare-rs cost, next to the tools people already use?
#
# What it measures. One hyperfine run (so every figure comes from the same
# machine state) of the wall time of these commands, each of which ends by
# exec'ing a static `busybox true`:
#
#   floor         busybox true                       the exec cost alone
#   5 ns + fork   unshare-rs -fpnumi -- busybox true  mount, uts, ipc, net, pid
#                 unshare -fpnumi busybox true        util-linux, same namespaces
#                 bwrap --unshare-pid --unshare-net --unshare-uts --unshare-ipc
#                       --dev-bind / / busybox true   bubblewrap (always a mount ns)
#   4 ns + fork   unshare-rs -fpumi / unshare -fpumi  the same without the net
#                                                     namespace, which dominates
#                                                     the kernel cost
#   user, no fork unshare-rs -U / unshare -U
#   whole container: the same 5 namespaces and a fork, then a root switch into
#   a busybox rootfs (ROOTFS, whose /bin/true is busybox) and its /bin/true:
#                 unshare-rs -fpnumi -- pivot ROOTFS -- /bin/true
#                                       ours: pivot_root, fresh /proc, read-only
#                                       /sys, tmpfs /dev with nodes, devpts,
#                                       /dev/shm, /dev/mqueue, masked paths
#                 unshare -fpnumi --mount-proc chroot ROOTFS /bin/true
#                                       util-linux (its fresh proc goes on the
#                                       host's /proc path, then chroot)
#                 bwrap --unshare-all --ro-bind ROOTFS / --proc /proc --dev /dev
#                       /bin/true
#                 crun --cgroup-manager=disabled run --bundle B ID
#                                       an OCI runtime; the bundle is `crun spec`
#                                       with args /bin/true, no terminal, root
#                                       ROOTFS (read-only) and crun's default
#                                       namespaces (printed with the table)
#                 floor ROOTFS /bin/true
#                                       tests/bench/floor.c (gcc -O2 -static):
#                                       the kernel work of our chain in one
#                                       process: the 5 namespaces, fork, bind
#                                       ROOTFS, proc, ro sysfs, tmpfs /dev + 6
#                                       nodes, devpts, pivot_root, exec
#   rootless: user + mnt, uts, ipc, net, pid namespaces and a fork, created by
#   an unprivileged user (nobody, 65534) who is root inside. EVERY row of this
#   section, its floor included, is prefixed with
#   `setpriv --reuid=65534 --regid=65534 --clear-groups`, so setpriv's own
#   exec is in every row and the ratios compare like with like:
#                 busybox true          the floor of this section (setpriv +
#                                       the exec); its -floor column is what
#                                       setpriv itself costs, and the other
#                                       rows' -floor is measured from it
#                 mapids --root -- unshare-rs -Ufpnmui -- busybox true
#                                       ours: mapids forks a helper that writes
#                                       the one-line maps (own id -> 0) of the
#                                       user namespace unshare-rs creates
#                 unshare -r -fpnmui    util-linux, same namespaces
#                 bwrap --unshare-user --unshare-pid --unshare-net
#                       --unshare-uts --unshare-ipc --uid 0 --gid 0
#                       --dev-bind / /  bubblewrap, same namespaces
#                 bwrap --unshare-all --uid 0 --gid 0 --dev-bind / /
#                                       what a bwrap user types; it also
#                                       creates a cgroup namespace
#                                       (--unshare-cgroup-try), so its label
#                                       says "+cgroup ns"
#   The binaries must be reachable by uid 65534: a checkout under /root, say,
#   is not (tests/target-dir.sh then builds into /var/tmp/chain-target; set
#   CARGO_TARGET_DIR the same way here). If they are not, or if nobody cannot
#   create a user namespace on this kernel, the section is reported as
#   "SKIP: rootless not available: <why>" and the rest is measured.
#
# Why. A user choosing between unshare-rs, util-linux unshare and bubblewrap
# wants to know what each costs for the same namespaces, and how much of it is
# the kernel (namespace creation, exec) versus the tool. The table gives
# median, mean and standard deviation per command, the ratio of each peer's
# median to ours for the same namespace set ("util-linux/unshare-rs = 1.35x"),
# and each median minus the floor (what the tool plus its namespaces add to a
# bare exec). The whole-container rows answer the question a user of the
# chain asks: is `unshare-rs ... -- pivot` cheaper than the one-shot tools
# and runtimes, and how close is it to what the kernel work costs? Its target
# (DESIGN.md "Performance budget" has the reference figures): faster than
# util-linux, bwrap and crun, and within 1.3x of floor.c. Our chain does one
# more exec (pivot) and a little more mounting (/dev/shm, /dev/mqueue, the
# masked paths) than floor.c; that is what the 1.3x leaves room for.
# The rootless rows answer the same question for a user without privileges:
# is `mapids --root -- unshare-rs -U...` (two tools, one more exec) cheaper
# than `unshare -r` and bwrap? Target: faster than both (printed as met or
# not, like the whole container's).
#
# crun here: our chain creates no cgroup (that is cgctl's step), so crun runs
# with --cgroup-manager=disabled and creates none either; that is the same
# work, and it keeps crun from moving its container out of the caller's
# cgroups. crun also refuses to start at all on a hybrid cgroup host whose
# cgroup2 hierarchy (/sys/fs/cgroup/unified) has controllers ("cgroups in
# hybrid mode not supported"), whatever the manager. On such a host the
# whole hyperfine run (every command, so they stay comparable) runs in a
# private mount namespace in which /sys/fs/cgroup/unified is unmounted, and
# the output says so. One container id is used for every crun run: `crun
# run` deletes the container before it exits and hyperfine runs one command
# at a time, so no wrapper shell is needed to make ids unique (and none is
# measured); any state left in crun's rundir is deleted on exit and reported.
#
# The static true: a dynamic /bin/true costs more to exec than the tools
# under test, so /bin/busybox (Debian package busybox-static) is used; the
# output says which true was used and whether it is static.
#
# How to run (as root; from any directory):
#
#   bash tests/bench/bench.sh                  # 300 runs per command
#   BENCH_RUNS=1000 bash tests/bench/bench.sh  # steadier figures
#   BENCH_OUT=bench.json bash tests/bench/bench.sh   # also write JSON
#
# Environment:
#   BENCH_RUNS   runs per command (default 300; 20 warmup runs come on top)
#   BENCH_OUT    if set, the whole result is written there as JSON
#   UNSHARE_RS   our binary (default: the musl release build in target/,
#                built with `cargo build --release -p unshare-rs` if missing;
#                an override is used as given and never built)
#   PIVOT        our pivot, likewise (`cargo build --release -p pivot`)
#   MAPIDS       our mapids, likewise (`cargo build --release -p mapids`)
#   SETPRIV      setpriv, the rootless rows' prefix (default: from PATH)
#   UTIL_UNSHARE util-linux unshare (default: `unshare` from PATH)
#   BWRAP        bubblewrap (default: `bwrap` from PATH)
#   CRUN         crun (default: `crun` from PATH)
#   CC           the C compiler for floor.c (default: `gcc` from PATH)
#   BUSYBOX      the busybox that provides `true` (default /bin/busybox)
#   ROOTFS       the container's root directory, used as given (it needs
#                /bin/true, /proc, /sys, /dev); default: a temporary one built
#                by examples/mkrootfs.sh, or (without that script) a bare one:
#                BUSYBOX as /bin/busybox, /bin/true -> busybox, and the empty
#                directories proc, sys, dev, tmp
#
# hyperfine, bubblewrap, crun and gcc (and busybox-static) are installed with
# apt-get when missing and we are root on a system that has it. A peer (or
# the C floor) that still cannot be had, or that fails to run here, is
# reported as "SKIP: <tool> not available: <why>" and its rows are left out;
# CI turns SKIP into a failure. Our own commands must work: if unshare-rs,
# pivot or mapids is missing and cannot be built, or fails (the rootless row:
# once nobody can reach it and create user namespaces), the script fails.
# Figures are printed, never asserted: timing on shared machines is too noisy
# for a pass/fail threshold (the whole-container and rootless targets are
# printed as met or not).
#
# The script itself creates no namespaces, except the private mount namespace
# for crun on a hybrid cgroup host (above): only the measured commands do,
# and each tears its namespaces down when it exits. Temporary files (the
# rootfs, the bundle, the floor binary) are removed on exit.

set -euo pipefail

PROG=bench.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$SCRIPT_DIR/../.." && pwd)
RUNS=${BENCH_RUNS:-300}
WARMUP=20

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }

[[ $RUNS =~ ^[0-9]+$ ]] && (( RUNS >= 2 )) \
    || die "BENCH_RUNS must be an integer >= 2, got '$RUNS'"

if (( EUID != 0 )); then
    echo "SKIP: root not available: the measured commands create mount, net, pid, uts and ipc namespaces (CAP_SYS_ADMIN)"
    exit 0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
CRUN_ID= CRUN_RUNDIR=
cleanup() {
    # A crun container left behind (a run that died half-way) is deleted.
    if [[ -n $CRUN_ID && -e $CRUN_RUNDIR/$CRUN_ID ]]; then
        "$CRUN" delete --force "$CRUN_ID" >/dev/null 2>&1 || true
    fi
    rm -rf -- "$TMP"
}
trap cleanup EXIT
: >"$TMP/skips.tsv"

# apt_install PKG...: install packages if we can (root and apt-get); the
# package index is refreshed once per run. Returns non-zero if we cannot.
APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if (( ! APT_UPDATED )); then
        note "apt-get update"
        apt-get update -qq >&2 || return 1
        APT_UPDATED=1
    fi
    note "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

skip() {  # skip TOOL WHY
    echo "SKIP: $1 not available: $2"
    printf '%s\t%s\n' "$1" "$2" >>"$TMP/skips.tsv"
}

# find_tool VAR CMD PKG: set VAR to the tool's path (honouring an override
# in the environment variable VAR), installing PKG if needed. On failure VAR
# is empty and WHY says why.
WHY=
find_tool() {
    local var=$1 cmd=$2 pkg=$3 path
    WHY=
    if [[ -n ${!var:-} ]]; then
        path=${!var}
        if [[ $path != */* ]]; then path=$(command -v -- "$path" || true); fi
        if [[ -z $path || ! -x $path ]]; then
            WHY="$var=${!var} is not an executable file"
            printf -v "$var" ''
            return 1
        fi
        printf -v "$var" '%s' "$path"
        return 0
    fi
    path=$(command -v -- "$cmd" || true)
    if [[ -z $path ]]; then
        if apt_install "$pkg"; then
            path=$(command -v -- "$cmd" || true)
            [[ -n $path ]] || WHY="apt-get installed $pkg but '$cmd' is still not in PATH"
        elif command -v apt-get >/dev/null 2>&1; then
            WHY="'$cmd' is not in PATH and apt-get install $pkg failed"
        else
            WHY="'$cmd' is not in PATH and there is no apt-get to install $pkg"
        fi
    fi
    printf -v "$var" '%s' "$path"
    [[ -n $path ]]
}

# --- the measuring tool -----------------------------------------------------
if ! find_tool HYPERFINE hyperfine hyperfine; then
    skip hyperfine "$WHY (nothing can be measured)"
    exit 0
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read hyperfine's JSON"

# --- our binaries -----------------------------------------------------------
# find_ours VAR PKG: VAR (an override, used as given) or the musl release
# build of PKG in target/, built if missing.
find_ours() {
    local var=$1 pkg=$2 path
    if [[ -n ${!var:-} ]]; then
        [[ -x ${!var} && -f ${!var} ]] || die "$var=${!var} is not an executable file"
        return 0
    fi
    path=${CARGO_TARGET_DIR:-$REPO/target}/x86_64-unknown-linux-musl/release/$pkg
    if [[ ! -x $path ]]; then
        command -v cargo >/dev/null 2>&1 || die "$path is missing and there is no cargo to build it"
        note "$path is missing: cargo build --release -p $pkg"
        (cd -- "$REPO" && cargo build --release -p "$pkg") >&2 \
            || die "cargo build --release -p $pkg failed (in $REPO)"
        [[ -x $path ]] || die "cargo built $pkg but $path does not exist (is musl the default target in .cargo/config.toml?)"
    fi
    printf -v "$var" '%s' "$path"
}
find_ours UNSHARE_RS unshare-rs
find_ours PIVOT pivot
find_ours MAPIDS mapids

# --- the peers ---------------------------------------------------------------
find_tool UTIL_UNSHARE unshare util-linux || skip util-linux "$WHY"
find_tool BWRAP bwrap bubblewrap || skip bwrap "$WHY"
find_tool CRUN crun crun || skip crun "$WHY"

# --- the static true ---------------------------------------------------------
# elf_kind FILE: "static", "dynamic" or "unknown" (a PT_INTERP segment means
# the kernel must load a dynamic linker first).
elf_kind() {
    python3 - "$1" <<'EOF'
import struct, sys
try:
    with open(sys.argv[1], "rb") as f:
        data = f.read(1 << 16)
    if data[:4] != b"\x7fELF":
        raise ValueError
    is64, le = data[4] == 2, data[5] == 1
    e = "<" if le else ">"
    if is64:
        phoff, = struct.unpack_from(e + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(e + "HH", data, 0x36)
    else:
        phoff, = struct.unpack_from(e + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(e + "HH", data, 0x2A)
    with open(sys.argv[1], "rb") as f:
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    types = [struct.unpack_from(e + "I", ph, i * phentsize)[0] for i in range(phnum)]
    print("dynamic" if 3 in types else "static")
except Exception:
    print("unknown")
EOF
}

BB=${BUSYBOX:-/bin/busybox}
if [[ ! -x $BB && -z ${BUSYBOX:-} ]]; then
    apt_install busybox-static || true
fi
if [[ -x $BB ]]; then
    TRUE_ARGV=("$BB" true)
    TRUE_KIND=$(elf_kind "$BB")
    TRUE_LABEL="$BB true ($TRUE_KIND)"
else
    bin_true=$(command -v true)  # the builtin does not count: need a file
    [[ $bin_true == */* ]] || bin_true=/bin/true
    [[ -x $bin_true ]] || die "no busybox ($BB) and no $bin_true to exec"
    TRUE_ARGV=("$bin_true")
    TRUE_KIND=$(elf_kind "$bin_true")
    TRUE_LABEL="$bin_true ($TRUE_KIND; busybox not available at $BB, so the floor includes dynamic loading)"
fi
[[ $TRUE_KIND == static ]] || note "warning: ${TRUE_ARGV[*]} is not static: exec costs more than the tools under test"

# --- the whole container: rootfs, floor, OCI bundle ---------------------------
if [[ -n ${ROOTFS:-} ]]; then
    [[ -d $ROOTFS ]] || die "ROOTFS=$ROOTFS is not a directory"
    ROOTFS=$(realpath -- "$ROOTFS")
    ROOTFS_LABEL="$ROOTFS (ROOTFS, as given)"
elif [[ -f $REPO/examples/mkrootfs.sh ]]; then
    ROOTFS=$TMP/rootfs
    ( [[ -x $BB ]] && export BUSYBOX=$BB; bash "$REPO/examples/mkrootfs.sh" "$ROOTFS" ) >&2 \
        || die "examples/mkrootfs.sh $ROOTFS failed"
    ROOTFS_LABEL="$ROOTFS (built by examples/mkrootfs.sh)"
else
    [[ -x $BB && $TRUE_KIND == static ]] \
        || die "no examples/mkrootfs.sh and no static busybox ($BB) to build a rootfs from"
    ROOTFS=$TMP/rootfs
    mkdir -p -- "$ROOTFS"/{bin,proc,sys,dev,tmp}
    cp -- "$BB" "$ROOTFS/bin/busybox"
    ln -s busybox "$ROOTFS/bin/true"
    ROOTFS_LABEL="$ROOTFS (bare: $BB as /bin/busybox, /bin/true -> busybox)"
fi
[[ -x $ROOTFS/bin/true ]] || die "$ROOTFS has no executable /bin/true"
for d in proc sys dev; do
    [[ -d $ROOTFS/$d ]] || die "$ROOTFS has no /$d directory to mount on"
done
ROOTFS_TRUE=$(readlink -f -- "$ROOTFS/bin/true")
ROOTFS_TRUE_KIND=$(elf_kind "$ROOTFS_TRUE")
ROOTFS_LABEL+="; its /bin/true is ${ROOTFS_TRUE#"$ROOTFS"} ($ROOTFS_TRUE_KIND)"

# The floor: tests/bench/floor.c, static, so its own exec is as cheap as can be.
FLOOR=
if find_tool CC gcc gcc; then
    [[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || apt_install libc6-dev || true
    if "$CC" -O2 -static -o "$TMP/floor" "$SCRIPT_DIR/floor.c" 2>"$TMP/cc.err"; then
        FLOOR=$TMP/floor
    else
        skip floor.c "$CC -O2 -static $SCRIPT_DIR/floor.c failed: $(tr '\n' ' ' <"$TMP/cc.err" | cut -c1-200)"
    fi
else
    skip floor.c "no C compiler: $WHY"
fi

# crun: an OCI bundle around the same rootfs (see the header for the choices).
CRUN_NOTE= CRUN_NAMESPACES= RUN_IN=()
if [[ -n $CRUN ]]; then
    CRUN_RUNDIR=$("$CRUN" --version 2>/dev/null | sed -n 's/^rundir: *//p' | head -n1)
    CRUN_RUNDIR=${CRUN_RUNDIR:-/run/crun}
    mkdir -p -- "$TMP/bundle"
    if ! (cd -- "$TMP/bundle" && "$CRUN" spec) >"$TMP/crun.err" 2>&1; then
        skip crun "crun spec failed: $(tr '\n' ' ' <"$TMP/crun.err" | cut -c1-200)"
        CRUN=
    else
        CRUN_NAMESPACES=$(python3 - "$TMP/bundle/config.json" "$ROOTFS" <<'EOF'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"] = {"path": rootfs, "readonly": True}
json.dump(c, open(path, "w"), indent=2)
print(",".join(n["type"] for n in c.get("linux", {}).get("namespaces", [])))
EOF
)
    fi
fi
if [[ -n $CRUN ]]; then
    CRUN_ID=unshare-rs-bench-$$
    [[ ! -e $CRUN_RUNDIR/$CRUN_ID ]] || die "a crun container $CRUN_ID already exists in $CRUN_RUNDIR"
    CRUN_NOTE="--cgroup-manager=disabled (our chain creates no cgroup either); namespaces from crun spec: $CRUN_NAMESPACES; one container id ($CRUN_ID) for every run, no wrapper shell"
    # A hybrid host whose cgroup2 has controllers: crun refuses to run at
    # all, so everything is measured in a mount namespace without cgroup2.
    if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == tmpfs \
          && $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs \
          && -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
        RUN_IN=("$UNSHARE_RS" -m -- /bin/sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
        if "${RUN_IN[@]}" true 2>"$TMP/runin.err"; then
            CRUN_NOTE+="; hybrid cgroups with controllers on cgroup2 ($(cat /sys/fs/cgroup/unified/cgroup.controllers)), which crun refuses: ALL commands ran in a private mount namespace without /sys/fs/cgroup/unified"
        else
            skip crun "hybrid cgroup host with controllers on cgroup2 (crun refuses it), and hiding /sys/fs/cgroup/unified in a mount namespace failed: $(tr '\n' ' ' <"$TMP/runin.err" | cut -c1-200)"
            RUN_IN=() CRUN= CRUN_ID=
        fi
    fi
fi

# --- rootless: can uid 65534 run the section at all? ---------------------------
# Every rootless row runs as nobody behind the same setpriv prefix (see the
# header). The section is skipped as a whole, with the reason, if nobody
# cannot reach our binaries or the true, or cannot create a user namespace
# here; after these checks our row must work like any other.
NOBODY=65534
ROOTLESS_PREFIX=() ROOTLESS_SKIP=
rootless_skip() { ROOTLESS_SKIP=$1; skip rootless "$1"; }
# closed_dir FILE: the first directory on FILE's path that uid 65534 may not
# enter (empty if none).
closed_dir() {
    local rest d=
    rest=$(realpath -s -- "$1") || return 0
    rest=${rest#/}
    while [[ $rest == */* ]]; do
        d+=/${rest%%/*}
        rest=${rest#*/}
        "${ROOTLESS_PREFIX[@]}" test -x "$d" 2>/dev/null || { printf '%s' "$d"; return 0; }
    done
}
if ! find_tool SETPRIV setpriv util-linux; then
    rootless_skip "no setpriv to run the rows as uid $NOBODY: $WHY"
else
    ROOTLESS_PREFIX=("$SETPRIV" --reuid=$NOBODY --regid=$NOBODY --clear-groups)
    if ! "${ROOTLESS_PREFIX[@]}" true 2>"$TMP/rl.err"; then
        rootless_skip "'${ROOTLESS_PREFIX[*]} true' fails: $(tr '\n' ' ' <"$TMP/rl.err" | cut -c1-200)"
    else
        unreachable=()
        for f in "$MAPIDS" "$UNSHARE_RS" "${TRUE_ARGV[0]}"; do
            "${ROOTLESS_PREFIX[@]}" test -x "$f" 2>/dev/null && continue
            why=$(closed_dir "$f")
            unreachable+=("$f${why:+ ($why is closed to others)}")
        done
        if (( ${#unreachable[@]} )); then
            rootless_skip "uid $NOBODY cannot execute ${unreachable[*]}; build where others can reach it (CARGO_TARGET_DIR=/var/tmp/chain-target, as tests/target-dir.sh does) or set UNSHARE_RS, MAPIDS, BUSYBOX"
        elif ! "${RUN_IN[@]}" "${ROOTLESS_PREFIX[@]}" "${TRUE_ARGV[@]}" 2>"$TMP/rl.err"; then
            rootless_skip "'${ROOTLESS_PREFIX[*]} ${TRUE_ARGV[*]}' (the section's floor) fails: $(tr '\n' ' ' <"$TMP/rl.err" | cut -c1-200)"
        else
            # util-linux if we have it, so that a bug of ours is not taken
            # for a kernel that refuses unprivileged user namespaces.
            userns=("${UTIL_UNSHARE:-$UNSHARE_RS}" -U)
            [[ -n $UTIL_UNSHARE ]] || userns+=(--)
            if ! "${RUN_IN[@]}" "${ROOTLESS_PREFIX[@]}" "${userns[@]}" "${TRUE_ARGV[@]}" 2>"$TMP/rl.err"; then
                rootless_skip "uid $NOBODY cannot create a user namespace here ('${userns[*]} ${TRUE_ARGV[*]}' fails: $(tr '\n' ' ' <"$TMP/rl.err" | cut -c1-160); user.max_user_namespaces=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo '?'))"
            fi
        fi
    fi
fi

# --- the commands -----------------------------------------------------------
# One row per command: tool, namespace set, display name, argv. The key
# "ours" marks our tool; ratios compare each peer with ours in the same set.
NAMES=() TOOLS=() SETS=() CMDS=()
add() {  # add TOOL SET NAME ARGV...
    local tool=$1 set=$2 name=$3 cmd= w q
    shift 3
    for w in "$@"; do printf -v q '%q' "$w"; cmd+="${cmd:+ }$q"; done
    # A command that fails here would abort hyperfine; try each once first
    # (where hyperfine will run it: see RUN_IN).
    if ! "${RUN_IN[@]}" "$@" >"$TMP/check.out" 2>"$TMP/check.err"; then
        local err
        err=$(tr '\n' ' ' <"$TMP/check.err" | cut -c1-200)
        [[ $tool == ours ]] && die "'$name' fails: ${err:-exit status not 0}"
        skip "$tool" "'$name' fails here: ${err:-exit status not 0}"
        return 0
    fi
    TOOLS+=("$tool") SETS+=("$set") NAMES+=("$name") CMDS+=("$cmd")
}

T=("${TRUE_ARGV[@]}")
add floor floor "${T[*]##*/} (floor)" "${T[@]}"
NS5="mnt,uts,ipc,net,pid +fork"
NS4="mnt,uts,ipc,pid +fork"
NSU="user, no fork"
add ours "$NS5" "unshare-rs -fpnumi" "$UNSHARE_RS" -fpnumi -- "${T[@]}"
[[ -n $UTIL_UNSHARE ]] && add util-linux "$NS5" "unshare -fpnumi" "$UTIL_UNSHARE" -fpnumi "${T[@]}"
[[ -n $BWRAP ]] && add bwrap "$NS5" "bwrap (pid,net,uts,ipc,+mnt)" \
    "$BWRAP" --unshare-pid --unshare-net --unshare-uts --unshare-ipc --dev-bind / / "${T[@]}"
add ours "$NS4" "unshare-rs -fpumi" "$UNSHARE_RS" -fpumi -- "${T[@]}"
[[ -n $UTIL_UNSHARE ]] && add util-linux "$NS4" "unshare -fpumi" "$UTIL_UNSHARE" -fpumi "${T[@]}"
add ours "$NSU" "unshare-rs -U" "$UNSHARE_RS" -U -- "${T[@]}"
[[ -n $UTIL_UNSHARE ]] && add util-linux "$NSU" "unshare -U" "$UTIL_UNSHARE" -U "${T[@]}"
CT="whole container (5 ns)"
add ours "$CT" "unshare-rs -fpnumi -- pivot" "$UNSHARE_RS" -fpnumi -- "$PIVOT" "$ROOTFS" -- /bin/true
[[ -n $UTIL_UNSHARE ]] && add util-linux "$CT" "unshare --mount-proc chroot" \
    "$UTIL_UNSHARE" -fpnumi --mount-proc chroot "$ROOTFS" /bin/true
[[ -n $BWRAP ]] && add bwrap "$CT" "bwrap --unshare-all --ro-bind" \
    "$BWRAP" --unshare-all --ro-bind "$ROOTFS" / --proc /proc --dev /dev /bin/true
[[ -n $CRUN ]] && add crun "$CT" "crun run (no cgroup)" \
    "$CRUN" --cgroup-manager=disabled run --bundle "$TMP/bundle" "$CRUN_ID"
[[ -n $FLOOR ]] && add floor "$CT" "floor.c (one process)" "$FLOOR" "$ROOTFS" /bin/true
# Rootless: the same setpriv prefix on every row, the floor included.
RL="rootless: user+5 ns +fork"
if [[ -z $ROOTLESS_SKIP ]]; then
    P=("${ROOTLESS_PREFIX[@]}")
    add floor "$RL" "${T[*]##*/} (setpriv floor)" "${P[@]}" "${T[@]}"
    add ours "$RL" "mapids --root unshare-rs -Ufpnmui" \
        "${P[@]}" "$MAPIDS" --root -- "$UNSHARE_RS" -Ufpnmui -- "${T[@]}"
    [[ -n $UTIL_UNSHARE ]] && add util-linux "$RL" "unshare -r -fpnmui" \
        "${P[@]}" "$UTIL_UNSHARE" -r -fpnmui "${T[@]}"
    [[ -n $BWRAP ]] && add bwrap "$RL" "bwrap (user,pid,net,uts,ipc,+mnt)" \
        "${P[@]}" "$BWRAP" --unshare-user --unshare-pid --unshare-net --unshare-uts --unshare-ipc \
        --uid 0 --gid 0 --dev-bind / / "${T[@]}"
    [[ -n $BWRAP ]] && add bwrap "$RL" "bwrap --unshare-all (+cgroup ns)" \
        "${P[@]}" "$BWRAP" --unshare-all --uid 0 --gid 0 --dev-bind / / "${T[@]}"
fi

: >"$TMP/rows.tsv"
HF_ARGS=()
for i in "${!NAMES[@]}"; do
    printf '%s\t%s\t%s\t%s\n' "${TOOLS[i]}" "${SETS[i]}" "${NAMES[i]}" "${CMDS[i]}" >>"$TMP/rows.tsv"
    HF_ARGS+=(--command-name "${NAMES[i]}" "${CMDS[i]}")
done

# --- measure ----------------------------------------------------------------
note "hyperfine: ${#NAMES[@]} commands, $WARMUP warmup + $RUNS runs each"
"${RUN_IN[@]}" "$HYPERFINE" -N --warmup "$WARMUP" --runs "$RUNS" --style basic \
    --export-json "$TMP/hyperfine.json" "${HF_ARGS[@]}" >&2 \
    || die "hyperfine failed"
CRUN_LEFT=
if [[ -n $CRUN_ID && -e $CRUN_RUNDIR/$CRUN_ID ]]; then
    CRUN_LEFT="crun left $CRUN_RUNDIR/$CRUN_ID behind (deleted on exit)"
    note "warning: $CRUN_LEFT"
fi

# --- report -----------------------------------------------------------------
RUN_IN_Q=
for w in "${RUN_IN[@]}"; do printf -v q '%q' "$w"; RUN_IN_Q+="${RUN_IN_Q:+ }$q"; done
HF_VERSION=$("$HYPERFINE" --version 2>/dev/null | head -n1 || true)
UL_VERSION=$([[ -n $UTIL_UNSHARE ]] && "$UTIL_UNSHARE" --version 2>/dev/null | head -n1 || true)
BW_VERSION=$([[ -n $BWRAP ]] && "$BWRAP" --version 2>/dev/null | head -n1 || true)
CR_VERSION=$([[ -n $CRUN ]] && "$CRUN" --version 2>/dev/null | head -n1 || true)
CC_VERSION=$([[ -n $FLOOR ]] && "$CC" --version 2>/dev/null | head -n1 || true)

HF_VERSION=$HF_VERSION UL_VERSION=$UL_VERSION BW_VERSION=$BW_VERSION \
TRUE_LABEL=$TRUE_LABEL TRUE_KIND=$TRUE_KIND TRUE_CMD="${TRUE_ARGV[*]}" \
UNSHARE_RS=$UNSHARE_RS UTIL_UNSHARE=$UTIL_UNSHARE BWRAP=$BWRAP \
PIVOT=$PIVOT CRUN=$CRUN CR_VERSION=$CR_VERSION CRUN_NOTE=$CRUN_NOTE CRUN_LEFT=$CRUN_LEFT \
CRUN_NAMESPACES=$CRUN_NAMESPACES CRUN_RUNDIR=$CRUN_RUNDIR RUN_IN="${RUN_IN_Q:-}" \
FLOOR_C="$SCRIPT_DIR/floor.c" FLOOR=$FLOOR CC_VERSION=$CC_VERSION \
ROOTFS=$ROOTFS ROOTFS_LABEL=$ROOTFS_LABEL CONTAINER_SET=$CT \
MAPIDS=$MAPIDS SETPRIV=${SETPRIV:-} ROOTLESS_SET=$RL ROOTLESS_SKIP=$ROOTLESS_SKIP \
ROOTLESS_PREFIX="${ROOTLESS_PREFIX[*]}" \
RUNS=$RUNS WARMUP=$WARMUP KERNEL="$(uname -r)" BENCH_OUT=${BENCH_OUT:-} \
python3 - "$TMP/hyperfine.json" "$TMP/rows.tsv" "$TMP/skips.tsv" <<'EOF'
import json, os, sys

hf = json.load(open(sys.argv[1]))["results"]
rows = [l.rstrip("\n").split("\t", 3) for l in open(sys.argv[2]) if l.strip()]
skips = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[3]) if l.strip()]
assert len(hf) == len(rows), "hyperfine returned %d results for %d commands" % (len(hf), len(rows))
env = os.environ
ms = lambda s: s * 1000.0
peer_label = {"util-linux": "util-linux", "bwrap": "bwrap", "crun": "crun"}
CT = env["CONTAINER_SET"]
RL = env["ROOTLESS_SET"]
ours_label = lambda nsset: {CT: "unshare-rs+pivot", RL: "mapids+unshare-rs"}.get(nsset, "unshare-rs")

results = []
for (tool, nsset, name, cmd), r in zip(rows, hf):
    results.append({
        "name": name, "tool": tool, "namespaces": nsset, "command": cmd,
        "median_ms": ms(r["median"]), "mean_ms": ms(r["mean"]),
        "stddev_ms": ms(r["stddev"] or 0.0),
        "min_ms": ms(r["min"]), "max_ms": ms(r["max"]), "runs": len(r["times"]),
    })
# The exec floor (set "floor") is what every "-floor" column subtracts; a
# set may have its own floor too (the whole container: floor.c), against
# which ours gets a ratio.
floor = next(r["median_ms"] for r in results if r["namespaces"] == "floor")
# The rootless section has its own exec floor (setpriv + busybox true, as
# nobody): its rows' -floor is measured from it, and its -floor is setpriv's
# own cost over the plain floor. It gets no ratio: it is no kernel-work floor.
rl_floor = next((r["median_ms"] for r in results
                 if r["namespaces"] == RL and r["tool"] == "floor"), None)
set_floor = {r["namespaces"]: r["median_ms"] for r in results
             if r["tool"] == "floor" and r["namespaces"] not in ("floor", RL)}
ours = {r["namespaces"]: r["median_ms"] for r in results if r["tool"] == "ours"}
for r in results:
    base_floor = rl_floor if (r["namespaces"] == RL and r["tool"] != "floor") else floor
    r["minus_floor_ms"] = None if r["namespaces"] == "floor" else r["median_ms"] - base_floor
    base = ours.get(r["namespaces"])
    r["ratio_to_unshare_rs"] = (r["median_ms"] / base) if (r["tool"] not in ("floor", "ours") and base) else None
    sf = set_floor.get(r["namespaces"])
    r["ratio_to_floor"] = (r["median_ms"] / sf) if (r["tool"] == "ours" and sf) else None

print()
print("unshare-rs benchmark: %s, %d warmup + %d runs per command, no shell (-N)"
      % (env["HF_VERSION"] or "hyperfine", int(env["WARMUP"]), int(env["RUNS"])))
print("kernel %s; every command execs: %s" % (env["KERNEL"], env["TRUE_LABEL"]))
print("unshare-rs: %s" % env["UNSHARE_RS"])
if env["UTIL_UNSHARE"]:
    print("util-linux: %s (%s)" % (env["UTIL_UNSHARE"], env["UL_VERSION"]))
if env["BWRAP"]:
    print("bwrap:      %s (%s)" % (env["BWRAP"], env["BW_VERSION"]))
print("pivot:      %s" % env["PIVOT"])
print("rootfs:     %s" % env["ROOTFS_LABEL"])
if env["CRUN"]:
    print("crun:       %s (%s), %s" % (env["CRUN"], env["CR_VERSION"], env["CRUN_NOTE"]))
if env["FLOOR"]:
    print("floor.c:    %s, built with %s -O2 -static" % (env["FLOOR_C"], env["CC_VERSION"] or "cc"))
if rl_floor is not None:
    print("mapids:     %s" % env["MAPIDS"])
    print("rootless:   user,mnt,uts,ipc,net,pid namespaces + fork, as uid 65534 (root inside):"
          " EVERY row of the section, its floor included, runs as `%s COMMAND`, so setpriv's"
          " exec is in every row and the ratios are fair; its -floor column is measured from"
          " its own setpriv floor (the floor row's -floor: what setpriv adds)" % env["ROOTLESS_PREFIX"])
print()
hdr = ("namespaces", "command", "median ms", "mean ms", "stddev ms", "-floor ms", "ratio")
fmt = "%-26s %-34s %9s %9s %9s %9s  %s"
print(fmt % hdr)
print("-" * 120)
last = None
for r in results:
    nsset = r["namespaces"] if r["namespaces"] != last else ""
    last = r["namespaces"]
    ratio = ""
    if r["ratio_to_unshare_rs"] is not None:
        ratio = "%s/%s = %.2fx" % (peer_label.get(r["tool"], r["tool"]),
                                   ours_label(r["namespaces"]), r["ratio_to_unshare_rs"])
    elif r["ratio_to_floor"] is not None:
        ratio = "%s/floor = %.2fx" % (ours_label(r["namespaces"]), r["ratio_to_floor"])
    mf = "" if r["minus_floor_ms"] is None else "%+.3f" % r["minus_floor_ms"]
    print(fmt % (nsset, r["name"], "%.3f" % r["median_ms"], "%.3f" % r["mean_ms"],
                 "%.3f" % r["stddev_ms"], mf, ratio))
print()
print("unshare-rs median minus the floor (%.3f ms): %s" % (floor, ", ".join(
    "%s %+.3f ms" % (r["name"].split(" ", 1)[1], r["minus_floor_ms"])
    for r in results if r["tool"] == "ours" and r["namespaces"] != RL)))
if CT in ours:
    # The whole container's target: faster than every peer, within 1.3x of
    # floor.c. Printed, not asserted.
    checks = ["%s %.2fx %s" % (peer_label[r["tool"]], r["ratio_to_unshare_rs"],
                               "ok" if r["ratio_to_unshare_rs"] > 1 else "MISSED")
              for r in results if r["namespaces"] == CT and r["ratio_to_unshare_rs"] is not None]
    sf = set_floor.get(CT)
    if sf:
        q = ours[CT] / sf
        checks.append("floor %.2fx %s" % (q, "ok" if q <= 1.3 else "MISSED"))
    missing = [t for t in ("util-linux", "bwrap", "crun")
               if not any(r["tool"] == t and r["namespaces"] == CT for r in results)]
    missing += [] if sf else ["floor"]
    print("whole container target (peers/unshare-rs+pivot > 1, unshare-rs+pivot/floor <= 1.3): %s%s"
          % (", ".join(checks) or "nothing to compare with",
             "; not measured: " + ", ".join(missing) if missing else ""))
rl_peers = {r["name"]: r["ratio_to_unshare_rs"] for r in results
            if r["namespaces"] == RL and r["ratio_to_unshare_rs"] is not None}
if RL in ours:
    # The rootless target: faster than util-linux and bwrap. Printed, not
    # asserted.
    checks = ["%s %.2fx %s" % (n, q, "ok" if q > 1 else "MISSED") for n, q in rl_peers.items()]
    missing = [t for t in ("util-linux", "bwrap")
               if not any(r["tool"] == t and r["namespaces"] == RL for r in results)]
    print("rootless target (peers/mapids+unshare-rs > 1, all as nobody behind setpriv): %s%s"
          % ("; ".join(checks) or "nothing to compare with",
             "; not measured: " + ", ".join(missing) if missing else ""))
if env["CRUN_LEFT"]:
    print("warning: %s" % env["CRUN_LEFT"])
for tool, why in skips:
    print("skipped: %s (%s)" % (tool, why))

out = env.get("BENCH_OUT")
if out:
    doc = {
        "hyperfine": env["HF_VERSION"], "kernel": env["KERNEL"],
        "runs": int(env["RUNS"]), "warmup": int(env["WARMUP"]), "shell": "none",
        "true": {"command": env["TRUE_CMD"], "linkage": env["TRUE_KIND"], "label": env["TRUE_LABEL"]},
        "tools": {"unshare-rs": env["UNSHARE_RS"], "mapids": env["MAPIDS"],
                  "setpriv": env["SETPRIV"] or None,
                  "util-linux": {"path": env["UTIL_UNSHARE"] or None, "version": env["UL_VERSION"] or None},
                  "bwrap": {"path": env["BWRAP"] or None, "version": env["BW_VERSION"] or None},
                  "pivot": env["PIVOT"],
                  "crun": {"path": env["CRUN"] or None, "version": env["CR_VERSION"] or None,
                           "namespaces": env["CRUN_NAMESPACES"].split(",") if env["CRUN"] else None,
                           "cgroup_manager": "disabled" if env["CRUN"] else None,
                           "note": env["CRUN_NOTE"] or None,
                           "left_behind": env["CRUN_LEFT"] or None},
                  "floor.c": {"source": env["FLOOR_C"], "binary_built": bool(env["FLOOR"]),
                              "compiler": env["CC_VERSION"] or None}},
        "rootfs": {"path": env["ROOTFS"], "label": env["ROOTFS_LABEL"]},
        "run_in": env["RUN_IN"] or None,
        "floor_median_ms": floor,
        "container": {
            "namespaces": CT,
            "unshare_rs_pivot_median_ms": ours.get(CT),
            "floor_c_median_ms": set_floor.get(CT),
            "unshare_rs_pivot_over_floor": (ours[CT] / set_floor[CT]) if (CT in ours and CT in set_floor) else None,
            "peer_over_unshare_rs_pivot": {r["tool"]: r["ratio_to_unshare_rs"] for r in results
                                           if r["namespaces"] == CT and r["ratio_to_unshare_rs"] is not None},
        },
        "rootless": {
            "measured": RL in ours,
            "skip_reason": env["ROOTLESS_SKIP"] or None,
            "set": RL,
            "namespaces": ["user", "mnt", "uts", "ipc", "net", "pid"], "fork": True,
            "uid": 65534, "maps": "own uid and gid -> 0, one line each",
            "prefix": env["ROOTLESS_PREFIX"] or None,
            "note": "every row of the set, its floor included, runs behind the prefix; "
                    "-floor of its rows is measured from its own floor; "
                    "bwrap --unshare-all also creates a cgroup namespace",
            "setpriv_floor_median_ms": rl_floor,
            "setpriv_cost_ms": (rl_floor - floor) if rl_floor is not None else None,
            "mapids_unshare_rs_median_ms": ours.get(RL),
            "peer_over_mapids_unshare_rs": rl_peers or None,
        },
        "results": results,
        "skipped": [{"tool": t, "reason": w} for t, w in skips],
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print("JSON written to %s" % out)
EOF
