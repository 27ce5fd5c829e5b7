//! `sbx-bench`: side-by-side figures for libsbx, all measured in one run (design §5).
//!
//! `sbx-bench [--runs N] [--quick] [--monitor auto|ptrace|unotify]`. Prints one compact table:
//! (a) spawn-to-exit of `/bin/true`: plain spawn vs libsbx, and whole `unshare`/`bwrap` commands;
//! (b) sandboxes per second, sequential and from two threads;
//! (c) the host-size effect: the same spawns after the host touched 2 GiB, vs a plain `fork()`;
//! (d) a `getpid` loop bare, under a one-instruction filter, and under the default policy;
//! (e) the violation round trip vs a run that just exits;
//! (f) host threads while many sandboxes run;
//! (g) the cost of the C ABI's handle check (registry lookup and reference) per call;
//! (k) an audit run and learning runs (each monitor) vs a normal run of a shell script.
//!
//! This is a benchmark, not a test: it asserts nothing and the machine is noisy, so read the
//! ratios, which are measured side by side in one run.
//!
//! Here: the options, the policies the sections share and the order they run in. The sections
//! live one family per file (`spawn.rs` a/b/c, `syscalls.rs` d/e, `load.rs` f/j, `ffi.rs` g,
//! `network.rs` h, `cgroups.rs` i, `audit.rs` k) on the baseline helpers: `stats.rs` (samples, the table),
//! `timing.rs` (what is timed: sandboxed runs, plain spawns, fork+exec) and `helper.rs` (the
//! static C helper).

// The figures are f64: counts and nanoseconds far below 2^52, where the conversion is exact.
#![allow(clippy::cast_precision_loss)]

mod audit;
mod cgroups;
mod ffi;
mod helper;
mod load;
mod network;
mod spawn;
mod stats;
mod syscalls;
mod timing;

use crate::audit::section_k;
use crate::cgroups::section_i;
use crate::ffi::section_g;
use crate::helper::{helper_policy, Helper};
use crate::load::{section_f, section_j};
use crate::network::section_h;
use crate::spawn::{section_a, section_b, section_c};
use crate::stats::Table;
use crate::syscalls::{section_d, section_e};
use sbx::{Policy, PolicyBuilder};

const USAGE: &str = "\
sbx-bench: libsbx benchmark (figures side by side, measured in one run)

USAGE: sbx-bench [--runs N] [--quick] [--monitor auto|ptrace|unotify] [--sections LETTERS]
    --runs N         repetitions of every timed spawn (default 200)
    --quick          fewer repetitions (30) and a shorter getpid loop: a smoke run in a few seconds
    --monitor M      the monitor of every namespaced sandbox (default auto)
    --sections LIST  only these sections, e.g. `e` or `ade` (default abcdefghijk, all)
";

/// The policies the sections run under.
struct Policies {
    /// `tool_default()`: the default filter, namespaces and the tool view (what sbx-run uses).
    tool: Policy,
    /// The same sharing the host's network namespace: the difference is the new netns's share.
    tool_shared_net: Option<Policy>,
    /// The same in the process's shared empty network namespace (`NetNs::Shared`, root only).
    tool_shared_empty: Option<Policy>,
    /// The dynamic-startup group and exit, no namespaces: seccomp + monitor only.
    bare: Option<Policy>,
    /// `tool_default()` plus the static helper's file (it lives outside the tool view).
    helper: Option<Policy>,
}

impl Policies {
    fn build(helper: &Result<Helper, String>, monitor: sbx::Monitor) -> Result<Policies, String> {
        let tool = sbx::policy::presets::tool_default()
            .monitor(monitor)
            .build()
            .map_err(|e| format!("tool_default: {e}"))?;
        let tool_shared_net = {
            let mut b = sbx::policy::presets::tool_default();
            b.share_network().monitor(monitor);
            b.build().ok()
        };
        let tool_shared_empty = {
            let mut b = sbx::policy::presets::tool_default();
            b.network_namespace(sbx::namespaces::NetNs::Shared)
                .monitor(monitor);
            b.build().ok()
        };
        let mut b = PolicyBuilder::new();
        b.allow_dynamic_startup().allow_exit().disable_namespaces();
        let bare = b.build().ok();
        let helper = helper
            .as_ref()
            .ok()
            .and_then(|h| helper_policy(h, monitor).ok());
        Ok(Policies {
            tool,
            tool_shared_net,
            tool_shared_empty,
            bare,
            helper,
        })
    }
}

