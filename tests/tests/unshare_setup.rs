//! unshare-rs setup steps seen from outside: persisted namespaces, the
//! outside-step protocol, mount propagation, error hints, tracing, and the
//! default program.

use e2e::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

fn unshare_rs() -> String {
    bin("unshare-rs").to_string_lossy().into_owned()
}

/// Runs `nsenter ARGS` (util-linux) and returns its stdout.
fn nsenter(args: &[&str]) -> String {
    let out = Command::new("nsenter").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "nsenter {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

#[test]
fn persisted_namespaces_outlive_the_process_and_work_with_nsenter() {
    if !have("nsenter") {
        return skip("util-linux nsenter is not installed");
    }
    let dir = TempDir::new("persist");
    let [net, uts, ipc, pid, user] = ["net", "uts", "ipc", "pid", "user"].map(|k| dir.str(k));
    let args = [
        &format!("--net={net}")[..],
        &format!("--uts={uts}"),
        &format!("--ipc={ipc}"),
        &format!("--pid={pid}"),
        &format!("--user={user}"),
        "--hostname",
        "kept",
        "-f",
        "--",
        "sh",
        "-c",
        // The files are bound before the workload starts.
        &format!("grep -c ' {net} ' /proc/self/mountinfo"),
    ];
    let out = run(&mut tool(As::Root, "unshare-rs", &args)).ok();
    assert_eq!(
        out.stdout.trim(),
        "1",
        "the net file was not bound when the workload ran"
    );
    let _unbind = Cleanup(|| {
        for f in [&net, &uts, &ipc, &pid, &user] {
            let _ = Command::new("umount").arg(f).status();
        }
    });
    for f in [&net, &uts, &ipc, &pid, &user] {
        assert!(mounted(f), "{f} is not bound after unshare-rs ended");
    }
    assert_eq!(
        nsenter(&[&format!("--uts={uts}"), "hostname"]).trim(),
        "kept"
    );
    let links = nsenter(&[&format!("--net={net}"), "ip", "-o", "link"]);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo:"));
    // Each file is the namespace the workload had: compare with a fresh
    // process entered through the file.
    // (nsenter must keep its credentials in a user namespace without maps.)
    for (flag, file, kind) in [("--ipc", &ipc, "ipc"), ("--user", &user, "user")] {
        let seen = nsenter(&[
            &format!("{flag}={file}"),
            "--preserve-credentials",
            "--",
            "readlink",
            &format!("/proc/self/ns/{kind}"),
        ]);
        let ino = std::fs::metadata(file).unwrap().ino();
        assert_eq!(seen.trim(), format!("{kind}:[{ino}]"));
    }
    assert_ne!(
        std::fs::metadata(&pid).unwrap().ino(),
        ns_of_pid(std::process::id() as i32, "pid").unwrap()
    );
}

#[test]
fn persisted_mount_namespace_needs_a_private_parent() {
    let dir = TempDir::new("persist-mnt");
    let private = dir.str("private");
    std::fs::create_dir(&private).unwrap();
    // A mount namespace file must sit on a private mount: make one.
    for args in [
        &["--bind", &private, &private][..],
        &["--make-private", &private],
    ] {
        assert!(Command::new("mount").args(args).status().unwrap().success());
    }
    let file = format!("{private}/mnt");
    let out = run(&mut tool(
        As::Root,
        "unshare-rs",
        &[&format!("--mount={file}"), "true"],
    ))
    .ok();
    assert!(out.stderr.is_empty());
    let _unbind = Cleanup(|| {
        let _ = Command::new("umount").arg(&file).status();
    });
    assert!(mounted(&file));
    let seen = nsenter(&[&format!("--mount={file}"), "readlink", "/proc/self/ns/mnt"]);
    assert_eq!(
        seen.trim(),
        format!("mnt:[{}]", std::fs::metadata(&file).unwrap().ino())
    );
}

#[test]
fn failed_persistence_leaves_nothing() {
    let dir = TempDir::new("persist-fail");
    let uts = dir.str("uts");
    // The uts file is bound first, then the net file cannot be: both undone.
    let out = run(&mut tool(
        As::Root,
        "unshare-rs",
        &[
            &format!("--uts={uts}"),
            "--net=/nonexistent/dir/net",
            "-f",
            "true",
        ],
    ));
    assert_eq!(out.status, 125);
    assert_eq!(
        out.stderr.trim(),
        "unshare-rs: create /nonexistent/dir/net (--net=FILE): No such file or directory"
    );
    assert!(
        !mounted(&uts) && !Path::new(&uts).exists(),
        "the uts file was left behind"
    );

    // As the test user the bind itself is refused: the error says why.
    let out = run(&mut tool(
        As::User,
        "unshare-rs",
        &["-U", &format!("--uts={uts}"), "true"],
    ));
    assert_eq!(out.status, 125);
    assert!(
        out.stderr
            .contains("Operation not permitted (binding a namespace file needs CAP_SYS_ADMIN"),
        "{}",
        out.stderr
    );
    assert!(!mounted(&uts) && !Path::new(&uts).exists());
}

#[test]
fn outside_step_helpers_act_on_the_new_namespaces() {
    let dir = TempDir::new("helper");
    for who in BOTH {
        let report = dir.str(&format!("report-{who:?}"));
        let probe = probe();
        let args = [
            &report[..],
            "--",
            &unshare_rs(),
            "-U",
            "-n",
            "--",
            probe.to_str().unwrap(),
        ];
        let inside = run(&mut tool(who, "test-helper", &args)).ok().json();
        // The helper, outside, saw the user and net namespaces the workload has.
        let text = std::fs::read_to_string(&report).unwrap();
        assert_eq!(
            text,
            format!(
                "pid={} user={} net={}\n",
                text.split(['=', ' ']).nth(1).unwrap(),
                ns(&inside, "user"),
                ns(&inside, "net")
            )
        );
        // Nothing of the protocol reaches the workload.
        assert!(
            inside["env"].as_object().unwrap().is_empty(),
            "{}",
            inside["env"]
        );
        let fds: Vec<&String> = inside["fds"].as_object().unwrap().keys().collect();
        assert_eq!(fds, ["0", "1", "2"]);
    }
}

#[test]
fn a_failing_helper_stops_the_chain_with_its_message() {
    let dir = TempDir::new("helper-fail");
    let marker = dir.str("workload-ran");
    let out = run(&mut tool(
        As::Root,
        "test-helper",
        &[
            "--fail",
            "cannot map 1000",
            &dir.str("report"),
            "--",
            &unshare_rs(),
            "-U",
            "--",
            "touch",
            &marker,
        ],
    ));
    assert_eq!(out.status, 125);
    assert_eq!(
        out.stderr.trim(),
        "unshare-rs: test-helper: cannot map 1000"
    );
    assert!(
        !Path::new(&marker).exists(),
        "the workload ran after its helper failed"
    );
}

#[test]
fn a_helper_without_server_exits_quietly() {
    let dir = TempDir::new("helper-alone");
    let report = dir.str("report");
    // No unshare-rs in the chain: the helper sees its socket close when the
    // chain ends, writes nothing and exits.
    let out = run(&mut tool(
        As::Root,
        "test-helper",
        &[&report, "--", "sh", "-c", "echo $CHAIN_SYNC_FDS"],
    ))
    .ok();
    let entry = out.stdout.trim();
    let helper: i32 = entry
        .split_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("{entry:?}"));
    assert!(
        wait_until(std::time::Duration::from_secs(5), || !alive(helper)),
        "helper {helper} still runs"
    );
    assert!(!Path::new(&report).exists());
}

