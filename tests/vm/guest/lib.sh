# The check helpers (busybox sh), sourced by /init.
#
#   check NAME FUNC [ARG...]   run FUNC (a shell function) with its output
#                              captured; print one line
#                                RESULT PASS|FAIL <layout>/<name> <detail>
#                              detail: the last line FUNC printed. After a
#                              FAIL, FUNC's output follows as NOTE lines.
#   fail MSG                   print MSG and end the check as FAILED
#   want_rc WANT GOT OUTPUT    exit status check, with the output on failure
#   want_text TEXT STRING      STRING contains TEXT
#
# A check function returns 0 for PASS. It runs in a subshell (fail exits
# it; a variable it sets is gone afterwards: state shared by checks goes to
# files in /tmp). A check still running after CHECK_TIMEOUT seconds is
# killed with its children and fails, so that one hung check cannot eat
# the whole VM timeout.
#
# A workload inside a memory-limited group must not write files on the
# tmpfs: the pages stay charged to the group after it is removed (a dying
# memory cgroup), and then the next layout cannot bind the memory controller
# to a v1 hierarchy (EBUSY). Capture workload output with $(...) (a pipe).

CHECK_TIMEOUT=20
# Only the checks whose layout/name match this pattern run (the kernel
# command line's chain.checks=PATTERN, from run.sh's CHAIN_VM_CHECKS).
ONLY=$(sed -n 's/.*chain\.checks=\([^ ]*\).*/\1/p' /proc/cmdline)
ONLY=${ONLY:-*}
CAPTURE=/tmp/check.out
PASSED=0
FAILED=0

result() { # STATUS NAME DETAIL...
  st=$1 nm=$2
  shift 2
  echo "RESULT $st $LAYOUT/$nm $*"
  if [ "$st" = PASS ]; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
}

check() {
  name=$1
  shift
  case $LAYOUT/$name in $ONLY) ;; *) return 0 ;; esac
  rm -f /tmp/check.late
  started=$(cut -d' ' -f1 /proc/uptime)
  "$@" >"$CAPTURE" 2>&1 </dev/null &
  pid=$!
  # The watchdog: after CHECK_TIMEOUT the check and its children go.
  (
    sleep "$CHECK_TIMEOUT"
    : >/tmp/check.late
    kill -KILL $(children "$pid") "$pid"
  ) 2>/dev/null &
  watchdog=$!
  wait "$pid"
  rc=$?
  kill -KILL "$watchdog" $(children "$watchdog") 2>/dev/null
  wait "$watchdog"
  detail=$(grep . "$CAPTURE" | tail -n 1)
  # Not parsed by run.sh; in the console log (CHAIN_VM_LOG) for profiling.
  echo "TIME $LAYOUT/$name $(awk -v a="$started" '{ printf "%.2f", $1 - a }' /proc/uptime)s"
  if [ -e /tmp/check.late ]; then
    rc=1
    detail="timed out after ${CHECK_TIMEOUT}s (its processes were killed): $detail"
  fi
  if [ "$rc" = 0 ]; then
    result PASS "$name" "$detail"
  else
    result FAIL "$name" "$detail"
    grep . "$CAPTURE" | head -n 12 | sed "s|^|NOTE $LAYOUT/$name |"
  fi
}

# The pids of PID's children.
children() {
  ps -o pid,ppid | awk -v p="$1" '$2 == p { print $1 }'
}

# Whether a process with exactly this command line runs ("sleep 997").
running() {
  for f in /proc/[0-9]*/cmdline; do
    tr '\0' ' ' <"$f" 2>/dev/null
    echo
  done | grep -qx "$1 "
}

# A check function runs in a subshell of its own: fail ends it.
fail() {
  echo "$*"
  exit 1
}

want_rc() { # WANT GOT OUTPUT
  [ "$2" = "$1" ] && return 0
  echo "$3" | tail -n 5
  fail "exit status $2, want $1"
}

