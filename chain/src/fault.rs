//! Fault injection for the tests: `CHAIN_FAULT=PROG:N[:WHO]` makes the
//! tool PROG deliver SIGKILL just before its Nth kernel step (the Nth call
//! of [`crate::sys`], counted per process: a forked helper or supervisor
//! goes on counting from where its parent was at the fork). WHO is `self`
//! (the default: the process about to take the step dies), `parent` (its
//! parent dies, and the process goes on; nothing happens when the parent is
//! init or outside the process's PID namespace), or `stop` (the process
//! stops itself with SIGSTOP, so that a test can change the world under it
//! at that point and then send SIGCONT; an init of a PID namespace cannot
//! stop itself and goes on). Before the signal, one line goes to stderr,
//! `PROG[PID] fault: SIGKILL to self before step N (OP)` (or `SIGSTOP`), so
//! a test knows the fault fired and which process it was.
//!
//! Why it exists: "nothing is left half-done" must hold when a tool is
//! killed at any point of the setup, and only a hook at each step reaches
//! every point reliably (timing a kill from outside hits a few of them).
//! It gives nobody anything they could not do already: whoever sets a
//! tool's environment can kill it. Unset, it costs one relaxed load per
//! step.

use std::fmt::Write;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable the tests set.
pub const FAULT_VAR: &str = "CHAIN_FAULT";

/// The step to fault at (0: none), the steps taken so far, and whom to kill
/// (0 self, 1 the parent).
static AT: AtomicU32 = AtomicU32::new(0);
static TAKEN: AtomicU32 = AtomicU32::new(0);
static WHO: AtomicU32 = AtomicU32::new(0);

/// Reads `CHAIN_FAULT` for the tool `prog` (from [`crate::trace::init`]).
/// A value naming another tool, or malformed, is ignored: the variable is
/// passed down the chain, and only the named tool acts on it.
pub fn init(prog: &str) {
    let Some(value) = std::env::var_os(FAULT_VAR) else {
        return;
    };
    if let Some((at, who)) = value.to_str().and_then(|v| parse(v, prog)) {
        AT.store(at, Ordering::Relaxed);
        WHO.store(who, Ordering::Relaxed);
    }
}

/// `PROG:N[:self|parent|stop]` for `prog`: (N, whom); None for another tool.
fn parse(value: &str, prog: &str) -> Option<(u32, u32)> {
    let mut parts = value.split(':');
    if parts.next()? != prog {
        return None;
    }
    let at: u32 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    let who = match parts.next() {
        None | Some("self") => 0,
        Some("parent") => 1,
        Some("stop") => 2,
        Some(_) => return None,
    };
    parts.next().is_none().then_some((at, who))
}

/// Called before every kernel step; kills when this is the chosen one.
pub fn before_step(op: &str) {
    let at = AT.load(Ordering::Relaxed);
    if at == 0 {
        return;
    }
    let n = TAKEN.fetch_add(1, Ordering::Relaxed) + 1;
    if n != at {
        return;
    }
    let who = WHO.load(Ordering::Relaxed);
    let to_parent = who == 1;
    let signal = if who == 2 {
        libc::SIGSTOP
    } else {
        libc::SIGKILL
    };
    // Raw syscalls and a stack buffer only: this may run in a raw clone3
    // child, whose C library state is the parent's (chain/src/supervise.rs).
    // SAFETY: getpid/getppid/kill/write with our own values.
    unsafe {
        let target = if to_parent {
            libc::getppid()
        } else {
            libc::getpid()
        };
        // A parent in another PID namespace reads as 0 (and kill(0) would
        // hit the whole process group), init as 1: no fault then.
        if to_parent && target <= 1 {
            return;
        }
        let mut line = StackLine {
            buf: [0; 256],
            len: 0,
        };
        let _ = writeln!(
            line,
            "{}[{}] fault: {} to {} before step {n} ({op})",
            crate::trace::prog(),
            libc::getpid(),
            if who == 2 { "SIGSTOP" } else { "SIGKILL" },
            if to_parent { "parent" } else { "self" }
        );
        libc::write(2, line.buf.as_ptr().cast(), line.len);
        libc::kill(target, signal);
        if who == 2 {
            return;
        }
        // Still here: the target is this process and it is the init of a
        // PID namespace, which its own SIGKILL does not reach. It ends the
        // way SIGKILL would end it (no cleanup), with status 137.
        if !to_parent {
            libc::_exit(137);
        }
    }
}

/// A line formatted without allocating (cut at 256 bytes).
struct StackLine {
    buf: [u8; 256],
    len: usize,
}

impl Write for StackLine {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_the_named_tool_acts() {
        assert_eq!(parse("pivot:3", "pivot"), Some((3, 0)));
        assert_eq!(parse("pivot:3:self", "pivot"), Some((3, 0)));
        assert_eq!(parse("cgctl:12:parent", "cgctl"), Some((12, 1)));
        assert_eq!(parse("vethctl:7:stop", "vethctl"), Some((7, 2)));
        assert_eq!(parse("pivot:3", "cgctl"), None);
        for bad in [
            "pivot",
            "pivot:",
            "pivot:0",
            "pivot:x",
            "pivot:3:who",
            "pivot:3:self:x",
        ] {
            assert_eq!(parse(bad, "pivot"), None, "{bad}");
        }
    }
}
