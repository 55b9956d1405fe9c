//! The process to join. Targeting the supervising parent of `unshare-rs -f`
//! instead of the container is a common mistake: that parent is outside
//! the PID namespace it created for its child (its `pid_for_children`
//! differs from its `pid`), and joining its PID namespace would join the
//! host's. nsenter-rs follows it to the child that lives in that namespace.

use chain::{Error, Result, trace};
use nix::errno::Errno;
use std::os::unix::fs::MetadataExt;

/// (device, inode) of a namespace file: what identifies a namespace.
pub fn ns_id(path: &str) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn children(pid: i32) -> Vec<i32> {
    let task_dir = std::path::PathBuf::from(format!("/proc/{pid}/task"));
    let Ok(tasks) = chain::file::names(&task_dir) else {
        return vec![];
    };
    tasks
        .iter()
        .filter_map(|t| chain::file::read_opt(task_dir.join(t).join("children")))
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// The process whose namespaces are joined.
pub fn resolve(pid: i32, joins_pid_ns: bool) -> Result<i32> {
    if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Err(
            Error::sys("open", format_args!("/proc/{pid}"), Errno::ESRCH)
                .with_hint("no such process: has the container ended?"),
        );
    }
    if !joins_pid_ns {
        return Ok(pid);
    }
    let own = ns_id(&format!("/proc/{pid}/ns/pid"));
    let Some(next) = ns_id(&format!("/proc/{pid}/ns/pid_for_children")) else {
        return Ok(pid);
    };
    if own == Some(next) {
        return Ok(pid);
    }
    match children(pid)
        .into_iter()
        .find(|c| ns_id(&format!("/proc/{c}/ns/pid")) == Some(next))
    {
        Some(child) => {
            trace::note(format_args!(
                "{pid} is outside the PID namespace it made for its children (a supervisor): joining its child {child}"
            ));
            Ok(child)
        }
        None => Err(Error::msg(format!(
            "process {pid} made a PID namespace for its children but has none in it: target the container's process \
             (unshare-rs --pid-file FILE writes its pid)"
        ))),
    }
}
