//! mapids' id maps and /etc/subuid lines.
//!
//! Input: text (invalid UTF-8 replaced); line 1 is the caller's user name
//! (empty: none), line 2 its id (not a number, or 4294967295: 1000), the rest is an
//! /etc/subuid file, and each of its lines is also tried as a `--uid`
//! range (`INSIDE:OUTSIDE:COUNT`).
//!
//! Checked, besides no panic:
//! - a range that parses prints as it was parsed (`Display` and `FromStr`
//!   agree) and a valid map formats into one kernel line per range;
//! - `--auto`'s map from the file's grants is one mapids itself accepts:
//!   every range one the range parser would take (inside the id space,
//!   below 4294967295), inside ranges never overlapping, and every range
//!   covered by a grant (`subid::check`, which mapids runs before writing).

#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../mapids/src/idmap.rs"]
mod idmap;
#[path = "../../mapids/src/subid.rs"]
mod subid;

use idmap::Range;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let name = lines.next().filter(|n| !n.is_empty());
    // A caller's id is never 4294967295, (uid_t)-1.
    let own: u32 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .filter(|&id| id != u32::MAX)
        .unwrap_or(1000);
    let file = lines.next().unwrap_or("");

    // Ranges as the command line gives them.
    let mut map = Vec::new();
    for line in file.lines() {
        if let Ok(r) = line.parse::<Range>() {
            assert_eq!(r.to_string().parse::<Range>(), Ok(r), "{line:?}");
            map.push(r);
        }
    }
    if idmap::validate("uid", &map).is_ok() {
        let kernel = idmap::format(&map);
        assert_eq!(kernel.lines().count(), map.len());
        for (line, r) in kernel.lines().zip(&map) {
            let colons = line.replace(' ', ":");
            assert_eq!(colons.parse::<Range>(), Ok(*r), "{line:?}");
        }
    }
    let _ = idmap::is_own_id_only(&map, own);

    // --auto: the grants of the file, the map built from them.
    let granted = subid::ranges_of(file, name, own);
    let _ = subid::check(&map, own, &granted, "uid", "/etc/subuid", "fuzz");
    let auto = idmap::auto(own, &granted);
    for r in &auto {
        assert_eq!(
            r.to_string().parse::<Range>(),
            Ok(*r),
            "--auto made a range the kernel refuses, from grants {granted:?}"
        );
    }
    if let Err(e) = idmap::validate("uid", &auto) {
        assert!(
            !e.contains("overlap inside") && !e.contains("empty"),
            "--auto's map from {granted:?}: {e}"
        );
    }
    if let Err(e) = subid::check(&auto, own, &granted, "uid", "/etc/subuid", "fuzz") {
        panic!("--auto's map from {granted:?} is refused: {e}");
    }
});
