//! `--pasta`: user-mode networking for a container whose caller cannot make
//! a veth to the host (no CAP_NET_ADMIN there: the rootless case). pasta
//! (Debian package passt) joins the container's user and network
//! namespaces, puts a tap device there, configures it, and relays the
//! container's traffic through ordinary sockets of the caller's namespace.
//!
//! [`args`] is pure (options in, pasta's argv out). [`start`] runs pasta
//! for one container and leaves a small watcher that ends pasta when the
//! container ends: pasta holds the namespace's tap, which keeps the
//! namespace alive, and this pasta version does not quit by itself when the
//! process it joined exits.

use crate::options::{Options, Publish};
use chain::supervise::{pidfd_open, process_exited};
use chain::{Error, Result, sys, trace};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// pasta, found in PATH before anything else happens, and its arguments
/// (without the target pid).
pub struct Plan {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub name: String,
}

impl Plan {
    pub fn new(o: &Options) -> Result<Plan> {
        // PATH is searched as for any program of the chain; missing is a
        // failure of vethctl (125), not of a program (127).
        let program = chain::exec::resolve(vec!["pasta".into()])
            .map(|p| p.path)
            .map_err(|_| Error::msg("--pasta: pasta is not in PATH (Debian package passt)"))?;
        // SAFETY: geteuid cannot fail.
        let args = args(o, unsafe { libc::geteuid() } == 0);
        let name = container_name(o);
        Ok(Plan {
            program,
            args,
            name,
        })
    }
}

fn container_name(o: &Options) -> String {
    o.container
        .name
        .as_ref()
        .map_or_else(|| "eth0".to_string(), |n| n.to_string())
}

/// pasta's argv for these options, without the target pid.
///
/// Defaults chosen to match a veth container's, not pasta's own:
/// - nothing is forwarded unless published (`-t none -u none`: pasta's
///   default `auto` would expose on the host every port the container
///   listens on), and nothing from the container's loopback to the host's
///   (`-T none -U none`);
/// - `--no-map-gw` unless `--pasta-map-gw`: the gateway address would
///   otherwise reach the host's loopback, where local-only services live;
/// - the interface is named like a veth container end (`eth0`).
pub fn args(o: &Options, root: bool) -> Vec<String> {
    let mut a: Vec<String> = ["--config-net", "--quiet"].map(String::from).into();
    // As root, pasta switches to nobody before it joins the namespaces,
    // and nobody may not open a root-owned process's namespace files.
    if root {
        a.extend(["--runas".into(), "0:0".into()]);
    }
    a.extend(["--ns-ifname".into(), container_name(o)]);
    for cidr in &o.container.addrs {
        a.extend(["--address".into(), cidr.addr.to_string()]);
        if cidr.addr.is_ipv4() {
            a.extend(["--netmask".into(), cidr.prefix.to_string()]);
        }
    }
    for gw in &o.gateways {
        a.extend(["--gateway".into(), gw.to_string()]);
    }
    if let Some(mtu) = o.mtu {
        a.extend(["--mtu".into(), mtu.to_string()]);
    }
    if let Some(mac) = &o.container.mac {
        a.extend(["--ns-mac-addr".into(), mac.to_string()]);
    }
    for (flag, udp) in [("--tcp-ports", false), ("--udp-ports", true)] {
        let specs: Vec<String> = o
            .publish
            .iter()
            .filter(|p| p.udp == udp)
            .map(Publish::pasta_spec)
            .collect();
        if specs.is_empty() {
            a.extend([flag.into(), "none".into()]);
        }
        for spec in specs {
            a.extend([flag.into(), spec]);
        }
    }
    a.extend(["--tcp-ns", "none", "--udp-ns", "none"].map(String::from));
    if !o.pasta_map_gw {
        a.push("--no-map-gw".into());
    }
    a.extend(o.pasta_opts.iter().cloned());
    a
}

