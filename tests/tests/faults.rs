//! A kill at every step (issue 13): each tool of each chain form is killed
//! with SIGKILL just before each of its kernel steps in turn (CHAIN_FAULT,
//! chain/src/fault.rs), the tool itself or its parent, and after every run
//! nothing the run made may be left: no process, no mount in the test's
//! mount namespace, no persisted namespace file, no cgroup, no veth. Also:
//! a tool paused at each step while its group or target namespace is
//! removed under it, and a helper that never answers.
//!
//! The network part runs in a throwaway "host" network namespace; cgroups
//! are made below the test's own cgroup; the rootless form runs as the test
//! user.

use e2e::host::{HostNetns, cgroups_below};
use e2e::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// How long the kernel and orphaned steps may take to finish and clean up
/// after a kill (network namespaces go through a work queue).
const SETTLE: Duration = Duration::from_secs(10);

/// The most steps any one tool takes in these chains (a bound, so that a
/// fault that never fires cannot loop the test forever).
const MAX_STEPS: u32 = 400;

/// Marks every process of a run: it is in the environment of each tool
/// and of the workload (the chain passes the environment on), so a
/// process left by a run is found by it whatever its parent became.
const MARK_VAR: &str = "FAULTS_TEST_RUN";

struct Form {
    name: &'static str,
    who: As,
    /// The tools of the chain that the faults go to.
    tools: &'static [&'static str],
    /// The chain's argv (the program first).
    argv: Vec<String>,
}

fn marked_processes(mark: &str) -> Vec<String> {
    e2e::host::marked_processes(MARK_VAR, mark)
}

/// What the host looks like to the test: a run may add nothing to it.
/// (Only additions count: other tests' groups and mounts may come and go
/// meanwhile.)
#[derive(Debug)]
struct HostState {
    mounts: Vec<String>,
    run_netns: BTreeSet<String>,
    cgroups: BTreeSet<PathBuf>,
    links: Vec<String>,
}

impl HostState {
    fn adds_to(&self, before: &HostState) -> bool {
        self.adds_besides_cgroups(before) || !self.cgroups.is_subset(&before.cgroups)
    }

    fn adds_besides_cgroups(&self, before: &HostState) -> bool {
        self.mounts.iter().any(|m| !before.mounts.contains(m))
            || !self.run_netns.is_subset(&before.run_netns)
            || self.links.iter().any(|l| !before.links.contains(l))
    }
}

fn host_state(net: Option<&HostNetns>) -> HostState {
    HostState {
        mounts: mount_points(&std::fs::read_to_string("/proc/self/mountinfo").unwrap()),
        run_netns: std::fs::read_dir("/run/netns")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        cgroups: cgroups_below(),
        links: net.map(HostNetns::links).unwrap_or_default(),
    }
}

/// Runs `form` once with `fault` (None: no fault) and returns whether the
/// fault fired; panics, naming the run, if anything is left afterwards.
fn run_once(
    form: &Form,
    fault: Option<&str>,
    mark: &str,
    net: Option<&HostNetns>,
    before: &HostState,
) -> bool {
    // The chain runs as a child of a shell, as when a user types it: a
    // fault to the first tool's parent kills that shell, not the test.
    let mut argv: Vec<&str> = vec!["/bin/sh", "-c", "\"$@\"; exit $?", "sh"];
    argv.extend(form.argv.iter().map(String::as_str));
    let mut cmd = match net {
        Some(net) => net.cmd(&argv),
        None => command(form.who, argv[0], &argv[1..]),
    };
    cmd.env(MARK_VAR, mark);
    if let Some(fault) = fault {
        cmd.env("CHAIN_FAULT", fault);
    }
    if std::env::var_os("FAULTS_VERBOSE").is_some() {
        eprintln!("faults: {} {}", form.name, fault.unwrap_or("(none)"));
    }
    let out = run(&mut cmd);
    let what = format!(
        "{} with CHAIN_FAULT={}",
        form.name,
        fault.unwrap_or("(none)")
    );
    let fired = out.stderr.contains(" fault: SIGKILL to ");
    assert!(
        !out.stderr.contains("panicked"),
        "{what}: a panic: {}",
        out.stderr
    );
    if !fired {
        assert_eq!(
            out.status, 0,
            "{what}: without a fault the chain must work: {}",
            out.stderr
        );
    }
    // Settled: no process of the run, nothing new but groups of a killed
    // cgctl (which only the next cgctl removes, see below).
    let mut settled = wait_until(SETTLE, || {
        marked_processes(mark).is_empty() && {
            let now = host_state(net);
            !now.adds_to(before)
                || (!now.adds_besides_cgroups(before) && groups_of_gone_cgctl(before).is_some())
        }
    });
    if settled && let Some(left) = groups_of_gone_cgctl(before) {
        settled = stale_groups_go_with_the_next_run(&left, before);
    }
    if !settled {
        let after = host_state(net);
        panic!(
            "{what}: left behind after {SETTLE:?}:\n  processes: {:?}\n  new mounts: {:?}\n  \
             /run/netns: {:?}\n  cgroups: {:?}\n  links: {:?}\nits stderr:\n{}",
            marked_processes(mark),
            after
                .mounts
                .iter()
                .filter(|m| !before.mounts.contains(m))
                .collect::<Vec<_>>(),
            after
                .run_netns
                .difference(&before.run_netns)
                .collect::<Vec<_>>(),
            after
                .cgroups
                .difference(&before.cgroups)
                .collect::<Vec<_>>(),
            after.links,
            out.stderr
        );
    }
    fired
}

