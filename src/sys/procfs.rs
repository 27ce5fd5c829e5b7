//! `/proc/PID/stat` fields.

/// The fields of process (or thread) `pid`'s `/proc/PID/stat` that follow its command name (in
/// parentheses, and free to hold spaces and parentheses itself), from the state (field 3) on;
/// `None` when the task is gone or the file unreadable.
pub(crate) fn stat_after_comm(pid: impl std::fmt::Display) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}
