//! cgctl on this machine's cgroups (hybrid: v1 controllers and a cgroup2
//! tree with core files only). Every group is created below the test's own
//! cgroup and removed again, also when a test fails.

use e2e::host::own_cgroup_dirs;
use e2e::*;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// A group name owned by this test, and its removal when the test ends
/// (processes killed first), whatever happened.
struct Named(String);

impl Named {
    fn new(tag: &str) -> Named {
        Named(format!("e2e-{tag}-{}", std::process::id()))
    }

    /// Every directory a group of this name has, in any hierarchy below
    /// the test's own cgroup.
    fn dirs(&self) -> Vec<PathBuf> {
        own_cgroup_dirs()
            .into_iter()
            .map(|d| d.join(&self.0))
            .filter(|d| d.is_dir())
            .collect()
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        for dir in self.dirs() {
            if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in procs
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    // SAFETY: kill(2) of a process in the test's own group.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        let _ = wait_until(Duration::from_secs(5), || {
            self.dirs().iter().all(|d| {
                std::fs::read_to_string(d.join("cgroup.procs"))
                    .map(|p| p.trim().is_empty())
                    .unwrap_or(true)
            })
        });
        for dir in self.dirs() {
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

fn c_program(name: &str) -> PathBuf {
    let out = bin_dir().join(format!("e2e-{name}"));
    if !out.exists() {
        compile_c(name, &out);
    }
    out
}

fn cgctl(args: &[&str]) -> Out {
    run(&mut tool(As::Root, "cgctl", args))
}

#[test]
fn the_memory_hog_is_killed_near_its_limit() {
    let g = Named::new("hog");
    let hog = c_program("hog");
    let out = cgctl(&[
        "--mem",
        "100M",
        "--swap",
        "0",
        "--name",
        &g.0,
        "--wait",
        "--",
        hog.to_str().unwrap(),
    ]);
    assert_eq!(out.status, 137, "{}", out.stderr);
    let last: u32 = out
        .stdout
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        (70..=100).contains(&last),
        "the hog got to {last} MB: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "cgctl: out of memory: the kernel killed the workload at the group's 100M limit (peak "
        ),
        "{}",
        out.stderr
    );
    assert!(g.dirs().is_empty(), "--wait left {:?}", g.dirs());
}

#[test]
fn a_pids_limit_stops_a_fork_loop_and_the_host_is_fine() {
    let g = Named::new("pids");
    let forks = c_program("forks");
    let out = cgctl(&[
        "--pids",
        "20",
        "--name",
        &g.0,
        "--wait",
        "--",
        forks.to_str().unwrap(),
        "50",
    ])
    .ok();
    let started: u32 = out
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!((10..20).contains(&started), "{}", out.stdout);
    // Outside the group forks are not limited.
    let host = run(&mut command(As::Root, &forks, &["50"])).ok();
    assert_eq!(host.stdout.trim(), "forked 50 of 50");
    assert!(g.dirs().is_empty());
}

#[test]
fn a_cpu_limit_throttles_and_stats_show_it() {
    let g = Named::new("cpus");
    let dir = TempDir::new("cpus");
    let stats = dir.str("stats.json");
    let spin = "end=$(( $(date +%s) + 2 )); while [ $(date +%s) -lt $end ]; do :; done";
    cgctl(&[
        "--cpus",
        "0.2",
        "--name",
        &g.0,
        "--wait",
        "--stats-json",
        &stats,
        "--",
        "sh",
        "-c",
        spin,
    ])
    .ok();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let throttled = json["data"]["cpu"]["throttling"]["throttledPeriods"]
        .as_u64()
        .unwrap_or(0);
    assert!(throttled > 0, "no throttling: {}", json["data"]["cpu"]);
    // The spin runs until the second after next (1 to 2 s of wall time):
    // at 0.2 CPUs that is at most ~0.4 s of CPU, never 1 s or more.
    let used = json["data"]["cpu"]["usage"]["total"].as_u64().unwrap() as f64 / 1e9;
    assert!(used < 0.6, "used {used} s of CPU");
}

#[test]
fn a_cpuset_pins_the_workload() {
    let g = Named::new("cpuset");
    let out = cgctl(&[
        "--cpuset-cpus",
        "0",
        "--name",
        &g.0,
        "--wait",
        "--",
        "grep",
        "Cpus_allowed_list",
        "/proc/self/status",
    ])
    .ok();
    assert_eq!(
        out.stdout.split_whitespace().last(),
        Some("0"),
        "{}",
        out.stdout
    );
}

