//! The filter model: an evaluated (plain OCI) profile resolved against the
//! syscall tables of each architecture, per call number. It is what the
//! compiler turns into BPF and what the tests check the compiled program
//! against: [`Filter::decide`] is the reference answer for any call. Pure.
//!
//! Semantics, chosen to match runc/crun on real profiles and written down
//! here once:
//! - An entry's `args` are ANDed; when one argument index appears twice in
//!   an entry, each comparison becomes a rule of its own (ORed), as runc
//!   and crun do.
//! - For one call, conditional rules are tried in profile order and the
//!   first that holds decides; then the first unconditional rule; then
//!   the default action.
//! - A call number above the highest one the profile names on that
//!   architecture gets ENOSYS instead of the default action (unless the
//!   default lets calls through): libc falls back from newer calls (clone3,
//!   faccessat2, openat2, close_range) only on ENOSYS.
//! - An architecture the profile does not list gets the default action, or
//!   ENOSYS when the default lets calls through: an `int 0x80` call must
//!   never slip past a deny-list written for x86_64 numbers.

use crate::action::{Action, ENOSYS};
use crate::bpf::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::profile::{Arch, Arg, Profile};
use crate::syscalls;
use std::collections::BTreeMap;

/// Where "newer than the profile" starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewerThan {
    /// Above the highest number the profile names (runc's rule): a profile
    /// file is a list written against some kernel's calls.
    Profile,
    /// Above the highest number of our tables: a few command-line rules say
    /// nothing about which calls their author knew.
    Tables,
}

/// One rule: all comparisons hold -> `action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub args: Vec<Arg>,
    pub action: Action,
}

/// What one call number gets: conditional rules in order, then `otherwise`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Body {
    pub rules: Vec<Rule>,
    pub otherwise: Action,
}

/// A range of call numbers of one section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The calls of one ABI: listed numbers, the highest number the
    /// profile names (above it: ENOSYS), the ABI's name for listings.
    Calls {
        arch: Arch,
        calls: BTreeMap<u32, Body>,
        highest: Option<u32>,
    },
    /// Every number in the range gets this action.
    Fixed(Action),
}

/// The calls of one `AUDIT_ARCH_*` value, as ranges of numbers in order
/// covering 0..=u32::MAX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub audit: u32,
    pub name: &'static str,
    pub parts: Vec<(u32, u32, Part)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub default: Action,
    /// For architectures the profile does not list.
    pub bad_arch: Action,
    /// For numbers above the highest named one.
    pub newer: Action,
    pub sections: Vec<Section>,
    /// Names skipped because an architecture lacks them: (arch, name).
    pub skipped: Vec<(Arch, String)>,
    /// Architectures of the profile that an x86_64 kernel does not run.
    pub foreign_arches: Vec<String>,
}

/// The rules of one entry, expanded the runc/crun way.
fn entry_rules(args: &[Arg], action: Action) -> Vec<Rule> {
    let mut seen = [false; 6];
    let repeats = args
        .iter()
        .any(|a| std::mem::replace(&mut seen[usize::from(a.index)], true));
    if repeats {
        args.iter()
            .map(|a| Rule {
                args: vec![*a],
                action,
            })
            .collect()
    } else {
        vec![Rule {
            args: args.to_vec(),
            action,
        }]
    }
}

