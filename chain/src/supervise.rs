//! The supervisor used by tools that must fork (unshare-rs for a PID
//! namespace, nsenter-rs joining one, cgctl waiting for its group).
//!
//! - The parent blocks every catchable, asynchronous signal *before* the
//!   fork, so none is lost or acted upon before it waits; it then takes them
//!   one at a time with `sigwaitinfo` and forwards each to the child. It
//!   installs no handler, so nothing it does leaks into the child.
//! - The child gets a parent-death signal, then checks through a pidfd of
//!   the parent taken before the fork that the parent did not die in
//!   between (a `getppid` check cannot see it: in a new PID namespace the
//!   parent is always 0). A [`spawn_supervised`] child that stays in its
//!   parent's PID namespace is checked with `getppid` (one syscall, no fd).
//! - When the child stops (Ctrl-Z), the supervisor stops itself, so the
//!   shell sees the job stop; the SIGCONT that resumes it is forwarded.
//! - It reaps every child it has (helpers, re-parented orphans) and returns
//!   with the status of the one it supervises: its exit code, or 128+N.
//! - A PID 1 of a new PID namespace ignores every signal it has no handler
//!   for, so `kill -TERM` of the supervisor would not end a plain `sleep`.
//!   With [`Supervisor::pid1`] set, the supervisor gives such a child the
//!   signal's default action itself: when the child neither catches, blocks
//!   nor ignores a signal whose default is to terminate, it is killed with
//!   SIGKILL, and the supervisor reports 128 + the original signal, as if the
//!   signal had ended it.

use crate::error::{Error, Result};
use crate::exec::restore_signal_state;
use crate::exit;
use crate::trace::{self, sys};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// The signals a supervisor forwards: every catchable signal except SIGCHLD
/// (its own business) and the synchronous faults (ILL, TRAP, ABRT, BUS, FPE,
/// SEGV, SYS), which only ever concern the process that caused them; plus
/// every real-time signal (systemd shuts down on SIGRTMIN+3).
pub fn forwarded_signals() -> Vec<i32> {
    use libc::*;
    let classic = [
        SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCONT,
        SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO,
        SIGPWR,
    ];
    classic.into_iter().chain(SIGRTMIN()..=SIGRTMAX()).collect()
}

/// Whether a signal's default action ends the process (man 7 signal).
pub fn terminates_by_default(sig: i32) -> bool {
    use libc::*;
    !matches!(
        sig,
        SIGCHLD | SIGCONT | SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU | SIGURG | SIGWINCH
    )
}

