//! The listener's notifications: each received only when poll says one is there, its verdict
//! recomputed with [`Policy::decide`](crate::policy::Policy::decide) from the registers, and the
//! answer (the start exec, audit, trace rules, a `connect` under the allow-list, a violation).

#![allow(unsafe_code)]

use super::Running;
use crate::monitor::epoll::Epoll;
use crate::monitor::netproxy::{self, Answer};
use crate::monitor::record_violation;
use crate::monitor::state::Shared;
use crate::monitor::sysinfo::violation;
use crate::notify::{Notify, TraceAction};
use crate::policy::bpf::SECCOMP_RET_TRACE;
use crate::policy::net::OnDenied;
use crate::policy::{trace_data, SeccompData};
use crate::result::{DeniedConnect, Reason, RunResult, Violation};
use crate::sys::seccomp as uapi;
use std::os::fd::{AsRawFd, RawFd};

/// At most this many notifications per listener per wake-up (the rest wake the supervisor
/// again): one busy sandbox cannot hold up the others.
const BATCH: usize = 64;

impl Running {
    /// Notifications: up to [`BATCH`], each received only when poll says one is there (the
    /// receive ioctl blocks otherwise).
    pub(super) fn on_listener(&mut self, epoll: &Epoll, shared: &Shared, notify: &mut dyn Notify) {
        for _ in 0..BATCH {
            let Some(l) = self.listener.as_ref() else {
                return;
            };
            let fd = l.as_raw_fd();
            match poll_in(fd) {
                Readiness::Pending => {}
                Readiness::Idle => return,
                Readiness::HangUp => {
                    // No task uses the filter any more.
                    epoll.remove(fd);
                    self.listener = None;
                    return;
                }
            }
            let mut n = uapi::Notif::default();
            // SAFETY: the kernel writes one struct seccomp_notif into `n`.
            let r =
                unsafe { libc::ioctl(fd, uapi::IOCTL_NOTIF_RECV as _, std::ptr::addr_of_mut!(n)) };
            if r != 0 {
                // ENOENT: the task was killed meanwhile; anything else: try at the next wake.
                continue;
            }
            self.on_notification(&n, epoll, shared, notify);
        }
    }

    fn on_notification(
        &mut self,
        n: &uapi::Notif,
        epoll: &Epoll,
        shared: &Shared,
        notify: &mut dyn Notify,
    ) {
        let pid = libc::pid_t::try_from(n.pid).unwrap_or(0);
        let input = SeccompData {
            nr: n.data.nr,
            arch: n.data.arch,
            instruction_pointer: n.data.instruction_pointer,
            args: n.data.args,
        };
        // Only our filter can hand us a notification (a sandboxee's own filter has no listener),
        // so the verdict is the policy's; anything but a TRACE verdict is treated as a violation.
        let verdict = self.policy.decide(&input);
        let data = if verdict & 0xffff_0000 == SECCOMP_RET_TRACE {
            (verdict & 0xffff) as u16
        } else {
            trace_data::VIOLATION
        };
        if data == trace_data::EXEC && !self.exec_allowed && self.main.is_none() {
            // Before the start exec only library code runs, so the first request is ours.
            self.main = Some(pid);
            self.exec_allowed = true;
            if !notify.started(pid) {
                self.setup_error = Some(RunResult::setup_error(
                    Reason::FailedNotify,
                    "Notify::started vetoed the run".into(),
                ));
                self.end_all(shared, epoll);
                return;
            }
            // The init's "running" byte may be waiting unread: look before holding the exec.
            if !self.init_ran {
                self.read_pipe(epoll);
            }
            if self.init_ran {
                self.respond(n.id, 0, uapi::USER_NOTIF_FLAG_CONTINUE);
                // Running from here: `start` returns without waiting for another wake-up (a
                // failing exec still ends as the SETUP_ERROR its report says).
                self.mark_running(shared);
            } else {
                self.held_exec = Some(n.id);
            }
            return;
        }
        // A call after the start exec: the exec is done (before it, only library code ran).
        self.mark_running(shared);
        let call = || {
            violation(
                input.arch,
                u64::from(crate::sys::bits_u32(input.nr)),
                input.args,
                input.instruction_pointer,
                0,
                pid,
            )
        };
        if data == trace_data::CONNECT {
            return self.on_connect(n, call, epoll, shared, notify);
        }
        if data == trace_data::AUDIT {
            if let Some(log) = self.audit.as_mut() {
                // Decided on the syscall number alone: CONTINUE is safe (seccomp_unotify(2)).
                log.record(
                    input.arch,
                    u64::from(crate::sys::bits_u32(input.nr)),
                    &input.args,
                    call,
                );
                self.respond(n.id, 0, uapi::USER_NOTIF_FLAG_CONTINUE);
                return;
            }
        }
        if data == trace_data::USER_TRACE {
            match notify.trace(&call()) {
                TraceAction::Allow => {
                    self.respond(n.id, 0, uapi::USER_NOTIF_FLAG_CONTINUE);
                    return;
                }
                TraceAction::Errno(e) if (1..=4095).contains(&e) => {
                    self.respond(n.id, -i32::from(e), 0);
                    return;
                }
                _ => {}
            }
        }
        if self.violation.is_none() && self.policy.stack_traces() {
            if let Some(l) = self.listener.as_ref() {
                self.stack_trace = Some(super::attach::trace_and_kill(l.as_raw_fd(), n.id, pid));
            }
        }
        record_violation(&mut self.violation, data, call, notify);
        // The waiting task never resumes: the whole sandbox dies with its init.
        self.end_all(shared, epoll);
    }

