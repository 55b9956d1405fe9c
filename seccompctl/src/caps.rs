//! The capability step: decide which capabilities the next program keeps,
//! then set the five sets in the order the kernel insists on.
//!
//! What lasts across the exec that ends the chain is not what the process
//! holds now but what the kernel computes at exec (capabilities(7),
//! "Transformation of capabilities during execve()"), for a plain program
//! without file capabilities and not set-user-ID:
//!
//! - uid 0 (without `SECBIT_NOROOT`) gets P' = E' = bounding ∪ inheritable
//!   back, whatever its permitted set was. Lowering E and P alone is undone
//!   by the exec; only the bounding set is a limit that lasts.
//! - any other uid gets P' = E' = ambient: only ambient capabilities pass.
//!
//! So [`plan`] decides a *kept* set and turns it into a bounding set (for
//! root) or an ambient set (for `--ambient`), and [`apply`] sets them:
//! bounding drops first (they need `CAP_SETPCAP` in the effective set, which
//! the capset may take away), then one capset for E, P and I, then the
//! ambient set (which needs each capability in P and I already).
//!
//! Masks are `u64` with bit N = capability N, the kernel's own layout (its
//! capset ABI splits them in two 32-bit words).

use chain::sys;
use nix::errno::Errno;
use std::fmt;

/// A set of capabilities: bit N is capability N.
pub type Mask = u64;

/// The kernel's capability names, index = capability number
/// (linux/capability.h, up to Linux 5.9's `CAP_CHECKPOINT_RESTORE`).
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const CHOWN: u8 = 0;
const DAC_OVERRIDE: u8 = 1;
const FOWNER: u8 = 3;
const FSETID: u8 = 4;
const KILL: u8 = 5;
const SETGID: u8 = 6;
const SETUID: u8 = 7;
const SETPCAP: u8 = 8;
const NET_BIND_SERVICE: u8 = 10;
const NET_RAW: u8 = 13;
const SYS_CHROOT: u8 = 18;
const MKNOD: u8 = 27;
const AUDIT_WRITE: u8 = 29;
const SETFCAP: u8 = 31;

/// The highest capability number a mask can hold.
const MAX_CAP: u8 = 63;

/// `_LINUX_CAPABILITY_VERSION_3` (linux/capability.h): 64-bit sets passed as
/// two 32-bit words. libc does not export it.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

const fn bit(cap: u8) -> Mask {
    1 << cap
}

/// Docker's default set (moby `oci/caps/defaults.go`), the set container
/// users expect when they ask for "the default".
pub const DOCKER_DEFAULT: Mask = bit(CHOWN)
    | bit(DAC_OVERRIDE)
    | bit(FSETID)
    | bit(FOWNER)
    | bit(MKNOD)
    | bit(NET_RAW)
    | bit(SETGID)
    | bit(SETUID)
    | bit(SETFCAP)
    | bit(SETPCAP)
    | bit(NET_BIND_SERVICE)
    | bit(SYS_CHROOT)
    | bit(KILL)
    | bit(AUDIT_WRITE);

/// A capability's name for messages; numbers this table does not know
/// (a kernel newer than it) are shown as `CAP_41`, never a panic.
#[derive(Debug, Clone, Copy)]
struct Name(u8);

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMES.get(usize::from(self.0)) {
            Some(name) => f.write_str(name),
            None => write!(f, "CAP_{}", self.0),
        }
    }
}

/// The capabilities of a mask, lowest first.
fn each(mask: Mask) -> impl Iterator<Item = u8> {
    (0..=MAX_CAP).filter(move |&c| mask & bit(c) != 0)
}

/// The highest capability this kernel knows, from
/// /proc/sys/kernel/cap_last_cap. When /proc is not readable (a chain step
/// before /proc is mounted) it falls back to 40, the last one this table
/// names; [`read`] stops at the first number the kernel rejects, so a guess
/// too high does no harm there.
pub fn last_cap() -> u8 {
    chain::file::read(std::path::Path::new("/proc/sys/kernel/cap_last_cap"))
        .ok()
        .and_then(|text| text.trim().parse::<u8>().ok())
        .map_or(40, |last| last.min(MAX_CAP))
}

/// All capabilities 0..=last.
pub fn all(last: u8) -> Mask {
    if last >= MAX_CAP {
        Mask::MAX
    } else {
        bit(last + 1) - 1
    }
}

/// Parses a comma-separated list the way docker, podman, setpriv and capsh
/// users write it: names with or without `CAP_`, in any case, blanks around
/// items ignored, or `ALL`. Returns the mask and whether `ALL` was among the
/// items (the caller may treat "drop ALL" specially).
///
/// A name this kernel does not know (above `last`) is an error rather than
/// silently ignored: asking to keep or drop it cannot mean what the user
/// thinks on this kernel.
pub fn parse_list(text: &str, last: u8) -> Result<(Mask, bool), String> {
    let mut mask = 0;
    let mut had_all = false;
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("empty item in capability list '{text}'"));
        }
        if item.eq_ignore_ascii_case("all") {
            had_all = true;
            mask |= all(last);
            continue;
        }
        let upper = item.to_ascii_uppercase();
        let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
        let Some(cap) = NAMES
            .iter()
            .position(|name| name.strip_prefix("CAP_") == Some(bare))
        else {
            return Err(format!("unknown capability '{item}'"));
        };
        // NAMES has 41 entries, so the index fits a u8.
        let cap = cap as u8;
        if cap > last {
            return Err(format!(
                "{} is not known to this kernel (cap_last_cap is {last})",
                Name(cap)
            ));
        }
        mask |= bit(cap);
    }
    Ok((mask, had_all))
}

