//! The reader on synthetic ELF files: both classes, malformed inputs, fuzzed headers.

use super::*;

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
