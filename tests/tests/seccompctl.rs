//! seccompctl: the last step of a chain. What a user checks from inside the
//! container: which escapes root has with and without it, which
//! capabilities the workload ends up with, that bad input runs nothing, that
//! the filter is the one asked for, and that the binary pivot carries in
//! from the host cannot be attacked from inside (CVE-2019-5736).

use e2e::*;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

const NS: &[&str] = &["-fpnumi"];

fn path(name: &str) -> String {
    bin(name).to_string_lossy().into_owned()
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `unshare-rs -fpnumi -- pivot ROOT PIVOT -- seccompctl ARGS -- ARGV`, with
/// seccompctl given by its host path (pivot carries it in).
fn confined(root: &Path, pivot: &[&str], args: &[&str], argv: &[&str]) -> Out {
    let seccompctl = path("seccompctl");
    let mut all = vec![seccompctl.as_str()];
    all.extend_from_slice(args);
    all.push("--");
    all.extend_from_slice(argv);
    container(NS, root, pivot, &all)
}

/// seccompctl run directly on the host (it changes only itself and the
/// program it execs).
fn seccompctl(args: &[&str]) -> Out {
    run(&mut tool(As::Root, "seccompctl", args))
}

/// One line of /bin/escapes: `NAME open DETAIL` or `NAME refused DETAIL`.
#[derive(Debug)]
struct Attempt {
    open: bool,
    detail: String,
    line: String,
}

fn attempt(out: &Out, name: &str) -> Attempt {
    assert_eq!(out.status, 0, "escapes {name}: {out:?}");
    parse_attempt(out.stdout.trim(), name)
}

fn parse_attempt(line: &str, name: &str) -> Attempt {
    let mut words = line.splitn(3, ' ');
    assert_eq!(words.next(), Some(name), "{line}");
    let open = match words.next() {
        Some("open") => true,
        Some("refused") => false,
        _ => panic!("escapes {name}: {line}"),
    };
    let detail = words.next().unwrap_or("").to_string();
    Attempt {
        open,
        detail,
        line: line.to_string(),
    }
}

/// The host's root file system from the mount of / in /proc/self/mountinfo:
/// its device (MAJOR:MINOR) and its type.
fn host_root() -> (String, String) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = info
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some("/"))
        .expect("no mount of / in mountinfo");
    let dev = line.split(' ').nth(2).unwrap().to_string();
    let fstype = line.split(" - ").nth(1).unwrap().split(' ').next().unwrap();
    (dev, fstype.to_string())
}

fn host_mounts() -> Vec<String> {
    mount_points(&std::fs::read_to_string("/proc/self/mountinfo").unwrap())
}

/// A file only the host has: in the host's /, outside every rootfs;
/// removed when the guard drops.
fn host_marker(name: &str) -> (String, String, Cleanup<impl FnMut()>) {
    let marker = format!("/chain-seccompctl-{name}-{}", std::process::id());
    let content = format!("only the host has this ({})", std::process::id());
    std::fs::write(&marker, &content).unwrap();
    let remove = marker.clone();
    let guard = Cleanup(move || {
        let _ = std::fs::remove_file(&remove);
    });
    (marker, content, guard)
}

