//! mapids: write user-namespace id maps from outside (before unshare-rs in a
//! chain, or for a running process), or switch identity inside (late in the
//! chain), then exec the rest of the argv. See README.md.

mod identity;
mod idmap;
mod options;
mod subid;
mod write;

use chain::cli;
use chain::exec::{self, Program};
use chain::{Result, outside, trace};
use nix::unistd::Pid;
use options::{MapSpec, Mode, Options, PROG};
use std::convert::Infallible;
use write::Caller;

macro_rules! usage {
    () => {
        "usage: mapids (--root | --auto | --uid IN:OUT:COUNT... --gid IN:OUT:COUNT...) [--setgroups allow|deny] [--pid PID] [--] [program...]\n       mapids --as UID[:GID] [--groups G,... | --clear-groups] [--keep-caps] [--] program..."
    };
}

const HELP: &str = concat!(
    usage!(),
    "

Write the uid and gid maps of a new user namespace from outside it, or
switch identity inside one, then exec PROGRAM.

Before unshare-rs (the common case): mapids forks a helper that stays in
this user namespace; when unshare-rs -U reports the new namespace, the
helper writes its maps, and the chain goes on as root inside it:

    mapids --auto -- unshare-rs -Ufpnmui -- pivot ./rootfs -- sh

Maps (one of):
      --root              own uid and gid are 0 inside (one line each)
      --auto              own ids are 0 inside, then every range of
                          /etc/subuid and /etc/subgid for this user (by
                          name or uid, all lines), from 1 on
      --uid IN:OUT:COUNT  a uid map line, repeatable, in the kernel's order
      --gid IN:OUT:COUNT  a gid map line, repeatable
      --setgroups allow|deny
                          what the namespace allows for setgroups(2); an
                          unprivileged map of one's own gid forces deny

Target:
      --pid PID           write the maps of the running process PID now
                          (what newuidmap and newgidmap do, in one tool);
                          then exec PROGRAM if one is given

Identity (inside, late in the chain, e.g. after pivot):
      --as UID[:GID]      switch to UID and GID (GID defaults to UID)
      --groups G,...      supplementary groups (default: none)
      --clear-groups      no supplementary groups (the default)
      --keep-caps         keep the capabilities across the switch and the
                          exec (as ambient ones); by default a non-root UID
                          ends with none

  -v, --verbose           trace every step to stderr (CHAIN_TRACE=1 traces
                          every tool of a chain)
  -h, --help              show this help;  -V, --version  show the version

Root writes the maps itself; an unprivileged user writes a map of its own id
itself (after setgroups deny) and anything else through newuidmap and
newgidmap (package uidmap), which check /etc/subuid and /etc/subgid.

Exit status: 125 mapids failed, 126 PROGRAM cannot be executed, 127 PROGRAM
not found; otherwise PROGRAM's status (mapids does not wait for it).
"
);

/// The bump arena (chain::arena): a tool allocates for well under a
/// millisecond, then execs.
#[global_allocator]
static ALLOC: chain::arena::Arena = chain::arena::Arena;

fn main() {
    cli::tool(
        PROG,
        HELP,
        env!("CARGO_PKG_VERSION"),
        options::parse,
        |opts| run(*opts),
    )
}

fn run(opts: Options) -> Result<Infallible> {
    if opts.verbose {
        trace::enable();
    }
    let Options {
        mode,
        maps,
        setgroups,
        argv,
        ..
    } = opts;
    if let Mode::As(identity) = &mode {
        // The program is found before the switch: a typo is 127 either way,
        // but the lookup then sees what the caller sees.
        let program = exec::resolve(argv)?;
        identity::switch(identity)?;
        return Err(program.exec());
    }

    let program = if argv.is_empty() {
        None
    } else {
        Some(exec::resolve(argv)?)
    };
    let caller = Caller::current();
    let (uid, gid) = match maps.expect("parse demands a map outside --as") {
        MapSpec::Root => (idmap::root(caller.uid), idmap::root(caller.gid)),
        MapSpec::Auto => {
            let name = caller.name();
            let sub = |file: &str, id| {
                subid::ranges_of(
                    &chain::file::read_opt(file).unwrap_or_default(),
                    name.as_deref(),
                    id,
                )
            };
            (
                idmap::auto(caller.uid, &sub("/etc/subuid", caller.uid)),
                idmap::auto(caller.gid, &sub("/etc/subgid", caller.uid)),
            )
        }
        MapSpec::Explicit { uid, gid } => (uid, gid),
    };
    // Everything is checked now, before anything is written or forked.
    let plan = write::plan(
        &caller,
        (!uid.is_empty()).then_some(uid),
        (!gid.is_empty()).then_some(gid),
        setgroups,
    )?;

    match mode {
        Mode::Pid(pid) => {
            plan.write(Pid::from_raw(pid), None)?;
            match program {
                Some(program) => Err(program.exec()),
                None => cli::exit(0),
            }
        }
        _ => {
            if let Some(writes) = plan.self_writes() {
                // Only one's own ids: the next unshare-rs -U, as the
                // namespace's creator, may write them itself; no helper.
                outside::hand_down_self_writes(&writes)?;
            } else {
                // The helper stays in this user namespace: only from here can
                // the maps of the one unshare-rs creates be written.
                let ours = own_user_ns()?;
                let helper = outside::helper_for_exec(move |pid| plan.write(pid, Some(ours)))?;
                helper.hand_down()?;
            }
            Err(program.map_or_else(|| chain::Error::msg("no program"), Program::exec))
        }
    }
}

/// The id of this process's user namespace.
fn own_user_ns() -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    chain::sys("stat", "/proc/self/ns/user", || {
        std::fs::metadata("/proc/self/ns/user")
            .map(|m| m.ino())
            .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_mentions_every_option() {
        for opt in [
            "--root",
            "--auto",
            "--uid",
            "--gid",
            "--setgroups",
            "--pid",
            "--as",
            "--groups",
            "--clear-groups",
            "--keep-caps",
            "--verbose",
            "--help",
            "--version",
        ] {
            assert!(super::HELP.contains(opt), "{opt} missing from --help");
        }
        assert!(super::HELP.starts_with(usage!()));
    }
}
