//! [`Policy`]: a built, immutable policy: the compiled filter plus the rule table it came from.

use std::sync::Arc;

use super::bpf::SECCOMP_RET_TRACE;
use super::ir::Table;
use super::rule::DefaultAction;
use super::{disasm, syscalls, trace_data, SeccompData, SockFilter};
use crate::arch::{Arch, NATIVE_AUDIT_ARCH};
#[cfg(target_arch = "x86_64")]
use crate::arch::{AUDIT_ARCH_I386, X32_SYSCALL_BIT};

/// A built seccomp policy. Immutable; `Clone` shares it (an `Arc`), so it can be reused by many
/// sandboxes and threads.
#[derive(Debug, Clone)]
pub struct Policy(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    program: Vec<SockFilter>,
    table: Table,
    default_action: DefaultAction,
    allows_exec: bool,
    settings: Settings,
}

/// What a policy holds beside its filter: how the sandbox is built and watched.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub namespaces: crate::namespaces::Namespaces,
    pub mounts: crate::mounts::MountTree,
    pub monitor: super::Monitor,
    pub audit: bool,
    /// A learning run's policy ([`super::PolicyBuilder::for_learning`]).
    pub learning: bool,
    pub network: Option<super::net::NetPolicy>,
    /// The sandboxee keeps speculative execution as the kernel left it.
    pub allow_speculation: bool,
    /// A violation records the offending thread's stack.
    pub stack_traces: bool,
}

impl Policy {
    pub(crate) fn new(
        program: Vec<SockFilter>,
        table: Table,
        default_action: DefaultAction,
        allows_exec: bool,
        settings: Settings,
    ) -> Policy {
        Policy(Arc::new(Inner {
            program,
            table,
            default_action,
            allows_exec,
            settings,
        }))
    }

    /// An audit run's policy (see [`PolicyBuilder::audit`](super::PolicyBuilder::audit)).
    pub fn is_audit(&self) -> bool {
        self.0.settings.audit
    }

    /// A learning run's policy (see
    /// [`PolicyBuilder::for_learning`](super::PolicyBuilder::for_learning)).
    pub fn is_learning(&self) -> bool {
        self.0.settings.learning
    }

    /// Whether a violation, crash, timeout or kill records a stack trace (see
    /// [`PolicyBuilder::stack_traces`](super::PolicyBuilder::stack_traces)).
    pub fn stack_traces(&self) -> bool {
        self.0.settings.stack_traces
    }

    /// Whether the sandboxee keeps speculative store bypass and indirect branch speculation
    /// (see [`PolicyBuilder::allow_speculation`](super::PolicyBuilder::allow_speculation)).
    pub fn allows_speculation(&self) -> bool {
        self.0.settings.allow_speculation
    }

    /// The network allow-list, when the policy has one (its `connect` calls go to the proxy).
    pub fn network(&self) -> Option<&super::net::NetPolicy> {
        self.0.settings.network.as_ref()
    }

    /// Namespace settings.
    pub fn namespaces(&self) -> &crate::namespaces::Namespaces {
        &self.0.settings.namespaces
    }

    /// The monitor asked for.
    pub fn monitor(&self) -> super::Monitor {
        self.0.settings.monitor
    }

    /// The filesystem view (meaningful only with namespaces).
    pub fn mounts(&self) -> &crate::mounts::MountTree {
        &self.0.settings.mounts
    }

    /// The complete filter to install, mandatory prologue first. At most 4096 instructions.
    pub fn program(&self) -> &[SockFilter] {
        &self.0.program
    }

    /// The program as the user-notify monitor installs it: every TRACE verdict is
    /// `SECCOMP_RET_USER_NOTIF`, behind one rule that allows `sendmsg` on `reserved_fd` (the
    /// listener's hand-off, at or above the sandboxee's RLIMIT_NOFILE; see `spawn/handoff.rs`).
    pub fn program_for_user_notify(&self, reserved_fd: u32) -> Vec<SockFilter> {
        unotify_program(&self.0.program, reserved_fd)
    }