/// A `sigset_t` holding exactly `signals`.
pub fn sigset_of(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset only fails for
    // invalid numbers, and these come from libc's own constants.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

fn supervised_set() -> libc::sigset_t {
    let mut signals = forwarded_signals();
    signals.push(libc::SIGCHLD);
    sigset_of(&signals)
}

/// What [`fork_supervised`] returns in each process.
pub enum Forked {
    /// In the child: continue the setup and exec.
    Child,
    /// In the parent: supervise the child.
    Parent(Supervisor),
}

/// The parent's side of a supervised child.
pub struct Supervisor {
    pub child: Pid,
    /// When set, the child is PID 1 of a new PID namespace and gets the
    /// default action of terminating signals it does not handle. Without
    /// /proc (a [`spawn_supervised`] child not spawned as a PID 1 opens
    /// none) the emulation never kills on a guess.
    pub pid1: bool,
    /// The /proc of the supervisor's PID namespace, opened before the fork so
    /// that a proc the child mounts over /proc cannot hide the child.
    proc_root: Option<OwnedFd>,
}

/// Forks a supervised child that receives `deathsig` when the supervisor
/// dies. In the child, the caller's signal mask and SIGCHLD disposition are
/// restored; in the parent, forwarded signals and SIGCHLD stay blocked until
/// [`Supervisor::wait`].
pub fn fork_supervised(deathsig: i32) -> Result<Forked> {
    fork_supervised_into(deathsig, None)
}

/// [`fork_supervised`], with the child born inside the cgroup2 directory
/// `cgroup` (clone3 with CLONE_INTO_CGROUP, Linux 5.7) instead of moved
/// there afterwards: a move takes the kernel's cgroup_threadgroup_rwsem for
/// writing, which waits for an RCU grace period (10-20 ms after idle); a
/// birth in place does not. An error (old kernel, a group that cannot hold
/// processes) leaves nothing changed, so the caller may fall back to
/// [`fork_supervised`] and a move.
pub fn fork_supervised_into(deathsig: i32, cgroup: Option<BorrowedFd<'_>>) -> Result<Forked> {
    // A forked child may be in another PID namespace, and may be a PID 1
    // (the caller sets Supervisor::pid1): the general preparation.
    let prepared = Prepared::new(ChildPidNs::NewPid1)?;
    // SAFETY: the tools are single-threaded, so the child may run any code.
    let begin = std::time::Instant::now();
    let result = match cgroup {
        None => unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork", "", e)),
        Some(dir) => clone_into_cgroup(dir),
    };
    let forked = match result {
        Ok(forked) => forked,
        Err(e) => {
            prepared.undo();
            return Err(e);
        }
    };
    match forked {
        nix::unistd::ForkResult::Child => {
            prepared.in_child(deathsig)?;
            Ok(Forked::Child)
        }
        nix::unistd::ForkResult::Parent { child } => {
            // Traced here only: the child must not report the fork too.
            let how = if cgroup.is_some() {
                "clone3 CLONE_INTO_CGROUP"
            } else {
                "fork"
            };
            trace::step(
                format_args!("{how} = child {child}, supervised"),
                begin.elapsed(),
            );
            Ok(Forked::Parent(prepared.supervisor(child)))
        }
    }
}

/// The supervisor's state around the fork: signals blocked before it (and
/// put back in the child, or when there is no child), and what the child
/// checks its parent with.
struct Prepared {
    me: Pid,
    parent: Parent,
    proc_root: Option<OwnedFd>,
    old_mask: libc::sigset_t,
    old_chld: libc::sighandler_t,
}

/// How the child tells that its parent died before PR_SET_PDEATHSIG took
/// hold.
enum Parent {
    /// The parent's pidfd turns readable (works across PID namespaces;
    /// None: no pidfd_open, before Linux 5.3, so no check).
    Pidfd(Option<OwnedFd>),
    /// getppid() is no longer the parent's pid (the same PID namespace).
    Ppid,
}

impl Prepared {
    /// For a child whose PID lives in `pid_ns`: its parent check, and for
    /// a PID 1 this namespace's /proc, for the signal emulation
    /// ([`Supervisor::pid1`]).
    fn new(pid_ns: ChildPidNs) -> Result<Prepared> {
        let me = nix::unistd::getpid();
        let parent = match pid_ns {
            ChildPidNs::Own => Parent::Ppid,
            ChildPidNs::Joined | ChildPidNs::NewPid1 => Parent::Pidfd(pidfd_open(me)?),
        };
        let proc_root = if pid_ns == ChildPidNs::NewPid1 {
            open(
                "/proc",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()
        } else {
            None
        };
        // Block first: a signal that arrives between the fork and the wait is then
        // queued for forwarding instead of killing or missing the supervisor.
        let set = supervised_set();
        // SAFETY: sigset_t is plain data; sigprocmask fills it.
        let mut old_mask: libc::sigset_t = unsafe { std::mem::zeroed() };
        sys(
            "sigprocmask",
            "SIG_BLOCK forwarded signals and SIGCHLD",
            || {
                // SAFETY: valid set and old-mask pointers.
                Errno::result(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old_mask) })
                    .map(drop)
            },
        )?;
        // A caller that ignores SIGCHLD would make the kernel reap our child
        // before we can read its status: the supervisor needs the default.
        let old_chld = match set_sigchld(libc::SIG_DFL) {
            Ok(old) => old,
            Err(e) => {
                // SAFETY: puts back the mask read above.
                unsafe { libc::sigprocmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
                return Err(e);
            }
        };
        Ok(Prepared {
            me,
            parent,
            proc_root,
            old_mask,
            old_chld,
        })
    }

    /// No child: the signal state goes back to the caller's.
    fn undo(self) {
        let _ = set_sigchld(self.old_chld);
        // SAFETY: puts back the mask read in `new`.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut()) };
    }

    fn supervisor(self, child: Pid) -> Supervisor {
        Supervisor {
            child,
            pid1: false,
            proc_root: self.proc_root,
        }
    }

    /// The child's first steps (after a fork: its copy of the state
    /// closes with it).
    fn in_child(self, deathsig: i32) -> Result<()> {
        self.child_steps(deathsig)
        // (the pidfd and proc_root close here, in the child's fd table.)
    }

    /// The child's first steps, on state it may only borrow (a vfork
    /// child's is its parent's).
    fn child_steps(&self, deathsig: i32) -> Result<()> {
        // The child dies with the supervisor: a container must not outlive
        // the process that scripts wait for and signal.
        sys("prctl", format_args!("PR_SET_PDEATHSIG {deathsig}"), || {
            // SAFETY: plain prctl with integer arguments.
            Errno::result(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, deathsig as libc::c_ulong) })
                .map(drop)
        })?;
        // The supervisor may have died before PR_SET_PDEATHSIG took hold;
        // its pidfd turns readable when it has exited, and its child is
        // re-parented (another getppid).
        let parent_died = match &self.parent {
            Parent::Pidfd(fd) => fd.as_ref().is_some_and(process_exited),
            // SAFETY: getppid cannot fail.
            Parent::Ppid => (unsafe { libc::getppid() }) != self.me.as_raw(),
        };
        if parent_died {
            trace::note(format_args!(
                "supervisor {} died before the child armed its death signal",
                self.me
            ));
            // SAFETY: _exit never returns and runs no destructors.
            unsafe { libc::_exit(exit::TOOL_FAILED) };
        }
        set_sigchld(self.old_chld)?;
        restore_signal_state()
    }
}

