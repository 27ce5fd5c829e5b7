//! [`PolicyBuilder`]: collects rules, checks them against the mandatory ones, and builds a
//! [`Policy`].

use std::collections::BTreeMap;

use super::ir::{Cond, Rule, Table};
use super::model::{Policy, Settings};
use super::net::{Endpoint, NetPolicy, OnDenied};
use super::rule::{check_errno, Action, Arg, DefaultAction, Sys};
use super::{compile, mandatory, syscalls};
use crate::arch::X32_SYSCALL_BIT;
use crate::error::{Error, Result};

/// `IPPROTO_MPTCP` (Linux 5.6).
const IPPROTO_MPTCP: u64 = 262;

/// A rule as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UserRule {
    pub(super) args: Vec<Arg>,
    pub(super) action: Action,
}

/// Builds a seccomp [`Policy`].
///
/// Rules are kept per syscall in call order and the first matching one decides, so order
/// matters: with `rule("ioctl", &[Arg::eq32(1, TCGETS)], Allow)` followed by
/// `errno("ioctl", ENOTTY)`, `isatty()` works and every other `ioctl` fails with ENOTTY; the
/// other way round, every `ioctl` fails.
///
/// Once a syscall has an unconditional rule (from [`allow`](Self::allow), [`errno`](Self::errno),
/// [`trace`](Self::trace), [`violation`](Self::violation), a group, or a [`rule`](Self::rule)
/// without conditions), later rules for it are ignored, as in sandbox2: `allow_read()` followed
/// by `errno("read", EIO)` allows `read`. Adding a rule identical to an existing one is a no-op.
///
/// The mandatory rules (see the module documentation of `policy`) always come first; trying to
/// allow one of the syscalls they deny is an error.
///
/// Methods never fail on the spot: the first error (unknown syscall name, bad errno or argument,
/// a mandatory-denied syscall) is kept and returned by [`build`](Self::build), so calls chain.
#[derive(Debug, Clone, Default)]
pub struct PolicyBuilder {
    pub(super) rules: BTreeMap<u32, Vec<UserRule>>,
    pub(super) default: DefaultAction,
    pub(super) error: Option<Error>,
    /// Namespace settings (see `view.rs`).
    pub(super) namespaces: crate::namespaces::Namespaces,
    /// The filesystem view (see `view.rs`).
    pub(super) mounts: crate::mounts::MountTree,
    /// sandbox2's "overridable" rules: used for a syscall only when the user gave it no
    /// unconditional rule and the default action is a violation (see `fallback_names`).
    pub(super) fallbacks: BTreeMap<u32, Action>,
    /// The monitor asked for (see [`Monitor`](super::Monitor)).
    pub(super) monitor: super::Monitor,
    /// Audit run: refused calls are recorded and let through (see [`audit`](Self::audit)).
    pub(super) audit: bool,
    /// The network allow-list, when [`allow_connect`](Self::allow_connect) was called.
    pub(super) network: Option<NetPolicy>,
    /// See [`allow_speculation`](Self::allow_speculation).
    pub(super) allow_speculation: bool,
    /// A learning run's base ([`for_learning`](Self::for_learning)): explicit violation rules
    /// stay violations in audit mode, and the ptrace monitor records what audited calls return.
    pub(super) learning: bool,
    /// See [`stack_traces`](Self::stack_traces).
    pub(super) stack_traces: bool,
}

impl PolicyBuilder {
    /// An empty builder: only the mandatory rules, everything else a violation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `sys` whatever its arguments.
    pub fn allow(&mut self, sys: impl Into<Sys>) -> &mut Self {
        self.add(sys.into(), &[], Action::Allow)
    }

    /// Allows each syscall of `syscalls`.
    pub fn allow_many<I: IntoIterator<Item = S>, S: Into<Sys>>(
        &mut self,
        syscalls: I,
    ) -> &mut Self {
        for sys in syscalls {
            self.allow(sys);
        }
        self
    }

    /// Makes `sys` fail with `errno` (1..=4095) without running it.
    pub fn errno(&mut self, sys: impl Into<Sys>, errno: u16) -> &mut Self {
        self.add(sys.into(), &[], Action::Errno(errno))
    }

