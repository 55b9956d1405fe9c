//! Hostile images and a hostile environment (issue 13): a rootfs whose
//! mount targets are symlinks out of it, fifos, sockets or device nodes,
//! paths with `..`, very long names and newlines, an image on a read-only
//! or nosuid file system; and a caller with leaked directory, namespace
//! and pidfd fds, odd signal state, low limits or closed standard fds.
//!
//! Every run either works and changes nothing outside the rootfs, or fails
//! with 125 and one line naming the offending path; the host's mount table,
//! its /dev and a canary directory the symlinks point at stay as they were.
//! pivot's README section *Safety* is the promise tested here.

use e2e::*;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Every run here is a few milliseconds: ten seconds means it hangs.
const LIMIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Running, and judging the outcome.

/// Runs within [`LIMIT`], killing the command and failing if it overruns.
fn run_limited(cmd: &mut Command) -> Out {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_limited(child)
}

/// Waits for `child` (reading what is left of its piped stdout and stderr)
/// within [`LIMIT`], killing it and failing if it overruns.
fn wait_limited(child: std::process::Child) -> Out {
    let pid = child.id() as i32;
    let guard = KillOnDrop(pid);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(LIMIT) {
        Ok(out) => out.expect("wait"),
        Err(_) => panic!("command {pid} hung: still running after {LIMIT:?}"),
    };
    // Reaped: its pid may be someone else's now.
    std::mem::forget(guard);
    let status = output.status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&output.status).unwrap_or(0)
    });
    let out = Out {
        status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!out.stderr.contains("panicked"), "a tool panicked: {out:?}");
    out
}

fn path_of(name: &str) -> String {
    bin(name).to_string_lossy().into_owned()
}

/// `unshare-rs -fpnumi -- pivot ROOT PIVOT -- ARGV` as root.
fn chain(root: &Path, pivot: &[&str], argv: &[&str]) -> Command {
    chain_as(Form::Root, root, pivot, argv, &[])
}

/// The chain forms the environment tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `unshare-rs -fpnumi -- pivot ROOT ... -- ARGV` as root.
    Root,
    /// The same ending in `seccompctl --default -- ARGV`.
    Seccomp,
    /// `mapids --root -- unshare-rs -Ufpnmui -- pivot ...` as the test user.
    Rootless,
    /// The headline chain as root, every tool but mapids: `unshare-rs -n`
    /// (a throwaway host network namespace, gone with the run) -- cgctl
    /// --mem 64M -- vethctl -- unshare-rs -fpumi -- pivot -- seccompctl
    /// --default -- ARGV.
    Full,
}

const FORMS: [Form; 4] = [Form::Root, Form::Seccomp, Form::Rootless, Form::Full];

/// A chain in `form`, with the fds `pass` (`(from, to)`) given to it.
fn chain_as(
    form: Form,
    root: &Path,
    pivot: &[&str],
    argv: &[&str],
    pass: &[(i32, i32)],
) -> Command {
    let (unshare, pivot_bin) = (path_of("unshare-rs"), path_of("pivot"));
    let (mapids, seccompctl) = (path_of("mapids"), path_of("seccompctl"));
    let root = root.to_string_lossy().into_owned();
    let (cgctl, vethctl) = (path_of("cgctl"), path_of("vethctl"));
    let mut args: Vec<&str> = Vec::new();
    let (who, program) = match form {
        Form::Rootless => {
            test_user();
            args.extend(["--root", "--", &unshare, "-Ufpnmui"]);
            (As::User, &mapids)
        }
        Form::Full => {
            #[rustfmt::skip]
            args.extend([
                "-n", "--",
                &cgctl, "--mem", "64M", "--",
                &vethctl, "--addr", "10.86.0.2/24", "--host-addr", "10.86.0.1/24", "--",
                &unshare, "-fpnumi",
            ]);
            (As::Root, &unshare)
        }
        Form::Root | Form::Seccomp => {
            args.push("-fpnumi");
            (As::Root, &unshare)
        }
    };
    args.extend(["--", &pivot_bin, &root]);
    args.extend_from_slice(pivot);
    args.push("--");
    if matches!(form, Form::Seccomp | Form::Full) {
        args.extend([seccompctl.as_str(), "--default", "--"]);
    }
    args.extend_from_slice(argv);
    command_passing(who, program, &args, pass)
}

/// Failed with 125 and one line from pivot that names `named`.
#[track_caller]
fn assert_refused(out: &Out, named: &str) {
    assert_eq!(
        out.status, 125,
        "expected a refusal naming {named:?}: {out:?}"
    );
    assert_one_line(out, "pivot: ");
    assert!(
        out.stderr.contains(named),
        "does not name {named:?}: {out:?}"
    );
}

/// stderr is exactly one line, from the named tool.
#[track_caller]
fn assert_one_line(out: &Out, prefix: &str) {
    assert!(
        out.stderr.starts_with(prefix)
            && out.stderr.ends_with('\n')
            && out.stderr.matches('\n').count() == 1,
        "not one line starting {prefix:?}: {:?}",
        out.stderr
    );
}

/// Either it worked, or it failed with 125 and one line naming `named`.
#[track_caller]
fn assert_works_or_names(out: &Out, named: &str) {
    if out.status != 0 {
        assert_refused(out, named);
    }
}

// ---------------------------------------------------------------------------
// The host, before and after.

/// What must not change outside the rootfs: the test process's mount
/// table, the host's /dev, and the canary tree the image's symlinks aim at.
#[derive(Debug, PartialEq, Eq)]
struct Host {
    mounts: Vec<String>,
    dev: Vec<String>,
    canary: Vec<String>,
}

impl Host {
    fn now(canary: &Path) -> Host {
        Host {
            mounts: host_mounts(),
            dev: dev_entries(),
            canary: tree(canary),
        }
    }

    #[track_caller]
    fn assert_unchanged(&self, canary: &Path, what: &str) {
        let now = Host::now(canary);
        assert_eq!(self.mounts, now.mounts, "{what}: the host's mounts changed");
        assert_eq!(self.dev, now.dev, "{what}: the host's /dev changed");
        assert_eq!(self.canary, now.canary, "{what}: the canary changed");
        let canary = canary.to_string_lossy();
        assert!(
            !now.mounts.iter().any(|l| l.contains(&*canary)),
            "{what}: something is mounted on the canary"
        );
    }
}

