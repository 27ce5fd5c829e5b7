//! The view's rules (sandbox2's, and the two stricter ones in [`super`]'s docs): every path
//! checked, a mount added only when it conflicts with none already there, and a mount point
//! beneath a bind required to exist in its source.

use super::{MountKind, MountTree, RESERVED};
use crate::error::{Error, Result};
use std::path::{Component, Path, PathBuf};

impl MountTree {
    pub(super) fn insert(&mut self, inside: PathBuf, kind: MountKind) -> Result<()> {
        // Same path twice: only the very same mount may repeat. Read-only and writable binds of
        // one source conflict: neither silently wins.
        if let Some(existing) = self.mounts.get_mut(&inside) {
            return match (existing, &kind) {
                (
                    MountKind::Bind {
                        source: s1,
                        is_dir: d1,
                        writable: w1,
                    },
                    MountKind::Bind {
                        source: s2,
                        is_dir: d2,
                        writable: w2,
                    },
                ) if s1 == s2 && d1 == d2 && w1 == w2 => Ok(()),
                (MountKind::Tmpfs { size: a }, MountKind::Tmpfs { size: b }) if a == b => Ok(()),
                (MountKind::Hidden { is_dir: a }, MountKind::Hidden { is_dir: b }) if a == b => {
                    Ok(())
                }
                (old, _) => Err(Error::invalid(format!(
                    "{} is already mounted ({}); it cannot also be {}",
                    inside.display(),
                    describe(old),
                    describe(&kind)
                ))),
            };
        }
        // Nothing may be mounted beneath a file, and a file cannot cover existing mounts.
        for (p, k) in &self.mounts {
            let is_file = is_file_kind(k);
            if is_file && inside.starts_with(p) {
                return Err(Error::invalid(format!(
                    "{} would be beneath {}, which is a file",
                    inside.display(),
                    p.display()
                )));
            }
            let new_is_file = is_file_kind(&kind);
            if new_is_file && p.starts_with(&inside) {
                return Err(Error::invalid(format!(
                    "file mount {} would cover the mount at {}",
                    inside.display(),
                    p.display()
                )));
            }
        }
        // A mount point beneath a bind mount cannot be created there: it must already exist in
        // the bound source, with the right type.
        if let Some((parent, MountKind::Bind { source, .. })) = self.enclosing(&inside) {
            check_mount_point(&parent, &source, &inside, !is_file_kind(&kind))?;
        }
        // A directory bind added above mounts that are already there swallows their mount
        // points: each must exist in the new source as well (else every run would fail).
        if let MountKind::Bind {
            source,
            is_dir: true,
            ..
        } = &kind
        {
            for (p, k) in &self.mounts {
                let below = p != &inside && p.starts_with(&inside);
                let closest = self
                    .enclosing(p)
                    .map_or(true, |(e, _)| !e.starts_with(&inside) || e == inside);
                if below && closest {
                    check_mount_point(&inside, source, p, !is_file_kind(k)).map_err(|e| {
                        Error::invalid(format!(
                            "{} ({}) conflicts with the mount already at {}: {e}",
                            inside.display(),
                            describe(&kind),
                            p.display()
                        ))
                    })?;
                }
            }
        }
        self.mounts.insert(inside, kind);
        Ok(())
    }

    /// The closest mount strictly above `inside`.
    fn enclosing(&self, inside: &Path) -> Option<(PathBuf, MountKind)> {
        self.mounts
            .iter()
            .filter(|(p, _)| inside != p.as_path() && inside.starts_with(p))
            .max_by_key(|(p, _)| p.components().count())
            .map(|(p, k)| (p.clone(), k.clone()))
    }
}

/// `inside` will be a mount point within the bind of host `source` at `parent`: it must exist
/// there with the right type and must not be a symlink (targets are never followed).
fn check_mount_point(parent: &Path, source: &Path, inside: &Path, want_dir: bool) -> Result<()> {
    let rest = inside.strip_prefix(parent).unwrap_or(Path::new(""));
    let host = source.join(rest);
    match std::fs::symlink_metadata(&host) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::invalid(format!(
            "mount point {} is a symlink inside the bind mount of {}; targets are never followed through symlinks",
            inside.display(),
            parent.display()
        ))),
        Ok(m) if m.is_dir() == want_dir => Ok(()),
        _ => Err(Error::invalid(format!(
            "mount point {} must already exist as a {} inside the bind mount of {} (at {})",
            inside.display(),
            if want_dir { "directory" } else { "file" },
            parent.display(),
            host.display()
        ))),
    }
}

fn describe(k: &MountKind) -> String {
    match k {
        MountKind::Bind {
            source,
            is_dir,
            writable,
        } => format!(
            "{} bind of {} ({})",
            if *is_dir { "directory" } else { "file" },
            source.display(),
            if *writable { "rw" } else { "ro" }
        ),
        MountKind::Tmpfs { .. } => "tmpfs".to_string(),
        MountKind::Hidden { .. } => "hidden".to_string(),
    }
}

fn is_file_kind(k: &MountKind) -> bool {
    matches!(
        k,
        MountKind::Bind { is_dir: false, .. } | MountKind::Hidden { is_dir: false }
    )
}

/// Absolute, canonical (no `.`, `..`, `//` or trailing `/`), no NUL.
pub fn check_path(what: &str, p: &Path) -> Result<()> {
    let bytes = p.as_os_str().as_encoded_bytes();
    if bytes.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if bytes.contains(&0) {
        return Err(Error::invalid(format!(
            "{what} {} contains a NUL byte",
            p.display()
        )));
    }
    if !p.is_absolute() {
        return Err(Error::invalid(format!(
            "{what} {} is not absolute",
            p.display()
        )));
    }
    let canonical = bytes.len() == 1
        || (!bytes.ends_with(b"/")
            && !bytes.windows(2).any(|w| w == b"//")
            && p.components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
            && !bytes.split(|b| *b == b'/').any(|c| c == b"." || c == b".."));
    if !canonical {
        return Err(Error::invalid(format!(
            "{what} {} is not canonical (no '.', '..', '//' or trailing '/')",
            p.display()
        )));
    }
    Ok(())
}

pub(super) fn check_inside(inside: &Path) -> Result<()> {
    check_path("mount target", inside)?;
    if inside == Path::new("/") {
        return Err(Error::invalid(
            "mount target / is the sandbox's own root (use set_root_writable)",
        ));
    }
    for r in RESERVED {
        if inside.starts_with(r) {
            return Err(Error::invalid(format!(
                "mount target {} is under {r}, which libsbx provides itself",
                inside.display()
            )));
        }
    }
    Ok(())
}
