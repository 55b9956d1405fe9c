#!/usr/bin/env bash
# cgroup.sh: what does cgctl add to a container's start, as a user runs it:
# the headline chain as a whole, warm and cold, with its cleanup, next to
# the same chain without cgctl and to util-linux under libcgroup's cgexec?
#
# bench.sh runs it at its end (after seccomp.sh and net.sh); it can also run
# alone. Every figure comes from this one run (two hyperfine runs, warm then
# cold, same machine state) and is printed, never asserted.
#
# Rows, each ending in ROOTFS's /bin/true (busybox; ROOTFS is made with
# examples/mkrootfs.sh in the temporary directory):
#   1 chain       unshare-rs -fpnumi -- pivot ROOTFS -- /bin/true
#                 the chain without cgctl
#   2 cgctl       cgctl --mem 100M -- unshare-rs -fpnumi -- pivot ROOTFS --
#                 /bin/true: the headline chain. Without --name, cgctl used
#                 to exec the chain and leave its empty cgctl-PID group
#                 behind after every run (issue 11; since 8bc7303 it
#                 supervises and removes it); whatever a run leaves is
#                 removed before the next one (untimed, below) and
#                 counted: the table prints how many runs left a group, so
#                 a binary with the bug shows it, and the row's time does
#                 not include a cleanup the binary does not do.
#   3 cgctl --wait
#                 cgctl --mem 100M --wait -- (the same chain): explicit
#                 supervision, the group's removal included in the time
#   4 cgexec      cgexec -g memory:G unshare -fpnumi --mount-proc chroot
#                 ROOTFS /bin/true: util-linux in libcgroup's group G (made
#                 before timing with cgcreate, memory.limit_in_bytes=100M
#                 set with cgset). cgexec only moves a process into an
#                 existing group: G's creation, its limit and its removal
#                 are NOT in this row. It also moves into the memory v1
#                 hierarchy only, where cgctl on a hybrid host also joins
#                 the unified one (two moves).
#   5 libcgroup one-off
#                 dash oneoff.sh /bin/true: cgcreate + cgset + cgexec (row 4)
#                 + cgdelete, what a one-off container costs with libcgroup,
#                 creation and cleanup included (compare with row 3). It
#                 includes a shell (dash) and its exec; so it can be told
#                 apart, warm mode also times `dash empty.sh`.
#   floor         cgfloor UNIFIED|- MEMORY (row 1): tests/bench/cgfloor.c,
#                 built here with gcc, no libc: the kernel work cgctl -v
#                 shows for row 2 (two mkdirs, the limit, clone3
#                 CLONE_VM|CLONE_VFORK|CLONE_INTO_CGROUP, the tasks write,
#                 wait, two rmdirs) and nothing else. Timed only in paired
#                 runs (below): what any cgctl must add at least, and how
#                 far ours is from it.
# Two modes: warm, back to back (hyperfine -N, 10 warmup runs, BENCH_RUNS
# runs); cold, each run after 1 s without anything (hyperfine --prepare ends
# in `sleep 1`; BENCH_RUNS/40 runs, at least 5, no warmup), because the
# first write to a cgroup.procs after a pause waits for an RCU grace period
# (the writer of cgroup_threadgroup_rwsem, ~10-20 ms), which back-to-back
# runs do not show and a one-off container start pays (cgexec, row 4,
# does; cgctl since 2026-12-03 joins v1 through `tasks`, which moves the
# calling thread without that rwsem, and v2 by CLONE_INTO_CGROUP). Every row has the
# same per-run --prepare (prep.sh, never timed): remove every group found
# below this script's group but G (cgctl's leftovers, a row 5 group its
# cgdelete did not remove), note how many, and in cold mode sleep 1 s
# afterwards, so a run's idle follows the removal. hyperfine's --cleanup
# (once per command, after its last run) does the same without the sleep.
#
# Printed: the rows' commands, a table of medians (warm: also mean, stddev,
# p5-p95; cold: min-max) with, per row and mode, how many runs left a group
# behind; what cgctl adds, warm and cold (row 2 - row 1, row 3 - row 1),
# and warm once more from an interleaved, paired run of rows 1 and 2 and
# of rows 1 and 3 (tests/bench/paired.py, BENCH_RUNS pairs each, the same
# reset before every run: run i of each comes back to back, so the drift
# between two hyperfine rows is not in the difference), judged on the
# paired median against the target: at most 0.5 ms warm (met/MISSED, and
# "out of reach here" when the floor's own paired figure is above 0.5 ms
# with its whole 95% interval); the floor paired with row 1, and row 2
# paired with the floor (cgctl's own cost: its exec, start and checks);
# the issue's cold
# target is for pure v2, where CLONE_INTO_CGROUP avoids the move; this
# host is hybrid, so cold is printed without a target); the ratios
# cgexec/cgctl (row 4 / row 2) and libcgroup one-off/cgctl --wait (row 5 /
# row 3). And one cgctl -v run of rows 2 and 3 after 1 s of idle (not
# timed): how long each move step took (cgroup.procs writes, clone3
# CLONE_INTO_CGROUP), which is what the cold figures are made of.
#
# Where: cgroups only below this process's own (read from /proc/self/cgroup),
# on this machine's layout (hybrid: v1 controllers under
# /sys/fs/cgroup/<controller>, cgroup2 at /sys/fs/cgroup/unified; pure v1
# works too; pure v2 is reported as SKIP: it is measured in the VM,
# tests/vm). The script makes one group of its own, cgbench-PID, below its
# own cgroup in the memory v1 hierarchy and in the cgroup2 one, and runs
# every command (hyperfine and the checks) in it: so cgctl's default
# placement (below its own cgroup) puts its groups there, libcgroup's groups
# are made there (cgbench-PID/ul-join and cgbench-PID/ul-oneoff), and
# nothing below it can be anyone else's. Nothing is mounted or unmounted
# under /sys/fs/cgroup; no process but the script's own is moved. On every
# exit (also after INT, TERM or HUP): hyperfine and what it runs are killed
# (its session, by its id), then every process still in a group below
# cgbench-PID (ours by construction), by pid; every group below it and
# cgbench-PID itself are removed, deepest first; the hierarchies are then
# checked to hold none of them, else the script fails. The temporary
# directory (rootfs, scripts, logs) goes too.
#
# Checks before timing, each row once, run where the rows run: the chain
# succeeds; rows 2 and 3 under cgctl -v with `cat /proc/self/cgroup` as the
# workload: every group cgctl makes is below cgbench-PID, it writes
# memory.limit_in_bytes 104857600 (memory.max on v2), and the container is
# in that memory group; whether each leaves its group is printed. Row 4: G's
# limit reads 104857600 and the container is in G; row 5: the container is
# in ul-oneoff and it is gone afterwards. A failing check of ours fails the
# script; a libcgroup that cannot be had, or fails its check, is reported as
# "SKIP: <peer> not available: <why>" (CI fails on SKIP) and rows 4 and 5
# are left out.
#
# Why. issue 11: the headline one-liner, `cgctl --mem 100M -- unshare-rs
# -fpnumi -- pivot ROOTFS -- true`, took 10-20 ms warm and 30-48 ms after
# idle with --wait, against ~2.3 ms for the chain without cgctl, and left a
# group per run; bench.sh's cgroup rows (--pids joins and creates with
# --name, back to back) show none of it. A user asks what a container start
# with a memory limit costs, first or hundredth, and whether it leaves
# anything behind.
#
# Binaries: ours are copied into the temporary directory at the start, so
# that a rebuild in target/ during the run cannot mix two builds in one
# table (the paths printed are the originals).
#
# Time: ~45 s here at CI's BENCH_RUNS=200 (the section prints its own
# time): warm ~12 s (six rows x 210 runs, 3-20 ms each with the reset),
# cold 5 rows x 5 runs x ~1.03 s, four paired runs ~4 s each, the checks
# and the two -v runs ~5 s.
# Every 40 more BENCH_RUNS add one cold run a row (~5 s).
#
# How to run (as root; from any directory):
#
#   bash tests/bench/cgroup.sh                  # BENCH_RUNS=300
#   BENCH_RUNS=200 bash tests/bench/cgroup.sh   # CI's: 200 warm, 5 cold a row
#
# Environment:
#   BENCH_RUNS   warm runs per row (default 300, as bench.sh; 10 warmup runs
#                come on top); cold runs are BENCH_RUNS/40, at least 5
#   CGCTL, UNSHARE_RS, PIVOT
#                our binaries (default: the musl release builds in
#                ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release,
#                built with `bash build.sh` if missing; an
#                override is used as given)
#   HYPERFINE    hyperfine (default: from PATH)
#   UTIL_UNSHARE util-linux unshare (default: `unshare` from PATH)
#   CGEXEC, CGCREATE, CGSET, CGDELETE
#                libcgroup's tools (default: from PATH; Debian cgroup-tools)
#   BUSYBOX      a static busybox for the rootfs (default /bin/busybox:
#                busybox-static)
#
# hyperfine, cgroup-tools, dash and busybox-static are installed with
# apt-get when missing and we are root on a system that has it.

