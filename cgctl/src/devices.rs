//! The device policy: which device nodes the group's processes may open
//! for reading or writing, and create with mknod(2). Pure: rules in, cgroup
//! v1 file writes or a cgroup v2 eBPF program out (the kernel side is
//! [`crate::devices_bpf::load_and_attach`]).
//!
//! A rule is `TYPE MAJ:MIN ACCESS`, as in cgroup v1 `devices.allow` and
//! Docker's `--device-cgroup-rule`: TYPE `c` (character), `b` (block) or
//! `a` (both); MAJ and MIN a number or `*`; ACCESS a non-empty combination
//! of `r` (open for reading), `w` (open for writing) and `m` (mknod). `a`
//! alone, v1's shorthand, is `a *:* rwm`. Each rule allows or denies.
//!
//! Semantics, one for v1 and v2:
//!
//! - Everything is denied until a rule allows it.
//! - Rules apply in order; for each device and each of r, w and m the
//!   last rule that names them decides. An access asking for several
//!   (open O_RDWR asks for r and w) is allowed when each one is.
//! - A check that asks for none (access(2) with F_OK or X_OK) is allowed
//!   when some access to the device is; cgroup v1 does it so.
//! - A deny rule must take away all of an allowed entry or nothing of it:
//!   `c 136:* rwm` then deny `c 136:0 rwm` is refused, because cgroup v1
//!   cannot express "all of 136 but 0" (its deny only takes access away
//!   from an entry of exactly the same TYPE MAJ:MIN; it would silently do
//!   nothing here). Allow the devices wanted instead.
//!
//! [`Policy::new`] resolves the rules into what cgroup v1 keeps, a list of
//! allowed entries (`c 1:3 rwm`), and both outputs come from that list:
//!
//! - v1: `a` to `devices.deny` (deny everything, drop the inherited
//!   entries), then one `devices.allow` write per entry;
//! - v2: a BPF_PROG_TYPE_CGROUP_DEVICE program that checks the entries one
//!   after the other and allows on the first that covers the device and
//!   every access asked for, and denies at the end.
//!
//! cgroup v1 allows an access only when ONE entry covers all of it (`c 1:*
//! r` and `c 1:3 w` do not give O_RDWR on 1:3), so the list is completed
//! first: wherever two entries overlap (`c 1:*` and `c *:3` at 1:3), the
//! overlap gets an entry of its own, and every entry gets the access of the
//! entries that contain it. Then "one entry covers it" is the same as "each
//! access is allowed", on v1 and v2 alike.

use crate::devices_bpf::{CTX_ACCESS_TYPE, CTX_MAJOR, CTX_MINOR, Insn, Reg};
use crate::limits::Write;
use std::fmt;

/// The largest device major (12 bits) and minor (20 bits) the kernel has.
pub const MAX_MAJOR: u32 = (1 << 12) - 1;
pub const MAX_MINOR: u32 = (1 << 20) - 1;

/// What a device node is. The values are the kernel's (BPF_DEVCG_DEV_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    Block = 1,
    Char = 2,
}

impl DeviceType {
    fn letter(self) -> char {
        match self {
            DeviceType::Block => 'b',
            DeviceType::Char => 'c',
        }
    }
}

/// What a rule names: `c`, `b`, or `a` for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleType {
    Char,
    Block,
    All,
}

impl RuleType {
    pub fn device_types(self) -> &'static [DeviceType] {
        match self {
            RuleType::Char => &[DeviceType::Char],
            RuleType::Block => &[DeviceType::Block],
            RuleType::All => &[DeviceType::Char, DeviceType::Block],
        }
    }
}

/// A set of r, w, m. The bits are the kernel's (BPF_DEVCG_ACC_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access(u8);

impl Access {
    pub const NONE: Access = Access(0);
    pub const MKNOD: Access = Access(1);
    pub const READ: Access = Access(2);
    pub const WRITE: Access = Access(4);
    pub const ALL: Access = Access(7);

    pub fn bits(self) -> u32 {
        self.0 as u32
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn intersects(self, other: Access) -> bool {
        self.0 & other.0 != 0
    }

    pub fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    pub fn without(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }

    #[cfg(test)] // used by the tests only
    /// Each of r, w, m in this set, one at a time.
    pub fn each(self) -> impl Iterator<Item = Access> {
        [Access::READ, Access::WRITE, Access::MKNOD]
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl fmt::Display for Access {
    /// `rwm` order, as the kernel's `devices.list` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if self.contains(bit) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// `*` for None.
fn number_or_star(n: Option<u32>) -> String {
    n.map_or_else(|| "*".to_string(), |n| n.to_string())
}

/// One rule as the user gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Allow (true) or deny (false) what the rule names.
    pub allow: bool,
    pub rule_type: RuleType,
    /// None is `*`.
    pub major: Option<u32>,
    /// None is `*`.
    pub minor: Option<u32>,
    pub access: Access,
}

impl fmt::Display for Rule {
    /// `c 1:3 rwm`: the rule text (without allow/deny).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = match self.rule_type {
            RuleType::Char => 'c',
            RuleType::Block => 'b',
            RuleType::All => 'a',
        };
        write!(
            f,
            "{letter} {}:{} {}",
            number_or_star(self.major),
            number_or_star(self.minor),
            self.access
        )
    }
}

const RULE_FORM: &str = "expected TYPE MAJ:MIN ACCESS, like 'c 1:3 rwm' or 'c 136:* rw'";

/// Parses `TYPE MAJ:MIN ACCESS` (or `a`, for `a *:* rwm`) into an allow
/// (`allow` true) or deny rule. Errors are one line naming the rule:
/// `device rule 'x 1:3 rw': type must be c, b or a`.
pub fn parse_rule(text: &str, allow: bool) -> Result<Rule, String> {
    let bad = |why: &str| format!("device rule '{text}': {why}");
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields == ["a"] {
        return Ok(Rule {
            allow,
            rule_type: RuleType::All,
            major: None,
            minor: None,
            access: Access::ALL,
        });
    }
    let [ty, numbers, access] = fields[..] else {
        return Err(bad(RULE_FORM));
    };
    let rule_type = match ty {
        "c" => RuleType::Char,
        "b" => RuleType::Block,
        "a" => RuleType::All,
        _ => return Err(bad("type must be c, b or a")),
    };
    let Some((major, minor)) = numbers.split_once(':') else {
        return Err(bad("MAJ:MIN must be two numbers or *, separated by ':'"));
    };
    let major = device_number(major, "major", MAX_MAJOR).map_err(|e| bad(&e))?;
    let minor = device_number(minor, "minor", MAX_MINOR).map_err(|e| bad(&e))?;
    let access = parse_access(access).map_err(|e| bad(&e))?;
    Ok(Rule {
        allow,
        rule_type,
        major,
        minor,
        access,
    })
}

/// A major or minor: a number up to `max`, or `*` (None).
fn device_number(s: &str, what: &str, max: u32) -> Result<Option<u32>, String> {
    if s == "*" {
        return Ok(None);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} '{s}' must be a number or *"));
    }
    match s.parse::<u32>() {
        Ok(n) if n <= max => Ok(Some(n)),
        _ => Err(format!("{what} {s} is above {max}, the largest there is")),
    }
}

