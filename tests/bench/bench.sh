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
#
# Why. A user choosing between unshare-rs, util-linux unshare and bubblewrap
# wants to know what each costs for the same namespaces, and how much of it is
# the kernel (namespace creation, exec) versus the tool. The table gives
# median, mean and standard deviation per command, the ratio of each peer's
# median to ours for the same namespace set ("util-linux/unshare-rs = 1.35x"),
# and each median minus the floor (what the tool plus its namespaces add to a
# bare exec). DESIGN.md "Performance budget" has the reference figures.
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
#   UTIL_UNSHARE util-linux unshare (default: `unshare` from PATH)
#   BWRAP        bubblewrap (default: `bwrap` from PATH)
#   BUSYBOX      the busybox that provides `true` (default /bin/busybox)
#
# hyperfine and bubblewrap (and busybox-static) are installed with apt-get
# when missing and we are root on a system that has it. A peer that still
# cannot be had, or that fails to run here, is reported as
# "SKIP: <tool> not available: <why>" and its rows are left out; CI turns
# SKIP into a failure. Figures are printed, never asserted: timing on shared
# machines is too noisy for a pass/fail threshold.
#
# The script itself creates no namespaces: only the measured commands do, and
# each tears its namespaces down when it exits. Temporary files are removed
# on exit.

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
trap 'rm -rf -- "$TMP"' EXIT
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

# --- our binary -------------------------------------------------------------
if [[ -n ${UNSHARE_RS:-} ]]; then
    [[ -x $UNSHARE_RS && -f $UNSHARE_RS ]] || die "UNSHARE_RS=$UNSHARE_RS is not an executable file"
else
    UNSHARE_RS=${CARGO_TARGET_DIR:-$REPO/target}/x86_64-unknown-linux-musl/release/unshare-rs
    if [[ ! -x $UNSHARE_RS ]]; then
        command -v cargo >/dev/null 2>&1 || die "$UNSHARE_RS is missing and there is no cargo to build it"
        note "$UNSHARE_RS is missing: cargo build --release -p unshare-rs"
        (cd -- "$REPO" && cargo build --release -p unshare-rs) >&2 \
            || die "cargo build --release -p unshare-rs failed (in $REPO)"
        [[ -x $UNSHARE_RS ]] || die "cargo built unshare-rs but $UNSHARE_RS does not exist (is musl the default target in .cargo/config.toml?)"
    fi
fi

# --- the peers ---------------------------------------------------------------
find_tool UTIL_UNSHARE unshare util-linux || skip util-linux "$WHY"
find_tool BWRAP bwrap bubblewrap || skip bwrap "$WHY"

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

# --- the commands -----------------------------------------------------------
# One row per command: tool, namespace set, display name, argv. The key
# "ours" marks our tool; ratios compare each peer with ours in the same set.
NAMES=() TOOLS=() SETS=() CMDS=()
add() {  # add TOOL SET NAME ARGV...
    local tool=$1 set=$2 name=$3 cmd= w q
    shift 3
    for w in "$@"; do printf -v q '%q' "$w"; cmd+="${cmd:+ }$q"; done
    # A command that fails here would abort hyperfine; try each once first.
    if ! "$@" >"$TMP/check.out" 2>"$TMP/check.err"; then
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

: >"$TMP/rows.tsv"
HF_ARGS=()
for i in "${!NAMES[@]}"; do
    printf '%s\t%s\t%s\t%s\n' "${TOOLS[i]}" "${SETS[i]}" "${NAMES[i]}" "${CMDS[i]}" >>"$TMP/rows.tsv"
    HF_ARGS+=(--command-name "${NAMES[i]}" "${CMDS[i]}")
done

# --- measure ----------------------------------------------------------------
note "hyperfine: ${#NAMES[@]} commands, $WARMUP warmup + $RUNS runs each"
"$HYPERFINE" -N --warmup "$WARMUP" --runs "$RUNS" --style basic \
    --export-json "$TMP/hyperfine.json" "${HF_ARGS[@]}" >&2 \
    || die "hyperfine failed"

# --- report -----------------------------------------------------------------
HF_VERSION=$("$HYPERFINE" --version 2>/dev/null | head -n1 || true)
UL_VERSION=$([[ -n $UTIL_UNSHARE ]] && "$UTIL_UNSHARE" --version 2>/dev/null | head -n1 || true)
BW_VERSION=$([[ -n $BWRAP ]] && "$BWRAP" --version 2>/dev/null | head -n1 || true)

HF_VERSION=$HF_VERSION UL_VERSION=$UL_VERSION BW_VERSION=$BW_VERSION \
TRUE_LABEL=$TRUE_LABEL TRUE_KIND=$TRUE_KIND TRUE_CMD="${TRUE_ARGV[*]}" \
UNSHARE_RS=$UNSHARE_RS UTIL_UNSHARE=$UTIL_UNSHARE BWRAP=$BWRAP \
RUNS=$RUNS WARMUP=$WARMUP KERNEL="$(uname -r)" BENCH_OUT=${BENCH_OUT:-} \
python3 - "$TMP/hyperfine.json" "$TMP/rows.tsv" "$TMP/skips.tsv" <<'EOF'
import json, os, sys

hf = json.load(open(sys.argv[1]))["results"]
rows = [l.rstrip("\n").split("\t", 3) for l in open(sys.argv[2]) if l.strip()]
skips = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[3]) if l.strip()]
assert len(hf) == len(rows), "hyperfine returned %d results for %d commands" % (len(hf), len(rows))
env = os.environ
ms = lambda s: s * 1000.0
peer_label = {"util-linux": "util-linux", "bwrap": "bwrap"}

