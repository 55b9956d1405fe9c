//! Making mounts read-only, as the last mount step (after the pivot).
//!
//! `mount_setattr(MOUNT_ATTR_RDONLY)` (Linux 5.12) changes only the
//! read-only bit, on an fd kept from before the pivot, so neither /proc nor
//! the mount's other flags are involved: in a user namespace, flags like
//! nosuid or nodev of a mount that came from the host are locked, and a
//! classic remount that forgot one of them fails with EPERM. On older
//! kernels the classic `MS_REMOUNT|MS_BIND|MS_RDONLY` is used, repeating
//! every flag `statvfs` reports.

use crate::inroot::{fd_path, flag_names};
use chain::{Result, sys};
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sys::statvfs::{FsFlags, fstatvfs};
use std::os::fd::{AsRawFd, OwnedFd};

/// A mount to make read-only, and how it shows in messages.
pub struct ReadOnly {
    pub fd: OwnedFd,
    pub shown: String,
    /// Also every mount below it (binds of trees, like --ro-bind).
    pub recursive: bool,
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// statvfs's relatime bit (Linux reports it; nix has no name for it).
const ST_RELATIME: FsFlags = FsFlags::from_bits_retain(4096);

pub fn apply(target: &ReadOnly) -> Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH
        | if target.recursive {
            libc::AT_RECURSIVE
        } else {
            0
        };
    let set = sys(
        "mount_setattr",
        format_args!(
            "{} MOUNT_ATTR_RDONLY{}",
            target.shown,
            if target.recursive {
                " AT_RECURSIVE"
            } else {
                ""
            }
        ),
        || {
            // SAFETY: a valid fd, an empty path, and a mount_attr of the size passed.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_mount_setattr,
                    target.fd.as_raw_fd(),
                    c"".as_ptr(),
                    flags,
                    &attr,
                    std::mem::size_of::<MountAttr>(),
                )
            };
            Errno::result(rc).map(drop)
        },
    );
    match set {
        Err(e) if e.errno == Some(Errno::ENOSYS) => remount(target),
        other => other,
    }
}

/// The flags a read-only bind remount must repeat: those `statvfs` reports.
pub fn locked_flags(flags: FsFlags) -> MsFlags {
    let pairs = [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (ST_RELATIME, MsFlags::MS_RELATIME),
    ];
    pairs
        .iter()
        .filter(|(st, _)| flags.contains(*st))
        .fold(MsFlags::empty(), |acc, (_, ms)| acc | *ms)
}

fn remount(target: &ReadOnly) -> Result<()> {
    let st = sys("fstatvfs", &target.shown, || fstatvfs(&target.fd))?;
    let flags =
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | locked_flags(st.flags());
    sys(
        "mount",
        format_args!("{} {}", target.shown, flag_names(flags)),
        || {
            mount(
                None::<&str>,
                fd_path(&target.fd).as_str(),
                None::<&str>,
                flags,
                None::<&str>,
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_the_flags_statvfs_reports() {
        let flags =
            locked_flags(FsFlags::ST_NOSUID | FsFlags::ST_NODEV | ST_RELATIME | FsFlags::ST_RDONLY);
        assert_eq!(
            flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_RELATIME
        );
        assert_eq!(locked_flags(FsFlags::empty()), MsFlags::empty());
    }
}
