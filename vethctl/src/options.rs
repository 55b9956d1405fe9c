//! Command-line parsing for vethctl. No syscalls happen here.

use crate::netlink::{Cidr, IfName, Mac};
use chain::cli::value;
use chain::{Error, Result};
use lexopt::Arg::{Long, Short, Value};
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

pub const PROG: &str = "vethctl";

/// Where the container end goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The network namespace the next `unshare-rs -n` creates (a helper
    /// wires it from outside, through the outside-step protocol).
    Chain,
    /// A namespace file: /proc/PID/ns/net, /run/netns/NAME, a bind mount.
    Path(PathBuf),
}

/// A port published on the host with `--pasta`: Docker's `-p` syntax,
/// `[IP:]HOST[-HOST]:CONTAINER[-CONTAINER][/tcp|/udp]` or just `PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub addr: Option<IpAddr>,
    pub host: (u16, u16),
    pub container: (u16, u16),
    pub udp: bool,
}

impl Publish {
    /// pasta's `-t`/`-u` spec: `[ADDR/]PORTS[:PORTS]`.
    pub fn pasta_spec(&self) -> String {
        let range = |(a, b): (u16, u16)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        };
        let addr = self.addr.map_or(String::new(), |a| format!("{a}/"));
        if self.host == self.container {
            format!("{addr}{}", range(self.host))
        } else {
            format!("{addr}{}:{}", range(self.host), range(self.container))
        }
    }
}

impl std::str::FromStr for Publish {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Publish, String> {
        let (rest, udp) = match text.rsplit_once('/') {
            Some((r, "tcp")) => (r, false),
            Some((r, "udp")) => (r, true),
            Some((_, p)) => return Err(format!("'{p}' is not tcp or udp")),
            None => (text, false),
        };
        // An IPv6 address is bracketed, as in Docker: [::1]:8080:80.
        let (addr, ports) = if let Some(v6) = rest.strip_prefix('[') {
            let (a, p) = v6
                .split_once("]:")
                .ok_or("an IPv6 address goes in brackets: [::1]:8080:80")?;
            (Some(a), p)
        } else {
            match rest.matches(':').count() {
                2 => {
                    let (a, p) = rest.split_once(':').expect("two colons");
                    (Some(a), p)
                }
                _ => (None, rest),
            }
        };
        let addr = addr
            .map(|a| {
                a.parse::<IpAddr>()
                    .map_err(|_| format!("'{a}' is not an IP address"))
            })
            .transpose()?;
        let range = |t: &str| -> std::result::Result<(u16, u16), String> {
            let port = |p: &str| match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("'{p}' is not a port (1-65535)")),
            };
            match t.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (port(a)?, port(b)?);
                    if a > b {
                        return Err(format!("the range {a}-{b} is backwards"));
                    }
                    Ok((a, b))
                }
                None => port(t).map(|p| (p, p)),
            }
        };
        let (host, container) = match ports.split_once(':') {
            Some((h, c)) => (range(h)?, range(c)?),
            None => {
                let r = range(ports)?;
                (r, r)
            }
        };
        if host.1 - host.0 != container.1 - container.0 {
            return Err("the host and container ranges differ in length".into());
        }
        Ok(Publish {
            addr,
            host,
            container,
            udp,
        })
    }
}

/// An extra route of the container end: `CIDR[,via=IP]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dst: Cidr,
    pub via: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    pub name: Option<IfName>,
    pub addrs: Vec<Cidr>,
    pub mac: Option<Mac>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub target: Target,
    pub container: End,
    pub host: End,
    pub gateways: Vec<IpAddr>,
    pub routes: Vec<Route>,
    pub mtu: Option<u32>,
    /// `--queues N`: tx and rx queues of each end (the kernel's default
    /// is one per possible CPU; ours is 1).
    pub queues: u32,
    pub lo: bool,
    pub bridge: Option<IfName>,
    pub bridge_addrs: Vec<Cidr>,
    pub nat: bool,
    /// `--remove-bridge NAME`: remove a bridge and its NAT table, nothing else.
    pub remove_bridge: Option<IfName>,
    /// `--pid PID` (also in `target`): pasta joins a process, not a file.
    pub pid: Option<u32>,
    /// `--pasta`: user-mode networking instead of a veth pair.
    pub pasta: bool,
    pub publish: Vec<Publish>,
    pub pasta_map_gw: bool,
    pub pasta_opts: Vec<String>,
    pub info_fd: Option<i32>,
    pub verbose: bool,
    pub argv: Vec<OsString>,
}

