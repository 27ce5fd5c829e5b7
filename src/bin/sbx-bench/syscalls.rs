//! The filter and the monitors: (d) a `getpid` loop bare, under a one-instruction filter and
//! under the default policy; (e) the violation round trip, and the two monitors compared.

use crate::helper::{getpid_bare, getpid_sandboxed};
use crate::helper::{helper_policy, Helper};
use crate::stats::{median, progress, Samples, Table};
use crate::timing::{repeat, sandboxed, time_sandboxed};
use crate::Config;
use sbx::{Policy, Status};
use std::time::{Duration, Instant};

pub(crate) fn section_d(
    t: &mut Table,
    cfg: &Config,
    policy: Option<&Policy>,
    helper: &Result<Helper, String>,
) {
    progress("(d) getpid loop");
    t.section(
        &format!(
            "(d) getpid loop, N={} (ns/call, median of {})",
            cfg.getpid_n, cfg.getpid_reps
        ),
        "  ns/call   x bare",
    );
    let (h, policy) = match (helper, policy) {
        (Ok(h), Some(p)) => (h, p),
        (Err(e), _) => {
            t.note(&format!("no static helper ({e}): section skipped"));
            return;
        }
        (Ok(_), None) => {
            t.note("the helper's policy does not build: section skipped");
            return;
        }
    };
    let mut bare = Vec::new();
    let mut allow1 = Vec::new();
    let mut sbx = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..cfg.getpid_reps {
        match getpid_bare(h, cfg.getpid_n, false) {
            Ok(v) => bare.push(v),
            Err(e) => errors.push(format!("bare: {e}")),
        }
        match getpid_bare(h, cfg.getpid_n, true) {
            Ok(v) => allow1.push(v),
            Err(e) => errors.push(format!("one-instruction filter: {e}")),
        }
        match getpid_sandboxed(h, policy, cfg.getpid_n) {
            Ok(v) => sbx.push(v),
            Err(e) => errors.push(format!("libsbx: {e}")),
        }
    }
    let bare = median(bare);
    for (label, v) in [
        ("bare", bare),
        (
            "one-instruction RET_ALLOW filter (seccomp floor)",
            median(allow1),
        ),
        ("libsbx tool_default (monitor attached)", median(sbx)),
    ] {
        if v.is_nan() {
            continue;
        }
        t.row(label, &format!("{v:>9.1}{:>8.2}x", v / bare));
    }
    errors.dedup();
    for e in errors.iter().take(3) {
        t.note(e);
    }
}

pub(crate) fn section_e(
    t: &mut Table,
    cfg: &Config,
    policy: Option<&Policy>,
    helper: &Result<Helper, String>,
) {
    progress("(e) violation round trip");
    t.section(
        "(e) violation round trip: start -> result (ms)",
        "     mean   median  x exit (mean / median)",
    );
    let (h, policy) = match (helper, policy) {
        (Ok(h), Some(p)) => (h, p),
        (Err(e), _) => {
            t.note(&format!("no static helper ({e}): section skipped"));
            return;
        }
        (Ok(_), None) => {
            t.note("the helper's policy does not build: section skipped");
            return;
        }
    };
    let exit = repeat(cfg.runs, || time_sandboxed(policy, &[h.path(), "exit"]));
    let violate = repeat(cfg.runs, || time_violation(policy, h));
    match (exit, violate) {
        (Ok(x), Ok(v)) => {
            t.timed("static helper exits at once (OK)", &x, Some(&x));
            t.timed(
                "static helper calls ptrace at once (VIOLATION)",
                &v,
                Some(&x),
            );
            t.row(
                "violation handling (median difference)",
                &format!("{:>18.3}", v.median_ms() - x.median_ms()),
            );
        }
        (Err(e), _) | (_, Err(e)) => t.note(&format!("failed: {e}")),
    }
    monitors_compared(t, cfg, h);
}

/// Start -> VIOLATION result of the helper's forbidden call.
fn time_violation(policy: &Policy, h: &Helper) -> Result<Duration, String> {
    let t0 = Instant::now();
    let r = sandboxed(policy, &[h.path(), "violate"], None).map_err(|e| e.to_string())?;
    let d = t0.elapsed();
    match r.status {
        Status::Violation => Ok(d),
        _ => Err(format!("expected VIOLATION, got {}", r.describe())),
    }
}

/// The violation round trip under each monitor, the runs alternating so that the machine's
/// drift affects both alike (issue 10: user-notify's must not exceed ptrace's).
fn monitors_compared(t: &mut Table, cfg: &Config, h: &Helper) {
    const BLOCK: usize = 25;
    let build = |m: sbx::Monitor| helper_policy(h, m).map_err(|e| format!("{}: {e}", m.name()));
    let (ptrace, unotify) = match (build(sbx::Monitor::Ptrace), build(sbx::Monitor::Unotify)) {
        (Ok(p), Ok(u)) => (p, u),
        (Err(e), _) | (_, Err(e)) => {
            t.note(&format!("monitors not compared: {e}"));
            return;
        }
    };
    // Blocks of BLOCK runs each, alternating: a host changes monitor rarely, and the switch
    // (the supervisor leaves or enters its epoll-only sleep) should not be in every sample.
    let mut by = [Samples::default(), Samples::default()];
    let blocks = cfg.runs.div_ceil(BLOCK);
    let measured = (0..blocks).try_for_each(|_| -> Result<(), String> {
        for (policy, samples) in [(&ptrace, 0), (&unotify, 1)] {
            time_violation(policy, h)?; // the switch, not counted
            for _ in 0..BLOCK {
                by[samples].push(time_violation(policy, h)?);
            }
        }
        Ok(())
    });
    match measured {
        Ok(()) => {
            t.timed(
                "VIOLATION under ptrace (alternating blocks)",
                &by[0],
                Some(&by[0]),
            );
            t.timed(
                "VIOLATION under user-notify (alternating blocks)",
                &by[1],
                Some(&by[0]),
            );
        }
        Err(e) => t.note(&format!("monitors compared: failed: {e}")),
    }
}
