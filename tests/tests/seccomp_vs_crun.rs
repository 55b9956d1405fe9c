//! seccompctl against crun on podman's seccomp profile, by what a program
//! sees: the catalogue tests/c/syscalls.c makes about 120 calls, each in a
//! child, and prints one line per call (`ret N`, `errno NAME`, `signal N`).
//!
//! 1. podman's profile (/usr/share/containers/seccomp.json), evaluated by
//!    `seccompctl --print-profile` for podman's capability set, is loaded
//!    by crun (which compiles it with libseccomp) and by
//!    `seccompctl --profile`: every line must be the same.
//! 2. `seccompctl --default` differs from podman only where [`EXPECTED`]
//!    says, and PROFILES.md ("Seen on the catalogue") lists the same.
//! 3. The catalogue with no filter at all, beside both, is printed.
//!
//! crun on this hybrid-cgroup host runs with `--cgroup-manager=disabled`
//! inside `unshare -m`, where /sys/fs/cgroup/unified is unmounted first
//! (shared/notes/measured-seccomp.md); the host's mounts are never touched.

use e2e::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

const PODMAN_PROFILE: &str = "/usr/share/containers/seccomp.json";
const PODMAN_CONF: &str = "/usr/share/containers/containers.conf";
/// The architectures podman writes into config.json for x86_64 (archMap).
const PODMAN_ARCHES: [&str; 3] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// Where `seccompctl --default` and podman's profile (under crun) give a
/// different line, as (call, ours, podman). Lines not listed must be the
/// same. The reasons are in PROFILES.md, "Seen on the catalogue", whose
/// table must list exactly these. Kernel-dependent: AF_ALG is EAFNOSUPPORT
/// and AF_VSOCK works on this kernel; the calls after 6.1 exist.
const EXPECTED: &[(&str, &str, &str)] = &[
    // Docker does not list keyctl, podman allows it.
    ("keyctl(bad-op)", "errno EPERM", "errno EOPNOTSUPP"),
    // Listed by neither: the default action, EPERM against ENOSYS.
    ("add_key", "errno EPERM", "errno ENOSYS"),
    ("request_key", "errno EPERM", "errno ENOSYS"),
    ("io_uring_setup(0)", "errno EPERM", "errno ENOSYS"),
    ("quotactl_fd(-1)", "errno EPERM", "errno ENOSYS"),
    ("_sysctl", "errno EPERM", "errno ENOSYS"),
    ("set_mempolicy_home_node", "errno EPERM", "errno ENOSYS"),
    ("lsm_list_modules", "errno EPERM", "errno ENOSYS"),
    (
        "personality(ADDR_NO_RANDOMIZE)",
        "errno EPERM",
        "errno ENOSYS",
    ),
    // Namespaces: Docker needs CAP_SYS_ADMIN; podman leaves it to the
    // kernel, which creates a user namespace without any capability.
    ("unshare(0)", "errno EPERM", "ret 0"),
    ("unshare(NEWUSER)", "errno EPERM", "ret 0"),
    ("setns(-1)", "errno EPERM", "errno EBADF"),
    ("clone(NEWUSER)", "errno EPERM", "ret"),
    ("clone3(NULL)", "errno ENOSYS", "errno EINVAL"),
    ("clone3(SIGCHLD)", "errno ENOSYS", "ret"),
    // Docker: CAP_SYS_NICE or CAP_SYS_PTRACE only; podman allows them.
    ("get_mempolicy", "errno EPERM", "ret 0"),
    ("set_mempolicy(DEFAULT)", "errno EPERM", "ret 0"),
    ("pidfd_getfd(-1)", "errno EPERM", "errno EBADF"),
    // podman refuses these, Docker allows them (newer than podman's file).
    ("vmsplice(-1)", "errno EBADF", "errno EPERM"),
    ("io_pgetevents", "errno EINVAL", "errno EPERM"),
    ("futex_waitv(NULL)", "errno EINVAL", "errno ENOSYS"),
    ("cachestat(-1)", "errno EBADF", "errno ENOSYS"),
    ("fchmodat2", "errno ENOENT", "errno ENOSYS"),
    ("mseal(0)", "ret 0", "errno ENOSYS"),
    ("i386:futex_waitv", "errno EINVAL", "errno ENOSYS"),
    // socket: Docker refuses AF_ALG and AF_VSOCK; podman refuses audit
    // netlink without CAP_AUDIT_WRITE; AF_PACKET needs CAP_NET_RAW, which
    // Docker's set has and podman's has not.
    ("socket(AF_ALG)", "errno EPERM", "errno EAFNOSUPPORT"),
    ("socket(AF_VSOCK)", "errno EPERM", "ret"),
    ("socket(AF_NETLINK,AUDIT)", "ret", "errno EINVAL"),
    ("socket(AF_PACKET)", "ret", "errno EPERM"),
    // The posture's own rules.
    ("ioctl(TIOCSTI)", "errno EPERM", "errno ENOTTY"),
    ("ioctl(TIOCSTI,high-bits)", "errno EPERM", "errno ENOTTY"),
    ("ioctl(TIOCLINUX)", "errno EPERM", "errno ENOTTY"),
    ("i386:socketcall(bad-ptr)", "errno EPERM", "errno EFAULT"),
];

