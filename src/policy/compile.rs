//! Compiles a rule [`Table`] into a seccomp BPF program (design §3 item 12).
//!
//! Layout, in program order:
//! 1. Prologue: load `arch`; anything but the native architecture returns TRACE with
//!    [`trace_data::ARCH_X86_32`] (i386 on x86-64) or [`trace_data::ARCH_UNKNOWN`]; load `nr`; on
//!    x86-64 any number at or above [`X32_SYSCALL_BIT`] (x32 ABI, and every negative number)
//!    returns TRACE with [`trace_data::X32`], so x32 aliases cannot slip past exact-number rules.
//! 2. Dispatch: the numbers cut into runs of neighbours with the same target (the same
//!    unconditional return, one syscall's rule chain, or the default return for numbers without
//!    rules), found by a balanced binary search of `JGE`s on each run's first number: no `JEQ`
//!    per number, and a stretch of allowed neighbours is one comparison.
//! 3. Leaves: a syscall whose first rule is unconditional jumps straight to a `RET`. A syscall
//!    with conditional rules jumps to its own chain, which loads arguments (only there) and tests
//!    the rules in order, ending in the default return.
//!
//! Only `arch` and `nr` are loaded before a leaf, and the dispatch uses only constant jumps, so
//! every unconditionally allowed syscall is constant-ALLOW for the kernel's seccomp bitmap cache
//! (Linux 5.11+) and costs no filter run at all.
//!
//! The program is emitted back to front. Every jump is forward, so when a jump is emitted its
//! targets already exist and their distance is known; a target more than 255 instructions away
//! (the reach of the 8-bit `jt`/`jf`) gets a trampoline right after the jump: a copy of the target
//! if it is a `RET`, otherwise a `JA` (32-bit offset).

use super::bpf::{
    self, arg_high, arg_low, ja, load, stmt, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP,
    BPF_K, BPF_MAXINSNS, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET_TRACE,
};
use super::ir::{Cond, Rule, Table};
use super::rule::{Cmp, Width};
use super::trace_data;
use super::SockFilter;
use crate::arch::NATIVE_AUDIT_ARCH;
#[cfg(target_arch = "x86_64")]
use crate::arch::{AUDIT_ARCH_I386, X32_SYSCALL_BIT};
use crate::error::{Error, Result};
use crate::sys::low_u32;
use std::collections::HashMap;

/// Compiles `table` into a complete filter, prologue included.
pub(crate) fn compile(table: &Table) -> Result<Vec<SockFilter>> {
    let mut e = Emitter::default();
    let default = Target::Ret(table.default_ret);

    // Leaves with conditions, last syscall first so the program reads in ascending order.
    let mut leaves: Vec<(u32, Target)> = Vec::with_capacity(table.leaves.len());
    for (&nr, rules) in table.leaves.iter().rev() {
        let target = e.leaf(rules, default);
        leaves.push((nr, target));
    }
    leaves.reverse();

    let dispatch = e.dispatch(&leaves, default);
    let prologue = e.prologue(dispatch);
    debug_assert_eq!(prologue, e.rev.len() - 1);

    if e.overflow {
        // Unreachable unless the emitter has a bug; fail closed rather than emit a wrong jump.
        return Err(Error::InvalidPolicy(
            "internal compiler error: jump offset out of range".into(),
        ));
    }
    let prog = e.finish();
    if prog.len() > BPF_MAXINSNS {
        return Err(Error::InvalidPolicy(format!(
            "the compiled filter has {} instructions, more than the kernel's limit of {BPF_MAXINSNS}",
            prog.len()
        )));
    }
    Ok(prog)
}