/// /proc/self/mountinfo, without the mounts of other test processes' own
/// temporary directories (other test binaries may run at the same time).
fn host_mounts() -> Vec<String> {
    let others = std::env::temp_dir().join("chain-e2e-");
    let others = others.to_string_lossy().into_owned();
    let mine = format!("-{}", std::process::id());
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            let point = l.split(' ').nth(4).unwrap_or("");
            let top = point
                .strip_prefix(&others)
                .map(|rest| rest.split('/').next().unwrap_or(""));
            top.is_none_or(|t| t.ends_with(&mine))
        })
        .map(String::from)
        .collect()
}

/// The host's /dev, one level: name, mode, device number.
fn dev_entries() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("/dev")
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.path().symlink_metadata().unwrap();
            format!(
                "{} {:o} {}",
                e.file_name().to_string_lossy(),
                m.mode(),
                m.rdev()
            )
        })
        .collect();
    out.sort();
    out
}

/// Every entry below `dir`: path, mode, and content or link target.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = format!("{rel}/{}", e.file_name().to_string_lossy());
            let m = e.path().symlink_metadata().unwrap();
            let what = if m.is_dir() {
                String::new()
            } else if m.file_type().is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            } else {
                String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned()
            };
            out.push(format!("{name} {:o} {what:?}", m.mode()));
            if m.is_dir() {
                walk(&e.path(), &name, out);
            }
        }
    }
    let meta = std::fs::metadata(dir).unwrap();
    let mut out = vec![format!(". {:o}", meta.mode())];
    walk(dir, "", &mut out);
    out
}

/// A test's directories: the image, and a canary outside it (a secret file,
/// a subdirectory, a host program) that the hostile symlinks point at.
struct Scene {
    dir: TempDir,
    root: PathBuf,
    canary: PathBuf,
    secret: PathBuf,
}

