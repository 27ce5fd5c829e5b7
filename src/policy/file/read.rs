//! A policy file's syntax (the serde structures) and its syscall rules: default, groups, allow,
//! `[[rule]]`, `[[fallback]]`, the network allow-list and the top-level settings.

use super::view::{FileLimits, FileMount, FileNamespaces, FileView};
use super::{take_error, Loaded, Number, Origin, VERSION};
use crate::error::Result;
use crate::policy::rule::{check_errno, Action, Arg, Cmp, DefaultAction, Sys, Width};
use crate::policy::PolicyBuilder;
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    version: Spanned<u32>,
    #[serde(default)]
    default: Option<Spanned<String>>,
    #[serde(default)]
    monitor: Option<Spanned<String>>,
    #[serde(default)]
    audit: Option<bool>,
    #[serde(default)]
    allow_speculation: Option<bool>,
    #[serde(default)]
    stack_traces: Option<bool>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    rule: Vec<FileRule>,
    #[serde(default)]
    fallback: Vec<FileRule>,
    #[serde(default)]
    connect: Vec<Spanned<String>>,
    #[serde(default)]
    refuse_connect: Option<Spanned<String>>,
    #[serde(default)]
    namespaces: Option<FileNamespaces>,
    #[serde(default)]
    view: Option<FileView>,
    #[serde(default)]
    mount: Vec<Spanned<FileMount>>,
    #[serde(default)]
    limits: Option<Spanned<FileLimits>>,
}

impl File {
    /// Applies the file to `b` (a copy the caller keeps only on success), in the order: settings,
    /// namespaces, view and mounts, default, groups, allows, rules, fallbacks, network.
    pub(super) fn apply(&self, b: &mut PolicyBuilder, at: &Origin) -> Result<Loaded> {
        if *self.version.get_ref() != VERSION {
            return Err(at.key(
                self.version.span().start,
                "version",
                format!(
                    "version {} is not supported (this library reads version {VERSION})",
                    self.version.get_ref()
                ),
            ));
        }
        if let Some(m) = &self.monitor {
            let monitor = crate::policy::Monitor::from_name(m.get_ref()).ok_or_else(|| {
                at.key(
                    m.span().start,
                    "monitor",
                    format!(
                        "{:?}: expected \"auto\", \"unotify\" or \"ptrace\"",
                        m.get_ref()
                    ),
                )
            })?;
            b.monitor(monitor);
        }
        if let Some(on) = self.audit {
            b.audit(on);
        }
        if let Some(on) = self.allow_speculation {
            b.allow_speculation = on;
        }
        if let Some(on) = self.stack_traces {
            b.stack_traces(on);
        }
        if let Some(ns) = &self.namespaces {
            ns.apply(b, at)?;
        }
        if let Some(v) = &self.view {
            v.apply(b, at)?;
        }
        for m in &self.mount {
            m.get_ref().apply(b, at, m.span().start)?;
        }
        self.apply_rules(b, at)?;
        let limits = match &self.limits {
            Some(l) => Some(l.get_ref().to_limits(at, l.span().start)?),
            None => None,
        };
        Ok(Loaded {
            limits,
            view: self.namespaces.is_some() || self.view.is_some() || !self.mount.is_empty(),
        })
    }

    fn apply_rules(&self, b: &mut PolicyBuilder, at: &Origin) -> Result<()> {
        if let Some(d) = &self.default {
            let action =
                parse_default(d.get_ref()).map_err(|e| at.key(d.span().start, "default", e))?;
            b.default_action(action);
            take_error(b).map_err(|e| at.key(d.span().start, "default", e))?;
        }
        for g in &self.groups {
            let Some(&(_, add)) = crate::policy::groups::BY_NAME
                .iter()
                .find(|(n, _)| n == g.get_ref())
            else {
                return Err(at.key(
                    g.span().start,
                    "groups",
                    format!("unknown group {:?} (the names are libsbx's allow_* group methods without allow_, such as \"static_startup\")", g.get_ref()),
                ));
            };
            add(b);
            take_error(b).map_err(|e| at.key(g.span().start, "groups", e))?;
        }
        for name in &self.allow {
            b.allow(name.get_ref().as_str());
            take_error(b).map_err(|e| at.key(name.span().start, "allow", e))?;
        }
        for r in &self.rule {
            let (sys, action, args) = r.parse(at, "rule")?;
            b.rule(sys, &args, action);
            take_error(b).map_err(|e| at.key(r.syscall.span().start, "rule", e))?;
        }
        for r in &self.fallback {
            let (sys, action, args) = r.parse(at, "fallback")?;
            if !args.is_empty() {
                return Err(at.key(r.syscall.span().start, "fallback", "a fallback has no args"));
            }
            b.fallback(sys, action)
                .map_err(|e| at.key(r.syscall.span().start, "fallback", e))?;
        }
        for spec in &self.connect {
            b.allow_connect(spec.get_ref());
            take_error(b).map_err(|e| at.key(spec.span().start, "connect", e))?;
        }
        if let Some(r) = &self.refuse_connect {
            let action = match r.get_ref().as_str() {
                "violation" => crate::policy::net::OnDenied::Violation,
                e => crate::policy::net::OnDenied::Errno(
                    parse_errno(e).map_err(|e| at.key(r.span().start, "refuse_connect", e))?,
                ),
            };
            b.on_denied_connect(action);
            take_error(b).map_err(|e| at.key(r.span().start, "refuse_connect", e))?;
        }
        Ok(())
    }
}

/// A syscall: its name or its native number.
#[derive(Deserialize)]
#[serde(untagged)]
enum SysName {
    Nr(u32),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRule {
    syscall: Spanned<SysName>,
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

fn default_width() -> u8 {
    32
}

impl FileRule {
    /// The rule's syscall, action and conditions; errors name `key` (`rule` or `fallback`).
    fn parse(&self, at: &Origin, key: &str) -> Result<(Sys, Action, Vec<Arg>)> {
        let action = parse_action(self.action.get_ref())
            .map_err(|e| at.key(self.action.span().start, key, e))?;
        let mut args = Vec::with_capacity(self.args.len());
        for a in &self.args {
            args.push(parse_arg(a.get_ref()).map_err(|e| at.key(a.span().start, key, e))?);
        }
        let sys = match self.syscall.get_ref() {
            SysName::Nr(n) => Sys::Nr(*n),
            SysName::Name(n) => Sys::Name(n.clone()),
        };
        Ok((sys, action, args))
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
pub(super) fn parse_errno(s: &str) -> std::result::Result<u16, String> {
    let n = match s.parse::<u16>() {
        Ok(n) => n,
        Err(_) => crate::policy::errno_from_name(s)
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
