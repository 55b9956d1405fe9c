//! Load (issue 13): many full containers started at once, each doing real
//! work, then all stopped, and nothing left afterwards.
//!
//! Each container is the whole root chain: cgctl (a memory and pids limit)
//! -- vethctl (a pair to one shared bridge) -- unshare-rs -fpnumi -- pivot
//! (the busybox rootfs, a per-container directory bound on /out) --
//! seccompctl --default -- sh, which pings the bridge, allocates and
//! touches 8 MB (dd's buffer), writes its number to /out/done and exits
//! with a status of its own. Everything runs in a throwaway "host" network
//! namespace, addresses 10.88.0.0/16 only.
//!
//! The bridge does not exist at first: the first containers race to create
//! it (vethctl joins a bridge another run just made), and they share its
//! NAT (--nat: one masquerade rule, however many containers).
//!
//! 200 containers (the size) take ~4 s here, so the suite runs the
//! full size; LOAD_CONTAINERS=N runs another:
//!
//!     LOAD_CONTAINERS=1000 cargo test --release -p e2e --test load -- --nocapture

use e2e::host::{HostNetns, cgroups_below};
use e2e::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const BRIDGE: &str = "brload0";
const MARK_VAR: &str = "LOAD_TEST_RUN";

fn containers() -> usize {
    std::env::var("LOAD_CONTAINERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=2000).contains(n))
        .unwrap_or(200)
}

fn marked_processes(mark: &str) -> usize {
    e2e::host::marked_processes(MARK_VAR, mark).len()
}

/// The anonymous groups (cgctl-PID) below the test's own cgroups.
fn anonymous_groups() -> BTreeSet<PathBuf> {
    cgroups_below()
        .into_iter()
        .filter(|g| {
            g.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("cgctl-"))
        })
        .collect()
}

fn mounts() -> Vec<String> {
    mount_points(&std::fs::read_to_string("/proc/self/mountinfo").unwrap())
}

#[test]
fn many_full_containers_at_once_all_work_and_leave_nothing() {
    let n = containers();
    let net = HostNetns::new("ld-host");
    let dir = TempDir::new("load");
    let root = rootfs().to_string_lossy().into_owned();
    let (groups_before, mounts_before) = (anonymous_groups(), mounts());
    let mark = format!("load-{}", std::process::id());
    let bins: Vec<String> = ["cgctl", "vethctl", "unshare-rs", "pivot", "seccompctl"]
        .iter()
        .map(|b| bin(b).to_string_lossy().into_owned())
        .collect();
    // No bridge yet: the first containers race to create it, as on a host
    // where many start at once.
    let script = "ping -c 1 -W 5 10.88.0.1 > /dev/null || exit 90; \
                  dd if=/dev/zero of=/dev/null bs=8M count=1 2> /dev/null || exit 91; \
                  echo \"$ID\" > /out/done || exit 92; exit $(( ID % 50 + 1 ))";

    let start = Instant::now();
    let mut children: Vec<(usize, Child)> = Vec::new();
    for id in 0..n {
        let out = dir.path(&id.to_string());
        std::fs::create_dir(&out).unwrap();
        let bind = format!("{}:/out", out.display());
        let addr = format!("10.88.{}.{}/16", 1 + id / 250, 1 + id % 250);
        let argv: Vec<&str> = vec![
            &bins[0],
            "--mem",
            "64M",
            "--pids",
            "64",
            "--",
            &bins[1],
            "--bridge",
            BRIDGE,
            "--bridge-addr",
            "10.88.0.1/16",
            "--nat",
            "--addr",
            &addr,
            "--gateway",
            "10.88.0.1",
            "--",
            &bins[2],
            "-fpnumi",
            "--",
            &bins[3],
            &root,
            "--bind",
            &bind,
            "--",
            &bins[4],
            "--default",
            "--",
            "/bin/sh",
            "-c",
            script,
        ];
        let child = net
            .cmd(&argv)
            .env(MARK_VAR, &mark)
            // The environment passes through every step to the workload.
            .env("ID", id.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        children.push((id, child));
    }
    let started = start.elapsed();
    let mut failures = Vec::new();
    for (id, child) in children {
        let out = finish(child);
        let want = (id % 50 + 1) as i32;
        let done = std::fs::read_to_string(dir.path(&format!("{id}/done"))).unwrap_or_default();
        if out.status != want || done.trim() != id.to_string() {
            failures.push(format!(
                "container {id}: status {} (want {want}), /out/done {:?}, stderr: {}",
                out.status,
                done.trim(),
                out.stderr.trim()
            ));
        }
    }
    let all_done = start.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {n} containers failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // All stopped: nothing of them is left, once the kernel has torn
    // down their network namespaces.
    let clean = wait_until(Duration::from_secs(30), || {
        marked_processes(&mark) == 0
            && net.links() == [BRIDGE]
            && anonymous_groups().is_subset(&groups_before)
            && mounts().iter().all(|m| mounts_before.contains(m))
    });
    assert!(
        clean,
        "left after the containers: {} processes, links {:?}, groups {:?}",
        marked_processes(&mark),
        net.links(),
        anonymous_groups()
            .difference(&groups_before)
            .collect::<Vec<_>>()
    );
    let nat = run(&mut net.cmd(&["nft", "list", "ruleset"])).ok();
    assert_eq!(
        nat.stdout.matches("masquerade").count(),
        1,
        "one NAT rule for the bridge's containers: {}",
        nat.stdout
    );
    let removed = run(&mut net.cmd(&[&bins[1], "--remove-bridge", BRIDGE]));
    assert_eq!(removed.status, 0, "{}", removed.stderr);
    assert!(net.links().is_empty(), "{:?}", net.links());
    let nat = run(&mut net.cmd(&["nft", "list", "ruleset"])).ok();
    assert!(nat.stdout.trim().is_empty(), "{}", nat.stdout);
    eprintln!(
        "load: {n} containers started in {:.2} s, all done and checked in {:.2} s, nothing left",
        started.as_secs_f64(),
        all_done.as_secs_f64()
    );
}
