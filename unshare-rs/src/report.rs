//! Telling scripts and other tools where the container is: `--pid-file`
//! (the pid, as seen from outside) and `--info-fd` (one JSON object: the pid
//! and every namespace's id, with bubblewrap's key names).

use chain::ns::{ALL, Kind};
use chain::{Result, sys};
use nix::fcntl::AtFlags;
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl, open};
use nix::sys::stat::{Mode, fstatat};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Opened before `unshare(2)`: in a new user namespace without maps, files
/// can no longer be created on the host's filesystems.
pub fn open_pid_file(path: &Path) -> Result<OwnedFd> {
    sys(
        "open",
        format_args!("{} (--pid-file)", path.display()),
        || {
            open(
                path,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o644),
            )
        },
    )
}

/// Takes the caller's fd and marks it close-on-exec, so the workload never
/// inherits it.
pub fn claim_info_fd(fd: i32) -> Result<OwnedFd> {
    sys(
        "fcntl",
        format_args!("{fd} (--info-fd) set FD_CLOEXEC"),
        || {
            // SAFETY: only used for this fcntl; ownership is taken below on success.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map(drop)
        },
    )?;
    // SAFETY: the fd is open (fcntl succeeded) and the caller gave it to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// This process's /proc/self/ns, opened before a fork: once the child
/// mounts a new proc over /proc, "/proc/self" no longer names us.
pub struct NsDir(OwnedFd);

impl NsDir {
    pub fn open() -> Result<NsDir> {
        sys("open", "/proc/self/ns", || {
            open(
                "/proc/self/ns",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        })
        .map(NsDir)
    }

    /// The id (inode number) of each namespace the workload is in: its PID
    /// and time namespaces are the creator's `*_for_children`. A new PID
    /// namespace can be named only once its first process exists, so call
    /// this after the fork.
    pub fn ids(&self) -> BTreeMap<Kind, u64> {
        ALL.iter()
            .filter_map(|&k| {
                fstatat(&self.0, k.created_ns_file(), AtFlags::empty())
                    .ok()
                    .map(|st| (k, st.st_ino))
            })
            .collect()
    }
}

/// `{"child-pid": 42, "cgroup-namespace": 4026531835, ...}`
pub fn info_json(pid: Pid, ids: &BTreeMap<Kind, u64>) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("child-pid".into(), pid.as_raw().into());
    for (kind, id) in ids {
        obj.insert(format!("{}-namespace", kind.proc_name()), (*id).into());
    }
    serde_json::Value::Object(obj).to_string() + "\n"
}

/// Writes the pid file and the info JSON, then closes both.
pub fn write(
    pid_file: Option<OwnedFd>,
    info: Option<OwnedFd>,
    pid: Pid,
    ids: &BTreeMap<Kind, u64>,
) -> Result<()> {
    if let Some(fd) = pid_file {
        let text = format!("{pid}\n");
        sys("write", format_args!("--pid-file {pid}"), || {
            nix::unistd::write(&fd, text.as_bytes()).map(drop)
        })?;
    }
    if let Some(fd) = info {
        let text = info_json(pid, ids);
        sys(
            "write",
            format_args!("--info-fd {}", text.trim_end()),
            || nix::unistd::write(&fd, text.as_bytes()).map(drop),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_has_bubblewrap_keys() {
        let ids = BTreeMap::from([(Kind::Net, 4026532000u64), (Kind::Pid, 4026532001)]);
        let v: serde_json::Value =
            serde_json::from_str(&info_json(Pid::from_raw(42), &ids)).unwrap();
        assert_eq!(v["child-pid"], 42);
        assert_eq!(v["net-namespace"], 4026532000u64);
        assert_eq!(v["pid-namespace"], 4026532001u64);
    }

    #[test]
    fn own_namespaces_are_readable() {
        let ids = NsDir::open().unwrap().ids();
        assert!(
            ids.contains_key(&Kind::Net) && ids.contains_key(&Kind::Mount),
            "{ids:?}"
        );
    }
}
