//! What a seccomp filter returns for a call: the kernel's actions, their
//! return values, their spellings on the command line and in OCI profiles.

use std::fmt;

/// `SECCOMP_RET_*` values (linux/seccomp.h).
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
pub const RET_DATA: u32 = 0x0000_ffff;

/// One action. `Errno` and `Trace` carry their 16-bit data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    KillProcess,
    KillThread,
    Trap,
    Errno(u16),
    Trace(u16),
    Log,
    Allow,
}

pub const EPERM: u16 = libc::EPERM as u16;
pub const ENOSYS: u16 = libc::ENOSYS as u16;

impl Action {
    /// The filter's return value.
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => RET_KILL_PROCESS,
            Action::KillThread => RET_KILL_THREAD,
            Action::Trap => RET_TRAP,
            Action::Errno(e) => RET_ERRNO | u32::from(e),
            Action::Trace(d) => RET_TRACE | u32::from(d),
            Action::Log => RET_LOG,
            Action::Allow => RET_ALLOW,
        }
    }

    /// The action of a filter's return value (unknown actions are treated
    /// by the kernel as kill-process).
    pub fn from_ret(ret: u32) -> Action {
        let data = (ret & RET_DATA) as u16;
        match ret & RET_ACTION_FULL {
            RET_KILL_PROCESS => Action::KillProcess,
            RET_KILL_THREAD => Action::KillThread,
            RET_TRAP => Action::Trap,
            RET_ERRNO => Action::Errno(data),
            RET_TRACE => Action::Trace(data),
            RET_LOG => Action::Log,
            RET_ALLOW => Action::Allow,
            _ => Action::KillProcess,
        }
    }

    /// Whether the call runs.
    pub fn lets_through(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }

    /// The command-line spelling: `allow`, `errno:EPERM`, `kill-process`...
    /// (`kill` is kill-process: in a multi-threaded program a killed thread
    /// leaves the rest running, which is rarely what a policy means).
    pub fn parse_cli(text: &str) -> Result<Action, String> {
        let lower = text.to_ascii_lowercase();
        let (word, data) = match lower.split_once(':') {
            Some((w, d)) => (w, Some(d)),
            None => (lower.as_str(), None),
        };
        let no_data = |a: Action| match data {
            None => Ok(a),
            Some(_) => Err(format!("action '{word}' takes no value")),
        };
        match word {
            "allow" => no_data(Action::Allow),
            "log" => no_data(Action::Log),
            "kill" | "kill-process" => no_data(Action::KillProcess),
            "kill-thread" => no_data(Action::KillThread),
            "trap" => no_data(Action::Trap),
            "errno" => match data {
                None => Ok(Action::Errno(EPERM)),
                Some(d) => errno_value(d).map(Action::Errno),
            },
            "trace" => match data {
                None => Ok(Action::Trace(0)),
                Some(d) => d
                    .parse::<u16>()
                    .map(Action::Trace)
                    .map_err(|_| format!("trace data '{d}' is not a number 0..65535")),
            },
            _ => Err(format!(
                "unknown action '{text}' (expected allow, errno[:NAME|N], kill, kill-process, kill-thread, trap, log or trace[:N])"
            )),
        }
    }

    /// The OCI name (`SCMP_ACT_ERRNO`) and, for errno and trace, the data
    /// that goes into `errnoRet`.
    pub fn oci(self) -> (&'static str, Option<u16>) {
        match self {
            Action::KillProcess => ("SCMP_ACT_KILL_PROCESS", None),
            Action::KillThread => ("SCMP_ACT_KILL_THREAD", None),
            Action::Trap => ("SCMP_ACT_TRAP", None),
            Action::Errno(e) => ("SCMP_ACT_ERRNO", Some(e)),
            Action::Trace(d) => ("SCMP_ACT_TRACE", Some(d)),
            Action::Log => ("SCMP_ACT_LOG", None),
            Action::Allow => ("SCMP_ACT_ALLOW", None),
        }
    }

    /// An OCI action name with its `errnoRet` (None: the default, EPERM).
    /// `SCMP_ACT_KILL` is kill-thread, as in libseccomp and runc.
    pub fn parse_oci(name: &str, errno_ret: Option<u64>) -> Result<Action, String> {
        let data = |what: &str| -> Result<u16, String> {
            match errno_ret {
                None => Ok(if what == "errno" { EPERM } else { 0 }),
                Some(n) if n <= u64::from(u16::MAX) => Ok(n as u16),
                Some(n) => Err(format!("errnoRet {n} does not fit in 16 bits")),
            }
        };
        let plain = |a: Action| match errno_ret {
            None => Ok(a),
            Some(_) => Err(format!(
                "errnoRet is given for {name}, which returns no errno"
            )),
        };
        match name {
            "SCMP_ACT_ALLOW" => plain(Action::Allow),
            "SCMP_ACT_LOG" => plain(Action::Log),
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => plain(Action::KillThread),
            "SCMP_ACT_KILL_PROCESS" => plain(Action::KillProcess),
            "SCMP_ACT_TRAP" => plain(Action::Trap),
            "SCMP_ACT_ERRNO" => data("errno").map(Action::Errno),
            "SCMP_ACT_TRACE" => data("trace").map(Action::Trace),
            "SCMP_ACT_NOTIFY" => Err(
                "SCMP_ACT_NOTIFY needs a listener process (listenerPath), which seccompctl does not provide".into(),
            ),
            _ => Err(format!("unknown action '{name}'")),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::KillProcess => f.write_str("kill-process"),
            Action::KillThread => f.write_str("kill-thread"),
            Action::Trap => f.write_str("trap"),
            Action::Errno(e) => match errno_name(*e) {
                Some(name) => write!(f, "errno:{name}"),
                None => write!(f, "errno:{e}"),
            },
            Action::Trace(d) => write!(f, "trace:{d}"),
            Action::Log => f.write_str("log"),
            Action::Allow => f.write_str("allow"),
        }
    }
}

