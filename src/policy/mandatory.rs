//! The rules every policy starts with, ahead of anything the user writes, even
//! [`DefaultAction::AllowAll`](super::DefaultAction::AllowAll) (design §3 item 2).
//!
//! Two kinds:
//! - *deny-only* syscalls, which no policy may allow: the kernel attack surface they open
//!   (ptrace, eBPF, io_uring, userfaultfd, perf events, keyrings, module and kexec loading) is not
//!   something a sandboxee needs. The user may turn the violation into an errno, nothing else.
//!   `clone3` is here too with ENOSYS: its flags sit in a struct BPF cannot read, and ENOSYS makes
//!   libc fall back to `clone`, whose flags the filter can check.
//! - *conditional* checks, which precede the user's rules for the same syscall: the library's own
//!   `execveat` (recognised by [`EXEC_MAGIC`](super::EXEC_MAGIC)), `clone`/`unshare` creating
//!   namespaces (or `CLONE_UNTRACED`, which would escape the ptrace monitor), and `seccomp`
//!   installing a user-notification listener (which would let the sandboxee answer its own
//!   syscalls). Calls without those bits fall through to the user's rules.
//!
//! The architecture check and the x32 guard are part of the program prologue (see `compile`), not
//! of this table, because they run before the syscall number is known.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::bpf::SECCOMP_RET_ERRNO;
use super::ir::{Cond, Rule};
use super::rule::{Action, Arg};
use super::{syscalls, trace_data, EXEC_MAGIC};
use crate::error::{Error, Result};

/// The namespace-creating flags of `clone` and `unshare`. Checked on the low 32 bits: the kernel
/// reads `clone`'s flags as 64-bit but every flag defined for it lives in the low word, and
/// `unshare` takes an `int`.
pub(crate) const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32 as u64;

/// `clone` flags that end the sandbox: new namespaces, and `CLONE_UNTRACED`, which would start a
/// child the ptrace monitor cannot follow.
pub(crate) const CLONE_DENIED: u64 = NAMESPACE_FLAGS | libc::CLONE_UNTRACED as u32 as u64;

/// `unshare` flags that end the sandbox. `CLONE_NEWTIME` (0x80) is only meaningful here: in
/// `clone`'s flags the same bit belongs to the exit signal (time namespaces need `clone3`, which is
/// ENOSYS anyway).
pub(crate) const UNSHARE_DENIED: u64 = NAMESPACE_FLAGS | CLONE_NEWTIME;

