//! Command-line parsing for seccompctl. No syscalls happen here.

use crate::action::Action;
use crate::profile::{Arch, Arg, Op};
use chain::cli::value;
use chain::{Error, Result};
use lexopt::Arg::{Long, Short, Value};
use std::ffi::OsString;
use std::path::PathBuf;

pub const PROG: &str = "seccompctl";

/// A rule from `--allow`, `--deny` or `--rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliRule {
    pub names: Vec<String>,
    pub args: Vec<Arg>,
    pub action: Action,
}

/// What to print instead of running (nothing is applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspect {
    PrintProfile,
    Dump,
    DumpRaw(PathBuf),
    Test(TestCall),
}

/// `--test [ARCH:]NAME|NR [ARG...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCall {
    pub arch: Arch,
    pub call: String,
    pub args: [u64; 6],
}

/// The capability options as given: lists are resolved against the
/// kernel's cap_last_cap later, in the capability step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapOptions {
    pub caps: Option<String>,
    pub drop: Vec<String>,
    pub add: Vec<String>,
    pub ambient: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--default`: the posture Docker users get (see the help).
    pub default: bool,
    pub caps: CapOptions,
    pub nnp: bool,
    pub new_session: bool,
    pub profile: Option<PathBuf>,
    pub unconfined: bool,
    /// `--bpf FILE`: a compiled program (`--dump-raw`) to load as it is.
    pub bpf: Option<PathBuf>,
    pub default_action: Option<Action>,
    pub rules: Vec<CliRule>,
    pub strict: bool,
    pub inspect: Vec<Inspect>,
    pub verbose: bool,
    pub argv: Vec<OsString>,
}

pub type Parsed = chain::cli::Parsed<Box<Options>>;

/// A number as written: decimal, 0x hex, 0o octal, or negative decimal
/// (two's complement in 64 bits, as a C long -1 is passed).
pub fn number(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let bad = || format!("'{text}' is not a number");
    if let Some(neg) = t.strip_prefix('-') {
        return neg
            .parse::<u64>()
            .ok()
            .filter(|&n| n <= 1 << 63)
            .map(|n| n.wrapping_neg())
            .ok_or_else(bad);
    }
    let lower = t.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).map_err(|_| bad());
    }
    if let Some(oct) = lower.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).map_err(|_| bad());
    }
    t.parse::<u64>().map_err(|_| bad())
}

/// One comparison: `aN OP VALUE` with OP one of `== != < <= > >=`, or
/// `aN&MASK==VALUE` (the masked-equal operator, OCI's SCMP_CMP_MASKED_EQ).
fn condition(text: &str) -> std::result::Result<Arg, String> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let rest = t
        .strip_prefix('a')
        .ok_or_else(|| format!("'{text}': a comparison starts with the argument, a0 to a5"))?;
    let index = rest
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .filter(|&i| i <= 5)
        .ok_or_else(|| format!("'{text}': the argument is a0 to a5"))? as u8;
    let rest = &rest[1..];
    if let Some(masked) = rest.strip_prefix('&') {
        let (mask, val) = masked
            .split_once("==")
            .ok_or_else(|| format!("'{text}': a mask is written aN&MASK==VALUE"))?;
        return Ok(Arg {
            index,
            value: number(mask)?,
            value_two: number(val)?,
            op: Op::MaskedEq,
        });
    }
    const OPS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let (sym, op) = OPS
        .iter()
        .find(|(s, _)| rest.starts_with(s))
        .ok_or_else(|| {
            format!("'{text}': unknown operator (expected == != < <= > >= or &MASK==)")
        })?;
    Ok(Arg {
        index,
        value: number(&rest[sym.len()..])?,
        value_two: 0,
        op: *op,
    })
}

/// `NAME[,NAME...][(COND[,COND...])][=ACTION]`; `default` is the action
/// when none is written (None: one must be written).
pub fn rule(text: &str, default: Option<Action>) -> std::result::Result<CliRule, String> {
    let (head, action) = match text.find(')') {
        Some(close) => {
            let (h, tail) = text.split_at(close + 1);
            (
                h,
                tail.strip_prefix('=')
                    .map(str::to_string)
                    .or_else(|| (!tail.is_empty()).then(|| tail.to_string())),
            )
        }
        None => match text.split_once('=') {
            Some((h, a)) => (h, Some(a.to_string())),
            None => (text, None),
        },
    };
    let action = match (action, default) {
        (Some(a), _) if a.is_empty() => return Err(format!("'{text}': nothing after '='")),
        (Some(a), _)
            if text
                .find(')')
                .is_some_and(|c| !text[c + 1..].starts_with('=')) =>
        {
            return Err(format!("'{text}': unexpected '{a}' after ')'"));
        }
        (Some(a), _) => Action::parse_cli(&a)?,
        (None, Some(d)) => d,
        (None, None) => return Err(format!("'{text}': --rule needs =ACTION")),
    };
    let (names, conds) = match head.split_once('(') {
        Some((n, c)) => {
            let c = c
                .strip_suffix(')')
                .ok_or_else(|| format!("'{text}': unbalanced parentheses"))?;
            (n, Some(c))
        }
        None => (head, None),
    };
    let names: Vec<String> = names.split(',').map(|n| n.trim().to_string()).collect();
    if names
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(format!(
            "'{text}': expected syscall names separated by commas"
        ));
    }
    let args = match conds {
        None => Vec::new(),
        Some(c) if c.trim().is_empty() => return Err(format!("'{text}': empty parentheses")),
        Some(c) => c
            .split(',')
            .map(condition)
            .collect::<std::result::Result<_, _>>()?,
    };
    Ok(CliRule {
        names,
        args,
        action,
    })
}

/// `[ARCH:]NAME|NR [ARG...]` (arguments are numbers).
pub fn test_call(text: &str) -> std::result::Result<TestCall, String> {
    let mut words = text.split_whitespace();
    let first = words.next().ok_or("--test: empty call")?;
    let (arch, call) = match first.split_once(':') {
        Some((a, c)) => (
            match a {
                "x86_64" | "amd64" => Arch::X86_64,
                "i386" | "x86" => Arch::X86,
                "x32" => Arch::X32,
                _ => {
                    return Err(format!(
                        "--test: unknown architecture '{a}' (x86_64, i386 or x32)"
                    ));
                }
            },
            c,
        ),
        None => (Arch::X86_64, first),
    };
    let mut args = [0u64; 6];
    for (i, w) in words.enumerate() {
        if i >= 6 {
            return Err("--test: a call has at most 6 arguments".into());
        }
        args[i] = number(w)?;
    }
    Ok(TestCall {
        arch,
        call: call.to_string(),
        args,
    })
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let bad = |opt: &str, msg: String| Error::usage(PROG, format!("{opt}: {msg}"));
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options {
        default: false,
        caps: CapOptions::default(),
        nnp: false,
        new_session: false,
        profile: None,
        unconfined: false,
        bpf: None,
        default_action: None,
        rules: Vec::new(),
        strict: false,
        inspect: Vec::new(),
        verbose: false,
        argv: Vec::new(),
    };
    let text = |parser: &mut lexopt::Parser, opt: &str| -> Result<String> {
        value(PROG, opt, parser.value().map_err(usage)?)
    };
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("default") => o.default = true,
            Long("caps") => o.caps.caps = Some(text(&mut parser, "--caps")?),
            Long("cap-drop") => o.caps.drop.push(text(&mut parser, "--cap-drop")?),
            Long("cap-add") => o.caps.add.push(text(&mut parser, "--cap-add")?),
            Long("ambient") => o.caps.ambient = true,
            Long("nnp") | Long("no-new-privs") => o.nnp = true,
            Long("new-session") => o.new_session = true,
            Long("profile") => o.profile = Some(parser.value().map_err(usage)?.into()),
            Long("unconfined") => o.unconfined = true,
            Long("bpf") => o.bpf = Some(parser.value().map_err(usage)?.into()),
            Long("default-action") => {
                let t = text(&mut parser, "--default-action")?;
                o.default_action =
                    Some(Action::parse_cli(&t).map_err(|e| bad("--default-action", e))?);
            }
            Long("allow") => {
                let t = text(&mut parser, "--allow")?;
                o.rules
                    .push(rule(&t, Some(Action::Allow)).map_err(|e| bad("--allow", e))?);
            }
            Long("deny") => {
                let t = text(&mut parser, "--deny")?;
                o.rules.push(
                    rule(&t, Some(Action::Errno(crate::action::EPERM)))
                        .map_err(|e| bad("--deny", e))?,
                );
            }
            Long("rule") => {
                let t = text(&mut parser, "--rule")?;
                o.rules.push(rule(&t, None).map_err(|e| bad("--rule", e))?);
            }
            Long("strict") => o.strict = true,
            Long("print-profile") => o.inspect.push(Inspect::PrintProfile),
            Long("dump") => o.inspect.push(Inspect::Dump),
            Long("dump-raw") => o
                .inspect
                .push(Inspect::DumpRaw(parser.value().map_err(usage)?.into())),
            Long("test") => {
                let t = text(&mut parser, "--test")?;
                o.inspect.push(Inspect::Test(
                    test_call(&t).map_err(|e| Error::usage(PROG, e))?,
                ));
            }
            Short('v') | Long("verbose") => o.verbose = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(first) => {
                o.argv.push(first);
                o.argv.extend(parser.raw_args().map_err(usage)?);
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    // `--` ends the options; lexopt hands the rest over as values.
    if o.bpf.is_some()
        && (o.unconfined
            || o.profile.is_some()
            || !o.rules.is_empty()
            || o.default_action.is_some())
    {
        return Err(Error::usage(
            PROG,
            "--bpf loads a compiled program as it is: it does not go with --profile, rules, --default-action or --unconfined",
        ));
    }
    if o.unconfined && (o.profile.is_some() || !o.rules.is_empty() || o.default_action.is_some()) {
        return Err(Error::usage(
            PROG,
            "--unconfined loads no filter: it does not go with --profile, rules or --default-action",
        ));
    }
    if o.inspect.is_empty() && o.argv.is_empty() {
        return Err(Error::usage(PROG, "no program to run"));
    }
    if !o.inspect.is_empty() && !o.argv.is_empty() {
        return Err(Error::usage(
            PROG,
            "--print-profile, --dump, --dump-raw and --test print and exit: they take no program",
        ));
    }
    Ok(Parsed::Run(Box::new(o)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::cli::{parse_error, parse_run};

    fn run(args: &[&str]) -> Options {
        *parse_run(parse, args)
    }

    #[test]
    fn posture_and_program() {
        let o = run(&["--default", "--", "bash", "-l"]);
        assert!(o.default);
        assert_eq!(o.argv, ["bash", "-l"]);
        let o = run(&[
            "--cap-drop",
            "ALL",
            "--cap-add=net_bind_service",
            "--ambient",
            "prog",
        ]);
        assert_eq!(o.caps.drop, ["ALL"]);
        assert_eq!(o.caps.add, ["net_bind_service"]);
        assert!(o.caps.ambient);
    }

    #[test]
    fn rules_with_conditions_and_actions() {
        let o = run(&[
            "--default-action",
            "errno:ENOSYS",
            "--allow",
            "read,write",
            "--deny",
            "socket(a0==40)",
            "--rule",
            "clone(a0&0x7E020000==0)=allow",
            "--deny",
            "ptrace=kill",
            "true",
        ]);
        assert_eq!(o.default_action, Some(Action::Errno(38)));
        assert_eq!(
            o.rules[0],
            CliRule {
                names: vec!["read".into(), "write".into()],
                args: vec![],
                action: Action::Allow
            }
        );
        assert_eq!(
            o.rules[1].args,
            [Arg {
                index: 0,
                value: 40,
                value_two: 0,
                op: Op::Eq
            }]
        );
        assert_eq!(o.rules[1].action, Action::Errno(1));
        assert_eq!(
            o.rules[2].args,
            [Arg {
                index: 0,
                value: 0x7E02_0000,
                value_two: 0,
                op: Op::MaskedEq
            }]
        );
        assert_eq!(o.rules[3].action, Action::KillProcess);
    }

    #[test]
    fn comparisons() {
        for (text, op, v) in [
            ("a1!=5", Op::Ne, 5),
            ("a2 <= 0x10", Op::Le, 16),
            ("a3>=7", Op::Ge, 7),
            ("a4<1", Op::Lt, 1),
            ("a5>-1", Op::Gt, u64::MAX),
        ] {
            let a = condition(text).unwrap();
            assert_eq!((a.op, a.value), (op, v), "{text}");
        }
        assert!(condition("a6==1").is_err());
        assert!(condition("b0==1").is_err());
        assert!(condition("a0=~1").is_err());
        assert!(condition("a0&0xff").is_err());
    }

    #[test]
    fn test_calls() {
        let t = test_call("i386:socketcall 1 2").unwrap();
        assert_eq!(
            (t.arch, t.call.as_str(), t.args[0], t.args[1]),
            (Arch::X86, "socketcall", 1, 2)
        );
        let t = test_call("41 0x28").unwrap();
        assert_eq!(
            (t.arch, t.call.as_str(), t.args[0]),
            (Arch::X86_64, "41", 40)
        );
        assert!(test_call("mips:read").is_err());
        assert!(test_call("read 1 2 3 4 5 6 7").is_err());
    }

    #[test]
    fn usage_errors() {
        for args in [
            &["--bogus", "x"][..],
            &["--default"],
            &["--rule", "socket", "x"],
            &["--deny", "sock et", "x"],
            &["--deny", "socket(a0==1", "x"],
            &["--deny", "socket()", "x"],
            &["--default-action", "deny", "x"],
            &["--deny", "ptrace=maybe", "x"],
            &["--dump", "--", "prog"],
            &["--unconfined", "--profile", "f", "x"],
            &["--bpf", "f", "--deny", "ptrace", "x"],
            &["--test", "read 1 2 3 4 5 6 7"],
        ] {
            let e = parse_error(parse, args);
            assert!(e.contains("see 'seccompctl --help'"), "{args:?}: {e}");
        }
    }
}
