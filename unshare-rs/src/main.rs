//! unshare-rs: create namespaces with one unshare(2), then exec the rest of
//! the argv. See README.md for the full description.

mod gate;
mod hints;
mod options;
mod persist;
mod report;

use chain::cli;
use chain::exec::{self, Program};
use chain::ns::{Kind, flag_names};
use chain::supervise::{ChildPidNs, Forked, fork_supervised};
use chain::{Result, outside, sys, trace};
use nix::mount::{MsFlags, mount};
use nix::unistd::getpid;
use options::{Options, PROG, Propagation, SetGroups};
use std::convert::Infallible;
use std::path::Path;

macro_rules! usage {
    () => {
        "usage: unshare-rs [options] [--] [program [argument...]]"
    };
}

const HELP: &str = concat!(
    usage!(),
    "

Create new namespaces with one unshare(2), then exec PROGRAM ($SHELL or
/bin/sh when none is given). With --FLAG=FILE the namespace is persisted by
bind-mounting it onto FILE (created if missing).

Namespaces:
  -m, --mount[=FILE]      mount namespace (/ is made private, see --propagation)
  -u, --uts[=FILE]        UTS namespace (hostname, domain name)
  -i, --ipc[=FILE]        System V IPC and POSIX message queue namespace
  -n, --net[=FILE]        network namespace (it has only lo, and lo is down)
  -p, --pid[=FILE]        PID namespace; forks even without -f, because a PID
                          namespace only applies to children
  -U, --user[=FILE]       user namespace (ids unmapped: 65534 until a map is
                          written, e.g. by mapids placed before unshare-rs)
  -C, --cgroup[=FILE]     cgroup namespace (its root is the current cgroup)
  -T, --time[=FILE]       time namespace (see --monotonic, --boottime)

Process:
  -f, --fork              fork; the parent supervises: it forwards signals,
                          and exits with the child's status (128+N if killed
                          by signal N)
      --init              run a minimal init as PID 1 that reaps zombies,
                          forwards signals to PROGRAM and exits with its status
      --kill-child[=SIG]  signal the child gets if unshare-rs dies (default,
                          and default SIG: KILL); the container never outlives it
      --mount-proc[=DIR]  mount a fresh proc on DIR (default /proc) in the
                          child, nosuid,nodev,noexec; implies -m
      --propagation MODE  private (default), slave, shared or unchanged:
                          what happens to / of the new mount namespace
      --hostname NAME     set the hostname in the new UTS namespace; implies -u
      --domainname NAME   set the NIS domain name likewise; implies -u
      --setgroups allow|deny
                          allow or deny setgroups(2) in the new user namespace
      --monotonic SECS    offset of CLOCK_MONOTONIC in the new time namespace
      --boottime SECS     offset of CLOCK_BOOTTIME (and uptime); both imply -T

Reporting:
      --pid-file FILE     write the pid of the process in the namespaces (the
                          child when forking), as seen from outside
      --info-fd FD        write JSON to FD: {\"child-pid\": N, \"net-namespace\":
                          ID, ...}, then close it
  -v, --verbose           trace every step to stderr (CHAIN_TRACE=1 traces
                          every tool of a chain)
  -h, --help              show this help;  -V, --version  show the version

A supervised PID 1 that has no handler for a terminating signal (TERM, INT,
HUP, ...) would ignore it; unshare-rs then kills it, as the signal's default
action would, and exits with 128+that signal.

