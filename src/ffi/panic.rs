//! The panic boundary: no Rust panic unwinds into C.
//!
//! Every export runs its body through [`boundary`] (functions that cannot fail: a panic gives
//! NULL, 0 or false) or [`boundary_status`] (fallible functions: a panic gives
//! `SBX_STATUS_PANIC`, plus an `sbx_error` saying so when the caller asked for one). The library
//! is built with `panic = "unwind"`; with an aborting profile these catches could not work.
//!
//! The library prints nothing, panics included: Rust's default hook would write the message
//! (and a backtrace) to stderr. On the first call through the C ABI a hook is chained in front
//! of the existing one: a panic inside a boundary goes to `log` (and into the `sbx_error`), any
//! other panic to the previous hook unchanged. A C or Go host never sees it (the hook belongs to
//! libsbx's own copy of the Rust runtime); a Rust program that only uses the Rust API never makes
//! a C ABI call, so its hook stays as it set it.

use super::failure::{sbx_error, Failure};
use super::handle::{box_into_ptr, write_out};
use super::status::sbx_status;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The value an export returns when its body panicked.
pub(crate) trait PanicDefault {
    /// What C sees instead of the real answer.
    fn panic_default() -> Self;
}

impl<T> PanicDefault for *const T {
    fn panic_default() -> Self {
        std::ptr::null()
    }
}

impl<T> PanicDefault for *mut T {
    fn panic_default() -> Self {
        std::ptr::null_mut()
    }
}

impl PanicDefault for sbx_status {
    fn panic_default() -> Self {
        sbx_status::Panic
    }
}

macro_rules! zero_default {
    ($($t:ty),*) => {
        $(impl PanicDefault for $t {
            fn panic_default() -> Self {
                Default::default()
            }
        })*
    };
}
zero_default!(bool, u32, i32, u64, usize, ());

/// Runs `f`; a panic yields `R`'s [`PanicDefault`].
///
/// `AssertUnwindSafe`: after a panic the C caller is told (NULL, 0, `SBX_STATUS_PANIC`) and the
/// header says the objects involved may then only be freed.
pub(crate) fn boundary<R: PanicDefault>(f: impl FnOnce() -> R) -> R {
    quiet(|| catch_unwind(AssertUnwindSafe(f))).unwrap_or_else(|_| R::panic_default())
}

thread_local! {
    /// Depth of C ABI boundaries on this thread (a callback may call back in).
    static INSIDE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs `f` with panics kept off stderr (see the module docs).
fn quiet<R>(f: impl FnOnce() -> R) -> R {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if INSIDE.with(std::cell::Cell::get) > 0 {
                log::error!("libsbx: panic caught at the C ABI boundary: {info}");
            } else {
                previous(info);
            }
        }));
    });
    INSIDE.with(|d| d.set(d.get() + 1));
    let r = f();
    INSIDE.with(|d| d.set(d.get().saturating_sub(1)));
    r
}

/// Runs a fallible body: `Ok` gives `SBX_STATUS_OK`; a [`Failure`] gives its code and, when
/// `err_out` is not NULL, an `sbx_error` stored there; a panic gives `SBX_STATUS_PANIC` the same
/// way. `*err_out` is written only on failure.
pub(crate) fn boundary_status(
    err_out: *mut *mut sbx_error,
    f: impl FnOnce() -> Result<(), Failure>,
) -> sbx_status {
    let failure = match quiet(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(())) => return sbx_status::Ok,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::new(
            sbx_status::Panic,
            format!("libsbx panicked: {}", panic_text(&*payload)),
        ),
    };
    let code = failure.code();
    if !err_out.is_null() {
        // Building the error object allocates; if even that panics, the code alone is returned.
        if let Ok(ptr) = catch_unwind(AssertUnwindSafe(|| box_into_ptr::<sbx_error>(failure))) {
            write_out(err_out, ptr);
        }
    }
    code
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::failure::sbx_error;
    use std::ffi::CStr;

    /// Runs in a child started by `a_caught_panic_prints_nothing`: panics inside boundaries.
    #[test]
    #[ignore = "helper process of a_caught_panic_prints_nothing"]
    fn panic_helper() {
        if std::env::var_os("SBX_PANIC_HELPER").is_none() {
            return;
        }
        assert_eq!(boundary_status(std::ptr::null_mut(), || panic!("boom-status")), sbx_status::Panic);
        assert!(boundary(|| -> *const u8 { panic!("boom-plain") }).is_null());
        eprintln!("helper done");
    }

    /// The library prints nothing: a panic caught at the boundary leaves stderr alone (Rust's
    /// default hook would print it and a backtrace).
    #[test]
    fn a_caught_panic_prints_nothing() {
        if crate::sys::skipped_under_qemu(
            "the test re-executes its own (aarch64) binary, which the host kernel cannot run",
        ) {
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "ffi::panic::tests::panic_helper", "--ignored", "--nocapture", "--test-threads=1"])
            .env("SBX_PANIC_HELPER", "1")
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("helper done"), "{err}");
        assert!(!err.contains("boom"), "a caught panic was printed: {err}");
    }

    #[test]
    fn a_panic_becomes_a_status_and_an_error() {
        let mut err: *mut sbx_error = std::ptr::null_mut();
        let st = boundary_status(&mut err, || panic!("boom"));
        assert_eq!(st, sbx_status::Panic);
        assert!(!err.is_null());
        assert_eq!(sbx_error::sbx_error_code(err), sbx_status::Panic);
        // SAFETY: (test) the message is a NUL-terminated string owned by `err`.
        let msg = unsafe { CStr::from_ptr(sbx_error::sbx_error_message(err)) }
            .to_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("boom"), "{msg}");
        sbx_error::sbx_error_free(err);
        // Without an err_out the code alone comes back.
        assert_eq!(
            boundary_status(std::ptr::null_mut(), || panic!("boom")),
            sbx_status::Panic
        );
    }

    #[test]
    fn a_panic_gives_the_default_value() {
        assert!(boundary(|| -> *const u8 { panic!("boom") }).is_null());
        assert_eq!(boundary(|| -> u32 { panic!("boom") }), 0);
        assert!(!boundary(|| -> bool { panic!("boom") }));
        assert_eq!(
            boundary(|| -> sbx_status { panic!("boom") }),
            sbx_status::Panic
        );
    }

    #[test]
    fn success_leaves_err_out_alone() {
        let sentinel = 0x10 as *mut sbx_error;
        let mut err = sentinel;
        assert_eq!(boundary_status(&mut err, || Ok(())), sbx_status::Ok);
        assert_eq!(err, sentinel);
    }
}