impl Scene {
    fn new(name: &str) -> Scene {
        let dir = TempDir::new(name);
        let root = dir.path("root");
        small_rootfs(&root);
        for applet in ["grep", "wc", "id"] {
            symlink("busybox", &root.join("bin").join(applet));
        }
        for sub in ["proc", "sys", "dev", "etc", "mnt"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
        let canary = dir.path("host");
        std::fs::create_dir_all(canary.join("sub")).unwrap();
        let secret = canary.join("secret");
        std::fs::write(&secret, "canary\n").unwrap();
        std::fs::set_permissions(&secret, PermissionsExt::from_mode(0o600)).unwrap();
        std::fs::write(canary.join("sub/inner"), "inner\n").unwrap();
        let prog = canary.join("hostprog");
        std::fs::write(&prog, "#!/bin/sh\necho escaped\n").unwrap();
        std::fs::set_permissions(&prog, PermissionsExt::from_mode(0o755)).unwrap();
        Scene {
            dir,
            root,
            canary,
            secret,
        }
    }

    fn host(&self) -> Host {
        Host::now(&self.canary)
    }

    fn unchanged(&self, before: &Host, what: &str) {
        before.assert_unchanged(&self.canary, what);
    }

    /// The image's path for `inside` (`/etc/passwd` -> ROOT/etc/passwd).
    fn at(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// Replaces whatever the image has at `inside` with what `make` makes.
    fn replace(&self, inside: &str, make: impl FnOnce(&Path)) {
        let path = self.at(inside);
        remove(&path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        make(&path);
    }

    /// Puts back a plain directory (or file) at `inside`.
    fn restore(&self, inside: &str, dir: bool) {
        self.replace(inside, |p| {
            if dir {
                std::fs::create_dir(p).unwrap()
            } else {
                std::fs::write(p, "image\n").unwrap()
            }
        });
    }

    fn s(&self, host: &Path) -> String {
        host.to_string_lossy().into_owned()
    }
}

fn remove(path: &Path) {
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}

fn symlink(target: &str, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// `..` enough times to climb from anywhere in the image to the host's `/`.
fn climb(to: &str) -> String {
    format!("{}{to}", "../".repeat(24).trim_end_matches('/'))
}

// ---------------------------------------------------------------------------
// Hostile images.

/// Every mount target of pivot's, and how to make pivot mount there; a
/// file target (`/etc/passwd`) has `file` set.
fn mount_targets(s: &Scene) -> Vec<(&'static str, Vec<String>, bool)> {
    let src_dir = s.dir.path("bind-src");
    std::fs::create_dir_all(&src_dir).unwrap();
    let src_file = s.dir.path("bind-src.txt");
    std::fs::write(&src_file, "bound\n").unwrap();
    let (d, f) = (s.s(&src_dir), s.s(&src_file));
    let v = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        ("/proc", v(&[]), false),
        ("/sys", v(&[]), false),
        ("/dev", v(&[]), false),
        ("/tmp", v(&["--tmpfs", "/tmp"]), false),
        ("/dev/pts", v(&["--no-dev", "--tmpfs", "/dev/pts"]), false),
        (
            "/dev/shm",
            v(&["--no-dev", "--bind", &format!("{d}:/dev/shm")]),
            false,
        ),
        ("/mnt", v(&["--ro-bind", &format!("{d}:/mnt")]), false),
        (
            "/etc/passwd",
            v(&["--ro-bind", &format!("{f}:/etc/passwd")]),
            true,
        ),
        (
            "/etc/passwd",
            v(&["--bind", &format!("{f}:/etc/passwd")]),
            true,
        ),
        ("/etc/passwd", v(&["--mask", "/etc/passwd"]), true),
    ]
}

#[test]
fn symlinks_at_mount_targets_are_refused_naming_the_path() {
    let s = Scene::new("hostile-symlinks");
    let (canary, secret) = (s.s(&s.canary), s.s(&s.secret));
    let long = format!("/{}", "l/".repeat(2000));
    let links = [
        canary.clone(),
        secret.clone(),
        "/".to_string(),
        "/etc".to_string(),
        "/root".to_string(),
        climb(&canary),
        climb(&secret),
        "../../../../..".to_string(),
        long,
    ];
    let before = s.host();
    for (target, args, file) in mount_targets(&s) {
        for link in &links {
            s.replace(target, |p| symlink(link, p));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_limited(&mut chain(&s.root, &args, &["/bin/true"]));
            let what = format!("{target} -> {link} with {args:?}");
            assert_refused(&out, &format!(":{target} is a symlink"));
            assert!(
                out.stderr.contains("refusing to mount over it"),
                "{what}: {out:?}"
            );
            assert_eq!(std::fs::read_link(s.at(target)).unwrap(), Path::new(link));
            s.unchanged(&before, &what);
        }
        s.restore(target, !file);
    }
}

#[test]
fn symlinks_below_the_fresh_dev_are_hidden_not_followed() {
    let s = Scene::new("hostile-dev-links");
    let canary = s.s(&s.canary);
    for name in ["pts", "shm", "null", "mqueue"] {
        symlink(&canary, &s.at(&format!("/dev/{name}")));
    }
    let before = s.host();
    let out = run_limited(&mut chain(&s.root, &[], &["/probe"])).ok();
    let inside = out.json();
    let fstype = |point: &str| {
        inside["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mount_point"] == point)
            .map(|m| m["fstype"].as_str().unwrap().to_string())
    };
    assert_eq!(fstype("/dev").as_deref(), Some("tmpfs"));
    assert_eq!(fstype("/dev/pts").as_deref(), Some("devpts"));
    assert_eq!(fstype("/dev/shm").as_deref(), Some("tmpfs"));
    s.unchanged(&before, "dev links");
    assert_eq!(std::fs::read_link(s.at("/dev/pts")).unwrap(), s.canary);
}

/// Makes a fifo, a unix socket or a character device at `path`.
fn special(kind: &str, path: &Path) {
    match kind {
        "fifo" => {
            nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap()
        }
        "socket" => drop(std::os::unix::net::UnixListener::bind(path).unwrap()),
        "device" => nix::sys::stat::mknod(
            path,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap(),
        _ => unreachable!(),
    }
}

#[test]
fn fifos_sockets_and_device_nodes_at_mount_targets() {
    let s = Scene::new("hostile-nodes");
    let before = s.host();
    for (target, args, file) in mount_targets(&s) {
        for kind in ["fifo", "socket", "device"] {
            s.replace(target, |p| special(kind, p));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let what = format!("{target} as a {kind} with {args:?}");
            let out = run_limited(&mut chain(&s.root, &args, &["/bin/cat", "/etc/passwd"]));
            if file {
                // A file mount covers any non-directory: the bound file (or
                // /dev/null for --mask) is what the container reads.
                let expected = if args[0] == "--mask" { "" } else { "bound\n" };
                assert_eq!(
                    (out.status, out.stdout.as_str()),
                    (0, expected),
                    "{what}: {out:?}"
                );
            } else {
                assert_refused(&out, &format!(":{target} is not a directory"));
            }
            let ft = s.at(target).symlink_metadata().unwrap().file_type();
            assert!(
                ft.is_fifo() || ft.is_socket() || ft.is_char_device(),
                "{what}"
            );
            s.unchanged(&before, &what);
        }
        s.restore(target, !file);
    }
}

#[test]
fn creating_through_symlinks_creates_inside_the_image_or_names_the_path() {
    let s = Scene::new("hostile-create");
    let (canary, secret) = (s.s(&s.canary), s.s(&s.secret));
    symlink(&canary, &s.at("/lnk"));
    symlink(&climb(&canary), &s.at("/rel"));
    let before = s.host();
    let bind = |dst: &str| format!("{secret}:{dst}");
    // The canary's path does not exist in the image: either the link leads
    // nowhere (refused, named) or what it names is made in the image.
    for link in ["/lnk", "/rel"] {
        for args in [
            vec!["--mkdir".to_string(), format!("{link}/made")],
            vec!["--tmpfs".into(), format!("{link}/sub/t")],
            vec!["--bind".into(), bind(&format!("{link}/f"))],
            vec!["--symlink".into(), format!("/x:{link}/l")],
            vec!["--wd".into(), format!("{link}/sub")],
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_limited(&mut chain(&s.root, &args, &["/bin/true"]));
            assert_works_or_names(&out, &format!(":{link}"));
            s.unchanged(&before, &format!("{args:?}"));
        }
    }
    // With the canary's path in the image, the links lead there.
    std::fs::create_dir_all(s.root.join(canary.trim_start_matches('/'))).unwrap();
    let args = [
        "--mkdir",
        "/lnk/made",
        "--tmpfs",
        "/rel/sub",
        "--wd",
        "/rel/sub",
    ];
    let out = run_limited(&mut chain(&s.root, &args, &["/bin/sh", "-c", "pwd"])).ok();
    assert_eq!(out.stdout, format!("{canary}/sub\n"));
    let inside = s.root.join(canary.trim_start_matches('/'));
    assert!(inside.join("made").is_dir() && inside.join("sub").is_dir());
    s.unchanged(&before, "through links into the image");
}

#[test]
fn dotdot_in_paths_stays_inside_and_means_the_parent() {
    let s = Scene::new("hostile-dotdot");
    let canary = s.s(&s.canary);
    symlink("../../../../../../..", &s.at("/up"));
    let file = s.dir.path("f.txt");
    std::fs::write(&file, "bound\n").unwrap();
    let before = s.host();
    let climbed = format!("/../../../../../../..{canary}");
    let args = [
        "--mkdir".to_string(),
        format!("{climbed}/made"),
        "--mkdir".into(),
        "/a/../b".into(),
        "--tmpfs".into(),
        "/up/../../scratch".into(),
        "--bind".into(),
        format!("{}:/etc/../../../../bound", s.s(&file)),
        "--symlink".into(),
        "/bound:/../../linked".into(),
        "--wd".into(),
        "/../../../up/..".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let script = "pwd; cat /bound /linked; grep -c ' /scratch ' /proc/self/mountinfo";
    let out = run_limited(&mut chain(&s.root, &args, &["/bin/sh", "-c", script])).ok();
    assert_eq!(out.stdout, "/\nbound\nbound\n1\n", "{}", out.stderr);
    // Created in the image, with `..` meaning the parent and stopping at /.
    assert!(
        s.root
            .join(canary.trim_start_matches('/'))
            .join("made")
            .is_dir()
    );
    assert!(s.at("/b").is_dir(), "/a/../b is /b");
    assert!(!s.at("/a/b").exists(), "/a/../b made /a/b");
    assert!(s.at("/scratch").is_dir() && s.at("/bound").is_file());
    assert_eq!(
        std::fs::read_link(s.at("/linked")).unwrap(),
        Path::new("/bound")
    );
    s.unchanged(&before, "dotdot");
}

#[test]
fn very_long_names_work_up_to_the_limits_and_are_named_beyond() {
    let s = Scene::new("hostile-long");
    let before = s.host();
    let max = format!("/{}", "n".repeat(255));
    let over = format!("/{}", "o".repeat(256));
    let deep = format!("/{}", vec!["d".repeat(200); 19].join("/")); // 3819 bytes
    let too_deep = format!("/{}", vec!["e".repeat(200); 21].join("/")); // 4221 bytes
    for (flag, path) in [("--mkdir", &max), ("--tmpfs", &max), ("--mkdir", &deep)] {
        let out = run_limited(&mut chain(&s.root, &[flag, path], &["/bin/true"]));
        assert_eq!(out.status, 0, "{flag} {}: {}", path.len(), out.stderr);
        assert!(s.at(path).is_dir());
    }
    let file = s.s(&s.secret);
    for (flag, path) in [
        ("--mkdir", over.clone()),
        ("--tmpfs", over.clone()),
        ("--bind", format!("{file}:{over}")),
        ("--symlink", format!("/x:{over}")),
        ("--mkdir", too_deep.clone()),
        ("--tmpfs", format!("{too_deep}/t")),
        ("--wd", over.clone()),
    ] {
        let out = run_limited(&mut chain(&s.root, &[flag, &path], &["/bin/true"]));
        let named = if path.contains(&over) {
            &over
        } else {
            "eeeeeeeeee"
        };
        assert_refused(&out, named);
        // glibc says "File name too long", musl "Filename too long".
        assert!(
            out.stderr.contains("name too long"),
            "{flag}: {}",
            out.stderr
        );
    }
    assert!(!s.at(&over).exists());
    s.unchanged(&before, "long names");
}

#[test]
fn newlines_in_names_stay_one_path_and_errors_stay_one_line() {
    let s = Scene::new("hostile-newline");
    let file = s.s(&s.secret);
    let before = s.host();
    let args = [
        "--mkdir".to_string(),
        "/a\nb".into(),
        "--tmpfs".into(),
        "/c\nd".into(),
        "--bind".into(),
        format!("{file}:/e\nf"),
        "--symlink".into(),
        "/e\nf:/g\nh".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_limited(&mut chain(&s.root, &args, &["/bin/cat", "/g\nh"])).ok();
    assert_eq!(out.stdout, "canary\n");
    assert!(s.at("/a\nb").is_dir() && s.at("/c\nd").is_dir() && s.at("/e\nf").is_file());
    assert!(!s.at("/a").exists() && !s.at("/b").exists());
    s.unchanged(&before, "newline names");

    // Errors about such names are still one line, the newline escaped.
    std::fs::write(s.at("/file\nx"), "").unwrap();
    symlink("/\npivot: a line the image wrote", &s.at("/proc-link"));
    let cases: [(&[&str], &str); 5] = [
        (&["--bind", "/nonexistent\nsrc:/x"], "/nonexistent\\nsrc"),
        (&["--tmpfs", "relative\nname"], "relative\\nname"),
        (&["--mkdir", "/file\nx/sub"], "/file\\nx/sub"),
        (&["--tmpfs", "/file\nx"], "/file\\nx"),
        (&["--wd", "/no\nwd"], "/no\\nwd"),
    ];
    for (args, named) in cases {
        let out = run_limited(&mut chain(&s.root, args, &["/bin/true"]));
        assert_refused(&out, named);
    }
    remove(&s.at("/proc"));
    std::fs::rename(s.at("/proc-link"), s.at("/proc")).unwrap();
    let out = run_limited(&mut chain(&s.root, &[], &["/bin/true"]));
    assert_refused(&out, "is a symlink (to /\\npivot: a line the image wrote)");
    s.unchanged(&before, "newline errors");
}

/// Runs the chain with the image's directory mounted on itself with
/// `options` (ro, nosuid) in a throw-away mount namespace of util-linux
/// `unshare`: the host's mount table never sees that mount.
fn on_own_mount(s: &Scene, options: &str, pivot: &[&str], argv: &[&str]) -> Out {
    let root = s.s(&s.root);
    let script =
        r#"mount --bind "$1" "$1" && mount -o "remount,bind,$2" "$1" && shift 2 && exec "$@""#;
    let (u, p) = (path_of("unshare-rs"), path_of("pivot"));
    let mut args = vec!["-m", "--propagation", "private", "sh", "-c", script, "sh"];
    args.extend([root.as_str(), options, &u, "-fpnumi", "--", &p, &root]);
    args.extend_from_slice(pivot);
    args.push("--");
    args.extend_from_slice(argv);
    run_limited(&mut command(As::Root, "unshare", &args))
}

#[test]
fn an_image_on_a_read_only_or_nosuid_file_system() {
    if !have("unshare") || !have("mount") {
        return skip("util-linux unshare and mount are needed to mount the image read-only");
    }
    let s = Scene::new("hostile-ro");
    std::fs::create_dir(s.at("/tmp/existing")).unwrap();
    let bind_file = format!("{}:/etc/newfile", s.s(&s.secret));
    let before = s.host();
    // Everything pivot mounts on exists in the image: it works, and the image
    // stays read-only inside; its own mounts stay writable.
    let script = "touch /written 2>/dev/null || echo ro; touch /tmp/existing/w && echo tmpfs-rw";
    let out = on_own_mount(
        &s,
        "ro",
        &["--tmpfs", "/tmp/existing"],
        &["/bin/sh", "-c", script],
    )
    .ok();
    assert_eq!(out.stdout, "ro\ntmpfs-rw\n", "{}", out.stderr);
    assert!(!s.at("/written").exists());
    // A missing mount point cannot be made: named, with the way out.
    for (args, named) in [
        (&["--tmpfs", "/newdir"][..], ":/newdir"),
        (&["--mkdir", "/etc/new"], ":/etc/new"),
        (&["--symlink", "/x:/newlink"], ":/newlink"),
        (&["--bind", &bind_file], ":/etc/newfile"),
    ] {
        let out = on_own_mount(&s, "ro", args, &["/bin/true"]);
        assert_refused(&out, named);
        assert!(
            out.stderr.contains("Read-only file system"),
            "{}",
            out.stderr
        );
    }
    remove(&s.at("/dev"));
    let out = on_own_mount(&s, "ro", &[], &["/bin/true"]);
    assert_refused(&out, ":/dev");
    assert!(!s.at("/dev").exists());

    // nosuid stays nosuid inside: the container's / is the image's mount.
    let out = on_own_mount(&s, "nosuid", &[], &["/probe"]).ok();
    let inside = out.json();
    let root = inside["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mount_point"] == "/")
        .unwrap()
        .clone();
    let options = root["options"].as_str().unwrap();
    assert!(options.split(',').any(|o| o == "nosuid"), "{root}");
    s.unchanged(&before, "read-only and nosuid images");
}

// ---------------------------------------------------------------------------
// A hostile environment.

/// The probe's open fds (number -> what it is).
fn fds(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut fds: Vec<(String, String)> = report["fds"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    fds.sort_by_key(|(k, _)| k.parse::<i32>().unwrap());
    fds
}

fn fd_numbers(report: &serde_json::Value) -> Vec<String> {
    fds(report).into_iter().map(|(k, _)| k).collect()
}

/// The probe's report shows fds 0-2 and the plain file passed on fd 7,
/// nothing else.
#[track_caller]
fn assert_only_the_plain_file_passed(form: Form, inside: &serde_json::Value) {
    assert_eq!(
        fd_numbers(inside),
        ["0", "1", "2", "7"],
        "{form:?}: {inside}"
    );
    assert!(
        fds(inside)[3].1.ends_with("/host/secret"),
        "{form:?}: {inside}"
    );
}

#[test]
fn inherited_directory_fds_never_reach_the_workload() {
    let s = Scene::new("hostile-fds");
    let root = rootfs();
    let outside = open_high(&s.canary);
    // A directory of the image, opened on the host: its mount is the host's,
    // so `..` from it walks out of the container too.
    let image_dir = open_high(&root.join("bin"));
    let plain = open_high(&s.secret);
    let pass = [
        (outside.as_raw_fd(), 5),
        (plain.as_raw_fd(), 7),
        (image_dir.as_raw_fd(), 9),
    ];
    let before = s.host();
    for form in FORMS {
        // The caller's other fds are its business and pass (README,
        // "Hygiene"); its directories never do.
        let out = run_limited(&mut chain_as(form, &root, &[], &["/probe"], &pass)).ok();
        assert_only_the_plain_file_passed(form, &out.json());
        let out = run_limited(&mut chain_as(
            form,
            &root,
            &["--close-fds"],
            &["/probe"],
            &pass,
        ))
        .ok();
        assert_eq!(
            fd_numbers(&out.json()),
            ["0", "1", "2"],
            "{form:?} --close-fds"
        );
        // Nor can the workload climb out through one.
        let out = run_limited(&mut chain_as(
            form,
            &root,
            &[],
            &[
                "/bin/sh",
                "-c",
                "ls /proc/self/fd/5/ /proc/self/fd/9/../.. 2>&1; true",
            ],
            &pass,
        ))
        .ok();
        assert!(
            !out.stdout.contains("secret") && !out.stdout.contains("e2e-rootfs"),
            "{form:?}: {}",
            out.stdout
        );
    }
    s.unchanged(&before, "inherited fds");
}

#[test]
fn inherited_namespace_fds_and_pidfds_never_reach_the_workload() {
    // setns(2) on either would take the program back into the host's
    // namespaces, past every mount pivot made; a pidfd also signals.
    let s = Scene::new("hostile-nsfds");
    let root = rootfs();
    let host_mnt = open_high(Path::new("/proc/self/ns/mnt"));
    let host_net = open_high(Path::new("/proc/self/ns/net"));
    let pidfd = own_pidfd();
    let plain = open_high(&s.secret);
    let pass = [
        (host_mnt.as_raw_fd(), 5),
        (plain.as_raw_fd(), 7),
        (pidfd.as_raw_fd(), 8),
        (host_net.as_raw_fd(), 9),
    ];
    let before = s.host();
    for form in FORMS {
        let out = run_limited(&mut chain_as(form, &root, &[], &["/probe"], &pass)).ok();
        assert_only_the_plain_file_passed(form, &out.json());
    }
    // -v names each, with what it is.
    let out = run_limited(&mut chain_as(
        Form::Root,
        &root,
        &["-v"],
        &["/bin/true"],
        &pass,
    ))
    .ok();
    for line in [
        "inherited fd 5 is the namespace mnt:[",
        "inherited fd 8 is the pidfd anon_inode:[pidfd]: closed",
        "inherited fd 9 is the namespace net:[",
    ] {
        assert!(out.stderr.contains(line), "{line}: {}", out.stderr);
    }
    // On stdin it is refused, as a directory is.
    let out = run_limited(&mut chain_as(
        Form::Root,
        &root,
        &[],
        &["/bin/true"],
        &[(host_mnt.as_raw_fd(), 0)],
    ));
    assert_refused(&out, "fd 0 (stdin) is the namespace mnt:[");
    s.unchanged(&before, "namespace fds and pidfds");
}

#[test]
fn the_chains_own_fds_are_not_taken_for_the_callers() {
    // vethctl's late helper hands its socket and a pidfd down the chain
    // (CHAIN_LATE_FDS): pivot must leave both to the step that collects
    // them, with and without --close-fds, and the workload sees neither.
    let root = rootfs();
    for extra in [&["-v"][..], &["-v", "--close-fds"]] {
        let out = run_limited(&mut chain_as(Form::Full, &root, extra, &["/probe"], &[])).ok();
        assert!(
            !out.stderr.contains("is the pidfd"),
            "{extra:?}: {}",
            out.stderr
        );
        assert_eq!(fd_numbers(&out.json()), ["0", "1", "2"], "{extra:?}");
    }
}

#[test]
fn verbose_names_every_inherited_directory_it_closes() {
    let root = rootfs();
    let image_dir = open_high(&root.join("bin"));
    let pass = [(image_dir.as_raw_fd(), 9)];
    let out = run_limited(&mut chain_as(
        Form::Root,
        &root,
        &["-v"],
        &["/bin/true"],
        &pass,
    ))
    .ok();
    let bin = root.join("bin");
    assert!(
        out.stderr.contains(&format!(
            "inherited fd 9 is the directory {}: closed, the program could leave the new root through it",
            bin.display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_directory_on_stdin_stdout_or_stderr_is_refused() {
    let s = Scene::new("hostile-stdio-dir");
    let root = rootfs();
    let dir = open_high(&s.canary);
    let before = s.host();
    for fd in [0, 1] {
        let out = run_limited(&mut chain_as(
            Form::Root,
            &root,
            &[],
            &["/bin/true"],
            &[(dir.as_raw_fd(), fd)],
        ));
        assert_refused(&out, &format!("fd {fd}"));
        assert!(out.stderr.contains(&s.s(&s.canary)), "{}", out.stderr);
    }
    // On stderr the refusal cannot be read, but it is still a refusal.
    let out = run_limited(&mut chain_as(
        Form::Root,
        &root,
        &[],
        &["/bin/true"],
        &[(dir.as_raw_fd(), 2)],
    ));
    assert_eq!(out.status, 125);
    s.unchanged(&before, "directory on stdio");
}

#[test]
fn a_workdir_through_a_magic_link_is_refused() {
    // runc's CVE-2024-21626: the working directory named through
    // /proc/self/fd/N of an inherited directory is the host's directory.
    let s = Scene::new("hostile-wd");
    let dir = open_high(&s.canary);
    let pass = [(dir.as_raw_fd(), 9)];
    symlink("/proc/self/fd/9", &s.at("/wd-link"));
    symlink("../../../..", &s.at("/up"));
    let before = s.host();
    for form in FORMS {
        for extra in [&[][..], &["--close-fds"]] {
            for wd in [
                "/proc/self/fd/9",
                "/wd-link",
                "/proc/self/cwd",
                "/proc/1/root/bin",
            ] {
                let mut args = vec!["--wd", wd];
                args.extend_from_slice(extra);
                let out = run_limited(&mut chain_as(
                    form,
                    &s.root,
                    &args,
                    &["/bin/ls", "."],
                    &pass,
                ));
                assert!(
                    !out.stdout.contains("secret"),
                    "{form:?} --wd {wd}: the host's directory: {out:?}"
                );
                assert_refused(&out, wd);
            }
        }
        // Ordinary symlinks in the image resolve inside it.
        let out = run_limited(&mut chain_as(
            form,
            &s.root,
            &["--wd", "/up/bin"],
            &["/bin/sh", "-c", "pwd"],
            &pass,
        ))
        .ok();
        assert_eq!(out.stdout, "/bin\n");
    }
    s.unchanged(&before, "magic link workdir");
}

#[test]
fn an_image_symlink_through_an_inherited_fd_does_not_run_a_host_program() {
    let s = Scene::new("hostile-exec");
    let dir = open_high(&s.canary);
    symlink("/proc/self/fd/9/hostprog", &s.at("/bin/evil"));
    let before = s.host();
    let out = run_limited(&mut chain_as(
        Form::Root,
        &s.root,
        &[],
        &["/bin/evil"],
        &[(dir.as_raw_fd(), 9)],
    ));
    assert_ne!(out.stdout, "escaped\n", "the image ran the host's program");
    assert_eq!(out.status, 127, "{out:?}");
    assert_one_line(&out, "pivot: exec /bin/evil");
    s.unchanged(&before, "exec through an fd");
}

#[test]
fn binding_an_inherited_directory_fd_is_refused_in_one_line() {
    // --bind /proc/self/fd/N of a directory opened before unshare-rs -m: the
    // kernel does not bind from another mount namespace's mount (EINVAL).
    let s = Scene::new("hostile-bind-fd");
    let dir = open_high(&s.canary);
    let before = s.host();
    let out = run_limited(&mut chain_as(
        Form::Root,
        &s.root,
        &["--bind", "/proc/self/fd/9:/mnt"],
        &["/bin/true"],
        &[(dir.as_raw_fd(), 9)],
    ));
    assert_refused(&out, ":/mnt");
    assert!(
        out.stderr
            .contains("/proc/self/fd/9 is on a mount of another mount namespace"),
        "{}",
        out.stderr
    );
    s.unchanged(&before, "bind of an inherited fd");
}

/// A change to the caller's process state, made in the child before exec.
#[derive(Debug, Clone, Copy)]
enum Setup {
    IgnoreChld,
    IgnorePipe,
    BlockChld,
    IgnoreTerm,
    BlockAll,
    NoFile(u64),
    Close(&'static [i32]),
}

fn with(mut cmd: Command, setup: Setup) -> Command {
    // SAFETY: only async-signal-safe calls (signal, sigprocmask, setrlimit,
    // close) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            match setup {
                Setup::IgnoreChld => {
                    libc::signal(libc::SIGCHLD, libc::SIG_IGN);
                }
                Setup::IgnoreTerm => {
                    libc::signal(libc::SIGTERM, libc::SIG_IGN);
                }
                Setup::IgnorePipe => {
                    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                }
                Setup::BlockChld => {
                    libc::sigaddset(&mut set, libc::SIGCHLD);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                }
                Setup::BlockAll => {
                    libc::sigfillset(&mut set);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                }
                Setup::NoFile(n) => {
                    let limit = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Setup::Close(fds) => {
                    for &fd in fds {
                        libc::close(fd);
                    }
                }
            }
            Ok(())
        });
    }
    cmd
}

#[test]
fn the_callers_signal_state_passes_and_nothing_hangs() {
    let root = rootfs();
    for setup in [
        Setup::IgnoreChld,
        Setup::IgnorePipe,
        Setup::BlockChld,
        Setup::IgnoreTerm,
        Setup::BlockAll,
    ] {
        // The probe run directly shows what the caller set (so the check
        // below can fail).
        let host = run_limited(&mut with(command(As::Root, probe(), &[]), setup))
            .ok()
            .json();
        let (blocked, ignored) = (&host["sig_blocked"], &host["sig_ignored"]);
        let bit = |v: &serde_json::Value, sig: i32| {
            u64::from_str_radix(v.as_str().unwrap(), 16).unwrap() & (1 << (sig - 1)) != 0
        };
        let shows = match setup {
            Setup::IgnoreChld => bit(ignored, libc::SIGCHLD),
            Setup::IgnoreTerm => bit(ignored, libc::SIGTERM),
            Setup::IgnorePipe => bit(ignored, libc::SIGPIPE),
            _ => bit(blocked, libc::SIGCHLD),
        };
        assert!(shows, "{setup:?} did not take: {host}");
        // The tools' own runtime ignores SIGPIPE while they run: the
        // workload must get the caller's, which here is the default
        // unless the setup ignores it.
        let pipe_ignored = matches!(setup, Setup::IgnorePipe);
        assert_eq!(
            bit(ignored, libc::SIGPIPE),
            pipe_ignored,
            "{setup:?}: {host}"
        );
        for form in FORMS {
            let cmd = chain_as(form, &root, &[], &["/probe"], &[]);
            let out = run_limited(&mut with(cmd, setup)).ok();
            let inside = out.json();
            assert_eq!(
                (&inside["sig_blocked"], &inside["sig_ignored"]),
                (blocked, ignored),
                "{setup:?} {form:?}: the workload's signal state is not the caller's"
            );
            assert_eq!(fd_numbers(&inside), ["0", "1", "2"], "{setup:?} {form:?}");
            // The supervisor still reports the workload's status.
            let cmd = chain_as(form, &root, &[], &["/bin/sh", "-c", "exit 3"], &[]);
            let out = run_limited(&mut with(cmd, setup));
            assert_eq!(out.status, 3, "{setup:?} {form:?}: {out:?}");
        }
    }
}

#[test]
fn a_closed_pipe_ends_the_workload_as_it_would_outside() {
    // `yes | head -c 2`: when the reader goes, yes dies of SIGPIPE (status
    // 141 through every supervisor), as it does outside a container; with
    // SIGPIPE ignored it would print "Broken pipe" and exit 1. (yes runs
    // under a shell: a PID 1 never dies of a signal raised in its own PID
    // namespace that it has no handler for, and the kernel's SIGPIPE is
    // such a signal.)
    let root = rootfs();
    let yes = ["/bin/sh", "-c", "/usr/bin/yes; exit $?"];
    for form in FORMS {
        // The reader reads two bytes and goes.
        let child = spawn_reading(&mut chain_as(form, &root, &[], &yes, &[]), b"y\n", form);
        let out = wait_limited(child);
        assert_eq!(out.status, 128 + libc::SIGPIPE, "{form:?}: {out:?}");
        assert_eq!(out.stderr, "", "{form:?}");
    }
}

#[test]
fn a_traced_chain_whose_stderr_reader_is_gone_still_runs_its_workload() {
    // `CHAIN_TRACE=1 CHAIN 2>&1 | head -0`: every trace line meets a pipe
    // without a reader. The tools go on (the lines are dropped) and the
    // workload's status comes back; a supervisor once took its own SIGPIPE
    // for the caller's and forwarded it in a loop, never reaping the child.
    let root = rootfs();
    for form in FORMS {
        let mut cmd = chain_as(form, &root, &[], &["/probe"], &[]);
        cmd.env("CHAIN_TRACE", "1");
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(broken_pipe()))
            .spawn()
            .expect("spawn");
        let out = wait_limited(child);
        assert_eq!(out.status, 0, "{form:?}: {out:?}");
        let inside = out.json();
        assert_eq!(fd_numbers(&inside), ["0", "1", "2"], "{form:?}");
        let status = chain_as(form, &root, &[], &["/bin/sh", "-c", "exit 3"], &[])
            .env("CHAIN_TRACE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::from(broken_pipe()))
            .spawn()
            .map(wait_limited)
            .expect("spawn")
            .status;
        assert_eq!(status, 3, "{form:?}");
    }
}

#[test]
fn a_stderr_reader_that_goes_mid_run_does_not_signal_the_workload() {
    // The reader of a traced chain's stderr goes away while the workload
    // runs; then the supervisor is sent SIGUSR1 (which the workload
    // ignores). Its trace line about forwarding it fails with EPIPE, which
    // raises a SIGPIPE in the supervisor itself: that one is not the
    // caller's and must not reach the workload (a PID 1 without a handler
    // would be killed for it, 141 instead of 7).
    let root = rootfs();
    let script = "trap '' USR1; echo ready; sleep 0.5; exit 7";
    for form in FORMS {
        let mut cmd = chain_as(form, &root, &[], &["/bin/sh", "-c", script], &[]);
        cmd.env("CHAIN_TRACE", "1");
        let mut child = spawn_reading(&mut cmd, b"ready\n", form);
        // What was traced so far stays unread in the pipe.
        drop(child.stderr.take());
        // SAFETY: kill of our own unreaped child.
        let sent = unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
        assert_eq!(sent, 0, "{form:?}: kill SIGUSR1");
        let out = wait_limited(child);
        assert_eq!(out.status, 7, "{form:?}: {out:?}");
    }
}

/// Spawns `cmd` with stdout and stderr piped, reads exactly `first` from
/// its stdout (failing if that is not what comes), and closes its stdout.
fn spawn_reading(cmd: &mut Command, first: &[u8], form: Form) -> std::process::Child {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut got = vec![0u8; first.len()];
    let mut stdout = child.stdout.take().expect("piped stdout");
    stdout
        .read_exact(&mut got)
        .expect("read the workload's first bytes");
    assert_eq!(got, first, "{form:?}");
    child
}

/// The write end of a pipe whose read end is closed.
fn broken_pipe() -> std::os::fd::OwnedFd {
    let (reader, writer) = nix::unistd::pipe().expect("pipe");
    drop(reader);
    writer
}

#[test]
fn a_low_fd_limit_works_or_fails_in_one_line() {
    let root = rootfs();
    for n in [64, 16, 8, 4] {
        for form in FORMS {
            let cmd = chain_as(form, &root, &[], &["/probe"], &[]);
            let out = run_limited(&mut with(cmd, Setup::NoFile(n)));
            if out.status == 0 {
                assert_eq!(fd_numbers(&out.json()), ["0", "1", "2"], "{n} {form:?}");
            } else {
                assert_eq!(out.status, 125, "RLIMIT_NOFILE {n} {form:?}: {out:?}");
                let tool = out.stderr.split(':').next().unwrap_or("").to_string();
                assert!(
                    [
                        "unshare-rs",
                        "mapids",
                        "pivot",
                        "seccompctl",
                        "cgctl",
                        "vethctl"
                    ]
                    .contains(&tool.as_str()),
                    "{out:?}"
                );
                assert_one_line(&out, &tool);
                assert!(
                    out.stderr.contains("No file descriptors available"),
                    "{out:?}"
                );
            }
            if n >= 16 {
                assert_eq!(out.status, 0, "RLIMIT_NOFILE {n} {form:?}: {out:?}");
            }
        }
    }
}

#[test]
fn closed_standard_fds_are_never_filled_with_the_chains_own() {
    let dir = TempDir::new("hostile-closed");
    let root = rootfs();
    let bind = format!("{}:/tmp", dir.0.display());
    for closed in [&[0][..], &[1], &[2], &[0, 1, 2]] {
        for form in FORMS {
            let report = dir.path("probe.json");
            let _ = std::fs::remove_file(&report);
            let cmd = chain_as(
                form,
                &root,
                &["--bind", &bind],
                &["/probe", "--out", "/tmp/probe.json"],
                &[],
            );
            let out = run_limited(&mut with(cmd, Setup::Close(closed)));
            assert_eq!(out.status, 0, "{closed:?} {form:?}: {out:?}");
            let inside: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
            let fds = fds(&inside);
            assert_eq!(fds.len(), 3, "{closed:?} {form:?}: {fds:?}");
            for &fd in closed {
                assert_eq!(
                    fds[fd as usize].1, "/dev/null",
                    "{closed:?} {form:?}: fd {fd} of the workload is {fds:?}"
                );
            }
        }
    }
}

/// `cmd` (program, arguments, identity) with a full /tmp: a 16 KiB tmpfs
/// filled up, in a private mount namespace (the host's /tmp is not
/// touched). Exits 77 if /tmp still takes a byte.
fn with_full_tmp(cmd: &Command, who: As) -> Command {
    let script = "mount -t tmpfs -o size=16k hostile-full /tmp || exit 76; \
                  dd if=/dev/zero of=/tmp/fill bs=1k 2>/dev/null; \
                  if echo x > /tmp/more; then exit 77; fi 2>/dev/null; exec \"$@\"";
    let mut args: Vec<String> = [
        "-m",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        script,
        "sh",
    ]
    .map(String::from)
    .to_vec();
    if who == As::User {
        let (uid, gid) = (TEST_UID.to_string(), TEST_GID.to_string());
        args.extend(
            [
                "setpriv",
                "--reuid",
                &uid,
                "--regid",
                &gid,
                "--clear-groups",
                "--",
            ]
            .map(String::from),
        );
    }
    args.push(cmd.get_program().to_string_lossy().into_owned());
    args.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    command(As::Root, "unshare", &args)
}

#[test]
fn a_full_tmp_changes_nothing() {
    // No tool writes a temporary file: every form (cgctl and vethctl in
    // the full one) works with /tmp full, and the container's own /tmp
    // (--tmpfs) is its own.
    let root = rootfs();
    let work = ["/bin/sh", "-c", "echo ok > /tmp/x && cat /tmp/x"];
    for form in FORMS {
        let who = if form == Form::Rootless {
            As::User
        } else {
            As::Root
        };
        let cmd = chain_as(form, &root, &["--tmpfs", "/tmp"], &work, &[]);
        let out = run_limited(&mut with_full_tmp(&cmd, who));
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (0, "ok\n"),
            "{form:?}: {out:?}"
        );
    }
}

#[test]
fn rlimit_nproc_at_its_limit_fails_in_one_line() {
    test_user();
    let root = rootfs();
    // The caller itself is the test user's one process: the fork has none left.
    let mut cmd = chain_as(Form::Rootless, &root, &[], &["/bin/true"], &[]);
    // SAFETY: setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            libc::setrlimit(libc::RLIMIT_NPROC, &limit);
            Ok(())
        });
    }
    let out = run_limited(&mut cmd);
    assert_eq!(out.status, 125, "{out:?}");
    assert_one_line(&out, "unshare-rs: fork");
    assert!(
        out.stderr.contains("Resource temporarily unavailable"),
        "{out:?}"
    );
}

#[test]
fn a_program_or_file_name_with_a_newline_is_named_on_one_line() {
    let s = Scene::new("hostile-newline-exec");
    let out = run_limited(&mut chain(&s.root, &[], &["/no\nsuch"]));
    assert_eq!(out.status, 127, "{out:?}");
    assert_one_line(&out, "pivot: exec /no\\nsuch");
    let out = run_limited(&mut tool(
        As::Root,
        "unshare-rs",
        &["-fpnumi", "--pid-file", "/no\ndir/pid", "--", "/bin/true"],
    ));
    assert_eq!(out.status, 125, "{out:?}");
    assert_one_line(&out, "unshare-rs: open /no\\ndir/pid");
}