/// `CAP_CHOWN,CAP_KILL`, or `none` for the empty set, or `all` when the mask
/// is exactly every capability of this kernel.
pub fn names(mask: Mask, last: u8) -> String {
    if mask == 0 {
        return "none".into();
    }
    if mask == all(last) {
        return "all".into();
    }
    each(mask)
        .map(|c| Name(c).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A mask for a trace line, short even when it holds nearly everything:
/// `all but CAP_MKNOD,CAP_SYS_ADMIN` instead of forty names.
struct Brief(Mask, u8);

impl fmt::Display for Brief {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Brief(mask, last) = *self;
        let missing = all(last) & !mask;
        if mask != 0 && missing != 0 && missing.count_ones() < mask.count_ones() {
            write!(f, "all but {}", names(missing, last))
        } else {
            f.write_str(&names(mask, last))
        }
    }
}

/// The five capability sets of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sets {
    pub bounding: Mask,
    pub permitted: Mask,
    pub effective: Mask,
    pub inheritable: Mask,
    pub ambient: Mask,
}

/// `prctl` with integer arguments (the two trailing ones zero, which
/// PR_CAP_AMBIENT requires).
fn prctl(op: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> nix::Result<libc::c_int> {
    // SAFETY: every op used here takes integer arguments only.
    Errno::result(unsafe { libc::prctl(op, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) })
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`; version 3 takes two of them, the low and
/// the high 32 bits of each set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// capget(2) of the calling thread: (effective, permitted, inheritable).
fn capget() -> nix::Result<(Mask, Mask, Mask)> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: a version 3 header and room for the two data structs that
    // version writes.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |low: u32, high: u32| Mask::from(low) | Mask::from(high) << 32;
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

/// capset(2) of the calling thread's E, P and I in one call: the kernel
/// checks the three together (E ⊆ P is checked against the new P).
fn capset(sets: &Sets) -> nix::Result<()> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let word = |mask: Mask, high: bool| (if high { mask >> 32 } else { mask }) as u32;
    let data = [false, true].map(|high| CapData {
        effective: word(sets.effective, high),
        permitted: word(sets.permitted, high),
        inheritable: word(sets.inheritable, high),
    });
    // SAFETY: a version 3 header and the two data structs that version reads.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    })
    .map(drop)
}

/// The capabilities 0..=last for which `ask` answers 1. EINVAL for a
/// capability above 0 means the kernel knows fewer than `last` (a guessed
/// `last`); the loop stops there. EINVAL for capability 0 is passed on.
fn query(last: u8, ask: impl Fn(libc::c_ulong) -> nix::Result<libc::c_int>) -> nix::Result<Mask> {
    let mut mask = 0;
    for cap in 0..=last.min(MAX_CAP) {
        match ask(cap.into()) {
            Ok(1) => mask |= bit(cap),
            Ok(_) => {}
            Err(Errno::EINVAL) if cap > 0 => break,
            Err(errno) => return Err(errno),
        }
    }
    Ok(mask)
}

/// The calling thread's five sets, and whether `SECBIT_NO_CAP_AMBIENT_RAISE`
/// is set (then no ambient capability can be raised, whatever we hold).
///
/// The per-capability prctl queries are traced as one step each for the
/// bounding and the ambient set, so `-v` shows three lines, not eighty.
/// A kernel without ambient capabilities (before 4.3) answers EINVAL to
/// PR_CAP_AMBIENT; its ambient set is empty.
pub fn read(last: u8) -> chain::Result<(Sets, bool)> {
    let (effective, permitted, inheritable) = sys("capget", "self", capget)?;
    let bounding = sys("prctl", format_args!("PR_CAPBSET_READ 0..={last}"), || {
        query(last, |cap| prctl(libc::PR_CAPBSET_READ, cap, 0))
    })?;
    let ambient = sys(
        "prctl",
        format_args!("PR_CAP_AMBIENT_IS_SET 0..={last}"),
        || match query(last, |cap| {
            prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_IS_SET as _, cap)
        }) {
            Err(Errno::EINVAL) => Ok(0),
            other => other,
        },
    )?;
    let securebits = sys("prctl", "PR_GET_SECUREBITS", || {
        prctl(libc::PR_GET_SECUREBITS, 0, 0)
    })?;
    let sets = Sets {
        bounding,
        permitted,
        effective,
        inheritable,
        ambient,
    };
    Ok((sets, securebits & libc::SECBIT_NO_CAP_AMBIENT_RAISE != 0))
}

/// What the command line asked of the capability step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `--caps LIST` (or a preset): exactly these, before drop and add.
    pub base: Option<Mask>,
    /// `--cap-drop LIST`.
    pub drop: Mask,
    /// `--cap-drop ALL`: start from nothing, whatever `base` was.
    pub drop_all: bool,
    /// `--cap-add LIST` (ALL = all(last)).
    pub add: Mask,
    /// `--ambient`: the kept capabilities become ambient (and inheritable)
    /// too, so they survive the exec of a plain program by a non-root uid.
    pub ambient: bool,
    /// `base` is a preset (`--default`), cut down to what the process can
    /// keep, rather than a list that must be met.
    pub base_is_preset: bool,
}

impl Request {
    /// Nothing asked: the step changes no capability, not even the
    /// inherited inheritable and ambient sets.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.drop == 0 && !self.drop_all && self.add == 0 && !self.ambient
    }
}

/// The target sets for `req`, or one line saying why the kernel cannot give
/// them. Pure: `current` is what [`read`] returned, `root` says whether the
/// next program runs as uid 0 with root's exec rules (euid 0, no
/// `SECBIT_NOROOT`).
///
/// Rules, each with the kernel's reason:
///
/// 1. An empty request returns `current` unchanged: the step must then
///    cost nothing and change nothing.
/// 2. The kept set K starts from `req.base`; without one, from the bounding
///    set for root (exec gives a uid-0 program the bounding set back, so
///    that is what it "has"), else from the permitted set (a non-root
///    process can pass on only what it holds). `drop_all` empties K, else
///    `drop` is removed; then `add` is put in: adds win over drops, as in
///    docker's `--cap-drop ALL --cap-add X`.
/// 3. Every capability of K must be known to the kernel and in the current
///    bounding set: PR_CAPBSET_DROP is one-way and nothing raises a
///    capability outside it. A non-root process must also hold it in P:
///    capset never grows P.
/// 4. The new bounding set is K. Dropping from it needs `CAP_SETPCAP`
///    (cap_prctl_drop checks it in E; [`apply`] raises it from P first).
/// 5. P = current P ∩ K (capset only lowers P), E = P (the effective set is
///    the permitted one: nothing to activate later).
/// 6. Without `--ambient`, I and the ambient set are emptied. I as Docker
///    does since CVE-2022-24769: inheritable capabilities would be granted
///    to any program with matching inheritable file capabilities. Ambient so
///    that an ambient set inherited from an earlier step does not decide,
///    unasked, what a non-root program keeps.
/// 7. With `--ambient`, ambient = I = K. PR_CAP_AMBIENT_RAISE needs each
///    capability in P and I, so K must be in the current P, and it fails
///    outright while `SECBIT_NO_CAP_AMBIENT_RAISE` is set.
/// 8. The result must pass capset's checks (E ⊆ P, new P ⊆ old P,
///    new I ⊆ old I ∪ old P and ⊆ old I ∪ bounding, where the bounding set
///    is the already reduced one since the drops come first). The rules
///    above imply them; checking again keeps a later change of those rules
///    from turning into an EPERM halfway through [`apply`].
pub fn plan(
    current: &Sets,
    no_ambient_raise: bool,
    req: &Request,
    root: bool,
    last: u8,
) -> Result<Sets, String> {
    if req.is_empty() {
        return Ok(*current);
    }
    let keepable = if root {
        current.bounding
    } else {
        current.permitted & current.bounding
    };
    // A preset (--default) is an upper bound: what this process cannot
    // keep is simply not kept. An explicit list must be met exactly.
    let mut keep = match req.base {
        Some(base) if req.base_is_preset => base & keepable,
        Some(base) => base,
        None => keepable,
    };
    if req.drop_all {
        keep = 0;
    } else {
        keep &= !req.drop;
    }
    keep |= req.add;

    for cap in each(keep) {
        if cap > last {
            return Err(format!(
                "cannot keep {}: it is not known to this kernel (cap_last_cap is {last})",
                Name(cap)
            ));
        }
        if current.bounding & bit(cap) == 0 {
            return Err(format!(
                "cannot keep {}: the bounding set no longer has it, and nothing can put it back",
                Name(cap)
            ));
        }
        if !root && current.permitted & bit(cap) == 0 {
            return Err(format!(
                "cannot keep {}: this process (uid != 0) does not hold it",
                Name(cap)
            ));
        }
    }

    let mut bounding = keep & current.bounding;
    if current.bounding & !bounding != 0 && current.permitted & bit(SETPCAP) == 0 {
        if root {
            // uid 0 gets the bounding set back at exec: it must shrink.
            return Err(
                "dropping from the bounding set needs CAP_SETPCAP, which this process lacks".into(),
            );
        }
        // A non-root program gets nothing from the bounding set itself
        // (only setuid and file capabilities draw on it, and the caller
        // sets no_new_privs for that case): leave it as it is.
        bounding = current.bounding;
    }

    if req.ambient {
        if let Some(cap) = each(keep & !current.permitted).next() {
            return Err(format!(
                "ambient {} needs it in the permitted set",
                Name(cap)
            ));
        }
        if keep != 0 && no_ambient_raise {
            return Err(
                "ambient capabilities cannot be raised: securebit SECBIT_NO_CAP_AMBIENT_RAISE is set"
                    .into(),
            );
        }
    }

    let permitted = current.permitted & keep;
    let target = Sets {
        bounding,
        permitted,
        effective: permitted,
        inheritable: if req.ambient {
            keep & current.permitted
        } else {
            0
        },
        ambient: if req.ambient { keep } else { 0 },
    };
    check_capset(current, &target)?;
    Ok(target)
}

/// capset's own rules (security/commoncap.c cap_capset) and the ambient
/// invariant, checked against the sets as they are when the capset runs:
/// the current E/P/I and the target bounding set. (Holding CAP_SETPCAP would
/// lift the I ⊆ I ∪ P rule; not relying on it keeps the check simple and
/// never wrong.)
fn check_capset(current: &Sets, target: &Sets) -> Result<(), String> {
    let first = |mask: Mask| each(mask).next().map(Name);
    if let Some(cap) = first(target.effective & !target.permitted) {
        return Err(format!(
            "effective {cap} is not in the permitted set (capset requires E within P)"
        ));
    }
    if let Some(cap) = first(target.permitted & !current.permitted) {
        return Err(format!(
            "permitted {cap} is not held: capset cannot add to the permitted set"
        ));
    }
    let allowed = current.inheritable | (current.permitted & target.bounding);
    if let Some(cap) = first(target.inheritable & !allowed) {
        return Err(format!(
            "inheritable {cap} can only be set when already inheritable, or permitted and in the bounding set"
        ));
    }
    if let Some(cap) = first(target.ambient & !(target.permitted & target.inheritable)) {
        return Err(format!(
            "ambient {cap} needs it in both the permitted and the inheritable set"
        ));
    }
    Ok(())
}

/// One privileged step of [`apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// capset of these sets' E, P and I, only adding CAP_SETPCAP to E.
    RaiseSetpcap(Sets),
    /// capset of the E, P and I of these sets (the sets as they are after
    /// it, ambient included).
    Capset(Sets),
    BoundingDrop(u8),
    AmbientClearAll,
    AmbientRaise(u8),
}

/// The syscalls that take `current` to `target`, in the kernel's order;
/// none for what is already so.
fn steps(current: &Sets, target: &Sets) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut now = *current;
    let drops = current.bounding & !target.bounding;
    if drops != 0 && now.effective & bit(SETPCAP) == 0 && now.permitted & bit(SETPCAP) != 0 {
        // Only SETPCAP is needed for the drops: raise just that one.
        now.effective |= bit(SETPCAP);
        steps.push(Step::RaiseSetpcap(now));
    }
    steps.extend(each(drops).map(Step::BoundingDrop));
    now.bounding &= !drops;
    let epi = |s: &Sets| (s.effective, s.permitted, s.inheritable);
    if epi(&now) != epi(target) {
        now.effective = target.effective;
        now.permitted = target.permitted;
        now.inheritable = target.inheritable;
        // The kernel drops an ambient capability that leaves P or I.
        now.ambient &= now.permitted & now.inheritable;
        steps.push(Step::Capset(now));
    }
    let mut raise = target.ambient & !now.ambient;
    if now.ambient & !target.ambient != 0 {
        steps.push(Step::AmbientClearAll);
        raise = target.ambient;
    }
    steps.extend(each(raise).map(Step::AmbientRaise));
    steps
}

