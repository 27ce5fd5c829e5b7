//! Ownership typing of C handles, and every raw-pointer conversion of the C ABI.
//!
//! # Safety
//! This is the only file of `ffi/` that casts pointers or dereferences what C passed in. Each
//! opaque C type names the Rust type behind it and how it is owned ([`Castable`]):
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

use super::failure::Failure;
use super::registry::{self, Refusal};
use super::status::sbx_status;
use std::ffi::{c_char, c_void, CStr, OsStr};
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
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

// ---------------------------------------------------------------------------------------------
// Borrowing for the duration of a call.

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

// ---------------------------------------------------------------------------------------------
// Plain data crossing the boundary.

/// Writes `value` through an out-pointer; NULL writes nothing. Required out-pointers are checked
/// with [`check_out`] before any work is done, so a call never fails half-way after doing it.
pub(crate) fn write_out<T: Copy>(ptr: *mut T, value: T) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the header documents every out-pointer as pointing to writable, suitably aligned
    // storage for one `T`. `write` neither reads nor drops the old contents, which C may have
    // left uninitialised (and `T: Copy` has no destructor anyway).
    unsafe { ptr.write(value) };
}

/// Fails with `SBX_STATUS_NULL_PARAMETER` when a required out-pointer is NULL.
pub(crate) fn check_out<T>(ptr: *mut T, what: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(())
    }
}

/// Writes six values into a caller array of at least six elements.
pub(crate) fn write_array6(ptr: *mut u64, values: &[u64; 6]) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the header requires room for six `uint64_t` at a non-NULL `ptr`; it cannot overlap
    // `values`, which lives inside a result the caller only reads.
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), ptr, 6) };
}

/// Copies `values` into a caller array with room for at least `values.len()` elements; NULL
/// fails with `SBX_STATUS_NULL_PARAMETER` unless there is nothing to write.
pub(crate) fn write_slice<T: Copy>(ptr: *mut T, values: &[T], what: &str) -> Result<(), Failure> {
    if values.is_empty() {
        return Ok(());
    }
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: the header requires room for the stated capacity at a non-NULL `ptr`, and callers
    // check `values.len()` against that capacity first; a caller array cannot overlap `values`,
    // which libsbx owns. The old contents may be uninitialised and are neither read nor dropped.
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), ptr, values.len()) };
    Ok(())
}

/// A NUL-terminated C string as raw bytes (without the NUL).
pub(crate) fn try_bytes<'a>(ptr: *const c_char, what: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: the header requires a non-NULL string argument to be NUL-terminated and to stay
    // unchanged for the duration of the call.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// A NUL-terminated C string that must be UTF-8 (names, arguments, environment entries).
pub(crate) fn try_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    let bytes = try_bytes(ptr, what)?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            sbx_status::InvalidArgument,
            format!("{what} is not valid UTF-8: {e}"),
        )
    })
}

/// A NUL-terminated C string used as a path (any bytes but NUL).
pub(crate) fn try_path<'a>(ptr: *const c_char, what: &str) -> Result<&'a OsStr, Failure> {
    try_bytes(ptr, what).map(OsStr::from_bytes)
}

