//! The wiring: a veth pair whose container end is born inside the target
//! namespace (no move, so nothing is flushed and no ifindex changes), the
//! host end configured from here, the container end from inside, and on
//! any failure the pair (and a bridge this run made) removed again.

use crate::netlink::{self, Cidr, IfName, LinkSpec, RouteSpec, Scope};
use crate::options::Options;
use crate::sock::{Link, Nl, Step};
use chain::{Error, Result, sys, trace};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use serde_json::{Value, json};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// What was wired, for `--info-fd`.
pub struct Report {
    pub host: End,
    pub container: End,
    pub bridge: Option<(String, u32, bool)>,
}

pub struct End {
    pub link: Link,
    pub addrs: Vec<Cidr>,
    pub netns: u64,
}

impl Report {
    pub fn to_json(&self) -> Value {
        let end = |e: &End| {
            json!({
                "name": e.link.name,
                "ifindex": e.link.ifindex,
                "mac": e.link.mac.map(|m| m.to_string()),
                "mtu": e.link.mtu,
                "addresses": e.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                "netns": e.netns,
            })
        };
        json!({
            "host": end(&self.host),
            "container": end(&self.container),
            "bridge": self.bridge.as_ref().map(|(name, ifindex, created)| {
                json!({"name": name, "ifindex": ifindex, "created": created})
            }),
        })
    }
}

/// A network namespace file (checked to be one), close-on-exec.
pub fn open_netns(path: &std::path::Path) -> Result<OwnedFd> {
    let fd = sys("open", path.display(), || {
        nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
    })?;
    // A network namespace, not just any file (NS_GET_NSTYPE, 4.11).
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: an ioctl without arguments on our fd.
    let kind = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    if kind != libc::CLONE_NEWNET {
        return Err(Error::msg(format!(
            "{}: not a network namespace",
            path.display()
        )));
    }
    Ok(fd)
}

fn ns_inode(fd: &OwnedFd) -> Result<u64> {
    sys("fstat", "network namespace", || nix::sys::stat::fstat(fd)).map(|s| s.st_ino)
}

/// A generated host-end name no link of this namespace has (looked up, so
/// that an EEXIST later can only mean the container's name).
fn free_host_name(host: &mut Nl) -> Result<IfName> {
    for _ in 0..4 {
        let name = host_name()?;
        if host.link(&name)?.is_none() {
            return Ok(name);
        }
    }
    Err(Error::msg(
        "four random host-end names were all taken: give --host-name",
    ))
}

/// A short unique host-end name: `veth` and 8 hex digits from the kernel's
/// random bytes (CNI's shape).
fn host_name() -> Result<IfName> {
    let mut bytes = [0u8; 4];
    sys("getrandom", "4 bytes (host end name)", || {
        // SAFETY: fills our 4-byte buffer.
        Errno::result(unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), 4, 0) }).map(drop)
    })?;
    format!("veth{:08x}", u32::from_ne_bytes(bytes))
        .parse()
        .map_err(Error::msg)
}

/// A random locally administered unicast MAC address (the kernel's own
/// choice for a new device, made here so that it can be fixed).
fn random_mac() -> Result<netlink::Mac> {
    let mut bytes = [0u8; 6];
    sys("getrandom", "6 bytes (bridge MAC)", || {
        // SAFETY: fills our 6-byte buffer.
        Errno::result(unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), 6, 0) }).map(drop)
    })?;
    bytes[0] = (bytes[0] & 0xfe) | 0x02;
    Ok(netlink::Mac(bytes))
}

fn privilege_hint(e: Error) -> Error {
    e.with_hint_for(|errno| {
        (errno == Errno::EPERM).then(|| {
            "a veth to the host needs CAP_NET_ADMIN in the host's network namespace; without privileges \
             use user-mode networking: --pasta (Debian package passt)"
                .into()
        })
    })
}

/// lo's index in every network namespace (it is registered first).
const LOOPBACK_IFINDEX: u32 = 1;

