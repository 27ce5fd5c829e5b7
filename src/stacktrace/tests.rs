//! Hostile and truncated inputs to the unwinder and the symbolizer: every one must end in an
//! error or a result, never a panic or a hang. (The walks of real programs are in
//! tests/stacktrace.rs.)

use super::maps::{parse_line, Mapping};
use super::module::{index, Module, Section};
use super::symbols::{demangle, name_in_module};
use super::unwind::row_cfa_register;
use super::{fold, Frame};
use std::time::{Duration, Instant};

const DW_CFA_DEF_CFA: u8 = 0x0c;
const DW_CFA_OFFSET_RA: u8 = 0x80 | 16;
const DW_CFA_REMEMBER_STATE: u8 = 0x0a;

/// A CIE (no augmentation, 8-byte absolute FDE addresses) with `instructions`.
fn cie(instructions: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0, 1, 0, 1, 0x78, 16];
    body.extend_from_slice(instructions);
    while (body.len() + 4) % 8 != 0 {
        body.push(0); // DW_CFA_nop
    }
    let mut out = u32::try_from(body.len()).unwrap().to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// An FDE at section offset `at` whose CIE pointer says `cie_ptr`, for [begin, begin+len).
fn fde(cie_ptr: u32, begin: u64, len: u64, instructions: &[u8]) -> Vec<u8> {
    let mut body = cie_ptr.to_le_bytes().to_vec();
    body.extend(begin.to_le_bytes());
    body.extend(len.to_le_bytes());
    body.extend_from_slice(instructions);
    while (body.len() + 4) % 8 != 0 {
        body.push(0);
    }
    let mut out = u32::try_from(body.len()).unwrap().to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// A module whose whole data is an `.eh_frame` at address 0.
fn eh_module(data: Vec<u8>) -> Module {
    Module {
        path: "hostile".into(),
        eh_frame: Some(Section {
            bytes: 0..data.len(),
            address: 0,
        }),
        eh_frame_hdr: None,
        debug_frame: None,
        text: 0,
        bias: 0,
        data,
    }
}

fn good_cfi() -> Vec<u8> {
    let mut data = cie(&[DW_CFA_DEF_CFA, 7, 8, DW_CFA_OFFSET_RA, 1]);
    let at = u32::try_from(data.len()).unwrap();
    data.extend(fde(at + 4, 0x1000, 0x100, &[]));
    data
}

#[test]
fn a_well_formed_fde_is_found() {
    let m = eh_module(good_cfi());
    assert_eq!(row_cfa_register(&m, 0x1010), Ok(7));
    assert!(row_cfa_register(&m, 0x2000).is_err());
}

#[test]
fn an_fde_that_names_itself_as_its_cie_fails() {
    // The CIE pointer leads back to the FDE itself: a loop, if anything followed it.
    let mut data = cie(&[DW_CFA_DEF_CFA, 7, 8]);
    data.extend(fde(4, 0x1000, 0x100, &[]));
    assert!(row_cfa_register(&eh_module(data), 0x1010).is_err());
}

#[test]
fn two_fdes_that_name_each_other_fail() {
    let mut data = fde(0, 0x1000, 0x100, &[]); // CIE pointer 0 is a CIE id: not an FDE at all
    let second = u32::try_from(data.len()).unwrap();
    data.extend(fde(second + 4, 0x1000, 0x100, &[]));
    assert!(row_cfa_register(&eh_module(data), 0x1010).is_err());
}

#[test]
fn huge_lengths_fail() {
    for len in [0xffff_fff0u32, 0xffff_ffff, 0x7fff_ffff] {
        let mut data = len.to_le_bytes().to_vec();
        data.extend([0u8; 60]);
        assert!(
            row_cfa_register(&eh_module(data), 0x1010).is_err(),
            "{len:#x}"
        );
    }
    // 64-bit DWARF length: 0xffffffff then a u64.
    let mut data = 0xffff_ffffu32.to_le_bytes().to_vec();
    data.extend(u64::MAX.to_le_bytes());
    data.extend([0u8; 32]);
    assert!(row_cfa_register(&eh_module(data), 0x1010).is_err());
}

#[test]
fn an_fde_covering_everything_with_endless_remember_states_fails() {
    let mut data = cie(&[DW_CFA_DEF_CFA, 7, 8]);
    let at = u32::try_from(data.len()).unwrap();
    data.extend(fde(at + 4, 0, u64::MAX, &[DW_CFA_REMEMBER_STATE; 4000]));
    assert!(row_cfa_register(&eh_module(data), 0x1010).is_err());
}

#[test]
fn every_truncation_and_byte_flip_of_cfi_ends_cleanly() {
    let good = good_cfi();
    let started = Instant::now();
    for n in 0..good.len() {
        let _ = row_cfa_register(&eh_module(good[..n].to_vec()), 0x1010);
    }
    for i in 0..good.len() {
        for v in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] = v;
            let _ = row_cfa_register(&eh_module(bad), 0x1010);
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn mapping(path: &str) -> Mapping {
    Mapping {
        start: 0x40_0000,
        end: 0x50_0000,
        exec: true,
        offset: 0,
        dev: (0, 0),
        inode: 1,
        path: path.into(),
    }
}

#[test]
fn truncated_and_corrupted_elf_files_end_cleanly() {
    // A real ELF file of the host (any will do), cut at many lengths and with bytes flipped.
    let Some(elf) = ["/usr/bin/true", "/bin/true", "/usr/bin/env"]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
    else {
        return;
    };
    let started = Instant::now();
    let mut cuts: Vec<usize> = (0..256).collect();
    cuts.extend((256..elf.len()).step_by(997));
    for n in cuts {
        if let Ok(m) = index("t", elf[..n].to_vec(), &mapping("t")) {
            let _ = row_cfa_register(&m, 0x1234);
            let mut frames = vec![Frame::default(); 2];
            name_in_module(&m, &mut frames, &[0x40_1234, 0x40_2000], &[0, 1]);
        }
    }
    for i in (0..elf.len().min(8192)).step_by(7) {
        let mut bad = elf.clone();
        bad[i] ^= 0xff;
        if let Ok(m) = index("t", bad, &mapping("t")) {
            let _ = row_cfa_register(&m, 0x1234);
            let mut frames = vec![Frame::default(); 2];
            name_in_module(&m, &mut frames, &[0x40_1234, 0x40_2000], &[0, 1]);
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn hostile_symbols_demangle_or_stay_as_they_are() {
    assert_eq!(demangle("main"), "main");
    assert_eq!(
        demangle("_ZN5stack12stack_level317h0123456789abcdefE"),
        "stack::stack_level3"
    );
    assert_eq!(demangle("_Z3fooi"), "foo(int)");
    let deep = format!("_Z{}v", "P".repeat(3000));
    let _ = demangle(&deep);
    let long = "_ZN".to_string() + &"1a".repeat(5000) + "E";
    assert!(demangle(&long).len() < 4200);
    let _ = demangle("_R");
    let _ = demangle("_ZN\u{e9}E");
}

#[test]
fn maps_lines_parse_or_are_skipped() {
    let m =
        parse_line(b"7f31cfbf8000-7f31cfd4e000 r-xp 00026000 fe:00 326269    /usr/lib/libc.so.6")
            .unwrap();
    assert_eq!(
        (m.start, m.offset, m.dev, m.inode),
        (0x7f31_cfbf_8000, 0x26000, (0xfe, 0), 326_269)
    );
    assert!(m.exec);
    assert_eq!(m.path, "/usr/lib/libc.so.6");
    let anon = parse_line(b"7ffd0000-7ffd1000 rw-p 00000000 00:00 0 ").unwrap();
    assert_eq!(anon.path, "");
    for bad in [
        &b""[..],
        b"zz-1 r-xp 0 0:0 0",
        b"2000-1000 r-xp 0 0:0 0 x",
        b"\xff\xfe",
    ] {
        assert!(parse_line(bad).is_none());
    }
}

#[test]
fn runs_of_the_same_frame_fold() {
    let f = |pc| Frame {
        pc,
        ..Frame::default()
    };
    let folded = fold(vec![f(1), f(2), f(2), f(2), f(3), f(2)]);
    let got: Vec<(u64, u32)> = folded.iter().map(|f| (f.pc, f.repeats)).collect();
    assert_eq!(got, [(1, 0), (2, 2), (3, 0), (2, 0)]);
}
