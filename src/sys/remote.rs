//! Reading another task's memory with `process_vm_readv`: the network proxy's copy of a
//! `sockaddr` and the stack tracer's reads of a stopped sandboxee's stack.

#![allow(unsafe_code)]

/// `len` bytes at `addr` in task `pid`, all of them or the errno (a short read is `EFAULT`:
/// part of the range is not mapped).
pub(crate) fn read_memory(pid: libc::pid_t, addr: u64, len: usize) -> Result<Vec<u8>, i32> {
    let mut buf = vec![0u8; len];
    if len == 0 {
        return Ok(buf);
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: one local iovec over our live buffer; the remote one is only read by the kernel.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    match usize::try_from(n) {
        Ok(got) if got == len => Ok(buf),
        Ok(_) => Err(libc::EFAULT),
        Err(_) => Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)),
    }
}

/// `openat2(dir, path, flags | O_CLOEXEC, resolve)`: the fd or the errno. The network proxy
/// opens unix socket paths with it (`O_PATH`), the stack tracer the sandboxee's modules
/// (`RESOLVE_IN_ROOT` under its root).
pub(crate) fn openat2(
    dir: std::os::fd::RawFd,
    path: &[u8],
    flags: libc::c_int,
    resolve: u64,
) -> Result<std::os::fd::OwnedFd, i32> {
    use std::os::fd::FromRawFd;
    let c = std::ffi::CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::from(crate::sys::bits_u32(flags | libc::O_CLOEXEC));
    how.resolve = resolve;
    // SAFETY: a NUL-terminated path and one open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            std::ptr::addr_of!(how),
            std::mem::size_of::<libc::open_how>(),
        )
    };
    match i32::try_from(fd) {
        // SAFETY: a fresh fd owned by nobody else.
        Ok(fd) if fd >= 0 => Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }),
        _ => Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)),
    }
}
