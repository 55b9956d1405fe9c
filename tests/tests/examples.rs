//! The numbered walkthroughs of examples/ (issue 12), run as a user runs
//! them, with the binaries under test (CHAIN_BIN); each assertion is what
//! the walkthrough says the reader will see.

use e2e::*;
use std::process::Command;

fn example(script: &str) -> Out {
    let out = run(Command::new("bash")
        .arg(repo_dir().join("examples").join(script))
        .env("CHAIN_BIN", bin("pivot").parent().unwrap()));
    assert_eq!(
        out.status, 0,
        "{script}: stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    out
}

fn line_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

/// The section of an example's output whose title (after its "== " line
/// start) begins with `title`, title line included.
fn section<'a>(text: &'a str, title: &str) -> &'a str {
    text.split("\n== ")
        .find(|x| x.starts_with(title))
        .unwrap_or_else(|| panic!("no section {title:?} in:\n{text}"))
}

/// The non-empty lines of a section after its first `skip` lines.
fn body(section: &str, skip: usize) -> Vec<&str> {
    section
        .lines()
        .skip(skip)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn example_1_chroot_escapes_and_pivot_does_not() {
    let out = example("01-chroot-escape.sh");
    let chroot = section(&out.stdout, "chroot ");
    let pivot = section(&out.stdout, "unshare-rs -m");
    assert!(chroot.contains("\nescaped: "), "{}", out.stdout);
    assert!(pivot.contains("\nstayed inside: "), "{}", out.stdout);
    assert!(!pivot.contains("escaped"), "{}", out.stdout);
    let marker = line_after(chroot, "escaped: ").split(' ').next().unwrap();
    assert!(
        !std::path::Path::new(marker).exists(),
        "marker {marker} left behind"
    );
}

#[test]
fn example_2_namespaces_one_by_one() {
    let out = example("02-namespaces.sh");
    let s = &out.stdout;
    assert_eq!(line_after(s, "inside: "), "box");
    assert_ne!(line_after(s, "host still: "), "box");
    let ps = body(section(s, "PID:"), 2);
    assert_eq!(ps.len(), 1, "only ps in the new PID namespace: {ps:?}");
    assert_eq!(ps[0].split_whitespace().collect::<Vec<_>>(), ["1", "ps"]);
    assert_eq!(line_after(s, "unmapped: "), "uid 65534 (nobody)");
    assert_eq!(line_after(s, "mapped:   "), "uid 0 (root)");
    let links = body(section(s, "network:"), 1);
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(
        links[0].starts_with("lo ") && links[0].contains("DOWN"),
        "{links:?}"
    );
    assert!(
        line_after(s, "host queues: ").starts_with("1 with id "),
        "{s}"
    );
    assert!(
        line_after(s, "inside -i: ").starts_with("0 with id "),
        "{s}"
    );
    for ns in ["uts", "net"] {
        assert!(
            line_after(s, &format!("{ns}: ")).ends_with(": different"),
            "{s}"
        );
    }
    // -un makes no mount namespace: the same one, and the example says so.
    assert!(line_after(s, "mnt: ").ends_with(": same"), "{s}");
    // The queue the example made on the host is gone again.
    let id = line_after(s, "host queues: 1 with id ");
    let ipcs = run(Command::new("ipcs").arg("-q"));
    assert!(
        !ipcs
            .stdout
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(id)),
        "queue {id} left: {}",
        ipcs.stdout
    );
}

#[test]
fn example_3_the_clone_demo_and_one_line_of_ours_agree() {
    let out = example("03-clone-demo.sh");
    let demo = body(section(&out.stdout, "the clone() demo"), 1);
    let ours = body(section(&out.stdout, "ours: "), 1);
    assert_eq!(demo, ours, "{}", out.stdout);
    assert_eq!(ours[0], "hostname: demo");
    assert_eq!(ours[1], "uid: 0");
    assert!(ours[2].ends_with("pid 1 is sh"), "{ours:?}");
    assert_eq!(ours[3], "links: lo DOWN");
}

