//! The parts of `chain` that fork, exercised without privileges (no
//! namespaces, no root): the supervisor ([`fork_supervised`],
//! `Supervisor::wait`), the input of the PID 1 decision (`signal_handled` on a
//! live `/proc/PID/status`) and the outside-step protocol (`fork_helper`,
//! `Helper::run`, `hand_down`, `take_waiting_helpers`, late helpers and
//! `late::before_exec`).
//!
//! Threads and signals. The library blocks signals and waits for them with
//! `sigwaitinfo`, assuming a single-threaded process; libtest runs each test
//! on a thread of its own while its main thread waits. So:
//! - everything runs in ONE `#[test]`, part after part, so there is only one
//!   test thread; the parts are ordered (the first one saves the "original"
//!   signal mask for the whole binary, a `OnceLock` in the library);
//! - signals for the supervisor are sent to the test thread with `tgkill`
//!   (a thread-directed signal is taken by `sigwaitinfo` on that thread),
//!   never with a process-directed `kill` of the test process;
//! - SIGCHLD, which the kernel sends to the process, is blocked in libtest's
//!   main thread before `main` runs (see [`BLOCK_SIGCHLD_IN_MAIN_THREAD`]);
//! - after every supervisor run the test thread's mask is emptied again;
//! - forked children run only short code and end with `_exit`, never
//!   returning into the harness.
//!
//! A SIGALRM watchdog ends the whole binary if a part hangs: the main thread
//! does not block SIGALRM, so it is never taken by a supervisor's
//! `sigwaitinfo` (which would forward it instead of failing).

use chain::outside::{self, SYNC_FDS_VAR};
use chain::supervise::{self, Forked, fork_supervised};
use chain::{Error, exec, trace};
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// SIGCHLD is process-directed. When a child ends while the supervising
/// thread is not inside `sigwaitinfo` (typically: before `Supervisor::wait`
/// has started), the kernel gives the signal to a thread that does not block
/// it, libtest's main thread, whose default action for SIGCHLD discards it;
/// `wait` would then never return. This entry of `.init_array` runs on the
/// main thread before `main` and blocks SIGCHLD there, so it stays pending for
/// the test thread (which inherits the mask and manages its own). The tools
/// themselves are single-threaded and do not need this.
#[used]
#[unsafe(link_section = ".init_array")]
static BLOCK_SIGCHLD_IN_MAIN_THREAD: extern "C" fn() = block_sigchld;

extern "C" fn block_sigchld() {
    let set = sigset(&[libc::SIGCHLD]);
    // SAFETY: valid set pointer; no old mask requested.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

// ---------------------------------------------------------------- helpers --

use chain::supervise::sigset_of as sigset;

/// Sets the calling thread's signal mask to exactly `signals`.
fn set_mask(signals: &[i32]) {
    let set = sigset(signals);
    // SAFETY: valid set pointer; no old mask requested.
    let rc = unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigprocmask");
}

/// The first signal (1..=SIGRTMAX) whose blocked state in the calling
/// thread differs from "blocked exactly when listed in `expected`".
fn mask_mismatch(expected: &[i32]) -> Option<i32> {
    // SAFETY: sigprocmask only writes the current mask into `cur`.
    unsafe {
        let mut cur: libc::sigset_t = std::mem::zeroed();
        if libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), &mut cur) != 0 {
            return Some(0);
        }
        (1..=libc::SIGRTMAX())
            .find(|&sig| (libc::sigismember(&cur, sig) == 1) != expected.contains(&sig))
    }
}

fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::pid_t }
}

/// Sends `sig` to one thread: the supervising thread of the test process.
fn tgkill(pid: libc::pid_t, tid: libc::pid_t, sig: i32) -> bool {
    // SAFETY: plain tgkill(2).
    unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, sig) == 0 }
}

