//! Bounded reading of an untrusted file image and the ELF reader: headers, segments, the dynamic
//! section, strings.

use super::{
    ElfInfo, Error, File, FileExt, MetadataExt, OpenOptionsExt, Path, Result, DF_1_NODEFLIB,
    DT_FLAGS_1, DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB,
    MAX_DYN_ENTRIES, MAX_NEEDED, MAX_PHDR_BYTES, MAX_READ, MAX_STRING, PT_DYNAMIC, PT_INTERP,
    PT_LOAD,
};

/// Random access to a file image; implemented for in-memory bytes and for files (`pread`).
pub(super) trait Source {
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
pub(super) struct FileSource {
    pub(super) file: File,
    pub(super) size: u64,
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
pub(super) fn open_regular(path: &Path) -> std::io::Result<(FileSource, (u64, u64))> {
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
pub(super) fn le(b: &[u8], off: usize, n: usize) -> u64 {
    (0..n).fold(0u64, |v, i| {
        let byte = off
            .checked_add(i)
            .and_then(|j| b.get(j))
            .copied()
            .unwrap_or(0);
        v | (u64::from(byte) << (8 * i))
    })
}

/// The `N` bytes at `off`; bytes past the end read as zero, as in [`le`].
pub(super) fn bytes_at<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    std::array::from_fn(|i| {
        off.checked_add(i)
            .and_then(|j| b.get(j))
            .copied()
            .unwrap_or(0)
    })
}

/// The little-endian `u16` at `off` (see [`le`]).
pub(super) fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(bytes_at(b, off))
}

/// The little-endian `u32` at `off` (see [`le`]).
pub(super) fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(bytes_at(b, off))
}

pub(super) fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// Adds where an error happened to a message that already names the file.
pub(super) fn context(e: Error, what: &str) -> Error {
    match e {
        Error::InvalidArgument(m) => {
            Error::InvalidArgument(format!("{m} (while resolving {what})"))
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// ELF parsing

pub(super) struct Header {
    pub(super) class64: bool,
    pub(super) machine: u16,
    pub(super) phoff: u64,
    pub(super) phentsize: u16,
    pub(super) phnum: u16,
}

#[derive(Clone, Copy)]
pub(super) struct Segment {
    pub(super) ptype: u32,
    pub(super) offset: u64,
    pub(super) vaddr: u64,
    pub(super) filesz: u64,
}

/// A located string table: file offset and the bytes usable from there.
pub(super) struct StrTab {
    pub(super) off: u64,
    pub(super) limit: u64,
}

pub(super) struct Reader<'a, S: Source + ?Sized> {
    pub(super) src: &'a S,
    pub(super) name: &'a str,
}

impl<S: Source + ?Sized> Reader<'_, S> {
    pub(super) fn err(&self, msg: impl std::fmt::Display) -> Error {
        invalid(format!("{}: {msg}", self.name))
    }

    /// Reads exactly `len` bytes at `off`, after checking both against the file size.
    pub(super) fn read(&self, off: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        let size = self.src.size();
        match off.checked_add(len) {
            Some(end) if end <= size => {}
            _ => {
                return Err(self.err(format_args!(
                    "{what} (offset {off:#x}, {len:#x} bytes) extends past the end of the file ({size:#x} bytes)"
                )))
            }
        }
        let n = match usize::try_from(len) {
            Ok(n) if len <= MAX_READ => n,
            _ => return Err(self.err(format_args!("{what} is too large ({len:#x} bytes)"))),
        };
        let mut buf = vec![0u8; n];
        self.src
            .read_exact_at(&mut buf, off)
            .map_err(|e| self.err(format_args!("cannot read {what} at offset {off:#x}: {e}")))?;
        Ok(buf)
    }

    pub(super) fn header(&self) -> Result<Header> {
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
        let etype = le16(&h, 16);
        // Only these can be exec'd or loaded; relocatable objects and core dumps cannot.
        if etype != 2 && etype != 3 {
            return Err(self.err(format_args!(
                "not an executable or shared object (e_type {etype})"
            )));
        }
        let machine = le16(&h, 18);
        let (phoff, phentsize, phnum) = if class64 {
            (le(&h, 32, 8), le16(&h, 54), le16(&h, 56))
        } else {
            (le(&h, 28, 4), le16(&h, 42), le16(&h, 44))
        };
        Ok(Header {
            class64,
            machine,
            phoff,
            phentsize,
            phnum,
        })
    }

    pub(super) fn program_headers(&self, h: &Header) -> Result<Vec<Segment>> {
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
                        ptype: le32(p, 0),
                        offset: le(p, 8, 8),
                        vaddr: le(p, 16, 8),
                        filesz: le(p, 32, 8),
                    }
                } else {
                    Segment {
                        ptype: le32(p, 0),
                        offset: le(p, 4, 4),
                        vaddr: le(p, 8, 4),
                        filesz: le(p, 16, 4),
                    }
                }
            })
            .collect();
        Ok(segs)
    }

    pub(super) fn interp(&self, s: &Segment) -> Result<String> {
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
    #[allow(clippy::too_many_lines)] // one bounded scan of PT_DYNAMIC, then the strings it names
    pub(super) fn dynamic(&self, h: &Header, segs: &[Segment], d: &Segment, info: &mut ElfInfo) -> Result<()> {
        let (esz, esz_bytes): (u64, usize) = if h.class64 { (16, 16) } else { (8, 8) };
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
            for e in buf.chunks_exact(esz_bytes) {
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

    pub(super) fn string(&self, st: &StrTab, idx: u64, what: &str) -> Result<String> {
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

pub(super) fn parse_source<S: Source + ?Sized>(src: &S, name: &str) -> Result<ElfInfo> {
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
pub(super) fn ident_class<S: Source + ?Sized>(src: &S) -> Option<bool> {
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
