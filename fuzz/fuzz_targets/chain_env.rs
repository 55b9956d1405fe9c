//! The chain's environment variables, as the next tool reads them:
//! `CHAIN_SYNC_FDS` (`outside::parse_sync_fds`), `CHAIN_SELF_WRITES`
//! (`outside::parse_self_writes`), `CHAIN_LATE_FDS` (`late::parse`) and
//! `CHAIN_CARRY` (`carry::parse`). The input, as text (the tools read the
//! variables with `std::env::var`, so a value that is not UTF-8 never gets
//! here), goes to all four.
//!
//! Checked, besides no panic: what a parser accepts, written back in the
//! variable's format (as the tool that hands it down writes it), parses
//! into the same entries; and the values keep the rules the parsers state
//! (fds and pids positive, carried fds above 2, only the three
//! self-writable files).

#![no_main]

use chain::{carry, late, outside};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(entries) = outside::parse_sync_fds(value) {
        for e in &entries {
            assert!(e.fd >= 0 && e.pid.as_raw() > 0 && e.wake.is_none_or(|w| w >= 0));
        }
        let text: Vec<String> = entries
            .iter()
            .map(|e| match e.wake {
                Some(w) => format!("{}:{}:late:{w}", e.fd, e.pid),
                None => format!("{}:{}", e.fd, e.pid),
            })
            .collect();
        let back = outside::parse_sync_fds(&text.join(",")).expect("CHAIN_SYNC_FDS as written");
        assert_eq!(back, entries);
    }

    if let Ok(writes) = outside::parse_self_writes(value) {
        for (name, content) in &writes {
            assert!(["setgroups", "uid_map", "gid_map"].contains(&name.as_str()));
            assert!(!content.is_empty());
        }
        let text: Vec<String> = writes.iter().map(|(n, c)| format!("{n}={c}")).collect();
        let back =
            outside::parse_self_writes(&text.join(";")).expect("CHAIN_SELF_WRITES as written");
        assert_eq!(back, writes);
    }

    if let Ok(entries) = late::parse(value) {
        for e in &entries {
            assert!(e.sock >= 0 && e.pid > 0 && e.pidfd.is_none_or(|f| f >= 0));
        }
        let text: Vec<String> = entries
            .iter()
            .map(|e| {
                let pidfd = e.pidfd.map_or("-".to_string(), |f| f.to_string());
                format!("{}:{pidfd}:{}", e.sock, e.pid)
            })
            .collect();
        let back = late::parse(&text.join(",")).expect("CHAIN_LATE_FDS as written");
        assert_eq!(back, entries);
    }

    if let Ok(entries) = carry::parse(value) {
        for (name, fd) in &entries {
            assert!(carry::CARRIED.contains(name) && *fd > 2);
        }
        let text: Vec<String> = entries.iter().map(|(n, fd)| format!("{n}={fd}")).collect();
        let back = carry::parse(&text.join(",")).expect("CHAIN_CARRY as written");
        assert_eq!(back, entries);
    }
});
