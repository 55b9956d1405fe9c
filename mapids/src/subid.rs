//! /etc/subuid and /etc/subgid (subuid(5)): `NAME-OR-UID:START:COUNT`, any
//! number of lines per user. Pure: parse, and check that a map only uses
//! what the files grant (newuidmap's rule), naming what is missing.

use crate::idmap::Range;

/// Every range granted to the user, by name or by uid, in file order.
pub fn ranges_of(text: &str, name: Option<&str>, id: u32) -> Vec<(u32, u32)> {
    let id_text = id.to_string();
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut parts = line.split(':');
            let (owner, start, count) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || !(Some(owner) == name || owner == id_text) {
                return None;
            }
            let (start, count): (u32, u32) = (start.parse().ok()?, count.parse().ok()?);
            // Ids end at 4294967294 ((uid_t)-1 is none): the part of a line
            // past it grants nothing, and a map range reaching it is refused.
            Some((start, count.min(u32::MAX - start)))
        })
        .filter(|&(_, count)| count > 0)
        .collect()
}

/// Checks each line of `map` against the granted ranges (and the caller's
/// own id, which is always allowed once). Names the first range that is not
/// covered, and the line of `file` that would allow it.
pub fn check(
    map: &[Range],
    own: u32,
    granted: &[(u32, u32)],
    kind: &str,
    file: &str,
    user: &str,
) -> Result<(), String> {
    for r in map {
        if r.count == 1 && r.outside == own {
            continue;
        }
        let covered = granted.iter().any(|&(start, count)| {
            start as u64 <= r.outside as u64
                && r.outside as u64 + r.count as u64 <= start as u64 + count as u64
        });
        if !covered {
            let last = r.outside as u64 + r.count as u64 - 1;
            let have = if granted.is_empty() {
                format!("{user} has no subordinate {kind}s")
            } else {
                let list: Vec<String> = granted
                    .iter()
                    .map(|(s, c)| format!("{s}-{}", *s as u64 + *c as u64 - 1))
                    .collect();
                format!("{user}'s subordinate {kind}s are {}", list.join(", "))
            };
            return Err(format!(
                "--{kind} {r}: outside {kind}s {}-{last} are not {user}'s to map ({have}; a line '{user}:{}:{}' in {file} would allow it)",
                r.outside, r.outside, r.count
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBUID: &str = "# comment\nalice:100000:65536\n1000:300000:10\nbob:165536:65536\nalice:400000:1000\nbroken\n";

    #[test]
    fn every_line_by_name_or_uid() {
        assert_eq!(
            ranges_of(SUBUID, Some("alice"), 1000),
            vec![(100000, 65536), (300000, 10), (400000, 1000)]
        );
        assert_eq!(ranges_of(SUBUID, None, 1000), vec![(300000, 10)]);
        assert_eq!(ranges_of(SUBUID, Some("carol"), 1002), vec![]);
    }

    #[test]
    fn grants_end_at_the_last_id() {
        // Found by fuzz/ (target idmaps): --auto mapped 4294967295 and up.
        let text = "alice:4294967240:95\nalice:4294967295:10\n";
        assert_eq!(ranges_of(text, Some("alice"), 1000), vec![(4294967240, 55)]);
        let map = crate::idmap::auto(1000, &ranges_of(text, Some("alice"), 1000));
        assert_eq!(
            map.last().map(|r| r.to_string()),
            Some("1:4294967240:55".into())
        );
    }

    #[test]
    fn names_what_is_missing() {
        let r = |i, o, c| Range {
            inside: i,
            outside: o,
            count: c,
        };
        let granted = [(100000, 65536)];
        assert!(
            check(
                &[r(0, 1000, 1), r(1, 100000, 65536)],
                1000,
                &granted,
                "uid",
                "/etc/subuid",
                "alice"
            )
            .is_ok()
        );
        let e = check(
            &[r(0, 1000, 1), r(1, 200000, 10)],
            1000,
            &granted,
            "uid",
            "/etc/subuid",
            "alice",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "--uid 1:200000:10: outside uids 200000-200009 are not alice's to map (alice's subordinate uids are 100000-165535; \
             a line 'alice:200000:10' in /etc/subuid would allow it)"
        );
        let e = check(&[r(0, 5, 1)], 1000, &[], "gid", "/etc/subgid", "alice").unwrap_err();
        assert!(e.contains("alice has no subordinate gids"), "{e}");
        // A range reaching past the end of a grant is not covered.
        assert!(
            check(
                &[r(1, 165000, 1000)],
                1000,
                &granted,
                "uid",
                "/etc/subuid",
                "alice"
            )
            .is_err()
        );
    }
}
