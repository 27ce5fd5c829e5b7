//! Policy files: a whole policy as TOML, loaded by [`PolicyBuilder::from_toml`],
//! [`PolicyBuilder::load_file`] and [`PolicyBuilder::load_rules`] (`sbx-run --policy FILE`, C
//! `sbx_policy_builder_from_string`, Go `PolicyBuilderFromString`) and written by
//! [`PolicyBuilder::to_toml`] (`sbx-run --dump-policy-file`) and by learn mode
//! ([`crate::learn::Learned::to_toml`]). A dump loads back to the same filter and settings.
//!
//! ```toml
//! version = 1
//! default = "violation"          # what no rule decides: "violation" (the default), "allow",
//!                                # "trace" or "errno:EPERM" (a name or a number)
//! monitor = "auto"               # "auto", "unotify" or "ptrace"
//! audit = false                  # record refused calls and let them run (developing a policy)
//! allow_speculation = false      # leave speculative execution as the kernel set it
//! stack_traces = false           # a violation's (or crash's) stack in the result
//! groups = ["static_startup"]   # libsbx's groups, by their method's name without `allow_`
//! allow = ["read", "write"]      # unconditional allows
//! connect = ["127.0.0.1:8080", "unix:/run/x.sock"]  # a network allow-list (`allow_connect`)
//! refuse_connect = "ECONNREFUSED"  # other connects fail with this errno ("violation": end the
//!                                  # run, the default)
//!
//! [namespaces]
//! enabled = true                 # false: no namespaces (no mounts then)
//! network = "private"            # "private" (own empty namespace), "shared", "host"
//! hostname = "sandbox"
//! allow_no_private_proc = false
//!
//! [view]
//! root_writable = false
//! write_exec = false             # writable mounts may hold executables
//! dev_shm = 67108864             # a private /dev/shm of this many bytes (absent: none)
//! dev_pts = false                # a private /dev/pts
//!
//! [[mount]]                      # "bind" (source, writable, optional), "tmpfs" (size),
//! path = "/usr"                  # "hidden" (dir), "libraries" (source: a binary whose
//! type = "bind"                  # loader and libraries are bound read-only)
//! source = "/usr"
//!
//! [[rule]]                       # a rule with argument conditions, in order
//! syscall = "socket"             # a name or a number
//! action = "allow"               # "allow", "trace", "violation" or "errno:NAME"
//! args = [{ index = 0, width = 32, cmp = "eq", value = 1 }]
//!
//! [[fallback]]                   # a group's overridable answer (see PolicyBuilder's groups)
//! syscall = "readlink"
//! action = "errno:ENOENT"
//!
//! [limits]                       # not part of the Policy: returned for the Executor
//! walltime = 120                 # seconds (a float is fine) or "unlimited"
//! address_space = "unlimited"    # and cpu_seconds, file_size, open_files, processes, core
//! memory = 268435456             # cgroup limits: memory (bytes), pids, cpus (cores)
//! ```
//!
//! `cmp` is one of `eq`, `ne`, `lt`, `le`, `gt`, `ge` or `masked_eq` (with `mask`); `width` is 32
//! (an `int` argument; the default) or 64. Unknown keys are errors, and every error names the
//! file, line and column and the key. A file is applied whole or not at all. Absent keys leave
//! the builder's setting as it was.
//!
//! Here: the API and error places; `read.rs` the syscall rules' syntax; `view.rs` namespaces,
//! mounts and limits; `write.rs` the dump.

mod read;
#[cfg(test)]
mod tests;
mod view;
mod write;

pub(crate) use write::{cmp_parts, rule_toml, toml_str};

use super::PolicyBuilder;
use crate::error::{Error, Result};
use crate::limits::Limits;
use serde::Deserialize;

/// The only version this library reads and writes.
pub const VERSION: u32 = 1;

/// What a loaded file holds beyond the builder's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The `[limits]` table, applied over [`Limits::default`]; `None` when the file has none.
    /// Limits belong to the [`Executor`](crate::Executor), not the policy: apply them there.
    pub limits: Option<Limits>,
    /// Whether the file describes the sandbox's view (`[namespaces]`, `[view]` or `[[mount]]`).
    pub view: bool,
}

/// Where a file's problem is, for messages.
pub(super) struct Origin<'a> {
    pub(super) name: &'a str,
    pub(super) text: &'a str,
}

