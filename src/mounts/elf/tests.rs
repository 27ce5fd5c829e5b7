//! The ELF reader and the library search against synthetic and real files.

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
        for _ in 0..=rng.below(8) {
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
    if crate::sys::skipped_under_qemu(
        "/etc/ld.so.cache is the host's: it lists no aarch64 libraries",
    ) {
        return;
    }
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
        put(&mut v, u64::from(*f as u32), 4);
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
        for _ in 0..=rng.below(6) {
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
        needed: needed.iter().map(|s| (*s).to_string()).collect(),
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
