//! What sbx-run prints besides the result line: a learning run's policy file, an audit run's
//! list, and `--check`'s feature table.

use crate::EXIT_SETUP;
use sbx::RunResult;
use std::fmt::Write as _;
use std::io::Write;

/// Writes what a learning run from `base` made to `path` in `format`; with `merge`, what an
/// existing policy file at `path` holds is merged in first.
pub(crate) fn write_learned(
    path: &std::path::Path,
    format: &str,
    base: &sbx::PolicyBuilder,
    r: &RunResult,
    (merge, quiet): (bool, bool),
    err: &mut dyn Write,
) -> Result<(), String> {
    let mut learned = sbx::learn::Learned::default();
    if merge && path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--learn-merge {}: {e}", path.display()))?;
        learned = sbx::learn::Learned::from_toml(&text, &path.display().to_string())
            .map_err(|e| format!("--learn-merge: {e}"))?;
    }
    learned.merge(&sbx::learn::Learned::from_runs(base, [r]));
    let text = match format {
        "rust" => learned.to_rust(),
        "c" => learned.to_c(),
        "go" => learned.to_go(),
        "oci" => learned.to_oci_json(),
        _ => learned.to_toml(),
    };
    std::fs::write(path, text).map_err(|e| format!("--learn {}: {e}", path.display()))?;
    if !quiet {
        let _ = writeln!(
            err,
            "sbx-run: learned {} syscalls into {} ({format}); run under them with --policy (toml)",
            learned.calls.len(),
            path.display()
        );
    }
    Ok(())
}

/// A violation's stack trace (`--stack-trace`), to stderr, one frame a line.
pub(crate) fn print_stack_trace(r: &RunResult, err: &mut dyn Write) {
    let Some(t) = &r.stack_trace else {
        return;
    };
    let _ = writeln!(err, "sbx-run: stack trace of thread {}:", t.thread);
    for line in t.describe().lines() {
        let _ = writeln!(err, "  {line}");
    }
}

/// An audit run's list, to stderr: what to allow (or rule otherwise) for the run to pass.
pub(crate) fn print_audit(r: &RunResult, err: &mut dyn Write) {
    let Some(calls) = &r.audit else {
        return;
    };
    if calls.is_empty() {
        let _ = writeln!(err, "sbx-run: audit: the run made no call the policy refuses");
        return;
    }
    let _ = writeln!(
        err,
        "sbx-run: audit: {} syscalls the policy refuses ran (first call shown):",
        calls.len()
    );
    for c in calls {
        let times = if c.count == 1 {
            "once".to_string()
        } else {
            format!("{} times", c.count)
        };
        let _ = writeln!(err, "  {} {times}, pid {}", c.first.describe(), c.first.pid);
    }
    let names: Vec<&str> = calls
        .iter()
        .map(|c| c.first.name.as_str())
        .filter(|n| *n != "UNKNOWN")
        .collect();
    let _ = writeln!(err, "sbx-run: audit: to allow them: --allow {}", names.join(","));
}

/// `--check`: the kernel feature probes and the canary, one line each; the exit status.
pub(crate) fn print_check() -> u8 {
    let features = sbx::features::probe();
    let width = features.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in &features {
        let state = match (f.available, f.required) {
            (true, _) => "ok",
            (false, true) => "MISSING",
            // An ABI the kernel does not offer: nothing to fix, nothing to block.
            (false, false) if f.fix.is_empty() => "absent",
            (false, false) => "missing",
        };
        let kind = if f.required { "required" } else { "optional" };
        let mut line = format!("{state:<7} {:<width$}  {kind}  {}", f.name, f.detail);
        if !f.available && !f.fix.is_empty() {
            let _ = write!(line, "; fix: {}", f.fix);
        }
        println!("{line}");
    }
    if sbx::features::all_required_available(&features) {
        println!("all required features are available and a canary sandbox ran");
        0
    } else {
        println!("sandboxes cannot run here: see the MISSING lines above");
        let fallback = features
            .iter()
            .any(|f| f.name == "canary without namespaces" && f.available);
        if fallback {
            println!(
                "the fallback works: sbx-run --no-namespaces (seccomp, Landlock and rlimits only; \
                 the host's files and processes are visible)"
            );
        }
        EXIT_SETUP
    }
}
