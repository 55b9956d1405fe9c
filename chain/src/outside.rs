//! The outside-step protocol: how a tool placed *before* unshare-rs in a
//! chain acts from the original namespaces on the ones unshare-rs creates
//! (mapids writing id maps, vethctl moving a veth end), and how unshare-rs
//! persists namespaces from outside its own new mount namespace.
//!
//! Helper side ([`fork_helper`], [`Helper::hand_down`]): the tool forks a
//! helper that stays where it is, keeps one end of a SOCK_SEQPACKET
//! socketpair, and passes the other end down the chain: its fd number and
//! the helper's pid go into `CHAIN_SYNC_FDS` as `FD:PID[,FD:PID...]`, and the
//! tool execs the next argv.
//!
//! Server side ([`serve_waiting_helpers`]): unshare-rs, right after
//! `unshare(2)`, sends each helper in turn (the nearest first) `pid N` (its own pid, as seen from
//! the helper's PID namespace), waits for `ok` or `error MESSAGE`, reaps the
//! helper, closes the fd and clears the variable; an error stops the chain
//! with the helper's own message.
//!
//! A late helper ([`fork_late_helper`], entry `FD:PID:late:EVENTFD`: its
//! work is for the workload only) is told at the same moment, but its
//! answer is awaited only right before the workload's exec
//! ([`crate::late`]). It is woken through an eventfd, not by the request's
//! arrival: a write to an AF_UNIX socket wakes its reader "synchronously"
//! (WF_SYNC), which tells the scheduler to run the reader on the writer's
//! CPU, where it preempts the writer, so nothing would run in parallel (seen:
//! the server's send took as long as the helper's whole work). An eventfd's
//! wakeup is a plain one, and the helper runs on the idle CPU.
//!
//! A helper whose socket closes without a message (no unshare-rs came later
//! in the chain, or the chain died) exits quietly with status 0.

use crate::error::{Error, Result};
use crate::exec::restore_signal_state;
use crate::trace::{self, sys};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};
use nix::sys::stat::{SFlag, fstat};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

/// The environment variable that carries waiting helpers down the chain.
pub const SYNC_FDS_VAR: &str = "CHAIN_SYNC_FDS";

/// The environment variable listing /proc/self files that the creator of a
/// user namespace may write itself, right after unshare(2):
/// `setgroups=deny;uid_map=0 1000 1;gid_map=0 1000 1`. The kernel lets the
/// creator map its own ids (one line, count 1, setgroups denied first), so
/// for such maps no helper, fork or round trip is needed: mapids --root
/// uses this, as util-linux `unshare -r` writes its own maps.
pub const SELF_WRITES_VAR: &str = "CHAIN_SELF_WRITES";

/// The only files [`SELF_WRITES_VAR`] may name, in the order they must be
/// written.
const SELF_WRITABLE: [&str; 3] = ["setgroups", "uid_map", "gid_map"];

/// One waiting helper, seen from the process that will tell it to act.
#[derive(Debug)]
pub struct Helper {
    sock: OwnedFd,
    pub pid: Pid,
    /// A late helper's wakeup (see the module notes); its answer may wait
    /// until the workload's exec ([`crate::late`]).
    wake: Option<OwnedFd>,
}

/// Forks a helper that waits in the current namespaces until it is told a
/// pid, then runs `work(pid)` and answers with its outcome. For a helper
/// this process serves itself ([`Helper::run`]); one for the next program
/// is [`helper_for_exec`].
pub fn fork_helper(work: impl FnOnce(Pid) -> Result<()>) -> Result<Helper> {
    let sockets = helper_sockets()?;
    fork_helper_with(work, sockets, None)
}

/// [`fork_helper`] for a helper whose work only the workload needs (a
/// network): the chain's next steps go on while it acts, and the
/// workload's exec waits for its answer ([`crate::late`]).
pub fn fork_late_helper(work: impl FnOnce(Pid) -> Result<()>) -> Result<Helper> {
    let sockets = helper_sockets()?;
    fork_helper_with(work, sockets, Some(late_wakeup()?))
}

