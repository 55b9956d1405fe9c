//! How a chain tool recognises another one before it execs it: every tool
//! carries an ELF note (name `chain`, type 1), which the linker places in a
//! PT_NOTE segment at the start of the file, so that one read of the first
//! page tells whether the next program honours the chain's conventions
//! (today: it collects late helper answers before it execs the workload, see
//! [`crate::late`]).
//!
//! A name or a path would not do: a user's own program may be called
//! `pivot`, and trusting it would start the workload before its network is
//! wired. A program without the note is treated as a workload.

use std::os::unix::fs::FileExt;

/// The note's type, and its descriptor: the version of the conventions.
const NOTE_TYPE: u32 = 1;
const NOTE_NAME: &[u8] = b"chain\0";
const VERSION: u32 = 1;

/// An ELF note record: name size, descriptor size, type, then the name and
/// the descriptor, each padded to 4 bytes.
#[repr(C, align(4))]
pub struct ElfNote {
    namesz: u32,
    descsz: u32,
    kind: u32,
    name: [u8; 8],
    desc: [u8; 4],
}

/// The note itself. A section named `.note.*` becomes SHT_NOTE, and the
/// linker puts note sections into a PT_NOTE segment near the file's start.
#[used]
#[unsafe(link_section = ".note.chain")]
pub static CHAIN_NOTE: ElfNote = ElfNote {
    namesz: NOTE_NAME.len() as u32,
    descsz: 4,
    kind: NOTE_TYPE,
    name: *b"chain\0\0\0",
    desc: VERSION.to_ne_bytes(),
};

/// Keeps the note in the binary: the linker drops unreferenced sections.
/// Called once by [`crate::cli::main`].
pub fn keep() {
    std::hint::black_box(&CHAIN_NOTE);
}

/// How much of a file is read: the ELF header, the program headers and the
/// notes of a static binary all sit in its first page.
const HEAD: usize = 4096;

