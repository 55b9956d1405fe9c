//! The decisions seccompctl makes before it changes anything: which
//! capabilities stay, whether no_new_privs is set, which profile is loaded
//! (built-in, file, command-line rules, the `--default` posture), and the
//! inspection modes that print them.

use crate::action::Action;
use crate::caps::{self, Mask, Sets};
use crate::compile::{self, Program};
use crate::filter::{Filter, NewerThan};
use crate::interp::{self, Call};
use crate::options::{CliRule, Inspect, Options, PROG};
use crate::profile::{self, Arch, Condition, Context, Entry, Profile};
use crate::{bpf, builtin, load, syscalls};
use chain::exec::ExecCall;
use chain::{Error, Result, trace};
use std::convert::Infallible;

pub struct Plan {
    pub last_cap: u8,
    /// The program keeps root's capability rules at exec (euid 0).
    pub root: bool,
    pub current: Sets,
    /// The sets to apply; None: the capability step changes nothing.
    pub caps: Option<Sets>,
    pub nnp: bool,
    /// The evaluated profile with the command-line rules; None: no filter.
    pub profile: Option<Profile>,
    pub newer_than: NewerThan,
    pub flags: libc::c_uint,
    /// The filter is the `--default` posture's, compiled at build time.
    pub precompiled: bool,
    /// `--bpf FILE`: the program read from FILE, checked.
    pub raw: Option<Vec<crate::bpf::Insn>>,
}

/// The `--default` posture's program, compiled by build.rs.
mod posture_filter {
    include!(concat!(env!("OUT_DIR"), "/posture_filter.rs"));
}

/// Docker's default capabilities without CAP_MKNOD: pivot's /dev already
/// has the nodes a container needs, and a new node of the host's disk is
/// the way out (mknod + mount).
const CAP_MKNOD: u32 = 27;
const CAP_SYS_ADMIN: u32 = 21;

pub fn default_caps() -> Mask {
    caps::DOCKER_DEFAULT & !(1 << CAP_MKNOD)
}

/// `ALL` in a list to keep means every capability the bounding set still
/// has: nothing can bring back the others, and a host or an outer
/// container may have dropped some (this VM's lacks CAP_SYS_RESOURCE).
fn all_in_bounding((mask, all): (Mask, bool), current: &Sets) -> Mask {
    if all { mask & current.bounding } else { mask }
}

fn cap_list(text: &str, last: u8, opt: &str) -> Result<(Mask, bool)> {
    caps::parse_list(text, last).map_err(|e| Error::usage(PROG, format!("{opt}: {e}")))
}

