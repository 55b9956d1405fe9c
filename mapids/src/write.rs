//! Writing the maps of a process from outside its user namespace.
//!
//! Three privilege paths, chosen before anything is written:
//! - root (CAP_SETUID/CAP_SETGID here) writes /proc/PID/uid_map and gid_map
//!   itself;
//! - an unprivileged caller that maps only its own id (one line, count 1)
//!   writes itself too, the gid map after `setgroups` is `deny` (the kernel's
//!   rule since Linux 3.19);
//! - anything else unprivileged goes through newuidmap/newgidmap (setuid
//!   root, Debian package uidmap), which check /etc/subuid and /etc/subgid;
//!   their own message and exit status are passed on when they fail.
//!
//! Everything is checked first (the ranges, the subordinate ids, the
//! helpers' presence, a map already written), so a refusal writes nothing.

use crate::idmap::{self, Range};
use crate::subid;
use chain::exec;
use chain::{Error, Result, sys, trace};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetGroups {
    Allow,
    Deny,
}

/// Who runs mapids, outside.
#[derive(Debug, Clone)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub privileged: bool,
}

impl Caller {
    pub fn current() -> Caller {
        Caller {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            privileged: nix::unistd::geteuid().is_root(),
        }
    }

    /// The user name, read only where subordinate ids need it.
    pub fn name(&self) -> Option<String> {
        user_name(self.uid)
    }

    pub fn shown(&self) -> String {
        self.name().unwrap_or_else(|| format!("uid {}", self.uid))
    }
}

/// The name of a uid from /etc/passwd (no NSS in a static binary).
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid.to_string()).then(|| name.to_string())
    })
}

#[derive(Debug)]
enum How {
    Direct,
    Helper(PathBuf),
}

#[derive(Debug)]
struct Target {
    kind: &'static str,
    map: Vec<Range>,
    how: How,
}

/// What will be written, and how; everything checked.
#[derive(Debug)]
pub struct Plan {
    uid: Option<Target>,
    gid: Option<Target>,
    setgroups: Option<SetGroups>,
    /// An unprivileged caller mapping only its own ids: the creator of the
    /// namespace may write these maps itself (see [`Plan::self_writes`]).
    own_ids_only: bool,
}

pub fn plan(
    caller: &Caller,
    uid: Option<Vec<Range>>,
    gid: Option<Vec<Range>>,
    setgroups: Option<SetGroups>,
) -> Result<Plan> {
    let mut setgroups = setgroups;
    let own_ids_only = !caller.privileged
        && uid
            .as_ref()
            .is_none_or(|m| idmap::is_own_id_only(m, caller.uid))
        && gid
            .as_ref()
            .is_none_or(|m| idmap::is_own_id_only(m, caller.gid));
    let uid = uid
        .map(|map| target(caller, "uid", map, caller.uid, "/etc/subuid", "newuidmap"))
        .transpose()?;
    let gid = gid
        .map(|map| target(caller, "gid", map, caller.gid, "/etc/subgid", "newgidmap"))
        .transpose()?;
    if let Some(Target {
        how: How::Direct, ..
    }) = &gid
        && !caller.privileged
    {
        // The kernel lets an unprivileged process map its own gid only
        // once setgroups is denied for good.
        if setgroups == Some(SetGroups::Allow) {
            return Err(Error::msg(
                "--setgroups allow: an unprivileged map of one's own gid needs setgroups denied (a kernel rule); \
                     map subordinate gids too (--auto) to keep setgroups",
            ));
        }
        setgroups = Some(SetGroups::Deny);
    }
    Ok(Plan {
        uid,
        gid,
        setgroups,
        own_ids_only,
    })
}

fn target(
    caller: &Caller,
    kind: &'static str,
    map: Vec<Range>,
    own: u32,
    file: &str,
    tool: &str,
) -> Result<Target> {
    idmap::validate(kind, &map).map_err(Error::msg)?;
    if caller.privileged || idmap::is_own_id_only(&map, own) {
        return Ok(Target {
            kind,
            map,
            how: How::Direct,
        });
    }
    let text = chain::file::read_opt(file).unwrap_or_default();
    let granted = subid::ranges_of(&text, caller.name().as_deref(), caller.uid);
    subid::check(&map, own, &granted, kind, file, &caller.shown()).map_err(Error::msg)?;
    let helper = exec::resolve(vec![tool.into()]).map_err(|e| {
        Error::msg(format!(
            "{tool} not found ({}): mapping ids other than one's own needs it (Debian package uidmap)",
            e.errno.map(chain::error::strerror).unwrap_or_default()
        ))
    })?;
    Ok(Target {
        kind,
        map,
        how: How::Helper(helper.path),
    })
}