/// A supervised child that only prepares and execs (`child` ends in an
/// exec; it gets whether it was born inside `cgroup`, and returns the
/// error when the exec fails, which the child prints as its tool's one
/// line before it exits). Where it can (x86_64), the child is a
/// `clone3(CLONE_VM | CLONE_VFORK)` on a stack of its own, born in
/// `cgroup` if one is given: it borrows this process's memory, which waits
/// until the child has exec'd, so nothing is copied and the child's exec
/// has nothing to tear down (a fork costs the page-table copy and the
/// teardown, 0.15-0.2 ms of the chain's critical path here). Otherwise,
/// or when clone3 is refused, [`fork_supervised_into`] and then
/// [`fork_supervised`].
///
/// `pid_ns`: where the child's PID lives ([`ChildPidNs`]). A time
/// namespace waiting for the children is no obstacle: the kernel leaves a
/// CLONE_VM child in the caller's (their memory shares one clock page) and
/// moves it into the new one at its exec.
pub fn spawn_supervised(
    deathsig: i32,
    cgroup: Option<BorrowedFd<'_>>,
    pid_ns: ChildPidNs,
    child: impl FnOnce(bool) -> Error,
) -> Result<Supervisor> {
    #[cfg(target_arch = "x86_64")]
    let result = match vfork::spawn(deathsig, cgroup, pid_ns, child) {
        Ok(supervisor) => Ok(supervisor),
        Err(vfork::Refused(e, back)) => {
            trace::note(format_args!("{e}: forking instead"));
            fork_then(deathsig, cgroup, back)
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let result = fork_then(deathsig, cgroup, child);
    result.map(|mut supervisor| {
        supervisor.pid1 = pid_ns == ChildPidNs::NewPid1;
        supervisor
    })
}

/// Where a [`spawn_supervised`] child's PID lives: it decides how the
/// child checks that its parent is alive, and whether the supervisor acts
/// for a PID 1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChildPidNs {
    /// The parent's PID namespace (cgctl): getppid is the check.
    Own,
    /// One the parent joined for its children (nsenter-rs -p): getppid
    /// is 0 there, so a pidfd of the parent is the check.
    Joined,
    /// One the parent unshared, the child its PID 1 (unshare-rs -p): a
    /// pidfd, /proc opened for the signal emulation, [`Supervisor::pid1`].
    NewPid1,
}

fn fork_then(
    deathsig: i32,
    cgroup: Option<BorrowedFd<'_>>,
    child: impl FnOnce(bool) -> Error,
) -> Result<Supervisor> {
    let (forked, inside) = match cgroup.map(|dir| fork_supervised_into(deathsig, Some(dir))) {
        Some(Ok(forked)) => (forked, true),
        Some(Err(e)) => {
            trace::note(format_args!("{e}: the child forks and moves in instead"));
            (fork_supervised(deathsig)?, false)
        }
        None => (fork_supervised(deathsig)?, false),
    };
    match forked {
        Forked::Parent(supervisor) => Ok(supervisor),
        Forked::Child => crate::cli::fail_in_child(child(inside)),
    }
}

#[cfg(target_arch = "x86_64")]
mod vfork {
    use super::*;

    /// The child's stack ([`map_stack`]). What the child runs is one
    /// exec's preparation.
    const STACK: usize = 256 * 1024;

    /// clone3 refused (old kernel, a group that cannot take the child):
    /// the error, and the child's work back for a fork.
    pub struct Refused<F>(pub Error, pub F);

    struct Start<F> {
        child: Option<F>,
        prepared: Option<Prepared>,
        deathsig: i32,
        inside: bool,
    }

    pub fn spawn<F: FnOnce(bool) -> Error>(
        deathsig: i32,
        cgroup: Option<BorrowedFd<'_>>,
        pid_ns: ChildPidNs,
        child: F,
    ) -> std::result::Result<Supervisor, Refused<F>> {
        let stack = match map_stack(STACK, "a child's stack") {
            Ok(stack) => stack,
            Err(e) => return Err(Refused(e, child)),
        };
        let prepared = match Prepared::new(pid_ns) {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: our mapping, unused.
                unsafe { libc::munmap(stack, STACK) };
                return Err(Refused(e, child));
            }
        };
        let mut start = Start {
            child: Some(child),
            prepared: Some(prepared),
            deathsig,
            inside: cgroup.is_some(),
        };
        const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
        let args = CloneArgs {
            flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64
                | if cgroup.is_some() {
                    CLONE_INTO_CGROUP
                } else {
                    0
                },
            exit_signal: libc::SIGCHLD as u64,
            stack: stack as u64,
            stack_size: STACK as u64,
            cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
            ..CloneArgs::default()
        };
        let begin = std::time::Instant::now();
        // SAFETY: the child runs `entry` on the new stack while this
        // process waits (CLONE_VFORK) until it has exec'd or exited; `start`
        // lives in this frame across the call.
        let ret = unsafe { clone3_on_stack(&args, entry::<F>, (&raw mut start).cast()) };
        // SAFETY: the child has exec'd or exited: nothing runs on the stack.
        unsafe { libc::munmap(stack, STACK) };
        let prepared = start.prepared.take();
        if ret < 0 {
            let e = Error::sys(
                "clone3",
                "CLONE_VM|CLONE_VFORK (a supervised child)",
                Errno::from_raw(-ret as i32),
            );
            if let Some(p) = prepared {
                p.undo();
            }
            let child = start.child.take().expect("no child ran");
            return Err(Refused(e, child));
        }
        let child = Pid::from_raw(ret as i32);
        trace::step(
            format_args!(
                "clone3 CLONE_VM|CLONE_VFORK{} = child {child}, supervised, exec'd",
                if cgroup.is_some() {
                    "|CLONE_INTO_CGROUP"
                } else {
                    ""
                }
            ),
            begin.elapsed(),
        );
        match prepared {
            Some(p) => Ok(p.supervisor(child)),
            None => unreachable!("the child only reads the prepared state"),
        }
    }

    /// The child: on its own stack, in the parent's memory (the parent
    /// waits). It ends in an exec or in `_exit`, never by returning.
    extern "C" fn entry<F: FnOnce(bool) -> Error>(arg: *mut libc::c_void) -> ! {
        // SAFETY: `arg` is the parent's `Start`, which outlives this child
        // (the parent is suspended until the exec or the exit).
        let start = unsafe { &mut *arg.cast::<Start<F>>() };
        // The prepared state is the parent's: the child only reads it (its
        // fds are close-on-exec numbers in the child's own fd table).
        if let Some(prepared) = &start.prepared
            && let Err(e) = prepared.child_steps(start.deathsig)
        {
            crate::cli::fail_in_child(e);
        }
        let child = start.child.take().expect("child's work");
        crate::cli::fail_in_child(child(start.inside))
    }

    /// clone3 whose child starts on the new stack (the kernel sets its
    /// stack pointer to `stack + stack_size`) in `entry(arg)`.
    unsafe fn clone3_on_stack(
        args: &CloneArgs,
        entry: extern "C" fn(*mut libc::c_void) -> !,
        arg: *mut libc::c_void,
    ) -> i64 {
        let ret: i64;
        // SAFETY: the parent's side is a plain syscall (rcx and r11
        // clobbered); the child's side never returns into this code.
        unsafe {
            std::arch::asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "xor ebp, ebp",
                "mov rdi, r12",
                "call r13",
                "ud2",
                "2:",
                inlateout("rax") libc::SYS_clone3 => ret,
                in("rdi") args as *const CloneArgs,
                in("rsi") std::mem::size_of::<CloneArgs>(),
                in("r12") arg,
                in("r13") entry,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }
}

/// A stack of `len` bytes for a child that shares this process's memory
/// (helpers, vfork children): a fresh anonymous mapping whose lowest page
/// is a guard, so that an overflow faults instead of running into whatever
/// lies below. Returns its lowest address.
pub(crate) fn map_stack(len: usize, what: &str) -> Result<*mut libc::c_void> {
    const PAGE: usize = 4096;
    // SAFETY: a fresh anonymous mapping; nothing else refers to it.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(Error::sys("mmap", what, Errno::last()));
    }
    // SAFETY: the lowest page of the mapping just made.
    if unsafe { libc::mprotect(base, PAGE, libc::PROT_NONE) } != 0 {
        let errno = Errno::last();
        // SAFETY: our mapping, unused.
        unsafe { libc::munmap(base, len) };
        return Err(Error::sys(
            "mprotect",
            format_args!("{what}'s guard page"),
            errno,
        ));
    }
    Ok(base)
}

/// struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// fork(2) as clone3(CLONE_INTO_CGROUP): the child starts in `cgroup`.
///
/// The child is a copy like fork's (no CLONE_VM, the stack is the copy's),
/// but the C library is not told: musl's cached thread id stays the
/// parent's in the child. The child therefore only makes syscalls until it
/// execs (as every caller's child does), nothing that signals "itself".
fn clone_into_cgroup(cgroup: BorrowedFd<'_>) -> Result<nix::unistd::ForkResult> {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM duplicates the process like fork; the
    // argument struct lives across the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match Errno::result(ret) {
        Ok(0) => Ok(nix::unistd::ForkResult::Child),
        Ok(pid) => Ok(nix::unistd::ForkResult::Parent {
            child: Pid::from_raw(pid as i32),
        }),
        Err(e) => Err(Error::sys("clone3", "CLONE_INTO_CGROUP", e)),
    }
}

/// Sets SIGCHLD's disposition, returning the previous one.
fn set_sigchld(handler: libc::sighandler_t) -> Result<libc::sighandler_t> {
    sys("sigaction", "SIGCHLD", || {
        // SAFETY: installs SIG_DFL or a disposition previously read back.
        let old = unsafe { libc::signal(libc::SIGCHLD, handler) };
        if old == libc::SIG_ERR {
            Err(Errno::last())
        } else {
            Ok(old)
        }
    })
}