pub type Parsed = chain::cli::Parsed<Box<Options>>;

fn route(text: &str) -> std::result::Result<Route, String> {
    let (dst, via) = match text.split_once(",via=") {
        Some((d, v)) => (
            d,
            Some(
                v.parse::<IpAddr>()
                    .map_err(|_| format!("'{v}' is not an IP address"))?,
            ),
        ),
        None => (text, None),
    };
    let dst: Cidr = dst.parse()?;
    if let Some(v) = via
        && v.is_ipv4() != dst.addr.is_ipv4()
    {
        return Err(format!(
            "the gateway {v} is not of the destination's family"
        ));
    }
    Ok(Route { dst, via })
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let mut parser = lexopt::Parser::from_args(args);
    let mut target: Option<Target> = None;
    let mut set_target = |t: Target| -> Result<()> {
        if target.replace(t).is_some() {
            return Err(Error::usage(
                PROG,
                "give one of --pid, --netns and --netns-path",
            ));
        }
        Ok(())
    };
    let empty = End {
        name: None,
        addrs: Vec::new(),
        mac: None,
    };
    let mut o = Options {
        target: Target::Chain,
        container: empty.clone(),
        host: empty,
        gateways: Vec::new(),
        routes: Vec::new(),
        mtu: None,
        queues: 1,
        lo: true,
        bridge: None,
        bridge_addrs: Vec::new(),
        nat: false,
        remove_bridge: None,
        pid: None,
        pasta: false,
        publish: Vec::new(),
        pasta_map_gw: false,
        pasta_opts: Vec::new(),
        info_fd: None,
        verbose: false,
        argv: Vec::new(),
    };
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("pid") => {
                let pid: u32 = value(PROG, "--pid", parser.value().map_err(usage)?)?;
                set_target(Target::Path(PathBuf::from(format!("/proc/{pid}/ns/net"))))?;
                o.pid = Some(pid);
            }
            Long("netns") => {
                let name: String = value(PROG, "--netns", parser.value().map_err(usage)?)?;
                if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                    return Err(Error::usage(
                        PROG,
                        format!(
                            "--netns: '{name}' is not a name in /run/netns (use --netns-path for a file)"
                        ),
                    ));
                }
                set_target(Target::Path(PathBuf::from(format!("/run/netns/{name}"))))?;
            }
            Long("netns-path") => set_target(Target::Path(parser.value().map_err(usage)?.into()))?,
            Long("name") => {
                o.container.name = Some(value(PROG, "--name", parser.value().map_err(usage)?)?)
            }
            Long("addr") => {
                o.container
                    .addrs
                    .push(value(PROG, "--addr", parser.value().map_err(usage)?)?)
            }
            Long("mac") => {
                o.container.mac = Some(value(PROG, "--mac", parser.value().map_err(usage)?)?)
            }
            Long("gateway") => {
                o.gateways
                    .push(value(PROG, "--gateway", parser.value().map_err(usage)?)?)
            }
            Long("route") => {
                let text: String = value(PROG, "--route", parser.value().map_err(usage)?)?;
                o.routes.push(
                    route(&text)
                        .map_err(|e| Error::usage(PROG, format!("--route: '{text}': {e}")))?,
                );
            }
            Long("mtu") => {
                let mtu: u32 = value(PROG, "--mtu", parser.value().map_err(usage)?)?;
                if !(68..=65535).contains(&mtu) {
                    return Err(Error::usage(PROG, format!("--mtu: {mtu} is not 68..65535")));
                }
                o.mtu = Some(mtu);
            }
            Long("queues") => {
                let n: u32 = value(PROG, "--queues", parser.value().map_err(usage)?)?;
                // The kernel's limit for both counts (rtnl_create_link).
                if !(1..=4096).contains(&n) {
                    return Err(Error::usage(PROG, format!("--queues: {n} is not 1..4096")));
                }
                o.queues = n;
            }
            Long("no-lo") => o.lo = false,
            Long("host-name") => {
                o.host.name = Some(value(PROG, "--host-name", parser.value().map_err(usage)?)?)
            }
            Long("host-addr") => {
                o.host
                    .addrs
                    .push(value(PROG, "--host-addr", parser.value().map_err(usage)?)?)
            }
            Long("host-mac") => {
                o.host.mac = Some(value(PROG, "--host-mac", parser.value().map_err(usage)?)?)
            }
            Long("bridge") => {
                o.bridge = Some(value(PROG, "--bridge", parser.value().map_err(usage)?)?)
            }
            Long("bridge-addr") => o.bridge_addrs.push(value(
                PROG,
                "--bridge-addr",
                parser.value().map_err(usage)?,
            )?),
            Long("nat") => o.nat = true,
            Long("pasta") => o.pasta = true,
            Long("publish") => {
                o.publish
                    .push(value(PROG, "--publish", parser.value().map_err(usage)?)?)
            }
            Long("pasta-map-gw") => o.pasta_map_gw = true,
            Long("pasta-opt") => {
                o.pasta_opts
                    .push(value(PROG, "--pasta-opt", parser.value().map_err(usage)?)?)
            }
            Long("remove-bridge") => {
                o.remove_bridge = Some(value(
                    PROG,
                    "--remove-bridge",
                    parser.value().map_err(usage)?,
                )?)
            }
            Long("info-fd") => {
                o.info_fd = Some(value(PROG, "--info-fd", parser.value().map_err(usage)?)?)
            }
            Short('v') | Long("verbose") => o.verbose = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(first) => {
                o.argv.push(first);
                o.argv.extend(parser.raw_args().map_err(usage)?);
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    if o.remove_bridge.is_some() {
        let alone = target.is_none()
            && o.container.addrs.is_empty()
            && o.host.addrs.is_empty()
            && o.bridge.is_none()
            && !o.nat
            && !o.pasta
            && o.argv.is_empty();
        if !alone {
            return Err(Error::usage(
                PROG,
                "--remove-bridge NAME goes alone (with -v at most)",
            ));
        }
        return Ok(Parsed::Run(Box::new(o)));
    }
    o.target = target.unwrap_or(Target::Chain);
    if o.pasta {
        check_pasta(&o)?;
    } else if !o.publish.is_empty() || o.pasta_map_gw || !o.pasta_opts.is_empty() {
        return Err(Error::usage(
            PROG,
            "--publish, --pasta-map-gw and --pasta-opt go with --pasta (a veth container is reached at its address)",
        ));
    }
    if o.nat && o.bridge.is_none() {
        return Err(Error::usage(
            PROG,
            "--nat masquerades a bridge's IPv4 subnet, as on Docker's docker0: give --bridge NAME (and --bridge-addr CIDR where vethctl creates it)",
        ));
    }
    if o.target == Target::Chain && o.argv.is_empty() {
        return Err(Error::usage(
            PROG,
            "no program: without --pid, --netns or --netns-path the container end goes into the namespace the next unshare-rs -n creates",
        ));
    }
    if !o.bridge_addrs.is_empty() && o.bridge.is_none() {
        return Err(Error::usage(PROG, "--bridge-addr needs --bridge"));
    }
    if o.bridge.is_some() && !o.host.addrs.is_empty() {
        return Err(Error::usage(
            PROG,
            "--host-addr goes on the host end, which a bridge port does not use: give --bridge-addr",
        ));
    }
    for family_v4 in [true, false] {
        if o.gateways
            .iter()
            .filter(|g| g.is_ipv4() == family_v4)
            .count()
            > 1
        {
            return Err(Error::usage(
                PROG,
                "--gateway: one default route per family",
            ));
        }
    }
    Ok(Parsed::Run(Box::new(o)))
}

