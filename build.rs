//! Link settings for `libsbx.so` (the cdylib only; the rlib and staticlib are unaffected):
//! - soname `libsbx.so.<major>`, so programs linked against it survive compatible upgrades;
//! - a version script exporting only `sbx_*`. rustc already limits a cdylib's exports to its
//!   `#[no_mangle]` items (and the linker unions both lists), so the script is a second fence:
//!   the C ABI test fails on any other exported symbol;
//! - a `libsbx.so.<major>` link beside `libsbx.so` in the profile directory (`target/release`),
//!   so a program linked with `-L target/release -lsbx` and an rpath finds its soname there.
//!   Made before the library is linked (a build script runs first): it dangles until then.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsbx.so.{major}");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let map = out.join("libsbx.map");
    let script = "{\n  global:\n    sbx_*;\n  local:\n    *;\n};\n";
    if fs::read_to_string(&map).ok().as_deref() != Some(script) {
        fs::write(&map, script).expect("write the version script");
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", map.display());
    soname_link(&out, &major);
    println!("cargo:rerun-if-changed=build.rs");
}

/// `<profile dir>/libsbx.so.<major> -> libsbx.so`; OUT_DIR is `<profile dir>/build/<pkg>/out`.
/// Best effort: a read-only or unusual target directory only loses the convenience.
fn soname_link(out: &std::path::Path, major: &str) {
    let Some(profile) = out.ancestors().nth(3) else {
        return;
    };
    let link = profile.join(format!("libsbx.so.{major}"));
    if fs::symlink_metadata(&link).is_err() {
        let _ = std::os::unix::fs::symlink("libsbx.so", &link);
    }
}
