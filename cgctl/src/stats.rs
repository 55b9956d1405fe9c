//! The statistics of a group as one JSON object: `cgctl stats GROUP` and
//! `cgctl --wait --stats-json FILE`.
//!
//! The shape is runc's (`runc events --stats`, `types/events.go`):
//!
//! ```text
//! {"type":"stats","id":ID,"data":{
//!   "cpu":{"usage":{"total","user","kernel","percpu","percpu_user","percpu_kernel"},
//!          "throttling":{"periods","throttledPeriods","throttledTime"},"psi"},
//!   "memory":{"usage":{"usage","limit","max","failcnt"},"swap":{..},"swapOnly":{..},
//!             "kernel":{..},"kernelTCP":{..},"cache","raw":{memory.stat},"psi"},
//!   "pids":{"current","limit"},
//!   "blkio":{"ioServiceBytesRecursive":[{"major","minor","op","value"}],
//!            "ioServicedRecursive":[..],"psi"},
//!   "raw":{"<v2 file>":{key:value},"memory.oom_control":{..}}}}
//! ```
//!
//! `raw` holds the cgroup2 files cgroup.events, cgroup.stat, cpu.stat,
//! memory.events, memory.events.local, memory.swap.events and pids.events
//! as {key: number}, the pressure files as {"some": {"avg10", "avg60",
//! "avg300", "total"}, "full": {..}}, and from v1 directories pids.events
//! and memory.oom_control (`oom_kill` since 4.13).
//!
//! Times are nanoseconds, sizes bytes. Every value comes from a file of the
//! group; a file that is missing or cannot be read or parsed leaves its key
//! out (and a section with nothing in it is left out), so this never fails.
//! In a flat-keyed file ("key value" lines) a line that does not parse is
//! skipped; a file with text but no line that parses is left out.
//!
//! Where a controller has a v1 directory, its v1 files are used; otherwise
//! the cgroup2 directory's. In hybrid mode the unified directory has no
//! controllers but still has `cpu.stat` (usage only: `usage_usec`,
//! `user_usec`, `system_usec`), the pressure files and the `cgroup.*` core
//! files, so these fill what the v1 directories do not give.
//!
//! Choices where runc's v2 mapping leaves room:
//! - a limit of "max" (`memory.max`, `memory.swap.max`) is u64::MAX
//!   (18446744073709551615), as runc reports it; `pids.max` "max" is 0, as
//!   runc reports it ("no limit");
//! - `memory.usage.max` is `memory.peak` (5.19+);
//! - `memory.usage.failcnt` on v2 is `memory.events` "max", the number of
//!   times the usage was about to go over `memory.max`, which is what the
//!   v1 `memory.failcnt` counts (runc leaves it 0); the swap-only failcnt is
//!   `memory.swap.events` "max";
//! - `memory.swap` is memory+swap, as in v1 and as runc reports it on v2
//!   (`memory.swap.current` + `memory.current`; limit `memory.swap.max` +
//!   `memory.max`, or u64::MAX when either is "max"). Swap alone is in
//!   `memory.swapOnly` (not in runc's events output; runc's library has it
//!   as `SwapOnlyUsage`); on v1 that is memsw usage minus memory usage;
//! - `memory.cache` is memory.stat "file" on v2, "cache" (else
//!   "total_cache") on v1;
//! - v1 user/kernel CPU time comes from `cpuacct.usage_user`/`usage_sys`
//!   (ns) where present, else `cpuacct.stat` (USER_HZ = 100 ticks a second,
//!   as runc assumes);
//! - blkio ops: v2 io.stat rbytes/wbytes/dbytes are Read/Write/Discard (runc
//!   maps only Read and Write); v1 lines keep their op (Read, Write, Sync,
//!   Async, Discard) except the "Total" ones, read from the
//!   `blkio.throttle.*` files (every bio passes the throttle layer), else
//!   the CFQ `blkio.*` ones, else the BFQ `blkio.bfq.*` ones;
//! - PSI: as runc, under `cpu.psi`, `memory.psi` and `blkio.psi`, and also
//!   under `raw` by file name with `irq.pressure` (6.2+).

use serde_json::{Map, Number, Value, json};
use std::path::Path;

/// Where a group's files are: its cgroup2 directory (pure v2, or hybrid's unified tree), and its v1 directories by controller name.
pub struct Dirs<'a> {
    pub v2: Option<&'a Path>,
    pub v1: &'a [(&'a str, &'a Path)],
}

impl<'a> Dirs<'a> {
    /// The v1 directory of a controller ("memory", "cpuacct", ...).
    fn v1(&self, controller: &str) -> Option<&'a Path> {
        self.v1
            .iter()
            .find(|(name, _)| *name == controller)
            .map(|(_, dir)| *dir)
    }
}

