//! Reading an OCI seccomp profile's JSON into the [`Profile`] model: the value helpers that
//! name the JSON path of every problem, actions and errnos, filters, conditions, entries,
//! flags and architectures.

use serde_json::{Map, Value};

use super::{bad, errno_name, kernel_version, Entry, Filter, Profile, Verdict, NATIVE};
use crate::policy::rule::{check_errno, Action, Arg, Cmp, Width, MAX_ERRNO};

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The object at `path`, whose keys must all be in `keys`.
fn object<'a>(
    v: &'a Value,
    path: &str,
    keys: &[&str],
) -> std::result::Result<&'a Map<String, Value>, String> {
    let Value::Object(m) = v else {
        let at = if path.is_empty() { "the profile" } else { path };
        return Err(bad(at, format!("expected an object, found {}", kind(v))));
    };
    if let Some(k) = m.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(bad(
            &join(path, k),
            format!("unknown key (expected one of {})", keys.join(", ")),
        ));
    }
    Ok(m)
}

/// A key's value; `None` when absent or `null`.
fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

fn string<'a>(v: &'a Value, path: &str) -> std::result::Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| bad(path, format!("expected a string, found {}", kind(v))))
}

fn array<'a>(v: &'a Value, path: &str) -> std::result::Result<&'a [Value], String> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| bad(path, format!("expected an array, found {}", kind(v))))
}

fn strings(v: &Value, path: &str) -> std::result::Result<Vec<String>, String> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{path}[{i}]")).map(str::to_string))
        .collect()
}

fn uint(v: &Value, path: &str) -> std::result::Result<u64, String> {
    v.as_u64().ok_or_else(|| {
        bad(
            path,
            format!("expected an unsigned 64-bit integer, found {v}"),
        )
    })
}

/// An errno of the profile (absent: EPERM).
fn errno(v: Option<&Value>, path: &str) -> std::result::Result<u16, String> {
    let Some(v) = v else {
        return Ok(crate::sys::errno16(libc::EPERM));
    };
    let n = uint(v, path)?;
    match u16::try_from(n) {
        Ok(e) if check_errno(e).is_ok() => Ok(e),
        _ => Err(bad(
            path,
            format!("errno {n} is outside 1..={MAX_ERRNO} (0 would fake success, which libsbx does not do)"),
        )),
    }
}

/// `action` (at `path`) with its errno (`errno_key` of `m`).
fn verdict(
    m: &Map<String, Value>,
    path: &str,
    action_key: &str,
    errno_key: &str,
) -> std::result::Result<Verdict, String> {
    let action_path = join(path, action_key);
    let errno_path = join(path, errno_key);
    let said = string(
        get(m, action_key).ok_or_else(|| bad(&action_path, "missing"))?,
        &action_path,
    )?;
    let errno_ret = get(m, errno_key);
    let no_errno = || match errno_ret {
        Some(_) => Err(bad(
            &errno_path,
            format!("{said} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"),
        )),
        None => Ok(()),
    };
    let action = match said {
        "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" => no_errno().map(|()| Action::Allow)?,
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_KILL_PROCESS" | "SCMP_ACT_TRAP" => {
            no_errno().map(|()| Action::Violation)?
        }
        "SCMP_ACT_NOTIFY" => no_errno().map(|()| Action::Trace)?,
        "SCMP_ACT_TRACE" => {
            // The tracer's message: checked as a number, not used.
            if let Some(v) = errno_ret {
                uint(v, &errno_path)?;
            }
            Action::Trace
        }
        "SCMP_ACT_ERRNO" => Action::Errno(errno(errno_ret, &errno_path)?),
        other => {
            return Err(bad(
                &action_path,
                format!("unknown action {other:?} (expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG or SCMP_ACT_NOTIFY)"),
            ))
        }
    };
    let said = match action {
        Action::Errno(e) => format!("{said} ({})", errno_name(e)),
        _ => said.to_string(),
    };
    Ok(Verdict { action, said })
}

fn arch_name(v: &Value, path: &str) -> std::result::Result<String, String> {
    let a = string(v, path)?;
    if a.starts_with("SCMP_ARCH_") {
        Ok(a.to_string())
    } else {
        Err(bad(
            path,
            format!("{a:?} is not an architecture (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, ...)"),
        ))
    }
}