#[test]
fn a_helper_whose_tool_fails_to_exec_exits_quietly() {
    // The helper shares the tool's memory until the tool execs; an exec
    // that fails (a file the kernel cannot run) ends the tool instead, and
    // the helper, woken by that exit, finds nobody and goes.
    let dir = TempDir::new("helper-noexec");
    let report = dir.str("report");
    let bogus = dir.path("not-a-program");
    std::fs::write(&bogus, b"\x00\x01 no format the kernel knows").unwrap();
    std::fs::set_permissions(&bogus, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bogus = bogus.to_string_lossy().into_owned();
    let out = run(&mut tool(As::Root, "test-helper", &[&report, "--", &bogus]));
    assert_eq!(out.status, 126, "{out:?}");
    assert!(out.stderr.starts_with("test-helper: "), "{out:?}");
    // The helper's command line is the tool's (same memory): none is left.
    let left = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(report.as_str()))
            .count()
    };
    assert!(
        wait_until(std::time::Duration::from_secs(5), || left() == 0),
        "a helper of test-helper still runs"
    );
    assert!(!Path::new(&report).exists());
}

/// Runs `script` inside a util-linux mount namespace whose / is private,
/// so the host's mounts are never touched; returns its stdout.
fn in_scratch_mount_ns(dir: &TempDir, script: &str) -> String {
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-ec", script])
        .env("D", &dir.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn propagation_modes_decide_what_leaks_out() {
    let dir = TempDir::new("propagation");
    let u = unshare_rs();
    // D is a shared mount in the scratch namespace; the inner mount namespace
    // of unshare-rs mounts a tmpfs below it; does it appear outside?
    let leaks = |mode: &str| {
        let opt = if mode.is_empty() {
            String::new()
        } else {
            format!("--propagation {mode}")
        };
        let script = format!(
            "mkdir -p $D/shared && mount --bind $D/shared $D/shared && mount --make-shared $D/shared && mkdir -p $D/shared/sub
             {u} -m {opt} -- mount -t tmpfs inner $D/shared/sub
             grep -c \" $D/shared/sub \" /proc/self/mountinfo || true"
        );
        in_scratch_mount_ns(&dir, &script).trim() == "1"
    };
    assert!(!leaks(""), "the default (private) let a mount out");
    assert!(!leaks("private"));
    assert!(!leaks("slave"));
    assert!(leaks("shared"), "shared kept the mount inside");
    assert!(
        leaks("unchanged"),
        "unchanged did not keep the shared mount shared"
    );
    // slave: / of the new namespace receives from its master.
    let script = format!(
        "mount --make-rshared / && {u} -m --propagation slave -- grep ' / / ' /proc/self/mountinfo"
    );
    assert!(in_scratch_mount_ns(&dir, &script).contains("master:"));
}

#[test]
fn errors_name_the_cause() {
    let u = unshare_rs();
    // An unprivileged user without -U.
    let out = run(&mut tool(As::User, "unshare-rs", &["-n", "true"]));
    assert_eq!(out.status, 125);
    assert_eq!(
        out.stderr.trim(),
        "unshare-rs: unshare CLONE_NEWNET: Operation not permitted (creating these namespaces needs CAP_SYS_ADMIN: run as root, or add -U (--user) so that a new user namespace grants it)"
    );
    // A second PID namespace from the same process (util-linux without -f).
    let out = run(&mut command(As::Root, "unshare", &["-p", &u, "-p", "true"]));
    assert_eq!(out.status, 125);
    assert!(
        out.stderr
            .contains("Invalid argument (this process already created a pid namespace"),
        "{}",
        out.stderr
    );
    // A namespace limit: set to 0 inside a user namespace of our own, so the
    // host's limits are untouched.
    let script = format!("echo 0 > /proc/sys/user/max_net_namespaces && exec {u} -n true");
    let out = run(&mut command(
        As::Root,
        "unshare",
        &["-Ur", "sh", "-c", &script],
    ));
    assert_eq!(out.status, 125);
    assert!(
        out.stderr.contains(
            "No space left on device (a namespace limit is reached: user.max_net_namespaces=0"
        ),
        "{}",
        out.stderr
    );
    // A chrooted process cannot create a user namespace.
    let dir = TempDir::new("chroot");
    let script = format!("mount --rbind / $D && exec chroot $D {u} -U true");
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("D", &dir.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    let refused = "Operation not permitted (user namespaces are refused: check kernel.unprivileged_userns_clone";
    assert!(stderr.contains(refused), "{stderr}");
    for setting in [
        "user.max_user_namespaces=",
        "kernel.apparmor_restrict_unprivileged_userns",
    ] {
        assert!(stderr.contains(setting), "{stderr}");
    }
    assert!(stderr.contains("chrooted"), "{stderr}");
}

#[test]
fn tracing_shows_each_step() {
    for enable in [&["-v"][..], &[]] {
        let mut cmd = tool(
            As::Root,
            "unshare-rs",
            &[enable, &["-u", "--hostname", "traced", "true"]].concat(),
        );
        if enable.is_empty() {
            cmd.env("CHAIN_TRACE", "1");
        }
        let out = run(&mut cmd).ok();
        let lines: Vec<&str> = out.stderr.lines().collect();
        let step = |what: &str| {
            lines
                .iter()
                .any(|l| l.starts_with("unshare-rs[") && l.contains(" ms ") && l.contains(what))
        };
        assert!(step("unshare CLONE_NEWUTS = ok ("), "{}", out.stderr);
        assert!(step("sethostname traced = ok ("), "{}", out.stderr);
        assert!(step("# execve "), "{}", out.stderr);
    }
    let quiet = run(&mut tool(As::Root, "unshare-rs", &["-u", "true"])).ok();
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

#[test]
fn no_program_runs_the_shell() {
    let probe = probe();
    let out =
        run(tool(As::Root, "unshare-rs", &["-u", "--hostname", "shelled"]).env("SHELL", &probe))
            .ok();
    assert_eq!(out.json()["hostname"], "shelled");
    // Without $SHELL: /bin/sh (which reads the empty stdin and exits 0).
    let out = run(tool(As::Root, "unshare-rs", &["-v", "-u"]).env_remove("SHELL")).ok();
    assert!(out.stderr.contains("execve /bin/sh "), "{}", out.stderr);
}
