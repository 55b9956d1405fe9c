//! What happens to a running group: OOM counters, emptiness, freezing,
//! killing. cgroup v2 (and hybrid's unified tree) has cgroup.events, whose
//! changes are file-modified events (inotify), cgroup.freeze and, since
//! Linux 5.14, cgroup.kill; pure v1 has only freezer.state and the task
//! lists, so waiting there polls.

use crate::place::Group;
use chain::{Error, Result, sys, trace};
use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::path::Path;
use std::time::{Duration, Instant};

/// `key value` lines (memory.events, cgroup.events, memory.oom_control).
pub fn flat_value(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

use chain::file::read_opt;

/// Whether the memory limit lives in a v1 hierarchy.
fn memory_is_v1(group: &Group) -> bool {
    group
        .dirs
        .iter()
        .any(|p| p.controllers.iter().any(|c| c == "memory"))
}

/// How many times the kernel's OOM killer has killed in the group.
pub fn oom_kills(group: &Group) -> Option<u64> {
    let dir = group.dir_for("memory")?;
    if memory_is_v1(group) {
        flat_value(&read_opt(dir.join("memory.oom_control"))?, "oom_kill")
    } else {
        flat_value(&read_opt(dir.join("memory.events"))?, "oom_kill")
    }
}

/// The memory limit and the peak usage, for the OOM report.
pub fn limit_and_peak(group: &Group) -> (Option<u64>, Option<u64>) {
    let Some(dir) = group.dir_for("memory") else {
        return (None, None);
    };
    let num = |f: &str| read_opt(dir.join(f)).and_then(|t| t.trim().parse::<u64>().ok());
    if memory_is_v1(group) {
        (
            num("memory.limit_in_bytes"),
            num("memory.max_usage_in_bytes"),
        )
    } else {
        (num("memory.max"), num("memory.peak"))
    }
}

/// `104857600` -> `100M`.
pub fn human(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (size, unit) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            return if (v - v.round()).abs() < 0.05 {
                format!("{}{unit}", v.round())
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    format!("{bytes}")
}

fn processes(dir: &Path) -> Vec<i32> {
    read_opt(dir.join("cgroup.procs"))
        .map(|t| {
            t.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether any process is in the group (or below it).
pub fn populated(group: &Group) -> bool {
    match group.unified() {
        Some(dir) => {
            read_opt(dir.join("cgroup.events"))
                .and_then(|t| flat_value(&t, "populated"))
                .unwrap_or(0)
                == 1
        }
        None => group.dirs.iter().any(|p| !processes(&p.dir).is_empty()),
    }
}

/// Waits until `done()` holds: on cgroup.events changes when there is a
/// unified directory, else by polling every 10 ms (pure v1 has no event).
fn wait_for(
    group: &Group,
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> Result<()> {
    // Already so (the common end: the workload was the group's last
    // process): no event wait is set up, because destroying an inotify
    // instance that holds a watch waits for an SRCU grace period (5-10 ms).
    if done() {
        return Ok(());
    }
    let start = Instant::now();
    let watch = group.unified().and_then(|dir| {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).ok()?;
        inotify
            .add_watch(&dir.join("cgroup.events"), AddWatchFlags::IN_MODIFY)
            .ok()?;
        Some(inotify)
    });
    while !done() {
        if start.elapsed() > limit {
            return Err(Error::msg(format!(
                "the group did not become {what} within {}s",
                limit.as_secs()
            )));
        }
        match &watch {
            Some(inotify) => {
                use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
                use std::os::fd::AsFd;
                let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
                // Errors and timeouts of the wait only end it early: the loop checks
                // the condition again and is bounded by `limit`.
                let _ = poll(&mut fds, PollTimeout::from(100u16));
                let _ = inotify.read_events();
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    Ok(())
}

pub fn wait_empty(group: &Group, limit: Duration) -> Result<()> {
    if !populated(group) {
        return Ok(());
    }
    trace::note(format_args!("waiting for the group to become empty"));
    wait_for(group, "empty", limit, || !populated(group))
}

pub fn freeze(group: &Group) -> Result<()> {
    set_frozen(group, true)
}

pub fn thaw(group: &Group) -> Result<()> {
    set_frozen(group, false)
}

fn set_frozen(group: &Group, frozen: bool) -> Result<()> {
    if let Some(dir) = group.unified().filter(|d| d.join("cgroup.freeze").exists()) {
        chain::file::write(&dir.join("cgroup.freeze"), if frozen { b"1" } else { b"0" })?;
        let want = frozen as u64;
        return wait_for(
            group,
            if frozen { "frozen" } else { "thawed" },
            Duration::from_secs(10),
            || {
                read_opt(dir.join("cgroup.events")).and_then(|t| flat_value(&t, "frozen"))
                    == Some(want)
            },
        );
    }
    let dir = group.dir_for("freezer").filter(|d| d.join("freezer.state").exists()).ok_or_else(|| {
        Error::msg("this group has no freezer (cgroup v2's cgroup.freeze, or the v1 freezer controller)")
    })?;
    let state = if frozen { "FROZEN" } else { "THAWED" };
    chain::file::write(&dir.join("freezer.state"), state.as_bytes())?;
    wait_for(
        group,
        &state.to_lowercase(),
        Duration::from_secs(10),
        || read_opt(dir.join("freezer.state")).is_some_and(|s| s.trim() == state),
    )
}

/// Sends `sig` to every process of the group: cgroup.kill for SIGKILL where
/// the kernel has it; otherwise freeze, signal each process, thaw, so that
/// nothing forks past the signal.
pub fn kill_all(group: &Group, sig: i32) -> Result<()> {
    if sig == libc::SIGKILL
        && let Some(dir) = group.unified().filter(|d| d.join("cgroup.kill").exists())
    {
        return chain::file::write(&dir.join("cgroup.kill"), b"1");
    }
    let frozen = freeze(group).is_ok();
    let pids: Vec<i32> = group.dirs.iter().flat_map(|p| processes(&p.dir)).collect();
    for pid in pids {
        let sent = sys("kill", format_args!("{pid} {sig}"), || {
            // SAFETY: kill(2) with a pid read from the group's cgroup.procs.
            Errno::result(unsafe { libc::kill(pid, sig) }).map(drop)
        });
        if let Err(e) = sent
            && e.errno != Some(Errno::ESRCH)
        {
            return Err(e);
        }
    }
    if frozen {
        thaw(group)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_files() {
        let events = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(flat_value(events, "oom_kill"), Some(2));
        assert_eq!(flat_value(events, "oom"), Some(1));
        assert_eq!(flat_value("populated 1\nfrozen 0\n", "frozen"), Some(0));
        assert_eq!(
            flat_value("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n", "oom_kill"),
            Some(5)
        );
        assert_eq!(flat_value("", "x"), None);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(104857600), "100M");
        assert_eq!(human(99 * 1024 * 1024 + 900 * 1024), "99.9M");
        assert_eq!(human(512), "512");
        assert_eq!(human(1 << 30), "1G");
    }
}