set -euo pipefail

PROG=cgroup.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$SCRIPT_DIR/../.." && pwd)
RUNS=${BENCH_RUNS:-300}
START=$SECONDS

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }

[[ $RUNS =~ ^[0-9]+$ ]] && (( RUNS >= 2 )) \
    || die "BENCH_RUNS must be an integer >= 2, got '$RUNS'"
WARMUP=10
COLD_RUNS=$(( RUNS / 40 )); (( COLD_RUNS < 5 )) && COLD_RUNS=5
IDLE=1
LIMIT=104857600  # 100M

echo
echo "=== cgroup ==="
if (( EUID != 0 )); then
    echo "SKIP: root not available: the rows create cgroups and mount, pid, net, uts and ipc namespaces"
    exit 0
fi

NAME=cgbench-$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-cgroup.XXXXXX")
PARENTS=()  # our groups' directories, one per hierarchy, once made
OUTSIDE=()  # groups a check saw cgctl make outside them (then the script fails)
HF_PID=
# our_dirs: every directory at or below our groups, deepest first
our_dirs() {
    local p
    for p in "${PARENTS[@]}"; do
        [[ -d $p ]] && find "$p" -mindepth 0 -type d -print 2>/dev/null
    done | awk -F/ '{ print NF "\t" $0 }' | sort -rn | cut -f2-
}
cleanup() {
    local rc=$? d i pid left=() procs
    trap - EXIT
    trap '' INT TERM HUP  # let the cleanup finish
    if [[ -n $HF_PID ]] && kill -0 "$HF_PID" 2>/dev/null; then
        # hyperfine and what it runs: its own session and process group (setsid)
        if [[ $(ps -o pgid= -p "$HF_PID" 2>/dev/null | tr -d ' ') == "$HF_PID" ]]; then
            kill -TERM -- "-$HF_PID" 2>/dev/null || true
            for (( i = 0; i < 100; i++ )); do kill -0 -- "-$HF_PID" 2>/dev/null || break; sleep 0.02; done
            kill -KILL -- "-$HF_PID" 2>/dev/null || true
        else
            kill -TERM "$HF_PID" 2>/dev/null || true
        fi
        wait "$HF_PID" 2>/dev/null || true
    fi
    if (( ${#PARENTS[@]} )); then
        # Whatever is still in one of our groups was started by this script
        # (a container whose pid namespace outlived hyperfine's group, say):
        # killed by pid, then every group goes, deepest first.
        for (( i = 0; i < 100; i++ )); do
            procs=$(our_dirs | while IFS= read -r d; do cat -- "$d/cgroup.procs" 2>/dev/null; done)
            [[ -z $procs ]] && break
            for pid in $procs; do kill -KILL "$pid" 2>/dev/null || true; done
            sleep 0.02
        done
        while IFS= read -r d; do
            for (( i = 0; i < 100; i++ )); do
                rmdir -- "$d" 2>/dev/null && break
                [[ -d $d ]] || break
                sleep 0.02
            done
        done < <(our_dirs)
        for (( i = ${#OUTSIDE[@]} - 1; i >= 0; i-- )); do rmdir -- "${OUTSIDE[i]}" 2>/dev/null || true; done
        for d in "${PARENTS[@]}" "${OUTSIDE[@]}"; do [[ -e $d ]] && left+=("$d"); done
        if (( ${#left[@]} )); then
            note "error: groups left behind: $(our_dirs | tr '\n' ' ')${OUTSIDE[*]:+ ${OUTSIDE[*]}}"
            (( rc )) || rc=1
        else
            echo "cleanup: $NAME and every group below it removed (${PARENTS[*]})${OUTSIDE[*]:+, and ${OUTSIDE[*]}}; none of ours is left"
        fi
    fi
    rm -rf -- "$TMP"
    exit "$rc"
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
command -v python3 >/dev/null 2>&1 || die "python3 is needed (the table)"
command -v dash >/dev/null 2>&1 || apt_install dash || true
DASH=$(command -v dash) || die "dash (Debian dash) is needed: the per-run reset and row 5 use it"
find_ours CGCTL cgctl
find_ours UNSHARE_RS unshare-rs
find_ours PIVOT pivot
BB=${BUSYBOX:-/bin/busybox}
[[ -x $BB || -n ${BUSYBOX:-} ]] || apt_install busybox-static || true
[[ -x $BB ]] || die "no static busybox at $BB (apt-get install busybox-static): the rootfs needs it"
# a snapshot of ours: a rebuild in target/ during the run cannot mix builds
mkdir -- "$TMP/bin"
for v in CGCTL UNSHARE_RS PIVOT; do
    cp -- "${!v}" "$TMP/bin/$v" || die "cannot copy ${!v} to $TMP/bin"
done
CG=$TMP/bin/CGCTL US=$TMP/bin/UNSHARE_RS PV=$TMP/bin/PIVOT

# the kernel floor (cgfloor.c, built here: no libc, see there)
FLOOR_OK=1
if ! find_tool CC gcc gcc; then
    skip "gcc" "$WHY (tests/bench/cgfloor.c, the floor of what cgctl adds)"; FLOOR_OK=0
elif ! "$CC" -O2 -static -nostdlib -fno-stack-protector -fno-builtin -o "$TMP/bin/cgfloor" \
        "$SCRIPT_DIR/cgfloor.c" 2>"$TMP/cc.err"; then
    skip "cgfloor" "$CC cannot build tests/bench/cgfloor.c: $(one_line "$TMP/cc.err")"; FLOOR_OK=0
fi
FLOOR=$TMP/bin/cgfloor

UL_OK=1
if ! find_tool UTIL_UNSHARE unshare util-linux; then
    skip "util-linux unshare" "$WHY"; UL_OK=0
fi
CHROOT=$(command -v chroot || true)
if (( UL_OK )) && [[ -z $CHROOT ]]; then
    skip "chroot" "'chroot' (coreutils) is not in PATH"; UL_OK=0
fi
if (( UL_OK )); then
    for t in CGEXEC:cgexec CGCREATE:cgcreate CGSET:cgset CGDELETE:cgdelete; do
        if ! find_tool "${t%%:*}" "${t#*:}" cgroup-tools; then
            skip "libcgroup ${t#*:}" "$WHY"; UL_OK=0; break
        fi
    done
fi

# --- the layout, our group ------------------------------------------------------
# The memory v1 hierarchy and the cgroup2 one, from mountinfo (mount point,
# and the root of the mount: not / inside a cgroup namespace).
MEM_MNT= MEM_ROOT= V2_MNT= V2_ROOT=
while IFS= read -r line; do
    pre=${line%% - *} post=${line#* - }
    read -r _ _ _ root mnt _ <<<"$pre"
    read -r fstype _ sopts <<<"$post"
    if [[ $fstype == cgroup && -z $MEM_MNT && ,$sopts, == *,memory,* ]]; then
        MEM_MNT=$mnt MEM_ROOT=$root
    elif [[ $fstype == cgroup2 && -z $V2_MNT ]]; then
        V2_MNT=$mnt V2_ROOT=$root
    fi
done </proc/self/mountinfo
# Our own cgroups, from /proc/self/cgroup.
MEM_PATH= V2_PATH= HAVE_V2_LINE=0
while IFS=: read -r id ctrls path; do
    if [[ $id == 0 && -z $ctrls ]]; then
        V2_PATH=$path HAVE_V2_LINE=1
    elif [[ ,$ctrls, == *,memory,* ]]; then
        MEM_PATH=$path
    fi
done </proc/self/cgroup
dir_of() {  # dir_of MNT ROOT PATH: where PATH of that hierarchy is here
    local mnt=$1 root=$2 path=$3
    if [[ $root == / ]]; then printf '%s%s' "${mnt%/}" "$path"
    elif [[ $path == "$root" ]]; then printf '%s' "$mnt"
    elif [[ $path == "$root"/* ]]; then printf '%s%s' "${mnt%/}" "${path#"$root"}"
    else return 1
    fi
}
if [[ -z $MEM_MNT || -z $MEM_PATH ]]; then
    if [[ -n $V2_MNT ]]; then
        skip cgroup "no memory v1 hierarchy: a pure cgroup v2 host (this script measures the hybrid and v1 layouts; pure v2 is measured in the VM, tests/vm)"
    else
        skip cgroup "no memory cgroup hierarchy is mounted"
    fi
    exit 0
fi
MEM_OWN=$(dir_of "$MEM_MNT" "$MEM_ROOT" "$MEM_PATH") \
    || die "our memory cgroup $MEM_PATH is outside the mounted hierarchy (root $MEM_ROOT at $MEM_MNT)"
PM=${MEM_OWN%/}/$NAME PU=
if [[ -n $V2_MNT ]] && (( HAVE_V2_LINE )); then
    V2_OWN=$(dir_of "$V2_MNT" "$V2_ROOT" "$V2_PATH") \
        || die "our cgroup2 path $V2_PATH is outside the mounted hierarchy (root $V2_ROOT at $V2_MNT)"
    PU=${V2_OWN%/}/$NAME
fi
LAYOUT="hybrid (memory v1 at $MEM_MNT, cgroup2 at $V2_MNT)"
[[ -n $PU ]] || LAYOUT="v1 (memory at $MEM_MNT)"
for d in "$PM" ${PU:+"$PU"}; do
    if ! mkdir -- "$d" 2>"$TMP/mkdir.err"; then
        skip cgroup "cannot make our group $d: $(one_line "$TMP/mkdir.err")"
        exit 0
    fi
    PARENTS+=("$d")
done
# libcgroup names groups by their path in the hierarchy (from its root)
REL=${PM#"${MEM_MNT%/}"/}
G=$REL/ul-join GX=$REL/ul-oneoff
# in_parent CMD...: CMD in our groups (the subshell moves itself, then execs)
in_parent() {
    ( for d in "${PARENTS[@]}"; do echo "$BASHPID" >"$d/cgroup.procs"; done; exec "$@" )
}
# in_parent_idle: the same, then 1 s without anything before CMD (a cold run)
in_parent_idle() {
    ( for d in "${PARENTS[@]}"; do echo "$BASHPID" >"$d/cgroup.procs"; done; sleep "$IDLE"; exec "$@" )
}

# --- rootfs, scripts ----------------------------------------------------------------
ROOTFS=$TMP/rootfs
BUSYBOX=$BB bash "$REPO/examples/mkrootfs.sh" "$ROOTFS" >&2 || die "examples/mkrootfs.sh $ROOTFS failed"
for f in bin/true bin/cat bin/sh bin/mount; do
    [[ -x $ROOTFS/$f ]] || die "the rootfs has no /$f (the rows and their checks need it)"
done

PU_GLOB=; [[ -n $PU ]] && PU_GLOB="\"$PU\"/*"
# prep.sh KEY IDLE: the per-run reset (hyperfine --prepare, never timed):
# remove every group below ours but ul-join (deepest is one level: cgctl and
# cgcreate make one), write to left-KEY "p N NAMES" (N distinct group
# names found), then sleep IDLE seconds (0: not). KEY "-" is hyperfine's
# --cleanup after a command's last run: the key of the prepare before it,
# a line "c N NAMES".
cat >"$TMP/prep.sh" <<EOF
key=\$1 idle=\$2 kind=p
if [ "\$key" = - ]; then read -r key <"$TMP/current"; kind=c; else echo "\$key" >"$TMP/current"; fi
seen= n=0
for d in "$PM"/* $PU_GLOB; do
    [ -d "\$d" ] || continue
    b=\${d##*/}
    [ "\$b" = ul-join ] && continue
    case " \$seen " in *" \$b "*) ;; *) seen="\$seen \$b"; n=\$((n + 1)) ;; esac
    i=0
    while ! rmdir "\$d" 2>/dev/null; do
        i=\$((i + 1))
        [ \$i -le 400 ] || { echo "prep.sh: cannot remove \$d after 2 s" >&2; exit 1; }
        sleep 0.005
    done
done
echo "\$kind \$n\$seen" >>"$TMP/left-\$key"
[ "\$idle" = 0 ] || sleep "\$idle"
EOF
# oneoff.sh CMD...: libcgroup's one-off container (row 5)
(( UL_OK )) && cat >"$TMP/oneoff.sh" <<EOF
$CGCREATE -g memory:$GX || exit 125
$CGSET -r memory.limit_in_bytes=100M $GX || { $CGDELETE -g memory:$GX; exit 125; }
rc=0
$CGEXEC -g memory:$GX $UTIL_UNSHARE -fpnumi --mount-proc $CHROOT $ROOTFS "\$@" || rc=\$?
$CGDELETE -g memory:$GX || exit 125
exit \$rc
EOF
: >"$TMP/empty.sh"
reset() {  # reset KEY: as a timed run's --prepare does, without the idle
    "$DASH" "$TMP/prep.sh" "$KEY_PREFIX$1" 0 2>"$TMP/reset.err" || die "the reset failed: $(one_line "$TMP/reset.err")"
}
KEY_PREFIX=check-
left_names() {  # left_names KEY: the names the last reset of KEY found
    local kind n names
    read -r kind n names < <(tail -n1 "$TMP/left-$KEY_PREFIX$1")
    printf '%s' "$names"
}
mem_path_of() {  # mem_path_of DIR: DIR's path in the memory hierarchy, as /proc/PID/cgroup shows it
    local rel=${1#"${MEM_MNT%/}"}
    if [[ $MEM_ROOT == / ]]; then printf '%s' "$rel"; else printf '%s%s' "$MEM_ROOT" "$rel"; fi
}

# --- checks: every row once, before timing -----------------------------------------
CHECKS=()
CHAIN=("$US" -fpnumi -- "$PV" "$ROOTFS" -- /bin/true)
in_parent "${CHAIN[@]}" 2>"$TMP/check.err" || die "the chain without cgctl fails: $(one_line "$TMP/check.err")"
CHECKS+=("chain: runs")

mem_line() {  # the memory line's path of a /proc/self/cgroup in FILE
    sed -n 's/^[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}:\(.*\)$/\3/p' "$1" | head -n1
}
# check_cgctl KEY ARGS...: cgctl -v ARGS -- the chain ending in cat
# /proc/self/cgroup; its groups below ours, the limit written, the
# container in the memory group it made. LEFT: the names it left.
LEFT=
check_cgctl() {
    local key=$1 re='^cgctl\[[0-9]+\] \+[0-9.]+ ms mkdir ([^ ]+) = ok' line d mdir= bad=() p ok
    shift
    reset "$key"
    in_parent "$CG" -v "$@" -- "$US" -fpnumi -- "$PV" "$ROOTFS" -- /bin/cat /proc/self/cgroup \
        >"$TMP/check.out" 2>"$TMP/trace-$key.txt" \
        || die "cgctl $* -- (the chain) fails: $(one_line "$TMP/trace-$key.txt")"
    while IFS= read -r line; do
        [[ $line =~ $re ]] || continue
        d=${BASH_REMATCH[1]} ok=0
        for p in "${PARENTS[@]}"; do [[ $d == "$p"/* ]] && ok=1; done
        if (( ! ok )); then OUTSIDE+=("$d"); continue; fi
        [[ $d == "${PM}"/* ]] && mdir=$d
    done <"$TMP/trace-$key.txt"
    (( ${#OUTSIDE[@]} == 0 )) \
        || die "cgctl $* made ${OUTSIDE[*]}, not below our group ($NAME): its groups would escape the per-run reset (removed on exit)"
    [[ -n $mdir ]] || bad+=("no mkdir in the memory hierarchy in its -v trace")
    grep -Eq "(memory\.limit_in_bytes|memory\.max) \"$LIMIT\" = ok" "$TMP/trace-$key.txt" \
        || bad+=("no write of $LIMIT to memory.limit_in_bytes in its -v trace")
    [[ -n $mdir && $(mem_line "$TMP/check.out") == "$(mem_path_of "$mdir")" ]] \
        || bad+=("the container's memory cgroup is '$(mem_line "$TMP/check.out")', not '$(mem_path_of "${mdir:-?}")'")
    (( ${#bad[@]} == 0 )) || die "cgctl $* -- (the chain): $(IFS=';'; echo "${bad[*]}")"
    reset "$key"
    LEFT=$(left_names "$key")
}
check_cgctl cg --mem 100M
CHECKS+=("cgctl --mem 100M: its groups below $NAME, memory.limit_in_bytes $LIMIT, the container in it; left behind: ${LEFT:-nothing}")
check_cgctl cgw --mem 100M --wait
CHECKS+=("cgctl --mem 100M --wait: its groups below $NAME, memory.limit_in_bytes $LIMIT, the container in it; left behind: ${LEFT:-nothing}")

# the floor: the container in its memory group, nothing left
if (( FLOOR_OK )); then
    FLOOR_CMD=("$FLOOR" "${PU:--}" "$PM")
    reset floor
    in_parent "${FLOOR_CMD[@]}" "$US" -fpnumi -- "$PV" "$ROOTFS" -- /bin/cat /proc/self/cgroup \
        >"$TMP/check.out" 2>"$TMP/check.err" || die "cgfloor -- (the chain) fails: $(one_line "$TMP/check.err")"
    [[ $(mem_line "$TMP/check.out") == "$(mem_path_of "$PM")"/cgfloor-* ]] \
        || die "under cgfloor, the container's memory cgroup is '$(mem_line "$TMP/check.out")', not $(mem_path_of "$PM")/cgfloor-PID"
    reset floor
    [[ -z $(left_names floor) ]] || die "cgfloor left $(left_names floor) behind"
    CHECKS+=("cgfloor: the container in its memory group below $NAME; nothing left")
fi

# util-linux's --mount-proc mounts the new proc on the host's /proc path, so
# in the chroot /proc is empty: the check mounts one there (in unshare's
# mount namespace, private: nothing of it reaches the host)
SHOW_CG=(/bin/sh -c 'mount -t proc proc /proc && exec cat /proc/self/cgroup')
if (( UL_OK )); then
    if ! "$CGCREATE" -g "memory:$G" 2>"$TMP/check.err" || ! "$CGSET" -r memory.limit_in_bytes=100M "$G" 2>>"$TMP/check.err"; then
        skip "libcgroup" "cgcreate/cgset of $G fails here: $(one_line "$TMP/check.err")"; UL_OK=0
    elif [[ $(cat "$PM/ul-join/memory.limit_in_bytes" 2>/dev/null) != "$LIMIT" ]]; then
        skip "libcgroup" "after cgset, $PM/ul-join/memory.limit_in_bytes is not $LIMIT"; UL_OK=0
    elif ! in_parent "$CGEXEC" -g "memory:$G" "$UTIL_UNSHARE" -fpnumi --mount-proc "$CHROOT" "$ROOTFS" \
            "${SHOW_CG[@]}" >"$TMP/check.out" 2>"$TMP/check.err"; then
        skip "util-linux under cgexec" "it fails here: $(one_line "$TMP/check.err")"; UL_OK=0
    elif [[ $(mem_line "$TMP/check.out") != "$(mem_path_of "$PM/ul-join")" ]]; then
        skip "util-linux under cgexec" "the container's memory cgroup is '$(mem_line "$TMP/check.out")', not $(mem_path_of "$PM/ul-join")"; UL_OK=0
    else
        CHECKS+=("cgexec: ul-join's memory.limit_in_bytes $LIMIT (cgcreate + cgset, before timing), the container in it")
        reset ulx
        if ! in_parent "$DASH" "$TMP/oneoff.sh" "${SHOW_CG[@]}" >"$TMP/check.out" 2>"$TMP/check.err"; then
            skip "libcgroup one-off" "oneoff.sh fails here: $(one_line "$TMP/check.err")"; UL_OK=0
        elif [[ $(mem_line "$TMP/check.out") != "$(mem_path_of "$PM/ul-oneoff")" ]]; then
            skip "libcgroup one-off" "the container's memory cgroup is '$(mem_line "$TMP/check.out")', not $(mem_path_of "$PM/ul-oneoff")"; UL_OK=0
        elif [[ -e $PM/ul-oneoff ]]; then
            skip "libcgroup one-off" "cgdelete left $PM/ul-oneoff"; UL_OK=0
        else
            CHECKS+=("libcgroup one-off: the container in ul-oneoff, which cgdelete removed")
        fi
    fi
fi

# --- rows -----------------------------------------------------------------------------
: >"$TMP/rows.tsv"
add() {  # add KEY NAME CMD...
    local key=$1 name=$2 cmd= w q
    shift 2
    for w in "$@"; do printf -v q '%q' "$w"; cmd+="${cmd:+ }$q"; done
    printf '%s\t%s\t%s\n' "$key" "$name" "$cmd" >>"$TMP/rows.tsv"
}
add shell "dash empty.sh (row 5's shell)" "$DASH" "$TMP/empty.sh"
add chain "1 chain" "${CHAIN[@]}"
add cg "2 cgctl" "$CG" --mem 100M -- "${CHAIN[@]}"
add cgw "3 cgctl --wait" "$CG" --mem 100M --wait -- "${CHAIN[@]}"
if (( UL_OK )); then
    add ul "4 cgexec (group made before)" "$CGEXEC" -g "memory:$G" "$UTIL_UNSHARE" -fpnumi --mount-proc "$CHROOT" "$ROOTFS" /bin/true
    add ulx "5 libcgroup one-off" "$DASH" "$TMP/oneoff.sh" /bin/true
fi

# hf MODE IDLE WARMUP RUNS: one hyperfine run of the rows (cold: not the
# shell), in our groups, in a session of its own, waited for (a signal to
# this script ends it, and the reset or row it runs, before the groups go).
hf() {
    local mode=$1 idle=$2 warmup=$3 runs=$4 args=() key name cmd n=0
    while IFS=$'\t' read -r key name cmd; do
        [[ $mode == cold && $key == shell ]] && continue
        args+=(--prepare "$(printf '%q %q %q %q' "$DASH" "$TMP/prep.sh" "$mode-$key" "$idle")" --command-name "$name" "$cmd")
        n=$(( n + 1 ))
    done <"$TMP/rows.tsv"
    note "hyperfine, $mode: $n commands, $warmup warmup + $runs runs each, a reset before every run$( [[ $idle == 0 ]] || echo ", then $idle s of idle")"
    # not in_parent (a function: $! would be a shell around it): this
    # subshell moves itself into our groups and becomes hyperfine
    ( for d in "${PARENTS[@]}"; do echo "$BASHPID" >"$d/cgroup.procs"; done
      exec setsid "$HYPERFINE" -N --warmup "$warmup" --runs "$runs" --style basic \
        --cleanup "$(printf '%q %q - 0' "$DASH" "$TMP/prep.sh")" \
        --export-json "$TMP/$mode.json" "${args[@]}" >&2 ) &
    HF_PID=$!
    wait "$HF_PID" || die "hyperfine ($mode) failed"
    HF_PID=
}
hf warm 0 "$WARMUP" "$RUNS"
hf cold "$IDLE" 0 "$COLD_RUNS"

# paired_cmds KEY BASE... :: WITH...: the two commands, warm, interleaved
# (tests/bench/paired.py, the same reset before every run), in our groups
# like hyperfine: what WITH adds to BASE, without the drift between two
# hyperfine rows.
paired_cmds() {
    local key=$1
    shift
    ( for d in "${PARENTS[@]}"; do echo "$BASHPID" >"$d/cgroup.procs"; done
      exec setsid python3 "$SCRIPT_DIR/paired.py" --runs "$RUNS" --warmup "$WARMUP" \
        --prepare "$(printf '%q %q %q %q' "$DASH" "$TMP/prep.sh" "paired-$key" 0)" \
        --json "$TMP/paired-$key.json" -- "$@" >&2 ) &
    HF_PID=$!
    wait "$HF_PID" || die "paired.py ($key) failed"
    HF_PID=
}
# paired KEY ARGS...: row 1 and `cgctl ARGS -- (row 1)`
paired() {
    local key=$1
    shift
    note "paired, warm: row 1 and cgctl $* -- (row 1), $RUNS pairs"
    paired_cmds "$key" "${CHAIN[@]}" :: "$CG" "$@" -- "${CHAIN[@]}"
}
paired cg --mem 100M
paired cgw --mem 100M --wait
if (( FLOOR_OK )); then
    note "paired, warm: row 1 and cgfloor (row 1), then cgfloor (row 1) and cgctl --mem 100M -- (row 1), $RUNS pairs each"
    paired_cmds floor "${CHAIN[@]}" :: "${FLOOR_CMD[@]}" "${CHAIN[@]}"
    paired_cmds overfloor "${FLOOR_CMD[@]}" "${CHAIN[@]}" :: "$CG" --mem 100M -- "${CHAIN[@]}"
fi

# one cgctl -v run of rows 2 and 3 after 1 s of idle (not timed): its moves
for k in cg cgw; do
    if [[ $k == cg ]]; then a=(--mem 100M); else a=(--mem 100M --wait); fi
    reset "idle-$k"
    in_parent_idle "$CG" -v "${a[@]}" -- "${CHAIN[@]}" 2>"$TMP/idle-$k.txt" \
        || die "cgctl -v ${a[*]} fails: $(one_line "$TMP/idle-$k.txt")"
    reset "idle-$k"
done

# --- report ---------------------------------------------------------------------------
echo "layout: $LAYOUT; our group: $NAME (${PARENTS[*]})"
echo "cgctl: $CGCTL ($("$CG" -V 2>/dev/null | head -n1)); unshare-rs: $UNSHARE_RS; pivot: $PIVOT (copied to $TMP/bin for the run)"
if (( UL_OK )); then
    echo "util-linux: $UTIL_UNSHARE ($("$UTIL_UNSHARE" --version 2>/dev/null | head -n1)); libcgroup: $CGEXEC ($(dpkg-query -W -f 'cgroup-tools ${Version}' cgroup-tools 2>/dev/null || echo '?'))"
fi
echo "$("$HYPERFINE" --version | head -n1); kernel $(uname -r)"
for c in "${CHECKS[@]}"; do echo "check: $c"; done
python3 - "$TMP" "$WARMUP" "$RUNS" "$COLD_RUNS" "$IDLE" "$NAME" "$FLOOR_OK" <<'EOF'
import json, os, re, statistics, sys

tmp, warmup, runs, cold_runs, idle, name, floor_ok = sys.argv[1:]
rows = [l.rstrip("\n").split("\t", 2) for l in open(os.path.join(tmp, "rows.tsv")) if l.strip()]
R = {}
for mode in ("warm", "cold"):
    hf = json.load(open(os.path.join(tmp, mode + ".json")))["results"]
    keys = [k for k, _, _ in rows if not (mode == "cold" and k == "shell")]
    assert len(hf) == len(keys), "hyperfine (%s) gave %d results for %d rows" % (mode, len(hf), len(keys))
    for k, r in zip(keys, hf):
        t = sorted(x * 1e3 for x in r["times"])
        q = statistics.quantiles(t, n=20) if len(t) >= 2 else [t[0]] * 19
        left = runs_seen = 0
        p = os.path.join(tmp, "left-%s-%s" % (mode, k))
        if os.path.exists(p):
            for line in open(p):
                f = line.split()
                runs_seen += f[0] == "p"
                left += int(f[1])
        R[mode, k] = {"median": r["median"] * 1e3, "mean": r["mean"] * 1e3, "sd": (r["stddev"] or 0) * 1e3,
                      "p5": q[0], "p95": q[18], "min": t[0], "max": t[-1], "n": len(t),
                      "left": left, "runs": runs_seen}

legend = {
    "shell": "dash empty.sh",
    "chain": "unshare-rs -fpnumi -- pivot ROOTFS -- /bin/true",
    "cg": "cgctl --mem 100M -- unshare-rs -fpnumi -- pivot ROOTFS -- /bin/true",
    "cgw": "cgctl --mem 100M --wait -- unshare-rs -fpnumi -- pivot ROOTFS -- /bin/true",
    "ul": "cgexec -g memory:G unshare -fpnumi --mount-proc chroot ROOTFS /bin/true"
          " (G: cgcreate + cgset memory.limit_in_bytes=100M before timing: not in the row)",
    "ulx": "dash oneoff.sh /bin/true: cgcreate + cgset + cgexec (as row 4) + cgdelete",
}
print()
print("rows (each runs in %s, this script's group below its own cgroups; ROOTFS's /bin/true is busybox):" % name)
for k, n, _ in rows:
    print("  %-30s %s" % (n, legend[k]))
print()
print("warm: back to back, hyperfine -N, %s warmup + %s runs; cold: each run after %s s of idle"
      " (hyperfine --prepare ends in sleep %s), %s runs; every run follows the same reset (not timed),"
      " which removes what the run before left" % (warmup, runs, idle, idle, cold_runs))
fmt = "%-30s | %9s %9s %9s %13s %9s | %9s %15s %9s"
print(fmt % ("", "warm", "", "", "", "", "cold", "", ""))
print(fmt % ("row", "median ms", "mean ms", "stddev ms", "p5-p95 ms", "left", "median ms", "min-max ms", "left"))
print("-" * 129)
for k, n, _ in rows:
    w, c = R.get(("warm", k)), R.get(("cold", k))
    lw = "%d/%d" % (w["left"], w["runs"]) if w else ""
    print(fmt % (n, "%.3f" % w["median"], "%.3f" % w["mean"], "%.3f" % w["sd"],
                 "%.2f-%.2f" % (w["p5"], w["p95"]), lw,
                 "%.3f" % c["median"] if c else "-", "%.2f-%.2f" % (c["min"], c["max"]) if c else "-",
                 "%d/%d" % (c["left"], c["runs"]) if c else "-"))
print("left: groups found after the row's runs (by the reset before the next run and hyperfine's --cleanup)"
      " / runs (warmup included)")
print()
med = lambda mode, k: R[mode, k]["median"] if (mode, k) in R else None
paired = lambda k: json.load(open(os.path.join(tmp, "paired-%s.json" % k)))
floor = paired("floor")["diff"] if floor_ok == "1" else None
for k, what in (("cg", "cgctl adds (row 2 - row 1)"), ("cgw", "cgctl --wait adds (row 3 - row 1)")):
    dw = med("warm", k) - med("warm", "chain")
    dc = med("cold", k) - med("cold", "chain")
    pr = paired(k)
    pd = pr["diff"]
    verdict = "met" if pd["median"] <= 0.5 else "MISSED"
    if verdict == "MISSED" and floor and floor["low"] > 0.5:
        verdict += " (out of reach here: the kernel floor alone adds more, below)"
    print("%s: warm %+.3f ms, cold %+.3f ms (the rows' medians); paired, warm (paired.py, %d pairs"
          " interleaved): %+.3f ms (95%% interval %+.3f to %+.3f); target at most 0.5 ms warm, judged on the"
          " paired figure: %s"
          % (what, dw, dc, len(pr["base"]), pd["median"], pd["low"], pd["high"], verdict))
if floor:
    over = paired("overfloor")["diff"]
    print("the kernel floor (tests/bench/cgfloor.c, no libc: cgctl's mkdirs, limit, clone3 CLONE_VM|CLONE_VFORK"
          "|CLONE_INTO_CGROUP, tasks write, wait and rmdirs, nothing else), paired, warm: it adds %+.3f ms to row 1"
          " (95%% interval %+.3f to %+.3f); cgctl --mem 100M over the floor, paired: %+.3f ms (%+.3f to %+.3f):"
          " its exec, its start, the layout's reading and its checks"
          % (floor["median"], floor["low"], floor["high"], over["median"], over["low"], over["high"]))
print("(cold is judged in the VM: the issue's cold target, the same 0.5 ms, is for pure v2, where clone3"
      " CLONE_INTO_CGROUP starts the workload inside the group; on this hybrid host cgctl joins the v1 memory"
      " hierarchy through tasks, which takes no threadgroup rwsem, so no RCU wait after idle either; row 4's"
      " cgexec writes cgroup.procs and waits)")
for mode in ("warm", "cold"):
    w = R[mode, "cg"]
    print("row 2 left a group behind after %d of %d %s runs%s" % (
        w["left"], w["runs"], mode,
        " (today's cgctl without --name does not remove its group: issue 11)" if w["left"] else ""))
if ("warm", "ul") in R:
    for mode in ("warm", "cold"):
        print("%s: cgexec (row 4) / cgctl (row 2) = %.2fx; libcgroup one-off (row 5) / cgctl --wait (row 3) = %.2fx"
              "%s" % (mode, med(mode, "ul") / med(mode, "cg"), med(mode, "ulx") / med(mode, "cgw"),
                      "; without its shell (row 5 - dash empty.sh) %.2fx" % (
                          (med(mode, "ulx") - med("warm", "shell")) / med(mode, "cgw")) if mode == "warm" else ""))
    print("(row 4 only moves into a group made before timing, into the memory v1 hierarchy only; cgctl on a hybrid"
          " host makes its group and joins the unified hierarchy too)")

# cgctl -v after idle: its move steps
step = re.compile(r"^cgctl\[\d+\] \+([0-9.]+) ms (.*) = (?:ok|child [^(]*?) ?\(([0-9.]+) ms\)$")
for k, what in (("cg", "cgctl --mem 100M"), ("cgw", "cgctl --mem 100M --wait")):
    p = os.path.join(tmp, "idle-%s.txt" % k)
    moves, end, ex = [], None, None
    for line in open(p):
        line = line.strip()
        m = step.match(line)
        if m and ("cgroup.procs" in m.group(2) or "/tasks " in m.group(2) or "CLONE_INTO_CGROUP" in m.group(2)):
            s = m.group(2)
            where = "unified" if "/unified/" in s else ("memory" if "/memory/" in s else "")
            if "CLONE_INTO_CGROUP" in s:
                s = "clone3 CLONE_INTO_CGROUP (until the child's exec)"
            else:
                s = "write %s %s" % (where, "tasks" if "/tasks " in s else "cgroup.procs")
            moves.append("%s %s ms" % (s, m.group(3)))
        mm = re.match(r"^cgctl\[\d+\] \+([0-9.]+) ms (# execve)?", line)
        if mm:
            end = mm.group(1)
            if mm.group(2) and ex is None:
                ex = mm.group(1)
    print("%s -v, one run after %s s of idle (not timed): %s; the workload's execve at +%s ms, cgctl's last"
          " step at +%s ms" % (what, idle, "; ".join(moves) or "no move step in its trace", ex or "?", end))
EOF
[[ -s $TMP/skips.tsv ]] && sed 's/^/skipped: /; s/\t/: /' "$TMP/skips.tsv"
echo "cgroup section: $(( SECONDS - START )) s (BENCH_RUNS=$RUNS: $RUNS warm and $COLD_RUNS cold runs a row)"