/// The syscall numbers from 0 up as runs `(first number, target)`: neighbouring numbers with
/// the same target share a run, and the numbers between `leaves` (sorted by number, each once)
/// go to `default`. The first run starts at 0; the last one extends to every higher number.
fn runs(leaves: &[(u32, Target)], default: Target) -> Vec<(u32, Target)> {
    fn extend(runs: &mut Vec<(u32, Target)>, first: u32, target: Target) {
        if runs.last().map(|&(_, t)| t) != Some(target) {
            runs.push((first, target));
        }
    }
    let mut runs = Vec::new();
    let mut next = 0;
    for &(nr, target) in leaves {
        if nr > next {
            extend(&mut runs, next, default);
        }
        extend(&mut runs, nr, target);
        next = nr.saturating_add(1);
    }
    extend(&mut runs, next, default);
    runs
}

/// Position of an emitted instruction, counted from the end of the program (0 = last).
type Label = usize;

/// Where a jump goes: an emitted instruction, or "return this value" (any copy of that `RET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    At(Label),
    Ret(u32),
}

/// Largest `jt`/`jf`.
const MAX_SHORT: usize = u8::MAX as usize;

/// Builds the program in reverse.
#[derive(Default)]
struct Emitter {
    /// Instructions, last one first.
    rev: Vec<SockFilter>,
    /// The `RET` of each value nearest to the front so far: later (earlier in the program)
    /// jumps reuse it while it is in reach.
    rets: HashMap<u32, Label>,
    /// Set if an offset did not fit its field.
    overflow: bool,
}

impl Emitter {
    fn push(&mut self, insn: SockFilter) -> Label {
        self.rev.push(insn);
        self.rev.len() - 1
    }

    fn ret(&mut self, k: u32) -> Label {
        let at = self.push(bpf::ret(k));
        self.rets.insert(k, at);
        at
    }

    /// Offset from an instruction at `from` to `to` (`to` is later in the program).
    fn offset(from: Label, to: Label) -> usize {
        from - to - 1
    }

    /// Makes `target` reachable with a short jump from any position up to `from`, adding a
    /// trampoline if needed.
    fn near(&mut self, target: Target, from: Label) -> Label {
        match target {
            Target::At(l) if Self::offset(from, l) <= MAX_SHORT => l,
            Target::At(l) => self.ja_to(l),
            Target::Ret(k) => match self.rets.get(&k) {
                Some(&l) if Self::offset(from, l) <= MAX_SHORT => l,
                _ => self.ret(k),
            },
        }
    }

    /// Emits a conditional jump `code k` to `t` if true, `f` if false.
    fn jump(&mut self, code: u16, k: u32, t: Target, f: Target) -> Label {
        // The jump lands at most two slots further (after up to two trampolines), so a target in
        // reach from there stays in reach whatever `near` inserts.
        let worst = self.rev.len() + 2;
        let t = self.near(t, worst);
        let f = self.near(f, worst);
        let at = self.rev.len();
        let (jt, jf) = (
            self.short(Self::offset(at, t)),
            self.short(Self::offset(at, f)),
        );
        self.push(bpf::jump(code, k, jt, jf))
    }

    /// A `jt`/`jf` value; records an overflow instead of truncating.
    fn short(&mut self, off: usize) -> u8 {
        u8::try_from(off).unwrap_or_else(|_| {
            self.overflow = true;
            u8::MAX
        })
    }

    /// A `JA` at the current end to `l`.
    fn ja_to(&mut self, l: Label) -> Label {
        let off = Self::offset(self.rev.len(), l);
        let off = u32::try_from(off).unwrap_or_else(|_| {
            self.overflow = true;
            u32::MAX
        });
        self.push(ja(off))
    }

    /// Emits a straight-line instruction that continues at `next`.
    fn stmt(&mut self, insn: SockFilter, next: Target) -> Label {
        let follows = match next {
            Target::At(l) => self.rev.len().checked_sub(1) == Some(l),
            Target::Ret(k) => self.rev.last() == Some(&bpf::ret(k)),
        };
        if !follows {
            // Not the instruction emitted last: bridge with a jump (or a copy of the RET).
            match next {
                Target::At(l) => self.ja_to(l),
                Target::Ret(k) => self.ret(k),
            };
        }
        self.push(insn)
    }

