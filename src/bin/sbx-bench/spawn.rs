//! Spawn costs: (a) spawn-to-exit of `/bin/true`, plain and sandboxed, and whole
//! `unshare`/`bwrap` commands; (b) sandboxes per second; (c) the host-size effect.

use crate::stats::{progress, Samples, Table};
use crate::timing::{
    repeat, sandboxed, time_command, time_command_served, time_sandboxed, two_cpus,
    wake_round_trip, which, ForkExec,
};
use crate::{Config, Policies};
use sbx::Policy;
use std::path::Path;
use std::time::{Duration, Instant};

#[allow(clippy::too_many_lines)] // one table section: its runs, then its rows
pub(crate) fn section_a(t: &mut Table, cfg: &Config, pol: &Policies) -> Option<Samples> {
    let policy = &pol.tool;
    progress("(a) spawn of /bin/true");
    t.section(
        "(a) spawn -> exit of /bin/true (ms)",
        "     mean   median  x plain (mean / median)",
    );
    // Plain and sandboxed are interleaved, so drift in the machine affects both alike.
    let mut plain = Samples::default();
    let mut sbx = Samples::default();
    let mut bare = pol.bare.as_ref().map(|_| Samples::default());
    let mut shared_net = pol.tool_shared_net.as_ref().map(|_| Samples::default());
    // The shared empty namespace needs a root caller: the row is left out otherwise.
    let mut shared_empty = pol
        .tool_shared_empty
        .as_ref()
        .filter(|p| time_sandboxed(p, &["/bin/true"]).is_ok())
        .map(|_| Samples::default());
    // A root caller's sandboxes come from a template mount namespace of the view (from the
    // process's third on): the same without, for the comparison.
    let mut no_template = sbx::namespaces::caller_is_host_root().then(Samples::default);
    // Per-step setup latency of the full sandbox, summed over the runs (RunResult::setup_latency).
    let mut steps: Vec<(&'static str, Duration)> = Vec::new();
    // The rest of those runs: the target's run and exit, the teardown, the result's hand-back.
    let mut after_exec = Samples::default();
    let warm = time_command(&["/bin/true"]).and_then(|_| time_sandboxed(policy, &["/bin/true"]));
    if let Err(e) = warm {
        t.note(&format!("spawn failed, section skipped: {e}"));
        return None;
    }
    if let Some(Err(e)) = pol.bare.as_ref().map(|p| time_sandboxed(p, &["/bin/true"])) {
        t.note(&format!("no-namespace policy failed, row skipped: {e}"));
        bare = None;
    }
    for _ in 0..cfg.runs {
        match (
            time_command(&["/bin/true"]),
            time_sandboxed(policy, &["/bin/true"]),
        ) {
            (Ok(p), Ok(s)) => {
                plain.push(p);
                sbx.push(s);
            }
            (Err(e), _) | (_, Err(e)) => {
                t.note(&format!("spawn failed: {e}"));
                return None;
            }
        }
        let t0 = Instant::now();
        match sandboxed(policy, &["/bin/true"], None) {
            Ok(r) => {
                let to_exec: Duration = r.setup_latency.iter().map(|s| s.took).sum();
                after_exec.push(t0.elapsed().saturating_sub(to_exec));
                for st in &r.setup_latency {
                    match steps.iter_mut().find(|(n, _)| *n == st.step) {
                        Some((_, d)) => *d += st.took,
                        None => steps.push((st.step, st.took)),
                    }
                }
            }
            Err(e) => t.note(&format!("breakdown run failed: {e}")),
        }
        if let (Some(samples), Some(p)) = (shared_net.as_mut(), pol.tool_shared_net.as_ref()) {
            if let Ok(d) = time_sandboxed(p, &["/bin/true"]) {
                samples.push(d);
            }
        }
        if let (Some(samples), Some(p)) = (shared_empty.as_mut(), pol.tool_shared_empty.as_ref()) {
            if let Ok(d) = time_sandboxed(p, &["/bin/true"]) {
                samples.push(d);
            }
        }
        if let Some(samples) = no_template.as_mut() {
            sbx::sandbox::set_mount_templates(false);
            if let Ok(d) = time_sandboxed(policy, &["/bin/true"]) {
                samples.push(d);
            }
            sbx::sandbox::set_mount_templates(true);
        }
        if let (Some(samples), Some(p)) = (bare.as_mut(), pol.bare.as_ref()) {
            match time_sandboxed(p, &["/bin/true"]) {
                Ok(d) => samples.push(d),
                Err(e) => {
                    t.note(&format!("no-namespace policy failed: {e}"));
                    bare = None;
                }
            }
        }
    }
    t.timed(
        "plain spawn (std Command: posix_spawn + wait)",
        &plain,
        Some(&plain),
    );
    if let Some(b) = &bare {
        t.timed(
            "libsbx, no namespaces (seccomp + ptrace monitor)",
            b,
            Some(&plain),
        );
    }
    t.timed(
        "libsbx, tool_default (+ 7 namespaces, tool view)",
        &sbx,
        Some(&plain),
    );
    t.note(&format!(
        "p50 / p99: plain {:.3} / {:.3} ms, full sandbox {:.3} / {:.3} ms",
        plain.median_ms(),
        plain.quantile_ms(0.99),
        sbx.median_ms(),
        sbx.quantile_ms(0.99)
    ));
    if let Some(nt) = &no_template {
        t.timed(
            "libsbx, tool_default without mount templates",
            nt,
            Some(&plain),
        );
    }
    if let Some(sn) = &shared_net {
        t.timed(
            "libsbx, tool_default but the host's network",
            sn,
            Some(&plain),
        );
        t.note(&format!(
            "network namespace's share of the full sandbox: {:.3} ms of {:.3} ms (medians)",
            sbx.median_ms() - sn.median_ms(),
            sbx.median_ms()
        ));
    }
    if let Some(se) = &shared_empty {
        t.timed(
            "libsbx, tool_default in the shared empty netns (NetNs::Shared)",
            se,
            Some(&plain),
        );
    }
    if !steps.is_empty() {
        let n = cfg.runs.max(1) as f64;
        let total: f64 = steps.iter().map(|(_, d)| d.as_secs_f64() * 1e3 / n).sum();
        t.note(&format!(
            "setup latency breakdown of the full sandbox (mean of {} runs, {total:.3} ms to exec):",
            cfg.runs
        ));
        for (name, d) in &steps {
            t.note(&format!(
                "    {:<40} {:>7.3} ms",
                name,
                d.as_secs_f64() * 1e3 / n
            ));
        }
        t.note(&format!(
            "    {:<40} {:>7.3} ms (median; the target's run and exit, the namespaces' teardown, \
             the result's hand-back)",
            "exec of the target -> result",
            after_exec.median_ms()
        ));
    }
    if let Some((a, b)) = two_cpus() {
        if let (Some(same), Some(across)) = (
            wake_round_trip(a, a, cfg.runs),
            wake_round_trip(a, b, cfg.runs),
        ) {
            t.note(&format!(
                "hand-over between two threads (one byte there and back, 50 us apart, median): \
                 {same:.1} us on one CPU, {across:.1} us across two; a sandbox's start and end \
                 pass ~10 such hand-overs between threads and processes, a plain spawn ~2"
            ));
        }
    }

    // Whole commands, each a plain spawn of a launcher that then runs /bin/true.
    let sbx_run = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("sbx-run")));
    let mut whole: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(p) = sbx_run.filter(|p| p.exists()) {
        // A static sbx-run (scripts/build-cli.sh) has no program interpreter to load; built
        // against musl it also skips glibc's start-up CPU probes.
        let linked = match std::fs::read(&p) {
            Ok(bytes) if bytes.windows(15).any(|w| w == b"/lib64/ld-linux") => "dynamic",
            Ok(bytes) if bytes.windows(9).any(|w| w == b"src_musl/") => "static, musl",
            Ok(_) => "static-pie, glibc",
            Err(_) => "unreadable",
        };
        whole.push((
            format!("whole cmd: sbx-run --version ({linked})"),
            vec![p.display().to_string(), "--version".into()],
        ));
        whole.push((
            format!("whole cmd: sbx-run -q -- /bin/true ({linked})"),
            vec![
                p.display().to_string(),
                "-q".into(),
                "--".into(),
                "/bin/true".into(),
            ],
        ));
    } else {
        t.note("sbx-run is not built next to sbx-bench: its whole-command row is skipped");
    }
    whole.push((
        "whole cmd: unshare -Ur /bin/true".into(),
        ["unshare", "-Ur", "/bin/true"].map(String::from).to_vec(),
    ));
    // bwrap with the same view as tool_default(): the system directories (symlinks kept as
    // symlinks), /etc read-only, a private /tmp and /dev/shm, /proc and /dev.
    let mut bwrap: Vec<String> = ["bwrap", "--unshare-all", "--die-with-parent"]
        .map(String::from)
        .to_vec();
    for d in sbx::policy::presets::SYSTEM_DIRECTORIES
        .iter()
        .chain(["/etc"].iter())
    {
        let p = Path::new(d);
        if p.is_symlink() {
            if let Ok(to) = std::fs::read_link(p) {
                bwrap.extend([
                    "--symlink".into(),
                    to.display().to_string(),
                    (*d).to_string(),
                ]);
            }
        } else if p.is_dir() {
            bwrap.extend(["--ro-bind".into(), (*d).to_string(), (*d).to_string()]);
        }
    }
    // The withheld /etc entries are covered like tool_view covers them (files by /dev/null).
    for (f, _) in sbx::policy::presets::ETC_WITHHELD {
        if Path::new(f).is_file() && !f.contains('*') {
            bwrap.extend(["--ro-bind".into(), "/dev/null".into(), f.to_string()]);
        }
    }
    bwrap.extend(
        [
            "--tmpfs",
            "/tmp",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/dev/shm",
            "/bin/true",
        ]
        .map(String::from),
    );
    whole.push((
        "whole cmd: bwrap --unshare-all, tool_default's view".into(),
        bwrap,
    ));
    for (label, argv) in &whole {
        if !argv[0].contains('/') && which(&argv[0]).is_none() {
            t.note(&format!("{} is not installed: row skipped", argv[0]));
            continue;
        }
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        match repeat(cfg.runs, || time_command(&refs)) {
            Ok(s) => t.timed(label, &s, Some(&plain)),
            Err(e) => t.note(&format!("{label}: failed, skipped: {e}")),
        }
        if label.starts_with("whole cmd: sbx-run -q") {
            served_row(t, cfg, &refs, &plain);
        }
    }
    Some(sbx)
}

