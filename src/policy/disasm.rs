//! A disassembler for seccomp BPF: one readable line per instruction, e.g.
//! `A := arg 1 low`, `if A == 0x5401 goto 7 else 9`, `return ERRNO 38`.

use std::fmt::Write;

#[allow(clippy::wildcard_imports)]
// the opcode and return-value table: nearly every name of bpf.rs
use super::bpf::*;
use super::SockFilter;

/// Text of one instruction at index `pc` (jump targets are absolute indexes).
pub fn decode(insn: &SockFilter, pc: usize) -> String {
    let k = insn.k;
    let class = insn.code & 0x07;
    match class {
        BPF_LD | BPF_LDX => {
            let reg = if class == BPF_LD { "A" } else { "X" };
            match insn.code & !0x07 {
                c if c == BPF_W | BPF_ABS && class == BPF_LD => format!("A := {}", field(k)),
                c if c == BPF_W | BPF_LEN => format!("{reg} := sizeof(seccomp_data)"),
                c if c == BPF_W | BPF_IMM => format!("{reg} := {k:#x}"),
                c if c == BPF_W | BPF_MEM => format!("{reg} := M[{k}]"),
                _ => invalid(),
            }
        }
        BPF_ST if insn.code == BPF_ST => format!("M[{k}] := A"),
        BPF_STX if insn.code == BPF_STX => format!("M[{k}] := X"),
        BPF_ALU => {
            let operand = if insn.code & 0x08 == BPF_X {
                "X".to_string()
            } else {
                format!("{k:#x}")
            };
            let op = match insn.code & 0xf0 {
                BPF_ADD => "+",
                BPF_SUB => "-",
                BPF_MUL => "*",
                BPF_DIV => "/",
                BPF_MOD => "%",
                BPF_OR => "|",
                BPF_AND => "&",
                BPF_XOR => "^",
                BPF_LSH => "<<",
                BPF_RSH => ">>",
                BPF_NEG if insn.code == BPF_ALU | BPF_NEG => return "A := -A".into(),
                _ => return invalid(),
            };
            format!("A := A {op} {operand}")
        }
        BPF_JMP => {
            if insn.code == BPF_JMP | BPF_JA {
                return format!("jump to {}", (pc as u64) + 1 + u64::from(k));
            }
            let operand = if insn.code & 0x08 == BPF_X {
                "X".to_string()
            } else {
                format!("{k:#x}")
            };
            let test = match insn.code & 0xf0 {
                BPF_JEQ => format!("A == {operand}"),
                BPF_JGT => format!("A > {operand}"),
                BPF_JGE => format!("A >= {operand}"),
                BPF_JSET => format!("A & {operand}"),
                _ => return invalid(),
            };
            let (t, f) = (pc + 1 + usize::from(insn.jt), pc + 1 + usize::from(insn.jf));
            format!("if {test} goto {t} else {f}")
        }
        BPF_RET => match insn.code {
            c if c == BPF_RET | BPF_K => format!("return {}", verdict(k)),
            c if c == BPF_RET | BPF_A => "return A".into(),
            _ => invalid(),
        },
        BPF_MISC => match insn.code {
            c if c == BPF_MISC | BPF_TAX => "X := A".into(),
            c if c == BPF_MISC | BPF_TXA => "A := X".into(),
            _ => invalid(),
        },
        _ => invalid(),
    }
}

fn invalid() -> String {
    "invalid instruction".into()
}

/// Name of the `seccomp_data` word at `offset`.
fn field(offset: u32) -> String {
    match offset {
        SECCOMP_DATA_NR => "syscall number".into(),
        SECCOMP_DATA_ARCH => "architecture".into(),
        o if o % 4 != 0 => format!("data[{o:#x}] (misaligned load)"),
        o if o >= SECCOMP_DATA_SIZE => format!("data[{o:#x}] (invalid load)"),
        o => {
            // Instruction pointer and arguments are 64-bit: which half is it?
            let low_first = cfg!(target_endian = "little");
            let half = if (o % 8 == 0) == low_first {
                "low"
            } else {
                "high"
            };
            if o < SECCOMP_DATA_ARGS {
                format!("instruction pointer {half}")
            } else {
                format!("arg {} {half}", (o - SECCOMP_DATA_ARGS) / 8)
            }
        }
    }
}