#[test]
fn example_6_joins_a_running_container_like_docker_exec() {
    let out = example("06-exec-into.sh");
    let s = &out.stdout;
    assert_eq!(line_after(s, "hostname: "), "web");
    assert_eq!(line_after(s, "state: "), "made inside");
    // The rows of a ps section (after its title and ps's header), split.
    let rows = |title: &str| -> Vec<Vec<&str>> {
        body(section(s, title), 2)
            .into_iter()
            .map(|l| l.split_whitespace().collect())
            .collect()
    };
    let pid = line_after(s, "unshare-rs pid ");
    let joined = rows(&format!("nsenter-rs -t {pid} -a -- ps"));
    assert_eq!(joined[0], ["1", "sleep"], "{s}");
    assert_eq!(joined.len(), 2, "sleep and ps only: {s}");
    let fresh = rows(&format!(
        "nsenter-rs -t {pid} -p -- unshare-rs -m --mount-proc"
    ));
    assert_eq!(
        fresh.len(),
        2,
        "a fresh proc shows the container's two: {s}"
    );
    assert_eq!(fresh[0], ["1", "sleep"]);
    assert_eq!(fresh[1][1], "ps");
    let host_view: usize = line_after(s, "processes seen: ").parse().unwrap();
    assert!(
        host_view > 2,
        "the host's /proc shows the host's processes: {s}"
    );
    // The container was stopped by the example.
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "container {pid} still running"
    );
}

#[test]
fn example_8_a_pod_two_containers_one_network_namespace() {
    let out = example("08-pod.sh");
    let s = &out.stdout;
    let pod = line_after(s, "pod netns: ").split(' ').next().unwrap();
    let expected = format!("net:[{pod}]");
    assert_eq!(line_after(s, "A netns: "), expected, "{s}");
    assert_eq!(line_after(s, "B netns: "), expected, "{s}");
    assert_eq!(line_after(s, "B hostname: "), "b");
    // Over the pod's lo: A's answer names A's own hostname.
    assert_eq!(line_after(s, "B received: "), "hello from a");
    // The pod's namespace file was unmounted and removed.
    let file = line_after(s, "pod netns: ")
        .split("persisted: ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');
    assert!(!std::path::Path::new(file).exists(), "{file} left");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(file), "{file} still mounted");
}

#[test]
fn example_5_the_hog_is_oom_killed_and_a_group_is_frozen_and_killed() {
    let out = example("05-cgroups.sh");
    let s = &out.stdout;
    let last: u32 = s
        .lines()
        .filter_map(|l| l.strip_prefix("allocated "))
        .filter_map(|l| l.strip_suffix(" MB"))
        .map(|n| n.parse().unwrap())
        .max()
        .unwrap_or_else(|| panic!("the hog printed nothing:\n{s}"));
    assert!(
        (10..100).contains(&last),
        "the hog got {last} MB under 100M:\n{s}"
    );
    assert!(
        line_after(s, "cgctl said: ").contains("out of memory"),
        "{s}"
    );
    assert_eq!(line_after(s, "exit status: "), "137");
    // The same hog under libcgroup's cgcreate/cgset/cgexec (tests/run.sh
    // installs cgroup-tools): killed at the same limit.
    assert_eq!(line_after(s, "classic exit status: "), "137", "{s}");
    assert!(line_after(s, "pids: ").ends_with(" of 50"), "{s}");
    assert_eq!(line_after(s, "frozen: "), "0 ticks in 0.5 s");
    let thawed: u32 = line_after(s, "thawed: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(thawed > 0, "{s}");
    assert_eq!(line_after(s, "workload exit status: "), "137");
    assert!(line_after(s, "groups left named ").ends_with(": 0"), "{s}");
}

/// An example ended by a signal (here SIGTERM while its group is frozen)
/// still removes what it made: bash runs the EXIT trap before it dies of a
/// signal it catches (SIGTERM, SIGINT, SIGHUP, SIGPIPE; checked by hand
/// for SIGPIPE, with `| sed '/cgctl freeze/q'`). Only SIGKILL skips it.
#[test]
fn example_5_ended_by_a_signal_leaves_no_group() {
    use std::io::BufRead;
    let mut child = Command::new("bash")
        .arg(repo_dir().join("examples/05-cgroups.sh"))
        .env("CHAIN_BIN", bin("pivot").parent().unwrap())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let _guard = KillOnDrop(pid);
    let group = format!("example5-{pid}");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let reached = lines.any(|l| l.unwrap().starts_with("== cgctl freeze"));
    assert!(reached, "the example never reached its freeze section");
    std::thread::sleep(std::time::Duration::from_millis(100));
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGTERM),
        "{status:?}"
    );
    let ls = run(Command::new(bin("cgctl")).arg("ls"));
    assert!(
        !ls.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(group.as_str())),
        "{group} left behind:\n{}",
        ls.stdout
    );
}