Exit status: 125 unshare-rs failed, 126 PROGRAM cannot be executed, 127
PROGRAM not found; otherwise PROGRAM's status.
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
    let kinds = opts.kinds();

    // Find the program first: a typo then fails with 127 before anything changed.
    let argv = if opts.argv.is_empty() {
        Program::default_shell()
    } else {
        opts.argv.clone()
    };
    let program = exec::resolve(argv)?;

    // Opened now, with the caller's credentials: in a new user namespace
    // without maps, files can no longer be created on the host's filesystems.
    let pid_file = opts
        .pid_file
        .as_deref()
        .map(report::open_pid_file)
        .transpose()?;
    let info_fd = opts.info_fd.map(report::claim_info_fd).transpose()?;

    // Persisting must happen from the original mount namespace and with the
    // original credentials, so its helper is forked before unshare(2).
    let persisted = opts.persisted();
    let persister = if persisted.is_empty() {
        None
    } else {
        Some(outside::fork_helper(move |pid| {
            persist::bind_all(pid, &persisted)
        })?)
    };

    // One unshare(2) for all namespaces; with CLONE_NEWUSER the kernel creates
    // the user namespace first and makes it own the others.
    let flags = kinds
        .iter()
        .fold(nix::sched::CloneFlags::empty(), |acc, k| acc | k.flag());
    sys("unshare", flag_names(&kinds), || nix::sched::unshare(flags))
        .map_err(|e| e.with_hint_for(|errno| hints::for_unshare(errno, &kinds)))?;

    // setgroups must be decided before anyone writes the gid map (the helpers
    // below may), and can be changed only until then.
    if let Some(setgroups) = opts.setgroups {
        let word: &[u8] = if setgroups == SetGroups::Deny {
            b"deny"
        } else {
            b"allow"
        };
        chain::file::write(Path::new("/proc/self/setgroups"), word)?;
    }

    // Clock offsets can be set only before a process enters the time
    // namespace, which happens at the next fork or exec.
    if opts.monotonic.is_some() || opts.boottime.is_some() {
        let mut offsets = String::new();
        for (clock, offset) in [("monotonic", opts.monotonic), ("boottime", opts.boottime)] {
            if let Some(o) = offset {
                offsets += &format!("{clock} {} {}\n", o.secs, o.nanos);
            }
        }
        chain::file::write(Path::new("/proc/self/timens_offsets"), offsets.as_bytes())?;
    }

    // Steps placed before us in the chain (mapids, vethctl) act on the new
    // namespaces from outside now, before anything here needs their work
    // (a uid mapped to 0 keeps its capabilities across exec).
    // Maps of one's own ids that the chain asked this process to write itself
    // (mapids --root): the creator of the user namespace may.
    outside::apply_self_writes(opts.has(Kind::User))?;
    // A supervisor to come reaps the helpers in its wait loop; otherwise
    // they are reaped before the exec.
    let reap = if opts.forks() {
        outside::Reap::ByLaterWait
    } else {
        outside::Reap::Now
    };
    outside::serve_waiting_helpers(getpid(), reap)?;

    // Unless asked otherwise, mounts made from here on must not propagate to
    // the host (util-linux's default: private).
    if opts.has(Kind::Mount) {
        set_propagation(opts.propagation)?;
    }

    if let Some(name) = &opts.hostname {
        sys("sethostname", name, || nix::unistd::sethostname(name))?;
    }
    if let Some(name) = &opts.domainname {
        sys("setdomainname", name, || {
            // SAFETY: pointer and length of a live string.
            nix::errno::Errno::result(unsafe {
                libc::setdomainname(name.as_ptr().cast(), name.len())
            })
            .map(drop)
        })?;
    }

    if opts.forks() {
        trace::note(format_args!(
            "forking: {}",
            if opts.has(Kind::Pid) {
                "a PID namespace applies to children only"
            } else {
                "asked to"
            }
        ));
        // Opened before the fork: the child may mount a new proc over /proc.
        let ns_dir = info_fd
            .as_ref()
            .map(|_| report::NsDir::open())
            .transpose()?;
        // The common case: a child that only mounts proc (if asked) and
        // execs, spawned without a copy of this process's memory.
        if persister.is_none() && !opts.init {
            return spawn_workload(&opts, program, pid_file, info_fd, ns_dir);
        }
        // When namespaces are persisted, the child waits at this gate until
        // the files are bound, so the workload can rely on them.
        let gate = persister.is_some().then(gate::Gate::new).transpose()?;
        match fork_supervised(opts.kill_child)? {
            Forked::Parent(mut supervisor) => {
                supervisor.pid1 = opts.has(Kind::Pid);
                let child = supervisor.child;
                // A new PID namespace can be bound or named only now that
                // its first process exists.
                let announced =
                    persist_and_report(persister, pid_file, info_fd, child, ns_dir.as_ref());
                match (announced, gate) {
                    (Ok(()), Some(gate)) => gate.open()?,
                    (Ok(()), None) => {}
                    (Err(e), gate) => {
                        // The child, still at the gate, sees it close and
                        // exits; without a gate it is killed.
                        if gate.is_none() {
                            let _ = chain::supervise::send(child, libc::SIGKILL);
                        }
                        drop(gate);
                        supervisor.wait();
                        return Err(e);
                    }
                }
                cli::exit(supervisor.wait());
            }
            Forked::Child => {
                drop((pid_file, info_fd, persister, ns_dir));
                if let Some(gate) = gate {
                    gate.pass()?;
                }
            }
        }
    } else {
        let ns_dir = info_fd
            .as_ref()
            .map(|_| report::NsDir::open())
            .transpose()?;
        persist_and_report(persister, pid_file, info_fd, getpid(), ns_dir.as_ref())?;
    }

    // proc shows the PID namespace of the process that mounts it: only the
    // child, already inside the new namespace, can mount the right one.
    if let Some(dir) = &opts.mount_proc {
        mount_proc(dir, opts.propagation)?;
    }

    if opts.init {
        return run_init(program);
    }
    Err(program.exec())
}

