//! Many sandboxes: (j) a sustained rate from two threads and what it leaves behind, (f) host
//! threads while N sandboxes run at once.

use crate::stats::{progress, Table};
use crate::timing::time_sandboxed;
use crate::Policies;
use sbx::{Executor, Policy, Sandbox, Stdio};
use std::time::{Duration, Instant};

/// Live network namespaces of the whole host, those the kernel still tears down included (the
/// `net_namespace` slab's active objects; root only), or `None`.
fn netns_objects() -> Option<u64> {
    let slab = std::fs::read_to_string("/proc/slabinfo").ok()?;
    slab.lines()
        .find(|l| l.starts_with("net_namespace "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// This process's resident memory in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// (j) A sustained rate: sandboxes of `/bin/true` back to back from two threads (and, for the
/// default, six: a sandbox's start-to-result path waits on the kernel, RCU grace periods of
/// the mount code among it, so two callers leave the CPUs partly idle) for `secs` seconds; the
/// rate, p50/p99 of spawn -> result, and what is left behind (network namespaces still being
/// torn down, host memory).
pub(crate) fn section_j(t: &mut Table, pol: &Policies, secs: u64) {
    progress("(j) sustained rate");
    t.section(
        &format!("(j) sustained: /bin/true from N threads for {secs} s"),
        "  per sec   p50 ms   p99 ms  netns +end/+2s  RSS +KiB",
    );
    let mut rows: Vec<(&str, &Policy, usize)> = vec![
        ("per-sandbox network namespace (default), 2 threads", &pol.tool, 2),
        ("per-sandbox network namespace (default), 6 threads", &pol.tool, 6),
    ];
    if let Some(p) = pol
        .tool_shared_empty
        .as_ref()
        .filter(|p| time_sandboxed(p, &["/bin/true"]).is_ok())
    {
        rows.push(("shared empty network namespace (NetNs::Shared), 2 threads", p, 2));
        rows.push(("shared empty network namespace (NetNs::Shared), 6 threads", p, 6));
    }
    for (label, policy, threads) in rows {
        let (ns0, rss0) = (netns_objects(), rss_kib());
        let until = Instant::now() + Duration::from_secs(secs);
        let lat: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut v = Vec::new();
                        while Instant::now() < until {
                            v.push(time_sandboxed(policy, &["/bin/true"])?);
                        }
                        Ok(v)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
                .collect()
        });
        let mut all = Vec::new();
        for r in lat {
            match r {
                Ok(v) => all.extend(v),
                Err(e) => return t.note(&format!("{label}: {e}")),
            }
        }
        let ns_end = netns_objects();
        std::thread::sleep(Duration::from_secs(2));
        let ns_later = netns_objects();
        let runs = all.len();
        let samples = crate::stats::Samples(all);
        let p = |q: f64| samples.quantile_ms(q);
        let delta = |x: Option<u64>| match (ns0, x) {
            (Some(a), Some(b)) => format!("{:+}", i128::from(b) - i128::from(a)),
            _ => "?".into(),
        };
        t.row(
            label,
            &format!(
                "{:>9.0}{:>9.3}{:>9.3}{:>9}/{:<6}{:>+9}",
                runs as f64 / secs as f64,
                p(0.5),
                p(0.99),
                delta(ns_end),
                delta(ns_later),
                i128::from(rss_kib()) - i128::from(rss0)
            ),
        );
    }
    t.note("netns: the host's network namespace objects (slabinfo, root) after the run / 2 s later, against before");
}

/// Threads of this process while N sandboxes run at once (design §3 item 14): one supervisor
/// thread per process traces every sandbox; it already exists when earlier sections ran
/// sandboxes, so 'before' counts it.
pub(crate) fn section_f(t: &mut Table, policy: &Policy) {
    progress("(f) host threads");
    t.section(
        "(f) host threads while N sandboxes run at once",
        "  threads  per sandbox",
    );
    let threads = || std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count);
    let before = threads();
    let mut worst = 0usize;
    for n in [1usize, 8, 32, 256] {
        let boxes: Vec<Sandbox> = (0..n)
            .map(|_| {
                let mut ex = Executor::new("/bin/sleep");
                ex.argv(["sleep", "5"]).stdout(Stdio::Null);
                Sandbox::new(ex, policy.clone())
            })
            .collect();
        if boxes.iter().any(|b| b.start().is_err()) {
            t.note("starting sleepers failed; section skipped");
            return;
        }
        let during = threads();
        worst = worst.max(during.saturating_sub(before));
        for b in &boxes {
            b.kill();
        }
        for b in &boxes {
            let _ = b.wait();
        }
        t.row(
            &format!("{n:>2} sandboxes (host had {before} threads before)"),
            &format!(
                "{:>9} {:>12.2}",
                during,
                during.saturating_sub(before) as f64 / n as f64
            ),
        );
    }
    t.note(&format!(
        "library threads at most +{worst} whatever N: one supervisor thread serves every sandbox \
         (the host's own threads are counted in 'before')"
    ));
}
