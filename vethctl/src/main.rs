//! vethctl: wire a container's network namespace with a veth pair
//! (addresses, routes, lo, a bridge), then exec the rest of the argv. See
//! README.md.

#[allow(dead_code)] // a few builders and reply fields are for later steps
mod netlink;
mod nft;
mod options;
mod pasta;
mod sock;
mod wire;

use chain::cli;
use chain::exec::{self, Program};
use chain::{Error, Result, outside, sys, trace};
use options::{Options, PROG, Target};
use std::convert::Infallible;
use std::os::fd::{FromRawFd, OwnedFd};

macro_rules! usage {
    () => {
        "usage: vethctl [--pid PID | --netns NAME | --netns-path FILE] [--addr CIDR]... [--host-addr CIDR]... [options] [--] [program...]"
    };
}

const HELP: &str = concat!(
    usage!(),
    "

Create a veth pair between this network namespace (the host end) and a
container's (the container end), configure both ends, then exec PROGRAM.

In a chain, before unshare-rs: a helper stays in this namespace and wires
the one unshare-rs -n creates:

    vethctl --addr 10.0.0.2/24 --host-addr 10.0.0.1/24 --gateway 10.0.0.1 -- unshare-rs -fpnumi -- pivot ./rootfs -- sh

Target (default: the namespace the next unshare-rs -n creates):
      --pid PID           the network namespace of process PID
      --netns NAME        /run/netns/NAME (iproute2's ip netns)
      --netns-path FILE   a namespace file (/proc/PID/ns/net, a bind mount)
                          with a target, PROGRAM is optional: vethctl wires
                          and exits 0
Container end:
      --name NAME         its name (default eth0)
      --addr CIDR         an address (repeatable; IPv4 or IPv6, IPv6 usable
                          at once: no duplicate address detection)
      --gateway IP        the default route (one per family)
      --route CIDR[,via=IP]
                          another route, through IP or on the link
      --mac MAC           its MAC address
      --no-lo             leave lo down (default: up)
Both ends:
      --mtu N             the MTU of both ends (and of a new bridge)
      --queues N          tx and rx queues of each end (default 1; the
                          kernel's own default, one per possible CPU, costs
                          sysfs work per queue; more serve XDP or GRO)
Host end:
      --host-name NAME    its name (default: veth and 8 random hex digits)
      --host-addr CIDR    an address (repeatable)
      --host-mac MAC      its MAC address
      --bridge NAME       attach it to the bridge NAME, created and brought
                          up when missing (containers on one bridge reach
                          each other and the bridge's address)
      --bridge-addr CIDR  the address of a bridge vethctl creates
      --nat               the bridge's containers reach beyond the host, as on
                          Docker's default bridge: forwarding on, and the
                          bridge's IPv4 subnet masqueraded when it leaves
                          through another interface (nf_tables table
                          ip vethctl-BRIDGE, shared by the bridge's containers)
      --remove-bridge NAME
                          remove the bridge NAME and its NAT table, and exit
User-mode networking (without CAP_NET_ADMIN here: rootless):
      --pasta             no pair: pasta (Debian package passt) joins the
                          container's user and network namespaces (a chain
                          with unshare-rs -U, or --pid) and relays its
                          traffic through this namespace's sockets; --name,
                          --addr (one per family), --gateway, --mtu and
                          --mac apply (default: the host's addresses and
                          routes, copied); it ends with the container
      --publish [IP:]HOST:CONTAINER[/tcp|/udp]
                          publish a container port on the host, as docker
                          -p (default: nothing is published)
      --pasta-map-gw      the gateway address reaches the host's loopback
                          (off by default: local-only services stay local)
      --pasta-opt ARG     one more argument for pasta, as given (repeatable)
Output:
      --info-fd FD        write one JSON object (names, indexes, MACs,
                          addresses, namespace inodes) to FD, then close it
  -v, --verbose           trace every step to stderr (CHAIN_TRACE=1 traces
                          every tool of a chain)
  -h, --help              show this help;  -V, --version  show the version

Nothing is left half-done: if a step fails, the pair (and a bridge this run
created) is removed before the error is printed. When the container's
namespace goes, the kernel removes its pair. A veth to the host needs
CAP_NET_ADMIN in the host's namespace; without privileges, use user-mode
networking (--pasta).

Exit status: 125 vethctl failed, 126 PROGRAM cannot be executed, 127
PROGRAM not found; otherwise PROGRAM's status (vethctl does not wait).
"
);

/// The bump arena (chain::arena): a tool allocates for well under a
/// millisecond, then execs.
#[global_allocator]
static ALLOC: chain::arena::Arena = chain::arena::Arena;

fn main() {
    cli::tool(
        PROG,
        HELP,
        env!("CARGO_PKG_VERSION"),
        options::parse,
        |opts| run(*opts),
    )
}

fn run(opts: Options) -> Result<Infallible> {
    if opts.verbose {
        trace::enable();
    }
    // The program is found before anything is created: a typo is 127 and
    // leaves no link behind.
    let program = if opts.argv.is_empty() {
        None
    } else {
        Some(exec::resolve(opts.argv.clone())?)
    };
    // The report fd is taken now (close-on-exec), so that it never reaches
    // the program.
    let info = match opts.info_fd {
        Some(fd) => Some(take_fd(fd)?),
        None => None,
    };

    if opts.pasta {
        return run_pasta(opts, program, info);
    }
    // Refused early, before a helper is forked and before unshare-rs has
    // made anything: the pair needs CAP_NET_ADMIN here.
    require_net_admin()?;
    if let Some(name) = &opts.remove_bridge {
        wire::remove_bridge(name)?;
        cli::exit(0);
    }

    match &opts.target {
        Target::Path(path) => {
            let target = wire::open_netns(path)?;
            let report = wire::wire(&opts, &target)?;
            if let Some(fd) = info {
                write_report(fd, &report)?;
            }
            match program {
                Some(p) => Err(p.exec()),
                None => cli::exit(0),
            }
        }
        Target::Chain => {
            // The helper stays in this network namespace: the pair needs
            // both namespaces, and only from here is the host's reachable
            // once unshare-rs has made the new one.
            // Only the workload needs the network: the chain goes on while
            // the pair is made, and the workload's exec waits for it.
            let helper = outside::late_helper_for_exec(move |pid| {
                let target =
                    wire::open_netns(std::path::Path::new(&format!("/proc/{pid}/ns/net")))?;
                let report = wire::wire(&opts, &target)?;
                if let Some(fd) = info {
                    write_report(fd, &report)?;
                }
                Ok(())
            })?;
            helper.hand_down()?;
            Err(program.map_or_else(|| Error::msg("no program"), Program::exec))
        }
    }
}

/// `--pasta`: the same two ways (a chain, or `--pid`), with pasta in place
/// of the pair.
fn run_pasta(opts: Options, program: Option<Program>, info: Option<OwnedFd>) -> Result<Infallible> {
    // Found before a helper is forked: a missing pasta runs nothing.
    let plan = pasta::Plan::new(&opts)?;
    let start = move |pid| -> Result<()> {
        let report = pasta::start(&plan, pid)?;
        if let Some(fd) = info {
            write_text(fd, &report)?;
        }
        Ok(())
    };
    match opts.pid {
        Some(pid) => {
            start(nix::unistd::Pid::from_raw(pid as i32))?;
            match program {
                Some(p) => Err(p.exec()),
                None => cli::exit(0),
            }
        }
        None => {
            // The helper stays in this network namespace, where pasta's
            // sockets must be, until unshare-rs has made the container's.
            let helper = outside::helper_for_exec(start)?;
            helper.hand_down()?;
            Err(program.map_or_else(|| Error::msg("no program"), Program::exec))
        }
    }
}

fn require_net_admin() -> Result<()> {
    const CAP_NET_ADMIN: u32 = 12;
    let mut header = [0x2008_0522u32, 0]; // _LINUX_CAPABILITY_VERSION_3, this process
    let mut data = [0u32; 6];
    // SAFETY: capget with a v3 header and room for two data structs.
    let ok =
        unsafe { libc::syscall(libc::SYS_capget, header.as_mut_ptr(), data.as_mut_ptr()) } == 0;
    if ok && data[0] & (1 << CAP_NET_ADMIN) == 0 {
        return Err(Error::msg(
            "a veth to the host needs CAP_NET_ADMIN in the host's network namespace, which this process lacks; \
             without privileges use user-mode networking: --pasta (Debian package passt)",
        ));
    }
    Ok(())
}

/// An inherited fd, made close-on-exec and owned.
fn take_fd(fd: i32) -> Result<OwnedFd> {
    sys(
        "fcntl",
        format_args!("{fd} F_SETFD FD_CLOEXEC (--info-fd)"),
        || {
            // SAFETY: only changes the flags of a number the caller named.
            nix::errno::Errno::result(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })
                .map(drop)
        },
    )
    .map_err(|e| e.with_hint("--info-fd names an fd the caller opened, e.g. 3>report.json"))?;
    // SAFETY: the fd is open (fcntl succeeded) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn write_report(fd: OwnedFd, report: &wire::Report) -> Result<()> {
    write_text(fd, &report.to_json())
}

fn write_text(fd: OwnedFd, report: &serde_json::Value) -> Result<()> {
    let mut text = report.to_string();
    text.push('\n');
    sys("write", "--info-fd", || {
        nix::unistd::write(&fd, text.as_bytes()).map(drop)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_mentions_every_option() {
        for opt in [
            "--pid",
            "--netns",
            "--netns-path",
            "--name",
            "--addr",
            "--gateway",
            "--route",
            "--mac",
            "--no-lo",
            "--mtu",
            "--queues",
            "--host-name",
            "--host-addr",
            "--host-mac",
            "--bridge",
            "--bridge-addr",
            "--nat",
            "--remove-bridge",
            "--pasta",
            "--publish",
            "--pasta-map-gw",
            "--pasta-opt",
            "--info-fd",
            "--verbose",
            "--help",
            "--version",
        ] {
            assert!(super::HELP.contains(opt), "{opt} missing from --help");
        }
        assert!(super::HELP.starts_with(usage!()));
    }
}
