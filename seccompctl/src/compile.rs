//! The compiler: a [`Filter`] to a classic-BPF program. Pure.
//!
//! Shape of the program:
//!
//! ```text
//! ld arch; jeq X86_64 -> x86_64; jeq I386 -> i386; ret <bad arch>
//! x86_64: ld nr; <binary search over the number ranges of x86_64 and x32>
//! i386:   ld nr; <binary search over the number ranges of i386>
//! ```
//!
//! The numbers of a section are cut into ranges that get the same body
//! (unlisted runs below the highest named number: the default; above it:
//! ENOSYS; a listed call: its rules), adjacent equal ranges merged, and a
//! balanced tree of `jge` on the range starts finds the range of a call in
//! ceil(log2(ranges)) comparisons. Only `ld`/`jeq`/`jge`/`ja`/`ret`
//! decide a call that has no argument rule, so the kernel's action cache
//! can prove such calls allowed and skip the filter for them.
//!
//! Arguments are compared as two 32-bit halves (the only loads cBPF has),
//! high half first. Jumps are forward only and jt/jf are 8 bits: the
//! program is emitted back to front, so every target is known when a jump
//! is emitted, and a target further than 255 instructions is reached
//! through a `ja` placed right after the jump.

use crate::action::Action;
use crate::bpf::*;
use crate::filter::{Body, Filter, Part, Rule};
use crate::profile::{Arg, Op};

/// A compiled program with a note per instruction for `--dump`.
pub struct Program {
    pub insns: Vec<Insn>,
    pub notes: Vec<Option<String>>,
}

/// A position in the reversed instruction list: the index an instruction
/// got when it was pushed.
type Label = usize;

struct Asm {
    rev: Vec<Insn>,
    /// Notes by label, kept only when `notes` is on.
    rev_notes: Vec<(Label, String)>,
    /// The last `ret` emitted for each value.
    rets: Vec<(u32, Label)>,
    /// Whether to write notes (only `--dump` shows them).
    notes: bool,
}

impl Asm {
    fn push(&mut self, insn: Insn, note: Option<String>) -> Label {
        let label = self.rev.len();
        self.rev.push(insn);
        if let Some(n) = note {
            self.rev_notes.push((label, n));
        }
        label
    }

    /// The offset from a new instruction (about to get index `len`) to `to`.
    fn distance(&self, to: Label) -> usize {
        self.rev.len() - to - 1
    }

    /// A label for `ret action`: a shared one when it is within reach of
    /// the next jump, else a new one (as cheap as a `ja` to the old).
    fn ret(&mut self, action: Action) -> Label {
        let k = action.ret();
        let known = self.rets.iter().position(|&(v, _)| v == k);
        if let Some(i) = known
            && self.distance(self.rets[i].1) <= 200
        {
            return self.rets[i].1;
        }
        let l = self.push(Insn::stmt(RET_K, k), None);
        match known {
            Some(i) => self.rets[i].1 = l,
            None => self.rets.push((k, l)),
        }
        l
    }

    fn stmt(&mut self, code: u16, k: u32, note: Option<String>) -> Label {
        self.push(Insn::stmt(code, k), note)
    }

    /// A conditional jump to `jt`/`jf`, with `ja` trampolines for far ones.
    fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label, note: Option<String>) -> Label {
        let mut jt = jt;
        let mut jf = jf;
        if self.distance(jf) > 255 {
            jf = self.ja(jf);
        }
        if self.distance(jt) > 255 {
            jt = self.ja(jt);
        }
        // A trampoline pushed for jt may push jf out of reach again.
        if self.distance(jf) > 255 {
            jf = self.ja(jf);
        }
        let insn = Insn::jump(code, k, self.distance(jt) as u8, self.distance(jf) as u8);
        self.push(insn, note)
    }

    fn note(&self, text: impl FnOnce() -> String) -> Option<String> {
        self.notes.then(text)
    }

    fn ja(&mut self, to: Label) -> Label {
        let off = self.distance(to) as u32;
        self.push(Insn::stmt(JMP_JA, off), None)
    }

    fn finish(self) -> Program {
        let len = self.rev.len();
        let mut notes = vec![None; if self.notes { len } else { 0 }];
        for (label, n) in self.rev_notes {
            notes[len - 1 - label] = Some(n);
        }
        let insns = self.rev.into_iter().rev().collect();
        Program { insns, notes }
    }
}

/// One range of call numbers and what it gets.
#[derive(Clone, PartialEq)]
struct Range<'a> {
    lo: u32,
    hi: u32,
    body: Target<'a>,
    name: Option<&'static str>,
}

