//! Command-line parsing for mapids. No syscalls happen here.

use crate::identity::{Groups, Identity};
use crate::idmap::Range;
use crate::write::SetGroups;
use chain::cli::value;
use chain::{Error, Result};
use lexopt::Arg::{Long, Short, Value};
use std::ffi::OsString;

pub const PROG: &str = "mapids";

/// How the maps are said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapSpec {
    /// `--root`: own uid and gid are 0 inside.
    Root,
    /// `--auto`: own ids are 0, then every subordinate range.
    Auto,
    /// `--uid` / `--gid` lines, in the kernel's order.
    Explicit { uid: Vec<Range>, gid: Vec<Range> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Before unshare-rs: a helper writes the maps when told the pid.
    Helper,
    /// `--pid PID`: write the maps of a running process now.
    Pid(i32),
    /// `--as UID[:GID]`: switch identity inside.
    As(Identity),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub maps: Option<MapSpec>,
    pub setgroups: Option<SetGroups>,
    pub verbose: bool,
    pub argv: Vec<OsString>,
}

pub type Parsed = chain::cli::Parsed<Box<Options>>;

fn setgroups(s: &str) -> std::result::Result<SetGroups, String> {
    match s {
        "allow" => Ok(SetGroups::Allow),
        "deny" => Ok(SetGroups::Deny),
        _ => Err("expected allow or deny".into()),
    }
}