    /// A `connect` under the network allow-list: the proxy answers it, or it is denied as the
    /// policy says (an audit run records it and fails it with ECONNREFUSED).
    fn on_connect(
        &mut self,
        n: &uapi::Notif,
        call: impl FnOnce() -> Violation,
        epoll: &Epoll,
        shared: &Shared,
        notify: &mut dyn Notify,
    ) {
        let (Some(proxy), Some(l)) = (self.proxy.as_mut(), self.listener.as_ref()) else {
            // Without a proxy the policy has no CONNECT verdict: nothing else sends one.
            self.respond(n.id, -libc::EACCES, 0);
            return;
        };
        let listener = l.as_raw_fd();
        let denied = match proxy.on_connect(listener, n, epoll) {
            Answer::Reply(errno) => return netproxy::respond(listener, n.id, errno),
            Answer::Done | Answer::Pending => return,
            Answer::Denied(d) => d,
            Answer::Refused(d, errno) => {
                log::info!("sandbox network refusal: {}", d.describe());
                let errno = match self.policy.network().map(|p| p.on_denied) {
                    Some(OnDenied::Errno(e)) if self.audit.is_none() => i32::from(e),
                    _ => errno,
                };
                if self.denied_connects.len() < DeniedConnect::MAX_KEPT {
                    self.denied_connects.push(d);
                }
                return netproxy::respond(listener, n.id, errno);
            }
        };
        log::info!("sandbox network denial: {}", denied.describe());
        let action = if self.audit.is_some() {
            OnDenied::Errno(crate::sys::errno16(libc::ECONNREFUSED))
        } else {
            self.policy
                .network()
                .map_or(OnDenied::Violation, |p| p.on_denied)
        };
        if self.denied_connects.len() < DeniedConnect::MAX_KEPT {
            self.denied_connects.push(denied);
        }
        match action {
            OnDenied::Errno(e) => netproxy::respond(listener, n.id, i32::from(e)),
            OnDenied::Violation => {
                if self.violation.is_none() {
                    let v = call();
                    notify.violation(&v);
                    self.violation = Some((Reason::ViolationNetwork, v));
                }
                self.end_all(shared, epoll);
            }
        }
    }
}

enum Readiness {
    Pending,
    Idle,
    HangUp,
}

/// Whether a notification waits on listener `fd` (without blocking).
fn poll_in(fd: RawFd) -> Readiness {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd, no timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    if r <= 0 {
        Readiness::Idle
    } else if p.revents & libc::POLLIN != 0 {
        Readiness::Pending
    } else if p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Readiness::HangUp
    } else {
        Readiness::Idle
    }
}
