//! unshare-rs as a process: exit statuses, signals, what is left behind,
//! the fds the workload inherits, and the reports (--pid-file, --info-fd).

use e2e::*;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Stdio};
use std::time::Duration;

fn status_of(who: As, args: &[&str]) -> Out {
    run(&mut tool(who, "unshare-rs", args))
}

#[test]
fn exit_status_passes_through() {
    for who in BOTH {
        let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
        for extra in [&[][..], &["-f"], &["-fp"], &["-fp", "--init"]] {
            let args = [user, extra, &["--", "sh", "-c", "exit 7"]].concat();
            assert_eq!(status_of(who, &args).status, 7, "{who:?} {args:?}");
        }
        // Killed by SIGKILL: 128+9, from a process that is not PID 1 (PID 1
        // cannot be killed from inside its namespace; --init fixes that).
        for extra in [&["-f"][..], &["-fp", "--init"]] {
            let args = [user, extra, &["--", "sh", "-c", "kill -9 $$"]].concat();
            assert_eq!(status_of(who, &args).status, 137, "{who:?} {args:?}");
        }
    }
}

#[test]
fn exec_failures_are_126_and_127_and_change_nothing() {
    let missing = status_of(As::Root, &["-n", "--", "no-such-program-here"]);
    assert_eq!(missing.status, 127);
    assert!(
        missing
            .stderr
            .starts_with("unshare-rs: exec no-such-program-here: No such file or directory"),
        "{}",
        missing.stderr
    );
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);

    let dir = TempDir::new("noexec");
    let file = dir.str("not-executable");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    let denied = status_of(As::Root, &["-u", "--", &file]);
    assert_eq!(denied.status, 126);
    assert_eq!(
        denied.stderr.trim(),
        format!("unshare-rs: exec {file}: Permission denied")
    );

    // The program is looked up before anything is created: a persisted
    // namespace file is not even created.
    let persisted = dir.str("net");
    assert_eq!(
        status_of(
            As::Root,
            &[&format!("--net={persisted}"), "--", "no-such-program-here"]
        )
        .status,
        127
    );
    assert!(!std::path::Path::new(&persisted).exists());
}

#[test]
fn bad_options_are_125_and_named() {
    for (args, named) in [
        (&["--bogus", "true"][..], "invalid option '--bogus'"),
        (&["-q", "true"], "invalid option '-q'"),
        (
            &["-m", "--propagation", "sideways", "true"],
            "--propagation: 'sideways'",
        ),
        (
            &["--kill-child=NOSIG", "true"],
            "--kill-child: no signal NOSIG",
        ),
        (&["--setgroups", "deny", "true"], "add -U"),
        (&["--info-fd", "abc", "true"], "--info-fd: 'abc'"),
    ] {
        let out = status_of(As::Root, args);
        assert_eq!(out.status, 125, "{args:?}");
        assert!(
            out.stderr.starts_with("unshare-rs: ") && out.stderr.contains(named),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let help = status_of(As::Root, &["--help"]).ok();
    assert!(help.stdout.contains("forks even without -f"));
    assert!(
        status_of(As::Root, &["-V"])
            .ok()
            .stdout
            .starts_with("unshare-rs ")
    );
}

/// Starts `unshare-rs ARGS` in the background with a pid file and waits
/// until the container's process has exec'd `comm`. Returns the running
/// supervisor and the container's pid (seen from here).
fn start(who: As, dir: &TempDir, args: &[&str], comm: &str) -> (Child, i32, KillOnDrop) {
    let pid_file = dir.str("pid");
    let _ = std::fs::remove_file(&pid_file);
    let all = [&["--pid-file", &pid_file][..], args].concat();
    let child = tool(who, "unshare-rs", &all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pid = 0;
    let started = wait_until(Duration::from_secs(10), || {
        pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        pid > 0
            && std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
    });
    assert!(started, "the container did not start {comm}");
    (child, pid, KillOnDrop(pid))
}

/// The pids of every process in the PID namespace `ino`.
fn processes_in_pidns(ino: u64) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| alive(p) && ns_of_pid(p, "pid") == Some(ino))
        .collect()
}

fn send(pid: i32, sig: i32) {
    // SAFETY: kill(2) of a process this test started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

#[test]
fn term_of_the_supervisor_ends_a_pid_1_without_handler() {
    let dir = TempDir::new("term");
    for who in BOTH {
        let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
        let args = [
            user,
            &["-fp", "--", "sh", "-c", "sleep 1000 & exec sleep 1001"],
        ]
        .concat();
        let (child, pid, _guard) = start(who, &dir, &args, "sleep");
        let pidns = ns_of_pid(pid, "pid").unwrap();
        assert!(
            processes_in_pidns(pidns).len() >= 2,
            "the container's processes are not running"
        );
        send(child.id() as i32, libc::SIGTERM);
        let out = finish(child);
        assert_eq!(out.status, 143, "{who:?}: {}", out.stderr);
        assert!(
            wait_until(Duration::from_secs(5), || processes_in_pidns(pidns)
                .is_empty()),
            "{who:?}: processes left: {:?}",
            processes_in_pidns(pidns)
        );
    }
}

#[test]
fn kill_of_the_supervisor_leaves_nothing() {
    let dir = TempDir::new("kill");
    for who in BOTH {
        for extra in [&[][..], &["--init"]] {
            let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
            let args = [
                user,
                &["-fp"],
                extra,
                &["--", "sh", "-c", "sleep 1000 & exec sleep 1001"],
            ]
            .concat();
            let comm = if extra.is_empty() {
                "sleep"
            } else {
                "unshare-rs"
            };
            let (child, pid, _guard) = start(who, &dir, &args, comm);
            let pidns = ns_of_pid(pid, "pid").unwrap();
            assert!(wait_until(Duration::from_secs(5), || processes_in_pidns(
                pidns
            )
            .len()
                >= 2));
            send(child.id() as i32, libc::SIGKILL);
            assert_eq!(finish(child).status, 137);
            assert!(
                wait_until(Duration::from_secs(5), || processes_in_pidns(pidns)
                    .is_empty()),
                "{who:?} {args:?}: processes left: {:?}",
                processes_in_pidns(pidns)
            );
        }
    }
}

/// Whether /proc/PID/status says the process catches `sig`.
fn catches(pid: i32, sig: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let mask = s
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&mask, 16).ok()
        })
        .is_some_and(|m| m & (1 << (sig - 1)) != 0)
}