#[test]
fn example_4_a_pair_then_a_bridge_with_nat_and_its_removal() {
    let out = example("04-network.sh");
    let s = &out.stdout;
    let ct_addrs = s
        .lines()
        .find(|l| l.starts_with("eth0"))
        .unwrap_or_else(|| panic!("no eth0 in the container:\n{s}"));
    assert!(ct_addrs.contains("10.200.0.2/24"), "{s}");
    for (what, expected) in [
        ("ping host -> ct: ", "yes"),
        ("ping ct -> host: ", "yes"),
        ("c1 -> c2 (10.201.0.3): ", "yes"),
        ("c1 -> the bridge (10.201.0.1): ", "yes"),
        ("c1 -> the world (10.202.0.2): ", "yes"),
        ("NAT: ", "masquerade"),
        ("bridge left: ", "0"),
        ("NAT table left: ", "0"),
        // Without the NAT rule the world's answers have no way back.
        ("c1 -> the world after removal: ", "no"),
    ] {
        assert_eq!(line_after(s, what), expected, "{what}\n{s}");
    }
    let left = run(Command::new("ip").args(["netns", "list"]));
    assert!(
        !left.stdout.contains("ex4-"),
        "namespaces left: {}",
        left.stdout
    );
}

#[test]
fn example_7_overlay_layers_stay_and_dockers_defaults_refuse() {
    let out = example("07-layers-and-seccomp.sh");
    let s = &out.stdout;
    assert_eq!(line_after(s, "inside: "), "hello from the app layer");
    assert_eq!(line_after(s, "inside after: "), "changed");
    assert_eq!(
        line_after(s, "app layer still: "),
        "hello from the app layer"
    );
    assert_eq!(line_after(s, "base layer still has /bin/ls: "), "yes");
    assert_eq!(
        line_after(s, "upper ./bin/ls is a whiteout (the deletion): "),
        "character special file"
    );
    let plain = section(s, "2a.");
    let docker = section(s, "2b.");
    assert_eq!(line_after(plain, "Seccomp: "), "0");
    assert_eq!(line_after(plain, "mknod b 7:0: "), "made");
    assert_eq!(line_after(plain, "mount tmpfs: "), "done");
    assert_eq!(line_after(docker, "NoNewPrivs: "), "1");
    assert_eq!(line_after(docker, "Seccomp: "), "2");
    // Docker's default capability set (without CAP_MKNOD, bit 27).
    let caps = u64::from_str_radix(line_after(docker, "CapEff: "), 16).unwrap();
    assert_eq!(caps & (1 << 27), 0, "CAP_MKNOD kept: {caps:x}");
    assert_eq!(caps & (1 << 21), 0, "CAP_SYS_ADMIN kept: {caps:x}");
    assert_ne!(caps & (1 << 0), 0, "CAP_CHOWN dropped: {caps:x}");
    assert_eq!(line_after(docker, "mknod b 7:0: "), "refused");
    assert_eq!(line_after(docker, "mount tmpfs: "), "refused");
}