#[test]
fn default_refuses_every_escape_that_is_open_without_it() {
    let root = rootfs();
    let (dev, fstype) = host_root();
    if dev.starts_with("0:") {
        skip(&format!(
            "the host's / is not on a block device ({fstype} {dev}): the mknod+mount escape has nothing to mount"
        ));
        return;
    }
    let (marker, content, _marker) = host_marker("escape");
    let before = host_mounts();
    let catalogue: &[&[&str]] = &[
        &["mknod-mount", &dev, &fstype, &marker, &content],
        &["tmpfs"],
        &["unshare-user"],
        &["unshare-mnt"],
        &["i386-unshare"],
        &["setns"],
        &["shocker", &marker, &content],
        &["init-module"],
        &["finit-module"],
        &["reboot"],
        &["keyctl"],
        &["bpf"],
        &["perf"],
        &["ptrace"],
        &["chroot", &marker],
    ];
    let mut without_seccompctl = Vec::new();
    for entry in catalogue {
        let name = entry[0];
        let mut argv = vec!["/bin/escapes"];
        argv.extend_from_slice(entry);
        let without = attempt(&container(NS, &root, &[], &argv), name);
        let with = attempt(&confined(&root, &[], &["--default"], &argv), name);
        println!("{name:13} without seccompctl: {}", without.line);
        println!("{name:13} with --default:    {}", with.line);
        // Refused, and by the filter or the dropped capabilities (EPERM),
        // not by a kernel that happens to lack the call; chroot is
        // contained by pivot either way.
        assert!(!with.open, "--default lets through: {}", with.line);
        let expected = match name {
            "chroot" => "contained",
            // A kernel without the i386 entry kills int 0x80 before any
            // filter runs.
            "i386-unshare" if without.detail.starts_with("ENOSYS (int 0x80") => "ENOSYS",
            _ => "EPERM",
        };
        assert!(
            with.detail.starts_with(expected),
            "{name}: expected {expected}: {}",
            with.line
        );
        without_seccompctl.push((name, without));
    }
    let open_today: Vec<&str> = without_seccompctl
        .iter()
        .filter(|(_, a)| a.open)
        .map(|(name, _)| *name)
        .collect();
    println!("open without seccompctl: {open_today:?}");
    // The check can see an escape: root in a plain container mounts the
    // host's disk and reads a file that only the host has.
    let (_, mknod) = &without_seccompctl[0];
    assert!(
        mknod.open && mknod.detail.contains("read the host's marker"),
        "mknod+mount of the host's root is not open without seccompctl: {}",
        mknod.line
    );
    assert_eq!(host_mounts(), before, "a mount leaked to the host");
}

/// Writes below pivot's read-only /proc paths: /proc/sysrq-trigger where
/// the kernel has it (only 'h', the help text, is ever written), and always
/// /proc/sys/kernel/hostname, the same escape (take the read-only bind
/// away, then write) on a file every kernel has.
#[test]
fn default_refuses_writes_below_the_read_only_proc_paths() {
    let root = rootfs();
    let mut attempts = vec!["procsys"];
    if Path::new("/proc/sysrq-trigger").exists() {
        attempts.push("sysrq");
    } else {
        println!(
            "this kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ is off): /proc/sys stands for it"
        );
    }
    for name in attempts {
        let argv = ["/bin/escapes", name];
        let without = attempt(&container(NS, &root, &[], &argv), name);
        println!("without seccompctl: {}", without.line);
        if name == "procsys" {
            assert!(
                without.open,
                "the read-only /proc/sys bind could not be taken away without seccompctl: {}",
                without.line
            );
        }
        let with = attempt(&confined(&root, &[], &["--default"], &argv), name);
        assert!(!with.open, "{}", with.line);
        assert!(with.detail.starts_with("EPERM"), "{}", with.line);
    }
}

/// A capability mask as the probe prints it.
fn mask(caps: &[u32]) -> String {
    format!("{:016x}", caps.iter().fold(0u64, |m, &c| m | 1 << c))
}

/// Docker's default capabilities without CAP_MKNOD (27): CHOWN 0,
/// DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6, SETUID 7, SETPCAP 8,
/// NET_BIND_SERVICE 10, NET_RAW 13, SYS_CHROOT 18, AUDIT_WRITE 29, SETFCAP 31.
const DOCKER_WITHOUT_MKNOD: [u32; 13] = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 29, 31];

const CAP_NET_BIND_SERVICE: u32 = 10;

#[test]
fn default_gives_root_dockers_capabilities_without_mknod_no_new_privs_and_a_filter() {
    let root = rootfs();
    let inside = confined(&root, &[], &["--default"], &["/probe"])
        .ok()
        .json();
    let docker = mask(&DOCKER_WITHOUT_MKNOD);
    let caps = &inside["caps"];
    for set in ["eff", "prm", "bnd"] {
        assert_eq!(caps[set], docker.as_str(), "{set}: {caps}");
    }
    for set in ["inh", "amb"] {
        assert_eq!(caps[set], mask(&[]).as_str(), "{set}: {caps}");
    }
    assert_eq!(inside["no_new_privs"], 1);
    assert_eq!(inside["seccomp"], 2, "no filter: {inside}");
    assert_eq!(inside["uid"], json!([0, 0, 0, 0]));
}