/// A helper for the next program in the chain: [`Helper::hand_down`] it,
/// then exec. It is a process that shares this one's memory (`clone`
/// with `CLONE_VM`, on a stack of its own) and starts its work only once
/// this process has exec'd or exited: the exec then leaves the old address
/// space to the helper, instead of each of them copying and tearing down a
/// copy (a fork copies the page tables, write-protects every private page
/// and makes the exec unmap them: 0.15-0.2 ms of the chain's critical
/// path, measured here; the clone costs a few µs). How it knows: the
/// kernel, at exec and at exit, writes 0 to the word set with
/// `set_tid_address` and wakes its futex when another process still uses
/// the memory. This process must not serve the helper itself (it would
/// wait for an exec that never comes): use [`fork_helper`] for that.
pub fn helper_for_exec(work: impl FnOnce(Pid) -> Result<()> + 'static) -> Result<Helper> {
    let sockets = helper_sockets()?;
    start_after_exec(work, sockets, None)
}

/// [`helper_for_exec`] for a late helper ([`fork_late_helper`]).
pub fn late_helper_for_exec(work: impl FnOnce(Pid) -> Result<()> + 'static) -> Result<Helper> {
    let sockets = helper_sockets()?;
    let wake = late_wakeup()?;
    start_after_exec(work, sockets, Some(wake))
}

fn late_wakeup() -> Result<OwnedFd> {
    sys("eventfd", "EFD_CLOEXEC (late helper's wakeup)", || {
        // SAFETY: eventfd with an initial value and flags; the fd is owned below.
        Errno::result(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) })
            // SAFETY: just returned by the kernel, owned by nobody else.
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
    })
}

/// The socketpair of a helper: (ours, the helper's).
fn helper_sockets() -> Result<(OwnedFd, OwnedFd)> {
    sys("socketpair", "AF_UNIX SOCK_SEQPACKET", || {
        socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
    })
}

/// The helper's stack ([`crate::supervise::map_stack`]) and, in its top
/// bytes, the word the kernel clears when this process execs.
const SHARED_STACK: usize = 1 << 20;

/// What a helper started by [`start_after_exec`] needs once it may run;
/// the fds are numbers in its own copy of the fd table.
struct AfterExec<F> {
    work: F,
    sock: RawFd,
    parents_end: RawFd,
    wake: Option<RawFd>,
    gate: *const std::sync::atomic::AtomicU32,
}

fn start_after_exec<F: FnOnce(Pid) -> Result<()> + 'static>(
    work: F,
    (ours, theirs): (OwnedFd, OwnedFd),
    wake: Option<OwnedFd>,
) -> Result<Helper> {
    use std::sync::atomic::AtomicU32;
    let begin = std::time::Instant::now();
    let base = crate::supervise::map_stack(SHARED_STACK, "the helper's stack")?;
    let top = base as usize + SHARED_STACK;
    // The gate lives in the mapping's top bytes, anonymous memory written
    // now (a futex on a page that is still the file's could change key).
    let gate = (top - 16) as *const AtomicU32;
    // SAFETY: inside our mapping, aligned, not yet shared.
    unsafe { (*gate).store(1, std::sync::atomic::Ordering::SeqCst) };
    let start = Box::into_raw(Box::new(AfterExec {
        work,
        sock: theirs.as_raw_fd(),
        parents_end: ours.as_raw_fd(),
        wake: wake.as_ref().map(|w| w.as_raw_fd()),
        gate,
    }));
    // Before the clone, so that no exec can come between: from now on this
    // process's exec or exit clears the gate. (It replaces the C library's
    // own word, which only matters when a thread exits; the tools start
    // none.)
    // SAFETY: set_tid_address takes any address; this one stays mapped.
    unsafe { libc::syscall(libc::SYS_set_tid_address, gate) };
    // SAFETY: the child runs `after_exec_entry` on its own stack and touches
    // nothing of ours until the gate opens (see there).
    let child = unsafe {
        libc::clone(
            after_exec_entry::<F>,
            (top - 64) as *mut libc::c_void,
            libc::CLONE_VM | libc::SIGCHLD,
            start.cast(),
        )
    };
    if child < 0 {
        let errno = Errno::last();
        // SAFETY: no child shares it: it is ours again.
        drop(unsafe { Box::from_raw(start) });
        // The mapping stays: the kernel's set_tid_address word points into
        // it until this process execs or exits, which comes next.
        return Err(Error::sys("clone", "CLONE_VM (helper)", errno));
    }
    // The helper's end stays open in the helper's own fd table only.
    drop(theirs);
    let child = Pid::from_raw(child);
    trace::step(
        format_args!("clone CLONE_VM = helper {child}, starts after this exec"),
        begin.elapsed(),
    );
    Ok(Helper {
        sock: ours,
        pid: child,
        wake,
    })
}

