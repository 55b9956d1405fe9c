//! A classic-BPF interpreter for seccomp programs: what the kernel computes
//! for one call. seccompctl runs its compiled program here on the execve it
//! is about to make before loading it, `--test` answers with it, and the
//! tests check the compiler against the filter model with it. Pure.

use crate::bpf::*;

/// `struct seccomp_data` of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Call {
    fn word(&self, off: u32) -> u32 {
        let lo = |v: u64| v as u32;
        let hi = |v: u64| (v >> 32) as u32;
        match off {
            OFF_NR => self.nr,
            OFF_ARCH => self.arch,
            8 => lo(self.ip),
            12 => hi(self.ip),
            o => {
                let i = ((o - 16) / 8) as usize;
                if (o - 16) % 8 == 0 {
                    lo(self.args[i])
                } else {
                    hi(self.args[i])
                }
            }
        }
    }
}

/// Runs a program that [`verify`] accepted; returns the filter's value and
/// the number of instructions executed.
pub fn run(prog: &[Insn], call: &Call) -> (u32, usize) {
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0usize;
    while pc < prog.len() {
        let insn = prog[pc];
        steps += 1;
        let mut next = pc + 1;
        match insn.code {
            LD_W_ABS => acc = call.word(insn.k),
            ALU_AND_K => acc &= insn.k,
            JMP_JA => next += insn.k as usize,
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                let taken = match insn.code {
                    JMP_JEQ_K => acc == insn.k,
                    JMP_JGT_K => acc > insn.k,
                    JMP_JGE_K => acc >= insn.k,
                    _ => acc & insn.k != 0,
                };
                next += usize::from(if taken { insn.jt } else { insn.jf });
            }
            RET_K => return (insn.k, steps),
            // verify() admits nothing else; the kernel kills on garbage.
            _ => return (crate::action::RET_KILL_PROCESS, steps),
        }
        pc = next;
    }
    (crate::action::RET_KILL_PROCESS, steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_halves_and_jumps() {
        // ret ALLOW if a1's high half is 0x12 and its low half & 0xf0 == 0x30.
        let prog = [
            Insn::stmt(LD_W_ABS, off_arg_hi(1)),
            Insn::jump(JMP_JEQ_K, 0x12, 0, 3),
            Insn::stmt(LD_W_ABS, off_arg_lo(1)),
            Insn::stmt(ALU_AND_K, 0xf0),
            Insn::jump(JMP_JEQ_K, 0x30, 1, 0),
            Insn::stmt(RET_K, 0x0005_0001),
            Insn::stmt(RET_K, 0x7fff_0000),
        ];
        verify(&prog).unwrap();
        let call = |a1: u64| Call {
            nr: 0,
            arch: AUDIT_ARCH_X86_64,
            ip: 0,
            args: [0, a1, 0, 0, 0, 0],
        };
        assert_eq!(run(&prog, &call(0x12_0000_0035)).0, 0x7fff_0000);
        assert_eq!(run(&prog, &call(0x12_0000_0045)).0, 0x0005_0001);
        assert_eq!(run(&prog, &call(0x13_0000_0035)).0, 0x0005_0001);
        assert_eq!(run(&prog, &call(0x12_0000_0035)).1, 6);
    }
}
