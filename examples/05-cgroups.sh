#!/usr/bin/env bash
# Example 5: cgroups. The articles' memory hog under a 100M limit, killed by
# the OOM killer; then a named group's stats, freeze/thaw and kill, as runc
# gives them. Where cgroup-tools is installed, the same hog first runs under
# the classic cgcreate/cgset/cgexec sequence, to compare.
#
#   classic                                   ours
#   cgcreate -g memory:hog                    cgctl --mem 100M --swap 0 -- ./hog
#   cgset -r memory.max=100M hog              (one step: create, limit, join,
#   cgexec -g memory:hog ./hog                 run, report the OOM kill, remove)
#   runc events --stats CT                    cgctl stats GROUP
#   runc pause CT / runc resume CT            cgctl freeze GROUP / cgctl thaw GROUP
#   runc kill CT KILL                         cgctl kill GROUP
#   cgdelete memory:hog                       cgctl rm GROUP
#
# Every group is made below this shell's own cgroup (cgctl's default), on
# cgroup v2, v1 or hybrid alike. --swap 0: without it a machine with swap
# would swap the hog out instead of killing it.
#
# Run as root: bash examples/05-cgroups.sh (the hog is compiled with gcc in
# a temporary directory; every group and process it makes is gone at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
work=$(mktemp -d /tmp/chain-example5.XXXXXX)
group=example5-$$
sleeper=
stop() {
  if [ -n "$sleeper" ]; then
    "$bin/cgctl" kill "$group" 2>/dev/null || true
    { wait "$sleeper"; } 2>/dev/null || true
  fi
  "$bin/cgctl" rm "$group" 2>/dev/null || true
  if [ -n "${classic:-}" ]; then cgdelete -g "memory:$classic" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap stop EXIT
cc -O2 -o "$work/hog" examples/c/hog.c

# The classic one-liner, where libcgroup's tools are installed (Debian
# package cgroup-tools). They name a group by its path from the hierarchy's
# root, so the path is built below this shell's own memory cgroup, and the
# limit file is v1's or v2's, whichever the memory controller is on.
if command -v cgcreate >/dev/null; then
  own=$(awk -F: '$2 == "memory" { print $3; exit } $1 == "0" { v2 = $3 } END { if (v2 != "") print v2 }' /proc/self/cgroup | head -n 1)
  classic=${own%/}/example5-classic-$$
  if grep -q ':memory:' /proc/self/cgroup; then
    limit=(-r memory.limit_in_bytes=100M)
    [ -e "/sys/fs/cgroup/memory$own/memory.memsw.limit_in_bytes" ] && limit+=(-r memory.memsw.limit_in_bytes=100M)
  else
    limit=(-r memory.max=100M -r memory.swap.max=0)
  fi
  show "cgcreate -g memory:$classic; cgset ${limit[*]}; cgexec -g memory:$classic hog; cgdelete"
  cgcreate -g "memory:$classic"
  cgset "${limit[@]}" "$classic"
  status=0
  cgexec -g "memory:$classic" "$work/hog" 2>/dev/null | tail -n 2 || status=${PIPESTATUS[0]}
  echo "classic exit status: $status"
  cgdelete -g "memory:$classic"
fi

show "cgctl --mem 100M --swap 0 -- hog"
status=0
"$bin/cgctl" --mem 100M --swap 0 -- "$work/hog" 2>"$work/err" | tail -n 2 || status=${PIPESTATUS[0]}
echo "cgctl said: $(cat "$work/err")"
echo "exit status: $status"

show "a named group: cgctl --name $group --pids 50 -- sh -c 'a tick every 20 ms' (in the background)"
touch "$work/ticks"
"$bin/cgctl" --name "$group" --pids 50 -- sh -c "while :; do echo tick >> $work/ticks; sleep 0.02; done" &
sleeper=$!
for _ in $(seq 100); do
  "$bin/cgctl" stats "$group" 2>/dev/null | grep -q '"populated":1' && break
  sleep 0.05
done

show "cgctl stats $group (runc events --stats)"
"$bin/cgctl" stats "$group" > "$work/stats.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); d=s["data"]; print("pids:", d["pids"]["current"], "of", d["pids"]["limit"]); print("populated:", d["raw"]["cgroup.events"]["populated"])' "$work/stats.json"

show "cgctl freeze $group; ticks counted over 0.5 s; cgctl thaw $group; again"
ticks() { wc -l < "$work/ticks"; }
"$bin/cgctl" freeze "$group"
before=$(ticks); sleep 0.5; echo "frozen: $(( $(ticks) - before )) ticks in 0.5 s"
"$bin/cgctl" thaw "$group"
before=$(ticks); sleep 0.5; echo "thawed: $(( $(ticks) - before )) ticks in 0.5 s"

show "cgctl kill $group; cgctl rm $group"
"$bin/cgctl" kill "$group"
status=0
{ wait "$sleeper"; } 2>/dev/null || status=$?
sleeper=
echo "workload exit status: $status"
"$bin/cgctl" rm "$group"
echo "groups left named $group: $("$bin/cgctl" ls | grep -c "$group" || true)"