/// runc-shaped stats plus raw keys: {"type":"stats","id":ID,"data":{...}}
pub fn collect(id: &str, dirs: &Dirs) -> serde_json::Value {
    let mut data = Map::new();
    put(&mut data, "cpu", cpu(dirs));
    put(&mut data, "memory", memory(dirs));
    put(&mut data, "pids", pids(dirs));
    put(&mut data, "blkio", blkio(dirs));
    put(&mut data, "raw", raw(dirs));
    json!({"type": "stats", "id": id, "data": data})
}

/// Flat-keyed cgroup2 files reported under `raw` as {key: number}.
const RAW_FLAT: &[&str] = &[
    "cgroup.events",
    "cgroup.stat",
    "cpu.stat",
    "memory.events",
    "memory.events.local",
    "memory.swap.events",
    "pids.events",
];

/// Pressure (PSI) files reported under `raw`.
const RAW_PRESSURE: &[&str] = &[
    "cpu.pressure",
    "memory.pressure",
    "io.pressure",
    "irq.pressure",
];

const USER_HZ_NS: u64 = 1_000_000_000 / 100;

fn cpu(dirs: &Dirs) -> Option<Value> {
    let v2 = dirs
        .v2
        .and_then(|d| read_flat(d, "cpu.stat"))
        .unwrap_or_default();
    let v2 = |key: &str| v2.get(key).and_then(Value::as_u64);
    let usec = |key: &str| v2(key).map(|v| v.saturating_mul(1000));
    let acct = dirs.v1("cpuacct");
    let ticks = acct
        .and_then(|d| read_flat(d, "cpuacct.stat"))
        .unwrap_or_default();
    let ticks = |key: &str| {
        ticks
            .get(key)
            .and_then(Value::as_u64)
            .map(|v| v.saturating_mul(USER_HZ_NS))
    };
    let acct_u64 = |name: &str| acct.and_then(|d| read_u64(d, name));

    let mut usage = Map::new();
    put(
        &mut usage,
        "total",
        acct_u64("cpuacct.usage").or_else(|| usec("usage_usec")),
    );
    let user = acct_u64("cpuacct.usage_user")
        .or_else(|| ticks("user"))
        .or_else(|| usec("user_usec"));
    put(&mut usage, "user", user);
    let kernel = acct_u64("cpuacct.usage_sys")
        .or_else(|| ticks("system"))
        .or_else(|| usec("system_usec"));
    put(&mut usage, "kernel", kernel);
    if let Some(dir) = acct {
        put(
            &mut usage,
            "percpu",
            read(dir, "cpuacct.usage_percpu").and_then(|t| parse_list(&t)),
        );
        if let Some((user, kernel)) =
            read(dir, "cpuacct.usage_all").and_then(|t| parse_usage_all(&t))
        {
            usage.insert("percpu_user".into(), user.into());
            usage.insert("percpu_kernel".into(), kernel.into());
        }
    }

    let v1 = dirs
        .v1("cpu")
        .and_then(|d| read_flat(d, "cpu.stat"))
        .unwrap_or_default();
    let v1 = |key: &str| v1.get(key).and_then(Value::as_u64);
    let mut throttling = Map::new();
    put(
        &mut throttling,
        "periods",
        v1("nr_periods").or_else(|| v2("nr_periods")),
    );
    put(
        &mut throttling,
        "throttledPeriods",
        v1("nr_throttled").or_else(|| v2("nr_throttled")),
    );
    put(
        &mut throttling,
        "throttledTime",
        v1("throttled_time").or_else(|| usec("throttled_usec")),
    );

    let mut cpu = Map::new();
    put(&mut cpu, "usage", object(usage));
    put(&mut cpu, "throttling", object(throttling));
    put(
        &mut cpu,
        "psi",
        dirs.v2.and_then(|d| read_pressure(d, "cpu.pressure")),
    );
    object(cpu)
}

fn memory(dirs: &Dirs) -> Option<Value> {
    let mut memory = match dirs.v1("memory") {
        Some(dir) => memory_v1(dir),
        None => dirs.v2.map(memory_v2).unwrap_or_default(),
    };
    put(
        &mut memory,
        "psi",
        dirs.v2.and_then(|d| read_pressure(d, "memory.pressure")),
    );
    object(memory)
}

fn memory_v1(dir: &Path) -> Map<String, Value> {
    let mut memory = Map::new();
    let stat = read_flat(dir, "memory.stat");
    if let Some(stat) = &stat {
        put(
            &mut memory,
            "cache",
            stat.get("cache")
                .or_else(|| stat.get("total_cache"))
                .cloned(),
        );
    }
    let entry = |prefix: &str| {
        let mut e = Map::new();
        put(
            &mut e,
            "usage",
            read_u64(dir, &format!("{prefix}.usage_in_bytes")),
        );
        put(
            &mut e,
            "limit",
            read_u64(dir, &format!("{prefix}.limit_in_bytes")),
        );
        put(
            &mut e,
            "max",
            read_u64(dir, &format!("{prefix}.max_usage_in_bytes")),
        );
        put(
            &mut e,
            "failcnt",
            read_u64(dir, &format!("{prefix}.failcnt")),
        );
        e
    };
    let usage = entry("memory");
    let swap = entry("memory.memsw");
    let swap_only = match (
        swap.get("usage").and_then(Value::as_u64),
        usage.get("usage").and_then(Value::as_u64),
    ) {
        (Some(both), Some(mem)) => Some(json!({"usage": both.saturating_sub(mem)})),
        _ => None,
    };
    put(&mut memory, "usage", object(usage));
    put(&mut memory, "swap", object(swap));
    put(&mut memory, "swapOnly", swap_only);
    put(&mut memory, "kernel", object(entry("memory.kmem")));
    put(&mut memory, "kernelTCP", object(entry("memory.kmem.tcp")));
    put(&mut memory, "raw", stat.map(Value::Object));
    memory
}