#[test]
fn signals_are_forwarded_to_the_workload() {
    let dir = TempDir::new("forward");
    for who in BOTH {
        for (name, sig) in [
            ("TERM", libc::SIGTERM),
            ("INT", libc::SIGINT),
            ("HUP", libc::SIGHUP),
            ("QUIT", libc::SIGQUIT),
            ("USR1", libc::SIGUSR1),
            ("USR2", libc::SIGUSR2),
        ] {
            let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
            let script = format!(
                "trap 'exit {}' {name}; while :; do sleep 0.05; done",
                100 + sig
            );
            let args = [user, &["-fp", "--", "sh", "-c", &script]].concat();
            let (child, pid, _guard) = start(who, &dir, &args, "sh");
            assert!(
                wait_until(Duration::from_secs(5), || catches(pid, sig)),
                "the trap was not installed"
            );
            send(child.id() as i32, sig);
            assert_eq!(
                finish(child).status,
                100 + sig,
                "{who:?}: SIG{name} did not reach the workload's handler"
            );
        }
    }
}

/// The states of the children of `pid` (from every /proc/N/stat).
fn child_states(pid: i32) -> Vec<char> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter_map(|stat| {
            let (_, rest) = stat.rsplit_once(") ")?;
            let mut fields = rest.split(' ');
            let state = fields.next()?.chars().next()?;
            let ppid: i32 = fields.next()?.parse().ok()?;
            (ppid == pid).then_some(state)
        })
        .collect()
}

#[test]
fn init_reaps_orphans_and_forwards_signals() {
    let dir = TempDir::new("init");
    // The subshell exits at once and its `sleep 0.1` is re-parented to PID 1.
    // Without --init, PID 1 is the workload's `sleep 1000`, which never
    // waits: a zombie stays. With --init, PID 1 reaps it.
    let orphan = ["sh", "-c", "(sleep 0.1 &); exec sleep 1000"];
    for (init, zombie_expected) in [(false, true), (true, false)] {
        let args = [
            if init {
                &["-fp", "--init", "--"][..]
            } else {
                &["-fp", "--"]
            },
            &orphan,
        ]
        .concat();
        let (child, pid, _guard) = start(
            As::Root,
            &dir,
            &args,
            if init { "unshare-rs" } else { "sleep" },
        );
        // Let the orphan be made, exit, and be reaped (or not).
        std::thread::sleep(Duration::from_millis(500));
        // PID 1's children: the zombie alone, or (under --init) the workload alone.
        let expected = if zombie_expected {
            vec!['Z']
        } else {
            vec!['S']
        };
        let settled = wait_until(Duration::from_secs(3), || child_states(pid) == expected);
        assert!(
            settled,
            "init={init}: children of PID 1 are {:?}",
            child_states(pid)
        );
        send(child.id() as i32, libc::SIGKILL);
        finish(child);
    }

    // The workload is not PID 1 under --init, so TERM has its default action.
    for who in BOTH {
        let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
        let args = [user, &["-fp", "--init", "--", "sleep", "1000"]].concat();
        let (child, _pid, _guard) = start(who, &dir, &args, "unshare-rs");
        std::thread::sleep(Duration::from_millis(100));
        send(child.id() as i32, libc::SIGTERM);
        assert_eq!(finish(child).status, 143, "{who:?}");
    }
}