/// The helper's first code, on its own stack, in memory it shares with the
/// process that is about to exec. Until the gate opens it only reads the
/// gate and waits on it (futex): no allocation, no lock, nothing the other
/// process could be using at the same time (an error would set errno,
/// which lives in memory both share; futex fails only once the gate has
/// opened). Once the gate is 0 the other process has exec'd or exited: the
/// memory is the helper's alone, and helper_main runs as after a fork.
extern "C" fn after_exec_entry<F: FnOnce(Pid) -> Result<()>>(
    arg: *mut libc::c_void,
) -> libc::c_int {
    use std::sync::atomic::Ordering;
    let start = arg.cast::<AfterExec<F>>();
    // SAFETY: `start` was boxed for this child and is not freed by the
    // parent; the gate is in the stack mapping, which stays mapped.
    unsafe {
        let gate = &*(*start).gate;
        while gate.load(Ordering::SeqCst) != 0 {
            libc::syscall(
                libc::SYS_futex,
                gate.as_ptr(),
                libc::FUTEX_WAIT,
                1u32,
                std::ptr::null::<libc::timespec>(),
            );
        }
        let start = Box::from_raw(start);
        libc::close(start.parents_end);
        let sock = OwnedFd::from_raw_fd(start.sock);
        let wake = start.wake.map(|fd| OwnedFd::from_raw_fd(fd));
        let code = helper_main(sock, wake, start.work);
        libc::_exit(code)
    }
}

fn fork_helper_with(
    work: impl FnOnce(Pid) -> Result<()>,
    (ours, theirs): (OwnedFd, OwnedFd),
    wake: Option<OwnedFd>,
) -> Result<Helper> {
    // SAFETY: the tools are single-threaded, so the child may run any code.
    let begin = std::time::Instant::now();
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork", "helper", e))? {
        nix::unistd::ForkResult::Child => {
            drop(ours);
            let code = helper_main(theirs, wake, work);
            // SAFETY: the helper ends here without running the parent's
            // destructors or returning into its setup code.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(theirs);
            // Traced here only: the helper must not report the fork too.
            trace::step(
                format_args!("fork = helper {child}, waits for the namespaces to act on"),
                begin.elapsed(),
            );
            Ok(Helper {
                sock: ours,
                pid: child,
                wake,
            })
        }
    }
}

fn helper_main(sock: OwnedFd, wake: Option<OwnedFd>, work: impl FnOnce(Pid) -> Result<()>) -> i32 {
    // The helper must not outlive the chain it serves.
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    let _ = restore_signal_state();
    if let Some(wake) = wake
        && !wait_for_wake(&sock, &wake)
    {
        return 0; // nobody came: exit quietly
    }
    let mut buf = [0u8; 64];
    let n = match recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
        Ok(0) | Err(_) => return 0, // nobody came: exit quietly
        Ok(n) => n,
    };
    let answer = match parse_request(&buf[..n]) {
        Some(target) => match work(target) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("error {}: {e}", trace::prog()),
        },
        None => format!(
            "error {}: bad request {:?}",
            trace::prog(),
            String::from_utf8_lossy(&buf[..n])
        ),
    };
    match send(sock.as_raw_fd(), answer.as_bytes(), MsgFlags::MSG_NOSIGNAL) {
        Ok(_) => 0,
        Err(_) => 1,
    }
}

