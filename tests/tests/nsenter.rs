//! nsenter-rs: docker exec for the containers the other tools start.

use e2e::*;
use std::process::Stdio;

/// A container `unshare-rs ARGS -- pivot ROOTFS -- sleep 1000` run by `who`
/// (behind `prefix`, e.g. mapids), with its supervisor and the pid of its
/// process; both are killed when dropped.
fn start_container(who: As, prefix: &[&str], unshare: &[&str]) -> Running {
    // Tests run in parallel in one process: each container its own dir.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = TempDir::new(&format!("nsenter-{n}"));
    let pid_file = dir.str("pid");
    let (u, p, root) = (bin("unshare-rs"), bin("pivot"), rootfs());
    let mut args: Vec<&str> = prefix.to_vec();
    args.push(u.to_str().unwrap());
    args.extend(["--pid-file", &pid_file]);
    args.extend_from_slice(unshare);
    args.extend([
        "--",
        p.to_str().unwrap(),
        root.to_str().unwrap(),
        "--",
        "/bin/sleep",
        "1000",
    ]);
    let supervisor = command(who, args[0], &args[1..])
        .env("FOO", "from-the-container")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running::wait_for_sleep(supervisor, &pid_file, dir)
}

fn nsenter(who: As, args: &[&str]) -> Out {
    run(&mut tool(who, "nsenter-rs", args))
}

#[test]
fn exec_into_a_running_container() {
    let c = start_container(As::Root, &[], &["-fpnumi", "--hostname", "box"]);
    let p = c.pid.to_string();
    let out = nsenter(
        As::Root,
        &[
            "-t",
            &p,
            "-a",
            "--",
            "/bin/sh",
            "-c",
            "hostname; ps -o pid,comm; ls /",
        ],
    )
    .ok();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(lines[0], "box");
    // ps: a header, the container's sleep as PID 1, our sh, ps itself.
    assert_eq!(lines[2], "1 sleep", "{}", out.stdout);
    assert!(
        lines.contains(&"probe"),
        "ls / is not the rootfs: {}",
        out.stdout
    );
    // Every namespace is the container's.
    let inside = nsenter(As::Root, &["-t", &p, "-a", "--", "/probe"])
        .ok()
        .json();
    for kind in ["mnt", "uts", "ipc", "net", "pid", "cgroup", "user"] {
        assert_eq!(Some(ns(&inside, kind)), ns_of_pid(c.pid, kind), "{kind}");
    }
    assert_eq!(inside["root"], "/");
    // Exit status passes through.
    assert_eq!(
        nsenter(As::Root, &["-t", &p, "-a", "--", "/bin/sh", "-c", "exit 7"]).status,
        7
    );
}

#[test]
fn the_supervisor_is_followed_to_its_child() {
    let c = start_container(As::Root, &[], &["-fpnumi", "--hostname", "followed"]);
    let supervisor = c.supervisor_pid().to_string();
    let out = nsenter(
        As::Root,
        &[
            "-v",
            "-t",
            &supervisor,
            "-a",
            "--",
            "/bin/sh",
            "-c",
            "hostname; ps -o pid= | head -1",
        ],
    )
    .ok();
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["followed", "1"]
    );
    assert!(
        out.stderr.contains(&format!("joining its child {}", c.pid)),
        "{}",
        out.stderr
    );
}

#[test]
fn the_articles_pid_namespace_example() {
    let c = start_container(As::Root, &[], &["-fpnumi"]);
    let pidns = format!("--pid=/proc/{}/ns/pid", c.pid);
    let u = bin("unshare-rs");
    let out = nsenter(
        As::Root,
        &[
            &pidns,
            "--",
            u.to_str().unwrap(),
            "--mount-proc",
            "--",
            "ps",
            "-e",
            "-o",
            "pid=,comm=",
        ],
    )
    .ok();
    let first = out
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert_eq!(first, ["1", "sleep"], "{}", out.stdout);
}

#[test]
fn the_owner_of_a_rootless_container_enters_it() {
    test_user();
    let m = bin("mapids");
    let c = start_container(
        As::User,
        &[m.to_str().unwrap(), "--auto", "--"],
        &["-Ufpnmui"],
    );
    let p = c.pid.to_string();
    let inside = nsenter(As::User, &["-t", &p, "-a", "--", "/probe"])
        .ok()
        .json();
    assert_eq!(inside["uid"], serde_json::json!([0, 0, 0, 0]));
    for kind in ["user", "mnt", "pid", "net"] {
        assert_eq!(Some(ns(&inside, kind)), ns_of_pid(c.pid, kind), "{kind}");
    }
    // util-linux, for comparison, stumbles on the cgroup namespace it
    // shares with the user (it does not skip namespaces that are the same).
    if have("nsenter") {
        let ul = run(&mut command(
            As::User,
            "nsenter",
            &["-t", &p, "-a", "/bin/true"],
        ));
        println!(
            "util-linux nsenter -a as the owner: status {}, {}",
            ul.status,
            ul.stderr.trim()
        );
    }
}

