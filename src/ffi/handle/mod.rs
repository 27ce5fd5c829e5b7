//! Ownership typing of C handles, and every raw-pointer conversion of the C ABI.
//!
//! # Safety
//! `handle/` is the only part of `ffi/` that casts pointers or dereferences what C passed in: this
//! file makes and frees handles, `guard.rs` borrows their values for a call, `data.rs` converts
//! plain data. Each opaque C type names the Rust type behind it and how it is owned
//! ([`Castable`]):
//!
//! - [`OwnershipBox`]: one owner, mutable (`sbx_policy_builder`, `sbx_executor`, `sbx_sandbox`,
//!   `sbx_error`). Handed out as `T *`, taken back once by `_free` or a consuming call.
//! - [`OwnershipArc`]: immutable and shareable between threads (`sbx_policy`, `sbx_result`).
//!   Handed out as `const T *`; `_free` drops one reference.
//! - [`OwnershipRef`]: a borrowed view into another object (`sbx_violation` inside a
//!   `sbx_result`); never freed on its own.
//!
//! Byte buffers and strings handed to C (`sbx_comms_recv_bytes`, `sbx_comms_recv_string`) are
//! allocated here with `malloc` and released here with `free` ([`malloc_copy`],
//! [`free_malloced`]); C's `void *user_data` for callbacks travels in [`UserData`].
//!
//! The helpers are bounded on those markers, so freeing an Arc handle as a Box, or mutating
//! through a shared one, does not compile. What they cannot check is the C caller's side of the
//! contract stated in the header: a non-NULL pointer came from this library, is still alive, and
//! is not used concurrently in a way the header forbids. Given that, every function here is sound.

#![allow(unsafe_code)]

mod data;
mod guard;

pub(crate) use data::{
    check_out, cstr_ptr, dup_fd, free_malloced, malloc_copy, static_cstr, try_borrow_fd, try_copy,
    try_path, try_path_array, try_slice, try_str, try_str_array, write_array6, write_out,
    write_slice, Byte, UserData,
};
pub(crate) use guard::{mut_from_ptr, ref_from_ptr, try_mut, try_ref};

use super::failure::Failure;
use super::registry::{self, Refusal};
use super::status::sbx_status;
use std::sync::Arc;

/// Ownership kind of a C handle: one owner (mutable, freed once).
pub(crate) struct OwnershipBox;
/// Ownership kind of a C handle: shared and immutable, reference counted.
pub(crate) struct OwnershipArc;
/// Ownership kind of a C handle: a view into another handle's value, never freed on its own.
pub(crate) struct OwnershipRef;

/// How the value behind a slot is dropped.
pub(crate) trait Ownership {
    /// Drops the value `ptr` (from `Box::into_raw` or `Arc::into_raw` of a `T`).
    ///
    /// # Safety
    /// `ptr` came from the matching `into_raw` of a `T` and is dropped once.
    unsafe fn drop_value<T>(ptr: *mut ());
}

impl Ownership for OwnershipBox {
    unsafe fn drop_value<T>(ptr: *mut ()) {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(ptr.cast::<T>()) });
    }
}

impl Ownership for OwnershipArc {
    unsafe fn drop_value<T>(ptr: *mut ()) {
        // SAFETY: per the contract.
        drop(unsafe { Arc::from_raw(ptr.cast::<T>().cast_const()) });
    }
}

impl Ownership for OwnershipRef {
    unsafe fn drop_value<T>(_ptr: *mut ()) {}
}