/// The forking case without a gate or an init: the child is
/// chain::supervise::spawn_supervised's clone, which borrows this
/// process's memory until its exec (no page-table copy, nothing to tear
/// down at the exec). Why not always: with persisted namespaces the child
/// waits at a gate while this process binds them, and a borrowing child's
/// parent cannot run until the exec; --init never execs. (A new time
/// namespace is no reason: the kernel leaves a CLONE_VM child in the old
/// one, whose clock page its memory shares, and moves it at its exec.) The
/// pid file and the info JSON are written once the workload runs, as after
/// a fork without a gate.
fn spawn_workload(
    opts: &Options,
    program: Program,
    pid_file: Option<std::os::fd::OwnedFd>,
    info_fd: Option<std::os::fd::OwnedFd>,
    ns_dir: Option<report::NsDir>,
) -> Result<Infallible> {
    let pid_ns = if opts.has(Kind::Pid) {
        ChildPidNs::NewPid1
    } else {
        ChildPidNs::Own
    };
    let supervisor = chain::supervise::spawn_supervised(opts.kill_child, None, pid_ns, |_| {
        // proc shows the PID namespace of the process that mounts it:
        // only the child, already inside the new namespace, can mount
        // the right one.
        if let Some(dir) = &opts.mount_proc
            && let Err(e) = mount_proc(dir, opts.propagation)
        {
            return e;
        }
        program.exec()
    })?;
    let child = supervisor.child;
    if let Err(e) = persist_and_report(None, pid_file, info_fd, child, ns_dir.as_ref()) {
        let _ = chain::supervise::send(child, libc::SIGKILL);
        supervisor.wait();
        return Err(e);
    }
    cli::exit(supervisor.wait())
}

/// Binds the persisted namespaces (from the helper outside), then writes
/// the pid file and the info JSON: the last steps that can fail before the
/// workload starts, so a failure above leaves no bound file behind.
fn persist_and_report(
    persister: Option<outside::Helper>,
    pid_file: Option<std::os::fd::OwnedFd>,
    info_fd: Option<std::os::fd::OwnedFd>,
    workload: nix::unistd::Pid,
    ns_dir: Option<&report::NsDir>,
) -> Result<()> {
    if let Some(helper) = persister {
        helper.run(getpid(), outside::Reap::Now)?;
    }
    let ids = ns_dir.map(report::NsDir::ids).unwrap_or_default();
    report::write(pid_file, info_fd, workload, &ids)
}

fn set_propagation(mode: Propagation) -> Result<()> {
    let (flag, name) = match mode {
        Propagation::Private => (MsFlags::MS_PRIVATE, "MS_PRIVATE"),
        Propagation::Slave => (MsFlags::MS_SLAVE, "MS_SLAVE"),
        Propagation::Shared => (MsFlags::MS_SHARED, "MS_SHARED"),
        Propagation::Unchanged => return Ok(()),
    };
    sys("mount", format_args!("/ {name}|MS_REC"), || {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            flag | MsFlags::MS_REC,
            None::<&str>,
        )
    })
}

fn mount_proc(dir: &Path, propagation: Propagation) -> Result<()> {
    // The new proc must not propagate onto the host's /proc: make its mount
    // point private first (a shared / was kept with --propagation).
    let private = sys(
        "mount",
        format_args!("{} MS_PRIVATE|MS_REC", dir.display()),
        || {
            mount(
                None::<&str>,
                dir,
                None::<&str>,
                MsFlags::MS_PRIVATE | MsFlags::MS_REC,
                None::<&str>,
            )
        },
    );
    match private {
        Ok(()) => {}
        // Not a mount point: the proc mount then takes the propagation of the
        // mount it lands on, which is safe when / was made private or slave.
        Err(e)
            if e.errno == Some(nix::errno::Errno::EINVAL)
                && matches!(propagation, Propagation::Private | Propagation::Slave) => {}
        Err(e) => return Err(e),
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys("mount", format_args!("proc on {} nosuid,nodev,noexec", dir.display()), || {
        mount(Some("proc"), dir, Some("proc"), flags, None::<&str>)
    })
    .map_err(|e| {
        e.with_hint_for(|errno| {
            (errno == nix::errno::Errno::EPERM).then(|| {
                "a fresh proc needs CAP_SYS_ADMIN over the PID namespace: add -p, and -U when not root; \
                 it is also refused when the host's /proc has parts hidden by mounts on top"
                    .to_string()
            })
        })
    })
}

/// --init: this process is PID 1. It forks the program and stays as a
/// minimal init: it forwards signals to the program, reaps every orphan
/// that the kernel re-parents to it, and exits with the program's status.
fn run_init(program: Program) -> Result<Infallible> {
    match fork_supervised(libc::SIGKILL)? {
        Forked::Child => Err(program.exec()),
        Forked::Parent(supervisor) => cli::exit(supervisor.wait()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_mentions_every_option() {
        for opt in [
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--user",
            "--cgroup",
            "--time",
            "--fork",
            "--init",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "--hostname",
            "--domainname",
            "--setgroups",
            "--monotonic",
            "--boottime",
            "--pid-file",
            "--info-fd",
            "--verbose",
            "--help",
            "--version",
        ] {
            assert!(super::HELP.contains(opt), "{opt} missing from --help");
        }
        assert!(super::HELP.contains("forks even without -f"));
        assert!(super::HELP.starts_with(usage!()));
    }
}