/// `pivot ROOT --tmpfs /work -- mapids --as 1000 --keep-caps -- seccompctl
/// ARGS -- ARGV`: a non-root workload whose capabilities seccompctl sets.
fn as_uid_1000(args: &[&str], argv: &[&str]) -> Out {
    let (mapids, seccompctl) = (path("mapids"), path("seccompctl"));
    let mut all = vec![mapids.as_str(), "--as", "1000", "--keep-caps", "--"];
    all.push(&seccompctl);
    all.extend_from_slice(args);
    all.push("--");
    all.extend_from_slice(argv);
    container(NS, &rootfs(), &["--tmpfs", "/work"], &all)
}

#[test]
fn ambient_gives_a_non_root_workload_port_80_and_nothing_else() {
    let keep = ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"];
    let script = "id -u; /bin/escapes bind 80; chown 1000 /work 2>&1; echo chown=$?";
    let with_ambient = [&keep[..], &["--ambient", "--nnp"]].concat();
    let out = as_uid_1000(&with_ambient, &["/bin/sh", "-c", script]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "1000",
            "bind open 80",
            "chown: /work: Operation not permitted",
            "chown=1"
        ],
        "{}",
        out.stderr
    );
    let inside = as_uid_1000(&with_ambient, &["/probe"]).ok().json();
    let only = mask(&[CAP_NET_BIND_SERVICE]);
    for set in ["eff", "prm", "inh", "amb", "bnd"] {
        assert_eq!(inside["caps"][set], only.as_str(), "{set}: {inside}");
    }
    assert_eq!(inside["uid"], json!([1000, 1000, 1000, 1000]));
    // Without --ambient the exec of a non-root program drops it.
    let with_nnp = [&keep[..], &["--nnp"]].concat();
    let out = as_uid_1000(&with_nnp, &["/bin/escapes", "bind", "80"]).ok();
    assert_eq!(out.stdout.trim(), "bind refused EACCES (bind)");
}

/// Whether setuid bits count on the file system holding `p`.
fn setuid_honoured(p: &Path) -> bool {
    let c = std::ffi::CString::new(text(p)).unwrap();
    // SAFETY: statvfs into a zeroed struct with a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_flag & libc::ST_NOSUID == 0
}

