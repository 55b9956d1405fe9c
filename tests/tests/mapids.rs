//! mapids: rootless containers (the test user with subordinate ids), maps
//! written from outside, identity switched inside, and refusals that write
//! nothing.

use e2e::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

fn path(name: &str) -> String {
    bin(name).to_string_lossy().into_owned()
}

/// `mapids MAPIDS -- unshare-rs UNSHARE -- pivot ROOTFS PIVOT -- ARGV` as `who`.
fn rootless(who: As, mapids: &[&str], unshare: &[&str], pivot: &[&str], argv: &[&str]) -> Out {
    let (u, p) = (path("unshare-rs"), path("pivot"));
    let root = rootfs().to_string_lossy().into_owned();
    let mut args: Vec<&str> = mapids.to_vec();
    args.extend(["--", &u]);
    args.extend_from_slice(unshare);
    args.extend(["--", &p, &root]);
    args.extend_from_slice(pivot);
    args.push("--");
    args.extend_from_slice(argv);
    run(&mut tool(who, "mapids", &args))
}

fn expected_auto_map(own: u32) -> serde_json::Value {
    let [(s1, c1), (s2, c2)] = TEST_SUBIDS;
    serde_json::json!([[0, own, 1], [1, s1, c1], [1 + c1, s2, c2]])
}

#[test]
fn auto_gives_a_rootless_container_with_every_subordinate_range() {
    test_user();
    let dir = TempDir::new("mapids-auto");
    let shared = dir.0.to_string_lossy().into_owned();
    // Bound on /tmp: a rootless user cannot create mount points in a
    // root-owned image.
    let bind = format!("{shared}:/tmp");
    let out = rootless(
        As::User,
        &["--auto"],
        &["-Ufpnmui"],
        &["--bind", &bind],
        &["/bin/sh", "-c", "id -u; /probe > /tmp/probe.json"],
    )
    .ok();
    assert_eq!(out.stdout.trim(), "0");
    let inside: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("probe.json")).unwrap()).unwrap();
    assert_eq!(inside["uid"], serde_json::json!([0, 0, 0, 0]));
    assert_eq!(inside["uid_map"], expected_auto_map(TEST_UID));
    assert_eq!(inside["gid_map"], expected_auto_map(TEST_GID));
    // subordinate gids keep setgroups allowed, so the groups can be set.
    assert_eq!(inside["setgroups"], "allow");

    // A file chowned to 1000 inside belongs to subuid-base+999 outside.
    let script = "touch /tmp/owned && chown 1000:1000 /tmp/owned";
    rootless(
        As::User,
        &["--auto"],
        &["-Ufpnmui"],
        &["--bind", &bind],
        &["/bin/sh", "-c", script],
    )
    .ok();
    let meta = std::fs::metadata(dir.path("owned")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (TEST_SUBIDS[0].0 + 999, TEST_SUBIDS[0].0 + 999)
    );
    // And one in the second range lands there.
    let script = "touch /tmp/second && chown 65537 /tmp/second";
    rootless(
        As::User,
        &["--auto"],
        &["-Ufpnmui"],
        &["--bind", &bind],
        &["/bin/sh", "-c", script],
    )
    .ok();
    assert_eq!(
        std::fs::metadata(dir.path("second")).unwrap().uid(),
        TEST_SUBIDS[1].0
    );
}

#[test]
fn root_maps_one_id_without_newuidmap() {
    test_user();
    // No newuidmap anywhere on PATH: a map of one's own id does not need it.
    let out = run(rootless_cmd(&["--root"], "/nonexistent")).ok();
    let inside = out.json();
    assert_eq!(inside["uid"], serde_json::json!([0, 0, 0, 0]));
    assert_eq!(inside["uid_map"], serde_json::json!([[0, TEST_UID, 1]]));
    assert_eq!(inside["gid_map"], serde_json::json!([[0, TEST_GID, 1]]));
    assert_eq!(
        inside["setgroups"], "deny",
        "an unprivileged own-gid map needs setgroups denied"
    );
}

