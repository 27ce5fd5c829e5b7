//! Stack traces of a stopped sandboxee thread (opt-in: `PolicyBuilder::stack_traces`).
//!
//! The monitor calls [`capture`] while the thread sits in a ptrace stop: the seccomp stop of a
//! violation, the signal-delivery-stop of a crash or, at a timeout or a kill, the main thread's
//! stop for `PTRACE_INTERRUPT` under the ptrace monitor (`monitor/ptrace/kill_trace.rs`); the
//! stop of an on-demand attach under user-notify (`monitor/unotify/attach.rs`). The walk runs
//! on the supervisor thread, from the thread's registers (`regs.rs`, `PTRACE_GETREGSET`) and
//! memory (`memory.rs`, `process_vm_readv`), with the modules `/proc/PID/maps` names
//! (`maps.rs`) read from the sandboxee's own view of the filesystem (`module.rs`); `unwind.rs`
//! steps through the frames with the modules' CFI (`.eh_frame`, `.debug_frame`) or, without
//! CFI, the frame-pointer chain, and `symbols.rs` names each frame (symbol tables, DWARF line
//! tables, demangled).
//!
//! Everything read comes from the sandboxee and may be hostile: the ELF and DWARF parsers are
//! pure Rust over byte slices (gimli, object, addr2line) and never see more than [`limits`]
//! allow: bytes per module and in all, modules, stack pages, unwind steps and wall time. A failure
//! anywhere ends the walk with the frames found so far and the reason in
//! [`StackTrace::error`]; a panic in a parser (a bug) is caught and reported the same way.
//!
//! Layering: below the monitor, above `sys` only; it imports nothing else of the crate.
//! Tests: `tests.rs` (hostile bytes), tests/stacktrace.rs (real programs, a corrupted ELF).

mod maps;
mod memory;
mod module;
mod regs;
mod symbols;
#[cfg(test)]
mod tests;
mod unwind;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The bounds of one trace. The walk stops at the first one reached and says which.
pub mod limits {
    use std::time::Duration;

    /// Frames kept, after folding repeats.
    pub const MAX_FRAMES: usize = 200;
    /// Unwind steps taken (a deep recursion folds into fewer frames than this).
    pub const MAX_STEPS: usize = 4096;
    /// Largest module file read; a larger one is named but not parsed.
    pub const MAX_MODULE_BYTES: u64 = 64 << 20;
    /// Bytes of module files read in all for one trace.
    pub const MAX_TOTAL_BYTES: u64 = 256 << 20;
    /// Distinct modules loaded for one trace.
    pub const MAX_MODULES: usize = 32;
    /// Pages of sandboxee memory (stack) read for one trace, 4 KiB each.
    pub const MAX_PAGES: usize = 1024;
    /// Lines of `/proc/PID/maps` read.
    pub const MAX_MAPS: usize = 65536;
    /// Wall time for one trace (checked between steps and module loads).
    pub const MAX_TIME: Duration = Duration::from_secs(2);
}

/// The frames of one thread at the moment it was stopped, innermost first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackTrace {
    /// Host thread id of the thread walked.
    pub thread: i32,
    /// The frames, innermost (the instruction that made the call) first, at most
    /// [`limits::MAX_FRAMES`].
    pub frames: Vec<Frame>,
    /// The walk stopped at a limit (frames, steps, time) before the outermost frame.
    pub truncated: bool,
    /// Why the walk ended before the outermost frame or found no frame at all (no CFI for an
    /// address, unreadable memory, a limit, "unsupported on this architecture", "cannot attach
    /// to thread"), `None` when it reached the end of the stack.
    pub error: Option<String>,
}

/// One frame of a [`StackTrace`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// Instruction pointer: the call's own for the innermost frame, the return address for the
    /// others.
    pub pc: u64,
    /// The mapped file the address lies in, as `/proc/PID/maps` names it (`[vdso]` for the
    /// vDSO); `None` for anonymous memory (JIT code, a corrupted return address).
    pub module: Option<String>,
    /// The address in the module's own terms (its ELF virtual addresses, what `addr2line -e
    /// MODULE` and `objdump` take; the file offset when the module could not be read): for a
    /// caller frame, the call instruction's (the return address minus one).
    pub module_offset: u64,
    /// The function, demangled (Rust, C++), from the module's symbol table.
    pub symbol: Option<String>,
    /// The address's distance from the start of [`symbol`](Self::symbol).
    pub symbol_offset: u64,
    /// Source file where the module has DWARF line tables.
    pub file: Option<String>,
    /// Source line (with [`file`](Self::file)).
    pub line: Option<u32>,
    /// How many more times this same frame follows (recursion folded into one frame).
    pub repeats: u32,
    /// How the frame was found: `"registers"` (the innermost), `"cfi"` (the caller's
    /// unwind tables) or `"frame_pointer"` (the frame-pointer chain, where there was no CFI).
    pub found_by: &'static str,
}

