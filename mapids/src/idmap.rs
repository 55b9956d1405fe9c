//! Id maps as the kernel takes them: lines of `INSIDE OUTSIDE COUNT`, at
//! most 340, no two ranges overlapping inside nor outside, written once in
//! one write(2). Pure: parse, build, validate, format.

use std::fmt;
use std::str::FromStr;

/// The kernel's limit on lines in one map (include/linux/user_namespace.h).
pub const MAX_LINES: usize = 340;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl Range {
    fn end(start: u32, count: u32) -> u64 {
        start as u64 + count as u64
    }

    /// Half-open intervals overlap.
    fn overlaps(a: u32, b: u32, count_a: u32, count_b: u32) -> bool {
        (a as u64) < Range::end(b, count_b) && (b as u64) < Range::end(a, count_a)
    }
}

impl fmt::Display for Range {
    /// `IN:OUT:COUNT`, as the user wrote it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.inside, self.outside, self.count)
    }
}

impl FromStr for Range {
    type Err = String;
    fn from_str(s: &str) -> Result<Range, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [inside, outside, count] = parts[..] else {
            return Err("expected INSIDE:OUTSIDE:COUNT".into());
        };
        let num = |what: &str, v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("{what} '{v}' is not a number from 0 to 4294967295"))
        };
        let range = Range {
            inside: num("inside id", inside)?,
            outside: num("outside id", outside)?,
            count: num("count", count)?,
        };
        if range.count == 0 {
            return Err("a count of 0 maps nothing".into());
        }
        // 4294967295 is (uid_t)-1, never a valid id.
        for (what, start) in [("inside", range.inside), ("outside", range.outside)] {
            if Range::end(start, range.count) > u32::MAX as u64 {
                return Err(format!(
                    "the {what} range {start}+{} goes past 4294967294",
                    range.count
                ));
            }
        }
        Ok(range)
    }
}

/// Checks what the kernel would refuse, naming the ranges.
pub fn validate(kind: &str, map: &[Range]) -> Result<(), String> {
    if map.is_empty() {
        return Err(format!("the {kind} map is empty"));
    }
    if map.len() > MAX_LINES {
        return Err(format!(
            "the {kind} map has {} lines; the kernel takes at most {MAX_LINES}",
            map.len()
        ));
    }
    for (i, a) in map.iter().enumerate() {
        for b in &map[i + 1..] {
            if Range::overlaps(a.inside, b.inside, a.count, b.count) {
                return Err(format!("{kind} ranges {a} and {b} overlap inside"));
            }
            if Range::overlaps(a.outside, b.outside, a.count, b.count) {
                return Err(format!("{kind} ranges {a} and {b} overlap outside"));
            }
        }
    }
    Ok(())
}

/// The text written to /proc/PID/{uid,gid}_map.
pub fn format(map: &[Range]) -> String {
    map.iter()
        .map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count))
        .collect()
}

/// `--root`: the caller's own id is 0 inside.
pub fn root(own: u32) -> Vec<Range> {
    vec![Range {
        inside: 0,
        outside: own,
        count: 1,
    }]
}

/// `--auto`: the caller's own id is 0, then every subordinate range follows
/// from inside id 1 on, in the order of the subid file (podman's layout).
/// A subordinate range that contains the own id is cut around it.
pub fn auto(own: u32, subordinate: &[(u32, u32)]) -> Vec<Range> {
    let mut map = root(own);
    let mut next: u64 = 1;
    for &(start, count) in subordinate {
        for (s, c) in cut_out(start, count, own) {
            if next + c as u64 > u32::MAX as u64 {
                break;
            }
            map.push(Range {
                inside: next as u32,
                outside: s,
                count: c,
            });
            next += c as u64;
        }
    }
    map
}

/// The parts of `start..start+count` without `id`.
fn cut_out(start: u32, count: u32, id: u32) -> Vec<(u32, u32)> {
    if !Range::overlaps(start, id, count, 1) {
        return vec![(start, count)];
    }
    let before = id - start;
    let after = count - before - 1;
    [(start, before), (id + 1, after)]
        .into_iter()
        .filter(|&(_, c)| c > 0)
        .collect()
}

/// Whether the map is one line mapping `own` (once): what the kernel lets
/// an unprivileged process write itself.
pub fn is_own_id_only(map: &[Range], own: u32) -> bool {
    matches!(map, [Range { outside, count: 1, .. }] if *outside == own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(inside: u32, outside: u32, count: u32) -> Range {
        Range {
            inside,
            outside,
            count,
        }
    }

    #[test]
    fn parses_ranges() {
        assert_eq!("0:1000:1".parse(), Ok(r(0, 1000, 1)));
        assert_eq!("1:100000:65536".parse(), Ok(r(1, 100000, 65536)));
        assert!(
            "0:1000"
                .parse::<Range>()
                .unwrap_err()
                .contains("INSIDE:OUTSIDE:COUNT")
        );
        assert!(
            "0:x:1"
                .parse::<Range>()
                .unwrap_err()
                .contains("outside id 'x'")
        );
        assert!("0:0:0".parse::<Range>().unwrap_err().contains("count of 0"));
        assert!(
            "0:4294967295:1"
                .parse::<Range>()
                .unwrap_err()
                .contains("goes past")
        );
        // The initial namespace's own identity map is valid.
        assert_eq!("0:0:4294967295".parse(), Ok(r(0, 0, 4294967295)));
    }

    #[test]
    fn finds_overlaps_and_limits() {
        assert!(validate("uid", &[r(0, 1000, 1), r(1, 100000, 65536)]).is_ok());
        assert_eq!(
            validate("uid", &[r(0, 1000, 10), r(5, 2000, 10)]).unwrap_err(),
            "uid ranges 0:1000:10 and 5:2000:10 overlap inside"
        );
        assert_eq!(
            validate("gid", &[r(0, 1000, 10), r(100, 1005, 1)]).unwrap_err(),
            "gid ranges 0:1000:10 and 100:1005:1 overlap outside"
        );
        assert!(validate("uid", &[]).is_err());
        let many: Vec<Range> = (0..341).map(|i| r(i, 10000 + i, 1)).collect();
        assert!(validate("uid", &many).unwrap_err().contains("at most 340"));
        assert!(validate("uid", &many[..340]).is_ok());
    }

    #[test]
    fn formats_for_the_kernel() {
        assert_eq!(
            format(&[r(0, 1000, 1), r(1, 100000, 65536)]),
            "0 1000 1\n1 100000 65536\n"
        );
    }

    #[test]
    fn auto_maps_own_id_to_root_then_every_range() {
        assert_eq!(
            auto(1000, &[(100000, 65536), (300000, 10)]),
            vec![r(0, 1000, 1), r(1, 100000, 65536), r(65537, 300000, 10)]
        );
        // A subordinate range that contains the own id skips it.
        assert_eq!(
            auto(1005, &[(1000, 10)]),
            vec![r(0, 1005, 1), r(1, 1000, 5), r(6, 1006, 4)]
        );
        assert_eq!(auto(1000, &[]), root(1000));
        assert!(validate("uid", &auto(1005, &[(1000, 10)])).is_ok());
    }

    #[test]
    fn own_id_only() {
        assert!(is_own_id_only(&root(1000), 1000));
        assert!(is_own_id_only(&[r(1000, 1000, 1)], 1000));
        assert!(!is_own_id_only(&[r(0, 1001, 1)], 1000));
        assert!(!is_own_id_only(&[r(0, 1000, 2)], 1000));
        assert!(!is_own_id_only(&auto(1000, &[(100000, 10)]), 1000));
    }
}