/// A late helper sleeps on its eventfd, and on its socket only for a hang
/// up (POLLHUP, always reported): poll wakes a waiter only for the events
/// it asked for, so the request's arrival (POLLIN) does not wake it, the
/// eventfd written after it does. False when the socket closed without a
/// wakeup.
fn wait_for_wake(sock: &OwnedFd, wake: &OwnedFd) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    loop {
        let mut fds = [
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
            PollFd::new(sock.as_fd(), PollFlags::empty()),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
            Ok(_) => {}
        }
        if fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            return true;
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return false;
        }
    }
}

fn parse_request(msg: &[u8]) -> Option<Pid> {
    let text = std::str::from_utf8(msg).ok()?;
    let pid: i32 = text.strip_prefix("pid ")?.trim().parse().ok()?;
    (pid > 0).then(|| Pid::from_raw(pid))
}

/// What a helper's answer means.
pub(crate) fn parse_answer(msg: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(msg);
    let text = text.trim_end();
    if text == "ok" {
        Ok(())
    } else if let Some(message) = text.strip_prefix("error ") {
        Err(Error::msg(message))
    } else {
        Err(Error::msg(format!("outside-step helper answered {text:?}")))
    }
}

impl Helper {
    /// Passes the helper down the chain: its socket survives the coming exec
    /// and is listed in `CHAIN_SYNC_FDS` for unshare-rs to find (a late
    /// helper's entry also names its eventfd, which survives too).
    pub fn hand_down(self) -> Result<()> {
        let suffix = match self.wake {
            Some(wake) => {
                let efd = wake.into_raw_fd();
                keep_across_exec(efd, "the late helper's wakeup")?;
                format!(":late:{efd}")
            }
            None => String::new(),
        };
        let fd = self.sock.into_raw_fd();
        keep_across_exec(fd, "the next program serves this helper")?;
        let entry = format!("{fd}:{}{suffix}", self.pid);
        let list = match std::env::var(SYNC_FDS_VAR) {
            Ok(old) if !old.is_empty() => format!("{old},{entry}"),
            _ => entry,
        };
        trace::note(format_args!("{SYNC_FDS_VAR}={list}"));
        // SAFETY: the tools are single-threaded; nothing reads the
        // environment concurrently.
        unsafe { crate::exec::set_env(SYNC_FDS_VAR.as_ref(), list.as_ref()) };
        Ok(())
    }

    /// Tells the helper to act on `target`, waits for its answer, reaps it
    /// (see [`Reap`]).
    pub fn run(self, target: Pid, reap: Reap) -> Result<()> {
        self.tell(target)?;
        let mut buf = [0u8; 4096];
        let n = match recv_answer(&self.sock, &mut buf, self.pid.as_raw()) {
            Ok(n) => n,
            Err(e) => {
                // Our child, unreaped: the pid names it and no other.
                let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
                let _ = waitpid(self.pid, None);
                return Err(e);
            }
        };
        drop(self.sock);
        // Reap the helper; it is our child unless a forking step came between.
        // A helper that answered is exiting; waiting for the end of its exit
        // (its address space torn down) is needed only when nobody else will
        // reap it.
        let flags = match (n, reap) {
            (0, _) | (_, Reap::Now) => None,
            (_, Reap::ByLaterWait) => Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        };
        let status = match waitpid(self.pid, flags) {
            Ok(s) => format!("{s:?}"),
            Err(Errno::ECHILD) => "not our child".into(),
            Err(e) => e.to_string(),
        };
        if n == 0 {
            return Err(Error::msg(format!(
                "outside-step helper {} ended without answering ({status})",
                self.pid
            )));
        }
        // A helper of this same program (unshare-rs persisting namespaces)
        // need not name itself twice.
        parse_answer(&buf[..n]).map_err(|mut e| {
            if let Some(rest) =
                e.op.strip_prefix(trace::prog())
                    .and_then(|r| r.strip_prefix(": "))
            {
                e.op = rest.to_string();
            }
            e
        })
    }

