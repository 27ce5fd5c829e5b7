//! Version macros and `sbx_version()`.
//!
//! The constants below become `#define`s in `sbx.h`; `SBX_VERSION_STRING` is spelled from them by
//! a macro in `cbindgen.toml` (cbindgen emits no string constants). They must equal `Cargo.toml`'s
//! version: a compile-time check in this file fails the build when they drift, and a C test holds
//! the macros and the runtime functions equal.

use super::handle::static_cstr;
use super::panic::boundary;
use std::ffi::c_char;

/// Major version of the header (`Cargo.toml` `version`, first component).
pub const SBX_VERSION_MAJOR: u32 = 0;
/// Minor version of the header.
pub const SBX_VERSION_MINOR: u32 = 1;
/// Patch version of the header.
pub const SBX_VERSION_PATCH: u32 = 0;
/// The header's version as one number, `(MAJOR << 16) | (MINOR << 8) | PATCH`, for `#if`
/// comparisons (each component stays below 256).
pub const SBX_VERSION_NUMBER: u32 =
    (SBX_VERSION_MAJOR << 16) | (SBX_VERSION_MINOR << 8) | SBX_VERSION_PATCH;

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v = 0u32;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version component is not a number");
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

/// The runtime version string with its NUL, from Cargo.toml.
const VERSION_CSTR: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

fn check_version_constants() {
    // Evaluated at compile time: bump these constants together with Cargo.toml.
    const {
        assert!(
            SBX_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")),
            "SBX_VERSION_MAJOR != Cargo.toml"
        );
        assert!(
            SBX_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")),
            "SBX_VERSION_MINOR != Cargo.toml"
        );
        assert!(
            SBX_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")),
            "SBX_VERSION_PATCH != Cargo.toml"
        );
        assert!(SBX_VERSION_MAJOR < 256 && SBX_VERSION_MINOR < 256 && SBX_VERSION_PATCH < 256);
    }
}

/// Returns the version of the loaded library as a static string, `"MAJOR.MINOR.PATCH"`.
/// Compare with `SBX_VERSION_STRING` to detect a header/library mismatch. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn sbx_version() -> *const c_char {
    boundary(|| {
        check_version_constants();
        static_cstr(VERSION_CSTR)
    })
}

/// Returns the version of the loaded library as one number, encoded like `SBX_VERSION_NUMBER`.
#[no_mangle]
pub extern "C" fn sbx_version_number() -> u32 {
    boundary(|| SBX_VERSION_NUMBER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn runtime_version_matches_cargo_and_the_number() {
        // SAFETY: (test) a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(sbx_version()) }.to_str().unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(
            sbx_version_number(),
            (parts[0] << 16) | (parts[1] << 8) | parts[2]
        );
    }
}