#[test]
fn freeze_thaw_kill_and_stats_of_a_running_group() {
    let g = Named::new("manage");
    let dir = TempDir::new("manage");
    let counter = dir.str("counter");
    let script = format!("i=0; while :; do i=$((i+1)); echo $i > {counter}; sleep 0.02; done");
    let child = tool(
        As::Root,
        "cgctl",
        &[
            "--mem", "64M", "--pids", "10", "--name", &g.0, "--wait", "--", "sh", "-c", &script,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let _guard = KillOnDrop(child.id() as i32);
    let count = || {
        std::fs::read_to_string(&counter)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(
        wait_until(Duration::from_secs(5), || count() > 3),
        "the counter did not start"
    );

    cgctl(&["freeze", &g.0]).ok();
    let frozen_at = count();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(), frozen_at, "the counter ran while frozen");

    cgctl(&["thaw", &g.0]).ok();
    assert!(
        wait_until(Duration::from_secs(3), || count() > frozen_at + 3),
        "the counter did not resume"
    );

    let stats = cgctl(&["stats", &g.0]).ok().json();
    assert_eq!(stats["type"], "stats");
    assert_eq!(stats["id"], g.0.as_str());
    for (key, inner) in [("memory", "usage"), ("pids", "current"), ("cpu", "usage")] {
        assert!(
            !stats["data"][key][inner].is_null(),
            "stats lack {key}.{inner}: {stats}"
        );
    }
    assert_eq!(stats["data"]["memory"]["usage"]["limit"], 64u64 << 20);
    assert_eq!(stats["data"]["pids"]["limit"], 10);
    let listed = cgctl(&["ls"]).ok();
    assert!(
        listed.stdout.lines().any(|l| l.starts_with(&g.0)),
        "{}",
        listed.stdout
    );

    cgctl(&["kill", &g.0]).ok();
    assert_eq!(finish(child).status, 137);
    assert!(g.dirs().is_empty(), "--wait left {:?}", g.dirs());
}

#[test]
fn kill_then_rm_at_once_removes_a_group_of_many_processes() {
    // What a script does to stop a container: `cgctl kill G; cgctl rm G`.
    // SIGKILL returns before its victims have left the group, so rm right
    // after it must not find them (the race CI hit once).
    for round in 0..5 {
        let g = Named::new(&format!("killrm{round}"));
        let script = "for i in $(seq 30); do sleep 100 & done; wait";
        let child = tool(
            As::Root,
            "cgctl",
            &["--pids", "100", "--name", &g.0, "--", "sh", "-c", script],
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
        let _guard = KillOnDrop(child.id() as i32);
        let procs = || {
            g.dirs()
                .first()
                .and_then(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
                .map(|p| p.lines().count())
                .unwrap_or(0)
        };
        assert!(
            wait_until(Duration::from_secs(5), || procs() == 31),
            "the 30 sleepers did not start: {} processes",
            procs()
        );
        cgctl(&["kill", &g.0]).ok();
        let rm = cgctl(&["rm", &g.0]);
        assert_eq!(rm.status, 0, "rm right after kill: {}", rm.stderr);
        assert!(g.dirs().is_empty(), "left: {:?}", g.dirs());
        assert_eq!(finish(child).status, 137);
    }
}

#[test]
fn the_headline_one_liner() {
    let g = Named::new("headline");
    let root = rootfs();
    let (u, p) = (bin("unshare-rs"), bin("pivot"));
    let args = [
        "--mem",
        "100M",
        "--name",
        &g.0,
        "--",
        u.to_str().unwrap(),
        "-fpnumi",
        "--",
        p.to_str().unwrap(),
        root.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "cat /proc/self/cgroup",
    ];
    let out = cgctl(&args).ok();
    let memory = out
        .stdout
        .lines()
        .find(|l| l.contains(":memory:"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(memory.ends_with(&format!("/{}", g.0)), "{memory}");
    // Without --wait the group stays for the caller to manage; rm removes it.
    assert!(!g.dirs().is_empty());
    cgctl(&["rm", &g.0]).ok();
    assert!(g.dirs().is_empty());
}

#[test]
fn bad_input_is_125_and_creates_nothing() {
    let before: Vec<PathBuf> = own_cgroup_dirs()
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().flatten().map(|e| e.path()))
        .collect();
    for (args, named) in [
        (
            &["--mem", "100Q", "true"][..],
            "--mem: '100Q': unknown size suffix 'Q'",
        ),
        (&["--cpus", "0", "true"], "--cpus: '0': "),
        (
            &["stats", "no-such-group-here"],
            "no group 'no-such-group-here'",
        ),
        (
            &["--parent", "/no/such/parent", "--pids", "5", "true"],
            "/no/such/parent",
        ),
        (
            &["--pids", "5", "--", "no-such-program-here"],
            "exec no-such-program-here",
        ),
    ] {
        let out = cgctl(args);
        let expected = if named.starts_with("exec") { 127 } else { 125 };
        assert_eq!(out.status, expected, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("cgctl: ") && out.stderr.contains(named),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    let after: Vec<PathBuf> = own_cgroup_dirs()
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().flatten().map(|e| e.path()))
        .collect();
    let new: Vec<&PathBuf> = after
        .iter()
        .filter(|p| !before.contains(p) && p.is_dir())
        .collect();
    assert!(
        new.iter()
            .all(|p| p.file_name().unwrap().to_string_lossy().starts_with("e2e-")),
        "bad input created {new:?}"
    );
}

/// The groups named cgctl-* below the test's own cgroups.
fn anonymous_groups() -> Vec<PathBuf> {
    own_cgroup_dirs()
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().flatten().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("cgctl-"))
        })
        .collect()
}

#[test]
fn the_headline_one_liner_leaves_no_group_behind() {
    // Anonymous groups of other tests running now would look like ours:
    // this test counts only what appeared and stayed.
    let before = anonymous_groups();
    let root = rootfs();
    let (u, p) = (bin("unshare-rs"), bin("pivot"));
    let (u, p, root) = (
        u.to_str().unwrap(),
        p.to_str().unwrap(),
        root.to_str().unwrap(),
    );
    for _ in 0..25 {
        let out = cgctl(&[
            "--mem",
            "100M",
            "--",
            u,
            "-fpnumi",
            "--",
            p,
            root,
            "--",
            "/bin/true",
        ]);
        assert_eq!(out.status, 0, "{out:?}");
    }
    // The workload ran in the group, and its exit status comes back.
    let out = cgctl(&[
        "-v",
        "--mem",
        "100M",
        "--",
        u,
        "-fpnumi",
        "--",
        p,
        root,
        "--",
        "sh",
        "-c",
        "cat /proc/self/cgroup; exit 3",
    ]);
    assert_eq!(out.status, 3, "{out:?}");
    let memory = out
        .stdout
        .lines()
        .find(|l| l.contains(":memory:"))
        .unwrap_or("");
    assert!(
        memory.contains("/cgctl-"),
        "not in its group: {}",
        out.stdout
    );
    // Where there is a cgroup2 tree, the child is born in the group.
    assert!(
        out.stderr
            .contains("clone3 CLONE_VM|CLONE_VFORK|CLONE_INTO_CGROUP = child"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("waiting for the group"),
        "{}",
        out.stderr
    );
    let left: Vec<PathBuf> = anonymous_groups()
        .into_iter()
        .filter(|g| !before.contains(g))
        .collect();
    assert!(left.is_empty(), "groups left behind: {left:?}");
}

#[test]
fn the_container_device_policy_stops_mknod_of_the_hosts_disk() {
    let root = rootfs();
    let (u, p) = (bin("unshare-rs"), bin("pivot"));
    let (u, p, root) = (
        u.to_str().unwrap(),
        p.to_str().unwrap(),
        root.to_str().unwrap(),
    );
    // As root with every capability inside: a block node (the first loop
    // device's numbers) and the host's memory (c 1:1), against what a
    // container needs.
    let inside = "d=$(mktemp -d /tmp/devices.XXXXXX); \
                  mknod $d/disk b 7 0 && echo mknod-block-ok; \
                  mknod $d/mem c 1 1 && echo mknod-mem-ok; \
                  head -c1 /dev/zero >/dev/null && echo zero-ok; \
                  echo x >/dev/null && echo null-ok; \
                  mknod $d/null c 1 3 && echo x >$d/null && echo own-null-ok; \
                  rm -rf $d";
    let run = |policy: &[&str]| {
        let mut args: Vec<&str> = policy.to_vec();
        args.extend(["--", u, "-fpnumi", "--", p, root, "--", "sh", "-c", inside]);
        cgctl(&args)
    };
    let open = run(&[]);
    assert!(
        open.stdout.contains("mknod-block-ok"),
        "the control: {open:?}"
    );
    let closed = run(&["--devices", "container"]);
    assert_eq!(closed.status, 0, "{closed:?}");
    for allowed in ["zero-ok", "null-ok", "own-null-ok"] {
        assert!(closed.stdout.contains(allowed), "{allowed}: {closed:?}");
    }
    for denied in ["mknod-block-ok", "mknod-mem-ok"] {
        assert!(!closed.stdout.contains(denied), "{denied}: {closed:?}");
    }
    assert!(
        closed.stderr.contains("Operation not permitted"),
        "{closed:?}"
    );
    // A rule adds a device: the loop device's node may now be made.
    let added = run(&["--devices", "container", "--device-rule", "b 7:0 m"]);
    assert!(added.stdout.contains("mknod-block-ok"), "{added:?}");
    assert!(!added.stdout.contains("mknod-mem-ok"), "{added:?}");
    // Bad rules: one line, 125.
    let bad = cgctl(&["--device-rule", "x 1:3 rw", "true"]);
    assert_eq!(bad.status, 125, "{bad:?}");
    assert_eq!(bad.stderr.lines().count(), 1, "{bad:?}");
}
