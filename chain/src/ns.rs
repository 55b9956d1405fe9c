//! The eight namespace kinds: their clone flag, their name in /proc/PID/ns,
//! their long option, and the file that names the one a process creates
//! (unshare-rs) or joins (nsenter-rs).

use nix::sched::CloneFlags;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Mount,
    Uts,
    Ipc,
    Net,
    Pid,
    User,
    Cgroup,
    Time,
}

pub const ALL: [Kind; 8] = [
    Kind::Mount,
    Kind::Uts,
    Kind::Ipc,
    Kind::Net,
    Kind::Pid,
    Kind::User,
    Kind::Cgroup,
    Kind::Time,
];

impl Kind {
    pub fn flag(self) -> CloneFlags {
        match self {
            Kind::Mount => CloneFlags::CLONE_NEWNS,
            Kind::Uts => CloneFlags::CLONE_NEWUTS,
            Kind::Ipc => CloneFlags::CLONE_NEWIPC,
            Kind::Net => CloneFlags::CLONE_NEWNET,
            Kind::Pid => CloneFlags::CLONE_NEWPID,
            Kind::User => CloneFlags::CLONE_NEWUSER,
            Kind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            // nix has no constant for it; the kernel's value is 0x80.
            Kind::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        }
    }

    /// The name under /proc/PID/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            Kind::Mount => "mnt",
            Kind::Uts => "uts",
            Kind::Ipc => "ipc",
            Kind::Net => "net",
            Kind::Pid => "pid",
            Kind::User => "user",
            Kind::Cgroup => "cgroup",
            Kind::Time => "time",
        }
    }

    /// The /proc/PID/ns file naming the namespace `unshare(2)` created. PID
    /// and time namespaces are entered only by children (and, for time, by
    /// exec), so the creator's own `pid`/`time` still name the old ones.
    pub fn created_ns_file(self) -> &'static str {
        match self {
            Kind::Pid => "pid_for_children",
            Kind::Time => "time_for_children",
            other => other.proc_name(),
        }
    }

    /// The short option util-linux gives it: `-m`, `-U`, ...
    pub fn short(self) -> char {
        match self {
            Kind::Mount => 'm',
            Kind::Uts => 'u',
            Kind::Ipc => 'i',
            Kind::Net => 'n',
            Kind::Pid => 'p',
            Kind::User => 'U',
            Kind::Cgroup => 'C',
            Kind::Time => 'T',
        }
    }

    /// The kind an option names (`-n`, `--net`), as unshare-rs and
    /// nsenter-rs spell them.
    pub fn from_arg(arg: &lexopt::Arg<'_>) -> Option<Kind> {
        ALL.into_iter().find(|k| match arg {
            lexopt::Arg::Short(c) => *c == k.short(),
            lexopt::Arg::Long(name) => *name == k.long_name(),
            lexopt::Arg::Value(_) => false,
        })
    }

    /// The long option that creates it: `--mount`, `--net`, ...
    pub fn long_name(self) -> &'static str {
        match self {
            Kind::Mount => "mount",
            other => other.proc_name(),
        }
    }

    /// The `user.max_*_namespaces` sysctl limiting this kind.
    pub fn limit_sysctl(self) -> String {
        format!(
            "user.max_{}_namespaces",
            match self {
                Kind::Mount => "mnt",
                other => other.proc_name(),
            }
        )
    }
}

/// `CLONE_NEWNS|CLONE_NEWPID`, for messages and traces.
pub fn flag_names(kinds: &[Kind]) -> String {
    let names: Vec<&str> = kinds
        .iter()
        .map(|k| match k {
            Kind::Mount => "CLONE_NEWNS",
            Kind::Uts => "CLONE_NEWUTS",
            Kind::Ipc => "CLONE_NEWIPC",
            Kind::Net => "CLONE_NEWNET",
            Kind::Pid => "CLONE_NEWPID",
            Kind::User => "CLONE_NEWUSER",
            Kind::Cgroup => "CLONE_NEWCGROUP",
            Kind::Time => "CLONE_NEWTIME",
        })
        .collect();
    names.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_distinct_and_named() {
        let all = ALL.iter().fold(CloneFlags::empty(), |acc, k| {
            assert!(!acc.intersects(k.flag()), "{k:?} overlaps");
            acc | k.flag()
        });
        assert_eq!(all.bits().count_ones(), 8);
        assert_eq!(
            flag_names(&[Kind::Mount, Kind::Pid]),
            "CLONE_NEWNS|CLONE_NEWPID"
        );
        assert_eq!(Kind::Time.flag().bits(), 0x80);
    }

    #[test]
    fn options_name_kinds() {
        assert_eq!(Kind::from_arg(&lexopt::Arg::Short('U')), Some(Kind::User));
        assert_eq!(
            Kind::from_arg(&lexopt::Arg::Long("mount")),
            Some(Kind::Mount)
        );
        assert_eq!(Kind::from_arg(&lexopt::Arg::Long("net")), Some(Kind::Net));
        assert_eq!(Kind::from_arg(&lexopt::Arg::Short('x')), None);
        assert_eq!(Kind::from_arg(&lexopt::Arg::Long("fork")), None);
    }

    #[test]
    fn proc_files_and_limits() {
        assert_eq!(Kind::Pid.created_ns_file(), "pid_for_children");
        assert_eq!(Kind::Time.created_ns_file(), "time_for_children");
        assert_eq!(Kind::Net.created_ns_file(), "net");
        assert_eq!(Kind::Mount.limit_sysctl(), "user.max_mnt_namespaces");
        assert_eq!(Kind::Cgroup.limit_sysctl(), "user.max_cgroup_namespaces");
    }
}
