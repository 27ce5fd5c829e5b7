//! Classic BPF as seccomp uses it: opcodes, `SECCOMP_RET_*` values, `seccomp_data` offsets,
//! instruction constructors and an interpreter.
//!
//! The interpreter ([`evaluate`], `eval.rs`) runs a filter in process, the way the kernel would,
//! so policies can be tested without installing them and the monitor can re-derive a verdict. It
//! rejects what the kernel's checker would reject at run time (a jump or fall-through past the
//! end, reading scratch memory never written, an unaligned or out-of-range `seccomp_data` load)
//! with an [`EvalError`] instead of guessing.


mod eval;

pub use eval::{evaluate, EvalError};

use super::{SeccompData, SockFilter};

// Instruction classes (`linux/bpf_common.h`).
/// Load into A.
pub const BPF_LD: u16 = 0x00;
/// Load into X.
pub const BPF_LDX: u16 = 0x01;
/// Store A into scratch memory.
pub const BPF_ST: u16 = 0x02;
/// Store X into scratch memory.
pub const BPF_STX: u16 = 0x03;
/// Arithmetic on A.
pub const BPF_ALU: u16 = 0x04;
/// Jumps.
pub const BPF_JMP: u16 = 0x05;
/// Return.
pub const BPF_RET: u16 = 0x06;
/// Register transfers.
pub const BPF_MISC: u16 = 0x07;

// Load sizes.
/// 32-bit word.
pub const BPF_W: u16 = 0x00;
/// 16-bit half word (not accepted by seccomp).
pub const BPF_H: u16 = 0x08;
/// Byte (not accepted by seccomp).
pub const BPF_B: u16 = 0x10;

// Load modes.
/// Immediate `k`.
pub const BPF_IMM: u16 = 0x00;
/// Absolute offset `k` into the input (`seccomp_data`).
pub const BPF_ABS: u16 = 0x20;
/// Offset `X + k` (not accepted by seccomp).
pub const BPF_IND: u16 = 0x40;
/// Scratch memory slot `k`.
pub const BPF_MEM: u16 = 0x60;
/// Length of the input.
pub const BPF_LEN: u16 = 0x80;
/// IP header length trick (not accepted by seccomp).
pub const BPF_MSH: u16 = 0xa0;

// ALU operations.
/// `A + operand`.
pub const BPF_ADD: u16 = 0x00;
/// `A - operand`.
pub const BPF_SUB: u16 = 0x10;
/// `A * operand`.
pub const BPF_MUL: u16 = 0x20;
/// `A / operand`.
pub const BPF_DIV: u16 = 0x30;
/// `A | operand`.
pub const BPF_OR: u16 = 0x40;
/// `A & operand`.
pub const BPF_AND: u16 = 0x50;
/// `A << operand`.
pub const BPF_LSH: u16 = 0x60;
/// `A >> operand`.
pub const BPF_RSH: u16 = 0x70;
/// `-A`.
pub const BPF_NEG: u16 = 0x80;
/// `A % operand` (classic BPF; seccomp's checker rejects it).
pub const BPF_MOD: u16 = 0x90;
/// `A ^ operand`.
pub const BPF_XOR: u16 = 0xa0;

// Jump operations.
/// Unconditional jump by the 32-bit `k`.
pub const BPF_JA: u16 = 0x00;
/// Jump if `A == operand`.
pub const BPF_JEQ: u16 = 0x10;
/// Jump if `A > operand` (unsigned).
pub const BPF_JGT: u16 = 0x20;
/// Jump if `A >= operand` (unsigned).
pub const BPF_JGE: u16 = 0x30;
/// Jump if `A & operand != 0`.
pub const BPF_JSET: u16 = 0x40;

// Operand sources.
/// The operand is the constant `k`.
pub const BPF_K: u16 = 0x00;
/// The operand is register X.
pub const BPF_X: u16 = 0x08;
/// `BPF_RET` returns A.
pub const BPF_A: u16 = 0x10;

// Register transfers.
/// `X := A`.
pub const BPF_TAX: u16 = 0x00;
/// `A := X`.
pub const BPF_TXA: u16 = 0x80;

/// Number of scratch memory words.
pub const BPF_MEMWORDS: usize = 16;
/// Longest program the kernel accepts.
pub const BPF_MAXINSNS: usize = 4096;

