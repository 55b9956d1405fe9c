//! The fds the chain hands down on purpose, as its variables name them:
//! helper sockets and eventfds (`CHAIN_SYNC_FDS`), late helpers' sockets
//! and pidfds (`CHAIN_LATE_FDS`), carried copies (`CHAIN_CARRY`). A step
//! that closes or marks inherited fds (pivot) must spare these: they are
//! the chain's own, and the step that takes them closes them before the
//! workload runs.

use std::os::fd::RawFd;

/// Every fd the three variables of this process's environment name.
pub fn fds() -> Vec<RawFd> {
    named_by(|name| std::env::var(name).unwrap_or_default())
}

/// Every fd the three variables name, `value` giving each variable's value.
/// A value that does not parse names nothing here; the step that reads it
/// reports it.
pub fn named_by(value: impl Fn(&str) -> String) -> Vec<RawFd> {
    use crate::{carry, late, outside};
    let mut fds = Vec::new();
    for e in outside::parse_sync_fds(&value(outside::SYNC_FDS_VAR)).unwrap_or_default() {
        fds.push(e.fd);
        fds.extend(e.wake);
    }
    for e in late::parse(&value(late::LATE_FDS_VAR)).unwrap_or_default() {
        fds.push(e.sock);
        fds.extend(e.pidfd);
    }
    for (_, fd) in carry::parse(&value(carry::CARRY_VAR)).unwrap_or_default() {
        fds.push(fd);
    }
    fds
}

#[cfg(test)]
mod tests {
    use super::named_by;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> String {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }
    }

    #[test]
    fn every_variable_names_its_fds() {
        let mut fds = named_by(env(&[
            ("CHAIN_SYNC_FDS", "3:100,4:101:late:5"),
            ("CHAIN_LATE_FDS", "6:7:102,8:-:103"),
            ("CHAIN_CARRY", "seccompctl=9"),
        ]));
        fds.sort_unstable();
        assert_eq!(fds, [3, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn nothing_set_or_unparsable_names_nothing() {
        assert!(named_by(env(&[])).is_empty());
        assert!(named_by(env(&[("CHAIN_LATE_FDS", "nonsense")])).is_empty());
    }
}