/// mkrootfs.sh --debian: a Debian rootfs made by debootstrap (cached after
/// the first build), in which the README's headline runs bash; a second run
/// leaves it as it is, and a directory holding something else is refused
/// with nothing written.
#[test]
fn mkrootfs_debian_runs_the_headline_with_bash() {
    let dir = TempDir::new("debian");
    let rootfs = dir.str("rootfs");
    let debian = |dir: &str| {
        run(Command::new("bash")
            .arg(repo_dir().join("examples/mkrootfs.sh"))
            .args(["--debian", dir]))
    };
    let built = debian(&rootfs);
    assert_eq!(built.status, 0, "{built:?}");
    let (cgctl, unshare, pivot) = (bin("cgctl"), bin("unshare-rs"), bin("pivot"));
    let out = run(Command::new(&cgctl)
        .args(["--mem", "100M", "--"])
        .arg(&unshare)
        .args(["-fpnumi", "--"])
        .arg(&pivot)
        .args([
            &rootfs,
            "--",
            "bash",
            "-c",
            "echo \"bash $BASH_VERSION\"; ps -eo pid=,comm=; id -un",
        ]));
    assert_eq!(out.status, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert!(lines[0].starts_with("bash 5."), "{out:?}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["1", "bash"],
        "{out:?}"
    );
    assert_eq!(lines.last(), Some(&"root"), "{out:?}");

    let again = debian(&rootfs);
    assert_eq!(again.status, 0, "{again:?}");
    assert!(again.stdout.contains("left as it is"), "{again:?}");

    let other = dir.path("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep"), "mine").unwrap();
    let refused = debian(&dir.str("other"));
    assert_ne!(refused.status, 0, "{refused:?}");
    assert!(refused.stderr.contains("not empty"), "{refused:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 2, "only rootfs and other: {left:?}");
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
}

#[test]
fn example_9_an_oci_bundle_runs_like_runc() {
    let out = example("09-oci-bundle.sh");
    let s = &out.stdout;
    // The bundle's rootfs came out of an OCI image (tests/run.sh installs
    // umoci), as a registry's would.
    let image = line_after(section(s, "umoci:"), "image: ");
    assert!(image.contains("bundle rootfs: "), "{s}");
    let dry = body(section(s, "oci-chain --dry-run"), 1);
    let chain = dry[0];
    for step in ["cgctl ", "unshare-rs ", "pivot ", "seccompctl "] {
        assert!(chain.contains(step), "no {step}in the chain: {chain}");
    }
    assert!(chain.contains("--mem 67108864 --pids 32"), "{chain}");
    assert!(chain.contains("--hostname ex9"), "{chain}");
    assert_eq!(dry[1], "-- on stderr:", "the chain is one line: {dry:?}");
    // runc's rlimits have no chain step: reported, not dropped.
    assert!(
        dry.iter()
            .any(|l| l.starts_with("oci-chain: not expressed: process.rlimits")),
        "{s}"
    );
    let ours = section(s, "ours:");
    let runc = section(s, "runc:");
    assert_eq!(line_after(ours, "hostname: "), "ex9");
    assert_eq!(line_after(ours, "pid: "), "1");
    assert_eq!(line_after(ours, "memory limit: "), "67108864");
    assert_eq!(line_after(ours, "pids limit: "), "32");
    for key in [
        "hostname: ",
        "id: ",
        "pid: ",
        "memory limit: ",
        "pids limit: ",
        "mount /proc: ",
        "mount /dev/pts: ",
        "root writable: ",
        "CapEff: ",
        "NoNewPrivs: ",
    ] {
        assert_eq!(
            line_after(ours, key),
            line_after(runc, key),
            "{key}ours and runc's differ:\n{s}"
        );
    }
    assert!(line_after(ours, "id: ").starts_with("uid=0(root) gid=0(root)"));
    assert_eq!(line_after(s, "runc containers: "), "0");
    assert!(line_after(s, "runc cgroups named ").ends_with(": 0"), "{s}");
    assert_eq!(line_after(s, "cgctl groups: "), "0");
}

#[test]
fn example_9_oci_chain_reports_what_it_cannot_express() {
    let tmp = TempDir::new("oci-chain");
    let dir = &tmp.0;
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"ociVersion": "1.0.2", "process": {"args": ["true"], "user": {"uid": 1000, "gid": 1000, "additionalGids": [10]}},
            "root": {"path": "rootfs"}, "hostname": "h",
            "linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "network", "path": "/run/netns/x"}],
                      "sysctl": {"net.ipv4.ip_forward": "1"}, "resources": {"cpu": {"quota": 50000, "period": 100000}}}}"#,
    )
    .unwrap();
    let out = run(Command::new(repo_dir().join("examples").join("oci-chain"))
        .arg("--dry-run")
        .arg(dir)
        .env("CHAIN_BIN", bin("pivot").parent().unwrap()));
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .any(|l| l == r#"oci-chain: not expressed: linux.sysctl {"net.ipv4.ip_forward":"1"}"#),
        "{}",
        out.stderr
    );
    let chain = out.stdout.trim_end();
    assert_eq!(chain.lines().count(), 1, "{chain}");
    for part in [
        "cgctl --cpus 0.5 --",
        "nsenter-rs --net=/run/netns/x --",
        "unshare-rs -fmu --hostname h --",
        "mapids --as 1000:1000 --groups 10 --",
        " -- true",
    ] {
        assert!(chain.contains(part), "no {part:?} in {chain}");
    }
}

