//! What the fault, load and soak tests check the host with: a throwaway
//! "host" network namespace, the processes a run left, the links in it.

use crate::{As, alive, command, run};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A network namespace `PREFIX-PID` made with `ip netns add` that plays the
/// host, deleted (with whatever is in it) when dropped.
pub struct HostNetns(pub String);

impl HostNetns {
    pub fn new(prefix: &str) -> HostNetns {
        let name = format!("{prefix}-{}", std::process::id());
        run(&mut command(As::Root, "ip", &["netns", "add", &name])).ok();
        HostNetns(name)
    }

    /// ARGV as root inside it (util-linux nsenter: only the network
    /// namespace changes, and nsenter execs, so ARGV's parent is ours).
    pub fn cmd(&self, argv: &[&str]) -> Command {
        let ns = format!("--net=/run/netns/{}", self.0);
        let mut args = vec![ns.as_str(), "--"];
        args.extend_from_slice(argv);
        command(As::Root, "nsenter", &args)
    }

    /// The names of its links other than lo.
    pub fn links(&self) -> Vec<String> {
        let out = run(&mut command(
            As::Root,
            "ip",
            &["-n", &self.0, "-o", "link", "show"],
        ))
        .ok();
        out.stdout
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .filter(|n| n != "lo")
            .collect()
    }
}

impl Drop for HostNetns {
    fn drop(&mut self) {
        let _ = run(&mut command(As::Root, "ip", &["netns", "del", &self.0]));
    }
}

/// The live processes whose environment holds `VAR=value`, as "PID comm".
/// A test marks every process of a run this way: the chain passes the
/// environment on, so whatever a run leaves is found whatever its parent
/// became.
pub fn marked_processes(var: &str, value: &str) -> Vec<String> {
    let needle = format!("{var}={value}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if alive(pid) && env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            found.push(format!("{pid} {}", comm.trim()));
        }
    }
    found
}

/// The test's own cgroup directory in every mounted hierarchy.
pub fn own_cgroup_dirs() -> Vec<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut dirs = Vec::new();
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        let (fstype, opts) = (f[sep + 1], f[sep + 3]);
        let point = f[4];
        let path = match fstype {
            "cgroup2" => own.lines().find_map(|l| l.strip_prefix("0::")),
            "cgroup" => own.lines().find_map(|l| {
                let mut p = l.splitn(3, ':');
                let (_, ctrls, path) = (p.next()?, p.next()?, p.next()?);
                (!ctrls.is_empty()
                    && ctrls.split(',').all(|c| {
                        opts.split(',').any(|o| {
                            o == c || o == format!("name={}", c.trim_start_matches("name="))
                        })
                    }))
                .then_some(path)
            }),
            _ => None,
        };
        if let Some(path) = path {
            dirs.push(Path::new(point).join(path.trim_start_matches('/')));
        }
    }
    dirs
}

/// Every cgroup directory below the test's own ones.
pub fn cgroups_below() -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.insert(path.clone());
                walk(&path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    for dir in own_cgroup_dirs() {
        walk(&dir, &mut out);
    }
    out
}

/// ARGV as the test user inside the network namespace `netns` (a name in
/// /run/netns), placed first in the given cgroups (their `cgroup.procs`),
/// with a /dev/net/tun everyone may open, as on the distributions that ship
/// it 0666: this machine's is 0600, so a private mount namespace gets its
/// own tmpfs on /dev/net with a fresh node (the machine's /dev is not
/// touched). What a rootless chain with pasta needs.
pub fn as_user_with_tun(netns: &str, place_in: &[PathBuf], argv: &[&str]) -> Command {
    let script = format!(
        "mount -t tmpfs -o mode=755 e2e-tun /dev/net && mknod -m 666 /dev/net/tun c 10 200 || exit 8; \
         netns=$0; \
         while [ \"$1\" != -- ]; do echo $$ > \"$1\" || exit 9; shift; done; shift; \
         exec nsenter --net=/run/netns/\"$netns\" -S {} -G {} -- \"$@\"",
        crate::TEST_UID,
        crate::TEST_GID
    );
    let procs: Vec<String> = place_in
        .iter()
        .map(|g| g.join("cgroup.procs").to_string_lossy().into_owned())
        .collect();
    let mut args = vec![
        "-m",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        &script,
        netns,
    ];
    args.extend(procs.iter().map(String::as_str));
    args.push("--");
    args.extend_from_slice(argv);
    command(As::Root, "unshare", &args)
}

/// A cgroup `NAME-PID` below the test's own cgroup in every hierarchy,
/// owned by the test user, as a manager (systemd's `Delegate=yes`)
/// delegates one: the directory and its files are the user's. Removed when
/// dropped, once nothing is left in it.
///
/// On pure cgroup v2 the parent would also have to enable the controllers
/// in its subtree_control; the test's own cgroup is not ours to change, so
/// this serves the hybrid and v1 hosts the suite runs on (the VM test
/// covers delegation on pure v2).
pub struct Delegated(pub Vec<PathBuf>);

impl Delegated {
    pub fn new(name: &str) -> Delegated {
        let name = format!("{name}-{}", std::process::id());
        let mut made = Vec::new();
        for parent in own_cgroup_dirs() {
            let dir = parent.join(&name);
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            made.push(dir.clone());
            // A v1 cpuset group takes no process before it has cpus and
            // mems (EIO otherwise): the parent's, as clone_children would.
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(value) = std::fs::read_to_string(parent.join(file)) {
                    std::fs::write(dir.join(file), value.trim()).unwrap();
                }
            }
            let mut owned = vec![dir.clone()];
            owned.extend(
                std::fs::read_dir(&dir)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file()),
            );
            for path in owned {
                std::os::unix::fs::chown(&path, Some(crate::TEST_UID), Some(crate::TEST_GID))
                    .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
            }
        }
        Delegated(made)
    }

    /// The groups a process of its user made below it, in every hierarchy.
    pub fn groups_below(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for dir in &self.0 {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    found.push(entry.path());
                }
            }
        }
        found
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        // Deepest first; a process still leaving gets a moment.
        for dir in self.0.iter().rev() {
            let mut below: Vec<PathBuf> = Vec::new();
            fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
                for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        walk(&e.path(), out);
                        out.push(e.path());
                    }
                }
            }
            walk(dir, &mut below);
            below.push(dir.clone());
            for group in below {
                crate::wait_until(std::time::Duration::from_secs(5), || {
                    std::fs::remove_dir(&group).is_ok() || !group.exists()
                });
            }
        }
    }
}