fn rootless_cmd(mapids: &[&str], path_var: &str) -> &'static mut std::process::Command {
    let (u, p) = (path("unshare-rs"), path("pivot"));
    let root = rootfs().to_string_lossy().into_owned();
    let mut args: Vec<String> = mapids.iter().map(|s| s.to_string()).collect();
    args.extend(["--", &u, "-Ufpnmui", "--", &p, &root, "--", "/probe"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = tool(As::User, "mapids", &args);
    cmd.env("PATH", path_var);
    Box::leak(Box::new(cmd))
}

#[test]
fn missing_newuidmap_is_named_and_nothing_runs() {
    test_user();
    let out = run(rootless_cmd(&["--auto"], "/nonexistent"));
    assert_eq!(out.status, 125);
    assert_eq!(
        out.stderr.trim(),
        "mapids: newuidmap not found (No such file or directory): mapping ids other than one's own needs it (Debian package uidmap)"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn as_switches_identity_late_in_the_chain() {
    let root = rootfs();
    let mapids = path("mapids");
    let bind = format!("{mapids}:/bin/mapids");
    for (extra, caps_kept) in [(&[][..], false), (&["--keep-caps"][..], true)] {
        let mut argv = vec!["/bin/mapids", "--as", "1000:1000", "--groups", "1000,2000"];
        argv.extend_from_slice(extra);
        argv.extend(["--", "/probe"]);
        let inside = container(&["-fpnumi"], &root, &["--ro-bind", &bind], &argv)
            .ok()
            .json();
        assert_eq!(inside["uid"], serde_json::json!([1000, 1000, 1000, 1000]));
        assert_eq!(inside["gid"], serde_json::json!([1000, 1000, 1000, 1000]));
        assert_eq!(inside["groups"], serde_json::json!([1000, 2000]));
        let caps = &inside["caps"];
        if caps_kept {
            assert_ne!(
                caps["eff"], "0000000000000000",
                "--keep-caps lost them: {caps}"
            );
            assert_eq!(caps["eff"], caps["prm"]);
            assert_eq!(caps["amb"], caps["prm"]);
        } else {
            for set in ["eff", "prm", "inh", "amb"] {
                assert_eq!(caps[set], "0000000000000000", "{set} not empty: {caps}");
            }
        }
    }
}

#[test]
fn the_container_still_dies_with_its_supervisor_after_as() {
    // setresuid clears the parent-death signal unshare-rs armed; mapids --as
    // arms it again, so killing the supervisor still ends PID 1.
    let root = rootfs();
    let dir = TempDir::new("as-deathsig");
    let pid_file = dir.str("pid");
    let (p, mapids) = (path("pivot"), path("mapids"));
    let bind = format!("{mapids}:/bin/mapids");
    let args = [
        "--pid-file",
        &pid_file,
        "-fpnumi",
        "--",
        &p,
        root.to_str().unwrap(),
        "--ro-bind",
        &bind,
        "--",
        "/bin/mapids",
        "--as",
        "1000",
        "--",
        "/bin/sleep",
        "1000",
    ];
    let child = tool(As::Root, "unshare-rs", &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _supervisor = KillOnDrop(child.id() as i32);
    let mut pid = 0;
    assert!(wait_until(Duration::from_secs(10), || {
        pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        pid > 0
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sleep")
    }));
    let _container = KillOnDrop(pid);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("1000")),
        "{status}"
    );
    // SAFETY: kill(2) of the supervisor this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    finish(child);
    assert!(
        wait_until(Duration::from_secs(5), || !alive(pid)),
        "PID 1 outlived its supervisor after --as"
    );
}

/// Starts `unshare-rs -U -- sleep 1000` as `who` and returns the sleeping
/// process (in a new user namespace without maps).
fn unmapped_sleeper(who: As) -> (std::process::Child, i32) {
    let child = tool(who, "unshare-rs", &["-U", "--", "sleep", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    }));
    (child, pid)
}

fn map_of(pid: i32, kind: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{kind}_map"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn pid_writes_the_maps_of_a_running_process() {
    test_user();
    // As the test user: its own id, then subordinate ranges through newuidmap.
    for (args, uid_map) in [
        (&["--root"][..], format!("0 {TEST_UID} 1")),
        (
            &["--auto"][..],
            format!("0 {TEST_UID} 1 1 200000 65536 65537 400000 1000"),
        ),
    ] {
        let (mut sleeper, pid) = unmapped_sleeper(As::User);
        let _kill = KillOnDrop(pid);
        let mut all = vec!["--pid", &*Box::leak(pid.to_string().into_boxed_str())];
        all.extend_from_slice(args);
        run(&mut tool(As::User, "mapids", &all)).ok();
        assert_eq!(map_of(pid, "uid"), uid_map, "{args:?}");
        // A map is written once: a second try is refused, and says so.
        let again = run(&mut tool(As::User, "mapids", &all));
        assert_eq!(again.status, 125);
        assert!(
            again
                .stderr
                .contains(&format!("process {pid} already has a uid map")),
            "{}",
            again.stderr
        );
        let _ = sleeper.kill();
        let _ = sleeper.wait();
    }
    // As root: any range, written directly.
    let (mut sleeper, pid) = unmapped_sleeper(As::Root);
    let _kill = KillOnDrop(pid);
    let p = pid.to_string();
    run(&mut tool(
        As::Root,
        "mapids",
        &[
            "--pid",
            &p,
            "--uid",
            "0:100000:65536",
            "--gid",
            "0:100000:65536",
            "--setgroups",
            "deny",
        ],
    ))
    .ok();
    assert_eq!(map_of(pid, "uid"), "0 100000 65536");
    assert_eq!(map_of(pid, "gid"), "0 100000 65536");
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/setgroups"))
            .unwrap()
            .trim(),
        "deny"
    );
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

#[test]
fn refusals_name_the_problem_and_write_nothing() {
    test_user();
    let (mut sleeper, pid) = unmapped_sleeper(As::User);
    let _kill = KillOnDrop(pid);
    let p = pid.to_string();
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "--uid",
                "0:200000:10",
                "--uid",
                "5:300000:10",
                "--gid",
                "0:4242:1",
            ],
            "mapids: uid ranges 0:200000:10 and 5:300000:10 overlap inside",
        ),
        (
            &[
                "--uid",
                "0:4242:1",
                "--uid",
                "1:500000:10",
                "--gid",
                "0:4242:1",
            ],
            "mapids: --uid 1:500000:10: outside uids 500000-500009 are not chaintest's to map (chaintest's subordinate uids are \
             200000-265535, 400000-400999; a line 'chaintest:500000:10' in /etc/subuid would allow it)",
        ),
        (
            &["--root", "--setgroups", "allow"],
            "needs setgroups denied",
        ),
    ];
    for (args, said) in cases {
        let mut all = vec!["--pid", p.as_str()];
        all.extend_from_slice(args);
        let out = run(&mut tool(As::User, "mapids", &all));
        assert_eq!(out.status, 125, "{args:?}");
        assert!(
            out.stderr.trim().starts_with(said) || out.stderr.contains(said),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1);
        assert_eq!(map_of(pid, "uid"), "", "{args:?} wrote a uid map");
        assert_eq!(map_of(pid, "gid"), "", "{args:?} wrote a gid map");
    }
    // The same checks before a chain: nothing runs.
    let out = run(&mut tool(
        As::User,
        "mapids",
        &[
            "--uid",
            "0:4242:1",
            "--uid",
            "1:500000:10",
            "--",
            &path("unshare-rs"),
            "-U",
            "touch",
            "/tmp/never",
        ],
    ));
    assert_eq!(out.status, 125);
    assert!(!Path::new("/tmp/never").exists());
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

