//! cgroup text: `chain::cgroup::Layout::parse` on mountinfo and
//! /proc/self/cgroup, then `cgctl stats` (cgctl/src/stats.rs) on a group
//! directory holding the files the input gives.
//!
//! Input: sections separated by a line `---`: the first is mountinfo, the
//! second /proc/self/cgroup, each further one a cgroup file, its first
//! line the file's name (one of [`FILES`], what stats.rs reads; any other
//! name skips the section) and the rest its content.
//!
//! The stats parsers are private to stats.rs; its one entry point,
//! `collect`, reads the files of the group's directories, so the target
//! writes them into a directory of its own (under $TMPDIR, which run.sh
//! points at a directory it removes) and collects from there. Which
//! directories stats looks at follows the parsed layout: the cgroup2
//! directory when there is a cgroup2 mount, and a v1 directory for each
//! controller of a v1 mount (all the same directory).
//!
//! Checked, besides no panic: the layout's mode matches its hierarchies;
//! v1 hierarchies have controllers and no two the same set; and `collect`
//! gives a {"type":"stats","id","data"} object.

#![no_main]
#![allow(dead_code)]

use chain::cgroup::{Layout, Mode};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[path = "../../cgctl/src/stats.rs"]
mod stats;

/// Every file name stats.rs reads, v1 and v2.
const FILES: &[&str] = &[
    "cgroup.events",
    "cgroup.stat",
    "cpu.stat",
    "cpu.pressure",
    "cpuacct.stat",
    "cpuacct.usage",
    "cpuacct.usage_user",
    "cpuacct.usage_sys",
    "cpuacct.usage_percpu",
    "cpuacct.usage_all",
    "memory.stat",
    "memory.current",
    "memory.max",
    "memory.peak",
    "memory.events",
    "memory.events.local",
    "memory.pressure",
    "memory.swap.current",
    "memory.swap.max",
    "memory.swap.peak",
    "memory.swap.events",
    "memory.usage_in_bytes",
    "memory.limit_in_bytes",
    "memory.max_usage_in_bytes",
    "memory.failcnt",
    "memory.memsw.usage_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.memsw.max_usage_in_bytes",
    "memory.memsw.failcnt",
    "memory.kmem.usage_in_bytes",
    "memory.kmem.limit_in_bytes",
    "memory.kmem.tcp.usage_in_bytes",
    "memory.oom_control",
    "pids.current",
    "pids.max",
    "pids.events",
    "io.stat",
    "io.pressure",
    "irq.pressure",
    "blkio.throttle.io_service_bytes_recursive",
    "blkio.throttle.io_serviced_recursive",
    "blkio.io_service_bytes_recursive",
    "blkio.io_serviced_recursive",
    "blkio.bfq.io_service_bytes_recursive",
    "blkio.bfq.io_serviced_recursive",
];

/// The group directory, made once per process.
fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("chain-fuzz-cgroup.{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a directory for the cgroup files");
        d
    })
}

fn check_layout(layout: &Layout) {
    let mode = match (layout.unified.is_some(), layout.v1.is_empty()) {
        (true, true) => Mode::V2,
        (true, false) => Mode::Hybrid,
        _ => Mode::V1,
    };
    assert_eq!(layout.mode, mode);
    for (i, h) in layout.v1.iter().enumerate() {
        assert!(
            !h.controllers.is_empty(),
            "a v1 hierarchy without controllers"
        );
        assert!(
            layout.v1[..i]
                .iter()
                .all(|o| o.controllers != h.controllers),
            "{:?} twice",
            h.controllers
        );
    }
    for h in layout.unified.iter().chain(&layout.v1) {
        let _ = h.own_dir();
        let _ = h.dir_of("/");
        let _ = h.name();
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sections = text.split("\n---\n");
    let mountinfo = sections.next().unwrap_or("");
    let proc_cgroup = sections.next().unwrap_or("");
    let layout = Layout::parse(mountinfo, proc_cgroup);
    check_layout(&layout);

    let dir = dir();
    for name in FILES {
        let _ = std::fs::remove_file(dir.join(name));
    }
    for section in sections {
        let (name, content) = section.split_once('\n').unwrap_or((section, ""));
        // Only the known names: nothing is written outside the directory.
        if FILES.contains(&name) {
            std::fs::write(dir.join(name), content).expect("writing a cgroup file");
        }
    }
    let controllers: Vec<&str> = layout
        .v1
        .iter()
        .flat_map(|h| h.controllers.iter().map(String::as_str))
        .collect();
    let v1: Vec<(&str, &Path)> = controllers.iter().map(|c| (*c, dir)).collect();
    let dirs = stats::Dirs {
        v2: layout.unified.as_ref().map(|_| dir),
        v1: &v1,
    };
    let out = stats::collect("fuzz", &dirs);
    assert_eq!(out["type"], "stats");
    assert_eq!(out["id"], "fuzz");
    assert!(out["data"].is_object());
    // What `cgctl stats` prints.
    let _ = serde_json::to_string(&out).expect("stats serialize");
});