/// Starts pasta on the namespaces of `target` and a watcher that ends it
/// when `target` exits. Returns the `--info-fd` report.
pub fn start(plan: &Plan, target: Pid) -> Result<Value> {
    require_own_user_namespace(target)?;
    // Taken while `target` waits for us, so it is that process's.
    let container =
        pidfd_open(target)?.ok_or_else(|| Error::msg("--pasta needs pidfds (Linux 5.3)"))?;
    let pid_file = memfd("pasta.pid")?;
    let mut argv = plan.args.clone();
    // pasta writes its daemon's pid here: /proc/self/fd/N is pasta's own
    // inherited copy of the memfd.
    argv.extend([
        "--pid".into(),
        format!("/proc/self/fd/{}", pid_file.as_raw_fd()),
    ]);
    argv.push(target.to_string());
    trace::note(format_args!(
        "{} {}",
        plan.program.display(),
        argv.join(" ")
    ));
    let begin = std::time::Instant::now();
    let inherited = pid_file.as_raw_fd();
    let mut cmd = Command::new(&plan.program);
    cmd.args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec only fcntl and prctl, async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            // The memfd is close-on-exec here; pasta needs it open.
            if libc::fcntl(inherited, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // A pasta that hangs before it is up dies with this helper,
            // which the chain kills when no answer comes in time. (Its
            // daemon, forked once it is up, does not inherit this.)
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::sys("spawn", plan.program.display(), chain::file::errno_of(e)))?;
    // pasta's foreground process exits once the namespace is configured (its
    // daemon goes on). What it wrote is read after that exit, without
    // waiting for the pipe's end: the daemon need not close its copy.
    let stderr = child.stderr.take();
    let status = child
        .wait()
        .map_err(|e| Error::sys("wait", "pasta", chain::file::errno_of(e)))?;
    let mut messages = String::new();
    if let Some(mut err) = stderr {
        // SAFETY: fcntl on the pipe's read end, which we own.
        unsafe { libc::fcntl(err.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let mut bytes = Vec::new();
        let _ = err.read_to_end(&mut bytes);
        messages = String::from_utf8_lossy(&bytes).into_owned();
    }
    trace::step(
        format_args!(
            "pasta = {status} (configures {} in the namespace)",
            plan.name
        ),
        begin.elapsed(),
    );
    let messages = meaningful(&messages);
    for line in &messages {
        trace::note(format_args!("pasta: {line}"));
    }
    if !status.success() {
        let why = messages.last().map_or("no message", String::as_str);
        return Err(Error::msg(format!("pasta failed ({status}): {why}")));
    }
    let daemon = read_pid(&pid_file)?;
    let pasta =
        pidfd_open(daemon)?.ok_or_else(|| Error::msg("--pasta needs pidfds (Linux 5.3)"))?;
    start_watcher(container, pasta, daemon)?;
    Ok(json!({
        "pasta": { "pid": daemon.as_raw(), "program": plan.program, "args": plan.args },
        "container": { "name": plan.name, "netns": netns_inode(target)? },
    }))
}

/// pasta (this version) joins the target's user namespace, and cannot when
/// that is ours: a root chain without -U should use a veth anyway.
fn require_own_user_namespace(target: Pid) -> Result<()> {
    let ino = |path: &str| {
        sys("stat", path, || nix::sys::stat::stat(Path::new(path))).map(|s| (s.st_dev, s.st_ino))
    };
    if ino("/proc/self/ns/user")? == ino(&format!("/proc/{target}/ns/user"))? {
        return Err(Error::msg(
            "--pasta joins the container's user namespace, and this one has none of its own: give unshare-rs -U (as root, a veth needs no pasta: leave --pasta out)",
        ));
    }
    Ok(())
}

fn netns_inode(target: Pid) -> Result<u64> {
    let path = format!("/proc/{target}/ns/net");
    sys("stat", &path, || nix::sys::stat::stat(Path::new(&path))).map(|s| s.st_ino)
}

/// pasta's stderr without the noise of a system without syslog.
fn meaningful(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Failed to send") && !l.ends_with("to syslog"))
        .map(String::from)
        .collect()
}

fn memfd(name: &str) -> Result<OwnedFd> {
    sys("memfd_create", name, || {
        nix::sys::memfd::memfd_create(name, nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
    })
}

fn read_pid(file: &OwnedFd) -> Result<Pid> {
    // pasta wrote through its own copy: read from the start, by offset.
    let mut bytes = [0u8; 32];
    let n = sys("pread", "pasta's pid file", || {
        nix::sys::uio::pread(file, &mut bytes, 0)
    })?;
    let text = String::from_utf8_lossy(&bytes[..n]);
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(Pid::from_raw(pid)),
        _ => Err(Error::msg(format!(
            "pasta started but wrote no pid to its --pid file ({:?})",
            text.trim()
        ))),
    }
}

/// Forks a process that ends pasta when the container's process exits, so
/// that the namespace (held by pasta's tap) goes with the container. It
/// runs in a session of its own (no terminal signal reaches it), with
/// /dev/null as stdio (a pipe that reads the container's output sees its
/// end with the container's), and is reparented when the helper exits.
fn start_watcher(container: OwnedFd, pasta: OwnedFd, daemon: Pid) -> Result<()> {
    // SAFETY: the tools are single-threaded; the child only makes syscalls.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork", "pasta watcher", e))? {
        nix::unistd::ForkResult::Parent { child } => {
            trace::note(format_args!(
                "fork = watcher {child}: ends pasta {daemon} when the container's process exits"
            ));
            Ok(())
        }
        nix::unistd::ForkResult::Child => {
            watch(container, pasta);
            // SAFETY: the watcher ends here without the helper's destructors.
            unsafe { libc::_exit(0) }
        }
    }
}

fn watch(container: OwnedFd, pasta: OwnedFd) {
    let _ = nix::unistd::setsid();
    // Nothing of the helper's stays open here but the two pidfds: not its
    // stdio, not the --info-fd pipe (whose reader waits for its end), not
    // the chain's socket.
    let (a, b) = {
        let (c, p) = (container.as_raw_fd() as u32, pasta.as_raw_fd() as u32);
        (c.min(p), c.max(p))
    };
    // SAFETY: open/dup2/close_range on fds this process owns; the ranges
    // closed leave out exactly the two pidfds (both above 2).
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        for (first, last) in [(3, a - 1), (a + 1, b - 1), (b + 1, u32::MAX)] {
            if first <= last {
                libc::syscall(libc::SYS_close_range, first, last, 0u32);
            }
        }
    }
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    loop {
        let mut fds = [
            PollFd::new(container.as_fd(), PollFlags::POLLIN),
            PollFd::new(pasta.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) => break,
        }
    }
    if process_exited(&container) && !process_exited(&pasta) {
        // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pasta.as_raw_fd(),
                libc::SIGTERM,
                std::ptr::null::<libc::siginfo_t>(),
                0u32,
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::cli::parse_run;

    fn opts(a: &[&str]) -> Options {
        *parse_run(crate::options::parse, a)
    }

    #[test]
    fn defaults_forward_nothing_and_hide_the_hosts_loopback() {
        let a = args(&opts(&["--pasta", "--", "sh"]), false);
        assert_eq!(
            a.join(" "),
            "--config-net --quiet --ns-ifname eth0 --tcp-ports none --udp-ports none --tcp-ns none --udp-ns none --no-map-gw"
        );
        assert!(
            args(&opts(&["--pasta", "--", "sh"]), true)
                .join(" ")
                .contains("--runas 0:0")
        );
    }

    #[test]
    fn options_become_pastas() {
        let o = opts(&[
            "--pasta",
            "--name",
            "net0",
            "--addr",
            "10.0.2.15/24",
            "--addr",
            "fd00::15/64",
            "--gateway",
            "10.0.2.2",
            "--mtu",
            "1500",
            "--mac",
            "02:00:00:00:00:15",
            "--publish",
            "8080:80",
            "--publish",
            "127.0.0.1:5353:53/udp",
            "--publish",
            "[::1]:2222:22",
            "--pasta-map-gw",
            "--pasta-opt=--no-dhcp",
            "--",
            "sh",
        ]);
        assert_eq!(
            args(&o, false).join(" "),
            "--config-net --quiet --ns-ifname net0 --address 10.0.2.15 --netmask 24 --address fd00::15 \
             --gateway 10.0.2.2 --mtu 1500 --ns-mac-addr 02:00:00:00:00:15 \
             --tcp-ports 8080:80 --tcp-ports ::1/2222:22 --udp-ports 127.0.0.1/5353:53 \
             --tcp-ns none --udp-ns none --no-dhcp"
        );
    }

    #[test]
    fn syslog_noise_is_not_a_message() {
        let err = "Failed to send 46 bytes to syslog\nNo external routable interface for IPv6\n\n";
        assert_eq!(meaningful(err), ["No external routable interface for IPv6"]);
    }
}