impl Frame {
    /// `f3+0x12 (/bin/prog+0x1139) at prog.c:10`
    pub fn describe(&self) -> String {
        let mut s = match &self.symbol {
            Some(sym) => format!("{sym}+{:#x}", self.symbol_offset),
            None => format!("{:#x}", self.pc),
        };
        match &self.module {
            Some(m) => {
                let _ = write!(s, " ({m}+{:#x})", self.module_offset);
            }
            None => s.push_str(" (no module)"),
        }
        if let Some(file) = &self.file {
            let _ = write!(s, " at {file}");
            if let Some(line) = self.line {
                let _ = write!(s, ":{line}");
            }
        }
        if self.repeats > 0 {
            let _ = write!(s, " (and {} more times)", self.repeats);
        }
        s
    }
}

impl StackTrace {
    /// A trace that could not be taken at all.
    pub(crate) fn unavailable(thread: i32, why: &str) -> StackTrace {
        StackTrace {
            thread,
            error: Some(why.to_string()),
            ..StackTrace::default()
        }
    }

    /// The trace of a thread that did not stop within `waited` after `PTRACE_INTERRUPT`.
    pub(crate) fn did_not_stop(thread: i32, waited: Duration) -> StackTrace {
        StackTrace::unavailable(
            thread,
            &format!(
                "the thread did not stop for the trace within {} ms (in a wait only a kill \
                 ends: uninterruptible sleep, vfork)",
                waited.as_millis()
            ),
        )
    }

    /// One line per frame (`#0 ...`), then the reason the walk stopped early, if it did.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (i, f) in self.frames.iter().enumerate() {
            let _ = writeln!(s, "#{i} {}", f.describe());
        }
        if self.truncated {
            s.push_str("(truncated)\n");
        }
        if let Some(e) = &self.error {
            let _ = writeln!(s, "(stack trace stopped: {e})");
        }
        s
    }

    /// The symbols of the frames, innermost first (`None` for a frame without one).
    pub fn symbols(&self) -> Vec<Option<&str>> {
        self.frames.iter().map(|f| f.symbol.as_deref()).collect()
    }
}

/// The deadline and the byte budgets of one trace, shared by its parts.
pub(crate) struct Budget {
    deadline: Instant,
    /// Module bytes still allowed.
    bytes_left: u64,
}

impl Budget {
    fn new(time: Duration) -> Budget {
        Budget {
            deadline: Instant::now() + time,
            bytes_left: limits::MAX_TOTAL_BYTES,
        }
    }

    fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

/// The stack trace of thread `tid`, which must be in a ptrace stop of ours. Never panics and
/// never takes longer than about [`limits::MAX_TIME`] plus one module's parse.
pub(crate) fn capture(tid: libc::pid_t) -> StackTrace {
    let started = Instant::now();
    let walked = std::panic::catch_unwind(|| walk(tid, Budget::new(limits::MAX_TIME)));
    let trace = walked.unwrap_or_else(|_| {
        StackTrace::unavailable(tid, "the unwinder failed on this process's data (a bug)")
    });
    log::debug!(
        "stack trace of {tid}: {} frames in {:?}{}",
        trace.frames.len(),
        started.elapsed(),
        trace
            .error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    trace
}

fn walk(tid: libc::pid_t, mut budget: Budget) -> StackTrace {
    let regs = match regs::read(tid) {
        Ok(r) => r,
        Err(why) => return StackTrace::unavailable(tid, &why),
    };
    let maps = match maps::read(tid) {
        Ok(m) => m,
        Err(why) => return StackTrace::unavailable(tid, &why),
    };
    let mut modules = module::Modules::new(tid, maps);
    let mut mem = memory::Memory::new(tid);
    let walked = unwind::walk(regs, &mut modules, &mut mem, &mut budget);
    let mut frames = fold(walked.frames);
    let mut truncated = walked.truncated;
    if frames.len() > limits::MAX_FRAMES {
        frames.truncate(limits::MAX_FRAMES);
        truncated = true;
    }
    let mut error = walked.error;
    if let Err(why) = symbols::name_frames(&mut frames, &modules, &budget) {
        error.get_or_insert(why);
    }
    if truncated && error.is_none() {
        error = Some("the frame or step limit was reached".into());
    }
    StackTrace {
        thread: tid,
        frames,
        truncated,
        error,
    }
}

/// Folds runs of the same frame (same address, as in a direct recursion) into one.
fn fold(raw: Vec<Frame>) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    for f in raw {
        match out.last_mut() {
            Some(last) if last.pc == f.pc => {
                last.repeats = last.repeats.saturating_add(1);
            }
            _ => out.push(f),
        }
    }
    out
}
