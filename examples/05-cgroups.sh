#!/usr/bin/env bash
# Example 5: cgroups. The articles' memory hog under a 100M limit, killed by
# the OOM killer; then a named group's stats, freeze/thaw and kill, as runc
# gives them.
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
  rm -rf "$work"
}
trap stop EXIT
cc -O2 -o "$work/hog" examples/c/hog.c

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
