//! Inherited fds that lead out of a container, for the steps that give a
//! process a new root: pivot (before the pivot) and nsenter-rs (before its
//! chroot into a joined container). The caller may leave fds open (without
//! close-on-exec); three kinds are ways out, whatever the caller meant:
//!
//! - A **directory**, even one that names a directory of the image: it was
//!   opened on a mount outside the new root (the new root is pivot's own
//!   bind; nsenter-rs's caller is on the host), and `..` from it walks up
//!   the host's tree. Through
//!   `/proc/self/fd/N` it is a way out for the program (runc's
//!   CVE-2024-21626), for a `--wd` and for a symlink of the image.
//! - A **namespace** (`/proc/PID/ns/*`, nsfs): `setns(2)` on it moves the
//!   program into the caller's mount, pid or network namespace, past every
//!   mount made here.
//! - A **pidfd**: `setns(2)` takes one too (Linux 5.8, every namespace of
//!   that process at once), and `pidfd_send_signal(2)` signals a host
//!   process with the same uid without CAP_KILL.
//!
//! Both close them all before the root changes (but the chain's own, named
//! in its variables: see [`crate::handed`]); on fd 0, 1 or 2 they refuse
//! instead (closing one would hand the number to the next file opened).
//! Other inherited fds (pipes, files, sockets) are the caller's business and
//! pass, as everywhere in the chain (pivot's `--close-fds` keeps them away
//! too).

use crate::{Error, Result, shown, sys, trace};
use nix::sys::stat::{SFlag, fstat};
use std::os::fd::{BorrowedFd, RawFd};
use std::path::Path;

/// What makes an inherited fd a way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Directory,
    Namespace,
    Pidfd,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Directory => "the directory",
            Kind::Namespace => "the namespace",
            Kind::Pidfd => "the pidfd",
        }
    }

    fn how(self) -> &'static str {
        match self {
            Kind::Directory => "the program could leave the new root through it",
            Kind::Namespace => "the program could join it with setns",
            Kind::Pidfd => "the program could join that process's namespaces or signal it",
        }
    }
}

/// An inherited fd that leads out, and what it shows in /proc/self/fd.
pub struct Inherited {
    fd: RawFd,
    kind: Kind,
    target: String,
}

const STDIO: [&str; 3] = ["stdin", "stdout", "stderr"];

/// nsfs, the file system of /proc/PID/ns/* (linux/magic.h NSFS_MAGIC).
const NSFS_MAGIC: i64 = 0x6e73_6673;
/// pidfs (Linux 6.9); older kernels make pidfds anon inodes, told apart by
/// their /proc/self/fd link.
const PIDFS_MAGIC: i64 = 0x5049_4446;
const PIDFD_LINK: &str = "anon_inode:[pidfd]";

/// Sorts an fd from what fstat, fstatfs and its /proc/self/fd link say.
/// Pure: the caller gathers the three.
pub fn classify(mode: u32, fs_type: i64, link: &str) -> Option<Kind> {
    if SFlag::from_bits_truncate(mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
        Some(Kind::Directory)
    } else if fs_type == NSFS_MAGIC {
        Some(Kind::Namespace)
    } else if fs_type == PIDFS_MAGIC || link == PIDFD_LINK {
        Some(Kind::Pidfd)
    } else {
        None
    }
}

/// The inherited fds above 2 that lead out; an error if 0, 1 or 2 is one.
pub fn leading_out() -> Result<Vec<Inherited>> {
    // Numbers first, then the checks: the listing's own fd is one of them
    // only while it is open (and it is close-on-exec, so it is skipped).
    let entries = sys("open", "/proc/self/fd", || {
        crate::file::names(Path::new("/proc/self/fd")).map_err(crate::file::errno_of)
    })?;
    let numbers: Vec<RawFd> = entries
        .iter()
        .filter_map(|name| name.to_str()?.parse().ok())
        .collect();
    // The chain's own (a late helper's pidfd above all) are not the caller's.
    let chains_own = crate::handed::fds();
    let mut found = Vec::new();
    for fd in numbers.into_iter().filter(|fd| !chains_own.contains(fd)) {
        // SAFETY: F_GETFD only reads the flags of a number that may be closed.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 || flags & libc::FD_CLOEXEC != 0 {
            continue; // closed meanwhile, or our own
        }
        // SAFETY: the fd is open (F_GETFD succeeded) and only fstat'ed here.
        let fd_ref = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(st) = fstat(fd_ref) else { continue };
        let fs_type = nix::sys::statfs::fstatfs(fd_ref)
            .map(|fs| fs.filesystem_type().0 as i64)
            .unwrap_or(0);
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}"));
        let raw_link = link
            .as_ref()
            .map(|t| t.to_string_lossy())
            .unwrap_or_default();
        let Some(kind) = classify(st.st_mode, fs_type, &raw_link) else {
            continue;
        };
        let target = link
            .as_ref()
            .map(|t| shown::path(t))
            .unwrap_or_else(|_| "?".into());
        if let Some(name) = STDIO.get(fd as usize) {
            return Err(Error::msg(format!(
                "fd {fd} ({name}) is {} {target}: {} (give it a file, a pipe or /dev/null)",
                kind.what(),
                kind.how()
            )));
        }
        found.push(Inherited { fd, kind, target });
    }
    Ok(found)
}

/// Closes them. pivot: after the mounts (`--bind /proc/self/fd/N` may name
/// a directory), before the pivot, the `--wd` lookup and the program's
/// lookup. nsenter-rs: before its chroot.
pub fn close(leading_out: Vec<Inherited>) -> Result<()> {
    for found in leading_out {
        trace::note(format_args!(
            "inherited fd {} is {} {}: closed, {}",
            found.fd,
            found.kind.what(),
            found.target,
            found.kind.how()
        ));
        sys(
            "close",
            format_args!("fd {} ({})", found.fd, found.target),
            || {
                // SAFETY: closing an inherited fd that nothing in pivot holds.
                nix::errno::Errno::result(unsafe { libc::close(found.fd) }).map(drop)
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: u32 = libc::S_IFDIR | 0o755;
    const FILE: u32 = libc::S_IFREG | 0o644;
    const EXT4: i64 = 0xef53;
    const ANON_INODE_FS: i64 = 0x0904_1934;

    #[test]
    fn directories_namespaces_and_pidfds_lead_out() {
        assert_eq!(classify(DIR, EXT4, "/srv"), Some(Kind::Directory));
        assert_eq!(
            classify(FILE, NSFS_MAGIC, "net:[4026531840]"),
            Some(Kind::Namespace)
        );
        // pidfs (6.9+) and the anon inode of older kernels.
        assert_eq!(
            classify(FILE, PIDFS_MAGIC, "anon_inode:[pidfd]"),
            Some(Kind::Pidfd)
        );
        assert_eq!(
            classify(0, ANON_INODE_FS, "anon_inode:[pidfd]"),
            Some(Kind::Pidfd)
        );
    }

    #[test]
    fn files_pipes_sockets_and_other_anon_inodes_pass() {
        assert_eq!(classify(FILE, EXT4, "/var/log/x"), None);
        assert_eq!(
            classify(libc::S_IFIFO | 0o600, 0x5049_5045, "pipe:[12]"),
            None
        );
        assert_eq!(
            classify(libc::S_IFSOCK | 0o777, 0x534f_434b, "socket:[9]"),
            None
        );
        assert_eq!(classify(0, ANON_INODE_FS, "anon_inode:[eventfd]"), None);
    }
}