/// `rwm`, `r`, `mw`...: each letter at most once.
fn parse_access(s: &str) -> Result<Access, String> {
    let mut access = Access::NONE;
    for c in s.chars() {
        let bit = match c {
            'r' => Access::READ,
            'w' => Access::WRITE,
            'm' => Access::MKNOD,
            _ => {
                return Err(format!("access '{s}' must be a combination of r, w and m"));
            }
        };
        if access.contains(bit) {
            return Err(format!("access '{s}' names {c} twice"));
        }
        access = access.union(bit);
    }
    if access.is_empty() {
        return Err(format!("access '{s}' is empty"));
    }
    Ok(access)
}

/// The devices of [`container_preset`]: name under /dev, major, minor
/// (None is `*`). Each is allowed `rwm`.
pub const CONTAINER_DEVICES: &[(&str, u32, Option<u32>)] = &[
    ("null", 1, Some(3)),
    ("zero", 1, Some(5)),
    ("full", 1, Some(7)),
    ("random", 1, Some(8)),
    ("urandom", 1, Some(9)),
    ("tty", 5, Some(0)),
    ("ptmx", 5, Some(2)),
    ("pts/*", 136, None),
];

/// The policy for a container: every other device denied, and `rwm` on
/// /dev/null, zero, full, random, urandom, tty, ptmx and the pts terminals
/// (136:*), the character devices that runc and Docker allow by default.
///
/// Where we differ from runc's default list, on purpose:
///
/// - No `c *:* m` and `b *:* m`. runc lets a container mknod any device
///   (opening it is still denied); here mknod works for the listed
///   devices only (what `pivot` creates in the new /dev), and no block
///   device at all. A node made inside is still a node: in a volume that
///   is shared with the host or with a container without this policy it
///   opens the host's disk there. So the escape "mknod the host's disk
///   and mount it" fails at the mknod, whatever capabilities the process
///   has.
/// - No tun/tap (`c 10:200`). runc removed it in 1.2.0 as added by mistake
///   and put it back in 1.2.4 for users who relied on it; a new tool has no
///   such users. Add `c 10:200 rwm` to give it.
/// - No /dev/console (`c 5:1`, in runc's list until 1.0): it is the host's
///   system console (its keyboard, on a VT). runc puts the container's pty
///   on /dev/console, which is a pts device (136:N) and so allowed.
pub fn container_preset() -> Vec<Rule> {
    CONTAINER_DEVICES
        .iter()
        .map(|&(_, major, minor)| Rule {
            allow: true,
            rule_type: RuleType::Char,
            major: Some(major),
            minor,
            access: Access::ALL,
        })
        .collect()
}

/// A set of devices: one type, a major or all, a minor or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Devices {
    pub device_type: DeviceType,
    /// None is `*`.
    pub major: Option<u32>,
    /// None is `*`.
    pub minor: Option<u32>,
}

/// Whether a number pattern (None is `*`) takes in `other`.
fn covers(pattern: Option<u32>, other: Option<u32>) -> bool {
    pattern.is_none() || pattern == other
}

/// The numbers both patterns take in: Err when there are none.
fn meet_number(a: Option<u32>, b: Option<u32>) -> Result<Option<u32>, ()> {
    match (a, b) {
        (Some(a), Some(b)) if a != b => Err(()),
        (Some(n), _) | (_, Some(n)) => Ok(Some(n)),
        (None, None) => Ok(None),
    }
}

impl Devices {
    /// Whether every device of `other` is one of these.
    pub fn contains(&self, other: &Devices) -> bool {
        self.device_type == other.device_type
            && covers(self.major, other.major)
            && covers(self.minor, other.minor)
    }

    #[cfg(test)] // used by the tests only
    /// Whether the device `major:minor` of this type is one of these.
    pub fn matches(&self, device_type: DeviceType, major: u32, minor: u32) -> bool {
        self.device_type == device_type
            && covers(self.major, Some(major))
            && covers(self.minor, Some(minor))
    }

    /// The devices in both sets, when there are any.
    fn meet(&self, other: &Devices) -> Option<Devices> {
        if self.device_type != other.device_type {
            return None;
        }
        Some(Devices {
            device_type: self.device_type,
            major: meet_number(self.major, other.major).ok()?,
            minor: meet_number(self.minor, other.minor).ok()?,
        })
    }
}

/// One entry of the resolved policy: these devices, this access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub devices: Devices,
    pub access: Access,
}

impl fmt::Display for Allowed {
    /// `c 1:3 rwm`: the line written to v1 `devices.allow`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.devices;
        write!(
            f,
            "{} {}:{} {}",
            d.device_type.letter(),
            number_or_star(d.major),
            number_or_star(d.minor),
            self.access
        )
    }
}

/// A resolved device policy (see the module doc for the semantics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    allowed: Vec<Allowed>,
}

