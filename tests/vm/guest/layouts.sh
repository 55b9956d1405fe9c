# The cgroup layouts (busybox sh), sourced by /init. In the guest we own
# /sys/fs/cgroup: each layout is mounted there, used, and taken down again.
#
#   layout_up v2|v1|hybrid   mount it; sets LAYOUT, CG_ROOTS (every
#                            hierarchy's root), CG2 (the cgroup2 root or
#                            empty) and V1_ROOTS
#   layout_down              kill what is left in groups, remove every
#                            group, unmount
#
# Pure v2: one cgroup2 mount, the controllers enabled in the root's
# subtree_control (as systemd does). Pure v1: one mount per controller set,
# on a tmpfs, named as Debian names them. Hybrid: those plus a cgroup2 tree
# at unified/ with the core files only.

V1_SETS="cpu,cpuacct cpuset memory pids freezer blkio devices"
V2_CONTROLLERS="+cpuset +cpu +io +memory +pids"

# A controller leaves a hierarchy only when its last group is really gone:
# that can lag behind rmdir (RCU, dying groups), and mount says EBUSY
# meanwhile. Try for up to 10 s.
mount_retry() {
  i=0
  until err=$(mount "$@" 2>&1); do
    i=$((i + 1))
    if [ $i -ge 200 ]; then
      echo "mount $*: $err"
      return 1
    fi
    usleep 50000
  done
}

mount_v1() {
  for set in $V1_SETS; do
    mkdir -p "/sys/fs/cgroup/$set"
    mount_retry -t cgroup -o "$set" cgroup "/sys/fs/cgroup/$set" || return 1
    V1_ROOTS="$V1_ROOTS /sys/fs/cgroup/$set"
  done
}

layout_up() {
  LAYOUT=$1 CG2= V1_ROOTS=
  case $1 in
  v2)
    mount_retry -t cgroup2 cgroup2 /sys/fs/cgroup || return 1
    CG2=/sys/fs/cgroup
    echo "$V2_CONTROLLERS" >/sys/fs/cgroup/cgroup.subtree_control || return 1
    ;;
  v1 | hybrid)
    mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup || return 1
    mount_v1 || return 1
    if [ "$1" = hybrid ]; then
      mkdir /sys/fs/cgroup/unified
      mount_retry -t cgroup2 cgroup2 /sys/fs/cgroup/unified || return 1
      CG2=/sys/fs/cgroup/unified
    fi
    ;;
  esac
  CG_ROOTS="$CG2 $V1_ROOTS"
  export CG_ROOTS
  echo "mounted $1: $CG_ROOTS"
}

layout_down() {
  for r in $CG_ROOTS; do
    for d in "$r"/*/; do
      [ -d "$d" ] && cg_remove "/$(basename "$d")"
    done
  done
  if [ "$LAYOUT" = v2 ]; then
    # Let the controllers go back, so that v1 hierarchies can take them.
    echo "${V2_CONTROLLERS//+/-}" >/sys/fs/cgroup/cgroup.subtree_control || return 1
    echo "dying groups: $(grep nr_dying_descendants /sys/fs/cgroup/cgroup.stat)"
  fi
  for r in $V1_ROOTS $CG2; do
    [ "$r" = /sys/fs/cgroup ] || umount "$r" || return 1
  done
  umount /sys/fs/cgroup || return 1
  echo "unmounted $LAYOUT"
}
