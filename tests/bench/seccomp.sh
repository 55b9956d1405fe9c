#!/usr/bin/env bash
# seccomp.sh: what do seccompctl's filters cost, per syscall and at start-up,
# next to libseccomp (what crun and podman use), crun and bubblewrap?
#
# bench.sh runs it at its end; it can also run alone. Every figure comes
# from this one run (same machine state) and is printed, never asserted.
#
# The profile is podman's default, /usr/share/containers/seccomp.json (Debian
# package golang-github-containers-common), evaluated for podman's default
# capabilities (default_capabilities in /usr/share/containers/containers.conf,
# LIST below) by `seccompctl --profile seccomp.json --caps LIST
# --print-profile`: the OCI JSON (OCI.json) that every tool then gets. It
# names three ABIs, x86_64, x86 (i386) and x32, as podman writes them into a
# container's config.json.
#
# The filters (raw classic BPF files, instruction counts printed):
#   ours          `seccompctl --profile OCI.json --caps LIST --dump-raw F`:
#                 one tree-shaped program for all three ABIs
#   libseccomp    python3-seccomp (libseccomp's own binding; tests/bench/sclo.c
#                 -x if the binding is missing) on the same OCI.json,
#                 following crun 1.8.1's compile rules: a rule whose action is
#                 the default action is skipped, a name libseccomp does not
#                 know is skipped, conditions on a repeated argument index
#                 become one rule each. Four variants: native (x86_64 only)
#                 and 3-ABI (x86_64, x86, x32: exactly what crun loads for
#                 podman), each with libseccomp's default optimisation (a
#                 linear chain; crun sets none) and SCMP_FLTATR_CTL_OPTIMIZE=2
#                 (a binary tree). sclo's own export of the native and 3-ABI
#                 default filters is compared with the binding's (identical
#                 is printed), so both peers compile the same program.
#
# 1. Per-syscall cost. tests/bench/sysloop.c (musl-gcc -static) loads one of
#    the BPF files with seccomp(2) SECCOMP_SET_MODE_FILTER + SPEC_ALLOW after
#    PR_SET_NO_NEW_PRIVS (the same loader for every condition, so only the
#    program differs), makes N/20 warm-up calls, then times N raw syscall(2)
#    calls with CLOCK_MONOTONIC and prints ns per call and the call's result.
#    Cases:
#      getppid                  allowed, no argument rule: the kernel's action
#                               cache (5.11+) lets it through without running
#                               the filter
#      personality(0xffffffff)  allowed by an argument rule
#      socket(AF_UNIX, 0x7fff, 0)  argument rules (AF_NETLINK/NETLINK_AUDIT is
#                               refused without CAP_AUDIT_WRITE); the kernel
#                               then says EINVAL
#      futex_waitv(NULL, 0, 0, NULL, 0)  449, unlisted: the default action
#                               (ERRNO(ENOSYS))
#      process_mrelease(-1, 0)  448, the highest-numbered allowed call; EBADF
#    Conditions: no filter, ours, the four libseccomp filters. Every
#    case x condition is a fresh process pinned to one CPU (taskset -c CPU),
#    all of them shuffled within each round, over several rounds; the table
#    gives the median per cell and its delta to "no filter". A cBPF
#    interpreter (in this script's python) runs each case through each filter
#    and prints the instructions executed, and whether the kernel's action
#    cache takes the call without running the filter (the path reads only nr
#    and arch, with the instructions the kernel's emulation knows, and ends in
#    ALLOW); for ours its counts are checked against `seccompctl --test`.
#    Every filter's result is checked against the others'. Target, printed as
#    met or MISSED per case: with all three ABIs handled, our overhead at most
#    that of libseccomp's x86_64-only binary tree (native, OPTIMIZE=2).
#
# 2a. Start-up (hyperfine -N), each row ending in a static `busybox true`:
#      busybox true                           the floor
#      sysloop -- busybox true                the loader's own exec, no filter
#      sysloop -f OURS.bpf -- busybox true    loading our precompiled filter:
#      sysloop -f DEFAULT.bpf -- ...          minus the row above, the
#                                             kernel's own load cost (most of
#                                             it builds the action cache);
#                                             DEFAULT is --default's filter
#      seccompctl --caps LIST --nnp --unconfined --  the tool without a filter
#      seccompctl --profile OCI.json --caps LIST --nnp --
#      seccompctl --default --
#    (seccompctl's rows minus --unconfined minus the kernel's load is what
#    its parse, evaluation and compile cost: printed)
#      sclo -A x86_64 RULES -- / sclo RULES --  libseccomp compile + load, native
#                                             and 3-ABI (tests/bench/sclo.c,
#                                             static: crun's compile, then
#                                             export + seccomp(2) as crun
#                                             does; RULES is OCI.json
#                                             flattened, so no JSON parse)
#    Target: `seccompctl --default` at most 0.5 ms over the floor (met/MISSED).
# 2b. The whole secure chain, five namespaces + fork + root switch + filter,
#    ending in the rootfs's /bin/true (busybox):
#      ours    cgctl --pids 100 --name G -- unshare-rs -fpnumi -- pivot ROOTFS
#              -- seccompctl --profile /oci.json --caps LIST --nnp -- /bin/true
#              (G is made once before timing and joined by every run, below
#              the script's own cgroup, as bench.sh's join rows do; /oci.json
#              is OCI.json copied into ROOTFS)
#      ours --bpf  the same chain with `seccompctl --bpf /ours.bpf --caps
#              LIST --nnp`: the program --dump-raw wrote (OURS.bpf, the file
#              bwrap's row loads), read and loaded as it is, no profile to
#              parse and compile: bwrap's work, like with like
#      crun    crun --root STATE --cgroup-manager=disabled run --bundle B ID,
#              B = `crun spec` with args /bin/true, no terminal, ROOTFS
#              read-only, capabilities LIST (bounding, effective, permitted;
#              no inheritable or ambient), no /sys/fs/cgroup mount (our chain
#              mounts none) and linux.seccomp = OCI.json: crun compiles it
#              with libseccomp on every run
#      bwrap   sysloop -o 10=OURS.bpf -- bwrap --unshare-all --ro-bind ROOTFS
#              / --proc /proc --dev /dev --cap-drop ALL --cap-add CAP_X...
#              --seccomp 10 /bin/true: our dumped filter; hyperfine -N has no
#              shell, so the static sysloop opens the file as fd 10 and execs
#              bwrap: this row INCLUDES that extra exec (as the output says)
#    Each also runs without its filter (ours without seccompctl; crun
#    without linux.seccomp; bwrap without --seccomp, same wrapper), so the
#    table shows what the filter step adds to each, and ours also without
#    cgctl (the work bwrap does: no cgroup). Ratios crun/ours and
#    bwrap/ours (also to ours without cgctl); target, on the full chain:
#    faster than both (met/MISSED).
#    crun refuses a hybrid cgroup host whose cgroup2 has controllers; as in
#    bench.sh, the whole hyperfine run of this set then runs in a private
#    mount namespace without /sys/fs/cgroup/unified (RUN_IN), and our rows,
#    and their floor, go back to this script's mount namespace first
#    (`sysloop -m /proc/PID/ns/mnt --`, one static exec more, charged to
#    ours) so that cgctl sees the host's layout. If cgctl cannot make its
#    group here, the chain runs without it (SKIP line, and the row says so).
#
# Why. A user of the chain wants to know whether seccompctl's filter makes
# every syscall dearer than the one podman/crun would load, and what it adds
# to a container's start: libseccomp's 3-ABI compile costs crun ~20 ms per
# start here (shared/notes/measured-seccomp.md has the hand-made baseline).
#
# Time: well under 2.5 minutes here (the section prints its own time). The
# hyperfine sets run BENCH_RUNS/2 runs per command (at least 10, at most 300)
# after 10 warm-up runs; the per-syscall table has BENCH_RUNS/10 rounds (at
# least 3, at most 40) of SECCOMP_CALLS calls per process. Many short
# processes rather than few long ones: on a VM one process runs a call at one
# of two or three speeds for its whole life (~95 or ~127 ns for getppid
# here), so the median needs many processes. BENCH_RUNS=300 takes about
# 40 s here, CI's 200 about 30 s.
#
# How to run (as root; from any directory):
#
#   bash tests/bench/seccomp.sh                 # BENCH_RUNS=300: 150 runs, 30 rounds
#   BENCH_RUNS=600 bash tests/bench/seccomp.sh  # steadier: 300 runs, 40 rounds
#
# Environment:
#   BENCH_RUNS     as bench.sh (default 300), scaled as above
#   SECCOMP_CALLS  calls per per-syscall process (default 100000)
#   SECCOMP_CPU    the CPU the per-syscall processes are pinned to (default:
#                  the last one this script may run on)
#   SECCOMPCTL, CGCTL, UNSHARE_RS, PIVOT
#                  our binaries (default: the musl release build in target/,
#                  or CARGO_TARGET_DIR, built with cargo if missing; an
#                  override is used as given)
#   HYPERFINE, CRUN, BWRAP, TASKSET, CC
#                  the tools (default: from PATH)
#   PYTHON_SECCOMP a python3 that has libseccomp's binding (default:
#                  /usr/bin/python3, then python3 from PATH)
#   BUSYBOX        the static busybox (default /bin/busybox)
#   PODMAN_PROFILE, CONTAINERS_CONF
#                  podman's profile and containers.conf (default: in
#                  /usr/share/containers)
# Packages (installed with apt-get when missing, as root): hyperfine, crun,
# bubblewrap, busybox-static, gcc, libseccomp-dev, python3-seccomp,
# golang-github-containers-common. A peer that cannot be had or fails here
# is reported as "SKIP: <tool> not available: <why>" and its rows are left
# out (CI fails on SKIP); our own tools must work, or the script fails.
#
# Cleanup: everything is made in one temporary directory (rootfs, BPF files,
# bundles, crun's --root state, the C binaries), removed on every exit (the
# EXIT trap; INT, TERM and HUP exit through it), after any crun container
# left there is deleted and our cgroup G (chain-seccomp-PID, in every
# hierarchy cgctl's -v trace showed it making) is removed.