impl Plan {
    /// The maps as /proc/self writes for the namespace's creator, when the
    /// kernel lets it write them itself (an unprivileged caller's own ids:
    /// one line each, setgroups denied first). None otherwise: a helper
    /// outside must write them.
    pub fn self_writes(&self) -> Option<Vec<(&'static str, String)>> {
        if !self.own_ids_only {
            return None;
        }
        let mut writes = Vec::new();
        if let Some(setgroups) = self.setgroups {
            writes.push((
                "setgroups",
                if setgroups == SetGroups::Deny {
                    "deny"
                } else {
                    "allow"
                }
                .to_string(),
            ));
        }
        for target in [&self.uid, &self.gid].into_iter().flatten() {
            writes.push((
                if target.kind == "uid" {
                    "uid_map"
                } else {
                    "gid_map"
                },
                idmap::format(&target.map).trim_end().to_string(),
            ));
        }
        Some(writes)
    }

    /// Writes the maps of `pid`: setgroups, then the uid map, then the gid
    /// map. `created_from` is the user namespace the caller is in when pid's
    /// namespace was just created by a later chain step (then it cannot be
    /// mapped yet; only that it is a new one is checked); None for a running
    /// process, whose maps are read first.
    pub fn write(&self, pid: Pid, created_from: Option<u64>) -> Result<()> {
        if let Some(ours) = created_from {
            use std::os::unix::fs::MetadataExt;
            let path = format!("/proc/{pid}/ns/user");
            let theirs = sys("stat", &path, || {
                std::fs::metadata(&path).map(|m| m.ino()).map_err(errno_of)
            })?;
            if theirs == ours {
                return Err(Error::msg(format!(
                    "process {pid} is still in this user namespace: give the next unshare-rs -U (--user)"
                )));
            }
        } else {
            for target in [&self.uid, &self.gid].into_iter().flatten() {
                let path = format!("/proc/{pid}/{}_map", target.kind);
                let current = chain::file::read(Path::new(&path))?;
                if !current.trim().is_empty() {
                    return Err(Error::msg(format!(
                        "process {pid} already has a {} map ({}): a map is written once",
                        target.kind,
                        current.split_whitespace().collect::<Vec<_>>().join(" ")
                    )));
                }
            }
        }
        if let Some(setgroups) = self.setgroups {
            let word: &[u8] = if setgroups == SetGroups::Deny {
                b"deny"
            } else {
                b"allow"
            };
            chain::file::write(Path::new(&format!("/proc/{pid}/setgroups")), word)?;
        }
        for target in [&self.uid, &self.gid].into_iter().flatten() {
            match &target.how {
                How::Direct => chain::file::write(Path::new(&format!("/proc/{pid}/{}_map", target.kind)), idmap::format(&target.map).as_bytes())
                    .map_err(|e| e.with_hint_for(|errno| (errno == nix::errno::Errno::EPERM).then(|| format!("writing a {} map needs CAP_SET{}, or one line mapping one's own id", target.kind, target.kind.to_uppercase()))))?,
                How::Helper(tool) => run_helper(tool, pid, &target.map)?,
            }
        }
        Ok(())
    }
}

fn errno_of(e: std::io::Error) -> nix::errno::Errno {
    nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// `newuidmap PID IN OUT COUNT...`, failing with its own words.
fn run_helper(tool: &Path, pid: Pid, map: &[Range]) -> Result<()> {
    let mut args = vec![pid.to_string()];
    for r in map {
        args.extend([
            r.inside.to_string(),
            r.outside.to_string(),
            r.count.to_string(),
        ]);
    }
    let shown = format!("{} {}", tool.display(), args.join(" "));
    let out = sys("run", &shown, || {
        std::process::Command::new(tool)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    trace::note(format_args!("{shown}: {}", out.status));
    Err(Error::msg(format!(
        "{shown}: {} ({})",
        said.trim(),
        describe(out.status)
    )))
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "failed".into(),
    }
}