/// `sbx-run -q -- /bin/true` through a resident `sbx-run --serve` started for the row (its
/// warm-up runs and the bench's own warm-up come before the timed runs).
fn served_row(t: &mut Table, cfg: &Config, argv: &[&str], plain: &Samples) {
    use std::io::BufRead;
    let label = "whole cmd: the same through sbx-run --serve";
    let server = std::process::Command::new(argv[0])
        .arg("--serve")
        .env_remove("SBX_RUN_SERVER")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut server = match server {
        Ok(s) => s,
        Err(e) => return t.note(&format!("{label}: no server, skipped: {e}")),
    };
    let mut line = String::new();
    if let Some(out) = server.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    match line.trim().strip_prefix("SBX_RUN_SERVER=") {
        Some(socket) => {
            let socket = Path::new(socket);
            match repeat(cfg.runs, || time_command_served(argv, Some(socket))) {
                Ok(s) => t.timed(label, &s, Some(plain)),
                Err(e) => t.note(&format!("{label}: failed, skipped: {e}")),
            }
        }
        None => t.note(&format!("{label}: the server did not start, skipped")),
    }
    drop(server.stdin.take()); // its end of file ends it
    let _ = server.wait();
}

pub(crate) fn section_b(t: &mut Table, cfg: &Config, policy: &Policy) {
    // Sandboxes of the default policy (namespaces and the tool view).
    progress("(b) sandboxes per second");
    t.section(
        "(b) sandboxes per second (/bin/true)",
        "  per sec  x sequential",
    );
    let run_n = |n: usize| -> Result<(), String> {
        for _ in 0..n {
            time_sandboxed(policy, &["/bin/true"])?;
        }
        Ok(())
    };
    let n = cfg.runs.max(20);
    let t0 = Instant::now();
    if let Err(e) = run_n(n) {
        t.note(&format!("failed: {e}"));
        return;
    }
    let seq = n as f64 / t0.elapsed().as_secs_f64();
    t.row("sequential", &format!("{seq:>9.0}{:>8.2}x", 1.0));
    let t0 = Instant::now();
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2).map(|_| s.spawn(|| run_n(n / 2))).collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        t.note(&format!("2 threads failed: {e}"));
        return;
    }
    let par = (n / 2 * 2) as f64 / t0.elapsed().as_secs_f64();
    t.row("2 threads", &format!("{par:>9.0}{:>8.2}x", par / seq));
}

