# The cgctl checks (busybox sh), run once per layout by /init through
# cgctl_checks. Each t_NAME function is one check: it prints what it saw
# (its last line is the result's detail) and ends with fail on a mismatch.
# To add one: write t_NAME, add a `check NAME t_NAME` line to cgctl_checks.
#
# Scaffolding groups the checks make by hand are called t-*; they go in
# nothing-left, the last check, which then finds any group a check (or
# cgctl) left behind.

cgctl_checks() {
  check exit-127-creates-nothing t_not_found
  check exit-status t_exit_status
  check exit-signal t_exit_signal
  check mem-oom t_mem_oom
  check pids t_pids
  check cpu-throttle t_cpu
  check cpuset t_cpuset
  check limit-files t_limit_files
  check stats t_stats
  check ls t_ls
  check freeze-thaw-limited t_freeze box
  check kill t_kill box
  check rm t_rm box
  check freeze-thaw t_freeze_plain
  check kill-term t_kill_term
  if [ "$LAYOUT" = v2 ]; then
    check placement-leaf t_leaf
    check placement-subtree-control t_subtree_control
    check placement-sibling t_sibling
    check placement-parent-lacks-controller t_parent_lacks
    check placement-leaf-wait t_leaf_wait
  else
    check placement-below-own t_below_own
  fi
  check delegation-refused t_not_delegated
  [ "$LAYOUT" = v2 ] && check delegation-controller-missing t_controller_missing
  check delegation-delegated t_delegated
  check cleanup-wait t_cleanup_wait
  check cleanup-wait-kills-leftovers t_cleanup_leftovers
  check cleanup-anonymous t_cleanup_anonymous
  check chain-headline t_headline
  check chain-headline-no-leftover t_headline_leftover
  check chain-headline-wait t_headline_wait
  check clone-into-cgroup t_clone_into_cgroup
  check devices-container t_devices
  check devices-rule t_devices_rule
  [ "$LAYOUT" = v2 ] && CHECK_TIMEOUT=90 check bench-headline t_bench
  check nothing-left t_nothing_left
}

## helpers

# The groups that exist now and did not in BEFORE (an all_groups listing).
new_groups() {
  printf '%s\n' "$1" >/tmp/groups.before
  all_groups | grep -vxF -f /tmp/groups.before
}

# The first number after "KEY": in JSON.
json_num() { # KEY JSON
  echo "$2" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# Starts `sleep 1000` in a new group NAME with LIMITS (cgctl without --wait
# execs it: the pid is the sleep's). The pid goes to /tmp/sleeper.NAME.
start_sleeper() { # NAME LIMITS...
  nm=$1
  shift
  cgctl --name "$nm" "$@" -- sleep 1000 </dev/null >/dev/null 2>&1 &
  echo $! >"/tmp/sleeper.$nm"
  i=0
  until grep -qx "$!" "$(group_file "/$nm" cgroup.procs)" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 500 ] && fail "cgctl --name $nm $*: the sleeper never showed up in the group"
    usleep 10000
  done
}