#[test]
fn without_a_later_unshare_rs_the_helper_leaves_nothing() {
    let out = run(&mut tool(
        As::Root,
        "mapids",
        &["--root", "--", "sh", "-c", "echo $CHAIN_SYNC_FDS"],
    ))
    .ok();
    let entry = out.stdout.trim();
    let helper: i32 = entry
        .split_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("{entry:?}"));
    assert!(
        wait_until(Duration::from_secs(5), || !alive(helper)),
        "helper {helper} still runs"
    );
}

#[test]
fn a_rootless_container_cannot_write_what_its_user_could_not() {
    test_user();
    let dir = TempDir::new("mapids-host-files");
    // Owned by the host's root, readable by all, writable by root only.
    let file = dir.path("roots-file");
    std::fs::write(&file, "host\n").unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let bind = format!("{}:/etc/hostname", file.display());
    let script =
        "id -u; stat -c %u /etc/hostname; echo x >> /etc/hostname && echo wrote || echo denied";
    let out = rootless(
        As::User,
        &["--auto"],
        &["-Ufpnmui"],
        &["--bind", &bind],
        &["/bin/sh", "-c", script],
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    // Root inside, but the host's root is unmapped (nobody) and stays out of reach.
    assert_eq!(lines[..3], ["0", "65534", "denied"], "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "host\n");
    // Its capabilities are over its own user namespace, not the host's.
    let inside = rootless(As::User, &["--auto"], &["-Ufpnmui"], &[], &["/probe"])
        .ok()
        .json();
    assert_ne!(ns(&inside, "user"), ns(&host_probe(As::Root), "user"));
}

#[test]
fn own_ids_are_written_by_the_namespaces_creator_without_a_helper() {
    test_user();
    // No helper: the maps travel as CHAIN_SELF_WRITES for unshare-rs to write.
    let out = run(&mut tool(
        As::User,
        "mapids",
        &[
            "--root",
            "--",
            "sh",
            "-c",
            "echo \"$CHAIN_SYNC_FDS|$CHAIN_SELF_WRITES\"",
        ],
    ))
    .ok();
    assert_eq!(
        out.stdout.trim(),
        format!("|setgroups=deny;uid_map=0 {TEST_UID} 1;gid_map=0 {TEST_GID} 1")
    );
    // An unshare-rs that creates no user namespace cannot write them.
    let u = bin("unshare-rs");
    let out = run(&mut tool(
        As::User,
        "mapids",
        &["--root", "--", u.to_str().unwrap(), "--", "true"],
    ));
    assert_eq!(out.status, 125);
    assert_eq!(
        out.stderr.trim(),
        "unshare-rs: CHAIN_SELF_WRITES asks for id maps, but no user namespace was created: give unshare-rs -U (--user)"
    );
}
