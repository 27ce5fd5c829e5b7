//! Policy files: a policy's syscall rules as TOML, written by learn mode
//! ([`crate::learn::Learned::to_toml`]) and loaded by [`PolicyBuilder::load_rules`]
//! (`sbx-run --policy FILE`).
//!
//! ```toml
//! version = 1
//! default = "violation"          # what no rule decides: "violation" (the default), "allow",
//!                                # "trace" or "errno:EPERM" (a name or a number)
//! groups = ["static_startup"]   # libsbx's groups, by their method's name without `allow_`
//! allow = ["read", "write"]      # unconditional allows
//! connect = ["127.0.0.1:8080", "unix:/run/x.sock"]  # a network allow-list (`allow_connect`)
//! refuse_connect = "ECONNREFUSED"  # other connects fail with this errno ("violation": end the
//!                                  # run, the default)
//!
//! [[rule]]                       # a rule with argument conditions, in order
//! syscall = "socket"
//! action = "allow"               # "allow", "trace", "violation" or "errno:NAME"
//! args = [{ index = 0, width = 32, cmp = "eq", value = 1 }]
//! ```
//!
//! `cmp` is one of `eq`, `ne`, `lt`, `le`, `gt`, `ge` or `masked_eq` (with `mask`); `width` is 32
//! (an `int` argument; the default) or 64. Unknown keys are errors, and every error names the
//! file, line and column. A file is applied whole or not at all.

use super::rule::{check_errno, Action, Arg, Cmp, DefaultAction, Width};
use super::PolicyBuilder;
use crate::error::{Error, Result};
use serde::Deserialize;
use toml::Spanned;

/// The only version this library reads and writes.
pub const VERSION: u32 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: Spanned<u32>,
    #[serde(default)]
    default: Option<Spanned<String>>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    rule: Vec<FileRule>,
    #[serde(default)]
    connect: Vec<Spanned<String>>,
    #[serde(default)]
    refuse_connect: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    syscall: Spanned<String>,
    action: Spanned<String>,
    #[serde(default)]
    args: Vec<Spanned<FileArg>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileArg {
    index: u8,
    #[serde(default = "default_width")]
    width: u8,
    cmp: String,
    value: Number,
    #[serde(default)]
    mask: Option<Number>,
}

/// A 64-bit unsigned value: a TOML integer (0..=i64::MAX) or a string (`"0x..."` or decimal) for
/// the values TOML integers cannot hold.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Text(String),
}

impl Number {
    fn get(&self) -> std::result::Result<u64, String> {
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

fn default_width() -> u8 {
    32
}

/// Where a file's problem is, for messages.
struct Origin<'a> {
    name: &'a str,
    text: &'a str,
}

impl Origin<'_> {
    /// `name:line:column: what`, for the byte offset `at`.
    fn error(&self, at: usize, what: impl std::fmt::Display) -> Error {
        let before = &self.text[..at.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::InvalidPolicy(format!("{}:{line}:{column}: {what}", self.name))
    }
}

impl PolicyBuilder {
    /// Adds the rules of a policy file (see the `policy::file` module for the format) in the
    /// order it lists them, after the builder's own; `origin` names the file in errors. Bad
    /// input is an [`Error::InvalidPolicy`] naming `origin:line:column` and the problem (an
    /// unknown key or syscall, a bad action, errno or condition, a mandatory-denied syscall
    /// allowed), and leaves the builder as it was.
    pub fn load_rules(&mut self, text: &str, origin: &str) -> Result<&mut Self> {
        let at = Origin { name: origin, text };
        let file: File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at.error(offset, e.message())
        })?;
        if *file.version.get_ref() != VERSION {
            return Err(at.error(
                file.version.span().start,
                format!(
                    "version {} is not supported (this library reads version {VERSION})",
                    file.version.get_ref()
                ),
            ));
        }
        // Applied to a copy, kept only if every rule is accepted.
        let mut trial = self.clone();
        if let Some(d) = &file.default {
            let action = parse_default(d.get_ref()).map_err(|e| at.error(d.span().start, e))?;
            trial.default_action(action);
            take_error(&mut trial).map_err(|e| at.error(d.span().start, e))?;
        }
        for g in &file.groups {
            let Some(&(_, add)) = super::groups::BY_NAME
                .iter()
                .find(|(n, _)| n == g.get_ref())
            else {
                return Err(at.error(
                    g.span().start,
                    format!("unknown group {:?} (the names are libsbx's allow_* group methods without allow_, such as \"static_startup\")", g.get_ref()),
                ));
            };
            add(&mut trial);
            take_error(&mut trial).map_err(|e| at.error(g.span().start, e))?;
        }
        for name in &file.allow {
            trial.allow(name.get_ref().as_str());
            take_error(&mut trial).map_err(|e| at.error(name.span().start, e))?;
        }
        for r in &file.rule {
            let action =
                parse_action(r.action.get_ref()).map_err(|e| at.error(r.action.span().start, e))?;
            let mut args = Vec::with_capacity(r.args.len());
            for a in &r.args {
                args.push(parse_arg(a.get_ref()).map_err(|e| at.error(a.span().start, e))?);
            }
            trial.rule(r.syscall.get_ref().as_str(), &args, action);
            take_error(&mut trial).map_err(|e| at.error(r.syscall.span().start, e))?;
        }
        for spec in &file.connect {
            trial.allow_connect(spec.get_ref());
            take_error(&mut trial).map_err(|e| at.error(spec.span().start, e))?;
        }
        if let Some(r) = &file.refuse_connect {
            let action = match r.get_ref().as_str() {
                "violation" => super::net::OnDenied::Violation,
                e => super::net::OnDenied::Errno(
                    parse_errno(e).map_err(|e| at.error(r.span().start, e))?,
                ),
            };
            trial.on_denied_connect(action);
            take_error(&mut trial).map_err(|e| at.error(r.span().start, e))?;
        }
        *self = trial;
        Ok(self)
    }
}

