//! The probe: the last program of a container chain in the end-to-end tests.
//!
//! It prints, as one JSON object, the process state it sees (ids and maps,
//! capabilities, no_new_privs, seccomp mode, namespace ids, hostname, mounts,
//! cgroup, open fds, visible pids, network devices, SysV IPC objects, clocks,
//! signal dispositions, argv and `CHAIN_*` environment) so the tests can
//! assert on it. Anything that cannot be read is reported as null (or an
//! empty list) rather than failing: the probe always exits 0 after printing.
//!
//! Usage: `probe [--out FILE] [ARGS...]`. With `--out FILE` the JSON goes to
//! FILE instead of stdout. Every argument is reported in "argv".

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::ExitCode;

use nix::dir::Dir;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::utsname::uname;
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{getgroups, getpid, getppid, getresgid, getresuid};
use serde_json::{Map, Value, json};

const NAMESPACES: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// SIGPIPE was ignored when this program started (read from
/// `.init_array`, before Rust's runtime set it to SIG_IGN). Not
/// chain::exec's copy of this: linking chain::exec brings in the chain's
/// ELF note, and a probe that looks like a chain tool would be handed the
/// chain's late answers instead of being their workload.
static SIGPIPE_IGNORED_AT_START: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(true);

extern "C" fn record_sigpipe() {
    // SAFETY: sigaction with a null new action only reads.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    if unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) } == 0 {
        SIGPIPE_IGNORED_AT_START.store(
            old.sa_sigaction == libc::SIG_IGN,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_SIGPIPE: extern "C" fn() = record_sigpipe;

fn restore_sigpipe() {
    if !SIGPIPE_IGNORED_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: back to the default disposition; no handler.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
}

fn main() -> ExitCode {
    // Rust's runtime ignored SIGPIPE before main; the report shows the
    // disposition this program was started with (sig_ignored).
    restore_sigpipe();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let out = out_path(&args);

    // Collected before the output file is opened, so it is not in "fds".
    let report = Value::Object(collect(&args));
    let mut text = report.to_string();
    text.push('\n');

    let written = match &out {
        Some(path) => fs::write(path, text.as_bytes()),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("probe: cannot write the report: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The value following the first `--out`, if any.
fn out_path(args: &[OsString]) -> Option<OsString> {
    let pos = args.iter().position(|a| a == "--out")?;
    args.get(pos + 1).cloned()
}

fn collect(args: &[OsString]) -> Map<String, Value> {
    let mut m = Map::new();
    // First, while the probe has opened nothing else.
    m.insert("fds".into(), fds());

    let status = proc_status();
    let field = |key: &str| status.get(key).map(|v| v.as_str());

    m.insert("pid".into(), json!(getpid().as_raw()));
    m.insert("ppid".into(), json!(getppid().as_raw()));
    ids(&mut m, &status);
    m.insert("uid_map".into(), id_map("/proc/self/uid_map"));
    m.insert("gid_map".into(), id_map("/proc/self/gid_map"));
    m.insert("setgroups".into(), trimmed_file("/proc/self/setgroups"));
    m.insert("caps".into(), caps(&status));
    m.insert("no_new_privs".into(), status_int(field("NoNewPrivs")));
    m.insert("seccomp".into(), status_int(field("Seccomp")));
    m.insert("ns".into(), namespaces());
    uts(&mut m);
    m.insert("mounts".into(), mounts());
    m.insert("cgroup".into(), cgroup());
    m.insert("cwd".into(), link("/proc/self/cwd"));
    m.insert("root".into(), link("/proc/self/root"));
    m.insert("pids".into(), pids());
    m.insert("net_devices".into(), net_devices());
    m.insert("sysvipc_msg".into(), sysvipc_ids("/proc/sysvipc/msg"));
    m.insert("sysvipc_shm".into(), sysvipc_ids("/proc/sysvipc/shm"));
    m.insert("uptime".into(), uptime());
    m.insert("clock_monotonic".into(), clock(ClockId::CLOCK_MONOTONIC));
    m.insert("clock_boottime".into(), clock(ClockId::CLOCK_BOOTTIME));
    m.insert("sig_blocked".into(), status_str(field("SigBlk")));
    m.insert("sig_ignored".into(), status_str(field("SigIgn")));
    m.insert("sig_caught".into(), status_str(field("SigCgt")));
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    m.insert("argv".into(), json!(argv));
    m.insert("env".into(), chain_env());
    m
}

/// /proc/self/status as "Key" -> trimmed value; empty if unreadable.
fn proc_status() -> BTreeMap<String, String> {
    let text = fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn status_str(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |v| json!(v))
}

fn status_int(value: Option<&str>) -> Value {
    value
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(Value::Null, |n| json!(n))
}

/// The 4th (fs) id of a status "Uid:"/"Gid:" line.
fn fs_id(value: Option<&String>) -> Value {
    value
        .and_then(|v| v.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(Value::Null, |n| json!(n))
}

/// "uid", "gid": [real, effective, saved, fs]; "groups": supplementary gids.
fn ids(m: &mut Map<String, Value>, status: &BTreeMap<String, String>) {
    let uid = match getresuid() {
        Ok(r) => json!([
            r.real.as_raw(),
            r.effective.as_raw(),
            r.saved.as_raw(),
            fs_id(status.get("Uid"))
        ]),
        Err(_) => Value::Null,
    };
    let gid = match getresgid() {
        Ok(r) => json!([
            r.real.as_raw(),
            r.effective.as_raw(),
            r.saved.as_raw(),
            fs_id(status.get("Gid"))
        ]),
        Err(_) => Value::Null,
    };
    let groups = match getgroups() {
        Ok(g) => json!(g.iter().map(|g| g.as_raw()).collect::<Vec<_>>()),
        Err(_) => Value::Null,
    };
    m.insert("uid".into(), uid);
    m.insert("gid".into(), gid);
    m.insert("groups".into(), groups);
}

/// A uid_map/gid_map file as [[inside, outside, count], ...]; null if unreadable.
fn id_map(path: &str) -> Value {
    let Ok(text) = fs::read_to_string(path) else {
        return Value::Null;
    };
    let triples: Vec<Vec<u64>> = text
        .lines()
        .map(|line| {
            line.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<u64>>()
        })
        .filter(|t| t.len() == 3)
        .collect();
    json!(triples)
}

fn trimmed_file(path: &str) -> Value {
    fs::read_to_string(path).map_or(Value::Null, |t| json!(t.trim()))
}

fn caps(status: &BTreeMap<String, String>) -> Value {
    let get = |key: &str| status_str(status.get(key).map(|v| v.as_str()));
    json!({
        "inh": get("CapInh"),
        "prm": get("CapPrm"),
        "eff": get("CapEff"),
        "bnd": get("CapBnd"),
        "amb": get("CapAmb"),
    })
}

/// Namespace inode numbers from readlink("/proc/self/ns/NAME") = "type:[inode]".
fn namespaces() -> Value {
    let mut ns = Map::new();
    for name in NAMESPACES {
        let inode = fs::read_link(format!("/proc/self/ns/{name}"))
            .ok()
            .and_then(|target| {
                let target = target.to_string_lossy().into_owned();
                let (_, rest) = target.split_once('[')?;
                rest.strip_suffix(']')?.parse::<u64>().ok()
            });
        ns.insert(name.into(), inode.map_or(Value::Null, |n| json!(n)));
    }
    Value::Object(ns)
}

/// "hostname" and "domainname" from uname(2).
fn uts(m: &mut Map<String, Value>) {
    let (host, domain) = match uname() {
        Ok(u) => (
            json!(u.nodename().to_string_lossy()),
            json!(u.domainname().to_string_lossy()),
        ),
        Err(_) => (Value::Null, Value::Null),
    };
    m.insert("hostname".into(), host);
    m.insert("domainname".into(), domain);
}

/// Undo the octal escapes (`\040` for a space, ...) of /proc mount files.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                let value = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(value as u8);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One /proc/self/mountinfo line:
/// `id parent major:minor root mount_point options [optional...] - fstype source super_options`.
fn mount_entry(line: &str) -> Option<Value> {
    let (head, tail) = line.split_once(" - ")?;
    let head: Vec<&str> = head.split_whitespace().collect();
    let tail: Vec<&str> = tail.split_whitespace().collect();
    if head.len() < 6 || tail.len() < 2 {
        return None;
    }
    Some(json!({
        "id": head[0].parse::<u64>().ok()?,
        "parent": head[1].parse::<u64>().ok()?,
        "root": unescape(head[3]),
        "mount_point": unescape(head[4]),
        "options": head[5],
        "fstype": tail[0],
        "source": unescape(tail[1]),
        "super_options": tail.get(2).copied().unwrap_or(""),
    }))
}

fn mounts() -> Value {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    Value::Array(text.lines().filter_map(mount_entry).collect())
}

fn cgroup() -> Value {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    json!(text.lines().collect::<Vec<_>>())
}

fn link(path: &str) -> Value {
    fs::read_link(path).map_or(Value::Null, |t| json!(t.to_string_lossy()))
}

/// Open fds -> readlink target, leaving out the fd of the listing itself.
fn fds() -> Value {
    let mut fds = Map::new();
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(mut dir) = Dir::open("/proc/self/fd", flags, Mode::empty()) else {
        return Value::Object(fds);
    };
    let own = dir.as_raw_fd();
    for entry in dir.iter().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if fd == own {
            continue;
        }
        if let Ok(target) = fs::read_link(format!("/proc/self/fd/{fd}")) {
            fds.insert(fd.to_string(), json!(target.to_string_lossy()));
        }
    }
    Value::Object(fds)
}

/// Numeric directory names in /proc, sorted.
fn pids() -> Value {
    let mut pids: Vec<u64> = fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    json!(pids)
}

/// Interface names from /proc/self/net/dev, sorted.
fn net_devices() -> Value {
    let text = fs::read_to_string("/proc/self/net/dev").unwrap_or_default();
    let mut names: Vec<&str> = text
        .lines()
        .skip(2)
        .filter_map(|line| Some(line.split_once(':')?.0.trim()))
        .collect();
    names.sort_unstable();
    json!(names)
}

/// The 2nd column (msqid/shmid) of each data line of a /proc/sysvipc file.
fn sysvipc_ids(path: &str) -> Value {
    let text = fs::read_to_string(path).unwrap_or_default();
    let ids: Vec<i64> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().nth(1)?.parse().ok())
        .collect();
    json!(ids)
}

fn uptime() -> Value {
    fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(Value::Null, |s| json!(s))
}

fn clock(id: ClockId) -> Value {
    clock_gettime(id).map_or(Value::Null, |t| {
        json!(t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9)
    })
}

/// Environment variables whose names start with `CHAIN_`.
fn chain_env() -> Value {
    let env: Map<String, Value> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            k.starts_with("CHAIN_")
                .then(|| (k, json!(v.to_string_lossy())))
        })
        .collect();
    Value::Object(env)
}
