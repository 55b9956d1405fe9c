//! Tracing: with `-v` on a tool, or `CHAIN_TRACE=1` in the environment (so a
//! whole chain can be traced at once), every kernel-visible step is printed
//! to stderr with its arguments, its result, the time since the tool started
//! and the time the step took:
//!
//! `unshare-rs[4242] +0.081 ms unshare CLONE_NEWNS|CLONE_NEWUTS = ok (0.019 ms)`
//!
//! Every syscall of a tool goes through [`sys`], which traces it and turns
//! its errno into an [`Error`] naming the operation and the object.

use crate::error::{Error, Result};
use std::fmt::{self, Display};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The environment variable that turns tracing on for every tool in a chain.
pub const TRACE_VAR: &str = "CHAIN_TRACE";

static ENABLED: AtomicBool = AtomicBool::new(false);
static PROG: OnceLock<&'static str> = OnceLock::new();
static START: OnceLock<Instant> = OnceLock::new();

/// Records the program name and start time; turns tracing on when the
/// environment asks for it. Called once, first thing in `main`.
pub fn init(prog: &'static str) {
    let _ = PROG.set(prog);
    let _ = START.set(Instant::now());
    crate::fault::init(prog);
    if std::env::var_os(TRACE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
        enable();
    }
}

/// A step timed by the caller (for steps like fork, whose result only one
/// of the two processes should report).
pub fn step(what: fmt::Arguments<'_>, took: std::time::Duration) {
    if enabled() {
        emit(format_args!("{what} ({:.3} ms)", took.as_secs_f64() * 1e3));
    }
}

/// Turns tracing on (the tool's `-v`).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The program name given to [`init`] (for messages printed by helpers).
pub fn prog() -> &'static str {
    PROG.get().copied().unwrap_or("chain")
}

fn since_start_ms() -> f64 {
    START.get().map_or(0.0, |s| s.elapsed().as_secs_f64() * 1e3)
}

/// Writes one trace line with a single write(2), so lines of tools that
/// share a stderr do not interleave mid-line.
fn emit(body: fmt::Arguments<'_>) {
    let line = format!(
        "{}[{}] +{:.3} ms {}\n",
        prog(),
        std::process::id(),
        since_start_ms(),
        body
    );
    // Tracing must never change what the tool does: a failed write is
    // dropped (SIGPIPE is ignored while a tool runs, see
    // exec::restore_sigpipe). A stderr whose reader is gone stays gone:
    // tracing stops, so a supervisor does not raise one SIGPIPE per line.
    if nix::unistd::write(std::io::stderr(), line.as_bytes()) == Err(nix::errno::Errno::EPIPE) {
        ENABLED.store(false, Ordering::Relaxed);
    }
}

/// A free-form trace line: why a step is (or is not) taken.
pub fn note(what: fmt::Arguments<'_>) {
    if enabled() {
        emit(format_args!("# {what}"));
    }
}

/// Runs one kernel-visible step, traces it, and turns a failure into an
/// [`Error`] naming `op` and `object`. `object` is formatted only when it is
/// printed.
pub fn sys<T>(op: &str, object: impl Display, step: impl FnOnce() -> nix::Result<T>) -> Result<T> {
    crate::fault::before_step(op);
    if !enabled() {
        return step().map_err(|errno| Error::sys(op, object, errno));
    }
    let begin = Instant::now();
    let result = step();
    let took = begin.elapsed().as_secs_f64() * 1e3;
    let call = format!("{op} {object}");
    let call = call.trim_end();
    match &result {
        Ok(_) => emit(format_args!("{call} = ok ({took:.3} ms)")),
        Err(errno) => emit(format_args!("{call} = {errno} ({took:.3} ms)")),
    }
    result.map_err(|errno| Error::sys(op, object, errno))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;

    #[test]
    fn sys_passes_value_and_names_failure() {
        assert_eq!(sys("getpid", "", || Ok(5)).unwrap(), 5);
        let err = sys("open", "/nonexistent", || Err::<(), _>(Errno::ENOENT)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "open /nonexistent: No such file or directory"
        );
    }

    #[test]
    fn object_is_not_formatted_when_not_needed() {
        struct Panics;
        impl Display for Panics {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("formatted without need")
            }
        }
        // Tracing is off in unit tests unless CHAIN_TRACE is set.
        if !enabled() {
            assert_eq!(sys("noop", Panics, || Ok(1)).unwrap(), 1);
        }
    }
}
