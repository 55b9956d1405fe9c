//! seccompctl's profile parser and compiler, as `seccompctl --profile FILE`
//! runs them: the input is parsed as a profile (OCI or Docker JSON); one
//! that parses is evaluated (Docker's conditions, against a capability set
//! and kernel version derived from the input), resolved into the filter
//! model and compiled.
//!
//! Checked, besides no panic:
//! - `--print-profile`'s JSON parses back into the same profile, before
//!   and after evaluation;
//! - the program keeps the kernel verifier's structural rules, checked
//!   here independently of `bpf::verify` (which must agree): 1..=4096
//!   instructions (a longer program is the one error allowed: seccompctl
//!   refuses to load it), only the opcodes of a seccomp filter, aligned
//!   loads inside `seccomp_data`, every jump forward and inside the
//!   program, a return at the end;
//! - with and without `--dump`'s notes the instructions are the same;
//! - our interpreter (interp.rs) running the program gives what the filter
//!   model decides (`Filter::decide`), the way seccompctl's unit tests
//!   compare them (compile.rs, `agrees`): for every listed call with each
//!   comparison's boundary values, alone and with the rule's other
//!   comparisons met; at the edges of every number range of every section;
//!   on an architecture the filter does not list; and for a few calls
//!   whose number and arguments come from the input.

#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../seccompctl/src/action.rs"]
mod action;
#[path = "../../seccompctl/src/bpf.rs"]
mod bpf;
#[path = "../../seccompctl/src/compile.rs"]
mod compile;
#[path = "../../seccompctl/src/filter.rs"]
mod filter;
#[path = "../../seccompctl/src/interp.rs"]
mod interp;
#[path = "../../seccompctl/src/profile.rs"]
mod profile;
#[path = "../../seccompctl/src/syscalls/mod.rs"]
mod syscalls;

use action::Action;
use bpf::*;
use filter::{Filter, NewerThan, Part};
use interp::Call;
use profile::{Context, Profile};

/// FNV-1a: a stable hash to derive choices from the input.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The kernel's structural rules for a seccomp program, except its
/// length; Err names the first broken one.
fn structure(prog: &[Insn]) -> Result<(), String> {
    let Some(last) = prog.last() else {
        return Err("empty".into());
    };
    for (pc, insn) in prog.iter().enumerate() {
        // Jump offsets count from the next instruction; the target must
        // exist (the end is not a target: a program must return).
        let inside = |off: u32| (pc as u64) + 1 + u64::from(off) < prog.len() as u64;
        let ok = match insn.code {
            LD_W_ABS => insn.k < SECCOMP_DATA_LEN && insn.k % 4 == 0,
            ALU_AND_K | RET_K => true,
            JMP_JA => inside(insn.k),
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                inside(u32::from(insn.jt)) && inside(u32::from(insn.jf))
            }
            _ => false,
        };
        if !ok {
            return Err(format!("insn {pc}: {insn:?}"));
        }
    }
    if last.code != RET_K {
        return Err(format!("ends with {last:?}"));
    }
    Ok(())
}

fn agrees(filter: &Filter, prog: &[Insn], seed: u64) {
    let check = |audit: u32, nr: u32, args: [u64; 6]| {
        let want = filter.decide(audit, nr, &args);
        let (got, steps) = interp::run(
            prog,
            &Call {
                nr,
                arch: audit,
                ip: 0,
                args,
            },
        );
        assert!(
            steps <= prog.len(),
            "{steps} steps in {} instructions",
            prog.len()
        );
        assert_eq!(
            Action::from_ret(got),
            want,
            "arch {audit:#x} nr {nr:#x} args {args:x?}"
        );
    };
    // The edges of every range of numbers.
    let mut numbers = vec![0, 1, X32_SYSCALL_BIT, u32::MAX];
    for s in &filter.sections {
        for (lo, hi, part) in &s.parts {
            numbers.extend([*lo, *hi, lo.wrapping_sub(1), hi.wrapping_add(1)]);
            if let Part::Calls {
                highest: Some(h), ..
            } = part
            {
                numbers.extend([*h, h.wrapping_add(1)]);
            }
        }
    }
    for (_, nr, _) in filter.listed() {
        numbers.extend([nr.wrapping_sub(1), nr, nr.wrapping_add(1)]);
    }
    numbers.sort_unstable();
    numbers.dedup();
    for audit in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0xC000_00B7] {
        for &nr in &numbers {
            check(audit, nr, [0; 6]);
            check(audit, nr, [u64::MAX; 6]);
        }
    }
    // Every comparison at its boundaries (the cases compile.rs's tests use).
    for (audit, nr, args) in compile::argument_cases(filter) {
        check(audit, nr, args);
    }
    // A few calls from the input: numbers and arguments from its hash
    // (small numbers half the time, where the tables are).
    let mut h = seed;
    for _ in 0..8 {
        h = h.rotate_left(13).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
        let audit = [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386][(h & 1) as usize];
        let nr = if h & 2 == 0 {
            (h >> 8) as u32 & 0x3ff
        } else {
            (h >> 8) as u32
        };
        let args = std::array::from_fn(|i| h.rotate_left(7 * i as u32));
        check(audit, nr, args);
        check(audit, nr | X32_SYSCALL_BIT, args);
    }
}

fn round_trip(p: &Profile, what: &str) {
    let json = serde_json::to_vec(&p.to_json()).expect("profile JSON serializes");
    match profile::parse(&json) {
        Ok(back) => assert_eq!(
            &back, p,
            "{what}: --print-profile's JSON reads back differently"
        ),
        Err(e) => panic!("{what}: --print-profile's JSON does not parse: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = profile::parse(data) else {
        return;
    };
    round_trip(&parsed, "the profile");
    let seed = fnv(data);
    let has_cap = |cap: &str| (fnv(cap.as_bytes()) ^ seed) & 1 == 1;
    let kernel = (3 + (seed >> 8) as u32 % 5, (seed >> 16) as u32 % 20);
    let evaluated = parsed.evaluate(&Context {
        has_cap: &has_cap,
        kernel,
    });
    round_trip(&evaluated, "the evaluated profile");
    let newer = if seed & 1 == 0 {
        NewerThan::Profile
    } else {
        NewerThan::Tables
    };
    let strict = seed & 2 != 0;
    let Ok(filter) = Filter::resolve_noting(&evaluated, strict, newer, seed & 4 != 0) else {
        return;
    };
    let prog = compile::compile(&filter, false);
    let listed = compile::compile(&filter, true);
    assert_eq!(
        prog.insns, listed.insns,
        "--dump's notes changed the program"
    );
    assert_eq!(listed.notes.len(), listed.insns.len());
    let _ = bpf::disassemble(&listed.insns, &listed.notes);

    let shape = structure(&prog.insns);
    let length_ok = (1..=MAX_INSNS).contains(&prog.insns.len());
    let verified = bpf::verify(&prog.insns);
    assert_eq!(
        verified.is_ok(),
        shape.is_ok() && length_ok,
        "bpf::verify says {verified:?}, the structure check {shape:?}, length {}",
        prog.insns.len()
    );
    if let Err(e) = shape {
        panic!("the compiled program breaks the verifier's rules: {e}");
    }
    agrees(&filter, &prog.insns, seed);
});
