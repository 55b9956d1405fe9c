#!/usr/bin/env bash
# Example 2: the namespaces one by one, as the articles show them with
# util-linux unshare, each with the same one flag of unshare-rs.
#
#   articles (util-linux)                      ours
#   unshare -u sh -c 'hostname box; hostname'  unshare-rs --hostname box -- hostname
#   unshare -fp --mount-proc ps                unshare-rs -fp --mount-proc -- ps
#   unshare -U id                              unshare-rs -U -- id
#   unshare -r id  (a map: root inside)        mapids --root -- unshare-rs -U -- id
#   unshare -n ip link                         unshare-rs -n -- ip link
#   ipcmk -Q; unshare -i ipcs -q               ipcmk -Q; unshare-rs -i -- ipcs -q
#   lsns / readlink /proc/PID/ns/uts           the same links, compared below
#
# Run as root: bash examples/02-namespaces.sh. The only thing it makes on
# the host is one System V message queue (to show that -i hides it), which
# it removes at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
u=$bin/unshare-rs
queue=
trap '[ -n "$queue" ] && ipcrm -q "$queue"' EXIT

show "UTS: unshare-rs --hostname box -- hostname"
echo "inside: $("$u" --hostname box -- hostname)"
echo "host still: $(hostname)"

show "PID: unshare-rs -fp --mount-proc -- ps -o pid,comm"
"$u" -fp --mount-proc -- ps -o pid,comm

show "user: unshare-rs -U -- id, then with a map (mapids --root)"
echo "unmapped: uid $("$u" -U -- id -u) ($("$u" -U -- id -un 2>/dev/null || echo '?'))"
echo "mapped:   uid $("$bin/mapids" --root -- "$u" -U -- id -u) ($("$bin/mapids" --root -- "$u" -U -- id -un))"

show "network: unshare-rs -n -- ip -br link"
"$u" -n -- ip -br link

show "IPC: a queue on the host (ipcmk -Q), then ipcs -q inside unshare-rs -i"
queue=$(ipcmk -Q | awk '{print $NF}')
echo "host queues: $(ipcs -q | awk -v q="$queue" '$2 == q' | wc -l) with id $queue"
echo "inside -i: $("$u" -i -- ipcs -q | awk -v q="$queue" '$2 == q' | wc -l) with id $queue"

show "namespace ids (what lsns lists): /proc/self/ns/* on the host and inside unshare-rs -un"
for ns in uts net mnt; do
  host=$(readlink /proc/self/ns/$ns)
  inside=$("$u" -un -- readlink /proc/self/ns/$ns)
  if [ "$host" = "$inside" ]; then same="same"; else same="different"; fi
  echo "$ns: host $host, inside $inside: $same"
done
