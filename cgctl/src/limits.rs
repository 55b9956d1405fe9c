//! Limits as the user gives them (v2 units: `--swap` is swap only,
//! `--cpu-weight` and `--io-weight` are 1..10000), and the cgroup file
//! writes that apply them on cgroup v2 and on cgroup v1. Pure: no syscalls,
//! no file I/O; the caller resolves device paths and does the writes.
//!
//! | option | cgroup v2 | cgroup v1 |
//! |---|---|---|
//! | `--mem SIZE` | `memory.max` = bytes or `max` | `memory.limit_in_bytes` = bytes or `-1` |
//! | `--mem-high SIZE` | `memory.high` = bytes or `max` | `memory.soft_limit_in_bytes` = bytes or `-1`: v1 has no `memory.high`; the soft limit is the closest, it only steers reclaim under global memory pressure and never throttles |
//! | `--swap SIZE` | `memory.swap.max` = bytes or `max` (swap only) | `memory.memsw.limit_in_bytes` = mem + swap (v1 limits memory+swap together), written after `memory.limit_in_bytes` because the kernel refuses memsw < limit (EINVAL); `--swap max` gives `-1`; `--swap N` needs `--mem N` |
//! | `--cpus N` | `cpu.max` = `QUOTA 100000` | `cpu.cfs_period_us` = `100000` first, then `cpu.cfs_quota_us` = `QUOTA` |
//! | `--cpu-weight W` | `cpu.weight` = `W` | `cpu.shares` = clamp(W × 1024 / 100, 2, 262144), systemd's conversion: 1 → 10, 100 → 1024, 10000 → 102400 |
//! | `--pids N` | `pids.max` = N or `max` | `pids.max` = N or `max` |
//! | `--cpuset-cpus LIST` | `cpuset.cpus` = LIST | `cpuset.cpus` = LIST |
//! | `--cpuset-mems LIST` | `cpuset.mems` = LIST | `cpuset.mems` = LIST |
//! | `--io-max DEV:KEY=V,…` | `io.max` = `MAJ:MIN rbps=N wbps=max …` (only the keys given, in the order rbps wbps riops wiops) | `blkio.throttle.read_bps_device`, `write_bps_device`, `read_iops_device`, `write_iops_device` = `MAJ:MIN N` (`max` gives `MAJ:MIN 0`, which v1 reads as no limit) |
//! | `--io-weight W` | `io.weight` = `default W` | `blkio.weight` = clamp(W × 500 / 100, 10, 1000), systemd's conversion: 1 → 10, 100 → 500 (both defaults), 10000 → 1000 |
//!
//! QUOTA = round(N × 100000) µs per 100000 µs period, at least 1000 (the
//! kernel's minimum quota is 1 ms, so `--cpus` below 0.01 gives 0.01).
//!
//! SIZE is a number of bytes with an optional suffix K, M, G or T (powers
//! of 1024, either case), or `max`. Values in `--io-max` are sizes too (so
//! `riops=1K` is 1024 iops); 0 is refused there because v2 `io.max` refuses
//! it (ERANGE) and v1 reads it as "no limit": write `max` for no limit.
//!
//! Order of the writes: memory (limit before memsw), cpu (period before
//! quota), pids, cpuset, io/blkio. The order is safe for a new cgroup, where
//! every limit starts at its maximum. In a reused v1 cgroup whose memsw
//! limit is already below the new memory limit, the memory write fails with
//! EINVAL: remove the old group first.

use std::fmt;
use std::str::FromStr;

/// The period written with every CPU quota, in µs (the kernel's default).
pub const CPU_PERIOD_US: u64 = 100_000;
/// The kernel refuses a CPU quota below 1 ms.
pub const CPU_MIN_QUOTA_US: u64 = 1_000;
/// `--cpus` above this is refused (no machine has a million CPUs).
pub const MAX_CPUS: f64 = 1_000_000.0;

/// A memory size: bytes, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Bytes(u64),
    Max,
}

impl FromStr for Size {
    type Err = String;
    /// `123`, `512K`, `100M`, `1G`, `2T` (powers of 1024, either case), `max`.
    fn from_str(s: &str) -> Result<Size, String> {
        if s.is_empty() {
            return Err("'' is empty".into());
        }
        if s.eq_ignore_ascii_case("max") {
            return Ok(Size::Max);
        }
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, suffix) = s.split_at(split);
        if digits.is_empty() {
            return Err(format!(
                "'{s}' is not a size (a number with an optional K, M, G or T, or max)"
            ));
        }
        let shift = match suffix {
            "" => 0,
            "k" | "K" => 10,
            "m" | "M" => 20,
            "g" | "G" => 30,
            "t" | "T" => 40,
            _ if suffix.starts_with('.') => {
                return Err(format!(
                    "'{s}' is not a whole number (use a smaller unit: 1536M, not 1.5G)"
                ));
            }
            _ => {
                return Err(format!(
                    "unknown size suffix '{suffix}' (use K, M, G, T or max)"
                ));
            }
        };
        // Only digits are left, so the one way to fail is overflow.
        let n: u64 = digits.parse().map_err(|_| format!("'{s}' is too large"))?;
        n.checked_mul(1 << shift)
            .map(Size::Bytes)
            .ok_or_else(|| format!("'{s}' is too large"))
    }
}

