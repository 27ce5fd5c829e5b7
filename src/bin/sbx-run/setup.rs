//! From the options to what a run needs: the [`Policy`] (the user's rules, the embedded default
//! policy or a policy file, the filesystem view) and the [`Executor`] (argv, environment, cwd,
//! limits).

use crate::args::Options;
use sbx::{DefaultAction, Executor, Limits, Policy, PolicyBuilder};

/// What the options and a policy file make: the policy, its builder (for
/// `--dump-policy-file`) and the file's `[limits]`.
pub(crate) struct Built {
    pub(crate) policy: Policy,
    pub(crate) builder: PolicyBuilder,
    pub(crate) file_limits: Option<Limits>,
    /// Lines for stderr before the run (a seccomp profile's report), unless quiet.
    pub(crate) notes: Vec<String>,
}

/// The environment a run's sandboxee environment is made from: sbx-run's own, or the client's
/// when a server runs it.
pub(crate) type Env = [(String, String)];

/// sbx-run's own environment (variables that are not UTF-8 are left out).
pub(crate) fn own_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Host variables copied into the default sandboxee environment when they are set.
const PASSED_VARS: [&str; 2] = ["TERM", "LANG"];
/// `PATH` of the default sandboxee environment.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Adds the user's `--allow`, `--errno` and `--allow-all` to a builder.
fn add_user_rules(pb: &mut PolicyBuilder, o: &Options) {
    for name in &o.allow {
        pb.allow(name.as_str());
    }
    for (name, e) in &o.errno {
        pb.errno(name.as_str(), *e);
    }
    if o.allow_all {
        pb.default_action(DefaultAction::AllowAll);
    }
    pb.audit(o.audit);
    pb.stack_traces(o.stack_trace);
    if o.allow_speculation {
        pb.allow_speculation();
    }
    for spec in &o.allow_connect {
        pb.allow_connect(spec);
    }
    if let Some(e) = o.refuse_connect {
        pb.on_denied_connect(sbx::policy::net::OnDenied::Errno(e));
    }
}

/// Adds the user's mounts and namespace settings, and the program itself when the default view
/// does not hold it (e.g. `./tool`); its libraries must be visible already or be added with
/// `--ro`.
fn add_view(pb: &mut PolicyBuilder, o: &Options) {
    for b in &o.binds {
        if b.outside.is_dir() {
            pb.add_directory_at(&b.outside, &b.inside, b.writable);
        } else {
            pb.add_file_at(&b.outside, &b.inside, b.writable);
        }
    }
    for (dir, size) in &o.tmpfs {
        pb.add_tmpfs(dir, *size);
    }
    if o.share_net {
        pb.share_network();
    }
    if o.write_exec {
        pb.allow_write_exec();
    }
    if let Some(size) = o.shm {
        pb.dev_shm(size);
    }
    if o.tty {
        pb.dev_pts(true);
    }
    if let Some(h) = &o.hostname {
        pb.hostname(h.as_str());
    }
    if o.no_private_proc {
        pb.allow_no_private_proc();
    }
    if let Some(program) = o.program.first().filter(|p| p.contains('/')) {
        if let Ok(path) = std::path::absolute(program) {
            let visible = sbx::policy::presets::SYSTEM_DIRECTORIES
                .iter()
                .any(|d| path.starts_with(d))
                || o.binds.iter().any(|b| path.starts_with(&b.outside));
            if !visible && path.is_file() {
                pb.add_file(&path);
            }
        }
    }
}

/// `--seccomp-profile FILE`: the profile's rules; its report in `notes` unless quiet.
fn load_seccomp_profile(
    pb: &mut PolicyBuilder,
    path: &std::path::Path,
    quiet: bool,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--seccomp-profile {}: {e}", path.display()))?;
    let report = pb
        .load_oci_profile(&text, &path.display().to_string())
        .map_err(|e| format!("--seccomp-profile: {e}"))?;
    if !quiet {
        for line in report.to_string().lines() {
            notes.push(format!("sbx-run: seccomp profile: {line}"));
        }
    }
    Ok(())
}

