//! (h) The network proxy: connect latency through it vs a direct connect on the host, the rate
//! of a loop of short connections, and a UDP round trip through the relay vs on the host.

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

/// A host UDP echo server on 127.0.0.1, until dropped.
struct Echo {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    fn start() -> Result<Echo, String> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("udp: {e}"))?;
        let port = sock.local_addr().map_err(|e| e.to_string())?.port();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .map_err(|e| e.to_string())?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], from);
                }
            }
        });
        Ok(Echo {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (h) Connect latency through the network proxy vs a direct connect on the host, the rate of
/// a loop of short connections, and a UDP round trip through the relay vs direct.
pub(crate) fn section_h(t: &mut Table, cfg: &Config, helper: &Result<Helper, String>) {
    const N: u64 = 1000;
    const REPS: usize = 5;
    progress("(h) network proxy");
    t.section(
        &format!(
            "(h) {N} connects to a host listener on 127.0.0.1 (UDP: {N} round trips to a host echo \
             server) per run, medians of {REPS} runs"
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
    match Acceptor::start() {
        Ok(acceptor) => {
            let spec = format!("127.0.0.1:{}", acceptor.port);
            let labels = [
                "direct connect on the host",
                "through the proxy (allow_connect)",
            ];
            compare(t, cfg, h, "connect", acceptor.port, &spec, labels, N, REPS);
        }
        Err(e) => t.note(&e),
    }
    match Echo::start() {
        Ok(echo) => {
            let spec = format!("udp:127.0.0.1:{}", echo.port);
            let labels = ["UDP round trip on the host", "UDP through the relay (udp:)"];
            compare(t, cfg, h, "udp", echo.port, &spec, labels, N, REPS);
        }
        Err(e) => t.note(&e),
    }
}

/// The helper's `mode` loop against 127.0.0.1:`port`, directly on the host and in a sandbox
/// allowing `spec`, alternating, `reps` runs each; one row per side (the second's last column:
/// its p50 minus the direct one's).
// Too many arguments: the section's two comparisons differ in each of them. Single-char names:
// t the table, h the helper, n the count, p the policy, as in the other sections.
#[allow(clippy::too_many_arguments, clippy::many_single_char_names)]
fn compare(
    t: &mut Table,
    cfg: &Config,
    h: &Helper,
    mode: &str,
    port: u16,
    spec: &str,
    labels: [&str; 2],
    n: u64,
    reps: usize,
) {
    let port = port.to_string();
    let n_s = n.to_string();
    let direct_run = || {
        Command::new(h.path())
            .args([mode, &port, &n_s])
            .output()
            .map_err(|e| e.to_string())
            .and_then(|o| connect_figures(&String::from_utf8_lossy(&o.stdout)))
    };
    let policy = {
        let mut b = sbx::policy::presets::tool_default();
        b.add_file(&h.path).monitor(cfg.monitor).allow_connect(spec);
        b.build().map_err(|e| e.to_string())
    };
    let sandboxed_run = || {
        let p = policy.as_ref().map_err(Clone::clone)?;
        let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
        let run =
            sandboxed(p, &[h.path(), mode, &port, &n_s], Some(w)).map_err(|e| e.to_string())?;
        if run.status != Status::Ok || run.exit_code != Some(0) {
            return Err(run.describe());
        }
        let mut text = String::new();
        std::fs::File::from(r)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        connect_figures(&text)
    };
    // Alternating runs; each column's median over them.
    let (mut direct, mut inside) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        direct.push(direct_run());
        inside.push(sandboxed_run());
    }
    let direct = medians(direct);
    let inside = medians(inside);
    let base = direct.as_ref().map_or(f64::NAN, |d| d[0]);
    for (label, figures) in labels.iter().zip([&direct, &inside]) {
        match figures {
            Ok([p50, p99, total]) => t.row(
                label,
                &format!(
                    "{:>9.1}{:>9.1}{:>9.0}{:>10.1}",
                    p50 / 1e3,
                    p99 / 1e3,
                    n as f64 / (total / 1e9),
                    (p50 - base) / 1e3
                ),
            ),
            Err(e) => t.note(&format!("{label}: {e}")),
        }
    }
}