/// The groups added since `before`, when there are some and all are
/// anonymous groups (`cgctl-PID`) of a cgctl that is gone.
fn groups_of_gone_cgctl(before: &HostState) -> Option<Vec<PathBuf>> {
    let left: Vec<PathBuf> = cgroups_below()
        .difference(&before.cgroups)
        .cloned()
        .collect();
    let anonymous = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("cgctl-"))
            .and_then(|pid| pid.parse::<i32>().ok())
            .is_some_and(|pid| !alive(pid))
    };
    (!left.is_empty() && left.iter().all(anonymous)).then_some(left)
}

/// A killed cgctl supervisor cannot remove its group; the next anonymous
/// cgctl run in the same place does (cgctl/src/stale.rs), once the group is
/// older than cgctl's 2 s guard. What is left must be only such groups:
/// they are aged (their mtime set back, as time would), one plain run made,
/// and then nothing may be left.
fn stale_groups_go_with_the_next_run(left: &[PathBuf], before: &HostState) -> bool {
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(60);
    for dir in left {
        std::fs::File::open(dir)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    let next = run(&mut tool(
        As::Root,
        "cgctl",
        &["-v", "--mem", "64M", "--", "/bin/true"],
    ))
    .ok();
    let gone = cgroups_below().is_subset(&before.cgroups);
    if !gone {
        eprintln!(
            "faults: {left:?} stayed after the next run:\n{}",
            next.stderr
        );
    }
    gone
}

/// Every tool of `form`, killed before each of its steps (itself, then its
/// parent), until a run goes past its last step. Returns the faults fired.
fn kill_at_every_step(form: &Form, net: Option<&HostNetns>) -> u32 {
    // One form at a time: each compares the host's mounts and cgroups
    // before and after, which another form's runs would change.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_state(net);
    let mark = format!("{}-{}", form.name, std::process::id());
    assert!(
        !run_once(form, None, &mark, net, &before),
        "{}: a fault fired without CHAIN_FAULT",
        form.name
    );
    let mut fired = 0;
    for tool in form.tools {
        for who in ["self", "parent"] {
            let mut n = 1;
            while run_once(
                form,
                Some(&format!("{tool}:{n}:{who}")),
                &mark,
                net,
                &before,
            ) {
                fired += 1;
                n += 1;
                assert!(
                    n < MAX_STEPS,
                    "{}: {tool} took more than {MAX_STEPS} steps",
                    form.name
                );
            }
            // Every tool of the chain takes steps: a fault that never fired
            // would mean the hook or the chain is not what the test thinks.
            // (A PID namespace's init, like pivot here, has no parent it
            // can see: its parent faults never fire.)
            assert!(
                n > 1 || who == "parent",
                "{}: no fault fired in {tool} ({who})",
                form.name
            );
        }
    }
    fired
}

/// The end both chain forms share: `unshare-rs FLAGS -- pivot ROOTFS --
/// seccompctl --default -- /bin/true`.
fn container(unshare_flags: &str) -> Vec<String> {
    vec![
        path(bin("unshare-rs")),
        unshare_flags.into(),
        "--".into(),
        path(bin("pivot")),
        path(rootfs()),
        "--".into(),
        path(bin("seccompctl")),
        "--default".into(),
        "--".into(),
        "/bin/true".into(),
    ]
}

fn path(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn root_chain_with_cgctl_vethctl_and_seccompctl_leaves_nothing_at_any_kill() {
    let net = HostNetns::new("ft-host");
    let argv = [
        path(bin("cgctl")),
        "--mem".into(),
        "64M".into(),
        "--".into(),
        path(bin("vethctl")),
        "--addr".into(),
        "10.77.0.2/24".into(),
        "--host-addr".into(),
        "10.77.0.1/24".into(),
        "--gateway".into(),
        "10.77.0.1".into(),
        "--".into(),
    ]
    .into_iter()
    .chain(container("-fpnumi"))
    .collect::<Vec<String>>();
    let form = Form {
        name: "root",
        who: As::Root,
        tools: &["cgctl", "vethctl", "unshare-rs", "pivot", "seccompctl"],
        argv,
    };
    let fired = kill_at_every_step(&form, Some(&net));
    eprintln!("root chain: {fired} faults injected, nothing left after any");
}

#[test]
fn rootless_chain_with_mapids_leaves_nothing_at_any_kill() {
    test_user();
    let argv = [path(bin("mapids")), "--auto".into(), "--".into()]
        .into_iter()
        .chain(container("-Ufpnmui"))
        .collect::<Vec<String>>();
    let form = Form {
        name: "rootless",
        who: As::User,
        tools: &["mapids", "unshare-rs", "pivot", "seccompctl"],
        argv,
    };
    let fired = kill_at_every_step(&form, None);
    eprintln!("rootless chain: {fired} faults injected, nothing left after any");
}

#[test]
fn a_helper_that_hangs_ends_the_chain_in_time_and_leaves_nothing() {
    // A pasta that never comes up (it sleeps): vethctl's helper waits for
    // it, so the chain's wait for the helper's answer must end, by
    // CHAIN_HELPER_TIMEOUT, with one line, and take the helper and its
    // pasta with it.
    let dir = TempDir::new("hung-pasta");
    let fake = dir.path("pasta");
    std::fs::write(&fake, "#!/bin/sh\nexec sleep 1000\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.0.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mark = format!("hung-{}", std::process::id());
    let (unshare, vethctl, mapids) = (path_of("unshare-rs"), path_of("vethctl"), path_of("mapids"));
    let start = std::time::Instant::now();
    let out = run(command(
        As::Root,
        &vethctl,
        &[
            "--pasta",
            "--",
            &mapids,
            "--root",
            "--",
            &unshare,
            "-Ufpnmi",
            "--",
            "/bin/true",
        ],
    )
    .env("PATH", &path)
    .env("CHAIN_HELPER_TIMEOUT", "2")
    .env(MARK_VAR, &mark));
    let took = start.elapsed();
    assert_eq!(out.status, 125, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("did not answer within 2 s"), "{out:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        wait_until(SETTLE, || marked_processes(&mark).is_empty()),
        "left: {:?}",
        marked_processes(&mark)
    );
}

fn path_of(tool: &str) -> String {
    path(bin(tool))
}

/// Runs `cmd` with `CHAIN_FAULT=fault` (a `stop` fault); when the tool has
/// stopped itself, calls `disturb`, then lets it go on. A process forked
/// after the count began (a supervisor and its child) may stop at the same
/// step too: each is let go in turn. Returns whether the fault fired, and
/// the run's output without the faults' own lines.
fn run_disturbed(
    mut cmd: std::process::Command,
    fault: &str,
    disturb: impl FnOnce(),
) -> (bool, Out) {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    // Its own process group, continued as a whole, as a shell's `fg` does:
    // a supervisor mirrors its child's stop (so that job control sees the
    // container stop) and goes on when the group does.
    let mut child = cmd
        .process_group(0)
        .env("CHAIN_FAULT", fault)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let group = child.id() as i32;
    let _guard = KillOnDrop(group);
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut disturb = Some(disturb);
    let mut rest = String::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        let stopped = line
            .contains(" fault: SIGSTOP to self ")
            .then(|| {
                line.split('[')
                    .nth(1)?
                    .split(']')
                    .next()?
                    .parse::<i32>()
                    .ok()
            })
            .flatten();
        let Some(pid) = stopped else {
            rest.push_str(&line);
            rest.push('\n');
            continue;
        };
        let is_stopped = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('T'))
            })
        };
        // An init of a PID namespace cannot stop itself: it just goes on.
        if wait_until(Duration::from_secs(2), is_stopped) {
            if let Some(disturb) = disturb.take() {
                disturb();
            }
            // SAFETY: kill(2) of the process group of the run this test
            // started.
            unsafe { libc::kill(-group, libc::SIGCONT) };
        }
    }
    let fired = disturb.is_none();
    let mut out = finish(child);
    out.stderr = rest;
    (fired, out)
}