    /// The code for one syscall's rules; unconditional leaves need none.
    fn leaf(&mut self, rules: &[Rule], default: Target) -> Target {
        // Rules after an unconditional one can never be reached.
        let live = rules
            .iter()
            .position(Rule::is_unconditional)
            .map_or(rules, |i| &rules[..=i]);
        let mut next = default;
        for rule in live.iter().rev() {
            next = if rule.is_unconditional() {
                Target::Ret(rule.ret)
            } else {
                Target::At(self.rule(rule, next))
            };
        }
        next
    }

    /// A rule: its conditions in order, all true → its return, any false → `fail`.
    fn rule(&mut self, rule: &Rule, fail: Target) -> Label {
        let mut succ = Target::Ret(rule.ret);
        for cond in rule.conds.iter().rev() {
            succ = Target::At(self.cond(cond, succ, fail));
        }
        match succ {
            Target::At(l) => l,
            // Only reached for a rule without conditions, which `leaf` handles itself.
            Target::Ret(k) => self.ret(k),
        }
    }

    /// One argument condition: `t` if it holds, `f` otherwise.
    #[allow(clippy::many_single_char_names)] // c: the condition; t and f: its true and false targets
    fn cond(&mut self, c: &Cond, t: Target, f: Target) -> Label {
        let (t, f) = if c.negate { (f, t) } else { (t, f) };
        let a = c.arg;
        let (lo, hi) = (arg_low(a.index), arg_high(a.index));
        let (v_lo, v_hi) = (low_u32(a.value), low_u32(a.value >> 32));
        let jeq = BPF_JMP | BPF_JEQ | BPF_K;
        let jgt = BPF_JMP | BPF_JGT | BPF_K;
        let jge = BPF_JMP | BPF_JGE | BPF_K;
        match a.width {
            Width::W32 => {
                let test = match a.cmp {
                    Cmp::Eq => self.jump(jeq, v_lo, t, f),
                    Cmp::Ne => self.jump(jeq, v_lo, f, t),
                    Cmp::Lt => self.jump(jge, v_lo, f, t),
                    Cmp::Le => self.jump(jgt, v_lo, f, t),
                    Cmp::Gt => self.jump(jgt, v_lo, t, f),
                    Cmp::Ge => self.jump(jge, v_lo, t, f),
                    Cmp::MaskedEq(m) => self.masked(low_u32(m), v_lo, t, f),
                };
                self.stmt(load(lo), Target::At(test))
            }
            Width::W64 => match a.cmp {
                Cmp::Eq => self.eq64(lo, hi, v_lo, v_hi, t, f),
                Cmp::Ne => self.eq64(lo, hi, v_lo, v_hi, f, t),
                Cmp::Gt => self.gt64(jgt, lo, hi, v_lo, v_hi, t, f),
                Cmp::Ge => self.gt64(jge, lo, hi, v_lo, v_hi, t, f),
                Cmp::Lt => self.gt64(jge, lo, hi, v_lo, v_hi, f, t),
                Cmp::Le => self.gt64(jgt, lo, hi, v_lo, v_hi, f, t),
                Cmp::MaskedEq(m) => {
                    let (m_lo, m_hi) = (low_u32(m), low_u32(m >> 32));
                    let low = self.masked(m_lo, v_lo, t, f);
                    let low = self.stmt(load(lo), Target::At(low));
                    if m_hi == 0 {
                        // Validation guarantees v_hi == 0 then: the high half always matches.
                        return low;
                    }
                    let high = self.masked(m_hi, v_hi, Target::At(low), f);
                    self.stmt(load(hi), Target::At(high))
                }
            },
        }
    }

    /// `A & mask == value` (the load of A comes before).
    fn masked(&mut self, mask: u32, value: u32, t: Target, f: Target) -> Label {
        let test = self.jump(BPF_JMP | BPF_JEQ | BPF_K, value, t, f);
        if mask == u32::MAX {
            return test;
        }
        self.stmt(stmt(BPF_ALU | BPF_AND | BPF_K, mask), Target::At(test))
    }