want_text() { # TEXT STRING
  case $2 in *"$1"*) return 0 ;; esac
  echo "$2" | tail -n 5
  fail "output lacks: $1"
}

## cgroup helpers (set by the layout: CG_ROOTS, every hierarchy's root;
## CG2, the cgroup2 root or empty; V1_ROOTS, the v1 roots)

# The directories called NAME below any hierarchy root.
groups_named() {
  for r in $CG_ROOTS; do find "$r" -mindepth 1 -type d -name "$1"; done
}

# Every group below any hierarchy root (paths relative to the root).
all_groups() {
  for r in $CG_ROOTS; do find "$r" -mindepth 1 -type d | sed "s|^$r||"; done | sort -u
}

# The path of FILE in group PATH (relative, e.g. /box), in the first hierarchy
# that has it (e.g. memory.max, freezer.state, cgroup.events).
group_file() { # PATH FILE
  for r in $CG_ROOTS; do
    if [ -e "$r$1/$2" ]; then
      echo "$r$1/$2"
      return 0
    fi
  done
  return 1
}

# mkdir PATH in every hierarchy. v1 cpuset groups start with empty cpus and
# mems (joining one fails with ENOSPC; a child's must be a subset of its
# parent's, EACCES): each new level gets its parent's.
cg_mkdir() {
  for r in $CG_ROOTS; do
    d=$r
    for part in $(echo "$1" | tr / ' '); do
      d=$d/$part
      [ -d "$d" ] || mkdir "$d" || return 1
      if [ -e "$r/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
        cat "${d%/*}/cpuset.cpus" >"$d/cpuset.cpus" || return 1
        cat "${d%/*}/cpuset.mems" >"$d/cpuset.mems" || return 1
      fi
    done
  done
}

# Moves process PID into group PATH in every hierarchy.
cg_move() { # PATH PID
  for r in $CG_ROOTS; do echo "$2" >"$r$1/cgroup.procs" || return 1; done
}

# Runs CMD... as a process of its own in group PATH (every hierarchy), so
# that it is alone there unless the check put others in.
in_group() { # PATH CMD...
  sh -c 'for r in $CG_ROOTS; do echo $$ >"$r$0/cgroup.procs" || exit 125; done; exec "$@"' "$@"
}

# Hands group PATH to user tester the way systemd delegates: the directory
# and its cgroup.procs, cgroup.subtree_control and cgroup.threads.
cg_delegate() { # PATH
  for r in $CG_ROOTS; do
    chown tester:tester "$r$1" || return 1
    for f in cgroup.procs cgroup.subtree_control cgroup.threads tasks; do
      [ -e "$r$1/$f" ] && chown tester:tester "$r$1/$f"
    done
  done
  return 0
}

# Runs CMD... as tester (uid 1000) from group PATH: root moves the process
# first, then su drops to the user and the command replaces the shell.
# (busybox setpriv has no --reuid; the -- keeps su from parsing CMD's
# options.)
as_tester_in() { # PATH CMD...
  grp=$1
  shift
  in_group "$grp" su -s /bin/sh tester -c 'exec "$@"' -- sh "$@"
}

# Removes group PATH (and what is below it) from every hierarchy, killing
# any process left in it; used for the checks' own scaffolding.
cg_remove() { # PATH
  for r in $CG_ROOTS; do
    [ -d "$r$1" ] || continue
    [ -e "$r$1/freezer.state" ] && echo THAWED >"$r$1/freezer.state"
    for p in $(find "$r$1" -name cgroup.procs -exec cat {} +); do kill -KILL "$p" 2>/dev/null; done
  done
  for r in $CG_ROOTS; do
    [ -d "$r$1" ] || continue
    i=0
    while ! find "$r$1" -depth -type d -exec rmdir {} + 2>/dev/null; do
      i=$((i + 1))
      [ $i -gt 100 ] && { echo "cannot remove $r$1"; return 1; }
      usleep 20000
    done
  done
  return 0
}
