//! (h) The network proxy: connect latency through it vs a direct connect on the host, and the
//! rate of a loop of short connections.

use crate::helper::Helper;
use crate::stats::{median, progress, Table};
use crate::timing::sandboxed;
use crate::Config;
use sbx::Status;
use std::io::Read;
use std::process::Command;
use std::time::Duration;

/// A host listener on 127.0.0.1 that accepts and closes every connection, until dropped.
struct Acceptor {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Acceptor {
    fn start() -> Result<Acceptor, String> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("listen: {e}"))?;
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) => drop(c),
                    Err(_) => std::thread::sleep(Duration::from_micros(50)),
                }
            }
        });
        Ok(Acceptor {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `p50 p99 total` (ns) from the helper's connect loop.
fn connect_figures(printed: &str) -> Result<[f64; 3], String> {
    let v: Vec<f64> = printed
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match v[..] {
        [a, b, c] => Ok([a, b, c]),
        _ => Err(format!("helper printed {printed:?}")),
    }
}

/// Each figure's median over the runs that succeeded (the first error if none did).
fn medians(runs: Vec<Result<[f64; 3], String>>) -> Result<[f64; 3], String> {
    let ok: Vec<[f64; 3]> = runs
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    if ok.is_empty() {
        return Err(runs.into_iter().find_map(Result::err).unwrap_or_default());
    }
    Ok([0, 1, 2].map(|i| median(ok.iter().map(|f| f[i]).collect())))
}

/// (h) Connect latency through the network proxy vs a direct connect on the host, and the
/// rate of a loop of short connections.
#[allow(clippy::many_single_char_names)] // t: the table; the others: short-lived locals of the measuring loops
pub(crate) fn section_h(t: &mut Table, cfg: &Config, helper: &Result<Helper, String>) {
    const N: u64 = 1000;
    const REPS: usize = 5;
    progress("(h) network proxy");
    t.section(
        &format!(
            "(h) {N} connects to a host listener on 127.0.0.1 per run, medians of {REPS} runs"
        ),
        "   p50 us   p99 us   conn/s   p50 +us",
    );
    let h = match helper {
        Ok(h) => h,
        Err(e) => return t.note(&format!("no static helper ({e}): section skipped")),
    };
    if cfg.monitor == sbx::Monitor::Ptrace {
        return t.note("the network proxy needs the user-notify monitor: section skipped");
    }
    let acceptor = match Acceptor::start() {
        Ok(a) => a,
        Err(e) => return t.note(&e),
    };
    let port = acceptor.port.to_string();
    let n = N.to_string();
    let direct_run = || {
        Command::new(h.path())
            .args(["connect", &port, &n])
            .output()
            .map_err(|e| e.to_string())
            .and_then(|o| connect_figures(&String::from_utf8_lossy(&o.stdout)))
    };
    let policy = {
        let mut b = sbx::policy::presets::tool_default();
        b.add_file(&h.path)
            .monitor(cfg.monitor)
            .allow_connect(&format!("127.0.0.1:{port}"));
        b.build().map_err(|e| e.to_string())
    };
    let proxied_run = || {
        let p = policy.as_ref().map_err(Clone::clone)?;
        let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
        let res =
            sandboxed(p, &[h.path(), "connect", &port, &n], Some(w)).map_err(|e| e.to_string())?;
        if res.status != Status::Ok || res.exit_code != Some(0) {
            return Err(res.describe());
        }
        let mut text = String::new();
        std::fs::File::from(r)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        connect_figures(&text)
    };
    // Alternating runs; each column's median over them.
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for _ in 0..REPS {
        direct.push(direct_run());
        proxied.push(proxied_run());
    }
    let direct = medians(direct);
    let proxied = medians(proxied);
    let base = direct.as_ref().map_or(f64::NAN, |d| d[0]);
    for (label, figures) in [
        ("direct connect on the host", &direct),
        ("through the proxy (allow_connect)", &proxied),
    ] {
        match figures {
            Ok([p50, p99, total]) => t.row(
                label,
                &format!(
                    "{:>9.1}{:>9.1}{:>9.0}{:>10.1}",
                    p50 / 1e3,
                    p99 / 1e3,
                    N as f64 / (total / 1e9),
                    (p50 - base) / 1e3
                ),
            ),
            Err(e) => t.note(&format!("{label}: {e}")),
        }
    }
    drop(acceptor);
}