    /// The filter as text, one `NNN: instruction` line each, with the native syscall name noted
    /// where an instruction compares the syscall number.
    pub fn disassemble(&self) -> String {
        disasm::disassemble_with_names(&self.0.program, |nr| {
            syscalls::name(Arch::native(), u64::from(nr))
        })
    }

    /// What the policy means for `data`, computed from the rules rather than the filter: the
    /// `SECCOMP_RET_*` value (with its data) the filter must return. Tests hold the two equal.
    pub fn decide(&self, data: &SeccompData) -> u32 {
        if data.arch != NATIVE_AUDIT_ARCH {
            #[cfg(target_arch = "x86_64")]
            if data.arch == AUDIT_ARCH_I386 {
                return SECCOMP_RET_TRACE | u32::from(trace_data::ARCH_X86_32);
            }
            return SECCOMP_RET_TRACE | u32::from(trace_data::ARCH_UNKNOWN);
        }
        // The kernel hands `nr` over as an int; its bit pattern is what the filter compares.
        let nr = crate::sys::bits_u32(data.nr);
        #[cfg(target_arch = "x86_64")]
        if nr >= X32_SYSCALL_BIT {
            return SECCOMP_RET_TRACE | u32::from(trace_data::X32);
        }
        self.0.table.decide(nr, &data.args)
    }

    /// Whether the user's rules let the sandboxee run `execve` or `execveat` whatever the
    /// arguments (an unconditional allow, or no rule and [`DefaultAction::AllowAll`]), i.e. whether
    /// execs after the library's own first one are expected.
    pub fn allows_exec(&self) -> bool {
        self.0.allows_exec
    }

    /// The action for syscalls no rule decides.
    pub fn default_action(&self) -> DefaultAction {
        self.0.default_action
    }

    /// The verdict for native syscall `nr` when it does not depend on the arguments, else `None`.
    /// Mandatory rules included.
    pub fn constant_verdict(&self, nr: u32) -> Option<u32> {
        self.0.table.constant(nr)
    }
}

/// The program for the user-notify monitor: `program` with every TRACE verdict turned into
/// USER_NOTIF (the monitor recomputes the verdict's data with [`Policy::decide`]: notifications
/// carry none), behind one rule that lets the sandboxee hand its listener fd to the supervisor:
/// `sendmsg` on fd `reserved_fd`, a number at or above the sandboxee's RLIMIT_NOFILE hard limit,
/// which it can never open again once its own copy is closed at exec (close-on-exec).
pub(crate) fn unotify_program(program: &[SockFilter], reserved_fd: u32) -> Vec<SockFilter> {
    use super::bpf::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W, SECCOMP_RET_ALLOW};
    const ACTION_FULL: u32 = 0xffff_0000;
    let ld = |off: u32| SockFilter {
        code: BPF_LD | BPF_W | BPF_ABS,
        jt: 0,
        jf: 0,
        k: off,
    };
    // A false comparison jumps past the rest of the prefix, to the original program.
    let jne = |k: u32, skip: u8| SockFilter {
        code: BPF_JMP | BPF_JEQ | BPF_K,
        jt: 0,
        jf: skip,
        k,
    };
    let nr = u32::try_from(libc::SYS_sendmsg).unwrap_or(u32::MAX);
    // seccomp_data: nr at 0, arch at 4, args[0] at 16 (low half) and 20 (high half, little endian).
    let mut out = vec![
        ld(4),
        jne(NATIVE_AUDIT_ARCH, 7),
        ld(0),
        jne(nr, 5),
        ld(16),
        jne(reserved_fd, 3),
        ld(20),
        jne(0, 1),
        SockFilter {
            code: BPF_RET | BPF_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        },
    ];
    out.extend(program.iter().map(|i| {
        if i.code == BPF_RET | BPF_K && i.k & ACTION_FULL == SECCOMP_RET_TRACE {
            SockFilter {
                k: crate::sys::seccomp::RET_USER_NOTIF,
                ..*i
            }
        } else {
            *i
        }
    }));
    out
}