#[derive(Clone, PartialEq)]
enum Target<'a> {
    Action(Action),
    Rules(&'a Body),
}

/// Appends a range, merging it into the previous one when both give the
/// same plain action and touch.
fn push_range<'a>(out: &mut Vec<Range<'a>>, r: Range<'a>) {
    if let Some(last) = out.last_mut()
        && matches!(r.body, Target::Action(_))
        && last.body == r.body
        && u64::from(last.hi) + 1 == u64::from(r.lo)
    {
        last.hi = r.hi;
        last.name = None;
        return;
    }
    out.push(r);
}

/// The section's numbers as ranges in order, covering 0..=u32::MAX.
fn ranges<'a>(filter: &'a Filter, parts: &'a [(u32, u32, Part)]) -> Vec<Range<'a>> {
    let mut out: Vec<Range> = Vec::new();
    let plain = |lo: u32, hi: u32, a: Action| Range {
        lo,
        hi,
        body: Target::Action(a),
        name: None,
    };
    for &(lo, hi, ref part) in parts {
        match part {
            Part::Fixed(a) => push_range(&mut out, plain(lo, hi, *a)),
            Part::Calls {
                arch,
                calls,
                highest,
            } => {
                // Unlisted from..=to: the default up to the highest named
                // number, ENOSYS ("newer") above it.
                let gap = |out: &mut Vec<Range<'a>>, from: u32, to: u32| match *highest {
                    Some(h) if h >= from => {
                        push_range(out, plain(from, to.min(h), filter.default));
                        if to > h {
                            push_range(out, plain(h + 1, to, filter.newer));
                        }
                    }
                    _ => push_range(out, plain(from, to, filter.newer)),
                };
                let mut next = u64::from(lo);
                for (&nr, body) in calls.range(lo..=hi) {
                    if u64::from(nr) > next {
                        gap(&mut out, next as u32, nr - 1);
                    }
                    let target = if body.rules.is_empty() {
                        Target::Action(body.otherwise)
                    } else {
                        Target::Rules(body)
                    };
                    let name = crate::syscalls::name(arch, nr);
                    push_range(
                        &mut out,
                        Range {
                            lo: nr,
                            hi: nr,
                            body: target,
                            name,
                        },
                    );
                    next = u64::from(nr) + 1;
                }
                if next <= u64::from(hi) {
                    gap(&mut out, next as u32, hi);
                }
            }
        }
    }
    out
}

/// Compiles the filter; `notes`: with a comment per instruction for
/// `--dump` (they cost time and are not loaded).
pub fn compile(filter: &Filter, notes: bool) -> Program {
    let mut asm = Asm {
        rev: Vec::with_capacity(512),
        rev_notes: Vec::new(),
        rets: Vec::new(),
        notes,
    };
    // Back to front: the sections last, then the arch dispatch before them.
    let mut entries = Vec::new();
    for section in filter.sections.iter().rev() {
        let list = ranges(filter, &section.parts);
        let tree = emit_tree(&mut asm, &list);
        if tree != asm.rev.len() - 1 {
            // The tree starts at a shared instruction further on.
            asm.ja(tree);
        }
        let note = asm.note(|| format!("{} calls", section.name));
        let entry = asm.stmt(LD_W_ABS, OFF_NR, note);
        entries.push((section.audit, section.name, entry));
    }
    let mut next = asm.ret(filter.bad_arch);
    for (audit, name, entry) in &entries {
        next = asm.jump(
            JMP_JEQ_K,
            *audit,
            *entry,
            next,
            asm.note(|| format!("arch {name}")),
        );
    }
    asm.stmt(LD_W_ABS, OFF_ARCH, None);
    asm.finish()
}

/// The binary search over `list` (sorted, covering the section's numbers);
/// returns the label of its first instruction. The accumulator holds nr.
fn emit_tree(asm: &mut Asm, list: &[Range]) -> Label {
    if list.len() == 1 {
        return emit_body(asm, &list[0]);
    }
    let mid = list.len() / 2;
    // Right half last in the program, so it is emitted first.
    let right = emit_tree(asm, &list[mid..]);
    let left = emit_tree(asm, &list[..mid]);
    let note = list[mid].name.and_then(|n| asm.note(|| format!(">= {n}")));
    asm.jump(JMP_JGE_K, list[mid].lo, right, left, note)
}

fn emit_body(asm: &mut Asm, range: &Range) -> Label {
    match &range.body {
        Target::Action(a) => asm.ret(*a),
        Target::Rules(body) => {
            let mut next = asm.ret(body.otherwise);
            let mut rules = body.rules.as_slice();
            // Back to front, a run of value tests at a time.
            while let Some(last) = rules.last() {
                let run = equal_run(rules);
                next = if run > 1 {
                    emit_values(asm, &rules[rules.len() - run..], next)
                } else {
                    emit_rule(asm, last, next)
                };
                rules = &rules[..rules.len() - run];
            }
            next
        }
    }
}