    /// Sends `sys` to the monitor's Notify handler.
    pub fn trace(&mut self, sys: impl Into<Sys>) -> &mut Self {
        self.add(sys.into(), &[], Action::Trace)
    }

    /// Makes `sys` a violation explicitly (documents intent; also what the default does).
    pub fn violation(&mut self, sys: impl Into<Sys>) -> &mut Self {
        self.add(sys.into(), &[], Action::Violation)
    }

    /// Adds a rule: when all of `args` hold, `action`. An empty `args` is unconditional.
    pub fn rule(&mut self, sys: impl Into<Sys>, args: &[Arg], action: Action) -> &mut Self {
        self.add(sys.into(), args, action)
    }

    /// Sets what happens to syscalls no rule decides (default: [`DefaultAction::Violation`]).
    pub fn default_action(&mut self, action: DefaultAction) -> &mut Self {
        if let DefaultAction::Errno(e) = action {
            if let Err(err) = check_errno(e) {
                return self.fail(err);
            }
        }
        self.default = action;
        self
    }

    /// Chooses the monitor (default [`Monitor::Auto`](super::Monitor::Auto)). User-notify needs
    /// namespaces: [`build`](Self::build) refuses it together with `disable_namespaces`.
    pub fn monitor(&mut self, monitor: super::Monitor) -> &mut Self {
        self.monitor = monitor;
        self
    }

    /// Audit mode ("permit all and log"), for developing a policy: every call this policy would
    /// refuse as a violation (no rule allows it, or a `violation` rule) is recorded in the
    /// result's [`audit`](crate::RunResult::audit) list, once per syscall with a count and its
    /// first arguments, and then runs. Errno and trace rules act as usual, and the mandatory
    /// rules (foreign ABIs, ptrace, bpf, namespaces, io_uring, keyctl, ...) still end the run as
    /// violations. Off by default; off, the filter is the same as without this call.
    ///
    /// An audit run is not a sandbox for hostile code: the program can make every call the
    /// kernel and the mandatory rules let it make (namespaces, mounts and limits still apply).
    pub fn audit(&mut self, on: bool) -> &mut Self {
        self.audit = on;
        self
    }

    /// Records a stack in [`RunResult::stack_trace`](crate::RunResult::stack_trace): the
    /// offending thread's at a violation or a crash signal the program does not handle (ptrace
    /// only), the main thread's at a timeout or a kill. [`Monitor::Auto`](super::Monitor::Auto)
    /// then picks ptrace; user-notify attaches on demand (no crash traces). Off by default; off,
    /// the run does nothing new. Module, symbol, file:line: see the README's Stack traces.
    pub fn stack_traces(&mut self, on: bool) -> &mut Self {
        self.stack_traces = on;
        self
    }

    /// Leaves speculative execution as the kernel set it. By default the sandboxee's
    /// speculative store bypass (Spectre v4) and indirect branch speculation (Spectre v2) are
    /// force-disabled with `PR_SET_SPECULATION_CTRL`, as sandbox2 does: it cannot turn them back
    /// on, and the result lists the `speculation_control` fence. That needs a kernel whose
    /// mitigation mode lets a process choose (`spec_store_bypass_disable=prctl` or `seccomp`,
    /// `spectre_v2_user=prctl` or `seccomp`); elsewhere nothing changes and the fence is not
    /// listed. Disabling speculation costs CPU-bound programs time; allow it for trusted
    /// performance-critical work.
    pub fn allow_speculation(&mut self) -> &mut Self {
        self.allow_speculation = true;
        self
    }

