//! The sandboxee's modules (executable, libraries, vDSO): their bytes, read once per trace
//! within the limits, where their sections lie, and the load bias that turns a runtime address
//! into the module's own.
//!
//! A file is opened under the sandboxee's root (`/proc/PID/root`, `RESOLVE_IN_ROOT`: no symlink
//! it planted leads out of its view), non-blocking (a FIFO planted at the path cannot hang us),
//! and must be the regular file the kernel mapped (same device and inode as in `maps`). It is
//! read into memory, never mapped: a file truncated under us would be a SIGBUS in the host.

use super::maps::{self, Mapping};
use super::{limits, Budget};
use crate::sys::remote::openat2;
use object::read::elf::{ElfFile64, ElfSection64, ProgramHeader};
use object::{LittleEndian, Object, ObjectSection};
use std::io::Read;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

/// A section's bytes in the module's data and its address in the module's own terms.
#[derive(Debug, Clone)]
pub(super) struct Section {
    pub bytes: Range<usize>,
    pub address: u64,
}

/// One loaded module.
pub(super) struct Module {
    pub path: String,
    pub data: Vec<u8>,
    /// Runtime address minus the module's own address.
    pub bias: u64,
    pub eh_frame: Option<Section>,
    pub eh_frame_hdr: Option<Section>,
    pub debug_frame: Option<Section>,
    pub text: u64,
}

impl Module {
    pub(super) fn section(&self, s: &Section) -> &[u8] {
        self.data.get(s.bytes.clone()).unwrap_or(&[])
    }
}

/// What names a module: the device and inode the kernel mapped, and the path.
type Key = ((u32, u32), u64, String);

/// The modules of one trace, loaded on first use.
pub(super) struct Modules {
    tid: libc::pid_t,
    maps: Vec<Mapping>,
    /// (dev, inode, path) -> the module, or why it could not be loaded.
    loaded: Vec<(Key, Result<Module, String>)>,
}

impl Modules {
    pub(super) fn new(tid: libc::pid_t, maps: Vec<Mapping>) -> Modules {
        Modules {
            tid,
            maps,
            loaded: Vec::new(),
        }
    }

    /// The mapping that holds `addr`.
    pub(super) fn mapping(&self, addr: u64) -> Option<&Mapping> {
        maps::find(&self.maps, addr)
    }

    /// Whether `addr` lies in mapped memory.
    pub(super) fn is_mapped(&self, addr: u64) -> bool {
        self.mapping(addr).is_some()
    }

    /// The module that holds `addr` (loaded now if it has not been), or why there is none.
    pub(super) fn module_for(&mut self, addr: u64, budget: &mut Budget) -> Result<&Module, String> {
        let m = maps::find(&self.maps, addr)
            .ok_or_else(|| format!("{addr:#x} is not mapped"))?
            .clone();
        if m.path.is_empty() || (m.inode == 0 && m.path != "[vdso]") {
            return Err(format!("{addr:#x} is in anonymous memory"));
        }
        let i = if let Some(i) = self.position(&m) {
            i
        } else {
            let loaded = if self.loaded.len() >= limits::MAX_MODULES {
                Err("the module limit was reached".to_string())
            } else if budget.expired() {
                Err("the time limit was reached".to_string())
            } else {
                load(self.tid, &m, budget)
            };
            self.loaded.push(((m.dev, m.inode, m.path.clone()), loaded));
            self.loaded.len() - 1
        };
        match &self.loaded[i].1 {
            Ok(module) => Ok(module),
            Err(e) => Err(e.clone()),
        }
    }

    fn position(&self, m: &Mapping) -> Option<usize> {
        self.loaded
            .iter()
            .position(|((d, i, p), _)| *d == m.dev && *i == m.inode && *p == m.path)
    }

    /// The index of the already loaded module that holds `addr`.
    pub(super) fn loaded_index(&self, addr: u64) -> Option<usize> {
        let i = self.position(maps::find(&self.maps, addr)?)?;
        self.loaded[i].1.is_ok().then_some(i)
    }

    /// A module by [`loaded_index`](Self::loaded_index).
    pub(super) fn get(&self, i: usize) -> Option<&Module> {
        self.loaded.get(i)?.1.as_ref().ok()
    }
}

/// Reads and indexes the module mapped by `m`.
fn load(tid: libc::pid_t, m: &Mapping, budget: &mut Budget) -> Result<Module, String> {
    let data = if m.path == "[vdso]" {
        let len = usize::try_from(m.end - m.start).map_err(|_| "vdso too large".to_string())?;
        if len > 1 << 20 {
            return Err("vdso too large".into());
        }
        // The vDSO's start is its ELF header; its own addresses are relative to it.
        crate::sys::remote::read_memory(tid, m.start, len)
            .map_err(|e| format!("cannot read the vdso: errno {e}"))?
    } else {
        read_file(tid, m, budget)?
    };
    index(&m.path, data, m)
}