#[test]
fn a_group_removed_under_a_paused_cgctl_is_a_clear_error_and_nothing_is_left() {
    let mark = format!("rmcg-{}", std::process::id());
    let before = cgroups_below();
    let mut fired = 0;
    for n in 1..MAX_STEPS {
        let mut cmd = tool(
            As::Root,
            "cgctl",
            &["--mem", "64M", "--pids", "16", "--", "/bin/true"],
        );
        cmd.env(MARK_VAR, &mark);
        let (stopped, out) = run_disturbed(cmd, &format!("cgctl:{n}:stop"), || {
            // What the paused cgctl made so far goes away under it.
            for dir in cgroups_below().difference(&before) {
                let _ = std::fs::remove_dir(dir);
            }
        });
        assert!(!out.stderr.contains("panicked"), "step {n}: {out:?}");
        if !stopped {
            assert_eq!(out.status, 0, "{out:?}");
            break;
        }
        fired += 1;
        assert_worked_or_one_line(n, &out);
        assert!(
            wait_until(SETTLE, || marked_processes(&mark).is_empty()
                && cgroups_below().is_subset(&before)),
            "step {n}: left {:?} {:?}",
            marked_processes(&mark),
            cgroups_below().difference(&before).collect::<Vec<_>>()
        );
    }
    assert!(fired > 5, "only {fired} pauses");
    eprintln!("cgctl: paused and its group removed at {fired} steps");
}