fn pdeathsig() -> i32 {
    let mut sig: libc::c_int = -1;
    // SAFETY: PR_GET_PDEATHSIG writes one int through the pointer.
    unsafe { libc::prctl(libc::PR_GET_PDEATHSIG, &mut sig as *mut libc::c_int) };
    sig
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// Ends a forked child with `body`'s value, never returning into the harness.
fn child_exit(body: impl FnOnce() -> i32) -> ! {
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(99);
    // SAFETY: _exit ends the forked child without running the harness's code.
    unsafe { libc::_exit(code) }
}

/// Forks a supervised child that runs `body` and exits with its value; in the
/// test process, supervises it and returns the supervisor's status. The test
/// thread's signal mask is emptied afterwards.
fn supervised(deathsig: i32, pid1: bool, body: impl FnOnce() -> i32) -> i32 {
    let test_pid = std::process::id();
    let forked = fork_supervised(deathsig);
    if std::process::id() != test_pid {
        child_exit(|| match forked {
            Ok(Forked::Child) => body(),
            _ => 125,
        });
    }
    let status = match forked.expect("fork_supervised") {
        Forked::Parent(mut sup) => {
            sup.pid1 = pid1;
            sup.wait()
        }
        Forked::Child => unreachable!("the child ends in child_exit"),
    };
    set_mask(&[]);
    status
}

/// A plain child (no library code) that runs `setup`, reports through a pipe
/// that it is ready and then pauses until it is killed.
fn spawn_paused(setup: fn()) -> Pid {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-int array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the two fds were just created and are owned here.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child runs only async-signal-safe calls and `setup`, then pauses.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        child_exit(|| {
            // SAFETY: prctl, write and pause with valid arguments.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                setup();
                libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1);
                loop {
                    libc::pause();
                }
            }
        });
    }
    drop(w);
    let mut byte = [0u8; 1];
    // SAFETY: reads one byte into a valid buffer.
    let n = unsafe { libc::read(r.as_raw_fd(), byte.as_mut_ptr().cast(), 1) };
    assert_eq!(n, 1, "paused child {pid} did not get ready");
    Pid::from_raw(pid)
}

fn pidfd_open(pid: Pid) -> OwnedFd {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    assert!(fd >= 0, "pidfd_open {pid}: {}", Errno::last());
    // SAFETY: the kernel just returned this fd.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

fn fd_flags(fd: RawFd) -> Result<i32, Errno> {
    // SAFETY: F_GETFD on any number is harmless.
    Errno::result(unsafe { libc::fcntl(fd, libc::F_GETFD) })
}

/// The SIGALRM watchdog (see the module comment).
struct Watchdog;

impl Watchdog {
    fn arm(seconds: u32) -> Watchdog {
        // SAFETY: alarm(2) only schedules a signal.
        unsafe { libc::alarm(seconds) };
        Watchdog
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // SAFETY: cancels the pending alarm.
        unsafe { libc::alarm(0) };
    }
}

/// A scratch directory removed at the end, even when a part fails.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("chain-fork-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sets or removes CHAIN_SYNC_FDS.
fn set_sync_fds(value: Option<&str>) {
    // SAFETY: this test binary has a single test thread, and libtest's main
    // thread does not read the environment while the test runs.
    unsafe {
        match value {
            Some(v) => std::env::set_var(SYNC_FDS_VAR, v),
            None => std::env::remove_var(SYNC_FDS_VAR),
        }
    }
}

// ------------------------------------------------------------------ parts --

/// The caller's mask (here: SIGUSR2 only) and SIGCHLD disposition (here:
/// ignored) are what the supervised child runs with, while the supervisor
/// itself sets SIGCHLD to default so that it can still reap the child.
fn child_gets_original_signal_state() {
    set_mask(&[libc::SIGUSR2]);
    exec::save_signal_state();
    // SAFETY: sets a disposition; no handler code is involved.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let status = supervised(libc::SIGKILL, false, || {
        if let Some(sig) = mask_mismatch(&[libc::SIGUSR2]) {
            return 10 + sig; // this signal's blocked state is wrong
        }
        // SAFETY: reads the current disposition only.
        let handler = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old);
            old.sa_sigaction
        };
        if handler != libc::SIG_IGN { 100 } else { 0 }
    });
    assert_eq!(
        status, 0,
        "child's signal state (10+N: mask wrong for N; 100: SIGCHLD)"
    );
    // SAFETY: reads the current disposition only.
    let handler = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old);
        old.sa_sigaction
    };
    assert_eq!(
        handler,
        libc::SIG_DFL,
        "the supervisor resets SIGCHLD to default"
    );
    assert_eq!(mask_mismatch(&[]), None, "test thread mask emptied");
}