/// The module's sections and bias, from its ELF headers.
pub(super) fn index(path: &str, data: Vec<u8>, m: &Mapping) -> Result<Module, String> {
    let elf = ElfFile64::<LittleEndian>::parse(data.as_slice())
        .map_err(|e| format!("{path}: not a 64-bit little-endian ELF file: {e}"))?;
    if elf.architecture() != native() {
        return Err(format!("{path}: not this architecture's code"));
    }
    let endian = elf.endian();
    // The bias: file offset `m.offset` is at `m.start`; the segment the mapping holds says
    // which address of the module's own that offset has. Segments share pages at their edges
    // (a mapping starts at a page boundary, a segment need not), so the segment is the one
    // whose bytes overlap the mapping's most.
    let vdso = m.path == "[vdso]";
    let map_end = m.offset.saturating_add(m.end - m.start);
    let mut best: Option<(u64, u64)> = None; // (overlap, bias)
    for ph in elf.elf_program_headers() {
        if ph.p_type(endian) != object::elf::PT_LOAD {
            continue;
        }
        let (off, vaddr, size) = (ph.p_offset(endian), ph.p_vaddr(endian), ph.p_filesz(endian));
        if vdso {
            // Read from memory at its start: file offset 0 is at `m.start`.
            best = Some((1, m.start.wrapping_sub(vaddr.wrapping_sub(off))));
            break;
        }
        let overlap = map_end
            .min(off.saturating_add(size))
            .saturating_sub(m.offset.max(off));
        if overlap > best.map_or(0, |b| b.0) {
            let bias = m
                .start
                .wrapping_add(off)
                .wrapping_sub(m.offset)
                .wrapping_sub(vaddr);
            best = Some((overlap, bias));
        }
    }
    let bias = best.map(|b| b.1);
    let bias = bias.ok_or_else(|| format!("{path}: no loadable segment matches the mapping"))?;
    let find = |name: &str| -> Option<Section> {
        let s = elf.section_by_name(name)?;
        if compressed(&s) {
            return None;
        }
        let (off, size) = s.file_range()?;
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        (end <= data.len()).then_some(Section {
            bytes: start..end,
            address: s.address(),
        })
    };
    let eh_frame = find(".eh_frame");
    let eh_frame_hdr = find(".eh_frame_hdr");
    let debug_frame = find(".debug_frame");
    let text = elf.section_by_name(".text").map_or(0, |s| s.address());
    Ok(Module {
        path: path.to_string(),
        bias,
        eh_frame,
        eh_frame_hdr,
        debug_frame,
        text,
        data,
    })
}

/// Whether a section is compressed (or its header says nothing sane): its bytes are not used,
/// since inflating hostile data is a memory bomb.
pub(super) fn compressed(s: &ElfSection64<'_, '_, LittleEndian>) -> bool {
    s.compressed_file_range()
        .map_or(true, |r| r.format != object::CompressionFormat::None)
}

fn native() -> object::Architecture {
    if cfg!(target_arch = "aarch64") {
        object::Architecture::Aarch64
    } else {
        object::Architecture::X86_64
    }
}

/// The file `m` maps, read from the sandboxee's view within the byte limits.
fn read_file(tid: libc::pid_t, m: &Mapping, budget: &mut Budget) -> Result<Vec<u8>, String> {
    let rel = m
        .path
        .strip_prefix('/')
        .ok_or_else(|| format!("{}: not a path", m.path))?;
    if m.path.ends_with(" (deleted)") {
        return Err(format!("{}: the file was deleted", m.path));
    }
    let root = std::fs::File::open(format!("/proc/{tid}/root"))
        .map_err(|e| format!("cannot open the sandboxee's root: {e}"))?;
    let fd = openat2(
        root.as_raw_fd(),
        rel.as_bytes(),
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    )
    .map_err(|e| format!("{}: cannot open: errno {e}", m.path))?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().map_err(|e| format!("{}: {e}", m.path))?;
    let dev = (libc::major(meta.dev()), libc::minor(meta.dev()));
    if !meta.file_type().is_file() || meta.ino() != m.inode || dev != m.dev {
        return Err(format!("{}: not the file the sandboxee mapped", m.path));
    }
    let cap = limits::MAX_MODULE_BYTES.min(budget.bytes_left);
    if meta.len() > cap {
        return Err(format!(
            "{}: {} bytes, more than the {cap} bytes a trace may still read",
            m.path,
            meta.len()
        ));
    }
    let mut data = Vec::new();
    // `take`: the file may grow between the fstat and the read.
    file.take(cap)
        .read_to_end(&mut data)
        .map_err(|e| format!("{}: {e}", m.path))?;
    budget.bytes_left -= data.len() as u64;
    Ok(data)
}
