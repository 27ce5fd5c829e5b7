//! A policy file's `[namespaces]`, `[view]`, `[[mount]]` and `[limits]`.

use super::{take_error, Number, Origin};
use crate::error::Result;
use crate::limits::Limits;
use crate::namespaces::NetNs;
use crate::policy::PolicyBuilder;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileNamespaces {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    network: Option<Spanned<String>>,
    #[serde(default)]
    hostname: Option<Spanned<String>>,
    #[serde(default)]
    allow_no_private_proc: Option<bool>,
}

impl FileNamespaces {
    pub(super) fn apply(&self, b: &mut PolicyBuilder, at: &Origin) -> Result<()> {
        if let Some(on) = self.enabled {
            b.namespaces.enabled = on;
        }
        if let Some(n) = &self.network {
            let net = match n.get_ref().as_str() {
                "private" => NetNs::PerSandbox,
                "shared" => NetNs::Shared,
                "host" => NetNs::Host,
                other => {
                    return Err(at.key(
                        n.span().start,
                        "namespaces.network",
                        format!("{other:?}: expected \"private\", \"shared\" or \"host\""),
                    ))
                }
            };
            b.network_namespace(net);
        }
        if let Some(h) = &self.hostname {
            b.hostname(h.get_ref().as_str());
            take_error(b).map_err(|e| at.key(h.span().start, "namespaces.hostname", e))?;
        }
        if let Some(on) = self.allow_no_private_proc {
            b.namespaces.allow_no_proc = on;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileView {
    #[serde(default)]
    root_writable: Option<bool>,
    #[serde(default)]
    write_exec: Option<bool>,
    #[serde(default)]
    dev_shm: Option<Spanned<Number>>,
    #[serde(default)]
    dev_pts: Option<bool>,
}

impl FileView {
    pub(super) fn apply(&self, b: &mut PolicyBuilder, at: &Origin) -> Result<()> {
        if let Some(on) = self.root_writable {
            b.mounts.set_root_writable(on);
        }
        if let Some(on) = self.write_exec {
            b.mounts.set_writable_exec(on);
        }
        if let Some(size) = &self.dev_shm {
            let key = |e| at.key(size.span().start, "view.dev_shm", e);
            let n = size.get_ref().get().map_err(key)?;
            b.mounts
                .set_dev_shm(Some(n))
                .map_err(|e| key(e.to_string()))?;
        }
        if let Some(on) = self.dev_pts {
            b.dev_pts(on);
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileMount {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    writable: Option<bool>,
    #[serde(default)]
    optional: Option<bool>,
    #[serde(default)]
    size: Option<Number>,
    #[serde(default)]
    dir: Option<bool>,
}

impl FileMount {
    /// Adds the mount; `start` is where its table begins.
    pub(super) fn apply(&self, b: &mut PolicyBuilder, at: &Origin, start: usize) -> Result<()> {
        let err = |what: String| at.key(start, "mount", format!("{}: {what}", self.path));
        let path = Path::new(&self.path);
        // Which keys each type takes: the others are mistakes, not silently ignored.
        let allowed: &[&str] = match self.kind.as_str() {
            "bind" => &["source", "writable", "optional"],
            "tmpfs" => &["size"],
            "hidden" => &["dir"],
            "libraries" => &["source"],
            other => {
                return Err(err(format!(
                    "type {other:?}: expected \"bind\", \"tmpfs\", \"hidden\" or \"libraries\""
                )))
            }
        };
        let given = [
            ("source", self.source.is_some()),
            ("writable", self.writable.is_some()),
            ("optional", self.optional.is_some()),
            ("size", self.size.is_some()),
            ("dir", self.dir.is_some()),
        ];
        if let Some((k, _)) = given.iter().find(|(k, on)| *on && !allowed.contains(k)) {
            return Err(err(format!("type {:?} takes no {k}", self.kind)));
        }
        let source = || {
            self.source
                .as_deref()
                .map(Path::new)
                .ok_or_else(|| err(format!("type {:?} needs a source", self.kind)))
        };
        match self.kind.as_str() {
            "bind" => {
                let src = source()?;
                if self.optional == Some(true) && !src.exists() {
                    return Ok(());
                }
                let writable = self.writable.unwrap_or(false);
                if src.is_dir() {
                    b.add_directory_at(src, path, writable);
                } else {
                    b.add_file_at(src, path, writable);
                }
            }
            "tmpfs" => {
                let size = self
                    .size
                    .as_ref()
                    .map(Number::get)
                    .transpose()
                    .map_err(err)?;
                b.add_tmpfs(path, size);
            }
            "hidden" => {
                b.hide(path, self.dir.unwrap_or(false));
            }
            _ => {
                let binary = source()?;
                if binary != path {
                    return Err(err(
                        "type \"libraries\": path and source are the binary's one path".into(),
                    ));
                }
                b.add_libraries_for_binary(binary);
            }
        }
        take_error(b).map_err(err)
    }
}

/// A walltime in seconds, or `"unlimited"`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Seconds {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Seconds {
    /// The number (`None` for `"unlimited"`), or `None` for other text.
    #[allow(clippy::cast_precision_loss, clippy::option_option)]
    fn value(&self) -> Option<Option<f64>> {
        match self {
            Seconds::Text(t) => (t == "unlimited").then_some(None),
            Seconds::Int(n) => Some(Some(*n as f64)),
            Seconds::Float(f) => Some(Some(*f)),
        }
    }
}

/// An rlimit key of the file, the limit it sets and its name.
type Slot<'a> = (
    &'a Option<Spanned<Number>>,
    &'a mut Option<u64>,
    &'static str,
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLimits {
    #[serde(default)]
    walltime: Option<Spanned<Seconds>>,
    #[serde(default)]
    address_space: Option<Spanned<Number>>,
    #[serde(default)]
    cpu_seconds: Option<Spanned<Number>>,
    #[serde(default)]
    file_size: Option<Spanned<Number>>,
    #[serde(default)]
    open_files: Option<Spanned<Number>>,
    #[serde(default)]
    processes: Option<Spanned<Number>>,
    #[serde(default)]
    core: Option<Spanned<Number>>,
    #[serde(default)]
    memory: Option<Spanned<Number>>,
    #[serde(default)]
    pids: Option<Spanned<Number>>,
    #[serde(default)]
    cpus: Option<Spanned<Seconds>>,
}

/// A limit's value: a number, or `"unlimited"` (`None`).
fn limit(v: &Spanned<Number>, at: &Origin, key: &str) -> Result<Option<u64>> {
    match v.get_ref() {
        Number::Text(t) if t == "unlimited" => Ok(None),
        n => n
            .get()
            .map(Some)
            .map_err(|e| at.key(v.span().start, &format!("limits.{key}"), e)),
    }
}

impl FileLimits {
    /// [`Limits::default`] with the table's keys applied, checked; `start` is where it begins.
    pub(super) fn to_limits(&self, at: &Origin, start: usize) -> Result<Limits> {
        let mut l = Limits::default();
        if let Some(w) = &self.walltime {
            let bad = || {
                at.key(
                    w.span().start,
                    "limits.walltime",
                    "expected seconds (above 0, at most a year) or \"unlimited\"",
                )
            };
            l.wall_time = match w.get_ref().value().ok_or_else(bad)? {
                None => None,
                Some(s) => Some(seconds(s).ok_or_else(bad)?),
            };
        }
        let rlimits: [Slot; 6] = [
            (&self.address_space, &mut l.address_space, "address_space"),
            (&self.cpu_seconds, &mut l.cpu_seconds, "cpu_seconds"),
            (&self.file_size, &mut l.file_size, "file_size"),
            (&self.open_files, &mut l.open_files, "open_files"),
            (&self.processes, &mut l.processes, "processes"),
            (&self.core, &mut l.core, "core"),
        ];
        for (v, slot, key) in rlimits {
            if let Some(v) = v {
                *slot = limit(v, at, key)?;
            }
        }
        if let Some(v) = &self.memory {
            l.cgroup.memory = limit(v, at, "memory")?;
        }
        if let Some(v) = &self.pids {
            l.cgroup.pids = limit(v, at, "pids")?;
        }
        if let Some(c) = &self.cpus {
            let bad = || {
                at.key(
                    c.span().start,
                    "limits.cpus",
                    "expected cores (0.01 to 4096) or \"unlimited\"",
                )
            };
            l.cgroup.cpu_millicores = match c.get_ref().value().ok_or_else(bad)? {
                None => None,
                Some(cores) => Some(millicores(cores).ok_or_else(bad)?),
            };
        }
        l.rlimit_settings()
            .and_then(|_| l.cgroup.validate())
            .map_err(|e| at.key(start, "limits", e))?;
        Ok(l)
    }
}

/// `s` seconds as a duration: above 0 and at most a year.
fn seconds(s: f64) -> Option<Duration> {
    (s > 0.0 && s <= 365.0 * 86400.0).then(|| Duration::from_secs_f64(s))
}

/// `cores` as thousandths of a core.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn millicores(cores: f64) -> Option<u64> {
    (cores > 0.0 && cores <= 4096.0).then(|| (cores * 1000.0).round() as u64)
}
