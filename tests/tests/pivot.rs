//! pivot: a real container filesystem, checked from inside (the probe and
//! the rootfs's own tools) and from outside (the host is unchanged).

use e2e::*;

const NS: &[&str] = &["-fpnumi"];

#[test]
fn the_one_liner_runs_a_container() {
    let root = rootfs();
    let out = container(
        &["-fpnumi", "--hostname", "box"],
        &root,
        &[],
        &["/bin/sh", "-c", "hostname; id; ps; ls /"],
    )
    .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "box");
    assert!(
        lines[1].starts_with("uid=0(root) gid=0(root)"),
        "{}",
        lines[1]
    );
    // ps: a header, the shell as PID 1, ps itself; nothing of the host.
    let ps: Vec<&str> = lines
        .iter()
        .skip(2)
        .take_while(|l| !l.starts_with("bin"))
        .copied()
        .collect();
    assert_eq!(ps.len(), 3, "ps showed {ps:?}");
    assert!(ps[1].trim_start().starts_with("1 "), "{ps:?}");
    for entry in ["bin", "dev", "etc", "proc", "sys", "tmp", "probe"] {
        assert!(lines.contains(&entry), "ls / lacks {entry}: {lines:?}");
    }
}

#[test]
fn inside_there_are_only_the_containers_mounts_and_processes() {
    let root = rootfs();
    let inside = container(NS, &root, &[], &["/probe"]).ok().json();
    assert_eq!(inside["pid"], 1);
    assert_eq!(
        inside["pids"],
        serde_json::json!([1]),
        "/proc shows other processes"
    );
    assert_eq!(inside["root"], "/");
    assert_eq!(inside["cwd"], "/");
    let points: Vec<&str> = inside["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mount_point"].as_str().unwrap())
        .collect();
    // Every mount is one pivot made: the root, /proc, /sys, /dev and below.
    for p in &points {
        let ours = *p == "/"
            || ["/proc", "/sys", "/dev"]
                .iter()
                .any(|top| p == top || p.starts_with(&format!("{top}/")));
        assert!(
            ours,
            "a mount from outside is visible inside: {p} (all: {points:?})"
        );
    }
    assert_eq!(
        points.iter().filter(|p| **p == "/").count(),
        1,
        "the old root is still mounted: {points:?}"
    );
    // The host's own mounts (other than the kinds pivot makes) are gone.
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for p in mount_points(&host) {
        if !(p == "/" || p.starts_with("/proc") || p.starts_with("/sys") || p.starts_with("/dev")) {
            assert!(
                !points.contains(&p.as_str()),
                "host mount {p} visible inside"
            );
        }
    }
    // And the host's files: its root has /root and /usr/share, the rootfs not.
    let out = container(
        NS,
        &root,
        &[],
        &[
            "/bin/sh",
            "-c",
            "test -e /root/.bashrc -o -e /usr/share/doc && echo host || echo own",
        ],
    )
    .ok();
    assert_eq!(out.stdout.trim(), "own");
}

#[test]
fn devices_and_ptys_work() {
    let root = rootfs();
    let script = "head -c 16 /dev/urandom | wc -c; head -c 8 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; \
                  echo x > /dev/full 2>/dev/null || echo full-refuses; ls -l /dev/ptmx | cut -c1; /bin/pty";
    let out = container(NS, &root, &[], &["/bin/sh", "-c", script]).ok();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(
        lines[..5],
        ["16", "8", "null-ok", "full-refuses", "l"],
        "{}",
        out.stdout
    );
    assert!(lines[5].starts_with("pty ok /dev/pts/"), "{}", out.stdout);
}

#[test]
fn read_only_root_refuses_writes() {
    let root = rootfs();
    let out = container(
        NS,
        &root,
        &["--ro"],
        &["/bin/sh", "-c", "touch /written; echo $?"],
    );
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.trim(), "1");
    assert!(!root.join("written").exists());
    // The mounts below stay writable: /dev/shm is a tmpfs of its own.
    let out = container(
        NS,
        &root,
        &["--ro"],
        &["/bin/sh", "-c", "touch /dev/shm/ok && echo shm-writable"],
    )
    .ok();
    assert_eq!(out.stdout.trim(), "shm-writable");
}

