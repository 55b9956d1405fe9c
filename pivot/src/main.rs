//! pivot: make a directory the container's root with pivot_root(2), with
//! /proc, /sys and /dev set up below it, then exec the rest of the argv.
//! See README.md for the full description.

mod hostcheck;
mod inroot;
mod masks;
mod options;
mod overlay;
mod readonly;
mod special;

use chain::cli;
use chain::exec::{self, Program};
use chain::{Result, shown, sys, trace};
use inroot::{Kind, Root, fd_path, mount_on};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use options::{Extra, Options, PROG, Propagation};
use readonly::ReadOnly;
use std::convert::Infallible;
use std::path::Path;

macro_rules! usage {
    () => {
        "usage: pivot NEWROOT [options] [--] [program [argument...]]"
    };
}

const HELP: &str = concat!(
    usage!(),
    "

Make the directory NEWROOT the root of this mount namespace with
pivot_root(2), set up /proc, /sys and /dev below it, then exec PROGRAM
inside it ($SHELL if the image has it, else /bin/sh). Run it in a new mount
namespace: unshare-rs -fpnumi -- pivot ./rootfs -- sh

File systems (all on by default):
      --no-proc           no /proc (default: a fresh proc, or a bind of the
                          host's when a fresh one is refused)
      --no-sys            no /sys (default: a fresh read-only sysfs, or a
                          read-only bind of the host's)
      --no-dev            no /dev (default: a tmpfs with null, zero, full,
                          random, urandom, tty, pts, ptmx, shm, mqueue, fd,
                          stdin, stdout, stderr)
      --no-mask           do not mask the OCI masked paths (/proc/kcore,
                          /proc/keys, /sys/firmware, ...) nor make the OCI
                          read-only paths (/proc/sys, ...) read-only
      --mask PATH         also mask PATH (a file gets /dev/null, a directory
                          an empty read-only tmpfs)

Root:
      --ro                make the new root read-only (last, after the mounts)
      --overlay LOWER[:LOWER...]
                          the new root is an overlay of these read-only layers
                          (topmost first); writes go to a tmpfs, or to
      --upper DIR --work DIR
                          (two directories on one file system)
      --bind SRC[:DST]    bind-mount the host's SRC on DST inside the new root
      --ro-bind SRC[:DST] the same, read-only (recursively)
      --tmpfs DST         mount an empty tmpfs on DST
      --mkdir DIR         create DIR inside the new root
      --symlink TARGET:LINK
                          create the symlink LINK -> TARGET inside the new root
      --propagation MODE  slave (default), private or unchanged: what / is
                          made first, so that mounts below do not reach the host
      --no-pivot          for an initramfs, where / is not a mount point: move
                          the new root over / and chroot, like switch_root
      --wd DIR            working directory inside the new root (default /)
      --close-fds         close every inherited fd above 2 at exec
      --no-carry          look mapids and seccompctl up in the image like any
                          program (default: the next chain steps named
                          mapids or seccompctl come from the host's PATH, as
                          sealed in-memory copies the container cannot write)
  -v, --verbose           trace every step to stderr (CHAIN_TRACE=1 traces
                          every tool of a chain); also names the inherited
                          directory fds pivot closes (they lead outside the
                          new root)
  -h, --help              show this help;  -V, --version  show the version

Every path inside NEWROOT is resolved inside it: a symlink in the image never
leads a mount outside, and a symlink at a mount target is refused. --wd never
passes a /proc magic link; inherited directory fds are closed (on 0-2:
refused).

Exit status: 125 pivot failed, 126 PROGRAM cannot be executed, 127 PROGRAM
not found; otherwise PROGRAM's exit status (pivot does not fork).
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
    let new_root = opts.new_root.as_path();

    // pivot_root moves every process of the mount namespace whose root is /:
    // in the host's initial one that is the whole system.
    hostcheck::refuse_initial_mount_ns()?;

    // A directory, namespace or pidfd the caller left open leads out of any
    // root: found now, before anything is changed, so that one on fd 0-2
    // changes nothing.
    let leading_out = chain::inherited::leading_out()?;

    // The chain steps after the pivot come from the host (the image need
    // not have them), as sealed copies: found now, while the host's PATH
    // and files are still reachable.
    let carried = if opts.carry {
        carry_steps(&opts.argv)?
    } else {
        Vec::new()
    };

    // Nothing mounted from here on may propagate back to the host.
    set_propagation(opts.propagation)?;

    // pivot_root needs the new root to be a mount point of its own.
    if opts.overlay.is_empty() {
        sys(
            "mount",
            format_args!("{} on itself MS_BIND|MS_REC", shown::path(new_root)),
            || {
                mount(
                    Some(new_root),
                    new_root,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
            },
        )?;
    } else {
        let upper_work = opts.upper.as_deref().zip(opts.work.as_deref());
        overlay::mount_root(new_root, &opts.overlay, upper_work)?;
    }
    let root = Root::open(new_root)?;

    let mut read_only: Vec<ReadOnly> = Vec::new();
    if opts.proc {
        special::proc(&root)?;
    }
    if opts.sys {
        read_only.extend(special::sys(&root)?);
    }
    if opts.dev {
        special::dev(&root)?;
    }
    for extra in &opts.extras {
        read_only.extend(apply_extra(&root, extra)?);
    }
    if opts.mask {
        for path in masks::applicable(masks::MASKED, opts.proc, opts.sys) {
            mask(&root, Path::new(path))?;
        }
        for path in masks::applicable(masks::READ_ONLY, opts.proc, opts.sys) {
            read_only.extend(bind_in_place(&root, Path::new(path))?);
        }
    }
    for path in &opts.extra_masks {
        mask(&root, path)?;
    }
    if opts.read_only {
        // Last in the list: the mounts below / stay as they are.
        read_only.push(ReadOnly {
            fd: root.open_path(Path::new("/"))?,
            shown: root.show(Path::new("/")),
            recursive: false,
        });
    }
    // Closed before the pivot: neither --wd nor the program's lookup (through
    // a symlink of the image to /proc/self/fd/N) nor the program may use one.
    chain::inherited::close(leading_out)?;

    if opts.no_pivot {
        move_root(&root)?;
    } else {
        pivot(&root)?;
    }
    // Resolved inside the new root, never through a magic link: a
    // /proc/self/fd/N would be the host's directory (CVE-2024-21626).
    let wd = root.open_workdir(&opts.wd)?;
    sys("fchdir", root.show(&opts.wd), || nix::unistd::fchdir(&wd))?;

    // Read-only last: creating mount points above needed a writable image.
    for target in &read_only {
        readonly::apply(target)?;
    }

    if opts.close_fds {
        // Marked close-on-exec rather than closed: our own fds are too.
        sys(
            "close_range",
            "3..~0 CLOSE_RANGE_CLOEXEC (--close-fds)",
            || {
                // SAFETY: close_range only changes fd flags here.
                Errno::result(unsafe {
                    libc::syscall(
                        libc::SYS_close_range,
                        3u32,
                        u32::MAX,
                        libc::CLOSE_RANGE_CLOEXEC,
                    )
                })
                .map(drop)
            },
        )?;
        // The chain's own fds (a late helper's socket and pidfd) go on to
        // the next step, which closes them before the workload runs.
        for fd in chain::handed::fds() {
            chain::outside::keep_across_exec(fd, "the chain's own fd")?;
        }
    }
    if !carried.is_empty() {
        chain::carry::hand_down(carried)?;
    }
    // The program is looked up inside the new root (a carried step is
    // taken from its sealed copy).
    let program = if opts.argv.is_empty() {
        exec::resolve(Program::default_shell())
            .or_else(|_| exec::resolve(vec!["/bin/sh".into()]))?
    } else {
        exec::resolve(opts.argv)?
    };
    Err(program.exec())
}

/// Sealed copies of the carried chain steps in `argv`: its program and
/// every word right after a `--` (the next steps' programs), when the host
/// has them.
fn carry_steps(argv: &[std::ffi::OsString]) -> Result<Vec<(&'static str, std::os::fd::OwnedFd)>> {
    let mut out: Vec<(&'static str, std::os::fd::OwnedFd)> = Vec::new();
    let programs = argv
        .iter()
        .enumerate()
        .filter(|&(i, _)| i == 0 || argv[i - 1] == "--");
    for (_, word) in programs {
        let Some(name) = chain::carry::is_carried_name(word) else {
            continue;
        };
        if out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        match exec::resolve(vec![word.clone()]) {
            Ok(found) => out.push((name, chain::carry::seal(&found.path, name)?)),
            Err(_) => trace::note(format_args!(
                "{} is not on the host's PATH: it is looked up in the image",
                word.to_string_lossy()
            )),
        }
    }
    Ok(out)
}

fn set_propagation(mode: Propagation) -> Result<()> {
    let (flag, name) = match mode {
        Propagation::Slave => (MsFlags::MS_SLAVE, "MS_SLAVE"),
        Propagation::Private => (MsFlags::MS_PRIVATE, "MS_PRIVATE"),
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

/// `--bind`, `--ro-bind`, `--tmpfs`, `--mkdir`, `--symlink`. Returns the
/// mount to make read-only later, for `--ro-bind`.
fn apply_extra(root: &Root, extra: &Extra) -> Result<Option<ReadOnly>> {
    match extra {
        Extra::Bind {
            src,
            dst,
            read_only,
        } => {
            let source = sys(
                "open",
                format_args!("{} (bind source)", shown::path(src)),
                || {
                    open(
                        src.as_path(),
                        OFlag::O_PATH | OFlag::O_CLOEXEC,
                        Mode::empty(),
                    )
                },
            )?;
            let kind = if inroot::is_dir(&source) {
                Kind::Dir
            } else {
                Kind::File
            };
            let target = root.mount_point(dst, kind)?;
            let shown = root.show(dst);
            mount_on(
                Some(&fd_path(&source)),
                &target,
                &shown,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
            .map_err(|e| e.with_hint_for(|errno| bind_hint(errno, src)))?;
            if !read_only {
                return Ok(None);
            }
            Ok(Some(ReadOnly {
                fd: root.open_path(dst)?,
                shown,
                recursive: true,
            }))
        }
        Extra::Tmpfs(dst) => {
            let target = root.mount_point(dst, Kind::Dir)?;
            mount_on(
                Some("tmpfs"),
                &target,
                &root.show(dst),
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some("mode=755"),
            )?;
            Ok(None)
        }
        Extra::Mkdir(dir) => root.mkdir_p(dir).map(|()| None),
        Extra::Symlink { target, link } => root.symlink(target, link).map(|()| None),
    }
}

/// Covers a file with /dev/null, a directory with an empty read-only tmpfs.
/// A path this kernel does not have is skipped.
fn mask(root: &Root, path: &Path) -> Result<()> {
    let target = match root.open_path(path) {
        Ok(fd) => fd,
        Err(e) if e.errno == Some(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    let shown = root.show(path);
    if inroot::is_dir(&target) {
        let flags =
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount_on(
            Some("tmpfs"),
            &target,
            &shown,
            Some("tmpfs"),
            flags,
            Some("size=0,nr_inodes=1"),
        )
    } else {
        let target = root.mount_point(path, Kind::File)?;
        mount_on(
            Some("/dev/null"),
            &target,
            &shown,
            None,
            MsFlags::MS_BIND,
            None,
        )
    }
}

/// Binds a path onto itself so it can be made read-only on its own.
fn bind_in_place(root: &Root, path: &Path) -> Result<Option<ReadOnly>> {
    let target = match root.open_path(path) {
        Ok(fd) => fd,
        Err(e) if e.errno == Some(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    let shown = root.show(path);
    mount_on(
        Some(&fd_path(&target)),
        &target,
        &shown,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;
    Ok(Some(ReadOnly {
        fd: root.open_path(path)?,
        shown,
        recursive: true,
    }))
}

/// pivot_root(".", "."): the new root goes to /, the old root is stacked on
/// top of it and detached, so nothing of the host stays reachable.
fn pivot(root: &Root) -> Result<()> {
    let new_root = root.open_path(Path::new("/"))?;
    sys("fchdir", root.show(Path::new("/")), || {
        nix::unistd::fchdir(&new_root)
    })?;
    sys("pivot_root", ". .", || nix::unistd::pivot_root(".", "."))
        .map_err(|e| e.with_hint_for(pivot_hint))?;
    // The old root, now on top at ".", must not pass its unmount on to the
    // host's mounts (with --propagation unchanged they may still be peers).
    sys("mount", ". (old root) MS_SLAVE|MS_REC", || {
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
    })?;
    sys("umount2", ". (old root) MNT_DETACH", || {
        umount2(".", MntFlags::MNT_DETACH)
    })
}

fn pivot_hint(errno: Errno) -> Option<String> {
    match errno {
        Errno::EINVAL => Some(
            "the current root is not a mount point, as in an initramfs (use --no-pivot), \
             or a mount above the new root is shared (keep the default --propagation slave)"
                .into(),
        ),
        Errno::EBUSY => Some("the new root is on the same mount as the current root".into()),
        Errno::EPERM => Some("pivot_root needs CAP_SYS_ADMIN in this mount namespace: run under unshare-rs -m (and -U when not root)".into()),
        _ => None,
    }
}

/// --no-pivot (switch_root's way, for an initramfs): move the new root over
/// / and chroot into it.
fn move_root(root: &Root) -> Result<()> {
    let new_root = root.open_path(Path::new("/"))?;
    sys("fchdir", root.show(Path::new("/")), || {
        nix::unistd::fchdir(&new_root)
    })?;
    sys("mount", ". on / MS_MOVE", || {
        mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
    })?;
    sys("chroot", ".", || nix::unistd::chroot("."))
}

/// What EINVAL means for a bind.
fn bind_hint(errno: Errno, src: &Path) -> Option<String> {
    (errno == Errno::EINVAL).then(|| {
        format!(
            "{} is on a mount of another mount namespace (a /proc/self/fd/N opened before unshare-rs -m), \
             which the kernel does not bind: name the path instead",
            shown::path(src)
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_mentions_every_option() {
        for opt in [
            "--no-proc",
            "--no-sys",
            "--no-dev",
            "--no-mask",
            "--mask",
            "--ro",
            "--overlay",
            "--upper",
            "--work",
            "--bind",
            "--ro-bind",
            "--tmpfs",
            "--mkdir",
            "--symlink",
            "--propagation",
            "--no-pivot",
            "--wd",
            "--close-fds",
            "--no-carry",
            "--verbose",
            "--help",
            "--version",
        ] {
            assert!(super::HELP.contains(opt), "{opt} missing from --help");
        }
        assert!(super::HELP.starts_with(usage!()));
    }
}
