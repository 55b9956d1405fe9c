//! Groups left by a cgctl that was killed (SIGKILL, OOM of the supervisor,
//! a power cut of the session): an anonymous group is removed by its
//! supervisor when the workload ends, and nothing can do that for a
//! supervisor that died. The kernel has no automatic removal on cgroup v2
//! (v1's release_agent needs root on the host and a helper binary), so the
//! next anonymous cgctl run in the same place removes them.
//!
//! A group is stale when all of these hold: its name is `cgctl-PID` (the
//! anonymous form; `--name` refuses it), no process PID exists, it was
//! last modified at least [`MIN_AGE`] ago, and the kernel lets it go
//! (rmdir succeeds only on a group without processes or children). The age
//! guards against a cgctl in another PID namespace, whose PID means
//! nothing here: its group is empty only between its mkdir and the
//! workload's start, well under a second.

use chain::trace;
use std::path::Path;
use std::time::{Duration, SystemTime};

pub const MIN_AGE: Duration = Duration::from_secs(2);

/// The PID of an anonymous group's name, `cgctl-PID`.
pub fn anonymous_pid(name: &str) -> Option<i32> {
    let digits = name.strip_prefix("cgctl-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok().filter(|p| *p > 0)
}

fn process_exists(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks the pid.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || nix::errno::Errno::last() != nix::errno::Errno::ESRCH
}

/// Removes the stale anonymous groups directly below `base` (best effort:
/// a failure leaves the group for a later run).
pub fn sweep(base: &Path) {
    let Ok(names) = chain::file::names(base) else {
        return;
    };
    let now = SystemTime::now();
    let own = std::process::id() as i32;
    for name in names {
        let Some(pid) = name.to_str().and_then(anonymous_pid) else {
            continue;
        };
        if pid == own || process_exists(pid) {
            continue;
        }
        let dir = base.join(&name);
        let old_enough = std::fs::symlink_metadata(&dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= MIN_AGE);
        if !old_enough {
            continue;
        }
        match std::fs::remove_dir(&dir) {
            Ok(()) => trace::note(format_args!(
                "removed {}: left by a cgctl ({pid}) that is gone",
                dir.display()
            )),
            Err(e) => trace::note(format_args!(
                "{} looks left by a gone cgctl ({pid}) but stays: {e}",
                dir.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_anonymous_form_names_a_pid() {
        assert_eq!(anonymous_pid("cgctl-4242"), Some(4242));
        for other in [
            "cgctl-",
            "cgctl-0",
            "cgctl-01",
            "cgctl-12a",
            "cgctl-leaf",
            "box",
            "cgctl-99999999999",
        ] {
            assert_eq!(anonymous_pid(other), None, "{other}");
        }
    }

    #[test]
    fn sweeps_only_old_groups_of_gone_processes() {
        let dir = std::env::temp_dir().join(format!("cgctl-stale-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A pid that cannot exist (above the kernel's limit of 2^22).
        let gone = dir.join("cgctl-2147483646");
        let gone_but_new = dir.join("cgctl-2147483645");
        let alive = dir.join(format!("cgctl-{}", std::process::id()));
        let not_empty = dir.join("cgctl-2147483644");
        let named = dir.join("web");
        for d in [&gone, &gone_but_new, &alive, &not_empty, &named] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(not_empty.join("file"), "").unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(60);
        for d in [&gone, &alive, &not_empty, &named] {
            std::fs::File::open(d)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        sweep(&dir);
        assert!(!gone.exists());
        for d in [&gone_but_new, &alive, &not_empty, &named] {
            assert!(d.exists(), "{} was removed", d.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