#[test]
fn refusals_are_125_and_named() {
    let c = start_container(As::Root, &[], &["-fpnumi"]);
    let p = c.pid.to_string();
    // Another user's container.
    let out = nsenter(As::User, &["-t", &p, "-a", "--", "/bin/true"]);
    assert_eq!(out.status, 125, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("nsenter-rs: ") && out.stderr.contains("Permission denied"),
        "{}",
        out.stderr
    );
    // A vanished target.
    let gone = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid.to_string()
    };
    let out = nsenter(As::Root, &["-t", &gone, "-a", "--", "/bin/true"]);
    assert_eq!(out.status, 125);
    assert!(
        out.stderr
            .contains("No such process (no such process: has the container ended?)"),
        "{}",
        out.stderr
    );
    // A file that is not a namespace.
    let out = nsenter(As::Root, &["--net=/etc/hostname", "--", "/bin/true"]);
    assert_eq!(out.status, 125);
    assert!(
        out.stderr
            .contains("setns net namespace: Invalid argument (not a net namespace"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn environment_and_cgroup_of_the_target() {
    let c = start_container(As::Root, &[], &["-fpnumi"]);
    let p = c.pid.to_string();
    let out = nsenter(
        As::Root,
        &["-t", &p, "-a", "--env", "--", "/bin/sh", "-c", "echo $FOO"],
    )
    .ok();
    assert_eq!(out.stdout.trim(), "from-the-container");
    let out = nsenter(
        As::Root,
        &[
            "-t",
            &p,
            "-a",
            "--join-cgroup",
            "--",
            "/bin/cat",
            "/proc/self/cgroup",
        ],
    )
    .ok();
    let theirs = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid)).unwrap();
    assert_eq!(out.stdout, theirs);
}

#[test]
fn agrees_with_util_linux_nsenter() {
    if !have("nsenter") {
        return skip("util-linux nsenter is not installed");
    }
    let c = start_container(As::Root, &[], &["-fpnumi", "--hostname", "same"]);
    let p = c.pid.to_string();
    let ours = nsenter(As::Root, &["-t", &p, "-a", "--", "/probe"])
        .ok()
        .json();
    let theirs = run(&mut command(
        As::Root,
        "nsenter",
        &["-t", &p, "-a", "-r", "-w", "/probe"],
    ))
    .ok()
    .json();
    for key in ["uid", "gid", "hostname", "root", "cwd", "net_devices"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    // The same processes: the container's PID 1 and the probe (whose pid
    // number differs, as pids are handed out in turn).
    let count = |v: &serde_json::Value| v["pids"].as_array().map(Vec::len);
    assert_eq!(count(&ours), count(&theirs));
    assert_eq!(ours["pids"][0], 1);
    for kind in ["mnt", "uts", "ipc", "net", "pid", "cgroup", "user", "time"] {
        assert_eq!(ns(&ours, kind), ns(&theirs, kind), "{kind}");
    }
}

#[test]
fn inherited_fds_that_lead_out_never_enter_the_container() {
    // runc exec's CVE-2024-21626: a directory fd of the host, passed into
    // the container, is a way out through /proc/self/fd/N; a namespace fd
    // or a pidfd one through setns.
    use std::os::fd::AsRawFd;
    let c = start_container(As::Root, &[], &["-fpnumi"]);
    let p = c.pid.to_string();
    let open = |path: &str| open_high(std::path::Path::new(path));
    let (host_root, host_mnt, plain) =
        (open("/"), open("/proc/self/ns/mnt"), open("/etc/hostname"));
    let pidfd = own_pidfd();
    let pass = [
        (host_root.as_raw_fd(), 5),
        (host_mnt.as_raw_fd(), 6),
        (plain.as_raw_fd(), 7),
        (pidfd.as_raw_fd(), 8),
    ];
    let nsenter = bin("nsenter-rs");
    let probe = |args: &[&str], pass: &[(i32, i32)]| {
        run(&mut command_passing(As::Root, &nsenter, args, pass))
    };
    let out = probe(&["-v", "-t", &p, "-a", "--", "/probe"], &pass).ok();
    let inside: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut fds: Vec<&String> = inside["fds"].as_object().unwrap().keys().collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2", "7"], "{inside}");
    for line in [
        "inherited fd 5 is the directory /: closed",
        "inherited fd 6 is the namespace mnt:[",
        "inherited fd 8 is the pidfd",
    ] {
        assert!(out.stderr.contains(line), "{line}: {}", out.stderr);
    }
    // Joining only the network namespace changes no root: nothing is
    // closed, the caller's fds are its own business there.
    let out = probe(&["-t", &p, "-n", "--", "/bin/ls", "/proc/self/fd/"], &pass).ok();
    let listed: Vec<&str> = out.stdout.split_whitespace().collect();
    assert!(listed.contains(&"5") && listed.contains(&"8"), "{listed:?}");
    // A directory on stdin is refused before anything is joined.
    let out = probe(
        &["-t", &p, "-a", "--", "/bin/true"],
        &[(host_root.as_raw_fd(), 0)],
    );
    assert_eq!(out.status, 125, "{out:?}");
    assert!(
        out.stderr
            .starts_with("nsenter-rs: fd 0 (stdin) is the directory /:")
            && out.stderr.lines().count() == 1,
        "{out:?}"
    );
}
