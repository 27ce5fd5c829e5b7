//! What to run: program, argv, environment, working directory, fd mapping and limits.
//!
//! An [`Executor`] describes exactly one process. It is consumed by the [`crate::Sandbox`] that
//! runs it, so it can start only once.

use crate::error::{Error, Result};
use crate::limits::Limits;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where one of the sandboxee's standard streams comes from.
#[derive(Debug, Default)]
pub enum Stdio {
    /// The host's own fd of the same number (default).
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// This fd (the sandbox owns it from now on and closes its copy after the start).
    Fd(OwnedFd),
}

/// A host fd that appears in the sandboxee at a given number.
#[derive(Debug)]
pub(crate) struct FdMapping {
    pub host: OwnedFd,
    pub child: RawFd,
}

/// The process to run inside the sandbox.
#[derive(Debug)]
pub struct Executor {
    pub(crate) path: PathBuf,
    pub(crate) argv: Vec<String>,
    pub(crate) envp: Vec<String>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdio: [Stdio; 3],
    pub(crate) fds: Vec<FdMapping>,
    pub(crate) limits: Limits,
    /// Apply the user policy before exec (default) or let the sandboxee apply it itself.
    pub(crate) before_exec: bool,
    /// Give the sandboxee a comms channel at [`crate::comms::DEFAULT_CLIENT_FD`].
    pub(crate) comms: bool,
    /// Names of mapped fds, passed to the sandboxee in [`FD_MAPPINGS_ENV`].
    pub(crate) fd_names: Vec<(String, RawFd)>,
}

/// Environment variable telling the sandboxee which fd carries which name
/// (`name=fd,name=fd`); read by [`crate::client::mapped_fd`].
pub const FD_MAPPINGS_ENV: &str = "SBX_FD_MAPPINGS";

impl Executor {
    /// Runs `path` with `argv[0] = path`, an empty environment, the host's cwd, inherited stdio
    /// and sandbox2's default limits. A relative `path` is resolved against the host's cwd now.
    pub fn new(path: impl AsRef<Path>) -> Executor {
        let path = path.as_ref().to_path_buf();
        let arg0 = path.to_string_lossy().into_owned();
        Executor {
            path,
            argv: vec![arg0],
            envp: Vec::new(),
            cwd: None,
            stdio: [Stdio::Inherit, Stdio::Inherit, Stdio::Inherit],
            fds: Vec::new(),
            limits: Limits::default(),
            before_exec: true,
            comms: false,
            fd_names: Vec::new(),
        }
    }

    /// Replaces the whole argv, including `argv[0]`.
    pub fn argv<I, S>(&mut self, argv: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv = argv.into_iter().map(Into::into).collect();
        self
    }

