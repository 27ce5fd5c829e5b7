//! The sandbox's init process image: a tiny static ELF kept in a sealed memfd.
//!
//! Why: the init (pid 1 of the sandbox) is cloned with CLONE_VM like the sandboxee, so until it
//! execs it shares the host's memory. A long-lived process sharing the host's memory would let a
//! same-uid sandboxee read or write the host through `/proc/1/mem`. So init execs this image
//! right after starting the sandboxee: it then has its own memory, marks itself non-dumpable
//! (no `/proc/1/mem` access from the sandboxee), and only reaps children until none is left.
//! The monitor lets the sandboxee exec its target only after init has exec'd.
//!
//! The code (x86-64), assembled with GNU as (`as --64`) from:
//! ```text
//!     mov $4, %edi; xor %esi, %esi; mov $157, %eax; syscall      # prctl(PR_SET_DUMPABLE, 0)
//! 1:  mov $-1, %rdi; xor %esi, %esi; mov $0x40000000, %edx        # wait4(-1, NULL, __WALL, NULL)
//!     xor %r10d, %r10d; mov $61, %eax; syscall
//!     cmp $-10, %rax; jne 1b                                      # until -ECHILD
//!     xor %edi, %edi; mov $231, %eax; syscall; hlt                # exit_group(0)
//! ```
//!
//! Under the user-notify monitor (no ptrace, so nobody else sees the sandboxee end) the init
//! reports through fd 3 (`handoff.rs`): one byte when it runs, then the sandboxee's wait status
//! when pid 2 ends, and exits, which ends the pid namespace:
//! ```text
//!     mov $4, %edi; xor %esi, %esi; mov $157, %eax; syscall      # prctl(PR_SET_DUMPABLE, 0)
//!     sub $16, %rsp; movl $0x45, (%rsp)                           # 'E' on the stack
//!     mov $3, %edi; mov %rsp, %rsi; mov $1, %edx; mov $1, %eax; syscall   # write(3, "E", 1)
//! 1:  mov $-1, %rdi; mov %rsp, %rsi; mov $0x40000000, %edx        # wait4(-1, sp, __WALL, NULL)
//!     xor %r10d, %r10d; mov $61, %eax; syscall
//!     cmp $2, %rax; je 2f                                         # the sandboxee ended
//!     cmp $-10, %rax; jne 1b                                      # until -ECHILD
//!     xor %edi, %edi; mov $231, %eax; syscall                     # exit_group(0)
//! 2:  mov $3, %edi; mov %rsp, %rsi; mov $4, %edx; mov $1, %eax; syscall   # write(3, sp, 4)
//!     xor %edi, %edi; mov $231, %eax; syscall; hlt                # exit_group(0)
//! ```

use crate::error::{Error, Result};
use std::sync::OnceLock;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

#[cfg(target_arch = "x86_64")]
const CODE: &[u8] = &[
    0xbf, 0x04, 0x00, 0x00, 0x00, 0x31, 0xf6, 0xb8, 0x9d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0xc7,
    0xc7, 0xff, 0xff, 0xff, 0xff, 0x31, 0xf6, 0xba, 0x00, 0x00, 0x00, 0x40, 0x45, 0x31, 0xd2, 0xb8,
    0x3d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83, 0xf8, 0xf6, 0x75, 0xe2, 0x31, 0xff, 0xb8, 0xe7,
    0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4,
];
#[cfg(target_arch = "x86_64")]
const UNOTIFY_CODE: &[u8] = &[
    0xbf, 0x04, 0x00, 0x00, 0x00, 0x31, 0xf6, 0xb8, 0x9d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83,
    0xec, 0x10, 0xc7, 0x04, 0x24, 0x45, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x48, 0x89,
    0xe6, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0xc7, 0xc7,
    0xff, 0xff, 0xff, 0xff, 0x48, 0x89, 0xe6, 0xba, 0x00, 0x00, 0x00, 0x40, 0x45, 0x31, 0xd2, 0xb8,
    0x3d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83, 0xf8, 0x02, 0x74, 0x0f, 0x48, 0x83, 0xf8, 0xf6,
    0x75, 0xdb, 0x31, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x03, 0x00, 0x00, 0x00,
    0x48, 0x89, 0xe6, 0xba, 0x04, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x31,
    0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4,
];
#[cfg(target_arch = "x86_64")]
const MACHINE: u16 = 62; // EM_X86_64

const LOAD_ADDR: u64 = 0x40_0000;
const EHDR_SIZE: u16 = 64;
const PHDR_SIZE: u16 = 56;

/// The ELF file: header, one PT_LOAD program header, then the code.
#[cfg(target_arch = "x86_64")]
pub(crate) fn image() -> Vec<u8> {
    image_of(CODE)
}

