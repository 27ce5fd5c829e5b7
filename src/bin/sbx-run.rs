//! `sbx-run`: run one command under a libsbx sandbox from the shell.
//!
//! `sbx-run [OPTIONS] -- PROGRAM [ARGS...]`. See `sbx-run --help` (the text is [`HELP`]).

// Audited unsafe: the signal mask and sigwait of the signal-forwarding thread.
#![allow(unsafe_code)]

use sbx::{DefaultAction, Executor, Policy, PolicyBuilder, Reason, RunResult, Sandbox, Status};
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// Exit status when the sandboxee broke the policy.
const EXIT_VIOLATION: u8 = 159;
/// Exit status when the wall-time limit expired.
const EXIT_TIMEOUT: u8 = 124;
/// Exit status when the sandbox could not be set up (or the options are wrong).
const EXIT_SETUP: u8 = 125;

/// Host variables copied into the default sandboxee environment when they are set.
const PASSED_VARS: [&str; 2] = ["TERM", "LANG"];
/// `PATH` of the default sandboxee environment.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

const HELP: &str = "\
sbx-run: run a program in a libsbx sandbox (seccomp-bpf policy + a user-notify or ptrace monitor)

USAGE:
    sbx-run [OPTIONS] -- PROGRAM [ARGS...]
    sbx-run --check | --dump-policy [POLICY OPTIONS] | --help | --version

PROGRAM without a slash is looked up in the sandboxee's PATH (see --env and --keep-env).
The default policy is libsbx's embedded allow-list for ordinary dynamically linked tools (file
I/O, memory, signals, pipes, fork/exec of further tools). Anything else ends the run as a
VIOLATION naming the syscall.

POLICY:
    --allow SYSCALL[,SYSCALL...]   Also allow these syscalls (repeatable).
    --errno SYSCALL=ERRNO          Make SYSCALL fail with ERRNO instead of being a violation
                                   (repeatable). ERRNO is a number or a name: EPERM, EACCES,
                                   ENOSYS, EINVAL, ENOENT, ...
    --allow-all                    Allow every syscall not otherwise ruled. libsbx's mandatory
                                   rules still apply (foreign ABIs, ptrace, bpf, namespaces,
                                   io_uring, keyctl, ...).
    --allow-speculation            Leave speculative execution as the kernel set it (default:
                                   speculative store bypass and indirect branch speculation
                                   force-disabled in the sandboxee where the kernel lets a
                                   process choose; fence speculation_control).
    --audit                        Permit all and log: every syscall the policy refuses runs
                                   and is listed at the end (once each, with a count and the
                                   first call's arguments; also in --json). The mandatory
                                   rules still end the run. For writing a policy, not for
                                   running hostile code.
    --learn FILE                   Learn mode: run PROGRAM with no syscall rules (only the
                                   mandatory ones), letting every call through and recording
                                   it, then write the minimal policy that allows what ran to
                                   FILE (socket domains, ioctl requests, prctl options, fcntl
                                   commands, clone flags and mmap/mprotect protections only
                                   as seen). Replay with --policy FILE. Like --audit, the
                                   learning run is not a sandbox for hostile code.
    --learn-format FORMAT          toml (the policy file, default), rust, c, go (builder
                                   code) or oci (a Docker/OCI seccomp profile).
    --policy FILE                  Use FILE's syscall rules (TOML, as --learn writes them)
                                   instead of the default policy's; the filesystem view and
                                   the mandatory rules stay.
    --seccomp-profile FILE         Use a Docker/OCI seccomp profile's rules (JSON, such as
                                   moby's default.json) instead of the default policy's, for a
                                   process without capabilities; prints what it leaves out
                                   and where libsbx's mandatory rules override it (not with -q).
    --dump-policy                  Print the default policy's groups (what each allows and
                                   why) and the compiled BPF program, disassembled; exit 0.

LIMITS:
    --walltime SECONDS             Wall-time limit (fractions allowed; 0 disables). Default 120.
    --rlimit-as BYTES              RLIMIT_AS (address space). Default unlimited.
    --rlimit-cpu SECONDS           RLIMIT_CPU. Default 1024.
    --rlimit-fsize BYTES           RLIMIT_FSIZE (largest file written). Default 8G.
    --rlimit-nofile N              RLIMIT_NOFILE. Default 1024.
    --rlimit-nproc N               Most processes and threads at once (RLIMIT_NPROC, also
                                   enforced by the monitor). Default 256: 1/128 of the
                                   classic pid space (pid_max 32768), so a fork bomb holds
                                   under 1% of the host's pids.
    --rlimit-core BYTES            RLIMIT_CORE. Default 0.
    --memory BYTES                 Memory of the whole sandbox, swap included, as a cgroup of
                                   its own; beyond it the kernel's OOM killer ends a process
                                   (exit 137, 'memory limit' in the description). Default:
                                   none (a cgroup costs an sbx-run ~2 ms on this kind of
                                   host: made, joined by a fresh process, removed before
                                   exit); 0 or inf: none.
    --pids N                       Processes and threads alive in the whole sandbox at once (a
                                   cgroup); forks beyond fail with EAGAIN. Without it, the
                                   task cap (--rlimit-nproc) still holds.
    --cpus CPUS                    CPU share of the whole sandbox (0.5: half of one CPU).
                                   The cgroup limits need root or a delegated cgroup (cgroup v2
                                   Delegate=yes, or v1 directories you own); --check shows
                                   which controllers are usable. Without one, a run asking for
                                   them fails with exit 125 rather than running unlimited.
                                   BYTES take a K, M, G or T suffix (powers of 1024); every
                                   rlimit accepts 'inf' for unlimited. A limit above the host's
                                   own hard limit is lowered to it.