    /// Lets the sandboxee's `connect` reach `spec` on the host (see [`super::net`] for the
    /// syntax: `10.0.0.0/8:443`, `[::1]:80`, `unix:/run/x.sock`, `abstract:name`,
    /// `udp:10.0.0.53:53`, a host name resolved now). The sandbox keeps its own empty network
    /// namespace; each `connect` goes to the supervisor, which connects a socket of its own on
    /// the host for an allowed stream endpoint and puts it in place of the sandboxee's. Other
    /// stream connects are refused ([`on_denied_connect`](Self::on_denied_connect)). A `udp:`
    /// entry's address is made local in the sandbox's namespace and the supervisor relays the
    /// datagrams sent there to the real address (`monitor/udp_relay.rs`); other datagrams have
    /// no route. Needs the user-notify monitor and the sandbox's own network namespace
    /// ([`build`](Self::build) says so otherwise). Under an allow-list `socket` is
    /// allowed for AF_UNIX, AF_INET and AF_INET6 (created in the sandbox's empty namespace), and
    /// `socket(..., IPPROTO_MPTCP)` fails with EPROTONOSUPPORT (programs fall back to TCP).
    pub fn allow_connect(&mut self, spec: &str) -> &mut Self {
        match Endpoint::parse(spec) {
            Ok(endpoints) => {
                let net = self.network.get_or_insert_with(NetPolicy::default);
                for e in endpoints {
                    if !net.allowed.contains(&e) {
                        net.allowed.push(e);
                    }
                }
                self
            }
            Err(e) => self.fail(e),
        }
    }

    /// What a stream `connect` the allow-list does not name gets: a `VIOLATION_NETWORK` that ends
    /// the run (default), or an errno, recorded in the result's `denied_connects`. Turns the
    /// network proxy on like [`allow_connect`](Self::allow_connect) (an empty list refuses every
    /// stream connect).
    pub fn on_denied_connect(&mut self, action: OnDenied) -> &mut Self {
        if let OnDenied::Errno(e) = action {
            if let Err(err) = check_errno(e) {
                return self.fail(err);
            }
        }
        self.network
            .get_or_insert_with(NetPolicy::default)
            .on_denied = action;
        self
    }

    /// The network allow-list, if one was set.
    pub fn network(&self) -> Option<&NetPolicy> {
        self.network.as_ref()
    }

    /// Whether [`audit`](Self::audit) mode is on.
    pub fn is_audit(&self) -> bool {
        self.audit
    }

