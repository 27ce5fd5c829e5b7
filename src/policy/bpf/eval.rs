//! The in-process interpreter: runs a seccomp filter on a `seccomp_data` the way the kernel
//! would, and names what the kernel's checker would reject ([`EvalError`]) instead of guessing.

use super::{
    data_bytes, BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ,
    BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM,
    BPF_MEMWORDS, BPF_MISC, BPF_MOD, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST, BPF_STX,
    BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_XOR, SECCOMP_DATA_SIZE,
};
use crate::policy::{SeccompData, SockFilter};

/// Why a program could not be evaluated. `pc` is the index of the offending instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The program has no instruction.
    #[error("empty program")]
    EmptyProgram,
    /// Execution reached an index past the end (a jump too far, or no return at the end).
    #[error("execution left the program at {pc}")]
    OutOfBounds {
        /// The index execution would continue at.
        pc: usize,
    },
    /// An opcode the interpreter (and seccomp) does not accept, or a bad scratch slot or shift.
    #[error("invalid instruction {code:#06x} at {pc}")]
    InvalidInstruction {
        /// Where.
        pc: usize,
        /// The opcode.
        code: u16,
    },
    /// A scratch memory slot read before any write.
    #[error("scratch memory M[{slot}] read before written at {pc}")]
    UninitializedMemory {
        /// Where.
        pc: usize,
        /// The slot.
        slot: u32,
    },
    /// A `seccomp_data` load at an offset that is not a multiple of 4.
    #[error("misaligned load at offset {offset:#x} at {pc}")]
    MisalignedLoad {
        /// Where.
        pc: usize,
        /// The offset.
        offset: u32,
    },
    /// A `seccomp_data` load past its 64 bytes.
    #[error("out-of-bounds load at offset {offset:#x} at {pc}")]
    OutOfBoundsLoad {
        /// Where.
        pc: usize,
        /// The offset.
        offset: u32,
    },
    /// Division or modulo by zero.
    #[error("division by zero at {pc}")]
    DivisionByZero {
        /// Where.
        pc: usize,
    },
}

/// Runs `prog` on `data` and returns the filter's verdict (a `SECCOMP_RET_*` value with data).
///
/// Semantics follow the kernel's classic BPF: 32-bit unsigned registers A and X, 16 scratch
/// words, forward jumps only (offsets are unsigned). Loads from the input must be 32-bit,
/// aligned and inside `seccomp_data`, as seccomp requires.
#[allow(clippy::too_many_lines)] // the interpreter: one arm per instruction class
#[allow(clippy::many_single_char_names)] // A, X, k, jt, jf: the BPF machine's own names
pub fn evaluate(prog: &[SockFilter], data: &SeccompData) -> Result<u32, EvalError> {
    if prog.is_empty() {
        return Err(EvalError::EmptyProgram);
    }
    let bytes = data_bytes(data);
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem: [Option<u32>; BPF_MEMWORDS] = [None; BPF_MEMWORDS];
    let mut pc: usize = 0;
    loop {
        let insn = *prog.get(pc).ok_or(EvalError::OutOfBounds { pc })?;
        let invalid = EvalError::InvalidInstruction {
            pc,
            code: insn.code,
        };
        let k = insn.k;
        let slot = |k: u32| usize::try_from(k).ok().filter(|&s| s < BPF_MEMWORDS);
        let mut next = pc + 1;
        match insn.code & 0x07 {
            BPF_LD | BPF_LDX => {
                let value = match insn.code & !0x07 {
                    c if c == BPF_W | BPF_ABS && insn.code & 0x07 == BPF_LD => {
                        if k % 4 != 0 {
                            return Err(EvalError::MisalignedLoad { pc, offset: k });
                        }
                        if k >= SECCOMP_DATA_SIZE {
                            return Err(EvalError::OutOfBoundsLoad { pc, offset: k });
                        }
                        let at = k as usize;
                        u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
                    }
                    c if c == BPF_W | BPF_LEN => SECCOMP_DATA_SIZE,
                    c if c == BPF_W | BPF_IMM => k,
                    c if c == BPF_W | BPF_MEM => {
                        let s = slot(k).ok_or(invalid)?;
                        mem[s].ok_or(EvalError::UninitializedMemory { pc, slot: k })?
                    }
                    _ => return Err(invalid),
                };
                if insn.code & 0x07 == BPF_LD {
                    a = value;
                } else {
                    x = value;
                }
            }
            BPF_ST | BPF_STX => {
                if insn.code & !0x07 != 0 {
                    return Err(invalid);
                }
                let s = slot(k).ok_or(invalid)?;
                mem[s] = Some(if insn.code == BPF_ST { a } else { x });
            }
            BPF_ALU => {
                let operand = match insn.code & 0x08 {
                    BPF_K => k,
                    _ => x,
                };
                a = match insn.code & 0xf0 {
                    BPF_ADD => a.wrapping_add(operand),
                    BPF_SUB => a.wrapping_sub(operand),
                    BPF_MUL => a.wrapping_mul(operand),
                    BPF_DIV => a.checked_div(operand).ok_or(EvalError::DivisionByZero { pc })?,
                    BPF_MOD => a.checked_rem(operand).ok_or(EvalError::DivisionByZero { pc })?,
                    BPF_OR => a | operand,
                    BPF_AND => a & operand,
                    BPF_XOR => a ^ operand,
                    // The kernel's checker rejects constant shifts of 32 or more; shifts by X are
                    // taken modulo 32 as the kernel's interpreter and JITs do.
                    BPF_LSH | BPF_RSH if insn.code & 0x08 == BPF_K && k >= 32 => {
                        return Err(invalid)
                    }
                    BPF_LSH => a.wrapping_shl(operand),
                    BPF_RSH => a.wrapping_shr(operand),
                    BPF_NEG if insn.code & 0x08 == BPF_K => a.wrapping_neg(),
                    _ => return Err(invalid),
                };
            }
            BPF_JMP => {
                let operand = match insn.code & 0x08 {
                    BPF_K => k,
                    _ => x,
                };
                let taken = match insn.code & 0xf0 {
                    BPF_JA if insn.code & 0x08 == BPF_K => {
                        next = usize::try_from(k)
                            .ok()
                            .and_then(|k| next.checked_add(k))
                            .ok_or(EvalError::OutOfBounds { pc: usize::MAX })?;
                        None
                    }
                    BPF_JEQ => Some(a == operand),
                    BPF_JGT => Some(a > operand),
                    BPF_JGE => Some(a >= operand),
                    BPF_JSET => Some(a & operand != 0),
                    _ => return Err(invalid),
                };
                if let Some(taken) = taken {
                    next += usize::from(if taken { insn.jt } else { insn.jf });
                }
            }
            BPF_RET => {
                return match insn.code & 0x18 {
                    BPF_K if insn.code == BPF_RET | BPF_K => Ok(k),
                    BPF_A if insn.code == BPF_RET | BPF_A => Ok(a),
                    _ => Err(invalid),
                };
            }
            _ /* BPF_MISC */ => match insn.code {
                c if c == BPF_MISC | BPF_TAX => x = a,
                c if c == BPF_MISC | BPF_TXA => a = x,
                _ => return Err(invalid),
            },
        }
        pc = next;
    }
}