fn addr_step(nl: &mut Nl, link: &Link, cidr: &Cidr) -> Step {
    let seq = nl.next_seq();
    Step {
        op: "RTM_NEWADDR",
        object: format!("{cidr} dev {}", link.name),
        // IPv6 without duplicate address detection: usable at once.
        msg: netlink::new_addr(
            seq,
            link.ifindex,
            cidr.addr,
            cidr.prefix,
            cidr.addr.is_ipv6(),
        ),
        seq,
    }
}

fn up_step(nl: &mut Nl, link: &Link) -> Step {
    let seq = nl.next_seq();
    Step {
        op: "RTM_NEWLINK",
        object: format!("{} up", link.name),
        msg: netlink::set_up(seq, link.ifindex),
        seq,
    }
}

fn route_step(nl: &mut Nl, spec: &RouteSpec, object: String) -> Result<Step> {
    let seq = nl.next_seq();
    let msg =
        netlink::new_route(seq, spec).map_err(|e| Error::msg(format!("route {object}: {e}")))?;
    Ok(Step {
        op: "RTM_NEWROUTE",
        object,
        msg,
        seq,
    })
}

fn add_addr(nl: &mut Nl, link: &Link, cidr: &Cidr) -> Result<()> {
    let object = format!("{cidr} dev {}", link.name);
    // IPv6 without duplicate address detection: usable at once.
    nl.request("RTM_NEWADDR", &object, |seq| {
        netlink::new_addr(
            seq,
            link.ifindex,
            cidr.addr,
            cidr.prefix,
            cidr.addr.is_ipv6(),
        )
    })
    .map(drop)
}

fn up(nl: &mut Nl, link: &Link) -> Result<()> {
    nl.request("RTM_NEWLINK", &format!("{} up", link.name), |seq| {
        netlink::set_up(seq, link.ifindex)
    })
    .map(drop)
}

fn must_find(nl: &mut Nl, name: &IfName) -> Result<Link> {
    nl.link(name)?.ok_or_else(|| {
        Error::msg(format!(
            "RTM_GETLINK {name}: the link just created is not there"
        ))
    })
}

/// Runs `step` inside the network namespace `target`, then comes back.
fn inside<T>(ns: &Namespaces, step: impl FnOnce() -> Result<T>) -> Result<T> {
    // The container end is configured from a socket of its own namespace.
    sys("setns", "CLONE_NEWNET (the container's)", || {
        nix::sched::setns(ns.target, CloneFlags::CLONE_NEWNET)
    })
    .map_err(|e| {
        e.with_hint_for(|errno| {
            (errno == Errno::EPERM).then(|| {
                "entering the container's network namespace needs CAP_SYS_ADMIN over it".into()
            })
        })
    })?;
    let result = step();
    // Back, so that a failure can still remove the pair from the host side.
    sys("setns", "CLONE_NEWNET (back)", || {
        nix::sched::setns(ns.own, CloneFlags::CLONE_NEWNET)
    })?;
    result
}

/// What this run created on the host side, removed if a later step fails.
struct Undo {
    links: Vec<(u32, String)>,
    nat_table: Option<String>,
}

impl Undo {
    /// Best effort: the error that made the run undo itself is the one the
    /// caller reports; each removal is traced with -v.
    fn run(&self, nl: &mut Nl) {
        if let Some(table) = &self.nat_table {
            let _ = delete_nat(table);
        }
        for (ifindex, name) in self.links.iter().rev() {
            // Deleting one end of a veth deletes both.
            let _ = nl.request("RTM_DELLINK", &format!("{name} (undo)"), |seq| {
                netlink::del_link(seq, *ifindex)
            });
        }
    }
}

