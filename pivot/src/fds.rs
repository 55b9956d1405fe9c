//! Inherited directory fds. Every directory the caller left open (without
//! close-on-exec) was opened on a mount outside the new root, even one that
//! names a directory of the image: the new root is pivot's own bind, and
//! `..` from the caller's directory walks up the host's tree. Through
//! `/proc/self/fd/N` it is a way out for the program (runc's
//! CVE-2024-21626), for a `--wd` and for a symlink of the image. So pivot
//! closes them all before the pivot; on fd 0, 1 or 2 it refuses instead
//! (closing one would hand the number to the next file opened).
//!
//! Other inherited fds (pipes, files, sockets) are the caller's business and
//! pass, as everywhere in the chain (`--close-fds` keeps them away too).

use chain::shown;
use chain::{Error, Result, sys, trace};
use nix::sys::stat::{SFlag, fstat};
use std::os::fd::{BorrowedFd, RawFd};

/// An inherited directory fd, and what it shows in /proc/self/fd.
pub struct Inherited {
    fd: RawFd,
    target: String,
}

const STDIO: [&str; 3] = ["stdin", "stdout", "stderr"];

/// The inherited directory fds above 2; an error if 0, 1 or 2 is one.
pub fn directories() -> Result<Vec<Inherited>> {
    // Numbers first, then the checks: the listing's own fd is one of them
    // only while it is open (and it is close-on-exec, so it is skipped).
    let entries = sys("open", "/proc/self/fd", || {
        std::fs::read_dir("/proc/self/fd").map_err(chain::file::errno_of)
    })?;
    let numbers: Vec<RawFd> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let mut found = Vec::new();
    for fd in numbers {
        // SAFETY: F_GETFD only reads the flags of a number that may be closed.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 || flags & libc::FD_CLOEXEC != 0 {
            continue; // closed meanwhile, or our own
        }
        // SAFETY: the fd is open (F_GETFD succeeded) and only fstat'ed here.
        let fd_ref = unsafe { BorrowedFd::borrow_raw(fd) };
        let is_dir = fstat(fd_ref).is_ok_and(|st| {
            SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
        });
        if !is_dir {
            continue;
        }
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|t| shown::path(&t))
            .unwrap_or_else(|_| "?".into());
        if let Some(name) = STDIO.get(fd as usize) {
            return Err(Error::msg(format!(
                "fd {fd} ({name}) is the directory {target}: the program could leave the new root through it \
                 (give it a file, a pipe or /dev/null)"
            )));
        }
        found.push(Inherited { fd, target });
    }
    Ok(found)
}

/// Closes them: after the mounts (`--bind /proc/self/fd/N` may name one),
/// before the pivot, the `--wd` lookup and the program's lookup.
pub fn close(dirs: Vec<Inherited>) -> Result<()> {
    for dir in dirs {
        trace::note(format_args!(
            "inherited fd {} is the directory {} outside the new root: closed, the program could leave the root through it",
            dir.fd, dir.target
        ));
        sys(
            "close",
            format_args!("fd {} ({})", dir.fd, dir.target),
            || {
                // SAFETY: closing an inherited fd that nothing in pivot holds.
                nix::errno::Errno::result(unsafe { libc::close(dir.fd) }).map(drop)
            },
        )?;
    }
    Ok(())
}