/// A pidfd for `pid`, or None on kernels before 5.3 (then the race check
/// falls back to nothing, as util-linux did before 2.39).
pub fn pidfd_open(pid: Pid) -> Result<Option<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    match Errno::result(fd) {
        // SAFETY: the kernel just returned this fd to us; pidfds are always close-on-exec.
        Ok(fd) => Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })),
        Err(Errno::ENOSYS) => Ok(None),
        Err(e) => Err(Error::sys("pidfd_open", pid, e)),
    }
}

/// Whether the process behind a pidfd has exited (the fd polls readable).
pub fn process_exited(pidfd: &OwnedFd) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
}

impl Supervisor {
    /// Forwards signals to the child and reaps children until the child
    /// ends; returns the status to exit with.
    pub fn wait(self) -> i32 {
        let set = supervised_set();
        // The original signal when the supervisor had to kill a PID 1 that
        // ignored it: the exit status then reports that signal.
        let mut emulated: Option<i32> = None;
        // SAFETY: getpid cannot fail.
        let me = unsafe { libc::getpid() };
        loop {
            // SAFETY: zeroed is a valid siginfo to fill; valid set.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let sig = unsafe { libc::sigwaitinfo(&set, &mut info) };
            if sig < 0 {
                continue; // EINTR (a stop/continue of ourselves)
            }
            if sig != libc::SIGCHLD {
                // A signal the supervisor raised itself is not the caller's
                // to pass on: a write to a stderr whose reader is gone
                // raises SIGPIPE (SI_USER, our own pid), and that signal
                // stays pending here, blocked, although it is ignored.
                // Forwarded, it would kill the workload, and its trace line
                // would raise the next one: a lower number than SIGCHLD, it
                // would be taken first forever, and the exit never reaped.
                // SAFETY: si_pid is valid for SI_USER.
                if info.si_code == libc::SI_USER && unsafe { info.si_pid() } == me {
                    continue;
                }
                self.forward(sig, &mut emulated);
                continue;
            }
            if let Some(status) = self.reap(emulated) {
                return status;
            }
        }
    }

