//! The eBPF that cgctl's device policy compiles to, on cgroup v2: the few
//! instructions [`crate::devices::Policy::compile`] emits, their 8-byte
//! encoding, a readable listing, an interpreter for the unit tests, and
//! the one step that is not pure: [`load_and_attach`], which hands a
//! program to the kernel (bpf(2) BPF_PROG_LOAD, BPF_PROG_ATTACH).
//!
//! A BPF_PROG_TYPE_CGROUP_DEVICE program runs on every open(2) and mknod(2)
//! of a device node by a process of the group (and of its descendants). It
//! gets `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! in r1, `access_type` being `(access << 16) | type` (type: block 1, char 2;
//! access: mknod 1, read 2, write 4), and returns 1 to allow, 0 to deny
//! (EPERM).
//!
//! Only the instructions below exist here: 32-bit loads from the context,
//! 32-bit register moves, shifts and masks, compare-with-immediate jumps
//! (forward only) and exit. The kernel's verifier checks the rest.

use chain::{Error, Result, sys};
use nix::errno::Errno;
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `struct bpf_insn`: one eBPF instruction as the kernel reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// The opcode: class | operation | source.
    pub code: u8,
    /// Destination register in the low nibble, source in the high one (the
    /// kernel's bit fields `dst_reg:4, src_reg:4` on a little-endian CPU).
    pub regs: u8,
    /// Jump offset (in instructions, from the next one) or memory offset.
    pub off: i16,
    /// The immediate operand.
    pub imm: i32,
}

// Instruction classes, operations and sources (linux/bpf_common.h, linux/bpf.h).
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04; // 32-bit ALU: results are zero-extended to 64 bits
const BPF_JMP: u8 = 0x05; // 64-bit compares
const BPF_W: u8 = 0x00; // 32-bit memory access
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00; // operand is imm
const BPF_X: u8 = 0x08; // operand is the source register
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_MOV: u8 = 0xb0;
const BPF_JEQ: u8 = 0x10;
const BPF_JSET: u8 = 0x40;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

pub const LDX_W: u8 = BPF_LDX | BPF_MEM | BPF_W;
pub const MOV32_REG: u8 = BPF_ALU | BPF_MOV | BPF_X;
pub const MOV32_IMM: u8 = BPF_ALU | BPF_MOV | BPF_K;
pub const RSH32_IMM: u8 = BPF_ALU | BPF_RSH | BPF_K;
pub const AND32_IMM: u8 = BPF_ALU | BPF_AND | BPF_K;
pub const JEQ_IMM: u8 = BPF_JMP | BPF_JEQ | BPF_K;
pub const JNE_IMM: u8 = BPF_JMP | BPF_JNE | BPF_K;
pub const JSET_IMM: u8 = BPF_JMP | BPF_JSET | BPF_K;
pub const EXIT: u8 = BPF_JMP | BPF_EXIT;

/// `struct bpf_cgroup_dev_ctx` field offsets.
pub const CTX_ACCESS_TYPE: i16 = 0;
pub const CTX_MAJOR: i16 = 4;
pub const CTX_MINOR: i16 = 8;

/// A register number, r0..r10.
pub type Reg = u8;

fn insn(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
    let regs = if cfg!(target_endian = "little") {
        dst | (src << 4)
    } else {
        (dst << 4) | src
    };
    Insn {
        code,
        regs,
        off,
        imm,
    }
}