#[test]
fn overlay_writes_land_in_the_upper_layer() {
    let dir = TempDir::new("overlay");
    for d in ["merged", "upper", "work"] {
        std::fs::create_dir(dir.path(d)).unwrap();
    }
    // A lower layer of its own: other tests add mount points to the shared one.
    let root = dir.path("lower");
    small_rootfs(&root);
    std::fs::create_dir(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/hostname"), "image\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    for applet in ["rm", "cat"] {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    let before = std::fs::read_dir(&root).unwrap().count();
    let lower = root.to_string_lossy().into_owned();
    let (upper, work) = (dir.str("upper"), dir.str("work"));
    let script =
        "echo new > /created && rm /etc/hostname && echo changed > /etc/group && cat /etc/group";
    let out = container(
        NS,
        &dir.path("merged"),
        &["--overlay", &lower, "--upper", &upper, "--work", &work],
        &["/bin/sh", "-c", script],
    )
    .ok();
    assert_eq!(out.stdout.trim(), "changed");
    assert_eq!(
        std::fs::read_to_string(dir.path("upper/created")).unwrap(),
        "new\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path("upper/etc/group")).unwrap(),
        "changed\n"
    );
    // The lower layer is as it was.
    assert!(!root.join("created").exists());
    assert!(root.join("etc/hostname").exists());
    assert_ne!(
        std::fs::read_to_string(root.join("etc/group")).unwrap(),
        "changed\n"
    );
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), before);

    // Without --upper, writes go to a tmpfs and vanish with the container.
    let out = container(
        NS,
        &dir.path("merged"),
        &["--overlay", &lower],
        &["/bin/sh", "-c", "echo t > /tmpfs-upper && cat /tmpfs-upper"],
    )
    .ok();
    assert_eq!(out.stdout.trim(), "t");
    assert!(!root.join("tmpfs-upper").exists() && !dir.path("merged/tmpfs-upper").exists());
}

#[test]
fn masked_paths_are_empty_and_kernel_settings_read_only() {
    let root = rootfs();
    let script = "wc -c < /proc/keys; ls /proc/acpi | wc -l; ls /sys/firmware | wc -l; \
                  echo changed > /proc/sys/kernel/hostname 2>/dev/null || echo sys-read-only";
    let out = container(NS, &root, &[], &["/bin/sh", "-c", script]).ok();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(lines, ["0", "0", "0", "sys-read-only"], "{}", out.stdout);
    assert!(
        std::fs::read_dir("/sys/firmware").unwrap().count() > 0,
        "the host has no /sys/firmware: the check shows nothing"
    );
    // --no-mask leaves them as the kernel has them; --mask adds a path.
    let out = container(
        NS,
        &root,
        &["--no-mask", "--mask", "/etc/passwd"],
        &[
            "/bin/sh",
            "-c",
            "ls /sys/firmware | wc -l; wc -c < /etc/passwd",
        ],
    )
    .ok();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_ne!(lines[0], "0");
    assert_eq!(lines[1], "0");
}

#[test]
fn the_chroot_escape_does_not_reach_the_host() {
    let root = rootfs();
    let marker = format!("/chain-escape-marker-{}", std::process::id());
    std::fs::write(&marker, "host").unwrap();
    let _remove = Cleanup(|| {
        let _ = std::fs::remove_file(&marker);
    });
    // Inside a pivoted container, the escape ends at the container's root.
    for pivot_args in [
        &["--tmpfs", "/work"][..],
        &["--no-pivot", "--tmpfs", "/work"],
    ] {
        let out = container(NS, &root, pivot_args, &["/bin/escape", "/work", &marker]).ok();
        assert_eq!(
            out.stdout.trim(),
            "contained",
            "{pivot_args:?}: {}",
            out.stderr
        );
    }
    // The same program under a plain chroot does escape: the check can fail.
    let script = format!(
        "mount -t tmpfs none {root}/tmp && exec chroot {root} /bin/escape /tmp {marker}",
        root = root.display()
    );
    let out = run(&mut command(
        As::Root,
        "unshare",
        &["-m", "sh", "-c", &script],
    ))
    .ok();
    assert_eq!(out.stdout.trim(), "escaped");
}

