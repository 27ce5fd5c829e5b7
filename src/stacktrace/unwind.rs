//! The walk from frame to frame: each step finds the caller's registers from the current ones,
//! by the CFI of the module the address lies in (`.eh_frame` through `.eh_frame_hdr`'s binary
//! search table, else a scan of `.eh_frame`, then `.debug_frame`) or, where a module has none
//! for the address, by the frame-pointer chain.
//!
//! DWARF expressions in CFI (signal trampolines, PLT stubs) are not evaluated: such a frame ends
//! the CFI step and the frame-pointer chain is tried instead. Every step must move the stack
//! pointer up (a loop in hostile data cannot keep the walk going), and the walk stops at
//! [`limits::MAX_STEPS`], at the deadline, or at the first address that is not mapped code.

use super::memory::Memory;
use super::module::{Module, Modules};
use super::regs::{arch, Regs};
use super::{limits, Budget, Frame};
use gimli::{
    BaseAddresses, CfaRule, DebugFrame, EhFrame, EhFrameHdr, LittleEndian, Register, RegisterRule,
    UnwindContext, UnwindSection,
};

/// What the walk found.
pub(super) struct Walked {
    pub frames: Vec<Frame>,
    pub truncated: bool,
    pub error: Option<String>,
}

/// One CFI row reduced to what a step needs (no borrow of the module's data).
pub(super) struct Row {
    cfa: (u16, i64),
    rules: Vec<(u16, Rule)>,
    /// The RA column had no rule of its own (AArch64 leaf: the return address is still in x30).
    ra_default: bool,
}

#[derive(Clone, Copy)]
enum Rule {
    Undefined,
    SameValue,
    Offset(i64),
    ValOffset(i64),
    Register(u16),
    Unsupported,
}

/// Walks the stack from `regs`.
pub(super) fn walk(
    mut regs: Regs,
    modules: &mut Modules,
    mem: &mut Memory,
    budget: &mut Budget,
) -> Walked {
    let mut frames = Vec::new();
    let mut found_by = "registers";
    let mut error = None;
    let mut truncated = false;
    for step in 0.. {
        frames.push(Frame {
            pc: regs.pc,
            found_by,
            ..Frame::default()
        });
        if step + 1 >= limits::MAX_STEPS {
            truncated = true;
            break;
        }
        if budget.expired() {
            truncated = true;
            error = Some("the time limit was reached".into());
            break;
        }
        // A return address points after the call; the call itself is one byte before it (and
        // may be the last instruction of a function, so the return address can lie past it).
        let lookup = if step == 0 {
            regs.pc
        } else {
            regs.pc.wrapping_sub(1)
        };
        let next = match step_cfi(&regs, lookup, modules, mem, budget) {
            Ok(Some(n)) => {
                found_by = "cfi";
                Some(n)
            }
            Ok(None) => break, // the outermost frame: its return address is undefined
            Err(why) => {
                let n = step_frame_pointer(&regs, modules, mem);
                if n.is_some() {
                    found_by = "frame_pointer";
                } else {
                    error = Some(why);
                }
                n
            }
        };
        let Some(next) = next else { break };
        if next.pc == 0 {
            break; // a zeroed return address ends the chain by convention
        }
        let (old_sp, new_sp) = (regs.get(arch::SP), next.get(arch::SP));
        if !matches!((old_sp, new_sp), (Some(o), Some(n)) if n > o || (n == o && next.pc != regs.pc))
        {
            error = Some("the stack pointer did not move up".into());
            break;
        }
        if !modules.is_mapped(next.pc) {
            error = Some(format!("return address {:#x} is not mapped", next.pc));
            break;
        }
        regs = next;
    }
    if error.is_none() && mem.exhausted() {
        error = Some("the memory read limit was reached".into());
    }
    Walked {
        frames,
        truncated,
        error,
    }
}

/// The caller's registers by the CFI of the module at `lookup`: `Ok(None)` at the outermost
/// frame, `Err` when there is no usable CFI.
fn step_cfi(
    regs: &Regs,
    lookup: u64,
    modules: &mut Modules,
    mem: &mut Memory,
    budget: &mut Budget,
) -> Result<Option<Regs>, String> {
    let module = modules.module_for(lookup, budget)?;
    let row = find_row(module, lookup.wrapping_sub(module.bias))?;
    apply(regs, &row, mem)
}