pub fn wire(o: &Options, target: &OwnedFd) -> Result<Report> {
    // Kept open: the way back after configuring the container's end.
    let own = open_netns(Path::new("/proc/self/ns/net"))?;
    let host_netns = ns_inode(&own)?;
    let container_netns = ns_inode(target)?;
    if host_netns == container_netns {
        return Err(Error::msg(
            "the target is this process's own network namespace: a veth pair needs two",
        ));
    }
    let mut host = Nl::open("host")?;
    let mut undo = Undo {
        links: Vec::new(),
        nat_table: None,
    };
    let namespaces = Namespaces {
        own: &own,
        target,
        host_netns,
        container_netns,
    };
    let result = wire_with(o, &namespaces, &mut host, &mut undo);
    if result.is_err() {
        undo.run(&mut host);
    }
    result
}

/// The two network namespaces of a run: this process's and the target.
struct Namespaces<'a> {
    own: &'a OwnedFd,
    target: &'a OwnedFd,
    host_netns: u64,
    container_netns: u64,
}

fn wire_with(o: &Options, ns: &Namespaces, host: &mut Nl, undo: &mut Undo) -> Result<Report> {
    let mut bridge = None;
    if let Some(name) = &o.bridge {
        let (link, created) = match host.link(name)? {
            Some(link) => (link, false),
            None if o.nat && !o.bridge_addrs.iter().any(|c| c.addr.is_ipv4()) => {
                return Err(Error::msg(format!(
                    "--nat: the bridge {name} does not exist yet, and without an IPv4 --bridge-addr there is no subnet to masquerade"
                )));
            }
            None => {
                // A missing bridge is made here, so that the first container
                // of a network needs no separate setup step.
                let bridge_mac = random_mac()?;
                let made = host.request("RTM_NEWLINK", &format!("{name} type bridge"), |seq| {
                    netlink::new_bridge(seq, name, o.mtu, Some(bridge_mac))
                });
                match made {
                    // Another vethctl made it between the lookup and here
                    // (containers starting at once): theirs is used, and
                    // they configure it.
                    Err(e) if e.errno == Some(Errno::EEXIST) => {
                        trace::note(format_args!(
                            "{name} was just made by another run: joining it"
                        ));
                        (must_find(host, name)?, false)
                    }
                    made => {
                        made.map_err(privilege_hint)?;
                        let link = must_find(host, name)?;
                        undo.links.push((link.ifindex, link.name.clone()));
                        for cidr in &o.bridge_addrs {
                            add_addr(host, &link, cidr)?;
                        }
                        up(host, &link)?;
                        (link, true)
                    }
                }
            }
        };
        if o.nat {
            let subnet = o.bridge_addrs.iter().find(|c| c.addr.is_ipv4()).copied();
            if let Some(subnet) = subnet
                && add_nat(&nat_table(name), subnet, name)?
            {
                undo.nat_table = Some(nat_table(name));
            }
        }
        bridge = Some((link, created));
    }

    let container_name: IfName = match &o.container.name {
        Some(n) => n.clone(),
        None => "eth0".parse().map_err(Error::msg)?,
    };
    let host_name = match &o.host.name {
        Some(n) => n.clone(),
        None => free_host_name(host)?,
    };
    let peer = LinkSpec {
        name: container_name.clone(),
        mtu: o.mtu,
        mac: o.container.mac,
        queues: Some(o.queues),
    };
    let spec = LinkSpec {
        name: host_name.clone(),
        mtu: o.mtu,
        mac: o.host.mac,
        queues: Some(o.queues),
    };
    let fd = ns.target.as_raw_fd() as u32;
    let object =
        format!("{host_name} type veth peer {container_name} (in the container's namespace)");
    // The peer is born in the container's namespace: no move, so nothing
    // of it is flushed and its index stays.
    host.request("RTM_NEWLINK", &object, |seq| {
        netlink::new_veth(seq, &spec, &peer, Some(fd))
    })
    .map_err(|e| {
        privilege_hint(e).with_hint_for(|errno| {
            (errno == Errno::EEXIST).then(|| {
                format!(
                    "{host_name} exists in this namespace, or {container_name} in the container's"
                )
            })
        })
    })?;
    let host_link = must_find(host, &host_name)?;
    undo.links.push((host_link.ifindex, host_link.name.clone()));
    // The host end in one round trip: its addresses or its bridge, then up.
    let mut steps = Vec::new();
    match &bridge {
        Some((br, _)) => {
            let seq = host.next_seq();
            steps.push(Step {
                op: "RTM_NEWLINK",
                object: format!("{} master {}", host_link.name, br.name),
                msg: netlink::set_master(seq, host_link.ifindex, br.ifindex),
                seq,
            });
        }
        None => {
            for cidr in &o.host.addrs {
                steps.push(addr_step(host, &host_link, cidr));
            }
        }
    }
    steps.push(up_step(host, &host_link));
    let host_steps = steps;

    // The container end first, the host end last. A veth has a carrier
    // once both ends are up; the end brought up first only starts to
    // transmit when the kernel's linkwatch work has seen the carrier come
    // (until then its queue is the noop qdisc, which drops), and that work
    // takes the RTNL lock. Queued by the container's up, it made the
    // container's lo and route requests wait on the lock; queued by the
    // host's up, the last request, it is run below (the GETLINKs).
    let (container_link, mut container_nl) = inside(ns, || {
        let mut nl = Nl::open("container")?;
        let link = must_find(&mut nl, &container_name)?;
        // One round trip, in the order the kernel needs: addresses, up,
        // then routes (a gateway needs the connected route of an address).
        let mut steps: Vec<Step> = o
            .container
            .addrs
            .iter()
            .map(|c| addr_step(&mut nl, &link, c))
            .collect();
        steps.push(up_step(&mut nl, &link));
        if o.lo {
            // lo is the first link of every network namespace: index 1.
            let lo = Link {
                ifindex: LOOPBACK_IFINDEX,
                name: "lo".into(),
                mac: None,
                mtu: None,
            };
            steps.push(up_step(&mut nl, &lo));
        }
        for gw in &o.gateways {
            // A gateway outside every address's subnet is reached on the link.
            let onlink = !o.container.addrs.iter().any(|c| covers(c, *gw));
            let spec = RouteSpec {
                dst: None,
                gateway: Some(*gw),
                oif: Some(link.ifindex),
                scope: Scope::Universe,
                onlink,
            };
            steps.push(route_step(
                &mut nl,
                &spec,
                format!("default via {gw} dev {}", link.name),
            )?);
        }
        for r in &o.routes {
            let spec = RouteSpec {
                dst: Some(r.dst),
                gateway: r.via,
                oif: Some(link.ifindex),
                scope: if r.via.is_some() {
                    Scope::Universe
                } else {
                    Scope::Link
                },
                onlink: r
                    .via
                    .is_some_and(|v| !o.container.addrs.iter().any(|c| covers(c, v))),
            };
            let via = r.via.map(|v| format!(" via {v}")).unwrap_or_default();
            steps.push(route_step(
                &mut nl,
                &spec,
                format!("{}{via} dev {}", r.dst, link.name),
            )?);
        }
        nl.batch_steps(&steps)?;
        Ok((link, nl))
    })?;
    host.batch_steps(&host_steps)?;
    // The kernel finishes a link's pending linkwatch work before it answers
    // a GETLINK of it (rtnl_getlink's linkwatch_sync_dev; what is left runs
    // on a kworker, and then this waits for its RTNL lock): after these
    // two, both ends transmit, their state is up and a bridge port
    // forwards, so the workload's first packet is not dropped. Measured:
    // +0.07 ms. The socket of the container's namespace still reaches its
    // end after the setns back.
    must_find(&mut container_nl, &container_name)?;
    must_find(host, &host_name)?;
    if let Some(name) = &o.bridge {
        // A bridge has a carrier once a port forwards, which the host end's
        // work just did: the bridge's own transmit waits for its turn too.
        must_find(host, name)?;
    }
    trace::note(format_args!(
        "both ends transmit: the kernel's carrier work is done"
    ));
    trace::note(format_args!(
        "wired {} (host, ifindex {}) to {} (container, ifindex {})",
        host_link.name, host_link.ifindex, container_link.name, container_link.ifindex
    ));
    Ok(Report {
        host: End {
            link: host_link,
            addrs: o.host.addrs.clone(),
            netns: ns.host_netns,
        },
        container: End {
            link: container_link,
            addrs: o.container.addrs.clone(),
            netns: ns.container_netns,
        },
        bridge: bridge.map(|(l, created)| (l.name, l.ifindex, created)),
    })
}