/// Exit codes pass through; a death by signal N is 128+N.
fn exit_statuses() {
    assert_eq!(supervised(libc::SIGKILL, false, || 7), 7);
    assert_eq!(supervised(libc::SIGKILL, false, || 0), 0);
    let raise = |sig: i32| {
        // SAFETY: raise(3) of a signal whose default action ends the child.
        move || unsafe { libc::raise(sig) + 1 }
    };
    assert_eq!(supervised(libc::SIGKILL, false, raise(libc::SIGKILL)), 137);
    // SIGTERM has its default disposition and is not in the original mask.
    assert_eq!(supervised(libc::SIGKILL, false, raise(libc::SIGTERM)), 143);
    let rt = libc::SIGRTMIN() + 1;
    assert_eq!(supervised(libc::SIGKILL, false, raise(rt)), 128 + rt);
}

/// The child sends `sig` to the supervising thread, which must forward it
/// back, `count` times (real-time signals queue, so none may be lost).
fn forwarded(sig: i32, count: usize) -> i32 {
    let pid = std::process::id() as libc::pid_t;
    let tid = gettid();
    supervised(libc::SIGKILL, false, move || {
        let set = sigset(&[sig]);
        // SAFETY: sigprocmask and sigwaitinfo with valid pointers.
        unsafe {
            if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return 1;
            }
            for _ in 0..count {
                if !tgkill(pid, tid, sig) {
                    return 2;
                }
            }
            for _ in 0..count {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                if libc::sigwaitinfo(&set, &mut info) != sig {
                    return 3;
                }
                if info.si_pid() != pid {
                    return 4; // not sent by the supervisor
                }
            }
        }
        42
    })
}

fn signals_are_forwarded() {
    assert_eq!(forwarded(libc::SIGUSR1, 1), 42, "SIGUSR1");
    assert_eq!(forwarded(libc::SIGTERM, 1), 42, "SIGTERM");
    assert_eq!(forwarded(libc::SIGRTMIN() + 1, 1), 42, "SIGRTMIN+1");
    assert_eq!(forwarded(libc::SIGRTMIN() + 2, 3), 42, "3 x SIGRTMIN+2");
}

/// Ctrl-Z: when the child stops, the supervisor stops itself (the whole test
/// process stops); the SIGCONT that resumes it is forwarded to the child. A
/// grandchild watches for the stop and sends that SIGCONT.
fn stop_is_mirrored() {
    let pid = std::process::id() as libc::pid_t;
    let tid = gettid();
    let stat = CString::new(format!("/proc/{pid}/stat")).unwrap();
    let status = supervised(libc::SIGKILL, false, move || {
        // SAFETY: fork of this single-threaded child.
        let watcher = unsafe { libc::fork() };
        if watcher < 0 {
            return 1;
        }
        if watcher == 0 {
            child_exit(|| {
                let saw_stop = wait_for_stopped(&stat, Duration::from_secs(20));
                // Resume the supervisor in any case, so that nothing hangs.
                tgkill(pid, tid, libc::SIGCONT);
                if saw_stop { 0 } else { 1 }
            });
        }
        // SAFETY: raise and waitpid with valid arguments.
        unsafe {
            libc::raise(libc::SIGSTOP);
            // Here the forwarded SIGCONT has resumed us.
            let mut st = 0;
            if libc::waitpid(watcher, &mut st, 0) != watcher {
                return 2;
            }
            if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
                44
            } else {
                45 // the supervisor was never seen stopped
            }
        }
    });
    assert_eq!(status, 44, "stop mirrored and SIGCONT forwarded");
}

/// Polls the state field of /proc/PID/stat (after the last ')') for 'T'.
fn wait_for_stopped(stat: &CString, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let mut buf = [0u8; 512];
        // SAFETY: open/read/close with a valid path and buffer.
        let n = unsafe {
            let fd = libc::open(stat.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return false;
            }
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            libc::close(fd);
            n
        };
        if n > 0 {
            let text = &buf[..n as usize];
            if let Some(close) = text.iter().rposition(|&b| b == b')')
                && text.get(close + 2) == Some(&b'T')
            {
                return true;
            }
        }
        sleep_ms(1);
    }
    false
}

/// The child's parent-death signal is the one asked for.
fn death_signal_is_armed() {
    for sig in [libc::SIGKILL, libc::SIGTERM, libc::SIGHUP] {
        assert_eq!(supervised(sig, false, pdeathsig), sig, "PR_GET_PDEATHSIG");
    }
}