    fn tell(&self, target: Pid) -> Result<()> {
        let request = format!("pid {target}");
        sys(
            "send",
            format_args!("helper {} '{request}'", self.pid),
            || {
                send(
                    self.sock.as_raw_fd(),
                    request.as_bytes(),
                    MsgFlags::MSG_NOSIGNAL,
                )
                .map(drop)
            },
        )
        .map_err(|e| e.with_hint("the helper is gone"))
    }

    /// Tells a late helper to act and hands its answer on
    /// ([`crate::late::Pending`]).
    fn tell_late(self, target: Pid) -> Result<crate::late::Pending> {
        // Opened while the helper is certainly our child and unreaped, so
        // the pidfd names this process and no other.
        let pidfd = crate::supervise::pidfd_open(self.pid)?;
        self.tell(target)?;
        if let Some(wake) = &self.wake {
            sys(
                "write",
                format_args!("eventfd 1 (wake helper {})", self.pid),
                || nix::unistd::write(wake, &1u64.to_ne_bytes()).map(drop),
            )?;
        }
        Ok(crate::late::Pending {
            sock: self.sock,
            pidfd,
            pid: self.pid.as_raw(),
        })
    }
}

/// The environment variable that bounds the wait for a helper's answer,
/// in seconds (default [`HELPER_LIMIT_SECS`]).
pub const HELPER_TIMEOUT_VAR: &str = "CHAIN_HELPER_TIMEOUT";

/// A helper's work is a few netlink requests or starting pasta: a minute
/// is far beyond any of it, and a hung helper must not hang the chain.
pub const HELPER_LIMIT_SECS: u64 = 60;

fn helper_limit() -> std::time::Duration {
    let secs = std::env::var(HELPER_TIMEOUT_VAR)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(HELPER_LIMIT_SECS);
    std::time::Duration::from_secs(secs)
}

/// Receives a helper's answer (0 bytes: it ended without one), waiting at
/// most the helper limit. On timeout the caller kills the helper.
pub(crate) fn recv_answer(sock: &OwnedFd, buf: &mut [u8], pid: i32) -> Result<usize> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let limit = helper_limit();
    let start = std::time::Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(Error::msg(format!(
                "outside-step helper {pid} did not answer within {} s: killed ({HELPER_TIMEOUT_VAR} sets the limit)",
                limit.as_secs()
            )));
        }
        let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
        let wait = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, wait) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => break,
            Err(e) => {
                return Err(Error::sys(
                    "poll",
                    format_args!("answer of helper {pid}"),
                    e,
                ));
            }
        }
    }
    sys("recv", format_args!("answer of helper {pid}"), || {
        loop {
            match recv(sock.as_raw_fd(), buf, MsgFlags::empty()) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        }
    })
}

/// When a served helper is reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reap {
    /// Wait for its exit now: the caller execs next, and the program after
    /// it would inherit a zombie.
    Now,
    /// Reap it now only if it is gone already: the caller is about to
    /// supervise a child, and its wait loop reaps every child it has.
    ByLaterWait,
}

/// One entry of `CHAIN_SYNC_FDS`.
#[derive(Debug, PartialEq, Eq)]
pub struct SyncEntry {
    pub fd: RawFd,
    pub pid: Pid,
    /// A late helper's eventfd.
    pub wake: Option<RawFd>,
}

/// Parses `FD:PID[:late:EVENTFD][,...]`.
pub fn parse_sync_fds(value: &str) -> Result<Vec<SyncEntry>> {
    value
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let bad = || {
                Error::msg(format!(
                    "{SYNC_FDS_VAR}: bad entry '{entry}' (expected FD:PID or FD:PID:late:EVENTFD)"
                ))
            };
            let (entry, wake) = match entry.split_once(":late:") {
                Some((rest, efd)) => (rest, Some(efd.parse::<RawFd>().map_err(|_| bad())?)),
                None => (entry, None),
            };
            let (fd, pid) = entry.split_once(':').ok_or_else(bad)?;
            let fd: RawFd = fd.parse().map_err(|_| bad())?;
            let pid: i32 = pid.parse().map_err(|_| bad())?;
            if fd < 0 || pid <= 0 || wake.is_some_and(|w| w < 0) {
                return Err(bad());
            }
            Ok(SyncEntry {
                fd,
                pid: Pid::from_raw(pid),
                wake,
            })
        })
        .collect()
}