fn id_list(text: &str) -> std::result::Result<Vec<u32>, String> {
    text.split(',')
        .map(|g| {
            g.parse::<u32>()
                .map_err(|_| format!("'{g}' is not a numeric gid"))
        })
        .collect()
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let bad = |msg: String| Error::usage(PROG, msg);
    let mut parser = lexopt::Parser::from_args(args);
    let (mut uid, mut gid) = (Vec::new(), Vec::new());
    let (mut root, mut auto) = (false, false);
    let mut pid: Option<i32> = None;
    let mut as_ids: Option<(u32, u32)> = None;
    let mut groups: Option<Groups> = None;
    let mut keep_caps = false;
    let mut setgroups_opt = None;
    let mut verbose = false;
    let mut argv = Vec::new();
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("uid") => uid.push(value(PROG, "--uid", parser.value().map_err(usage)?)?),
            Long("gid") => gid.push(value(PROG, "--gid", parser.value().map_err(usage)?)?),
            Long("root") => root = true,
            Long("auto") => auto = true,
            Long("setgroups") => {
                let text: String = value(PROG, "--setgroups", parser.value().map_err(usage)?)?;
                setgroups_opt =
                    Some(setgroups(&text).map_err(|e| bad(format!("--setgroups: '{text}': {e}")))?);
            }
            Long("pid") => {
                let p: i32 = value(PROG, "--pid", parser.value().map_err(usage)?)?;
                if p <= 0 {
                    return Err(bad(format!("--pid: '{p}' is not a process id")));
                }
                pid = Some(p);
            }
            Long("as") => {
                let text: String = value(PROG, "--as", parser.value().map_err(usage)?)?;
                let (u, g) = text.split_once(':').unwrap_or((&text, &text));
                let num = |v: &str| {
                    v.parse::<u32>()
                        .map_err(|_| bad(format!("--as: '{text}': expected numeric UID[:GID]")))
                };
                as_ids = Some((num(u)?, num(g)?));
            }
            Long("groups") => {
                let text: String = value(PROG, "--groups", parser.value().map_err(usage)?)?;
                groups = Some(Groups::List(
                    id_list(&text).map_err(|e| bad(format!("--groups: {e}")))?,
                ));
            }
            Long("clear-groups") => groups = Some(Groups::Clear),
            Long("keep-caps") => keep_caps = true,
            Short('v') | Long("verbose") => verbose = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(program) => {
                argv.push(program);
                argv.extend(parser.raw_args().map_err(usage)?);
                break;
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    let explicit = !uid.is_empty() || !gid.is_empty();
    let maps = match (root, auto, explicit) {
        (false, false, false) => None,
        (true, false, false) => Some(MapSpec::Root),
        (false, true, false) => Some(MapSpec::Auto),
        (false, false, true) => Some(MapSpec::Explicit { uid, gid }),
        _ => {
            return Err(bad(
                "--root, --auto and --uid/--gid are three ways to say the maps: choose one".into(),
            ));
        }
    };
    let mode = match (as_ids, pid) {
        (Some(_), Some(_)) => return Err(bad(
            "--as and --pid: --as switches this process, --pid maps another one; use two mapids"
                .into(),
        )),
        (Some(_), None) if maps.is_some() || setgroups_opt.is_some() => {
            return Err(bad(
                "--as switches identity inside, late in the chain; the maps are written before unshare-rs: use two mapids".into(),
            ));
        }
        (Some((uid, gid)), None) => Mode::As(Identity {
            uid,
            gid,
            groups: groups.clone().unwrap_or(Groups::Clear),
            keep_caps,
        }),
        (None, Some(p)) => Mode::Pid(p),
        (None, None) => Mode::Helper,
    };
    if !matches!(mode, Mode::As(_)) {
        if groups.is_some() || keep_caps {
            return Err(bad(
                "--groups, --clear-groups and --keep-caps go with --as".into()
            ));
        }
        if maps.is_none() {
            return Err(bad(
                "no map given: use --root, --auto, or --uid/--gid IN:OUT:COUNT".into(),
            ));
        }
        if mode == Mode::Helper && argv.is_empty() {
            return Err(bad("missing the program to run (mapids acts when a later unshare-rs -U creates the namespace)".into()));
        }
    }
    Ok(Parsed::Run(Box::new(Options {
        mode,
        maps,
        setgroups: setgroups_opt,
        verbose,
        argv,
    })))
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
    fn modes() {
        let o = run(&["--auto", "--", "unshare-rs", "-U", "sh"]);
        assert_eq!((o.mode, o.maps), (Mode::Helper, Some(MapSpec::Auto)));
        assert_eq!(o.argv, ["unshare-rs", "-U", "sh"]);
        assert_eq!(run(&["--pid", "42", "--root"]).mode, Mode::Pid(42));
        let o = run(&["--as", "1000", "--groups", "1000,2000", "id"]);
        assert_eq!(
            o.mode,
            Mode::As(Identity {
                uid: 1000,
                gid: 1000,
                groups: Groups::List(vec![1000, 2000]),
                keep_caps: false
            })
        );
        let o = run(&["--as", "5:6", "--keep-caps", "id"]);
        assert_eq!(
            o.mode,
            Mode::As(Identity {
                uid: 5,
                gid: 6,
                groups: Groups::Clear,
                keep_caps: true
            })
        );
    }

    #[test]
    fn explicit_maps_keep_their_order() {
        let o = run(&[
            "--uid",
            "0:1000:1",
            "--uid",
            "1:100000:65536",
            "--gid",
            "0:1000:1",
            "--setgroups",
            "deny",
            "sh",
        ]);
        let Some(MapSpec::Explicit { uid, gid }) = o.maps else {
            panic!()
        };
        assert_eq!(uid.len(), 2);
        assert_eq!(uid[1].outside, 100000);
        assert_eq!(gid.len(), 1);
        assert_eq!(o.setgroups, Some(SetGroups::Deny));
    }

    #[test]
    fn bad_input_is_named() {
        assert!(err(&["sh"]).starts_with("no map given"));
        assert!(err(&["--root"]).starts_with("missing the program"));
        assert!(err(&["--root", "--auto", "sh"]).contains("choose one"));
        assert!(err(&["--root", "--uid", "0:1:1", "sh"]).contains("choose one"));
        assert!(
            err(&["--uid", "0:1", "sh"]).starts_with("--uid: '0:1': expected INSIDE:OUTSIDE:COUNT")
        );
        assert!(err(&["--as", "x", "id"]).contains("expected numeric UID[:GID]"));
        assert!(err(&["--as", "1", "--root", "id"]).contains("use two mapids"));
        assert!(err(&["--as", "1", "--pid", "5", "id"]).contains("use two mapids"));
        assert!(err(&["--root", "--keep-caps", "sh"]).contains("go with --as"));
        assert!(err(&["--pid", "0", "--root"]).contains("not a process id"));
        assert!(err(&["--root", "--setgroups", "maybe", "sh"]).contains("expected allow or deny"));
        assert!(err(&["--as", "1", "--groups", "a,b", "id"]).contains("'a' is not a numeric gid"));
    }
}
