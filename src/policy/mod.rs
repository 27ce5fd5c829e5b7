//! Seccomp policies: a builder, the syscall tables, the mandatory rules, a BPF compiler, a
//! disassembler and an in-process evaluator.
//!
//! CONTRACT (other modules rely on exactly these items; keep their names and meaning):
//! - [`PolicyBuilder`] (mutating `&mut self -> &mut Self` methods, `build(&self)`),
//! - [`Policy`] (immutable, `Clone` is cheap, `Send + Sync`), with `program()`, `disassemble()`,
//!   `decide()`, `allows_exec()`,
//! - [`SockFilter`], [`SeccompData`], [`Action`], [`Arg`], [`Width`], [`Cmp`], [`Sys`],
//!   [`DefaultAction`], the [`trace_data`] codes and [`EXEC_MAGIC`],
//! - `syscalls::name(arch, nr)` and `syscalls::number(name)`.
//!
//! How the parts fit: a [`PolicyBuilder`] collects per-syscall rules (its convenience groups live
//! in `groups`, ready-made policies in [`presets`]); `build` puts the mandatory rules (module
//! `mandatory`) in front of them, producing one rule table, and compiles that table into a BPF
//! program (module `compile`). The resulting [`Policy`] keeps both: the program to install, and
//! the table, from which [`Policy::decide`] answers without BPF, so tests can hold the compiler to
//! the model through the interpreter in [`bpf`].
//!
//! Every program starts with the same prologue and mandatory rules, whatever the user asked:
//! a syscall through a foreign ABI (i386 `int 0x80`, x32 numbers) returns TRACE with
//! [`trace_data::ARCH_X86_32`], [`trace_data::ARCH_UNKNOWN`] or [`trace_data::X32`]; the
//! library's own `execveat` returns TRACE with [`trace_data::EXEC`]; `ptrace`, `bpf`, `io_uring_*`,
//! `userfaultfd`, `perf_event_open`, the keyring calls, module and kexec loading, and
//! `clone`/`unshare` with namespace flags or `seccomp` with a new listener are violations;
//! `clone3` returns ENOSYS. A user may turn the unconditional denials into an errno, never into an
//! allow.

pub mod bpf;
mod builder;
mod compile;
#[cfg(test)]
mod differential;
pub mod disasm;
pub mod file;
mod groups;
mod ir;
mod learning;
mod mandatory;
mod model;
pub mod net;
pub mod oci;
pub mod presets;
mod rule;
pub mod syscalls;
#[cfg(test)]
mod tests;
mod view;

pub use builder::PolicyBuilder;
pub use learning::ExplicitRule;
pub(crate) use model::unotify_program;
pub use model::Policy;
pub use oci::{OciOptions, OciReport, Override};
pub use rule::{errno_from_name, Action, Arg, Cmp, DefaultAction, Sys, Width, MAX_ERRNO};

/// The argument a learned policy conditions native syscall `nr` on, and its width: socket's
/// domain, ioctl's request, prctl's option, fcntl's command, clone's flags, mmap's and
/// mprotect's protection (the calls whose arguments decide what they can do).
pub fn learn_arg(nr: u32) -> Option<(u8, Width)> {
    const SUSPECTS: [(&str, u8, Width); 8] = [
        ("socket", 0, Width::W32),
        ("socketpair", 0, Width::W32),
        ("ioctl", 1, Width::W32),
        ("prctl", 0, Width::W32),
        ("fcntl", 1, Width::W32),
        ("clone", 0, Width::W64),
        ("mmap", 2, Width::W32),
        ("mprotect", 2, Width::W32),
    ];
    SUSPECTS
        .iter()
        .find(|(name, ..)| syscalls::number(name) == Some(nr))
        .map(|&(_, index, width)| (index, width))
}

pub mod trace_data {
    //! `SECCOMP_RET_TRACE` data values the compiled program returns; the monitor dispatches on
    //! them. Every violation is a TRACE so the monitor sees the thread at syscall entry with its
    //! registers intact; without a tracer the kernel fails the call with ENOSYS (never runs it).
    /// A syscall no rule allows (default deny, explicit violation rule, or mandatory rule).
    pub const VIOLATION: u16 = 1;
    /// A syscall through the i386 ABI on x86-64.
    pub const ARCH_X86_32: u16 = 2;
    /// A syscall through an architecture other than native or i386.
    pub const ARCH_UNKNOWN: u16 = 3;
    /// An x32 syscall number (bit 30 set) on x86-64.
    pub const X32: u16 = 4;
    /// The library's own `execveat` that starts the target (allowed once by the monitor).
    pub const EXEC: u16 = 5;
    /// A user `trace` rule or `DefaultAction::TraceAll`: handed to Notify (a violation until a
    /// Notify handler exists).
    pub const USER_TRACE: u16 = 6;
    /// A call the policy refuses (default deny or a violation rule) in an audit run: the monitor
    /// records it and lets it run. Mandatory rules stay [`VIOLATION`].
    pub const AUDIT: u16 = 7;
    /// A `connect` under a network allow-list: the user-notify monitor's proxy decides it.
    pub const CONNECT: u16 = 8;
}

/// Which kernel mechanism watches the sandboxee and decides the calls the policy hands over
/// (violations, trace rules, the start exec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Monitor {
    /// User-notify when the kernel has it and nothing in the run needs ptrace (namespaces
    /// disabled, a sandboxee that sandboxes itself, an `open_files` limit the host cannot leave
    /// a spare fd number above); ptrace otherwise.
    #[default]
    Auto,
    /// ptrace(2): also reports signals and every task to Notify, and counts tasks.
    Ptrace,
    /// seccomp user notification (`SECCOMP_RET_USER_NOTIF`, Linux 5.0; 5.9 here for the
    /// supervisor's needs): no ptrace at all; signals are not reported and the task cap is the
    /// sandbox's own RLIMIT_NPROC. Needs namespaces.
    Unotify,
}

impl Monitor {
    /// `auto`, `ptrace` or `unotify`.
    pub fn name(self) -> &'static str {
        match self {
            Monitor::Auto => "auto",
            Monitor::Ptrace => "ptrace",
            Monitor::Unotify => "unotify",
        }
    }

    /// The monitor named `auto`, `ptrace` or `unotify`.
    pub fn from_name(name: &str) -> Option<Monitor> {
        [Monitor::Auto, Monitor::Ptrace, Monitor::Unotify]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// Value of the 6th argument register of the library's own `execveat`. The kernel ignores that
/// register for `execveat`; the mandatory rules recognise the start of the target by it.
pub const EXEC_MAGIC: u64 = 0x5342_5845; // "SBXE"

/// One classic-BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SockFilter {
    /// Opcode.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Generic field (constant, offset).
    pub k: u32,
}

/// The kernel's `struct seccomp_data`, the input of a seccomp filter.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeccompData {
    /// Syscall number.
    pub nr: i32,
    /// `AUDIT_ARCH_*` value.
    pub arch: u32,
    /// Instruction pointer.
    pub instruction_pointer: u64,
    /// Raw argument registers.
    pub args: [u64; 6],
}
