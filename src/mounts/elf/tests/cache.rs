//! `ld.so.cache`: the host's finds libc, and both formats built here.

use super::*;

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