/// One run of the catalogue: (call, outcome) in the catalogue's order.
type Lines = Vec<(String, String)>;

struct Runs {
    none: Lines,
    crun: Lines,
    podman: Lines,
    default: Lines,
}

/// The catalogue under every setup, once per test binary; None (after a
/// skip) when crun or podman's files are missing.
fn runs() -> Option<&'static Runs> {
    static RUNS: OnceLock<Option<Runs>> = OnceLock::new();
    RUNS.get_or_init(run_all).as_ref()
}

fn run_all() -> Option<Runs> {
    for (what, path) in [
        ("podman's profile", PODMAN_PROFILE),
        ("podman's containers.conf", PODMAN_CONF),
    ] {
        if !Path::new(path).exists() {
            skip(&format!(
                "{what} ({path}) is missing: install golang-github-containers-common"
            ));
            return None;
        }
    }
    if !have("crun") {
        skip("crun is not installed (apt-get install crun)");
        return None;
    }
    let caps = podman_caps();
    let caps_arg = caps.join(",");
    let oci = podman_oci_profile(&caps_arg);

    let dir = TempDir::new("seccomp-vs-crun");
    let root = dir.path("rootfs");
    small_rootfs(&root);
    compile_c("syscalls", &root.join("bin/syscalls"));
    std::fs::create_dir_all(root.join("tmp/x")).unwrap();
    // Inside the rootfs: seccompctl opens it after the pivot.
    std::fs::write(root.join("profile.json"), oci.to_string()).unwrap();

    let seccompctl = bin("seccompctl");
    let seccompctl = seccompctl.to_str().unwrap();
    let in_chain = |argv: &[&str]| catalogue(container(&["-fpnumi"], &root, &[], argv), "chain");
    let none = in_chain(&["/bin/syscalls"]);
    let crun = match run_crun(&dir, &root, &caps, &oci) {
        Ok(lines) => lines,
        Err(why) => {
            skip(&format!("crun cannot run here: {why}"));
            return None;
        }
    };
    let podman = in_chain(&[
        seccompctl,
        "--profile",
        "/profile.json",
        "--caps",
        &caps_arg,
        "--nnp",
        "--",
        "/bin/syscalls",
    ]);
    let default = in_chain(&[seccompctl, "--default", "--", "/bin/syscalls"]);

    for (what, run) in [
        ("crun", &crun),
        ("--profile", &podman),
        ("--default", &default),
    ] {
        assert_eq!(
            names(run),
            names(&none),
            "the catalogue under {what} printed other calls than with no filter"
        );
    }
    assert!(
        none.len() >= 60,
        "only {} calls in the catalogue",
        none.len()
    );
    Some(Runs {
        none,
        crun,
        podman,
        default,
    })
}