pub fn plan(opts: &Options) -> Result<Plan> {
    let last = caps::last_cap();
    let inspect = !opts.inspect.is_empty();
    let (current, no_ambient_raise, root) = if inspect {
        // Printing assumes a root process with every capability.
        let all = caps::all(last);
        (
            Sets {
                bounding: all,
                permitted: all,
                effective: all,
                inheritable: 0,
                ambient: 0,
            },
            false,
            true,
        )
    } else {
        let (sets, nar) = caps::read(last)?;
        (sets, nar, nix::unistd::geteuid().is_root())
    };
    if trace::enabled() && !inspect {
        for line in caps::describe(&current, last) {
            trace::note(format_args!("before: {line}"));
        }
    }

    let mut req = caps::Request {
        ambient: opts.caps.ambient,
        ..Default::default()
    };
    if opts.default {
        req.base = Some(default_caps());
        req.base_is_preset = true;
    }
    if let Some(list) = &opts.caps.caps {
        req.base = Some(all_in_bounding(cap_list(list, last, "--caps")?, &current));
        req.base_is_preset = false;
    }
    for list in &opts.caps.drop {
        let (mask, all) = cap_list(list, last, "--cap-drop")?;
        req.drop |= mask;
        req.drop_all |= all;
    }
    for list in &opts.caps.add {
        req.add |= all_in_bounding(cap_list(list, last, "--cap-add")?, &current);
    }
    let target = if req.is_empty() {
        None
    } else {
        Some(caps::plan(&current, no_ambient_raise, &req, root, last).map_err(Error::msg)?)
    };
    if let Some(t) = &target
        && !root
        && t.ambient == 0
        && t.permitted != 0
    {
        trace::note(format_args!(
            "the program's uid is not 0: it has no capabilities after its exec unless --ambient is given"
        ));
    }
    let in_force = target.as_ref().map_or(current.bounding, |t| t.bounding);

    // The common case needs no compiler: the posture's program for exactly
    // its capabilities was compiled with the binary.
    let raw = match &opts.bpf {
        Some(path) => Some(read_bpf(path)?),
        None => None,
    };
    let precompiled = !inspect
        && raw.is_none()
        && opts.default
        && opts.profile.is_none()
        && opts.rules.is_empty()
        && opts.default_action.is_none()
        && !opts.unconfined
        && !opts.strict
        && in_force == default_caps()
        && kernel() >= posture_filter::MIN_KERNEL;
    let (profile, newer_than) = if precompiled || raw.is_some() {
        (None, NewerThan::Profile)
    } else {
        build_profile(opts, in_force)?
    };
    let effective_after = target.as_ref().map_or(current.effective, |t| t.effective);
    let has_admin = effective_after & (1 << CAP_SYS_ADMIN) != 0;
    // A bounding set left wider than the kept caps (a non-root process
    // without CAP_SETPCAP) is harmless only while no exec can draw on it.
    let wide_bounding = target
        .as_ref()
        .is_some_and(|t| t.bounding & !(t.permitted | t.ambient) != 0 && !root);
    let nnp = opts.nnp
        || opts.default
        || ((precompiled || raw.is_some() || profile.is_some()) && !has_admin)
        || wide_bounding;
    if wide_bounding {
        trace::note(format_args!(
            "the bounding set stays as it is (this process is not root and lacks CAP_SETPCAP); no_new_privs keeps setuid and file capabilities from drawing on it"
        ));
    }
    if nnp && !opts.nnp && !opts.default {
        trace::note(format_args!(
            "no_new_privs is set: the kernel loads a filter without CAP_SYS_ADMIN only with it"
        ));
    }
    let flags = profile.as_ref().map_or(0, |p| load::flag_bits(&p.flags));
    Ok(Plan {
        last_cap: last,
        root,
        current,
        caps: target,
        nnp,
        profile,
        newer_than,
        flags,
        precompiled,
        raw,
    })
}

/// A program as `--dump-raw` writes it (and bwrap `--seccomp` reads it),
/// held to the same structural rules as one compiled here.
fn read_bpf(path: &std::path::Path) -> Result<Vec<crate::bpf::Insn>> {
    let bytes = chain::file::read_bytes(path)?;
    let insns =
        bpf::from_bytes(&bytes).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
    bpf::verify(&insns).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
    trace::note(format_args!(
        "filter: {} instructions from {}",
        insns.len(),
        path.display()
    ));
    Ok(insns)
}

/// The `--default` posture's program as build.rs compiled it.
pub fn precompiled() -> Built {
    trace::note(format_args!(
        "filter: the --default posture's, compiled with the binary ({} instructions)",
        posture_filter::PROGRAM.len()
    ));
    Built {
        program: Program {
            insns: posture_filter::PROGRAM.to_vec(),
            notes: Vec::new(),
        },
    }
}

fn read_profile(path: &std::path::Path) -> Result<Profile> {
    let bytes = chain::file::read_bytes(path)?;
    profile::parse(&bytes).map_err(|e| Error::msg(format!("{}: {e}", path.display())))
}

fn kernel() -> (u32, u32) {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| profile::kernel_version(&u.release().to_string_lossy()))
        .unwrap_or((0, 0))
}

fn cli_entry(rule: &CliRule) -> Entry {
    Entry {
        names: rule.names.iter().map(|n| n.clone().into()).collect(),
        action: rule.action,
        args: rule.args.clone(),
        includes: Condition::default(),
        excludes: Condition::default(),
        comment: Some("command line".into()),
    }
}

