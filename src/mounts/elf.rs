//! Which files the dynamic loader needs to start a binary (sandbox2's `AddLibrariesForBinary`).
//!
//! Bind-mounting all of `/usr` would show the sandboxee far more than it needs. Instead this
//! module reads the binary's ELF headers and replays the glibc loader's search (DT_RPATH,
//! extra directories like `LD_LIBRARY_PATH`, DT_RUNPATH, `/etc/ld.so.cache`, the system
//! directories) so that exactly the interpreter and the transitive DT_NEEDED libraries are
//! mounted.
//!
//! The binaries are untrusted. Every offset and size taken from a file is checked before use,
//! files are read with small bounded `pread`s (never wholesale), and the dependency walk is an
//! iterative breadth-first search with hard limits on depth, library count and paths probed. A
//! hostile file therefore produces an [`Error::InvalidArgument`], never a panic, unbounded
//! recursion or an allocation sized by a count the file claims.
//!
//! Paths: `inside` is where the loader running in the sandbox will open the file (lexically
//! normalized, as the sandbox tree is built from plain directories); `host` is the file to bind
//! there. They are the same string unless the search path went through `..` (e.g.
//! `$ORIGIN/../lib`), in which case the host directory is resolved physically, as the kernel
//! would on the host. The binary itself is assumed to be mounted at its given path, so `$ORIGIN`
//! of the binary is the directory of that path (not of its symlink target).

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Longest dependency chain followed (the binary's direct dependencies are at depth 1).
const MAX_DEPTH: usize = 64;
/// Most distinct libraries (plus interpreter) one binary may pull in.
const MAX_LIBRARIES: usize = 1024;
/// The kernel refuses program header tables larger than this (`load_elf_phdrs`).
const MAX_PHDR_BYTES: u64 = 65536;
/// Real dynamic sections have well under a hundred entries; this bounds the bytes we scan.
const MAX_DYN_ENTRIES: u64 = 65536;
/// DT_NEEDED entries accepted per object.
const MAX_NEEDED: usize = 1024;
/// Longest string (path, name, search path) read from a file: PATH_MAX.
const MAX_STRING: usize = 4096;
/// Candidate paths stat'ed per call; bounds the work of hostile RPATH/DT_NEEDED combinations.
const MAX_PROBES: usize = 200_000;
/// `/etc/ld.so.cache` is read whole; real ones are well under a megabyte.
const MAX_CACHE_SIZE: u64 = 64 << 20;
/// Largest single read; every caller already caps its size far below this.
const MAX_READ: u64 = 1 << 20;
/// Where glibc's ldconfig writes the cache.
const LD_SO_CACHE: &str = "/etc/ld.so.cache";

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
const DT_FLAGS_1: u64 = 0x6fff_fffb;
const DF_1_NODEFLIB: u64 = 0x800;

const EM_386: u16 = 3;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// One file the loader needs: where the loader will look for it inside the sandbox, and the host
/// file to mount there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LibraryFile {
    /// Absolute, normalized path at which the loader opens the file inside the sandbox.
    pub inside: PathBuf,
    /// Absolute host path to bind-mount there (canonical lexically; it may be a symlink, which
    /// the bind follows, and it is known to lead to a regular file).
    pub host: PathBuf,
}

/// Parsed facts of one ELF file (exposed for tests and diagnostics).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElfInfo {
    /// ELFCLASS64 (true) or ELFCLASS32.
    pub class64: bool,
    /// `e_machine` (62 = x86-64, 183 = AArch64, 3 = i386, ...).
    pub machine: u16,
    /// The PT_INTERP path, if the file asks for a program interpreter.
    pub interpreter: Option<String>,
    /// DT_NEEDED names, in file order.
    pub needed: Vec<String>,
    /// DT_RPATH split at `:` (empty when absent), verbatim: `$ORIGIN` etc. are not expanded.
    pub rpath: Vec<String>,
    /// DT_RUNPATH split at `:` (empty when absent), verbatim.
    pub runpath: Vec<String>,
    /// DT_SONAME: the loader treats a DT_NEEDED equal to an already loaded object's soname as
    /// satisfied by that object (this is how libc's need for `ld-linux*.so.2` is met).
    pub soname: Option<String>,
    /// DF_1_NODEFLIB: dependencies of this object skip ld.so.cache and the system directories.
    pub nodeflib: bool,
}

/// Parses the ELF headers and dynamic section in `bytes` (a whole file image).
///
/// Errors ([`Error::InvalidArgument`]) on anything malformed or unsupported: not ELF, big-endian,
/// truncated or out-of-range headers, segments or strings, a dynamic section without DT_NULL.
pub fn parse(bytes: &[u8]) -> Result<ElfInfo> {
    parse_source(bytes, "ELF image")
}

/// Interpreter + all transitive DT_NEEDED libraries of `binary` (not the binary itself),
/// deduplicated, in a stable order: the interpreter first, then libraries in the loader's
/// breadth-first load order.
///
/// `extra_search` are extra directories (like `LD_LIBRARY_PATH`) searched after DT_RPATH and
/// before DT_RUNPATH, as glibc does; `$ORIGIN` in them is the binary's directory. A binary without
/// PT_INTERP (static, static-pie) needs no files and yields an empty list. A library that cannot
/// be found is an error naming it and the object that needs it.
pub fn libraries_for_binary(binary: &Path, extra_search: &[PathBuf]) -> Result<Vec<LibraryFile>> {
    let host = absolute(binary)?;
    let name = host.display().to_string();
    let (src, id) =
        open_regular(&host).map_err(|e| invalid(format!("{name}: cannot open: {e}")))?;
    let info = parse_source(&src, &name)?;
    drop(src);
    // Without PT_INTERP the kernel starts the binary directly: no loader, no libraries.
    let Some(interp) = info.interpreter.clone() else {
        return Ok(Vec::new());
    };
    let mut r = Resolver::new(info.class64, info.machine);
    let main_inside = normalize(&host);
    r.add_names(0, &info.soname);
    r.ids.insert(id, 0);
    r.objs.push(Obj {
        host: host.clone(),
        info,
        loader: None,
        depth: 0,
    });
    r.seen_inside.insert(main_inside);

    let origin = origin_of(&host);
    for dir in extra_search {
        for expanded in r.expand(dir.as_os_str().as_bytes(), &origin) {
            let p = PathBuf::from(OsString::from_vec(expanded));
            if !p.is_absolute() {
                return Err(invalid(format!(
                    "extra search directory {} is not absolute (the sandbox's working directory is unknown)",
                    p.display()
                )));
            }
            r.extra.push(p);
        }
    }

    if !interp.starts_with('/') {
        return Err(invalid(format!(
            "{name}: interpreter {interp:?} is a relative path, which depends on the working directory"
        )));
    }
    let interp_path = PathBuf::from(&interp);
    let cand = r
        .probe(&interp_path)
        .map_err(|e| context(e, &format!("the interpreter of {name}")))?;
    let Some(cand) = cand else {
        return Err(invalid(format!(
            "{name}: interpreter {interp} is missing, not a regular file, or not a {} ELF file for machine {}",
            if r.class64 { "64-bit" } else { "32-bit" },
            r.machine
        )));
    };
    // The loader is mapped by the kernel, not searched for; it answers to its PT_INTERP path and
    // its soname. Its own DT_NEEDED (normally none) are never loaded, so it is not queued.
    r.add_object(0, OsString::from(&interp), interp_path, cand, false)?;

    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        let needed = r.objs[i].info.needed.clone();
        for lib in needed {
            if let Some(new) = r.need(i, &lib)? {
                queue.push_back(new);
            }
        }
    }
    Ok(r.out)
}

// ---------------------------------------------------------------------------------------------
// Bounded reading

/// Random access to a file image; implemented for in-memory bytes and for files (`pread`).
trait Source {
    fn size(&self) -> u64;
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<()>;
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<()> {
        let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let start = usize::try_from(off).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        buf.copy_from_slice(self.get(start..end).ok_or_else(eof)?);
        Ok(())
    }
}

/// A regular file read with `pread`, so huge libraries cost only the bytes we look at.
struct FileSource {
    file: File,
    size: u64,
}

impl Source for FileSource {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<()> {
        FileExt::read_exact_at(&self.file, buf, off)
    }
}

/// Opens `path` (following symlinks) if it is a regular file; returns it with its (dev, ino).
fn open_regular(path: &Path) -> std::io::Result<(FileSource, (u64, u64))> {
    let not_regular =
        || std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
    // stat first: opening a FIFO or a device could block or have side effects.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // Check again on the opened file: the path may have been swapped in between.
    let md = file.metadata()?;
    if !md.is_file() {
        return Err(not_regular());
    }
    Ok((
        FileSource {
            file,
            size: md.len(),
        },
        (md.dev(), md.ino()),
    ))
}