struct Config {
    runs: usize,
    getpid_n: u64,
    getpid_reps: usize,
    big_bytes: usize,
    monitor: sbx::Monitor,
    /// Letters of the sections to run.
    sections: String,
}

impl Config {
    fn wants(&self, section: char) -> bool {
        self.sections.contains(section)
    }
}

fn parse_args() -> Result<Config, String> {
    let mut cfg = Config {
        runs: 200,
        getpid_n: 2_000_000,
        getpid_reps: 5,
        big_bytes: 2 << 30,
        monitor: sbx::Monitor::Auto,
        sections: "abcdefghijk".into(),
    };
    let mut runs = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                cfg.runs = 30;
                cfg.getpid_n = 500_000;
                cfg.getpid_reps = 3;
            }
            "--runs" => {
                let v = args.next().ok_or("--runs needs a number")?;
                runs = Some(
                    v.parse::<usize>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or(format!("--runs {v:?}: expected a positive integer"))?,
                );
            }
            "--monitor" => {
                let v = args
                    .next()
                    .ok_or("--monitor needs auto, ptrace or unotify")?;
                cfg.monitor = sbx::Monitor::from_name(&v)
                    .ok_or(format!("--monitor {v:?}: expected auto, ptrace or unotify"))?;
            }
            "--sections" => {
                let v = args
                    .next()
                    .ok_or("--sections needs letters among abcdefghijk")?;
                if v.is_empty() || !v.chars().all(|c| "abcdefghijk".contains(c)) {
                    return Err(format!(
                        "--sections {v:?}: expected letters among abcdefghijk"
                    ));
                }
                cfg.sections = v;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => {
                if let Some(v) = a.strip_prefix("--runs=") {
                    runs = Some(
                        v.parse::<usize>()
                            .ok()
                            .filter(|&n| n > 0)
                            .ok_or(format!("--runs {v:?}: expected a positive integer"))?,
                    );
                } else {
                    return Err(format!("unknown argument {a:?}"));
                }
            }
        }
    }
    if let Some(r) = runs {
        cfg.runs = r;
    }
    Ok(cfg)
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sbx-bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let helper = Helper::build();
    let pol = match Policies::build(&helper, cfg.monitor) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sbx-bench: the default policy does not build: {e}");
            std::process::exit(1);
        }
    };
    let mut t = Table::default();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let uid = nix::unistd::geteuid();
    t.0.push(format!(
        "sbx-bench {}: runs={} per row, monitor {}, Linux {}, {} CPUs, uid {}; times in ms; ratios from this run",
        sbx::VERSION,
        cfg.runs,
        cfg.monitor.name(),
        kernel.trim(),
        cpus,
        uid
    ));

    let small_sbx = if cfg.wants('a') {
        section_a(&mut t, &cfg, &pol)
    } else {
        None
    };
    if cfg.wants('b') {
        section_b(&mut t, &cfg, &pol.tool);
    }
    // (d) and (e) run before (c) so that they see the small host.
    let mut td = Table::default();
    if cfg.wants('d') {
        section_d(&mut td, &cfg, pol.helper.as_ref(), &helper);
    }
    let mut te = Table::default();
    if cfg.wants('e') {
        section_e(&mut te, &cfg, pol.helper.as_ref(), &helper);
    }
    let mut tf = Table::default();
    if cfg.wants('f') {
        section_f(&mut tf, &pol.tool);
    }
    if cfg.wants('g') {
        section_g(&mut tf);
    }
    if cfg.wants('h') {
        section_h(&mut tf, &cfg, &helper);
    }
    if cfg.wants('i') {
        section_i(&mut tf, &cfg, &pol, &helper);
    }
    if cfg.wants('j') {
        section_j(&mut tf, &pol, if cfg.runs < 100 { 3 } else { 10 });
    }
    if cfg.wants('k') {
        section_k(&mut tf, &cfg);
    }
    if cfg.wants('c') {
        section_c(&mut t, &cfg, &pol.tool, small_sbx.as_ref());
    }
    t.0.extend(td.0);
    t.0.extend(te.0);
    t.0.extend(tf.0);
    println!("{}", t.0.join("\n"));
}
