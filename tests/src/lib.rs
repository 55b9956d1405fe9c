//! Support for the end-to-end tests: find the real binaries, run chains of
//! them as root or as the unprivileged test user, with a clean set of fds
//! and a time limit, parse the probe's JSON, and clean up what a test made
//! even when it fails.
//!
//! The tests never call unshare, setns, mount or the like themselves: they
//! spawn the binaries and look at the result from outside, or through the
//! probe at the end of a chain.

use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod host;

/// The unprivileged identity the tests use. No passwd entry is needed for
/// what these tests check; a fixed id keeps runs comparable.
pub const TEST_UID: u32 = 4242;
pub const TEST_GID: u32 = 4242;

/// How long any one command may run before the test kills it and fails.
pub const TIME_LIMIT: Duration = Duration::from_secs(30);

/// The directory holding the workspace's binaries for this build: the test
/// executable lives in `<target>/<triple>/<profile>/deps/`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// The path of one of the workspace's binaries; fails with the command to
/// build it when it is missing (the tests run the real, built binaries).
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --workspace{})",
        path.display(),
        if bin_dir().ends_with("release") {
            " --release"
        } else {
            ""
        }
    );
    path
}

pub fn probe() -> PathBuf {
    bin("probe")
}

/// A test that cannot run here says so; CI sets CHAIN_FAIL_ON_SKIP so that
/// a skip fails the run instead of passing silently.
pub fn skip(why: &str) {
    println!("SKIP: {why}");
    eprintln!("SKIP: {why}");
    if std::env::var_os("CHAIN_FAIL_ON_SKIP").is_some() {
        panic!("SKIP is a failure here (CHAIN_FAIL_ON_SKIP is set): {why}");
    }
}

/// The outcome of a command: the status as a shell reports it (the exit
/// code, or 128+N when signal N killed it), and its output.
#[derive(Debug)]
pub struct Out {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): stdout={:?} stderr={:?}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts success and returns self, showing stderr on failure.
    pub fn ok(self) -> Out {
        assert_eq!(self.status, 0, "failed: stderr={}", self.stderr);
        self
    }
}

/// Who runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    Root,
    User,
}

pub const BOTH: [As; 2] = [As::Root, As::User];

/// A command with a clean start: stdin from /dev/null, no fd above 2
/// inherited from the test process, no `CHAIN_*` variable from the
/// environment, and the test user's identity when asked.
pub fn command(who: As, program: impl AsRef<OsStr>, args: &[&str]) -> Command {
    command_passing(who, program, args, &[])
}