fn filter(value: &Value, path: &str) -> std::result::Result<Filter, String> {
    let map = object(value, path, &["caps", "arches", "minKernel"])?;
    let mut out = Filter::default();
    if let Some(caps) = get(map, "caps") {
        let caps_path = join(path, "caps");
        out.caps = strings(caps, &caps_path)?;
        if let Some((i, cap)) = out
            .caps
            .iter()
            .enumerate()
            .find(|(_, cap)| !cap.to_ascii_uppercase().starts_with("CAP_"))
        {
            return Err(bad(
                &format!("{caps_path}[{i}]"),
                format!("{cap:?} is not a capability (CAP_...)"),
            ));
        }
    }
    if let Some(arches) = get(map, "arches") {
        out.arches = strings(arches, &join(path, "arches"))?;
    }
    if let Some(min) = get(map, "minKernel") {
        let min_path = join(path, "minKernel");
        let text = string(min, &min_path)?;
        let version = kernel_version(text)
            .filter(|_| text.split('.').count() == 2)
            .ok_or_else(|| {
                bad(
                    &min_path,
                    format!("{text:?} is not a kernel version (MAJOR.MINOR)"),
                )
            })?;
        out.min_kernel = Some(version);
    }
    Ok(out)
}

/// One `args` element.
fn condition(v: &Value, path: &str) -> std::result::Result<Arg, String> {
    let m = object(v, path, &["index", "value", "valueTwo", "op"])?;
    let field = |key: &str| get(m, key).ok_or_else(|| bad(&join(path, key), "missing"));
    let index_path = join(path, "index");
    let index = uint(field("index")?, &index_path)?;
    let index = u8::try_from(index)
        .ok()
        .filter(|i| *i <= 5)
        .ok_or_else(|| {
            bad(
                &index_path,
                format!("argument index {index} is outside 0..=5"),
            )
        })?;
    let value = uint(field("value")?, &join(path, "value"))?;
    let two_path = join(path, "valueTwo");
    let two = get(m, "valueTwo").map_or(Ok(0), |v| uint(v, &two_path))?;
    let op_path = join(path, "op");
    let op = string(field("op")?, &op_path)?;
    let (cmp, compared) = match op {
        "SCMP_CMP_EQ" => (Cmp::Eq, value),
        "SCMP_CMP_NE" => (Cmp::Ne, value),
        "SCMP_CMP_LT" => (Cmp::Lt, value),
        "SCMP_CMP_LE" => (Cmp::Le, value),
        "SCMP_CMP_GT" => (Cmp::Gt, value),
        "SCMP_CMP_GE" => (Cmp::Ge, value),
        // libseccomp: (arg & datum_a) == datum_b.
        "SCMP_CMP_MASKED_EQ" => (Cmp::MaskedEq(value), two),
        other => {
            return Err(bad(
                &op_path,
                format!("unknown op {other:?} (expected SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE or SCMP_CMP_MASKED_EQ)"),
            ))
        }
    };
    if two != 0 && !matches!(cmp, Cmp::MaskedEq(_)) {
        return Err(bad(
            &two_path,
            format!("valueTwo is only for SCMP_CMP_MASKED_EQ, not {op}"),
        ));
    }
    if two & !value != 0 && matches!(cmp, Cmp::MaskedEq(_)) {
        return Err(bad(
            &two_path,
            format!(
                "{two:#x} has bits outside the mask (value) {value:#x}: the rule can never match"
            ),
        ));
    }
    // Index and masked value are checked above; a 64-bit comparison takes any value.
    Ok(Arg::new(index, Width::W64, cmp, compared))
}

fn entry(v: &Value, path: String) -> std::result::Result<Entry, String> {
    let m = object(
        v,
        &path,
        &[
            "names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes",
        ],
    )?;
    let names = match (get(m, "names"), get(m, "name")) {
        (Some(_), Some(_)) => {
            return Err(bad(&path, "has both name and names (use names)"));
        }
        (Some(n), None) => strings(n, &join(&path, "names"))?,
        (None, Some(n)) => vec![string(n, &join(&path, "name"))?.to_string()],
        (None, None) => return Err(bad(&join(&path, "names"), "missing")),
    };
    if let Some(c) = get(m, "comment") {
        string(c, &join(&path, "comment"))?;
    }
    let verdict = verdict(m, &path, "action", "errnoRet")?;
    let mut args = Vec::new();
    if let Some(a) = get(m, "args") {
        let p = join(&path, "args");
        for (i, c) in array(a, &p)?.iter().enumerate() {
            args.push(condition(c, &format!("{p}[{i}]"))?);
        }
    }
    let includes = get(m, "includes").map_or(Ok(Filter::default()), |f| {
        filter(f, &join(&path, "includes"))
    })?;
    let excludes = get(m, "excludes").map_or(Ok(Filter::default()), |f| {
        filter(f, &join(&path, "excludes"))
    })?;
    Ok(Entry {
        path,
        names,
        verdict,
        args,
        includes,
        excludes,
    })
}