results = []
for (tool, nsset, name, cmd), r in zip(rows, hf):
    results.append({
        "name": name, "tool": tool, "namespaces": nsset, "command": cmd,
        "median_ms": ms(r["median"]), "mean_ms": ms(r["mean"]),
        "stddev_ms": ms(r["stddev"] or 0.0),
        "min_ms": ms(r["min"]), "max_ms": ms(r["max"]), "runs": len(r["times"]),
    })
floor = next(r["median_ms"] for r in results if r["tool"] == "floor")
ours = {r["namespaces"]: r["median_ms"] for r in results if r["tool"] == "ours"}
for r in results:
    r["minus_floor_ms"] = None if r["tool"] == "floor" else r["median_ms"] - floor
    base = ours.get(r["namespaces"])
    r["ratio_to_unshare_rs"] = (r["median_ms"] / base) if (r["tool"] not in ("floor", "ours") and base) else None

print()
print("unshare-rs benchmark: %s, %d warmup + %d runs per command, no shell (-N)"
      % (env["HF_VERSION"] or "hyperfine", int(env["WARMUP"]), int(env["RUNS"])))
print("kernel %s; every command execs: %s" % (env["KERNEL"], env["TRUE_LABEL"]))
print("unshare-rs: %s" % env["UNSHARE_RS"])
if env["UTIL_UNSHARE"]:
    print("util-linux: %s (%s)" % (env["UTIL_UNSHARE"], env["UL_VERSION"]))
if env["BWRAP"]:
    print("bwrap:      %s (%s)" % (env["BWRAP"], env["BW_VERSION"]))
print()
hdr = ("namespaces", "command", "median ms", "mean ms", "stddev ms", "-floor ms", "vs unshare-rs")
fmt = "%-26s %-29s %9s %9s %9s %9s  %s"
print(fmt % hdr)
print("-" * 110)
last = None
for r in results:
    nsset = r["namespaces"] if r["namespaces"] != last else ""
    last = r["namespaces"]
    ratio = ""
    if r["ratio_to_unshare_rs"] is not None:
        ratio = "%s/unshare-rs = %.2fx" % (peer_label.get(r["tool"], r["tool"]), r["ratio_to_unshare_rs"])
    mf = "" if r["minus_floor_ms"] is None else "%+.3f" % r["minus_floor_ms"]
    print(fmt % (nsset, r["name"], "%.3f" % r["median_ms"], "%.3f" % r["mean_ms"],
                 "%.3f" % r["stddev_ms"], mf, ratio))
print()
print("unshare-rs median minus the floor (%.3f ms): %s" % (floor, ", ".join(
    "%s %+.3f ms" % (r["name"].split(" ", 1)[1], r["minus_floor_ms"])
    for r in results if r["tool"] == "ours")))
for tool, why in skips:
    print("skipped: %s (%s)" % (tool, why))

out = env.get("BENCH_OUT")
if out:
    doc = {
        "hyperfine": env["HF_VERSION"], "kernel": env["KERNEL"],
        "runs": int(env["RUNS"]), "warmup": int(env["WARMUP"]), "shell": "none",
        "true": {"command": env["TRUE_CMD"], "linkage": env["TRUE_KIND"], "label": env["TRUE_LABEL"]},
        "tools": {"unshare-rs": env["UNSHARE_RS"],
                  "util-linux": {"path": env["UTIL_UNSHARE"] or None, "version": env["UL_VERSION"] or None},
                  "bwrap": {"path": env["BWRAP"] or None, "version": env["BW_VERSION"] or None}},
        "floor_median_ms": floor,
        "results": results,
        "skipped": [{"tool": t, "reason": w} for t, w in skips],
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print("JSON written to %s" % out)
EOF
