//! Per-architecture facts of the glibc loader: default directories, multiarch triplets, `$LIB` and
//! `$PLATFORM` values, ld.so.cache flags.

use super::{PathBuf, EM_386, EM_AARCH64, EM_ARM, EM_X86_64};

pub(super) fn multiarch(class64: bool, machine: u16) -> Option<&'static str> {
    match (class64, machine) {
        (true, EM_X86_64) => Some("x86_64-linux-gnu"),
        (false, EM_X86_64) => Some("x86_64-linux-gnux32"),
        (false, EM_386) => Some("i386-linux-gnu"),
        (true, EM_AARCH64) => Some("aarch64-linux-gnu"),
        (false, EM_ARM) => Some("arm-linux-gnueabihf"),
        _ => None,
    }
}

/// The loader's built-in search directories (after ld.so.cache).
pub(super) fn default_dirs(class64: bool, machine: u16) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(ma) = multiarch(class64, machine) {
        v.push(PathBuf::from(format!("/lib/{ma}")));
        v.push(PathBuf::from(format!("/usr/lib/{ma}")));
    }
    let wide = if class64 { "64" } else { "32" };
    v.push(PathBuf::from(format!("/lib{wide}")));
    v.push(PathBuf::from(format!("/usr/lib{wide}")));
    v.push(PathBuf::from("/lib"));
    v.push(PathBuf::from("/usr/lib"));
    v
}

/// Values `$LIB` may have: it is fixed when glibc is built (Debian: `lib/<multiarch>`, Fedora:
/// `lib64`), so every plausible one is tried in turn.
pub(super) fn lib_values(class64: bool, machine: u16) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(ma) = multiarch(class64, machine) {
        v.push(format!("lib/{ma}"));
    }
    v.push(if class64 { "lib64" } else { "lib32" }.to_string());
    v.push("lib".to_string());
    v
}

/// Values `$PLATFORM` may have: on x86-64 glibc picks it from CPU features.
pub(super) fn platform_values(class64: bool, machine: u16) -> &'static [&'static str] {
    match (class64, machine) {
        (true, EM_X86_64) => &["x86_64", "haswell", "xeon_phi"],
        (false, EM_386) => &["i686"],
        (true, EM_AARCH64) => &["aarch64"],
        _ => &[],
    }
}

/// The ld.so.cache entry flags the loader of this class/machine accepts besides 1 (plain ELF),
/// as `_DL_CACHE_DEFAULT_ID` in glibc's dl-cache.h; `None`: we do not know, skip the cache.
pub(super) fn cache_flags(class64: bool, machine: u16) -> Option<i32> {
    match (class64, machine) {
        (true, EM_X86_64) => Some(0x0303), // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
        (false, EM_X86_64) => Some(0x0803), // FLAG_ELF_LIBC6 | FLAG_X8664_LIBX32
        (false, EM_386) => Some(0x0003),   // FLAG_ELF_LIBC6
        (true, EM_AARCH64) => Some(0x0a03), // FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64
        _ => None,
    }
}
