//! The two irreversible kernel steps: no_new_privs and the filter load.

use crate::bpf::Insn;
use chain::{Result, sys, trace};
use nix::errno::Errno;

pub fn no_new_privs() -> Result<()> {
    sys("prctl", "PR_SET_NO_NEW_PRIVS 1", || {
        // SAFETY: prctl with integer arguments.
        Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
    })
}

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
pub const FLAG_TSYNC: libc::c_uint = 1;
pub const FLAG_LOG: libc::c_uint = 2;
pub const FLAG_SPEC_ALLOW: libc::c_uint = 4;

/// The `SECCOMP_FILTER_FLAG_*` bits of a profile's `flags`.
pub fn flag_bits(names: &[String]) -> libc::c_uint {
    names
        .iter()
        .map(|n| match n.as_str() {
            "SECCOMP_FILTER_FLAG_TSYNC" => FLAG_TSYNC,
            "SECCOMP_FILTER_FLAG_LOG" => FLAG_LOG,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => FLAG_SPEC_ALLOW,
            // WAIT_KILLABLE_RECV only matters with a notify listener.
            _ => 0,
        })
        .fold(0, |a, b| a | b)
}

/// Loads the program with seccomp(2). SPEC_ALLOW is added as crun does: a
/// filter must not turn on the Speculative Store Bypass mitigation (and
/// its cost) for the whole container where the kernel's default
/// (spec_store_bypass_disable=seccomp, before 5.16) would; a kernel
/// without the flag (before 4.17) gets the load without it.
///
/// No trace line is printed after the load: the filter may refuse write.
pub fn filter(prog: &[Insn], flags: libc::c_uint) -> Result<()> {
    let fprog = libc::sock_fprog {
        len: prog.len() as libc::c_ushort,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    let load = |flags: libc::c_uint| {
        // SAFETY: fprog points at `prog`, alive for the call; the kernel copies it.
        Errno::result(unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                flags,
                &fprog as *const libc::sock_fprog,
            )
        })
    };
    trace::note(format_args!(
        "seccomp SECCOMP_SET_MODE_FILTER flags {:#x} ({} instructions); the exec follows",
        flags | FLAG_SPEC_ALLOW,
        prog.len()
    ));
    let result = match load(flags | FLAG_SPEC_ALLOW) {
        Err(Errno::EINVAL) if flags & FLAG_SPEC_ALLOW == 0 => load(flags),
        other => other,
    };
    result.map(drop).map_err(|errno| {
        chain::Error::sys("seccomp", "SECCOMP_SET_MODE_FILTER", errno).with_hint_for(|e| match e {
            Errno::EACCES => {
                Some("the kernel needs no_new_privs or CAP_SYS_ADMIN for a filter".into())
            }
            Errno::EINVAL => {
                Some("this kernel refused the program or a flag of the profile".into())
            }
            Errno::ENOMEM => Some(
                "the filters of this process would exceed the kernel's 32768 instructions in all"
                    .into(),
            ),
            _ => None,
        })
    })
}