set -euo pipefail

PROG=seccomp.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$SCRIPT_DIR/../.." && pwd)
RUNS=${BENCH_RUNS:-300}
START=$SECONDS

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }

[[ $RUNS =~ ^[0-9]+$ ]] && (( RUNS >= 2 )) \
    || die "BENCH_RUNS must be an integer >= 2, got '$RUNS'"
HF_RUNS=$(( RUNS / 2 )); (( HF_RUNS < 10 )) && HF_RUNS=10; (( HF_RUNS > 300 )) && HF_RUNS=300
HF_WARMUP=10
ROUNDS=$(( RUNS / 10 )); (( ROUNDS < 3 )) && ROUNDS=3; (( ROUNDS > 40 )) && ROUNDS=40
CALLS=${SECCOMP_CALLS:-100000}
[[ $CALLS =~ ^[0-9]+$ ]] && (( CALLS >= 1000 )) || die "SECCOMP_CALLS must be an integer >= 1000, got '$CALLS'"

echo
echo "=== seccomp ==="
if (( EUID != 0 )); then
    echo "SKIP: root not available: the seccomp rows create namespaces and drop capabilities"
    exit 0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-seccomp.XXXXXX")
CRUN= CRUN_STATE=$TMP/crun-state CRUN_IDS=()
CG_NAME=chain-seccomp-$$ CG_DIRS=()
cg_remove() {  # rmdir our group wherever cgctl made it; 1 s for one still emptying
    local d i
    for d in "${CG_DIRS[@]}"; do
        [[ -d $d ]] || continue
        for (( i = 0; i < 20; i++ )); do rmdir -- "$d" 2>/dev/null && break; sleep 0.05; done
        [[ -d $d ]] && note "warning: cannot remove cgroup $d"
    done
    return 0
}
cleanup() {
    local id
    if [[ -n $CRUN && -d $CRUN_STATE ]]; then
        for id in "${CRUN_IDS[@]}"; do
            [[ -e $CRUN_STATE/$id ]] && { "$CRUN" --root "$CRUN_STATE" delete --force "$id" >/dev/null 2>&1 || true; }
        done
    fi
    cg_remove
    rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# apt_install, skip, find_tool, find_ours, one_line: tests/bench/lib.sh.
. "$SCRIPT_DIR/lib.sh"

# --- tools ---------------------------------------------------------------------
if ! find_tool HYPERFINE hyperfine hyperfine; then
    skip hyperfine "$WHY (nothing can be measured)"; exit 0
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed (tables, the BPF interpreter)"
find_ours SECCOMPCTL seccompctl
find_ours CGCTL cgctl
find_ours UNSHARE_RS unshare-rs
find_ours PIVOT pivot
find_tool CRUN crun crun || skip crun "$WHY"
find_tool BWRAP bwrap bubblewrap || skip bwrap "$WHY"
if ! find_tool CC gcc gcc; then
    skip gcc "$WHY (sysloop.c is the loader and the loop of every measurement)"; exit 0
fi
[[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || apt_install libc6-dev || true
find_tool TASKSET taskset util-linux || die "taskset (util-linux) is needed to pin the per-syscall processes: $WHY"

BB=${BUSYBOX:-/bin/busybox}
[[ -x $BB || -n ${BUSYBOX:-} ]] || apt_install busybox-static || true
[[ -x $BB ]] || die "no static busybox at $BB (apt-get install busybox-static)"
T=("$BB" true)

# sysloop: the loader, the loop, the exec wrapper (static, no libseccomp;
# built with musl, lib.sh's floor_cc: as a wrapper its exec is in rows, and
# a static glibc start costs ~0.4 ms more per exec in a VM).
floor_cc "$TMP/sysloop" "$SCRIPT_DIR/sysloop.c" \
    || die "sysloop.c cannot be built: $(one_line "$TMP/floor-cc.err" 200)"
SYSLOOP=$TMP/sysloop

# sclo: libseccomp's compile + load (static if libseccomp.a is there).
SCLO= SCLO_LINK=
[[ -f /usr/include/seccomp.h ]] || apt_install libseccomp-dev || true
if [[ ! -f /usr/include/seccomp.h ]]; then
    skip libseccomp "no /usr/include/seccomp.h (Debian libseccomp-dev): no libseccomp compile+load rows"
elif "$CC" -O2 -static -o "$TMP/sclo" "$SCRIPT_DIR/sclo.c" -lseccomp 2>"$TMP/cc.err"; then
    SCLO=$TMP/sclo SCLO_LINK="static"
elif "$CC" -O2 -o "$TMP/sclo" "$SCRIPT_DIR/sclo.c" -lseccomp 2>"$TMP/cc.err"; then
    SCLO=$TMP/sclo SCLO_LINK="dynamic (no static libseccomp.a: dynamic loading is in its rows)"
else
    skip libseccomp "$CC sclo.c -lseccomp failed: $(one_line "$TMP/cc.err" 200)"
fi
LIBSECCOMP_VERSION=$(dpkg-query -W -f '${Version}' libseccomp2 2>/dev/null || echo '?')

# A python3 with libseccomp's binding (Debian's, for Debian's python).
PY_SECCOMP=
py_has_seccomp() { "$1" -c 'import seccomp' 2>/dev/null; }
pick_py_seccomp() {
    local p
    for p in ${PYTHON_SECCOMP:-} /usr/bin/python3 "$(command -v python3)"; do
        [[ -n $p && -x $p ]] && py_has_seccomp "$p" && { PY_SECCOMP=$p; return 0; }
    done
    return 1
}
if ! pick_py_seccomp && [[ -z ${PYTHON_SECCOMP:-} ]]; then
    apt_install python3-seccomp || true
    pick_py_seccomp || true
fi

# --- the profile, the capabilities ---------------------------------------------
PODMAN_PROFILE=${PODMAN_PROFILE:-/usr/share/containers/seccomp.json}
CONTAINERS_CONF=${CONTAINERS_CONF:-/usr/share/containers/containers.conf}
if [[ ! -f $PODMAN_PROFILE || ! -f $CONTAINERS_CONF ]]; then
    apt_install golang-github-containers-common || true
fi
if [[ ! -f $PODMAN_PROFILE || ! -f $CONTAINERS_CONF ]]; then
    skip "podman's profile" "no $PODMAN_PROFILE or $CONTAINERS_CONF (Debian golang-github-containers-common): nothing to compare on"
    exit 0
fi
CAPS=$(python3 - "$CONTAINERS_CONF" <<'EOF'
import re, sys
text = "\n".join(l for l in open(sys.argv[1]).read().splitlines() if not l.lstrip().startswith("#"))
m = re.search(r"^\s*default_capabilities\s*=\s*\[(.*?)\]", text, re.S | re.M)
print(",".join(c.upper().removeprefix("CAP_") for c in re.findall(r'"([^"]+)"', m.group(1))) if m else "")
EOF
)
[[ -n $CAPS ]] || die "no default_capabilities in $CONTAINERS_CONF"
CAP_NAMES=()
IFS=, read -r -a CAP_NAMES <<<"$CAPS"

# OCI.json: the profile evaluated for LIST, as every tool below gets it.
"$SECCOMPCTL" --profile "$PODMAN_PROFILE" --caps "$CAPS" --print-profile >"$TMP/oci.json" 2>"$TMP/sc.err" \
    || die "seccompctl --profile $PODMAN_PROFILE --caps $CAPS --print-profile fails: $(one_line "$TMP/sc.err" 200)"
OCI=$TMP/oci.json
"$SECCOMPCTL" --profile "$OCI" --caps "$CAPS" --dump-raw "$TMP/ours.bpf" 2>"$TMP/sc.err" \
    || die "seccompctl --dump-raw fails: $(one_line "$TMP/sc.err" 200)"
"$SECCOMPCTL" --default --dump-raw "$TMP/default.bpf" 2>"$TMP/sc.err" \
    || die "seccompctl --default --dump-raw fails: $(one_line "$TMP/sc.err" 200)"

# --- the python helper: flatten, export, interpret, run, report -----------------
cat >"$TMP/sc.py" <<'EOF'
import json, os, random, statistics, struct, subprocess, sys

ALLOW = 0x7fff0000
CASES = [  # key, label, nr, args (as the registers hold them)
    ("getppid", "getppid (110)", 110, (0, 0, 0, 0, 0, 0)),
    ("personality", "personality(0xffffffff) (135)", 135, (0xffffffff, 0, 0, 0, 0, 0)),
    ("socket", "socket(AF_UNIX,0x7fff,0) (41)", 41, (1, 0x7fff, 0, 0, 0, 0)),
    ("futex_waitv", "futex_waitv(NULL,0,..) (449)", 449, (0, 0, 0, 0, 0, 0)),
    ("process_mrelease", "process_mrelease(-1,0) (448)", 448, (2**64 - 1, 0, 0, 0, 0, 0)),
]
OPS = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
       "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]

def flatten(oci, out):
    """OCI.json -> sclo's one-line-per-item rules (see sclo.c)."""
    p = json.load(open(oci))
    num = lambda v: -1 if v is None else int(v)
    lines = ["default %s %d" % (p["defaultAction"], num(p.get("defaultErrnoRet")))]
    lines.append("arch " + " ".join(a.removeprefix("SCMP_ARCH_").lower()
                                    for a in p.get("architectures") or []))
    for e in p.get("syscalls") or []:
        args = e.get("args") or []
        parts = ["rule", e["action"], str(num(e.get("errnoRet"))), str(len(args))]
        for a in args:
            parts += [str(a["index"]), a["op"], str(a.get("value", 0)), str(a.get("valueTwo", 0))]
        names = list(e.get("names") or []) + ([e["name"]] if e.get("name") else [])
        lines.append(" ".join(parts + names))
    open(out, "w").write("\n".join(lines) + "\n")

def export(oci, outdir):
    """libseccomp's filters of OCI.json through python3-seccomp, as crun compiles."""
    import seccomp as S
    if not hasattr(S.Attr, "CTL_OPTIMIZE"):
        sys.exit("this python3-seccomp has no Attr.CTL_OPTIMIZE")
    p = json.load(open(oci))
    def action(name, err):
        e = 1 if err is None else int(err)  # crun: EPERM when absent
        return {"SCMP_ACT_ALLOW": lambda: S.ALLOW, "SCMP_ACT_ERRNO": lambda: S.ERRNO(e),
                "SCMP_ACT_KILL": lambda: S.KILL, "SCMP_ACT_KILL_THREAD": lambda: S.KILL,
                "SCMP_ACT_KILL_PROCESS": lambda: S.KILL_PROCESS, "SCMP_ACT_TRAP": lambda: S.TRAP,
                "SCMP_ACT_TRACE": lambda: S.TRACE(e), "SCMP_ACT_LOG": lambda: S.LOG}[name]()
    ops = {"SCMP_CMP_NE": S.NE, "SCMP_CMP_LT": S.LT, "SCMP_CMP_LE": S.LE, "SCMP_CMP_EQ": S.EQ,
           "SCMP_CMP_GE": S.GE, "SCMP_CMP_GT": S.GT, "SCMP_CMP_MASKED_EQ": S.MASKED_EQ}
    default = action(p["defaultAction"], p.get("defaultErrnoRet"))
    for variant, arches in (("nat", ["SCMP_ARCH_X86_64"]), ("3abi", p.get("architectures") or [])):
        for level in (1, 2):
            f = S.SyscallFilter(default)
            for a in arches:
                if a == "SCMP_ARCH_X86_64":
                    continue  # the native arch is in from the start (crun: EEXIST ignored)
                f.add_arch(getattr(S.Arch, a.removeprefix("SCMP_ARCH_")))
            if level == 2:
                f.set_attr(S.Attr.CTL_OPTIMIZE, 2)
            for e in p.get("syscalls") or []:
                act = action(e["action"], e.get("errnoRet"))
                if act == default:
                    continue
                args = e.get("args") or []
                cmps = [S.Arg(a["index"], ops[a["op"]], a.get("value", 0), a.get("valueTwo", 0)) for a in args]
                multiple = len({a["index"] for a in args}) != len(args)
                for name in list(e.get("names") or []) + ([e["name"]] if e.get("name") else []):
                    nr = S.resolve_syscall(S.Arch.NATIVE, name)
                    if nr == -1:  # __NR_SCMP_ERROR: crun skips it
                        continue
                    if multiple:
                        for c in cmps:
                            f.add_rule(act, nr, c)
                    else:
                        f.add_rule(act, nr, *cmps)
            with open(os.path.join(outdir, "lib-%s-O%d.bpf" % (variant, level)), "wb") as fh:
                f.export_bpf(fh)

def load(path):
    data = open(path, "rb").read()
    return [struct.unpack_from("<HBBI", data, i) for i in range(0, len(data), 8)]

def interpret(prog, nr, args, arch=0xc000003e):
    """Classic BPF over seccomp_data: (return value, instructions run, cached),
    cached = the kernel's action-cache emulation (seccomp_is_const_allow)
    would decide ALLOW without running the filter."""
    sd = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    A = X = 0
    M = [0] * 16
    pc = n = 0
    const = True
    while True:
        code, jt, jf, k = prog[pc]
        n += 1
        cls = code & 7
        if cls == 0:  # LD
            mode, size = code & 0xe0, code & 0x18
            if mode == 0x20 and size == 0:
                A = struct.unpack_from("<I", sd, k)[0]
                const = const and k in (0, 4)
            elif mode == 0x00:
                A, const = k, False
            elif mode == 0x60:
                A, const = M[k], False
            elif mode == 0x80:
                A, const = len(sd), False
            else:
                raise ValueError("unsupported ld 0x%x at %d" % (code, pc))
        elif cls == 1:  # LDX
            mode = code & 0xe0
            X = {0x00: k, 0x60: M[k & 15], 0x80: len(sd)}.get(mode, 0)
            const = False
        elif cls == 2:
            M[k], const = A, False
        elif cls == 3:
            M[k], const = X, False
        elif cls == 4:  # ALU
            op, src = code & 0xf0, (X if code & 8 else k)
            const = const and code == 0x54  # and #k: the emulation knows it
            A = {0x00: A + src, 0x10: A - src, 0x20: A * src, 0x30: A // src if src else 0,
                 0x40: A | src, 0x50: A & src, 0x60: A << src, 0x70: A >> src, 0x80: -A,
                 0x90: A % src if src else 0, 0xa0: A ^ src}[op] & 0xffffffff
        elif cls == 5:  # JMP
            op = code & 0xf0
            if op == 0:
                pc += k
            else:
                src = X if code & 8 else k
                const = const and not code & 8
                hit = {0x10: A == src, 0x20: A > src, 0x30: A >= src, 0x40: bool(A & src)}[op]
                pc += jt if hit else jf
        elif cls == 6:  # RET
            if code & 0x18 == 0x10:
                return A, n, False
            return k, n, const and k == ALLOW
        else:  # MISC: tax, txa
            if code & 0xf8 == 0:
                X = A
            else:
                A = X
            const = False
        pc += 1

def verdict(ret):
    act = ret & 0xffff0000
    if act == ALLOW:
        return "allow"
    if act == 0x00050000:
        return "errno %d" % (ret & 0xffff)
    return {0: "kill-thread", 0x80000000: "kill-process", 0x00030000: "trap",
            0x7ff00000: "trace", 0x7ffc0000: "log"}.get(act, "0x%x" % ret)

def percall(a):
    """a: sysloop taskset cpu rounds calls tests_file  then label=path|- ..."""
    sysloop, taskset, cpu, rounds, calls, tests_file = a[:6]
    rounds, calls = int(rounds), int(calls)
    conds = [c.split("=", 1) for c in a[6:]]
    labels = [l for l, _ in conds]
    ns = {(c, l): [] for c, *_ in CASES for l in labels}
    res = {(c, l): set() for c, *_ in CASES for l in labels}
    for r in range(rounds):
        order = [(c, l, p) for c, *_ in CASES for l, p in conds]
        random.shuffle(order)
        for c, l, p in order:
            cmd = [taskset, "-c", cpu, sysloop] + (["-f", p] if p != "-" else []) + [c, str(calls)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit("%s: %s (status %d)" % (" ".join(cmd), out.stderr.strip(), out.returncode))
            v, got = out.stdout.split()
            ns[c, l].append(float(v))
            res[c, l].add(int(got))
        print("seccomp.sh: per-syscall round %d/%d done" % (r + 1, rounds), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in ns.items()}
    iqr = {k: (statistics.quantiles(v, n=4)[2] - statistics.quantiles(v, n=4)[0]) if len(v) >= 2 else 0.0
           for k, v in ns.items()}
    # Instructions and verdicts, from the interpreter.
    progs = {l: load(p) for l, p in conds if p != "-"}
    sim = {(c, l): interpret(progs[l], nr, args) for c, _, nr, args in CASES for l in progs}
    ours = labels[1]
    tests = {}
    for line in open(tests_file):
        # x86_64 getppid(0x0, ...) = allow (11 instructions run)
        if "instructions run" in line:
            name = line.split()[1].split("(")[0]
            tests[name] = (line.split(" = ", 1)[1].split(" (")[0], int(line.rsplit("(", 1)[1].split()[0]))
    head = labels
    w0, w = 30, 17
    print()
    print("per-syscall cost, ns per call: median of %d rounds; each cell is a fresh process pinned to CPU %s"
          " (taskset), %d calls after %d warm-up; all cases x conditions shuffled within each round;"
          " (+d) = the cell minus \"no filter\"" % (rounds, cpu, calls, calls // 20))
    print("%-*s" % (w0, "case (nr)") + "".join("%*s" % (w, h) for h in head))
    print("-" * (w0 + w * len(head)))
    for c, lab, nr, args in CASES:
        base = med[c, labels[0]]
        cells = ["%.1f" % base] + ["%.1f (%+.1f)" % (med[c, l], med[c, l] - base) for l in labels[1:]]
        print("%-*s" % (w0, lab) + "".join("%*s" % (w, x) for x in cells))
    print("spread (the middle half of the rounds, ns, median over cases): " + ", ".join(
        "%s %.1f" % (l, statistics.median(iqr[c, l] for c, *_ in CASES)) for l in labels))
    print()
    print("filter size (instructions): " + ", ".join("%s %d" % (l, len(progs[l])) for l in progs))
    print("instructions run per case (cBPF interpreter; 'c' = the kernel's action cache allows the call"
          " without running the filter, the count is what a run without the cache executes):")
    print("%-*s" % (w0, "case") + "".join("%*s" % (w, l) for l in progs))
    for c, lab, *_ in CASES:
        print("%-*s" % (w0, lab) + "".join("%*s" % (w, "%d%s %s" % (sim[c, l][1], " c" if sim[c, l][2] else "",
                                                                    verdict(sim[c, l][0]).replace("errno ", "E")))
                                           for l in progs))
    # Checks: the interpreter against seccompctl --test; the filters against each other.
    bad = []
    for c, *_ in CASES:
        t = tests.get(c)
        if t is None:
            bad.append("seccompctl --test printed nothing for %s" % c)
        elif t[1] != sim[c, ours][1]:
            bad.append("%s: seccompctl --test says %s, %d instructions; the interpreter %s, %d"
                       % (c, t[0], t[1], verdict(sim[c, ours][0]), sim[c, ours][1]))
    print("check, instructions run by ours: the interpreter and `seccompctl --test` %s"
          % ("agree on every case (%s)" % ", ".join("%s %s" % (c, tests[c][0]) for c, *_ in CASES)
             if not bad else "DISAGREE: " + "; ".join(bad)))
    mism = []
    for c, *_ in CASES:
        verdicts = {verdict(sim[c, l][0]) for l in progs}
        if len(verdicts) != 1:
            mism.append("%s: %s" % (c, ", ".join("%s %s" % (l, verdict(sim[c, l][0])) for l in progs)))
        for l in progs:
            v = sim[c, l][0]
            want = res[c, labels[0]] if v & 0xffff0000 == ALLOW else (
                {-(v & 0xffff)} if v & 0xffff0000 == 0x00050000 else None)
            if want is not None and res[c, l] != want:
                mism.append("%s under %s returned %s, expected %s" % (c, l, sorted(res[c, l]), sorted(want)))
    print("check, decisions: %s" % ("every filter decides every case alike, and each call returned what"
          " that decision implies (%s)" % ", ".join("%s %s" % (c, verdict(sim[c, ours][0])) for c, *_ in CASES)
          if not mism else "MISMATCH: " + "; ".join(mism)))
    tree = labels[3]
    print("target (with all three ABIs handled, our overhead at most that of libseccomp's x86_64-only"
          " binary tree, %s, on every row):" % tree)
    for c, lab, *_ in CASES:
        base = med[c, labels[0]]
        do, dt = med[c, ours] - base, med[c, tree] - base
        sp = max(iqr[c, ours], iqr[c, tree])
        print("  %-*s ours %+6.1f ns, %s %+6.1f ns: %s" % (w0, lab, do, tree, dt, "met" if do <= dt else
              "MISSED" + (" (by %.1f ns, less than the cells' spread, %.1f ns)" % (do - dt, sp) if do - dt < sp else "")))
    print("  (a call that the action cache lets through, 'c' above, runs no filter instructions at all: its"
          " delta is the fixed cost of having a filter, the same for every filter)")

def hfload(path, rows):
    hf = json.load(open(path))["results"]
    rows = [l.rstrip("\n").split("\t", 2) for l in open(rows) if l.strip()]
    assert len(hf) == len(rows), "hyperfine gave %d results for %d rows" % (len(hf), len(rows))
    return [{"key": k, "name": n, "cmd": cmd, "median": r["median"] * 1e3, "mean": r["mean"] * 1e3,
             "sd": (r["stddev"] or 0) * 1e3} for (k, n, cmd), r in zip(rows, hf)]

def table(rs, floor_key, title):
    floor = next((r["median"] for r in rs if r["key"] == floor_key), None)
    print()
    print(title)
    fmt = "%-58s %9s %9s %9s %9s"
    print(fmt % ("command", "median ms", "mean ms", "stddev ms", "-floor ms"))
    print("-" * 98)
    for r in rs:
        mf = "" if r["key"] == floor_key or floor is None else "%+.3f" % (r["median"] - floor)
        print(fmt % (r["name"], "%.3f" % r["median"], "%.3f" % r["mean"], "%.3f" % r["sd"], mf))
    return {r["key"]: r["median"] for r in rs}, floor

def startup(a):
    rs = hfload(a[0], a[1])
    m, floor = table(rs, "floor", "start-up: each row ends in a static busybox true (hyperfine -N, %s)" % a[2])
    d = m["sc_default"] - floor
    if "loader_ours" in m and "loader_none" in m:
        print("the kernel's load of a precompiled filter (sysloop -f F minus sysloop without one): ours %+.3f ms,"
              " --default's %+.3f ms; the loader's own exec %+.3f ms"
              % (m["loader_ours"] - m["loader_none"], m["loader_default"] - m["loader_none"], m["loader_none"] - floor))
        print("what seccompctl adds to the kernel's load (parse, evaluate, compile; the capability step and its"
              " exec are in --unconfined, %+.3f ms over the floor): --profile OCI.json %+.3f ms, --default %+.3f ms"
              % (m["sc_unconfined"] - floor, m["sc_profile"] - m["sc_unconfined"] - (m["loader_ours"] - m["loader_none"]),
                 m["sc_default"] - m["sc_unconfined"] - (m["loader_default"] - m["loader_none"])))
    if "lib_3abi" in m:
        print("libseccomp compile+load of the same profile: x86_64 only %+.3f ms, 3 ABIs (as crun) %+.3f ms"
              " over the floor; seccompctl --profile (3 ABIs) %+.3f ms"
              % (m.get("lib_nat", float("nan")) - floor, m["lib_3abi"] - floor, m["sc_profile"] - floor))
    print("target (seccompctl --default adds at most 0.5 ms over the floor): %+.3f ms: %s"
          % (d, "met" if d <= 0.5 else "MISSED"))

def chain(a):
    rs = hfload(a[0], a[1])
    m, floor = table(rs, "floor", "whole secure chain (5 namespaces + fork + root switch + filter; hyperfine -N, %s)" % a[2])
    ours = m["ours"]
    for k, lab in (("ours_nosec", "our chain"), ("crun_nosec", "crun"), ("bwrap_nosec", "bwrap")):
        w = {"ours_nosec": "ours", "crun_nosec": "crun", "bwrap_nosec": "bwrap"}[k]
        if k in m and w in m:
            print("the filter step adds to %s: %+.3f ms" % (lab, m[w] - m[k]))
    checks, missing = [], []
    for k, lab in (("crun", "crun run (same profile and caps)"), ("bwrap", "bwrap --seccomp (our filter)")):
        if k in m:
            q = m[k] / ours
            print("%s/ours = %.2fx%s" % (k, q, "; %s/ours without cgctl = %.2fx" % (k, m[k] / m["ours_nocg"])
                                           if "ours_nocg" in m else ""))
            checks.append("%s %.2fx %s" % (k, q, "met" if q > 1 else "MISSED"))
        else:
            missing.append(k)
    if "bwrap" in m and "ours_bpf" in m:
        # Like with like: both load the program --dump-raw wrote.
        q = m["bwrap"] / m["ours_bpf"]
        print("bwrap/ours --bpf = %.2fx" % q)
        checks.append("bwrap/ours --bpf %.2fx %s" % (q, "met" if q > 1 else "MISSED"))
    print("target (faster than crun run with the same profile and caps and than bwrap --seccomp with our"
          " dumped filter): %s%s" % (", ".join(checks) or "nothing to compare with",
                                     "; not measured: " + ", ".join(missing) if missing else ""))

if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"flatten": lambda: flatten(*rest), "export": lambda: export(*rest), "percall": lambda: percall(rest),
     "startup": lambda: startup(rest), "chain": lambda: chain(rest),
     "size": lambda: print(len(load(rest[0])))}[cmd]()
EOF
PY=(python3 "$TMP/sc.py")

# --- libseccomp's filters ----------------------------------------------------------
"${PY[@]}" flatten "$OCI" "$TMP/rules.txt"
LIB_HOW= LIB_OK=0
if [[ -n $PY_SECCOMP ]]; then
    if "$PY_SECCOMP" "$TMP/sc.py" export "$OCI" "$TMP" 2>"$TMP/py.err"; then
        LIB_OK=1 LIB_HOW="python3-seccomp ($PY_SECCOMP)"
    else
        note "python3-seccomp export failed: $(one_line "$TMP/py.err" 200)"
    fi
fi
if (( ! LIB_OK )) && [[ -n $SCLO ]]; then
    ok=1
    for v in nat 3abi; do
        for o in 1 2; do
            A=(); [[ $v == nat ]] && A=(-A x86_64)
            "$SCLO" -O "$o" "${A[@]}" -x "$TMP/lib-$v-O$o.bpf" "$TMP/rules.txt" 2>"$TMP/sclo.err" || ok=0
        done
    done
    if (( ok )); then
        LIB_OK=1 LIB_HOW="sclo -x (no usable python3-seccomp: ${PY_SECCOMP:-none found}; $(one_line "$TMP/py.err" 200 2>/dev/null))"
    fi
fi
(( LIB_OK )) || skip libseccomp "no python3-seccomp and no sclo to export libseccomp's filters"
LIB_SAME=
if (( LIB_OK )) && [[ -n $SCLO ]]; then
    "$SCLO" -A x86_64 -x "$TMP/sclo-nat.bpf" "$TMP/rules.txt" 2>"$TMP/sclo.err" \
        && "$SCLO" -x "$TMP/sclo-3abi.bpf" "$TMP/rules.txt" 2>>"$TMP/sclo.err" \
        || die "sclo -x fails: $(one_line "$TMP/sclo.err" 200)"
    if cmp -s "$TMP/sclo-nat.bpf" "$TMP/lib-nat-O1.bpf" && cmp -s "$TMP/sclo-3abi.bpf" "$TMP/lib-3abi-O1.bpf"; then
        LIB_SAME="sclo's native and 3-ABI default filters are byte-identical to the exported ones"
    else
        LIB_SAME="WARNING: sclo's filters differ from the exported ones ($("${PY[@]}" size "$TMP/sclo-nat.bpf") / $("${PY[@]}" size "$TMP/sclo-3abi.bpf") instructions)"
    fi
fi

# --- the rootfs, the bundles ------------------------------------------------------
ROOTFS=$TMP/rootfs
if [[ -f $REPO/examples/mkrootfs.sh ]]; then
    BUSYBOX=$BB bash "$REPO/examples/mkrootfs.sh" "$ROOTFS" >&2 || die "examples/mkrootfs.sh $ROOTFS failed"
else
    mkdir -p -- "$ROOTFS"/{bin,proc,sys,dev,tmp}
    cp -- "$BB" "$ROOTFS/bin/busybox"
    ln -s busybox "$ROOTFS/bin/true"
fi
cp -- "$OCI" "$ROOTFS/oci.json"
cp -- "$TMP/ours.bpf" "$ROOTFS/ours.bpf"

# RUN_IN: as bench.sh, a private mount namespace without cgroup2 for crun on
# a hybrid host whose cgroup2 has controllers.
RUN_IN=() BACK=() RUN_IN_NOTE=
if [[ -n $CRUN && $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == tmpfs \
      && $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs \
      && -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
    RUN_IN=("$UNSHARE_RS" -m -- /bin/sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
    if "${RUN_IN[@]}" "${T[@]}" 2>"$TMP/runin.err"; then
        BACK=("$SYSLOOP" -m "/proc/$$/ns/mnt" --)
        RUN_IN_NOTE="hybrid cgroups with controllers on cgroup2 ($(cat /sys/fs/cgroup/unified/cgroup.controllers)), which crun refuses: the chain set ran in a private mount namespace without /sys/fs/cgroup/unified; our rows and their floor went back to this script's mount namespace first (sysloop -m /proc/$$/ns/mnt --: one static exec, in ours only)"
    else
        skip crun "hybrid cgroup host (crun refuses it) and hiding /sys/fs/cgroup/unified failed: $(one_line "$TMP/runin.err" 200)"
        RUN_IN=() CRUN=
    fi
fi

CAPS_OCI=$(printf 'CAP_%s\n' "${CAP_NAMES[@]}" | paste -sd, -)
if [[ -n $CRUN ]]; then
    mkdir -p -- "$TMP/bundle" "$TMP/bundle-nosec" "$CRUN_STATE"
    if ! (cd -- "$TMP/bundle" && "$CRUN" spec) >"$TMP/crun.err" 2>&1; then
        skip crun "crun spec failed: $(one_line "$TMP/crun.err" 200)"; CRUN=
    else
        python3 - "$TMP/bundle/config.json" "$TMP/bundle-nosec/config.json" "$ROOTFS" "$OCI" "$CAPS_OCI" <<'EOF'
import json, sys
spec, nosec, rootfs, oci, caps = sys.argv[1:]
c = json.load(open(spec))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["process"]["noNewPrivileges"] = True
cl = caps.split(",")
c["process"]["capabilities"] = {"bounding": cl, "effective": cl, "permitted": cl,
                                "inheritable": [], "ambient": []}
c["root"] = {"path": rootfs, "readonly": True}
c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
json.dump(c, open(nosec, "w"), indent=1)
c["linux"]["seccomp"] = json.load(open(oci))
json.dump(c, open(spec, "w"), indent=1)
EOF
        CRUN_IDS=("seccomp-bench-$$" "seccomp-bench-nosec-$$")
    fi
fi

# The cgroup G of our chain: made once (and its directories learnt from
# cgctl -v), joined by every timed run, removed on exit.
CG=() CG_LABEL=
if "${RUN_IN[@]}" "${BACK[@]}" "$CGCTL" -v --pids 100 --name "$CG_NAME" -- "${T[@]}" 2>"$TMP/cg.txt"; then
    while IFS= read -r d; do CG_DIRS=("$d" "${CG_DIRS[@]}"); done \
        < <(sed -n 's/^cgctl\[[0-9]*\] +[0-9.]* ms mkdir \([^ ]*\) = ok.*/\1/p' "$TMP/cg.txt")
    CG=("$CGCTL" --pids 100 --name "$CG_NAME" --)
    CG_LABEL="cgctl --pids 100 --name G -- "
else
    while IFS= read -r d; do CG_DIRS=("$d" "${CG_DIRS[@]}"); done \
        < <(sed -n 's/^cgctl\[[0-9]*\] +[0-9.]* ms mkdir \([^ ]*\) = ok.*/\1/p' "$TMP/cg.txt")
    CG_WHY=$(grep -v '^cgctl\[' "$TMP/cg.txt" | tr '\n' ' ' | cut -c1-200 || true)
    skip cgctl "'cgctl --pids 100 --name G' cannot run here (${CG_WHY:-exit status not 0}): the chain runs without it"
    CG_LABEL="(cgctl cannot run here) "
fi

# --- rows ---------------------------------------------------------------------------
# add FILE KEY TOOL NAME ARGV...: one hyperfine row; each command is tried
# once first, where hyperfine will run it (ours must work; a peer that fails
# is skipped).
add() {
    local file=$1 key=$2 tool=$3 name=$4 cmd= w q
    shift 4
    for w in "$@"; do printf -v q '%q' "$w"; cmd+="${cmd:+ }$q"; done
    local -n run=$file
    if ! "${run[@]}" "$@" >"$TMP/check.out" 2>"$TMP/check.err"; then
        [[ $tool == ours ]] && die "'$name' fails: $(one_line "$TMP/check.err" 200)"
        skip "$tool" "'$name' fails here: $(one_line "$TMP/check.err" 200)"
        return 0
    fi
    printf '%s\t%s\t%s\n' "$key" "$name" "$cmd" >>"$TMP/rows-$file.tsv"
}
NOPREFIX=()
: >"$TMP/rows-NOPREFIX.tsv"
S=NOPREFIX
add $S floor floor "busybox true (floor)" "${T[@]}"
add $S loader_none floor "sysloop -- busybox true (the loader's exec)" "$SYSLOOP" -- "${T[@]}"
add $S loader_ours floor "sysloop -f OURS.bpf (kernel load)" "$SYSLOOP" -f "$TMP/ours.bpf" -- "${T[@]}"
add $S loader_default floor "sysloop -f DEFAULT.bpf (kernel load)" "$SYSLOOP" -f "$TMP/default.bpf" -- "${T[@]}"
add $S sc_unconfined ours "seccompctl --caps LIST --nnp --unconfined" \
    "$SECCOMPCTL" --caps "$CAPS" --nnp --unconfined -- "${T[@]}"
add $S sc_profile ours "seccompctl --profile OCI.json --caps LIST --nnp" \
    "$SECCOMPCTL" --profile "$OCI" --caps "$CAPS" --nnp -- "${T[@]}"
add $S sc_default ours "seccompctl --default" "$SECCOMPCTL" --default -- "${T[@]}"
if [[ -n $SCLO ]]; then
    add $S lib_nat libseccomp "libseccomp compile+load, x86_64 (sclo)" "$SCLO" -A x86_64 "$TMP/rules.txt" -- "${T[@]}"
    add $S lib_3abi libseccomp "libseccomp compile+load, 3 ABIs (sclo)" "$SCLO" "$TMP/rules.txt" -- "${T[@]}"
fi

: >"$TMP/rows-RUN_IN.tsv"
S=RUN_IN
add $S floor floor "busybox true (floor)" "${T[@]}"
(( ${#BACK[@]} )) && add $S back floor "sysloop -m MNTNS busybox true (ours' prefix)" "${BACK[@]}" "${T[@]}"
add $S ours ours "${BACK:+[sysloop -m] }${CG_LABEL}unshare-rs -- pivot -- seccompctl" \
    "${BACK[@]}" "${CG[@]}" "$UNSHARE_RS" -fpnumi -- "$PIVOT" "$ROOTFS" -- \
    "$SECCOMPCTL" --profile /oci.json --caps "$CAPS" --nnp -- /bin/true
add $S ours_bpf ours "  the same with seccompctl --bpf (the dumped program)" \
    "${BACK[@]}" "${CG[@]}" "$UNSHARE_RS" -fpnumi -- "$PIVOT" "$ROOTFS" -- \
    "$SECCOMPCTL" --bpf /ours.bpf --caps "$CAPS" --nnp -- /bin/true
add $S ours_nosec ours "  the same without seccompctl" \
    "${BACK[@]}" "${CG[@]}" "$UNSHARE_RS" -fpnumi -- "$PIVOT" "$ROOTFS" -- /bin/true
(( ${#CG[@]} )) && add $S ours_nocg ours "  the same without cgctl (bwrap's work)" \
    "${BACK[@]}" "$UNSHARE_RS" -fpnumi -- "$PIVOT" "$ROOTFS" -- \
    "$SECCOMPCTL" --profile /oci.json --caps "$CAPS" --nnp -- /bin/true
if [[ -n $CRUN ]]; then
    add $S crun crun "crun run (profile, caps LIST)" \
        "$CRUN" --root "$CRUN_STATE" --cgroup-manager=disabled run --bundle "$TMP/bundle" "${CRUN_IDS[0]}"
    add $S crun_nosec crun "  the same without linux.seccomp" \
        "$CRUN" --root "$CRUN_STATE" --cgroup-manager=disabled run --bundle "$TMP/bundle-nosec" "${CRUN_IDS[1]}"
fi
if [[ -n $BWRAP ]]; then
    BW=("$BWRAP" --unshare-all --ro-bind "$ROOTFS" / --proc /proc --dev /dev --cap-drop ALL)
    for c in "${CAP_NAMES[@]}"; do BW+=(--cap-add "CAP_$c"); done
    add $S bwrap bwrap "[sysloop -o 10=OURS.bpf] bwrap ... --seccomp 10" \
        "$SYSLOOP" -o "10=$TMP/ours.bpf" -- "${BW[@]}" --seccomp 10 /bin/true
    add $S bwrap_nosec bwrap "  the same without --seccomp" \
        "$SYSLOOP" -o "10=$TMP/ours.bpf" -- "${BW[@]}" /bin/true
fi

hf_args() {  # hf_args SET: --command-name NAME CMD ... for that set's rows
    local key name cmd
    HF=()
    while IFS=$'\t' read -r key name cmd; do HF+=(--command-name "$name" "$cmd"); done <"$TMP/rows-$1.tsv"
}

# --- 1. per-syscall cost --------------------------------------------------------------
CPU=${SECCOMP_CPU:-$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')}
"$SECCOMPCTL" --profile "$OCI" --caps "$CAPS" --test getppid --test 'personality 0xffffffff' \
    --test 'socket 1 0x7fff 0' --test futex_waitv --test 'process_mrelease -1 0' >"$TMP/tests.txt" 2>&1 \
    || die "seccompctl --test fails: $(one_line "$TMP/tests.txt" 200)"
CONDS=("no filter=-" "ours (3 ABIs)=$TMP/ours.bpf")
if (( LIB_OK )); then
    CONDS+=("lib x86_64=$TMP/lib-nat-O1.bpf" "lib x86_64 -O2=$TMP/lib-nat-O2.bpf"
            "lib 3ABI (crun)=$TMP/lib-3abi-O1.bpf" "lib 3ABI -O2=$TMP/lib-3abi-O2.bpf")
fi
note "per-syscall: ${#CONDS[@]} conditions x 5 cases x $ROUNDS rounds, $CALLS calls each, on CPU $CPU"
"${PY[@]}" percall "$SYSLOOP" "$TASKSET" "$CPU" "$ROUNDS" "$CALLS" "$TMP/tests.txt" "${CONDS[@]}" >"$TMP/percall.out" \
    || die "the per-syscall run failed"

# --- 2. start-up and the chain ------------------------------------------------------------
hf_args NOPREFIX
note "hyperfine (start-up): $(( ${#HF[@]} / 3 )) commands, $HF_WARMUP warmup + $HF_RUNS runs each"
"$HYPERFINE" -N --warmup "$HF_WARMUP" --runs "$HF_RUNS" --style basic \
    --export-json "$TMP/hf-startup.json" "${HF[@]}" >&2 || die "hyperfine (start-up) failed"
hf_args RUN_IN
note "hyperfine (chain): $(( ${#HF[@]} / 3 )) commands, $HF_WARMUP warmup + $HF_RUNS runs each"
"${RUN_IN[@]}" "$HYPERFINE" -N --warmup "$HF_WARMUP" --runs "$HF_RUNS" --style basic \
    --export-json "$TMP/hf-chain.json" "${HF[@]}" >&2 || die "hyperfine (chain) failed"
CRUN_LEFT=
for id in "${CRUN_IDS[@]}"; do
    [[ -e $CRUN_STATE/$id ]] && CRUN_LEFT+="crun left $id in its state directory (deleted on exit); "
done

# --- report ---------------------------------------------------------------------------------
echo "seccompctl: $SECCOMPCTL ($("$SECCOMPCTL" -V 2>/dev/null | head -n1)); profile: $PODMAN_PROFILE ($(dpkg-query -W -f 'golang-github-containers-common ${Version}' golang-github-containers-common 2>/dev/null || echo '?')), caps LIST = $CAPS (default_capabilities of $CONTAINERS_CONF)"
echo "OCI.json: seccompctl --print-profile: $(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print("%d rules, %d names, architectures %s, default %s/%s" % (len(p["syscalls"]), sum(len(s.get("names") or []) for s in p["syscalls"]), ",".join(p.get("architectures") or []), p["defaultAction"], p.get("defaultErrnoRet")))' "$OCI")"
echo "libseccomp $LIBSECCOMP_VERSION; filters exported by $LIB_HOW${LIB_SAME:+; $LIB_SAME}; sclo linked ${SCLO_LINK:-(not built)}"
echo "kernel $(uname -r); $("$HYPERFINE" --version | head -n1); sysloop: $FLOOR_CC_USED; sclo: $("$CC" --version | head -n1)"
cat "$TMP/percall.out"
"${PY[@]}" startup "$TMP/hf-startup.json" "$TMP/rows-NOPREFIX.tsv" "$HF_WARMUP warmup + $HF_RUNS runs"
"${PY[@]}" chain "$TMP/hf-chain.json" "$TMP/rows-RUN_IN.tsv" "$HF_WARMUP warmup + $HF_RUNS runs"
echo "chain: ROOTFS = a busybox rootfs (examples/mkrootfs.sh) with /oci.json = OCI.json; G = $CG_NAME, below this script's cgroup (${CG_DIRS[*]:-none}), made once and joined by every run"
[[ -n $CRUN ]] && echo "crun: $("$CRUN" --version | head -n1), --cgroup-manager=disabled, --root in the temporary directory; bundle = crun spec, args /bin/true, caps $CAPS_OCI (bounding, effective, permitted), root read-only, no /sys/fs/cgroup mount; with and without linux.seccomp = OCI.json"
[[ -n $BWRAP ]] && echo "bwrap: $("$BWRAP" --version | head -n1); its rows INCLUDE sysloop's exec (it opens OURS.bpf as fd 10: hyperfine -N has no shell for 10<F)"
[[ -n $RUN_IN_NOTE ]] && echo "note: $RUN_IN_NOTE"
[[ -n $CRUN_LEFT ]] && echo "warning: $CRUN_LEFT"
[[ -s $TMP/skips.tsv ]] && sed 's/^/skipped: /; s/\t/: /' "$TMP/skips.tsv"
echo "seccomp section: $(( SECONDS - START )) s (BENCH_RUNS=$RUNS: $HF_RUNS hyperfine runs, $ROUNDS per-syscall rounds)"
