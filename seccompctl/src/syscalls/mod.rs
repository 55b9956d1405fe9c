//! System call names and numbers for the three ABIs an x86_64 kernel runs:
//! x86_64, i386 (`Arch::X86`) and x32.
//!
//! A seccomp filter sees only `seccomp_data.nr`, so turning a profile's
//! names into a filter needs the number the kernel puts there for each ABI.
//! We keep those numbers as committed data rather than asking libc or
//! libseccomp at build time: the filter must match the kernel's tables, not
//! whatever headers the build machine happens to have, and the data stays
//! reviewable in a diff when it changes.
//!
//! The tables are generated from the kernel's own x86 syscall tables
//! ([`SOURCE`] names the exact files and commits):
//!
//! * `x86_64.rs`: rows of `syscall_64.tbl` with ABI `common` or `64`;
//! * `x32.rs`: rows of `syscall_64.tbl` with ABI `common` or `x32`, with
//!   `__X32_SYSCALL_BIT` (0x4000_0000) set, since an x32 task enters the
//!   kernel with that bit in the number and the filter sees it;
//! * `i386.rs`: every row of `syscall_32.tbl`.
//!
//! Reserved numbers without an entry point (`afs_syscall`, `tuxcall`, ...) are
//! kept, since profiles list them and the filter must be able to name them.
//!
//! The i386 table was read from the `tools/perf` copy of `syscall_32.tbl`
//! because that was the newest mainline version of the file at hand; perf
//! keeps that copy identical to `arch/x86/entry/syscalls/syscall_32.tbl`.
//!
//! To regenerate, from the workspace root, with the two kernel tables saved
//! as `/tmp/syscall_64.tbl` and `/tmp/syscall_32.tbl`:
//!
//! ```text
//! python3 seccompctl/tools/gen-syscalls.py /tmp/syscall_64.tbl /tmp/syscall_32.tbl \
//!     seccompctl/src/syscalls \
//!     "Linux mainline (torvalds/linux): arch/x86/entry/syscalls/syscall_64.tbl at 7237cb3e1544718a972b732e66ebcf0f63b128a5, tools/perf/arch/x86/entry/syscalls/syscall_32.tbl at 220ed690436e919a523bd8cd0ca803268025d4b6"
//! ```
//!
//! When moving to a newer kernel, take both files from one commit, say so in
//! the label, and copy the label into [`SOURCE`]; the unit tests pin numbers
//! that must never change and check that `SOURCE` matches the files.

mod i386;
mod names;
mod x32;
mod x86_64;

use crate::profile::Arch;

/// Where the tables come from (the label given to the generator). Kept by
/// hand in step with the generated files; a unit test checks that each of
/// them names the same source in its header.
pub const SOURCE: &str = "Linux mainline (torvalds/linux): arch/x86/entry/syscalls/syscall_64.tbl at 7237cb3e1544718a972b732e66ebcf0f63b128a5, tools/perf/arch/x86/entry/syscalls/syscall_32.tbl at 220ed690436e919a523bd8cd0ca803268025d4b6";

/// A name-sorted table: what binary search by name runs over.
type ByName = &'static [(&'static str, u32)];
/// A number-sorted table: what binary search by number runs over; each
/// name is its index in the architecture's [`ByName`] table (no pointer, so
/// no load-time relocation per row).
type ByNumber = &'static [(u32, u16)];

/// Both lookup tables of an architecture; empty for `Arch::Other`, which a
/// profile may name but this crate never compiles a filter for.
fn tables(arch: &Arch) -> (ByName, ByNumber) {
    match arch {
        Arch::X86_64 => (x86_64::TABLE, x86_64::BY_NUMBER),
        Arch::X86 => (i386::TABLE, i386::BY_NUMBER),
        Arch::X32 => (x32::TABLE, x32::BY_NUMBER),
        Arch::Other(_) => (&[], &[]),
    }
}

/// The name-sorted table of an architecture (empty for `Arch::Other`).
pub fn table(arch: &Arch) -> &'static [(&'static str, u32)] {
    tables(arch).0
}

/// The number a filter sees for `name` on `arch` (x32 numbers include
/// 0x4000_0000), or `None` if that ABI has no such call.
pub fn number(arch: &Arch, name: &str) -> Option<u32> {
    let table = table(arch);
    table
        .binary_search_by(|&(n, _)| cmp_bytes(n.as_bytes(), name.as_bytes()))
        .ok()
        .map(|i| table[i].1)
}

