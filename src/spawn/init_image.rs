//! The sandbox's init process image: a tiny static ELF kept in a sealed memfd.
//!
//! Why: the init (pid 1 of the sandbox) is cloned with CLONE_VM like the sandboxee, so until it
//! execs it shares the host's memory. A long-lived process sharing the host's memory would let a
//! same-uid sandboxee read or write the host through `/proc/1/mem`. So init execs this image
//! right after starting the sandboxee: it then has its own memory, marks itself non-dumpable
//! (no `/proc/1/mem` access from the sandboxee), and only reaps children until none is left.
//! The monitor lets the sandboxee exec its target only after init has exec'd.
//!
//! The code (x86-64; AArch64 below), assembled with GNU as (`as --64`) from:
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
//!
//! The same two on AArch64, assembled with `aarch64-linux-gnu-as` (`scripts/test-aarch64.sh`
//! assembles these listings again and compares the bytes; the unit test below runs both images,
//! under `qemu-aarch64-static` when not native):
//! ```text
//!     mov x0, #4; mov x1, #0; mov x8, #167; svc #0                 // prctl(PR_SET_DUMPABLE, 0)
//! 1:  mov x0, #-1; mov x1, #0; mov x2, #0x40000000; mov x3, #0     // wait4(-1, NULL, __WALL, NULL)
//!     mov x8, #260; svc #0
//!     cmn x0, #10; b.ne 1b                                         // until -ECHILD
//!     mov x0, #0; mov x8, #94; svc #0; brk #0                      // exit_group(0)
//! ```
//! ```text
//!     mov x0, #4; mov x1, #0; mov x8, #167; svc #0                 // prctl(PR_SET_DUMPABLE, 0)
//!     sub sp, sp, #16; mov w9, #0x45; str w9, [sp]                 // 'E' on the stack
//!     mov x0, #3; mov x1, sp; mov x2, #1; mov x8, #64; svc #0      // write(3, "E", 1)
//! 1:  mov x0, #-1; mov x1, sp; mov x2, #0x40000000; mov x3, #0     // wait4(-1, sp, __WALL, NULL)
//!     mov x8, #260; svc #0
//!     cmp x0, #2; b.eq 2f                                          // the sandboxee ended
//!     cmn x0, #10; b.ne 1b                                         // until -ECHILD
//!     mov x0, #0; mov x8, #94; svc #0                              // exit_group(0)
//! 2:  mov x0, #3; mov x1, sp; mov x2, #4; mov x8, #64; svc #0      // write(3, sp, 4)
//!     mov x0, #0; mov x8, #94; svc #0; brk #0                      // exit_group(0)
//! ```

use crate::arch::Arch;
use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

/// One architecture's init codes (plain and user-notify) and its ELF `e_machine`.
pub(crate) struct Codes {
    machine: u16,
    code: &'static [u8],
    unotify_code: &'static [u8],
}

/// x86-64 (`EM_X86_64`), assembled from the first two listings above.
#[rustfmt::skip]
const X86_64: Codes = Codes {
    machine: 62,
    code: &[
        0xbf, 0x04, 0x00, 0x00, 0x00, 0x31, 0xf6, 0xb8, 0x9d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0xc7,
        0xc7, 0xff, 0xff, 0xff, 0xff, 0x31, 0xf6, 0xba, 0x00, 0x00, 0x00, 0x40, 0x45, 0x31, 0xd2, 0xb8,
        0x3d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83, 0xf8, 0xf6, 0x75, 0xe2, 0x31, 0xff, 0xb8, 0xe7,
        0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4,
    ],
    unotify_code: &[
        0xbf, 0x04, 0x00, 0x00, 0x00, 0x31, 0xf6, 0xb8, 0x9d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83,
        0xec, 0x10, 0xc7, 0x04, 0x24, 0x45, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x48, 0x89,
        0xe6, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0xc7, 0xc7,
        0xff, 0xff, 0xff, 0xff, 0x48, 0x89, 0xe6, 0xba, 0x00, 0x00, 0x00, 0x40, 0x45, 0x31, 0xd2, 0xb8,
        0x3d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83, 0xf8, 0x02, 0x74, 0x0f, 0x48, 0x83, 0xf8, 0xf6,
        0x75, 0xdb, 0x31, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x03, 0x00, 0x00, 0x00,
        0x48, 0x89, 0xe6, 0xba, 0x04, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x31,
        0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4,
    ],
};

/// AArch64 (`EM_AARCH64`), assembled from the last two listings above.
#[rustfmt::skip]
const AARCH64: Codes = Codes {
    machine: 183,
    code: &[
        0x80, 0x00, 0x80, 0xd2, 0x01, 0x00, 0x80, 0xd2, 0xe8, 0x14, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4,
        0x00, 0x00, 0x80, 0x92, 0x01, 0x00, 0x80, 0xd2, 0x02, 0x00, 0xa8, 0xd2, 0x03, 0x00, 0x80, 0xd2,
        0x88, 0x20, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0x1f, 0x28, 0x00, 0xb1, 0x21, 0xff, 0xff, 0x54,
        0x00, 0x00, 0x80, 0xd2, 0xc8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0x00, 0x00, 0x20, 0xd4,
    ],
    unotify_code: &[
        0x80, 0x00, 0x80, 0xd2, 0x01, 0x00, 0x80, 0xd2, 0xe8, 0x14, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4,
        0xff, 0x43, 0x00, 0xd1, 0xa9, 0x08, 0x80, 0x52, 0xe9, 0x03, 0x00, 0xb9, 0x60, 0x00, 0x80, 0xd2,
        0xe1, 0x03, 0x00, 0x91, 0x22, 0x00, 0x80, 0xd2, 0x08, 0x08, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4,
        0x00, 0x00, 0x80, 0x92, 0xe1, 0x03, 0x00, 0x91, 0x02, 0x00, 0xa8, 0xd2, 0x03, 0x00, 0x80, 0xd2,
        0x88, 0x20, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0x1f, 0x08, 0x00, 0xf1, 0xc0, 0x00, 0x00, 0x54,
        0x1f, 0x28, 0x00, 0xb1, 0xe1, 0xfe, 0xff, 0x54, 0x00, 0x00, 0x80, 0xd2, 0xc8, 0x0b, 0x80, 0xd2,
        0x01, 0x00, 0x00, 0xd4, 0x60, 0x00, 0x80, 0xd2, 0xe1, 0x03, 0x00, 0x91, 0x82, 0x00, 0x80, 0xd2,
        0x08, 0x08, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0x00, 0x00, 0x80, 0xd2, 0xc8, 0x0b, 0x80, 0xd2,
        0x01, 0x00, 0x00, 0xd4, 0x00, 0x00, 0x20, 0xd4,
    ],
};

