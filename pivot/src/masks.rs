//! The OCI runtime's default masked and read-only paths (runc's and
//! crun's defaults): kernel interfaces a container must not read or write.
//! Masked files are covered with /dev/null, masked directories with an
//! empty read-only tmpfs; read-only paths are bound onto themselves and made
//! read-only with the other read-only mounts, last. Paths this kernel does
//! not have are skipped.

pub const MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

pub const READ_ONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The defaults that apply: /proc paths only when pivot set up /proc, /sys
/// paths only when it set up /sys.
pub fn applicable(
    list: &'static [&'static str],
    proc: bool,
    sys: bool,
) -> impl Iterator<Item = &'static str> {
    list.iter()
        .copied()
        .filter(move |p| (proc && p.starts_with("/proc/")) || (sys && p.starts_with("/sys/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_for_what_was_set_up() {
        assert_eq!(applicable(MASKED, false, false).count(), 0);
        assert!(applicable(MASKED, true, false).all(|p| p.starts_with("/proc/")));
        assert_eq!(
            applicable(MASKED, false, true).collect::<Vec<_>>(),
            ["/sys/devices/virtual/powercap", "/sys/firmware"]
        );
        assert!(applicable(READ_ONLY, true, true).any(|p| p == "/proc/sys"));
    }
}
