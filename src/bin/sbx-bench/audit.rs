//! (k) what watching costs: two shell scripts, one that runs `/bin/true` in a loop (forks and
//! execs) and one that copies bytes one `read`/`write` at a time (plain calls), each under the
//! default policy (normal), the same in audit mode (nothing they do is refused, so nothing is
//! recorded: the audit flag's own cost), and as learning runs (`learn::learning`: every call
//! goes to the monitor and is recorded; under ptrace also its result) under each monitor. The
//! four alternate run by run so that drift affects them alike; the ratios are against the
//! normal run of the same script.

use crate::stats::{progress, Samples, Table};
use crate::timing::time_sandboxed;
use crate::Config;
use sbx::Policy;

/// Iterations of the first script's loop: each execs `/bin/true` (its dynamic startup, a few
/// dozen calls) from a forked shell.
const LOOPS: usize = 20;
/// Bytes the second script copies, one `read` and one `write` each.
const BYTES: usize = 5000;

pub(crate) fn section_k(t: &mut Table, cfg: &Config) {
    progress("(k) audit and learn runs");
    let scripts = [
        (
            format!("(k) sh: {LOOPS} x /bin/true, start -> result (ms)"),
            format!("i=0; while [ $i -lt {LOOPS} ]; do /bin/true; i=$((i+1)); done"),
        ),
        (
            format!("(k) dd: {BYTES} one-byte read+write, start -> result (ms)"),
            format!("dd if=/dev/zero of=/dev/null bs=1 count={BYTES} 2>/dev/null"),
        ),
    ];
    let labels = [
        "normal run (tool_default)",
        "audit run (tool_default, audit on)",
        "learning run, ptrace monitor",
        "learning run, user-notify monitor",
    ];
    let policies: Result<Vec<(&str, Policy)>, String> = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            let mut b = sbx::policy::presets::tool_default();
            b.monitor(cfg.monitor);
            let b = match i {
                0 => b,
                1 => b.audit(true).clone(),
                2 => sbx::learn::learning(b.monitor(sbx::Monitor::Ptrace)),
                _ => sbx::learn::learning(b.monitor(sbx::Monitor::Unotify)),
            };
            b.build().map(|p| (label, p)).map_err(|e| format!("{label}: {e}"))
        })
        .collect();
    let policies = match policies {
        Ok(p) => p,
        Err(e) => {
            t.note(&format!("(k) skipped: {e}"));
            return;
        }
    };
    for (title, script) in &scripts {
        t.section(title, "     mean   median  x normal (mean / median)");
        compare(t, &policies, &["/bin/sh", "-c", script.as_str()], (cfg.runs / 10).max(5));
    }
}

/// Runs `argv` under each policy in turn, `runs` rounds after two warm-up rounds; one row each.
fn compare(t: &mut Table, policies: &[(&str, Policy)], argv: &[&str], runs: usize) {
    let mut by: Vec<Samples> = policies.iter().map(|_| Samples::default()).collect();
    // Two warm-up rounds, then `runs` rounds of one run each, alternating.
    for round in 0..runs + 2 {
        for ((label, policy), samples) in policies.iter().zip(by.iter_mut()) {
            match time_sandboxed(policy, argv) {
                Ok(d) if round >= 2 => samples.push(d),
                Ok(_) => {}
                Err(e) => {
                    t.note(&format!("{label}: failed: {e}"));
                    return;
                }
            }
        }
    }
    for ((label, _), samples) in policies.iter().zip(&by) {
        t.timed(label, samples, Some(&by[0]));
    }
}