/// Sets `target` (from [`plan`]) in the kernel's order: bounding drops while
/// CAP_SETPCAP is still effective, then E/P/I in one capset, then the
/// ambient set once P and I hold its capabilities. Steps that would change
/// nothing are skipped, so an unchanged target costs no syscall.
pub fn apply(current: &Sets, target: &Sets, last: u8) -> chain::Result<()> {
    for step in steps(current, target) {
        match step {
            Step::RaiseSetpcap(sets) => {
                // PR_CAPBSET_DROP checks CAP_SETPCAP in E, and it is only in P.
                sys(
                    "capset",
                    format_args!("effective+={} (for the bounding drops)", Name(SETPCAP)),
                    || capset(&sets),
                )?;
            }
            Step::Capset(sets) => {
                // One call: the kernel checks E ⊆ P against the new P.
                sys(
                    "capset",
                    format_args!(
                        "effective={} permitted={} inheritable={}",
                        Brief(sets.effective, last),
                        Brief(sets.permitted, last),
                        Brief(sets.inheritable, last)
                    ),
                    || capset(&sets),
                )?;
            }
            Step::BoundingDrop(cap) => {
                // Before the capset, which may take CAP_SETPCAP out of E.
                sys(
                    "prctl",
                    format_args!("PR_CAPBSET_DROP {}", Name(cap)),
                    || prctl(libc::PR_CAPBSET_DROP, cap.into(), 0).map(drop),
                )?;
            }
            Step::AmbientClearAll => {
                // Ambient capabilities the target does not keep must go
                // before the exec turns them into P' and E'.
                sys("prctl", "PR_CAP_AMBIENT_CLEAR_ALL", || {
                    prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as _, 0).map(drop)
                })?;
            }
            Step::AmbientRaise(cap) => {
                // After the capset: raising needs the capability in P and I.
                sys(
                    "prctl",
                    format_args!("PR_CAP_AMBIENT_RAISE {}", Name(cap)),
                    || {
                        prctl(
                            libc::PR_CAP_AMBIENT,
                            libc::PR_CAP_AMBIENT_RAISE as _,
                            cap.into(),
                        )
                        .map(drop)
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// What a plain program (no file capabilities, not set-user-ID or
/// set-group-ID) holds right after execve from a process with `target`, by
/// capabilities(7):
///
/// ```text
/// P'(ambient)     = (file is privileged) ? 0 : P(ambient)
/// P'(permitted)   = (P(inheritable) & F(inheritable)) | (F(permitted) & P(bounding)) | P'(ambient)
/// P'(effective)   = F(effective) ? P'(permitted) : P'(ambient)
/// P'(inheritable) = P(inheritable)
/// P'(bounding)    = P(bounding)
/// ```
///
/// A plain file is not privileged, so the ambient set passes unchanged. For
/// root (`root`: euid 0 and no `SECBIT_NOROOT`) the kernel treats the file
/// sets and the effective bit as all ones, so P' = E' = I | bounding |
/// ambient. For anyone else the file sets are empty, so P' = E' = ambient.
/// (A process with only its real uid 0 also gets root's P' but E' =
/// ambient; the chain does not produce that case, and `root` does not
/// describe it.)
pub fn after_exec(target: &Sets, root: bool) -> Sets {
    let permitted = if root {
        target.inheritable | target.bounding | target.ambient
    } else {
        target.ambient
    };
    Sets {
        bounding: target.bounding,
        permitted,
        effective: permitted,
        inheritable: target.inheritable,
        ambient: target.ambient,
    }
}

/// The five sets by name, one line each, for `-v`.
pub fn describe(sets: &Sets, last: u8) -> Vec<String> {
    [
        ("bounding", sets.bounding),
        ("permitted", sets.permitted),
        ("effective", sets.effective),
        ("inheritable", sets.inheritable),
        ("ambient", sets.ambient),
    ]
    .iter()
    .map(|(set, mask)| format!("{set}: {}", names(*mask, last)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAST: u8 = 40;

    fn mask(list: &str) -> Mask {
        parse_list(list, LAST).unwrap().0
    }

    /// uid 0 with everything, as a container's init starts.
    fn root_sets() -> Sets {
        Sets {
            bounding: all(LAST),
            permitted: all(LAST),
            effective: all(LAST),
            ..Sets::default()
        }
    }

    /// A non-root uid that kept its permitted set over setresuid
    /// (PR_SET_KEEPCAPS): the uid change cleared E.
    fn kept_sets() -> Sets {
        Sets {
            effective: 0,
            ..root_sets()
        }
    }

    fn req(base: Option<Mask>, drop: &str, add: &str) -> Request {
        Request {
            base,
            drop: if drop.is_empty() { 0 } else { mask(drop) },
            add: if add.is_empty() { 0 } else { mask(add) },
            ..Request::default()
        }
    }

    #[test]
    fn names_table_matches_kernel_numbers() {
        assert_eq!(NAMES[0], "CAP_CHOWN");
        assert_eq!(NAMES[8], "CAP_SETPCAP");
        assert_eq!(NAMES[21], "CAP_SYS_ADMIN");
        assert_eq!(NAMES[27], "CAP_MKNOD");
        assert_eq!(NAMES[31], "CAP_SETFCAP");
        assert_eq!(NAMES[39], "CAP_BPF");
        assert_eq!(NAMES[40], "CAP_CHECKPOINT_RESTORE");
        assert!(NAMES.iter().all(|n| n.starts_with("CAP_")));
    }

    #[test]
    fn all_covers_zero_to_last() {
        assert_eq!(all(0), 1);
        assert_eq!(all(40), 0x1ff_ffff_ffff);
        assert_eq!(all(63), Mask::MAX);
        assert_eq!(all(200), Mask::MAX);
    }

    #[test]
    fn last_cap_is_plausible() {
        let last = last_cap();
        assert!((30..=MAX_CAP).contains(&last), "{last}");
    }

    #[test]
    fn parse_accepts_every_spelling() {
        assert_eq!(
            parse_list("net_admin,CAP_SYS_ADMIN,Chown", LAST),
            Ok((bit(12) | bit(21) | bit(0), false))
        );
        assert_eq!(parse_list("cap_kill", LAST), Ok((bit(5), false)));
        assert_eq!(parse_list("Cap_Kill", LAST), Ok((bit(5), false)));
        assert_eq!(
            parse_list(" kill , mknod ", LAST),
            Ok((bit(5) | bit(27), false))
        );
        assert_eq!(parse_list("kill,KILL", LAST), Ok((bit(5), false)));
    }

    #[test]
    fn parse_all() {
        assert_eq!(parse_list("ALL", LAST), Ok((all(LAST), true)));
        assert_eq!(parse_list("all", 39), Ok((all(39), true)));
        assert_eq!(parse_list("chown,All", LAST), Ok((all(LAST), true)));
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            parse_list("foo", LAST),
            Err("unknown capability 'foo'".into())
        );
        assert_eq!(
            parse_list("chown,cap_", LAST),
            Err("unknown capability 'cap_'".into())
        );
        assert_eq!(
            parse_list("CAP_ALL", LAST),
            Err("unknown capability 'CAP_ALL'".into())
        );
        assert_eq!(
            parse_list("chown,checkpoint_restore", 39),
            Err("CAP_CHECKPOINT_RESTORE is not known to this kernel (cap_last_cap is 39)".into())
        );
        assert_eq!(
            parse_list("chown,,kill", LAST),
            Err("empty item in capability list 'chown,,kill'".into())
        );
        assert!(parse_list("", LAST).is_err());
        assert!(parse_list("chown,", LAST).is_err());
        assert!(parse_list(" , ", LAST).is_err());
    }

    #[test]
    fn names_lists_none_all_and_members() {
        assert_eq!(names(0, LAST), "none");
        assert_eq!(names(all(LAST), LAST), "all");
        assert_eq!(names(all(39), 39), "all");
        assert_eq!(names(bit(0) | bit(5), LAST), "CAP_CHOWN,CAP_KILL");
        // A subset of this kernel's set is listed, not called "all".
        assert_eq!(names(all(LAST) & !bit(40), LAST).split(',').count(), 40);
        // Beyond the table: a number, not a panic.
        assert_eq!(names(bit(41) | bit(0), 42), "CAP_CHOWN,CAP_41");
    }

    #[test]
    fn brief_names_what_is_missing_when_shorter() {
        let brief = |m: Mask| Brief(m, LAST).to_string();
        assert_eq!(brief(0), "none");
        assert_eq!(brief(all(LAST)), "all");
        assert_eq!(brief(all(LAST) & !bit(MKNOD)), "all but CAP_MKNOD");
        assert_eq!(brief(bit(KILL)), "CAP_KILL");
    }

    #[test]
    fn docker_default_is_mobys_fourteen() {
        assert_eq!(DOCKER_DEFAULT.count_ones(), 14);
        assert_eq!(
            names(DOCKER_DEFAULT, LAST),
            "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_SETGID,CAP_SETUID,\
             CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_CHROOT,CAP_MKNOD,\
             CAP_AUDIT_WRITE,CAP_SETFCAP"
        );
    }

    #[test]
    fn empty_request_changes_nothing() {
        assert!(Request::default().is_empty());
        assert!(!req(None, "kill", "").is_empty());
        assert!(
            !Request {
                ambient: true,
                ..Request::default()
            }
            .is_empty()
        );
        assert!(
            !Request {
                drop_all: true,
                ..Request::default()
            }
            .is_empty()
        );
        let odd = Sets {
            bounding: mask("chown,kill"),
            permitted: mask("kill"),
            effective: 0,
            inheritable: mask("kill"),
            ambient: mask("kill"),
        };
        assert_eq!(plan(&odd, true, &Request::default(), false, LAST), Ok(odd));
        assert_eq!(steps(&odd, &odd), vec![]);
    }

    #[test]
    fn root_keeps_bounding_minus_drops() {
        let target = plan(
            &root_sets(),
            false,
            &req(None, "sys_admin,net_raw", ""),
            true,
            LAST,
        )
        .unwrap();
        let keep = all(LAST) & !mask("sys_admin,net_raw");
        assert_eq!(
            target,
            Sets {
                bounding: keep,
                permitted: keep,
                effective: keep,
                inheritable: 0,
                ambient: 0,
            }
        );
    }

    #[test]
    fn root_starts_from_bounding_not_permitted() {
        // Root with a lowered P still gets the bounding set back at exec.
        let current = Sets {
            permitted: mask("chown"),
            effective: mask("chown"),
            bounding: mask("chown,kill,setpcap"),
            ..Sets::default()
        };
        let target = plan(&current, false, &req(None, "setpcap", ""), true, LAST);
        assert_eq!(
            target,
            Err(
                "dropping from the bounding set needs CAP_SETPCAP, which this process lacks".into()
            )
        );
        let current = Sets {
            permitted: mask("chown,setpcap"),
            ..current
        };
        let target = plan(&current, false, &req(None, "setpcap", ""), true, LAST).unwrap();
        assert_eq!(target.bounding, mask("chown,kill"));
        assert_eq!(target.permitted, mask("chown"));
        assert_eq!(after_exec(&target, true).permitted, mask("chown,kill"));
    }

    #[test]
    fn base_is_exact_and_adds_win_over_drops() {
        let r = req(Some(DOCKER_DEFAULT), "mknod,kill", "kill,sys_ptrace");
        let target = plan(&root_sets(), false, &r, true, LAST).unwrap();
        let keep = (DOCKER_DEFAULT & !bit(MKNOD)) | bit(19);
        assert_eq!(target.bounding, keep);
        assert_eq!(target.permitted, keep);
        assert_eq!(target.effective, keep);
        assert_eq!(target.inheritable, 0);
    }

    #[test]
    fn drop_all_then_add() {
        let r = Request {
            base: Some(DOCKER_DEFAULT),
            drop_all: true,
            add: mask("net_bind_service"),
            ..Request::default()
        };
        let target = plan(&root_sets(), false, &r, true, LAST).unwrap();
        assert_eq!(target.bounding, bit(NET_BIND_SERVICE));
        assert_eq!(target.effective, bit(NET_BIND_SERVICE));
        let r = Request {
            drop_all: true,
            ..Request::default()
        };
        assert_eq!(
            plan(&root_sets(), false, &r, true, LAST).unwrap(),
            Sets::default()
        );
    }

    #[test]
    fn non_root_starts_from_permitted() {
        let current = Sets {
            bounding: all(LAST),
            permitted: mask("chown,kill,setpcap"),
            ..Sets::default()
        };
        let target = plan(&current, false, &req(None, "chown", ""), false, LAST).unwrap();
        assert_eq!(target.bounding, mask("kill,setpcap"));
        assert_eq!(target.permitted, mask("kill,setpcap"));
        assert_eq!(target.effective, mask("kill,setpcap"));
        // Without ambient the exec leaves a non-root program nothing.
        assert_eq!(after_exec(&target, false).permitted, 0);
    }

    #[test]
    fn kept_cap_must_be_in_bounding() {
        let current = Sets {
            bounding: all(LAST) & !bit(24),
            ..root_sets()
        };
        assert_eq!(
            plan(&current, false, &req(None, "", "sys_resource"), true, LAST),
            Err(
                "cannot keep CAP_SYS_RESOURCE: the bounding set no longer has it, and nothing can put it back"
                    .into()
            )
        );
    }

    #[test]
    fn kept_cap_must_be_known() {
        let r = req(Some(bit(40)), "", "");
        assert_eq!(
            plan(&root_sets(), false, &r, true, 39),
            Err("cannot keep CAP_CHECKPOINT_RESTORE: it is not known to this kernel (cap_last_cap is 39)".into())
        );
    }

    #[test]
    fn non_root_cannot_keep_what_it_lacks() {
        let current = Sets {
            bounding: all(LAST),
            permitted: mask("kill,setpcap"),
            ..Sets::default()
        };
        assert_eq!(
            plan(&current, false, &req(None, "", "net_admin"), false, LAST),
            Err("cannot keep CAP_NET_ADMIN: this process (uid != 0) does not hold it".into())
        );
        // Root may: exec gives it the bounding set back.
        let root = Sets {
            permitted: all(LAST),
            ..current
        };
        assert!(plan(&root, false, &req(None, "", "net_admin"), true, LAST).is_ok());
    }

    #[test]
    fn bounding_drop_needs_setpcap_in_permitted() {
        let current = Sets {
            bounding: all(LAST),
            permitted: mask("kill"),
            effective: mask("kill"),
            ..Sets::default()
        };
        assert_eq!(
            plan(&current, false, &req(None, "", ""), false, LAST),
            Ok(current),
            "empty request"
        );
        // Not root: the bounding set stays (the caller sets no_new_privs).
        assert_eq!(
            plan(
                &current,
                false,
                &req(Some(mask("kill")), "", ""),
                false,
                LAST
            ),
            Ok(current)
        );
        // Root gets the bounding set back at exec: it must shrink.
        let root = Sets {
            permitted: mask("kill"),
            ..current
        };
        assert_eq!(
            plan(&root, false, &req(Some(mask("kill")), "", ""), true, LAST),
            Err(
                "dropping from the bounding set needs CAP_SETPCAP, which this process lacks".into()
            )
        );
        // Nothing to drop: no CAP_SETPCAP needed.
        let narrow = Sets {
            bounding: mask("kill"),
            ..current
        };
        assert_eq!(
            plan(&narrow, false, &req(None, "", "kill"), false, LAST),
            Ok(Sets {
                inheritable: 0,
                ..narrow
            })
        );
    }

    #[test]
    fn ambient_keeps_across_non_root_exec() {
        let r = Request {
            ambient: true,
            ..req(Some(DOCKER_DEFAULT), "mknod", "")
        };
        let keep = DOCKER_DEFAULT & !bit(MKNOD);
        let target = plan(&kept_sets(), false, &r, false, LAST).unwrap();
        assert_eq!(
            target,
            Sets {
                bounding: keep,
                permitted: keep,
                effective: keep,
                inheritable: keep,
                ambient: keep,
            }
        );
        let exec = after_exec(&target, false);
        assert_eq!(exec.permitted, keep);
        assert_eq!(exec.effective, keep);
    }

    #[test]
    fn ambient_needs_permitted() {
        // Root whose P was lowered: K may come from the bounding set, but
        // ambient needs the capability held now.
        let current = Sets {
            permitted: mask("chown,setpcap"),
            effective: mask("chown,setpcap"),
            ..root_sets()
        };
        let r = Request {
            ambient: true,
            ..req(Some(mask("chown,kill")), "", "")
        };
        assert_eq!(
            plan(&current, false, &r, true, LAST),
            Err("ambient CAP_KILL needs it in the permitted set".into())
        );
    }

    #[test]
    fn ambient_refused_by_securebit() {
        let r = Request {
            ambient: true,
            ..req(Some(mask("kill")), "", "")
        };
        assert_eq!(
            plan(&root_sets(), true, &r, true, LAST),
            Err(
                "ambient capabilities cannot be raised: securebit SECBIT_NO_CAP_AMBIENT_RAISE is set"
                    .into()
            )
        );
        // Nothing to raise: the securebit does not matter.
        let none = Request {
            ambient: true,
            drop_all: true,
            ..Request::default()
        };
        assert_eq!(
            plan(&root_sets(), true, &none, true, LAST),
            Ok(Sets::default())
        );
    }

    #[test]
    fn inherited_inheritable_and_ambient_are_cleared() {
        let current = Sets {
            inheritable: mask("kill"),
            ambient: mask("kill"),
            ..root_sets()
        };
        let target = plan(&current, false, &req(None, "mknod", ""), true, LAST).unwrap();
        assert_eq!(target.inheritable, 0);
        assert_eq!(target.ambient, 0);
    }

    #[test]
    fn capset_rules() {
        let current = Sets {
            bounding: mask("chown,kill"),
            permitted: mask("chown"),
            inheritable: mask("mknod"),
            ..Sets::default()
        };
        let ok = Sets {
            permitted: mask("chown"),
            effective: mask("chown"),
            inheritable: mask("chown,mknod"),
            ambient: mask("chown"),
            ..current
        };
        assert_eq!(check_capset(&current, &ok), Ok(()));
        let e_not_in_p = Sets {
            effective: mask("chown,kill"),
            ..ok
        };
        assert!(
            check_capset(&current, &e_not_in_p)
                .unwrap_err()
                .contains("effective CAP_KILL")
        );
        let p_grows = Sets {
            permitted: mask("chown,kill"),
            ..ok
        };
        assert!(
            check_capset(&current, &p_grows)
                .unwrap_err()
                .contains("permitted CAP_KILL")
        );
        let i_outside = Sets {
            inheritable: mask("kill"),
            ..ok
        };
        assert!(
            check_capset(&current, &i_outside)
                .unwrap_err()
                .contains("inheritable CAP_KILL")
        );
        // Permitted but dropped from the bounding set first: capset refuses.
        let dropped = Sets {
            bounding: mask("kill"),
            ..ok
        };
        assert!(
            check_capset(&current, &dropped)
                .unwrap_err()
                .contains("inheritable CAP_CHOWN")
        );
        let ambient_alone = Sets {
            inheritable: mask("mknod"),
            ..ok
        };
        assert!(
            check_capset(&current, &ambient_alone)
                .unwrap_err()
                .contains("ambient CAP_CHOWN")
        );
    }

    #[test]
    fn steps_follow_the_kernel_order() {
        // Root, Docker's default minus MKNOD: drops, then one capset.
        let current = root_sets();
        let target = plan(
            &current,
            false,
            &req(Some(DOCKER_DEFAULT), "mknod", ""),
            true,
            LAST,
        )
        .unwrap();
        let s = steps(&current, &target);
        let drops = all(LAST) & !target.bounding;
        assert_eq!(s.len(), drops.count_ones() as usize + 1);
        assert!(
            s[..s.len() - 1]
                .iter()
                .all(|s| matches!(s, Step::BoundingDrop(_)))
        );
        assert_eq!(s.last(), Some(&Step::Capset(target)));

        // Kept over setresuid: SETPCAP raised first, ambient last.
        let current = kept_sets();
        let r = Request {
            ambient: true,
            ..req(Some(DOCKER_DEFAULT), "mknod", "")
        };
        let target = plan(&current, false, &r, false, LAST).unwrap();
        let s = steps(&current, &target);
        assert_eq!(
            s[0],
            Step::RaiseSetpcap(Sets {
                effective: bit(SETPCAP),
                ..current
            })
        );
        assert!(matches!(s[1], Step::BoundingDrop(_)));
        let capset_at = s.iter().position(|s| matches!(s, Step::Capset(_))).unwrap();
        assert_eq!(capset_at, 1 + drops.count_ones() as usize);
        let raises: Vec<_> = s[capset_at + 1..].to_vec();
        assert_eq!(
            raises,
            each(target.ambient)
                .map(Step::AmbientRaise)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn steps_skip_what_is_already_so() {
        let target = Sets {
            bounding: mask("kill"),
            permitted: mask("kill"),
            effective: mask("kill"),
            inheritable: mask("kill"),
            ambient: mask("kill"),
        };
        assert_eq!(steps(&target, &target), vec![]);
        // Ambient to clear, nothing else: one prctl.
        let cleared = Sets {
            ambient: 0,
            ..target
        };
        assert_eq!(steps(&target, &cleared), vec![Step::AmbientClearAll]);
        // Lowering I takes the ambient capability with it: no prctl.
        let lowered = Sets {
            inheritable: 0,
            ambient: 0,
            ..target
        };
        assert_eq!(steps(&target, &lowered), vec![Step::Capset(lowered)]);
        // SETPCAP already effective: no extra capset before the drops.
        let current = root_sets();
        let target = Sets {
            bounding: all(LAST) & !bit(MKNOD),
            ..current
        };
        assert_eq!(steps(&current, &target), vec![Step::BoundingDrop(MKNOD)]);
    }

    #[test]
    fn after_exec_root_gets_bounding_and_inheritable() {
        let target = Sets {
            bounding: mask("chown,kill"),
            permitted: 0,
            effective: 0,
            inheritable: mask("mknod"),
            ambient: 0,
        };
        assert_eq!(
            after_exec(&target, true),
            Sets {
                bounding: mask("chown,kill"),
                permitted: mask("chown,kill,mknod"),
                effective: mask("chown,kill,mknod"),
                inheritable: mask("mknod"),
                ambient: 0,
            }
        );
    }

    #[test]
    fn after_exec_non_root_gets_ambient_only() {
        let target = Sets {
            bounding: all(LAST),
            permitted: mask("chown,kill"),
            effective: mask("chown,kill"),
            inheritable: mask("kill"),
            ambient: mask("kill"),
        };
        assert_eq!(
            after_exec(&target, false),
            Sets {
                bounding: all(LAST),
                permitted: mask("kill"),
                effective: mask("kill"),
                inheritable: mask("kill"),
                ambient: mask("kill"),
            }
        );
    }

    #[test]
    fn describe_five_lines() {
        let sets = Sets {
            bounding: all(LAST),
            permitted: mask("chown,kill"),
            effective: mask("kill"),
            inheritable: 0,
            ambient: 0,
        };
        assert_eq!(
            describe(&sets, LAST),
            vec![
                "bounding: all",
                "permitted: CAP_CHOWN,CAP_KILL",
                "effective: CAP_KILL",
                "inheritable: none",
                "ambient: none",
            ]
        );
    }

    /// read() needs no privilege; it must agree with /proc/self/status.
    #[test]
    fn read_matches_proc_status() {
        let last = last_cap();
        let (sets, _) = read(last).unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let field = |key: &str| {
            let line = status.lines().find(|l| l.starts_with(key)).unwrap();
            Mask::from_str_radix(line[key.len()..].trim(), 16).unwrap()
        };
        assert_eq!(sets.bounding, field("CapBnd:"));
        assert_eq!(sets.permitted, field("CapPrm:"));
        assert_eq!(sets.effective, field("CapEff:"));
        assert_eq!(sets.inheritable, field("CapInh:"));
        assert_eq!(sets.ambient, field("CapAmb:"));
    }
}