/// `CLONE_NEWTIME` from `<linux/sched.h>`.
const CLONE_NEWTIME: u64 = 0x80;

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` from `<linux/seccomp.h>`.
pub(crate) const SECCOMP_FILTER_FLAG_NEW_LISTENER: u64 = 1 << 3;

/// Verdict of a violation found by a mandatory rule.
pub(crate) const VIOLATION: u32 = super::bpf::SECCOMP_RET_TRACE | trace_data::VIOLATION as u32;

/// Deny-only syscalls: name, and why (for the error a user gets when trying to allow one).
const DENY_ONLY: &[(&str, &str)] = &[
    (
        "ptrace",
        "it would let the sandboxee control other processes",
    ),
    ("bpf", "eBPF is a large kernel attack surface"),
    (
        "io_uring_setup",
        "io_uring runs syscalls the filter never sees",
    ),
    (
        "io_uring_enter",
        "io_uring runs syscalls the filter never sees",
    ),
    (
        "io_uring_register",
        "io_uring runs syscalls the filter never sees",
    ),
    ("userfaultfd", "it is a common kernel exploit primitive"),
    (
        "perf_event_open",
        "perf events are a large kernel attack surface",
    ),
    ("keyctl", "kernel keyrings are shared outside the sandbox"),
    ("add_key", "kernel keyrings are shared outside the sandbox"),
    (
        "request_key",
        "kernel keyrings are shared outside the sandbox",
    ),
    ("init_module", "it loads kernel code"),
    ("finit_module", "it loads kernel code"),
    ("delete_module", "it unloads kernel code"),
    ("kexec_load", "it replaces the running kernel"),
    ("kexec_file_load", "it replaces the running kernel"),
    (
        "clone3",
        "its flags cannot be checked by BPF; it returns ENOSYS so libc falls back to clone",
    ),
];

/// A deny-only syscall of the native table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Denied {
    pub name: &'static str,
    pub why: &'static str,
    /// Verdict unless the user supplies an errno.
    pub ret: u32,
}

/// The mandatory table for the native architecture.
#[derive(Debug)]
pub(crate) struct Mandatory {
    pub denied: BTreeMap<u32, Denied>,
    pub conditional: BTreeMap<u32, Vec<Rule>>,
}

/// The mandatory rules, resolved once against the native syscall table. Names missing from the
/// table (a syscall the architecture does not have) are simply not needed there.
pub(crate) fn get() -> &'static Mandatory {
    static TABLE: OnceLock<Mandatory> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut denied = BTreeMap::new();
        for &(name, why) in DENY_ONLY {
            if let Some(nr) = syscalls::number(name) {
                let ret = if name == "clone3" {
                    SECCOMP_RET_ERRNO | libc::ENOSYS as u32
                } else {
                    VIOLATION
                };
                denied.insert(nr, Denied { name, why, ret });
            }
        }
        let exec = super::bpf::SECCOMP_RET_TRACE | u32::from(trace_data::EXEC);
        let conditional_rules = [
            ("execveat", Cond::new(Arg::eq64(5, EXEC_MAGIC)), exec),
            (
                "clone",
                Cond::not(Arg::masked_eq32(0, CLONE_DENIED, 0)),
                VIOLATION,
            ),
            (
                "unshare",
                Cond::not(Arg::masked_eq32(0, UNSHARE_DENIED, 0)),
                VIOLATION,
            ),
            (
                "seccomp",
                Cond::not(Arg::masked_eq32(1, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0)),
                VIOLATION,
            ),
        ];
        let mut conditional = BTreeMap::new();
        for (name, cond, ret) in conditional_rules {
            if let Some(nr) = syscalls::number(name) {
                conditional.insert(
                    nr,
                    vec![Rule {
                        conds: vec![cond],
                        ret,
                    }],
                );
            }
        }
        Mandatory {
            denied,
            conditional,
        }
    })
}

/// Checks a user rule against the mandatory ones: on a deny-only syscall only an unconditional
/// errno (which replaces the verdict) or violation is accepted.
pub(crate) fn check_user_rule(nr: u32, conditional: bool, action: Action) -> Result<()> {
    let Some(d) = get().denied.get(&nr) else {
        return Ok(());
    };
    let refused = match action {
        _ if conditional => "a conditional rule",
        Action::Allow => "allowing it",
        Action::Trace => "tracing it",
        Action::Errno(_) | Action::Violation => return Ok(()),
    };
    Err(Error::InvalidPolicy(format!(
        "{} is mandatory-denied ({}); {refused} is not possible, only an unconditional errno",
        d.name, d.why
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mandatory_syscall_exists_natively() {
        let m = get();
        assert_eq!(m.denied.len(), DENY_ONLY.len());
        assert_eq!(m.conditional.len(), 4);
    }

    #[test]
    fn flag_values() {
        assert_eq!(NAMESPACE_FLAGS, 0x7e02_0000);
        assert_eq!(CLONE_DENIED, 0x7e82_0000);
        assert_eq!(UNSHARE_DENIED, 0x7e02_0080);
    }

    #[test]
    fn user_rules_on_denied_syscalls() {
        let ptrace = syscalls::number("ptrace").unwrap();
        assert!(check_user_rule(ptrace, false, Action::Errno(1)).is_ok());
        assert!(check_user_rule(ptrace, false, Action::Violation).is_ok());
        for (cond, action) in [
            (false, Action::Allow),
            (false, Action::Trace),
            (true, Action::Errno(1)),
        ] {
            let err = check_user_rule(ptrace, cond, action).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidPolicy(m) if m.contains("ptrace is mandatory-denied"))
            );
        }
        let read = syscalls::number("read").unwrap();
        assert!(check_user_rule(read, true, Action::Allow).is_ok());
    }
}