impl Origin<'_> {
    /// `name:line:column: what`, for the byte offset `at`.
    pub(super) fn error(&self, at: usize, what: impl std::fmt::Display) -> Error {
        // `at` comes from the parser's spans; clamp it to a char boundary all the same.
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::InvalidPolicy(format!("{}:{line}:{column}: {what}", self.name))
    }

    /// The key whose value starts at byte `at` (`key = ` just before it on its line), for the
    /// parser's type errors, which name the value but not the key.
    fn key_before(&self, at: usize) -> Option<&str> {
        let line = self.text.get(..at)?.rsplit('\n').next()?;
        let before = line.trim_end().strip_suffix('=')?.trim_end();
        // The key is the run of [A-Za-z0-9_-] before ` =`; the character before it may be any
        // (multi-byte) character, so step past it by its own length.
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        before.get(start..).filter(|k| !k.is_empty())
    }

    /// `name:line:column: key: what`.
    pub(super) fn key(&self, at: usize, key: &str, what: impl std::fmt::Display) -> Error {
        self.error(at, format!("{key}: {what}"))
    }
}

impl PolicyBuilder {
    /// A builder holding what a policy file says (see the `policy::file` module for the format);
    /// `origin` names the file in errors. A `[limits]` table is checked and left out: use
    /// [`load_file`](Self::load_file) to get it.
    pub fn from_toml(text: &str, origin: &str) -> Result<PolicyBuilder> {
        let mut b = PolicyBuilder::new();
        b.load_file(text, origin)?;
        Ok(b)
    }

    /// Applies a policy file to this builder: its settings replace the builder's where the file
    /// has the key, its mounts and rules are added after the builder's own, in the file's
    /// order. Bad input is an [`Error::InvalidPolicy`] naming `origin:line:column`, the key and
    /// the problem (an unknown key or syscall, a bad action, errno, condition, mount or limit, a
    /// mandatory-denied syscall allowed), and leaves the builder as it was. Returns the file's
    /// `[limits]`, for the executor.
    pub fn load_file(&mut self, text: &str, origin: &str) -> Result<Loaded> {
        let at = Origin { name: origin, text };
        let file: read::File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let message = e.message().trim_end();
            match at.key_before(offset).filter(|k| !message.contains(k)) {
                Some(key) => at.key(offset, key, message),
                None => at.error(offset, message),
            }
        })?;
        // Applied to a copy, kept only if everything is accepted.
        let mut trial = self.clone();
        let loaded = file.apply(&mut trial, &at)?;
        *self = trial;
        Ok(loaded)
    }

    /// [`load_file`](Self::load_file) without the limits (checked, not returned): the rules
    /// and settings of a policy file, learn mode's files included.
    pub fn load_rules(&mut self, text: &str, origin: &str) -> Result<&mut Self> {
        self.load_file(text, origin)?;
        Ok(self)
    }

    /// The whole builder as a policy file: settings, namespaces, view, network allow-list, rules
    /// in order (groups as the rules and fallbacks they added). Loading it into a fresh builder
    /// gives the same filter and settings.
    pub fn to_toml(&self) -> String {
        write::dump(self, None)
    }

    /// [`to_toml`](Self::to_toml) with a `[limits]` table holding `limits`.
    pub fn to_toml_with_limits(&self, limits: &Limits) -> String {
        write::dump(self, Some(limits))
    }
}

/// A 64-bit unsigned value: a TOML integer (0..=i64::MAX) or a string (`"0x..."` or decimal) for
/// the values TOML integers cannot hold.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Number {
    Int(i64),
    Text(String),
}

impl Number {
    pub(super) fn get(&self) -> std::result::Result<u64, String> {
        match self {
            Number::Int(n) => u64::try_from(*n).map_err(|_| format!("{n} is negative")),
            Number::Text(t) => {
                let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => t.parse::<u64>(),
                };
                parsed.map_err(|_| format!("{t:?} is not a 64-bit number (decimal or 0x...)"))
            }
        }
    }
}

/// The builder's kept error, if a call just recorded one (the builder keeps the first).
pub(crate) fn take_error(b: &mut PolicyBuilder) -> std::result::Result<(), String> {
    match b.error.take() {
        None => Ok(()),
        Some(Error::InvalidArgument(m) | Error::InvalidPolicy(m)) => Err(m),
        Some(e) => Err(e.to_string()),
    }
}
