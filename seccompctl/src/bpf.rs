//! Classic BPF as seccomp uses it: the instruction, the opcodes a filter
//! may use, the kernel's structural rules (checked before loading), the
//! raw byte form (`--dump-raw`, bwrap `--seccomp`) and a readable listing
//! (`--dump`). Pure.

use std::fmt::Write as _;

/// `struct sock_filter` (C layout: the kernel reads the program as is).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Opcode parts (linux/bpf_common.h).
pub const LD: u16 = 0x00;
pub const ALU: u16 = 0x04;
pub const JMP: u16 = 0x05;
pub const RET: u16 = 0x06;
pub const W: u16 = 0x00;
pub const ABS: u16 = 0x20;
pub const K: u16 = 0x00;
pub const AND: u16 = 0x50;
pub const JA: u16 = 0x00;
pub const JEQ: u16 = 0x10;
pub const JGT: u16 = 0x20;
pub const JGE: u16 = 0x30;
pub const JSET: u16 = 0x40;

pub const LD_W_ABS: u16 = LD | W | ABS;
pub const ALU_AND_K: u16 = ALU | AND | K;
pub const JMP_JA: u16 = JMP | JA;
pub const JMP_JEQ_K: u16 = JMP | JEQ | K;
pub const JMP_JGT_K: u16 = JMP | JGT | K;
pub const JMP_JGE_K: u16 = JMP | JGE | K;
pub const JMP_JSET_K: u16 = JMP | JSET | K;
pub const RET_K: u16 = RET | K;

/// `struct seccomp_data` offsets (little-endian x86: the low half of an
/// argument comes first).
pub const OFF_NR: u32 = 0;
pub const OFF_ARCH: u32 = 4;
pub const OFF_IP: u32 = 8;
pub const SECCOMP_DATA_LEN: u32 = 64;
pub fn off_arg_lo(i: u8) -> u32 {
    16 + 8 * u32::from(i)
}
pub fn off_arg_hi(i: u8) -> u32 {
    off_arg_lo(i) + 4
}

/// The kernel's limit on one filter program (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// `AUDIT_ARCH_*` values of the three x86 ABIs.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// The bit an x32 call sets in `nr` (its arch value is x86_64's).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

impl Insn {
    pub fn stmt(code: u16, k: u32) -> Insn {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }
    pub fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }
}

/// The structural rules the kernel's checker (and seccomp's own) apply,
/// restricted to what a seccomp filter may contain: a length of 1..=4096,
/// known opcodes, aligned loads inside `seccomp_data`, jumps that land
/// inside the program, and a return at the end.
pub fn verify(prog: &[Insn]) -> Result<(), String> {
    if prog.is_empty() {
        return Err("the filter is empty".into());
    }
    if prog.len() > MAX_INSNS {
        return Err(format!(
            "the filter has {} instructions; the kernel takes at most {MAX_INSNS} in one program",
            prog.len()
        ));
    }
    let len = prog.len();
    for (pc, insn) in prog.iter().enumerate() {
        let lands = |off: u64| pc as u64 + 1 + off < len as u64;
        match insn.code {
            LD_W_ABS => {
                if insn.k % 4 != 0 || insn.k >= SECCOMP_DATA_LEN {
                    return Err(format!(
                        "insn {pc}: load at {} is outside seccomp_data or unaligned",
                        insn.k
                    ));
                }
            }
            ALU_AND_K | RET_K => {}
            JMP_JA => {
                if !lands(u64::from(insn.k)) {
                    return Err(format!("insn {pc}: jump past the end"));
                }
            }
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                if !lands(u64::from(insn.jt)) || !lands(u64::from(insn.jf)) {
                    return Err(format!("insn {pc}: jump past the end"));
                }
            }
            code => {
                return Err(format!(
                    "insn {pc}: opcode {code:#06x} is not used in seccomp filters here"
                ));
            }
        }
    }
    if prog[len - 1].code != RET_K {
        return Err("the filter does not end with a return".into());
    }
    Ok(())
}