FILESYSTEM AND NAMESPACES:
    The sandboxee runs in fresh user, pid, mount, network, ipc, uts and cgroup namespaces. It
    sees a read-only root holding /usr, /bin, /sbin, /lib*, all of /etc except its secrets
    (shadow, gshadow, sudoers, SSH host keys, TLS private keys, machine-id, ...: they fail with
    EACCES), a private writable 256 MiB /tmp and 64 MiB /dev/shm, /proc and a minimal /dev; no
    home directory and no network. A PROGRAM given as a path outside those directories (./tool)
    is added read-only by itself. Writes through --bind-rw land as the directory's owner (for a
    root caller through an idmapped mount; set-id mode bits are refused).
    --bind SRC[:DST]               Bind a host file or directory read-only, at DST or at the
                                   same path (repeatable). Relative SRCs start at the current
                                   directory. Alias: --ro.
    --bind-rw SRC[:DST]            The same, writable (writable mounts are noexec). Alias: --rw.
    --allow-write-exec             Let writable mounts (--bind-rw, --tmpfs, /tmp, /dev/shm)
                                   hold programs that run: compile-and-run jobs.
    --shm SIZE                     Size of the private /dev/shm (default 64M; 0 removes it).
    --tty                          A private /dev/pts and /dev/ptmx, and the ioctls that open
                                   and drive pseudo-terminals (script, Python's pty, expect).
                                   TIOCSTI stays refused.
    --tmpfs DST[:SIZE]             A fresh writable tmpfs at DST (SIZE as BYTES below).
    --net                          Share the host's network instead of an empty one.
    --allow-connect SPEC           Let connect() reach SPEC on the host (repeatable), the
                                   network staying empty otherwise: 10.0.0.0/8:443,
                                   127.0.0.1:8080, [::1]:80 (port 0 or *: any; TCP),
                                   unix:/run/x.sock (a host path, symlinks never followed),
                                   abstract:NAME, or HOST:PORT (resolved once, now). The
                                   supervisor connects for the sandboxee and hands it the
                                   socket. Any other TCP connect is a NETWORK VIOLATION;
                                   other unix paths are looked up in the sandbox's own view;
                                   UDP stays inside. Needs the user-notify monitor.
    --refuse-connect ERRNO         With --allow-connect: a connect the list does not allow
                                   fails with ERRNO (e.g. ECONNREFUSED) and is reported,
                                   instead of ending the run.
    --hostname NAME                Hostname inside (default 'sandbox').
    --no-namespaces                No namespaces at all: the sandboxee sees the host's files,
                                   processes and network and runs as your uid (capabilities of a
                                   root caller are dropped); only the syscall policy, Landlock
                                   scoping, rlimits and the monitor confine it. Cannot be combined
                                   with the options above.
    --monitor auto|ptrace|unotify  What watches the sandboxee (default auto: user-notify when
                                   the kernel has it and namespaces are on, else ptrace).
                                   ptrace also reports signals and counts tasks; unotify needs
                                   no ptrace and namespaces (the task cap is then RLIMIT_NPROC
                                   of the sandbox's own user namespace).
    --no-private-proc              When the kernel refuses the sandbox's own /proc (a container
                                   runtime masking parts of its /proc), show the container's
                                   /proc instead of failing (its processes become visible; they
                                   still cannot be signalled or traced); the JSON lists \"proc\"
                                   in \"degraded\".

PROCESS:
    --env KEY=VALUE                Set a variable in the sandboxee's environment (repeatable).
    --keep-env                     Start from the host's whole environment instead of the
                                   default one. Without it the sandboxee sees only
                                   PATH=/usr/local/bin:/usr/bin:/bin, plus TERM and LANG when the
                                   host has them, plus every --env.
    --cwd DIR                      Working directory inside the sandbox (absolute). Default: /.
                                   To work on files of the current directory:
                                   --ro \"$PWD\" --cwd \"$PWD\" (or --rw).

OUTPUT:
    --json                         Print the result as one JSON object on the last line of
                                   stderr.
    -q, --quiet                    No one-line summary on stderr when the run is not OK.
    --check                        Probe every kernel feature libsbx uses, one line each, then
                                   run a canary sandbox through every setup step (namespaces,
                                   mounts, pivot_root, hostname, Landlock, seccomp) and name the
                                   first failing step with its errno, cause and fix; exit 0 when
                                   sandboxes work, 125 otherwise.
    -h, --help                     This text.
    -V, --version                  Version.

EXIT STATUS:
    N        the sandboxee exited with status N
    128+N    the sandboxee was killed by signal N; also when sbx-run itself got SIGINT,
             SIGTERM or SIGHUP (N), which kills the whole sandbox first
    159      the sandboxee broke the policy (VIOLATION)
    124      the wall-time limit expired (TIMEOUT)
    125      the sandbox could not be set up, libsbx failed, or the options are wrong

JSON (--json), one line, keys always present:
    {\"status\":\"OK|VIOLATION|SIGNALED|TIMEOUT|SETUP_ERROR|EXTERNAL_KILL|INTERNAL_ERROR\",
     \"reason_code\":N, \"reason\":\"NAME\"|null, \"exit_code\":N|null, \"signal\":N|null,
     \"wall_time_ms\":F, \"pid\":N, \"message\":\"...\"|null,
     \"setup_step\":\"NAME\"|null, \"setup_errno\":\"EPERM\"|null, \"setup_hint\":\"...\"|null,
     \"fences\":[\"namespaces\",\"seccomp\",...], \"degraded\":[\"hostname\"|\"proc\"],
     \"landlock\":{\"abi\":N,\"fs_rights\":[\"execute\",\"write_file\",...],
                 \"scopes\":[\"abstract_unix_socket\",\"signal\"]}|null,
     \"usage\":{\"user_ms\":F,\"system_ms\":F,\"max_rss_kib\":N,\"peak_tasks\":N},
     \"violation\":{\"arch\":\"X86-64\",\"syscall\":\"NAME\",\"nr\":N,\"args\":[6 numbers],
                  \"pid\":N,\"ip\":N,\"sp\":N}|null,
     \"audit\":[{\"arch\":\"X86-64\",\"syscall\":\"NAME\",\"nr\":N,\"args\":[6 numbers],
               \"pid\":N,\"ip\":N,\"count\":N}, ...]|null (null unless --audit),
     \"description\":\"one-line summary\"}

EXAMPLES:
    sbx-run -- ls -la /
    sbx-run --json --walltime 5 -- python3 -c 'print(1)'
    sbx-run --ro \"$PWD\" --cwd \"$PWD\" -- ./tool input.txt
    sbx-run --rw /tmp/out:/out -- sh -c 'date > /out/stamp'
";

// ----------------------------------------------------------------------------------------------
// Options

/// Everything the command line says.
// A limit is `None` (not given: the default), `Some(None)` ("unlimited") or `Some(Some(n))`.
#[allow(clippy::option_option)]
#[derive(Debug, Default)]
struct Options {
    json: bool,
    quiet: bool,
    check: bool,
    dump_policy: bool,
    allow: Vec<String>,
    errno: Vec<(String, u16)>,
    allow_connect: Vec<String>,
    refuse_connect: Option<u16>,
    allow_all: bool,
    audit: bool,
    allow_speculation: bool,
    learn: Option<PathBuf>,
    learn_format: Option<String>,
    policy_file: Option<PathBuf>,
    seccomp_profile: Option<PathBuf>,
    walltime: Option<Duration>,
    rlimit_as: Option<Option<u64>>,
    rlimit_cpu: Option<Option<u64>>,
    rlimit_fsize: Option<Option<u64>>,
    rlimit_nofile: Option<Option<u64>>,
    rlimit_nproc: Option<Option<u64>>,
    cgroup: sbx::cgroups::CgroupLimits,
    /// `--memory`: `Some(None)` no limit; `None`: the default.
    memory: Option<Option<u64>>,
    rlimit_core: Option<Option<u64>>,
    env: Vec<(String, String)>,
    keep_env: bool,
    cwd: Option<PathBuf>,
    binds: Vec<Bind>,
    tmpfs: Vec<(PathBuf, Option<u64>)>,
    share_net: bool,
    hostname: Option<String>,
    no_namespaces: bool,
    write_exec: bool,
    shm: Option<Option<u64>>,
    tty: bool,
    no_private_proc: bool,
    monitor: sbx::Monitor,
    program: Vec<String>,
}

/// A `--ro`/`--rw` bind of a host path into the sandbox.
#[derive(Debug)]
struct Bind {
    outside: PathBuf,
    inside: PathBuf,
    writable: bool,
}

/// What `main` should do after parsing.
enum Parsed {
    Run(Box<Options>),
    Help,
    Version,
}

/// Applies an option that takes a value (read with `value`, which names the flag in its
/// error); `Ok(false)` when `flag` is not one.
fn valued_option(
    o: &mut Options,
    flag: &str,
    value: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<bool, String> {
    match flag {
        "--learn" => o.learn = Some(PathBuf::from(value(flag)?)),
        "--learn-format" => {
            let v = value(flag)?;
            if !LEARN_FORMATS.contains(&v.as_str()) {
                return Err(format!(
                    "--learn-format {v:?}: expected one of {}",
                    LEARN_FORMATS.join(", ")
                ));
            }
            o.learn_format = Some(v);
        }
        "--policy" => o.policy_file = Some(PathBuf::from(value(flag)?)),
        "--seccomp-profile" => o.seccomp_profile = Some(PathBuf::from(value(flag)?)),
        "--allow" => {
            let v = value(flag)?;
            for name in v.split(',').map(str::trim) {
                if name.is_empty() {
                    return Err(format!("--allow {v:?}: empty syscall name"));
                }
                o.allow.push(name.to_string());
            }
        }
        // Parsed (a host name resolved) once, by the builder, whose error names the spec.
        "--allow-connect" => o.allow_connect.push(value(flag)?),
        "--refuse-connect" => {
            let v = value(flag)?;
            o.refuse_connect =
                Some(parse_errno(&v).map_err(|m| format!("--refuse-connect {v:?}: {m}"))?);
        }
        "--errno" => {
            let v = value(flag)?;
            let (name, e) = v.split_once('=').ok_or_else(|| {
                format!("--errno {v:?}: expected SYSCALL=ERRNO, e.g. socket=EACCES")
            })?;
            let e = parse_errno(e).map_err(|m| format!("--errno {v:?}: {m}"))?;
            if name.trim().is_empty() {
                return Err(format!("--errno {v:?}: empty syscall name"));
            }
            o.errno.push((name.trim().to_string(), e));
        }
        "--env" => {
            let v = value(flag)?;
            match v.split_once('=') {
                Some((k, val)) if !k.is_empty() => o.env.push((k.to_string(), val.to_string())),
                _ => return Err(format!("--env {v:?}: expected KEY=VALUE")),
            }
        }
        "--monitor" => {
            let v = value(flag)?;
            o.monitor = sbx::Monitor::from_name(&v)
                .ok_or_else(|| format!("--monitor {v:?}: expected auto, ptrace or unotify"))?;
        }
        _ => return Ok(limit_option(o, flag, value)? || view_option(o, flag, value)?),
    }
    Ok(true)
}

/// Applies a limit option (`--walltime`, `--rlimit-*`, `--memory`, `--pids`, `--cpus`);
/// `Ok(false)` when `flag` is not one.
fn limit_option(
    o: &mut Options,
    flag: &str,
    value: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<bool, String> {
    match flag {
        "--walltime" => {
            let v = value(flag)?;
            o.walltime = Some(parse_seconds(&v).map_err(|m| format!("--walltime {v:?}: {m}"))?);
        }
        "--rlimit-as" => o.rlimit_as = Some(limit_flag(flag, &value(flag)?, parse_bytes)?),
        "--rlimit-cpu" => o.rlimit_cpu = Some(limit_flag(flag, &value(flag)?, parse_count)?),
        "--rlimit-fsize" => {
            o.rlimit_fsize = Some(limit_flag(flag, &value(flag)?, parse_bytes)?);
        }
        "--rlimit-nofile" => {
            o.rlimit_nofile = Some(limit_flag(flag, &value(flag)?, parse_count)?);
        }
        "--rlimit-nproc" => {
            o.rlimit_nproc = Some(limit_flag(flag, &value(flag)?, parse_count)?);
        }
        "--memory" => {
            // 0 or inf: no memory limit (not even the default).
            let v = limit_flag(flag, &value(flag)?, parse_bytes)?;
            o.memory = Some(v.filter(|&b| b != 0));
        }
        "--pids" => {
            let v = value(flag)?;
            o.cgroup.pids = Some(parse_count(&v).map_err(|m| format!("--pids {v:?}: {m}"))?);
        }
        "--cpus" => {
            let v = value(flag)?;
            let cores: f64 = v
                .parse()
                .ok()
                .filter(|c: &f64| c.is_finite() && *c > 0.0)
                .ok_or_else(|| format!("--cpus {v:?}: a positive number of CPUs, e.g. 0.5"))?;
            // Positive and finite (checked above); a float-to-int `as` saturates.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let millicores = (cores * 1000.0).round() as u64;
            o.cgroup.cpu_millicores = Some(millicores);
        }
        "--rlimit-core" => {
            o.rlimit_core = Some(limit_flag(flag, &value(flag)?, parse_bytes)?);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Applies an option of the filesystem view or the sandbox's identity (`--ro`, `--rw`,
/// `--bind`, `--bind-rw`, `--tmpfs`, `--shm`, `--hostname`, `--cwd`); `Ok(false)` when `flag`
/// is not one.
fn view_option(
    o: &mut Options,
    flag: &str,
    value: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<bool, String> {
    match flag {
        "--ro" | "--rw" | "--bind" | "--bind-rw" => {
            let v = value(flag)?;
            let (outside, inside) = match v.split_once(':') {
                Some((o, i)) => (o, Some(i)),
                None => (v.as_str(), None),
            };
            let outside = absolute(outside).map_err(|m| format!("{flag} {v:?}: {m}"))?;
            let inside = match inside {
                Some(i) if !i.starts_with('/') => {
                    return Err(format!(
                        "{flag} {v:?}: the path inside the sandbox must be absolute"
                    ))
                }
                Some(i) => PathBuf::from(i),
                None => outside.clone(),
            };
            o.binds.push(Bind {
                outside,
                inside,
                writable: flag == "--rw" || flag == "--bind-rw",
            });
        }
        "--tmpfs" => {
            let v = value(flag)?;
            let (dir, size) = match v.split_once(':') {
                Some((d, sz)) => (
                    d,
                    Some(parse_bytes(sz).map_err(|m| format!("--tmpfs {v:?}: {m}"))?),
                ),
                None => (v.as_str(), None),
            };
            if !dir.starts_with('/') {
                return Err(format!(
                    "--tmpfs {v:?}: the directory must be an absolute path"
                ));
            }
            o.tmpfs.push((PathBuf::from(dir), size));
        }
        "--shm" => {
            let v = value(flag)?;
            let size = parse_bytes(&v).map_err(|m| format!("--shm {v:?}: {m}"))?;
            o.shm = Some((size != 0).then_some(size));
        }
        "--hostname" => o.hostname = Some(value(flag)?),
        "--cwd" => {
            let v = value(flag)?;
            let p = PathBuf::from(&v);
            if !p.is_absolute() {
                return Err(format!(
                    "--cwd {v:?}: the directory must be an absolute path"
                ));
            }
            o.cwd = Some(p);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The option a switch (a flag without a value) turns on; `None` for any other flag.
fn switch<'o>(o: &'o mut Options, flag: &str) -> Option<&'o mut bool> {
    Some(match flag {
        "-q" | "--quiet" => &mut o.quiet,
        "--json" => &mut o.json,
        "--check" => &mut o.check,
        "--dump-policy" => &mut o.dump_policy,
        "--allow-all" => &mut o.allow_all,
        "--audit" => &mut o.audit,
        "--allow-speculation" => &mut o.allow_speculation,
        "--keep-env" => &mut o.keep_env,
        "--no-namespaces" => &mut o.no_namespaces,
        "--no-private-proc" => &mut o.no_private_proc,
        "--net" => &mut o.share_net,
        "--tty" => &mut o.tty,
        "--allow-write-exec" => &mut o.write_exec,
        _ => return None,
    })
}

fn parse_args(args: Vec<String>) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            o.program.extend(it.by_ref());
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            // The program, without a `--` before it: everything from here belongs to it.
            o.program.push(arg);
            o.program.extend(it.by_ref());
            break;
        }
        // `--flag=value` or `--flag value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        let no_value = |name: &str| -> Result<(), String> {
            match &inline {
                Some(_) => Err(format!("{name} takes no value")),
                None => Ok(()),
            }
        };
        if let Some(on) = switch(&mut o, &flag) {
            no_value(&flag)?;
            *on = true;
            continue;
        }
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            _ if valued_option(&mut o, &flag, &mut value)? => {}
            _ => return Err(format!("unknown option {flag:?}")),
        }
    }
    if o.program.is_empty() && !o.check && !o.dump_policy {
        return Err("no program given: sbx-run [OPTIONS] -- PROGRAM [ARGS...]".into());
    }
    if o.learn.is_some()
        && (o.policy_file.is_some() || !o.allow.is_empty() || !o.errno.is_empty() || o.allow_all)
    {
        return Err("--learn starts from no rules: it cannot be combined with --policy, --allow, --errno or --allow-all".into());
    }
    if o.seccomp_profile.is_some() && (o.policy_file.is_some() || o.learn.is_some()) {
        return Err("--seccomp-profile cannot be combined with --policy or --learn".into());
    }
    if o.learn_format.is_some() && o.learn.is_none() {
        return Err("--learn-format needs --learn FILE".into());
    }
    Ok(Parsed::Run(Box::new(o)))
}

fn limit_flag(
    flag: &str,
    v: &str,
    parse: fn(&str) -> Result<u64, String>,
) -> Result<Option<u64>, String> {
    let t = v.trim();
    if t.eq_ignore_ascii_case("inf")
        || t.eq_ignore_ascii_case("unlimited")
        || t.eq_ignore_ascii_case("infinity")
    {
        return Ok(None);
    }
    parse(t).map(Some).map_err(|m| format!("{flag} {v:?}: {m}"))
}

/// A non-negative integer.
fn parse_count(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| "expected a non-negative integer or 'inf'".to_string())
}

/// Bytes with an optional K/M/G/T suffix (powers of 1024; `KiB`, `KB`, `k` are accepted too).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| "expected a byte count such as 4096, 64K, 512M, 2G or 'inf'".to_string())?;
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("unknown size suffix {suffix:?} (use K, M, G or T)")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| "value too large".to_string())
}

/// Seconds, fractions allowed.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let f: f64 = s
        .trim()
        .parse()
        .map_err(|_| "expected a number of seconds".to_string())?;
    if !f.is_finite() || f < 0.0 {
        return Err("expected a non-negative number of seconds".into());
    }
    Duration::try_from_secs_f64(f).map_err(|_| "value too large".into())
}

