//! Chain steps that run after pivot (`mapids --as`, `seccompctl`) although
//! the image does not contain our binaries: pivot carries them in.
//!
//! Before the pivot, pivot finds each such program on the host ([`CARRIED`]
//! names, looked up in the host's PATH) and copies it into a sealed memfd
//! ([`seal`]): a file that nobody, root in the container included, can
//! write. Executing the host's file itself would let a process in the
//! container reopen `/proc/PID/exe` for writing once the step has exec'd
//! on, and overwrite the host's binary (runc's CVE-2019-5736). The memfds
//! go down the chain as inherited fds, named in `CHAIN_CARRY`
//! (`seccompctl=5,mapids=6`); [`crate::exec::resolve`] takes a carried
//! program from there, and the exec of a program that is not carried (the
//! workload) closes them all and removes the variable, so the workload sees
//! neither.

use crate::error::{Error, Result};
use crate::trace::sys;
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, SealFlag, fcntl};
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;

/// The environment variable naming the carried programs' fds.
pub const CARRY_VAR: &str = "CHAIN_CARRY";

/// The chain steps that go after pivot, which pivot carries in.
pub const CARRIED: [&str; 2] = ["mapids", "seccompctl"];

/// The seals that make a memfd immutable: no write, no resize, no new seals.
const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether a program name (the last component of argv[0]) is a carried step.
pub fn is_carried_name(argv0: &OsStr) -> Option<&'static str> {
    let base = Path::new(argv0).file_name()?;
    CARRIED.iter().copied().find(|n| OsStr::new(n) == base)
}

/// A sealed in-memory copy of the executable at `path`, close-on-exec.
pub fn seal(path: &Path, name: &str) -> Result<OwnedFd> {
    let src = sys("open", path.display(), || {
        nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
    })?;
    let cname = CString::new(name).map_err(|_| Error::msg("carry: a NUL in a program name"))?;
    let memfd = sys(
        "memfd_create",
        format_args!("{name} MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_EXEC"),
        || {
            // MFD_EXEC (6.3) says the memfd is meant to be executed (and keeps
            // vm.memfd_noexec=1 from taking the x bit away); older kernels
            // refuse the flag, and their memfds are executable anyway.
            let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
            // SAFETY: memfd_create with a valid C string; the fd is owned below.
            let fd = unsafe { libc::memfd_create(cname.as_ptr(), flags | MFD_EXEC) };
            let fd = if fd < 0 && Errno::last() == Errno::EINVAL {
                // SAFETY: as above.
                unsafe { libc::memfd_create(cname.as_ptr(), flags) }
            } else {
                fd
            };
            // SAFETY: a new fd that nothing else owns.
            Errno::result(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        },
    )?;
    let size = sys("fstat", path.display(), || nix::sys::stat::fstat(&src))?.st_size as usize;
    sys(
        "sendfile",
        format_args!("{} -> memfd ({size} bytes)", path.display()),
        || {
            let mut left = size;
            while left > 0 {
                // SAFETY: sendfile between two fds we own, no offset pointer.
                let n = Errno::result(unsafe {
                    libc::sendfile(
                        memfd.as_raw_fd(),
                        src.as_raw_fd(),
                        std::ptr::null_mut(),
                        left,
                    )
                })?;
                if n == 0 {
                    return Err(Errno::EIO);
                }
                left -= n as usize;
            }
            Ok(())
        },
    )?;
    sys("fcntl", "F_ADD_SEALS SEAL|SHRINK|GROW|WRITE", || {
        fcntl(
            &memfd,
            FcntlArg::F_ADD_SEALS(SealFlag::from_bits_truncate(SEALS)),
        )
        .map(drop)
    })?;
    Ok(memfd)
}

/// MFD_EXEC (linux/memfd.h, 6.3); not in every libc crate version.
const MFD_EXEC: libc::c_uint = 0x0010;

/// Passes the carried programs down: their fds survive the exec, and
/// `CHAIN_CARRY` names them.
pub fn hand_down(carried: Vec<(&'static str, OwnedFd)>) -> Result<()> {
    let mut list = Vec::new();
    for (name, fd) in carried {
        let raw = fd.into_raw_fd();
        // SAFETY: raw is ours; borrowed only for the call.
        let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
        sys(
            "fcntl",
            format_args!("{raw} ({name}) F_SETFD 0 (carried down the chain)"),
            || fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::empty())).map(drop),
        )?;
        list.push(format!("{name}={raw}"));
    }
    // SAFETY: the tools are single-threaded (see the crate's README).
    unsafe { crate::exec::set_env(CARRY_VAR.as_ref(), list.join(",").as_ref()) };
    Ok(())
}

