//! Command-line parsing: util-linux `nsenter` flag names. No syscalls here.

use chain::cli::value;
use chain::ns::Kind;
use chain::{Error, Result};
use lexopt::Arg::{Long, Short, Value};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

pub const PROG: &str = "nsenter-rs";

/// Where the new root or working directory comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dir {
    /// The target's (its /proc/PID/root or /proc/PID/cwd).
    Target,
    /// A directory, opened before joining.
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub target: Option<i32>,
    pub all: bool,
    /// Namespaces asked for one by one, each with the file to join, or the
    /// target's.
    pub namespaces: BTreeMap<Kind, Option<PathBuf>>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub preserve_credentials: bool,
    pub root: Option<Dir>,
    pub wd: Option<Dir>,
    pub no_fork: bool,
    pub join_cgroup: bool,
    pub env: bool,
    pub verbose: bool,
    pub argv: Vec<OsString>,
}

pub type Parsed = chain::cli::Parsed<Box<Options>>;

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options {
        target: None,
        all: false,
        namespaces: BTreeMap::new(),
        uid: None,
        gid: None,
        preserve_credentials: false,
        root: None,
        wd: None,
        no_fork: false,
        join_cgroup: false,
        env: false,
        verbose: false,
        argv: Vec::new(),
    };
    while let Some(arg) = parser.next().map_err(usage)? {
        let kind = Kind::from_arg(&arg);
        if let Some(kind) = kind {
            // Only the long form takes a file, so a cluster like -mupn stays flags.
            let file = match arg {
                Long(_) => parser.optional_value().map(PathBuf::from),
                _ => None,
            };
            o.namespaces.insert(kind, file);
            continue;
        }
        match arg {
            Short('t') | Long("target") => {
                let pid: i32 = value(PROG, "--target", parser.value().map_err(usage)?)?;
                if pid <= 0 {
                    return Err(Error::usage(
                        PROG,
                        format!("--target: '{pid}' is not a process id"),
                    ));
                }
                o.target = Some(pid);
            }
            Short('a') | Long("all") => o.all = true,
            Short('S') | Long("setuid") => {
                o.uid = Some(value(PROG, "--setuid", parser.value().map_err(usage)?)?)
            }
            Short('G') | Long("setgid") => {
                o.gid = Some(value(PROG, "--setgid", parser.value().map_err(usage)?)?)
            }
            Long("preserve-credentials") => o.preserve_credentials = true,
            Short('r') | Long("root") => {
                o.root = Some(
                    parser
                        .optional_value()
                        .map_or(Dir::Target, |d| Dir::Path(d.into())),
                )
            }
            Short('w') | Long("wd") => {
                o.wd = Some(
                    parser
                        .optional_value()
                        .map_or(Dir::Target, |d| Dir::Path(d.into())),
                )
            }
            Short('F') | Long("no-fork") => o.no_fork = true,
            Long("join-cgroup") => o.join_cgroup = true,
            Long("env") => o.env = true,
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
    let needs_target = o.all
        || o.join_cgroup
        || o.env
        || o.namespaces.values().any(Option::is_none)
        || o.root == Some(Dir::Target)
        || o.wd == Some(Dir::Target);
    if needs_target && o.target.is_none() {
        return Err(Error::usage(
            PROG,
            "-a, --join-cgroup, --env, -r, -w and namespaces without =FILE need -t PID",
        ));
    }
    if !o.all && o.namespaces.is_empty() && !o.join_cgroup {
        return Err(Error::usage(
            PROG,
            "nothing to join: give -a, or namespaces (-m -u -i -n -p -U -C -T)",
        ));
    }
    if o.preserve_credentials && (o.uid.is_some() || o.gid.is_some()) {
        return Err(Error::usage(
            PROG,
            "--preserve-credentials keeps the ids: it does not go with -S or -G",
        ));
    }
    Ok(Parsed::Run(Box::new(o)))
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
    fn docker_exec_shape() {
        let o = run(&["-t", "42", "-a", "--", "sh", "-c", "x"]);
        assert_eq!((o.target, o.all), (Some(42), true));
        assert_eq!(o.argv, ["sh", "-c", "x"]);
        let o = run(&["-t42", "-mupn", "-r", "-w", "true"]);
        assert_eq!(
            o.namespaces.keys().copied().collect::<Vec<_>>(),
            [Kind::Mount, Kind::Uts, Kind::Net, Kind::Pid]
        );
        assert_eq!((o.root, o.wd), (Some(Dir::Target), Some(Dir::Target)));
    }

    #[test]
    fn files_and_credentials() {
        let o = run(&[
            "--net=/run/netns/a",
            "--pid=/proc/7/ns/pid",
            "-S",
            "0",
            "-G",
            "5",
            "ip",
        ]);
        assert_eq!(
            o.namespaces[&Kind::Net],
            Some(PathBuf::from("/run/netns/a"))
        );
        assert_eq!((o.uid, o.gid), (Some(0), Some(5)));
        assert_eq!(o.target, None);
        assert_eq!(
            run(&["-t", "1", "-a", "--root=/srv", "--wd=/tmp"]).root,
            Some(Dir::Path("/srv".into()))
        );
    }

    #[test]
    fn bad_input_is_named() {
        assert!(err(&["-a"]).contains("need -t PID"));
        assert!(err(&["-n", "true"]).contains("need -t PID"));
        assert!(err(&["-t", "5", "true"]).starts_with("nothing to join"));
        assert!(err(&["-t", "0", "-a"]).contains("not a process id"));
        assert!(err(&["-t", "x", "-a"]).starts_with("--target: 'x'"));
        assert!(
            err(&["-t", "5", "-a", "--preserve-credentials", "-S", "1"])
                .contains("does not go with")
        );
        assert!(err(&["--bogus"]).starts_with("invalid option '--bogus'"));
    }
}