pub(crate) fn section_c(t: &mut Table, cfg: &Config, policy: &Policy, small_sbx: Option<&Samples>) {
    progress("(c) host size effect (small host)");
    let gib = cfg.big_bytes as f64 / (1u64 << 30) as f64;
    t.section(
        &format!("(c) host size: spawn after host touched {gib:.0} GiB (ms)"),
        " small med  big med  big/small",
    );
    let fork_runs = cfg.runs.min(50);
    let fx = ForkExec::new("/bin/true");
    // Small-host figures, taken now (the sandboxed one is (a)'s when available).
    let small_cmd = repeat(cfg.runs, || time_command(&["/bin/true"]));
    let small_fork = repeat(fork_runs, || fx.time());
    let small_sbx = match small_sbx {
        Some(s) => Ok(Samples(s.0.clone())),
        None => repeat(cfg.runs, || time_sandboxed(policy, &["/bin/true"])),
    };

    progress(&format!("(c) touching {gib:.0} GiB"));
    let mut big: Vec<u8> = Vec::new();
    if big.try_reserve_exact(cfg.big_bytes).is_err() {
        t.note(&format!("cannot allocate {gib:.0} GiB: section skipped"));
        return;
    }
    big.resize(cfg.big_bytes, 0);
    for i in (0..big.len()).step_by(4096) {
        big[i] = 1;
    }
    std::hint::black_box(&big);
    progress("(c) host size effect (big host)");
    let big_sbx = repeat(cfg.runs, || time_sandboxed(policy, &["/bin/true"]));
    let big_cmd = repeat(cfg.runs, || time_command(&["/bin/true"]));
    let big_fork = repeat(fork_runs, || fx.time());
    drop(big);

    let rows = [
        ("libsbx, tool_default (clone(CLONE_VM))", small_sbx, big_sbx),
        ("plain spawn (std Command: posix_spawn)", small_cmd, big_cmd),
        (
            "plain fork() + exec (page tables copied)",
            small_fork,
            big_fork,
        ),
    ];
    for (label, small, big) in &rows {
        match (small, big) {
            (Ok(s), Ok(b)) => t.row(
                label,
                &format!(
                    "{:>9.3}{:>9.3}{:>10.2}x",
                    s.median_ms(),
                    b.median_ms(),
                    b.median_ms() / s.median_ms()
                ),
            ),
            (Err(e), _) | (_, Err(e)) => t.note(&format!("{label}: failed: {e}")),
        }
    }
    if let ((_, _, Ok(sbx)), (_, _, Ok(fork))) = (&rows[0], &rows[2]) {
        t.note(&format!(
            "big host: fork()+exec is {:.1}x libsbx's spawn",
            fork.median_ms() / sbx.median_ms()
        ));
    }
}
