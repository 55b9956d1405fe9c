//! `--as UID[:GID]`: switch identity inside the container, late in the
//! chain (after pivot), like setpriv or s6-setuidgid, then exec.
//!
//! Order: supplementary groups first (setgroups needs CAP_SETGID, which the
//! uid change takes away), then the gid, then the uid. Capabilities: a
//! change from uid 0 to another uid clears the permitted and effective sets,
//! and exec gives a non-root program none, so by default the workload has no
//! capabilities at all. `--keep-caps` keeps them across both: KEEPCAPS over
//! the uid change, then effective = inheritable = ambient = permitted, since
//! only ambient capabilities survive the exec of a plain program by a
//! non-root uid. The bounding set is left alone (no_new_privs, from
//! seccompctl, is what stops setuid and file capabilities from granting
//! more).
//!
//! A credential change clears the parent-death signal that a supervising
//! unshare-rs armed; it is read before and armed again after.

use chain::{Error, Result, sys, trace};
use nix::errno::Errno;
use nix::unistd::{Gid, Uid};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Groups {
    /// No supplementary groups (the default).
    Clear,
    List(Vec<u32>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: Groups,
    pub keep_caps: bool,
}

fn prctl(op: libc::c_int, arg: libc::c_ulong) -> nix::Result<libc::c_int> {
    // SAFETY: plain prctl with integer arguments.
    Errno::result(unsafe { libc::prctl(op, arg, 0, 0, 0) })
}

pub fn switch(to: &Identity) -> Result<()> {
    let mut deathsig: libc::c_int = 0;
    sys("prctl", "PR_GET_PDEATHSIG", || {
        // SAFETY: PR_GET_PDEATHSIG writes an int through the pointer.
        Errno::result(unsafe {
            libc::prctl(
                libc::PR_GET_PDEATHSIG,
                &mut deathsig as *mut libc::c_int,
                0,
                0,
                0,
            )
        })
        .map(drop)
    })?;

    // Supplementary groups first: setgroups needs CAP_SETGID.
    match &to.groups {
        Groups::Clear => {
            // In a user namespace whose setgroups is denied the call fails even
            // to clear an empty list: skip it when there is nothing to clear.
            let current = nix::unistd::getgroups().unwrap_or_default();
            if !current.is_empty() {
                sys("setgroups", "[]", || nix::unistd::setgroups(&[])).map_err(setgroups_hint)?;
            }
        }
        Groups::List(list) => {
            let gids: Vec<Gid> = list.iter().map(|g| Gid::from_raw(*g)).collect();
            sys("setgroups", format_args!("{list:?}"), || {
                nix::unistd::setgroups(&gids)
            })
            .map_err(setgroups_hint)?;
        }
    }
    if to.keep_caps {
        // Keep the permitted set over the change from uid 0.
        sys("prctl", "PR_SET_KEEPCAPS 1", || {
            prctl(libc::PR_SET_KEEPCAPS, 1).map(drop)
        })?;
    }
    let gid = Gid::from_raw(to.gid);
    sys("setresgid", format_args!("{0} {0} {0}", to.gid), || {
        nix::unistd::setresgid(gid, gid, gid)
    })
    .map_err(|e| e.with_hint_for(unmapped_hint))?;
    let uid = Uid::from_raw(to.uid);
    sys("setresuid", format_args!("{0} {0} {0}", to.uid), || {
        nix::unistd::setresuid(uid, uid, uid)
    })
    .map_err(|e| e.with_hint_for(unmapped_hint))?;

    if to.keep_caps {
        keep_capabilities()?;
    } else {
        trace::note(format_args!(
            "capabilities: {}",
            if to.uid == 0 {
                "uid 0 keeps them (exec gives root the bounding set)"
            } else {
                "none after the uid change and the exec"
            }
        ));
    }

    if deathsig != 0 {
        // The credential change cleared it; the container must still die
        // with its supervisor.
        sys(
            "prctl",
            format_args!("PR_SET_PDEATHSIG {deathsig} (again, after the credential change)"),
            || prctl(libc::PR_SET_PDEATHSIG, deathsig as libc::c_ulong).map(drop),
        )?;
    }
    Ok(())
}

/// effective = inheritable = ambient = permitted, so the capabilities
/// survive the exec of a plain program by a non-root uid.
fn keep_capabilities() -> Result<()> {
    use caps::CapSet;
    let caps_err = |what: &str, e: caps::errors::CapsError| Error::msg(format!("{what}: {e}"));
    let permitted = caps::read(None, CapSet::Permitted).map_err(|e| caps_err("capget", e))?;
    caps::set(None, CapSet::Effective, &permitted).map_err(|e| caps_err("capset effective", e))?;
    caps::set(None, CapSet::Inheritable, &permitted)
        .map_err(|e| caps_err("capset inheritable", e))?;
    for cap in &permitted {
        caps::raise(None, CapSet::Ambient, *cap)
            .map_err(|e| caps_err(&format!("raise ambient {cap}"), e))?;
    }
    trace::note(format_args!(
        "capabilities kept across exec (ambient): {} of them",
        permitted.len()
    ));
    Ok(())
}

fn setgroups_hint(e: Error) -> Error {
    e.with_hint_for(|errno| {
        (errno == Errno::EPERM).then(|| {
            "setgroups is denied in this user namespace (it was mapped with only one's own gid): \
             map subordinate gids with mapids --auto, or leave the groups alone"
                .into()
        })
    })
}

fn unmapped_hint(errno: Errno) -> Option<String> {
    matches!(errno, Errno::EINVAL | Errno::EPERM)
        .then(|| "the id is not mapped in this user namespace, or this process lacks CAP_SETUID/CAP_SETGID".into())
}