impl Filter {
    /// Resolves an evaluated profile. `strict`: a name that no architecture
    /// of the profile knows is an error instead of a skipped name (unless
    /// it is a call of another architecture only, which real profiles
    /// list: those are skipped either way).
    /// `newer_than`: where ENOSYS for newer calls starts.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn resolve(
        profile: &Profile,
        strict: bool,
        newer_than: NewerThan,
    ) -> Result<Filter, String> {
        Filter::resolve_noting(profile, strict, newer_than, false)
    }

    /// [`Filter::resolve`], also listing the names an architecture lacks
    /// (for `-v`) when `want_skipped`.
    pub fn resolve_noting(
        profile: &Profile,
        strict: bool,
        newer_than: NewerThan,
        want_skipped: bool,
    ) -> Result<Filter, String> {
        let default = profile.default_action;
        let lets_through = default.lets_through();
        let fallback = if lets_through {
            Action::Errno(ENOSYS)
        } else {
            default
        };
        let newer = if lets_through {
            default
        } else {
            Action::Errno(ENOSYS)
        };
        let mut arches: Vec<Arch> = Vec::new();
        let mut foreign_arches = Vec::new();
        let listed = if profile.architectures.is_empty() {
            // OCI: no list means the native architecture only.
            vec![Arch::X86_64]
        } else {
            profile.architectures.clone()
        };
        for a in listed {
            match a {
                Arch::Other(name) => foreign_arches.push(name),
                a if !arches.contains(&a) => arches.push(a),
                _ => {}
            }
        }
        let mut skipped = Vec::new();
        let mut unknown_everywhere = Vec::new();
        // Per architecture, per number: the conditional rules in order and
        // the first unconditional action.
        #[derive(Default, Clone)]
        struct Slot {
            uncond: Option<Action>,
            named: bool,
        }
        // The few conditional rules, by (arch index, number), in order.
        let mut conditional: Vec<(usize, u32, Rule)> = Vec::new();
        let size =
            |a: &Arch| syscalls::highest(a).map_or(0, |h| (h & !X32_SYSCALL_BIT) as usize + 1);
        let mut slots: Vec<Vec<Slot>> = arches
            .iter()
            .map(|a| vec![Slot::default(); size(a)])
            .collect();
        for entry in &profile.syscalls {
            let rules = if entry.args.is_empty() {
                Vec::new()
            } else {
                entry_rules(&entry.args, entry.action)
            };
            for name in &entry.names {
                let mut known = false;
                let all = syscalls::numbers(name);
                for (a, arch) in arches.iter().enumerate() {
                    let Some(nr) = syscalls::pick(all, arch) else {
                        if want_skipped {
                            skipped.push((arch.clone(), name.to_string()));
                        }
                        continue;
                    };
                    known = true;
                    let slot = &mut slots[a][(nr & !X32_SYSCALL_BIT) as usize];
                    slot.named = true;
                    if entry.args.is_empty() {
                        slot.uncond.get_or_insert(entry.action);
                    } else {
                        conditional.extend(rules.iter().map(|r| (a, nr, r.clone())));
                    }
                }
                // A name of another architecture only is no typo.
                if !known && !arches.is_empty() && strict && !syscalls::on_other_arches_only(name) {
                    unknown_everywhere.push(name.to_string());
                }
            }
        }
        if strict && !unknown_everywhere.is_empty() {
            unknown_everywhere.sort();
            unknown_everywhere.dedup();
            return Err(format!(
                "--strict: no architecture of the filter has {}",
                unknown_everywhere.join(", ")
            ));
        }
        let mut tables: BTreeMap<Arch, (BTreeMap<u32, Body>, Option<u32>)> = BTreeMap::new();
        for (a, arch) in arches.iter().enumerate() {
            let base = if *arch == Arch::X32 {
                X32_SYSCALL_BIT
            } else {
                0
            };
            let mut calls = BTreeMap::new();
            let mut highest = None;
            for (i, slot) in slots[a].iter().enumerate() {
                if !slot.named {
                    continue;
                }
                let nr = base | i as u32;
                highest = Some(nr);
                let otherwise = slot.uncond.unwrap_or(default);
                let rules: Vec<Rule> = conditional
                    .iter()
                    .filter(|(ca, cnr, _)| *ca == a && *cnr == nr)
                    .map(|(_, _, r)| r.clone())
                    .collect();
                // A rule that repeats an earlier one can never be the first
                // to hold.
                let mut seen: Vec<&Rule> = Vec::new();
                let mut unique = Vec::with_capacity(rules.len());
                for r in &rules {
                    if !seen.contains(&r) {
                        seen.push(r);
                        unique.push(r.clone());
                    }
                }
                let mut rules = unique;
                // Trailing rules that end where falling through ends change nothing.
                while rules.last().is_some_and(|r| r.action == otherwise) {
                    rules.pop();
                }
                // A number whose body is the default is as good as unlisted.
                if !(rules.is_empty() && otherwise == default) {
                    calls.insert(nr, Body { rules, otherwise });
                }
            }
            if newer_than == NewerThan::Tables {
                highest = syscalls::highest(arch);
            }
            tables.insert(arch.clone(), (calls, highest));
        }
        let part =
            |arch: &Arch, tables: &mut BTreeMap<Arch, (BTreeMap<u32, Body>, Option<u32>)>| {
                tables.remove(arch).map(|(calls, highest)| Part::Calls {
                    arch: arch.clone(),
                    calls,
                    highest,
                })
            };
        let mut sections = Vec::new();
        let native = part(&Arch::X86_64, &mut tables);
        let x32 = part(&Arch::X32, &mut tables);
        if native.is_some() || x32.is_some() {
            let mut parts = vec![(
                0,
                X32_SYSCALL_BIT - 1,
                native.unwrap_or(Part::Fixed(fallback)),
            )];
            match x32 {
                Some(p) => parts.push((X32_SYSCALL_BIT, u32::MAX, p)),
                None => {
                    parts.push((X32_SYSCALL_BIT, u32::MAX - 1, Part::Fixed(fallback)));
                    // nr -1 is what a tracer uses to skip a call; it is no x32 call.
                    parts.push((u32::MAX, u32::MAX, Part::Fixed(newer)));
                }
            }
            sections.push(Section {
                audit: AUDIT_ARCH_X86_64,
                name: "x86_64",
                parts,
            });
        }
        if let Some(p) = part(&Arch::X86, &mut tables) {
            sections.push(Section {
                audit: AUDIT_ARCH_I386,
                name: "i386",
                parts: vec![(0, u32::MAX, p)],
            });
        }
        Ok(Filter {
            default,
            bad_arch: fallback,
            newer,
            sections,
            skipped,
            foreign_arches,
        })
    }

    /// The action for one call: the reference the compiled program must
    /// agree with.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn decide(&self, audit: u32, nr: u32, args: &[u64; 6]) -> Action {
        let Some(section) = self.sections.iter().find(|s| s.audit == audit) else {
            return self.bad_arch;
        };
        let (_, _, part) = section
            .parts
            .iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&nr))
            .expect("parts cover every number");
        match part {
            Part::Fixed(action) => *action,
            Part::Calls { calls, highest, .. } => match calls.get(&nr) {
                Some(body) => body
                    .rules
                    .iter()
                    .find(|r| r.args.iter().all(|a| a.holds(args[usize::from(a.index)])))
                    .map_or(body.otherwise, |r| r.action),
                None if highest.is_none_or(|h| nr > h) => self.newer,
                None => self.default,
            },
        }
    }

    /// Every number the filter lists, with its section (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn listed(&self) -> Vec<(u32, u32, &Body)> {
        let mut out = Vec::new();
        for s in &self.sections {
            for (_, _, p) in &s.parts {
                if let Part::Calls { calls, .. } = p {
                    out.extend(calls.iter().map(|(nr, b)| (s.audit, *nr, b)));
                }
            }
        }
        out
    }
}
