#!/usr/bin/env bash
# Example 9: an OCI bundle. runc's walkthrough makes a bundle (a rootfs and
# the config.json of `runc spec`) and runs it; here the same bundle runs
# twice, once with our chain (examples/oci-chain reads config.json and
# builds the chain's command line) and once with runc, and both print the
# same facts about themselves.
#
#   runc                                  ours
#   mkdir -p bundle/rootfs (+ an image)   bash examples/mkrootfs.sh bundle/rootfs
#   runc spec                             (the same config.json)
#   runc run -b bundle ID                 examples/oci-chain bundle
#                                         = cgctl --mem ... --pids ... -- unshare-rs -fpnium --hostname ...
#                                             -- pivot bundle/rootfs --ro -- seccompctl --caps ... -- ARGS
#   runc delete ID                        (nothing: cgctl removes its group)
#
# `oci-chain --dry-run BUNDLE` prints the chain, and on stderr every field
# of config.json the chain cannot express (or only approximates), one line
# each. Where umoci is installed, the rootfs is first packed into an OCI
# image layout and unpacked again into the bundle (`umoci unpack` writes
# rootfs and config.json), as an image would arrive; nothing is pulled.
#
# runc's cgroup is put below this shell's own memory cgroup
# (linux.cgroupsPath), cgctl's below this shell's cgroups (its default).
#
# Run as root: bash examples/09-oci-bundle.sh (the bundle, runc's state and
# every cgroup made are removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
work=$(mktemp -d /tmp/chain-example9.XXXXXX)
id=chain-ex9-$$
own=$(awk -F: '$2 == "memory" { print $3; exit }' /proc/self/cgroup)
[ -n "$own" ] || own=$(awk -F: '$1 == "0" { print $3; exit }' /proc/self/cgroup)
cgpath=${own%/}/$id
# The cgroup directories runc may create on the way to $cgpath, in every
# hierarchy: those missing now are removed at the end (empty ones only).
made=()
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  d=${h%/}$cgpath
  while [ "$d" != "${h%/}" ] && [ ! -e "$d" ]; do
    made+=("$d")
    d=${d%/*}
  done
done
stop() {
  runc --root "$work/runc" delete -f "$id" >/dev/null 2>&1 || true
  local d
  for d in "${made[@]}"; do rmdir "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop EXIT

bundle=$work/bundle
mkdir -p "$bundle"
bash examples/mkrootfs.sh "$work/rootfs" >/dev/null
if command -v umoci >/dev/null; then
  show "umoci: the rootfs as an OCI image, unpacked into the bundle"
  umoci init --layout "$work/image"
  umoci new --image "$work/image:busybox"
  umoci insert --image "$work/image:busybox" "$work/rootfs" /
  umoci unpack --image "$work/image:busybox" "$work/unpacked"
  mv "$work/unpacked/rootfs" "$bundle/rootfs"
  echo "image: $(ls "$work/image/blobs/sha256" | wc -l) blobs; bundle rootfs: $(ls "$bundle/rootfs" | wc -l) entries"
else
  mv "$work/rootfs" "$bundle/rootfs"
fi

show "runc spec; then config.json edited: args, terminal false, hostname, memory and pids limits, cgroupsPath"
(cd "$bundle" && rm -f config.json && runc spec)
# What the container prints: the same `key: value` lines from either
# runtime. The memory limit is read from the container's own memory group
# where the host's tree is visible (ours binds it read-only), else from
# /sys/fs/cgroup/memory, which runc mounts as the container's group.
facts='echo "hostname: $(hostname)"
echo "id: $(id)"
echo "pid: $$"
g=$(sed -n "s/^[0-9]*:memory://p" /proc/self/cgroup)
p=$(sed -n "s/^[0-9]*:pids://p" /proc/self/cgroup)
f=/sys/fs/cgroup/memory$g/memory.limit_in_bytes
[ -e "$f" ] || f=/sys/fs/cgroup/memory/memory.limit_in_bytes
[ -e "$f" ] || f=/sys/fs/cgroup/memory.max
echo "memory limit: $(cat "$f" 2>/dev/null || echo unknown)"
f=/sys/fs/cgroup/pids$p/pids.max
[ -e "$f" ] || f=/sys/fs/cgroup/pids/pids.max
echo "pids limit: $(cat "$f" 2>/dev/null || echo unknown)"
for d in /proc /sys /dev /dev/pts /dev/shm /dev/mqueue; do echo "mount $d: $(awk -v d="$d" "\$2 == d { t = \$3 } END { print t }" /proc/mounts)"; done
echo "root writable: $(touch /.probe 2>/dev/null && echo yes || echo no)"
echo "CapEff: $(sed -n "s/^CapEff:\t//p" /proc/self/status)"
echo "NoNewPrivs: $(sed -n "s/^NoNewPrivs:\t//p" /proc/self/status)"'
python3 - "$bundle/config.json" "$facts" "$cgpath" <<'EOF'
import json, sys
path, facts, cgpath = sys.argv[1:]
c = json.load(open(path))
c["process"]["terminal"] = False
# One line (statements joined by "; "), so that the dry run prints one.
c["process"]["args"] = ["sh", "-c", "; ".join(facts.splitlines())]
c["hostname"] = "ex9"
res = c["linux"].setdefault("resources", {})
res["memory"] = {"limit": 64 * 1024 * 1024}
res["pids"] = {"limit": 32}
c["linux"]["cgroupsPath"] = cgpath
json.dump(c, open(path, "w"), indent="\t")
EOF
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print("hostname:", c["hostname"]); print("resources:", json.dumps(c["linux"]["resources"], separators=(",", ":"))); print("cgroupsPath:", c["linux"]["cgroupsPath"])' "$bundle/config.json"

show "oci-chain --dry-run BUNDLE"
CHAIN_BIN=$bin examples/oci-chain --dry-run "$bundle" 2>"$work/notes"
echo "-- on stderr:"
cat "$work/notes"

show "ours: oci-chain BUNDLE"
CHAIN_BIN=$bin examples/oci-chain "$bundle" 2>/dev/null

show "runc: runc run -b BUNDLE $id"
runc --root "$work/runc" run -b "$bundle" "$id" </dev/null
runc --root "$work/runc" delete -f "$id" >/dev/null 2>&1 || true

show "left behind"
echo "runc containers: $(runc --root "$work/runc" list -q | wc -l)"
left=0
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  [ -e "${h%/}$cgpath" ] && left=$((left + 1))
done
echo "runc cgroups named $id: $left"
echo "cgctl groups: $("$bin/cgctl" ls | grep -c cgctl- || true)"
