//! Plain data crossing the boundary: out-pointers and caller arrays, C strings and paths, fds
//! the caller lends or passes, `malloc` buffers handed to C, and callbacks' `user_data`.
//!
//! # Safety
//! As for the rest of `handle/` (see its module docs): every read or write through a C pointer
//! relies on the header's contract for that argument, stated at each `unsafe` block.

#![allow(unsafe_code)]

use crate::ffi::failure::Failure;
use crate::ffi::status::sbx_status;
use std::ffi::{c_char, c_void, CStr, OsStr};
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

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