/// A run changed under at step `n` worked, or failed with 125 and one line.
#[track_caller]
fn assert_worked_or_one_line(n: u32, out: &Out) {
    assert!(
        out.status == 0 || (out.status == 125 && out.stderr.lines().count() == 1),
        "step {n}: {out:?}"
    );
}

#[test]
fn a_netns_deleted_under_a_paused_vethctl_is_a_clear_error_and_nothing_is_left() {
    let net = HostNetns::new("dn-host");
    let target = format!("dn-ct-{}", std::process::id());
    let vethctl = path_of("vethctl");
    let mut fired = 0;
    for n in 1..MAX_STEPS {
        run(&mut net.cmd(&["ip", "netns", "add", &target])).ok();
        let cmd = net.cmd(&[
            &vethctl,
            "--netns",
            &target,
            "--addr",
            "10.76.0.2/24",
            "--host-addr",
            "10.76.0.1/24",
        ]);
        let (stopped, out) = run_disturbed(cmd, &format!("vethctl:{n}:stop"), || {
            run(&mut command(As::Root, "ip", &["netns", "del", &target])).ok();
        });
        assert!(!out.stderr.contains("panicked"), "step {n}: {out:?}");
        let _ = run(&mut command(As::Root, "ip", &["netns", "del", &target]));
        if !stopped {
            assert_eq!(out.status, 0, "{out:?}");
            break;
        }
        fired += 1;
        assert_worked_or_one_line(n, &out);
        // The namespace is gone for good now, and its pair with it.
        assert!(
            wait_until(SETTLE, || net.links().is_empty()),
            "step {n}: left {:?} ({out:?})",
            net.links()
        );
    }
    assert!(fired > 5, "only {fired} pauses");
    eprintln!("vethctl: paused and its netns deleted at {fired} steps");
}
