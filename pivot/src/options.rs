//! Command-line parsing for pivot. No syscalls happen here.

use chain::cli::value;
use chain::shown;
use chain::{Error, Result};
use lexopt::Arg::{Long, Short, Value};
use std::ffi::OsString;
use std::path::PathBuf;
use std::str::FromStr;

pub const PROG: &str = "pivot";

/// What `/` (and so every mount below it) is made before anything is
/// mounted: slave by default, like runc and bubblewrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Slave,
    Private,
    Unchanged,
}

impl FromStr for Propagation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "slave" => Ok(Propagation::Slave),
            "private" => Ok(Propagation::Private),
            "unchanged" => Ok(Propagation::Unchanged),
            _ => Err("expected slave, private or unchanged".into()),
        }
    }
}

/// One mount or file-system change below the new root, in argv order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    Bind {
        src: PathBuf,
        dst: PathBuf,
        read_only: bool,
    },
    Tmpfs(PathBuf),
    Mkdir(PathBuf),
    Symlink {
        target: PathBuf,
        link: PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub new_root: PathBuf,
    pub proc: bool,
    pub sys: bool,
    pub dev: bool,
    pub mask: bool,
    pub extra_masks: Vec<PathBuf>,
    pub read_only: bool,
    pub extras: Vec<Extra>,
    /// Image layers, topmost first (overlayfs' lowerdir order).
    pub overlay: Vec<PathBuf>,
    pub upper: Option<PathBuf>,
    pub work: Option<PathBuf>,
    pub propagation: Propagation,
    pub no_pivot: bool,
    pub wd: PathBuf,
    pub close_fds: bool,
    /// Carry the chain steps that follow (mapids, seccompctl) in from the host.
    pub carry: bool,
    pub verbose: bool,
    pub argv: Vec<OsString>,
}

pub type Parsed = chain::cli::Parsed<Box<Options>>;

/// `SRC:DST`; DST defaults to SRC (bubblewrap's --bind SRC DST, in one word).
fn src_dst(opt: &str, raw: OsString) -> Result<(PathBuf, PathBuf)> {
    let text: String = value(PROG, opt, raw)?;
    let (src, dst) = text.split_once(':').unwrap_or((&text, &text));
    if src.is_empty() || dst.is_empty() {
        return Err(Error::usage(
            PROG,
            format!("{opt}: '{}': expected SRC:DST", shown::text(&text)),
        ));
    }
    Ok((src.into(), dst.into()))
}