/// Takes the helpers listed in `CHAIN_SYNC_FDS` and clears the variable, so
/// the program at the end of the chain neither sees it nor inherits the fds.
pub fn take_waiting_helpers() -> Result<Vec<Helper>> {
    let Some(value) = std::env::var_os(SYNC_FDS_VAR) else {
        return Ok(Vec::new());
    };
    // SAFETY: the tools are single-threaded.
    unsafe { std::env::remove_var(SYNC_FDS_VAR) };
    let entries = parse_sync_fds(&value.to_string_lossy())?;
    let mut helpers = Vec::with_capacity(entries.len());
    for SyncEntry { fd, pid, wake } in entries {
        // SAFETY: the variable says the fd was handed to us; if it is not
        // open, fcntl fails below and the OwnedFd is forgotten, not closed.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let checked = sys(
            "fcntl",
            format_args!("{fd} set FD_CLOEXEC ({SYNC_FDS_VAR})"),
            || fcntl(sock.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map(drop),
        )
        .and_then(|()| {
            sys("fstat", format_args!("{fd} ({SYNC_FDS_VAR})"), || {
                fstat(sock.as_fd())
            })
        });
        match checked {
            Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFSOCK => {
                let wake = match wake.map(take_eventfd).transpose() {
                    Ok(w) => w,
                    Err(e) => {
                        std::mem::forget(sock);
                        return Err(e);
                    }
                };
                helpers.push(Helper { sock, pid, wake })
            }
            Ok(_) => {
                std::mem::forget(sock);
                return Err(Error::msg(format!(
                    "{SYNC_FDS_VAR}: fd {fd} is not a socket"
                )));
            }
            Err(e) => {
                std::mem::forget(sock);
                return Err(e.with_hint(format!("{SYNC_FDS_VAR} names an fd that is not open")));
            }
        }
    }
    Ok(helpers)
}

/// The server side: tells every waiting helper in the chain to act on
/// `target`, the nearest first, and fails with the first helper's error.
///
/// Nearest first (the list's last entry, handed down by the step just
/// before us): like nested brackets, a step acts on what the steps after it
/// have made. The order matters when an outer step needs an inner one's
/// work: `vethctl --pasta -- mapids --auto -- unshare-rs -U` must start
/// pasta in a user namespace whose maps mapids has written already.
///
/// A late helper is told in its turn and not awaited: its answer goes down
/// the chain in `CHAIN_LATE_FDS` ([`crate::late`]); it is reaped as
/// `reap` says, by a later wait or by whoever collects its answer.
pub fn serve_waiting_helpers(target: Pid, reap: Reap) -> Result<()> {
    let mut pending = Vec::new();
    for helper in take_waiting_helpers()?.into_iter().rev() {
        if helper.wake.is_some() {
            pending.push(helper.tell_late(target)?);
        } else {
            helper.run(target, reap)?;
        }
    }
    crate::late::hand_down(pending)
}

