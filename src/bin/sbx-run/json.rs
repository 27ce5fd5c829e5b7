//! `--json`: the result as one line of JSON, written by hand (no serializer dependency).

use sbx::RunResult;
use std::fmt::Write as _;
use std::time::Duration;

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
pub(crate) fn result_json(r: &RunResult) -> String {
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
    o.push_str(",\"stack_trace\":");
    stack_json(&mut o, r.stack_trace.as_ref());
    o.push_str(",\"cgroup\":");
    match &r.cgroup {
        Some(u) => {
            o.push_str("{\"memory_peak\":");
            json_opt_num(&mut o, u.memory_peak);
            let _ = write!(
                o,
                ",\"oom_kills\":{},\"pids_refused\":{},\"cpu_usec\":",
                u.oom_kills, u.pids_refused
            );
            json_opt_num(&mut o, u.cpu_usec);
            o.push('}');
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

/// `{"thread":N,"frames":[...],"truncated":B,"error":S|null}` or `null`.
fn stack_json(o: &mut String, t: Option<&sbx::StackTrace>) {
    let Some(t) = t else {
        o.push_str("null");
        return;
    };
    let _ = write!(o, "{{\"thread\":{},\"frames\":[", t.thread);
    for (i, f) in t.frames.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(o, "{{\"pc\":{},\"module\":", f.pc);
        json_opt_str(o, f.module.as_deref());
        let _ = write!(o, ",\"module_offset\":{},\"symbol\":", f.module_offset);
        json_opt_str(o, f.symbol.as_deref());
        let _ = write!(o, ",\"symbol_offset\":{},\"file\":", f.symbol_offset);
        json_opt_str(o, f.file.as_deref());
        o.push_str(",\"line\":");
        json_opt_num(o, f.line);
        let _ = write!(o, ",\"repeats\":{},\"found_by\":", f.repeats);
        json_str(o, f.found_by);
        o.push('}');
    }
    let _ = write!(o, "],\"truncated\":{},\"error\":", t.truncated);
    json_opt_str(o, t.error.as_deref());
    o.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