    /// 64-bit equality: both halves equal.
    #[allow(clippy::too_many_arguments)]
    fn eq64(&mut self, lo: u32, hi: u32, v_lo: u32, v_hi: u32, t: Target, f: Target) -> Label {
        let low = self.jump(BPF_JMP | BPF_JEQ | BPF_K, v_lo, t, f);
        let low = self.stmt(load(lo), Target::At(low));
        let high = self.jump(BPF_JMP | BPF_JEQ | BPF_K, v_hi, Target::At(low), f);
        self.stmt(load(hi), Target::At(high))
    }

    /// 64-bit `x > v` (`op` = JGT) or `x >= v` (`op` = JGE), unsigned: the high halves decide
    /// unless they are equal, then the low halves do.
    #[allow(clippy::too_many_arguments)]
    fn gt64(
        &mut self,
        op: u16,
        lo: u32,
        hi: u32,
        v_lo: u32,
        v_hi: u32,
        t: Target,
        f: Target,
    ) -> Label {
        let low = self.jump(op, v_lo, t, f);
        let low = self.stmt(load(lo), Target::At(low));
        let high_eq = self.jump(BPF_JMP | BPF_JEQ | BPF_K, v_hi, Target::At(low), f);
        let high_gt = self.jump(BPF_JMP | BPF_JGT | BPF_K, v_hi, t, Target::At(high_eq));
        self.stmt(load(hi), Target::At(high_gt))
    }

    /// Dispatch on A = nr over `leaves` (sorted by number): a balanced binary search of `JGE`s on
    /// the first numbers of [`runs`], so a stretch of neighbouring numbers with one target (read,
    /// write, open, close, stat, ...) costs one comparison, not one per number.
    fn dispatch(&mut self, leaves: &[(u32, Target)], default: Target) -> Label {
        match self.search(&runs(leaves, default)) {
            Target::At(l) => l,
            Target::Ret(k) => self.ret(k),
        }
    }

    /// The search over `runs` (sorted, the first one starting at 0).
    fn search(&mut self, runs: &[(u32, Target)]) -> Target {
        if let [(_, only)] = runs {
            return *only;
        }
        let mid = runs.len() / 2;
        let upper = self.search(&runs[mid..]);
        let lower = self.search(&runs[..mid]);
        Target::At(self.jump(BPF_JMP | BPF_JGE | BPF_K, runs[mid].0, upper, lower))
    }

    /// Architecture check, `nr` load and x32 guard in front of `dispatch`.
    fn prologue(&mut self, dispatch: Label) -> Label {
        #[cfg(target_arch = "x86_64")]
        let after_nr = Target::At(self.jump(
            BPF_JMP | BPF_JGE | BPF_K,
            X32_SYSCALL_BIT,
            Target::Ret(SECCOMP_RET_TRACE | u32::from(trace_data::X32)),
            Target::At(dispatch),
        ));
        #[cfg(not(target_arch = "x86_64"))]
        let after_nr = Target::At(dispatch);
        let load_nr = self.stmt(load(SECCOMP_DATA_NR), after_nr);

        let unknown = Target::Ret(SECCOMP_RET_TRACE | u32::from(trace_data::ARCH_UNKNOWN));
        #[cfg(target_arch = "x86_64")]
        let foreign = Target::At(self.jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            AUDIT_ARCH_I386,
            Target::Ret(SECCOMP_RET_TRACE | u32::from(trace_data::ARCH_X86_32)),
            unknown,
        ));
        #[cfg(not(target_arch = "x86_64"))]
        let foreign = unknown;
        let check = self.jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            NATIVE_AUDIT_ARCH,
            Target::At(load_nr),
            foreign,
        );
        self.stmt(load(SECCOMP_DATA_ARCH), Target::At(check))
    }

    fn finish(mut self) -> Vec<SockFilter> {
        self.rev.reverse();
        self.rev
    }
}
