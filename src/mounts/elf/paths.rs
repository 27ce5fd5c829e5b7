//! Path helpers: absolute and lexically normalized paths, the host side of a path, `$ORIGIN` and
//! the other dynamic string tokens.

use super::{invalid, OsStrExt, OsString, OsStringExt, Path, PathBuf, Result};

pub(super) fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| {
        invalid(format!(
            "{}: cannot resolve relative path: {e}",
            p.display()
        ))
    })?;
    Ok(cwd.join(p))
}

/// Lexical normalization of an absolute path: drops `.` and empty components, applies `..`.
pub(super) fn normalize(p: &Path) -> PathBuf {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in p.as_os_str().as_bytes().split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = Vec::new();
    for c in parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    PathBuf::from(OsString::from_vec(out))
}

/// The host path to mount: the same as `inside` unless the path went through `..`, which the
/// host kernel resolves physically (through symlinks), so the directory is canonicalized there.
pub(super) fn host_path(p: &Path) -> PathBuf {
    let has_dotdot = p
        .as_os_str()
        .as_bytes()
        .split(|&b| b == b'/')
        .any(|c| c == b"..");
    if has_dotdot {
        if let (Some(dir), Some(file)) = (p.parent(), p.file_name()) {
            if let Ok(dir) = std::fs::canonicalize(dir) {
                return dir.join(file);
            }
        }
    }
    normalize(p)
}

/// `$ORIGIN` of an object: the directory of the path it was opened by.
pub(super) fn origin_of(p: &Path) -> Vec<u8> {
    p.parent()
        .unwrap_or(Path::new("/"))
        .as_os_str()
        .as_bytes()
        .to_vec()
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Dst {
    Origin,
    Lib,
    Platform,
}

/// Recognizes a dynamic string token after a `$`: `NAME` not followed by an identifier
/// character, or `{NAME}` (glibc's `is_dst`). Returns the token and the bytes it spans.
pub(super) fn match_dst(rest: &[u8]) -> Option<(Dst, usize)> {
    for (tok, name) in [
        (Dst::Origin, &b"ORIGIN"[..]),
        (Dst::Lib, b"LIB"),
        (Dst::Platform, b"PLATFORM"),
    ] {
        if let Some(r) = rest.strip_prefix(b"{") {
            if r.starts_with(name) && r.get(name.len()) == Some(&b'}') {
                return Some((tok, name.len() + 2));
            }
        } else if rest.starts_with(name)
            && !rest
                .get(name.len())
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return Some((tok, name.len()));
        }
    }
    None
}
