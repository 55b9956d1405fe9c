//! What an errno from `unshare(2)` means here. The kernel answers EPERM,
//! ENOSPC or EINVAL for several unrelated causes; the hint names the ones
//! that apply, with the current value of the setting that decides.

use chain::file::read_opt;
use chain::ns::Kind;
use nix::errno::Errno;

/// The setting and its value, e.g. `kernel.unprivileged_userns_clone=0`,
/// or None when this kernel does not have it.
fn sysctl(name: &str) -> Option<String> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    read_opt(&path).map(|v| format!("{name}={}", v.trim()))
}

pub fn for_unshare(errno: Errno, kinds: &[Kind]) -> Option<String> {
    match errno {
        Errno::EPERM => Some(eperm(kinds)),
        Errno::ENOSPC | Errno::EUSERS => Some(enospc(kinds)),
        Errno::EINVAL => Some(einval(kinds)),
        _ => None,
    }
}

fn eperm(kinds: &[Kind]) -> String {
    let root = nix::unistd::geteuid().is_root();
    if kinds.contains(&Kind::User) {
        // All three decide on some distribution (Debian, any, Ubuntu); say
        // which this kernel has, and their values.
        let settings: Vec<String> = [
            "kernel.unprivileged_userns_clone",
            "user.max_user_namespaces",
            "kernel.apparmor_restrict_unprivileged_userns",
        ]
        .iter()
        .map(|s| sysctl(s).unwrap_or_else(|| format!("{s} (not on this kernel)")))
        .collect();
        let hint = format!("user namespaces are refused: check {}", settings.join(", "));
        hint + "; a chrooted process, or one whose uid or gid has no mapping, cannot create one either"
    } else if !root {
        "creating these namespaces needs CAP_SYS_ADMIN: run as root, or add -U (--user) so that a new user namespace grants it".into()
    } else {
        "the process lacks CAP_SYS_ADMIN, or a seccomp or LSM policy refuses unshare".into()
    }
}

fn enospc(kinds: &[Kind]) -> String {
    let mut limits: Vec<String> = kinds
        .iter()
        .filter_map(|k| sysctl(&k.limit_sysctl()))
        .collect();
    if !kinds.contains(&Kind::User) {
        // Every namespace counts against the limits of its owning user namespaces.
        limits.extend(sysctl("user.max_user_namespaces"));
    }
    format!(
        "a namespace limit is reached: {}, counted per user in this and every parent user namespace; or user namespaces are already nested 32 deep",
        limits.join(", ")
    )
}

fn einval(kinds: &[Kind]) -> String {
    let missing: Vec<&str> = kinds
        .iter()
        .filter(|k| !std::path::Path::new(&format!("/proc/self/ns/{}", k.proc_name())).exists())
        .map(|k| k.proc_name())
        .collect();
    if !missing.is_empty() {
        return format!("this kernel has no {} namespaces", missing.join(", "));
    }
    let threads = read_opt("/proc/self/status").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().to_string()))
    });
    if let Some(n) = threads.filter(|n| n != "1") {
        return format!(
            "the process has {n} threads, and a user or mount namespace needs a single-threaded caller"
        );
    }
    for kind in [Kind::Pid, Kind::Time] {
        let own = std::fs::read_link(format!("/proc/self/ns/{}", kind.proc_name())).ok();
        let next = std::fs::read_link(format!("/proc/self/ns/{}", kind.created_ns_file())).ok();
        if kinds.contains(&kind) && own.is_some() && own != next {
            return format!(
                "this process already created a {} namespace, which a process can do once: was it started by 'unshare -{}' without -f?",
                kind.proc_name(),
                if kind == Kind::Pid { 'p' } else { 'T' }
            );
        }
    }
    "the kernel refused this combination of namespaces".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_settings_that_decide() {
        let user = for_unshare(Errno::EPERM, &[Kind::User]).unwrap();
        assert!(user.starts_with("user namespaces are refused"), "{user}");
        assert!(user.contains("user.max_user_namespaces="), "{user}");
        assert!(user.contains("kernel.unprivileged_userns_clone"), "{user}");
        assert!(
            user.contains("kernel.apparmor_restrict_unprivileged_userns"),
            "{user}"
        );
        let full = for_unshare(Errno::ENOSPC, &[Kind::Net, Kind::Pid]).unwrap();
        assert!(
            full.contains("user.max_net_namespaces=") && full.contains("user.max_pid_namespaces="),
            "{full}"
        );
        assert!(full.contains("user.max_user_namespaces="), "{full}");
        assert!(full.contains("nested 32 deep"));
        assert_eq!(for_unshare(Errno::ENOMEM, &[Kind::Net]), None);
    }

    #[test]
    fn einval_in_a_threaded_test_process_names_threads() {
        // The test harness runs tests on threads of their own, so this
        // process has more than one: exactly the case the hint describes.
        let hint = for_unshare(Errno::EINVAL, &[Kind::User]).unwrap();
        assert!(hint.contains("threads"), "{hint}");
    }
}