/// What pasta cannot do, or does in its own way, refused with the reason.
fn check_pasta(o: &Options) -> Result<()> {
    if matches!(o.target, Target::Path(_)) && o.pid.is_none() {
        return Err(Error::usage(
            PROG,
            "--pasta joins a process's user and network namespaces: give --pid PID, or put vethctl before unshare-rs -U in a chain",
        ));
    }
    let host_side = !o.host.addrs.is_empty()
        || o.host.name.is_some()
        || o.host.mac.is_some()
        || o.bridge.is_some()
        || o.nat;
    if host_side {
        return Err(Error::usage(
            PROG,
            "--pasta makes no host end: --host-*, --bridge and --nat are for a veth pair",
        ));
    }
    if o.queues != 1 {
        return Err(Error::usage(
            PROG,
            "--pasta makes no veth: --queues is for a veth pair",
        ));
    }
    if !o.routes.is_empty() || !o.lo {
        return Err(Error::usage(
            PROG,
            "--pasta sets the routes and lo itself: --route and --no-lo are for a veth pair",
        ));
    }
    for v4 in [true, false] {
        if o.container
            .addrs
            .iter()
            .filter(|a| a.addr.is_ipv4() == v4)
            .count()
            > 1
        {
            return Err(Error::usage(PROG, "--pasta: one --addr per family"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::cli::{parse_error, parse_run};

    fn run(args: &[&str]) -> Options {
        *parse_run(parse, args)
    }

    #[test]
    fn the_articles_wiring_in_one_line() {
        let o = run(&[
            "--netns",
            "c1",
            "--addr",
            "10.0.0.2/24",
            "--addr",
            "fd00::2/64",
            "--host-addr",
            "10.0.0.1/24",
            "--gateway",
            "10.0.0.1",
            "--route",
            "192.168.0.0/16,via=10.0.0.1",
            "--mtu",
            "1400",
        ]);
        assert_eq!(o.target, Target::Path("/run/netns/c1".into()));
        assert_eq!(o.container.addrs.len(), 2);
        assert_eq!(o.routes[0].via, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(o.mtu, Some(1400));
        assert!(o.lo);
        assert!(o.argv.is_empty());
        let o = run(&["--addr", "10.0.0.2/24", "--", "unshare-rs", "-n", "sh"]);
        assert_eq!(o.target, Target::Chain);
        assert_eq!(o.argv, ["unshare-rs", "-n", "sh"]);
        assert_eq!(
            run(&["--pid", "42"]).target,
            Target::Path("/proc/42/ns/net".into())
        );
        let o = run(&[
            "--netns",
            "c",
            "--bridge",
            "br0",
            "--bridge-addr",
            "10.0.9.1/24",
            "--nat",
        ]);
        assert!(o.nat);
        let o = run(&["--remove-bridge", "br0"]);
        assert_eq!(o.remove_bridge.map(|n| n.to_string()), Some("br0".into()));
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &["--netns", "c", "--name", "abcdefghijklmnop"][..],
            &["--netns", "c", "--addr", "10.0.0.300/24"],
            &["--netns", "c", "--addr", "10.0.0.1/33"],
            &["--netns", "c", "--mac", "01:00:00:00:00:01"],
            &["--netns", "c", "--pid", "1"],
            &["--netns", "../x"],
            &["--addr", "10.0.0.2/24"],
            &["--netns", "c", "--bridge-addr", "10.0.0.1/24"],
            &[
                "--netns",
                "c",
                "--bridge",
                "br0",
                "--host-addr",
                "10.0.0.1/24",
            ],
            &[
                "--netns",
                "c",
                "--gateway",
                "10.0.0.1",
                "--gateway",
                "10.0.0.2",
            ],
            &["--netns", "c", "--route", "10.1.0.0/16,via=fd00::1"],
            &["--netns", "c", "--mtu", "10"],
            &["--netns", "c", "--queues", "0"],
            &["--netns", "c", "--queues", "4097"],
            &["--pasta", "--queues", "2"],
            &["--netns", "c", "--nat"],
            &["--remove-bridge", "br0", "--addr", "10.0.0.2/24"],
            &["--remove-bridge", "br0", "--", "sh"],
        ] {
            let e = parse_error(parse, args);
            assert!(e.contains("see 'vethctl --help'"), "{args:?}: {e}");
        }
    }
}
