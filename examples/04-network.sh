#!/usr/bin/env bash
# Example 4: the network walkthroughs. First `ip netns add` and a veth pair
# with an address on each end and a ping both ways; then the Docker-style
# bridge with two containers and NAT. With vethctl each wiring is one
# command, over netlink, with the container's end born in its namespace.
#
#   articles (iproute2)                                 ours
#   ip netns add ct                                     ip netns add ct (the same file:
#                                                       iproute2 and vethctl share it)
#   ip link add veth0 type veth peer name veth1         vethctl --netns ct
#   ip link set veth1 netns ct                            --addr 10.200.0.2/24
#   ip addr add 10.200.0.1/24 dev veth0                   --host-addr 10.200.0.1/24
#   ip netns exec ct ip addr add 10.200.0.2/24 dev veth1
#   ip link set veth0 up; ip netns exec ct ip link set veth1 up; ... lo up
#
#   the docker0 bridge, per container: a veth pair,     vethctl --netns cN --bridge br0
#   master br0, addresses, default route, and once:       --bridge-addr 10.201.0.1/24 --nat
#   iptables -t nat -A POSTROUTING -s 10.201.0.0/24       --addr 10.201.0.N/24 --gateway 10.201.0.1
#   ! -o br0 -j MASQUERADE; sysctl net.ipv4.ip_forward=1
#   ip link del br0; iptables -t nat -D ...             vethctl --remove-bridge br0
#
# Where: the machine's own network is never touched. Everything runs in a
# throwaway "host" network namespace (and the namespaces made from it); the
# "internet" is one more namespace, reached from the host through a pair.
# Only 10.200-10.202 addresses inside those; pings are bounded (busybox ping -c 1 -W 2).
#
# Run as root: bash examples/04-network.sh (every namespace it makes is
# deleted at the end, with the pairs, the bridge and the NAT table in them).
set -euo pipefail
cd "$(dirname "$0")/.."
. examples/lib.sh

need_root
bin=$(chain_bin)
v=$bin/vethctl
tag=ex4-$$
host=$tag-host ct=$tag-ct c1=$tag-c1 c2=$tag-c2 world=$tag-world
stop() {
  for ns in "$ct" "$c1" "$c2" "$world" "$host"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap stop EXIT
for ns in "$host" "$ct" "$c1" "$c2" "$world"; do ip netns add "$ns"; done
# Run a command in the throwaway host namespace.
H() { ip netns exec "$host" "$@"; }
reach() { # reach NS ADDR: "yes" when one ping from NS to ADDR is answered
  if ip netns exec "$1" busybox ping -c 1 -W 2 "$2" >/dev/null 2>&1; then echo yes; else echo no; fi
}
H ip link set lo up

show "1. a pair: vethctl --netns ct --addr 10.200.0.2/24 --host-addr 10.200.0.1/24"
H "$v" --netns "$ct" --addr 10.200.0.2/24 --host-addr 10.200.0.1/24 --host-name veth-ex4
echo "ip netns exec ct ip -br addr (operstate may lag: the kernel updates it asynchronously):"
ip netns exec "$ct" ip -br addr
echo "ping host -> ct: $(reach "$host" 10.200.0.2)"
echo "ping ct -> host: $(reach "$ct" 10.200.0.1)"

show "2. the bridge: two containers on br0, with NAT, and an outside world"
# The world: one pair from the host namespace, the host's default route.
H "$v" --netns "$world" --addr 10.202.0.2/24 --host-addr 10.202.0.1/24 --host-name uplink
H ip route add default via 10.202.0.2
for n in 1 2; do
  ns=$tag-c$n
  H "$v" --netns "$ns" --bridge br0 --bridge-addr 10.201.0.1/24 --nat \
    --addr 10.201.0.$((n + 1))/24 --gateway 10.201.0.1 --host-name br0-port$n
done
echo "c1 -> c2 (10.201.0.3): $(reach "$c1" 10.201.0.3)"
echo "c1 -> the bridge (10.201.0.1): $(reach "$c1" 10.201.0.1)"
# The world has no route back to 10.201.0.0/24: only masquerading makes
# this ping come back.
echo "c1 -> the world (10.202.0.2): $(reach "$c1" 10.202.0.2)"
echo "NAT: $(H nft list table ip vethctl-br0 2>/dev/null | grep -o 'masquerade' | head -n 1 || echo none)"

show "3. vethctl --remove-bridge br0"
H "$v" --remove-bridge br0
echo "bridge left: $(H ip -br link show type bridge | wc -l)"
echo "NAT table left: $(H nft list tables 2>/dev/null | grep -c vethctl || true)"
echo "c1 -> the world after removal: $(reach "$c1" 10.202.0.2)"