/// The entries of a `CHAIN_CARRY` value: only known names, fds above 2.
pub fn parse(value: &str) -> std::result::Result<Vec<(&'static str, RawFd)>, String> {
    value
        .split(',')
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, fd) = item
                .split_once('=')
                .ok_or_else(|| format!("{CARRY_VAR}: '{item}' is not NAME=FD"))?;
            let known = CARRIED
                .iter()
                .copied()
                .find(|n| *n == name)
                .ok_or_else(|| format!("{CARRY_VAR}: '{name}' is not a carried program"))?;
            let fd: RawFd = fd
                .parse()
                .ok()
                .filter(|&fd| fd > 2)
                .ok_or_else(|| format!("{CARRY_VAR}: '{fd}' is not an fd above 2"))?;
            Ok((known, fd))
        })
        .collect()
}

fn entries() -> Vec<(&'static str, RawFd)> {
    std::env::var(CARRY_VAR)
        .ok()
        .and_then(|v| parse(&v).ok())
        .unwrap_or_default()
}

/// The carried copy of `argv0`, if the chain carries one: a sealed memfd.
pub fn lookup(argv0: &OsStr) -> Option<RawFd> {
    let name = is_carried_name(argv0)?;
    let fd = entries().into_iter().find(|(n, _)| *n == name)?.1;
    // Only a sealed memfd is taken: a stale or foreign fd number is not.
    // SAFETY: F_GET_SEALS only reads the fd's seals.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    (seals >= 0 && seals & libc::F_SEAL_WRITE != 0).then_some(fd)
}

/// Right before an exec: while a carried program comes next, every carried
/// fd stays open (a later step may be the same tool again, `seccompctl --
/// seccompctl ...`); the exec of a program that is not carried (the
/// workload) closes them all and the variable goes.
pub fn before_exec(exec_fd: Option<RawFd>) {
    if exec_fd.is_some() {
        return;
    }
    let all = entries();
    if all.is_empty() {
        return;
    }
    for &(_, fd) in &all {
        // SAFETY: marks an fd close-on-exec; a number that is not open fails harmlessly.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: single-threaded, as above.
    unsafe { std::env::remove_var(CARRY_VAR) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert_eq!(
            is_carried_name(OsStr::new("/usr/local/bin/seccompctl")),
            Some("seccompctl")
        );
        assert_eq!(is_carried_name(OsStr::new("mapids")), Some("mapids"));
        assert_eq!(is_carried_name(OsStr::new("bash")), None);
        assert_eq!(
            parse("seccompctl=5,mapids=6"),
            Ok(vec![("seccompctl", 5), ("mapids", 6)])
        );
        assert_eq!(parse(""), Ok(vec![]));
        assert!(parse("bash=5").is_err());
        assert!(parse("mapids=2").is_err());
        assert!(parse("mapids").is_err());
        assert!(parse("mapids=x").is_err());
    }

    #[test]
    fn a_sealed_copy_cannot_be_written() {
        let exe = std::env::current_exe().unwrap();
        let fd = seal(&exe, "carry-test").unwrap();
        let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
        assert_eq!(seals & SEALS, SEALS);
        let n = unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert_eq!((n, Errno::last()), (-1, Errno::EPERM));
        let len = std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .unwrap()
            .len();
        assert_eq!(len, std::fs::metadata(&exe).unwrap().len());
    }
}
