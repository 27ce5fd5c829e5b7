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
    namespaces: crate::namespaces::Namespaces,
    mounts: crate::mounts::MountTree,
}

impl Policy {
    pub(crate) fn new(
        program: Vec<SockFilter>,
        table: Table,
        default_action: DefaultAction,
        allows_exec: bool,
        namespaces: crate::namespaces::Namespaces,
        mounts: crate::mounts::MountTree,
    ) -> Policy {
        Policy(Arc::new(Inner {
            program,
            table,
            default_action,
            allows_exec,
            namespaces,
            mounts,
        }))
    }

    /// Namespace settings.
    pub fn namespaces(&self) -> &crate::namespaces::Namespaces {
        &self.0.namespaces
    }

    /// The filesystem view (meaningful only with namespaces).
    pub fn mounts(&self) -> &crate::mounts::MountTree {
        &self.0.mounts
    }

    /// The complete filter to install, mandatory prologue first. At most 4096 instructions.
    pub fn program(&self) -> &[SockFilter] {
        &self.0.program
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
        let nr = data.nr as u32;
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
