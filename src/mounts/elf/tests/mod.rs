//! The ELF reader and the library search against synthetic and real files.
//!
//! Here: the synthetic ELF builder and the helpers the topics share; `parsing.rs` the reader
//! on synthetic and fuzzed files; `cache.rs` `ld.so.cache`; `resolution.rs` the library search
//! against synthetic trees; `ldd.rs` real binaries compared with `ldd`.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use super::reader::le;
use super::*;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

mod cache;
mod ldd;
mod parsing;
mod resolution;

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
#[allow(clippy::too_many_lines)] // the synthetic file, field by field
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
    off += interp_bytes.as_ref().map_or(0, Vec::len);
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

// ---- shared by the topics -------------------------------------------------------------

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