/// An errno by name (`EPERM`, `eperm`) or number.
pub fn errno_value(text: &str) -> Result<u16, String> {
    if let Ok(n) = text.parse::<u16>() {
        return if n <= 4095 {
            Ok(n)
        } else {
            Err(format!("errno {n} is above 4095 (the kernel's MAX_ERRNO)"))
        };
    }
    let upper = text.to_ascii_uppercase();
    ERRNO_NAMES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|&(_, v)| v as u16)
        .ok_or_else(|| format!("unknown errno '{text}'"))
}

pub fn errno_name(value: u16) -> Option<&'static str> {
    ERRNO_NAMES
        .iter()
        .find(|(_, v)| *v as u16 == value)
        .map(|&(n, _)| n)
}

const ERRNO_NAMES: &[(&str, i32)] = &[
    ("EPERM", libc::EPERM),
    ("ENOENT", libc::ENOENT),
    ("ESRCH", libc::ESRCH),
    ("EINTR", libc::EINTR),
    ("EIO", libc::EIO),
    ("ENXIO", libc::ENXIO),
    ("E2BIG", libc::E2BIG),
    ("ENOEXEC", libc::ENOEXEC),
    ("EBADF", libc::EBADF),
    ("ECHILD", libc::ECHILD),
    ("EAGAIN", libc::EAGAIN),
    ("ENOMEM", libc::ENOMEM),
    ("EACCES", libc::EACCES),
    ("EFAULT", libc::EFAULT),
    ("EBUSY", libc::EBUSY),
    ("EEXIST", libc::EEXIST),
    ("EXDEV", libc::EXDEV),
    ("ENODEV", libc::ENODEV),
    ("ENOTDIR", libc::ENOTDIR),
    ("EISDIR", libc::EISDIR),
    ("EINVAL", libc::EINVAL),
    ("ENFILE", libc::ENFILE),
    ("EMFILE", libc::EMFILE),
    ("ENOTTY", libc::ENOTTY),
    ("ETXTBSY", libc::ETXTBSY),
    ("EFBIG", libc::EFBIG),
    ("ENOSPC", libc::ENOSPC),
    ("ESPIPE", libc::ESPIPE),
    ("EROFS", libc::EROFS),
    ("EMLINK", libc::EMLINK),
    ("EPIPE", libc::EPIPE),
    ("EDOM", libc::EDOM),
    ("ERANGE", libc::ERANGE),
    ("ENOSYS", libc::ENOSYS),
    ("ENOTSUP", libc::ENOTSUP),
    ("EOPNOTSUPP", libc::EOPNOTSUPP),
    ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
    ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT),
    ("ENOTSOCK", libc::ENOTSOCK),
    ("ECONNREFUSED", libc::ECONNREFUSED),
    ("ENETUNREACH", libc::ENETUNREACH),
    ("ETIMEDOUT", libc::ETIMEDOUT),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_spellings() {
        assert_eq!(Action::parse_cli("allow"), Ok(Action::Allow));
        assert_eq!(Action::parse_cli("errno"), Ok(Action::Errno(1)));
        assert_eq!(Action::parse_cli("errno:ENOSYS"), Ok(Action::Errno(38)));
        assert_eq!(Action::parse_cli("ERRNO:eacces"), Ok(Action::Errno(13)));
        assert_eq!(Action::parse_cli("errno:22"), Ok(Action::Errno(22)));
        assert_eq!(Action::parse_cli("kill"), Ok(Action::KillProcess));
        assert_eq!(Action::parse_cli("kill-thread"), Ok(Action::KillThread));
        assert!(Action::parse_cli("allow:3").is_err());
        assert!(Action::parse_cli("errno:EBOGUS").is_err());
        assert!(Action::parse_cli("errno:5000").is_err());
        assert!(Action::parse_cli("deny").is_err());
    }

    #[test]
    fn oci_names_and_errno_ret() {
        assert_eq!(
            Action::parse_oci("SCMP_ACT_ERRNO", None),
            Ok(Action::Errno(1))
        );
        assert_eq!(
            Action::parse_oci("SCMP_ACT_ERRNO", Some(38)),
            Ok(Action::Errno(38))
        );
        assert_eq!(
            Action::parse_oci("SCMP_ACT_KILL", None),
            Ok(Action::KillThread)
        );
        assert!(Action::parse_oci("SCMP_ACT_ALLOW", Some(1)).is_err());
        assert!(Action::parse_oci("SCMP_ACT_BOGUS", None).is_err());
    }

    #[test]
    fn return_values_round_trip() {
        for a in [
            Action::KillProcess,
            Action::KillThread,
            Action::Trap,
            Action::Errno(38),
            Action::Trace(7),
            Action::Log,
            Action::Allow,
        ] {
            assert_eq!(Action::from_ret(a.ret()), a);
        }
        assert_eq!(Action::Errno(1).ret(), 0x0005_0001);
        assert_eq!(Action::Errno(38).to_string(), "errno:ENOSYS");
    }
}
