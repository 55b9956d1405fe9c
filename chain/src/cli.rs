//! The shape every tool's `main` shares: set up tracing and the saved signal
//! state, run the tool, and turn an error into one line on stderr and its
//! exit status. Plus the few option-parsing helpers all tools need.

use crate::error::{Error, Result};
use crate::{exec, trace};
use std::convert::Infallible;
use std::ffi::OsString;
use std::str::FromStr;

/// What a tool's option parser found.
pub enum Parsed<T> {
    /// The options to run with.
    Run(T),
    Help,
    Version,
}

/// Every tool's `main`: parse the arguments, answer `--help` and
/// `--version`, or run.
pub fn tool<T>(
    prog: &'static str,
    help: &'static str,
    version: &'static str,
    parse: impl FnOnce(std::iter::Skip<std::env::ArgsOs>) -> Result<Parsed<T>>,
    run: impl FnOnce(T) -> Result<Infallible>,
) -> ! {
    main(prog, || match parse(std::env::args_os().skip(1))? {
        Parsed::Help => print_and_exit(help),
        Parsed::Version => print_and_exit(&format!("{prog} {version}\n")),
        Parsed::Run(options) => run(options),
    })
}

/// For the tools' option tests: what `parse` makes of `args`, which must be
/// options to run with.
pub fn parse_run<T>(parse: impl FnOnce(Vec<OsString>) -> Result<Parsed<T>>, args: &[&str]) -> T {
    match parse(args.iter().map(OsString::from).collect()) {
        Ok(Parsed::Run(options)) => options,
        Ok(_) => panic!("{args:?} asked for help or the version"),
        Err(e) => panic!("{args:?} refused: {e}"),
    }
}

/// For the tools' option tests: the usage error `parse` gives for `args`
/// (its message), which must end the tool with status 125.
pub fn parse_error<T>(
    parse: impl FnOnce(Vec<OsString>) -> Result<Parsed<T>>,
    args: &[&str],
) -> String {
    match parse(args.iter().map(OsString::from).collect()) {
        Err(e) => {
            assert_eq!(e.status, crate::exit::TOOL_FAILED, "{args:?}: {e}");
            e.to_string()
        }
        Ok(_) => panic!("{args:?} accepted"),
    }
}

/// Runs a tool. `run` either execs (and so never returns Ok) or fails; a
/// supervising tool ends through [`exit`] with its child's status.
pub fn main(prog: &'static str, run: impl FnOnce() -> Result<Infallible>) -> ! {
    trace::init(prog);
    crate::note::keep();
    exec::save_signal_state();
    let err = match run() {
        Err(e) => e,
        Ok(never) => match never {},
    };
    print_error(&err);
    std::process::exit(err.status)
}

/// One line, whatever a path or name in the error holds.
fn print_error(err: &Error) {
    let line = format!("{}: {}\n", trace::prog(), crate::shown::text(err));
    let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
}

/// Ends a child that failed before its exec: its tool's one line, then
/// `_exit` (no exit handlers, no destructors: a vfork child's memory is
/// its parent's).
pub fn fail_in_child(err: Error) -> ! {
    print_error(&err);
    // SAFETY: _exit ends the process without touching its memory.
    unsafe { libc::_exit(err.status) }
}

/// Ends the process with `status` (a supervisor passing its child's on).
pub fn exit(status: i32) -> ! {
    std::process::exit(status)
}

/// Prints `text` to stdout and exits 0 (for --help and --version).
pub fn print_and_exit(text: &str) -> ! {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let ok = out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_ok();
    std::process::exit(if ok { 0 } else { crate::exit::TOOL_FAILED })
}

/// A lexopt error as a usage error naming the option.
pub fn usage(prog: &str, err: lexopt::Error) -> Error {
    Error::usage(prog, err)
}

/// Parses an option value with `FromStr`, naming the option on failure.
pub fn value<T: FromStr>(prog: &str, opt: &str, raw: OsString) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let text = raw
        .into_string()
        .map_err(|raw| Error::usage(prog, format!("{opt}: {raw:?} is not valid UTF-8")))?;
    text.parse()
        .map_err(|e| Error::usage(prog, format!("{opt}: '{text}': {e}")))
}

/// A signal by name (`TERM`, `SIGTERM`, `term`, `RTMIN+3`) or number.
pub fn parse_signal(text: &str) -> std::result::Result<i32, String> {
    if let Ok(n) = text.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(format!("no signal number {n}"))
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let rt = |base: i32, rest: &str| -> Option<i32> {
        let offset: i32 = if rest.is_empty() {
            0
        } else {
            rest.parse().ok()?
        };
        let n = base + offset;
        (libc::SIGRTMIN()..=libc::SIGRTMAX())
            .contains(&n)
            .then_some(n)
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt(libc::SIGRTMIN(), rest.strip_prefix('+').unwrap_or(rest))
            .ok_or_else(|| format!("no signal {text}"));
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let n = if rest.is_empty() {
            Some(0)
        } else {
            rest.strip_prefix('-').and_then(|r| r.parse::<i32>().ok())
        };
        return n
            .and_then(|n| rt(libc::SIGRTMAX(), &(-n).to_string()))
            .ok_or_else(|| format!("no signal {text}"));
    }
    SIGNAL_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, s)| s)
        .ok_or_else(|| format!("no signal {text}"))
}

const SIGNAL_NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_and_numbers() {
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("sigkill"), Ok(9));
        assert_eq!(parse_signal("SIGHUP"), Ok(1));
        assert_eq!(parse_signal("10"), Ok(10));
        assert_eq!(parse_signal("RTMIN"), Ok(libc::SIGRTMIN()));
        assert_eq!(parse_signal("RTMIN+3"), Ok(libc::SIGRTMIN() + 3));
        assert_eq!(parse_signal("RTMAX-1"), Ok(libc::SIGRTMAX() - 1));
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("BOGUS").is_err());
        assert!(parse_signal("RTMIN+99").is_err());
    }

    #[test]
    fn typed_values_name_the_option() {
        let n: u32 = value("t", "--info-fd", "3".into()).unwrap();
        assert_eq!(n, 3);
        let e = value::<u32>("t", "--info-fd", "x".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--info-fd: 'x': invalid digit found in string (see 't --help')"
        );
    }
}
