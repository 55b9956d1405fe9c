//! unshare-rs side by side with util-linux `unshare` (/usr/bin/unshare): the
//! same flags must give the probe the same view of the world, as root and as
//! the unprivileged test user (who adds -U, as util-linux requires).
//!
//! Namespace ids and host pids differ from run to run, so each probe report
//! is reduced to a "shape" that keeps only what the flags decide: which
//! namespaces are new, the ids and maps, the devices, the fds, and so on.

use e2e::*;
use serde_json::{Map, Value, json};
use std::path::Path;

/// util-linux's unshare; the comparison means nothing with anything else.
const UTIL_LINUX: &str = "/usr/bin/unshare";

/// The namespace kinds whose novelty is compared (the *_for_children ids
/// follow from these for the flag sets below).
const KINDS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// What both tools are run with as root. `-p` always comes with `-f`: without
/// it util-linux execs the program in the caller's PID namespace (only its
/// children enter the new one), while unshare-rs forks on purpose (see its
/// --help), so the two differ there by design.
const ROOT_SETS: &[&[&str]] = &[
    &["-u"],
    &["-i"],
    &["-n"],
    &["-m"],
    &["-C"],
    &["-T"],
    &["-U"],
    &["-fp", "--mount-proc"],
    &["-fpnumi", "--mount-proc"],
    &["-U", "-fp", "--mount-proc"],
    &["-Un"],
    &["-Uu"],
    &["-Ui"],
    &["-Um"],
    &["-UC"],
    &["-UT"],
    &["-f"],
    &["-fu"],
];

/// What both tools are run with as the test user: util-linux can create the
/// other namespaces unprivileged only inside a new user namespace.
const USER_SETS: &[&[&str]] = &[
    &["-U"],
    &["-U", "-fp", "--mount-proc"],
    &["-Un"],
    &["-Uu"],
    &["-Ui"],
    &["-Um"],
    &["-UC"],
    &["-UT"],
    &["-Uf"],
    &["-U", "-fpnumiCT", "--mount-proc"],
];

/// Whether util-linux's unshare is here; says SKIP when it is not.
fn util_linux_present() -> bool {
    if Path::new(UTIL_LINUX).exists() {
        return true;
    }
    skip(&format!(
        "{UTIL_LINUX} (util-linux) is not installed: nothing to compare with"
    ));
    false
}

/// `unshare FLAGS PROGRAM [ARGS]`: util-linux stops parsing options at the
/// first operand, which must be the program.
fn util_linux(who: As, flags: &[&str], program: &[&str]) -> Out {
    let args: Vec<&str> = flags.iter().chain(program).copied().collect();
    run(&mut command(who, UTIL_LINUX, &args))
}

/// `unshare-rs FLAGS -- PROGRAM [ARGS]`.
fn ours(who: As, flags: &[&str], program: &[&str]) -> Out {
    let mut args: Vec<&str> = flags.to_vec();
    args.push("--");
    args.extend_from_slice(program);
    run(&mut tool(who, "unshare-rs", &args))
}

/// The probe's report under one tool, failing with the tool's stderr.
fn report(tool: &str, out: Out, who: As, flags: &[&str]) -> Value {
    assert_eq!(
        out.status, 0,
        "{tool} {flags:?} as {who:?} failed with {}: stderr={}",
        out.status, out.stderr
    );
    out.json()
}

/// The part of a probe report that the flags decide, free of namespace ids
/// and host pids (which differ between any two runs).
fn shape(report: &Value, host: &Value) -> Value {
    let mut s = Map::new();
    for kind in KINDS {
        s.insert(
            format!("new_{kind}"),
            json!(ns(report, kind) != ns(host, kind)),
        );
    }
    let new_pid_ns = ns(report, "pid") != ns(host, "pid");
    // In the host's PID namespace the pid is just some host pid; in a new one
    // it is exact (1 for the first process).
    s.insert(
        "pid".into(),
        if new_pid_ns {
            report["pid"].clone()
        } else {
            json!("a host pid")
        },
    );
    // Whether the tool exec'd the program itself (its parent is then the
    // test) or forked it (the parent is the tool, or outside the namespace).
    let ppid = report["ppid"].as_i64().expect("ppid");
    s.insert(
        "parent".into(),
        json!(match ppid {
            0 => "outside the PID namespace",
            p if p == i64::from(std::process::id()) => "the test (no fork)",
            _ => "another process (forked)",
        }),
    );
    for key in [
        "uid",
        "gid",
        "uid_map",
        "setgroups",
        "net_devices",
        "hostname",
        "domainname",
    ] {
        s.insert(key.into(), report[key].clone());
    }
    // A /proc of the host's PID namespace lists whatever runs on the host
    // then; only a fresh one has a count that means something.
    let pids = report["pids"].as_array().expect("pids").len();
    s.insert(
        "pids".into(),
        if new_pid_ns && pids < 16 {
            json!(pids)
        } else {
            json!("the host's")
        },
    );
    s.insert("caps_eff".into(), report["caps"]["eff"].clone());
    let mut fds: Vec<i64> = report["fds"]
        .as_object()
        .expect("fds")
        .keys()
        .map(|k| k.parse().expect("fd number"))
        .collect();
    fds.sort_unstable();
    s.insert("fds".into(), json!(fds));
    s.insert(
        "chain_env".into(),
        json!(!report["env"].as_object().expect("env").is_empty()),
    );
    Value::Object(s)
}