/// podman's `default_capabilities` from containers.conf, as CAP_ names.
fn podman_caps() -> Vec<String> {
    let conf = std::fs::read_to_string(PODMAN_CONF).unwrap();
    let mut lines = conf.lines().map(str::trim);
    lines
        .find(|l| l.starts_with("default_capabilities") && l.ends_with('['))
        .unwrap_or_else(|| panic!("no default_capabilities = [ in {PODMAN_CONF}"));
    let caps: Vec<String> = lines
        .take_while(|l| !l.starts_with(']'))
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim_end_matches(',').trim_matches('"'))
        .filter(|l| !l.is_empty())
        .map(|name| format!("CAP_{}", name.trim_start_matches("CAP_")))
        .collect();
    assert!(
        !caps.is_empty(),
        "default_capabilities is empty in {PODMAN_CONF}"
    );
    caps
}

/// podman's profile as the OCI object podman would put into config.json:
/// includes/excludes evaluated for `caps`, by seccompctl.
fn podman_oci_profile(caps: &str) -> Value {
    let out = run(&mut tool(
        As::Root,
        "seccompctl",
        &[
            "--profile",
            PODMAN_PROFILE,
            "--caps",
            caps,
            "--print-profile",
        ],
    ));
    assert_eq!(
        out.status, 0,
        "seccompctl cannot evaluate podman's profile: {}",
        out.stderr
    );
    let oci = out.json();
    assert_eq!(
        oci["architectures"],
        json!(PODMAN_ARCHES),
        "podman maps x86_64 to these three architectures"
    );
    oci
}

/// The catalogue under crun: a bundle from `crun spec` with the rootfs,
/// podman's capabilities and the OCI profile; the container and crun's
/// state go even when the test fails. Err when crun itself fails.
fn run_crun(dir: &TempDir, root: &Path, caps: &[String], oci: &Value) -> Result<Lines, String> {
    let bundle = dir.path("bundle");
    let state = dir.str("crun-state");
    std::fs::create_dir_all(&bundle).unwrap();
    let spec = Command::new("crun")
        .arg("spec")
        .current_dir(&bundle)
        .output()
        .expect("run crun spec");
    if !spec.status.success() {
        return Err(format!(
            "crun spec: {}",
            String::from_utf8_lossy(&spec.stderr)
        ));
    }
    let config_path = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    let caps = json!(caps);
    config["process"]["args"] = json!(["/bin/syscalls"]);
    config["process"]["terminal"] = json!(false);
    config["process"]["noNewPrivileges"] = json!(true);
    config["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps,
        "inheritable": [], "ambient": [],
    });
    config["root"] = json!({ "path": root, "readonly": false });
    let mounts = config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
    config["linux"]["namespaces"] = json!([
        { "type": "pid" }, { "type": "ipc" }, { "type": "uts" },
        { "type": "mount" }, { "type": "network" },
    ]);
    config["linux"]["seccomp"] = oci.clone();
    std::fs::write(&config_path, config.to_string()).unwrap();

    let id = format!("chain-e2e-seccomp-{}", std::process::id());
    let _delete = Cleanup(|| {
        // `crun run` removes the container when it ends; this is for a run
        // that did not end (killed at the time limit, or a failed start).
        let _ = Command::new("crun")
            .args(["--root", &state, "delete", "--force", &id])
            .output();
    });
    // crun refuses a hybrid host ("cgroups in hybrid mode not supported");
    // without the v2 mount, in a mount namespace of its own, it runs.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let script = if mount_points(&mountinfo)
        .iter()
        .any(|p| p == "/sys/fs/cgroup/unified")
    {
        r#"umount /sys/fs/cgroup/unified && exec "$@""#
    } else {
        r#"exec "$@""#
    };
    let bundle = bundle.to_string_lossy();
    let out = run(&mut command(
        As::Root,
        "unshare",
        &[
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            "crun",
            "--root",
            &state,
            "--cgroup-manager=disabled",
            "run",
            "-b",
            &bundle,
            &id,
        ],
    ));
    if out.status != 0 && out.stdout.is_empty() {
        return Err(format!("exit status {}: {}", out.status, out.stderr.trim()));
    }
    Ok(catalogue(out, "crun"))
}

