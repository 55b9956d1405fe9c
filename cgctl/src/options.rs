//! Command-line parsing for cgctl. No syscalls happen here.

use crate::devices::{self, Policy, Rule};
use crate::limits::{self, Limits, Size};
use chain::cli::{parse_signal, value};
use chain::{Error, Result};
use lexopt::Arg::{Long, Short, Value};
use std::ffi::OsString;
use std::path::PathBuf;

pub const PROG: &str = "cgctl";

#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub limits: Limits,
    pub parent: Option<String>,
    pub name: Option<String>,
    pub wait: bool,
    pub stats_json: Option<PathBuf>,
    /// `--devices` / `--device-rule`: which device nodes the group may use.
    pub devices: Option<Policy>,
    pub argv: Vec<OsString>,
}

impl RunOptions {
    /// Whether cgctl forks and stays to remove the group: asked for with
    /// --wait, and always for an anonymous group, which nobody else could
    /// remove (its name dies with cgctl).
    pub fn supervised(&self) -> bool {
        self.wait || self.name.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Box<RunOptions>),
    Stats(String),
    Freeze(String),
    Thaw(String),
    Kill { signal: i32, group: String },
    Rm(String),
    Ls,
}

/// A command, and whether to trace it (`-v`).
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub command: Command,
    pub verbose: bool,
}

pub type Parsed = chain::cli::Parsed<Box<Invocation>>;

/// A group name: one path component, made by cgctl or by hand.
fn group_name(text: &str, what: &str) -> Result<String> {
    if text.is_empty()
        || text == "."
        || text == ".."
        || (text.contains('/') && !text.starts_with('/'))
    {
        return Err(Error::usage(
            PROG,
            format!("{what}: '{text}' is not a group name (one name, or an absolute cgroup path)"),
        ));
    }
    Ok(text.to_string())
}