/// The keys whose values differ between two shapes.
fn differing(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Runs the probe under both tools with `flags` as `who`; returns a
/// description of the disagreement, if any.
fn compare(who: As, flags: &[&str], host: &Value) -> Option<String> {
    let probe = probe();
    let probe = probe.to_str().unwrap();
    let theirs = report(UTIL_LINUX, util_linux(who, flags, &[probe]), who, flags);
    let mine = report("unshare-rs", ours(who, flags, &[probe]), who, flags);
    let (theirs, mine) = (shape(&theirs, host), shape(&mine, host));
    println!("{flags:?} as {who:?}:\n  util-linux: {theirs}\n  unshare-rs: {mine}");
    (theirs != mine).then(|| {
        format!(
            "flags {flags:?} as {who:?}: shapes differ in {:?}\n  util-linux unshare: {theirs}\n  unshare-rs:         {mine}",
            differing(&theirs, &mine)
        )
    })
}

/// Compares every flag set as `who`, and fails naming every set that differs.
fn compare_all(who: As, sets: &[&[&str]]) {
    if !util_linux_present() {
        return;
    }
    let host = host_probe(who);
    let failures: Vec<String> = sets
        .iter()
        .filter_map(|flags| compare(who, flags, &host))
        .collect();
    assert!(
        failures.is_empty(),
        "unshare-rs and util-linux unshare disagree:\n{}",
        failures.join("\n")
    );
}

#[test]
fn same_view_as_util_linux_as_root() {
    compare_all(As::Root, ROOT_SETS);
}

#[test]
fn same_view_as_util_linux_as_user() {
    compare_all(As::User, USER_SETS);
}

/// The exit status of `sh -c SCRIPT` under both tools, as `who`, with `flags`.
fn statuses(who: As, flags: &[&str], program: &[&str]) -> (i32, i32) {
    (
        util_linux(who, flags, program).status,
        ours(who, flags, program).status,
    )
}

#[test]
fn program_exit_status_passes_through_like_util_linux() {
    if !util_linux_present() {
        return;
    }
    let exit7 = ["sh", "-c", "exit 7"];
    for (who, flags) in [
        (As::Root, &["-u"][..]),
        (As::Root, &["-fu"][..]),
        (As::Root, &["-fp"][..]),
        (As::User, &["-U"][..]),
        (As::User, &["-Uf"][..]),
        (As::User, &["-Ufp"][..]),
    ] {
        assert_eq!(
            statuses(who, flags, &exit7),
            (7, 7),
            "(util-linux, unshare-rs) status of `sh -c 'exit 7'` with {flags:?} as {who:?}"
        );
    }
}

#[test]
fn missing_program_fails_like_util_linux() {
    if !util_linux_present() {
        return;
    }
    let missing = ["/nonexistent/no-such-program"];
    for (who, flags) in [
        (As::Root, &["-u"][..]),
        (As::Root, &["-fu"][..]),
        (As::User, &["-U"][..]),
        (As::User, &["-Uf"][..]),
    ] {
        let (theirs, mine) = statuses(who, flags, &missing);
        println!("missing program, {flags:?} as {who:?}: util-linux {theirs}, unshare-rs {mine}");
        assert_eq!(
            mine, 127,
            "unshare-rs {flags:?} as {who:?} with a missing program: {mine} (util-linux: {theirs})"
        );
        assert_ne!(
            theirs, 0,
            "util-linux unshare {flags:?} as {who:?} succeeded with a missing program"
        );
    }
}