// Filter return values (`linux/seccomp.h`). The action sits in the high 16 bits, data in the low.
/// Kill the whole process.
pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Kill the calling thread.
pub const SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
/// Send SIGSYS to the thread.
pub const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
/// Fail the syscall with the errno in the data bits.
pub const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// Hand the syscall to the user-notification listener.
pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// Stop for the ptrace tracer (`PTRACE_EVENT_SECCOMP`); ENOSYS without one.
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
/// Allow and log.
pub const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
/// Allow.
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// Mask of the action part of a return value (signed comparison in the kernel).
pub const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
/// Mask of the data part of a return value.
pub const SECCOMP_RET_DATA: u32 = 0x0000_ffff;

// `struct seccomp_data` layout.
/// Offset of `nr`.
pub const SECCOMP_DATA_NR: u32 = 0;
/// Offset of `arch`.
pub const SECCOMP_DATA_ARCH: u32 = 4;
/// Offset of `instruction_pointer`.
pub const SECCOMP_DATA_IP: u32 = 8;
/// Offset of `args[0]`.
pub const SECCOMP_DATA_ARGS: u32 = 16;
/// `sizeof(struct seccomp_data)`.
pub const SECCOMP_DATA_SIZE: u32 = 64;

/// Offset of the low 32 bits of argument `index` (0..=5). BPF loads 32-bit words in host byte
/// order, so which half comes first depends on endianness.
pub const fn arg_low(index: u8) -> u32 {
    let base = SECCOMP_DATA_ARGS + 8 * index as u32;
    if cfg!(target_endian = "little") {
        base
    } else {
        base + 4
    }
}

/// Offset of the high 32 bits of argument `index` (0..=5).
pub const fn arg_high(index: u8) -> u32 {
    let base = SECCOMP_DATA_ARGS + 8 * index as u32;
    if cfg!(target_endian = "little") {
        base + 4
    } else {
        base
    }
}

/// A non-jump instruction (`BPF_STMT`).
pub const fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump (`BPF_JUMP`); `jt`/`jf` count instructions to skip.
pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// `A := seccomp_data[offset]` (32-bit load).
pub const fn load(offset: u32) -> SockFilter {
    stmt(BPF_LD | BPF_W | BPF_ABS, offset)
}

/// `return k`.
pub const fn ret(k: u32) -> SockFilter {
    stmt(BPF_RET | BPF_K, k)
}

/// `jump forward by off` (32-bit offset, so it reaches anywhere).
pub const fn ja(off: u32) -> SockFilter {
    stmt(BPF_JMP | BPF_JA, off)
}