#[test]
fn example_10_a_bootable_initramfs_runs_containers() {
    let tmp = TempDir::new("example10");
    let kept = tmp.0.join("initramfs.gz");
    let out = run(Command::new("bash")
        .arg(repo_dir().join("examples").join("10-initramfs.sh"))
        .arg("--keep")
        .arg(&kept)
        .env("CHAIN_BIN", bin("pivot").parent().unwrap()));
    assert_eq!(
        out.status, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let s = &out.stdout;
    // The size the README reports, and the file it is the size of.
    let size: u64 = line_after(s, "initramfs: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(std::fs::metadata(&kept).unwrap().len(), size);
    // What /init printed on the serial console.
    let console = section(s, "the serial console");
    assert!(
        line_after(console, "kernel ").ends_with(", / is rootfs"),
        "{s}"
    );
    let initrd = section(s, "stage 1");
    assert_eq!(line_after(initrd, "hostname: "), "initrd", "{s}");
    assert_eq!(line_after(initrd, "pid: "), "1", "{s}");
    assert_eq!(line_after(initrd, "initramfs /init visible: "), "no", "{s}");
    assert_eq!(line_after(initrd, "exit status: "), "0", "{s}");
    let headline = section(s, "stage 2, / is a tmpfs");
    assert_eq!(line_after(headline, "hostname: "), "box", "{s}");
    assert_eq!(line_after(headline, "pid: "), "1", "{s}");
    assert_eq!(line_after(headline, "root: "), "tmpfs", "{s}");
    assert!(
        line_after(headline, "cgroup: 0::/cgctl-")
            .parse::<u32>()
            .is_ok(),
        "{s}"
    );
    // seccompctl --default: Docker's default capabilities less CAP_MKNOD,
    // no_new_privs, a seccomp filter.
    assert_eq!(line_after(headline, "CapEff: "), "00000000a00425fb", "{s}");
    assert_eq!(line_after(headline, "NoNewPrivs: "), "1", "{s}");
    assert_eq!(line_after(headline, "Seccomp: "), "2", "{s}");
    assert_eq!(line_after(headline, "exit status: "), "0", "{s}");
    let oom = section(s, "stage 2, the same container allocating");
    assert!(
        oom.contains(
            "cgctl: out of memory: the kernel killed the workload at the group's 64M limit"
        ),
        "{s}"
    );
    assert_eq!(line_after(oom, "exit status: "), "137", "{s}");
    assert_eq!(line_after(oom, "groups left: "), "0", "{s}");
}

#[test]
fn every_example_runs_as_a_program() {
    // `./examples/NAME` must work as the README shows it: exec bit and #!.
    use std::os::unix::fs::PermissionsExt;
    let dir = repo_dir().join("examples");
    let mut scripts = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".sh") || name == "lib.sh" {
            continue;
        }
        scripts += 1;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{name} is not executable ({mode:o})");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#!/"), "{name} has no #! line");
    }
    // demo, mkrootfs and the ten walkthroughs.
    assert!(scripts >= 12, "only {scripts} scripts in {}", dir.display());
}