fn memory_v2(dir: &Path) -> Map<String, Value> {
    let mut memory = Map::new();
    let stat = read_flat(dir, "memory.stat");
    if let Some(stat) = &stat {
        put(&mut memory, "cache", stat.get("file").cloned());
    }
    let event = |file: &str, key: &str| {
        read_flat(dir, file).and_then(|m| m.get(key).and_then(Value::as_u64))
    };

    let mem_usage = read_u64(dir, "memory.current");
    let mem_limit = read_limit(dir, "memory.max", u64::MAX);
    let mut usage = Map::new();
    put(&mut usage, "usage", mem_usage);
    put(&mut usage, "limit", mem_limit);
    put(&mut usage, "max", read_u64(dir, "memory.peak"));
    put(&mut usage, "failcnt", event("memory.events", "max"));

    let swap_usage = read_u64(dir, "memory.swap.current");
    let swap_limit = read_limit(dir, "memory.swap.max", u64::MAX);
    let mut swap_only = Map::new();
    put(&mut swap_only, "usage", swap_usage);
    put(&mut swap_only, "limit", swap_limit);
    put(&mut swap_only, "max", read_u64(dir, "memory.swap.peak"));
    put(
        &mut swap_only,
        "failcnt",
        event("memory.swap.events", "max"),
    );

    // memory+swap, as v1's memsw and runc's v2 "swap".
    let mut swap = Map::new();
    put(
        &mut swap,
        "usage",
        swap_usage.zip(mem_usage).map(|(s, m)| s.saturating_add(m)),
    );
    put(
        &mut swap,
        "limit",
        swap_limit.zip(mem_limit).map(|(s, m)| s.saturating_add(m)),
    );

    put(&mut memory, "usage", object(usage));
    put(&mut memory, "swap", object(swap));
    put(&mut memory, "swapOnly", object(swap_only));
    put(&mut memory, "raw", stat.map(Value::Object));
    memory
}

fn pids(dirs: &Dirs) -> Option<Value> {
    let dir = dirs.v1("pids").or(dirs.v2)?;
    let mut pids = Map::new();
    put(&mut pids, "current", read_u64(dir, "pids.current"));
    put(&mut pids, "limit", read_limit(dir, "pids.max", 0));
    object(pids)
}

fn blkio(dirs: &Dirs) -> Option<Value> {
    let mut blkio = Map::new();
    if let Some(dir) = dirs.v1("blkio") {
        let table = |name: &str| {
            ["blkio.throttle.", "blkio.", "blkio.bfq."]
                .iter()
                .find_map(|prefix| read(dir, &format!("{prefix}{name}")))
                .and_then(|t| parse_blkio_v1(&t))
        };
        put(
            &mut blkio,
            "ioServiceBytesRecursive",
            table("io_service_bytes_recursive"),
        );
        put(
            &mut blkio,
            "ioServicedRecursive",
            table("io_serviced_recursive"),
        );
    } else if let Some((bytes, ios)) = dirs
        .v2
        .and_then(|d| read(d, "io.stat"))
        .and_then(|t| parse_io_stat(&t))
    {
        blkio.insert("ioServiceBytesRecursive".into(), bytes.into());
        blkio.insert("ioServicedRecursive".into(), ios.into());
    }
    put(
        &mut blkio,
        "psi",
        dirs.v2.and_then(|d| read_pressure(d, "io.pressure")),
    );
    object(blkio)
}

fn raw(dirs: &Dirs) -> Option<Value> {
    let mut raw = Map::new();
    if let Some(dir) = dirs.v2 {
        for name in RAW_FLAT {
            put(&mut raw, name, read_flat(dir, name).map(Value::Object));
        }
        for name in RAW_PRESSURE {
            put(&mut raw, name, read_pressure(dir, name));
        }
    }
    if let Some(dir) = dirs.v1("pids") {
        put(
            &mut raw,
            "pids.events",
            read_flat(dir, "pids.events").map(Value::Object),
        );
    }
    if let Some(dir) = dirs.v1("memory") {
        put(
            &mut raw,
            "memory.oom_control",
            read_flat(dir, "memory.oom_control").map(Value::Object),
        );
    }
    object(raw)
}

