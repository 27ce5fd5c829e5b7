//! What the child execs: the path (looked up in the sandboxee's PATH), argv and envp as C
//! arrays, and the working directory.

use crate::error::{Error, Result};
use crate::executor::Executor;
use std::ffi::CString;

/// `strings` as C strings and the NULL-terminated pointer array execve takes (pointing into
/// them: the strings must live as long as the array is used).
pub(super) fn c_array(strings: &[String]) -> Result<(Vec<CString>, Vec<*const libc::c_char>)> {
    let owned = Executor::c_strings(strings)?;
    let mut ptrs: Vec<*const libc::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    Ok((owned, ptrs))
}

/// The sandboxee's working directory: the executor's, else `/` inside a new root, else the
/// host's own.
pub(super) fn child_cwd(cwd: Option<std::path::PathBuf>, namespaced: bool) -> Result<CString> {
    let cwd = match cwd {
        Some(c) => c,
        // Inside a new root the host's cwd means nothing: start at its root.
        None if namespaced => std::path::PathBuf::from("/"),
        None => std::env::current_dir().map_err(|e| {
            Error::invalid(format!(
                "no cwd given and the host's cwd is unreadable: {e}"
            ))
        })?,
    };
    CString::new(cwd.into_os_string().into_encoded_bytes())
        .map_err(|_| Error::invalid("cwd contains a NUL byte"))
}

/// The sandboxee runs `path` as given when it contains a slash (relative ones against the host's
/// cwd, now); a bare name is looked up, like `execvp` inside the sandbox would, in the PATH of the
/// sandboxee's environment (default `/usr/local/bin:/usr/bin:/bin`), not the host's.
pub(super) fn resolve_path(path: &std::path::Path, envp: &[String]) -> Result<std::path::PathBuf> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.contains(&b'/') {
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        let cwd = std::env::current_dir()
            .map_err(|e| Error::invalid(format!("cannot resolve {}: {e}", path.display())))?;
        return Ok(cwd.join(path));
    }
    let search: std::ffi::OsString = envp
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/bin:/usr/bin:/bin")
        .into();
    for dir in std::env::split_paths(&search) {
        let candidate = dir.join(path);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    // Leave it as given: exec will fail with ENOENT and the result will name the path.
    Ok(path.to_path_buf())
}