/// The user's rules, then the embedded default policy's rules (or a policy file), then the
/// view.
///
/// The builder's first matching rule decides, so the user's `--allow`/`--errno` come first and
/// take precedence over the preset's rules for the same syscall (an `--errno socket=EPERM`
/// replaces the preset's per-family socket rules). A policy file that describes a view
/// (`[namespaces]`, `[view]` or `[[mount]]`) replaces the default view; the command line's view
/// options and `--monitor` still apply on top of the file's.
pub(crate) fn build_policy(o: &Options) -> Result<Built, String> {
    let mut pb = PolicyBuilder::new();
    let mut notes = Vec::new();
    add_user_rules(&mut pb, o);
    if o.tty {
        sbx::policy::presets::tty_rules(&mut pb);
    }
    let mut loaded = sbx::policy::file::Loaded::default();
    match (&o.policy_file, &o.seccomp_profile) {
        // The file's rules instead of the default policy's.
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--policy {}: {e}", path.display()))?;
            loaded = pb
                .load_file(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?;
            if o.audit {
                pb.audit(true);
            }
            if o.stack_trace {
                pb.stack_traces(true);
            }
        }
        (None, Some(path)) => load_seccomp_profile(&mut pb, path, o.quiet, &mut notes)?,
        // A learning run records what the default policy would decide.
        (None, None) if o.learn.is_some() => {}
        (None, None) => {
            sbx::policy::presets::tool_rules(&mut pb);
        }
    }
    if o.no_namespaces {
        if !o.binds.is_empty()
            || !o.tmpfs.is_empty()
            || o.share_net
            || o.hostname.is_some()
            || o.write_exec
            || o.shm.is_some()
            || o.tty
            || o.no_private_proc
        {
            return Err("--no-namespaces cannot be combined with --bind, --bind-rw, --tmpfs, --net, --hostname, --allow-write-exec, --shm, --tty or --no-private-proc".into());
        }
        pb.disable_namespaces();
    } else if pb.namespace_settings().enabled {
        if !loaded.view {
            sbx::policy::presets::tool_view(&mut pb);
        }
        add_view(&mut pb, o);
    }
    if let Some(m) = o.monitor {
        pb.monitor(m);
    }
    if o.learn.is_some() {
        pb = sbx::learn::learning(&pb);
    }
    let policy = pb.build().map_err(|e| format!("policy: {e}"))?;
    Ok(Built {
        policy,
        builder: pb,
        file_limits: loaded.limits,
        notes,
    })
}

fn sandboxee_env(o: &Options, host: &Env) -> Vec<String> {
    let mut env: Vec<(String, String)> = if o.keep_env {
        // The server's address is not the sandboxee's business (it could not use it anyway:
        // `peer.rs`).
        host.iter()
            .filter(|(k, _)| k != crate::client::SERVER_VAR)
            .cloned()
            .collect()
    } else {
        let mut base = vec![("PATH".to_string(), DEFAULT_PATH.to_string())];
        for k in PASSED_VARS {
            if let Some((_, v)) = host.iter().find(|(key, _)| key == k) {
                base.push((k.to_string(), v.clone()));
            }
        }
        base
    };
    for (k, v) in &o.env {
        env.retain(|(key, _)| key != k);
        env.push((k.clone(), v.clone()));
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

pub(crate) fn build_executor(o: &Options, file_limits: Option<&Limits>, host: &Env) -> Executor {
    let mut ex = Executor::new(&o.program[0]);
    ex.argv(o.program.clone());
    ex.envp(sandboxee_env(o, host));
    if let Some(c) = &o.cwd {
        ex.cwd(c);
    }
    ex.limits(limits(o, file_limits));
    ex
}

/// The run's limits: the policy file's `[limits]` (else the defaults), then the command line's.
pub(crate) fn limits(o: &Options, file_limits: Option<&Limits>) -> Limits {
    let mut l = file_limits.cloned().unwrap_or_default();
    if let Some(w) = o.walltime {
        l.wall_time = if w.is_zero() { None } else { Some(w) };
    }
    let set = |slot: &mut Option<u64>, v: Option<Option<u64>>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut l.address_space, o.rlimit_as);
    set(&mut l.cpu_seconds, o.rlimit_cpu);
    set(&mut l.file_size, o.rlimit_fsize);
    set(&mut l.open_files, o.rlimit_nofile);
    set(&mut l.processes, o.rlimit_nproc);
    set(&mut l.core, o.rlimit_core);
    let file_memory = l.cgroup.memory;
    let file = l.cgroup;
    l.cgroup = o.cgroup;
    l.cgroup.pids = o.cgroup.pids.or(file.pids);
    l.cgroup.cpu_millicores = o.cgroup.cpu_millicores.or(file.cpu_millicores);
    // Not asked for on the command line or in the file: the default ceiling, where a memory
    // cgroup can be made.
    l.cgroup.memory = o
        .memory
        .unwrap_or_else(|| file_memory.or_else(sbx::cgroups::default_memory_ceiling));
    l
}

/// The default memory ceiling as `--help` shows it.
pub(crate) fn memory_default_text() -> String {
    match sbx::cgroups::default_memory_ceiling() {
        Some(bytes) => format!("here: {} MiB", bytes >> 20),
        None => "here: none, no memory cgroup can be made".to_string(),
    }
}