#[test]
fn nnp_keeps_a_setuid_root_program_from_elevating() {
    let dir = TempDir::new("seccompctl-setuid");
    let root = dir.path("root");
    small_rootfs(&root);
    if !setuid_honoured(&root) {
        skip(&format!("{} is mounted nosuid", dir.0.display()));
        return;
    }
    let suid = root.join("bin/suid-euid");
    std::fs::copy(rootfs().join("bin/escapes"), &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let (mapids, seccompctl) = (path("mapids"), path("seccompctl"));
    let program = ["/bin/suid-euid", "euid"];
    let plain = [&[mapids.as_str(), "--as", "1000", "--"][..], &program].concat();
    let out = container(NS, &root, &[], &plain).ok();
    assert_eq!(
        out.stdout.trim(),
        "euid 0",
        "the setuid bit does not work here"
    );
    let nnp = [
        &[
            mapids.as_str(),
            "--as",
            "1000",
            "--",
            &seccompctl,
            "--nnp",
            "--",
        ][..],
        &program,
    ]
    .concat();
    let out = container(NS, &root, &[], &nnp).ok();
    assert_eq!(out.stdout.trim(), "euid 1000");
}

#[test]
fn verbose_names_the_five_sets_before_and_after() {
    let root = rootfs();
    let args = ["-v", "--cap-drop", "ALL", "--cap-add", "CHOWN", "--nnp"];
    let out = confined(&root, &[], &args, &["/bin/true"]).ok();
    for when in ["before", "after"] {
        for set in [
            "bounding",
            "permitted",
            "effective",
            "inheritable",
            "ambient",
        ] {
            assert!(
                out.stderr.contains(&format!("# {when}: {set}: ")),
                "-v does not show {when} {set}: {}",
                out.stderr
            );
        }
    }
    for line in [
        "# before: ambient: none",
        "# after: bounding: CAP_CHOWN\n",
        "# after: effective: CAP_CHOWN\n",
        "# after: inheritable: none",
    ] {
        assert!(out.stderr.contains(line), "no {line:?}: {}", out.stderr);
    }
    assert!(
        out.stderr
            .contains("# before: bounding: CAP_CHOWN,CAP_DAC_OVERRIDE,"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    // CHAIN_TRACE=1 does the same for a whole chain.
    let (u, p, s) = (path("unshare-rs"), path("pivot"), path("seccompctl"));
    let r = text(&root);
    let args = [
        "-fpnumi",
        "--",
        &p,
        &r,
        "--",
        &s,
        "--cap-drop",
        "ALL",
        "--",
        "/bin/true",
    ];
    let out = run(command(As::Root, &u, &args).env("CHAIN_TRACE", "1")).ok();
    for line in ["pivot[1] ", "seccompctl[1] +", "# after: bounding: none"] {
        assert!(out.stderr.contains(line), "no {line:?}: {}", out.stderr);
    }
}

/// Writes a file into `dir` and returns its path.
fn file(dir: &TempDir, name: &str, content: &str) -> String {
    std::fs::write(dir.path(name), content).unwrap();
    dir.str(name)
}

/// An ioctl profile with `n` argument rules: far more instructions than
/// the kernel loads.
fn huge_profile(n: u32) -> String {
    let rules: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            // Two comparisons a rule: seccompctl shares the loads of a run of
            // single value tests, so those would not reach the limit.
            json!({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
                   "args": [{"index": 1, "value": 0x1000 + i, "op": "SCMP_CMP_EQ"},
                            {"index": 2, "value": i, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}).to_string()
}

#[test]
fn bad_input_is_125_one_line_and_runs_nothing() {
    let dir = TempDir::new("seccompctl-bad");
    let marker = dir.path("ran");
    let touch = format!("touch {}", marker.display());
    let malformed = file(
        &dir,
        "malformed.json",
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [ {\"names\": [\"read\"] \"action\": 3} ]}",
    );
    let unknown_action = file(&dir, "action.json", r#"{"defaultAction":"SCMP_ACT_DENY"}"#);
    let unknown_op = file(
        &dir,
        "op.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_BOGUS"}]}]}"#,
    );
    let errno_on_allow = file(
        &dir,
        "allow.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":1}]}"#,
    );
    let huge = file(&dir, "huge.json", &huge_profile(1500));
    let mut cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--profile", &malformed],
            vec![&malformed, "not valid JSON", "line 2", "column"],
        ),
        (
            vec!["--default-action", "deny"],
            vec!["--default-action", "unknown action 'deny'"],
        ),
        (
            vec!["--profile", &unknown_action],
            vec!["defaultAction", "unknown action 'SCMP_ACT_DENY'"],
        ),
        (
            vec!["--profile", &unknown_op],
            vec!["syscalls[0].args[0]", "unknown op 'SCMP_CMP_BOGUS'"],
        ),
        (
            vec!["--profile", &errno_on_allow],
            vec!["syscalls[0]", "errnoRet", "SCMP_ACT_ALLOW"],
        ),
        (
            vec!["--profile", &huge],
            vec!["instructions", "at most 4096"],
        ),
        (
            // Only the typo: the other architectures' calls Docker's
            // profile lists (recv, send) are no error under --strict.
            vec!["--strict", "--default", "--allow", "recvfromm"],
            vec!["--strict: no architecture of the filter has recvfromm"],
        ),
        (
            vec!["--cap-drop", "CAP_BOGUS"],
            vec!["--cap-drop", "unknown capability 'CAP_BOGUS'"],
        ),
        (
            vec!["--default-action", "errno", "--allow", "read,write"],
            vec!["execve", "nothing was loaded"],
        ),
    ];
    // A capability the host's bounding set lacks (here, if there is one)
    // cannot be kept.
    let bounding = host_bounding_set();
    match (0..=cap_last_cap()).find(|c| bounding & (1 << c) == 0) {
        Some(c) => cases.push((
            vec!["--cap-add", CAP_NAMES[c as usize]],
            vec!["cannot keep", CAP_NAMES[c as usize], "bounding set"],
        )),
        None => println!("the host's bounding set is full: only the setpriv case below"),
    }
    for (args, named) in &cases {
        let mut all = args.clone();
        all.extend(["--", "/bin/sh", "-c", &touch]);
        let out = seccompctl(&all);
        assert_eq!(out.status, 125, "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("seccompctl: "), "{}", out.stderr);
        for word in named {
            assert!(
                out.stderr.contains(word),
                "{args:?}: no {word:?} in {}",
                out.stderr
            );
        }
        assert!(!marker.exists(), "{args:?}: the program ran");
    }
    // The same with a capability dropped from the bounding set just before.
    let s = path("seccompctl");
    let out = run(&mut command(
        As::Root,
        "setpriv",
        &[
            "--bounding-set",
            "-net_admin",
            &s,
            "--cap-add",
            "NET_ADMIN",
            "--",
            "/bin/sh",
            "-c",
            &touch,
        ],
    ));
    assert_eq!(out.status, 125, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        "seccompctl: cannot keep CAP_NET_ADMIN: the bounding set no longer has it, and nothing can put it back"
    );
    assert!(!marker.exists());
    // A capability above this kernel's last is refused by name, when the
    // tool knows one (its table ends at 40, CAP_CHECKPOINT_RESTORE).
    if cap_last_cap() < 40 {
        let out = seccompctl(&["--cap-add", "CHECKPOINT_RESTORE", "--", "/bin/true"]);
        assert_eq!(out.status, 125);
        assert!(
            out.stderr.contains("not known to this kernel"),
            "{}",
            out.stderr
        );
    } else {
        println!("cap_last_cap is 40: every capability seccompctl knows exists here");
    }
    // A missing program: 127, named, nothing applied.
    let out = seccompctl(&["--nnp", "--", "/no/such/program"]);
    assert_eq!(out.status, 127);
    assert_eq!(
        out.stderr.trim(),
        "seccompctl: exec /no/such/program: No such file or directory"
    );
}