/// When the supervisor dies, the child gets the death signal. A plain child
/// of the test plays the tool (it supervises a grandchild); the test process
/// becomes a subreaper so that the orphaned grandchild is reparented to it
/// and its end can be read with waitpid.
fn supervisor_death_kills_child() {
    // SAFETY: prctl with integer arguments.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) }, 0);

    // 1. The supervisor is killed once the child runs.
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-int array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the two fds were just created and are owned here.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the forked tool runs library code and ends with _exit.
    let tool = unsafe { libc::fork() };
    assert!(tool >= 0, "fork");
    if tool == 0 {
        child_exit(|| match fork_supervised(libc::SIGTERM) {
            Ok(Forked::Child) => {
                let me = std::process::id().to_ne_bytes();
                // SAFETY: writes 4 bytes from a valid buffer.
                unsafe { libc::write(w.as_raw_fd(), me.as_ptr().cast(), me.len()) };
                sleep_ms(10_000);
                3 // survived its supervisor
            }
            Ok(Forked::Parent(sup)) => sup.wait(),
            Err(_) => 125,
        });
    }
    drop(w);
    let mut buf = [0u8; 4];
    // SAFETY: reads 4 bytes into a valid buffer.
    let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
    assert_eq!(n, 4, "supervised grandchild did not start");
    let grandchild = Pid::from_raw(i32::from_ne_bytes(buf));
    let tool = Pid::from_raw(tool);
    supervise::send(tool, libc::SIGKILL).unwrap();
    assert_eq!(
        waitpid(tool, None),
        Ok(WaitStatus::Signaled(tool, nix::sys::signal::SIGKILL, false))
    );
    assert_eq!(
        waitpid(grandchild, None),
        Ok(WaitStatus::Signaled(
            grandchild,
            nix::sys::signal::SIGTERM,
            false
        )),
        "the child must die of its death signal with the supervisor"
    );

    // 2. The supervisor exits right after the fork, racing with the child's
    // arming of the death signal: either the race check or the death signal
    // ends the child, which never outlives its supervisor.
    for _ in 0..5 {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills the two-int array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: the two fds were just created and are owned here.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: as above.
        let tool = unsafe { libc::fork() };
        assert!(tool >= 0, "fork");
        if tool == 0 {
            child_exit(|| match fork_supervised(libc::SIGTERM) {
                Ok(Forked::Child) => {
                    sleep_ms(10_000);
                    3
                }
                Ok(Forked::Parent(sup)) => {
                    let me = sup.child.as_raw().to_ne_bytes();
                    // SAFETY: writes 4 bytes from a valid buffer.
                    unsafe { libc::write(w.as_raw_fd(), me.as_ptr().cast(), me.len()) };
                    0
                }
                Err(_) => 125,
            });
        }
        drop(w);
        let mut buf = [0u8; 4];
        // SAFETY: reads 4 bytes into a valid buffer.
        let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
        assert_eq!(n, 4, "tool did not report its child");
        let grandchild = Pid::from_raw(i32::from_ne_bytes(buf));
        let tool = Pid::from_raw(tool);
        assert_eq!(waitpid(tool, None), Ok(WaitStatus::Exited(tool, 0)));
        let end = waitpid(grandchild, None).unwrap();
        assert!(
            matches!(
                end,
                WaitStatus::Exited(_, 125)
                    | WaitStatus::Signaled(_, nix::sys::signal::SIGTERM, false)
            ),
            "orphaned child ended with {end:?}"
        );
    }

    // SAFETY: prctl with integer arguments.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 0) }, 0);
}

extern "C" fn on_signal(_: libc::c_int) {}