impl fmt::Display for Size {
    /// `max` or the byte count: the v2 file format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Bytes(n) => write!(f, "{n}"),
            Size::Max => f.write_str("max"),
        }
    }
}

impl Size {
    /// The v1 memory file format: the byte count, or `-1` for no limit.
    fn v1_memory(self) -> String {
        match self {
            Size::Bytes(n) => n.to_string(),
            Size::Max => "-1".into(),
        }
    }

    /// The v1 blkio throttle format: the number, or `0` for no limit.
    fn v1_throttle(self) -> String {
        match self {
            Size::Bytes(n) => n.to_string(),
            Size::Max => "0".into(),
        }
    }
}

/// Device io limits for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoMax {
    /// `MAJ:MIN`, or a device path that the caller resolves.
    pub dev: String,
    pub rbps: Option<Size>,
    pub wbps: Option<Size>,
    pub riops: Option<Size>,
    pub wiops: Option<Size>,
}

const IO_MAX_FORM: &str = "expected DEV:KEY=VALUE[,KEY=VALUE...], DEV being MAJ:MIN or a device path (8:0:wbps=10M, /dev/sda:riops=100)";

impl IoMax {
    /// The limits given, named and in the kernel's order.
    fn keys(&self) -> impl Iterator<Item = (&'static str, Size)> + '_ {
        [
            ("rbps", self.rbps),
            ("wbps", self.wbps),
            ("riops", self.riops),
            ("wiops", self.wiops),
        ]
        .into_iter()
        .filter_map(|(key, v)| v.map(|v| (key, v)))
    }
}

impl FromStr for IoMax {
    type Err = String;
    /// `DEV:rbps=1M,wbps=max,riops=100,wiops=max`.
    fn from_str(s: &str) -> Result<IoMax, String> {
        let (dev, keys) = if s.starts_with(|c: char| c.is_ascii_digit()) {
            let mut fields = s.splitn(3, ':');
            let (Some(maj), Some(min), Some(keys)) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(IO_MAX_FORM.into());
            };
            let number =
                |v: &str| v.bytes().all(|b| b.is_ascii_digit()) && v.parse::<u32>().is_ok();
            if !number(maj) || !number(min) {
                return Err(format!("'{maj}:{min}' is not a device number MAJ:MIN"));
            }
            (&s[..maj.len() + 1 + min.len()], keys)
        } else {
            match s.split_once(':') {
                Some(("", _)) => return Err(format!("no device in '{s}' ({IO_MAX_FORM})")),
                Some(split) => split,
                None => return Err(IO_MAX_FORM.into()),
            }
        };
        let mut io = IoMax {
            dev: dev.to_string(),
            rbps: None,
            wbps: None,
            riops: None,
            wiops: None,
        };
        if keys.is_empty() {
            return Err(format!(
                "no limit given for {dev} (use rbps=, wbps=, riops= or wiops=)"
            ));
        }
        for item in keys.split(',') {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!("'{item}' is not KEY=VALUE ({IO_MAX_FORM})"));
            };
            let (slot, iops) = match key {
                "rbps" => (&mut io.rbps, false),
                "wbps" => (&mut io.wbps, false),
                "riops" => (&mut io.riops, true),
                "wiops" => (&mut io.wiops, true),
                _ => {
                    return Err(format!(
                        "unknown key '{key}' (use rbps, wbps, riops or wiops)"
                    ));
                }
            };
            if slot.is_some() {
                return Err(format!("{key} is given twice"));
            }
            let size: Size = value.parse().map_err(|e| format!("{key}: {e}"))?;
            match size {
                Size::Bytes(0) => {
                    return Err(format!(
                        "{key}=0 is not a limit (write {key}=max for no limit)"
                    ));
                }
                // The kernel keeps iops limits in 32 bits.
                Size::Bytes(n) if iops && n > u32::MAX as u64 => {
                    return Err(format!("{key}={value} is too large (at most 4294967295)"));
                }
                _ => {}
            }
            *slot = Some(size);
        }
        Ok(io)
    }
}