/// --strict catches misspelt names, and real profiles list calls of other
/// architectures (recv, send, swapcontext, ...): Docker's default and
/// podman's profile both load with it.
#[test]
fn strict_loads_the_real_profiles() {
    let out = seccompctl(&["--strict", "--default", "--", "/bin/true"]);
    assert_eq!(out.status, 0, "--strict --default: {out:?}");
    const PODMAN: &str = "/usr/share/containers/seccomp.json";
    if !Path::new(PODMAN).exists() {
        e2e::skip(&format!(
            "{PODMAN} is missing (golang-github-containers-common)"
        ));
        return;
    }
    let out = seccompctl(&["--strict", "--profile", PODMAN, "--", "/bin/true"]);
    assert_eq!(out.status, 0, "--strict --profile {PODMAN}: {out:?}");
}

fn cap_last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn host_bounding_set() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim();
    u64::from_str_radix(hex, 16).unwrap()
}

/// Capability names by number (linux/capability.h, up to Linux 5.9).
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

#[test]
fn deny_refuses_the_call_with_eperm_or_the_errno_given() {
    // What a user sees: the program's own error message (coreutils uname on
    // the host; busybox uname ignores the failure).
    let out = seccompctl(&["--deny", "uname", "--", "/bin/uname"]);
    assert_eq!(out.status, 1, "{out:?}");
    assert!(
        out.stderr
            .ends_with("cannot get system name: Operation not permitted\n"),
        "{}",
        out.stderr
    );
    let out = seccompctl(&["--deny", "uname=errno:ENOSYS", "--", "/bin/uname"]);
    assert!(
        out.stderr
            .ends_with("cannot get system name: Function not implemented\n"),
        "{}",
        out.stderr
    );
    // And in a container, the raw call.
    let root = rootfs();
    let call = ["/bin/escapes", "call", "uname"];
    for (args, result) in [
        (&["--deny", "uname"][..], "uname errno:EPERM"),
        (&["--deny", "uname=errno:ENOSYS"], "uname errno:ENOSYS"),
        // Another call denied: uname reaches the kernel, which faults on
        // the null buffer.
        (&["--deny", "getppid"], "uname errno:EFAULT"),
    ] {
        let out = confined(&root, &[], args, &call).ok();
        assert_eq!(out.stdout.trim(), result, "{args:?}");
    }
}

