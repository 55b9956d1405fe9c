//! Creating a group, writing its limits, joining it, removing it.
//!
//! Where: below the caller's own cgroup in each hierarchy (or `--parent`).
//! Which hierarchies: pure v2, the unified one with the needed controllers
//! enabled; hybrid, the v1 hierarchies of the needed controllers plus the
//! unified tree (for cgroup.events, cgroup.kill and cgroup.freeze); pure v1,
//! the needed ones (the freezer when there are none, so the group can still
//! be frozen and killed).
//!
//! cgroup v2's no-internal-process rule: a non-root cgroup that has
//! processes cannot give controllers to its children. So before enabling
//! controllers in the parent P (decided by reading files, not by waiting for
//! EBUSY): if P has no process, go on; if its only process is this one,
//! move it to P/cgctl-leaf first (removed again once the caller has joined
//! the new group); otherwise use P's parent, creating a sibling of the
//! caller's cgroup, as runc does.

use crate::limits::Write;
use chain::cgroup::{Hierarchy, Layout, Mode};
use chain::{Error, Result, sys, trace};
use nix::errno::Errno;
use std::path::{Path, PathBuf};

/// The group in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// v1 controllers, or empty for cgroup2.
    pub controllers: Vec<String>,
    pub dir: PathBuf,
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub dirs: Vec<Placed>,
    /// A leaf the caller was moved to (pure v2), removed after joining.
    pub leaf: Option<PathBuf>,
    /// The controllers this run enabled in the leaf's parent's
    /// cgroup.subtree_control (to give back when the leaf goes).
    pub enabled: Vec<String>,
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The hierarchies a group with these controllers lives in.
pub fn hierarchies<'a>(layout: &'a Layout, v1_controllers: &[&str]) -> Result<Vec<&'a Hierarchy>> {
    let mut out: Vec<&Hierarchy> = Vec::new();
    if matches!(layout.mode, Mode::V1 | Mode::Hybrid) {
        let mut wanted: Vec<&str> = v1_controllers.to_vec();
        // Pure v1 has no cgroup.freeze or cgroup.kill: the freezer
        // hierarchy is what lets cgctl freeze, thaw and kill the group
        // (without forks racing the kill), limits or not. Required when it
        // is all the group has; else used where mounted.
        if layout.mode == Mode::V1
            && !wanted.contains(&"freezer")
            && (wanted.is_empty() || layout.v1_for("freezer").is_some())
        {
            wanted.push("freezer");
        }
        for c in wanted {
            let h = layout.v1_for(c).ok_or_else(|| {
                Error::msg(format!("the {c} controller is not mounted (no cgroup v1 hierarchy has it): this kernel or system lacks it"))
            })?;
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    if let Some(u) = &layout.unified {
        out.insert(0, u);
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String> {
    chain::file::read(path)
}

fn processes(dir: &Path) -> Result<Vec<i32>> {
    Ok(read(&dir.join("cgroup.procs"))?
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

/// Creates `dir` in `base`; false when it exists. A missing `base` is
/// found here, by the mkdir's ENOENT, rather than by a stat before it.
fn mkdir(dir: &Path, base: &Path) -> Result<bool> {
    match sys("mkdir", dir.display(), || {
        std::fs::create_dir(dir).map_err(io_errno)
    }) {
        Ok(()) => Ok(true),
        Err(e) if e.errno == Some(Errno::EEXIST) => Ok(false),
        Err(e) if e.errno == Some(Errno::ENOENT) => {
            Err(Error::sys("open", base.display(), Errno::ENOENT).with_hint("no such cgroup"))
        }
        Err(e) => Err(e.with_hint_for(|errno| {
            matches!(errno, Errno::EACCES | Errno::EPERM | Errno::EROFS).then(|| {
                format!(
                    "{} is not delegated to this user: as root, or rootless through systemd: \
                     systemd-run --user --scope -p Delegate=yes cgctl ...",
                    dir.parent().unwrap_or(dir).display()
                )
            })
        })),
    }
}

/// Enables `controllers` for the children of `parent` (pure v2), moving the
/// caller out of `parent` first when the no-internal-process rule needs it.
/// Returns the directory to create the group in and the leaf, if one was made.
fn prepare_v2(
    parent: &Path,
    controllers: &[&str],
    root: &Path,
    explicit_parent: bool,
) -> Result<(PathBuf, Option<PathBuf>, Vec<String>)> {
    if controllers.is_empty() {
        return Ok((parent.to_path_buf(), None, Vec::new()));
    }
    // Already given to the children (a systemd slice, the leaf or sibling
    // place of an earlier cgctl): one read, and nothing to write. The
    // kernel keeps processes out of a non-root cgroup whose
    // subtree_control is not empty, so no other check is needed.
    let enabled = read(&parent.join("cgroup.subtree_control"))?;
    if controllers
        .iter()
        .all(|c| enabled.split_whitespace().any(|e| e == *c))
    {
        return Ok((parent.to_path_buf(), None, Vec::new()));
    }
    let available = read(&parent.join("cgroup.controllers"))?;
    for c in controllers {
        if !available.split_whitespace().any(|a| a == *c) {
            return Err(Error::msg(format!(
                "the {c} controller is not delegated to {} (its cgroup.controllers: '{}'): enable it in the parent's \
                 cgroup.subtree_control, or for a user: systemd-run --user --scope -p Delegate=yes",
                parent.display(),
                available.trim()
            )));
        }
    }
    let mut target = parent.to_path_buf();
    let mut leaf = None;
    let in_parent = if target == root {
        Vec::new()
    } else {
        processes(&target)?
    };
    if !in_parent.is_empty() {
        let ours = in_parent == [std::process::id() as i32];
        if ours {
            // No internal processes: this process moves to a leaf of its own.
            let dir = target.join("cgctl-leaf");
            mkdir(&dir, &target)?;
            chain::file::write(&dir.join("cgroup.procs"), b"0")?;
            trace::note(format_args!(
                "moved to {} so that {} can give controllers to children",
                dir.display(),
                target.display()
            ));
            leaf = Some(dir);
        } else if explicit_parent {
            return Err(Error::msg(format!(
                "{} has processes, so it cannot give controllers to a new group (cgroup v2's no-internal-process rule): \
                 choose an empty --parent",
                target.display()
            )));
        } else {
            // Like runc: a sibling of the caller's cgroup.
            target = target
                .parent()
                .map(Path::to_path_buf)
                .ok_or_else(|| Error::msg("no parent cgroup to place a sibling in"))?;
            trace::note(format_args!(
                "{} has other processes: creating the group beside it, in {}",
                parent.display(),
                target.display()
            ));
            if target != root && !processes(&target)?.is_empty() {
                return Err(Error::msg(format!(
                    "both {} and its parent have processes, so neither can give controllers to a new group \
                     (cgroup v2's no-internal-process rule): give an empty --parent",
                    parent.display()
                )));
            }
        }
    }
    let already = if target == parent {
        enabled
    } else {
        read(&target.join("cgroup.subtree_control"))?
    };
    let newly: Vec<String> = controllers
        .iter()
        .filter(|c| !already.split_whitespace().any(|a| a == **c))
        .map(|c| c.to_string())
        .collect();
    if newly.is_empty() {
        return Ok((target, leaf, newly));
    }
    let enable: Vec<String> = newly.iter().map(|c| format!("+{c}")).collect();
    chain::file::write(
        &target.join("cgroup.subtree_control"),
        enable.join(" ").as_bytes(),
    )
    .map_err(|e| {
        e.with_hint_for(|errno| {
            (errno == Errno::EBUSY).then(|| {
                "the cgroup has processes (cgroup v2's no-internal-process rule)".to_string()
            })
        })
    })?;
    Ok((target, leaf, newly))
}

/// v1 cpuset groups start with empty cpus and mems, and joining one fails
/// (ENOSPC) until they are set: copy the parent's.
fn fill_cpuset(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = read(&dir.join(file))?;
        if own.trim().is_empty() {
            let parent = dir
                .parent()
                .map(|p| p.join(file))
                .ok_or_else(|| Error::msg("cpuset has no parent"))?;
            let value = read(&parent)?;
            chain::file::write(&dir.join(file), value.trim().as_bytes())?;
        }
    }
    Ok(())
}

/// Creates the group `name` in every hierarchy it needs.
pub fn create(
    layout: &Layout,
    v2_controllers: &[&str],
    v1_controllers: &[&str],
    parent: Option<&str>,
    name: &str,
) -> Result<Group> {
    let mut group = Group {
        name: name.to_string(),
        dirs: Vec::new(),
        leaf: None,
        enabled: Vec::new(),
    };
    let result = (|| {
        for h in hierarchies(layout, v1_controllers)? {
            let base = match parent {
                Some(p) => h.dir_of(p).ok_or_else(|| {
                    Error::msg(format!(
                        "--parent {p} is outside the {} hierarchy mounted at {}",
                        h.name(),
                        h.mount_point.display()
                    ))
                })?,
                None => h.own_dir().ok_or_else(|| {
                    Error::msg(format!(
                        "this process's cgroup {} is not visible under {}",
                        h.own,
                        h.mount_point.display()
                    ))
                })?,
            };
            let (base, leaf, enabled) = if h.controllers.is_empty() && layout.mode == Mode::V2 {
                prepare_v2(&base, v2_controllers, &h.mount_point, parent.is_some())?
            } else {
                (base, None, Vec::new())
            };
            if leaf.is_some() {
                group.leaf = leaf;
                group.enabled = enabled;
            }
            let dir = base.join(name);
            let created = mkdir(&dir, &base)?;
            if h.controllers.iter().any(|c| c == "cpuset") {
                fill_cpuset(&dir)?;
            }
            group.dirs.push(Placed {
                controllers: h.controllers.clone(),
                dir,
                created,
            });
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(group),
        Err(e) => {
            group.remove_created();
            Err(e)
        }
    }
}

impl Group {
    /// The directory that holds a controller's files: its v1 hierarchy, or
    /// the v2 one.
    pub fn dir_for(&self, controller: &str) -> Option<&Path> {
        self.placed_for(controller).map(|p| p.dir.as_path())
    }

    /// Whether this run made the directory that holds `controller`.
    pub fn created_for(&self, controller: &str) -> bool {
        self.placed_for(controller).is_some_and(|p| p.created)
    }

    fn placed_for(&self, controller: &str) -> Option<&Placed> {
        self.dirs
            .iter()
            .find(|p| p.controllers.iter().any(|c| c == controller))
            .or_else(|| self.dirs.iter().find(|p| p.controllers.is_empty()))
    }

    /// An anonymous run's (the name is cgctl-OWNPID) removal of what killed
    /// anonymous runs left next to its group (stale.rs), in every
    /// hierarchy. The supervisor does it while the workload runs: the
    /// listing is off the start's critical path.
    pub fn sweep_stale(&self) {
        if crate::stale::anonymous_pid(&self.name) != Some(std::process::id() as i32) {
            return;
        }
        for base in self.dirs.iter().filter_map(|p| p.dir.parent()) {
            crate::stale::sweep(base);
        }
    }

    /// The cgroup2 directory (pure v2, or the unified tree).
    pub fn unified(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|p| p.controllers.is_empty())
            .map(|p| p.dir.as_path())
    }

    /// Writes the limits, in order; on failure the groups made are removed.
    pub fn write_limits(&self, writes: &[Write]) -> Result<()> {
        for w in writes {
            let dir = self.dir_for(w.controller).ok_or_else(|| {
                Error::msg(format!("no hierarchy for the {} controller", w.controller))
            })?;
            chain::file::write(&dir.join(w.file), w.value.as_bytes()).map_err(|e| {
                e.with_hint_for(|errno| match errno {
                    Errno::ENOENT => Some(format!(
                        "this kernel has no {} (the {} controller or that feature is missing)",
                        w.file, w.controller
                    )),
                    Errno::EINVAL => Some("the kernel refused the value".into()),
                    Errno::EBUSY => Some("the group already uses more than that".into()),
                    _ => None,
                })
            })?;
        }
        Ok(())
    }

    /// Moves the calling process into the group, in every hierarchy. A move
    /// needs write access to the target's cgroup.procs and to that of the
    /// common ancestor of the old and the new cgroup.
    pub fn join(&self) -> Result<()> {
        self.join_hierarchies(true)
    }

    /// [`Group::join`] for a process born in the unified directory already
    /// (clone3 CLONE_INTO_CGROUP): only the v1 hierarchies, if any.
    pub fn join_v1(&self) -> Result<()> {
        self.join_hierarchies(false)
    }

    fn join_hierarchies(&self, unified_too: bool) -> Result<()> {
        for p in self
            .dirs
            .iter()
            .filter(|p| unified_too || !p.controllers.is_empty())
        {
            chain::cgroup::move_self(&p.dir, !p.controllers.is_empty()).map_err(|e| {
                e.with_hint_for(|errno| {
                    matches!(errno, Errno::EACCES | Errno::EPERM).then(|| {
                        "moving needs write access to the group's cgroup.procs and to that of the common ancestor of the \
                         old and the new cgroup (rootless: systemd-run --user --scope -p Delegate=yes)"
                            .to_string()
                    })
                })
            })?;
        }
        if let Some(leaf) = &self.leaf
            && unified_too
        {
            // Empty again now that the caller has left it (not when the
            // caller supervises from there: then leave_leaf does it).
            let _ = sys("rmdir", leaf.display(), || {
                std::fs::remove_dir(leaf).map_err(io_errno)
            });
        }
        Ok(())
    }

    /// Removes the directories this run created (best effort, on failure).
    pub fn remove_created(&self) {
        for p in self.dirs.iter().rev().filter(|p| p.created) {
            let _ = std::fs::remove_dir(&p.dir);
        }
        if let Some(leaf) = &self.leaf {
            // Put the caller back where it was, then remove the leaf.
            if let Some(parent) = leaf.parent() {
                let _ = chain::file::write(&parent.join("cgroup.procs"), b"0");
            }
            let _ = std::fs::remove_dir(leaf);
        }
    }

    /// After supervising from the leaf (pure v2, when the caller was alone
    /// in its cgroup): back to the parent, and the leaf removed, so that
    /// nothing of this run is left.
    ///
    ///
    /// A process may not live in a cgroup that gives controllers to its
    /// children (the no-internal-process rule): the controllers this run
    /// enabled there are disabled first, when the leaf is the parent's
    /// only child left. When that cannot be (another group appeared, or
    /// the controllers were on before), the leaf stays, empty once cgctl
    /// exits, and the next cgctl from the same cgroup reuses it.
    pub fn leave_leaf(&self) {
        let Some(leaf) = &self.leaf else {
            return;
        };
        let Some(parent) = leaf.parent() else {
            return;
        };
        let children = chain::file::names(parent)
            .map(|names| names.iter().filter(|n| parent.join(n).is_dir()).count())
            .unwrap_or(usize::MAX);
        if children == 1 && !self.enabled.is_empty() {
            let disable: Vec<String> = self.enabled.iter().map(|c| format!("-{c}")).collect();
            // Best effort: if the kernel refuses, the move below fails too
            // and says why.
            let _ = chain::file::write(
                &parent.join("cgroup.subtree_control"),
                disable.join(" ").as_bytes(),
            );
        }
        match chain::file::write(&parent.join("cgroup.procs"), b"0") {
            Ok(()) => {
                let _ = sys("rmdir", leaf.display(), || {
                    std::fs::remove_dir(leaf).map_err(io_errno)
                });
            }
            Err(e) => trace::note(format_args!(
                "{e}: {} stays, for the next cgctl from {}",
                leaf.display(),
                parent.display()
            )),
        }
    }

    /// Removes the group from every hierarchy (it must be empty).
    pub fn remove(&self) -> Result<()> {
        for p in self.dirs.iter().rev() {
            // Already gone (someone removed it under us): what rm wants.
            sys("rmdir", p.dir.display(), || {
                match std::fs::remove_dir(&p.dir).map_err(io_errno) {
                    Err(Errno::ENOENT) => Ok(()),
                    other => other,
                }
            })
            .map_err(|e| {
                e.with_hint_for(|errno| {
                    (errno == Errno::EBUSY)
                        .then(|| "the group still has processes or child groups".to_string())
                })
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::cgroup::Layout;

    /// A fake cgroup2 root: plain files standing in for the kernel's.
    struct Fake(PathBuf);

    impl Fake {
        fn new(tag: &str) -> Fake {
            let root =
                std::env::temp_dir().join(format!("cgctl-fake-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            Fake(root)
        }

        fn cgroup(&self, path: &str, controllers: &str, procs: &[u32]) -> PathBuf {
            let dir = self.0.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("cgroup.controllers"), controllers).unwrap();
            std::fs::write(dir.join("cgroup.subtree_control"), "").unwrap();
            let procs: Vec<String> = procs.iter().map(u32::to_string).collect();
            std::fs::write(dir.join("cgroup.procs"), procs.join("\n")).unwrap();
            dir
        }

        fn layout(&self, own: &str) -> Layout {
            let mountinfo = format!("40 1 0:40 / {} rw - cgroup2 cgroup2 rw\n", self.0.display());
            Layout::parse(&mountinfo, &format!("0::{own}\n"))
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Plain files do not create the kernel's files in a new directory:
    /// make the ones the code writes to.
    fn seed(dir: &Path) {
        for f in ["cgroup.procs", "memory.max", "pids.max"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
    }

    #[test]
    fn v2_caller_alone_moves_to_a_leaf_then_enables_controllers() {
        let fake = Fake::new("leaf");
        let me = std::process::id();
        let own = fake.cgroup("/user/session", "memory pids cpu", &[me]);
        let layout = fake.layout("/user/session");
        // The leaf and the group need their files before the writes: pre-make them.
        std::fs::create_dir_all(own.join("cgctl-leaf")).unwrap();
        seed(&own.join("cgctl-leaf"));
        std::fs::create_dir_all(own.join("box")).unwrap();
        seed(&own.join("box"));
        let group = create(&layout, &["memory", "pids"], &[], None, "box").unwrap();
        assert_eq!(
            std::fs::read_to_string(own.join("cgctl-leaf/cgroup.procs")).unwrap(),
            "0"
        );
        assert_eq!(
            std::fs::read_to_string(own.join("cgroup.subtree_control")).unwrap(),
            "+memory +pids"
        );
        assert_eq!(group.dirs[0].dir, own.join("box"));
        assert_eq!(group.leaf, Some(own.join("cgctl-leaf")));
        group
            .write_limits(&[Write {
                controller: "memory",
                file: "memory.max",
                value: "104857600".into(),
            }])
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(own.join("box/memory.max")).unwrap(),
            "104857600"
        );
        group.join().unwrap();
        assert_eq!(
            std::fs::read_to_string(own.join("box/cgroup.procs")).unwrap(),
            "0"
        );
        // (Removing the emptied leaf cannot be seen here: a plain directory
        // with files in it cannot be rmdir'd, a cgroup directory can.)
    }

    #[test]
    fn v2_shared_cgroup_gives_a_sibling() {
        let fake = Fake::new("sibling");
        let parent = fake.cgroup("/user", "memory pids", &[]);
        fake.cgroup("/user/session", "memory pids", &[std::process::id(), 1]);
        let layout = fake.layout("/user/session");
        std::fs::create_dir_all(parent.join("box")).unwrap();
        let group = create(&layout, &["pids"], &[], None, "box").unwrap();
        assert_eq!(group.dirs[0].dir, parent.join("box"));
        assert_eq!(
            std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap(),
            "+pids"
        );
        assert!(group.leaf.is_none());
    }

    #[test]
    fn v2_refusals_name_the_rule() {
        let fake = Fake::new("refuse");
        fake.cgroup("/user", "pids", &[7]);
        fake.cgroup("/user/session", "pids", &[std::process::id(), 8]);
        let layout = fake.layout("/user/session");
        let e = create(&layout, &["pids"], &[], None, "box").unwrap_err();
        assert!(e.to_string().contains("no-internal-process rule"), "{e}");
        let e = create(&layout, &["memory"], &[], None, "box").unwrap_err();
        assert!(
            e.to_string()
                .contains("the memory controller is not delegated to"),
            "{e}"
        );
        let e = create(&layout, &["pids"], &[], Some("/user/session"), "box").unwrap_err();
        assert!(e.to_string().contains("choose an empty --parent"), "{e}");
        // Nothing was created by the refusals.
        assert!(!fake.0.join("user/box").exists() && !fake.0.join("user/session/box").exists());
        assert!(!fake.0.join("user/session/cgctl-leaf").exists());
    }

    #[test]
    fn v2_empty_parent_and_no_controllers() {
        let fake = Fake::new("empty");
        let parent = fake.cgroup("/delegated", "memory", &[]);
        fake.cgroup("/delegated/me", "memory", &[std::process::id()]);
        let layout = fake.layout("/delegated/me");
        let group = create(&layout, &["memory"], &[], Some("/delegated"), "box").unwrap();
        assert_eq!(group.dirs[0].dir, parent.join("box"));
        // Without limits nothing is enabled and the group goes below the own cgroup.
        let group = create(&layout, &[], &[], None, "plain").unwrap();
        assert_eq!(group.dirs[0].dir, parent.join("me/plain"));
    }
}