/// `seccomp_data` as the bytes a filter reads (host byte order, as the kernel lays it out).
fn data_bytes(data: &SeccompData) -> [u8; SECCOMP_DATA_SIZE as usize] {
    let mut b = [0u8; SECCOMP_DATA_SIZE as usize];
    b[0..4].copy_from_slice(&data.nr.to_ne_bytes());
    b[4..8].copy_from_slice(&data.arch.to_ne_bytes());
    b[8..16].copy_from_slice(&data.instruction_pointer.to_ne_bytes());
    for (i, arg) in data.args.iter().enumerate() {
        let at = 16 + 8 * i;
        b[at..at + 8].copy_from_slice(&arg.to_ne_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(prog: &[SockFilter]) -> Result<u32, EvalError> {
        evaluate(prog, &SeccompData::default())
    }

    fn data(nr: i32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch: 0xC000_003E,
            instruction_pointer: 0x1122_3344_5566_7788,
            args,
        }
    }

    #[test]
    fn simple_return() {
        assert_eq!(run(&[ret(SECCOMP_RET_ALLOW)]), Ok(SECCOMP_RET_ALLOW));
        assert_eq!(
            run(&[stmt(BPF_LD | BPF_IMM, 42), stmt(BPF_RET | BPF_A, 0)]),
            Ok(42)
        );
    }

    #[test]
    fn loads_every_field() {
        let d = data(
            -1,
            [0x0000_0001_0000_0002, 0, 0, 0, 0, 0xdead_beef_cafe_f00d],
        );
        let ld = |off| evaluate(&[load(off), stmt(BPF_RET | BPF_A, 0)], &d);
        assert_eq!(ld(SECCOMP_DATA_NR), Ok(u32::MAX));
        assert_eq!(ld(SECCOMP_DATA_ARCH), Ok(0xC000_003E));
        assert_eq!(ld(arg_low(0)), Ok(2));
        assert_eq!(ld(arg_high(0)), Ok(1));
        assert_eq!(ld(arg_low(5)), Ok(0xcafe_f00d));
        assert_eq!(ld(arg_high(5)), Ok(0xdead_beef));
        let ip = if cfg!(target_endian = "little") {
            0x5566_7788
        } else {
            0x1122_3344
        };
        assert_eq!(ld(SECCOMP_DATA_IP), Ok(ip));
        let len = [stmt(BPF_LD | BPF_W | BPF_LEN, 0), stmt(BPF_RET | BPF_A, 0)];
        assert_eq!(evaluate(&len, &d), Ok(64));
        let lenx = [
            stmt(BPF_LDX | BPF_W | BPF_LEN, 0),
            stmt(BPF_MISC | BPF_TXA, 0),
            ret_a(),
        ];
        assert_eq!(evaluate(&lenx, &d), Ok(64));
    }

    fn ret_a() -> SockFilter {
        stmt(BPF_RET | BPF_A, 0)
    }

    #[test]
    fn bad_loads() {
        assert_eq!(
            run(&[load(2), ret_a()]),
            Err(EvalError::MisalignedLoad { pc: 0, offset: 2 })
        );
        assert_eq!(
            run(&[load(64), ret_a()]),
            Err(EvalError::OutOfBoundsLoad { pc: 0, offset: 64 })
        );
        assert_eq!(
            run(&[load(u32::MAX - 3), ret_a()]),
            Err(EvalError::OutOfBoundsLoad {
                pc: 0,
                offset: u32::MAX - 3
            })
        );
        for code in [
            BPF_LD | BPF_H | BPF_ABS,
            BPF_LD | BPF_B | BPF_ABS,
            BPF_LD | BPF_W | BPF_IND,
        ] {
            assert_eq!(
                run(&[stmt(code, 0), ret_a()]),
                Err(EvalError::InvalidInstruction { pc: 0, code })
            );
        }
        let msh = BPF_LDX | BPF_B | BPF_MSH;
        assert_eq!(
            run(&[stmt(msh, 0), ret_a()]),
            Err(EvalError::InvalidInstruction { pc: 0, code: msh })
        );
    }

    #[test]
    fn memory() {
        let prog = [
            stmt(BPF_LD | BPF_IMM, 7),
            stmt(BPF_ST, 3),
            stmt(BPF_LDX | BPF_IMM, 9),
            stmt(BPF_STX, 15),
            stmt(BPF_LD | BPF_MEM, 15),
            stmt(BPF_LDX | BPF_MEM, 3),
            stmt(BPF_ALU | BPF_SUB | BPF_X, 0),
            ret_a(),
        ];
        assert_eq!(run(&prog), Ok(2));
        assert_eq!(
            run(&[stmt(BPF_LD | BPF_MEM, 4), ret_a()]),
            Err(EvalError::UninitializedMemory { pc: 0, slot: 4 })
        );
        assert_eq!(
            run(&[stmt(BPF_LDX | BPF_MEM, 0), ret_a()]),
            Err(EvalError::UninitializedMemory { pc: 0, slot: 0 })
        );
        for insn in [
            stmt(BPF_ST, 16),
            stmt(BPF_LD | BPF_MEM, 16),
            stmt(BPF_STX, u32::MAX),
        ] {
            assert_eq!(
                run(&[insn, ret_a()]),
                Err(EvalError::InvalidInstruction {
                    pc: 0,
                    code: insn.code
                })
            );
        }
    }

    #[test]
    fn registers() {
        let tax = [
            stmt(BPF_LD | BPF_IMM, 5),
            stmt(BPF_MISC | BPF_TAX, 0),
            stmt(BPF_LD | BPF_IMM, 0),
        ];
        let mut p = tax.to_vec();
        p.extend([stmt(BPF_MISC | BPF_TXA, 0), ret_a()]);
        assert_eq!(run(&p), Ok(5));
    }

    #[test]
    fn arithmetic() {
        let alu = |a: u32, op: u16, k: u32| {
            run(&[
                stmt(BPF_LD | BPF_IMM, a),
                stmt(BPF_ALU | op | BPF_K, k),
                ret_a(),
            ])
        };
        let alux = |a: u32, op: u16, x: u32| {
            run(&[
                stmt(BPF_LD | BPF_IMM, a),
                stmt(BPF_LDX | BPF_IMM, x),
                stmt(BPF_ALU | op | BPF_X, 0),
                ret_a(),
            ])
        };
        assert_eq!(alu(u32::MAX, BPF_ADD, 2), Ok(1));
        assert_eq!(alu(1, BPF_SUB, 2), Ok(u32::MAX));
        assert_eq!(alu(0x8000_0001, BPF_MUL, 2), Ok(2));
        assert_eq!(alu(7, BPF_DIV, 2), Ok(3));
        assert_eq!(alu(7, BPF_MOD, 4), Ok(3));
        assert_eq!(alu(0xf0, BPF_OR, 0x0f), Ok(0xff));
        assert_eq!(alu(0xf0, BPF_AND, 0x3c), Ok(0x30));
        assert_eq!(alu(0xff, BPF_XOR, 0x0f), Ok(0xf0));
        assert_eq!(alu(1, BPF_LSH, 31), Ok(0x8000_0000));
        assert_eq!(alu(0x8000_0000, BPF_RSH, 31), Ok(1));
        assert_eq!(alu(1, BPF_NEG, 0), Ok(u32::MAX));
        assert_eq!(alux(12, BPF_DIV, 4), Ok(3));
        assert_eq!(alux(1, BPF_LSH, 33), Ok(2));
        assert_eq!(alu(1, BPF_DIV, 0), Err(EvalError::DivisionByZero { pc: 1 }));
        assert_eq!(
            alux(1, BPF_DIV, 0),
            Err(EvalError::DivisionByZero { pc: 2 })
        );
        assert_eq!(alu(1, BPF_MOD, 0), Err(EvalError::DivisionByZero { pc: 1 }));
        let code = BPF_ALU | BPF_LSH | BPF_K;
        assert_eq!(
            alu(1, BPF_LSH, 32),
            Err(EvalError::InvalidInstruction { pc: 1, code })
        );
        let code = BPF_ALU | 0xb0;
        assert_eq!(
            alu(1, 0xb0, 1),
            Err(EvalError::InvalidInstruction { pc: 1, code })
        );
    }

    #[test]
    fn all_jumps() {
        let j = |op: u16, a: u32, k: u32| {
            run(&[
                stmt(BPF_LD | BPF_IMM, a),
                jump(BPF_JMP | op | BPF_K, k, 1, 0),
                ret(0),
                ret(1),
            ])
        };
        let jx = |op: u16, a: u32, x: u32| {
            run(&[
                stmt(BPF_LD | BPF_IMM, a),
                stmt(BPF_LDX | BPF_IMM, x),
                jump(BPF_JMP | op | BPF_X, 0, 1, 0),
                ret(0),
                ret(1),
            ])
        };
        for (op, a, k, want) in [
            (BPF_JEQ, 5, 5, 1),
            (BPF_JEQ, 5, 6, 0),
            (BPF_JGT, 6, 5, 1),
            (BPF_JGT, 5, 5, 0),
            (BPF_JGE, 5, 5, 1),
            (BPF_JGE, 4, 5, 0),
            (BPF_JGE, u32::MAX, 0x8000_0000, 1), // unsigned
            (BPF_JSET, 6, 2, 1),
            (BPF_JSET, 6, 1, 0),
        ] {
            assert_eq!(j(op, a, k), Ok(want), "op {op:#x} a {a} k {k}");
            assert_eq!(jx(op, a, k), Ok(want), "op {op:#x} a {a} x {k}");
        }
        let ja_prog = [ja(2), ret(0), ret(1), ret(2)];
        assert_eq!(run(&ja_prog), Ok(2));
    }

    #[test]
    fn invalid_programs() {
        assert_eq!(run(&[]), Err(EvalError::EmptyProgram));
        assert_eq!(
            run(&[stmt(BPF_LD | BPF_IMM, 0)]),
            Err(EvalError::OutOfBounds { pc: 1 })
        );
        assert_eq!(run(&[ja(5), ret(0)]), Err(EvalError::OutOfBounds { pc: 6 }));
        assert!(run(&[ja(u32::MAX), ret(0)]).is_err());
        assert_eq!(
            run(&[jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0), ret(0)]),
            Err(EvalError::OutOfBounds { pc: 4 })
        );
        for code in [
            BPF_RET | BPF_X,
            BPF_MISC | 0x40,
            BPF_JMP | 0x50,
            BPF_ST | BPF_MEM,
        ] {
            assert_eq!(
                run(&[stmt(code, 0)]),
                Err(EvalError::InvalidInstruction { pc: 0, code })
            );
        }
    }
}
