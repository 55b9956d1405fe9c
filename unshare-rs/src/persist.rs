//! Persisting namespaces on files (`--net=FILE` and the like): bind-mount
//! /proc/PID/ns/KIND onto FILE so the namespace outlives its processes and
//! `nsenter --net=FILE`, `ip netns` or vethctl can use it later.
//!
//! This runs in an outside-step helper forked *before* `unshare(2)`: the
//! bind must be made in the original mount namespace (a bind made inside
//! the new one would be invisible to the host) and with the original
//! credentials (in a new user namespace, files cannot be created on the
//! host's filesystems).

use chain::ns::Kind;
use chain::{Result, sys};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use std::path::PathBuf;

/// Binds each namespace of `pid` onto its file, creating missing files.
/// All or nothing: on a failure the binds already made are undone and the
/// files this call created are removed.
pub fn bind_all(pid: Pid, files: &[(Kind, PathBuf)]) -> Result<()> {
    let mut done: Vec<(PathBuf, bool)> = Vec::new();
    for (kind, file) in files {
        match bind_one(pid, *kind, file) {
            Ok(created) => done.push((file.clone(), created)),
            Err(e) => {
                for (file, created) in done.iter().rev() {
                    let _ = umount2(file, MntFlags::MNT_DETACH);
                    if *created {
                        let _ = std::fs::remove_file(file);
                    }
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Returns whether the file was created here.
fn bind_one(pid: Pid, kind: Kind, file: &PathBuf) -> Result<bool> {
    let created = match sys(
        "create",
        format_args!("{} (--{}=FILE)", file.display(), kind.long_name()),
        || {
            open(
                file,
                OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o444),
            )
        },
    ) {
        Ok(_fd) => true,
        Err(e) if e.errno == Some(Errno::EEXIST) => false,
        Err(e) => return Err(e),
    };
    let source = format!("/proc/{pid}/ns/{}", kind.created_ns_file());
    let result = sys(
        "mount",
        format_args!("{source} on {} MS_BIND", file.display()),
        || {
            mount(
                Some(source.as_str()),
                file,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        },
    );
    if let Err(e) = result {
        if created {
            let _ = std::fs::remove_file(file);
        }
        return Err(e.with_hint_for(|errno| hint(errno, kind)));
    }
    Ok(created)
}

fn hint(errno: Errno, kind: Kind) -> Option<String> {
    match errno {
        Errno::EINVAL if kind == Kind::Mount => Some(
            "a mount namespace can only be bound onto a file on a private mount: \
             mount --bind DIR DIR && mount --make-private DIR, then put FILE in DIR"
                .into(),
        ),
        Errno::EPERM | Errno::EACCES => Some(
            "binding a namespace file needs CAP_SYS_ADMIN in the original mount namespace".into(),
        ),
        _ => None,
    }
}