/// The profile to load, evaluated against the bounding set `in_force`.
fn build_profile(opts: &Options, in_force: Mask) -> Result<(Option<Profile>, NewerThan)> {
    if opts.unconfined {
        return Ok((None, NewerThan::Profile));
    }
    let base = match (&opts.profile, opts.default) {
        (Some(path), _) => Some(read_profile(path)?),
        (None, true) => Some(builtin::docker_default()),
        (None, false) => None,
    };
    if base.is_none() && opts.rules.is_empty() && opts.default_action.is_none() {
        return Ok((None, NewerThan::Profile));
    }
    let newer_than = if base.is_some() {
        NewerThan::Profile
    } else {
        NewerThan::Tables
    };
    let mut profile = match base {
        Some(p) => {
            let has_cap = |name: &str| {
                caps::NAMES
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(name))
                    .is_some_and(|i| in_force & (1 << i) != 0)
            };
            p.evaluate(&Context {
                has_cap: &has_cap,
                kernel: kernel(),
            })
        }
        None => Profile {
            default_action: Action::Allow,
            // Command-line rules hold for every ABI of the kernel.
            architectures: vec![Arch::X86_64, Arch::X86, Arch::X32],
            arch_map: Vec::new(),
            flags: Vec::new(),
            syscalls: Vec::new(),
        },
    };
    if let Some(a) = opts.default_action {
        profile.default_action = a;
    }
    if profile.default_action == Action::Allow
        && profile.syscalls.is_empty()
        && opts.rules.iter().all(|r| r.action == Action::Allow)
    {
        return Err(Error::usage(
            PROG,
            "every call is allowed already: an allow-list needs --default-action (e.g. errno or kill)",
        ));
    }
    let mut first: Vec<Entry> = opts.rules.iter().map(cli_entry).collect();
    if opts.default {
        first.extend(builtin::posture_additions());
    }
    first.append(&mut profile.syscalls);
    profile.syscalls = first;
    Ok((Some(profile), newer_than))
}

/// A resolved and compiled filter.
pub struct Built {
    pub program: Program,
}

impl Built {
    pub fn from_raw(insns: Vec<crate::bpf::Insn>) -> Built {
        Built {
            program: Program {
                insns,
                notes: Vec::new(),
            },
        }
    }
}