    /// Compiles the policy. Returns the first error any earlier call recorded, or
    /// [`Error::InvalidPolicy`] if the filter would exceed the kernel's 4096 instructions.
    pub fn build(&self) -> Result<Policy> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        self.check_view()?;
        if self.monitor == super::Monitor::Unotify && !self.namespaces.enabled {
            return Err(Error::InvalidPolicy(
                "monitor unotify cannot watch a sandbox without namespaces (disable_namespaces): \
                 without a pid namespace the sandboxee's children would outlive it unseen; use \
                 monitor ptrace or keep namespaces"
                    .into(),
            ));
        }
        self.check_network()?;
        let table = self.table();
        let program = compile::compile(&table)?;
        let allows_exec = ["execve", "execveat"].iter().any(|name| {
            syscalls::number(name).is_some_and(|nr| match self.rules.get(&nr) {
                Some(rules) => rules
                    .first()
                    .is_some_and(|r| r.args.is_empty() && r.action == Action::Allow),
                None => self.default == DefaultAction::AllowAll,
            })
        });
        Ok(Policy::new(
            program,
            table,
            self.default,
            allows_exec,
            Settings {
                namespaces: self.namespaces.clone(),
                mounts: self.mounts.clone(),
                monitor: self.monitor,
                audit: self.audit,
                learning: self.learning,
                network: self.network.clone(),
                allow_speculation: self.allow_speculation,
                stack_traces: self.stack_traces,
            },
        ))
    }

    /// The network proxy needs what it is built on: a private network namespace (else the
    /// sandboxee's own sockets reach the host directly) and the user-notify monitor.
    fn check_network(&self) -> Result<()> {
        let Some(net) = self.network.as_ref() else {
            return Ok(());
        };
        net.check()?;
        let why = if !self.namespaces.enabled {
            "namespaces are disabled"
        } else if self.namespaces.share_network {
            "the host's network is shared (share_network)"
        } else if self.namespaces.net() != crate::namespaces::NetNs::PerSandbox
            && net.udp().next().is_some()
        {
            "a udp: entry's relay lives in the sandbox's own network namespace, and the shared \
             empty namespace (network_namespace(NetNs::Shared)) is every sandbox's"
        } else if self.monitor == super::Monitor::Ptrace {
            "the ptrace monitor does not proxy connects; use monitor unotify or auto"
        } else {
            return Ok(());
        };
        Err(Error::InvalidPolicy(format!(
            "a network allow-list (allow_connect) needs the sandbox's own network namespace and \
             the user-notify monitor: {why}"
        )))
    }

    /// Applies `f` to `self` for each name of `names` that exists on the native architecture.
    /// Groups list the names of every architecture (`fstat64`, `mmap2`, ...); the ones a target
    /// lacks are skipped. A test checks every listed name exists in some table, so a typo cannot
    /// hide here.
    pub(crate) fn each_native(
        &mut self,
        names: &[&'static str],
        mut f: impl FnMut(&mut Self, u32),
    ) -> &mut Self {
        #[cfg(test)]
        SEEN_NAMES.with(|seen| seen.borrow_mut().extend_from_slice(names));
        for name in names {
            if let Some(nr) = syscalls::number(name) {
                f(self, nr);
            }
        }
        self
    }

    /// Allows the native ones of `names`.
    pub(crate) fn allow_names(&mut self, names: &[&'static str]) -> &mut Self {
        self.each_native(names, |b, nr| {
            b.add(Sys::Nr(nr), &[], Action::Allow);
        })
    }

    /// Adds `args → action` to the native ones of `names`.
    pub(crate) fn rule_names(
        &mut self,
        names: &[&'static str],
        args: &[Arg],
        action: Action,
    ) -> &mut Self {
        self.each_native(names, |b, nr| {
            b.add(Sys::Nr(nr), args, action);
        })
    }

    /// Registers `action` for the native ones of `names` as a fallback: it applies after the
    /// user's own rules for that syscall, and only when the default action is a violation. Groups
    /// use it for answers a program copes with (`readlink` → ENOENT in static startup) that the
    /// user may still override with a real rule, in any order.
    pub(crate) fn fallback_names(&mut self, names: &[&'static str], action: Action) -> &mut Self {
        self.each_native(names, |b, nr| {
            b.fallbacks.entry(nr).or_insert(action);
        })
    }

    fn fail(&mut self, err: Error) -> &mut Self {
        log::debug!("policy builder: {err}");
        self.error.get_or_insert(err);
        self
    }

    fn add(&mut self, sys: Sys, args: &[Arg], action: Action) -> &mut Self {
        match self.try_add(sys, args, action) {
            Ok(()) => self,
            Err(err) => self.fail(err),
        }
    }

    /// Registers `action` as the fallback of one syscall (a policy file's `[[fallback]]`, see
    /// [`fallback_names`](Self::fallback_names)); the first one for a syscall stays.
    pub(super) fn fallback(&mut self, sys: Sys, action: Action) -> Result<()> {
        let nr = Self::resolve(sys)?;
        action.validate()?;
        self.fallbacks.entry(nr).or_insert(action);
        Ok(())
    }

    /// A syscall's native number.
    fn resolve(sys: Sys) -> Result<u32> {
        Ok(match sys {
            Sys::Name(name) => match syscalls::number(&name) {
                Some(nr) => nr,
                None => return Err(Error::UnknownSyscall(name)),
            },
            // Numbers from bit 30 up never reach the rules: x32 and negative numbers are stopped
            // by the prologue on x86-64, and no architecture has syscalls that high.
            Sys::Nr(nr) if nr >= X32_SYSCALL_BIT => {
                return Err(Error::InvalidArgument(format!(
                    "syscall number {nr:#x} is out of range (must be below {X32_SYSCALL_BIT:#x})"
                )))
            }
            Sys::Nr(nr) => nr,
        })
    }

    fn try_add(&mut self, sys: Sys, args: &[Arg], action: Action) -> Result<()> {
        let nr = Self::resolve(sys)?;
        action.validate()?;
        for arg in args {
            arg.validate()?;
        }
        mandatory::check_user_rule(nr, !args.is_empty(), action)?;

        let rules = self.rules.entry(nr).or_default();
        let rule = UserRule {
            args: args.to_vec(),
            action,
        };
        if rules.iter().any(|r| r.args.is_empty() || *r == rule) {
            // Already decided unconditionally, or the same rule twice: nothing to add.
            return Ok(());
        }
        rules.push(rule);
        Ok(())
    }

    /// The rule table: mandatory rules first, then the user's.
    fn table(&self) -> Table {
        let mandatory = mandatory::get();
        let mut leaves: BTreeMap<u32, Vec<Rule>> = mandatory.conditional.clone();
        for (&nr, denied) in &mandatory.denied {
            // check_user_rule admitted only unconditional errno/violation here; the first one
            // replaces the mandatory verdict.
            let ret = self
                .rules
                .get(&nr)
                .and_then(|rules| rules.first())
                .map_or(denied.ret, |r| r.action.ret());
            leaves.insert(nr, vec![Rule::unconditional(ret)]);
        }
        for (&nr, rules) in &self.rules {
            if mandatory.denied.contains_key(&nr) {
                continue;
            }
            let leaf = leaves.entry(nr).or_default();
            leaf.extend(rules.iter().map(|r| Rule {
                conds: r.args.iter().copied().map(Cond::new).collect(),
                ret: self.user_ret(r.action),
            }));
        }
        if self.default == DefaultAction::Violation {
            for (&nr, action) in &self.fallbacks {
                if mandatory.denied.contains_key(&nr) {
                    continue;
                }
                let leaf = leaves.entry(nr).or_default();
                if leaf.iter().all(|r| !r.conds.is_empty()) {
                    leaf.push(Rule::unconditional(self.user_ret(*action)));
                }
            }
        }
        if self.network.is_some() {
            Self::network_rules(&mut leaves);
        }
        let default_ret = match self.default {
            DefaultAction::Violation if self.audit => {
                super::bpf::SECCOMP_RET_TRACE | u32::from(super::trace_data::AUDIT)
            }
            other => other.ret(),
        };
        Table {
            leaves,
            default_ret,
        }
    }

    /// Under an allow-list every `connect` goes to the proxy, whatever the user's rules say, and
    /// MPTCP sockets fail (a connect proxied as TCP would not be MPTCP; Go falls back to TCP).
    fn network_rules(leaves: &mut BTreeMap<u32, Vec<Rule>>) {
        let to_proxy = super::bpf::SECCOMP_RET_TRACE | u32::from(super::trace_data::CONNECT);
        if let Some(nr) = syscalls::number("connect") {
            leaves.insert(nr, vec![Rule::unconditional(to_proxy)]);
        }
        if let Some(nr) = syscalls::number("socket") {
            let mptcp = Rule {
                conds: vec![Cond::new(Arg::eq32(2, IPPROTO_MPTCP))],
                ret: Action::Errno(crate::sys::errno16(libc::EPROTONOSUPPORT)).ret(),
            };
            // The sockets an allow-list is about, created in the sandbox's empty namespace: the
            // list means nothing if the policy cannot make one.
            let families = [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6].map(|f| Rule {
                conds: vec![Cond::new(Arg::eq32(0, super::rule::c(f)))],
                ret: Action::Allow.ret(),
            });
            let leaf = leaves.entry(nr).or_default();
            leaf.splice(0..0, std::iter::once(mptcp).chain(families));
        }
    }

    /// The filter's verdict for a user rule: a violation becomes an audit record in audit mode
    /// but in a learning run's base (the mandatory rules' verdicts never pass through here).
    fn user_ret(&self, action: Action) -> u32 {
        match action {
            Action::Violation if self.audit && !self.learning => {
                super::bpf::SECCOMP_RET_TRACE | u32::from(super::trace_data::AUDIT)
            }
            a => a.ret(),
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Every name a group passed to `each_native` on this thread, for the test that checks group
    /// lists against the syscall tables.
    static SEEN_NAMES: std::cell::RefCell<Vec<&'static str>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Drains the names recorded on this thread.
#[cfg(test)]
pub(crate) fn take_seen_names() -> Vec<&'static str> {
    SEEN_NAMES.with(|seen| std::mem::take(&mut *seen.borrow_mut()))
}