/// The lines of one run, checked for a clean end.
fn catalogue(out: Out, what: &str) -> Lines {
    assert_eq!(
        out.status, 0,
        "the catalogue under {what} failed: stderr={} stdout={}",
        out.stderr, out.stdout
    );
    out.stdout
        .lines()
        .map(|l| {
            let (name, outcome) = l
                .split_once(' ')
                .unwrap_or_else(|| panic!("not NAME RESULT: {l:?}"));
            (name.to_string(), outcome.to_string())
        })
        .collect()
}

fn names(lines: &Lines) -> Vec<&str> {
    lines.iter().map(|(n, _)| n.as_str()).collect()
}

/// (call, a, b) for every line where two runs differ.
fn differences(a: &Lines, b: &Lines) -> BTreeSet<(String, String, String)> {
    a.iter()
        .zip(b)
        .filter(|((_, x), (_, y))| x != y)
        .map(|((n, x), (_, y))| (n.clone(), x.clone(), y.clone()))
        .collect()
}

fn expected() -> BTreeSet<(String, String, String)> {
    EXPECTED
        .iter()
        .map(|&(n, o, p)| (n.to_string(), o.to_string(), p.to_string()))
        .collect()
}

/// The first three columns of the table in PROFILES.md's section "Seen on
/// the catalogue", without the backticks.
fn profiles_md_table() -> BTreeSet<(String, String, String)> {
    let path = repo_dir().join("seccompctl/PROFILES.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (_, section) = text
        .split_once("\n## Seen on the catalogue\n")
        .unwrap_or_else(|| {
            panic!(
                "{} has no section \"## Seen on the catalogue\"",
                path.display()
            )
        });
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<String> = l
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            assert!(cells.len() >= 5, "a short row in PROFILES.md: {l}");
            (cells[1].clone(), cells[2].clone(), cells[3].clone())
        })
        .collect()
}

fn show(set: &BTreeSet<(String, String, String)>) -> String {
    set.iter()
        .map(|(n, a, b)| format!("\n  {n}: {a} / {b}"))
        .collect()
}

#[test]
fn seccompctl_and_crun_agree_on_podmans_profile() {
    let Some(runs) = runs() else { return };
    let differ = differences(&runs.crun, &runs.podman);
    assert!(
        differ.is_empty(),
        "seccompctl --profile and crun disagree on podman's profile (call: crun / seccompctl):{}",
        show(&differ)
    );
}

#[test]
fn the_default_posture_differs_from_podman_only_as_documented() {
    let Some(runs) = runs() else { return };
    let seen = differences(&runs.default, &runs.crun);
    let expected = expected();
    let unexpected: BTreeSet<_> = seen.difference(&expected).cloned().collect();
    let missing: BTreeSet<_> = expected.difference(&seen).cloned().collect();
    assert!(
        unexpected.is_empty() && missing.is_empty(),
        "--default against podman's profile (call: ours / podman)\nunexpected:{}\nexpected but not seen:{}",
        show(&unexpected),
        show(&missing)
    );
    let documented = profiles_md_table();
    assert!(
        documented == expected,
        "PROFILES.md \"Seen on the catalogue\" and EXPECTED differ: only in PROFILES.md:{}\nonly in EXPECTED:{}",
        show(&documented.difference(&expected).cloned().collect()),
        show(&expected.difference(&documented).cloned().collect())
    );
}

#[test]
fn what_each_filter_changes() {
    let Some(runs) = runs() else { return };
    let width = runs.none.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let (call, none, crun, ours) = ("call", "no filter", "podman (crun)", "podman (seccompctl)");
    println!("{call:width$}  {none:20}  {crun:20}  {ours:20}  seccompctl --default");
    for (i, (name, none)) in runs.none.iter().enumerate() {
        let cell = |run: &Lines| run[i].1.clone();
        let default = cell(&runs.default);
        let mark = if default != cell(&runs.crun) {
            " *"
        } else {
            ""
        };
        println!(
            "{name:width$}  {none:20}  {:20}  {:20}  {default}{mark}",
            cell(&runs.crun),
            cell(&runs.podman)
        );
    }
    println!("* --default differs from podman's profile");
}