/// Linux system calls that exist only on architectures other than the
/// three x86 ABIs (arm, powerpc, s390, mips, riscv, alpha, ...), sorted.
/// Real profiles list them (Docker's default has recv, send and
/// riscv_hwprobe in its big group; podman's has pciconfig_*, swapcontext,
/// syscall and timerfd too), so `--strict`, which is there to catch a
/// misspelt name, skips them like the non-strict mode does. The names are
/// those of libseccomp 2.5.4's table (Debian 12's seccomp-syscalls.h)
/// that the x86 tables here lack, and riscv_hwprobe (Linux 6.4).
#[rustfmt::skip]
pub const OTHER_ARCHES_ONLY: &[&str] = &[
    "arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cachectl", "cacheflush",
    "get_tls", "multiplexer", "pciconfig_iobase", "pciconfig_read", "pciconfig_write", "recv",
    "riscv_flush_icache", "riscv_hwprobe", "rtas", "s390_guarded_storage", "s390_pci_mmio_read",
    "s390_pci_mmio_write", "s390_runtime_instr", "s390_sthyi", "send", "set_tls", "spu_create",
    "spu_run", "subpage_prot", "swapcontext", "switch_endian", "sync_file_range2",
    "sys_debug_setcontext", "syscall", "sysmips", "timerfd", "usr26", "usr32",
];

/// Whether `name` is a system call of another architecture only
/// ([`OTHER_ARCHES_ONLY`]).
pub fn on_other_arches_only(name: &str) -> bool {
    OTHER_ARCHES_ONLY.binary_search(&name).is_ok()
}

/// The numbers of `name` on every ABI at once, in the order of
/// [`ABI_ORDER`] (u32::MAX where the ABI lacks it): one search per name of
/// a profile instead of one per name and ABI.
pub fn numbers(name: &str) -> Option<[u32; 3]> {
    let table = names::NUMBERS;
    table
        .binary_search_by(|&(n, _)| cmp_bytes(n.as_bytes(), name.as_bytes()))
        .ok()
        .map(|i| table[i].1)
}

/// The ABIs of [`numbers`], in order.
pub const ABI_ORDER: [Arch; 3] = [Arch::X86_64, Arch::X86, Arch::X32];

/// `number(arch, name)` from the result of [`numbers`].
pub fn pick(all: Option<[u32; 3]>, arch: &Arch) -> Option<u32> {
    let i = ABI_ORDER.iter().position(|a| a == arch)?;
    all.map(|n| n[i]).filter(|&n| n != u32::MAX)
}

/// Byte order, as `str::cmp`, but inlined: musl's memcmp is a call and a
/// byte loop, and a profile's names take thousands of comparisons.
fn cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The name of a number on `arch`, e.g. to explain a filtered call in a
/// diagnostic.
pub fn name(arch: &Arch, nr: u32) -> Option<&'static str> {
    let (by_name, by_number) = tables(arch);
    by_number
        .binary_search_by_key(&nr, |&(n, _)| n)
        .ok()
        .map(|i| by_name[usize::from(by_number[i].1)].0)
}

