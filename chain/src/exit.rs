//! Exit statuses shared by every tool (the coreutils `env`/`chroot`, docker
//! and podman convention), so a setup failure never looks like a workload's
//! own exit code in the common cases.

use nix::sys::wait::WaitStatus;

/// The tool itself failed: bad usage or a setup step.
pub const TOOL_FAILED: i32 = 125;
/// The next program exists but could not be executed.
pub const CANNOT_EXECUTE: i32 = 126;
/// The next program was not found.
pub const NOT_FOUND: i32 = 127;

/// The status a forking tool exits with for its child's wait status: the
/// child's exit code, or 128+N when signal N killed it. `None` for states
/// that are not an end (stopped, continued).
pub fn status_of(wait: WaitStatus) -> Option<i32> {
    match wait {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// The same mapping for a raw `waitpid` status word (covers real-time
/// signals, which nix's `Signal` cannot name).
pub fn status_of_raw(status: i32) -> Option<i32> {
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;
    use nix::unistd::Pid;

    #[test]
    fn exit_code_passes_through() {
        assert_eq!(status_of(WaitStatus::Exited(Pid::from_raw(2), 7)), Some(7));
        assert_eq!(status_of(WaitStatus::Exited(Pid::from_raw(2), 0)), Some(0));
    }

    #[test]
    fn signal_becomes_128_plus_n() {
        let killed = WaitStatus::Signaled(Pid::from_raw(2), Signal::SIGKILL, false);
        assert_eq!(status_of(killed), Some(137));
        let termed = WaitStatus::Signaled(Pid::from_raw(2), Signal::SIGTERM, true);
        assert_eq!(status_of(termed), Some(143));
    }

    #[test]
    fn stop_is_not_an_end() {
        let stopped = WaitStatus::Stopped(Pid::from_raw(2), Signal::SIGTSTP);
        assert_eq!(status_of(stopped), None);
    }

    #[test]
    fn raw_status_words() {
        assert_eq!(status_of_raw(7 << 8), Some(7)); // exited 7
        assert_eq!(status_of_raw(9), Some(137)); // killed by SIGKILL
        assert_eq!(status_of_raw(40), Some(168)); // killed by a real-time signal
        assert_eq!(status_of_raw((19 << 8) | 0x7f), None); // stopped
    }
}