pub fn build_filter(profile: &Profile, plan: &Plan, strict: bool, notes: bool) -> Result<Built> {
    let model = Filter::resolve_noting(profile, strict, plan.newer_than, trace::enabled())
        .map_err(Error::msg)?;
    if trace::enabled() {
        if !model.foreign_arches.is_empty() {
            trace::note(format_args!(
                "architectures an x86_64 kernel does not run, ignored: {}",
                model.foreign_arches.join(", ")
            ));
        }
        for s in &model.sections {
            let mut missing: Vec<&str> = model
                .skipped
                .iter()
                .filter(|(a, _)| !syscalls::table(a).is_empty() && arch_name(a) == s.name)
                .map(|(_, n)| n.as_str())
                .collect();
            missing.sort_unstable();
            missing.dedup();
            if !missing.is_empty() {
                trace::note(format_args!(
                    "{} names {} does not have, skipped: {}",
                    missing.len(),
                    s.name,
                    missing.join(" ")
                ));
            }
        }
    }
    let program = compile::compile(&model, notes);
    bpf::verify(&program.insns).map_err(|e| {
        Error::msg(format!(
            "the compiled filter cannot be loaded: {e} (fewer rules, or fewer architectures in the profile)"
        ))
    })?;
    trace::note(format_args!(
        "filter: {} instructions for {}",
        program.insns.len(),
        model
            .sections
            .iter()
            .flat_map(|s| s.parts.iter())
            .filter_map(|(_, _, p)| match p {
                crate::filter::Part::Calls { arch, .. } => Some(arch_label(arch)),
                crate::filter::Part::Fixed(_) => None,
            })
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(Built { program })
}

fn arch_name(a: &Arch) -> &'static str {
    match a {
        Arch::X86_64 | Arch::X32 => "x86_64",
        Arch::X86 => "i386",
        Arch::Other(_) => "",
    }
}

/// Refuses a filter whose compiled program would not let `call` (the exec
/// seccompctl is about to make) through.
pub fn check_exec(built: &Built, call: &ExecCall) -> Result<()> {
    let data = Call {
        nr: call.nr as u32,
        arch: bpf::AUDIT_ARCH_X86_64,
        ip: 0,
        args: call.args,
    };
    let (ret, _) = interp::run(&built.program.insns, &data);
    let action = Action::from_ret(ret);
    if action.lets_through() {
        return Ok(());
    }
    let name = if call.nr == libc::SYS_execveat {
        "execveat"
    } else {
        "execve"
    };
    Err(Error::msg(format!(
        "the filter gives {name} {action}, so the program could never start: allow {name} (--allow {name}); nothing was loaded"
    )))
}

fn arch_audit(a: &Arch) -> u32 {
    match a {
        Arch::X86 => bpf::AUDIT_ARCH_I386,
        _ => bpf::AUDIT_ARCH_X86_64,
    }
}

pub fn inspect(list: &[Inspect], plan: &Plan, built: Option<&Built>) -> Result<Infallible> {
    let need = || Error::msg("no filter: give --default, --profile or rules");
    let mut out = String::new();
    for item in list {
        match item {
            Inspect::PrintProfile => {
                let p = plan.profile.as_ref().ok_or_else(need)?;
                let text = serde_json::to_string_pretty(&p.to_json())
                    .map_err(|e| Error::msg(e.to_string()))?;
                out.push_str(&text);
                out.push('\n');
            }
            Inspect::Dump => {
                let b = built.ok_or_else(need)?;
                out.push_str(&format!(
                    "# {} instructions; syscall numbers from {}\n",
                    b.program.insns.len(),
                    syscalls::SOURCE
                ));
                out.push_str(&bpf::disassemble(&b.program.insns, &b.program.notes));
            }
            Inspect::DumpRaw(path) => {
                let b = built.ok_or_else(need)?;
                let bytes = bpf::to_bytes(&b.program.insns);
                chain::file::create(path, &bytes)?;
            }
            Inspect::Test(t) => {
                let b = built.ok_or_else(need)?;
                let nr = match t.call.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => syscalls::number(&t.arch, &t.call).ok_or_else(|| {
                        Error::msg(format!(
                            "--test: {} has no call named {}",
                            arch_label(&t.arch),
                            t.call
                        ))
                    })?,
                };
                let nr = if t.arch == Arch::X32 {
                    nr | bpf::X32_SYSCALL_BIT
                } else {
                    nr
                };
                let data = Call {
                    nr,
                    arch: arch_audit(&t.arch),
                    ip: 0,
                    args: t.args,
                };
                let (ret, steps) = interp::run(&b.program.insns, &data);
                let name =
                    syscalls::name(&t.arch, nr).map_or_else(|| format!("#{nr}"), str::to_string);
                let args: Vec<String> = t.args.iter().map(|a| format!("{a:#x}")).collect();
                out.push_str(&format!(
                    "{} {name}({}) = {} ({steps} instructions run)\n",
                    arch_label(&t.arch),
                    args.join(", "),
                    Action::from_ret(ret)
                ));
            }
        }
    }
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::msg(format!("write stdout: {e}")))?;
    chain::cli::exit(0)
}

fn arch_label(a: &Arch) -> &'static str {
    match a {
        Arch::X86_64 => "x86_64",
        Arch::X86 => "i386",
        Arch::X32 => "x32",
        Arch::Other(_) => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_precompiled_program_is_what_the_compiler_makes_now() {
        let profile = builtin::posture_profile((6, 1));
        let model = Filter::resolve(&profile, false, NewerThan::Profile).unwrap();
        assert_eq!(
            compile::compile(&model, false).insns,
            posture_filter::PROGRAM
        );
        assert!(posture_filter::MIN_KERNEL <= (6, 1));
    }

    #[test]
    fn the_posture_caps_are_dockers_without_mknod() {
        let by_name = builtin::POSTURE_CAPS.iter().fold(0u64, |m, name| {
            let i = caps::NAMES.iter().position(|n| n == name).unwrap();
            m | (1 << i)
        });
        assert_eq!(by_name, default_caps());
    }
}