/// Like [`command`], but the fds `(from, to)` are passed on purpose: `from`
/// (an fd of the test process) becomes `to` in the child, and every other
/// fd above 2 is closed.
pub fn command_passing(
    who: As,
    program: impl AsRef<OsStr>,
    args: &[&str],
    pass: &[(i32, i32)],
) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    // No chain variable of the test's own environment (CHAIN_TRACE,
    // CHAIN_SYNC_FDS, CI's CHAIN_FAIL_ON_SKIP) reaches the chain under test.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CHAIN_") {
            cmd.env_remove(name);
        }
    }
    if who == As::User {
        // std also drops the supplementary groups when it changes the uid.
        cmd.uid(TEST_UID).gid(TEST_GID);
    }
    let pass = pass.to_vec();
    const MAX_PASSED: usize = 16;
    assert!(pass.len() <= MAX_PASSED, "at most {MAX_PASSED} fds passed");
    let mut keep: Vec<u32> = pass.iter().map(|&(_, to)| to as u32).collect();
    keep.sort_unstable();
    // SAFETY: dup2 and close_range are async-signal-safe; the test harness
    // may hold fds of its own that must not reach the chain under test.
    unsafe {
        cmd.pre_exec(move || {
            // Every source is copied out of the way first, so that one
            // pair's target never overwrites a later pair's source; the
            // copies go with the close_range below.
            // (A fixed array: no allocation between fork and exec.)
            let mut copies = [0i32; MAX_PASSED];
            for (slot, &(from, _)) in copies.iter_mut().zip(&pass) {
                *slot = libc::fcntl(from, libc::F_DUPFD, 512);
                if *slot < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (&copy, &(_, to)) in copies.iter().zip(&pass) {
                if libc::dup2(copy, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            let mut first = 3u32;
            for &k in &keep {
                if k > first {
                    libc::syscall(libc::SYS_close_range, first, k - 1, 0u32);
                }
                first = first.max(k + 1);
            }
            libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32);
            Ok(())
        });
    }
    cmd
}

/// A command running one of our binaries.
pub fn tool(who: As, name: &str, args: &[&str]) -> Command {
    command(who, bin(name), args)
}

/// Runs to completion within [`TIME_LIMIT`] and collects the output.
pub fn run(cmd: &mut Command) -> Out {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    finish(child)
}

/// Waits for a spawned child within [`TIME_LIMIT`]; kills it if it overruns.
pub fn finish(child: Child) -> Out {
    let pid = child.id() as i32;
    let guard = KillOnDrop(pid);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(TIME_LIMIT) {
        Ok(out) => out.expect("wait"),
        Err(_) => panic!("command {pid} ran longer than {TIME_LIMIT:?}"),
    };
    std::mem::forget(guard);
    let status = output
        .status
        .code()
        .unwrap_or_else(|| 128 + output.status.signal().unwrap_or(0));
    Out {
        status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Kills a process by pid when dropped (a test that panics midway must not
/// leave its container running).
pub struct KillOnDrop(pub i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Never 0 or below: kill(2) would signal a whole process group.
        if self.0 > 0 {
            // SAFETY: kill(2) of a pid this test started.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}

/// `unshare-rs ARGS -- probe` as `who`; returns the probe's JSON.
pub fn probe_under(who: As, unshare_args: &[&str]) -> Value {
    let probe = probe();
    let mut args: Vec<&str> = unshare_args.to_vec();
    args.push("--");
    args.push(probe.to_str().unwrap());
    run(&mut tool(who, "unshare-rs", &args)).ok().json()
}

/// The probe run directly, as `who`: the host's view.
pub fn host_probe(who: As) -> Value {
    run(&mut command(who, probe(), &[])).ok().json()
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// A directory under /tmp named for the test, removed (with whatever is in
/// it) when dropped. Readable and writable by the test user.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("chain-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        TempDir(path)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn str(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Anything a test bound below here is detached first, so the removal
        // cannot fail on a busy mount point.
        if let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") {
            let prefix = self.0.to_string_lossy().into_owned();
            for line in mounts.lines() {
                if let Some(point) = line.split(' ').nth(4).filter(|p| p.starts_with(&prefix)) {
                    let _ = Command::new("umount").args(["-l", point]).status();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A container a test leaves running: its supervisor (an `unshare-rs -f
/// --pid-file FILE ... sleep N` the test spawned) and the pid of its
/// `sleep`; both are killed and the supervisor reaped when dropped.
pub struct Running {
    supervisor: Child,
    pub pid: i32,
    _dir: TempDir,
}

impl Running {
    /// The supervisor's pid (the process outside the container).
    pub fn supervisor_pid(&self) -> u32 {
        self.supervisor.id()
    }

    /// Waits (10 s at most) until `pid_file` names a process whose comm is
    /// `sleep`, and asserts that it came; `dir` (holding the pid file, and
    /// whatever else the container needs) lives as long as the guard.
    pub fn wait_for_sleep(supervisor: Child, pid_file: &str, dir: TempDir) -> Running {
        let mut pid = 0;
        let up = wait_until(Duration::from_secs(10), || {
            pid = std::fs::read_to_string(pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            pid > 0
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
        });
        let running = Running {
            supervisor,
            pid,
            _dir: dir,
        };
        // Asserted with the guard built, so that its Drop cleans up.
        assert!(up, "the container did not start");
        running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: kill(2) of processes this test started; never pid 0 (the
        // whole process group) when no pid was read.
        unsafe {
            if self.pid > 0 {
                libc::kill(self.pid, libc::SIGKILL);
            }
            libc::kill(self.supervisor.id() as i32, libc::SIGKILL);
        }
        let _ = self.supervisor.wait();
    }
}

/// Runs a closure when dropped: cleanup that must happen even on failure.
pub struct Cleanup<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for Cleanup<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// The namespace ids of a probe report, by name.
pub fn ns(report: &Value, kind: &str) -> u64 {
    report["ns"][kind]
        .as_u64()
        .unwrap_or_else(|| panic!("no ns.{kind} in {report}"))
}

/// The inode of /proc/PID/ns/KIND, seen from the test.
pub fn ns_of_pid(pid: i32, kind: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|m| m.ino())
}

/// Whether util-linux's tools are installed (for side-by-side checks).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The repository's top directory.
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf()
}

/// Compiles one of tests/c/*.c into a static binary at `out`.
pub fn compile_c(name: &str, out: &Path) {
    let src = repo_dir().join("tests/c").join(format!("{name}.c"));
    let status = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(out)
        .arg(&src)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc {} failed", src.display());
}

/// The shared test rootfs (built once per test binary with
/// examples/mkrootfs.sh into the target directory), with the probe at
/// /probe and the C helpers at /bin/escape, /bin/pty and /bin/escapes.
/// Tests that write to a rootfs build their own (see [`small_rootfs`]).
pub fn rootfs() -> PathBuf {
    static ROOTFS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOTFS
        .get_or_init(|| {
            let dir = bin_dir().join("e2e-rootfs");
            let out = Command::new("bash")
                .arg(repo_dir().join("examples/mkrootfs.sh"))
                .arg(&dir)
                .output()
                .expect("mkrootfs");
            assert!(
                out.status.success(),
                "mkrootfs.sh failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            install_test_programs(&dir);
            dir
        })
        .clone()
}

/// Puts the probe and the C helpers into a rootfs.
pub fn install_test_programs(root: &Path) {
    std::fs::copy(probe(), root.join("probe")).expect("copy probe");
    for name in ["escape", "pty", "escapes"] {
        compile_c(name, &root.join("bin").join(name));
    }
}

/// A minimal writable rootfs in `dir`: the static busybox with a few
/// applets, and the probe. For tests that change or break a rootfs.
pub fn small_rootfs(dir: &Path) {
    for sub in ["bin", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("busybox-static");
    std::fs::copy(busybox, dir.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "ls", "cat", "echo", "true", "touch", "mkdir", "stat", "readlink",
    ] {
        let _ = std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet));
    }
    std::fs::copy(probe(), dir.join("probe")).unwrap();
}

/// `unshare-rs UNSHARE -- pivot ROOTFS PIVOT -- ARGV` as root.
pub fn container(unshare: &[&str], rootfs: &Path, pivot: &[&str], argv: &[&str]) -> Out {
    let pivot_bin = bin("pivot");
    let root = rootfs.to_string_lossy();
    let mut args: Vec<&str> = unshare.to_vec();
    args.extend(["--", pivot_bin.to_str().unwrap(), &root]);
    args.extend_from_slice(pivot);
    args.push("--");
    args.extend_from_slice(argv);
    run(&mut tool(As::Root, "unshare-rs", &args))
}

/// The mount points of /proc/self/mountinfo text.
pub fn mount_points(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(str::to_string)
        .collect()
}

/// The test user's name: a real user (uid [`TEST_UID`]) so that newuidmap
/// and newgidmap accept it.
pub const TEST_USER: &str = "chaintest";

/// The test user's subordinate ranges, in /etc/subuid and /etc/subgid: two
/// lines, so that "every line, not just the first" is checked.
pub const TEST_SUBIDS: [(u32, u32); 2] = [(200000, 65536), (400000, 1000)];

/// Makes sure the test user exists with exactly [`TEST_SUBIDS`]. Idempotent;
/// tests/run.sh removes the user and its ranges when the run ends.
pub fn test_user() {
    static READY: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if *ready {
        return;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let owner = passwd
        .lines()
        .find(|l| l.split(':').nth(2) == Some(&TEST_UID.to_string()));
    match owner {
        Some(line) => assert!(
            line.starts_with(&format!("{TEST_USER}:")),
            "uid {TEST_UID} belongs to someone else: {line}"
        ),
        None => {
            // No automatic subordinate ranges (Debian's useradd adds some):
            // the tests set their own.
            let status = Command::new("useradd")
                .args([
                    "--uid",
                    &TEST_UID.to_string(),
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                ])
                .args([
                    "--shell",
                    "/usr/sbin/nologin",
                    "-K",
                    "SUB_UID_COUNT=0",
                    "-K",
                    "SUB_GID_COUNT=0",
                    TEST_USER,
                ])
                .status()
                .expect("run useradd");
            assert!(status.success(), "useradd {TEST_USER} failed");
        }
    }
    for file in ["/etc/subuid", "/etc/subgid"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with(&format!("{TEST_USER}:")))
            .collect();
        let ours: Vec<String> = TEST_SUBIDS
            .iter()
            .map(|(s, c)| format!("{TEST_USER}:{s}:{c}"))
            .collect();
        kept.extend(ours.iter().map(String::as_str));
        std::fs::write(file, kept.join("\n") + "\n").unwrap();
    }
    *ready = true;
}

/// `fd` moved to a number of 100 or more (close-on-exec, as every fd of the
/// test process), for passing to a chain with [`command_passing`]: that
/// dup2s in order, and a source that is also an earlier target would be
/// overwritten.
pub fn at_high_number(fd: std::os::fd::OwnedFd) -> std::os::fd::OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: F_DUPFD_CLOEXEC of an open fd; the new fd is owned below.
    let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 100) };
    assert!(
        high >= 100,
        "F_DUPFD_CLOEXEC: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a fresh fd nobody else owns.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(high) }
}

/// A file or directory opened read-only, at a high number ([`at_high_number`]).
pub fn open_high(path: &Path) -> std::os::fd::OwnedFd {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    at_high_number(file.into())
}

/// A pidfd of this test process, at a high number ([`at_high_number`]).
pub fn own_pidfd() -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open of our own pid returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, std::process::id(), 0) };
    assert!(raw >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd nobody else owns.
    at_high_number(unsafe { std::os::fd::OwnedFd::from_raw_fd(raw as i32) })
}

// --- strace -ff: which of our programs called brk (tests/tests/startup.rs) ---

/// Our programs, as argv\[0\] basenames.
const OURS: [&str; 7] = [
    "cgctl",
    "unshare-rs",
    "pivot",
    "mapids",
    "seccompctl",
    "vethctl",
    "nsenter-rs",
];

/// The basename of the first argv string of an execve or execveat line.
pub fn strace_argv0(line: &str) -> Option<&str> {
    let list = &line[line.find("[\"")? + 2..];
    let first = &list[..list.find('"')?];
    Some(first.rsplit('/').next().unwrap_or(first))
}

/// strace's options for [`assert_no_brk_of_ours`], to be followed by the
/// file prefix and the command: every process in a file of its own
/// (PREFIX.PID), whole strings (argv\[0\] names the program), only the
/// execs and brk.
pub const STRACE_BRK: [&str; 7] = [
    "-ff",
    "-qq",
    "-s",
    "4096",
    "-e",
    "trace=execve,execveat,brk",
    "-o",
];

/// A [`STRACE_BRK`] run with the file prefix `prefix` followed every
/// process (each of `execs`, the end of an exec'd path or argv\[0\] with
/// its closing quote, is in the trace) and none of our programs called
/// brk: no C library allocator came up beside chain::arena.
pub fn assert_no_brk_of_ours(prefix: &Path, execs: &[&str]) {
    let all: String = std::fs::read_dir(prefix.parent().unwrap())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    for step in execs {
        assert!(all.contains(step), "no exec of {step} in the trace:\n{all}");
    }
    let found = strace_brks_of_ours(prefix);
    assert!(
        found.is_empty(),
        "our tools called brk (musl's malloc came up):\n{}",
        found.join("\n")
    );
}

/// The brk calls of our programs in a `strace -ff` run: every file is one
/// process. Before its first exec a process is a clone of its parent,
/// which in these chains is always one of ours; after an exec it is the
/// program it exec'd (argv[0], also for a carried program's execveat).
fn strace_brks_of_ours(prefix: &Path) -> Vec<String> {
    let dir = prefix.parent().unwrap();
    let stem = prefix.file_name().unwrap().to_str().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with(&format!("{stem}.")) {
            continue;
        }
        let mut program = String::from("(a clone of one of ours)");
        let mut ours = true;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.starts_with("execve(") || line.starts_with("execveat(") {
                if line.ends_with("= 0") {
                    program = strace_argv0(line).unwrap_or("?").to_string();
                    ours = OURS.contains(&program.as_str());
                }
            } else if line.starts_with("brk(") && ours {
                found.push(format!("{name} ({program}): {line}"));
            }
        }
    }
    found
}
