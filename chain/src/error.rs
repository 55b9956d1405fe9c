//! The error every tool reports: one line on stderr naming the program, the
//! operation, the object and the errno, plus a hint where the errno is known
//! to mislead, e.g.
//!
//! `pivot: pivot_root ./rootfs: Invalid argument (the mount above ./rootfs is shared; run under unshare-rs -m)`

use crate::exit;
use nix::errno::Errno;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What was attempted: a syscall name (`unshare`, `mount`), `exec`, or
    /// for usage errors and helper reports the whole message.
    pub op: String,
    /// What it was attempted on: a path, a flag set, a pid.
    pub object: Option<String>,
    /// The kernel's answer, when there was one.
    pub errno: Option<Errno>,
    /// What the errno means here, when it is known to mislead.
    pub hint: Option<String>,
    /// The exit status the tool ends with (125 unless exec failed).
    pub status: i32,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failed system call on an object.
    pub fn sys(op: impl Into<String>, object: impl fmt::Display, errno: Errno) -> Error {
        let object = object.to_string();
        Error {
            op: op.into(),
            object: (!object.is_empty()).then_some(object),
            errno: Some(errno),
            hint: None,
            status: exit::TOOL_FAILED,
        }
    }

    /// A failure that is not an errno: bad input, a helper's report, a
    /// broken protocol. The message is printed as it is.
    pub fn msg(message: impl Into<String>) -> Error {
        Error {
            op: message.into(),
            object: None,
            errno: None,
            hint: None,
            status: exit::TOOL_FAILED,
        }
    }

    /// A usage error: the message, then where to read the usage.
    pub fn usage(prog: &str, message: impl fmt::Display) -> Error {
        Error::msg(format!("{message} (see '{prog} --help')"))
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint computed from the errno, when there is one.
    pub fn with_hint_for(self, hint_of: impl FnOnce(Errno) -> Option<String>) -> Error {
        match self.errno.and_then(hint_of) {
            Some(hint) => self.with_hint(hint),
            None => self,
        }
    }

    pub fn with_status(mut self, status: i32) -> Error {
        self.status = status;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.op)?;
        if let Some(object) = &self.object {
            write!(f, " {object}")?;
        }
        if let Some(errno) = self.errno {
            write!(f, ": {}", strerror(errno))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The C library's text for an errno ("Invalid argument"), the words users
/// know from every other tool's messages.
pub fn strerror(errno: Errno) -> String {
    // SAFETY: strerror returns a pointer to a static, NUL-terminated string
    // (musl never writes to it).
    unsafe { std::ffi::CStr::from_ptr(libc::strerror(errno as i32)) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_operation_object_errno_and_hint() {
        let e = Error::sys("pivot_root", "./rootfs", Errno::EINVAL)
            .with_hint("the mount above ./rootfs is shared; run under unshare-rs -m");
        assert_eq!(
            e.to_string(),
            "pivot_root ./rootfs: Invalid argument (the mount above ./rootfs is shared; run under unshare-rs -m)"
        );
        assert_eq!(e.status, 125);
    }

    #[test]
    fn empty_object_is_left_out() {
        let e = Error::sys("fork", "", Errno::EAGAIN);
        assert_eq!(e.to_string(), "fork: Resource temporarily unavailable");
    }

    #[test]
    fn usage_names_help() {
        let e = Error::usage("unshare-rs", "invalid option '--bogus'");
        assert_eq!(
            e.to_string(),
            "invalid option '--bogus' (see 'unshare-rs --help')"
        );
        assert_eq!(e.status, 125);
    }

    #[test]
    fn hint_only_for_matching_errno() {
        let hint = |e| (e == Errno::EPERM).then(|| "needs root".to_string());
        assert_eq!(
            Error::sys("x", "y", Errno::EPERM)
                .with_hint_for(hint)
                .hint
                .as_deref(),
            Some("needs root")
        );
        assert_eq!(
            Error::sys("x", "y", Errno::EINVAL).with_hint_for(hint).hint,
            None
        );
        assert_eq!(Error::msg("plain").with_hint_for(hint).hint, None);
    }
}
