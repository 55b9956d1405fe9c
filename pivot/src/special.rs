//! /proc, /sys and /dev below the new root.
//!
//! proc and sysfs are mounted fresh when the kernel allows it, and bound
//! from the host otherwise; which one and why is traced (`-v`):
//! - a fresh proc needs CAP_SYS_ADMIN over the user namespace that owns the
//!   process's PID namespace, and shows that PID namespace;
//! - a fresh sysfs needs it over the owner of the network namespace, and
//!   shows that namespace's devices;
//! - both are refused while the host's instance has parts hidden by mounts on
//!   top ("mount_too_revealing").
//!
//! /dev is a tmpfs with the OCI device set: nodes made with mknod in the
//! initial user namespace and bound from the host's /dev inside any other
//! (where mknod is never allowed).

use crate::inroot::{Fresh, Kind, Root, mount_on};
use crate::readonly::ReadOnly;
use chain::{Result, trace};
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const SECURE: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// The inode of the initial user namespace (include/linux/proc_ns.h).
const PROC_USER_INIT_INO: u64 = 0xEFFF_FFFD;

fn refused(errno: Option<Errno>) -> bool {
    matches!(errno, Some(Errno::EPERM | Errno::EACCES))
}

/// A fresh proc, or a recursive bind of the host's /proc.
pub fn proc(root: &Root) -> Result<()> {
    let target = root.mount_point(Path::new("/proc"), Kind::Dir)?;
    let shown = root.show(Path::new("/proc"));
    match mount_on(Some("proc"), &target, &shown, Some("proc"), SECURE, None) {
        Ok(()) => {
            trace::note(format_args!(
                "/proc: a fresh proc, showing this process's PID namespace"
            ));
            Ok(())
        }
        Err(e) if refused(e.errno) => {
            trace::note(format_args!(
                "/proc: a fresh proc was refused ({e}): this process has no CAP_SYS_ADMIN over its PID namespace \
                 (run under unshare-rs -p), or the host's /proc has hidden parts; binding the host's /proc"
            ));
            mount_on(
                Some("/proc"),
                &target,
                &shown,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
        }
        Err(e) => Err(e),
    }
}

/// A fresh read-only sysfs, or a read-only recursive bind of the host's.
/// Returns the bind to make read-only later, if it is one.
pub fn sys(root: &Root) -> Result<Option<ReadOnly>> {
    let target = root.mount_point(Path::new("/sys"), Kind::Dir)?;
    let shown = root.show(Path::new("/sys"));
    match mount_on(
        Some("sysfs"),
        &target,
        &shown,
        Some("sysfs"),
        SECURE | MsFlags::MS_RDONLY,
        None,
    ) {
        Ok(()) => {
            trace::note(format_args!(
                "/sys: a fresh read-only sysfs, showing this process's network namespace"
            ));
            Ok(None)
        }
        Err(e) if refused(e.errno) => {
            trace::note(format_args!(
                "/sys: a fresh sysfs was refused ({e}): this process has no CAP_SYS_ADMIN over its network namespace \
                 (add -n to unshare-rs); binding the host's /sys read-only"
            ));
            mount_on(
                Some("/sys"),
                &target,
                &shown,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )?;
            let fd = root.open_path(Path::new("/sys"))?;
            Ok(Some(ReadOnly {
                fd,
                shown,
                recursive: true,
            }))
        }
        Err(e) => Err(e),
    }
}

/// The OCI device nodes: name, major, minor.
pub const DEVICES: &[(&str, u64, u64)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// The OCI /dev links: target, name.
pub const LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
];

fn in_initial_user_ns() -> bool {
    std::fs::metadata("/proc/self/ns/user").is_ok_and(|m| m.ino() == PROC_USER_INIT_INO)
}

pub fn dev(root: &Root) -> Result<()> {
    let dev = Path::new("/dev");
    let target = root.mount_point(dev, Kind::Dir)?;
    mount_on(
        Some("tmpfs"),
        &target,
        &root.show(dev),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    // From here on everything is made in our own new tmpfs.
    let dev = Fresh::open(root, dev)?;
    if in_initial_user_ns() {
        // Device nodes are for everyone: no umask in the way.
        let umask = nix::sys::stat::umask(Mode::empty());
        let made = DEVICES
            .iter()
            .try_for_each(|&(name, major, minor)| dev.mknod(name, major, minor));
        nix::sys::stat::umask(umask);
        made?;
    } else {
        trace::note(format_args!(
            "/dev: in a user namespace mknod is never allowed: binding the host's device nodes"
        ));
        for &(name, _, _) in DEVICES {
            let (file, shown) = dev.mount_point(name, Kind::File)?;
            mount_on(
                Some(&format!("/dev/{name}")),
                &file,
                &shown,
                None,
                MsFlags::MS_BIND,
                None,
            )?;
        }
    }
    for &(to, name) in LINKS {
        dev.symlink(to, name)?;
    }
    devpts(&dev)?;
    let (shm, shown) = dev.mount_point("shm", Kind::Dir)?;
    mount_on(
        Some("shm"),
        &shm,
        &shown,
        Some("tmpfs"),
        SECURE,
        Some("mode=1777,size=65536k"),
    )?;
    let (mqueue, shown) = dev.mount_point("mqueue", Kind::Dir)?;
    if let Err(e) = mount_on(
        Some("mqueue"),
        &mqueue,
        &shown,
        Some("mqueue"),
        SECURE,
        None,
    ) {
        if !refused(e.errno) {
            return Err(e);
        }
        // Binding the host's would share its message queues: leave it empty.
        trace::note(format_args!(
            "/dev/mqueue: refused ({e}): this process has no CAP_SYS_ADMIN over its IPC namespace (add -i to unshare-rs); left empty"
        ));
    }
    Ok(())
}

/// A private devpts instance, so ptys opened in the container are its own.
fn devpts(dev: &Fresh) -> Result<()> {
    let (fd, shown) = dev.mount_point("pts", Kind::Dir)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    match mount_on(
        Some("devpts"),
        &fd,
        &shown,
        Some("devpts"),
        flags,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    ) {
        // gid=5 (tty) is refused when that group has no mapping in this
        // user namespace: the ptys then belong to the caller's group.
        Err(e) if e.errno == Some(Errno::EINVAL) => {
            trace::note(format_args!(
                "devpts: gid 5 (tty) is not mapped here; mounting without it"
            ));
            mount_on(
                Some("devpts"),
                &fd,
                &shown,
                Some("devpts"),
                flags,
                Some("newinstance,ptmxmode=0666,mode=0620"),
            )
        }
        other => other,
    }
}
