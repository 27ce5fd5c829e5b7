//! The command line: [`Options`] and [`parse_args`], with the parsers of sizes, durations,
//! errnos and paths that the options' values go through.

use std::path::PathBuf;
use std::time::Duration;

/// What `--learn-format` accepts.
const LEARN_FORMATS: [&str; 5] = ["toml", "rust", "c", "go", "oci"];

/// Everything the command line says.
// A limit is `None` (not given: the default), `Some(None)` ("unlimited") or `Some(Some(n))`.
#[allow(clippy::option_option)]
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
    pub(crate) check: bool,
    pub(crate) dump_policy: bool,
    pub(crate) dump_policy_file: bool,
    pub(crate) allow: Vec<String>,
    pub(crate) errno: Vec<(String, u16)>,
    pub(crate) allow_connect: Vec<String>,
    pub(crate) refuse_connect: Option<u16>,
    pub(crate) allow_all: bool,
    pub(crate) audit: bool,
    pub(crate) stack_trace: bool,
    pub(crate) allow_speculation: bool,
    pub(crate) learn: Option<PathBuf>,
    pub(crate) learn_format: Option<String>,
    pub(crate) learn_merge: bool,
    pub(crate) policy_file: Option<PathBuf>,
    pub(crate) seccomp_profile: Option<PathBuf>,
    pub(crate) walltime: Option<Duration>,
    pub(crate) rlimit_as: Option<Option<u64>>,
    pub(crate) rlimit_cpu: Option<Option<u64>>,
    pub(crate) rlimit_fsize: Option<Option<u64>>,
    pub(crate) rlimit_nofile: Option<Option<u64>>,
    pub(crate) rlimit_nproc: Option<Option<u64>>,
    pub(crate) cgroup: sbx::cgroups::CgroupLimits,
    /// `--memory`: `Some(None)` no limit; `None`: the default.
    pub(crate) memory: Option<Option<u64>>,
    pub(crate) rlimit_core: Option<Option<u64>>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) keep_env: bool,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) binds: Vec<Bind>,
    pub(crate) tmpfs: Vec<(PathBuf, Option<u64>)>,
    pub(crate) share_net: bool,
    pub(crate) hostname: Option<String>,
    pub(crate) no_namespaces: bool,
    pub(crate) write_exec: bool,
    pub(crate) shm: Option<Option<u64>>,
    pub(crate) tty: bool,
    pub(crate) no_private_proc: bool,
    /// `--monitor`; `None`: the policy file's, else auto.
    pub(crate) monitor: Option<sbx::Monitor>,
    pub(crate) program: Vec<String>,
    /// `--serve`: be a server for runs of other sbx-run processes (`server.rs`); `program`,
    /// if any, is the command it serves (run unsandboxed).
    pub(crate) serve: bool,
    /// `--no-server`: run in this process even where a server is named.
    pub(crate) no_server: bool,
}

/// A `--ro`/`--rw` bind of a host path into the sandbox.
#[derive(Debug)]
pub(crate) struct Bind {
    pub(crate) outside: PathBuf,
    pub(crate) inside: PathBuf,
    pub(crate) writable: bool,
}

/// What `main` should do after parsing.
pub(crate) enum Parsed {
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
            let m = sbx::Monitor::from_name(&v)
                .ok_or_else(|| format!("--monitor {v:?}: expected auto, ptrace or unotify"))?;
            o.monitor = Some(m);
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
        "--dump-policy-file" => &mut o.dump_policy_file,
        "--allow-all" => &mut o.allow_all,
        "--audit" => &mut o.audit,
        "--learn-merge" => &mut o.learn_merge,
        "--stack-trace" => &mut o.stack_trace,
        "--allow-speculation" => &mut o.allow_speculation,
        "--keep-env" => &mut o.keep_env,
        "--no-namespaces" => &mut o.no_namespaces,
        "--no-private-proc" => &mut o.no_private_proc,
        "--net" => &mut o.share_net,
        "--tty" => &mut o.tty,
        "--allow-write-exec" => &mut o.write_exec,
        "--serve" => &mut o.serve,
        "--no-server" => &mut o.no_server,
        _ => return None,
    })
}

pub(crate) fn parse_args(args: Vec<String>) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    let mut flags = 0;
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
        flags += 1;
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
    if o.serve && flags > 1 {
        return Err("--serve takes no other option: each run's options come with the run".into());
    }
    if o.program.is_empty() && !o.check && !o.dump_policy && !o.dump_policy_file && !o.serve {
        return Err("no program given: sbx-run [OPTIONS] -- PROGRAM [ARGS...]".into());
    }
    if o.learn.is_some() && (!o.allow.is_empty() || o.allow_all) {
        return Err("--learn records what the program does instead of allowing it: it cannot be combined with --allow or --allow-all (--errno and --policy give it denials to keep)".into());
    }
    if o.seccomp_profile.is_some() && (o.policy_file.is_some() || o.learn.is_some()) {
        return Err("--seccomp-profile cannot be combined with --policy or --learn".into());
    }
    if (o.learn_format.is_some() || o.learn_merge) && o.learn.is_none() {
        return Err("--learn-format and --learn-merge need --learn FILE".into());
    }
    if o.learn.is_some() && o.dump_policy_file {
        // The learning run's policy is no policy file: reloaded, its kept violation rules would
        // be audited like the rest.
        return Err("--dump-policy-file shows the policy a run uses; --learn writes the learned one to its FILE".into());
    }
    if o.learn_merge && o.learn_format.as_deref().is_some_and(|f| f != "toml") {
        return Err("--learn-merge reads and writes the policy file (--learn-format toml)".into());
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
