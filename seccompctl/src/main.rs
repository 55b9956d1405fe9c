//! seccompctl: the last step of a container chain. Capabilities,
//! no_new_privs and a seccomp filter (compiled here into classic BPF, no
//! libseccomp), then exec of the rest of the argv. See README.md.

mod action;
mod bpf;
mod builtin;
mod caps;
mod compile;
mod filter;
mod interp;
mod load;
mod options;
mod posture;
mod profile;
mod syscalls;

use chain::cli;
use chain::exec::{self, ExecCall};
use chain::{Result, sys, trace};
use options::{Options, PROG};
use std::convert::Infallible;

macro_rules! usage {
    () => {
        "usage: seccompctl [--default] [capability options] [--nnp] [--new-session] [filter options] [--] program [argument...]\n       seccompctl [options] (--print-profile | --dump | --dump-raw FILE | --test CALL)..."
    };
}

const HELP: &str = concat!(
    usage!(),
    "

Reduce the capabilities, set no_new_privs and load a seccomp filter, then
exec PROGRAM. The last step of a chain, after pivot (pivot carries it in
from the host, so the image need not contain it):

    cgctl --mem 100M -- unshare-rs -fpnumi -- pivot ./rootfs -- seccompctl --default -- bash

Posture:
      --default           what a Docker container gets, closed further: Docker's
                          default capabilities without CAP_MKNOD, no_new_privs,
                          and the built-in profile (Docker's default seccomp
                          decisions, plus ioctl TIOCSTI and TIOCLINUX and
                          i386 socketcall refused)
Capabilities (names with or without CAP_, any case, or ALL):
      --caps LIST         keep exactly these (before --cap-drop and --cap-add)
      --cap-drop LIST     drop these (ALL: every one)
      --cap-add LIST      keep these too (wins over --cap-drop)
      --ambient           make the kept capabilities ambient, so a program
                          whose uid is not 0 has them after its exec
Privileges:
      --nnp               set no_new_privs (setuid and file capabilities grant
                          nothing); implied by --default and by any filter
                          loaded without CAP_SYS_ADMIN
      --new-session       setsid(2): no controlling terminal, so no TIOCSTI
                          into the caller's terminal (CVE-2017-5226)
Filter:
      --profile FILE      an OCI or Docker seccomp profile (JSON); Docker's
                          includes/excludes are evaluated against the
                          capabilities in force after the capability step
      --default-action ACTION
                          for calls no rule matches (default: the profile's,
                          else allow)
      --allow SPEC        let these calls through
      --deny SPEC         refuse these calls (default errno:EPERM)
      --rule SPEC=ACTION  any action
                          SPEC is NAME[,NAME...][(COND[,COND...])][=ACTION];
                          COND is aN OP VALUE with OP == != < <= > >=, or
                          aN&MASK==VALUE; VALUE is 64-bit (0x.., -1 ...).
                          Command-line rules come before the profile's.
      --strict            a name no architecture has is an error, not skipped
                          (calls of non-x86 architectures only, like recv,
                          are still skipped)
      --unconfined        no filter (only the capability and privilege steps)
      --bpf FILE          load a program --dump-raw wrote, as it is (no
                          profile to read and compile at every start)
ACTION: allow, log, errno[:NAME|N] (default EPERM), kill (= kill-process),
kill-thread, trap, trace[:N].
Every call through int 0x80 (i386) and x32 is decided by its own table;
calls newer than the profile get ENOSYS, so libc falls back.

Inspect (print and exit; nothing is applied; a root process with every
capability is assumed where the options do not say):
      --print-profile     the profile as OCI JSON, conditions evaluated
      --dump              the compiled program, readable
      --dump-raw FILE     the compiled program as bytes (bwrap --seccomp)
      --test CALL         the action for [ARCH:]NAME|NR [ARG...] (repeatable)

  -v, --verbose           trace every step to stderr, the five capability
                          sets before and after (CHAIN_TRACE=1 traces every
                          tool of a chain)
  -h, --help              show this help;  -V, --version  show the version

seccompctl goes last: no_new_privs breaks setuid helpers (newuidmap, sudo)
and the filter refuses the mount, setns and unshare calls of earlier steps.

Exit status: 125 seccompctl failed, 126 PROGRAM cannot be executed, 127
PROGRAM not found; otherwise PROGRAM's status (seccompctl does not fork).
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
    let inspect = !opts.inspect.is_empty();
    // The program is found before anything changes: a typo is 127 and
    // leaves the process as it was.
    let program = if inspect {
        None
    } else {
        Some(exec::resolve(opts.argv.clone())?)
    };

    // Every decision is made now, before the first change: the target
    // capability sets, the profile evaluated against them, the program.
    let mut plan = posture::plan(&opts)?;
    let filter = match &plan.profile {
        _ if plan.precompiled => Some(posture::precompiled()),
        _ if plan.raw.is_some() => plan.raw.take().map(posture::Built::from_raw),
        Some(profile) => Some(posture::build_filter(
            profile,
            &plan,
            opts.strict,
            opts.inspect.contains(&options::Inspect::Dump),
        )?),
        None => None,
    };

    // No program: the inspection modes print and exit.
    let Some(program) = program else {
        return posture::inspect(&opts.inspect, &plan, filter.as_ref());
    };
    if let Some(f) = &filter {
        // A filter that would refuse this very exec is refused, not loaded.
        let nr = if program.carried.is_some() {
            libc::SYS_execveat
        } else {
            libc::SYS_execve
        };
        posture::check_exec(f, &ExecCall { nr, args: [0; 6] })?;
    }

    if opts.new_session {
        // A new session has no controlling terminal: the program cannot push
        // input into the caller's terminal with TIOCSTI.
        sys("setsid", "", || nix::unistd::setsid().map(drop)).map_err(|e| {
            e.with_hint_for(|errno| {
                (errno == nix::errno::Errno::EPERM)
                    .then(|| "this process leads a process group already; run it as a child (unshare-rs -f does)".into())
            })
        })?;
    }

    if plan.caps.is_none() {
        trace::note(format_args!(
            "capabilities: unchanged (no capability option)"
        ));
    }
    if let Some(target) = &plan.caps {
        // Bounding set first, while CAP_SETPCAP is still held; then one
        // capset; then ambient, which needs the cap in P and I.
        caps::apply(&plan.current, target, plan.last_cap)?;
        if trace::enabled() {
            let (now, _) = caps::read(plan.last_cap)?;
            for line in caps::describe(&now, plan.last_cap) {
                trace::note(format_args!("after: {line}"));
            }
            for line in caps::describe(&caps::after_exec(&now, plan.root), plan.last_cap) {
                trace::note(format_args!("the program gets at exec: {line}"));
            }
        }
    }

    if plan.nnp {
        // Irreversible and inherited: setuid binaries and file capabilities
        // grant nothing from here on; the kernel also demands it for a
        // filter loaded without CAP_SYS_ADMIN.
        load::no_new_privs()?;
    }

    Err(program.exec_with(|call| {
        let Some(built) = &filter else {
            return Ok(());
        };
        posture::check_exec(built, &call)?;
        // The very last step: nothing but the exec runs under the filter.
        load::filter(&built.program.insns, plan.flags)
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_mentions_every_option() {
        for opt in [
            "--default",
            "--caps",
            "--cap-drop",
            "--cap-add",
            "--ambient",
            "--nnp",
            "--new-session",
            "--profile",
            "--default-action",
            "--allow",
            "--deny",
            "--rule",
            "--strict",
            "--unconfined",
            "--bpf",
            "--print-profile",
            "--dump",
            "--dump-raw",
            "--test",
            "--verbose",
            "--help",
            "--version",
        ] {
            assert!(super::HELP.contains(opt), "{opt} missing from --help");
        }
        assert!(super::HELP.starts_with(usage!()));
    }
}