/// Whether the file is a chain tool (carries the note). Any error (not
/// readable, not ELF, the note not in the first page) means no.
pub fn file_is_chain_tool(file: &std::fs::File) -> bool {
    let mut head = vec![0u8; HEAD];
    let mut got = 0;
    while got < HEAD {
        match file.read_at(&mut head[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    has_chain_note(&head[..got])
}

/// Opens `path` without side effects (non-blocking, and only a regular file
/// is read) and looks for the note.
pub fn path_is_chain_tool(path: &std::path::Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
    else {
        return false;
    };
    match file.metadata() {
        Ok(m) if m.is_file() => file_is_chain_tool(&file),
        _ => false,
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Whether the start of an ELF64 little-endian file holds the chain note in
/// one of its PT_NOTE segments. Pure: bytes in, answer out.
pub fn has_chain_note(head: &[u8]) -> bool {
    note_version(head) == Some(VERSION)
}

fn note_version(head: &[u8]) -> Option<u32> {
    const PT_NOTE: u32 = 4;
    if head.get(..6)? != b"\x7fELF\x02\x01" {
        return None; // not ELF64 little-endian
    }
    let phoff = usize::try_from(u64_at(head, 0x20)?).ok()?;
    let phentsize = usize::from(u16_at(head, 0x36)?);
    let phnum = usize::from(u16_at(head, 0x38)?);
    if phentsize < 56 {
        return None;
    }
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(head, ph)? != PT_NOTE {
            continue;
        }
        let offset = usize::try_from(u64_at(head, ph.checked_add(8)?)?).ok()?;
        let size = usize::try_from(u64_at(head, ph.checked_add(0x20)?)?).ok()?;
        let align = if u64_at(head, ph.checked_add(0x30)?)? == 8 {
            8
        } else {
            4
        };
        let Some(notes) = offset
            .checked_add(size)
            .and_then(|end| head.get(offset..end))
        else {
            continue; // beyond the first page: not ours
        };
        if let Some(v) = find_in_notes(notes, align) {
            return Some(v);
        }
    }
    None
}

fn find_in_notes(mut notes: &[u8], align: usize) -> Option<u32> {
    let pad = |n: usize| n.checked_add(align - 1).map(|n| n & !(align - 1));
    while notes.len() >= 12 {
        let namesz = u32_at(notes, 0)? as usize;
        let descsz = u32_at(notes, 4)? as usize;
        let kind = u32_at(notes, 8)?;
        let name = notes.get(12..12usize.checked_add(namesz)?)?;
        let desc_start = 12usize.checked_add(pad(namesz)?)?;
        let desc = notes.get(desc_start..desc_start.checked_add(descsz)?)?;
        if name == NOTE_NAME && kind == NOTE_TYPE && desc.len() >= 4 {
            return u32_at(desc, 0);
        }
        notes = notes.get(desc_start.checked_add(pad(descsz)?)?.min(notes.len())..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF64 header with one PT_NOTE program header pointing at `notes`.
    fn elf_with_notes(notes: &[u8], align: u64) -> Vec<u8> {
        let mut f = vec![0u8; 64 + 56];
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = 64;
        f[ph..ph + 4].copy_from_slice(&4u32.to_le_bytes()); // PT_NOTE
        f[ph + 8..ph + 16].copy_from_slice(&(120u64).to_le_bytes()); // p_offset
        f[ph + 0x20..ph + 0x28].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        f[ph + 0x30..ph + 0x38].copy_from_slice(&align.to_le_bytes());
        f.extend_from_slice(notes);
        f
    }

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend((name.len() as u32).to_le_bytes());
        n.extend((desc.len() as u32).to_le_bytes());
        n.extend(kind.to_le_bytes());
        n.extend(name);
        n.resize(n.len().next_multiple_of(4), 0);
        n.extend(desc);
        n.resize(n.len().next_multiple_of(4), 0);
        n
    }

    #[test]
    fn finds_the_note_after_others() {
        let build_id = note(b"GNU\0", 3, &[0xab; 20]);
        let ours = note(b"chain\0", 1, &1u32.to_le_bytes());
        let notes = [build_id, ours].concat();
        assert!(has_chain_note(&elf_with_notes(&notes, 4)));
    }

    #[test]
    fn refuses_lookalikes() {
        let v1 = 1u32.to_le_bytes();
        for notes in [
            note(b"chain\0", 2, &v1),                 // other type
            note(b"chainx\0", 1, &v1),                // other name
            note(b"chain\0", 1, &2u32.to_le_bytes()), // other version
            note(b"chain\0", 1, &[1]),                // short descriptor
            note(b"GNU\0", 1, &v1),
        ] {
            assert!(!has_chain_note(&elf_with_notes(&notes, 4)));
        }
        let ours = note(b"chain\0", 1, &v1);
        let mut elf = elf_with_notes(&ours, 4);
        elf[4] = 1; // ELF32
        assert!(!has_chain_note(&elf));
        assert!(!has_chain_note(b"#!/bin/sh\nexec true\n"));
        assert!(!has_chain_note(b""));
        // A segment that reaches past what was read is not looked into.
        let mut cut = elf_with_notes(&ours, 4);
        cut.truncate(cut.len() - 4);
        assert!(!has_chain_note(&cut));
    }

    #[test]
    fn survives_every_truncation_and_garbage() {
        let ours = note(b"chain\0", 1, &1u32.to_le_bytes());
        let elf = elf_with_notes(&ours, 4);
        for n in 0..elf.len() {
            assert!(!has_chain_note(&elf[..n]));
        }
        let mut bad = elf.clone();
        bad[120..124].copy_from_slice(&u32::MAX.to_le_bytes()); // namesz
        assert!(!has_chain_note(&bad));
        let mut bad = elf.clone();
        bad[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes()); // e_phoff
        assert!(!has_chain_note(&bad));
        // Program headers claimed beyond what was read end the search.
        let mut many = elf;
        many[0x38..0x3a].copy_from_slice(&u16::MAX.to_le_bytes()); // e_phnum
        many[64..68].copy_from_slice(&1u32.to_le_bytes()); // the first is PT_LOAD
        assert!(!has_chain_note(&many));
    }

    #[test]
    fn this_test_binary_is_a_chain_tool_and_sh_is_not() {
        keep();
        let me = std::env::current_exe().unwrap();
        assert!(path_is_chain_tool(&me), "{}", me.display());
        assert!(!path_is_chain_tool(std::path::Path::new("/bin/sh")));
        assert!(!path_is_chain_tool(std::path::Path::new("/dev/null")));
        assert!(!path_is_chain_tool(std::path::Path::new("/no/such/file")));
    }
}
