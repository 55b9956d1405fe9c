//! Finding a group again for the management commands (`stats`, `freeze`,
//! `thaw`, `kill`, `rm`), and listing groups (`ls`).
//!
//! A name is looked up below the caller's own cgroup in every hierarchy (and
//! beside it, where a v2 group had to be placed as a sibling); an absolute
//! path is a cgroup path in every hierarchy.

use crate::place::{Group, Placed};
use chain::cgroup::{Hierarchy, Layout};
use chain::{Error, Result};
use std::path::PathBuf;

fn all(layout: &Layout) -> Vec<&Hierarchy> {
    layout.unified.iter().chain(layout.v1.iter()).collect()
}

fn candidates(h: &Hierarchy, group: &str) -> Vec<PathBuf> {
    if group.starts_with('/') {
        return h.dir_of(group).into_iter().collect();
    }
    let Some(own) = h.own_dir() else {
        return vec![];
    };
    let mut dirs = vec![own.join(group)];
    if let Some(parent) = own.parent().filter(|p| p.starts_with(&h.mount_point)) {
        dirs.push(parent.join(group));
    }
    dirs
}

pub fn find(layout: &Layout, group: &str) -> Result<Group> {
    let mut dirs = Vec::new();
    for h in all(layout) {
        if let Some(dir) = candidates(h, group).into_iter().find(|d| d.is_dir()) {
            dirs.push(Placed {
                controllers: h.controllers.clone(),
                dir,
                created: false,
            });
        }
    }
    if dirs.is_empty() {
        let looked: Vec<String> = all(layout)
            .iter()
            .flat_map(|h| candidates(h, group))
            .map(|d| d.display().to_string())
            .collect();
        return Err(Error::msg(format!(
            "no group '{group}' (looked in {})",
            looked.join(", ")
        )));
    }
    Ok(Group {
        name: group.to_string(),
        dirs,
        leaf: None,
        enabled: Vec::new(),
    })
}

/// `NAME  procs N  in HIERARCHIES`, one line per group below the caller's
/// own cgroups.
pub fn list(layout: &Layout) -> String {
    let mut groups: std::collections::BTreeMap<String, (usize, Vec<String>)> = Default::default();
    for h in all(layout) {
        let Some(own) = h.own_dir() else { continue };
        let Ok(names) = chain::file::names(&own) else {
            continue;
        };
        for entry in names.iter().filter(|n| own.join(n).is_dir()) {
            let name = entry.to_string_lossy().into_owned();
            let procs = std::fs::read_to_string(own.join(entry).join("cgroup.procs"))
                .map(|t| t.lines().count())
                .unwrap_or(0);
            let slot = groups.entry(name).or_default();
            slot.0 = slot.0.max(procs);
            slot.1.push(h.name());
        }
    }
    groups
        .iter()
        .map(|(name, (procs, hs))| format!("{name}\tprocs {procs}\tin {}\n", hs.join(" ")))
        .collect()
}