/// Little-endian integer of `n` bytes at `off`; bytes outside `b` read as 0 (callers size `b`
/// first, this only guarantees that a mistake cannot panic).
fn le(b: &[u8], off: usize, n: usize) -> u64 {
    (0..n).fold(0u64, |v, i| {
        let byte = off
            .checked_add(i)
            .and_then(|j| b.get(j))
            .copied()
            .unwrap_or(0);
        v | (u64::from(byte) << (8 * i))
    })
}

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// Adds where an error happened to a message that already names the file.
fn context(e: Error, what: &str) -> Error {
    match e {
        Error::InvalidArgument(m) => {
            Error::InvalidArgument(format!("{m} (while resolving {what})"))
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// ELF parsing

struct Header {
    class64: bool,
    machine: u16,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
}

#[derive(Clone, Copy)]
struct Segment {
    ptype: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// A located string table: file offset and the bytes usable from there.
struct StrTab {
    off: u64,
    limit: u64,
}

struct Reader<'a, S: Source + ?Sized> {
    src: &'a S,
    name: &'a str,
}

impl<S: Source + ?Sized> Reader<'_, S> {
    fn err(&self, msg: impl std::fmt::Display) -> Error {
        invalid(format!("{}: {msg}", self.name))
    }

    /// Reads exactly `len` bytes at `off`, after checking both against the file size.
    fn read(&self, off: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        let size = self.src.size();
        match off.checked_add(len) {
            Some(end) if end <= size => {}
            _ => {
                return Err(self.err(format_args!(
                    "{what} (offset {off:#x}, {len:#x} bytes) extends past the end of the file ({size:#x} bytes)"
                )))
            }
        }
        if len > MAX_READ {
            return Err(self.err(format_args!("{what} is too large ({len:#x} bytes)")));
        }
        // MAX_READ fits in usize on every target.
        let mut buf = vec![0u8; len as usize];
        self.src
            .read_exact_at(&mut buf, off)
            .map_err(|e| self.err(format_args!("cannot read {what} at offset {off:#x}: {e}")))?;
        Ok(buf)
    }

    fn header(&self) -> Result<Header> {
        let size = self.src.size();
        if size < 16 {
            return Err(self.err(format_args!("too short for an ELF header ({size} bytes)")));
        }
        let ident = self.read(0, 16, "ELF identification")?;
        if ident[..4] != *b"\x7fELF" {
            return Err(self.err("not an ELF file (bad magic)"));
        }
        let class64 = match ident[4] {
            1 => false,
            2 => true,
            c => return Err(self.err(format_args!("unsupported ELF class {c}"))),
        };
        match ident[5] {
            1 => {}
            2 => return Err(self.err("big-endian ELF files are not supported")),
            d => return Err(self.err(format_args!("invalid ELF data encoding {d}"))),
        }
        if ident[6] != 1 {
            return Err(self.err(format_args!("unsupported ELF version {}", ident[6])));
        }
        let ehsize = if class64 { 64 } else { 52 };
        if size < ehsize {
            return Err(self.err(format_args!(
                "truncated ELF header ({size} of {ehsize} bytes)"
            )));
        }
        let h = self.read(0, ehsize, "ELF header")?;
        let etype = le(&h, 16, 2) as u16;
        // Only these can be exec'd or loaded; relocatable objects and core dumps cannot.
        if etype != 2 && etype != 3 {
            return Err(self.err(format_args!(
                "not an executable or shared object (e_type {etype})"
            )));
        }
        let machine = le(&h, 18, 2) as u16;
        let (phoff, phentsize, phnum) = if class64 {
            (le(&h, 32, 8), le(&h, 54, 2) as u16, le(&h, 56, 2) as u16)
        } else {
            (le(&h, 28, 4), le(&h, 42, 2) as u16, le(&h, 44, 2) as u16)
        };
        Ok(Header {
            class64,
            machine,
            phoff,
            phentsize,
            phnum,
        })
    }

    fn program_headers(&self, h: &Header) -> Result<Vec<Segment>> {
        if h.phnum == 0 {
            return Ok(Vec::new());
        }
        let want: u16 = if h.class64 { 56 } else { 32 };
        if h.phentsize != want {
            return Err(self.err(format_args!(
                "program header entry size {} (expected {want})",
                h.phentsize
            )));
        }
        let total = u64::from(h.phnum) * u64::from(want);
        if total > MAX_PHDR_BYTES {
            // Also rejects PN_XNUM (0xffff), which neither the kernel nor glibc supports.
            return Err(self.err(format_args!(
                "too many program headers (e_phnum {})",
                h.phnum
            )));
        }
        let table = self.read(h.phoff, total, "program header table")?;
        let segs = table
            .chunks_exact(usize::from(want))
            .map(|p| {
                if h.class64 {
                    Segment {
                        ptype: le(p, 0, 4) as u32,
                        offset: le(p, 8, 8),
                        vaddr: le(p, 16, 8),
                        filesz: le(p, 32, 8),
                    }
                } else {
                    Segment {
                        ptype: le(p, 0, 4) as u32,
                        offset: le(p, 4, 4),
                        vaddr: le(p, 8, 4),
                        filesz: le(p, 16, 4),
                    }
                }
            })
            .collect();
        Ok(segs)
    }

    fn interp(&self, s: &Segment) -> Result<String> {
        // The kernel's own limits (fs/binfmt_elf.c): 2..=PATH_MAX bytes, last one NUL.
        if s.filesz < 2 || s.filesz > MAX_STRING as u64 {
            return Err(self.err(format_args!("PT_INTERP has invalid size {:#x}", s.filesz)));
        }
        let buf = self.read(s.offset, s.filesz, "PT_INTERP")?;
        if buf.last() != Some(&0) {
            return Err(self.err("PT_INTERP is not NUL-terminated"));
        }
        let n = buf.iter().position(|&b| b == 0).unwrap_or(0);
        if n == 0 {
            return Err(self.err("PT_INTERP is empty"));
        }
        String::from_utf8(buf[..n].to_vec()).map_err(|_| self.err("PT_INTERP is not valid UTF-8"))
    }

    /// Scans PT_DYNAMIC in fixed-size chunks up to DT_NULL, then reads the strings it refers to.
    fn dynamic(&self, h: &Header, segs: &[Segment], d: &Segment, info: &mut ElfInfo) -> Result<()> {
        let esz: u64 = if h.class64 { 16 } else { 8 };
        if d.filesz < esz {
            return Err(self.err("PT_DYNAMIC is empty"));
        }
        let size = self.src.size();
        if d.offset >= size {
            return Err(self.err(format_args!(
                "PT_DYNAMIC offset {:#x} is past the end of the file ({size:#x} bytes)",
                d.offset
            )));
        }
        let declared = d.filesz / esz;
        let in_file = (size - d.offset) / esz;
        let limit = declared.min(in_file).min(MAX_DYN_ENTRIES);

        let mut needed = Vec::new();
        let (mut strtab, mut strsz, mut rpath, mut runpath, mut soname) =
            (None, None, None, None, None);
        let mut terminated = false;
        let mut idx = 0u64;
        'scan: while idx < limit {
            let n = (limit - idx).min(256);
            let buf = self.read(d.offset + idx * esz, n * esz, "dynamic section")?;
            for e in buf.chunks_exact(esz as usize) {
                let (tag, val) = if h.class64 {
                    (le(e, 0, 8), le(e, 8, 8))
                } else {
                    (le(e, 0, 4), le(e, 4, 4))
                };
                // Later duplicates win, as in glibc's get-dynamic-info (DT_NEEDED accumulates).
                match tag {
                    DT_NULL => {
                        terminated = true;
                        break 'scan;
                    }
                    DT_NEEDED => {
                        if needed.len() >= MAX_NEEDED {
                            return Err(
                                self.err(format_args!("more than {MAX_NEEDED} DT_NEEDED entries"))
                            );
                        }
                        needed.push(val);
                    }
                    DT_STRTAB => strtab = Some(val),
                    DT_STRSZ => strsz = Some(val),
                    DT_SONAME => soname = Some(val),
                    DT_RPATH => rpath = Some(val),
                    DT_RUNPATH => runpath = Some(val),
                    DT_FLAGS_1 => info.nodeflib = val & DF_1_NODEFLIB != 0,
                    _ => {}
                }
            }
            idx += n;
        }
        if !terminated {
            return Err(self.err(if limit == MAX_DYN_ENTRIES {
                format!("more than {MAX_DYN_ENTRIES} dynamic entries")
            } else if in_file < declared {
                "PT_DYNAMIC extends past the end of the file without a DT_NULL terminator"
                    .to_string()
            } else {
                "PT_DYNAMIC has no DT_NULL terminator".to_string()
            }));
        }

        if needed.is_empty() && rpath.is_none() && runpath.is_none() && soname.is_none() {
            return Ok(());
        }
        let Some(strtab) = strtab else {
            return Err(self.err("dynamic section refers to strings but has no DT_STRTAB"));
        };
        // DT_STRTAB is a virtual address: find the file bytes that PT_LOAD maps there.
        let located = segs.iter().filter(|s| s.ptype == PT_LOAD).find_map(|s| {
            let delta = strtab.checked_sub(s.vaddr)?;
            if delta >= s.filesz {
                return None;
            }
            Some((s.offset.checked_add(delta)?, s.filesz - delta))
        });
        let Some((off, avail)) = located else {
            return Err(self.err(format_args!(
                "DT_STRTAB address {strtab:#x} is not in the file data of any PT_LOAD segment"
            )));
        };
        let st = StrTab {
            off,
            limit: strsz.map_or(avail, |s| s.min(avail)),
        };
        for v in needed {
            info.needed.push(self.string(&st, v, "DT_NEEDED")?);
        }
        if let Some(v) = soname {
            info.soname = Some(self.string(&st, v, "DT_SONAME")?);
        }
        if let Some(v) = rpath {
            info.rpath = self
                .string(&st, v, "DT_RPATH")?
                .split(':')
                .map(String::from)
                .collect();
        }
        if let Some(v) = runpath {
            info.runpath = self
                .string(&st, v, "DT_RUNPATH")?
                .split(':')
                .map(String::from)
                .collect();
        }
        Ok(())
    }

    fn string(&self, st: &StrTab, idx: u64, what: &str) -> Result<String> {
        if idx >= st.limit {
            return Err(self.err(format_args!(
                "{what} string offset {idx:#x} is outside the string table ({:#x} bytes)",
                st.limit
            )));
        }
        let size = self.src.size();
        let start = match st.off.checked_add(idx) {
            Some(s) if s < size => s,
            _ => {
                return Err(self.err(format_args!(
                    "{what} string offset {idx:#x} is past the end of the file"
                )))
            }
        };
        let len = (st.limit - idx)
            .min(MAX_STRING as u64 + 1)
            .min(size - start);
        let buf = self.read(start, len, what)?;
        let Some(n) = buf.iter().position(|&b| b == 0) else {
            return Err(self.err(format_args!(
                "{what} string at offset {idx:#x} is not NUL-terminated within the string table, the file or {MAX_STRING} bytes"
            )));
        };
        String::from_utf8(buf[..n].to_vec()).map_err(|_| {
            self.err(format_args!(
                "{what} string at offset {idx:#x} is not valid UTF-8"
            ))
        })
    }
}

fn parse_source<S: Source + ?Sized>(src: &S, name: &str) -> Result<ElfInfo> {
    let r = Reader { src, name };
    let h = r.header()?;
    let segs = r.program_headers(&h)?;
    let mut info = ElfInfo {
        class64: h.class64,
        machine: h.machine,
        ..ElfInfo::default()
    };
    // The kernel uses the first PT_INTERP; we take the first PT_DYNAMIC likewise.
    if let Some(s) = segs.iter().find(|s| s.ptype == PT_INTERP) {
        info.interpreter = Some(r.interp(s)?);
    }
    if let Some(d) = segs.iter().find(|s| s.ptype == PT_DYNAMIC) {
        r.dynamic(&h, &segs, d, &mut info)?;
    }
    Ok(info)
}

/// The class from `e_ident` if the magic is right, without validating anything else.
fn ident_class<S: Source + ?Sized>(src: &S) -> Option<bool> {
    let mut id = [0u8; 5];
    src.read_exact_at(&mut id, 0).ok()?;
    if id[..4] != *b"\x7fELF" {
        return None;
    }
    match id[4] {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Per-architecture facts of the glibc loader

fn multiarch(class64: bool, machine: u16) -> Option<&'static str> {
    match (class64, machine) {
        (true, EM_X86_64) => Some("x86_64-linux-gnu"),
        (false, EM_X86_64) => Some("x86_64-linux-gnux32"),
        (false, EM_386) => Some("i386-linux-gnu"),
        (true, EM_AARCH64) => Some("aarch64-linux-gnu"),
        (false, EM_ARM) => Some("arm-linux-gnueabihf"),
        _ => None,
    }
}

/// The loader's built-in search directories (after ld.so.cache).
fn default_dirs(class64: bool, machine: u16) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(ma) = multiarch(class64, machine) {
        v.push(PathBuf::from(format!("/lib/{ma}")));
        v.push(PathBuf::from(format!("/usr/lib/{ma}")));
    }
    let wide = if class64 { "64" } else { "32" };
    v.push(PathBuf::from(format!("/lib{wide}")));
    v.push(PathBuf::from(format!("/usr/lib{wide}")));
    v.push(PathBuf::from("/lib"));
    v.push(PathBuf::from("/usr/lib"));
    v
}

/// Values `$LIB` may have: it is fixed when glibc is built (Debian: `lib/<multiarch>`, Fedora:
/// `lib64`), so every plausible one is tried in turn.
fn lib_values(class64: bool, machine: u16) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(ma) = multiarch(class64, machine) {
        v.push(format!("lib/{ma}"));
    }
    v.push(if class64 { "lib64" } else { "lib32" }.to_string());
    v.push("lib".to_string());
    v
}