    /// Appends one argument after the ones already set.
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.argv.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds or replaces `KEY=VALUE` in the sandboxee's environment (empty by default).
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        let entry = format!("{}={}", key, value.into());
        let prefix = format!("{key}=");
        self.envp.retain(|e| !e.starts_with(&prefix));
        self.envp.push(entry);
        self
    }

    /// Replaces the whole environment with `KEY=VALUE` strings.
    pub fn envp<I, S>(&mut self, envp: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.envp = envp.into_iter().map(Into::into).collect();
        self
    }

    /// Working directory of the sandboxee (default: the host's cwd at start).
    pub fn cwd(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Standard input.
    pub fn stdin(&mut self, s: Stdio) -> &mut Self {
        self.stdio[0] = s;
        self
    }

    /// Standard output.
    pub fn stdout(&mut self, s: Stdio) -> &mut Self {
        self.stdio[1] = s;
        self
    }

    /// Standard error.
    pub fn stderr(&mut self, s: Stdio) -> &mut Self {
        self.stdio[2] = s;
        self
    }

    /// Makes `host` appear as fd `child` in the sandboxee (`child` >= 3; 0-2 are set with
    /// [`stdin`](Self::stdin) and friends). The sandbox owns `host` from now on.
    pub fn map_fd(&mut self, host: OwnedFd, child: RawFd) -> &mut Self {
        self.fds.push(FdMapping { host, child });
        self
    }

    /// Like [`map_fd`](Self::map_fd), and the sandboxee can find the fd by `name` with
    /// [`crate::client::mapped_fd`] (names: letters, digits, `_`, `-`, `.`).
    pub fn map_fd_named(
        &mut self,
        host: OwnedFd,
        child: RawFd,
        name: impl Into<String>,
    ) -> &mut Self {
        self.fd_names.push((name.into(), child));
        self.map_fd(host, child)
    }

    /// Whether the policy is installed before the target's exec (default `true`). With `false`
    /// the target starts under the mandatory rules only (plus namespaces, Landlock and limits),
    /// prepares itself (opens files, loads data) and then calls
    /// [`crate::client::sandbox_me_here`], which receives the policy over comms and applies it
    /// to every thread. Implies [`enable_comms`](Self::enable_comms).
    pub fn sandbox_before_exec(&mut self, before: bool) -> &mut Self {
        self.before_exec = before;
        if !before {
            self.comms = true;
        }
        self
    }

    /// Gives the sandboxee a comms channel (a unix socket at fd 1023, see [`crate::comms`]);
    /// the host end is [`crate::Sandbox::take_comms`].
    pub fn enable_comms(&mut self) -> &mut Self {
        self.comms = true;
        self
    }

    /// All limits at once.
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Mutable access to the limits.
    pub fn limits_mut(&mut self) -> &mut Limits {
        &mut self.limits
    }

    /// Wall-time limit; `Duration::ZERO` disables it (default 120 s).
    pub fn walltime(&mut self, d: Duration) -> &mut Self {
        self.limits.wall_time = if d.is_zero() { None } else { Some(d) };
        self
    }

    /// Checks everything that can be checked before a fork, so a bad executor never half-starts.
    pub(crate) fn validate(&self) -> Result<()> {
        let p = self.path.as_os_str();
        if p.is_empty() {
            return Err(Error::invalid("executor path is empty"));
        }
        check_no_nul("executor path", p.as_encoded_bytes())?;
        if self.argv.is_empty() {
            return Err(Error::invalid("argv is empty; argv[0] is required"));
        }
        for a in &self.argv {
            check_no_nul("argument", a.as_bytes())?;
        }
        for e in &self.envp {
            check_no_nul("environment entry", e.as_bytes())?;
            if !e.contains('=') || e.starts_with('=') {
                return Err(Error::invalid(format!(
                    "environment entry {e:?} is not KEY=VALUE"
                )));
            }
        }
        if let Some(c) = &self.cwd {
            check_no_nul("cwd", c.as_os_str().as_encoded_bytes())?;
            if !c.is_absolute() {
                return Err(Error::invalid(format!(
                    "cwd {} is not absolute",
                    c.display()
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.fds {
            if m.child < 3 {
                return Err(Error::invalid(format!(
                    "fd mapping to {}: 0, 1 and 2 are set with stdin/stdout/stderr",
                    m.child
                )));
            }
            if m.child > 65535 {
                return Err(Error::invalid(format!(
                    "fd mapping to {} is above 65535",
                    m.child
                )));
            }
            if !seen.insert(m.child) {
                return Err(Error::invalid(format!("fd {} is mapped twice", m.child)));
            }
            if let Some(n) = self.limits.open_files {
                if !u64::try_from(m.child).is_ok_and(|c| c < n) {
                    return Err(Error::invalid(format!(
                        "fd mapping to {} is not below the open_files limit {}",
                        m.child, n
                    )));
                }
            }
            // A closed or invalid fd is caught here rather than in the child.
            // SAFETY-free check: fcntl(F_GETFD) on an fd we own.
            if nix::fcntl::fcntl(m.host.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFD).is_err() {
                return Err(Error::invalid(format!(
                    "fd mapping to {}: host fd is not open",
                    m.child
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for (name, fd) in &self.fd_names {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if !ok {
                return Err(Error::invalid(format!(
                    "fd name {name:?}: 1 to 64 of [A-Za-z0-9_.-]"
                )));
            }
            if !names.insert(name.as_str()) {
                return Err(Error::invalid(format!("fd name {name:?} is used twice")));
            }
            let _ = fd;
        }
        if self.comms
            && self
                .fds
                .iter()
                .any(|m| m.child == crate::comms::DEFAULT_CLIENT_FD)
        {
            return Err(Error::invalid(format!(
                "fd {} is the comms channel's; map the fd elsewhere",
                crate::comms::DEFAULT_CLIENT_FD
            )));
        }
        if self
            .envp
            .iter()
            .any(|e| e.starts_with(&format!("{FD_MAPPINGS_ENV}=")))
        {
            return Err(Error::invalid(format!(
                "{FD_MAPPINGS_ENV} is set by libsbx itself"
            )));
        }
        self.limits.rlimit_settings()?;
        Ok(())
    }

    pub(crate) fn c_strings(list: &[String]) -> Result<Vec<CString>> {
        list.iter()
            .map(|s| {
                CString::new(s.as_bytes())
                    .map_err(|_| Error::invalid(format!("{s:?} contains NUL")))
            })
            .collect()
    }
}

fn check_no_nul(what: &str, bytes: &[u8]) -> Result<()> {
    if bytes.contains(&0) {
        return Err(Error::invalid(format!("{what} contains a NUL byte")));
    }
    Ok(())
}
