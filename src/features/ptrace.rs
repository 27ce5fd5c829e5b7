//! The ptrace probe: PTRACE_SEIZE of a probe child, and PTRACE_GET_SYSCALL_INFO at its stop.

#![allow(unsafe_code)]

use super::helpers::{errno, errno_name, errno_text, raw_fork, read_sysctl, reap};
use super::Feature;

/// Outcome of attaching to a child of ours: whether PTRACE_SEIZE worked and whether
/// PTRACE_GET_SYSCALL_INFO answered at the stop that followed.
struct PtraceProbe {
    seize: Result<(), i32>,
    syscall_info: Result<(), i32>,
}

fn ptrace_probe() -> Result<PtraceProbe, i32> {
    // The child only waits to be killed; it is reaped below.
    let pid = raw_fork(0)?;
    if pid == 0 {
        loop {
            // SAFETY: pause takes no arguments; SIGKILL ends the loop.
            unsafe { libc::pause() };
        }
    }
    // SAFETY: plain ptrace requests on our own child; no pointers except the info buffer below.
    let seize = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, 0) };
    let mut out = PtraceProbe {
        seize: Ok(()),
        syscall_info: Err(libc::ESRCH),
    };
    if seize != 0 {
        out.seize = Err(errno());
    } else {
        // SAFETY: as above.
        let stopped =
            unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0, 0) } == 0 && wait_stop(pid);
        if stopped {
            let mut buf = [0u64; 16];
            // SAFETY: the kernel writes at most buf's size (passed as the addr argument).
            let r = unsafe {
                libc::ptrace(
                    crate::monitor::sysinfo::PTRACE_GET_SYSCALL_INFO,
                    pid,
                    std::mem::size_of_val(&buf),
                    buf.as_mut_ptr(),
                )
            };
            out.syscall_info = if r > 0 { Ok(()) } else { Err(errno()) };
        }
    }
    // SAFETY: killing and reaping our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
    Ok(out)
}

fn wait_stop(pid: libc::pid_t) -> bool {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes into our local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            return libc::WIFSTOPPED(status);
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return false;
    }
}

/// The ptrace line and the PTRACE_GET_SYSCALL_INFO line, both from one attach.
pub(super) fn probe_ptrace() -> (Feature, Feature) {
    let scope = read_sysctl("/proc/sys/kernel/yama/ptrace_scope");
    let scope_text = match &scope {
        Some(s) => format!("yama ptrace_scope={s}"),
        None => "no Yama".to_string(),
    };
    let scope_n = scope
        .as_deref()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(0);
    let (attach, info) = match ptrace_probe() {
        Ok(p) => (p.seize, p.syscall_info),
        Err(e) => (Err(e), Err(e)),
    };
    let ptrace = match attach {
        Ok(()) => {
            Feature {
                name: "ptrace",
                required: true,
                available: true,
                detail: if scope_n >= 2 {
                    format!("PTRACE_SEIZE of a child ok; {scope_text}: works only with CAP_SYS_PTRACE, \
                         unprivileged users need ptrace_scope <= 1")
                } else {
                    format!("PTRACE_SEIZE of a child ok; {scope_text}")
                },
                fix: "",
            }
        }
        Err(e) => Feature {
            name: "ptrace",
            required: true,
            available: false,
            detail: format!(
                "PTRACE_SEIZE of a child failed: {}; {scope_text}",
                errno_text(e)
            ),
            fix:
                "sysctl -w kernel.yama.ptrace_scope=1; in a container, allow ptrace in its seccomp \
                  profile (Docker: --security-opt seccomp=unconfined or a profile with ptrace)",
        },
    };
    let info = Feature {
        name: "PTRACE_GET_SYSCALL_INFO",
        required: true,
        available: info.is_ok(),
        detail: match info {
            Ok(()) => "answered at a ptrace stop".to_string(),
            Err(e) if attach.is_err() => {
                format!("not tested: ptrace unavailable ({})", errno_name(e))
            }
            Err(e) => format!("PTRACE_GET_SYSCALL_INFO: {}", errno_text(e)),
        },
        fix: "upgrade to Linux 5.3 or newer",
    };
    (ptrace, info)
}
