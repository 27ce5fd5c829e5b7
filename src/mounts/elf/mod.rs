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
    r.add_names(0, info.soname.as_ref());
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

mod arch;
mod ldcache;
mod paths;
mod reader;
mod search;
#[cfg(test)]
mod tests;

use arch::{cache_flags, default_dirs, lib_values, platform_values};
use ldcache::LdCache;
use paths::{absolute, host_path, match_dst, normalize, origin_of, Dst};
use reader::{context, ident_class, invalid, open_regular, parse_source};
use search::{Obj, Resolver};
