//! What the sandbox will see at a path: resolving it through the view's bind mounts and the
//! symlinks inside them, as the kernel would inside the new root.

use super::{MountKind, MountTree};
use std::path::{Component, Path, PathBuf};

impl MountTree {
    /// The host file the sandbox would see at `inside`, following symlinks the way the kernel
    /// would inside the new root (absolute targets restart at the sandbox's root). `None` when the
    /// path is not backed by a bind mount or does not resolve.
    pub fn resolve_in_view(&self, inside: &Path) -> Option<PathBuf> {
        let mut path = inside.to_path_buf();
        for _ in 0..40 {
            let (mount, kind) = self
                .mounts
                .iter()
                .filter(|(p, _)| path.starts_with(p))
                .max_by_key(|(p, _)| p.components().count())?;
            let MountKind::Bind { source, .. } = kind else {
                return None;
            };
            let host = source.join(path.strip_prefix(mount).ok()?);
            // Walk the host path one component at a time to find the first symlink.
            let mut walked = source.clone();
            let rest: Vec<_> = host.strip_prefix(source).ok()?.components().collect();
            let mut jumped = None;
            for (i, c) in rest.iter().enumerate() {
                walked.push(c);
                let meta = std::fs::symlink_metadata(&walked).ok()?;
                if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&walked).ok()?;
                    let inside_dir = mount.join(rest[..i].iter().collect::<PathBuf>());
                    let mut next = if target.is_absolute() {
                        target
                    } else {
                        inside_dir.join(target)
                    };
                    for c in &rest[i + 1..] {
                        next.push(c);
                    }
                    jumped = Some(normalize(&next)?);
                    break;
                }
            }
            match jumped {
                Some(next) => path = next,
                None => return Some(host),
            }
        }
        None
    }
}

/// Lexically resolves `.` and `..` (no `..` above the root).
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}