/// The highest number of the architecture's table: a filter can treat
/// anything above it as a call this table does not know.
pub fn highest(arch: &Arch) -> Option<u32> {
    tables(arch).1.last().map(|&(n, _)| n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_merged_table_agrees_with_each_abi() {
        for arch in ABI_ORDER {
            for &(name, nr) in table(&arch) {
                assert_eq!(pick(numbers(name), &arch), Some(nr), "{arch:?} {name}");
            }
        }
        for &(name, nrs) in names::NUMBERS {
            for (i, arch) in ABI_ORDER.iter().enumerate() {
                assert_eq!(
                    number(arch, name),
                    (nrs[i] != u32::MAX).then_some(nrs[i]),
                    "{name}"
                );
            }
        }
        assert_eq!(numbers("no_such_call"), None);
    }

    #[test]
    fn the_other_architectures_names_are_sorted_and_not_x86s() {
        for pair in OTHER_ARCHES_ONLY.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        for name in OTHER_ARCHES_ONLY {
            assert_eq!(numbers(name), None, "{name} is an x86 call");
            assert!(on_other_arches_only(name));
        }
        assert!(!on_other_arches_only("recvfrom") && !on_other_arches_only("recvv"));
    }

    use super::*;

    const X32_BIT: u32 = 0x4000_0000;
    const ARCHES: [Arch; 3] = [Arch::X86_64, Arch::X86, Arch::X32];

    #[test]
    fn x86_64_numbers() {
        let a = Arch::X86_64;
        for (n, nr) in [
            ("read", 0),
            ("socket", 41),
            ("execve", 59),
            ("getuid", 102),
            ("personality", 135),
            ("afs_syscall", 183),
            ("execveat", 322),
            ("clone3", 435),
            ("process_mrelease", 448),
            ("futex_waitv", 449),
        ] {
            assert_eq!(number(&a, n), Some(nr), "{n}");
        }
        // The x32-only rows 512..=547 must not leak into the 64-bit ABI.
        assert_eq!(number(&a, "readv"), Some(19));
        assert_eq!(name(&a, 515), None);
    }

    #[test]
    fn i386_numbers() {
        let a = Arch::X86;
        for (n, nr) in [
            ("execve", 11),
            ("getpid", 20),
            ("socketcall", 102),
            ("afs_syscall", 137),
            ("socket", 359),
        ] {
            assert_eq!(number(&a, n), Some(nr), "{n}");
        }
    }

    #[test]
    fn x32_numbers() {
        let a = Arch::X32;
        assert_eq!(number(&a, "read"), Some(X32_BIT));
        assert_eq!(number(&a, "getpid"), Some(X32_BIT | 39));
        // Calls renumbered for x32 count only under their x32 row.
        assert_eq!(number(&a, "execve"), Some(X32_BIT | 520));
        assert_eq!(number(&a, "readv"), Some(X32_BIT | 515));
        assert_eq!(name(&a, X32_BIT | 59), None);
        // Rows marked "64" (here a reserved one) do not exist for x32.
        assert_eq!(number(&a, "uselib"), None);
        assert!(table(&a).iter().all(|&(_, nr)| nr & X32_BIT != 0));
    }

    #[test]
    fn only_x32_has_the_x32_bit() {
        for a in [Arch::X86_64, Arch::X86] {
            assert!(table(&a).iter().all(|&(_, nr)| nr & X32_BIT == 0), "{a:?}");
        }
    }

    #[test]
    fn tables_are_sorted_and_agree() {
        for a in ARCHES {
            let (by_name, by_number) = tables(&a);
            assert!(!by_name.is_empty(), "{a:?}");
            // Strictly increasing, so binary search is valid and keys unique.
            assert!(by_name.windows(2).all(|w| w[0].0 < w[1].0), "{a:?}");
            assert!(by_number.windows(2).all(|w| w[0].0 < w[1].0), "{a:?}");
            assert_eq!(by_name.len(), by_number.len(), "{a:?}");
        }
    }

    #[test]
    fn name_and_number_round_trip() {
        for a in ARCHES {
            for &(n, nr) in table(&a) {
                assert_eq!(number(&a, n), Some(nr), "{a:?} {n}");
                assert_eq!(name(&a, nr), Some(n), "{a:?} {nr}");
            }
        }
    }

    #[test]
    fn highest_is_the_last_number() {
        for a in ARCHES {
            let max = table(&a).iter().map(|&(_, nr)| nr).max();
            assert_eq!(highest(&a), max, "{a:?}");
        }
        assert_eq!(highest(&Arch::X32), Some(X32_BIT | 547));
    }

    #[test]
    fn unknown_names_and_numbers() {
        for a in ARCHES {
            assert_eq!(number(&a, ""), None);
            assert_eq!(number(&a, "no_such_syscall"), None);
            assert_eq!(name(&a, u32::MAX), None);
        }
    }

    #[test]
    fn other_arch_is_empty() {
        let a = Arch::Other("SCMP_ARCH_AARCH64".to_string());
        assert!(table(&a).is_empty());
        assert_eq!(number(&a, "read"), None);
        assert_eq!(name(&a, 0), None);
        assert_eq!(highest(&a), None);
    }

    #[test]
    fn generated_files_name_this_source() {
        // The generator writes the label into each file's header; if the
        // tables were regenerated from other inputs, SOURCE must follow.
        for (file, text) in [
            ("x86_64.rs", include_str!("x86_64.rs")),
            ("i386.rs", include_str!("i386.rs")),
            ("x32.rs", include_str!("x32.rs")),
        ] {
            let header = format!("\n// {SOURCE}\n");
            assert!(text.contains(&header), "{file} does not name {SOURCE:?}");
        }
    }
}
