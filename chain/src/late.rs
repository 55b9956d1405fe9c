//! Late answers: a helper whose work no later setup step needs, only the
//! workload (vethctl's pair: nothing but the workload uses the network), is
//! told to act at the same moment as the others, but its answer is waited
//! for only right before the workload's exec. Its kernel work (creating a
//! veth pair costs ~0.5 ms) then runs on one CPU while the chain's own steps
//! (unshare-rs's fork, pivot's mounts) run on another.
//!
//! Server side ([`hand_down`], called by [`crate::outside::serve_waiting_helpers`]):
//! the helper's socket and a pidfd of it stay open across exec, named in
//! `CHAIN_LATE_FDS` as `SOCK:PIDFD:PID[,...]` (PIDFD `-` where the kernel
//! has no pidfd_open).
//!
//! Collecting side ([`before_exec`], called by [`crate::exec::Program::exec`]
//! in every tool): if the next program is a chain tool (it carries the
//! chain's ELF note, see [`crate::note`]), the answers are left for it; it
//! does the same, and so on. Otherwise the next program is the workload:
//! every answer is read, every helper that is our child is reaped, the fds
//! are closed and the variable removed, and a helper's error stops the chain
//! (status 125) before the workload runs. So the workload starts only after
//! every helper is done, and never sees the variable or the fds.

use crate::error::{Error, Result};
use crate::outside::keep_across_exec;
use crate::trace;
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

/// The environment variable that carries told-but-unanswered helpers.
pub const LATE_FDS_VAR: &str = "CHAIN_LATE_FDS";

/// A helper told to act whose answer is still to come.
#[derive(Debug)]
pub struct Pending {
    pub sock: OwnedFd,
    /// To reap it exactly (a pid number may mean another process in the
    /// next PID namespace); None without pidfd_open (before Linux 5.3).
    pub pidfd: Option<OwnedFd>,
    pub pid: i32,
}

/// One entry of [`LATE_FDS_VAR`].
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub sock: RawFd,
    pub pidfd: Option<RawFd>,
    pub pid: i32,
}

/// Parses `SOCK:PIDFD:PID[,...]`.
pub fn parse(value: &str) -> Result<Vec<Entry>> {
    value
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let bad = || {
                Error::msg(format!(
                    "{LATE_FDS_VAR}: bad entry '{entry}' (expected SOCK:PIDFD:PID)"
                ))
            };
            let mut parts = entry.split(':');
            let (Some(sock), Some(pidfd), Some(pid), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let sock: RawFd = sock.parse().map_err(|_| bad())?;
            let pidfd: Option<RawFd> = match pidfd {
                "-" => None,
                n => Some(n.parse().map_err(|_| bad())?),
            };
            let pid: i32 = pid.parse().map_err(|_| bad())?;
            if sock < 0 || pidfd.is_some_and(|f| f < 0) || pid <= 0 {
                return Err(bad());
            }
            Ok(Entry { sock, pidfd, pid })
        })
        .collect()
}

/// Server side: passes the pending answers down the chain (appended to any
/// already in [`LATE_FDS_VAR`]).
pub fn hand_down(pending: Vec<Pending>) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut list = std::env::var(LATE_FDS_VAR).unwrap_or_default();
    for p in pending {
        keep_across_exec(p.sock.as_raw_fd(), "late helper socket")?;
        if let Some(fd) = &p.pidfd {
            keep_across_exec(fd.as_raw_fd(), "late helper pidfd")?;
        }
        if !list.is_empty() {
            list.push(',');
        }
        let pidfd = p
            .pidfd
            .map_or_else(|| "-".to_string(), |f| f.into_raw_fd().to_string());
        list += &format!("{}:{pidfd}:{}", p.sock.into_raw_fd(), p.pid);
    }
    trace::note(format_args!("{LATE_FDS_VAR}={list}"));
    // SAFETY: the tools are single-threaded.
    unsafe { crate::exec::set_env(LATE_FDS_VAR.as_ref(), list.as_ref()) };
    Ok(())
}

/// Collecting side, in [`crate::exec::Program::exec`]: nothing to do
/// without pending answers; the answers are left for a next program that
/// is a chain tool; otherwise they are all collected now.
pub fn before_exec(next_is_chain_tool: impl FnOnce() -> bool) -> Result<()> {
    let Some(value) = std::env::var_os(LATE_FDS_VAR) else {
        return Ok(());
    };
    if next_is_chain_tool() {
        trace::note(format_args!(
            "{LATE_FDS_VAR} left for the next program (a chain tool: it collects them before the workload)"
        ));
        return Ok(());
    }
    collect_all(&value.to_string_lossy())
}

/// Reads every pending answer, reaps each helper that is our child, closes
/// the fds and removes the variable; the first helper's error is returned
/// once all are collected.
fn collect_all(value: &str) -> Result<()> {
    // SAFETY: the tools are single-threaded.
    unsafe { std::env::remove_var(LATE_FDS_VAR) };
    let mut first_error = None;
    for entry in parse(value)? {
        if let Err(e) = collect(&entry)
            && first_error.is_none()
        {
            first_error = Some(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn collect(entry: &Entry) -> Result<()> {
    // SAFETY: the variable says these fds were handed to us; a number that
    // is not a socket makes recv fail with ENOTSOCK or EBADF below.
    let sock = unsafe { OwnedFd::from_raw_fd(entry.sock) };
    // SAFETY: as above, for the pidfd.
    let pidfd = entry.pidfd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let mut buf = [0u8; 4096];
    let received = crate::outside::recv_answer(&sock, &mut buf, entry.pid);
    drop(sock);
    if received.is_err()
        && let Some(fd) = &pidfd
    {
        // No answer will come (none in time, or a bad fd): the helper
        // goes (the pidfd names it exactly).
        // Its result does not matter: a helper already gone is as good.
        // SAFETY: pidfd_send_signal on our pidfd, no siginfo.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                libc::SIGKILL,
                0,
                0,
            )
        };
    }
    if let Some(fd) = &pidfd {
        reap(fd);
    }
    let n = received.map_err(|e| match e.errno {
        Some(_) => e.with_hint(format!("{LATE_FDS_VAR} names a bad fd")),
        None => e,
    })?;
    if n == 0 {
        return Err(Error::msg(format!(
            "outside-step helper {} ended without answering",
            entry.pid
        )));
    }
    crate::outside::parse_answer(&buf[..n])
}

/// Waits for the helper's exit if it is our child (it exits right after
/// answering), so that the workload inherits no zombie. The result is not
/// an error either way: ECHILD means another process's child (a supervisor
/// above reaps it), EINVAL a kernel without P_PIDFD (before 5.4).
fn reap(pidfd: &OwnedFd) {
    const P_PIDFD: libc::idtype_t = 3;
    // SAFETY: a zeroed siginfo_t is a valid out-buffer for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waitid on our pidfd with a valid siginfo buffer.
        let r = unsafe {
            libc::waitid(
                P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED,
            )
        };
        if r == 0 || Errno::last() != Errno::EINTR {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("5:6:100,7:-:200").unwrap(),
            vec![
                Entry {
                    sock: 5,
                    pidfd: Some(6),
                    pid: 100
                },
                Entry {
                    sock: 7,
                    pidfd: None,
                    pid: 200
                }
            ]
        );
        for bad in [
            "5", "5:6", "5:6:0", "x:6:1", "5:y:1", "-1:6:1", "5:6:1:2", "5:-2:1",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }
}
