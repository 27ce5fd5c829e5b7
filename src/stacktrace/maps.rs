//! `/proc/PID/maps`: which file (or `[vdso]`) each address of the sandboxee lies in, and where.

use super::limits;
use std::io::{BufRead, BufReader};

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mapping {
    pub start: u64,
    pub end: u64,
    /// The `x` permission.
    pub exec: bool,
    /// File offset of `start`.
    pub offset: u64,
    /// Device (major, minor) and inode: the file the kernel mapped, to check what we open.
    pub dev: (u32, u32),
    pub inode: u64,
    /// The path (or `[vdso]`, `[stack]`, ...); empty for anonymous memory.
    pub path: String,
}

/// The mappings of task `tid`, in address order (as the kernel lists them).
pub(super) fn read(tid: libc::pid_t) -> Result<Vec<Mapping>, String> {
    let f = std::fs::File::open(format!("/proc/{tid}/maps"))
        .map_err(|e| format!("cannot open /proc/{tid}/maps: {e}"))?;
    let mut out = Vec::new();
    // Bounded lines: a path is at most PATH_MAX, and the kernel adds " (deleted)".
    for line in BufReader::new(f).split(b'\n').take(limits::MAX_MAPS) {
        let line = line.map_err(|e| format!("cannot read /proc/{tid}/maps: {e}"))?;
        if let Some(m) = parse_line(&line) {
            out.push(m);
        }
    }
    Ok(out)
}

/// `start-end perms offset major:minor inode   path`; `None` for a line not in that shape.
pub(super) fn parse_line(line: &[u8]) -> Option<Mapping> {
    let text = String::from_utf8_lossy(line);
    let mut fields = text.splitn(6, ' ');
    let range = fields.next()?;
    let perms = fields.next()?;
    let offset = fields.next()?;
    let dev = fields.next()?;
    let inode = fields.next()?;
    let path = fields.next().unwrap_or("").trim_start();
    let (start, end) = range.split_once('-')?;
    let (major, minor) = dev.split_once(':')?;
    let m = Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        exec: perms.as_bytes().get(2) == Some(&b'x'),
        offset: u64::from_str_radix(offset, 16).ok()?,
        dev: (
            u32::from_str_radix(major, 16).ok()?,
            u32::from_str_radix(minor, 16).ok()?,
        ),
        inode: inode.parse().ok()?,
        path: path.to_string(),
    };
    (m.start < m.end).then_some(m)
}

/// The mapping that holds `addr`.
pub(super) fn find(maps: &[Mapping], addr: u64) -> Option<&Mapping> {
    let i = maps.partition_point(|m| m.end <= addr);
    maps.get(i).filter(|m| m.start <= addr)
}