impl Insn {
    pub fn dst(&self) -> Reg {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    pub fn src(&self) -> Reg {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }

    /// `dst = *(u32 *)(src + off)`
    pub fn load32(dst: Reg, src: Reg, off: i16) -> Insn {
        insn(LDX_W, dst, src, off, 0)
    }

    /// `dst = src` (32 bits)
    pub fn mov32(dst: Reg, src: Reg) -> Insn {
        insn(MOV32_REG, dst, src, 0, 0)
    }

    /// `dst = imm` (32 bits)
    pub fn mov32_imm(dst: Reg, imm: i32) -> Insn {
        insn(MOV32_IMM, dst, 0, 0, imm)
    }

    /// `dst >>= imm` (32 bits)
    pub fn rsh32(dst: Reg, imm: i32) -> Insn {
        insn(RSH32_IMM, dst, 0, 0, imm)
    }

    /// `dst &= imm` (32 bits)
    pub fn and32(dst: Reg, imm: i32) -> Insn {
        insn(AND32_IMM, dst, 0, 0, imm)
    }

    #[cfg(test)] // used by the tests only
    /// `if dst == imm goto +off`
    pub fn jeq(dst: Reg, imm: i32, off: i16) -> Insn {
        insn(JEQ_IMM, dst, 0, off, imm)
    }

    /// `if dst != imm goto +off`
    pub fn jne(dst: Reg, imm: i32, off: i16) -> Insn {
        insn(JNE_IMM, dst, 0, off, imm)
    }

    /// `if dst & imm goto +off`
    pub fn jset(dst: Reg, imm: i32, off: i16) -> Insn {
        insn(JSET_IMM, dst, 0, off, imm)
    }

    pub fn exit() -> Insn {
        insn(EXIT, 0, 0, 0, 0)
    }
}

#[cfg(test)] // used by the tests only
/// The program as the kernel takes it: 8 bytes per instruction, native
/// byte order.
pub fn to_bytes(prog: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.push(i.code);
        out.push(i.regs);
        out.extend_from_slice(&i.off.to_ne_bytes());
        out.extend_from_slice(&i.imm.to_ne_bytes());
    }
    out
}

impl fmt::Display for Insn {
    /// The kernel's (bpftool's) notation; `w` for 32-bit register use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, s, off, imm) = (self.dst(), self.src(), self.off, self.imm);
        match self.code {
            LDX_W => write!(f, "r{d} = *(u32 *)(r{s} + {off})"),
            MOV32_REG => write!(f, "w{d} = w{s}"),
            MOV32_IMM => write!(f, "w{d} = {imm}"),
            RSH32_IMM => write!(f, "w{d} >>= {imm}"),
            AND32_IMM => write!(f, "w{d} &= {imm:#x}"),
            JEQ_IMM => write!(f, "if r{d} == {imm} goto +{off}"),
            JNE_IMM => write!(f, "if r{d} != {imm} goto +{off}"),
            JSET_IMM => write!(f, "if r{d} & {imm:#x} goto +{off}"),
            EXIT => f.write_str("exit"),
            code => write!(f, "(unknown opcode {code:#04x})"),
        }
    }
}

/// One instruction a line, numbered, with jump targets: for `-v` and for
/// test failures.
pub fn listing(prog: &[Insn]) -> String {
    let mut out = String::new();
    for (pc, i) in prog.iter().enumerate() {
        let target = match i.code {
            JEQ_IMM | JNE_IMM | JSET_IMM => format!("  -> {}", pc as i64 + 1 + i.off as i64),
            _ => String::new(),
        };
        out.push_str(&format!("{pc:3}: {i}{target}\n"));
    }
    out
}