impl Policy {
    /// Resolves the rules, in order, into the allowed entries. Fails on a
    /// deny rule that would take away only part of an allowed entry (which
    /// cgroup v1 cannot express). Pure; call it while parsing options.
    pub fn new(rules: &[Rule]) -> Result<Policy, String> {
        let mut allowed: Vec<Allowed> = Vec::new();
        for rule in rules {
            for &device_type in rule.rule_type.device_types() {
                let devices = Devices {
                    device_type,
                    major: rule.major,
                    minor: rule.minor,
                };
                if rule.allow {
                    add(&mut allowed, devices, rule.access);
                } else {
                    take_away(&mut allowed, devices, rule.access, rule)?;
                }
            }
        }
        allowed.retain(|a| !a.access.is_empty());
        complete(&mut allowed);
        Ok(Policy { allowed })
    }

    #[cfg(test)] // used by the tests only
    /// The allowed entries, in the order of the rules that made them (the
    /// overlaps that [`Policy::new`] adds come last).
    pub fn allowed(&self) -> &[Allowed] {
        &self.allowed
    }

    #[cfg(test)] // used by the tests only
    /// Whether the policy lets a process do `access` (empty for access(2)
    /// F_OK/X_OK) on a device: cgroup v1's check, one entry covering all.
    pub fn allows(&self, device_type: DeviceType, major: u32, minor: u32, access: Access) -> bool {
        self.allowed
            .iter()
            .any(|a| a.devices.matches(device_type, major, minor) && a.access.contains(access))
    }

    /// The cgroup v1 writes, in order: `a` to `devices.deny` (everything
    /// denied, the entries inherited from the parent dropped), then each
    /// entry to `devices.allow`, one write each (the kernel reads one rule
    /// per write). Needs a new group: v1 refuses `a` in `devices.deny` of a
    /// group that has children (EINVAL).
    pub fn v1_writes(&self) -> Vec<Write> {
        let write = |file, value: String| Write {
            controller: "devices",
            file,
            value,
        };
        let mut writes = vec![write("devices.deny", "a".into())];
        writes.extend(
            self.allowed
                .iter()
                .map(|a| write("devices.allow", a.to_string())),
        );
        writes
    }

    /// The cgroup v2 program (BPF_PROG_TYPE_CGROUP_DEVICE):
    ///
    /// ```text
    ///   r2 = ctx->access_type; w3 = w2 >> 16 (access); w2 &= 0xffff (type)
    ///   r4 = ctx->major; r5 = ctx->minor
    ///   for each entry:
    ///     if type != T goto next; if major != M goto next (unless *);
    ///     if minor != N goto next (unless *);
    ///     if access & ~A goto next (unless A is rwm); return 1
    ///   next: ...
    ///   return 0
    /// ```
    ///
    /// Straight: jumps go forward, to the next entry only; at most 6
    /// instructions per entry (the preset's program has 47).
    pub fn compile(&self) -> Vec<Insn> {
        let mut prog = vec![
            Insn::load32(R_TYPE, R_CTX, CTX_ACCESS_TYPE),
            Insn::mov32(R_ACCESS, R_TYPE),
            Insn::rsh32(R_ACCESS, 16),
            Insn::and32(R_TYPE, 0xffff),
            Insn::load32(R_MAJOR, R_CTX, CTX_MAJOR),
            Insn::load32(R_MINOR, R_CTX, CTX_MINOR),
        ];
        for entry in &self.allowed {
            prog.extend(entry_check(entry));
        }
        prog.extend(verdict(0));
        prog
    }
}

/// The program's registers: r1 holds the context on entry.
const R_CTX: Reg = 1;
const R_TYPE: Reg = 2;
const R_ACCESS: Reg = 3;
const R_MAJOR: Reg = 4;
const R_MINOR: Reg = 5;

/// `r0 = allow; exit`
fn verdict(allow: i32) -> [Insn; 2] {
    [Insn::mov32_imm(0, allow), Insn::exit()]
}

/// One entry: the tests that skip to the next entry, then "allow".
fn entry_check(entry: &Allowed) -> Vec<Insn> {
    // (register, value, is it a "jump if any of these bits" test)
    let mut skips: Vec<(Reg, u32, bool)> = vec![(R_TYPE, entry.devices.device_type as u32, false)];
    if let Some(major) = entry.devices.major {
        skips.push((R_MAJOR, major, false));
    }
    if let Some(minor) = entry.devices.minor {
        skips.push((R_MINOR, minor, false));
    }
    let refused = Access::ALL.without(entry.access);
    if !refused.is_empty() {
        skips.push((R_ACCESS, refused.bits(), true));
    }
    let count = skips.len();
    let mut insns: Vec<Insn> = skips
        .into_iter()
        .enumerate()
        .map(|(i, (reg, value, any_bit))| {
            // Over the remaining tests and the two-instruction verdict.
            let to_next = (count - 1 - i + 2) as i16;
            if any_bit {
                Insn::jset(reg, value as i32, to_next)
            } else {
                Insn::jne(reg, value as i32, to_next)
            }
        })
        .collect();
    insns.extend(verdict(1));
    insns
}

/// An allow rule: its access joins an entry of the same devices, or makes
/// a new entry.
fn add(allowed: &mut Vec<Allowed>, devices: Devices, access: Access) {
    match allowed.iter_mut().find(|a| a.devices == devices) {
        Some(a) => a.access = a.access.union(access),
        None => allowed.push(Allowed { devices, access }),
    }
}

/// A deny rule: it takes its access away from every entry it contains; an
/// entry it only overlaps would need a hole, which v1 has no way to say.
fn take_away(
    allowed: &mut [Allowed],
    devices: Devices,
    access: Access,
    rule: &Rule,
) -> Result<(), String> {
    for a in allowed.iter_mut() {
        if !a.access.intersects(access) || a.devices.meet(&devices).is_none() {
            continue;
        }
        if !devices.contains(&a.devices) {
            return Err(format!(
                "device rule '{rule}' (deny) would take away only part of the allowed \
                 '{a}', which cgroup v1 cannot express: allow fewer devices instead"
            ));
        }
        a.access = a.access.without(access);
    }
    Ok(())
}