/// The CFI row for `addr` (in the module's own addresses).
pub(super) fn find_row(module: &Module, addr: u64) -> Result<Row, String> {
    let mut ctx = UnwindContext::new();
    let mut why = format!("{}: no CFI for {addr:#x}", module.path);
    if let Some(sec) = &module.eh_frame {
        let mut eh = EhFrame::new(module.section(sec), LittleEndian);
        eh.set_address_size(8);
        let mut bases = BaseAddresses::default()
            .set_eh_frame(sec.address)
            .set_text(module.text);
        let hdr = module.eh_frame_hdr.as_ref().and_then(|h| {
            bases = bases.clone().set_eh_frame_hdr(h.address);
            EhFrameHdr::new(module.section(h), LittleEndian)
                .parse(&bases, 8)
                .ok()
        });
        let found = match hdr.as_ref().and_then(gimli::ParsedEhFrameHdr::table) {
            Some(table) => {
                table.unwind_info_for_address(&eh, &bases, &mut ctx, addr, EhFrame::cie_from_offset)
            }
            None => eh.unwind_info_for_address(&bases, &mut ctx, addr, EhFrame::cie_from_offset),
        };
        match found {
            Ok(row) => return reduce(row),
            Err(e) => why = format!("{}: .eh_frame: {e}", module.path),
        }
    }
    if let Some(sec) = &module.debug_frame {
        let mut df = DebugFrame::new(module.section(sec), LittleEndian);
        df.set_address_size(8);
        let bases = BaseAddresses::default();
        match df.unwind_info_for_address(&bases, &mut ctx, addr, DebugFrame::cie_from_offset) {
            Ok(row) => return reduce(row),
            Err(e) => why = format!("{}: .debug_frame: {e}", module.path),
        }
    }
    Err(why)
}

fn reduce(row: &gimli::UnwindTableRow<usize>) -> Result<Row, String> {
    let cfa = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } => (register.0, *offset),
        CfaRule::Expression(_) => return Err("a CFA expression (not evaluated)".into()),
    };
    let rules = row
        .registers()
        .map(|(reg, rule)| {
            let r = match rule {
                RegisterRule::Undefined => Rule::Undefined,
                RegisterRule::SameValue => Rule::SameValue,
                RegisterRule::Offset(o) => Rule::Offset(*o),
                RegisterRule::ValOffset(o) => Rule::ValOffset(*o),
                RegisterRule::Register(r) => Rule::Register(r.0),
                _ => Rule::Unsupported,
            };
            (reg.0, r)
        })
        .collect();
    Ok(Row {
        cfa,
        rules,
        ra_default: !row.registers().any(|(reg, _)| *reg == Register(arch::RA)),
    })
}

/// The caller's registers by `row`.
fn apply(regs: &Regs, row: &Row, mem: &mut Memory) -> Result<Option<Regs>, String> {
    let base = regs
        .get(row.cfa.0)
        .ok_or_else(|| format!("the CFA's register {} is unknown", row.cfa.0))?;
    let cfa = base.wrapping_add_signed(row.cfa.1);
    // Registers without a rule keep their value (callee-saved ones the function did not touch).
    let mut next = regs.clone();
    for &(reg, rule) in &row.rules {
        let v = match rule {
            Rule::Unsupported if reg == arch::RA => {
                return Err("a return address rule that is not evaluated".into())
            }
            Rule::Undefined | Rule::Unsupported => None,
            Rule::SameValue => regs.get(reg),
            Rule::Offset(o) => Some(
                mem.read_u64(cfa.wrapping_add_signed(o))
                    .ok_or_else(|| format!("cannot read the saved register {reg}"))?,
            ),
            Rule::ValOffset(o) => Some(cfa.wrapping_add_signed(o)),
            Rule::Register(r) => regs.get(r),
        };
        next.set(reg, v);
    }
    next.set(arch::SP, Some(cfa));
    if row.ra_default && cfg!(target_arch = "x86_64") {
        // x86-64 CIEs always give the return address a rule: none means no caller.
        return Ok(None);
    }
    let Some(ra) = next.get(arch::RA) else {
        return Ok(None); // undefined return address: the outermost frame (_start, clone)
    };
    next.pc = strip_pointer_auth(ra);
    Ok(Some(next))
}

/// The caller's registers by the frame-pointer chain: the frame pointer points at the saved
/// frame pointer, the return address right above it.
fn step_frame_pointer(regs: &Regs, modules: &Modules, mem: &mut Memory) -> Option<Regs> {
    let fp = regs.get(arch::FP)?;
    let sp = regs.get(arch::SP)?;
    // A frame pointer below the stack pointer, unaligned or not in mapped memory is not one.
    if fp < sp || fp % 8 != 0 || !modules.is_mapped(fp) {
        return None;
    }
    let saved_fp = mem.read_u64(fp)?;
    let ra = mem.read_u64(fp.checked_add(8)?)?;
    let mut next = regs.clone();
    next.set(arch::FP, Some(saved_fp));
    next.set(arch::SP, Some(fp.checked_add(16)?));
    next.set(arch::RA, Some(ra));
    next.pc = strip_pointer_auth(ra);
    Some(next)
}

/// AArch64 return addresses may carry a pointer-authentication code in their top bits; user
/// space addresses fit in 48 bits.
fn strip_pointer_auth(addr: u64) -> u64 {
    if cfg!(target_arch = "aarch64") {
        addr & ((1 << 48) - 1)
    } else {
        addr
    }
}

/// Tests: the CFI row of `addr` in `module`, as the walk computes it (Ok: the CFA register).
#[cfg(test)]
pub(super) fn row_cfa_register(module: &Module, addr: u64) -> Result<u16, String> {
    find_row(module, addr).map(|r| r.cfa.0)
}