#[test]
fn a_kill_rule_kills_with_sigsys() {
    let root = rootfs();
    let rule = ["--rule", "getpid=kill"];
    let out = confined(&root, &[], &rule, &["/bin/escapes", "call", "getpid"]);
    assert_eq!(out.status, 128 + libc::SIGSYS, "{out:?}");
    assert!(out.stdout.is_empty());
    // Only that call: the program otherwise runs.
    let out = confined(&root, &[], &rule, &["/bin/escapes", "call", "getppid"]).ok();
    assert_eq!(out.stdout.trim(), "getppid ok");
}

/// What busybox sh needs for `echo`, a pipe-less command, a command
/// substitution and running a program (found with strace -f -c).
const BUSYBOX_SH_CALLS: &str = "arch_prctl,brk,clone,close,dup2,execve,exit_group,fcntl,\
    getdents64,getpid,getppid,getrandom,getuid,ioctl,mprotect,newfstatat,openat,pipe2,prctl,\
    prlimit64,read,readlink,rseq,rt_sigaction,rt_sigreturn,set_robust_list,set_tid_address,\
    uname,wait4,write";

#[test]
fn an_allow_list_runs_a_shell_and_refuses_the_rest() {
    let root = rootfs();
    let args = [
        "--default-action",
        "errno:ENOSYS",
        "--allow",
        BUSYBOX_SH_CALLS,
    ];
    let script = "echo hi; ls / >/dev/null; X=$(echo sub); echo $X; /bin/escapes call socket 1 1 0";
    let out = confined(&root, &[], &args, &["/bin/sh", "-c", script]).ok();
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["hi", "sub", "socket errno:ENOSYS"],
        "{}",
        out.stderr
    );
}

/// The action `seccompctl --default --test CALL` names: `allow`,
/// `errno:EPERM`, ...
fn tested_action(call: &str) -> String {
    let out = seccompctl(&["--default", "--test", call]).ok();
    let line = out.stdout.trim();
    let (_, rest) = line.split_once(") = ").unwrap_or_else(|| panic!("{line}"));
    rest.split(' ').next().unwrap().to_string()
}

#[test]
fn test_mode_predicts_what_the_kernel_does() {
    let root = rootfs();
    for call in [
        "getpid",
        "socket 1 1 0",  // AF_UNIX
        "socket 38 5 0", // AF_ALG
        "personality 0xffffffff",
        "personality 0x40000",
        "clone3",
        "ioctl 0 0x5412",      // TIOCSTI
        "ioctl 0 0x100005412", // the same: the kernel takes 32 bits
        "ioctl 0 0x5401",      // TCGETS
        "mount 0 0 0 0 0",
    ] {
        let predicted = tested_action(call);
        let mut argv = vec!["/bin/escapes", "call"];
        argv.extend(call.split(' '));
        let out = confined(&root, &[], &["--default"], &argv).ok();
        let (_, kernel) = out.stdout.trim().split_once(' ').unwrap();
        if predicted == "allow" {
            // The kernel's own answer: anything but the filter's errnos.
            assert!(
                kernel == "ok" || kernel == "errno:ENOTTY",
                "{call}: predicted allow, the kernel says {kernel}"
            );
        } else {
            assert_eq!(kernel, predicted, "{call}");
        }
    }
}