/// A path inside the new root: absolute, as the container will see it.
fn inside(opt: &str, raw: OsString) -> Result<PathBuf> {
    let path = PathBuf::from(raw);
    if !path.is_absolute() {
        return Err(Error::usage(
            PROG,
            format!(
                "{opt}: '{}' is not an absolute path inside the new root",
                shown::path(&path)
            ),
        ));
    }
    Ok(path)
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    let usage = |e: lexopt::Error| Error::usage(PROG, e);
    let mut parser = lexopt::Parser::from_args(args);
    let mut new_root: Option<PathBuf> = None;
    let mut o = Options {
        new_root: PathBuf::new(),
        proc: true,
        sys: true,
        dev: true,
        mask: true,
        extra_masks: Vec::new(),
        read_only: false,
        extras: Vec::new(),
        overlay: Vec::new(),
        upper: None,
        work: None,
        propagation: Propagation::Slave,
        no_pivot: false,
        wd: PathBuf::from("/"),
        close_fds: false,
        carry: true,
        verbose: false,
        argv: Vec::new(),
    };
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("no-proc") => o.proc = false,
            Long("no-sys") => o.sys = false,
            Long("no-dev") => o.dev = false,
            Long("no-mask") => o.mask = false,
            Long("mask") => o
                .extra_masks
                .push(inside("--mask", parser.value().map_err(usage)?)?),
            Long("ro") => o.read_only = true,
            Long("bind") | Long("ro-bind") => {
                let read_only = matches!(arg, Long("ro-bind"));
                let opt = if read_only { "--ro-bind" } else { "--bind" };
                let (src, dst) = src_dst(opt, parser.value().map_err(usage)?)?;
                if !dst.is_absolute() {
                    return Err(Error::usage(
                        PROG,
                        format!(
                            "{opt}: '{}' is not an absolute path inside the new root",
                            shown::path(&dst)
                        ),
                    ));
                }
                o.extras.push(Extra::Bind {
                    src,
                    dst,
                    read_only,
                });
            }
            Long("tmpfs") => o.extras.push(Extra::Tmpfs(inside(
                "--tmpfs",
                parser.value().map_err(usage)?,
            )?)),
            Long("mkdir") => o.extras.push(Extra::Mkdir(inside(
                "--mkdir",
                parser.value().map_err(usage)?,
            )?)),
            Long("symlink") => {
                let (target, link) = src_dst("--symlink", parser.value().map_err(usage)?)?;
                if !link.is_absolute() || target == link {
                    return Err(Error::usage(
                        PROG,
                        "--symlink: expected TARGET:LINK with LINK an absolute path inside the new root",
                    ));
                }
                o.extras.push(Extra::Symlink { target, link });
            }
            Long("overlay") => {
                let layers: String = value(PROG, "--overlay", parser.value().map_err(usage)?)?;
                if layers.split(':').any(str::is_empty) {
                    return Err(Error::usage(
                        PROG,
                        format!(
                            "--overlay: '{}': expected LOWER[:LOWER...]",
                            shown::text(&layers)
                        ),
                    ));
                }
                o.overlay.extend(layers.split(':').map(PathBuf::from));
            }
            Long("upper") => o.upper = Some(parser.value().map_err(usage)?.into()),
            Long("work") => o.work = Some(parser.value().map_err(usage)?.into()),
            Long("propagation") => {
                o.propagation = value(PROG, "--propagation", parser.value().map_err(usage)?)?
            }
            Long("no-pivot") => o.no_pivot = true,
            Long("wd") => o.wd = inside("--wd", parser.value().map_err(usage)?)?,
            Long("close-fds") => o.close_fds = true,
            Long("no-carry") => o.carry = false,
            Short('v') | Long("verbose") => o.verbose = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(word) if new_root.is_none() => {
                if word.is_empty() {
                    return Err(Error::usage(PROG, "NEWROOT is empty"));
                }
                new_root = Some(word.into());
            }
            Value(program) => {
                o.argv.push(program);
                o.argv.extend(parser.raw_args().map_err(usage)?);
                break;
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    o.new_root = new_root.ok_or_else(|| Error::usage(PROG, "missing NEWROOT"))?;
    if (o.upper.is_some() || o.work.is_some()) && o.overlay.is_empty() {
        return Err(Error::usage(
            PROG,
            "--upper and --work go with --overlay LOWER[:LOWER...]",
        ));
    }
    if o.upper.is_some() != o.work.is_some() {
        return Err(Error::usage(
            PROG,
            "--upper and --work go together (two directories on one file system)",
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
    fn defaults_give_a_usable_system() {
        let o = run(&["./rootfs", "sh"]);
        assert_eq!(o.new_root, PathBuf::from("./rootfs"));
        assert!(o.proc && o.sys && o.dev && o.mask && !o.read_only && !o.no_pivot);
        assert_eq!(o.propagation, Propagation::Slave);
        assert_eq!(o.wd, PathBuf::from("/"));
        assert_eq!(o.argv, ["sh"]);
    }

    #[test]
    fn options_may_follow_newroot_and_parsing_stops_at_the_program() {
        let o = run(&["./r", "--ro", "--no-sys", "--", "sh", "-c", "--ro"]);
        assert!(o.read_only && !o.sys);
        assert_eq!(o.argv, ["sh", "-c", "--ro"]);
        let o = run(&["--no-dev", "./r", "ls", "--no-proc"]);
        assert!(!o.dev && o.proc);
        assert_eq!(o.argv, ["ls", "--no-proc"]);
    }

    #[test]
    fn extras_keep_their_order() {
        let o = run(&[
            "r",
            "--bind",
            "/a:/b",
            "--tmpfs",
            "/t",
            "--ro-bind=/etc/hosts",
            "--mkdir",
            "/m",
            "--symlink",
            "usr/bin:/bin",
        ]);
        assert_eq!(
            o.extras,
            vec![
                Extra::Bind {
                    src: "/a".into(),
                    dst: "/b".into(),
                    read_only: false
                },
                Extra::Tmpfs("/t".into()),
                Extra::Bind {
                    src: "/etc/hosts".into(),
                    dst: "/etc/hosts".into(),
                    read_only: true
                },
                Extra::Mkdir("/m".into()),
                Extra::Symlink {
                    target: "usr/bin".into(),
                    link: "/bin".into()
                },
            ]
        );
    }

    #[test]
    fn overlay_layers() {
        let o = run(&["m", "--overlay", "/l2:/l1", "--upper", "/u", "--work", "/w"]);
        assert_eq!(o.overlay, [PathBuf::from("/l2"), PathBuf::from("/l1")]);
        assert_eq!(o.upper, Some("/u".into()));
        assert!(run(&["m", "--overlay", "/l"]).upper.is_none());
    }

    #[test]
    fn bad_input_is_named() {
        assert!(err(&[]).starts_with("missing NEWROOT"));
        assert!(err(&["r", "--bogus"]).starts_with("invalid option '--bogus'"));
        assert!(err(&["r", "--tmpfs", "tmp"]).contains("not an absolute path inside the new root"));
        assert!(err(&["r", "--bind", "/a:rel"]).contains("not an absolute path"));
        assert!(err(&["r", "--bind", ":/b"]).contains("expected SRC:DST"));
        assert!(err(&["r", "--overlay", "/a::/b"]).contains("expected LOWER"));
        assert!(err(&["r", "--upper", "/u", "--work", "/w"]).contains("go with --overlay"));
        assert!(err(&["r", "--overlay", "/l", "--upper", "/u"]).contains("go together"));
        assert!(
            err(&["r", "--propagation", "shared"]).contains("expected slave, private or unchanged")
        );
        assert!(err(&["r", "--wd", "x"]).contains("not an absolute path"));
        // A newline in a name does not split the one line of the error.
        assert_eq!(
            err(&["r", "--tmpfs", "a\nb"]),
            "--tmpfs: 'a\\nb' is not an absolute path inside the new root (see 'pivot --help')"
        );
    }
}
