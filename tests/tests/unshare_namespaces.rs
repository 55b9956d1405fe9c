//! unshare-rs: each namespace flag has the effect a user checks for, as root
//! and as an unprivileged user (who adds -U, as with util-linux).

use e2e::*;

/// The flags `who` needs in front: an unprivileged user creates the other
/// namespaces inside a new user namespace.
fn with_user(who: As, flags: &[&'static str]) -> Vec<&'static str> {
    let mut v = if who == As::User { vec!["-U"] } else { vec![] };
    v.extend_from_slice(flags);
    v
}

fn uname_nodename() -> String {
    nix::sys::utsname::uname()
        .unwrap()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn hostname_changes_inside_and_not_outside() {
    let before = uname_nodename();
    for who in BOTH {
        let inside = probe_under(
            who,
            &with_user(
                who,
                &[
                    "-u",
                    "--hostname",
                    "box-inside",
                    "--domainname",
                    "dom-inside",
                ],
            ),
        );
        assert_eq!(inside["hostname"], "box-inside", "{who:?}");
        assert_eq!(inside["domainname"], "dom-inside", "{who:?}");
        assert_ne!(ns(&inside, "uts"), ns(&host_probe(who), "uts"));
        assert_eq!(uname_nodename(), before, "the host's hostname changed");
    }
    // Changing the hostname from inside (as root) does not reach the host.
    let out = run(&mut tool(
        As::Root,
        "unshare-rs",
        &[
            "-u",
            "--",
            "sh",
            "-c",
            "hostname changed-inside && hostname",
        ],
    ))
    .ok();
    assert_eq!(out.stdout.trim(), "changed-inside");
    assert_eq!(uname_nodename(), before);
}

#[test]
fn pid_namespace_workload_is_pid_1_and_sees_only_the_container() {
    for who in BOTH {
        let inside = probe_under(who, &with_user(who, &["-fp", "--mount-proc"]));
        assert_eq!(inside["pid"], 1, "{who:?}");
        assert_eq!(
            inside["pids"],
            serde_json::json!([1]),
            "{who:?}: /proc shows other processes"
        );
        assert_ne!(ns(&inside, "pid"), ns(&host_probe(who), "pid"));
    }
    // What `ps` shows inside: only the container's own processes.
    let out = run(&mut tool(
        As::Root,
        "unshare-rs",
        &["-fpm", "--mount-proc", "--", "ps", "-e", "-o", "pid=,comm="],
    ))
    .ok();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(lines, ["1 ps"], "ps inside showed {:?}", out.stdout);
}

#[test]
fn mount_namespace_keeps_mounts_inside() {
    let dir = TempDir::new("mnt");
    let target = dir.str("target");
    std::fs::create_dir(&target).unwrap();
    // As root, the workload mounts a tmpfs and writes into it.
    let script = format!(
        "mount -t tmpfs inside-tmpfs {target} && touch {target}/made-inside && grep -c inside-tmpfs /proc/self/mountinfo"
    );
    let out = run(&mut tool(
        As::Root,
        "unshare-rs",
        &["-m", "--", "sh", "-c", &script],
    ))
    .ok();
    assert_eq!(out.stdout.trim(), "1");
    assert!(
        !dir.path("target/made-inside").exists(),
        "the file written into the inner tmpfs is visible outside"
    );
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host_mounts.contains(&target),
        "the inner mount is visible outside"
    );

    // As the test user, unshare-rs itself mounts a proc there (the workload
    // has no capabilities without an id map).
    let inside = probe_under(As::User, &["-Ufp", &format!("--mount-proc={target}")]);
    let mounts = inside["mounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["mount_point"] == target.as_str() && m["fstype"] == "proc"),
        "no proc on {target} inside"
    );
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host_mounts.contains(&target),
        "the proc mounted inside is visible outside"
    );
}

#[test]
fn net_namespace_has_only_loopback() {
    for who in BOTH {
        let host = host_probe(who);
        assert!(
            host["net_devices"].as_array().unwrap().len() > 1,
            "the host has only lo: this test shows nothing"
        );
        let inside = probe_under(who, &with_user(who, &["-n"]));
        assert_eq!(inside["net_devices"], serde_json::json!(["lo"]), "{who:?}");
        assert_ne!(ns(&inside, "net"), ns(&host, "net"));
    }
    // And lo is down, as the kernel creates it.
    let out = run(&mut tool(
        As::Root,
        "unshare-rs",
        &["-n", "--", "ip", "-o", "link"],
    ))
    .ok();
    assert!(
        out.stdout.contains("lo:") && out.stdout.contains("state DOWN"),
        "{}",
        out.stdout
    );
}

#[test]
fn ipc_namespace_has_its_own_objects() {
    if !have("ipcmk") {
        return skip("ipcmk (util-linux) is not installed");
    }
    let made = std::process::Command::new("ipcmk")
        .arg("-Q")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&made.stdout);
    let id: i64 = text
        .split(':')
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("ipcmk said {text:?}"));
    let _remove = Cleanup(move || {
        let _ = std::process::Command::new("ipcrm")
            .args(["-q", &id.to_string()])
            .status();
    });
    assert!(
        host_probe(As::Root)["sysvipc_msg"]
            .as_array()
            .unwrap()
            .contains(&id.into())
    );
    for who in BOTH {
        let inside = probe_under(who, &with_user(who, &["-i"]));
        assert_eq!(
            inside["sysvipc_msg"],
            serde_json::json!([]),
            "{who:?} sees the host's message queue"
        );
        assert_ne!(ns(&inside, "ipc"), ns(&host_probe(who), "ipc"));
    }
}

