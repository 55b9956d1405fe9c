//! The built-in default profile: Docker's default seccomp profile, with the
//! same decisions, kept here as our own data.
//!
//! The decisions come from moby's `seccomp/default.json` in the
//! `moby/profiles` repository, as of commit
//! 3c28324314729dbade8287e868eef6338c42807a (2026-05-06, the last change to
//! that file): the same `archMap`, and the same `syscalls[]` groups in the
//! same order, with the same names, actions, `errnoRet`, argument rules and
//! `includes`/`excludes`. Only the order of names inside the big group
//! differs (plain byte order here). `seccompctl --print-profile` writes this
//! profile out as JSON, in Docker's format, before evaluation.

use crate::action::{Action, ENOSYS, EPERM};
use crate::profile::{Arch, Arg, Condition, Entry, Op, Profile};

/// Calls any container may make: no argument checks, no conditions.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "_llseek", "_newselect",
    "accept", "accept4", "access", "adjtimex", "alarm",
    "bind", "brk",
    "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
    "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
    "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat",
    "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64",
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
    "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "getxattrat",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
    "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc",
    "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr",
    "listxattrat", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
    "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
    "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat",
    "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
    "pwritev2",
    "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename",
    "renameat", "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid",
    "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
    "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
    "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
    "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
    "utimensat_time64", "utimes",
    "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
];

/// Tracing and reading another process's memory. Allowed from 4.8 on, the
/// first kernel that re-checks the filter after a tracer rewrites a call;
/// before that, only with CAP_SYS_PTRACE (below).
const TRACING: &[&str] = &["process_vm_readv", "process_vm_writev", "ptrace"];

const AF_ALG: u64 = 38; // the kernel crypto API
const AF_VSOCK: u64 = 40; // host/guest sockets

/// `socket` is allowed for every family but AF_ALG and AF_VSOCK. Conditions
/// on one argument are ANDed, so this is three rules: below AF_ALG, the one
/// family between, above AF_VSOCK.
const SOCKET_FAMILIES: &[(Op, u64)] = &[(Op::Lt, AF_ALG), (Op::Eq, AF_ALG + 1), (Op::Gt, AF_VSOCK)];

/// `personality` values allowed: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26 | PER_LINUX32, and 0xffffffff (query only).
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// What CAP_SYS_ADMIN opens up: mounts, namespaces, names, quotas, BPF,
/// perf, the kernel log, LSM attributes, and unrestricted clone/clone3.
#[rustfmt::skip]
const SYS_ADMIN: &[&str] = &[
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
    "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount",
    "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
    "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
];

/// The `clone` flags that create namespaces (0x7E020000): without
/// CAP_SYS_ADMIN, none of them may be set.
const CLONE_NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

const S390: &[&str] = &["s390", "s390x"];

/// Docker's `archMap`: each architecture and the ones it also runs.
const ARCH_MAP: &[(&str, &[&str])] = &[
    ("SCMP_ARCH_X86_64", &["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ("SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]),
    (
        "SCMP_ARCH_MIPS64",
        &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
    ),
    (
        "SCMP_ARCH_MIPS64N32",
        &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
    ),
    (
        "SCMP_ARCH_MIPSEL64",
        &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
    ),
    (
        "SCMP_ARCH_MIPSEL64N32",
        &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
    ),
    ("SCMP_ARCH_S390X", &["SCMP_ARCH_S390"]),
    ("SCMP_ARCH_RISCV64", &[]),
    ("SCMP_ARCH_LOONGARCH64", &[]),
];