#[test]
fn the_workload_sees_no_carried_fd_and_no_chain_variable() {
    let root = rootfs();
    let (mapids, seccompctl) = (path("mapids"), path("seccompctl"));
    for argv in [
        &[seccompctl.as_str(), "--nnp", "--", "/probe"][..],
        &[
            &mapids,
            "--as",
            "0",
            "--",
            &seccompctl,
            "--nnp",
            "--",
            "/probe",
        ],
    ] {
        let inside = container(NS, &root, &[], argv).ok().json();
        assert_eq!(
            inside["no_new_privs"], 1,
            "seccompctl did not run: {argv:?}"
        );
        assert_eq!(inside["env"], json!({}), "{argv:?}");
        let fds: Vec<&String> = inside["fds"].as_object().unwrap().keys().collect();
        assert_eq!(fds, ["0", "1", "2"], "{argv:?}: {}", inside["fds"]);
    }
}

/// Every file name in a tree, without following symlinks.
fn names_in(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            names_in(&entry.path(), out);
        }
    }
}

#[test]
fn the_image_need_not_contain_seccompctl() {
    // A rootfs of its own: other tests bind our tools onto empty files of
    // the shared one.
    let dir = TempDir::new("no-tools");
    let root = dir.path("root");
    small_rootfs(&root);
    let mut names = Vec::new();
    names_in(&root, &mut names);
    for tool in ["seccompctl", "mapids"] {
        assert!(!names.iter().any(|n| n == tool), "the rootfs has {tool}");
    }
    let out = confined(&root, &[], &["--nnp"], &["/bin/true"]).ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    // Without the carry pivot looks for it in the image, which has none.
    let out = confined(&root, &["--no-carry"], &["--nnp"], &["/bin/true"]);
    assert_eq!(out.status, 127, "{out:?}");
    assert!(
        out.stderr.contains("No such file or directory"),
        "{}",
        out.stderr
    );
}