# Waits until process PID is gone (or a zombie: its parent reaps it later).
wait_gone() {
  i=0
  while [ -e "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; do
    i=$((i + 1))
    [ $i -gt 500 ] && return 1
    usleep 10000
  done
}

# frozen, thawed, or why not: cgroup.freeze/cgroup.events (v2 and the
# unified tree of hybrid), else the v1 freezer.
frozen_state() { # GROUP
  if f=$(group_file "/$1" cgroup.freeze); then
    case $(grep frozen "${f%/*}/cgroup.events") in
    "frozen 1") echo frozen ;;
    "frozen 0") echo thawed ;;
    *) echo "unknown: $(cat "${f%/*}/cgroup.events")" ;;
    esac
  elif f=$(group_file "/$1" freezer.state); then
    tr A-Z a-z <"$f"
  else
    echo "no freezer"
  fi
}

HEADLINE="unshare-rs -fpnumi -- pivot /rootfs -- /bin/true"

## exit status

t_not_found() {
  before=$(all_groups)
  out=$(cgctl --pids 10 -- /nonexistent/program 2>&1)
  want_rc 127 $? "$out"
  new=$(new_groups "$before")
  [ -z "$new" ] || fail "created before failing:" $new
  echo "127 and no group: $out"
}

t_exit_status() {
  out=$(cgctl --pids 10 --wait -- sh -c 'exit 3' 2>&1)
  want_rc 3 $? "$out"
  echo "--wait passes the workload's exit status 3 through"
}

t_exit_signal() {
  out=$(cgctl --pids 10 --wait -- sh -c 'kill -TERM $$' 2>&1)
  want_rc 143 $? "$out"
  echo "--wait exits 143 for a workload killed by SIGTERM"
}

## limits and their effect

t_mem_oom() {
  out=$(cgctl --mem 50M --wait -- hog 2>&1)
  want_rc 137 $? "$out"
  want_text "cgctl: out of memory: the kernel killed the workload at the group's 50M limit" "$out"
  echo "137 after '$(echo "$out" | grep allocated | tail -n 1)': $(echo "$out" | grep 'out of memory')"
}

t_pids() {
  out=$(cgctl --pids 10 --wait -- forks 50 2>&1)
  want_rc 0 $? "$out"
  n=$(echo "$out" | sed -n 's/^forked \([0-9]*\) of 50$/\1/p')
  [ -n "$n" ] || fail "no 'forked N of 50' line: $out"
  [ "$n" -ge 1 ] && [ "$n" -le 9 ] || fail "forked $n of 50 under --pids 10 (want 1 to 9)"
  echo "forked $n of 50 under --pids 10"
}

t_cpu() {
  out=$(cgctl --cpus 0.5 --wait --stats-json /tmp/cpu.json -- timeout 1 sh -c 'while :; do :; done' 2>&1)
  js=$(cat /tmp/cpu.json) || fail "no --stats-json file: $out"
  thr=$(json_num throttledPeriods "$js")
  per=$(json_num periods "$js")
  echo "$js"
  [ "${thr:-0}" -gt 0 ] || fail "throttledPeriods=${thr:-missing} periods=${per:-missing} in the stats"
  echo "a busy loop under --cpus 0.5: throttled in $thr of $per periods (cgctl stats)"
}

t_cpuset() {
  [ "$(nproc)" -ge 2 ] || fail "the VM has $(nproc) CPU: this check needs 2"
  out=$(cgctl --cpuset-cpus 0 --wait -- grep Cpus_allowed_list /proc/self/status 2>&1)
  want_rc 0 $? "$out"
  [ "$(echo "$out" | awk '{ print $2 }')" = 0 ] || fail "the workload has $out, want 0"
  echo "workload: Cpus_allowed_list $(echo "$out" | awk '{ print $2 }'); outside: $(awk '/Cpus_allowed_list/ { print $2 }' /proc/self/status)"
}

# Every limit file, in v2 units or converted for v1 (cgctl README's table).
t_limit_files() {
  out=$(cgctl --name lim --mem 64M --mem-high 32M --cpus 1.5 --cpu-weight 50 --pids 20 --cpuset-cpus 1 -- true 2>&1)
  want_rc 0 $? "$out"
  if [ "$LAYOUT" = v2 ]; then
    set -- memory.max 67108864 memory.high 33554432 cpu.max "150000 100000" cpu.weight 50 \
      pids.max 20 cpuset.cpus 1
  else
    set -- memory.limit_in_bytes 67108864 memory.soft_limit_in_bytes 33554432 cpu.cfs_period_us 100000 \
      cpu.cfs_quota_us 150000 cpu.shares 512 pids.max 20 cpuset.cpus 1
  fi
  bad= n=0
  while [ $# -gt 0 ]; do
    v=$(cat "$(group_file /lim "$1")" 2>/dev/null) || v=missing
    [ "$v" = "$2" ] || bad="$bad $1='$v'(want '$2')"
    n=$((n + 1))
    shift 2
  done
  out=$(cgctl rm lim 2>&1) || fail "cgctl rm lim: $out"
  [ -z "$bad" ] || fail "wrong:$bad"
  echo "$n limit files as the README's table says"
}

## management: stats, ls, freeze, thaw, kill, rm

t_stats() {
  start_sleeper box --mem 64M --pids 32 --cpus 1
  js=$(cgctl stats box 2>&1) || fail "cgctl stats box: $js"
  miss=
  for k in '"type":"stats"' '"id":"box"' '"cpu":{' '"usage":{' '"throttling":{' '"memory":{' \
    '"limit":67108864' '"pids":{' '"current":1' '"limit":32'; do
    case $js in *"$k"*) ;; *) miss="$miss $k" ;; esac
  done
  echo "$js"
  [ -z "$miss" ] || fail "stats box lacks:$miss"
  echo "stats JSON has type, id, cpu.usage, cpu.throttling, memory limit 64M, pids current 1 and limit 32"
}

t_ls() {
  out=$(cgctl ls 2>&1) || fail "cgctl ls: $out"
  echo "$out"
  echo "$out" | grep -q "^box	procs 1	" || fail "cgctl ls has no 'box<TAB>procs 1' line"
  echo "ls: $(echo "$out" | grep '^box' | tr '\t' ' ')"
}

t_freeze() { # GROUP (running a sleeper)
  pid=$(cat "/tmp/sleeper.$1")
  out=$(cgctl freeze "$1" 2>&1) || fail "cgctl freeze $1: $out"
  s1=$(frozen_state "$1")
  [ "$s1" = frozen ] || fail "after cgctl freeze $1: $s1"
  out=$(cgctl thaw "$1" 2>&1) || fail "cgctl thaw $1: $out"
  s2=$(frozen_state "$1")
  [ "$s2" = thawed ] || fail "after cgctl thaw $1: $s2"
  kill -0 "$pid" || fail "the sleeper $pid died"
  echo "$1: frozen, then thawed, its process alive"
}

t_kill() { # GROUP
  pid=$(cat "/tmp/sleeper.$1")
  out=$(cgctl kill "$1" 2>&1) || fail "cgctl kill $1: $out"
  wait_gone "$pid" || fail "process $pid still runs after cgctl kill $1"
  procs=$(cat "$(group_file "/$1" cgroup.procs)")
  [ -z "$procs" ] || fail "still in the group: $procs"
  echo "cgctl kill $1: its process is gone, the group empty"
}

t_rm() { # GROUP
  out=$(cgctl rm "$1" 2>&1) || fail "cgctl rm $1: $out"
  left=$(groups_named "$1")
  [ -z "$left" ] || fail "still there:" $left
  echo "cgctl rm $1: gone from every hierarchy"
}

t_freeze_plain() {
  start_sleeper plain
  (t_freeze plain) || exit 1
  cgctl kill plain && wait_gone "$(cat /tmp/sleeper.plain)" && cgctl rm plain || fail "cleaning up group plain failed"
  echo "a group without limits: frozen, then thawed, its process alive"
}

t_kill_term() {
  start_sleeper term
  pid=$(cat /tmp/sleeper.term)
  out=$(cgctl kill -s TERM term 2>&1) || fail "cgctl kill -s TERM term: $out"
  wait_gone "$pid" || fail "process $pid still runs after cgctl kill -s TERM"
  out=$(cgctl rm term 2>&1) || fail "cgctl rm term: $out"
  echo "cgctl kill -s TERM ended the sleeper; rm removed the group"
}

## placement (pure v2): the no-internal-process rule

t_leaf() {
  mkdir /sys/fs/cgroup/t-leaf
  out=$(in_group /t-leaf cgctl --pids 10 --name g -- cat /proc/self/cgroup 2>&1)
  want_rc 0 $? "$out"
  [ "$out" = 0::/t-leaf/g ] || fail "the workload is in $out, want 0::/t-leaf/g"
  [ ! -d /sys/fs/cgroup/t-leaf/cgctl-leaf ] || fail "/t-leaf/cgctl-leaf is left behind"
  rmdir /sys/fs/cgroup/t-leaf/g
  echo "caller alone in /t-leaf: moved to a leaf, workload in /t-leaf/g, leaf removed"
}

t_subtree_control() {
  sc=$(cat /sys/fs/cgroup/t-leaf/cgroup.subtree_control) || fail "no /t-leaf"
  want_text pids "$sc"
  echo "/t-leaf's cgroup.subtree_control: $sc"
}

t_sibling() {
  cg_mkdir /t-sib/me
  echo +pids >/sys/fs/cgroup/t-sib/cgroup.subtree_control
  sleep 1000 </dev/null >/dev/null 2>&1 &
  other=$!
  cg_move /t-sib/me $other
  out=$(in_group /t-sib/me cgctl --pids 10 --name sib -- cat /proc/self/cgroup 2>&1)
  rc=$?
  kill $other
  want_rc 0 $rc "$out"
  [ "$out" = 0::/t-sib/sib ] || fail "the workload is in $out, want 0::/t-sib/sib"
  out=$(cgctl rm /t-sib/sib 2>&1) || fail "cgctl rm /t-sib/sib: $out"
  echo "caller shares /t-sib/me with another process: the group is its sibling, /t-sib/sib"
}

# cgctl README's "both the caller's cgroup and its parent have processes"
# cannot happen on a real kernel (a parent with processes cannot enable
# controllers for its children). What a caller does meet: the parent never
# enabled the controller for the caller's cgroup.
t_parent_lacks() {
  cg_mkdir /t-nopids/me
  out=$(in_group /t-nopids/me cgctl --pids 10 --name np -- true 2>&1)
  want_rc 125 $? "$out"
  want_text "cgroup.subtree_control" "$out"
  left=$(groups_named np)
  [ -z "$left" ] || fail "created anyway:" $left
  echo "$out"
}

t_leaf_wait() {
  mkdir /sys/fs/cgroup/t-lw
  out=$(in_group /t-lw cgctl --pids 10 --wait --name lw -- cat /proc/self/cgroup 2>&1)
  want_rc 0 $? "$out"
  [ "$out" = 0::/t-lw/lw ] || fail "the workload is in $out, want 0::/t-lw/lw"
  left=$(find /sys/fs/cgroup/t-lw -mindepth 1 -type d)
  [ -z "$left" ] || fail "left behind after --wait:" $left
  echo "with --wait from a cgroup of its own: workload in /t-lw/lw, nothing left below /t-lw"
}

## placement (v1, hybrid): below the caller's own cgroup

t_below_own() {
  cg_mkdir /t-own
  out=$(in_group /t-own cgctl --pids 10 --name own -- cat /proc/self/cgroup 2>&1)
  want_rc 0 $? "$out"
  echo "$out"
  echo "$out" | grep -q ':pids:/t-own/own$' || fail "the workload's pids cgroup is not /t-own/own"
  if [ -n "$CG2" ]; then
    echo "$out" | grep -qx '0::/t-own/own' || fail "the workload's unified cgroup is not /t-own/own"
  fi
  out=$(cgctl rm /t-own/own 2>&1) || fail "cgctl rm /t-own/own: $out"
  echo "caller in /t-own: the group is /t-own/own in $( [ -n "$CG2" ] && echo 'pids and unified' || echo pids)"
}

## delegation: an unprivileged user (tester, uid 1000)

t_not_delegated() {
  cg_mkdir /t-u
  out=$(as_tester_in /t-u cgctl --pids 10 -- true 2>&1)
  want_rc 125 $? "$out"
  want_text "not delegated" "$out"
  left=$(for r in $CG_ROOTS; do find "$r/t-u" -mindepth 1 -type d; done)
  [ -z "$left" ] || fail "created anyway:" $left
  echo "$out"
}

# /t-d/u belongs to tester, as systemd delegates a user's cgroup; /t-d
# gives it the pids controller only (v2).
delegate_t_d() {
  [ -d "${CG_ROOTS%% *}/t-d/u" ] && return 0
  cg_mkdir /t-d/u
  if [ "$LAYOUT" = v2 ]; then echo +pids >/sys/fs/cgroup/t-d/cgroup.subtree_control || return 1; fi
  cg_delegate /t-d/u
}

t_controller_missing() {
  delegate_t_d || fail "delegating /t-d/u failed"
  out=$(as_tester_in /t-d/u cgctl --mem 10M -- true 2>&1)
  want_rc 125 $? "$out"
  want_text "the memory controller is not delegated" "$out"
  echo "$out"
}

t_delegated() {
  delegate_t_d || fail "delegating /t-d/u failed"
  out=$(as_tester_in /t-d/u cgctl --pids 10 --wait -- cat /proc/self/cgroup 2>&1)
  want_rc 0 $? "$out"
  echo "$out"
  echo "$out" | grep -q '/t-d/u/cgctl-[0-9]*$' || fail "the workload is not below /t-d/u"
  echo "tester in its delegated /t-d/u: the workload ran in $(echo "$out" | grep -o '/t-d/u/.*' | head -n 1)"
}

## cleanup

t_cleanup_wait() {
  out=$(cgctl --pids 10 --wait --name w -- true 2>&1)
  want_rc 0 $? "$out"
  left=$(groups_named w)
  [ -z "$left" ] || fail "left behind:" $left
  echo "--wait removed group w from every hierarchy"
}

t_cleanup_leftovers() {
  out=$(cgctl --pids 10 --wait --name wl -- sh -c 'sleep 997 </dev/null >/dev/null 2>&1 & exit 0' 2>&1)
  want_rc 0 $? "$out"
  ! running "sleep 997" || fail "the workload's background sleep 997 still runs"
  left=$(groups_named wl)
  [ -z "$left" ] || fail "left behind:" $left
  echo "--wait killed what the workload left running and removed the group"
}

t_cleanup_anonymous() {
  before=$(all_groups)
  out=$(cgctl --pids 10 -- true 2>&1)
  want_rc 0 $? "$out"
  new=$(new_groups "$before")
  [ -z "$new" ] || fail "left behind after the workload ended:" $new
  echo "no group left after cgctl --pids 10 -- true"
}

## the headline chain

t_headline() {
  out=$(cgctl --mem 100M -- $HEADLINE 2>&1)
  want_rc 0 $? "$out"
  echo "cgctl --mem 100M -- $HEADLINE: exit 0"
}

t_headline_leftover() {
  before=$(all_groups)
  out=$(cgctl --mem 100M -- $HEADLINE 2>&1)
  want_rc 0 $? "$out"
  new=$(new_groups "$before")
  [ -z "$new" ] || fail "left behind:" $new
  echo "no group left after the headline chain"
}

t_headline_wait() {
  before=$(all_groups)
  out=$(cgctl --mem 100M --wait -- $HEADLINE 2>&1)
  want_rc 0 $? "$out"
  new=$(new_groups "$before")
  [ -z "$new" ] || fail "left behind:" $new
  echo "cgctl --mem 100M --wait -- $HEADLINE: exit 0, no group left"
}

## the child is born in the group (clone3 CLONE_INTO_CGROUP)

t_clone_into_cgroup() {
  out=$(cgctl -v --mem 100M -- $HEADLINE 2>&1)
  want_rc 0 $? "$out"
  case $LAYOUT in
  v1)
    # No cgroup2 tree: a child that borrows cgctl's memory, and a move.
    echo "$out" | grep -q "CLONE_INTO_CGROUP" && fail "CLONE_INTO_CGROUP on pure v1: $out"
    echo "$out" | grep -q "clone3 CLONE_VM|CLONE_VFORK = child" || fail "not a vfork child: $out"
    # The move is the thread's, through tasks: no threadgroup rwsem.
    echo "$out" | grep -q '/tasks "0" = ok' || fail "no move through tasks on v1: $out"
    echo "$out" | grep -q 'cgroup.procs "0"' && fail "a cgroup.procs move on v1: $out"
    echo "pure v1: a vfork child and a move (tasks) into each hierarchy"
    ;;
  v2)
    echo "$out" | grep -q "clone3 CLONE_VM|CLONE_VFORK|CLONE_INTO_CGROUP = child" || fail "not born in the group: $out"
    echo "$out" | grep -qE 'cgroup.procs|/tasks' && fail "a process moved on pure v2: $(echo "$out" | grep -E 'cgroup.procs|/tasks')"
    echo "pure v2: born in the group, no cgroup.procs write at all"
    ;;
  hybrid)
    echo "$out" | grep -q "clone3 CLONE_VM|CLONE_VFORK|CLONE_INTO_CGROUP = child" || fail "not born in the unified group: $out"
    echo "$out" | grep -q 'cgroup.procs "0"' && fail "a cgroup.procs move on hybrid: $out"
    echo "hybrid: born in the unified group; v1: $(echo "$out" | grep -c '/tasks "0" = ok') move(s) through tasks"
    ;;
  esac
}

## the device policy: mknod of a disk fails, the usual nodes work

DEVICES_PROBE='d=$(mktemp -d); mknod $d/disk b 7 0 2>&1 && echo block-made; mknod $d/mem c 1 1 2>&1 && echo mem-made;
  head -c1 /dev/zero >/dev/null && echo zero-ok; echo x >/dev/null && echo null-ok; rm -rf $d'

t_devices() {
  before=$(all_groups)
  open=$(cgctl --pids 10 -- sh -c "$DEVICES_PROBE" 2>&1)
  echo "$open" | grep -q block-made || fail "the control could not mknod: $open"
  out=$(cgctl --pids 10 --devices container -- sh -c "$DEVICES_PROBE" 2>&1)
  want_rc 0 $? "$out"
  for want in zero-ok null-ok; do echo "$out" | grep -q $want || fail "$want missing: $out"; done
  for deny in block-made mem-made; do echo "$out" | grep -q $deny && fail "$deny with --devices container: $out"; done
  echo "$out" | grep -q "Operation not permitted" || fail "not EPERM: $out"
  new=$(new_groups "$before")
  [ -z "$new" ] || fail "left behind:" $new
  echo "--devices container: block and c 1:1 mknod refused (EPERM), null and zero work"
}

t_devices_rule() {
  out=$(cgctl --pids 10 --devices container --device-rule 'b 7:0 m' -- sh -c "$DEVICES_PROBE" 2>&1)
  want_rc 0 $? "$out"
  echo "$out" | grep -q block-made || fail "the rule did not allow b 7:0 m: $out"
  echo "$out" | grep -q mem-made && fail "c 1:1 allowed: $out"
  echo "--device-rule 'b 7:0 m' allows that mknod and nothing more"
}

## the benchmark that needs pure v2 (figures, printed; fails only when a
## row's command fails). Under TCG every figure is inflated; compare rows.

t_bench() {
  before=$(all_groups)
  chain="unshare-rs -fpnumi -- pivot /rootfs -- /bin/true"
  crun_run="/usr/bin/crun --cgroup-manager=cgroupfs run --bundle /bundle bench"
  # The kernel floor: cgctl's syscalls for this run and nothing else
  # (tests/bench/cgfloor.c), its group made where cgctl makes its own,
  # below this shell's cgroup. After cgctl's rows: the parent gives the
  # memory controller to its children by then, as cgctl leaves it.
  own=$(sed -n 's/^0:://p' /proc/self/cgroup)
  floor="cgfloor /sys/fs/cgroup${own%/} - $(command -v unshare-rs)"
  for mode in warm:15:0 cold:4:1000; do
    name=${mode%%:*}; rest=${mode#*:}; runs=${rest%%:*}; idle=${rest#*:}
    # timeit prints "median min-max" of RUNS runs, each after IDLE_MS idle.
    a=$(timeit "$runs" "$idle" $chain 2>&1) || fail "chain: $a"
    b=$(timeit "$runs" "$idle" cgctl --mem 100M -- $chain 2>&1) || fail "cgctl: $b"
    c=$(timeit "$runs" "$idle" $crun_run 2>&1) || fail "crun: $c"
    d=$(timeit "$runs" "$idle" $floor ${chain#unshare-rs } 2>&1) || fail "cgfloor: $d"
    added=$(echo "${b%% *} ${a%% *}" | awk '{ printf "%+.2f", $1 - $2 }')
    at_best=$(echo "${d%% *} ${a%% *}" | awk '{ printf "%+.2f", $1 - $2 }')
    ratio=$(echo "${c%% *} ${b%% *}" | awk '{ printf "%.2f", $1 / $2 }')
    echo "INFO bench $name ($runs runs, ${idle} ms idle before each): chain $a ms; cgctl --mem 100M + chain $b ms ($added); the kernel floor (cgfloor) + chain $d ms ($at_best); crun run (memory 100M) $c ms; crun/cgctl ${ratio}x"
    summary="$summary $name: chain ${a%% *}, cgctl+chain ${b%% *} ($added), floor ${d%% *} ($at_best), crun ${c%% *} (${ratio}x);"
  done
  new=$(new_groups "$before")
  [ -z "$new" ] || fail "left behind:" $new
  echo "pure v2, ms, medians under TCG:$summary"
}

## last: nothing left

t_nothing_left() {
  for s in t-leaf t-sib t-nopids t-lw t-own t-u t-d; do cg_remove "/$s" || fail "removing /$s failed"; done
  left=$(all_groups)
  [ -z "$left" ] || fail "groups left after the checks:" $left
  echo "no group left in any hierarchy"
}