/// The program as the kernel takes it: 8 bytes per instruction, native
/// endian (what `bwrap --seccomp FD` and `setpriv --seccomp-filter` read).
pub fn to_bytes(prog: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

pub fn from_bytes(bytes: &[u8]) -> Result<Vec<Insn>, String> {
    if !bytes.len().is_multiple_of(8) {
        return Err(format!(
            "{} bytes is not a whole number of instructions",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

fn load_name(k: u32) -> String {
    match k {
        OFF_NR => "nr".into(),
        OFF_ARCH => "arch".into(),
        OFF_IP => "ip (low)".into(),
        12 => "ip (high)".into(),
        k if (16..64).contains(&k) => {
            let i = (k - 16) / 8;
            let half = if (k - 16) % 8 == 0 { "low" } else { "high" };
            format!("a{i} ({half})")
        }
        k => format!("[{k}]"),
    }
}

/// A readable listing, one instruction a line, with jump targets as
/// absolute line numbers and the return values by name; `notes` (from the
/// compiler) are appended as comments.
pub fn disassemble(prog: &[Insn], notes: &[Option<String>]) -> String {
    let mut out = String::new();
    for (pc, insn) in prog.iter().enumerate() {
        let to = |off: u64| pc as u64 + 1 + off;
        let text = match insn.code {
            LD_W_ABS => format!("ld   [{}]  {}", insn.k, load_name(insn.k)),
            ALU_AND_K => format!("and  #{:#x}", insn.k),
            JMP_JA => format!("ja   {:04}", to(u64::from(insn.k))),
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                let op = match insn.code {
                    JMP_JEQ_K => "jeq ",
                    JMP_JGT_K => "jgt ",
                    JMP_JGE_K => "jge ",
                    _ => "jset",
                };
                format!(
                    "{op} #{:#x}  true {:04} false {:04}",
                    insn.k,
                    to(u64::from(insn.jt)),
                    to(u64::from(insn.jf))
                )
            }
            RET_K => format!("ret  {}", crate::action::Action::from_ret(insn.k)),
            code => format!(".word {code:#06x} {} {} {:#x}", insn.jt, insn.jf, insn.k),
        };
        let _ = write!(out, "{pc:04}: {text}");
        if let Some(Some(note)) = notes.get(pc) {
            let _ = write!(out, "  ; {note}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_rules() {
        let ret = Insn::stmt(RET_K, 0x7fff_0000);
        assert!(verify(&[ret]).is_ok());
        assert!(verify(&[]).is_err());
        assert!(
            verify(&[Insn::stmt(LD_W_ABS, 4)])
                .unwrap_err()
                .contains("return")
        );
        assert!(verify(&[Insn::stmt(LD_W_ABS, 3), ret]).is_err());
        assert!(verify(&[Insn::stmt(LD_W_ABS, 64), ret]).is_err());
        assert!(verify(&[Insn::jump(JMP_JEQ_K, 1, 0, 1), ret]).is_err());
        assert!(verify(&[Insn::jump(JMP_JEQ_K, 1, 0, 0), ret]).is_ok());
        assert!(verify(&[Insn::stmt(JMP_JA, 1), ret]).is_err());
        assert!(verify(&[Insn::stmt(0x07, 0), ret]).is_err()); // MISC TAX
        let long = vec![ret; MAX_INSNS + 1];
        assert!(verify(&long).unwrap_err().contains("at most 4096"));
    }

    #[test]
    fn bytes_round_trip() {
        let prog = [
            Insn::jump(JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 2),
            Insn::stmt(RET_K, 5),
        ];
        let bytes = to_bytes(&prog);
        assert_eq!(bytes.len(), 16);
        assert_eq!(from_bytes(&bytes).unwrap(), prog);
        assert!(from_bytes(&bytes[..7]).is_err());
    }

    #[test]
    fn listing_names_targets_and_actions() {
        let prog = [
            Insn::stmt(LD_W_ABS, OFF_ARCH),
            Insn::jump(JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
            Insn::stmt(RET_K, 0x8000_0000),
            Insn::stmt(LD_W_ABS, off_arg_hi(1)),
            Insn::stmt(RET_K, 0x0005_0001),
        ];
        let text = disassemble(&prog, &[None, Some("x86_64".into())]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "0000: ld   [4]  arch");
        assert_eq!(
            lines[1],
            "0001: jeq  #0xc000003e  true 0003 false 0002  ; x86_64"
        );
        assert_eq!(lines[2], "0002: ret  kill-process");
        assert_eq!(lines[3], "0003: ld   [28]  a1 (high)");
        assert_eq!(lines[4], "0004: ret  errno:EPERM");
    }
}