#[test]
fn user_namespace_without_maps_is_nobody() {
    for who in BOTH {
        let inside = probe_under(who, &["-U"]);
        assert_eq!(
            inside["uid"],
            serde_json::json!([65534, 65534, 65534, 65534]),
            "{who:?}"
        );
        assert_eq!(
            inside["gid"],
            serde_json::json!([65534, 65534, 65534, 65534]),
            "{who:?}"
        );
        assert_eq!(inside["uid_map"], serde_json::json!([]));
        assert_eq!(
            inside["caps"]["eff"], "0000000000000000",
            "{who:?}: capabilities survived exec"
        );
        assert_ne!(ns(&inside, "user"), ns(&host_probe(who), "user"));
    }
    // The articles' check: whoami says nobody.
    let out = run(&mut tool(As::User, "unshare-rs", &["-U", "--", "whoami"])).ok();
    assert_eq!(out.stdout.trim(), "nobody");
}

#[test]
fn setgroups_is_set_in_the_new_user_namespace() {
    for who in BOTH {
        assert_eq!(
            probe_under(who, &["-U", "--setgroups", "deny"])["setgroups"],
            "deny",
            "{who:?}"
        );
        assert_eq!(
            probe_under(who, &["-U", "--setgroups=allow"])["setgroups"],
            "allow",
            "{who:?}"
        );
    }
}

#[test]
fn cgroup_namespace_roots_at_the_current_cgroup() {
    for who in BOTH {
        let host = host_probe(who);
        let inside = probe_under(who, &with_user(who, &["-C"]));
        assert_ne!(ns(&inside, "cgroup"), ns(&host, "cgroup"), "{who:?}");
        // Every hierarchy's path is now relative to the namespace root.
        for line in inside["cgroup"].as_array().unwrap() {
            assert!(
                line.as_str().unwrap().ends_with(":/"),
                "{who:?}: {line} is not at the namespace root"
            );
        }
    }
}

#[test]
fn time_namespace_shifts_the_clocks() {
    // Without a child, and with one: a supervised child is a CLONE_VM
    // clone, which the kernel leaves in the old time namespace until its
    // exec; the workload must still be in the new one, offsets applied.
    for (who, fork) in BOTH
        .into_iter()
        .flat_map(|w| [(w, None), (w, Some("-f")), (w, Some("-fp"))])
    {
        let host = host_probe(who);
        let mut args = vec!["-T", "--boottime", "86400", "--monotonic=3600.5"];
        args.extend(fork);
        let inside = probe_under(who, &with_user(who, &args));
        let who = (who, fork);
        assert_ne!(ns(&inside, "time"), ns(&host, "time"), "{who:?}");
        let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
        // The probe inside ran after the one outside, so its clocks are at
        // least the host's plus the offset, and not much more.
        let boot = f(&inside, "clock_boottime") - f(&host, "clock_boottime");
        let mono = f(&inside, "clock_monotonic") - f(&host, "clock_monotonic");
        let up = f(&inside, "uptime") - f(&host, "uptime");
        assert!(
            (86400.0..86410.0).contains(&boot),
            "{who:?}: boottime moved by {boot}"
        );
        assert!(
            (3600.5..3610.0).contains(&mono),
            "{who:?}: monotonic moved by {mono}"
        );
        assert!(
            (86399.0..86410.0).contains(&up),
            "{who:?}: uptime moved by {up}"
        );
    }
}

#[test]
fn all_five_at_once() {
    let host = host_probe(As::Root);
    let inside = probe_under(As::Root, &["-fpnumi", "--mount-proc", "--hostname", "five"]);
    for kind in ["mnt", "uts", "ipc", "net", "pid"] {
        assert_ne!(ns(&inside, kind), ns(&host, kind), "{kind} not new");
    }
    for kind in ["user", "cgroup", "time"] {
        assert_eq!(
            ns(&inside, kind),
            ns(&host, kind),
            "{kind} changed without being asked"
        );
    }
    assert_eq!(inside["pid"], 1);
    assert_eq!(inside["hostname"], "five");
}
