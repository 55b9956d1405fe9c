//! Refusing to pivot the host: pivot_root changes the root of every process
//! of the mount namespace whose root is the old one, so in the host's
//! initial mount namespace it would move the whole system.

use chain::{Error, Result};
use std::os::unix::fs::MetadataExt;

/// The inode numbers the kernel gives the initial namespaces
/// (include/linux/proc_ns.h): fixed for the PID namespace since Linux 3.8,
/// for the mount namespace in recent kernels.
const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;
const PROC_MNT_INIT_INO: u64 = 0xEFFF_FFF8;

fn ns(pid: &str, kind: &str) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|m| m.ino())
}

/// The decision, from the namespace ids: ours, and those of /proc's PID 1
/// when /proc is the host's.
pub fn is_initial_mount_ns(
    own_mnt: Option<u64>,
    init_pid_ns: Option<u64>,
    init_mnt: Option<u64>,
) -> bool {
    let Some(own) = own_mnt else { return false };
    // The host's PID 1 lives in the initial mount namespace: sharing its
    // mount namespace means being in it.
    let shares_host_init = init_pid_ns == Some(PROC_PID_INIT_INO) && init_mnt == Some(own);
    shares_host_init || own == PROC_MNT_INIT_INO
}

pub fn refuse_initial_mount_ns() -> Result<()> {
    if is_initial_mount_ns(ns("self", "mnt"), ns("1", "pid"), ns("1", "mnt")) {
        return Err(Error::msg(
            "refusing to pivot the host's initial mount namespace (every process whose root is / would move): \
             run under unshare-rs -m",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_from_namespace_ids() {
        let host_pidns = Some(PROC_PID_INIT_INO);
        // Same mount namespace as the host's init: refuse.
        assert!(is_initial_mount_ns(
            Some(4026531840),
            host_pidns,
            Some(4026531840)
        ));
        // A new mount namespace under the host's /proc: go.
        assert!(!is_initial_mount_ns(
            Some(4026532200),
            host_pidns,
            Some(4026531840)
        ));
        // A fresh /proc in a new PID namespace (PID 1 is the container's): go.
        assert!(!is_initial_mount_ns(
            Some(4026532200),
            Some(4026532201),
            Some(4026532200)
        ));
        // Recent kernels name the initial mount namespace with a fixed inode.
        assert!(is_initial_mount_ns(Some(PROC_MNT_INIT_INO), None, None));
        assert!(!is_initial_mount_ns(None, None, None));
    }
}