/// Docker's default profile (see the module comment), unevaluated: the
/// caller runs [`Profile::evaluate`] against the capabilities and kernel
/// in force.
pub fn docker_default() -> Profile {
    let mut rules = vec![allow(ALLOWED), allow(TRACING).since(4, 8)];
    rules.extend(
        SOCKET_FAMILIES
            .iter()
            .map(|&(op, family)| allow(&["socket"]).arg(0, op, family)),
    );
    rules.extend(
        PERSONALITIES
            .iter()
            .map(|&value| allow(&["personality"]).arg(0, Op::Eq, value)),
    );
    rules.extend([
        // Calls of one architecture family.
        allow(&["sync_file_range2", "swapcontext"]).on(&["ppc64le"]),
        allow(&[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ])
        .on(&["arm", "arm64"]),
        allow(&["arch_prctl"]).on(&["amd64", "x32"]),
        allow(&["modify_ldt"]).on(&["amd64", "x32", "x86"]),
        allow(&[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ])
        .on(S390),
        allow(&["riscv_flush_icache"]).on(&["riscv64"]),
        // Calls that a capability opens up.
        allow(&["open_by_handle_at"]).with_cap("CAP_DAC_READ_SEARCH"),
        allow(SYS_ADMIN).with_cap("CAP_SYS_ADMIN"),
        // Without CAP_SYS_ADMIN: clone with no namespace flag (s390 passes
        // the flags second), and clone3, whose flags sit in memory a filter
        // cannot read, answers ENOSYS so that libc falls back to clone.
        allow(&["clone"])
            .masked(0, CLONE_NAMESPACES, 0)
            .without_cap("CAP_SYS_ADMIN")
            .not_on(S390),
        allow(&["clone"])
            .masked(1, CLONE_NAMESPACES, 0)
            .on(S390)
            .without_cap("CAP_SYS_ADMIN"),
        rule(Action::Errno(ENOSYS), &["clone3"]).without_cap("CAP_SYS_ADMIN"),
        allow(&["reboot"]).with_cap("CAP_SYS_BOOT"),
        allow(&["chroot"]).with_cap("CAP_SYS_CHROOT"),
        allow(&["delete_module", "init_module", "finit_module"]).with_cap("CAP_SYS_MODULE"),
        allow(&["acct"]).with_cap("CAP_SYS_PACCT"),
        allow(&[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ])
        .with_cap("CAP_SYS_PTRACE"),
        allow(&["iopl", "ioperm"]).with_cap("CAP_SYS_RAWIO"),
        allow(&["settimeofday", "stime", "clock_settime", "clock_settime64"])
            .with_cap("CAP_SYS_TIME"),
        allow(&["vhangup"]).with_cap("CAP_SYS_TTY_CONFIG"),
        allow(&[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ])
        .with_cap("CAP_SYS_NICE"),
        allow(&["syslog"]).with_cap("CAP_SYSLOG"),
        allow(&["bpf"]).with_cap("CAP_BPF"),
        allow(&["perf_event_open"]).with_cap("CAP_PERFMON"),
    ]);
    Profile {
        default_action: Action::Errno(EPERM),
        architectures: Vec::new(),
        arch_map: ARCH_MAP
            .iter()
            .map(|(arch, subs)| {
                let subs = subs.iter().map(|s| Arch::from_oci(s)).collect();
                (Arch::from_oci(arch), subs)
            })
            .collect(),
        flags: Vec::new(),
        syscalls: rules.into_iter().map(|r| r.0).collect(),
    }
}

/// One `syscalls[]` entry under construction.
struct Rule(Entry);

