//! An audit run's record ([`AuditLog`]): each refused call once, with a count, its first
//! arguments, the values of the argument a learned policy conditions on, and (ptrace monitor,
//! learning run) what the calls returned.

use crate::result::{AuditedCall, CallResults, SeenArg, Violation};

/// Most distinct syscalls an audit run records (a bound for the host's memory; the syscall
/// tables hold fewer than this per ABI, and audited calls come only through the native one).
const AUDIT_DISTINCT_MAX: usize = 4096;

/// The calls an audit run let through although the policy refuses them: each syscall once,
/// with the first call's details and a count, in the order of first use.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    calls: Vec<AuditedCall>,
    /// (audit arch, syscall number) -> index in `calls`.
    index: std::collections::HashMap<(u32, u64), usize>,
}

impl AuditLog {
    /// Counts one call of `nr` through `arch` with `args`; `call` describes it when it is the
    /// first. For the calls a learned policy conditions on an argument, the values it takes are
    /// kept too.
    pub(crate) fn record(&mut self, arch: u32, nr: u64, args: &[u64; 6], call: impl FnOnce() -> Violation) {
        let i = match self.index.get(&(arch, nr)) {
            Some(&i) => {
                self.calls[i].count = self.calls[i].count.saturating_add(1);
                i
            }
            None if self.calls.len() < AUDIT_DISTINCT_MAX => {
                let first = call();
                log::info!("sandbox audit: the policy refuses {}", first.describe());
                let seen = u32::try_from(nr)
                    .ok()
                    .filter(|_| arch == crate::arch::NATIVE_AUDIT_ARCH)
                    .and_then(crate::policy::learn_arg)
                    .map(|(index, width)| SeenArg {
                        index,
                        width,
                        values: Vec::new(),
                        more: false,
                    });
                self.index.insert((arch, nr), self.calls.len());
                self.calls.push(AuditedCall {
                    first,
                    count: 1,
                    seen,
                    results: None,
                });
                self.calls.len() - 1
            }
            None => return,
        };
        if let Some(seen) = self.calls[i].seen.as_mut() {
            let v = args[usize::from(seen.index)] & seen.width.mask();
            if !seen.values.contains(&v) {
                if seen.values.len() < SeenArg::MAX_VALUES {
                    seen.values.push(v);
                } else {
                    seen.more = true;
                }
            }
        }
    }

    pub(crate) fn into_calls(self) -> Vec<AuditedCall> {
        self.calls
    }

    /// Counts what a call of `nr` through `arch` returned (`ret`, the return register at the
    /// syscall-exit stop). The kernel's restart codes (-512..=-516: interrupted by a signal, to
    /// be restarted) are no result: the restarted call is recorded on its own.
    pub(crate) fn record_result(&mut self, arch: u32, nr: u64, ret: i64) {
        let Some(&i) = self.index.get(&(arch, nr)) else {
            return;
        };
        let results = self.calls[i].results.get_or_insert_with(CallResults::default);
        match ret {
            -516..=-512 => {}
            -4095..=-1 => results.note_failure(u16::try_from(-ret).unwrap_or(u16::MAX)),
            _ => results.ok = results.ok.saturating_add(1),
        }
    }
}