#[test]
fn a_hostile_rootfs_changes_nothing_on_the_host() {
    let dir = TempDir::new("hostile");
    let root = dir.path("root");
    let host_dir = dir.path("host-side");
    std::fs::create_dir_all(&host_dir).unwrap();
    small_rootfs(&root);
    let host = host_dir.to_string_lossy().into_owned();
    // Symlinks that would lead mounts and new directories onto the host.
    for (link, target) in [
        ("proc", "/"),
        ("dev", host.as_str()),
        ("sys", "../../../../.."),
        ("etc", host.as_str()),
        ("up", "../../../../../.."),
    ] {
        std::os::unix::fs::symlink(target, root.join(link)).unwrap();
    }
    let host_mounts = mount_points(&std::fs::read_to_string("/proc/self/mountinfo").unwrap());
    // A symlink at a mount target is refused.
    for (flag, path) in [("--no-sys", "/proc"), ("--no-proc", "/sys")] {
        let out = container(NS, &root, &[flag, "--no-dev"], &["/probe"]);
        assert_eq!(out.status, 125, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(":{path} is a symlink"))
                && out.stderr.contains("refusing to mount over it"),
            "{}",
            out.stderr
        );
    }
    // Paths through symlinks resolve inside the new root.
    let pivot_args = [
        "--no-proc",
        "--no-sys",
        "--no-dev",
        "--tmpfs",
        &format!("{host}/tmpfs"), // absolute: the same path inside
        "--mkdir",
        "/etc/made-through-link", // etc -> host dir
        "--mkdir",
        "/up/made-through-dotdot",
        "--bind",
        "/etc/hostname:/up/../../hostname-copy",
    ];
    let out = container(NS, &root, &pivot_args, &["/bin/ls", "-a", "/"]).ok();
    assert!(out.stdout.contains("made-through-dotdot"), "{}", out.stdout);
    assert_eq!(
        std::fs::read_dir(&host_dir).unwrap().count(),
        0,
        "something was created on the host side"
    );
    assert!(root.join("made-through-dotdot").is_dir());
    assert!(
        root.join(host.trim_start_matches('/'))
            .join("made-through-link")
            .is_dir()
    );
    assert_eq!(
        mount_points(&std::fs::read_to_string("/proc/self/mountinfo").unwrap()),
        host_mounts
    );
}

#[test]
fn refuses_the_hosts_mount_namespace_and_changes_nothing() {
    let root = rootfs();
    let before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let out = run(&mut tool(
        As::Root,
        "pivot",
        &[root.to_str().unwrap(), "/bin/true"],
    ));
    assert_eq!(out.status, 125);
    assert_eq!(
        out.stderr.trim(),
        "pivot: refusing to pivot the host's initial mount namespace (every process whose root is / would move): run under unshare-rs -m"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/self/mountinfo").unwrap(),
        before
    );
}

