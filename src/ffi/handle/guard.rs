//! Borrowing a handle's value for the duration of a call: a [`Guard`] holds a reference to the
//! handle's registry slot, so the value cannot be dropped while the call uses it.
//!
//! # Safety
//! As for the rest of `handle/` (see its module docs): the guard dereferences only values the
//! registry vouches for.

#![allow(unsafe_code)]

use super::{refused, Castable, Ownership, OwnershipBox};
use crate::ffi::failure::Failure;
use crate::ffi::registry::{self, Refusal};

/// Shared access to the value behind a live handle for the duration of a call; the handle's
/// value cannot be dropped while this exists (a concurrent free waits for its release).
pub(crate) struct Guard<C: Castable> {
    found: registry::Found,
    value: *const C::RustType,
    exclusive: bool,
}

impl<C: Castable> std::ops::Deref for Guard<C> {
    type Target = C::RustType;
    fn deref(&self) -> &C::RustType {
        // SAFETY: the guard holds a reference to the slot, so the value is alive; shared access
        // is what every guard allows.
        unsafe { &*self.value }
    }
}

impl<C: Castable> std::ops::DerefMut for Guard<C> {
    fn deref_mut(&mut self) -> &mut C::RustType {
        assert!(self.exclusive, "mutable access through a shared guard");
        // SAFETY: an exclusive guard: no other call is inside this handle (the registry refuses
        // them while it exists), and Box handles' values are owned by their slot.
        unsafe { &mut *self.value.cast_mut() }
    }
}

impl<C: Castable> Drop for Guard<C> {
    fn drop(&mut self) {
        if let Some(v) = registry::release(&self.found, self.exclusive) {
            // SAFETY: the last reference of a freed handle: its value is dropped once, here.
            unsafe { <<C as Castable>::Ownership as Ownership>::drop_value::<C::RustType>(v) };
        }
    }
}

fn borrow<C: Castable>(handle: usize, exclusive: bool) -> Result<Guard<C>, Refusal> {
    let (found, slot_kind, value) = registry::acquire(handle, C::KIND, C::SLOT_KINDS, exclusive)?;
    match C::resolve(slot_kind, value) {
        Some(value) if !value.is_null() => Ok(Guard {
            found,
            value,
            exclusive,
        }),
        _ => {
            if let Some(v) = registry::release(&found, exclusive) {
                // Cannot happen for a view of a live parent; dropped the parent's way.
                log::error!("libsbx: a {} view outlived its parent", C::NAME);
                let _ = v;
            }
            Err(Refusal::Dead)
        }
    }
}

/// Shared access to the value behind a handle (`None` for NULL and for a handle that is not a
/// live one of this type): for accessors that answer a default.
pub(crate) fn ref_from_ptr<C: Castable>(ptr: *const C) -> Option<Guard<C>> {
    if ptr.is_null() {
        return None;
    }
    borrow(ptr as usize, false).ok()
}

/// Shared access, failing with `SBX_STATUS_NULL_PARAMETER` or `SBX_STATUS_INVALID_HANDLE` that
/// names `what`.
pub(crate) fn try_ref<C: Castable>(ptr: *const C, what: &str) -> Result<Guard<C>, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    borrow(ptr as usize, false).map_err(|why| refused::<C>(what, why))
}

/// Exclusive access to the value behind a Box handle (`None` for NULL and for a handle that is
/// not a live, unused one of this type).
pub(crate) fn mut_from_ptr<C: Castable<Ownership = OwnershipBox>>(ptr: *mut C) -> Option<Guard<C>> {
    if ptr.is_null() {
        return None;
    }
    borrow(ptr as usize, true).ok()
}

/// Exclusive access, failing like [`try_ref`] (and while another call is inside the handle).
pub(crate) fn try_mut<C: Castable<Ownership = OwnershipBox>>(
    ptr: *mut C,
    what: &str,
) -> Result<Guard<C>, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    borrow(ptr as usize, true).map_err(|why| refused::<C>(what, why))
}