// --- reading and parsing ---

fn put<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(value) = value {
        map.insert(key.to_string(), value.into());
    }
}

/// An object, or None when it has nothing in it.
fn object(map: Map<String, Value>) -> Option<Value> {
    (!map.is_empty()).then_some(Value::Object(map))
}

fn read(dir: &Path, name: &str) -> Option<String> {
    chain::file::read_opt(dir.join(name))
}

fn read_u64(dir: &Path, name: &str) -> Option<u64> {
    read(dir, name)?.trim().parse().ok()
}

/// A number, or "max" meaning `unlimited`.
fn read_limit(dir: &Path, name: &str, unlimited: u64) -> Option<u64> {
    let text = read(dir, name)?;
    match text.trim() {
        "max" => Some(unlimited),
        n => n.parse().ok(),
    }
}

fn read_flat(dir: &Path, name: &str) -> Option<Map<String, Value>> {
    parse_flat(&read(dir, name)?)
}

fn read_pressure(dir: &Path, name: &str) -> Option<Value> {
    parse_pressure(&read(dir, name)?)
}

/// Parses lines that pass `line` (Some) or not (None); None when there was
/// text but no line passed.
fn lines<T>(text: &str, mut line: impl FnMut(&str) -> Option<T>) -> Option<Vec<T>> {
    let mut good = Vec::new();
    let mut bad = false;
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        match line(l) {
            Some(v) => good.push(v),
            None => bad = true,
        }
    }
    (!(bad && good.is_empty())).then_some(good)
}

/// "key value" lines (memory.stat, memory.events, cgroup.stat, ...).
fn parse_flat(text: &str) -> Option<Map<String, Value>> {
    let pairs = lines(
        text,
        |l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [key, value] => Some((key.to_string(), Value::from(value.parse::<u64>().ok()?))),
            _ => None,
        },
    )?;
    Some(pairs.into_iter().collect())
}

/// Space-separated numbers (cpuacct.usage_percpu).
fn parse_list(text: &str) -> Option<Vec<u64>> {
    text.split_whitespace().map(|n| n.parse().ok()).collect()
}

/// cpuacct.usage_all: a "cpu user system" header, then one line per CPU.
/// Returns (user, system) per CPU.
fn parse_usage_all(text: &str) -> Option<(Vec<u64>, Vec<u64>)> {
    let mut rows = text.lines().filter(|l| !l.trim().is_empty());
    if !rows.next()?.starts_with("cpu") {
        return None;
    }
    let (mut user, mut system) = (Vec::new(), Vec::new());
    for row in rows {
        match row.split_whitespace().collect::<Vec<_>>()[..] {
            [_, u, s] => {
                user.push(u.parse().ok()?);
                system.push(s.parse().ok()?);
            }
            _ => return None,
        }
    }
    Some((user, system))
}

/// "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line, as
/// {"some": {"avg10": f, "avg60": f, "avg300": f, "total": n}, "full": {...}}.
fn parse_pressure(text: &str) -> Option<Value> {
    let kinds = lines(text, |l| {
        let mut fields = l.split_whitespace();
        let kind = fields.next()?;
        if kind != "some" && kind != "full" {
            return None;
        }
        let mut values = Map::new();
        for field in fields {
            let (key, value) = field.split_once('=')?;
            let value = if key == "total" {
                Value::from(value.parse::<u64>().ok()?)
            } else {
                Value::Number(Number::from_f64(value.parse().ok()?)?)
            };
            values.insert(key.to_string(), value);
        }
        Some((kind.to_string(), Value::Object(values)))
    })?;
    object(kinds.into_iter().collect())
}

/// One blkio entry as runc writes it.
fn entry(major: u64, minor: u64, op: &str, value: u64) -> Value {
    json!({"major": major, "minor": minor, "op": op, "value": value})
}

fn parse_dev(dev: &str) -> Option<(u64, u64)> {
    let (major, minor) = dev.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// v1 blkio tables: "8:0 Read 123" lines, per device a "8:0 Total 456"
/// line, and a final "Total 456" line (both left out).
fn parse_blkio_v1(text: &str) -> Option<Vec<Value>> {
    let entries = lines(
        text,
        |l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            ["Total", total] => total.parse::<u64>().ok().map(|_| None),
            [dev, op, value] => {
                let (major, minor) = parse_dev(dev)?;
                let value = value.parse().ok()?;
                Some((op != "Total").then(|| entry(major, minor, op, value)))
            }
            _ => None,
        },
    )?;
    Some(entries.into_iter().flatten().collect())
}

/// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6" lines,
/// as runc's (bytes, serviced) tables. Keys that have no v1 counterpart are
/// left out, and so are values that do not parse.
fn parse_io_stat(text: &str) -> Option<(Vec<Value>, Vec<Value>)> {
    let devices = lines(text, |l| {
        let mut fields = l.split_whitespace();
        let (major, minor) = parse_dev(fields.next()?)?;
        let (mut bytes, mut ios) = (Vec::new(), Vec::new());
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let Ok(value) = value.parse::<u64>() else {
                continue;
            };
            let (table, op) = match key {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "dbytes" => (&mut bytes, "Discard"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                "dios" => (&mut ios, "Discard"),
                _ => continue,
            };
            table.push(entry(major, minor, op, value));
        }
        Some((bytes, ios))
    })?;
    let (bytes, ios): (Vec<_>, Vec<_>) = devices.into_iter().unzip();
    Some((bytes.concat(), ios.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A temporary directory of fake cgroup files, removed on drop.
    struct Fake(PathBuf);

    impl Fake {
        fn new(tag: &str) -> Fake {
            let root =
                std::env::temp_dir().join(format!("cgctl-stats-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            Fake(root)
        }

        /// A directory with these files in it.
        fn dir(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
            let dir = self.0.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for (file, text) in files {
                std::fs::write(dir.join(file), text).unwrap();
            }
            dir
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const PRESSURE: &str = "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n\
                            full avg10=0.00 avg60=0.00 avg300=0.00 total=678\n";

    fn psi() -> Value {
        json!({
            "some": {"avg10": 1.5, "avg60": 0.25, "avg300": 0.0, "total": 12345},
            "full": {"avg10": 0.0, "avg60": 0.0, "avg300": 0.0, "total": 678},
        })
    }

    #[test]
    fn pure_v2() {
        let fake = Fake::new("v2");
        let dir = fake.dir(
            "grp",
            &[
                (
                    "cpu.stat",
                    "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnice_usec 0\n\
                     nr_periods 10\nnr_throttled 3\nthrottled_usec 250\nnr_bursts 0\nburst_usec 0\n",
                ),
                ("memory.current", "4096\n"),
                ("memory.max", "104857600\n"),
                ("memory.peak", "8192\n"),
                ("memory.stat", "anon 1024\nfile 2048\nkernel 512\n"),
                ("memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n"),
                ("memory.events.local", "low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\noom_group_kill 0\n"),
                ("memory.swap.current", "100\n"),
                ("memory.swap.max", "max\n"),
                ("memory.swap.events", "high 0\nmax 4\nfail 0\n"),
                ("pids.current", "3\n"),
                ("pids.max", "max\n"),
                ("pids.events", "max 0\n"),
                ("io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n259:1 rbytes=5 wbytes=6 rios=7 wios=8\n"),
                ("cgroup.events", "populated 1\nfrozen 0\n"),
                ("cgroup.stat", "nr_descendants 0\nnr_dying_descendants 0\n"),
                ("cpu.pressure", PRESSURE),
                ("memory.pressure", PRESSURE),
                ("io.pressure", PRESSURE),
            ],
        );
        let v = collect(
            "c1",
            &Dirs {
                v2: Some(&dir),
                v1: &[],
            },
        );
        assert_eq!(v["type"], "stats");
        assert_eq!(v["id"], "c1");
        let d = &v["data"];
        assert_eq!(
            d["cpu"]["usage"],
            json!({"total": 1_000_000, "user": 600_000, "kernel": 400_000})
        );
        assert_eq!(
            d["cpu"]["throttling"],
            json!({"periods": 10, "throttledPeriods": 3, "throttledTime": 250_000})
        );
        assert_eq!(d["cpu"]["psi"], psi());
        let m = &d["memory"];
        assert_eq!(
            m["usage"],
            json!({"usage": 4096, "limit": 104857600, "max": 8192, "failcnt": 7})
        );
        assert_eq!(m["swap"], json!({"usage": 4196, "limit": u64::MAX}));
        assert_eq!(
            m["swapOnly"],
            json!({"usage": 100, "limit": u64::MAX, "failcnt": 4})
        );
        assert_eq!(m["cache"], 2048);
        assert_eq!(m["raw"], json!({"anon": 1024, "file": 2048, "kernel": 512}));
        assert_eq!(m["psi"], psi());
        assert!(m.get("kernel").is_none());
        assert_eq!(d["pids"], json!({"current": 3, "limit": 0}));
        assert_eq!(
            d["blkio"]["ioServiceBytesRecursive"],
            json!([
                {"major": 8, "minor": 0, "op": "Read", "value": 100},
                {"major": 8, "minor": 0, "op": "Write", "value": 200},
                {"major": 8, "minor": 0, "op": "Discard", "value": 0},
                {"major": 259, "minor": 1, "op": "Read", "value": 5},
                {"major": 259, "minor": 1, "op": "Write", "value": 6},
            ])
        );
        assert_eq!(
            d["blkio"]["ioServicedRecursive"][3],
            json!({"major": 259, "minor": 1, "op": "Read", "value": 7})
        );
        assert_eq!(d["blkio"]["psi"], psi());
        let raw = &d["raw"];
        assert_eq!(raw["memory.events"]["oom_kill"], 1);
        assert_eq!(raw["memory.events.local"]["max"], 2);
        assert_eq!(raw["memory.swap.events"]["max"], 4);
        assert_eq!(raw["pids.events"], json!({"max": 0}));
        assert_eq!(raw["cgroup.events"], json!({"populated": 1, "frozen": 0}));
        assert_eq!(raw["cgroup.stat"]["nr_dying_descendants"], 0);
        assert_eq!(raw["cpu.stat"]["nr_bursts"], 0);
        assert_eq!(raw["io.pressure"], psi());
        assert!(raw.get("irq.pressure").is_none());
        assert!(raw.get("memory.oom_control").is_none());

        // A finite swap limit adds up with the memory limit, as v1's memsw.
        std::fs::write(dir.join("memory.swap.max"), "1000\n").unwrap();
        let v = collect(
            "c1",
            &Dirs {
                v2: Some(&dir),
                v1: &[],
            },
        );
        assert_eq!(v["data"]["memory"]["swap"]["limit"], 104857600 + 1000);
        // The text written out is the JSON number 18446744073709551615.
        std::fs::write(dir.join("memory.max"), "max\n").unwrap();
        let v = collect(
            "c1",
            &Dirs {
                v2: Some(&dir),
                v1: &[],
            },
        );
        assert!(v.to_string().contains(r#""limit":18446744073709551615"#));
    }

    #[test]
    fn v1() {
        let fake = Fake::new("v1");
        let memory = fake.dir(
            "memory",
            &[
                ("memory.usage_in_bytes", "4096\n"),
                ("memory.limit_in_bytes", "9223372036854771712\n"),
                ("memory.max_usage_in_bytes", "8192\n"),
                ("memory.failcnt", "5\n"),
                ("memory.memsw.usage_in_bytes", "5000\n"),
                ("memory.memsw.limit_in_bytes", "9223372036854771712\n"),
                ("memory.memsw.max_usage_in_bytes", "9000\n"),
                ("memory.memsw.failcnt", "0\n"),
                ("memory.stat", "cache 300\nrss 400\ntotal_cache 333\n"),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
                ),
            ],
        );
        // cpu,cpuacct: one directory under both names.
        let cpu = fake.dir(
            "cpu,cpuacct",
            &[
                ("cpuacct.usage", "123456789\n"),
                ("cpuacct.stat", "user 12\nsystem 3\n"),
                ("cpuacct.usage_percpu", "100 200 \n"),
                ("cpuacct.usage_all", "cpu user system\n0 60 40\n1 150 50\n"),
                (
                    "cpu.stat",
                    "nr_periods 20\nnr_throttled 4\nthrottled_time 999\n",
                ),
            ],
        );
        let pids = fake.dir(
            "pids",
            &[
                ("pids.current", "2\n"),
                ("pids.max", "64\n"),
                ("pids.events", "max 1\n"),
            ],
        );
        let blkio = fake.dir(
            "blkio",
            &[
                (
                    "blkio.throttle.io_service_bytes_recursive",
                    "8:0 Read 1000\n8:0 Write 2000\n8:0 Sync 2500\n8:0 Async 500\n8:0 Discard 0\n8:0 Total 3000\nTotal 3000\n",
                ),
                ("blkio.throttle.io_serviced_recursive", "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n"),
            ],
        );
        let v1 = [
            ("memory", memory.as_path()),
            ("cpu", cpu.as_path()),
            ("cpuacct", cpu.as_path()),
            ("pids", pids.as_path()),
            ("blkio", blkio.as_path()),
        ];
        let v = collect("g", &Dirs { v2: None, v1: &v1 });
        let d = &v["data"];
        assert_eq!(
            d["cpu"]["usage"],
            json!({
                "total": 123456789u64,
                "user": 120_000_000u64,
                "kernel": 30_000_000u64,
                "percpu": [100, 200],
                "percpu_user": [60, 150],
                "percpu_kernel": [40, 50],
            })
        );
        assert_eq!(
            d["cpu"]["throttling"],
            json!({"periods": 20, "throttledPeriods": 4, "throttledTime": 999})
        );
        assert!(d["cpu"].get("psi").is_none());
        let m = &d["memory"];
        assert_eq!(
            m["usage"],
            json!({"usage": 4096, "limit": 9223372036854771712u64, "max": 8192, "failcnt": 5})
        );
        assert_eq!(
            m["swap"],
            json!({"usage": 5000, "limit": 9223372036854771712u64, "max": 9000, "failcnt": 0})
        );
        assert_eq!(m["swapOnly"], json!({"usage": 904}));
        assert_eq!(m["cache"], 300);
        assert_eq!(m["raw"]["total_cache"], 333);
        assert!(m.get("kernel").is_none());
        assert_eq!(d["pids"], json!({"current": 2, "limit": 64}));
        assert_eq!(
            d["blkio"]["ioServiceBytesRecursive"],
            json!([
                {"major": 8, "minor": 0, "op": "Read", "value": 1000},
                {"major": 8, "minor": 0, "op": "Write", "value": 2000},
                {"major": 8, "minor": 0, "op": "Sync", "value": 2500},
                {"major": 8, "minor": 0, "op": "Async", "value": 500},
                {"major": 8, "minor": 0, "op": "Discard", "value": 0},
            ])
        );
        assert_eq!(
            d["blkio"]["ioServicedRecursive"].as_array().unwrap().len(),
            2
        );
        assert_eq!(
            d["raw"],
            json!({
                "memory.oom_control": {"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 2},
                "pids.events": {"max": 1},
            })
        );

        // Precise user/system times win over the ticks of cpuacct.stat.
        std::fs::write(cpu.join("cpuacct.usage_user"), "111\n").unwrap();
        std::fs::write(cpu.join("cpuacct.usage_sys"), "222\n").unwrap();
        let v = collect("g", &Dirs { v2: None, v1: &v1 });
        assert_eq!(v["data"]["cpu"]["usage"]["user"], 111);
        assert_eq!(v["data"]["cpu"]["usage"]["kernel"], 222);
        // Without the throttle files, the CFQ (then BFQ) ones.
        std::fs::write(
            blkio.join("blkio.bfq.io_serviced_recursive"),
            "8:16 Write 3\n",
        )
        .unwrap();
        std::fs::remove_file(blkio.join("blkio.throttle.io_serviced_recursive")).unwrap();
        std::fs::remove_file(blkio.join("blkio.throttle.io_service_bytes_recursive")).unwrap();
        std::fs::write(
            blkio.join("blkio.io_service_bytes_recursive"),
            "8:16 Read 7\nTotal 7\n",
        )
        .unwrap();
        let v = collect("g", &Dirs { v2: None, v1: &v1 });
        assert_eq!(
            v["data"]["blkio"]["ioServiceBytesRecursive"],
            json!([{"major": 8, "minor": 16, "op": "Read", "value": 7}])
        );
        assert_eq!(
            v["data"]["blkio"]["ioServicedRecursive"],
            json!([{"major": 8, "minor": 16, "op": "Write", "value": 3}])
        );
    }

    #[test]
    fn hybrid() {
        let fake = Fake::new("hybrid");
        let memory = fake.dir(
            "memory",
            &[
                ("memory.usage_in_bytes", "4440064\n"),
                ("memory.limit_in_bytes", "104857600\n"),
                ("memory.max_usage_in_bytes", "5000000\n"),
                ("memory.failcnt", "0\n"),
                ("memory.stat", "cache 100\nrss 200\n"),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
                ),
            ],
        );
        let cpu = fake.dir(
            "cpu",
            &[(
                "cpu.stat",
                "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
            )],
        );
        let cpuacct = fake.dir(
            "cpuacct",
            &[
                ("cpuacct.usage", "5000\n"),
                ("cpuacct.usage_user", "3000\n"),
                ("cpuacct.usage_sys", "2000\n"),
            ],
        );
        // The unified tree without controllers: core files only.
        let unified = fake.dir(
            "unified",
            &[
                (
                    "cpu.stat",
                    "usage_usec 7\nuser_usec 4\nsystem_usec 3\nnice_usec 0\n",
                ),
                ("cgroup.events", "populated 1\nfrozen 0\n"),
                (
                    "cgroup.stat",
                    "nr_descendants 2\nnr_subsys_perf_event 1\nnr_dying_descendants 0\n",
                ),
                ("cpu.pressure", PRESSURE),
                ("memory.pressure", PRESSURE),
                ("io.pressure", PRESSURE),
                (
                    "irq.pressure",
                    "full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n",
                ),
            ],
        );
        let v1 = [
            ("memory", memory.as_path()),
            ("cpu", cpu.as_path()),
            ("cpuacct", cpuacct.as_path()),
        ];
        let v = collect(
            "h",
            &Dirs {
                v2: Some(&unified),
                v1: &v1,
            },
        );
        let d = &v["data"];
        assert_eq!(
            d["cpu"]["usage"],
            json!({"total": 5000, "user": 3000, "kernel": 2000})
        );
        assert_eq!(
            d["cpu"]["throttling"],
            json!({"periods": 0, "throttledPeriods": 0, "throttledTime": 0})
        );
        assert_eq!(d["cpu"]["psi"], psi());
        assert_eq!(
            d["memory"]["usage"],
            json!({"usage": 4440064, "limit": 104857600, "max": 5000000, "failcnt": 0})
        );
        assert!(d["memory"].get("swap").is_none());
        assert_eq!(d["memory"]["cache"], 100);
        assert_eq!(d["memory"]["psi"], psi());
        // No pids or blkio controller anywhere: only io's pressure.
        assert!(d.get("pids").is_none());
        assert_eq!(d["blkio"], json!({"psi": psi()}));
        let raw = &d["raw"];
        assert_eq!(raw["cgroup.events"]["populated"], 1);
        assert_eq!(raw["cgroup.stat"]["nr_descendants"], 2);
        assert_eq!(raw["memory.oom_control"]["oom_kill"], 0);
        assert_eq!(
            raw["irq.pressure"],
            json!({"full": {"avg10": 0.0, "avg60": 0.0, "avg300": 0.0, "total": 5}})
        );
        assert!(raw.get("memory.events").is_none());

        // Without v1 cpu directories: usage from the unified cpu.stat, and
        // no throttling (that needs the cpu controller).
        let v1 = [("memory", memory.as_path())];
        let v = collect(
            "h",
            &Dirs {
                v2: Some(&unified),
                v1: &v1,
            },
        );
        assert_eq!(
            v["data"]["cpu"]["usage"],
            json!({"total": 7000, "user": 4000, "kernel": 3000})
        );
        assert!(v["data"]["cpu"].get("throttling").is_none());
    }

    #[test]
    fn missing_and_garbled() {
        let fake = Fake::new("garbled");
        let dir = fake.dir(
            "grp",
            &[
                ("cpu.stat", "this is not\na stat file\n"),
                ("memory.current", "abc\n"),
                ("memory.max", "12x\n"),
                ("memory.peak", "\n"),
                ("memory.stat", "anon 1\nfile\nshmem -3\nkernel 9\n"),
                ("memory.events", "max many\n"),
                ("pids.current", "7\n"),
                ("pids.max", ""),
                ("io.stat", "garbage\n"),
                ("cgroup.events", ""),
                (
                    "cpu.pressure",
                    "some avg10=x avg60=0.00 avg300=0.00 total=1\n",
                ),
                (
                    "memory.pressure",
                    "some avg10=0.10 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 total=-1\n",
                ),
                ("io.pressure", "weird avg10=0.00\n"),
            ],
        );
        // A subdirectory named like a file cannot be read as one.
        std::fs::create_dir(dir.join("memory.swap.current")).unwrap();
        let v = collect(
            "x",
            &Dirs {
                v2: Some(&dir),
                v1: &[],
            },
        );
        let d = &v["data"];
        assert!(d.get("cpu").is_none(), "{d}");
        let m = &d["memory"];
        assert!(m.get("usage").is_none() && m.get("swap").is_none() && m.get("swapOnly").is_none());
        assert!(m.get("cache").is_none());
        assert_eq!(m["raw"], json!({"anon": 1, "kernel": 9}));
        assert_eq!(
            m["psi"],
            json!({"some": {"avg10": 0.1, "avg60": 0.0, "avg300": 0.0, "total": 1}})
        );
        assert_eq!(d["pids"], json!({"current": 7}));
        assert!(d.get("blkio").is_none());
        let raw = &d["raw"];
        assert!(raw.get("cpu.stat").is_none() && raw.get("memory.events").is_none());
        assert!(raw.get("cpu.pressure").is_none() && raw.get("io.pressure").is_none());
        assert_eq!(raw["cgroup.events"], json!({}));

        // Directories that do not exist at all.
        let gone = fake.0.join("gone");
        let v1 = [
            ("memory", gone.as_path()),
            ("cpuacct", gone.as_path()),
            ("cpu", gone.as_path()),
            ("pids", gone.as_path()),
            ("blkio", gone.as_path()),
        ];
        let v = collect(
            "y",
            &Dirs {
                v2: Some(&gone),
                v1: &v1,
            },
        );
        assert_eq!(v, json!({"type": "stats", "id": "y", "data": {}}));
        let v = collect("z", &Dirs { v2: None, v1: &[] });
        assert_eq!(v, json!({"type": "stats", "id": "z", "data": {}}));

        // Overflowing values saturate instead of panicking.
        let big = fake.dir(
            "big",
            &[
                ("cpu.stat", "usage_usec 18446744073709551615\n"),
                ("memory.current", "18446744073709551615\n"),
                ("memory.swap.current", "1\n"),
            ],
        );
        let v = collect(
            "b",
            &Dirs {
                v2: Some(&big),
                v1: &[],
            },
        );
        assert_eq!(v["data"]["cpu"]["usage"]["total"], u64::MAX);
        assert_eq!(v["data"]["memory"]["swap"]["usage"], u64::MAX);
    }

    #[test]
    fn parsers() {
        assert_eq!(parse_list("1 2 3\n"), Some(vec![1, 2, 3]));
        assert_eq!(parse_list("1 x"), None);
        assert_eq!(
            parse_usage_all("cpu user system\n0 1 2\n"),
            Some((vec![1], vec![2]))
        );
        assert_eq!(parse_usage_all("0 1 2\n"), None);
        assert_eq!(parse_blkio_v1("Total 0\n"), Some(vec![]));
        assert_eq!(parse_blkio_v1("8:x Read 1\n"), None);
        assert_eq!(parse_io_stat(""), Some((vec![], vec![])));
        assert_eq!(parse_flat("a 1\n\nb 2\n").map(|m| m.len()), Some(2));
        assert_eq!(parse_pressure(""), None);
    }
}