#[test]
fn workload_inherits_only_the_callers_fds() {
    for who in BOTH {
        let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
        for extra in [&["-u"][..], &["-fpm", "--mount-proc"], &["-fp", "--init"]] {
            let args = [user, extra].concat();
            let inside = probe_under(who, &args);
            let fds: Vec<&String> = inside["fds"].as_object().unwrap().keys().collect();
            assert_eq!(fds, ["0", "1", "2"], "{who:?} {args:?}: {}", inside["fds"]);
            assert!(
                inside["env"].as_object().unwrap().is_empty(),
                "CHAIN_* leaked: {}",
                inside["env"]
            );
        }
    }
    // An fd the caller passes on purpose reaches the workload.
    let probe = probe();
    let mut cmd = command_passing(
        As::Root,
        bin("unshare-rs"),
        &["-fp", "--", probe.to_str().unwrap()],
        &[(2, 5)],
    );
    let inside = run(&mut cmd).ok().json();
    let fds: Vec<&String> = inside["fds"].as_object().unwrap().keys().collect();
    assert_eq!(fds, ["0", "1", "2", "5"]);
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds, owned below.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds from pipe2.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

#[test]
fn pid_file_and_info_fd_find_the_container() {
    let dir = TempDir::new("info");
    for who in BOTH {
        let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
        let pid_file = dir.str(&format!("pid-{who:?}"));
        let (read_end, write_end) = pipe();
        let raw_write = write_end.as_raw_fd();
        let args = [
            user,
            &[
                "-fpu",
                "--pid-file",
                &pid_file,
                "--info-fd",
                "7",
                "--",
                "sleep",
                "1000",
            ],
        ]
        .concat();
        let unshare_rs = bin("unshare-rs");
        let mut cmd = command_passing(who, &unshare_rs, &args, &[(raw_write, 7)]);
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _supervisor = KillOnDrop(child.id() as i32);
        drop(write_end);
        // The info fd is closed by unshare-rs after writing, and the workload
        // never had it: reading to the end returns once the JSON is there.
        let mut text = String::new();
        std::fs::File::from(read_end)
            .read_to_string(&mut text)
            .unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let _container = KillOnDrop(pid);
        assert_eq!(info["child-pid"], pid, "{who:?}");
        assert!(wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        }));
        for kind in ["pid", "uts", "net", "mnt", "user"] {
            assert_eq!(
                info[format!("{kind}-namespace")].as_u64(),
                ns_of_pid(pid, kind),
                "{who:?} {kind}: {info}"
            );
        }
        assert_ne!(
            ns_of_pid(pid, "pid"),
            ns_of_pid(std::process::id() as i32, "pid")
        );
        send(child.id() as i32, libc::SIGTERM);
        assert_eq!(finish(child).status, 143);
    }
}

#[test]
fn init_hands_signals_to_a_workload_that_traps_them() {
    // Under --init, PID 1 sleeps in sigwaitinfo, which hides the waited
    // signals from SigBlk; the supervisor must still see that it handles
    // them, forward the TERM, and let the workload's trap decide (42).
    let dir = TempDir::new("init-trap");
    for who in BOTH {
        let user: &[&str] = if who == As::User { &["-U"] } else { &[] };
        let script = "trap 'exit 42' TERM; while :; do sleep 0.05; done";
        let args = [user, &["-fp", "--init", "--", "sh", "-c", script]].concat();
        let (child, init, _guard) = start(who, &dir, &args, "unshare-rs");
        let mut shell = 0;
        let ready = wait_until(Duration::from_secs(5), || {
            shell = child_pids(init).first().copied().unwrap_or(0);
            shell > 0 && catches(shell, libc::SIGTERM)
        });
        assert!(ready, "the workload did not install its trap");
        // Let PID 1 settle into sigwaitinfo.
        std::thread::sleep(Duration::from_millis(50));
        send(child.id() as i32, libc::SIGTERM);
        assert_eq!(
            finish(child).status,
            42,
            "{who:?}: the workload's trap did not decide"
        );
    }
}

fn child_pids(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}