/// Values `$PLATFORM` may have: on x86-64 glibc picks it from CPU features.
fn platform_values(class64: bool, machine: u16) -> &'static [&'static str] {
    match (class64, machine) {
        (true, EM_X86_64) => &["x86_64", "haswell", "xeon_phi"],
        (false, EM_386) => &["i686"],
        (true, EM_AARCH64) => &["aarch64"],
        _ => &[],
    }
}

/// The ld.so.cache entry flags the loader of this class/machine accepts besides 1 (plain ELF),
/// as `_DL_CACHE_DEFAULT_ID` in glibc's dl-cache.h; `None`: we do not know, skip the cache.
fn cache_flags(class64: bool, machine: u16) -> Option<i32> {
    match (class64, machine) {
        (true, EM_X86_64) => Some(0x0303), // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
        (false, EM_X86_64) => Some(0x0803), // FLAG_ELF_LIBC6 | FLAG_X8664_LIBX32
        (false, EM_386) => Some(0x0003),   // FLAG_ELF_LIBC6
        (true, EM_AARCH64) => Some(0x0a03), // FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// /etc/ld.so.cache

/// A parsed ld.so.cache: the raw bytes plus where the entry table and strings are.
struct LdCache {
    data: Vec<u8>,
    entries: usize,
    nlibs: usize,
    entry_size: usize,
    /// Base that entry key/value offsets are relative to.
    strings: usize,
}

impl LdCache {
    const OLD_MAGIC: &'static [u8] = b"ld.so-1.7.0";
    const NEW_MAGIC: &'static [u8] = b"glibc-ld.so.cache1.1";
    const NEW_HEADER: usize = 48;
    const NEW_ENTRY: usize = 24;
    const OLD_ENTRY: usize = 12;

    /// Reads the cache; a missing or broken cache is ignored, as the loader ignores it.
    fn load(path: &Path) -> Option<LdCache> {
        let mut data = Vec::new();
        let read = File::open(path).and_then(|f| f.take(MAX_CACHE_SIZE + 1).read_to_end(&mut data));
        if let Err(e) = read {
            log::debug!("{}: not used: {e}", path.display());
            return None;
        }
        if data.len() as u64 > MAX_CACHE_SIZE {
            log::warn!(
                "{}: larger than {MAX_CACHE_SIZE} bytes, not used",
                path.display()
            );
            return None;
        }
        match LdCache::parse(data) {
            Ok(c) => Some(c),
            Err(e) => {
                log::warn!("{}: not used: {e}", path.display());
                None
            }
        }
    }

    fn parse(data: Vec<u8>) -> std::result::Result<LdCache, String> {
        let len = data.len();
        let new_at = |off: usize| {
            off.checked_add(Self::NEW_HEADER)
                .is_some_and(|end| end <= len)
                && data
                    .get(off..)
                    .is_some_and(|d| d.starts_with(Self::NEW_MAGIC))
        };
        let new_off = if data.starts_with(Self::OLD_MAGIC) {
            if len < 16 {
                return Err("truncated old-format header".into());
            }
            let n = le(&data, 12, 4) as usize;
            let end = n
                .checked_mul(Self::OLD_ENTRY)
                .and_then(|b| b.checked_add(16))
                .filter(|&e| e <= len)
                .ok_or("old-format entries extend past the end")?;
            // glibc: the new header follows at ALIGN_CACHE(end), the alignment of
            // struct cache_file_new (8 on 64-bit ABIs, 4 on i386).
            let a8 = (end + 7) & !7;
            let a4 = (end + 3) & !3;
            if new_at(a8) {
                a8
            } else if new_at(a4) {
                a4
            } else {
                // Old format only: strings start right after the entries.
                return Ok(LdCache {
                    data,
                    entries: 16,
                    nlibs: n,
                    entry_size: Self::OLD_ENTRY,
                    strings: end,
                });
            }
        } else if new_at(0) {
            0
        } else {
            return Err("unknown format (bad magic)".into());
        };
        let nlibs = le(&data, new_off + 20, 4) as usize;
        // flags: endianness in the low two bits; 0 = unset (old ldconfig), 2 = little.
        let endian = data.get(new_off + 28).copied().unwrap_or(0) & 3;
        if endian != 0 && endian != 2 {
            return Err(format!("not a little-endian cache (flags {endian})"));
        }
        let entries = new_off + Self::NEW_HEADER;
        nlibs
            .checked_mul(Self::NEW_ENTRY)
            .and_then(|b| b.checked_add(entries))
            .filter(|&e| e <= len)
            .ok_or("entries extend past the end")?;
        // Per glibc dl-cache.c, the new format's string offsets are relative to its header.
        Ok(LdCache {
            data,
            entries,
            nlibs,
            entry_size: Self::NEW_ENTRY,
            strings: new_off,
        })
    }

    /// The path of the first entry named `name` with acceptable flags and no hwcap requirement.
    fn lookup(&self, name: &[u8], flags: i32) -> Option<PathBuf> {
        // Entries with hwcap bits are variants for particular CPUs (glibc-hwcaps); the baseline
        // entry without them is what every CPU can use.
        (0..self.nlibs).find_map(|i| {
            let e = self.entries + i * self.entry_size;
            let f = le(&self.data, e, 4) as u32 as i32;
            if f != 1 && f != flags {
                return None;
            }
            if self.entry_size == Self::NEW_ENTRY && le(&self.data, e + 16, 8) != 0 {
                return None;
            }
            let key = self
                .strings
                .checked_add(le(&self.data, e + 4, 4) as usize)?;
            let end = key.checked_add(name.len())?;
            if self.data.get(key..end)? != name || self.data.get(end) != Some(&0) {
                return None;
            }
            let value = self
                .strings
                .checked_add(le(&self.data, e + 8, 4) as usize)?;
            let rest = self.data.get(value..)?;
            let rest = &rest[..rest.len().min(MAX_STRING + 1)];
            let n = rest.iter().position(|&b| b == 0)?;
            let p = PathBuf::from(OsStr::from_bytes(&rest[..n]));
            p.is_absolute().then_some(p)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Path helpers

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| {
        invalid(format!(
            "{}: cannot resolve relative path: {e}",
            p.display()
        ))
    })?;
    Ok(cwd.join(p))
}

/// Lexical normalization of an absolute path: drops `.` and empty components, applies `..`.
fn normalize(p: &Path) -> PathBuf {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in p.as_os_str().as_bytes().split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = Vec::new();
    for c in parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    PathBuf::from(OsString::from_vec(out))
}

/// The host path to mount: the same as `inside` unless the path went through `..`, which the
/// host kernel resolves physically (through symlinks), so the directory is canonicalized there.
fn host_path(p: &Path) -> PathBuf {
    let has_dotdot = p
        .as_os_str()
        .as_bytes()
        .split(|&b| b == b'/')
        .any(|c| c == b"..");
    if has_dotdot {
        if let (Some(dir), Some(file)) = (p.parent(), p.file_name()) {
            if let Ok(dir) = std::fs::canonicalize(dir) {
                return dir.join(file);
            }
        }
    }
    normalize(p)
}

/// `$ORIGIN` of an object: the directory of the path it was opened by.
fn origin_of(p: &Path) -> Vec<u8> {
    p.parent()
        .unwrap_or(Path::new("/"))
        .as_os_str()
        .as_bytes()
        .to_vec()
}

#[derive(Clone, Copy, PartialEq)]
enum Dst {
    Origin,
    Lib,
    Platform,
}

/// Recognizes a dynamic string token after a `$`: `NAME` not followed by an identifier
/// character, or `{NAME}` (glibc's `is_dst`). Returns the token and the bytes it spans.
fn match_dst(rest: &[u8]) -> Option<(Dst, usize)> {
    for (tok, name) in [
        (Dst::Origin, &b"ORIGIN"[..]),
        (Dst::Lib, b"LIB"),
        (Dst::Platform, b"PLATFORM"),
    ] {
        if let Some(r) = rest.strip_prefix(b"{") {
            if r.starts_with(name) && r.get(name.len()) == Some(&b'}') {
                return Some((tok, name.len() + 2));
            }
        } else if rest.starts_with(name)
            && !rest
                .get(name.len())
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return Some((tok, name.len()));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The search

/// A loaded object (glibc's `link_map`), index 0 being the binary.
struct Obj {
    /// The path it was opened by (glibc's `l_name`), absolute and not normalized.
    host: PathBuf,
    info: ElfInfo,
    /// The object whose DT_NEEDED loaded it (`l_loader`); its DT_RPATH is inherited.
    loader: Option<usize>,
    depth: usize,
}

struct Candidate {
    info: ElfInfo,
    id: (u64, u64),
}

struct Resolver {
    class64: bool,
    machine: u16,
    objs: Vec<Obj>,
    /// Names each object answers to (`l_libname` + `l_name`): DT_NEEDED strings that loaded it,
    /// the path it was opened by and its soname.
    names: HashMap<OsString, usize>,
    /// (dev, ino) of each object: the loader notices a file it already has under another path.
    ids: HashMap<(u64, u64), usize>,
    out: Vec<LibraryFile>,
    seen_inside: HashSet<PathBuf>,
    extra: Vec<PathBuf>,
    cache: Option<Option<LdCache>>,
    probes: usize,
}

impl Resolver {
    fn new(class64: bool, machine: u16) -> Self {
        Resolver {
            class64,
            machine,
            objs: Vec::new(),
            names: HashMap::new(),
            ids: HashMap::new(),
            out: Vec::new(),
            seen_inside: HashSet::new(),
            extra: Vec::new(),
            cache: None,
            probes: 0,
        }
    }

    fn add_names(&mut self, idx: usize, soname: &Option<String>) {
        if let Some(s) = soname {
            self.names.entry(OsString::from(s)).or_insert(idx);
        }
    }

    /// Expands `$ORIGIN`, `$LIB` and `$PLATFORM` in `s`. `$LIB` and `$PLATFORM` have several
    /// plausible values, so the result lists each distinct expansion in order of preference;
    /// it is empty when `$PLATFORM` is used but unknown for this architecture.
    fn expand(&self, s: &[u8], origin: &[u8]) -> Vec<Vec<u8>> {
        let libs = lib_values(self.class64, self.machine);
        let plats = platform_values(self.class64, self.machine);
        let one = |lib: &str, plat: Option<&str>| -> (Option<Vec<u8>>, bool) {
            let mut out = Vec::with_capacity(s.len());
            let mut varies = false;
            let mut i = 0;
            while i < s.len() {
                if s[i] == b'$' {
                    if let Some((tok, n)) = match_dst(&s[i + 1..]) {
                        match tok {
                            Dst::Origin => out.extend_from_slice(origin),
                            Dst::Lib => {
                                varies = true;
                                out.extend_from_slice(lib.as_bytes());
                            }
                            Dst::Platform => {
                                varies = true;
                                match plat {
                                    Some(p) => out.extend_from_slice(p.as_bytes()),
                                    None => return (None, true),
                                }
                            }
                        }
                        i += 1 + n;
                        continue;
                    }
                }
                out.push(s[i]);
                i += 1;
            }
            (Some(out), varies)
        };
        let (first, varies) = one(&libs[0], plats.first().copied());
        if !varies {
            return first.into_iter().collect();
        }
        let mut all: Vec<Vec<u8>> = Vec::new();
        for lib in &libs {
            for plat in plats
                .iter()
                .map(|p| Some(*p))
                .chain(plats.is_empty().then_some(None))
            {
                if let (Some(e), _) = one(lib, plat) {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
            }
        }
        all
    }

    /// Directories of a DT_RPATH/DT_RUNPATH: expanded as a whole, then split at `:` (glibc's
    /// order). Relative entries are dropped: they name the sandboxee's working directory, which
    /// holds none of the mounted libraries.
    fn search_dirs(&self, list: &[String], origin: &[u8]) -> Vec<PathBuf> {
        let joined = list.join(":");
        let mut dirs = Vec::new();
        for e in self.expand(joined.as_bytes(), origin) {
            for d in e.split(|&b| b == b':') {
                if d.first() != Some(&b'/') {
                    log::debug!(
                        "skipping relative search directory {:?}",
                        String::from_utf8_lossy(d)
                    );
                    continue;
                }
                dirs.push(PathBuf::from(OsStr::from_bytes(d)));
            }
        }
        dirs
    }

    /// Opens `path` as the loader would: a missing or non-regular file, or an ELF file of the
    /// other class or another machine, is passed over (`None`); a malformed one is an error,
    /// since the loader stops there too.
    fn probe(&mut self, path: &Path) -> Result<Option<Candidate>> {
        self.probes += 1;
        if self.probes > MAX_PROBES {
            return Err(invalid(format!(
                "gave up after probing {MAX_PROBES} candidate paths (hostile search paths?)"
            )));
        }
        let Ok((src, id)) = open_regular(path) else {
            return Ok(None);
        };
        if ident_class(&src).is_some_and(|c| c != self.class64) {
            return Ok(None);
        }
        let info = parse_source(&src, &path.display().to_string())?;
        if info.machine != self.machine {
            return Ok(None);
        }
        Ok(Some(Candidate { info, id }))
    }

    fn probe_dirs(
        &mut self,
        dirs: &[PathBuf],
        name: &OsStr,
    ) -> Result<Option<(PathBuf, Candidate)>> {
        for d in dirs {
            let p = d.join(name);
            if let Some(c) = self.probe(&p)? {
                return Ok(Some((p, c)));
            }
        }
        Ok(None)
    }

    /// glibc's `_dl_map_object` search for `name` needed by object `req`.
    fn search(&mut self, req: usize, name: &OsStr) -> Result<Option<(PathBuf, Candidate)>> {
        if name.as_bytes().contains(&b'/') {
            let p = PathBuf::from(name);
            if !p.is_absolute() {
                return Err(invalid(format!(
                    "{}: DT_NEEDED {:?} is a relative path, which depends on the working directory",
                    self.objs[req].host.display(),
                    name
                )));
            }
            return Ok(self.probe(&p)?.map(|c| (p, c)));
        }
        // DT_RPATH of the requester and of each object up its loader chain, then of the binary,
        // unless the requester has DT_RUNPATH. An object with DT_RUNPATH has no DT_RPATH.
        if self.objs[req].info.runpath.is_empty() {
            let mut chain = Vec::new();
            let mut at = Some(req);
            // Loaders always precede what they load, so this terminates; the bound is belt and braces.
            while let Some(i) = at.filter(|_| chain.len() <= MAX_DEPTH + 1) {
                chain.push(i);
                at = self.objs[i].loader.filter(|&l| l < i);
            }
            if !chain.contains(&0) {
                chain.push(0);
            }
            for i in chain {
                let o = &self.objs[i];
                if o.info.runpath.is_empty() && !o.info.rpath.is_empty() {
                    let dirs = self.search_dirs(&o.info.rpath, &origin_of(&o.host));
                    if let Some(f) = self.probe_dirs(&dirs, name)? {
                        return Ok(Some(f));
                    }
                }
            }
        }
        let extra = self.extra.clone();
        if let Some(f) = self.probe_dirs(&extra, name)? {
            return Ok(Some(f));
        }
        let o = &self.objs[req];
        if !o.info.runpath.is_empty() {
            let dirs = self.search_dirs(&o.info.runpath, &origin_of(&o.host));
            if let Some(f) = self.probe_dirs(&dirs, name)? {
                return Ok(Some(f));
            }
        }
        let nodeflib = self.objs[req].info.nodeflib;
        let defaults = default_dirs(self.class64, self.machine);
        if let Some(p) = self.cache_lookup(name) {
            // DF_1_NODEFLIB forbids cache entries that live in the system directories.
            let in_defaults = p.parent().is_some_and(|d| defaults.iter().any(|x| x == d));
            if !(nodeflib && in_defaults) {
                if let Some(c) = self.probe(&p)? {
                    return Ok(Some((p, c)));
                }
            }
        }
        if !nodeflib {
            if let Some(f) = self.probe_dirs(&defaults, name)? {
                return Ok(Some(f));
            }
        }
        Ok(None)
    }

    fn cache_lookup(&mut self, name: &OsStr) -> Option<PathBuf> {
        let flags = cache_flags(self.class64, self.machine)?;
        self.cache
            .get_or_insert_with(|| LdCache::load(Path::new(LD_SO_CACHE)))
            .as_ref()?
            .lookup(name.as_bytes(), flags)
    }

    /// Satisfies one DT_NEEDED of object `req`; returns the index of a newly loaded object.
    fn need(&mut self, req: usize, lib: &str) -> Result<Option<usize>> {
        let req_name = self.objs[req].host.display().to_string();
        if lib.is_empty() {
            return Err(invalid(format!("{req_name}: empty DT_NEEDED entry")));
        }
        let alternatives = self.expand(lib.as_bytes(), &origin_of(&self.objs[req].host));
        if alternatives.is_empty() {
            return Err(invalid(format!(
                "{req_name}: cannot expand $PLATFORM in DT_NEEDED {lib:?} for machine {}",
                self.machine
            )));
        }
        let alternatives: Vec<OsString> =
            alternatives.into_iter().map(OsString::from_vec).collect();
        // A name an already loaded object answers to is satisfied without a search.
        if alternatives.iter().any(|a| self.names.contains_key(a)) {
            return Ok(None);
        }
        let what = format!("{lib:?} needed by {req_name}");
        for a in alternatives {
            if let Some((path, cand)) = self.search(req, &a).map_err(|e| context(e, &what))? {
                return self.add_object(req, a, path, cand, true);
            }
        }
        Err(invalid(format!(
            "library {lib:?} needed by {req_name} not found (searched DT_RPATH, extra directories, DT_RUNPATH, {LD_SO_CACHE} and {})",
            default_dirs(self.class64, self.machine)
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Records a file found at `path` for `name`. A file already loaded under another path
    /// (same inode) is not loaded again, but the new path is still mounted: the loader in the
    /// sandbox opens it there before noticing it is the same file.
    fn add_object(
        &mut self,
        loader: usize,
        name: OsString,
        path: PathBuf,
        cand: Candidate,
        queue: bool,
    ) -> Result<Option<usize>> {
        let inside = normalize(&path);
        if self.seen_inside.insert(inside.clone()) {
            let host = host_path(&path);
            self.out.push(LibraryFile { inside, host });
        }
        if let Some(&j) = self.ids.get(&cand.id) {
            self.names.entry(name).or_insert(j);
            return Ok(None);
        }
        if self.objs.len() > MAX_LIBRARIES {
            return Err(invalid(format!(
                "{}: more than {MAX_LIBRARIES} libraries needed",
                self.objs[0].host.display()
            )));
        }
        let depth = self.objs[loader].depth + 1;
        if depth > MAX_DEPTH {
            return Err(invalid(format!(
                "{}: dependency chain deeper than {MAX_DEPTH} at {}",
                self.objs[0].host.display(),
                path.display()
            )));
        }
        let idx = self.objs.len();
        self.names.entry(name).or_insert(idx);
        self.names
            .entry(path.clone().into_os_string())
            .or_insert(idx);
        self.add_names(idx, &cand.info.soname);
        self.ids.insert(cand.id, idx);
        self.objs.push(Obj {
            host: path,
            info: cand.info,
            loader: Some(loader),
            depth,
        });
        Ok(queue.then_some(idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // ---- synthetic ELF files ---------------------------------------------------------------

    const BASE: u64 = 0x10000;

    #[derive(Clone, Default)]
    struct Spec {
        class32: bool,
        machine: Option<u16>,
        etype: Option<u16>,
        interp: Option<String>,
        needed: Vec<String>,
        rpath: Option<String>,
        runpath: Option<String>,
        soname: Option<String>,
        nodeflib: bool,
        no_null: bool,
        strsz_override: Option<u64>,
    }

    /// Where the program headers of a built image are.
    struct Layout {
        phoff: usize,
        phent: usize,
        interp_ph: Option<usize>,
        dyn_ph: Option<usize>,
    }

    fn put(v: &mut Vec<u8>, x: u64, n: usize) {
        v.extend_from_slice(&x.to_le_bytes()[..n]);
    }

    fn set(v: &mut [u8], off: usize, x: u64, n: usize) {
        v[off..off + n].copy_from_slice(&x.to_le_bytes()[..n]);
    }

    /// A minimal image: ELF header, program headers (PT_LOAD over the whole file, PT_INTERP,
    /// PT_DYNAMIC), interpreter string, string table, dynamic array last.
    fn build(s: &Spec) -> (Vec<u8>, Layout) {
        let w = if s.class32 { 4 } else { 8 };
        let ehsize = if s.class32 { 52 } else { 64 };
        let phent = if s.class32 { 32 } else { 56 };
        let has_dyn = !s.needed.is_empty()
            || s.rpath.is_some()
            || s.runpath.is_some()
            || s.soname.is_some()
            || s.nodeflib;
        let nph = 1 + usize::from(s.interp.is_some()) + usize::from(has_dyn);
        let mut off = ehsize + nph * phent;
        let interp_off = off;
        let interp_bytes = s.interp.as_ref().map(|i| {
            let mut b = i.as_bytes().to_vec();
            b.push(0);
            b
        });
        off += interp_bytes.as_ref().map_or(0, |b| b.len());
        let strtab_off = off;
        let mut strtab = vec![0u8];
        let add = |st: &mut Vec<u8>, x: &str| {
            let o = st.len() as u64;
            st.extend_from_slice(x.as_bytes());
            st.push(0);
            o
        };
        let mut dyns: Vec<(u64, u64)> = Vec::new();
        for n in &s.needed {
            dyns.push((DT_NEEDED, add(&mut strtab, n)));
        }
        if let Some(r) = &s.rpath {
            dyns.push((DT_RPATH, add(&mut strtab, r)));
        }
        if let Some(r) = &s.runpath {
            dyns.push((DT_RUNPATH, add(&mut strtab, r)));
        }
        if let Some(r) = &s.soname {
            dyns.push((DT_SONAME, add(&mut strtab, r)));
        }
        if s.nodeflib {
            dyns.push((DT_FLAGS_1, DF_1_NODEFLIB));
        }
        dyns.push((DT_STRTAB, BASE + strtab_off as u64));
        dyns.push((DT_STRSZ, s.strsz_override.unwrap_or(strtab.len() as u64)));
        if !s.no_null {
            dyns.push((DT_NULL, 0));
        }
        off += strtab.len();
        off = (off + 7) & !7;
        let dyn_off = off;
        let dyn_len = dyns.len() * 2 * w;
        let total = if has_dyn { dyn_off + dyn_len } else { dyn_off };

        let mut v = Vec::new();
        v.extend_from_slice(b"\x7fELF");
        v.push(if s.class32 { 1 } else { 2 });
        v.extend_from_slice(&[1, 1, 0]);
        v.resize(16, 0);
        put(&mut v, u64::from(s.etype.unwrap_or(3)), 2);
        put(
            &mut v,
            u64::from(
                s.machine
                    .unwrap_or(if s.class32 { EM_386 } else { EM_X86_64 }),
            ),
            2,
        );
        put(&mut v, 1, 4);
        put(&mut v, 0, w); // e_entry
        put(&mut v, ehsize as u64, w); // e_phoff
        put(&mut v, 0, w); // e_shoff
        put(&mut v, 0, 4); // e_flags
        put(&mut v, ehsize as u64, 2);
        put(&mut v, phent as u64, 2);
        put(&mut v, nph as u64, 2);
        put(&mut v, 0, 6);
        assert_eq!(v.len(), ehsize);
        let ph = |v: &mut Vec<u8>, t: u32, o: u64, sz: u64| {
            if s.class32 {
                for x in [u64::from(t), o, BASE + o, BASE + o, sz, sz, 4, 8] {
                    put(v, x, 4);
                }
            } else {
                put(v, u64::from(t), 4);
                put(v, 4, 4);
                for x in [o, BASE + o, BASE + o, sz, sz, 8] {
                    put(v, x, 8);
                }
            }
        };
        let mut lay = Layout {
            phoff: ehsize,
            phent,
            interp_ph: None,
            dyn_ph: None,
        };
        ph(&mut v, PT_LOAD, 0, total as u64);
        if let Some(b) = &interp_bytes {
            ph(&mut v, PT_INTERP, interp_off as u64, b.len() as u64);
            lay.interp_ph = Some(1);
        }
        if has_dyn {
            ph(&mut v, PT_DYNAMIC, dyn_off as u64, dyn_len as u64);
            lay.dyn_ph = Some(nph - 1);
        }
        if let Some(b) = &interp_bytes {
            v.extend_from_slice(b);
        }
        v.extend_from_slice(&strtab);
        v.resize(dyn_off, 0);
        if has_dyn {
            for (t, x) in dyns {
                put(&mut v, t, w);
                put(&mut v, x, w);
            }
        }
        assert_eq!(v.len(), total);
        (v, lay)
    }

    /// Offset of a field of program header `i` (64-bit layout).
    fn ph64(l: &Layout, i: usize, field: usize) -> usize {
        l.phoff + i * l.phent + field
    }

    fn sample() -> Spec {
        Spec {
            interp: Some("/lib64/ld-test.so.2".into()),
            needed: vec!["liba.so.1".into(), "libb.so.2".into()],
            rpath: Some("/r1:$ORIGIN/r2".into()),
            soname: Some("libself.so".into()),
            ..Spec::default()
        }
    }

    fn msg(r: Result<ElfInfo>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn parses_synthetic_64_and_32() {
        for class32 in [false, true] {
            let (img, _) = build(&Spec {
                class32,
                runpath: Some("/rp".into()),
                nodeflib: true,
                ..sample()
            });
            let info = parse(&img).unwrap();
            assert_eq!(info.class64, !class32);
            assert_eq!(info.machine, if class32 { EM_386 } else { EM_X86_64 });
            assert_eq!(info.interpreter.as_deref(), Some("/lib64/ld-test.so.2"));
            assert_eq!(info.needed, vec!["liba.so.1", "libb.so.2"]);
            assert_eq!(info.rpath, vec!["/r1", "$ORIGIN/r2"]);
            assert_eq!(info.runpath, vec!["/rp"]);
            assert_eq!(info.soname.as_deref(), Some("libself.so"));
            assert!(info.nodeflib);
        }
        let (img, _) = build(&Spec::default());
        assert_eq!(
            parse(&img).unwrap(),
            ElfInfo {
                class64: true,
                machine: EM_X86_64,
                ..ElfInfo::default()
            }
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let (img, lay) = build(&sample());
        parse(&img).unwrap();
        // Every truncation: the dynamic array is last, so each one cuts something needed.
        for n in 0..img.len() {
            assert!(parse(&img[..n]).is_err(), "truncated to {n} bytes accepted");
        }
        let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = img.clone();
            f(&mut v);
            msg(parse(&v))
        };
        assert!(mutate(&|v| v[0] = b'X').contains("not an ELF"));
        assert!(mutate(&|v| v[5] = 2).contains("big-endian"));
        assert!(mutate(&|v| v[4] = 3).contains("class"));
        assert!(mutate(&|v| set(v, 16, 1, 2)).contains("e_type"));
        assert!(mutate(&|v| set(v, 56, 0xffff, 2)).contains("too many program headers"));
        assert!(mutate(&|v| set(v, 56, 1000, 2)).contains("past the end"));
        assert!(mutate(&|v| set(v, 54, 40, 2)).contains("entry size"));
        assert!(mutate(&|v| set(v, 32, u64::MAX - 8, 8)).contains("past the end"));
        let ip = lay.interp_ph.unwrap();
        let dp = lay.dyn_ph.unwrap();
        assert!(mutate(&|v| set(v, ph64(&lay, ip, 8), 1 << 40, 8)).contains("PT_INTERP"));
        assert!(mutate(&|v| set(v, ph64(&lay, ip, 32), 1 << 20, 8)).contains("PT_INTERP"));
        assert!(mutate(&|v| {
            let o = le(v, ph64(&lay, ip, 8), 8) as usize;
            let n = le(v, ph64(&lay, ip, 32), 8) as usize;
            v[o + n - 1] = b'x';
        })
        .contains("NUL"));
        assert!(mutate(&|v| set(v, ph64(&lay, dp, 8), 1 << 40, 8)).contains("PT_DYNAMIC"));
        assert!(mutate(&|v| set(v, ph64(&lay, dp, 8), u64::MAX, 8)).contains("PT_DYNAMIC"));
        assert!(mutate(&|v| set(v, ph64(&lay, dp, 32), 0, 8)).contains("empty"));
        // PT_LOAD no longer covers the string table.
        assert!(mutate(&|v| set(v, ph64(&lay, 0, 16), 1 << 32, 8)).contains("DT_STRTAB"));
        assert!(mutate(&|v| set(v, ph64(&lay, 0, 32), 8, 8)).contains("DT_STRTAB"));

        // String offsets past DT_STRSZ, and strings running past its end.
        let m = msg(parse(
            &build(&Spec {
                strsz_override: Some(1),
                ..sample()
            })
            .0,
        ));
        assert!(m.contains("outside the string table"), "{m}");
        let m = msg(parse(
            &build(&Spec {
                strsz_override: Some(4),
                ..sample()
            })
            .0,
        ));
        assert!(m.contains("not NUL-terminated"), "{m}");
        let m = msg(parse(
            &build(&Spec {
                no_null: true,
                ..sample()
            })
            .0,
        ));
        assert!(m.contains("DT_NULL"), "{m}");
        // A dynamic segment claiming far more than the file holds, without a terminator.
        let (mut v, l) = build(&Spec {
            no_null: true,
            ..sample()
        });
        set(&mut v, ph64(&l, dp, 32), 1 << 40, 8);
        assert!(msg(parse(&v)).contains("DT_NULL"));
    }

    /// xorshift64*: a fixed-seed PRNG so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn fuzzed_headers_never_panic() {
        let real = std::fs::read("/usr/bin/ls")
            .ok()
            .filter(|b| parse(b).is_ok());
        let seeds: Vec<Vec<u8>> = [
            real,
            Some(build(&sample()).0),
            Some(
                build(&Spec {
                    class32: true,
                    ..sample()
                })
                .0,
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let mut errors = 0;
        for it in 0..10_000 {
            let mut v = seeds[it % seeds.len()].clone();
            // Mostly the ELF and program headers; sometimes anywhere in the first pages.
            let span = if rng.below(4) == 0 {
                v.len().min(16384)
            } else {
                v.len().min(512)
            };
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(span);
                v[i] = match rng.below(4) {
                    0 => 0xff,
                    1 => 0,
                    _ => rng.next() as u8,
                };
            }
            if rng.below(10) == 0 {
                let n = rng.below(v.len());
                v.truncate(n);
            }
            if parse(&v).is_err() {
                errors += 1;
            }
        }
        assert!(
            errors > 1000,
            "mutations should mostly break something ({errors} errors)"
        );
        // Pure noise behind a valid identification.
        for _ in 0..2000 {
            let n = rng.below(300);
            let mut v: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            if v.len() >= 7 {
                v[..7].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1 + rng.below(2) as u8, 1, 1]);
            }
            let _ = parse(&v);
        }
    }

    // ---- ld.so.cache -----------------------------------------------------------------------

    fn host_cache_flags() -> Option<i32> {
        match std::env::consts::ARCH {
            "x86_64" => cache_flags(true, EM_X86_64),
            "aarch64" => cache_flags(true, EM_AARCH64),
            _ => None,
        }
    }

    #[test]
    fn ld_so_cache_finds_libc() {
        let Some(cache) = LdCache::load(Path::new(LD_SO_CACHE)) else {
            eprintln!("skipped: no usable {LD_SO_CACHE}");
            return;
        };
        let Some(flags) = host_cache_flags() else {
            eprintln!("skipped: unknown host architecture");
            return;
        };
        let p = cache
            .lookup(b"libc.so.6", flags)
            .expect("libc.so.6 in ld.so.cache");
        assert!(p.ends_with("libc.so.6"), "{}", p.display());
        assert!(p.is_file(), "{}", p.display());
        // Another ABI's flags must not match this one's entry.
        assert_ne!(cache.lookup(b"libc.so.6", 0x0803), Some(p));
        assert_eq!(cache.lookup(b"libdoes-not-exist-sbx.so.1", flags), None);
    }

    /// Builds a cache; `old` prefixes the old-format header with one entry.
    fn build_cache(old: bool, entries: &[(i32, &str, &str, u64)]) -> Vec<u8> {
        let mut v = Vec::new();
        if old {
            v.extend_from_slice(b"ld.so-1.7.0\0");
            put(&mut v, 1, 4);
            put(&mut v, 0x0303, 4);
            put(&mut v, 0, 4);
            put(&mut v, 0, 4);
            while v.len() % 8 != 0 {
                v.push(0);
            }
        }
        let base = v.len();
        let strings_at = LdCache::NEW_HEADER + entries.len() * LdCache::NEW_ENTRY;
        let mut strings = Vec::new();
        let mut offs = Vec::new();
        for (_, k, val, _) in entries {
            let ko = strings_at + strings.len();
            strings.extend_from_slice(k.as_bytes());
            strings.push(0);
            let vo = strings_at + strings.len();
            strings.extend_from_slice(val.as_bytes());
            strings.push(0);
            offs.push((ko, vo));
        }
        v.extend_from_slice(b"glibc-ld.so.cache1.1");
        put(&mut v, entries.len() as u64, 4);
        put(&mut v, strings.len() as u64, 4);
        v.extend_from_slice(&[2, 0, 0, 0]);
        put(&mut v, 0, 8);
        put(&mut v, 0, 8);
        assert_eq!(v.len() - base, LdCache::NEW_HEADER);
        for ((f, _, _, hw), (ko, vo)) in entries.iter().zip(offs) {
            put(&mut v, *f as u32 as u64, 4);
            put(&mut v, ko as u64, 4);
            put(&mut v, vo as u64, 4);
            put(&mut v, 0, 4);
            put(&mut v, *hw, 8);
        }
        v.extend_from_slice(&strings);
        v
    }

    #[test]
    fn ld_so_cache_formats() {
        let entries = [
            (0x0003, "libx.so.1", "/lib32/libx.so.1", 0),
            (0x0303, "libx.so.1", "/hw/libx.so.1", 1u64 << 62),
            (0x0303, "libx.so.1", "/lib64/libx.so.1", 0),
            (0x0303, "liby.so", "/lib64/liby.so", 0),
        ];
        for old in [false, true] {
            // With the old header in front, offsets must still be taken from the new header.
            let c = LdCache::parse(build_cache(old, &entries)).unwrap();
            assert_eq!(
                c.lookup(b"libx.so.1", 0x0303),
                Some(PathBuf::from("/lib64/libx.so.1")),
                "old={old}"
            );
            assert_eq!(
                c.lookup(b"libx.so.1", 0x0003),
                Some(PathBuf::from("/lib32/libx.so.1"))
            );
            assert_eq!(
                c.lookup(b"liby.so", 0x0303),
                Some(PathBuf::from("/lib64/liby.so"))
            );
            assert_eq!(c.lookup(b"liby.so.1", 0x0303), None);
            assert_eq!(c.lookup(b"libx.so", 0x0303), None);
        }
        // Truncations and noise: errors or misses, never panics.
        let good = build_cache(true, &entries);
        for n in 0..good.len() {
            if let Ok(c) = LdCache::parse(good[..n].to_vec()) {
                let _ = c.lookup(b"libx.so.1", 0x0303);
            }
        }
        let mut rng = Rng(42);
        for _ in 0..3000 {
            let mut v = good.clone();
            for _ in 0..1 + rng.below(6) {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            if let Ok(c) = LdCache::parse(v) {
                let _ = c.lookup(b"libx.so.1", 0x0303);
                let _ = c.lookup(b"liby.so", 0x0303);
            }
        }
        assert!(LdCache::parse(b"garbage".to_vec()).is_err());
    }

    // ---- resolution against synthetic trees --------------------------------------------------

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "sbx-elf-{}-{tag}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn write(&self, rel: &str, s: &Spec) -> PathBuf {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, build(s).0).unwrap();
            p
        }
        fn path(&self, rel: &str) -> String {
            self.0.join(rel).display().to_string()
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn lib(needed: &[&str]) -> Spec {
        Spec {
            needed: needed.iter().map(|s| s.to_string()).collect(),
            ..Spec::default()
        }
    }

    /// A tree with an interpreter (soname ld-sbx.so.2); returns it and the interpreter's path.
    fn tree(tag: &str) -> (TempDir, String) {
        let t = TempDir::new(tag);
        t.write(
            "ld/ld-sbx.so.2",
            &Spec {
                soname: Some("ld-sbx.so.2".into()),
                ..Spec::default()
            },
        );
        let interp = t.path("ld/ld-sbx.so.2");
        (t, interp)
    }

    fn prog(interp: &str, needed: &[&str]) -> Spec {
        Spec {
            interp: Some(interp.to_string()),
            ..lib(needed)
        }
    }

    fn insides(v: &[LibraryFile]) -> Vec<String> {
        v.iter().map(|l| l.inside.display().to_string()).collect()
    }

    #[test]
    fn origin_runpath_cycles_and_soname() {
        let (t, interp) = tree("origin");
        let bin = t.write(
            "app/bin/prog",
            &Spec {
                runpath: Some("$ORIGIN/../lib".into()),
                ..prog(&interp, &["libsbxa.so", "libsbxb.so"])
            },
        );
        // a and b need each other; a also needs the interpreter by soname, as libc does.
        t.write(
            "app/lib/libsbxa.so",
            &Spec {
                runpath: Some("${ORIGIN}".into()),
                ..lib(&["libsbxb.so", "ld-sbx.so.2"])
            },
        );
        t.write(
            "app/lib/libsbxb.so",
            &Spec {
                runpath: Some("$ORIGIN".into()),
                ..lib(&["libsbxa.so"])
            },
        );
        let got = libraries_for_binary(&bin, &[]).unwrap();
        assert_eq!(
            insides(&got),
            vec![
                interp.clone(),
                t.path("app/lib/libsbxa.so"),
                t.path("app/lib/libsbxb.so")
            ]
        );
        // Host paths carry no `..` either, and lead to regular files.
        for l in &got {
            assert!(
                !l.host.display().to_string().contains(".."),
                "{}",
                l.host.display()
            );
            assert!(l.host.is_file());
        }
        assert_eq!(
            got[1].host,
            std::fs::canonicalize(t.path("app/lib"))
                .unwrap()
                .join("libsbxa.so")
        );
    }

    #[test]
    fn rpath_extra_runpath_order() {
        let (t, interp) = tree("order");
        for d in ["rp", "extra", "run"] {
            t.write(&format!("{d}/libsbxo.so"), &Spec::default());
        }
        let extra = [PathBuf::from(t.path("extra"))];
        // DT_RPATH beats extra directories.
        let bin = t.write(
            "b1",
            &Spec {
                rpath: Some(t.path("rp")),
                ..prog(&interp, &["libsbxo.so"])
            },
        );
        assert_eq!(
            insides(&libraries_for_binary(&bin, &extra).unwrap())[1],
            t.path("rp/libsbxo.so")
        );
        // Extra directories beat DT_RUNPATH.
        let bin = t.write(
            "b2",
            &Spec {
                runpath: Some(t.path("run")),
                ..prog(&interp, &["libsbxo.so"])
            },
        );
        assert_eq!(
            insides(&libraries_for_binary(&bin, &extra).unwrap())[1],
            t.path("extra/libsbxo.so")
        );
        assert_eq!(
            insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
            t.path("run/libsbxo.so")
        );
        // With both, DT_RPATH is ignored.
        let bin = t.write(
            "b3",
            &Spec {
                rpath: Some(t.path("rp")),
                runpath: Some(t.path("run")),
                ..prog(&interp, &["libsbxo.so"])
            },
        );
        assert_eq!(
            insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
            t.path("run/libsbxo.so")
        );
        // $ORIGIN in extra directories is the binary's directory.
        let extra = [PathBuf::from("$ORIGIN/extra")];
        let bin = t.write("b4", &prog(&interp, &["libsbxo.so"]));
        assert_eq!(
            insides(&libraries_for_binary(&bin, &extra).unwrap())[1],
            t.path("extra/libsbxo.so")
        );
        assert!(libraries_for_binary(&bin, &[PathBuf::from("relative/dir")]).is_err());
    }

    #[test]
    fn inherited_rpath_stops_at_runpath() {
        let (t, interp) = tree("inherit");
        t.write("rp/libsbxc.so", &Spec::default());
        t.write("rp/libsbxa.so", &lib(&["libsbxc.so"]));
        // libsbxa has no search path of its own: the binary's DT_RPATH is inherited.
        let bin = t.write(
            "b1",
            &Spec {
                rpath: Some(t.path("rp")),
                ..prog(&interp, &["libsbxa.so"])
            },
        );
        assert_eq!(
            insides(&libraries_for_binary(&bin, &[]).unwrap()),
            vec![
                interp.clone(),
                t.path("rp/libsbxa.so"),
                t.path("rp/libsbxc.so")
            ]
        );
        // With a DT_RUNPATH of its own it is not.
        t.write(
            "rp2/libsbxa.so",
            &Spec {
                runpath: Some("/nonexistent-sbx".into()),
                ..lib(&["libsbxc.so"])
            },
        );
        std::fs::copy(t.path("rp/libsbxc.so"), t.path("rp2/libsbxc.so")).unwrap();
        let bin = t.write(
            "b2",
            &Spec {
                rpath: Some(t.path("rp2")),
                ..prog(&interp, &["libsbxa.so"])
            },
        );
        let m = libraries_for_binary(&bin, &[]).unwrap_err().to_string();
        assert!(
            m.contains("libsbxc.so") && m.contains(&t.path("rp2/libsbxa.so")),
            "{m}"
        );
    }

    #[test]
    fn wrong_class_and_machine_are_skipped() {
        let (t, interp) = tree("class");
        t.write(
            "d1/libsbxd.so",
            &Spec {
                class32: true,
                ..Spec::default()
            },
        );
        t.write(
            "d2/libsbxd.so",
            &Spec {
                machine: Some(EM_AARCH64),
                ..Spec::default()
            },
        );
        t.write("d3/libsbxd.so", &Spec::default());
        let runpath = format!("{}:{}:{}", t.path("d1"), t.path("d2"), t.path("d3"));
        let bin = t.write(
            "b",
            &Spec {
                runpath: Some(runpath),
                ..prog(&interp, &["libsbxd.so"])
            },
        );
        assert_eq!(
            insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
            t.path("d3/libsbxd.so")
        );
        // A malformed candidate stops the search, as it stops the loader.
        std::fs::write(t.path("d1/libsbxd.so"), b"\x7fELF\x02\x01\x01").unwrap();
        assert!(libraries_for_binary(&bin, &[]).is_err());
    }

    #[test]
    fn missing_library_and_interpreter() {
        let (t, interp) = tree("missing");
        let bin = t.write("b", &prog(&interp, &["libsbx-no-such-library.so.7"]));
        let m = libraries_for_binary(&bin, &[]).unwrap_err().to_string();
        assert!(
            m.contains("libsbx-no-such-library.so.7") && m.contains(&bin.display().to_string()),
            "{m}"
        );
        let bin = t.write("b2", &prog(&t.path("ld/nope.so"), &[]));
        assert!(libraries_for_binary(&bin, &[])
            .unwrap_err()
            .to_string()
            .contains("interpreter"));
        let bin = t.write("b3", &prog("ld.so", &[]));
        assert!(libraries_for_binary(&bin, &[]).is_err());
        assert!(libraries_for_binary(Path::new("/nonexistent-sbx/bin"), &[]).is_err());
        assert!(libraries_for_binary(Path::new("/"), &[]).is_err());
    }

    #[test]
    fn paths_aliases_and_static() {
        let (t, interp) = tree("paths");
        t.write("l/libsbxp.so", &Spec::default());
        std::os::unix::fs::symlink(t.path("l/libsbxp.so"), t.path("l/alias.so")).unwrap();
        // One file by two names: loaded once, mounted at both paths the loader opens.
        let bin = t.write(
            "b",
            &prog(&interp, &[&t.path("l/libsbxp.so"), &t.path("l/alias.so")]),
        );
        assert_eq!(
            insides(&libraries_for_binary(&bin, &[]).unwrap()),
            vec![interp.clone(), t.path("l/libsbxp.so"), t.path("l/alias.so")]
        );
        // $ORIGIN in a DT_NEEDED path.
        let bin = t.write("b2", &prog(&interp, &["$ORIGIN/l/libsbxp.so"]));
        assert_eq!(
            insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
            t.path("l/libsbxp.so")
        );
        // Relative paths depend on the sandbox's working directory: refused.
        let bin = t.write("b3", &prog(&interp, &["l/libsbxp.so"]));
        assert!(libraries_for_binary(&bin, &[]).is_err());
        // No PT_INTERP: nothing needed, even with DT_NEEDED.
        let bin = t.write("s", &lib(&["libsbx-no-such-library.so.7"]));
        assert_eq!(libraries_for_binary(&bin, &[]).unwrap(), vec![]);
    }

    #[test]
    fn depth_limit() {
        let (t, interp) = tree("depth");
        let n = MAX_DEPTH + 5;
        for i in 0..n {
            let next = format!("libsbxchain{}.so", i + 1);
            let needed: Vec<&str> = if i + 1 < n { vec![&next] } else { vec![] };
            t.write(&format!("c/libsbxchain{i}.so"), &lib(&needed));
        }
        let bin = t.write(
            "b",
            &Spec {
                rpath: Some(t.path("c")),
                ..prog(&interp, &["libsbxchain0.so"])
            },
        );
        let m = libraries_for_binary(&bin, &[]).unwrap_err().to_string();
        assert!(m.contains("deeper than"), "{m}");
    }

    #[test]
    fn dst_expansion_and_normalize() {
        let r = Resolver::new(true, EM_X86_64);
        let e = |s: &str| -> Vec<String> {
            r.expand(s.as_bytes(), b"/o")
                .into_iter()
                .map(|v| String::from_utf8(v).unwrap())
                .collect()
        };
        assert_eq!(e("$ORIGIN/x:${ORIGIN}"), vec!["/o/x:/o"]);
        assert_eq!(
            e("$ORIGINAL/$FOO/${ORIGIN"),
            vec!["$ORIGINAL/$FOO/${ORIGIN"]
        );
        assert_eq!(
            e("/p/$LIB"),
            vec!["/p/lib/x86_64-linux-gnu", "/p/lib64", "/p/lib"]
        );
        assert_eq!(e("/p/${PLATFORM}").len(), 3);
        assert!(Resolver::new(true, 999)
            .expand(b"/$PLATFORM", b"/")
            .is_empty());
        assert_eq!(
            normalize(Path::new("/a/./b/../c//d/")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
    }

    // ---- real binaries, compared with ldd --------------------------------------------------

    /// File names of the paths `ldd` resolves, or None when ldd cannot tell.
    fn ldd_names(bin: &Path) -> Option<HashSet<String>> {
        let out = Command::new("ldd").arg(bin).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut names = HashSet::new();
        for line in text.lines() {
            let line = line.trim();
            if line.contains("not found") {
                return None;
            }
            let path = match line.split_once("=>") {
                Some((_, r)) => r.trim(),
                None => line,
            };
            let path = path.split(" (").next().unwrap_or("").trim();
            // linux-vdso has no path: the kernel maps it.
            if path.starts_with('/') {
                names.insert(Path::new(path).file_name()?.to_string_lossy().into_owned());
            }
        }
        Some(names)
    }

    fn compare_with_ldd(bin: &Path) {
        let got = libraries_for_binary(bin, &[]).unwrap();
        eprintln!("{}: {got:#?}", bin.display());
        let ours: HashSet<String> = got
            .iter()
            .map(|l| l.inside.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for l in &got {
            assert!(l.host.is_file(), "{} missing", l.host.display());
        }
        let info = parse(&std::fs::read(bin).unwrap()).unwrap();
        assert_eq!(
            got[0].inside.display().to_string(),
            info.interpreter.unwrap()
        );
        assert!(ours.contains("libc.so.6"), "{got:?}");
        let Some(ldd) = ldd_names(bin) else {
            eprintln!(
                "ldd unavailable for {}; compared only basics",
                bin.display()
            );
            return;
        };
        for n in &ldd {
            assert!(ours.contains(n), "ldd lists {n}, we do not: {got:?}");
        }
        assert_eq!(ours, ldd, "we list more than ldd: {got:?}");
    }

    fn is_elf(p: &Path) -> bool {
        let mut b = [0u8; 4];
        File::open(p).and_then(|mut f| f.read_exact(&mut b)).is_ok() && b == *b"\x7fELF"
    }

    #[test]
    fn ls_matches_ldd() {
        let ls = Path::new("/usr/bin/ls");
        if !is_elf(ls) {
            eprintln!("skipped: no ELF /usr/bin/ls");
            return;
        }
        compare_with_ldd(ls);
    }

    #[test]
    fn python_matches_ldd() {
        let Some(which) = Command::new("which")
            .arg("python3")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        else {
            eprintln!("skipped: no python3");
            return;
        };
        // pyenv installs shell-script shims; ask the interpreter where it really is.
        let bin = if is_elf(&which) {
            which
        } else {
            let out = Command::new(&which)
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .unwrap();
            std::fs::canonicalize(String::from_utf8_lossy(&out.stdout).trim()).unwrap()
        };
        if !is_elf(&bin) {
            eprintln!("skipped: {} is not ELF", bin.display());
            return;
        }
        compare_with_ldd(&bin);
    }

    #[test]
    fn static_binaries_need_nothing() {
        let t = TempDir::new("static");
        std::fs::write(t.0.join("m.c"), "int main(void){return 0;}\n").unwrap();
        let mut built = 0;
        for (flag, out) in [("-static", "s"), ("-static-pie", "sp")] {
            let ok = Command::new("gcc")
                .arg(flag)
                .arg("-o")
                .arg(t.0.join(out))
                .arg(t.0.join("m.c"))
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                eprintln!("skipped: gcc {flag} unavailable");
                continue;
            }
            built += 1;
            let bin = t.0.join(out);
            assert!(parse(&std::fs::read(&bin).unwrap())
                .unwrap()
                .interpreter
                .is_none());
            assert_eq!(libraries_for_binary(&bin, &[]).unwrap(), vec![], "{flag}");
        }
        if built == 0 {
            eprintln!("skipped: no static binary could be built");
        }
    }
}