fn block_sigterm_catch_usr1_ignore_hup() {
    let set = sigset(&[libc::SIGTERM]);
    // SAFETY: mask and dispositions of this child only; the handler is empty.
    unsafe {
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::signal(
            libc::SIGUSR1,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

/// What the PID 1 emulation decides on: the masks of a live child's
/// /proc/PID/status. Also: a pidfd polls readable once its process ended.
fn pid1_decision_input() {
    let handled = |pid: Pid, sig: i32| {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        supervise::signal_handled(&text, sig)
    };
    let plain = spawn_paused(|| {});
    let handling = spawn_paused(block_sigterm_catch_usr1_ignore_hup);
    // (SIGINT, SIGQUIT and SIGHUP may be ignored by whoever started the
    // tests, e.g. a shell's background job; a plain child inherits that.)
    for sig in [libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2] {
        assert_eq!(
            handled(plain, sig),
            Some(false),
            "plain child, signal {sig}"
        );
    }
    assert_eq!(handled(handling, libc::SIGTERM), Some(true), "blocked");
    assert_eq!(handled(handling, libc::SIGUSR1), Some(true), "caught");
    assert_eq!(handled(handling, libc::SIGHUP), Some(true), "ignored");
    assert_eq!(
        handled(handling, libc::SIGUSR2),
        Some(false),
        "none of these"
    );

    for pid in [plain, handling] {
        let pidfd = pidfd_open(pid);
        assert!(!supervise::process_exited(&pidfd), "{pid} still runs");
        supervise::send(pid, libc::SIGKILL).unwrap();
        let start = Instant::now();
        while !supervise::process_exited(&pidfd) {
            assert!(start.elapsed() < Duration::from_secs(10), "{pid} not ended");
            sleep_ms(1);
        }
        assert_eq!(
            waitpid(pid, None),
            Ok(WaitStatus::Signaled(pid, nix::sys::signal::SIGKILL, false))
        );
    }
}

static CAUGHT: AtomicBool = AtomicBool::new(false);

extern "C" fn set_caught(_: libc::c_int) {
    CAUGHT.store(true, Ordering::SeqCst);
}

/// `Supervisor::pid1` on an ordinary child: a SIGTERM the child blocks or
/// catches must not make the supervisor kill it; one it does not handle ends
/// it with 143 (whether by the signal itself or by the emulation).
fn pid1_flag_respects_handled_signals() {
    let pid = std::process::id() as libc::pid_t;
    let tid = gettid();
    // Blocked (it stays pending).
    assert_eq!(blocked_sigterm_pid1(pid, tid), 42, "blocked SIGTERM");
    // Caught by a handler.
    let status = supervised(libc::SIGKILL, true, move || {
        // SAFETY: installs a handler that only stores to an atomic.
        unsafe {
            libc::signal(
                libc::SIGTERM,
                set_caught as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
        if !tgkill(pid, tid, libc::SIGTERM) {
            return 2;
        }
        let start = Instant::now();
        while !CAUGHT.load(Ordering::SeqCst) {
            if start.elapsed() > Duration::from_secs(10) {
                return 3;
            }
            sleep_ms(1);
        }
        42
    });
    assert_eq!(status, 42, "caught SIGTERM");
    // Not handled at all.
    let status = supervised(libc::SIGKILL, true, move || {
        if !tgkill(pid, tid, libc::SIGTERM) {
            return 2;
        }
        sleep_ms(10_000);
        3
    });
    assert_eq!(status, 143, "unhandled SIGTERM");
}

/// A child that blocks SIGTERM and sees it arrive (pending) without sleeping
/// in `sigwaitinfo`: while a process sleeps there, the kernel unblocks the
/// waited signals in its `blocked` mask, so /proc/PID/status shows them as
/// NOT blocked and the PID 1 emulation kills it (a known library bug,
/// reported separately); polling `sigpending` keeps the mask as it is.
fn blocked_sigterm_pid1(pid: libc::pid_t, tid: libc::pid_t) -> i32 {
    supervised(libc::SIGKILL, true, move || {
        let set = sigset(&[libc::SIGTERM]);
        // SAFETY: sigprocmask and sigpending with valid pointers.
        unsafe {
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if !tgkill(pid, tid, libc::SIGTERM) {
                return 2;
            }
            let start = Instant::now();
            loop {
                let mut pending: libc::sigset_t = std::mem::zeroed();
                libc::sigpending(&mut pending);
                if libc::sigismember(&pending, libc::SIGTERM) == 1 {
                    break;
                }
                if start.elapsed() > Duration::from_secs(10) {
                    return 3;
                }
                sleep_ms(1);
            }
        }
        42
    })
}

fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Helper::run: the helper is told the pid, acts, answers, and is reaped.
fn helper_protocol(tmp: &TempDir) {
    // Told a pid, it acts on it.
    let out = tmp.0.join("helper-pid");
    let target = out.clone();
    let helper = outside::fork_helper(move |pid| {
        std::fs::write(&target, pid.to_string()).map_err(|e| Error::msg(e.to_string()))
    })
    .unwrap();
    let pid = helper.pid;
    helper.run(Pid::from_raw(1234), outside::Reap::Now).unwrap();
    assert_eq!(read_to_string(&out), "1234");
    assert_eq!(
        waitpid(pid, None),
        Err(Errno::ECHILD),
        "helper reaped by run"
    );

    // Its error comes back: the helper puts its program name in front
    // ("error chain: nope"), and the server drops that name again when it is
    // its own (both are "chain" here: trace::init was never called).
    assert_eq!(trace::prog(), "chain");
    let helper = outside::fork_helper(|_| Err(Error::msg("nope"))).unwrap();
    let pid = helper.pid;
    let err = helper
        .run(Pid::from_raw(1234), outside::Reap::Now)
        .unwrap_err();
    assert_eq!(err.to_string(), "nope");
    assert_eq!(
        waitpid(pid, None),
        Err(Errno::ECHILD),
        "helper reaped by run"
    );
    // A helper of another program keeps its name in the message.
    let helper = outside::fork_helper(|_| {
        trace::init("helper-prog"); // in the helper process only
        Err(Error::msg("nope"))
    })
    .unwrap();
    let pid = helper.pid;
    let err = helper
        .run(Pid::from_raw(1234), outside::Reap::Now)
        .unwrap_err();
    assert_eq!(err.to_string(), "helper-prog: nope");
    assert_eq!(trace::prog(), "chain", "init ran in the helper only");
    assert_eq!(
        waitpid(pid, None),
        Err(Errno::ECHILD),
        "helper reaped by run"
    );

    // It runs with the original mask (whatever the forking thread blocked)
    // and dies with the chain (PDEATHSIG SIGKILL).
    set_mask(&[libc::SIGUSR1, libc::SIGTERM]);
    let helper = outside::fork_helper(|_| {
        if let Some(sig) = mask_mismatch(&[libc::SIGUSR2]) {
            return Err(Error::msg(format!("signal {sig} wrongly (un)blocked")));
        }
        match pdeathsig() {
            libc::SIGKILL => Ok(()),
            other => Err(Error::msg(format!("death signal {other}"))),
        }
    })
    .unwrap();
    set_mask(&[]);
    helper.run(Pid::from_raw(1), outside::Reap::Now).unwrap();

    // A helper that dies without answering.
    let helper = outside::fork_helper(|_| {
        // SAFETY: ends the helper at once, as a crash would.
        unsafe { libc::_exit(3) }
    })
    .unwrap();
    let pid = helper.pid;
    let err = helper
        .run(Pid::from_raw(1234), outside::Reap::Now)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("helper {pid} ended without answering")) && err.ends_with(", 3))"),
        "{err}"
    );
    assert_eq!(
        waitpid(pid, None),
        Err(Errno::ECHILD),
        "helper reaped by run"
    );

    // Nobody comes: its socket closes and it exits quietly.
    let helper = outside::fork_helper(|_| Err(Error::msg("must not run"))).unwrap();
    let pid = helper.pid;
    drop(helper);
    assert_eq!(waitpid(pid, None), Ok(WaitStatus::Exited(pid, 0)));
}

/// hand_down passes the socket through CHAIN_SYNC_FDS; take_waiting_helpers
/// takes it back.
fn hand_down_and_take(tmp: &TempDir) {
    set_sync_fds(None);
    let out = tmp.0.join("handed-down");
    let target = out.clone();
    let helper = outside::fork_helper(move |pid| {
        std::fs::write(&target, pid.to_string()).map_err(|e| Error::msg(e.to_string()))
    })
    .unwrap();
    let pid = helper.pid;
    helper.hand_down().unwrap();
    let value = std::env::var(SYNC_FDS_VAR).unwrap();
    let (fd, listed) = value.split_once(':').unwrap();
    let fd: RawFd = fd.parse().unwrap();
    assert_eq!(listed, pid.to_string(), "{SYNC_FDS_VAR}={value}");
    let flags = fd_flags(fd).expect("handed-down fd open");
    assert_eq!(flags & libc::FD_CLOEXEC, 0, "handed-down fd survives exec");

    let mut helpers = outside::take_waiting_helpers().unwrap();
    assert_eq!(helpers.len(), 1);
    assert_eq!(helpers[0].pid, pid);
    assert!(std::env::var_os(SYNC_FDS_VAR).is_none(), "variable cleared");
    assert_ne!(
        fd_flags(fd).unwrap() & libc::FD_CLOEXEC,
        0,
        "fd close-on-exec again"
    );
    helpers
        .pop()
        .unwrap()
        .run(Pid::from_raw(77), outside::Reap::Now)
        .unwrap();
    assert_eq!(read_to_string(&out), "77");
    assert_eq!(fd_flags(fd), Err(Errno::EBADF), "fd closed after run");
    assert_eq!(waitpid(pid, None), Err(Errno::ECHILD), "helper reaped");

    // Two helpers, served nearest first (the last handed down first) by
    // serve_waiting_helpers.
    let order = tmp.0.join("order");
    std::fs::write(&order, "").unwrap();
    let mut pids = Vec::new();
    for name in ["first", "second"] {
        let log = order.clone();
        let helper = outside::fork_helper(move |pid| {
            let before = std::fs::read_to_string(&log).map_err(|e| Error::msg(e.to_string()))?;
            std::fs::write(&log, format!("{before}{name} {pid}\n"))
                .map_err(|e| Error::msg(e.to_string()))
        })
        .unwrap();
        pids.push(helper.pid);
        helper.hand_down().unwrap();
    }
    assert_eq!(std::env::var(SYNC_FDS_VAR).unwrap().split(',').count(), 2);
    outside::serve_waiting_helpers(Pid::from_raw(99), outside::Reap::Now).unwrap();
    assert_eq!(read_to_string(&order), "second 99\nfirst 99\n");
    assert!(std::env::var_os(SYNC_FDS_VAR).is_none(), "variable cleared");
    for pid in pids {
        assert_eq!(waitpid(pid, None), Err(Errno::ECHILD), "helper reaped");
    }

    // The nearest helper fails: the chain stops with its message; the outer
    // one, never told anything, exits quietly once its socket is dropped.
    let idle = outside::fork_helper(|_| Err(Error::msg("must not run"))).unwrap();
    let idle_pid = idle.pid;
    idle.hand_down().unwrap();
    let failing = outside::fork_helper(|_| Err(Error::msg("first failed"))).unwrap();
    let failing_pid = failing.pid;
    failing.hand_down().unwrap();
    let err = outside::serve_waiting_helpers(Pid::from_raw(99), outside::Reap::Now).unwrap_err();
    assert_eq!(err.to_string(), "first failed");
    assert_eq!(waitpid(failing_pid, None), Err(Errno::ECHILD));
    assert_eq!(waitpid(idle_pid, None), Ok(WaitStatus::Exited(idle_pid, 0)));
}

/// A late helper is told by serve_waiting_helpers but not awaited; its
/// answer goes into CHAIN_LATE_FDS, is left there for a chain tool, and is
/// awaited (helper reaped, fds closed, variable removed) before the exec of
/// anything else.
fn late_helpers(tmp: &TempDir) {
    use chain::late::{self, LATE_FDS_VAR};
    set_sync_fds(None);
    // SAFETY: this test binary has a single test thread.
    unsafe { std::env::remove_var(LATE_FDS_VAR) };
    let out = tmp.0.join("late");
    let target = out.clone();
    let helper = outside::fork_late_helper(move |pid| {
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(&target, pid.to_string()).map_err(|e| Error::msg(e.to_string()))
    })
    .unwrap();
    let pid = helper.pid;
    helper.hand_down().unwrap();
    let value = std::env::var(SYNC_FDS_VAR).unwrap();
    assert!(
        value.contains(&format!(":{pid}:late:")),
        "{SYNC_FDS_VAR}={value}"
    );

    let began = Instant::now();
    outside::serve_waiting_helpers(Pid::from_raw(55), outside::Reap::Now).unwrap();
    assert!(
        began.elapsed() < Duration::from_millis(250),
        "serving a late helper waited for its work ({:?})",
        began.elapsed()
    );
    assert!(!out.exists(), "the late helper's work cannot be done yet");
    let late_fds = std::env::var(LATE_FDS_VAR).expect("pending answer handed down");
    let entries = late::parse(&late_fds).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].pid, pid.as_raw());
    assert_eq!(fd_flags(entries[0].sock).unwrap() & libc::FD_CLOEXEC, 0);

    // The next program is a chain tool: the answer is left for it.
    late::before_exec(|| true).unwrap();
    assert_eq!(std::env::var(LATE_FDS_VAR).unwrap(), late_fds);
    assert!(!out.exists());
    // The next program is the workload: the answer is awaited first.
    late::before_exec(|| false).unwrap();
    assert_eq!(read_to_string(&out), "55");
    assert!(std::env::var_os(LATE_FDS_VAR).is_none(), "variable removed");
    assert_eq!(
        fd_flags(entries[0].sock),
        Err(Errno::EBADF),
        "socket closed"
    );
    if let Some(fd) = entries[0].pidfd {
        assert_eq!(fd_flags(fd), Err(Errno::EBADF), "pidfd closed");
    }
    assert_eq!(waitpid(pid, None), Err(Errno::ECHILD), "helper reaped");

    // A late helper that fails: the error comes at the workload's exec.
    let failing = outside::fork_late_helper(|_| Err(Error::msg("late failed"))).unwrap();
    let failing_pid = failing.pid;
    failing.hand_down().unwrap();
    outside::serve_waiting_helpers(Pid::from_raw(55), outside::Reap::Now).unwrap();
    let err = late::before_exec(|| false).unwrap_err();
    // The helper names its program (here the library's default name).
    assert_eq!(err.to_string(), format!("{}: late failed", trace::prog()));
    assert_eq!(err.status, 125);
    assert_eq!(
        waitpid(failing_pid, None),
        Err(Errno::ECHILD),
        "helper reaped"
    );

    // Never told (its socket dropped): it exits quietly, woken by the hang-up.
    let idle = outside::fork_late_helper(|_| Err(Error::msg("must not run"))).unwrap();
    let idle_pid = idle.pid;
    drop(idle);
    assert_eq!(waitpid(idle_pid, None), Ok(WaitStatus::Exited(idle_pid, 0)));
}

/// CHAIN_SYNC_FDS naming something that is not a handed-down socket.
fn bad_sync_fds(tmp: &TempDir) {
    // An fd that is not open.
    assert_eq!(
        fd_flags(999),
        Err(Errno::EBADF),
        "fd 999 must be free for this test"
    );
    set_sync_fds(Some("999:1"));
    let err = outside::take_waiting_helpers().unwrap_err().to_string();
    assert!(err.contains("999") && err.contains("not open"), "{err}");
    assert!(std::env::var_os(SYNC_FDS_VAR).is_none(), "variable cleared");

    // A regular file: refused, and left open (it is not the library's).
    let file = std::fs::File::create(tmp.0.join("plain")).unwrap();
    let fd = file.as_raw_fd();
    set_sync_fds(Some(&format!("{fd}:1")));
    let err = outside::take_waiting_helpers().unwrap_err().to_string();
    assert!(err.contains("not a socket"), "{err}");
    assert!(fd_flags(fd).is_ok(), "the file's fd must stay open");
    drop(file);

    // Garbage.
    set_sync_fds(Some("three:1"));
    let err = outside::take_waiting_helpers().unwrap_err().to_string();
    assert!(err.contains("bad entry"), "{err}");

    // Unset: nothing to serve.
    set_sync_fds(None);
    assert!(outside::take_waiting_helpers().unwrap().is_empty());
}

#[test]
fn forking_parts_of_the_library() {
    let _watchdog = Watchdog::arm(120);
    let saved_sync_fds: Option<OsString> = std::env::var_os(SYNC_FDS_VAR);
    let tmp = TempDir::new();

    child_gets_original_signal_state(); // first: saves the original mask
    exit_statuses();
    signals_are_forwarded();
    stop_is_mirrored();
    death_signal_is_armed();
    supervisor_death_kills_child();
    pid1_decision_input();
    pid1_flag_respects_handled_signals();
    helper_protocol(&tmp);
    hand_down_and_take(&tmp);
    late_helpers(&tmp);
    bad_sync_fds(&tmp);

    // SAFETY: this test binary has a single test thread.
    unsafe {
        match saved_sync_fds {
            Some(v) => std::env::set_var(SYNC_FDS_VAR, v),
            None => std::env::remove_var(SYNC_FDS_VAR),
        }
    }
}