/// The nf_tables table of a bridge's NAT: one per bridge, removed whole.
pub fn nat_table(bridge: &IfName) -> String {
    format!("vethctl-{bridge}")
}

/// Masquerading of the bridge's subnet for traffic that leaves through
/// another interface (Docker's docker0 rule), and forwarding on. Returns
/// whether this run created the table (false: an earlier container on the
/// same bridge did).
fn add_nat(table: &str, subnet: Cidr, bridge: &IfName) -> Result<bool> {
    let batch = crate::nft::masquerade_batch(1, table, subnet, Some(bridge.as_str()))
        .map_err(Error::msg)?;
    let acks = crate::nft::batch_acks(&batch);
    let mut nl = Nl::open_protocol(libc::NETLINK_NETFILTER, "NETLINK_NETFILTER", "host")?;
    let object = format!("table ip {table}: ip saddr {subnet} oifname != {bridge} masquerade");
    match nl.batch("nf_tables batch", &object, &batch, &acks) {
        Ok(()) => {}
        // The bridge's NAT is there already: its containers share it.
        Err(e) if e.errno == Some(Errno::EEXIST) => return Ok(false),
        Err(e) => return Err(privilege_hint(e)),
    }
    // Forwarding between the bridge and the way out; left on, as Docker does.
    chain::file::write(std::path::Path::new("/proc/sys/net/ipv4/ip_forward"), b"1")?;
    Ok(true)
}