/// Ties an opaque C type to the Rust type behind its handles, how they are owned, and the
/// registry kinds that check them on every call.
pub(crate) trait Castable {
    /// One of [`OwnershipBox`], [`OwnershipArc`], [`OwnershipRef`].
    type Ownership: Ownership;
    /// The Rust value a handle stands for.
    type RustType;
    /// The kind written in this type's handles (1..15).
    const KIND: u8;
    /// The C type's name, for messages.
    const NAME: &'static str;
    /// The value behind a slot of kind `slot_kind` holding `value`: the slot's own value for
    /// ordinary handles; views project into another handle's value.
    fn resolve(slot_kind: u8, value: *mut ()) -> Option<*const Self::RustType> {
        (slot_kind == Self::KIND).then_some(value.cast_const().cast())
    }
    /// The slot kinds a handle of this type may stand on (views: their parents').
    const SLOT_KINDS: &'static [u8] = &[Self::KIND];
}

/// Implements [`Castable`] for an opaque C type (declared beside it as a zero-sized struct, so
/// cbindgen sees it and emits `typedef struct name name;`).
macro_rules! castable {
    ($c:ident => $rust:ty, $own:ident, $kind:expr) => {
        impl $crate::ffi::handle::Castable for $c {
            type Ownership = $crate::ffi::handle::$own;
            type RustType = $rust;
            const KIND: u8 = $kind;
            const NAME: &'static str = stringify!($c);
        }
    };
}
pub(crate) use castable;

/// Registry kinds of every handle type (one place, so no two types share one).
pub(crate) mod kind {
    pub(crate) const COMMS: u8 = 1;
    pub(crate) const POLICY_BUILDER: u8 = 2;
    pub(crate) const ERROR: u8 = 3;
    pub(crate) const SANDBOX: u8 = 4;
    pub(crate) const RESULT: u8 = 5;
    pub(crate) const VIOLATION: u8 = 6;
    pub(crate) const EXECUTOR: u8 = 7;
    pub(crate) const POLICY: u8 = 8;
    /// A syscall shown to a notify callback: a slot of its own for the callback's duration.
    pub(crate) const SYSCALL_VIEW: u8 = 9;
}

/// The failure for a handle the registry refused.
fn refused<C: Castable>(what: &str, why: Refusal) -> Failure {
    let detail = match why {
        Refusal::Unknown => "is not a handle libsbx gave out".to_string(),
        Refusal::WrongType(k) => format!(
            "is a handle of another type ({}), not {}",
            kind_name(k),
            C::NAME
        ),
        Refusal::Dead => format!(
            "is a {} that was already freed or consumed by an earlier call",
            C::NAME
        ),
        Refusal::Busy => format!("is a {} in use by another call right now", C::NAME),
        Refusal::Full => "cannot be registered: too many live handles".to_string(),
    };
    Failure::new(sbx_status::InvalidHandle, format!("{what} {detail}"))
}

fn kind_name(k: u8) -> &'static str {
    match k {
        kind::COMMS => "sbx_comms",
        kind::POLICY_BUILDER => "sbx_policy_builder",
        kind::ERROR => "sbx_error",
        kind::SANDBOX => "sbx_sandbox",
        kind::RESULT => "sbx_result",
        kind::VIOLATION | kind::SYSCALL_VIEW => "sbx_violation",
        kind::EXECUTOR => "sbx_executor",
        kind::POLICY => "sbx_policy",
        _ => "unknown",
    }
}

fn register<C: Castable>(value: *mut ()) -> usize {
    if let Ok(h) = registry::register(C::KIND, value) {
        h
    } else {
        log::error!("libsbx: too many live handles; {} not created", C::NAME);
        // SAFETY: `value` came from the owner's `into_raw` and was not registered.
        unsafe { C::Ownership::drop_value::<C::RustType>(value) };
        0
    }
}

// ---------------------------------------------------------------------------------------------
// Box handles.

/// Moves `value` to the heap and returns it as an owned C handle (NULL if the registry is full).
pub(crate) fn box_into_ptr<C: Castable<Ownership = OwnershipBox>>(value: C::RustType) -> *mut C {
    register::<C>(Box::into_raw(Box::new(value)).cast()) as *mut C
}