/// Flags of the runtime spec; the ones libsbx does not follow get an override line.
fn flag(v: &Value, path: &str) -> std::result::Result<Option<String>, String> {
    let f = string(v, path)?;
    match f {
        "SECCOMP_FILTER_FLAG_TSYNC" | "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => Ok(None),
        "SECCOMP_FILTER_FLAG_LOG" | "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => Ok(Some(f.to_string())),
        other => Err(bad(
            path,
            format!("unknown flag {other:?} (expected SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW or SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)"),
        )),
    }
}

/// The native sub-architectures an `architectures` list or the native `archMap` entry
/// admits, with their paths; every name is checked.
fn sub_architectures(
    profile: &Map<String, Value>,
) -> std::result::Result<Vec<(String, String)>, String> {
    let native_sub = |name: &String| NATIVE.2.contains(&name.as_str());
    let mut out = Vec::new();
    match (get(profile, "architectures"), get(profile, "archMap")) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "archMap",
                "architectures and archMap are both given (use one)",
            ))
        }
        (Some(list), None) => {
            for (i, value) in array(list, "architectures")?.iter().enumerate() {
                let path = format!("architectures[{i}]");
                let name = arch_name(value, &path)?;
                if native_sub(&name) {
                    out.push((path, name));
                }
            }
        }
        (None, Some(map)) => {
            for (i, value) in array(map, "archMap")?.iter().enumerate() {
                let path = format!("archMap[{i}]");
                let item = object(value, &path, &["architecture", "subArchitectures"])?;
                let arch_path = join(&path, "architecture");
                let arch = arch_name(
                    get(item, "architecture").ok_or_else(|| bad(&arch_path, "missing"))?,
                    &arch_path,
                )?;
                let mut subs = Vec::new();
                if let Some(list) = get(item, "subArchitectures") {
                    let list_path = join(&path, "subArchitectures");
                    for (j, sub) in array(list, &list_path)?.iter().enumerate() {
                        let sub_path = format!("{list_path}[{j}]");
                        let name = arch_name(sub, &sub_path)?;
                        subs.push((sub_path, name));
                    }
                }
                if arch == NATIVE.1 {
                    out.extend(subs.into_iter().filter(|(_, name)| native_sub(name)));
                }
            }
        }
        (None, None) => {}
    }
    Ok(out)
}

impl Profile {
    pub(super) fn parse(value: &Value) -> std::result::Result<Profile, String> {
        let m = object(
            value,
            "",
            &[
                "defaultAction",
                "defaultErrnoRet",
                "architectures",
                "archMap",
                "syscalls",
                "flags",
                "listenerPath",
                "listenerMetadata",
            ],
        )?;
        let default = verdict(m, "", "defaultAction", "defaultErrnoRet")?;
        if default.said == "SCMP_ACT_NOTIFY" {
            return Err(bad(
                "defaultAction",
                "SCMP_ACT_NOTIFY cannot be the default action (the runtimes refuse it too)",
            ));
        }
        let sub_arches = sub_architectures(m)?;
        let mut flags = Vec::new();
        if let Some(f) = get(m, "flags") {
            for (i, v) in array(f, "flags")?.iter().enumerate() {
                let p = format!("flags[{i}]");
                if let Some(name) = flag(v, &p)? {
                    flags.push((p, name));
                }
            }
        }
        let listener = match get(m, "listenerPath") {
            Some(p) => !string(p, "listenerPath")?.is_empty(),
            None => false,
        };
        if let Some(md) = get(m, "listenerMetadata") {
            string(md, "listenerMetadata")?;
        }
        let mut entries = Vec::new();
        if let Some(s) = get(m, "syscalls") {
            for (i, v) in array(s, "syscalls")?.iter().enumerate() {
                entries.push(entry(v, format!("syscalls[{i}]"))?);
            }
        }
        Ok(Profile {
            default,
            sub_arches,
            flags,
            listener,
            entries,
        })
    }
}
