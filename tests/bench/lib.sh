# Sourced by bench.sh, seccomp.sh and net.sh: how a benchmark finds the
# peers it compares with and our own binaries. The caller defines note, die,
# TMP (its temporary directory) and REPO (the repository's top) first.
#
#   apt_install PKG...   install packages if we can (apt-get, root); the
#                        package index is refreshed once per run
#   skip TOOL WHY        print "SKIP: TOOL not available: WHY" at line start
#                        (.ci/run fails on such a line) and record it in
#                        $TMP/skips.tsv (TOOL<TAB>WHY)
#   find_tool VAR CMD PKG
#                        VAR = the tool's path: an override in the variable
#                        VAR, else CMD in PATH, else after installing PKG;
#                        on failure VAR is empty and WHY says why
#   find_ours VAR PKG    VAR = an override (used as given) or the musl
#                        release build of PKG, built if missing
#   floor_cc OUT SRC [CFLAGS...]
#                        builds SRC into the static program OUT with
#                        musl-gcc (Debian musl-tools, installed if missing;
#                        FLOOR_CC overrides), else with $CC (gcc) and a
#                        note; FLOOR_CC_USED names the compiler. Why: a
#                        floor's own exec must cost what an exec costs. A
#                        static glibc program's start executes CPUID again
#                        and again (choosing its string functions, reading
#                        cache sizes), and in a VM every CPUID is an exit to
#                        the hypervisor: 8.7 us each here. Measured
#                        2026-12-07, paired against a program without libc:
#                        an exec that only execs again costs +0.40 ms more
#                        with gcc -static, +0.014 ms with musl-gcc -static.

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

: >"$TMP/skips.tsv"
skip() {
    echo "SKIP: $1 not available: $2"
    printf '%s\t%s\n' "$1" "$2" >>"$TMP/skips.tsv"
}

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

find_ours() {
    local var=$1 pkg=$2 path
    if [[ -n ${!var:-} ]]; then
        [[ -x ${!var} && -f ${!var} ]] || die "$var=${!var} is not an executable file"
        return 0
    fi
    path=${CARGO_TARGET_DIR:-$REPO/target}/x86_64-unknown-linux-musl/release/$pkg
    if [[ ! -x $path ]]; then
        command -v cargo >/dev/null 2>&1 || die "$path is missing and there is no cargo to build it"
        note "$path is missing: bash build.sh"
        (cd -- "$REPO" && bash build.sh) >&2 || die "build.sh failed (in $REPO)"
        [[ -x $path ]] || die "build.sh ran but $path does not exist"
    fi
    printf -v "$var" '%s' "$path"
}

# A file's text on one line, cut to WIDTH (default 300) characters: for
# error messages and table cells.
one_line() { tr '\n' ' ' <"$1" | cut -c1-"${2:-300}"; }

FLOOR_CC_USED=
floor_cc() {
    local out=$1 src=$2 cc
    shift 2
    if [[ -z ${FLOOR_CC:-} ]] && ! command -v musl-gcc >/dev/null 2>&1; then
        apt_install musl-tools || true
    fi
    cc=${FLOOR_CC:-$(command -v musl-gcc || true)}
    if [[ -n $cc ]]; then
        # musl's headers first; the kernel's (linux/, asm/) from the
        # system's include directories, searched last.
        if "$cc" -O2 -static -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
                "$@" -o "$out" "$src" 2>"$TMP/floor-cc.err"; then
            FLOOR_CC_USED="$cc -O2 -static (musl)"
            return 0
        fi
        note "$cc cannot build $src ($(one_line "$TMP/floor-cc.err" 200)): gcc -static instead, whose start costs ~0.4 ms more per exec here"
    else
        note "no musl-gcc (Debian musl-tools): $src built with gcc -static, whose start costs ~0.4 ms more per exec here"
    fi
    "${CC:-gcc}" -O2 -static "$@" -o "$out" "$src" 2>"$TMP/floor-cc.err" || return 1
    FLOOR_CC_USED="${CC:-gcc} -O2 -static (glibc)"
}
