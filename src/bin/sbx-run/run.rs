//! One run, from parsed options and their policy to an exit status: start the sandbox, wait
//! (killing it when asked), report. The same for a run in this process and one a server makes
//! for a client (`server.rs`), which differ only in the environment the sandboxee's is made
//! from, what stops the run and where the report goes.

use crate::args::Options;
use crate::json::result_json;
use crate::report::{print_audit, print_stack_trace, write_learned};
use crate::setup::{build_executor, Built, Env};
use std::sync::Arc;
use crate::signals::{run_until_done, Ended, Stop};
use crate::{EXIT_SETUP, EXIT_TIMEOUT, EXIT_VIOLATION};
use sbx::{Reason, RunResult, Sandbox, Status, Stdio};
use std::io::Write;

/// What a run ends with.
pub(crate) struct Done {
    pub(crate) code: u8,
    /// The run had a cgroup (a process about to exit removes its groups).
    pub(crate) cgroup: bool,
}

impl From<u8> for Done {
    fn from(code: u8) -> Done {
        Done {
            code,
            cgroup: false,
        }
    }
}

/// Where a run's sandboxee reads and writes, and where its report goes.
pub(crate) struct Io<'a> {
    /// The sandboxee's stdin, stdout and stderr; `None`: this process's own.
    pub(crate) stdio: Option<[std::os::fd::OwnedFd; 3]>,
    pub(crate) report: &'a mut dyn Write,
}

/// Runs the options' program in a sandbox, under `built` (what [`build_policy`] made of the
/// options, perhaps for an earlier run of the same options).
pub(crate) fn run(
    opts: &Options,
    built: Result<Arc<Built>, String>,
    env: &Env,
    stop: &dyn Stop,
    io: Io<'_>,
) -> Done {
    let err = io.report;
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(err, "sbx-run: error: {e}");
            return EXIT_SETUP.into();
        }
    };
    for line in &built.notes {
        let _ = writeln!(err, "{line}");
    }
    let mut ex = build_executor(opts, built.file_limits.as_ref(), env);
    if let Some([i, o, e]) = io.stdio {
        ex.stdin(Stdio::Fd(i)).stdout(Stdio::Fd(o)).stderr(Stdio::Fd(e));
    }
    let sb = Sandbox::new(ex, built.policy.clone());
    let (result, received) = match run_until_done(&sb, stop) {
        Ended::Ran(r, received) => (r, received),
        Ended::SignalBeforeStart(sig) => return signal_status(sig).into(),
    };
    // An Err means libsbx refused the request before starting anything (bad input); it is
    // reported like any other setup failure, in the same shapes.
    let r = (*result).unwrap_or_else(|e| RunResult::setup_error(Reason::FailedConfig, e.to_string()));
    report(opts, &r, received, err);
    if let Some(path) = &opts.learn {
        let format = opts.learn_format.as_deref().unwrap_or("toml");
        let how = (opts.learn_merge, opts.quiet);
        if let Err(e) = write_learned(path, format, &built.builder, &r, how, err) {
            let _ = writeln!(err, "sbx-run: error: {e}");
            return Done {
                code: EXIT_SETUP,
                cgroup: r.cgroup.is_some(),
            };
        }
    }
    if opts.json {
        let _ = writeln!(err, "{}", result_json(&r));
    }
    Done {
        code: exit_status(&r, received),
        cgroup: r.cgroup.is_some(),
    }
}

/// The result line, notes, the audit list (unless learning), the stack trace and the refused
/// connections; nothing when quiet.
fn report(opts: &Options, r: &RunResult, received: Option<i32>, err: &mut dyn Write) {
    if opts.quiet {
        return;
    }
    if r.status != Status::Ok {
        let _ = match received {
            None => writeln!(err, "sbx-run: {}", r.describe()),
            Some(sig) => writeln!(
                err,
                "sbx-run: got {}, killed the sandbox: {}",
                sbx::result::signal_name(sig),
                r.describe()
            ),
        };
    }
    if !r.degraded.is_empty() {
        let _ = writeln!(
            err,
            "sbx-run: note: left out of the sandbox (refused by the kernel): {}",
            r.degraded.join(", ")
        );
    }
    if opts.learn.is_none() {
        print_audit(r, err);
    }
    print_stack_trace(r, err);
    // The one that ended a NETWORK VIOLATION is in its description already.
    let fatal = usize::from(r.reason() == Some(sbx::Reason::ViolationNetwork));
    let listed = r.denied_connects.len() - fatal.min(r.denied_connects.len());
    for d in &r.denied_connects[..listed] {
        let _ = writeln!(err, "sbx-run: network: refused {} (pid {})", d.describe(), d.pid);
    }
}

/// Exit status for a result (see the EXIT STATUS section of the help); `received` is the
/// signal that made sbx-run kill the sandbox, if one did.
// An exit status is the low 8 bits of the code, as wait(2) and the shell take it.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
fn exit_status(r: &RunResult, received: Option<i32>) -> u8 {
    match r.status {
        Status::Ok => r.exit_code.unwrap_or(r.reason_code as i32) as u8,
        Status::Signaled => signal_status(r.signal.unwrap_or(r.reason_code as i32)),
        Status::Violation => EXIT_VIOLATION,
        Status::Timeout => EXIT_TIMEOUT,
        Status::ExternalKill => {
            signal_status(received.unwrap_or(r.signal.unwrap_or(libc::SIGKILL)))
        }
        // SETUP_ERROR, INTERNAL_ERROR, UNSET, and a status added after this binary was written
        // (`Status` is non-exhaustive): libsbx did not run the program to its end.
        _ => EXIT_SETUP,
    }
}

pub(crate) fn signal_status(sig: i32) -> u8 {
    u8::try_from(128 + sig.clamp(0, 127)).unwrap_or(u8::MAX) // 128..=255: always fits
}