/// `p` made absolute against the current directory (not resolved: symlinks stay as given).
fn absolute(p: &str) -> Result<PathBuf, String> {
    if p.is_empty() {
        return Err("empty path".into());
    }
    std::path::absolute(p).map_err(|e| e.to_string())
}

/// `EPERM`, `eperm` or a number in 0..=4095 (the kernel's MAX_ERRNO).
fn parse_errno(s: &str) -> Result<u16, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u16>() {
        return if n <= 4095 {
            Ok(n)
        } else {
            Err("errno numbers go up to 4095".into())
        };
    }
    sbx::policy::errno_from_name(s).ok_or_else(|| {
        format!("unknown errno name {s:?} (use a number or a name such as EPERM, EACCES, ENOSYS)")
    })
}

// ----------------------------------------------------------------------------------------------
// Policy and executor



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

/// `--seccomp-profile FILE`: the profile's rules; its report on stderr unless quiet.
fn load_seccomp_profile(pb: &mut PolicyBuilder, path: &std::path::Path, quiet: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--seccomp-profile {}: {e}", path.display()))?;
    let report = pb
        .load_oci_profile(&text, &path.display().to_string())
        .map_err(|e| format!("--seccomp-profile: {e}"))?;
    if !quiet {
        for line in report.to_string().lines() {
            eprintln!("sbx-run: seccomp profile: {line}");
        }
    }
    Ok(())
}