/// A caller array of `len` elements; (NULL, 0) is an empty slice.
pub(crate) fn try_slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: the header requires `len` readable, initialised elements at a non-NULL `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A caller array of `len` C strings, each UTF-8; a NULL element names its index.
pub(crate) fn try_str_array(
    ptr: *const *const c_char,
    len: usize,
    what: &str,
) -> Result<Vec<String>, Failure> {
    try_slice(ptr, len, what)?
        .iter()
        .enumerate()
        .map(|(i, &s)| try_str(s, &format!("{what}[{i}]")).map(str::to_owned))
        .collect()
}

/// A caller array of `len` C strings used as paths; a NULL element names its index.
pub(crate) fn try_path_array(
    ptr: *const *const c_char,
    len: usize,
    what: &str,
) -> Result<Vec<PathBuf>, Failure> {
    try_slice(ptr, len, what)?
        .iter()
        .enumerate()
        .map(|(i, &s)| try_path(s, &format!("{what}[{i}]")).map(PathBuf::from))
        .collect()
}

/// A static NUL-terminated string as a C pointer. `s` must end with `\0`.
pub(crate) fn static_cstr(s: &'static str) -> *const c_char {
    debug_assert!(s.ends_with('\0'));
    s.as_ptr().cast::<c_char>()
}

/// A string owned by a handle, as a C pointer that lives as long as that handle.
pub(crate) fn cstr_ptr(s: &CStr) -> *const c_char {
    s.as_ptr()
}

/// Duplicates a caller's fd (close-on-exec); the caller keeps its own. Negative and closed fds
/// fail with `SBX_STATUS_INVALID_ARGUMENT`.
pub(crate) fn dup_fd(fd: RawFd, what: &str) -> Result<OwnedFd, Failure> {
    if fd < 0 {
        return Err(Failure::invalid(format!("{what} {fd} is negative")));
    }
    if nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
        return Err(Failure::invalid(format!(
            "{what} {fd} is not an open file descriptor"
        )));
    }
    // SAFETY: `fd` was just seen open, and the caller keeps it open for the duration of the call
    // (it is only borrowed for the dup below).
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().map_err(|e| {
        Failure::from(crate::Error::os(
            "fcntl(F_DUPFD_CLOEXEC)",
            e.raw_os_error().unwrap_or(libc::EBADF),
        ))
    })
}

/// Copies a caller's plain struct (such as `sbx_notify_callbacks`); NULL fails with
/// `SBX_STATUS_NULL_PARAMETER` that names `what`.
pub(crate) fn try_copy<T: Copy>(ptr: *const T, what: &str) -> Result<T, Failure> {
    // SAFETY: the header requires a non-NULL pointer to an initialised, suitably aligned `T`
    // that stays unchanged for the duration of the call; `T: Copy` makes the read a plain copy.
    unsafe { ptr.as_ref() }
        .copied()
        .ok_or_else(|| Failure::null(what))
}

/// Borrows a caller's open fd for the duration of the call (the caller keeps it). Negative and
/// closed fds fail with `SBX_STATUS_INVALID_ARGUMENT`.
pub(crate) fn try_borrow_fd<'a>(fd: RawFd, what: &str) -> Result<BorrowedFd<'a>, Failure> {
    if fd < 0 {
        return Err(Failure::invalid(format!("{what} {fd} is negative")));
    }
    if nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
        return Err(Failure::invalid(format!(
            "{what} {fd} is not an open file descriptor"
        )));
    }
    // SAFETY: `fd` was just seen open, and the header makes the caller keep it open for the
    // duration of the call, which the borrow does not outlive (exports never store it).
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// A one-byte element type of buffers handed to C: `uint8_t` or `char`.
pub(crate) trait Byte {}
impl Byte for u8 {}
impl Byte for i8 {}

/// Copies `bytes` into a new `malloc` buffer with `extra` zero bytes after them (1 gives a
/// NUL-terminated string). Never returns NULL on success, even for no bytes; the caller frees
/// it with [`free_malloced`]. Allocation failure is `SBX_STATUS_OS_ERROR` with `ENOMEM`.
pub(crate) fn malloc_copy<B: Byte>(bytes: &[u8], extra: usize) -> Result<*mut B, Failure> {
    let size = bytes
        .len()
        .checked_add(extra)
        .ok_or_else(|| Failure::from(crate::Error::os("malloc", libc::ENOMEM)))?
        .max(1);
    // SAFETY: malloc has no preconditions; the result is checked for NULL below.
    let ptr = unsafe { libc::malloc(size) }.cast::<u8>();
    if ptr.is_null() {
        return Err(Failure::from(crate::Error::os("malloc", libc::ENOMEM)));
    }
    // SAFETY: `ptr` is a fresh allocation of `size` >= `bytes.len() + extra` bytes, which cannot
    // overlap `bytes`; every byte is written before C sees the buffer.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        std::ptr::write_bytes(ptr.add(bytes.len()), 0, size - bytes.len());
    }
    // `B` is one byte wide, so the buffer holds `size` of them.
    Ok(ptr.cast::<B>())
}

/// Frees a buffer from [`malloc_copy`]; NULL is a no-op.
pub(crate) fn free_malloced<B: Byte>(ptr: *mut B) {
    // SAFETY: the header requires `ptr` to be NULL or a buffer this library returned and the
    // caller has not freed yet; such buffers come from `malloc` in `malloc_copy`.
    unsafe { libc::free(ptr.cast::<c_void>()) }
}

/// C's `void *user_data` for callbacks, carried to the thread that calls them.
///
/// libsbx never dereferences it; it only hands it back to the caller's own callbacks. Moving it
/// to the supervisor thread is what the header tells the caller to expect: callbacks run there and
/// must be safe to call from it with this `user_data`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the pointer is opaque to libsbx (never dereferenced here), and the header makes the
// C caller responsible for whatever its callbacks do with it from the supervisor thread.
unsafe impl Send for UserData {}