/// An inherited late helper's eventfd, checked and made close-on-exec.
fn take_eventfd(fd: RawFd) -> Result<OwnedFd> {
    sys(
        "fcntl",
        format_args!("{fd} set FD_CLOEXEC ({SYNC_FDS_VAR} eventfd)"),
        || {
            // SAFETY: F_SETFD on a number the variable names; fails if not open.
            Errno::result(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
        },
    )
    .map_err(|e| e.with_hint(format!("{SYNC_FDS_VAR} names an fd that is not open")))?;
    // SAFETY: open (fcntl succeeded) and handed to us by the variable.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Clears FD_CLOEXEC: the fd is for the next program of the chain.
pub fn keep_across_exec(fd: RawFd, what: &str) -> Result<()> {
    sys(
        "fcntl",
        format_args!("{fd} clear FD_CLOEXEC ({what})"),
        || {
            // SAFETY: only changes the flags of an fd we own.
            Errno::result(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }).map(drop)
        },
    )
}

/// Parses `NAME=CONTENT;...`, allowing only setgroups, uid_map and gid_map.
pub fn parse_self_writes(text: &str) -> Result<Vec<(String, String)>> {
    text.split(';')
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let bad = || Error::msg(format!("{SELF_WRITES_VAR}: bad entry '{entry}' (expected setgroups=..., uid_map=... or gid_map=...)"));
            let (name, content) = entry.split_once('=').ok_or_else(bad)?;
            if !SELF_WRITABLE.contains(&name) || content.is_empty() {
                return Err(bad());
            }
            Ok((name.to_string(), content.to_string()))
        })
        .collect()
}

/// Helper side: asks the next unshare-rs -U to write these files itself.
pub fn hand_down_self_writes(writes: &[(&str, String)]) -> Result<()> {
    let text: Vec<String> = writes
        .iter()
        .map(|(name, content)| format!("{name}={content}"))
        .collect();
    let text = text.join(";");
    parse_self_writes(&text)?;
    trace::note(format_args!("{SELF_WRITES_VAR}={text}"));
    // SAFETY: the tools are single-threaded.
    unsafe { crate::exec::set_env(SELF_WRITES_VAR.as_ref(), text.as_ref()) };
    Ok(())
}

/// Server side: takes [`SELF_WRITES_VAR`] (clearing it) and writes each file
/// of /proc/self, in the kernel's order. Only right after this process
/// created a user namespace.
pub fn apply_self_writes(created_user_namespace: bool) -> Result<()> {
    let Some(text) = std::env::var_os(SELF_WRITES_VAR) else {
        return Ok(());
    };
    // SAFETY: the tools are single-threaded.
    unsafe { std::env::remove_var(SELF_WRITES_VAR) };
    if !created_user_namespace {
        return Err(Error::msg(format!(
            "{SELF_WRITES_VAR} asks for id maps, but no user namespace was created: give unshare-rs -U (--user)"
        )));
    }
    let mut writes = parse_self_writes(&text.to_string_lossy())?;
    writes.sort_by_key(|(name, _)| SELF_WRITABLE.iter().position(|w| w == name));
    for (name, content) in writes {
        let mut data = content.into_bytes();
        data.push(b'\n');
        crate::file::write(std::path::Path::new(&format!("/proc/self/{name}")), &data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sync_fd_lists() {
        assert_eq!(parse_sync_fds("").unwrap(), vec![]);
        let entry = |fd, pid, wake| SyncEntry {
            fd,
            pid: Pid::from_raw(pid),
            wake,
        };
        assert_eq!(
            parse_sync_fds("3:100,7:200:late:8").unwrap(),
            vec![entry(3, 100, None), entry(7, 200, Some(8))]
        );
        for bad in [
            "3",
            "x:1",
            "3:0",
            "-1:5",
            "3:1:2",
            "3:late",
            "3:1:late",
            "3:1:late:x",
            "3:1:late:-1",
        ] {
            assert!(parse_sync_fds(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn parses_self_writes() {
        let w = parse_self_writes("setgroups=deny;uid_map=0 1000 1;gid_map=0 1000 1").unwrap();
        assert_eq!(w[1], ("uid_map".to_string(), "0 1000 1".to_string()));
        for bad in ["uid_map", "cwd=/", "uid_map=", "../x=1"] {
            assert!(parse_self_writes(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn parses_requests_and_answers() {
        assert_eq!(parse_request(b"pid 42"), Some(Pid::from_raw(42)));
        assert_eq!(parse_request(b"pid 0"), None);
        assert_eq!(parse_request(b"go"), None);
        assert!(parse_answer(b"ok").is_ok());
        assert_eq!(
            parse_answer(b"error mapids: no").unwrap_err().to_string(),
            "mapids: no"
        );
        assert!(parse_answer(b"maybe").is_err());
    }
}
