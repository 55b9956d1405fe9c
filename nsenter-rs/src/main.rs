//! nsenter-rs: join the namespaces of a running process (or namespace
//! files), then exec the rest of the argv. See README.md.

mod options;
mod target;

use chain::cli;
use chain::exec::{self, Program};
use chain::ns::{ALL, Kind, flag_names};
use chain::supervise::ChildPidNs;
use chain::{Error, Result, sys, trace};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};
use options::{Dir, Options, PROG};
use std::convert::Infallible;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

macro_rules! usage {
    () => {
        "usage: nsenter-rs [-t PID] [-a | -muinpUCT...] [options] [--] [program [argument...]]"
    };
}

const HELP: &str = concat!(
    usage!(),
    "

Join the namespaces of the running process PID (or namespace files), then
exec PROGRAM ($SHELL, else /bin/sh): `nsenter-rs -t PID -a -- sh` is
docker exec for any container.

  -t, --target PID        the process whose namespaces are joined; the
                          supervising parent of unshare-rs -f is followed to
                          the container's process
  -a, --all               every namespace of PID that differs from this
                          process's own (same device and inode: skipped)
  -m, --mount[=FILE]      mount namespace (of PID, or a namespace file: a
  -u, --uts[=FILE]        /proc/PID/ns/* path, a file persisted by
  -i, --ipc[=FILE]        unshare-rs --net=FILE or ip netns add)
  -n, --net[=FILE]
  -p, --pid[=FILE]        PID namespace: nsenter-rs forks, the child is in it
                          and the parent supervises (signals forwarded,
                          exit status passed on)
  -U, --user[=FILE]       user namespace
  -C, --cgroup[=FILE]     cgroup namespace
  -T, --time[=FILE]       time namespace
  -S, --setuid UID        uid after joining (default 0 in a joined user
                          namespace)
  -G, --setgid GID        gid after joining (default 0 likewise)
      --preserve-credentials
                          keep this process's ids
  -r, --root[=DIR]        root directory: PID's (default when its mount
                          namespace is joined), or DIR
  -w, --wd[=DIR]          working directory: PID's (likewise), or DIR
  -F, --no-fork           do not fork for a PID namespace (PROGRAM's
                          children are in it, PROGRAM is not)
      --join-cgroup       also move into PID's cgroups (v1 and v2)
      --env               take PID's environment
  -v, --verbose           trace every step to stderr (CHAIN_TRACE=1 traces
                          every tool of a chain)
  -h, --help              show this help;  -V, --version  show the version

Exit status: 125 nsenter-rs failed, 126 PROGRAM cannot be executed, 127
PROGRAM not found; otherwise PROGRAM's status (128+N if killed by signal N).
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

/// A namespace to join: its kind, an open namespace file, and whether it
/// is the target's own.
struct Join {
    kind: Kind,
    file: OwnedFd,
    from_target: bool,
}

fn open_ro(path: &str, what: &str) -> Result<OwnedFd> {
    sys("open", format_args!("{path} ({what})"), || {
        open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
    })
}

fn open_dir(path: &str, what: &str) -> Result<OwnedFd> {
    sys("open", format_args!("{path} ({what})"), || {
        open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    })
}

fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    sys("pidfd_open", pid, || {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
        let fd = Errno::result(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
        // SAFETY: the kernel just returned this fd; pidfds are close-on-exec.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    })
}

fn run(opts: Options) -> Result<Infallible> {
    if opts.verbose {
        trace::enable();
    }
    let joins_pid = opts.all || opts.namespaces.contains_key(&Kind::Pid);
    let target = opts
        .target
        .map(|pid| target::resolve(pid, joins_pid))
        .transpose()?;
    // Held while everything is opened: the pid cannot be reused meanwhile.
    let pidfd = target.map(pidfd_open).transpose()?;

    // The namespaces: those asked for, and with -a every one of the
    // target's that differs from ours (re-entering one's own user namespace
    // is refused by the kernel, the others would be no-ops).
    let mut wanted: Vec<(Kind, Option<std::path::PathBuf>)> = opts
        .namespaces
        .iter()
        .map(|(k, f)| (*k, f.clone()))
        .collect();
    if opts.all {
        for kind in ALL {
            if !opts.namespaces.contains_key(&kind) {
                wanted.push((kind, None));
            }
        }
    }
    let mut joins = Vec::new();
    for (kind, file) in wanted {
        let path = match (&file, target) {
            (Some(f), _) => f.to_string_lossy().into_owned(),
            (None, Some(pid)) => format!("/proc/{pid}/ns/{}", kind.proc_name()),
            (None, None) => unreachable!("parse demands -t for namespaces without a file"),
        };
        if target::ns_id(&path).is_some()
            && target::ns_id(&path) == target::ns_id(&format!("/proc/self/ns/{}", kind.proc_name()))
        {
            trace::note(format_args!(
                "{} namespace: already the same as ours, skipped",
                kind.proc_name()
            ));
            continue;
        }
        let file_fd = open_ro(&path, &format!("{} namespace", kind.proc_name())).map_err(|e| {
            e.with_hint_for(|errno| match errno {
                Errno::EACCES | Errno::EPERM => {
                    Some("another user's process: join only your own, or as root".into())
                }
                Errno::ENOENT => Some("no such namespace file".into()),
                _ => None,
            })
        })?;
        joins.push(Join {
            kind,
            file: file_fd,
            from_target: file.is_none(),
        });
    }
    let joins_mount = joins.iter().any(|j| j.kind == Kind::Mount);
    let joins_user = joins.iter().any(|j| j.kind == Kind::User);
    let joins_pid = joins.iter().any(|j| j.kind == Kind::Pid);

    // Root and working directory: opened now, in our own view; the
    // target's by default when its mount namespace is joined.
    let default_dir = if joins_mount && target.is_some() {
        Some(Dir::Target)
    } else {
        None
    };
    let dir_fd = |dir: &Option<Dir>, name: &str| -> Result<Option<OwnedFd>> {
        match dir.clone().or(default_dir.clone()) {
            Some(Dir::Target) => target
                .map(|pid| {
                    open_dir(
                        &format!("/proc/{pid}/{name}"),
                        &format!("the target's {name}"),
                    )
                })
                .transpose(),
            Some(Dir::Path(p)) => open_dir(&p.to_string_lossy(), name).map(Some),
            None => Ok(None),
        }
    };
    let root = dir_fd(&opts.root, "root")?;
    let wd = dir_fd(&opts.wd, "cwd")?;
    // Entering a container's root, a directory, namespace or pidfd the
    // caller left open leads back out (runc exec's CVE-2024-21626): found
    // now, before anything changes, so that one on fd 0-2 changes nothing.
    let leading_out = if root.is_some() {
        chain::inherited::leading_out()?
    } else {
        Vec::new()
    };
    let environment = if opts.env {
        let pid = target.expect("parse demands -t for --env");
        Some(sys("read", format_args!("/proc/{pid}/environ"), || {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        })?)
    } else {
        None
    };
    // Cgroups are moved in the host's view, before any namespace changes it.
    if opts.join_cgroup {
        join_cgroups(target.expect("parse demands -t for --join-cgroup"))?;
    }
    if let Some(fd) = &pidfd
        && chain::supervise::process_exited(fd)
    {
        return Err(Error::msg(format!(
            "process {} ended while nsenter-rs prepared to join it",
            target.unwrap_or(0)
        )));
    }

    setns_all(&joins, pidfd.as_ref())?;
    set_credentials(&opts, joins_user)?;

    // Closed before the root changes: neither the program nor its lookup
    // may use one.
    chain::inherited::close(leading_out)?;
    // Root first, then the working directory inside it.
    if let Some(fd) = &root {
        sys("fchdir", "(new root)", || nix::unistd::fchdir(fd))?;
        sys("chroot", ".", || nix::unistd::chroot("."))?;
    }
    match &wd {
        Some(fd) => sys("fchdir", "(working directory)", || nix::unistd::fchdir(fd))?,
        None if root.is_some() => sys("chdir", "/", || nix::unistd::chdir("/"))?,
        None => {}
    }
    drop((root, wd, pidfd, joins));
    if let Some(env) = environment {
        replace_environment(&env);
    }

    // Looked up inside the joined root.
    let argv = if opts.argv.is_empty() {
        Program::default_shell()
    } else {
        opts.argv
    };
    if joins_pid && !opts.no_fork {
        // setns(CLONE_NEWPID) moves only the children: a child goes in.
        // It only looks the program up and execs, so it borrows this
        // process's memory until then (spawn_supervised).
        let supervisor =
            chain::supervise::spawn_supervised(libc::SIGKILL, None, ChildPidNs::Joined, |_| {
                match exec::resolve(argv) {
                    Ok(program) => program.exec(),
                    Err(e) => e,
                }
            })?;
        cli::exit(supervisor.wait());
    }
    Err(exec::resolve(argv)?.exec())
}

/// Joins with one setns(pidfd, all flags) when every namespace is the
/// target's (atomic; the kernel orders the user namespace), otherwise one
/// setns per file: the user namespace first when entering as its owner
/// (it grants the rights for the rest), last when privileged.
fn setns_all(joins: &[Join], pidfd: Option<&OwnedFd>) -> Result<()> {
    if joins.is_empty() {
        return Ok(());
    }
    let kinds: Vec<Kind> = joins.iter().map(|j| j.kind).collect();
    if let Some(pidfd) = pidfd.filter(|_| joins.iter().all(|j| j.from_target)) {
        let flags = kinds
            .iter()
            .fold(CloneFlags::empty(), |acc, k| acc | k.flag());
        match sys(
            "setns",
            format_args!("pidfd {}", flag_names(&kinds)),
            || nix::sched::setns(pidfd.as_fd(), flags),
        ) {
            Ok(()) => return Ok(()),
            // Older kernels (before 5.8) take no pidfd; a refusal is retried
            // one namespace at a time to name the one that fails.
            Err(e) if matches!(e.errno, Some(Errno::EINVAL | Errno::EPERM)) => {
                trace::note(format_args!("{e}: joining one namespace at a time"))
            }
            Err(e) => return Err(e),
        }
    }
    let privileged = nix::unistd::geteuid().is_root();
    let mut ordered: Vec<&Join> = joins.iter().collect();
    ordered.sort_by_key(|j| (j.kind == Kind::User) == privileged);
    for j in ordered {
        sys("setns", format_args!("{} namespace", j.kind.proc_name()), || nix::sched::setns(j.file.as_fd(), j.kind.flag())).map_err(|e| {
            e.with_hint_for(|errno| match errno {
                Errno::EPERM => Some("joining needs CAP_SYS_ADMIN over the namespace's user namespace: as root, or as its owner with -U".into()),
                Errno::EINVAL => Some(format!("not a {} namespace, or one this process may not join (its own user namespace, a PID namespace that is not a descendant)", j.kind.proc_name())),
                _ => None,
            })
        })?;
    }
    Ok(())
}

/// In a joined user namespace this process has every capability but keeps
/// its ids, which may be unmapped there: become uid/gid 0 (or -S/-G) like
/// util-linux. setgroups is called only where the namespace allows it (it
/// is denied in every namespace mapped with one's own id only).
fn set_credentials(opts: &Options, joined_user: bool) -> Result<()> {
    if opts.preserve_credentials || (!joined_user && opts.uid.is_none() && opts.gid.is_none()) {
        return Ok(());
    }
    let uid = opts.uid.unwrap_or(0);
    let gid = opts.gid.unwrap_or(if opts.uid.is_some() && !joined_user {
        nix::unistd::getgid().as_raw()
    } else {
        0
    });
    let setgroups_allowed =
        std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() == "allow");
    if setgroups_allowed {
        sys("setgroups", "[]", || nix::unistd::setgroups(&[]))?;
    } else {
        trace::note(format_args!(
            "setgroups is denied in this user namespace: supplementary groups left alone"
        ));
    }
    let hint = |e: Error| {
        e.with_hint_for(|errno| (errno == Errno::EINVAL).then(|| "that id is not mapped in the joined user namespace: use -S/-G with a mapped one, or --preserve-credentials".into()))
    };
    let g = Gid::from_raw(gid);
    sys("setresgid", format_args!("{gid}"), || {
        nix::unistd::setresgid(g, g, g)
    })
    .map_err(hint)?;
    let u = Uid::from_raw(uid);
    sys("setresuid", format_args!("{uid}"), || {
        nix::unistd::setresuid(u, u, u)
    })
    .map_err(hint)
}

/// Moves this process into the target's cgroup in every hierarchy
/// (within the delegation rules: the caller must be allowed to write them).
fn join_cgroups(pid: i32) -> Result<()> {
    let mountinfo = chain::file::read(std::path::Path::new("/proc/self/mountinfo"))?;
    let theirs = chain::file::read(std::path::Path::new(&format!("/proc/{pid}/cgroup")))?;
    let layout = chain::cgroup::Layout::parse(&mountinfo, &theirs);
    let unified = layout.unified.iter().map(|h| (h, false));
    for (h, v1) in unified.chain(layout.v1.iter().map(|h| (h, true))) {
        let Some(dir) = h.own_dir() else { continue };
        chain::cgroup::move_self(&dir, v1).map_err(|e| {
            e.with_hint_for(|errno| {
                matches!(errno, Errno::EACCES | Errno::EPERM)
                    .then(|| "the target's cgroup is not delegated to this user".into())
            })
        })?;
    }
    Ok(())
}

/// The target's environment (NUL-separated NAME=VALUE) replaces ours.
fn replace_environment(env: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let entries: Vec<(&std::ffi::OsStr, &std::ffi::OsStr)> = env
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let eq = entry.iter().position(|b| *b == b'=')?;
            (eq > 0).then(|| {
                (
                    std::ffi::OsStr::from_bytes(&entry[..eq]),
                    std::ffi::OsStr::from_bytes(&entry[eq + 1..]),
                )
            })
        })
        .collect();
    // SAFETY: nsenter-rs is single-threaded; the names hold no '=' and
    // nothing holds a NUL (both were split off).
    unsafe { chain::exec::replace_env(&entries) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_mentions_every_option() {
        for opt in [
            "--target",
            "--all",
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--user",
            "--cgroup",
            "--time",
            "--setuid",
            "--setgid",
            "--preserve-credentials",
            "--root",
            "--wd",
            "--no-fork",
            "--join-cgroup",
            "--env",
            "--verbose",
            "--help",
            "--version",
        ] {
            assert!(super::HELP.contains(opt), "{opt} missing from --help");
        }
        assert!(super::HELP.starts_with(usage!()));
    }
}