/// Takes a Box handle over (a consuming call): it is dead afterwards. Fails on NULL, on a handle
/// that is not a live one of this type, and while another call is inside it.
pub(crate) fn take_box<C: Castable<Ownership = OwnershipBox>>(
    ptr: *mut C,
    what: &str,
) -> Result<Box<C::RustType>, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    match registry::kill(ptr as usize, C::KIND, true) {
        // SAFETY: Box handles' values come from `Box::into_raw` of a `C::RustType`; `kill`
        // with `take` hands the value out once, with no call inside.
        Ok(Some(v)) => Ok(unsafe { Box::from_raw(v.cast::<C::RustType>()) }),
        Ok(None) => Err(refused::<C>(what, Refusal::Busy)),
        Err(why) => Err(refused::<C>(what, why)),
    }
}

/// Frees a handle of any owning kind; NULL is a no-op, and so is a handle that is not live (a
/// double free is logged, never undefined behaviour). A call still inside it (another thread)
/// keeps the value until it returns.
fn free_handle<C: Castable>(handle: usize) {
    if handle == 0 {
        return;
    }
    match registry::kill(handle, C::KIND, false) {
        // SAFETY: the slot's value is dropped once, by whoever released its last reference.
        Ok(Some(v)) => unsafe { C::Ownership::drop_value::<C::RustType>(v) },
        Ok(None) => {}
        Err(why) => log::warn!(
            "libsbx: {}",
            refused::<C>(&format!("{}_free: the argument", C::NAME), why).message_str()
        ),
    }
}

/// Frees a Box handle; NULL is a no-op.
pub(crate) fn free_box<C: Castable<Ownership = OwnershipBox>>(ptr: *mut C) {
    free_handle::<C>(ptr as usize);
}

// ---------------------------------------------------------------------------------------------
// Arc handles.

/// Returns `value` as a shared, immutable C handle holding one reference.
pub(crate) fn arc_into_ptr<C: Castable<Ownership = OwnershipArc>>(
    value: Arc<C::RustType>,
) -> *const C {
    register::<C>(Arc::into_raw(value).cast_mut().cast()) as *const C
}

/// Drops the reference a shared handle holds; NULL is a no-op.
pub(crate) fn free_arc<C: Castable<Ownership = OwnershipArc>>(ptr: *const C) {
    free_handle::<C>(ptr as usize);
}

/// A new handle to the value behind a shared handle (NULL for NULL or a handle that is not live).
pub(crate) fn arc_clone<C: Castable<Ownership = OwnershipArc>>(ptr: *const C) -> *const C {
    let Some(g) = ref_from_ptr(ptr) else {
        return std::ptr::null();
    };
    // SAFETY: Arc handles' values come from `Arc::into_raw`; the guard holds a reference to the
    // slot, so the value is alive while its count is raised.
    let clone = unsafe {
        let raw: *const C::RustType = &*g;
        Arc::increment_strong_count(raw);
        Arc::from_raw(raw)
    };
    drop(g);
    arc_into_ptr::<C>(clone)
}

// ---------------------------------------------------------------------------------------------
// Views.

/// Runs `f` with a temporary `C` handle to `value` (a view valid only during `f`, such as the
/// syscall a notify callback is shown); the handle is dead once `f` returns.
pub(crate) fn with_view<C: Castable<Ownership = OwnershipRef>, R>(
    value: &C::RustType,
    f: impl FnOnce(*const C) -> R,
) -> R {
    let ptr = std::ptr::from_ref::<C::RustType>(value)
        .cast_mut()
        .cast::<()>();
    let h = registry::register(kind::SYSCALL_VIEW, ptr).unwrap_or(0);
    let r = f(registry::rekind(h, C::KIND) as *const C);
    if h != 0 {
        let _ = registry::kill(h, kind::SYSCALL_VIEW, false);
    }
    r
}

/// The handle of the view of type `C` into the value behind `parent` (a live handle).
pub(crate) fn view_of<P: Castable, C: Castable<Ownership = OwnershipRef>>(parent: *const P) -> *const C {
    registry::rekind(parent as usize, C::KIND) as *const C
}