/// Runs a program the way the kernel would, for exactly the instructions
/// above, on a device context (type, major, minor, access). Anything else
/// (another opcode, a backward or out-of-range jump, a read of a register
/// never written, a context load outside the struct) is an error, so a
/// compiler bug shows as a failed test rather than as a wrong answer.
#[cfg(test)]
pub fn run(prog: &[Insn], access_type: u32, major: u32, minor: u32) -> Result<u32, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Value {
        Unset,
        Ctx,
        Scalar(u64),
    }
    let mut regs = [Value::Unset; 11];
    regs[1] = Value::Ctx;
    let scalar = |regs: &[Value; 11], r: Reg, pc: usize| match regs.get(r as usize) {
        Some(Value::Scalar(v)) => Ok(*v),
        _ => Err(format!("{pc}: r{r} is not a number here")),
    };
    let mut pc = 0usize;
    loop {
        let i = prog
            .get(pc)
            .ok_or_else(|| format!("{pc}: ran off the end"))?;
        let (d, s) = (i.dst(), i.src());
        if d > 10 || s > 10 {
            return Err(format!("{pc}: no register {d} or {s}"));
        }
        let imm64 = i.imm as i64 as u64; // the kernel sign-extends imm
        let mut next = pc + 1;
        match i.code {
            LDX_W => {
                if regs[s as usize] != Value::Ctx {
                    return Err(format!("{pc}: load from r{s}, not the context"));
                }
                let field = match i.off {
                    CTX_ACCESS_TYPE => access_type,
                    CTX_MAJOR => major,
                    CTX_MINOR => minor,
                    off => return Err(format!("{pc}: context has no u32 at {off}")),
                };
                regs[d as usize] = Value::Scalar(field as u64);
            }
            MOV32_REG => {
                let v = scalar(&regs, s, pc)? as u32;
                regs[d as usize] = Value::Scalar(v as u64);
            }
            MOV32_IMM => regs[d as usize] = Value::Scalar(i.imm as u32 as u64),
            RSH32_IMM | AND32_IMM => {
                let v = scalar(&regs, d, pc)? as u32;
                let v = if i.code == RSH32_IMM {
                    if !(0..32).contains(&i.imm) {
                        return Err(format!("{pc}: shift by {}", i.imm));
                    }
                    v >> i.imm
                } else {
                    v & i.imm as u32
                };
                regs[d as usize] = Value::Scalar(v as u64);
            }
            JEQ_IMM | JNE_IMM | JSET_IMM => {
                if i.off < 0 {
                    return Err(format!("{pc}: backward jump"));
                }
                let v = scalar(&regs, d, pc)?;
                let taken = match i.code {
                    JEQ_IMM => v == imm64,
                    JNE_IMM => v != imm64,
                    _ => v & imm64 != 0,
                };
                if taken {
                    next = pc + 1 + i.off as usize;
                }
            }
            EXIT => return Ok(scalar(&regs, 0, pc)? as u32),
            code => return Err(format!("{pc}: opcode {code:#04x} is not one we emit")),
        }
        pc = next;
    }
}

// bpf(2) commands, types and flags (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The license the kernel records for the program. Only GPL-only helpers
/// care, and the program calls no helper at all.
const LICENSE: &[u8] = b"MIT\0";
/// The name `bpftool prog` shows (at most 15 bytes: [A-Za-z0-9_.]).
const PROG_NAME: &[u8] = b"cgctl_devices";
/// Room for the verifier's log when a load fails (the log of a rejected
/// program of this size is a few KiB).
const LOG_SIZE: usize = 64 * 1024;