/// The user-notify monitor's init (reports through fd 3).
#[cfg(target_arch = "x86_64")]
pub(crate) fn unotify_image() -> Vec<u8> {
    image_of(UNOTIFY_CODE)
}

#[cfg(target_arch = "x86_64")]
fn image_of(code: &[u8]) -> Vec<u8> {
    let code_off = u64::from(EHDR_SIZE + PHDR_SIZE);
    let total = code_off + code.len() as u64;
    let mut e = Vec::with_capacity(usize::from(EHDR_SIZE + PHDR_SIZE) + code.len());
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV, padding.
    e.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    e.extend_from_slice(&2u16.to_le_bytes()); // e_type = ET_EXEC
    e.extend_from_slice(&MACHINE.to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes()); // e_version
    e.extend_from_slice(&(LOAD_ADDR + code_off).to_le_bytes()); // e_entry
    e.extend_from_slice(&u64::from(EHDR_SIZE).to_le_bytes()); // e_phoff
    e.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    e.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    e.extend_from_slice(&EHDR_SIZE.to_le_bytes());
    e.extend_from_slice(&PHDR_SIZE.to_le_bytes());
    e.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    e.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
                                  // Program header: PT_LOAD, R+X, the whole file at LOAD_ADDR.
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&5u32.to_le_bytes());
    e.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    e.extend_from_slice(&LOAD_ADDR.to_le_bytes()); // p_vaddr
    e.extend_from_slice(&LOAD_ADDR.to_le_bytes()); // p_paddr
    e.extend_from_slice(&total.to_le_bytes()); // p_filesz
    e.extend_from_slice(&total.to_le_bytes()); // p_memsz
    e.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    e.extend_from_slice(code);
    e
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn image() -> Vec<u8> {
    Vec::new()
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn unotify_image() -> Vec<u8> {
    Vec::new()
}

static MEMFD: OnceLock<OwnedFd> = OnceLock::new();
static UNOTIFY_MEMFD: OnceLock<OwnedFd> = OnceLock::new();

/// The sealed memfd holding [`image`], created once per host process.
pub(crate) fn memfd() -> Result<RawFd> {
    once_fd(&MEMFD, image)
}

/// The sealed memfd holding [`unotify_image`], created once per host process.
pub(crate) fn unotify_memfd() -> Result<RawFd> {
    once_fd(&UNOTIFY_MEMFD, unotify_image)
}

/// `cell`'s memfd, created from `bytes()` on first use. A failure is not kept (the next call
/// tries again); two threads racing here may both create one, and the loser's is closed.
fn once_fd(cell: &'static OnceLock<OwnedFd>, bytes: fn() -> Vec<u8>) -> Result<RawFd> {
    if let Some(fd) = cell.get() {
        return Ok(fd.as_raw_fd());
    }
    let fd = create(&bytes())?;
    Ok(cell.get_or_init(|| fd).as_raw_fd())
}

#[allow(unsafe_code)]
fn create(img: &[u8]) -> Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10; // since Linux 6.3; older kernels reject it (EINVAL)
    if img.is_empty() {
        return Err(Error::Unsupported {
            feature: "sandbox init",
            detail: "namespaced sandboxes are implemented for x86-64 only so far".into(),
            fix: "use a policy without namespaces on this architecture",
        });
    }
    let name = b"sbx-init\0";
    let mut fd = -1;
    for flags in [
        libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | MFD_EXEC,
        libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
    ] {
        // SAFETY: NUL-terminated name, plain flags.
        fd = unsafe { libc::memfd_create(name.as_ptr().cast(), flags) };
        if fd >= 0 {
            break;
        }
    }
    if fd < 0 {
        return Err(Error::last_os("memfd_create(sbx-init)"));
    }
    // SAFETY: fresh fd owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut off = 0;
    while off < img.len() {
        // SAFETY: writing from a live buffer.
        let n = unsafe { libc::write(fd.as_raw_fd(), img[off..].as_ptr().cast(), img.len() - off) };
        if n <= 0 {
            return Err(Error::last_os("write(sbx-init)"));
        }
        off += n.unsigned_abs(); // positive: checked above
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our fd.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(Error::last_os("fcntl(F_ADD_SEALS)"));
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_is_a_valid_static_elf() {
        let img = super::image();
        assert_eq!(&img[..4], b"\x7fELF");
        assert_eq!(img.len(), 64 + 56 + super::CODE.len());
        assert!(super::memfd().is_ok());
        let img = super::unotify_image();
        assert_eq!(img.len(), 64 + 56 + super::UNOTIFY_CODE.len());
        assert!(super::unotify_memfd().is_ok());
    }
}