/// How many rules at the end of `rules` test one argument for equality
/// with values of the same high half, all with one action: such a run is
/// one load of each half and a `jeq` per value (personality's allowed
/// values), not two loads per value.
fn equal_run(rules: &[Rule]) -> usize {
    let single_eq = |r: &Rule| (r.args.len() == 1 && r.args[0].op == Op::Eq).then(|| r.args[0]);
    let Some(last) = rules.last() else { return 0 };
    let Some(key) = single_eq(last) else { return 1 };
    rules
        .iter()
        .rev()
        .take_while(|r| {
            r.action == last.action
                && single_eq(r)
                    .is_some_and(|a| a.index == key.index && a.value >> 32 == key.value >> 32)
        })
        .count()
}

/// A run found by [`equal_run`]: the argument equals one of the values ->
/// the run's action, else `fail`.
fn emit_values(asm: &mut Asm, run: &[Rule], fail: Label) -> Label {
    let arg = run[0].args[0];
    let pass = asm.ret(run[0].action);
    let mut next = fail;
    for rule in run.iter().rev() {
        next = asm.jump(JMP_JEQ_K, rule.args[0].value as u32, pass, next, None);
    }
    let with_notes = asm.notes;
    let note = |half: &str| with_notes.then(|| format!("a{} {half}", arg.index));
    let lo = asm.stmt(LD_W_ABS, off_arg_lo(arg.index), note("low"));
    asm.jump(JMP_JEQ_K, (arg.value >> 32) as u32, lo, fail, None);
    asm.stmt(LD_W_ABS, off_arg_hi(arg.index), note("high"))
}

/// All comparisons of `rule` hold -> its action, else `fail`.
fn emit_rule(asm: &mut Asm, rule: &Rule, fail: Label) -> Label {
    let mut pass = asm.ret(rule.action);
    for arg in rule.args.iter().rev() {
        pass = emit_arg(asm, arg, pass, fail);
    }
    pass
}

/// One 64-bit comparison as two 32-bit ones: jump to `pass` or `fail`.
fn emit_arg(asm: &mut Asm, arg: &Arg, pass: Label, fail: Label) -> Label {
    let (hi_off, lo_off) = (off_arg_hi(arg.index), off_arg_lo(arg.index));
    let with_notes = asm.notes;
    let note = |half: &str| with_notes.then(|| format!("a{} {half}", arg.index));
    let (v_hi, v_lo) = ((arg.value >> 32) as u32, arg.value as u32);
    match arg.op {
        Op::Eq | Op::Ne => {
            let (t, f) = if arg.op == Op::Eq {
                (pass, fail)
            } else {
                (fail, pass)
            };
            asm.jump(JMP_JEQ_K, v_lo, t, f, None);
            let lo = asm.stmt(LD_W_ABS, lo_off, note("low"));
            asm.jump(JMP_JEQ_K, v_hi, lo, f, None);
            asm.stmt(LD_W_ABS, hi_off, note("high"))
        }
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            // a > v: hi > H, or hi == H and lo > L (>= L for Ge).
            // Lt and Le are the negations of Ge and Gt.
            let (code_lo, t, f) = match arg.op {
                Op::Gt => (JMP_JGT_K, pass, fail),
                Op::Ge => (JMP_JGE_K, pass, fail),
                Op::Lt => (JMP_JGE_K, fail, pass),
                _ => (JMP_JGT_K, fail, pass),
            };
            asm.jump(code_lo, v_lo, t, f, None);
            let lo = asm.stmt(LD_W_ABS, lo_off, note("low"));
            let eq = asm.jump(JMP_JEQ_K, v_hi, lo, f, None);
            asm.jump(JMP_JGT_K, v_hi, t, eq, None);
            asm.stmt(LD_W_ABS, hi_off, note("high"))
        }
        Op::MaskedEq => {
            let (m_hi, m_lo) = ((arg.value >> 32) as u32, arg.value as u32);
            let (w_hi, w_lo) = ((arg.value_two >> 32) as u32, arg.value_two as u32);
            let half = |asm: &mut Asm, off: u32, m: u32, w: u32, t: Label, what: &str| -> Label {
                if m == 0 {
                    // Nothing of this half counts: it matches iff w is 0.
                    return if w == 0 { t } else { fail };
                }
                asm.jump(JMP_JEQ_K, w, t, fail, None);
                if m != u32::MAX {
                    asm.stmt(ALU_AND_K, m, None);
                }
                asm.stmt(LD_W_ABS, off, note(what))
            };
            let lo = half(asm, lo_off, m_lo, w_lo, pass, "low");
            half(asm, hi_off, m_hi, w_hi, lo, "high")
        }
    }
}