/// Removes a bridge's NAT table; a missing one is no error.
pub fn delete_nat(table: &str) -> Result<()> {
    let batch = crate::nft::delete_table_batch(1, table);
    let acks = crate::nft::batch_acks(&batch);
    let mut nl = Nl::open_protocol(libc::NETLINK_NETFILTER, "NETLINK_NETFILTER", "host")?;
    match nl.batch(
        "nf_tables batch",
        &format!("delete table ip {table}"),
        &batch,
        &acks,
    ) {
        Err(e) if e.errno == Some(Errno::ENOENT) => Ok(()),
        other => other,
    }
}

/// `--remove-bridge NAME`: the bridge and its NAT table.
pub fn remove_bridge(name: &IfName) -> Result<()> {
    let mut host = Nl::open("host")?;
    delete_nat(&nat_table(name)).map_err(privilege_hint)?;
    let link = host
        .link(name)?
        .ok_or_else(|| Error::msg(format!("--remove-bridge: there is no link named {name}")))?;
    host.request("RTM_DELLINK", name.as_str(), |seq| {
        netlink::del_link(seq, link.ifindex)
    })
    .map(drop)
    .map_err(privilege_hint)
}

/// Whether the subnet of `cidr` holds `ip`.
fn covers(cidr: &Cidr, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr::{V4, V6};
    match (cidr.addr, ip) {
        (V4(a), V4(b)) => {
            let mask = if cidr.prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(cidr.prefix))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (V6(a), V6(b)) => {
            let mask = if cidr.prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(cidr.prefix))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_hold_their_gateways() {
        let c: Cidr = "10.0.0.2/24".parse().unwrap();
        assert!(covers(&c, "10.0.0.1".parse().unwrap()));
        assert!(!covers(&c, "10.0.1.1".parse().unwrap()));
        assert!(!covers(&c, "fd00::1".parse().unwrap()));
        let c6: Cidr = "fd00:1::2/64".parse().unwrap();
        assert!(covers(&c6, "fd00:1::1".parse().unwrap()));
        assert!(!covers(&c6, "fd00:2::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(covers(&all, "192.168.1.1".parse().unwrap()));
    }
}
