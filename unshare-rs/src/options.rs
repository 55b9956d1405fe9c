//! Command-line parsing: util-linux `unshare` flag names, POSIX style,
//! stopping at `--` or the first operand. No syscalls happen here.

use chain::cli::{parse_signal, value};
use chain::ns::Kind;
use chain::{Error, Result};
use lexopt::Arg::{Long, Short, Value};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::str::FromStr;

pub const PROG: &str = "unshare-rs";

/// What the mount namespace's root is changed to (util-linux's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Private,
    Slave,
    Shared,
    Unchanged,
}

impl FromStr for Propagation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "private" => Ok(Propagation::Private),
            "slave" => Ok(Propagation::Slave),
            "shared" => Ok(Propagation::Shared),
            "unchanged" => Ok(Propagation::Unchanged),
            _ => Err("expected private, slave, shared or unchanged".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetGroups {
    Allow,
    Deny,
}

impl FromStr for SetGroups {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "allow" => Ok(SetGroups::Allow),
            "deny" => Ok(SetGroups::Deny),
            _ => Err("expected allow or deny".into()),
        }
    }
}

/// A clock offset for a time namespace, normalised the way
/// /proc/PID/timens_offsets wants it: nanoseconds in 0..1e9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub secs: i64,
    pub nanos: i64,
}