#[test]
fn bad_input_is_125_and_named() {
    let root = rootfs();
    for (args, named) in [
        (&[][..], "missing NEWROOT"),
        (&["--bogus"], "invalid option '--bogus'"),
        (&["/nonexistent-root", "true"], "/nonexistent-root"),
        (
            &[root.to_str().unwrap(), "--tmpfs", "relative", "true"],
            "not an absolute path",
        ),
    ] {
        let pivot = bin("pivot");
        let mut all = vec!["-m", "--", pivot.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = run(&mut tool(As::Root, "unshare-rs", &all));
        assert_eq!(out.status, 125, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("pivot: ") && out.stderr.contains(named),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    // A program missing in the image: 127, named.
    let out = container(NS, &root, &[], &["/no/such/program"]);
    assert_eq!(out.status, 127);
    assert!(
        out.stderr
            .starts_with("pivot: exec /no/such/program: No such file or directory"),
        "{}",
        out.stderr
    );
}

#[test]
fn verbose_says_which_proc_and_why_and_reports_fds_outside() {
    let root = rootfs();
    let out = container(NS, &root, &["-v"], &["/bin/true"]).ok();
    assert!(
        out.stderr
            .contains("/proc: a fresh proc, showing this process's PID namespace"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("pivot_root . . = ok"), "{}", out.stderr);
    // Without a new PID namespace owned by this process... as root a fresh
    // proc is still allowed; the choice is still named.
    let out = container(&["-m"], &root, &["-v"], &["/bin/true"]).ok();
    assert!(out.stderr.contains("/proc: a fresh proc"), "{}", out.stderr);

    // An inherited directory fd outside the new root is reported, and
    // --close-fds keeps it from the program.
    let host_root = std::fs::File::open("/").unwrap();
    let pivot = bin("pivot");
    let raw = std::os::fd::AsRawFd::as_raw_fd(&host_root);
    let args = [
        "-fpnumi",
        "--",
        pivot.to_str().unwrap(),
        root.to_str().unwrap(),
        "-v",
        "--close-fds",
        "--",
        "/probe",
    ];
    let out = run(&mut command_passing(
        As::Root,
        bin("unshare-rs"),
        &args,
        &[(raw, 9)],
    ))
    .ok();
    assert!(
        out.stderr
            .contains("inherited fd 9 is the directory /: closed, the program could leave the new root through it"),
        "{}",
        out.stderr
    );
    let inside = out.json();
    let fds: Vec<&String> = inside["fds"].as_object().unwrap().keys().collect();
    assert_eq!(fds, ["0", "1", "2"]);
}

#[test]
fn binds_tmpfs_symlinks_and_workdir() {
    let root = rootfs();
    let dir = TempDir::new("binds");
    std::fs::write(dir.path("shared.txt"), "from host").unwrap();
    let shared = dir.str("shared.txt");
    let pivot_args = [
        "--ro-bind",
        &format!("{shared}:/opt/shared.txt"),
        "--bind",
        &format!("{}:/mnt/rw", dir.0.display()),
        "--tmpfs",
        "/scratch",
        "--symlink",
        "/opt/shared.txt:/etc/linked",
        "--wd",
        "/scratch",
    ];
    let script = "cat /etc/linked; echo; pwd; echo x > /opt/shared.txt 2>/dev/null || echo ro; echo w > /mnt/rw/written && echo rw";
    let out = container(NS, &root, &pivot_args, &["/bin/sh", "-c", script]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        ["from host", "/scratch", "ro", "rw"],
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(dir.path("written")).unwrap(), "w\n");
}

#[test]
fn in_a_user_namespace_without_its_own_pid_and_net_namespaces_it_binds_the_hosts() {
    // util-linux `unshare -r` maps root to root in a new user namespace
    // (mapids will do this in the chain); the PID and network namespaces
    // stay the host's, which that user namespace does not own.
    let root = rootfs();
    let (u, p) = (bin("unshare-rs"), bin("pivot"));
    let script = "ls -d /proc/[0-9]* | wc -l; echo x > /dev/null && echo null-ok; \
                  echo x > /sys/kernel/test 2>/dev/null || echo sys-read-only; /bin/pty";
    let args = [
        "-r",
        u.to_str().unwrap(),
        "-m",
        "--",
        p.to_str().unwrap(),
        root.to_str().unwrap(),
        "-v",
        "--",
        "/bin/sh",
        "-c",
        script,
    ];
    let out = run(&mut command(As::Root, "unshare", &args)).ok();
    for reason in [
        "/proc: a fresh proc was refused",
        "binding the host's /proc",
        "/sys: a fresh sysfs was refused",
        "binding the host's /sys read-only",
        "/dev: in a user namespace mknod is never allowed: binding the host's device nodes",
        "devpts: gid 5 (tty) is not mapped here",
        "/dev/mqueue: refused",
    ] {
        assert!(
            out.stderr.contains(reason),
            "-v does not say {reason:?}: {}",
            out.stderr
        );
    }
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    let host_processes: usize = lines[0].parse().unwrap();
    assert!(
        host_processes > 1,
        "the host's /proc shows the host's processes"
    );
    assert_eq!(lines[1..3], ["null-ok", "sys-read-only"], "{}", out.stdout);
    assert!(lines[3].starts_with("pty ok /dev/pts/"), "{}", out.stdout);
}