/// The user's rules, then the embedded default policy's rules, then the view.
///
/// The builder's first matching rule decides, so the user's `--allow`/`--errno` come first and
/// take precedence over the preset's rules for the same syscall (an `--errno socket=EPERM`
/// replaces the preset's per-family socket rules).
fn build_policy(o: &Options) -> Result<Policy, String> {
    let mut pb = PolicyBuilder::new();
    add_user_rules(&mut pb, o);
    if o.tty {
        sbx::policy::presets::tty_rules(&mut pb);
    }
    match (&o.policy_file, &o.seccomp_profile) {
        // The file's rules instead of the default policy's.
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--policy {}: {e}", path.display()))?;
            pb.load_rules(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?;
        }
        (None, Some(path)) => load_seccomp_profile(&mut pb, path, o.quiet)?,
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
    } else {
        sbx::policy::presets::tool_view(&mut pb);
        add_view(&mut pb, o);
    }
    pb.monitor(o.monitor);
    if o.learn.is_some() {
        pb = sbx::learn::learning(&pb);
    }
    pb.build().map_err(|e| format!("policy: {e}"))
}

fn sandboxee_env(o: &Options) -> Vec<String> {
    let mut env: Vec<(String, String)> = if o.keep_env {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    } else {
        let mut base = vec![("PATH".to_string(), DEFAULT_PATH.to_string())];
        for k in PASSED_VARS {
            if let Ok(v) = std::env::var(k) {
                base.push((k.to_string(), v));
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

fn build_executor(o: &Options) -> Executor {
    let mut ex = Executor::new(&o.program[0]);
    ex.argv(o.program.clone());
    ex.envp(sandboxee_env(o));
    if let Some(c) = &o.cwd {
        ex.cwd(c);
    }
    if let Some(w) = o.walltime {
        ex.walltime(w);
    }
    let l = ex.limits_mut();
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
    l.cgroup = o.cgroup;
    l.cgroup.memory = o.memory.flatten();
    ex
}

// ----------------------------------------------------------------------------------------------
// Signals: SIGINT, SIGTERM and SIGHUP to sbx-run kill the sandbox
//
// Until the sandbox is about to start they keep their default action (nothing to clean up yet;
// a `--check` canary dies with the process). Then they are blocked and read from a signalfd by
// the main thread, which waits on it and on the sandbox's completion fd at once: no thread.

const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The signal sbx-run received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The forwarded signals, blocked and readable from a signalfd.
struct Signals {
    fd: OwnedFd,
}

impl Signals {
    /// Blocks the forwarded signals in this (the main) thread, before any other thread starts
    /// (the library's supervisor inherits the mask), and opens a signalfd for them.
    fn block() -> Result<Signals, String> {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it; pthread_sigmask
        // and signalfd read it, and signalfd's result is checked.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in FORWARDED {
                libc::sigaddset(&mut set, s);
            }
            let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if r != 0 {
                return Err(format!(
                    "pthread_sigmask: {}",
                    std::io::Error::from_raw_os_error(r)
                ));
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(format!("signalfd: {}", std::io::Error::last_os_error()));
            }
            Ok(Signals {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// A pending forwarded signal, recorded in [`RECEIVED`] (the first one wins).
    fn take(&self) -> Option<i32> {
        // SAFETY: signalfd_siginfo is plain data; read writes at most its size.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reading into `info`, `size` bytes.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                std::ptr::addr_of_mut!(info).cast(),
                size,
            )
        };
        if usize::try_from(n).ok() != Some(size) {
            return None;
        }
        let sig = i32::try_from(info.ssi_signo).ok()?;
        let _ = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
        Some(sig)
    }
}

/// Starts `sb` and waits for its result, killing it when a forwarded signal arrives. A signal
/// that came before the start ends sbx-run with 128+signal, starting nothing.
fn run_until_done(sb: &Sandbox, signals: &Signals) -> sbx::Result<RunResult> {
    if let Some(sig) = signals.take() {
        std::process::exit(128 + sig);
    }
    sb.start()?;
    let done = sb.completion_fd()?.as_raw_fd();
    loop {
        let mut fds = [
            libc::pollfd {
                fd: done,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two live pollfds.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            // Cannot wait for signals: wait for the result alone.
            break;
        }
        if fds[1].revents != 0 && signals.take().is_some() {
            sb.kill();
        }
        if fds[0].revents != 0 {
            break;
        }
    }
    sb.wait()
}

// ----------------------------------------------------------------------------------------------
// Output

/// Appends `s` as a JSON string literal.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.push_str("null"),
    }
}

fn json_opt_num<T: std::fmt::Display>(out: &mut String, n: Option<T>) {
    match n {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push_str("null"),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// A JSON array of strings.
fn json_list(o: &mut String, items: &[&str]) {
    o.push('[');
    for (i, f) in items.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        json_str(o, f);
    }
    o.push(']');
}

/// The Landlock report: `{"abi":N,"fs_rights":[...],"scopes":[...]}` or `null`.
fn json_landlock(o: &mut String, l: Option<sbx::landlock::Enforced>) {
    let Some(l) = l else {
        o.push_str("null");
        return;
    };
    let _ = write!(o, "{{\"abi\":{},\"fs_rights\":", l.abi);
    json_list(o, &l.fs_rights());
    o.push_str(",\"scopes\":");
    json_list(o, &l.scopes());
    o.push('}');
}

/// The result as one line of JSON (keys in a fixed order, always present).
fn result_json(r: &RunResult) -> String {
    let mut o = String::with_capacity(512);
    o.push_str("{\"status\":");
    json_str(&mut o, r.status.name());
    let _ = write!(o, ",\"reason_code\":{},\"reason\":", r.reason_code);
    json_opt_str(&mut o, r.reason().map(sbx::Reason::name));
    o.push_str(",\"exit_code\":");
    json_opt_num(&mut o, r.exit_code);
    o.push_str(",\"signal\":");
    json_opt_num(&mut o, r.signal);
    let _ = write!(
        o,
        ",\"wall_time_ms\":{},\"pid\":{},\"message\":",
        ms(r.wall_time),
        r.pid
    );
    json_opt_str(&mut o, r.message.as_deref());
    o.push_str(",\"setup_step\":");
    json_opt_str(&mut o, r.failed_step);
    o.push_str(",\"setup_errno\":");
    json_opt_str(
        &mut o,
        r.setup_errno.map(sbx::diagnose::errno_name).as_deref(),
    );
    o.push_str(",\"setup_hint\":");
    json_opt_str(&mut o, r.setup_hint.as_deref());
    o.push_str(",\"fences\":");
    json_list(&mut o, &r.fences);
    o.push_str(",\"degraded\":");
    json_list(&mut o, &r.degraded);
    o.push_str(",\"landlock\":");
    json_landlock(&mut o, r.landlock);
    let u = &r.usage;
    let _ = write!(
        o,
        ",\"usage\":{{\"user_ms\":{},\"system_ms\":{},\"max_rss_kib\":{},\"peak_tasks\":{}}}",
        ms(u.user_time),
        ms(u.system_time),
        u.max_rss_kib,
        u.peak_tasks
    );
    o.push_str(",\"violation\":");
    match &r.violation {
        Some(v) => {
            call_json(&mut o, v);
            let _ = write!(o, ",\"sp\":{}}}", v.sp);
        }
        None => o.push_str("null"),
    }
    o.push_str(",\"audit\":");
    match &r.audit {
        Some(calls) => {
            o.push('[');
            for (i, c) in calls.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                call_json(&mut o, &c.first);
                let _ = write!(o, ",\"count\":{}}}", c.count);
            }
            o.push(']');
        }
        None => o.push_str("null"),
    }
    o.push_str(",\"cgroup\":");
    match &r.cgroup {
        Some(u) => {
            o.push_str("{\"memory_peak\":");
            json_opt_num(&mut o, u.memory_peak);
            let _ = write!(o, ",\"oom_kills\":{},\"pids_refused\":{}}}", u.oom_kills, u.pids_refused);
        }
        None => o.push_str("null"),
    }
    o.push_str(",\"limit_reached\":");
    json_opt_str(&mut o, r.limit_reached());
    o.push_str(",\"denied_connects\":[");
    for (i, d) in r.denied_connects.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(o, "{{\"pid\":{},\"family\":", d.pid);
        json_str(&mut o, &d.family);
        o.push_str(",\"address\":");
        json_str(&mut o, &d.address);
        o.push_str(",\"why\":");
        json_str(&mut o, &d.why);
        o.push('}');
    }
    o.push(']');
    o.push_str(",\"description\":");
    json_str(&mut o, &r.describe());
    o.push('}');
    o
}

/// `{"arch":..,"syscall":..,"nr":N,"args":[..],"pid":N,"ip":N` of a call, left open for the
/// caller's last keys.
fn call_json(o: &mut String, v: &sbx::Syscall) {
    o.push_str("{\"arch\":");
    json_str(o, &v.arch.label());
    o.push_str(",\"syscall\":");
    json_str(o, &v.name);
    let args: Vec<String> = v.args.iter().map(u64::to_string).collect();
    let _ = write!(
        o,
        ",\"nr\":{},\"args\":[{}],\"pid\":{},\"ip\":{}",
        v.nr,
        args.join(","),
        v.pid,
        v.ip
    );
}

/// What `--learn-format` accepts.
const LEARN_FORMATS: [&str; 5] = ["toml", "rust", "c", "go", "oci"];

/// Writes what a learning run made to `path` in `format`.
fn write_learned(
    path: &std::path::Path,
    format: &str,
    r: &RunResult,
    quiet: bool,
) -> Result<(), String> {
    let learned = sbx::learn::Learned::from_results([r]);
    let text = match format {
        "rust" => learned.to_rust(),
        "c" => learned.to_c(),
        "go" => learned.to_go(),
        "oci" => learned.to_oci_json(),
        _ => learned.to_toml(),
    };
    std::fs::write(path, text).map_err(|e| format!("--learn {}: {e}", path.display()))?;
    if !quiet {
        eprintln!(
            "sbx-run: learned {} syscalls into {} ({format}); run under them with --policy (toml)",
            learned.calls.len(),
            path.display()
        );
    }
    Ok(())
}

/// An audit run's list, to stderr: what to allow (or rule otherwise) for the run to pass.
fn print_audit(r: &RunResult) {
    let Some(calls) = &r.audit else {
        return;
    };
    if calls.is_empty() {
        eprintln!("sbx-run: audit: the run made no call the policy refuses");
        return;
    }
    eprintln!(
        "sbx-run: audit: {} syscalls the policy refuses ran (first call shown):",
        calls.len()
    );
    for c in calls {
        let times = if c.count == 1 {
            "once".to_string()
        } else {
            format!("{} times", c.count)
        };
        eprintln!("  {} {times}, pid {}", c.first.describe(), c.first.pid);
    }
    let names: Vec<&str> = calls
        .iter()
        .map(|c| c.first.name.as_str())
        .filter(|n| *n != "UNKNOWN")
        .collect();
    eprintln!("sbx-run: audit: to allow them: --allow {}", names.join(","));
}

/// Exit status for a result (see the EXIT STATUS section of the help).
// An exit status is the low 8 bits of the code, as wait(2) and the shell take it.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
fn exit_status(r: &RunResult) -> u8 {
    match r.status {
        Status::Ok => r.exit_code.unwrap_or(r.reason_code as i32) as u8,
        Status::Signaled => signal_status(r.signal.unwrap_or(r.reason_code as i32)),
        Status::Violation => EXIT_VIOLATION,
        Status::Timeout => EXIT_TIMEOUT,
        Status::ExternalKill => match RECEIVED.load(Ordering::SeqCst) {
            0 => signal_status(r.signal.unwrap_or(libc::SIGKILL)),
            s => signal_status(s),
        },
        // SETUP_ERROR, INTERNAL_ERROR, UNSET, and a status added after this binary was written
        // (`Status` is non-exhaustive): libsbx did not run the program to its end.
        _ => EXIT_SETUP,
    }
}

fn signal_status(sig: i32) -> u8 {
    u8::try_from(128 + sig.clamp(0, 127)).unwrap_or(u8::MAX) // 128..=255: always fits
}

fn print_check() -> u8 {
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

fn fail(msg: &str) -> ExitCode {
    eprintln!("sbx-run: error: {msg}");
    ExitCode::from(EXIT_SETUP)
}

fn main() -> ExitCode {
    let args: Result<Vec<String>, String> = std::env::args_os()
        .skip(1)
        .enumerate()
        .map(|(i, a)| {
            a.into_string()
                .map_err(|a| format!("argument {} ({a:?}) is not valid UTF-8", i + 1))
        })
        .collect();
    let opts = match args.and_then(parse_args) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!(
                "sbx-run {} (libsbx {})",
                env!("CARGO_PKG_VERSION"),
                sbx::VERSION
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sbx-run: error: {e}");
            eprintln!("Try 'sbx-run --help'.");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    if opts.check {
        return ExitCode::from(print_check());
    }
    let policy = match build_policy(&opts) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if opts.dump_policy {
        let user_rules = !opts.allow.is_empty() || !opts.errno.is_empty() || opts.allow_all;
        let after = if user_rules {
            " and your --allow/--errno/--allow-all"
        } else {
            ""
        };
        println!("# The embedded default policy's groups (after the mandatory rules{after}):");
        print!("{}", sbx::policy::presets::describe_tool_groups());
        println!("# The compiled filter:");
        print!("{}", policy.disassemble());
        return ExitCode::SUCCESS;
    }

    let signals = match Signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let sb = Sandbox::new(build_executor(&opts), policy);
    let result = run_until_done(&sb, &signals);
    // An Err means libsbx refused the request before starting anything (bad input); it is
    // reported like any other setup failure, in the same shapes.
    let r = result.unwrap_or_else(|e| RunResult::setup_error(Reason::FailedConfig, e.to_string()));
    if !opts.quiet && r.status != Status::Ok {
        match RECEIVED.load(Ordering::SeqCst) {
            0 => eprintln!("sbx-run: {}", r.describe()),
            sig => eprintln!(
                "sbx-run: got {}, killed the sandbox: {}",
                sbx::result::signal_name(sig),
                r.describe()
            ),
        }
    }
    if !opts.quiet && !r.degraded.is_empty() {
        eprintln!(
            "sbx-run: note: left out of the sandbox (refused by the kernel): {}",
            r.degraded.join(", ")
        );
    }
    if let Some(path) = &opts.learn {
        if let Err(e) = write_learned(
            path,
            opts.learn_format.as_deref().unwrap_or("toml"),
            &r,
            opts.quiet,
        ) {
            eprintln!("sbx-run: error: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    } else if !opts.quiet {
        print_audit(&r);
    }
    if !opts.quiet {
        // The one that ended a NETWORK VIOLATION is in its description already.
        let fatal = usize::from(r.reason() == Some(sbx::Reason::ViolationNetwork));
        for d in &r.denied_connects[..r.denied_connects.len() - fatal.min(r.denied_connects.len())]
        {
            eprintln!("sbx-run: network: refused {} (pid {})", d.describe(), d.pid);
        }
    }
    if opts.json {
        eprintln!("{}", result_json(&r));
    }
    if r.cgroup.is_some() {
        // Leave no empty groups behind: this process ends now.
        sbx::cgroups::release();
    }
    ExitCode::from(exit_status(&r))
}

#[cfg(test)]
// Tests: their casts are of constants and of values the tests make themselves.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }

    #[test]
    fn sizes_and_errnos() {
        assert_eq!(parse_bytes("64K"), Ok(64 << 10));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("1Q").is_err());
        assert_eq!(limit_flag("--rlimit-as", "inf", parse_bytes), Ok(None));
        assert_eq!(parse_errno("eacces"), Ok(libc::EACCES as u16));
        assert_eq!(parse_errno("38"), Ok(38));
        assert_eq!(parse_errno("ENOTSUP"), Ok(libc::EOPNOTSUPP as u16));
        assert_eq!(parse_errno("EHWPOISON"), Ok(libc::EHWPOISON as u16));
        assert!(parse_errno("EFOO").is_err());
        assert!(parse_errno("5000").is_err());
    }

    #[test]
    fn args() {
        let p = |v: &[&str]| parse_args(v.iter().map(|s| (*s).to_string()).collect());
        match p(&["--walltime=2.5", "--allow", "a,b", "--", "ls", "-l"]) {
            Ok(Parsed::Run(o)) => {
                assert_eq!(o.walltime, Some(Duration::from_millis(2500)));
                assert_eq!(o.allow, vec!["a", "b"]);
                assert_eq!(o.program, vec!["ls", "-l"]);
            }
            _ => panic!("parse failed"),
        }
        assert!(p(&["--bogus", "--", "ls"]).is_err());
        assert!(p(&["--json"]).is_err());
        assert!(p(&["--cwd", "rel", "--", "ls"]).is_err());
    }
}