impl FromStr for Offset {
    type Err = String;
    /// Seconds, optionally negative and fractional: `86400`, `-1.5`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || "expected seconds, like 3600 or -1.5".to_string();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 9
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let nanos: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().map_err(|_| bad())?
        };
        Ok(if !negative {
            Offset { secs: whole, nanos }
        } else if nanos == 0 {
            Offset {
                secs: -whole,
                nanos: 0,
            }
        } else {
            Offset {
                secs: -whole - 1,
                nanos: 1_000_000_000 - nanos,
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The namespaces to create, each with the file to persist it on.
    pub namespaces: BTreeMap<Kind, Option<PathBuf>>,
    pub fork: bool,
    pub mount_proc: Option<PathBuf>,
    pub propagation: Propagation,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub setgroups: Option<SetGroups>,
    pub monotonic: Option<Offset>,
    pub boottime: Option<Offset>,
    /// The signal the child gets when the supervisor dies.
    pub kill_child: i32,
    pub init: bool,
    pub pid_file: Option<PathBuf>,
    pub info_fd: Option<i32>,
    pub verbose: bool,
    /// The next program and its arguments; empty means `$SHELL`.
    pub argv: Vec<OsString>,
}

impl Options {
    pub fn has(&self, kind: Kind) -> bool {
        self.namespaces.contains_key(&kind)
    }

    /// A PID namespace only applies to children, and `--init` is a child's
    /// parent: both fork whether or not `-f` was given.
    pub fn forks(&self) -> bool {
        self.fork || self.init || self.has(Kind::Pid)
    }

    /// The namespaces that are persisted, with their files.
    pub fn persisted(&self) -> Vec<(Kind, PathBuf)> {
        self.namespaces
            .iter()
            .filter_map(|(k, f)| f.clone().map(|f| (*k, f)))
            .collect()
    }

    pub fn kinds(&self) -> Vec<Kind> {
        self.namespaces.keys().copied().collect()
    }
}

/// The longest host or domain name the kernel takes (__NEW_UTS_LEN).
const UTS_NAME_MAX: usize = 64;

pub type Parsed = chain::cli::Parsed<Box<Options>>;

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options {
        namespaces: BTreeMap::new(),
        fork: false,
        mount_proc: None,
        propagation: Propagation::Private,
        hostname: None,
        domainname: None,
        setgroups: None,
        monotonic: None,
        boottime: None,
        kill_child: libc::SIGKILL,
        init: false,
        pid_file: None,
        info_fd: None,
        verbose: false,
        argv: Vec::new(),
    };
    let mut propagation_given = false;
    while let Some(arg) = parser.next().map_err(usage)? {
        let kind = Kind::from_arg(&arg);
        if let Some(kind) = kind {
            // Only the long form takes a file (`--net=FILE`): a short one
            // would swallow the rest of a cluster like `-fpnumi`.
            let file = match arg {
                Long(_) => parser.optional_value().map(PathBuf::from),
                _ => None,
            };
            if file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
                return Err(Error::usage(
                    PROG,
                    format!("--{}=: empty file name", kind.long_name()),
                ));
            }
            let slot = o.namespaces.entry(kind).or_insert(None);
            if file.is_some() {
                *slot = file;
            }
            continue;
        }
        match arg {
            Short('f') | Long("fork") => o.fork = true,
            Long("mount-proc") => {
                o.mount_proc = Some(
                    parser
                        .optional_value()
                        .map_or_else(|| PathBuf::from("/proc"), PathBuf::from),
                );
                o.namespaces.entry(Kind::Mount).or_insert(None);
            }
            Long("propagation") => {
                o.propagation = value(PROG, "--propagation", parser.value().map_err(usage)?)?;
                propagation_given = true;
            }
            Long("hostname") => {
                o.hostname = Some(uts_name("--hostname", parser.value().map_err(usage)?)?);
                o.namespaces.entry(Kind::Uts).or_insert(None);
            }
            Long("domainname") => {
                o.domainname = Some(uts_name("--domainname", parser.value().map_err(usage)?)?);
                o.namespaces.entry(Kind::Uts).or_insert(None);
            }
            Long("setgroups") => {
                o.setgroups = Some(value(PROG, "--setgroups", parser.value().map_err(usage)?)?)
            }
            Long("monotonic") => {
                o.monotonic = Some(value(PROG, "--monotonic", parser.value().map_err(usage)?)?);
                o.namespaces.entry(Kind::Time).or_insert(None);
            }
            Long("boottime") => {
                o.boottime = Some(value(PROG, "--boottime", parser.value().map_err(usage)?)?);
                o.namespaces.entry(Kind::Time).or_insert(None);
            }
            Long("kill-child") => {
                if let Some(sig) = parser.optional_value() {
                    let text = sig.to_string_lossy().into_owned();
                    o.kill_child = parse_signal(&text)
                        .map_err(|e| Error::usage(PROG, format!("--kill-child: {e}")))?;
                }
            }
            Long("init") => o.init = true,
            Long("pid-file") => o.pid_file = Some(parser.value().map_err(usage)?.into()),
            Long("info-fd") => {
                o.info_fd = Some(value(PROG, "--info-fd", parser.value().map_err(usage)?)?)
            }
            Short('v') | Long("verbose") => o.verbose = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(program) => {
                o.argv.push(program);
                o.argv.extend(parser.raw_args().map_err(usage)?);
                break;
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    if o.setgroups.is_some() && !o.has(Kind::User) {
        return Err(Error::usage(
            PROG,
            "--setgroups applies to a new user namespace: add -U (--user)",
        ));
    }
    if propagation_given && !o.has(Kind::Mount) {
        return Err(Error::usage(
            PROG,
            "--propagation applies to a new mount namespace: add -m (--mount)",
        ));
    }
    if o.pid_file
        .as_ref()
        .is_some_and(|f| f.as_os_str().is_empty())
    {
        return Err(Error::usage(PROG, "--pid-file: empty file name"));
    }
    if o.info_fd.is_some_and(|fd| fd < 0) {
        return Err(Error::usage(
            PROG,
            "--info-fd: a file descriptor is not negative",
        ));
    }
    Ok(Parsed::Run(Box::new(o)))
}

fn uts_name(opt: &str, raw: OsString) -> Result<String> {
    let name: String = value(PROG, opt, raw)?;
    if name.len() > UTS_NAME_MAX {
        return Err(Error::usage(
            PROG,
            format!("{opt}: '{name}' is longer than {UTS_NAME_MAX} bytes"),
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        *chain::cli::parse_run(parse, args)
    }

    fn err(args: &[&str]) -> String {
        chain::cli::parse_error(parse, args)
    }

    #[test]
    fn clustered_short_flags() {
        let o = run(&["-fpnumi", "--", "sh", "-c", "true"]);
        assert_eq!(
            o.kinds(),
            vec![Kind::Mount, Kind::Uts, Kind::Ipc, Kind::Net, Kind::Pid]
        );
        assert!(o.fork && o.forks());
        assert_eq!(o.argv, ["sh", "-c", "true"]);
    }

    #[test]
    fn stops_at_first_operand() {
        let o = run(&["-U", "bash", "-c", "x", "--net"]);
        assert_eq!(o.kinds(), vec![Kind::User]);
        assert_eq!(o.argv, ["bash", "-c", "x", "--net"]);
        assert!(!o.forks());
    }

    #[test]
    fn long_forms_take_files() {
        let o = run(&[
            "--net=/run/netns/a",
            "--pid=/tmp/p",
            "-m",
            "--mount",
            "true",
        ]);
        assert_eq!(
            o.namespaces[&Kind::Net],
            Some(PathBuf::from("/run/netns/a"))
        );
        assert_eq!(o.namespaces[&Kind::Mount], None);
        assert_eq!(
            o.persisted(),
            vec![
                (Kind::Net, "/run/netns/a".into()),
                (Kind::Pid, "/tmp/p".into())
            ]
        );
        // A separate word after --net is the program, not a file.
        let o = run(&["--net", "/bin/true"]);
        assert_eq!(o.namespaces[&Kind::Net], None);
        assert_eq!(o.argv, ["/bin/true"]);
    }

    #[test]
    fn pid_forks_and_implications() {
        assert!(run(&["-p"]).forks());
        assert!(run(&["--init"]).forks());
        let o = run(&["--mount-proc", "--hostname", "box", "--boottime", "10"]);
        assert_eq!(o.kinds(), vec![Kind::Mount, Kind::Uts, Kind::Time]);
        assert_eq!(o.mount_proc, Some(PathBuf::from("/proc")));
        assert_eq!(
            run(&["--mount-proc=/mnt/p"]).mount_proc,
            Some(PathBuf::from("/mnt/p"))
        );
        assert!(o.argv.is_empty());
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            run(&["-m", "--propagation", "slave"]).propagation,
            Propagation::Slave
        );
        assert_eq!(
            run(&["-m", "--propagation=unchanged"]).propagation,
            Propagation::Unchanged
        );
        assert_eq!(run(&[]).propagation, Propagation::Private);
        assert_eq!(
            run(&["-U", "--setgroups", "deny"]).setgroups,
            Some(SetGroups::Deny)
        );
        assert_eq!(run(&["--kill-child=TERM"]).kill_child, libc::SIGTERM);
        assert_eq!(run(&["--kill-child"]).kill_child, libc::SIGKILL);
        assert_eq!(run(&["--info-fd", "3"]).info_fd, Some(3));
    }

    #[test]
    fn offsets() {
        assert_eq!(
            "86400".parse(),
            Ok(Offset {
                secs: 86400,
                nanos: 0
            })
        );
        assert_eq!(
            "1.5".parse(),
            Ok(Offset {
                secs: 1,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            "-1.5".parse(),
            Ok(Offset {
                secs: -2,
                nanos: 500_000_000
            })
        );
        assert_eq!("-3".parse(), Ok(Offset { secs: -3, nanos: 0 }));
        for bad in ["", "x", "1.2.3", "--1", "1e3", "0.1234567891"] {
            assert!(bad.parse::<Offset>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn bad_input_names_the_option() {
        assert!(err(&["--bogus"]).starts_with("invalid option '--bogus'"));
        assert!(err(&["-x"]).starts_with("invalid option '-x'"));
        assert!(
            err(&["-m", "--propagation", "sideways"])
                .starts_with("--propagation: 'sideways': expected private")
        );
        assert!(err(&["--propagation", "slave"]).contains("add -m"));
        assert!(err(&["--setgroups", "deny"]).contains("add -U"));
        assert!(err(&["--kill-child=NOPE"]).contains("--kill-child: no signal NOPE"));
        assert!(err(&["--info-fd", "x"]).starts_with("--info-fd: 'x'"));
        assert!(err(&["--hostname", &"h".repeat(65)]).contains("longer than 64 bytes"));
        assert!(err(&["--net="]).contains("empty file name"));
        assert!(err(&["--propagation"]).contains("missing argument"));
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(
            parse(["--help"].map(OsString::from)),
            Ok(Parsed::Help)
        ));
        assert!(matches!(
            parse(["-V"].map(OsString::from)),
            Ok(Parsed::Version)
        ));
    }
}