/// Every limit cgctl can set; `None` (or an empty list) leaves a file alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// `--mem`
    pub mem: Option<Size>,
    /// `--mem-high`
    pub mem_high: Option<Size>,
    /// `--swap`: swap only (v2 semantics).
    pub swap: Option<Size>,
    /// `--cpus N` (more than 0)
    pub cpus: Option<f64>,
    /// `--cpu-weight` 1..=10000
    pub cpu_weight: Option<u32>,
    /// `--pids N|max`
    pub pids: Option<Size>,
    /// `--cpuset-cpus LIST`, e.g. `0-3,5`
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems LIST`
    pub cpuset_mems: Option<String>,
    /// `--io-max`, once per device
    pub io_max: Vec<IoMax>,
    /// `--io-weight` 1..=10000
    pub io_weight: Option<u32>,
}

/// `--cpus`: a number of CPUs, fractions allowed (`0.2`, `2`).
pub fn parse_cpus(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of CPUs (like 0.5 or 2)"))?;
    if n.is_nan() || n <= 0.0 {
        return Err(format!("'{s}' must be more than 0"));
    }
    if n > MAX_CPUS {
        return Err(format!("'{s}' is more than 1000000 CPUs"));
    }
    Ok(n)
}

/// `--cpu-weight`, `--io-weight`: 1..=10000 (default 100), the v2 range.
pub fn parse_weight(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(w @ 1..=10000) => Ok(w),
        _ => Err(format!(
            "'{s}' is not a weight from 1 to 10000 (the default is 100)"
        )),
    }
}

/// `--cpuset-cpus`, `--cpuset-mems`: a list like `0`, `0-3` or `0-3,5,7-8`.
/// Returns it trimmed (also around each item).
pub fn parse_cpu_list(s: &str) -> Result<String, String> {
    let list = s.trim();
    if list.is_empty() {
        return Err("the list is empty (use a list like 0-3,5)".into());
    }
    let number = |v: &str| -> Option<u32> {
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse().ok()
        } else {
            None
        }
    };
    let mut items = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        let bad = |why: &str| format!("'{item}' in '{list}' {why} (use a list like 0-3,5)");
        match item.split_once('-') {
            None => {
                number(item).ok_or_else(|| bad("is not a number"))?;
            }
            Some((a, b)) => {
                let (Some(a), Some(b)) = (number(a.trim()), number(b.trim())) else {
                    return Err(bad("is not a number or a range N-M"));
                };
                if a > b {
                    return Err(bad("is a range that goes backwards"));
                }
            }
        }
        items.push(item.split_whitespace().collect::<String>());
    }
    Ok(items.join(","))
}

/// The v2 CPU quota in µs per [`CPU_PERIOD_US`].
fn cpu_quota_us(cpus: f64) -> u64 {
    ((cpus * CPU_PERIOD_US as f64).round() as u64).max(CPU_MIN_QUOTA_US)
}

/// systemd's `cgroup_cpu_weight_to_shares`: the defaults match (100 → 1024).
fn cpu_shares(weight: u32) -> u64 {
    (weight as u64 * 1024 / 100).clamp(2, 262_144)
}

/// Maps the v2 range 1..=10000 linearly onto v1's 10..=1000 (the inverse
/// of runc's `1+(w-10)*9999/990`).
fn blkio_weight(weight: u32) -> u64 {
    // systemd's conversion, proportional like cpu.shares: the v2 default
    // (100) lands on the v1 default (500).
    (weight as u64 * 500 / 100).clamp(10, 1000)
}

/// One write: the controller (v1 hierarchy name / v2 controller), the
/// file, the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub controller: &'static str,
    pub file: &'static str,
    pub value: String,
}

fn write(controller: &'static str, file: &'static str, value: impl ToString) -> Write {
    Write {
        controller,
        file,
        value: value.to_string(),
    }
}

impl Limits {
    fn controllers(&self, io: &'static str) -> Vec<&'static str> {
        [
            (
                "memory",
                self.mem.is_some() || self.mem_high.is_some() || self.swap.is_some(),
            ),
            ("cpu", self.cpus.is_some() || self.cpu_weight.is_some()),
            ("pids", self.pids.is_some()),
            (
                "cpuset",
                self.cpuset_cpus.is_some() || self.cpuset_mems.is_some(),
            ),
            (io, !self.io_max.is_empty() || self.io_weight.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, needed)| needed.then_some(name))
        .collect()
    }

    /// The controllers these limits need, in a stable order: memory, cpu,
    /// pids, cpuset, io.
    pub fn controllers_v2(&self) -> Vec<&'static str> {
        self.controllers("io")
    }

    /// The controllers these limits need, in a stable order: memory, cpu,
    /// pids, cpuset, blkio.
    pub fn controllers_v1(&self) -> Vec<&'static str> {
        self.controllers("blkio")
    }

    /// pids and cpuset: the same files on v1 and v2.
    fn common_writes(&self, w: &mut Vec<Write>) {
        if let Some(pids) = self.pids {
            w.push(write("pids", "pids.max", pids));
        }
        if let Some(cpus) = &self.cpuset_cpus {
            w.push(write("cpuset", "cpuset.cpus", cpus));
        }
        if let Some(mems) = &self.cpuset_mems {
            w.push(write("cpuset", "cpuset.mems", mems));
        }
    }

    /// v2 writes in a safe order. `dev` maps an [`IoMax::dev`] string to
    /// `MAJ:MIN`; its error is passed through.
    pub fn v2_writes(
        &self,
        dev: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Vec<Write>, String> {
        let mut w = Vec::new();
        if let Some(mem) = self.mem {
            w.push(write("memory", "memory.max", mem));
        }
        if let Some(high) = self.mem_high {
            w.push(write("memory", "memory.high", high));
        }
        if let Some(swap) = self.swap {
            w.push(write("memory", "memory.swap.max", swap));
        }
        if let Some(cpus) = self.cpus {
            let quota = cpu_quota_us(cpus);
            w.push(write("cpu", "cpu.max", format!("{quota} {CPU_PERIOD_US}")));
        }
        if let Some(weight) = self.cpu_weight {
            w.push(write("cpu", "cpu.weight", weight));
        }
        self.common_writes(&mut w);
        for io in &self.io_max {
            let mut line = dev(&io.dev)?;
            for (key, v) in io.keys() {
                line.push_str(&format!(" {key}={v}"));
            }
            w.push(write("io", "io.max", line));
        }
        if let Some(weight) = self.io_weight {
            w.push(write("io", "io.weight", format!("default {weight}")));
        }
        Ok(w)
    }

    /// v1 writes (the conversions in the module doc), in a safe order.
    pub fn v1_writes(
        &self,
        dev: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Vec<Write>, String> {
        let mut w = Vec::new();
        if let Some(mem) = self.mem {
            w.push(write("memory", "memory.limit_in_bytes", mem.v1_memory()));
        }
        if let Some(high) = self.mem_high {
            w.push(write(
                "memory",
                "memory.soft_limit_in_bytes",
                high.v1_memory(),
            ));
        }
        // After memory.limit_in_bytes: the kernel refuses memsw < limit.
        let memsw = match (self.mem, self.swap) {
            (_, None) => None,
            (_, Some(Size::Max)) => Some("-1".to_string()),
            (Some(Size::Bytes(mem)), Some(Size::Bytes(swap))) => Some(
                mem.checked_add(swap)
                    .ok_or("--mem plus --swap is too large for memory.memsw.limit_in_bytes")?
                    .to_string(),
            ),
            (None | Some(Size::Max), Some(Size::Bytes(_))) => {
                return Err("--swap N on cgroup v1 needs --mem (v1 limits memory+swap together: memsw = mem + swap)".into());
            }
        };
        if let Some(memsw) = memsw {
            w.push(write("memory", "memory.memsw.limit_in_bytes", memsw));
        }
        if let Some(cpus) = self.cpus {
            w.push(write("cpu", "cpu.cfs_period_us", CPU_PERIOD_US));
            w.push(write("cpu", "cpu.cfs_quota_us", cpu_quota_us(cpus)));
        }
        if let Some(weight) = self.cpu_weight {
            w.push(write("cpu", "cpu.shares", cpu_shares(weight)));
        }
        self.common_writes(&mut w);
        for io in &self.io_max {
            let majmin = dev(&io.dev)?;
            for (key, v) in io.keys() {
                let file = match key {
                    "rbps" => "blkio.throttle.read_bps_device",
                    "wbps" => "blkio.throttle.write_bps_device",
                    "riops" => "blkio.throttle.read_iops_device",
                    _ => "blkio.throttle.write_iops_device",
                };
                w.push(write(
                    "blkio",
                    file,
                    format!("{majmin} {}", v.v1_throttle()),
                ));
            }
        }
        if let Some(weight) = self.io_weight {
            w.push(write("blkio", "blkio.weight", blkio_weight(weight)));
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 1024;

    fn size(s: &str) -> Result<Size, String> {
        s.parse()
    }

    /// A resolver that knows one path and passes MAJ:MIN through.
    fn dev(d: &str) -> Result<String, String> {
        match d {
            "/dev/vda" => Ok("254:0".into()),
            d if d.starts_with(|c: char| c.is_ascii_digit()) => Ok(d.into()),
            d => Err(format!("stat {d}: No such file or directory")),
        }
    }

    fn v2(l: &Limits) -> Vec<(&'static str, &'static str, String)> {
        triples(l.v2_writes(&dev).unwrap())
    }

    fn v1(l: &Limits) -> Vec<(&'static str, &'static str, String)> {
        triples(l.v1_writes(&dev).unwrap())
    }

    fn triples(w: Vec<Write>) -> Vec<(&'static str, &'static str, String)> {
        w.into_iter()
            .map(|w| (w.controller, w.file, w.value))
            .collect()
    }

    fn t(c: &'static str, f: &'static str, v: &str) -> (&'static str, &'static str, String) {
        (c, f, v.to_string())
    }

    fn io(s: &str) -> IoMax {
        s.parse().unwrap()
    }

    fn io_err(s: &str) -> String {
        s.parse::<IoMax>().unwrap_err()
    }

    #[test]
    fn sizes_with_every_suffix() {
        assert_eq!(size("0"), Ok(Size::Bytes(0)));
        assert_eq!(size("123"), Ok(Size::Bytes(123)));
        assert_eq!(size("512K"), Ok(Size::Bytes(512 * K)));
        assert_eq!(size("512k"), Ok(Size::Bytes(512 * K)));
        assert_eq!(size("100M"), Ok(Size::Bytes(100 * K * K)));
        assert_eq!(size("100m"), Ok(Size::Bytes(100 * K * K)));
        assert_eq!(size("1G"), Ok(Size::Bytes(K * K * K)));
        assert_eq!(size("1g"), Ok(Size::Bytes(K * K * K)));
        assert_eq!(size("2T"), Ok(Size::Bytes(2 * K * K * K * K)));
        assert_eq!(size("2t"), Ok(Size::Bytes(2 * K * K * K * K)));
        assert_eq!(size("max"), Ok(Size::Max));
        assert_eq!(size("MAX"), Ok(Size::Max));
        assert_eq!(size("18446744073709551615"), Ok(Size::Bytes(u64::MAX)));
        assert_eq!(size("16777215T"), Ok(Size::Bytes(16777215 << 40)));
    }

    #[test]
    fn size_errors() {
        assert_eq!(size(""), Err("'' is empty".to_string()));
        assert_eq!(
            size("12X"),
            Err("unknown size suffix 'X' (use K, M, G, T or max)".to_string())
        );
        assert_eq!(
            size("1MB"),
            Err("unknown size suffix 'MB' (use K, M, G, T or max)".to_string())
        );
        assert_eq!(
            size("1 M"),
            Err("unknown size suffix ' M' (use K, M, G, T or max)".to_string())
        );
        assert!(size("1.5G").unwrap_err().contains("not a whole number"));
        for bad in ["M", "-1", "+1", "maxi", " 1", "x"] {
            assert!(size(bad).unwrap_err().contains("is not a size"), "{bad}");
        }
        assert_eq!(
            size("18446744073709551616"),
            Err("'18446744073709551616' is too large".to_string())
        );
        assert!(size("16777216T").unwrap_err().contains("too large"));
        assert!(
            size("99999999999999999999999K")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn size_display_is_the_v2_format() {
        assert_eq!(Size::Bytes(1048576).to_string(), "1048576");
        assert_eq!(Size::Max.to_string(), "max");
        assert_eq!(size("100M").unwrap().to_string(), "104857600");
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus("0.2"), Ok(0.2));
        assert_eq!(parse_cpus("2"), Ok(2.0));
        assert_eq!(parse_cpus("1000000"), Ok(1_000_000.0));
        for bad in ["0", "0.0", "-1", "-0.5", "nan", "NaN", "-inf"] {
            assert!(
                parse_cpus(bad).unwrap_err().contains("must be more than 0"),
                "{bad}"
            );
        }
        assert!(
            parse_cpus("1000000.5")
                .unwrap_err()
                .contains("more than 1000000")
        );
        assert!(parse_cpus("inf").unwrap_err().contains("more than 1000000"));
        for bad in ["", "two", "1,5", "50%"] {
            assert!(
                parse_cpus(bad)
                    .unwrap_err()
                    .contains("not a number of CPUs"),
                "{bad}"
            );
        }
    }

    #[test]
    fn weights() {
        assert_eq!(parse_weight("1"), Ok(1));
        assert_eq!(parse_weight("100"), Ok(100));
        assert_eq!(parse_weight("10000"), Ok(10000));
        for bad in ["0", "10001", "-1", "", "1.5", "heavy", "4294967296"] {
            assert_eq!(
                parse_weight(bad),
                Err(format!(
                    "'{bad}' is not a weight from 1 to 10000 (the default is 100)"
                ))
            );
        }
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0"), Ok("0".into()));
        assert_eq!(parse_cpu_list("0-3"), Ok("0-3".into()));
        assert_eq!(parse_cpu_list("0-3,5,7-8"), Ok("0-3,5,7-8".into()));
        assert_eq!(parse_cpu_list(" 0-3, 5 ,7 - 8 \n"), Ok("0-3,5,7-8".into()));
        assert_eq!(parse_cpu_list("3-3"), Ok("3-3".into()));
        assert!(parse_cpu_list("").unwrap_err().contains("empty"));
        assert!(parse_cpu_list("  ").unwrap_err().contains("empty"));
        assert_eq!(
            parse_cpu_list("0-3,x"),
            Err("'x' in '0-3,x' is not a number (use a list like 0-3,5)".into())
        );
        assert_eq!(
            parse_cpu_list("0,3-1"),
            Err("'3-1' in '0,3-1' is a range that goes backwards (use a list like 0-3,5)".into())
        );
        for (list, part) in [
            ("0,,1", "''"),
            ("0-", "'0-'"),
            ("-3", "'-3'"),
            ("1-2-3", "'1-2-3'"),
            ("0-3,", "''"),
            ("a-b", "'a-b'"),
            ("0:3", "'0:3'"),
            ("4294967296", "'4294967296'"),
        ] {
            let e = parse_cpu_list(list).unwrap_err();
            assert!(e.starts_with(&format!("{part} in ")), "{list}: {e}");
        }
    }

    #[test]
    fn io_max_with_major_minor() {
        assert_eq!(
            io("8:0:rbps=1M,wbps=max,riops=100,wiops=max"),
            IoMax {
                dev: "8:0".into(),
                rbps: Some(Size::Bytes(K * K)),
                wbps: Some(Size::Max),
                riops: Some(Size::Bytes(100)),
                wiops: Some(Size::Max),
            }
        );
        let one = io("253:16:wiops=2K");
        assert_eq!(one.dev, "253:16");
        assert_eq!((one.rbps, one.wbps, one.riops), (None, None, None));
        assert_eq!(one.wiops, Some(Size::Bytes(2048)));
    }

    #[test]
    fn io_max_with_a_path() {
        let p = io("/dev/vda:wbps=10M");
        assert_eq!(p.dev, "/dev/vda");
        assert_eq!(p.wbps, Some(Size::Bytes(10 * K * K)));
        assert_eq!(p.rbps, None);
        assert_eq!(io("disk:rbps=1").dev, "disk");
        // Only the first colon ends a path.
        assert_eq!(io("/dev/vda:riops=5").riops, Some(Size::Bytes(5)));
    }

    #[test]
    fn io_max_errors() {
        assert_eq!(
            io_err("8:0:rbps=1M,foo=1"),
            "unknown key 'foo' (use rbps, wbps, riops or wiops)"
        );
        assert!(io_err("/dev/vda:RBPS=1").contains("unknown key 'RBPS'"));
        assert_eq!(io_err("8:0:rbps=1,rbps=2"), "rbps is given twice");
        assert_eq!(
            io_err("8:0:rbps=1Q"),
            "rbps: unknown size suffix 'Q' (use K, M, G, T or max)"
        );
        assert_eq!(io_err("8:0:wbps="), "wbps: '' is empty");
        assert_eq!(
            io_err("8:0:wbps=0"),
            "wbps=0 is not a limit (write wbps=max for no limit)"
        );
        assert_eq!(
            io_err("8:0:riops=4294967296"),
            "riops=4294967296 is too large (at most 4294967295)"
        );
        assert_eq!(
            io("8:0:riops=4294967295").riops,
            Some(Size::Bytes(u32::MAX as u64))
        );
        assert_eq!(io("8:0:rbps=4294967296").rbps, Some(Size::Bytes(1 << 32)));
        assert!(io_err("8:0:").contains("no limit given for 8:0"));
        assert!(io_err("/dev/vda:").contains("no limit given for /dev/vda"));
        assert!(io_err("8:0:rbps").contains("'rbps' is not KEY=VALUE"));
        assert!(io_err("8:0:rbps=1,").contains("'' is not KEY=VALUE"));
        assert!(io_err(":rbps=1").contains("no device"));
        assert!(io_err("/dev/vda").starts_with("expected DEV:KEY=VALUE"));
        assert!(io_err("8:0").starts_with("expected DEV:KEY=VALUE"));
        assert!(io_err("8:rbps=1").starts_with("expected DEV:KEY=VALUE"));
        assert_eq!(io_err("8:x:rbps=1"), "'8:x' is not a device number MAJ:MIN");
        assert_eq!(io_err("8::rbps=1"), "'8:' is not a device number MAJ:MIN");
        assert_eq!(
            io_err("8a:0:rbps=1"),
            "'8a:0' is not a device number MAJ:MIN"
        );
        assert!(io_err("4294967296:0:rbps=1").contains("not a device number"));
    }

    #[test]
    fn empty_limits() {
        let l = Limits::default();
        assert!(l.controllers_v2().is_empty());
        assert!(l.controllers_v1().is_empty());
        assert_eq!(l.v2_writes(&dev), Ok(vec![]));
        assert_eq!(l.v1_writes(&dev), Ok(vec![]));
        let one = |f: fn(&mut Limits)| {
            let mut l = Limits::default();
            f(&mut l);
            assert!(!l.controllers_v2().is_empty() && !l.controllers_v1().is_empty());
        };
        one(|l| l.mem = Some(Size::Max));
        one(|l| l.mem_high = Some(Size::Max));
        one(|l| l.swap = Some(Size::Max));
        one(|l| l.cpus = Some(1.0));
        one(|l| l.cpu_weight = Some(100));
        one(|l| l.pids = Some(Size::Max));
        one(|l| l.cpuset_cpus = Some("0".into()));
        one(|l| l.cpuset_mems = Some("0".into()));
        one(|l| l.io_max.push(io("8:0:rbps=1")));
        one(|l| l.io_weight = Some(100));
    }

    #[test]
    fn controllers_in_a_stable_order() {
        let all = Limits {
            io_weight: Some(100),
            cpuset_mems: Some("0".into()),
            pids: Some(Size::Bytes(10)),
            cpus: Some(1.0),
            swap: Some(Size::Max),
            ..Limits::default()
        };
        assert_eq!(
            all.controllers_v2(),
            ["memory", "cpu", "pids", "cpuset", "io"]
        );
        assert_eq!(
            all.controllers_v1(),
            ["memory", "cpu", "pids", "cpuset", "blkio"]
        );
        let some = Limits {
            mem_high: Some(Size::Max),
            cpu_weight: Some(5),
            cpuset_cpus: Some("1".into()),
            io_max: vec![io("8:0:rbps=1")],
            ..Limits::default()
        };
        assert_eq!(some.controllers_v2(), ["memory", "cpu", "cpuset", "io"]);
        assert_eq!(some.controllers_v1(), ["memory", "cpu", "cpuset", "blkio"]);
        let mem = Limits {
            mem: Some(Size::Bytes(1)),
            ..Limits::default()
        };
        assert_eq!(mem.controllers_v2(), ["memory"]);
        assert_eq!(mem.controllers_v1(), ["memory"]);
        let pids = Limits {
            pids: Some(Size::Max),
            ..Limits::default()
        };
        assert_eq!(pids.controllers_v2(), ["pids"]);
        assert_eq!(pids.controllers_v1(), ["pids"]);
    }

    /// Every limit at once, to check the order of the writes.
    fn everything() -> Limits {
        Limits {
            mem: Some(Size::Bytes(100 * K * K)),
            mem_high: Some(Size::Bytes(80 * K * K)),
            swap: Some(Size::Bytes(50 * K * K)),
            cpus: Some(0.5),
            cpu_weight: Some(100),
            pids: Some(Size::Bytes(64)),
            cpuset_cpus: Some("0-3".into()),
            cpuset_mems: Some("0".into()),
            io_max: vec![
                io("8:0:wiops=max,rbps=1M"),
                io("/dev/vda:riops=100,wbps=max"),
            ],
            io_weight: Some(100),
        }
    }

    #[test]
    fn v2_writes_everything_in_order() {
        assert_eq!(
            v2(&everything()),
            [
                t("memory", "memory.max", "104857600"),
                t("memory", "memory.high", "83886080"),
                t("memory", "memory.swap.max", "52428800"),
                t("cpu", "cpu.max", "50000 100000"),
                t("cpu", "cpu.weight", "100"),
                t("pids", "pids.max", "64"),
                t("cpuset", "cpuset.cpus", "0-3"),
                t("cpuset", "cpuset.mems", "0"),
                t("io", "io.max", "8:0 rbps=1048576 wiops=max"),
                t("io", "io.max", "254:0 wbps=max riops=100"),
                t("io", "io.weight", "default 100"),
            ]
        );
    }

    #[test]
    fn v2_max_values() {
        let l = Limits {
            mem: Some(Size::Max),
            mem_high: Some(Size::Max),
            swap: Some(Size::Max),
            pids: Some(Size::Max),
            io_max: vec![io("8:16:rbps=max,wbps=max,riops=max,wiops=max")],
            ..Limits::default()
        };
        assert_eq!(
            v2(&l),
            [
                t("memory", "memory.max", "max"),
                t("memory", "memory.high", "max"),
                t("memory", "memory.swap.max", "max"),
                t("pids", "pids.max", "max"),
                t("io", "io.max", "8:16 rbps=max wbps=max riops=max wiops=max"),
            ]
        );
    }

    #[test]
    fn v2_swap_without_mem_is_fine() {
        let l = Limits {
            swap: Some(Size::Bytes(K)),
            ..Limits::default()
        };
        assert_eq!(v2(&l), [t("memory", "memory.swap.max", "1024")]);
    }

    fn cpu_max(cpus: f64) -> String {
        let l = Limits {
            cpus: Some(cpus),
            ..Limits::default()
        };
        l.v2_writes(&dev).unwrap()[0].value.clone()
    }

    #[test]
    fn v2_cpu_quota() {
        assert_eq!(cpu_max(0.2), "20000 100000");
        assert_eq!(cpu_max(2.0), "200000 100000");
        assert_eq!(cpu_max(1.5), "150000 100000");
        assert_eq!(cpu_max(0.123456), "12346 100000");
        // The kernel's minimum quota is 1 ms.
        assert_eq!(cpu_max(0.01), "1000 100000");
        assert_eq!(cpu_max(0.001), "1000 100000");
        assert_eq!(cpu_max(0.0000001), "1000 100000");
        assert_eq!(cpu_max(1_000_000.0), "100000000000 100000");
    }

    #[test]
    fn v2_weights() {
        for w in [1, 100, 10000] {
            let l = Limits {
                cpu_weight: Some(w),
                io_weight: Some(w),
                ..Limits::default()
            };
            assert_eq!(
                v2(&l),
                [
                    t("cpu", "cpu.weight", &w.to_string()),
                    t("io", "io.weight", &format!("default {w}")),
                ]
            );
        }
    }

    #[test]
    fn v1_writes_everything_in_order() {
        assert_eq!(
            v1(&everything()),
            [
                t("memory", "memory.limit_in_bytes", "104857600"),
                t("memory", "memory.soft_limit_in_bytes", "83886080"),
                t("memory", "memory.memsw.limit_in_bytes", "157286400"),
                t("cpu", "cpu.cfs_period_us", "100000"),
                t("cpu", "cpu.cfs_quota_us", "50000"),
                t("cpu", "cpu.shares", "1024"),
                t("pids", "pids.max", "64"),
                t("cpuset", "cpuset.cpus", "0-3"),
                t("cpuset", "cpuset.mems", "0"),
                t("blkio", "blkio.throttle.read_bps_device", "8:0 1048576"),
                t("blkio", "blkio.throttle.write_iops_device", "8:0 0"),
                t("blkio", "blkio.throttle.write_bps_device", "254:0 0"),
                t("blkio", "blkio.throttle.read_iops_device", "254:0 100"),
                t("blkio", "blkio.weight", "500"),
            ]
        );
    }

    #[test]
    fn v1_max_values() {
        let l = Limits {
            mem: Some(Size::Max),
            mem_high: Some(Size::Max),
            swap: Some(Size::Max),
            pids: Some(Size::Max),
            io_max: vec![io("8:16:rbps=max,wbps=2K,riops=max,wiops=7")],
            ..Limits::default()
        };
        assert_eq!(
            v1(&l),
            [
                t("memory", "memory.limit_in_bytes", "-1"),
                t("memory", "memory.soft_limit_in_bytes", "-1"),
                t("memory", "memory.memsw.limit_in_bytes", "-1"),
                t("pids", "pids.max", "max"),
                t("blkio", "blkio.throttle.read_bps_device", "8:16 0"),
                t("blkio", "blkio.throttle.write_bps_device", "8:16 2048"),
                t("blkio", "blkio.throttle.read_iops_device", "8:16 0"),
                t("blkio", "blkio.throttle.write_iops_device", "8:16 7"),
            ]
        );
    }

    #[test]
    fn v1_memsw_is_mem_plus_swap_after_the_limit() {
        let l = Limits {
            mem: Some(Size::Bytes(100)),
            swap: Some(Size::Bytes(0)),
            ..Limits::default()
        };
        assert_eq!(
            v1(&l),
            [
                t("memory", "memory.limit_in_bytes", "100"),
                t("memory", "memory.memsw.limit_in_bytes", "100"),
            ]
        );
        let l = Limits {
            mem: Some(Size::Bytes(100)),
            swap: Some(Size::Max),
            ..Limits::default()
        };
        assert_eq!(
            v1(&l),
            [
                t("memory", "memory.limit_in_bytes", "100"),
                t("memory", "memory.memsw.limit_in_bytes", "-1"),
            ]
        );
        // No --swap: memsw is left alone on v1 too (v2 leaves swap.max alone).
        let l = Limits {
            mem: Some(Size::Bytes(100)),
            ..Limits::default()
        };
        assert_eq!(v1(&l), [t("memory", "memory.limit_in_bytes", "100")]);
        // --swap max alone needs no --mem.
        let l = Limits {
            swap: Some(Size::Max),
            ..Limits::default()
        };
        assert_eq!(v1(&l), [t("memory", "memory.memsw.limit_in_bytes", "-1")]);
    }

    #[test]
    fn v1_swap_without_mem_is_an_error() {
        let err = "--swap N on cgroup v1 needs --mem (v1 limits memory+swap together: memsw = mem + swap)";
        for mem in [None, Some(Size::Max)] {
            let l = Limits {
                mem,
                swap: Some(Size::Bytes(K)),
                ..Limits::default()
            };
            assert_eq!(l.v1_writes(&dev), Err(err.to_string()));
            // v2 has no such restriction.
            assert!(l.v2_writes(&dev).is_ok());
        }
        let l = Limits {
            mem: Some(Size::Bytes(u64::MAX)),
            swap: Some(Size::Bytes(1)),
            ..Limits::default()
        };
        assert!(l.v1_writes(&dev).unwrap_err().contains("too large"));
    }

    fn v1_cpu(cpus: f64) -> Vec<(&'static str, &'static str, String)> {
        v1(&Limits {
            cpus: Some(cpus),
            ..Limits::default()
        })
    }

    #[test]
    fn v1_cpu_period_before_quota() {
        assert_eq!(
            v1_cpu(0.2),
            [
                t("cpu", "cpu.cfs_period_us", "100000"),
                t("cpu", "cpu.cfs_quota_us", "20000"),
            ]
        );
        assert_eq!(v1_cpu(2.0)[1], t("cpu", "cpu.cfs_quota_us", "200000"));
        assert_eq!(v1_cpu(0.001)[1], t("cpu", "cpu.cfs_quota_us", "1000"));
    }

    fn v1_weights(w: u32) -> Vec<(&'static str, &'static str, String)> {
        v1(&Limits {
            cpu_weight: Some(w),
            io_weight: Some(w),
            ..Limits::default()
        })
    }

    #[test]
    fn v1_cpu_shares_and_blkio_weight() {
        // systemd: shares = clamp(w * 1024 / 100, 2, 262144).
        // blkio.weight = clamp(w * 500 / 100, 10, 1000).
        assert_eq!(
            v1_weights(1),
            [
                t("cpu", "cpu.shares", "10"),
                t("blkio", "blkio.weight", "10")
            ]
        );
        assert_eq!(
            v1_weights(100),
            [
                t("cpu", "cpu.shares", "1024"),
                t("blkio", "blkio.weight", "500")
            ]
        );
        assert_eq!(
            v1_weights(10000),
            [
                t("cpu", "cpu.shares", "102400"),
                t("blkio", "blkio.weight", "1000")
            ]
        );
        assert_eq!(v1_weights(50)[0], t("cpu", "cpu.shares", "512"));
        assert_eq!(v1_weights(5000)[1], t("blkio", "blkio.weight", "1000"));
        // The clamps, outside what parse_weight lets through.
        assert_eq!(cpu_shares(0), 2);
        assert_eq!(cpu_shares(u32::MAX), 262_144);
        assert_eq!(blkio_weight(0), 10);
        assert_eq!(blkio_weight(u32::MAX), 1000);
        // Monotonic and inside v1's ranges over the whole v2 range.
        let mut last = (0, 0);
        for w in 1..=10000 {
            let now = (cpu_shares(w), blkio_weight(w));
            assert!((2..=262_144).contains(&now.0) && (10..=1000).contains(&now.1));
            assert!(now.0 >= last.0 && now.1 >= last.1);
            last = now;
        }
    }

    #[test]
    fn pids_and_cpuset_are_the_same_on_v1_and_v2() {
        let l = Limits {
            pids: Some(Size::Bytes(1)),
            cpuset_cpus: Some("0-3,5".into()),
            cpuset_mems: Some("0-1".into()),
            ..Limits::default()
        };
        let want = [
            t("pids", "pids.max", "1"),
            t("cpuset", "cpuset.cpus", "0-3,5"),
            t("cpuset", "cpuset.mems", "0-1"),
        ];
        assert_eq!(v2(&l), want);
        assert_eq!(v1(&l), want);
    }

    #[test]
    fn device_errors_pass_through() {
        let l = Limits {
            io_max: vec![io("/dev/nope:rbps=1")],
            ..Limits::default()
        };
        let want = Err("stat /dev/nope: No such file or directory".to_string());
        assert_eq!(l.v2_writes(&dev), want);
        assert_eq!(l.v1_writes(&dev), want);
    }
}