/// A `SECCOMP_RET_*` value as text.
pub fn verdict(k: u32) -> String {
    let data = k & SECCOMP_RET_DATA;
    match k & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_ALLOW => "ALLOW".into(),
        SECCOMP_RET_KILL_THREAD => "KILL".into(),
        SECCOMP_RET_KILL_PROCESS => "KILL_PROCESS".into(),
        SECCOMP_RET_TRAP => format!("TRAP {data:#x}"),
        SECCOMP_RET_ERRNO => format!("ERRNO {data}"),
        SECCOMP_RET_TRACE => format!("TRACE {data:#x}"),
        SECCOMP_RET_USER_NOTIF => "USER_NOTIF".into(),
        SECCOMP_RET_LOG => "LOG".into(),
        _ => format!("{k:#x}"),
    }
}

/// The whole program, one `NNN: instruction` line each.
pub fn disassemble(prog: &[SockFilter]) -> String {
    disassemble_with_names(prog, |_| None)
}

/// Like [`disassemble`], and where an instruction compares the syscall number with a constant,
/// appends `# name` from `name_of`. Whether A holds the syscall number is tracked along every
/// path (jumps only go forward, so one pass in order sees all predecessors first).
pub fn disassemble_with_names(
    prog: &[SockFilter],
    name_of: impl Fn(u32) -> Option<&'static str>,
) -> String {
    // For each instruction: does A hold the syscall number on every path reaching it?
    // None = not reached yet.
    let mut a_is_nr: Vec<Option<bool>> = vec![None; prog.len() + 1];
    if let Some(first) = a_is_nr.first_mut() {
        *first = Some(false);
    }
    let mut out = String::new();
    for (pc, insn) in prog.iter().enumerate() {
        let here = a_is_nr[pc].unwrap_or(false);
        let _ = write!(out, "{pc:03}: {}", decode(insn, pc));
        let class = insn.code & 0x07;
        let is_k_jump = class == BPF_JMP && insn.code & 0x08 == BPF_K && insn.code & 0xf0 != BPF_JA;
        if here && is_k_jump {
            if let Some(name) = name_of(insn.k) {
                let _ = write!(out, "  # {name}");
            }
        }
        out.push('\n');

        // What A holds after this instruction, propagated to its successors.
        let after = match class {
            BPF_LD => insn.code == BPF_LD | BPF_W | BPF_ABS && insn.k == SECCOMP_DATA_NR,
            BPF_ALU => false,
            BPF_MISC if insn.code == BPF_MISC | BPF_TXA => false,
            _ => here,
        };
        let mut flow = |to: usize| {
            if let Some(slot) = a_is_nr.get_mut(to) {
                *slot = Some(slot.map_or(after, |s| s && after));
            }
        };
        match class {
            BPF_RET => {}
            BPF_JMP if insn.code == BPF_JMP | BPF_JA => {
                flow(pc.saturating_add(1).saturating_add(insn.k as usize));
            }
            BPF_JMP => {
                flow(pc + 1 + usize::from(insn.jt));
                flow(pc + 1 + usize::from(insn.jf));
            }
            _ => flow(pc + 1),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads() {
        assert_eq!(decode(&load(0), 0), "A := syscall number");
        assert_eq!(decode(&load(4), 0), "A := architecture");
        assert_eq!(decode(&load(arg_low(0)), 0), "A := arg 0 low");
        assert_eq!(decode(&load(arg_high(5)), 0), "A := arg 5 high");
        assert_eq!(decode(&load(8), 0), "A := instruction pointer low");
        assert_eq!(decode(&load(1), 0), "A := data[0x1] (misaligned load)");
        assert_eq!(decode(&load(64), 0), "A := data[0x40] (invalid load)");
        assert_eq!(
            decode(&stmt(BPF_LD | BPF_W | BPF_LEN, 0), 0),
            "A := sizeof(seccomp_data)"
        );
        assert_eq!(
            decode(&stmt(BPF_LDX | BPF_W | BPF_LEN, 0), 0),
            "X := sizeof(seccomp_data)"
        );
        assert_eq!(decode(&stmt(BPF_LD | BPF_IMM, 7), 0), "A := 0x7");
        assert_eq!(decode(&stmt(BPF_LDX | BPF_MEM, 2), 0), "X := M[2]");
    }

    #[test]
    fn memory_alu_misc() {
        assert_eq!(decode(&stmt(BPF_ST, 1), 0), "M[1] := A");
        assert_eq!(decode(&stmt(BPF_STX, 3), 0), "M[3] := X");
        assert_eq!(
            decode(&stmt(BPF_ALU | BPF_AND | BPF_K, 6), 0),
            "A := A & 0x6"
        );
        assert_eq!(decode(&stmt(BPF_ALU | BPF_ADD | BPF_X, 0), 0), "A := A + X");
        assert_eq!(decode(&stmt(BPF_ALU | BPF_NEG, 0), 0), "A := -A");
        assert_eq!(decode(&stmt(BPF_MISC | BPF_TAX, 0), 0), "X := A");
        assert_eq!(decode(&stmt(BPF_MISC | BPF_TXA, 0), 0), "A := X");
    }

    #[test]
    #[allow(clippy::decimal_bitwise_operands)] // the errno in a return is a decimal number
    fn jumps_and_returns() {
        assert_eq!(
            decode(&jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 3), 1),
            "if A == 0x1 goto 3 else 5"
        );
        assert_eq!(
            decode(&jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1), 0),
            "if A > X goto 1 else 2"
        );
        assert_eq!(
            decode(&jump(BPF_JMP | BPF_JSET | BPF_K, 8, 0, 0), 9),
            "if A & 0x8 goto 10 else 10"
        );
        assert_eq!(decode(&ja(10), 1), "jump to 12");
        assert_eq!(decode(&ret(SECCOMP_RET_ALLOW), 0), "return ALLOW");
        assert_eq!(decode(&ret(SECCOMP_RET_ERRNO | 38), 0), "return ERRNO 38");
        assert_eq!(decode(&ret(SECCOMP_RET_TRACE | 1), 0), "return TRACE 0x1");
        assert_eq!(decode(&ret(SECCOMP_RET_TRAP | 0x12), 0), "return TRAP 0x12");
        assert_eq!(decode(&ret(0), 0), "return KILL");
        assert_eq!(
            decode(&ret(SECCOMP_RET_KILL_PROCESS), 0),
            "return KILL_PROCESS"
        );
        assert_eq!(decode(&ret(SECCOMP_RET_USER_NOTIF), 0), "return USER_NOTIF");
        assert_eq!(decode(&ret(SECCOMP_RET_LOG), 0), "return LOG");
        assert_eq!(decode(&stmt(BPF_RET | BPF_A, 0), 0), "return A");
        assert_eq!(decode(&stmt(BPF_RET | BPF_X, 0), 0), "invalid instruction");
        assert_eq!(decode(&stmt(BPF_JMP | 0x70, 0), 0), "invalid instruction");
    }

    #[test]
    fn names_only_where_a_is_the_syscall_number() {
        let prog = [
            load(SECCOMP_DATA_NR),
            jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
            load(arg_low(0)),
            jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0),
            ret(SECCOMP_RET_ALLOW),
        ];
        let text = disassemble_with_names(&prog, |nr| (nr == 0).then_some("read"));
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[1], "001: if A == 0x0 goto 2 else 5  # read");
        assert_eq!(lines[3], "003: if A == 0x0 goto 4 else 4");
    }
}
