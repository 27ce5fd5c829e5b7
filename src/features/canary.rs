//! The canary sandboxes: `/bin/true` run for real in the default sandbox and in the fallback
//! without namespaces, the last probes of [`super::probe`].

use super::helpers::errno_text;
use super::Feature;

/// Runs `/bin/true` in a real sandbox: with `namespaces`, the default one (`tool_default`: all
/// namespaces, the tool view with its tmpfs and /proc, pivot_root, hostname, loopback, Landlock,
/// seccomp); without, the fallback (seccomp, Landlock, rlimits). A failure names the first
/// failing step, its errno, the likely cause and the fix (`diagnose::hint`).
pub(super) fn probe_canary(namespaces: bool) -> Feature {
    let (name, required) = if namespaces {
        ("canary sandbox", true)
    } else {
        ("canary without namespaces", false)
    };
    let fix = if namespaces {
        "apply the fix named above (docs/containers.md)"
    } else {
        "apply the fix named above"
    };
    let fail = |detail: String| Feature {
        name,
        required,
        available: false,
        detail,
        fix,
    };
    let Some(program) = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
    else {
        return fail("no /bin/true to run as the canary".into());
    };
    let pb = if namespaces {
        crate::policy::presets::tool_default()
    } else {
        let mut pb = crate::PolicyBuilder::new();
        crate::policy::presets::tool_rules(&mut pb);
        pb.disable_namespaces();
        pb
    };
    let policy = match pb.build() {
        Ok(p) => p,
        Err(e) => return fail(format!("building the canary's policy: {e}")),
    };
    let mut ex = crate::Executor::new(program);
    ex.walltime(std::time::Duration::from_secs(10));
    let r = match crate::Sandbox::new(ex, policy).run() {
        Ok(r) => r,
        Err(e) => return fail(format!("{e}")),
    };
    if r.success() {
        let mut detail = format!("{program} ran; fences: {}", r.fences.join(", "));
        if !r.degraded.is_empty() {
            let _ = std::fmt::Write::write_fmt(
                &mut detail,
                format_args!("; left out: {}", r.degraded.join(", ")),
            );
        }
        if !namespaces {
            detail.push_str(" (the fallback: sbx-run --no-namespaces)");
        }
        return Feature {
            name,
            required,
            available: true,
            detail,
            fix: "",
        };
    }
    let detail = match (r.failed_step, r.setup_errno) {
        (Some(step), Some(e)) => {
            let mut d = format!("step {step} failed with {}", errno_text(e));
            if let Some(h) = &r.setup_hint {
                d.push_str("; cause: ");
                d.push_str(h);
            } else {
                d.push_str(": ");
                d.push_str(r.message.as_deref().unwrap_or(""));
            }
            d
        }
        _ => r.describe(),
    };
    fail(detail)
}
