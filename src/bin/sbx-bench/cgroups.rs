//! (i) cgroup limits: what a sandbox's cgroup costs on the spawn path, and a CPU quota's
//! effect on a busy loop.

use crate::helper::Helper;
use crate::stats::{progress, Samples, Table};
use crate::{Config, Policies};
use sbx::{Executor, Policy, RunResult, Sandbox, Status, Stdio};
use std::time::{Duration, Instant};

/// One sandboxed run of `argv` under `limits`' cgroup settings: its wall time and result.
fn limited_run(
    policy: &Policy,
    argv: &[&str],
    cg: sbx::cgroups::CgroupLimits,
) -> Result<(Duration, RunResult), String> {
    let mut ex = Executor::new(argv[0]);
    ex.argv(argv.iter().copied()).stdout(Stdio::Null);
    ex.limits_mut().cgroup = cg;
    let t = Instant::now();
    let r = Sandbox::new(ex, policy.clone())
        .run()
        .map_err(|e| e.to_string())?;
    let d = t.elapsed();
    if r.status != Status::Ok {
        return Err(r.describe());
    }
    Ok((d, r))
}

/// (i) cgroup limits: what a sandbox's cgroup costs on the spawn path, and a CPU quota's effect
/// on a busy loop.
pub(crate) fn section_i(
    t: &mut Table,
    cfg: &Config,
    pol: &Policies,
    helper: &Result<Helper, String>,
) {
    use sbx::cgroups::CgroupLimits;
    progress("(i) cgroup limits");
    t.section(
        "(i) cgroup limits: spawn -> exit of /bin/true (ms)",
        "     mean   median  x without (mean / median)",
    );
    let limited = CgroupLimits {
        memory: Some(256 << 20),
        pids: Some(256),
        cpu_millicores: None,
    };
    if let Err(e) = limited_run(&pol.tool, &["/bin/true"], limited) {
        return t.note(&format!("no cgroup here ({e}): section skipped"));
    }
    let (mut without, mut with) = (Samples::default(), Samples::default());
    // Start -> exec of the target (the sum of the setup steps): the spawn path alone.
    let (mut to_exec_without, mut to_exec_with) = (Samples::default(), Samples::default());
    for _ in 0..cfg.runs {
        if let (Ok((a, ra)), Ok((b, rb))) = (
            limited_run(&pol.tool, &["/bin/true"], CgroupLimits::default()),
            limited_run(&pol.tool, &["/bin/true"], limited),
        ) {
            without.push(a);
            with.push(b);
            to_exec_without.push(ra.setup_latency.iter().map(|s| s.took).sum());
            to_exec_with.push(rb.setup_latency.iter().map(|s| s.took).sum());
        }
    }
    t.timed("full sandbox, no cgroup", &without, Some(&without));
    t.timed(
        "with a memory + pids cgroup (made, joined, read, removed)",
        &with,
        Some(&without),
    );
    t.row(
        "cgroup cost per run, start -> result (median difference)",
        &format!("{:>18.3}", with.median_ms() - without.median_ms()),
    );
    t.timed("start -> exec of the target, no cgroup", &to_exec_without, Some(&to_exec_without));
    t.timed("start -> exec of the target, with the cgroup", &to_exec_with, Some(&to_exec_without));
    t.row(
        "cgroup cost on the spawn path, start -> exec (median difference)",
        &format!("{:>18.3}", to_exec_with.median_ms() - to_exec_without.median_ms()),
    );
    let (Ok(h), Some(hp)) = (helper, pol.helper.as_ref()) else {
        return t.note("no static helper: CPU quota row skipped");
    };
    // CPU time a 1 s busy loop gets, without and with half a CPU.
    let spin = |cpu: Option<u64>| {
        let cg = CgroupLimits {
            cpu_millicores: cpu,
            ..CgroupLimits::default()
        };
        limited_run(hp, &[h.path(), "spin", "1000"], cg)
            .map(|(_, r)| (r.usage.user_time + r.usage.system_time).as_secs_f64())
    };
    match (spin(None), spin(Some(500))) {
        (Ok(full), Ok(half)) => t.row(
            "CPU seconds of a 1 s busy loop: no quota / --cpus 0.5 / ratio",
            &format!("{full:>9.3}{half:>9.3}{:>8.2}x", half / full),
        ),
        (Err(e), _) | (_, Err(e)) => t.note(&format!("busy loop: {e}")),
    }
}