    fn forward(&self, sig: i32, emulated: &mut Option<i32>) {
        // Decide before forwarding: a handler installed with SA_RESETHAND is
        // back to the default once the signal has arrived, and must not be
        // mistaken for none.
        let emulate = self.pid1 && terminates_by_default(sig) && !self.child_handles(sig);
        trace::note(format_args!("forwarding signal {sig} to {}", self.child));
        // SAFETY: kill of our own unreaped child: its pid cannot be reused.
        unsafe { libc::kill(self.child.as_raw(), sig) };
        if emulate {
            trace::note(format_args!(
                "PID 1 {} has no handler for signal {sig}: killing it, as the default action would",
                self.child
            ));
            *emulated = Some(sig);
            // SAFETY: as above.
            unsafe { libc::kill(self.child.as_raw(), libc::SIGKILL) };
        }
    }

    /// Whether the child catches, blocks or ignores `sig` (from the SigCgt,
    /// SigBlk and SigIgn masks of /proc/PID/status), or sleeps in
    /// sigwaitinfo/sigtimedwait, as tini and our --init do: during that
    /// call the kernel takes the waited signals out of SigBlk, yet still
    /// delivers them. When this cannot be read, the child is assumed to
    /// handle the signal: never kill on a guess.
    fn child_handles(&self, sig: i32) -> bool {
        let Some(proc_root) = &self.proc_root else {
            return true;
        };
        let read = |name: &str| -> Option<String> {
            let path = format!("{}/{name}", self.child);
            let fd = openat(
                proc_root,
                path.as_str(),
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            std::io::read_to_string(std::fs::File::from(fd)).ok()
        };
        if read("wchan").is_some_and(|w| w.contains("sigtimedwait")) {
            return true;
        }
        read("status")
            .and_then(|text| signal_handled(&text, sig))
            .unwrap_or(true)
    }

    /// Reaps every child that has changed state. Returns the status to exit
    /// with once the supervised child has ended.
    fn reap(&self, emulated: Option<i32>) -> Option<i32> {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid status pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::WUNTRACED) };
            if pid <= 0 {
                return None; // nothing more to reap now (0) or no children (ECHILD)
            }
            if pid != self.child.as_raw() {
                continue; // a helper or an orphan re-parented to us
            }
            if libc::WIFSTOPPED(status) {
                // Mirror the stop to our own parent (the shell's job control);
                // the SIGCONT that resumes us is forwarded to the child.
                trace::note(format_args!("child {pid} stopped; stopping too"));
                // SAFETY: stopping ourselves.
                unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
                continue;
            }
            let killed_by_us = libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL;
            let code = match emulated {
                Some(sig) if killed_by_us => 128 + sig,
                _ => exit::status_of_raw(status)?,
            };
            trace::note(format_args!("child {pid} ended: exit status {code}"));
            return Some(code);
        }
    }
}