/// `union bpf_attr` as BPF_PROG_LOAD reads it, up to the fields we set.
/// The kernel takes a shorter attr than its own and zeroes the rest.
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` as BPF_PROG_ATTACH reads it.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// bpf(2); libc has no wrapper.
///
/// SAFETY: `attr` must be the attr struct that `cmd` reads, and every
/// pointer in it must be valid for the call.
unsafe fn bpf<T>(cmd: libc::c_int, attr: &T) -> nix::Result<libc::c_long> {
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    Errno::result(ret)
}

/// One BPF_PROG_LOAD; with `log`, the verifier writes its log there.
fn prog_load(prog: &[Insn], log: Option<&mut [u8]>) -> nix::Result<OwnedFd> {
    let mut prog_name = [0u8; 16];
    prog_name[..PROG_NAME.len()].copy_from_slice(PROG_NAME);
    let (log_level, log_size, log_buf) = match log {
        Some(buf) => (1, buf.len() as u32, buf.as_mut_ptr() as u64),
        None => (0, 0, 0),
    };
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        log_level,
        log_size,
        log_buf,
        kern_version: 0,
        prog_flags: 0,
        prog_name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    // SAFETY: the attr is BPF_PROG_LOAD's; insns, license and log_buf
    // point to memory that lives through the call, of the sizes given.
    let fd = unsafe { bpf(BPF_PROG_LOAD, &attr)? };
    // SAFETY: the kernel just returned this fd to us; bpf(2) makes every
    // fd it returns close-on-exec.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// What the verifier said: the last line of its log that is not a
/// statistic ("processed N insns ...").
fn verifier_message(log: &[u8]) -> Option<String> {
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    String::from_utf8_lossy(&log[..end])
        .lines()
        .map(str::trim)
        .rfind(|l| {
            !l.is_empty() && !l.starts_with("processed ") && !l.starts_with("verification time")
        })
        .map(str::to_string)
}

/// Loads a device program into the kernel and returns its fd (BPF_PROG_LOAD
/// only: nothing is attached yet). When the kernel refuses the program,
/// the load is repeated with a log buffer and the verifier's message goes
/// into the error's hint (the first try has no log: logging costs the
/// verifier time on every successful load).
pub fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let what = format_args!(
        "BPF_PROG_LOAD cgroup device program ({} instructions)",
        prog.len()
    );
    // Why: the cgroup v2 device policy is an eBPF program; loading one
    // needs CAP_BPF or CAP_SYS_ADMIN in the initial user namespace.
    let first = sys("bpf", what, || prog_load(prog, None));
    let Err(err) = first else { return first };
    if err.errno == Some(Errno::EPERM) {
        return Err(err.with_hint(
            "loading a BPF program needs CAP_SYS_ADMIN or CAP_BPF in the initial user \
             namespace (bpf(2) is not namespaced); before Linux 5.11 it also needs \
             RLIMIT_MEMLOCK room",
        ));
    }
    let mut log = vec![0u8; LOG_SIZE];
    let second = prog_load(prog, Some(&mut log));
    if let Ok(fd) = second {
        // Refused, then accepted: a transient failure (ENOMEM, EAGAIN).
        return Ok(fd);
    }
    let errno = second.err().or(err.errno).unwrap_or(Errno::EINVAL);
    let hint = match verifier_message(&log) {
        Some(msg) => format!("the verifier said: {msg}"),
        None if errno == Errno::EINVAL => "this kernel may lack cgroup device programs \
                                           (Linux 4.15 with CONFIG_CGROUP_BPF)"
            .to_string(),
        None => return Err(Error::sys("bpf", what, errno)),
    };
    Err(Error::sys("bpf", what, errno).with_hint(hint))
}

/// The path of an fd, for messages (computed only when one is printed).
struct FdPath(RawFd);

impl fmt::Display for FdPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::fs::read_link(format!("/proc/self/fd/{}", self.0)) {
            Ok(path) => write!(f, "{}", path.display()),
            Err(_) => write!(f, "fd {}", self.0),
        }
    }
}

/// Attaches a loaded device program to a cgroup2 directory.
///
/// With BPF_F_ALLOW_MULTI, as systemd and runc attach theirs: the kernel
/// runs every program attached to the group and to its ancestors, and a
/// device access needs all of them to allow it. So a container manager
/// nested below (a runc, a systemd inside) can attach its own programs to
/// sub-groups, and those can only narrow ours. Without flags their attach
/// would fail (EPERM), and BPF_F_ALLOW_OVERRIDE would let theirs replace
/// ours for their sub-groups.
pub fn attach(cgroup_dir: BorrowedFd<'_>, prog: &OwnedFd) -> Result<()> {
    let attr = ProgAttachAttr {
        target_fd: cgroup_dir.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    let what = format_args!("BPF_PROG_ATTACH BPF_CGROUP_DEVICE BPF_F_ALLOW_MULTI");
    // Why: from now on every open and mknod of a device node by a process
    // of the group goes through the program.
    sys(
        "bpf",
        format_args!("{what} {}", FdPath(cgroup_dir.as_raw_fd())),
        || {
            // SAFETY: the attr is BPF_PROG_ATTACH's and holds no pointers.
            unsafe { bpf(BPF_PROG_ATTACH, &attr) }.map(drop)
        },
    )
    .map_err(|e| {
        e.with_hint_for(|errno| match errno {
            Errno::EBADF => Some(
                "not a cgroup2 directory: device programs attach to cgroup v2 only \
                 (on v1, write devices.deny and devices.allow)"
                    .into(),
            ),
            Errno::EPERM => Some(
                "an ancestor cgroup has a device program that allows none below it, \
                 or this process lacks CAP_NET_ADMIN or CAP_SYS_ADMIN"
                    .into(),
            ),
            Errno::E2BIG => Some(
                "the group has 64 programs already (a reused group collects one per \
                 run: remove it)"
                    .into(),
            ),
            _ => None,
        })
    })
}

/// Loads `prog` and attaches it to the cgroup2 directory `cgroup_dir`, then
/// closes the program's fd: the attachment holds the program as long as
/// the group exists.
pub fn load_and_attach(cgroup_dir: BorrowedFd<'_>, prog: &[Insn]) -> Result<()> {
    if chain::trace::enabled() {
        chain::trace::note(format_args!(
            "device program, {} instructions:\n{}",
            prog.len(),
            listing(prog).trim_end()
        ));
    }
    let prog_fd = load(prog)?;
    attach(cgroup_dir, &prog_fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_kernel() {
        let prog = [
            Insn::load32(2, 1, CTX_ACCESS_TYPE),
            Insn::mov32(3, 2),
            Insn::rsh32(3, 16),
            Insn::and32(2, 0xffff),
            Insn::load32(4, 1, CTX_MAJOR),
            Insn::jne(2, 2, 3),
            Insn::jset(3, 1, 2),
            Insn::jeq(4, 0, 1),
            Insn::mov32_imm(0, 1),
            Insn::exit(),
        ];
        let want: &[[u8; 8]] = &[
            [0x61, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0xbc, 0x23, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x74, 0x03, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00],
            [0x54, 0x02, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00],
            [0x61, 0x14, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x55, 0x02, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00],
            [0x45, 0x03, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00],
            [0x15, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0xb4, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
            [0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        ];
        assert_eq!(to_bytes(&prog), want.concat());
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::size_of::<ProgAttachAttr>(), 16);
    }

    #[test]
    fn lists_in_kernel_notation() {
        let prog = [
            Insn::load32(2, 1, CTX_ACCESS_TYPE),
            Insn::and32(2, 0xffff),
            Insn::jne(2, 2, 1),
            Insn::mov32_imm(0, 1),
            Insn::exit(),
        ];
        assert_eq!(
            listing(&prog),
            "  0: r2 = *(u32 *)(r1 + 0)\n  1: w2 &= 0xffff\n  2: if r2 != 2 goto +1  -> 4\n  3: w0 = 1\n  4: exit\n"
        );
    }

    #[test]
    fn interpreter_runs_and_refuses_what_we_never_emit() {
        let prog = [
            Insn::load32(2, 1, CTX_MAJOR),
            Insn::mov32_imm(0, 0),
            Insn::jne(2, 7, 1),
            Insn::mov32_imm(0, 1),
            Insn::exit(),
        ];
        assert_eq!(run(&prog, 0, 7, 0), Ok(1));
        assert_eq!(run(&prog, 0, 8, 0), Ok(0));
        // r0 never written.
        assert!(run(&[Insn::exit()], 0, 0, 0).is_err());
        // A load from a scalar, not from the context.
        assert!(run(&[Insn::mov32_imm(1, 0), Insn::load32(0, 1, 0)], 0, 0, 0).is_err());
        // Outside the context.
        assert!(run(&[Insn::load32(0, 1, 12), Insn::exit()], 0, 0, 0).is_err());
        // Backward and off-the-end jumps.
        let back = [Insn::mov32_imm(0, 0), Insn::jeq(0, 0, -2), Insn::exit()];
        assert!(run(&back, 0, 0, 0).is_err());
        assert!(run(&[Insn::mov32_imm(0, 0), Insn::jeq(0, 0, 5)], 0, 0, 0).is_err());
        // Unknown opcode.
        let odd = Insn {
            code: 0x07,
            regs: 0,
            off: 0,
            imm: 0,
        };
        assert!(run(&[odd], 0, 0, 0).is_err());
    }

    #[test]
    fn verifier_message_is_the_last_real_line() {
        let log = b"0: (95) exit\nR0 !read_ok\nprocessed 1 insns (limit 1000000) max_states_per_insn 0\n\0garbage";
        assert_eq!(verifier_message(log).as_deref(), Some("R0 !read_ok"));
        assert_eq!(verifier_message(b"\0"), None);
    }
}