/// The builder's kept error, if a call just recorded one (the builder keeps the first).
pub(super) fn take_error(b: &mut PolicyBuilder) -> std::result::Result<(), String> {
    match b.error.take() {
        None => Ok(()),
        Some(Error::InvalidArgument(m) | Error::InvalidPolicy(m)) => Err(m),
        Some(e) => Err(e.to_string()),
    }
}

fn parse_default(s: &str) -> std::result::Result<DefaultAction, String> {
    // The same words as an action's, for what no rule decides.
    Ok(match parse_action(s)? {
        Action::Violation => DefaultAction::Violation,
        Action::Allow => DefaultAction::AllowAll,
        Action::Trace => DefaultAction::TraceAll,
        Action::Errno(e) => DefaultAction::Errno(e),
    })
}

fn parse_action(s: &str) -> std::result::Result<Action, String> {
    match s {
        "allow" => Ok(Action::Allow),
        "trace" => Ok(Action::Trace),
        "violation" => Ok(Action::Violation),
        _ => match s.strip_prefix("errno:") {
            Some(e) => Ok(Action::Errno(parse_errno(e)?)),
            None => Err(format!(
                "{s:?}: expected \"allow\", \"trace\", \"violation\" or \"errno:NAME\""
            )),
        },
    }
}

/// `EPERM`, `eperm` or a number in 1..=4095.
fn parse_errno(s: &str) -> std::result::Result<u16, String> {
    let n = match s.parse::<u16>() {
        Ok(n) => n,
        Err(_) => super::errno_from_name(s)
            .ok_or_else(|| format!("unknown errno {s:?} (a number or a name such as EPERM)"))?,
    };
    check_errno(n).map_err(|e| e.to_string())?;
    Ok(n)
}

fn parse_arg(a: &FileArg) -> std::result::Result<Arg, String> {
    let width = match a.width {
        32 => Width::W32,
        64 => Width::W64,
        w => return Err(format!("width {w}: expected 32 or 64")),
    };
    let mask = a.mask.as_ref().map(Number::get).transpose()?;
    let cmp = match (a.cmp.as_str(), mask) {
        ("masked_eq", Some(m)) => Cmp::MaskedEq(m),
        ("masked_eq", None) => return Err("cmp \"masked_eq\" needs a mask".into()),
        (_, Some(_)) => {
            return Err(format!(
                "mask is only for cmp \"masked_eq\", not {:?}",
                a.cmp
            ))
        }
        ("eq", None) => Cmp::Eq,
        ("ne", None) => Cmp::Ne,
        ("lt", None) => Cmp::Lt,
        ("le", None) => Cmp::Le,
        ("gt", None) => Cmp::Gt,
        ("ge", None) => Cmp::Ge,
        (c, None) => {
            return Err(format!(
                "cmp {c:?}: expected eq, ne, lt, le, gt, ge or masked_eq"
            ))
        }
    };
    let arg = Arg::new(a.index, width, cmp, a.value.get()?);
    arg.validate().map_err(|e| e.to_string())?;
    Ok(arg)
}

/// One rule in the file's syntax (the inverse of `parse_arg` and `parse_action`), for writers.
pub(crate) fn rule_toml(syscall: &str, args: &[Arg], action: Action) -> String {
    use std::fmt::Write as _;
    let action = match action {
        Action::Allow => "allow".to_string(),
        Action::Trace => "trace".to_string(),
        Action::Violation => "violation".to_string(),
        Action::Errno(e) => format!("errno:{e}"),
    };
    let mut out = format!(
        "\n[[rule]]\nsyscall = {}\naction = \"{action}\"\n",
        toml_str(syscall)
    );
    if !args.is_empty() {
        out.push_str("args = [");
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let width = if a.width == Width::W32 { 32 } else { 64 };
            let (cmp, mask) = match a.cmp {
                Cmp::Eq => ("eq", None),
                Cmp::Ne => ("ne", None),
                Cmp::Lt => ("lt", None),
                Cmp::Le => ("le", None),
                Cmp::Gt => ("gt", None),
                Cmp::Ge => ("ge", None),
                Cmp::MaskedEq(m) => ("masked_eq", Some(m)),
            };
            let _ = write!(
                out,
                "{{ index = {}, width = {width}, cmp = \"{cmp}\", value = {}",
                a.index,
                number_toml(a.value)
            );
            if let Some(m) = mask {
                let _ = write!(out, ", mask = {}", number_toml(m));
            }
            out.push_str(" }");
        }
        out.push_str("]\n");
    }
    out
}

/// A value as a TOML integer, or a hex string when TOML integers cannot hold it.
fn number_toml(v: u64) -> String {
    if i64::try_from(v).is_ok() {
        v.to_string()
    } else {
        format!("\"{v:#x}\"")
    }
}

/// A TOML basic string.
pub(crate) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