/// From the text of /proc/PID/status: does the process catch, block or
/// ignore `sig`? None if the masks are missing.
pub fn signal_handled(status: &str, sig: i32) -> Option<bool> {
    let bit = 1u64 << (sig - 1);
    let mut seen = 0;
    let mut handled = false;
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if matches!(key, "SigBlk" | "SigIgn" | "SigCgt") {
            let mask = u64::from_str_radix(value.trim(), 16).ok()?;
            handled |= mask & bit != 0;
            seen += 1;
        }
    }
    (seen == 3).then_some(handled)
}

/// Sends `sig` to a raw pid (used by tools that relay signals themselves).
pub fn send(pid: Pid, sig: i32) -> Result<()> {
    sys("kill", format_args!("{pid} signal {sig}"), || {
        // SAFETY: plain kill(2).
        Errno::result(unsafe { libc::kill(pid.as_raw(), sig) }).map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsleep\nSigQ:\t0/95000\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n\
SigBlk:\t0000000000000000\nSigIgn:\t0000000000000004\nSigCgt:\t0000000000002001\n";

    #[test]
    fn reads_signal_masks() {
        assert_eq!(signal_handled(STATUS, libc::SIGTERM), Some(false)); // bit 15 clear
        assert_eq!(signal_handled(STATUS, libc::SIGHUP), Some(true)); // caught (bit 1)
        assert_eq!(signal_handled(STATUS, libc::SIGQUIT), Some(true)); // ignored (bit 3)
        assert_eq!(signal_handled(STATUS, libc::SIGALRM), Some(true)); // caught (bit 14)
        assert_eq!(signal_handled("Name: x\n", libc::SIGTERM), None);
    }

    #[test]
    fn forwards_catchable_signals_only() {
        let s = forwarded_signals();
        for sig in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGWINCH,
        ] {
            assert!(s.contains(&sig), "{sig} should be forwarded");
        }
        for sig in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGCHLD,
            libc::SIGSEGV,
            libc::SIGBUS,
        ] {
            assert!(!s.contains(&sig), "{sig} must not be forwarded");
        }
        assert!(s.contains(&libc::SIGRTMIN()) && s.contains(&libc::SIGRTMAX()));
    }

    #[test]
    fn default_actions() {
        assert!(terminates_by_default(libc::SIGTERM));
        assert!(terminates_by_default(libc::SIGUSR1));
        assert!(terminates_by_default(libc::SIGRTMIN()));
        assert!(!terminates_by_default(libc::SIGWINCH));
        assert!(!terminates_by_default(libc::SIGCONT));
    }
}