/// The calls that probe every argument comparison of `filter` at its
/// edges: each listed rule's compared argument at each boundary value
/// (each 32-bit half at, below and above the compared value, and the
/// extremes), alone and with the rule's other comparisons met. For the
/// tests and the fuzz target that compare the program with the rule set.
#[cfg(any(test, fuzzing))]
pub fn argument_cases(filter: &Filter) -> Vec<(u32, u32, [u64; 6])> {
    fn boundary_values(v: u64) -> Vec<u64> {
        let halves = |x: u32| [x.wrapping_sub(1), x, x.wrapping_add(1), 0, u32::MAX];
        let (hi, lo) = ((v >> 32) as u32, v as u32);
        let mut out = Vec::with_capacity(25);
        for h in halves(hi) {
            for l in halves(lo) {
                out.push((u64::from(h) << 32) | u64::from(l));
            }
        }
        out
    }
    let mut cases = Vec::new();
    for (audit, nr, body) in filter.listed() {
        for rule in &body.rules {
            for arg in &rule.args {
                let mut values = boundary_values(arg.value);
                values.extend(boundary_values(arg.value_two));
                for v in values {
                    let mut args = [0u64; 6];
                    args[usize::from(arg.index)] = v;
                    cases.push((audit, nr, args));
                    // With the other comparisons of the rule met.
                    for other in &rule.args {
                        if other.index != arg.index {
                            args[usize::from(other.index)] = if other.op == Op::MaskedEq {
                                other.value_two
                            } else {
                                other.value
                            };
                        }
                    }
                    cases.push((audit, nr, args));
                }
            }
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::NewerThan;
    use crate::interp::{Call, run};
    use crate::profile::{Arch, Condition, Entry, Profile};

    /// Runs the compiled program and the model on every listed call, every
    /// boundary value of every comparison, and a sweep of numbers on every
    /// section and an unknown arch; they must agree everywhere.
    fn agrees(filter: &Filter) {
        let prog = compile(filter, true);
        verify(&prog.insns).unwrap();
        let check = |audit: u32, nr: u32, args: [u64; 6]| {
            let want = filter.decide(audit, nr, &args);
            let (got, _) = run(
                &prog.insns,
                &Call {
                    nr,
                    arch: audit,
                    ip: 0,
                    args,
                },
            );
            assert_eq!(
                Action::from_ret(got),
                want,
                "arch {audit:#x} nr {nr:#x} args {args:x?}"
            );
        };
        let mut numbers: Vec<u32> = (0..700).collect();
        numbers.extend([
            0x3fff_ffff,
            0x4000_0000,
            0x4000_0001,
            0x4000_0200,
            0x4000_0223,
            u32::MAX - 1,
            u32::MAX,
        ]);
        numbers.extend((0..700).map(|n| n | X32_SYSCALL_BIT));
        for audit in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0xC000_00B7] {
            for &nr in &numbers {
                check(audit, nr, [0; 6]);
                check(audit, nr, [u64::MAX; 6]);
            }
        }
        for (audit, nr, args) in argument_cases(filter) {
            check(audit, nr, args);
        }
    }

    /// x86_64 names the tests do not use otherwise.
    fn spare() -> Vec<&'static str> {
        let used = [
            "clone",
            "ioctl",
            "fcntl",
            "mmap",
            "socket",
            "personality",
            "read",
            "write",
        ];
        crate::syscalls::table(&Arch::X86_64)
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !used.contains(n))
            .collect()
    }

    fn entry(names: &[&str], action: Action, args: Vec<Arg>) -> Entry {
        Entry {
            names: names.iter().map(|s| s.to_string().into()).collect(),
            action,
            args,
            includes: Condition::default(),
            excludes: Condition::default(),
            comment: None,
        }
    }

    fn arg(index: u8, op: Op, value: u64, value_two: u64) -> Arg {
        Arg {
            index,
            value,
            value_two,
            op,
        }
    }

    #[test]
    fn every_operator_at_every_boundary() {
        let big = 0x1_0000_0005u64;
        let mut syscalls = Vec::new();
        for (i, op) in [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge]
            .into_iter()
            .enumerate()
        {
            for (j, v) in [0u64, 5, big, u64::MAX, 0xffff_ffff]
                .into_iter()
                .enumerate()
            {
                let name = spare()[i * 5 + j];
                syscalls.push(entry(
                    &[name],
                    Action::Errno((i * 5 + j) as u16 + 1),
                    vec![arg((j % 6) as u8, op, v, 0)],
                ));
            }
        }
        syscalls.push(entry(
            &["clone"],
            Action::Allow,
            vec![arg(0, Op::MaskedEq, 0x7E02_0000, 0)],
        ));
        syscalls.push(entry(
            &["ioctl"],
            Action::Errno(1),
            vec![arg(1, Op::MaskedEq, 0xffff_ffff, 0x5412)],
        ));
        syscalls.push(entry(
            &["fcntl"],
            Action::Trap,
            vec![arg(
                2,
                Op::MaskedEq,
                0xff00_0000_0000_00ff,
                0x1200_0000_0000_0034,
            )],
        ));
        syscalls.push(entry(
            &["mmap"],
            Action::Log,
            vec![arg(0, Op::MaskedEq, 0, 1)],
        ));
        // Two comparisons ANDed; the same index twice ORed.
        syscalls.push(entry(
            &["socket"],
            Action::Errno(22),
            vec![arg(0, Op::Eq, 16, 0), arg(2, Op::Eq, 9, 0)],
        ));
        syscalls.push(entry(
            &["personality"],
            Action::Allow,
            vec![arg(0, Op::Eq, 8, 0), arg(0, Op::Eq, 0xffff_ffff, 0)],
        ));
        syscalls.push(entry(&["read", "write"], Action::Allow, vec![]));
        for default in [Action::Errno(1), Action::Allow, Action::KillProcess] {
            for arches in [
                vec![Arch::X86_64],
                vec![Arch::X86_64, Arch::X86, Arch::X32],
                vec![Arch::X86],
            ] {
                let profile = Profile {
                    default_action: default,
                    architectures: arches,
                    arch_map: vec![],
                    flags: vec![],
                    syscalls: syscalls.clone(),
                };
                for newer in [NewerThan::Profile, NewerThan::Tables] {
                    agrees(&Filter::resolve(&profile, false, newer).unwrap());
                }
            }
        }
    }

    #[test]
    fn the_builtin_profile_under_several_capability_sets() {
        let docker = crate::builtin::docker_default();
        for caps in [
            &[][..],
            &["CAP_SYS_ADMIN"],
            &["CAP_SYS_PTRACE", "CAP_AUDIT_WRITE", "CAP_SYS_CHROOT"],
        ] {
            let has = |c: &str| caps.contains(&c);
            let p = docker.clone().evaluate(&crate::profile::Context {
                has_cap: &has,
                kernel: (6, 1),
            });
            let f = Filter::resolve(&p, false, NewerThan::Profile).unwrap();
            agrees(&f);
            let prog = compile(&f, true);
            assert!(prog.insns.len() < 700, "{} instructions", prog.insns.len());
        }
    }

    #[test]
    fn long_jumps_go_through_ja() {
        // Enough argument rules to push targets beyond 255 instructions.
        let mut syscalls = Vec::new();
        for (i, name) in spare().iter().take(120).enumerate() {
            syscalls.push(entry(
                &[name],
                Action::Errno(i as u16 + 1),
                vec![arg(1, Op::Gt, 1000 + i as u64, 0), arg(2, Op::Ne, 7, 0)],
            ));
        }
        let profile = Profile {
            default_action: Action::Allow,
            architectures: vec![Arch::X86_64, Arch::X86],
            arch_map: vec![],
            flags: vec![],
            syscalls,
        };
        let f = Filter::resolve(&profile, false, NewerThan::Profile).unwrap();
        let prog = compile(&f, true);
        assert!(
            prog.insns.iter().any(|i| i.code == JMP_JA),
            "no ja in {} instructions",
            prog.insns.len()
        );
        agrees(&f);
    }

    #[test]
    fn too_many_rules_exceed_the_limit() {
        let mut syscalls = Vec::new();
        // Two comparisons each: runs of single value tests share their loads.
        for v in 0..1200u64 {
            syscalls.push(entry(
                &["ioctl"],
                Action::Errno(1),
                vec![arg(1, Op::Eq, v, 0), arg(2, Op::Eq, v, 0)],
            ));
        }
        let profile = Profile {
            default_action: Action::Allow,
            architectures: vec![Arch::X86_64],
            arch_map: vec![],
            flags: vec![],
            syscalls,
        };
        let prog = compile(
            &Filter::resolve(&profile, false, NewerThan::Profile).unwrap(),
            false,
        );
        assert!(verify(&prog.insns).unwrap_err().contains("at most 4096"));
    }
}