fn typed<T>(
    opt: &str,
    raw: OsString,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> Result<T> {
    let text: String = value(PROG, opt, raw)?;
    parse(&text).map_err(|e| Error::usage(PROG, format!("{opt}: '{text}': {e}")))
}

const SUBCOMMANDS: [&str; 6] = ["stats", "freeze", "thaw", "kill", "rm", "ls"];

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let mut args: Vec<OsString> = args.into_iter().collect();
    // A management subcommand is the first word after any -v: `cgctl stats
    // box`, `cgctl -v rm box`. A program with such a name runs after `--`
    // (`cgctl -- stats`).
    let leading_v = args
        .iter()
        .take_while(|a| *a == "-v" || *a == "--verbose")
        .count();
    if let Some(sub) = args
        .get(leading_v)
        .and_then(|a| a.to_str())
        .filter(|w| SUBCOMMANDS.contains(w))
        .map(String::from)
    {
        args.remove(leading_v);
        return parse_management(&sub, lexopt::Parser::from_args(args));
    }
    let mut parser = lexopt::Parser::from_args(args);
    let mut verbose = false;
    let mut o = RunOptions {
        limits: Limits::default(),
        parent: None,
        name: None,
        wait: false,
        stats_json: None,
        devices: None,
        argv: Vec::new(),
    };
    let mut device_rules: Option<Vec<Rule>> = None;
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("mem") => {
                o.limits.mem = Some(typed(
                    "--mem",
                    parser.value().map_err(usage)?,
                    str::parse::<Size>,
                )?)
            }
            Long("mem-high") => {
                o.limits.mem_high = Some(typed(
                    "--mem-high",
                    parser.value().map_err(usage)?,
                    str::parse::<Size>,
                )?)
            }
            Long("swap") => {
                o.limits.swap = Some(typed(
                    "--swap",
                    parser.value().map_err(usage)?,
                    str::parse::<Size>,
                )?)
            }
            Long("cpus") => {
                o.limits.cpus = Some(typed(
                    "--cpus",
                    parser.value().map_err(usage)?,
                    limits::parse_cpus,
                )?)
            }
            Long("cpu-weight") => {
                o.limits.cpu_weight = Some(typed(
                    "--cpu-weight",
                    parser.value().map_err(usage)?,
                    limits::parse_weight,
                )?)
            }
            Long("pids") => {
                o.limits.pids = Some(typed(
                    "--pids",
                    parser.value().map_err(usage)?,
                    str::parse::<Size>,
                )?)
            }
            Long("cpuset-cpus") => {
                o.limits.cpuset_cpus = Some(typed(
                    "--cpuset-cpus",
                    parser.value().map_err(usage)?,
                    limits::parse_cpu_list,
                )?)
            }
            Long("cpuset-mems") => {
                o.limits.cpuset_mems = Some(typed(
                    "--cpuset-mems",
                    parser.value().map_err(usage)?,
                    limits::parse_cpu_list,
                )?)
            }
            Long("io-max") => o.limits.io_max.push(typed(
                "--io-max",
                parser.value().map_err(usage)?,
                str::parse,
            )?),
            Long("io-weight") => {
                o.limits.io_weight = Some(typed(
                    "--io-weight",
                    parser.value().map_err(usage)?,
                    limits::parse_weight,
                )?)
            }
            Long("parent") => {
                let p: String = value(PROG, "--parent", parser.value().map_err(usage)?)?;
                if !p.starts_with('/') {
                    return Err(Error::usage(
                        PROG,
                        format!(
                            "--parent: '{p}' is not an absolute cgroup path (like /user.slice)"
                        ),
                    ));
                }
                o.parent = Some(p);
            }
            Long("name") => {
                let n: String = value(PROG, "--name", parser.value().map_err(usage)?)?;
                if n.contains('/') {
                    return Err(Error::usage(
                        PROG,
                        format!("--name: '{n}' has a '/'; use --parent for where"),
                    ));
                }
                if crate::stale::anonymous_pid(&n).is_some() {
                    return Err(Error::usage(
                        PROG,
                        format!(
                            "--name: '{n}' is the form of anonymous groups (cgctl-PID), which a later cgctl may remove as stale; choose another name"
                        ),
                    ));
                }
                o.name = Some(group_name(&n, "--name")?);
            }
            Long("wait") => o.wait = true,
            Long("devices") => {
                let preset: String = value(PROG, "--devices", parser.value().map_err(usage)?)?;
                let rules = match preset.as_str() {
                    "container" => devices::container_preset(),
                    "none" => Vec::new(),
                    _ => {
                        return Err(Error::usage(
                            PROG,
                            format!("--devices: '{preset}' is not a preset (container or none)"),
                        ));
                    }
                };
                device_rules.get_or_insert_with(Vec::new).extend(rules);
            }
            Long("device-rule") => {
                let rule = typed("--device-rule", parser.value().map_err(usage)?, |t| {
                    devices::parse_rule(t, true)
                })?;
                device_rules.get_or_insert_with(Vec::new).push(rule);
            }
            Long("stats-json") => o.stats_json = Some(parser.value().map_err(usage)?.into()),
            Short('v') | Long("verbose") => verbose = true,
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
    if o.argv.is_empty() {
        return Err(Error::usage(PROG, "missing the program to run"));
    }
    if o.stats_json.is_some() && !o.supervised() {
        return Err(Error::usage(
            PROG,
            "--stats-json is written when the group ends: a --name group needs --wait for it",
        ));
    }
    if let Some(rules) = device_rules {
        o.devices = Some(Policy::new(&rules).map_err(|e| Error::usage(PROG, e))?);
    }
    Ok(Parsed::Run(Box::new(Invocation {
        command: Command::Run(Box::new(o)),
        verbose,
    })))
}