/// The codes for `arch`, if the init is implemented there.
pub(crate) fn codes(arch: Arch) -> Option<&'static Codes> {
    match arch {
        Arch::X86_64 => Some(&X86_64),
        Arch::Aarch64 => Some(&AARCH64),
        _ => None,
    }
}

const LOAD_ADDR: u64 = 0x40_0000;
const EHDR_SIZE: u16 = 64;
const PHDR_SIZE: u16 = 56;

/// The ELF file: header, one PT_LOAD program header, then the code. Empty where the init is not
/// implemented (`create` refuses it).
pub(crate) fn image() -> Vec<u8> {
    codes(Arch::native()).map_or_else(Vec::new, |c| image_of(c.machine, c.code))
}

/// The user-notify monitor's init (reports through fd 3).
pub(crate) fn unotify_image() -> Vec<u8> {
    codes(Arch::native()).map_or_else(Vec::new, |c| image_of(c.machine, c.unotify_code))
}

fn image_of(machine: u16, code: &[u8]) -> Vec<u8> {
    let code_off = u64::from(EHDR_SIZE + PHDR_SIZE);
    let total = code_off + code.len() as u64;
    let mut e = Vec::with_capacity(usize::from(EHDR_SIZE + PHDR_SIZE) + code.len());
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV, padding.
    e.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    e.extend_from_slice(&2u16.to_le_bytes()); // e_type = ET_EXEC
    e.extend_from_slice(&machine.to_le_bytes());
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
            detail: "namespaced sandboxes are implemented for x86-64 and AArch64 only".into(),
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
    use super::{codes, image_of, Arch};
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    #[test]
    fn image_is_a_valid_static_elf() {
        let c = codes(Arch::native()).expect("the init is implemented for the build target");
        let img = super::image();
        assert_eq!(&img[..4], b"\x7fELF");
        assert_eq!(img.len(), 64 + 56 + c.code.len());
        assert!(super::memfd().is_ok());
        let img = super::unotify_image();
        assert_eq!(img.len(), 64 + 56 + c.unotify_code.len());
        assert!(super::unotify_memfd().is_ok());
    }

    /// How to run `arch`'s code here: directly (`Ok(None)`), through a qemu-user binary, or not
    /// at all (`Err(why)`). Under qemu-user (`SBX_UNDER_QEMU`) the kernel runs host code only.
    fn runner_for(arch: Arch) -> Result<Option<PathBuf>, String> {
        if arch == Arch::native() && std::env::var_os("SBX_UNDER_QEMU").is_none() {
            return Ok(None);
        }
        let name = match arch {
            Arch::X86_64 => "qemu-x86_64-static",
            _ => "qemu-aarch64-static",
        };
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .map(Some)
            .ok_or_else(|| format!("no {name} in PATH"))
    }

    /// Runs `img` with fd 3 on a pipe and no children; returns what it wrote there and its exit
    /// code. A shell writes the file and runs it, so no fd of this (threaded) process holds the
    /// file open for writing when it is executed (ETXTBSY).
    fn run(img: &[u8], name: &str, runner: Option<&Path>) -> (Vec<u8>, Option<i32>) {
        let file = std::env::temp_dir().join(format!("sbx-init-{}-{name}", std::process::id()));
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(r#"f=$1; shift; cat > "$f" && chmod 700 "$f" && "$@" "$f" 3>&1; s=$?; rm -f "$f"; exit $s"#)
            .arg("sh")
            .arg(&file)
            .args(runner)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn /bin/sh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(img)
            .expect("write the image");
        let out = child.wait_with_output().expect("wait");
        (out.stdout, out.status.code())
    }

    /// Both architectures' images, each run natively or under qemu-user: the plain one writes
    /// nothing and exits 0 once wait4 says ECHILD; the user-notify one writes 'E' on fd 3 first.
    /// (The pid-2 status report needs a pid namespace: `scripts/test-aarch64.sh` checks it.)
    #[test]
    fn images_run_and_exit_when_no_child_is_left() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let c = codes(arch).expect("both are implemented");
            let runner = match runner_for(arch) {
                Ok(r) => r,
                Err(why) => {
                    eprintln!("skipped: the {} images: {why}", arch.label());
                    continue;
                }
            };
            let label = arch.label();
            let plain = run(&image_of(c.machine, c.code), &label, runner.as_deref());
            assert_eq!(plain, (Vec::new(), Some(0)), "{label} init");
            let unotify = run(
                &image_of(c.machine, c.unotify_code),
                &label,
                runner.as_deref(),
            );
            assert_eq!(
                unotify,
                (b"E".to_vec(), Some(0)),
                "{label} user-notify init"
            );
        }
    }
}