fn strings(items: &[&'static str]) -> Vec<crate::profile::Name> {
    items
        .iter()
        .map(|s| crate::profile::Name::Borrowed(s))
        .collect()
}

fn rule(action: Action, names: &[&'static str]) -> Rule {
    Rule(Entry {
        names: strings(names),
        action,
        args: Vec::new(),
        includes: Condition::default(),
        excludes: Condition::default(),
        comment: None,
    })
}

fn allow(names: &[&'static str]) -> Rule {
    rule(Action::Allow, names)
}

impl Rule {
    /// Adds the condition `arg[index] <op> value`.
    fn arg(mut self, index: u8, op: Op, value: u64) -> Rule {
        self.0.args.push(Arg {
            index,
            value,
            value_two: 0,
            op,
        });
        self
    }

    /// Adds the condition `arg[index] & mask == expected`.
    fn masked(mut self, index: u8, mask: u64, expected: u64) -> Rule {
        self.0.args.push(Arg {
            index,
            value: mask,
            value_two: expected,
            op: Op::MaskedEq,
        });
        self
    }

    /// Kept only when the capability is in the set.
    fn with_cap(mut self, cap: &str) -> Rule {
        self.0.includes.caps.push(cap.to_string());
        self
    }

    /// Dropped when the capability is in the set.
    fn without_cap(mut self, cap: &str) -> Rule {
        self.0.excludes.caps.push(cap.to_string());
        self
    }

    /// Kept only on these (Go-named) architectures.
    fn on(mut self, arches: &[&str]) -> Rule {
        self.0.includes.arches = arches.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Dropped on these (Go-named) architectures.
    fn not_on(mut self, arches: &[&str]) -> Rule {
        self.0.excludes.arches = arches.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Kept only on this kernel version or later.
    fn since(mut self, major: u32, minor: u32) -> Rule {
        self.0.includes.min_kernel = Some((major, minor));
        self
    }
}

/// The `--default` posture's additions to Docker's profile: TIOCSTI pushes
/// input into a terminal the container shares with the host (CVE-2017-5226
/// and its kin), TIOCLINUX can do the same on a virtual console. The
/// command is an `unsigned int`: only its low 32 bits are compared, so that
/// a value with high bits set does not slip past (the kernel ignores them).
pub const TIOCSTI: u64 = 0x5412;
pub const TIOCLINUX: u64 = 0x541C;

/// The posture's additions to Docker's profile: the two ioctls above, and
/// i386 `socketcall`: it multiplexes every socket call behind a pointer
/// the filter cannot read, so Docker's argument rule on `socket` (no
/// AF_ALG, no AF_VSOCK) would not hold for `int 0x80` callers. Their libc
/// uses the direct calls (i386 `socket` and friends, Linux 4.3), which the
/// rule covers.
pub fn posture_additions() -> Vec<Entry> {
    let entry = |name: &'static str, args: Vec<Arg>, why: &str| Entry {
        names: vec![name.into()],
        action: Action::Errno(EPERM),
        args,
        includes: Condition::default(),
        excludes: Condition::default(),
        comment: Some(format!("seccompctl --default: {why}")),
    };
    let ioctl = |cmd: u64| {
        vec![Arg {
            index: 1,
            value: 0xffff_ffff,
            value_two: cmd,
            op: Op::MaskedEq,
        }]
    };
    vec![
        entry("ioctl", ioctl(TIOCSTI), "no TIOCSTI"),
        entry("ioctl", ioctl(TIOCLINUX), "no TIOCLINUX"),
        entry(
            "socketcall",
            Vec::new(),
            "socket calls only through the argument-checked direct calls",
        ),
    ]
}

/// The capabilities of the `--default` posture: Docker's default set
/// without CAP_MKNOD (pivot's /dev has the nodes a container needs, and a
/// new node of the host's disk is the way out: mknod + mount).
#[cfg_attr(not(test), allow(dead_code))] // used by build.rs
pub const POSTURE_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The `--default` posture's profile as the kernel (major, minor) sees it,
/// for a bounding set of exactly [`POSTURE_CAPS`]: the posture's additions
/// first, then Docker's decisions. The build compiles this once
/// (build.rs), so that the common case loads a precompiled program.
#[cfg_attr(not(test), allow(dead_code))] // used by build.rs
pub fn posture_profile(kernel: (u32, u32)) -> Profile {
    let has_cap = |c: &str| POSTURE_CAPS.contains(&c);
    let mut p = docker_default().evaluate(&crate::profile::Context {
        has_cap: &has_cap,
        kernel,
    });
    let mut first = posture_additions();
    first.append(&mut p.syscalls);
    p.syscalls = first;
    p
}

/// The highest `minKernel` of the built-in profile: on any kernel at least
/// this new, the profile evaluates the same.
#[allow(dead_code)] // used by build.rs only
pub fn newest_min_kernel() -> (u32, u32) {
    docker_default()
        .syscalls
        .iter()
        .flat_map(|e| [e.includes.min_kernel, e.excludes.min_kernel])
        .flatten()
        .max()
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Context, parse};
    use std::collections::HashSet;

    /// Docker's default capability set.
    const DOCKER_CAPS: &[&str] = &[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];

    /// The profile evaluated for Docker's caps plus `extra`, on `kernel`.
    fn evaluated(extra: &[&str], kernel: (u32, u32)) -> Profile {
        let has_cap = |c: &str| DOCKER_CAPS.contains(&c) || extra.contains(&c);
        docker_default().evaluate(&Context {
            has_cap: &has_cap,
            kernel,
        })
    }

    /// What the evaluated profile returns for a call: the action of the
    /// entries whose names and argument rules match (they must agree), or
    /// the default action.
    fn verdict(p: &Profile, name: &str, args: [u64; 6]) -> Action {
        let actions: HashSet<Action> = p
            .syscalls
            .iter()
            .filter(|e| e.names.iter().any(|n| n == name))
            .filter(|e| e.args.iter().all(|a| a.holds(args[usize::from(a.index)])))
            .map(|e| e.action)
            .collect();
        assert!(actions.len() <= 1, "{name}: {actions:?}");
        actions.into_iter().next().unwrap_or(p.default_action)
    }

    fn call(p: &Profile, name: &str, a0: u64) -> Action {
        verdict(p, name, [a0, 0, 0, 0, 0, 0])
    }

    const DENIED: Action = Action::Errno(EPERM);

    #[test]
    fn no_name_twice_within_a_group() {
        for (i, e) in docker_default().syscalls.iter().enumerate() {
            let distinct: HashSet<&crate::profile::Name> = e.names.iter().collect();
            assert_eq!(distinct.len(), e.names.len(), "group {i}: {:?}", e.names);
        }
    }

    #[test]
    fn the_big_group_is_sorted() {
        for pair in ALLOWED.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn shape_of_the_pinned_moby_commit() {
        let p = docker_default();
        assert_eq!(p.default_action, Action::Errno(1));
        assert_eq!(p.syscalls.len(), 33);
        assert_eq!(ALLOWED.len(), 361);
        assert_eq!(p.syscalls.iter().map(|e| e.names.len()).sum::<usize>(), 442);
        assert_eq!(CLONE_NAMESPACES, 0x7E02_0000);
        assert!(p.syscalls.iter().all(|e| e.comment.is_none()));
    }

    #[test]
    fn strict_takes_dockers_profile_and_still_catches_a_typo() {
        use crate::filter::{Filter, NewerThan};
        // Docker's big group names recv, send and riscv_hwprobe, which no
        // x86 ABI has: real calls elsewhere, not typos.
        let p = evaluated(&[], (6, 1));
        assert!(Filter::resolve(&p, true, NewerThan::Profile).is_ok());
        let mut typo = p.clone();
        typo.syscalls.push(allow(&["recvfromm"]).0);
        let err = Filter::resolve(&typo, true, NewerThan::Profile).unwrap_err();
        assert_eq!(err, "--strict: no architecture of the filter has recvfromm");
        assert!(Filter::resolve(&typo, false, NewerThan::Profile).is_ok());
    }

    #[test]
    fn json_round_trips() {
        let p = docker_default();
        assert_eq!(parse(p.to_json().to_string().as_bytes()), Ok(p));
    }

    #[test]
    fn docker_caps_on_6_1() {
        let p = evaluated(&[], (6, 1));
        assert_eq!(p.architectures, [Arch::X86_64, Arch::X86, Arch::X32]);
        assert!(
            p.syscalls
                .iter()
                .all(|e| e.includes.is_empty() && e.excludes.is_empty())
        );

        // socket: every family but AF_ALG (38) and AF_VSOCK (40).
        let socket: Vec<&[Arg]> = p
            .syscalls
            .iter()
            .filter(|e| e.names == ["socket"])
            .map(|e| e.args.as_slice())
            .collect();
        assert_eq!(socket.len(), 3);
        assert!(
            socket
                .iter()
                .all(|args| args.len() == 1 && args[0].index == 0)
        );
        for family in [0, 1, 2, 10, 16, 17, 37, 39, 41, 45] {
            assert_eq!(call(&p, "socket", family), Action::Allow, "family {family}");
        }
        assert_eq!(call(&p, "socket", 38), DENIED);
        assert_eq!(call(&p, "socket", 40), DENIED);

        // clone: no namespace flag; clone3: ENOSYS.
        let clone: Vec<&Entry> = p.syscalls.iter().filter(|e| e.names == ["clone"]).collect();
        assert_eq!(clone.len(), 1);
        let masked = Arg {
            index: 0,
            value: 2_114_060_288,
            value_two: 0,
            op: Op::MaskedEq,
        };
        assert_eq!(clone[0].args, [masked]);
        assert_eq!(call(&p, "clone", libc::SIGCHLD as u64), Action::Allow);
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(call(&p, "clone", thread), Action::Allow);
        assert_eq!(call(&p, "clone", libc::CLONE_NEWUSER as u64), DENIED);
        assert_eq!(call(&p, "clone", libc::CLONE_NEWNS as u64), DENIED);
        assert_eq!(call(&p, "clone3", 0), Action::Errno(38));

        for name in [
            "mount", "umount2", "unshare", "setns", "bpf", "kcmp", "reboot",
        ] {
            assert_eq!(call(&p, name, 0), DENIED, "{name}");
        }
        assert_eq!(call(&p, "chroot", 0), Action::Allow);
        assert_eq!(call(&p, "arch_prctl", 0), Action::Allow);
        assert_eq!(call(&p, "read", 0), Action::Allow);
        assert!(
            p.syscalls
                .iter()
                .all(|e| !e.names.iter().any(|n| n == "cacheflush"))
        );

        // personality: five values only.
        for value in [0, 8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
            assert_eq!(call(&p, "personality", value), Action::Allow, "{value:#x}");
        }
        for value in [0x4_0000, 0x0040_0008, 0x10, 1] {
            assert_eq!(call(&p, "personality", value), DENIED, "{value:#x}");
        }

        // ptrace: allowed from 4.8 on, whatever the caps.
        for name in ["ptrace", "process_vm_readv", "process_vm_writev"] {
            assert_eq!(call(&p, name, 0), Action::Allow, "{name}");
        }
    }

    #[test]
    fn ptrace_before_4_8_needs_sys_ptrace() {
        let plain = evaluated(&[], (4, 4));
        let traced = evaluated(&["CAP_SYS_PTRACE"], (4, 4));
        for name in ["ptrace", "process_vm_readv", "process_vm_writev"] {
            assert_eq!(call(&plain, name, 0), DENIED, "{name}");
            assert_eq!(call(&traced, name, 0), Action::Allow, "{name}");
        }
        let on_6_1 = evaluated(&["CAP_SYS_PTRACE"], (6, 1));
        for name in ["kcmp", "pidfd_getfd", "process_madvise", "ptrace"] {
            assert_eq!(call(&on_6_1, name, 0), Action::Allow, "{name}");
        }
    }

    #[test]
    fn sys_admin_opens_mounts_and_namespaces() {
        let p = evaluated(&["CAP_SYS_ADMIN"], (6, 1));
        for name in ["mount", "umount2", "unshare", "setns", "bpf", "clone3"] {
            assert_eq!(call(&p, name, 0), Action::Allow, "{name}");
        }
        assert_eq!(call(&p, "clone", libc::CLONE_NEWUSER as u64), Action::Allow);
        assert!(p.syscalls.iter().all(|e| e.action == Action::Allow));
    }
}