/// Lines of a child's stdout, one at a time, with a time limit.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The CVE-2019-5736 attack on the chain step that runs `step` inside
/// `root`: seccompctl blocks reading its profile from a FIFO; a process that
/// joins the container holds /proc/1/exe (O_PATH); the profile goes in,
/// seccompctl execs on, and the process reopens the held file for writing.
/// Returns what the attacker held and its verdict.
fn exe_reopen_attack(dir: &TempDir, root: &Path, pivot: &[&str], step: &str) -> (String, Attempt) {
    let fifo = root.join("profile.fifo");
    let _ = std::fs::remove_file(&fifo);
    let c = std::ffi::CString::new(text(&fifo)).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let pid_file = dir.str("container.pid");
    let _ = std::fs::remove_file(&pid_file);
    let (p, r) = (path("pivot"), text(root));
    let mut args = vec!["--pid-file", &pid_file, "-fpnumi", "--", &p, &r];
    args.extend_from_slice(pivot);
    let profile = ["--nnp", "--profile", "/profile.fifo", "--"];
    args.extend([step].iter().chain(&profile).chain(&["/bin/sleep", "20"]));
    let mut container = tool(As::Root, "unshare-rs", &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let container_guard = KillOnDrop(container.id() as i32);
    // The container's PID 1 is the step, blocked opening the FIFO.
    let mut pid = 0;
    assert!(
        wait_until(Duration::from_secs(10), || {
            pid = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            pid > 0
                && std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|e| e.to_string_lossy().contains("seccompctl"))
        }),
        "the step never ran"
    );
    let pid_arg = pid.to_string();
    let join = [
        "-t",
        &pid_arg,
        "-a",
        "--",
        "/bin/escapes",
        "exe-reopen",
        "1",
    ];
    let mut attacker = tool(As::Root, "nsenter-rs", &join)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let attacker_guard = KillOnDrop(attacker.id() as i32);
    let lines = lines_of(attacker.stdout.take().unwrap());
    let holding = lines
        .recv_timeout(TIME_LIMIT)
        .expect("the attacker never held /proc/1/exe");
    // The profile goes in (non-blocking: the step must be reading already).
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("nobody reads the FIFO");
    w.write_all(br#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["uname"],"action":"SCMP_ACT_ERRNO"}]}"#)
        .unwrap();
    drop(w);
    let verdict = lines.recv_timeout(TIME_LIMIT);
    let rest = finish(attacker);
    // Reaped: its pid is no longer ours to kill.
    std::mem::forget(attacker_guard);
    let verdict = verdict.unwrap_or_else(|_| panic!("no verdict from the attacker: {rest:?}"));
    println!("{holding}: {verdict}");
    drop(container_guard);
    let _ = container.wait();
    (holding, parse_attempt(&verdict, "exe-reopen"))
}

#[test]
fn the_carried_seccompctl_cannot_be_overwritten_from_inside() {
    let dir = TempDir::new("seccompctl-cve");
    let root = dir.path("root");
    small_rootfs(&root);
    std::fs::copy(rootfs().join("bin/escapes"), root.join("bin/escapes")).unwrap();
    let _ = std::os::unix::fs::symlink("busybox", root.join("bin/sleep"));
    let host_binary = bin("seccompctl");
    let before = std::fs::read(&host_binary).unwrap();

    // Carried: the step runs from a sealed memfd; writing it is refused.
    let (held, carried) = exe_reopen_attack(&dir, &root, &[], &path("seccompctl"));
    assert_eq!(held, "holding /memfd:seccompctl (deleted)");
    assert!(!carried.open, "{}", carried.line);
    assert_eq!(std::fs::read(&host_binary).unwrap(), before);

    // The contrast: the same attack on a step run from an ordinary file
    // (a copy in the image, --no-carry) writes to it: the check can fail.
    std::fs::copy(&host_binary, root.join("bin/seccompctl")).unwrap();
    let (held, plain) = exe_reopen_attack(&dir, &root, &["--no-carry"], "/bin/seccompctl");
    assert_eq!(held, "holding /bin/seccompctl");
    assert!(plain.open, "{}", plain.line);
    assert_eq!(std::fs::read(&host_binary).unwrap(), before);
}

/// `--new-session`: the program leads a session of its own, so it has no
/// controlling terminal to push input into (TIOCSTI, CVE-2017-5226).
#[test]
fn new_session_makes_the_program_a_session_leader() {
    // Field 6 of /proc/PID/stat is the session id; a leader's is its pid.
    let script = "set -- $(cut -d' ' -f1,6 /proc/$$/stat); echo $1 $2";
    let ids = |out: &Out| -> (String, String) {
        let words: Vec<String> = out.stdout.split_whitespace().map(str::to_string).collect();
        (words[0].clone(), words[1].clone())
    };
    let (pid, sid) = ids(&seccompctl(&["--new-session", "--", "/bin/sh", "-c", script]).ok());
    assert_eq!(pid, sid, "not a session leader under --new-session");
    let (pid, sid) = ids(&seccompctl(&["--nnp", "--", "/bin/sh", "-c", script]).ok());
    assert_ne!(
        pid, sid,
        "a session leader without --new-session: the check proves nothing"
    );
}

/// `--dump-raw FILE` then `--bpf FILE`: the same program, loaded without a
/// profile to read; a file that is no program is refused before anything
/// changes.
#[test]
fn a_dumped_program_loads_with_bpf() {
    let dir = TempDir::new("seccompctl-bpf");
    let program = dir.str("deny-uname.bpf");
    seccompctl(&["--deny", "uname", "--dump-raw", &program]).ok();
    let out = seccompctl(&["--bpf", &program, "--", "/bin/uname"]);
    assert_ne!(out.status, 0, "{out:?}");
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.stderr
    );
    seccompctl(&["--bpf", &program, "--", "/bin/true"]).ok();
    let torn = dir.str("torn.bpf");
    std::fs::write(&torn, &std::fs::read(&program).unwrap()[..12]).unwrap();
    let out = seccompctl(&["--bpf", &torn, "--", "/bin/true"]);
    assert_eq!(out.status, 125, "{out:?}");
    assert!(
        out.stderr.contains("whole number of instructions"),
        "{}",
        out.stderr
    );
}