fn parse_management(sub: &str, mut parser: lexopt::Parser) -> Result<Parsed> {
    let mut verbose = false;
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let mut signal = libc::SIGKILL;
    let mut group: Option<String> = None;
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('s') | Long("signal") if sub == "kill" => {
                let text: String = value(PROG, "-s", parser.value().map_err(usage)?)?;
                signal = parse_signal(&text).map_err(|e| Error::usage(PROG, format!("-s: {e}")))?;
            }
            Short('v') | Long("verbose") => verbose = true,
            Value(word) if group.is_none() && sub != "ls" => {
                group = Some(group_name(&word.to_string_lossy(), sub)?)
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    let need =
        |g: Option<String>| g.ok_or_else(|| Error::usage(PROG, format!("{sub}: missing GROUP")));
    let command = match sub {
        "stats" => Command::Stats(need(group)?),
        "freeze" => Command::Freeze(need(group)?),
        "thaw" => Command::Thaw(need(group)?),
        "kill" => Command::Kill {
            signal,
            group: need(group)?,
        },
        "rm" => Command::Rm(need(group)?),
        _ => Command::Ls,
    };
    Ok(Parsed::Run(Box::new(Invocation { command, verbose })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Command {
        chain::cli::parse_run(parse, args).command
    }

    fn err(args: &[&str]) -> String {
        chain::cli::parse_error(parse, args)
    }

    #[test]
    fn run_with_limits() {
        let Command::Run(o) = cmd(&[
            "--mem", "100M", "--pids", "20", "--cpus", "0.5", "--name", "box", "--wait", "--",
            "sh", "-c", "x",
        ]) else {
            panic!()
        };
        assert_eq!(o.limits.mem, Some(Size::Bytes(100 << 20)));
        assert_eq!(o.limits.pids, Some(Size::Bytes(20)));
        assert_eq!(o.limits.cpus, Some(0.5));
        assert_eq!(o.name.as_deref(), Some("box"));
        assert!(o.wait);
        assert_eq!(o.argv, ["sh", "-c", "x"]);
    }

    #[test]
    fn management() {
        assert_eq!(cmd(&["stats", "box"]), Command::Stats("box".into()));
        assert_eq!(
            cmd(&["kill", "-s", "TERM", "box"]),
            Command::Kill {
                signal: libc::SIGTERM,
                group: "box".into()
            }
        );
        assert_eq!(
            cmd(&["kill", "box"]),
            Command::Kill {
                signal: libc::SIGKILL,
                group: "box".into()
            }
        );
        assert_eq!(cmd(&["ls"]), Command::Ls);
        // -v may come first; the word after it is still the subcommand.
        assert_eq!(cmd(&["-v", "rm", "box"]), Command::Rm("box".into()));
        assert!(matches!(
            parse(["-v", "stats", "box"].map(OsString::from)),
            Ok(Parsed::Run(invocation)) if invocation.verbose
        ));
        assert_eq!(cmd(&["freeze", "/a/b"]), Command::Freeze("/a/b".into()));
        // After `--`, a program may be called stats.
        let Command::Run(o) = cmd(&["--", "stats"]) else {
            panic!()
        };
        assert_eq!(o.argv, ["stats"]);
    }

    #[test]
    fn bad_input_is_named() {
        assert!(err(&["--mem", "100Q", "sh"]).starts_with("--mem: '100Q': "));
        assert!(err(&["--cpus", "0", "sh"]).starts_with("--cpus: '0': "));
        assert!(err(&["--mem", "1M"]).starts_with("missing the program"));
        assert!(err(&["--name", "a/b", "sh"]).contains("use --parent"));
        assert!(err(&["--name", "cgctl-77", "sh"]).contains("anonymous groups"));
        assert!(err(&["--parent", "rel", "sh"]).contains("not an absolute cgroup path"));
        assert!(err(&["--stats-json", "/tmp/x", "--name", "n", "sh"]).contains("needs --wait"));
        assert!(err(&["stats"]).contains("missing GROUP"));
        assert!(err(&["freeze", "a", "b"]).contains("unexpected argument"));
        assert!(err(&["--bogus", "sh"]).starts_with("invalid option '--bogus'"));
    }
}