/// Makes "one entry covers the whole access" mean "each access is
/// allowed": every overlap of two entries becomes an entry, and every
/// entry gets the access of all entries that contain it. Terminates: the
/// overlaps are made of the majors and minors already there.
fn complete(allowed: &mut Vec<Allowed>) {
    loop {
        let mut overlaps = Vec::new();
        for (i, a) in allowed.iter().enumerate() {
            for b in &allowed[i + 1..] {
                if let Some(m) = a.devices.meet(&b.devices) {
                    let known = allowed.iter().chain(&overlaps).any(|x| x.devices == m);
                    if !known {
                        overlaps.push(Allowed {
                            devices: m,
                            access: Access::NONE,
                        });
                    }
                }
            }
        }
        if overlaps.is_empty() {
            break;
        }
        allowed.extend(overlaps);
    }
    let before = allowed.clone();
    for entry in allowed.iter_mut() {
        entry.access = before
            .iter()
            .filter(|outer| outer.devices.contains(&entry.devices))
            .fold(Access::NONE, |acc, outer| acc.union(outer.access));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices_bpf::{listing, run, to_bytes};

    fn allow(text: &str) -> Rule {
        parse_rule(text, true).unwrap()
    }

    fn deny(text: &str) -> Rule {
        parse_rule(text, false).unwrap()
    }

    fn err(text: &str) -> String {
        parse_rule(text, true).unwrap_err()
    }

    // ---- the reference model: the module doc's semantics, read literally,
    // on the rules themselves (no resolution, no completion).

    /// The last rule naming this device and this one access decides.
    fn model_one(rules: &[Rule], t: DeviceType, major: u32, minor: u32, bit: Access) -> bool {
        rules
            .iter()
            .rev()
            .find(|r| {
                r.rule_type.device_types().contains(&t)
                    && covers(r.major, Some(major))
                    && covers(r.minor, Some(minor))
                    && r.access.contains(bit)
            })
            .is_some_and(|r| r.allow)
    }

    fn model(rules: &[Rule], t: DeviceType, major: u32, minor: u32, access: Access) -> bool {
        if access.is_empty() {
            Access::ALL
                .each()
                .any(|bit| model_one(rules, t, major, minor, bit))
        } else {
            access
                .each()
                .all(|bit| model_one(rules, t, major, minor, bit))
        }
    }

    // ---- cgroup v1 as the kernel keeps it (security/device_cgroup.c): a
    // default and an exception list; `a` in devices.deny denies all and
    // clears the list; devices.allow adds an exception (merging access into
    // one of the same type and numbers); a check passes when one exception
    // matches the device and holds every access asked for.

    struct V1Group {
        deny_all: bool,
        exceptions: Vec<(char, Option<u32>, Option<u32>, Access)>,
    }

    impl V1Group {
        fn from_writes(writes: &[Write]) -> V1Group {
            let mut g = V1Group {
                deny_all: false,
                exceptions: vec![(' ', None, None, Access::ALL)], // inherited junk
            };
            for w in writes {
                assert_eq!(w.controller, "devices");
                match (w.file, w.value.as_str()) {
                    ("devices.deny", "a") => {
                        g.deny_all = true;
                        g.exceptions.clear();
                    }
                    ("devices.allow", line) => {
                        assert!(g.deny_all, "allow before deny-all: {line}");
                        let r = parse_rule(line, true).unwrap();
                        let t = match r.rule_type {
                            RuleType::Char => 'c',
                            RuleType::Block => 'b',
                            RuleType::All => panic!("'a' in devices.allow allows all: {line}"),
                        };
                        match g
                            .exceptions
                            .iter_mut()
                            .find(|e| (e.0, e.1, e.2) == (t, r.major, r.minor))
                        {
                            Some(e) => e.3 = e.3.union(r.access),
                            None => g.exceptions.push((t, r.major, r.minor, r.access)),
                        }
                    }
                    other => panic!("unexpected v1 write {other:?}"),
                }
            }
            assert!(g.deny_all);
            g
        }

        fn allows(&self, t: DeviceType, major: u32, minor: u32, access: Access) -> bool {
            self.exceptions.iter().any(|&(et, emaj, emin, eacc)| {
                et == t.letter()
                    && covers(emaj, Some(major))
                    && covers(emin, Some(minor))
                    && eacc.contains(access)
            })
        }
    }

    /// The compiled program, run in the interpreter.
    fn bpf_allows(prog: &[Insn], t: DeviceType, major: u32, minor: u32, access: Access) -> bool {
        let ctx = (access.bits() << 16) | t as u32;
        match run(prog, ctx, major, minor) {
            Ok(1) => true,
            Ok(0) => false,
            other => panic!("program returned {other:?}\n{}", listing(prog)),
        }
    }

    const ALL_ACCESS: [Access; 8] = [
        Access(0),
        Access(1),
        Access(2),
        Access(3),
        Access(4),
        Access(5),
        Access(6),
        Access(7),
    ];

    /// Every device number the rules name, one more, and 0: enough to hit
    /// every rule, every wildcard and every miss.
    fn probe_numbers(rules: &[Rule], pick: fn(&Rule) -> Option<u32>) -> Vec<u32> {
        let mut ns = vec![0, 4095];
        for r in rules {
            if let Some(n) = pick(r) {
                ns.extend([n, n + 1]);
                ns.extend(n.checked_sub(1));
            }
        }
        ns.sort();
        ns.dedup();
        ns
    }

    /// The model, v1 (simulated) and v2 (interpreted) agree on every probe.
    fn check_agreement(rules: &[Rule]) -> usize {
        let policy = Policy::new(rules).unwrap();
        let prog = policy.compile();
        let v1 = V1Group::from_writes(&policy.v1_writes());
        let mut cases = 0;
        for t in [DeviceType::Char, DeviceType::Block] {
            for major in probe_numbers(rules, |r| r.major) {
                for minor in probe_numbers(rules, |r| r.minor) {
                    for access in ALL_ACCESS {
                        let want = model(rules, t, major, minor, access);
                        let case = || {
                            format!(
                                "{} {major}:{minor} {access} under {rules:?}\n{}",
                                t.letter(),
                                listing(&prog)
                            )
                        };
                        assert_eq!(
                            policy.allows(t, major, minor, access),
                            want,
                            "policy {}",
                            case()
                        );
                        assert_eq!(v1.allows(t, major, minor, access), want, "v1 {}", case());
                        assert_eq!(
                            bpf_allows(&prog, t, major, minor, access),
                            want,
                            "bpf {}",
                            case()
                        );
                        cases += 1;
                    }
                }
            }
        }
        cases
    }

    // ---- parsing

    #[test]
    fn parses_rules() {
        assert_eq!(
            allow("c 1:3 rwm"),
            Rule {
                allow: true,
                rule_type: RuleType::Char,
                major: Some(1),
                minor: Some(3),
                access: Access::ALL,
            }
        );
        let r = deny("b *:* m");
        assert_eq!(
            (r.allow, r.rule_type, r.major, r.minor, r.access),
            (false, RuleType::Block, None, None, Access::MKNOD)
        );
        let r = allow("a 8:* wr");
        assert_eq!(
            (r.rule_type, r.major, r.minor, r.access),
            (RuleType::All, Some(8), None, Access(6))
        );
        assert_eq!(allow("a"), allow("a *:* rwm"));
        assert_eq!(allow("  c\t136:*  rw "), allow("c 136:* rw"));
        assert_eq!(allow("c 4095:1048575 r").to_string(), "c 4095:1048575 r");
        // Display is canonical: rwm order.
        assert_eq!(allow("c 1:3 mwr").to_string(), "c 1:3 rwm");
        assert_eq!(allow("a *:7 mr").to_string(), "a *:7 rm");
        assert_eq!(allow("c 010:0200 r"), allow("c 10:200 r"));
    }

    #[test]
    fn bad_rules_name_the_rule_and_the_fault() {
        assert_eq!(
            err("x 1:3 rw"),
            "device rule 'x 1:3 rw': type must be c, b or a"
        );
        assert_eq!(
            err("cc 1:3 rw"),
            "device rule 'cc 1:3 rw': type must be c, b or a"
        );
        let form = "expected TYPE MAJ:MIN ACCESS, like 'c 1:3 rwm' or 'c 136:* rw'";
        for text in ["", "c", "c 1:3", "c 1:3 rw extra", "b"] {
            assert_eq!(err(text), format!("device rule '{text}': {form}"));
        }
        assert_eq!(
            err("c 1-3 rw"),
            "device rule 'c 1-3 rw': MAJ:MIN must be two numbers or *, separated by ':'"
        );
        assert_eq!(
            err("c x:3 rw"),
            "device rule 'c x:3 rw': major 'x' must be a number or *"
        );
        assert_eq!(
            err("c 1: rw"),
            "device rule 'c 1: rw': minor '' must be a number or *"
        );
        assert_eq!(
            err("c -1:3 rw"),
            "device rule 'c -1:3 rw': major '-1' must be a number or *"
        );
        assert_eq!(
            err("c 1:3:4 rw"),
            "device rule 'c 1:3:4 rw': minor '3:4' must be a number or *"
        );
        assert_eq!(
            err("c 4096:0 r"),
            "device rule 'c 4096:0 r': major 4096 is above 4095, the largest there is"
        );
        assert_eq!(
            err("c 1:1048576 r"),
            "device rule 'c 1:1048576 r': minor 1048576 is above 1048575, the largest there is"
        );
        assert_eq!(
            err("c 1:99999999999 r"),
            "device rule 'c 1:99999999999 r': minor 99999999999 is above 1048575, the largest there is"
        );
        assert_eq!(
            err("c 1:3 rx"),
            "device rule 'c 1:3 rx': access 'rx' must be a combination of r, w and m"
        );
        assert_eq!(
            err("c 1:3 rwr"),
            "device rule 'c 1:3 rwr': access 'rwr' names r twice"
        );
        assert_eq!(
            err("c 1:3 R"),
            "device rule 'c 1:3 R': access 'R' must be a combination of r, w and m"
        );
    }

    // ---- the preset

    #[test]
    fn preset_allows_the_container_devices_and_nothing_else() {
        let preset = container_preset();
        let policy = Policy::new(&preset).unwrap();
        let char_ = DeviceType::Char;
        for &(name, major, minor) in CONTAINER_DEVICES {
            for minor in minor.map_or(vec![0, 1, 5, 4095, MAX_MINOR], |m| vec![m]) {
                for access in ALL_ACCESS {
                    assert!(
                        policy.allows(char_, major, minor, access),
                        "{name} {access}"
                    );
                }
                // Never the block device of the same numbers.
                for access in ALL_ACCESS {
                    assert!(
                        !policy.allows(DeviceType::Block, major, minor, access),
                        "b {name}"
                    );
                }
            }
        }
        // The devices runc allows that we leave out, the usual escapes, and
        // mknod of any block device.
        let denied = [
            (char_, 5, 1, "console"),
            (char_, 10, 200, "tun"),
            (char_, 1, 1, "mem"),
            (char_, 1, 2, "kmem"),
            (char_, 1, 4, "port"),
            (char_, 1, 11, "kmsg"),
            (char_, 4, 1, "tty1"),
            (char_, 10, 229, "fuse"),
            (char_, 137, 0, "pts of the next major"),
            (DeviceType::Block, 8, 0, "sda"),
            (DeviceType::Block, 259, 0, "nvme0n1"),
            (DeviceType::Block, 7, 0, "loop0"),
            (DeviceType::Block, 253, 0, "dm-0"),
        ];
        for (t, major, minor, name) in denied {
            for access in ALL_ACCESS {
                assert!(!policy.allows(t, major, minor, access), "{name} {access}");
            }
        }
        assert!(check_agreement(&preset) > 1000);
    }

    #[test]
    fn preset_v1_writes() {
        let writes: Vec<(String, String)> = Policy::new(&container_preset())
            .unwrap()
            .v1_writes()
            .into_iter()
            .map(|w| {
                assert_eq!(w.controller, "devices");
                (w.file.to_string(), w.value)
            })
            .collect();
        let want = [
            ("devices.deny", "a"),
            ("devices.allow", "c 1:3 rwm"),
            ("devices.allow", "c 1:5 rwm"),
            ("devices.allow", "c 1:7 rwm"),
            ("devices.allow", "c 1:8 rwm"),
            ("devices.allow", "c 1:9 rwm"),
            ("devices.allow", "c 5:0 rwm"),
            ("devices.allow", "c 5:2 rwm"),
            ("devices.allow", "c 136:* rwm"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect();
        assert_eq!(writes, want);
    }

    // ---- the program's shape: fixtures

    #[test]
    fn fixture_deny_everything() {
        let prog = Policy::new(&[]).unwrap().compile();
        assert_eq!(
            listing(&prog),
            "  0: r2 = *(u32 *)(r1 + 0)
  1: w3 = w2
  2: w3 >>= 16
  3: w2 &= 0xffff
  4: r4 = *(u32 *)(r1 + 4)
  5: r5 = *(u32 *)(r1 + 8)
  6: w0 = 0
  7: exit
"
        );
        // And everything is denied, even the empty check.
        for access in ALL_ACCESS {
            assert!(!bpf_allows(&prog, DeviceType::Char, 1, 3, access));
        }
    }

    #[test]
    fn fixture_one_rule_bytes() {
        let prog = Policy::new(&[allow("c 1:3 rw")]).unwrap().compile();
        let want: &[[u8; 8]] = &[
            [0x61, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // r2 = ctx->access_type
            [0xbc, 0x23, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // w3 = w2
            [0x74, 0x03, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00], // w3 >>= 16
            [0x54, 0x02, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00], // w2 &= 0xffff
            [0x61, 0x14, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00], // r4 = ctx->major
            [0x61, 0x15, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00], // r5 = ctx->minor
            [0x55, 0x02, 0x05, 0x00, 0x02, 0x00, 0x00, 0x00], // if type != char goto +5
            [0x55, 0x04, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00], // if major != 1 goto +4
            [0x55, 0x05, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00], // if minor != 3 goto +3
            [0x45, 0x03, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00], // if access & m goto +2
            [0xb4, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00], // w0 = 1
            [0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // exit
            [0xb4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // w0 = 0
            [0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // exit
        ];
        assert_eq!(to_bytes(&prog), want.concat());
    }

    #[test]
    fn fixture_wildcards_and_full_access_skip_their_tests() {
        let prog = Policy::new(&[allow("c 136:* rwm"), allow("b *:* m")])
            .unwrap()
            .compile();
        assert_eq!(
            listing(&prog[6..]),
            "  0: if r2 != 2 goto +3  -> 4
  1: if r4 != 136 goto +2  -> 4
  2: w0 = 1
  3: exit
  4: if r2 != 1 goto +3  -> 8
  5: if r3 & 0x6 goto +2  -> 8
  6: w0 = 1
  7: exit
  8: w0 = 0
  9: exit
"
        );
    }

    #[test]
    fn preset_program_size() {
        // 6 prologue + 7 entries of 5 (type, major, minor, verdict) + pts
        // (type, major, verdict) + the final verdict.
        assert_eq!(
            Policy::new(&container_preset()).unwrap().compile().len(),
            47
        );
    }

    // ---- semantics: resolution, completion, and agreement of all three

    #[test]
    fn last_rule_wins_per_access() {
        let rules = [allow("c 1:3 rwm"), deny("c 1:3 w")];
        let p = Policy::new(&rules).unwrap();
        assert_eq!(p.allowed()[0].to_string(), "c 1:3 rm");
        let c = DeviceType::Char;
        assert!(p.allows(c, 1, 3, Access::READ));
        assert!(!p.allows(c, 1, 3, Access::WRITE));
        // O_RDWR needs both (runc's program would let it through).
        assert!(!p.allows(c, 1, 3, Access(6)));
        // A later allow gives it back.
        let rules = [allow("c 1:3 rwm"), deny("c 1:3 w"), allow("c 1:3 w")];
        assert!(Policy::new(&rules).unwrap().allows(c, 1, 3, Access(6)));
        check_agreement(&rules);
    }

    #[test]
    fn deny_all_resets() {
        let rules = [
            allow("c 1:3 rwm"),
            allow("b 8:* r"),
            parse_rule("a", false).unwrap(),
            allow("c 1:5 r"),
        ];
        let p = Policy::new(&rules).unwrap();
        let lines: Vec<String> = p.allowed().iter().map(|a| a.to_string()).collect();
        assert_eq!(lines, ["c 1:5 r"]);
        check_agreement(&rules);
    }

    #[test]
    fn all_type_expands_into_char_and_block() {
        let p = Policy::new(&[allow("a 7:* rw")]).unwrap();
        let lines: Vec<String> = p.allowed().iter().map(|a| a.to_string()).collect();
        assert_eq!(lines, ["c 7:* rw", "b 7:* rw"]);
        let p = Policy::new(&[allow("a")]).unwrap();
        let lines: Vec<String> = p.v1_writes().into_iter().map(|w| w.value).collect();
        // Never 'a' in devices.allow: v1 reads that as "allow all" mode.
        assert_eq!(lines, ["a", "c *:* rwm", "b *:* rwm"]);
    }

    #[test]
    fn overlaps_get_their_own_entry() {
        // r from one entry, w from another: v1 needs one entry holding both.
        let rules = [allow("c 1:* r"), allow("c *:3 w")];
        let p = Policy::new(&rules).unwrap();
        let lines: Vec<String> = p.allowed().iter().map(|a| a.to_string()).collect();
        assert_eq!(lines, ["c 1:* r", "c *:3 w", "c 1:3 rw"]);
        assert!(p.allows(DeviceType::Char, 1, 3, Access(6)));
        assert!(!p.allows(DeviceType::Char, 1, 4, Access(6)));
        check_agreement(&rules);
        // A specific entry inherits from a wildcard that contains it.
        let rules = [allow("c 136:* r"), allow("c 136:0 w")];
        let p = Policy::new(&rules).unwrap();
        let lines: Vec<String> = p.allowed().iter().map(|a| a.to_string()).collect();
        assert_eq!(lines, ["c 136:* r", "c 136:0 rw"]);
        check_agreement(&rules);
    }

    #[test]
    fn partial_deny_is_refused() {
        for (rules, allowed) in [
            (
                vec![allow("c 136:* rwm"), deny("c 136:0 rwm")],
                "c 136:* rwm",
            ),
            (vec![allow("c 1:* r"), deny("c *:3 r")], "c 1:* r"),
            (vec![allow("a *:* rwm"), deny("b 8:0 rwm")], "b *:* rwm"),
        ] {
            let e = Policy::new(&rules).unwrap_err();
            let deny = rules[1].to_string();
            assert_eq!(
                e,
                format!(
                    "device rule '{deny}' (deny) would take away only part of the allowed \
                     '{allowed}', which cgroup v1 cannot express: allow fewer devices instead"
                )
            );
        }
        // Denying what no entry has, or a whole entry, or disjoint access, is fine.
        for rules in [
            vec![allow("c 136:* rw"), deny("c 136:0 m")],
            vec![allow("c 136:* rw"), deny("c 136:* w")],
            vec![allow("c 136:0 rw"), deny("c 136:* w")],
            vec![allow("c 1:3 rw"), deny("b *:* rwm")],
            vec![deny("c 136:0 rwm"), allow("c 136:* rwm")],
        ] {
            Policy::new(&rules).unwrap();
            check_agreement(&rules);
        }
    }

    #[test]
    fn model_v1_and_bpf_agree_on_many_policies() {
        let texts: &[&[(&str, bool)]] = &[
            &[],
            &[("c 1:3 r", true)],
            &[("c *:* m", true), ("b *:* m", true)],
            &[("a *:* rwm", true)],
            &[("a *:* rwm", true), ("b *:* rwm", false)],
            &[("a *:* rwm", true), ("a *:* w", false)],
            &[
                ("c 1:* rw", true),
                ("c *:5 m", true),
                ("c *:5 m", false),
                ("c 1:5 m", true),
            ],
            &[("b 8:* r", true), ("b 8:0 w", true), ("b *:0 m", true)],
            &[("c 1:3 rwm", true), ("c 1:3 rwm", false), ("c 1:3 r", true)],
            &[("c 4095:1048575 rwm", true), ("c 0:0 w", true)],
            &[
                ("a 10:200 rwm", true),
                ("c 10:200 m", false),
                ("b 10:* rw", true),
            ],
            &[
                ("c *:1 r", true),
                ("c *:2 w", true),
                ("c 5:* m", true),
                ("c 6:* rw", true),
            ],
        ];
        let mut total = 0;
        for rules in texts {
            let mut with_preset = container_preset();
            let rules: Vec<Rule> = rules
                .iter()
                .map(|&(text, allow)| parse_rule(text, allow).unwrap())
                .collect();
            if Policy::new(&rules).is_err() {
                continue;
            }
            total += check_agreement(&rules);
            with_preset.extend(&rules);
            if Policy::new(&with_preset).is_ok() {
                total += check_agreement(&with_preset);
            }
        }
        assert!(total > 10_000, "{total} cases");
    }

    #[test]
    fn random_policies_agree() {
        // A small deterministic generator (xorshift): numbers from a small
        // pool, so that rules overlap often.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut checked = 0;
        for _ in 0..400 {
            let len = 1 + next(6) as usize;
            let rules: Vec<Rule> = (0..len)
                .map(|_| {
                    let number = |r: u64| [None, Some(1), Some(3), Some(136)][r as usize];
                    Rule {
                        allow: next(3) != 0,
                        rule_type: [RuleType::Char, RuleType::Block, RuleType::All]
                            [next(3) as usize],
                        major: number(next(4)),
                        minor: number(next(4)),
                        access: Access(1 + next(7) as u8),
                    }
                })
                .collect();
            if Policy::new(&rules).is_ok() {
                check_agreement(&rules);
                checked += 1;
            }
        }
        assert!(
            checked > 100,
            "only {checked} random policies were expressible"
        );
    }

    // ---- the kernel: the verifier, and the policy at work in a cgroup2 group

    /// A test that cannot run here says so; CI sets CHAIN_FAIL_ON_SKIP so
    /// that a skip fails the run (the same rule as tests/src/lib.rs).
    fn skip(why: &str) {
        println!("SKIP: {why}");
        eprintln!("SKIP: {why}");
        if std::env::var_os("CHAIN_FAIL_ON_SKIP").is_some() {
            panic!("SKIP is a failure here (CHAIN_FAIL_ON_SKIP is set): {why}");
        }
    }

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    #[test]
    fn kernel_verifier_accepts_the_preset() {
        if !is_root() {
            return skip("loading a BPF program needs root (CAP_BPF or CAP_SYS_ADMIN)");
        }
        for rules in [
            container_preset(),
            vec![],
            vec![allow("a"), allow("c 1:* r"), allow("c *:3 w")],
        ] {
            let prog = Policy::new(&rules).unwrap().compile();
            if let Err(e) = crate::devices_bpf::load(&prog) {
                panic!("{e}\n{}", listing(&prog));
            }
        }
    }

    #[test]
    fn kernel_refusal_carries_the_verifier_message() {
        if !is_root() {
            return skip("loading a BPF program needs root (CAP_BPF or CAP_SYS_ADMIN)");
        }
        // exit without setting r0.
        let e = crate::devices_bpf::load(&[Insn::exit()]).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("bpf BPF_PROG_LOAD cgroup device program (1 instructions): ")
                && text.contains("(the verifier said: R0 !read_ok)"),
            "{text}"
        );
    }

    /// A cgroup2 group below this process's own, removed on drop.
    struct TestGroup {
        dir: std::path::PathBuf,
    }

    impl TestGroup {
        fn create() -> Result<TestGroup, String> {
            let layout = chain::cgroup::Layout::detect().map_err(|e| e.to_string())?;
            let own =
                layout.unified.as_ref().and_then(|h| h.own_dir()).ok_or(
                    "no cgroup2 hierarchy is mounted, or this process's cgroup is not in it",
                )?;
            let dir = own.join(format!("cgctl-devices-test-{}", std::process::id()));
            std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            Ok(TestGroup { dir })
        }
    }

    impl Drop for TestGroup {
        fn drop(&mut self) {
            // The children are reaped before this runs; an exiting task can
            // keep the group busy for a moment.
            for _ in 0..100 {
                match std::fs::remove_dir(&self.dir) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    Err(e) => return eprintln!("rmdir {}: {e}", self.dir.display()),
                    Ok(()) => return,
                }
            }
        }
    }

    /// A temporary directory for device nodes, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn cstr(path: &std::path::Path) -> std::ffi::CString {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap()
    }

    enum Try {
        Open(std::ffi::CString, libc::c_int),
        Mknod(std::ffi::CString, libc::mode_t, u32, u32),
    }

    /// Runs `what` in a child that first joins the group: returns the
    /// child's errno, or 0. The work is done between fork and exec (only
    /// raw syscalls there: the test process has threads), and its errno
    /// comes back as the spawn error.
    fn in_group(group: &TestGroup, what: Try) -> i32 {
        use std::os::unix::process::CommandExt;
        let procs = cstr(&group.dir.join("cgroup.procs"));
        let mut child = std::process::Command::new("/bin/true");
        // SAFETY: the closure only makes syscalls on memory prepared
        // before the fork; it allocates nothing.
        unsafe {
            child.pre_exec(move || {
                let last = std::io::Error::last_os_error;
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(last());
                }
                libc::close(fd);
                let ok = match &what {
                    Try::Open(path, flags) => {
                        let fd = libc::open(path.as_ptr(), *flags | libc::O_CLOEXEC);
                        fd >= 0
                    }
                    Try::Mknod(path, mode, major, minor) => {
                        libc::mknod(path.as_ptr(), *mode | 0o600, libc::makedev(*major, *minor))
                            == 0
                    }
                };
                if ok { Ok(()) } else { Err(last()) }
            });
        }
        match child.status() {
            Ok(status) => {
                assert!(status.success(), "/bin/true: {status}");
                0
            }
            Err(e) => e.raw_os_error().unwrap_or(-1),
        }
    }

    #[test]
    fn kernel_enforces_the_preset_in_a_cgroup2_group() {
        use std::os::fd::AsFd;
        if !is_root() {
            return skip("creating a cgroup and attaching a device program needs root");
        }
        let group = match TestGroup::create() {
            Ok(group) => group,
            Err(why) => return skip(&format!("no cgroup2 group for the test: {why}")),
        };
        let dir = nix::fcntl::open(
            &group.dir,
            nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        let prog = Policy::new(&container_preset()).unwrap().compile();
        crate::devices_bpf::load_and_attach(dir.as_fd(), &prog).unwrap();

        // Nodes made outside the group, by this (unrestricted) process.
        let nodes = TempDir(
            std::env::temp_dir().join(format!("cgctl-devices-test-{}", std::process::id())),
        );
        std::fs::create_dir(&nodes.0).unwrap();
        let node = |name: &str, mode: libc::mode_t, major: u32, minor: u32| {
            let path = nodes.0.join(name);
            let c = cstr(&path);
            // SAFETY: mknod on a NUL-terminated path.
            let rc = unsafe { libc::mknod(c.as_ptr(), mode | 0o600, libc::makedev(major, minor)) };
            assert_eq!(
                rc,
                0,
                "mknod {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
            c
        };
        let loop0 = node("loop0", libc::S_IFBLK, 7, 0);
        let mem = node("mem", libc::S_IFCHR, 1, 1);
        let console = node("console", libc::S_IFCHR, 5, 1);
        let dev = |p: &str| std::ffi::CString::new(p).unwrap();
        let made = |name: &str| cstr(&nodes.0.join(name));

        // Control: outside the group the block node is not refused by policy.
        // SAFETY: open on a NUL-terminated path; the fd is closed at once.
        let outside = unsafe { libc::open(loop0.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        let outside_errno = if outside < 0 {
            std::io::Error::last_os_error().raw_os_error()
        } else {
            unsafe { libc::close(outside) };
            None
        };
        assert_ne!(outside_errno, Some(libc::EPERM));

        let ok = 0;
        let eperm = libc::EPERM;
        let cases = [
            (
                "open /dev/null rw",
                Try::Open(dev("/dev/null"), libc::O_RDWR),
                ok,
            ),
            (
                "open /dev/zero",
                Try::Open(dev("/dev/zero"), libc::O_RDONLY),
                ok,
            ),
            (
                "open /dev/urandom",
                Try::Open(dev("/dev/urandom"), libc::O_RDONLY),
                ok,
            ),
            (
                "mknod c 1:3",
                Try::Mknod(made("null"), libc::S_IFCHR, 1, 3),
                ok,
            ),
            (
                "open the new null",
                Try::Open(made("null"), libc::O_WRONLY),
                ok,
            ),
            (
                "mknod c 136:7",
                Try::Mknod(made("pts7"), libc::S_IFCHR, 136, 7),
                ok,
            ),
            ("open b 7:0", Try::Open(loop0, libc::O_RDONLY), eperm),
            (
                "mknod b 7:0",
                Try::Mknod(made("loop0-inside"), libc::S_IFBLK, 7, 0),
                eperm,
            ),
            (
                "mknod b 8:0",
                Try::Mknod(made("sda"), libc::S_IFBLK, 8, 0),
                eperm,
            ),
            ("open c 1:1 (mem)", Try::Open(mem, libc::O_RDONLY), eperm),
            (
                "open c 5:1 (console)",
                Try::Open(console, libc::O_WRONLY),
                eperm,
            ),
            (
                "mknod c 10:200 (tun)",
                Try::Mknod(made("tun"), libc::S_IFCHR, 10, 200),
                eperm,
            ),
        ];
        for (what, attempt, want) in cases {
            assert_eq!(in_group(&group, attempt), want, "{what}");
        }

        // An unmodified program in the group reads an allowed device.
        let procs = group.dir.join("cgroup.procs");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > '{}' && exec head -c1 /dev/zero",
                procs.display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, [0]);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > '{}' && exec head -c1 '{}'",
                procs.display(),
                nodes.0.join("loop0").display()
            ))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
            "{out:?}"
        );
    }
}
