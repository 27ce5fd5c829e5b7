//! The compiled program's structure: kernel-cacheable allows, logarithmic dispatch, long jumps
//! through trampolines, the length limit and the kernel's own checks.

use super::*;

/// What the kernel's `seccomp_is_const_allow` (kernel/seccomp.c, Linux 5.11+) concludes for one
/// syscall number, generalised to report the constant verdict: it follows the path for `nr` with
/// only `arch` and `nr` known, and gives up (`None`) on anything that needs more (argument or IP
/// loads, X, scratch memory, ALU other than AND, RET A). The kernel caches the syscall as
/// allowed exactly when this returns `Some(SECCOMP_RET_ALLOW)`.
fn constant_path(prog: &[SockFilter], arch: u32, nr: u32) -> Option<(u32, usize)> {
    let mut a = 0u32;
    let mut pc = 0usize;
    let mut steps = 0usize;
    while let Some(insn) = prog.get(pc) {
        steps += 1;
        match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => match insn.k {
                SECCOMP_DATA_NR => a = nr,
                SECCOMP_DATA_ARCH => a = arch,
                _ => return None,
            },
            c if c == BPF_RET | BPF_K => return Some((insn.k, steps)),
            c if c == BPF_JMP | BPF_JA => pc += insn.k as usize,
            c if c == BPF_JMP | BPF_JEQ | BPF_K
                || c == BPF_JMP | BPF_JGE | BPF_K
                || c == BPF_JMP | BPF_JGT | BPF_K
                || c == BPF_JMP | BPF_JSET | BPF_K =>
            {
                let taken = match c & 0xf0 {
                    BPF_JEQ => a == insn.k,
                    BPF_JGE => a >= insn.k,
                    BPF_JGT => a > insn.k,
                    _ => a & insn.k != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => a &= insn.k,
            _ => return None,
        }
        pc += 1;
    }
    None
}

fn kernel_caches_allow(prog: &[SockFilter], nr: u32) -> bool {
    constant_path(prog, NATIVE_AUDIT_ARCH, nr).map(|(ret, _)| ret) == Some(SECCOMP_RET_ALLOW)
}

/// Every syscall whose verdict does not depend on its arguments reaches its verdict on a
/// constant path (only arch and nr loaded); allowed ones are therefore cached by the kernel.
/// Syscalls with argument rules are not.
#[test]
fn unconditional_allows_are_kernel_cacheable() {
    let mut policies = vec![
        presets::tool_default().build().unwrap(),
        PolicyBuilder::new()
            .default_action(DefaultAction::AllowAll)
            .build()
            .unwrap(),
    ];
    let mut big = PolicyBuilder::new();
    big.allow_dynamic_startup()
        .allow_system_malloc()
        .allow_exit()
        .allow_tcgets();
    policies.push(big.build().unwrap());
    for p in &policies {
        let mut allowed = 0;
        for n in 0..600u32 {
            let path = constant_path(p.program(), NATIVE_AUDIT_ARCH, n).map(|(r, _)| r);
            match p.constant_verdict(n) {
                Some(v) => {
                    assert_eq!(path, Some(v), "nr {n} should be constant {v:#x}");
                    allowed += usize::from(v == SECCOMP_RET_ALLOW);
                }
                None => assert_eq!(path, None, "nr {n} has argument rules"),
            }
            assert_eq!(
                kernel_caches_allow(p.program(), n),
                p.constant_verdict(n) == Some(ALLOW)
            );
        }
        assert!(allowed > 10);
        // Foreign ABIs are never cached as allowed.
        #[cfg(target_arch = "x86_64")]
        for n in [0u32, 1, 60, 0x4000_0000] {
            let i386 = constant_path(p.program(), crate::arch::AUDIT_ARCH_I386, n);
            assert_ne!(i386.map(|r| r.0), Some(ALLOW));
            assert!(!kernel_caches_allow(p.program(), n | 0x4000_0000));
        }
    }
    let tool = &policies[0];
    for name in [
        "read",
        "write",
        "close",
        "openat",
        "newfstatat",
        "mmap",
        "futex",
        "getpid",
    ] {
        if let Some(n) = syscalls::number(name) {
            assert!(
                kernel_caches_allow(tool.program(), n),
                "{name} should be cacheable"
            );
        }
    }
    for name in ["ioctl", "socket", "clone", "execveat", "prctl"] {
        assert!(
            !kernel_caches_allow(tool.program(), nr(name)),
            "{name} has argument rules"
        );
    }
}

/// Reaching any leaf takes O(log n) instructions: a balanced search, not a linear chain.
#[test]
fn dispatch_is_logarithmic() {
    let denied = &mandatory::get().denied;
    let conditional = &mandatory::get().conditional;
    let candidates: Vec<u32> = syscalls::table(Arch::native())
        .unwrap()
        .iter()
        .map(|&(n, _)| n)
        .filter(|n| !denied.contains_key(n) && !conditional.contains_key(n))
        .take(300)
        .collect();
    assert_eq!(candidates.len(), 300);
    let p = PolicyBuilder::new()
        .allow_many(candidates.iter().copied())
        .build()
        .unwrap();
    let leaves = 300 + denied.len() + conditional.len();
    let prologue = if cfg!(target_arch = "x86_64") { 4 } else { 3 };
    let bound = 2 * (leaves as f64).log2().ceil() as usize + prologue + 4;
    let mut worst = 0;
    for n in 0..1000u32 {
        if let Some((_, steps)) = constant_path(p.program(), NATIVE_AUDIT_ARCH, n) {
            worst = worst.max(steps);
        }
    }
    assert!(worst <= bound, "worst path {worst} > bound {bound}");
    // And far from linear.
    assert!(worst < 30, "worst path {worst}");
    for &n in &candidates {
        assert!(kernel_caches_allow(p.program(), n));
    }
}

/// One syscall with enough conditional rules that its chain is longer than a short jump can
/// cross, and many syscalls with chains so the dispatch tree jumps far too.
#[test]
fn long_jumps_use_trampolines() {
    let mut b = PolicyBuilder::new();
    for i in 0..200u64 {
        b.rule(
            "ioctl",
            &[Arg::eq64(1, 0x1000 + i)],
            Action::Errno(1 + i as u16),
        );
    }
    let candidates: Vec<u32> = syscalls::table(Arch::native())
        .unwrap()
        .iter()
        .map(|&(n, _)| n)
        .filter(|&n| mandatory::check_user_rule(n, true, Action::Allow).is_ok())
        .filter(|&n| n != nr("ioctl"))
        .take(150)
        .collect();
    for (i, &n) in candidates.iter().enumerate() {
        b.rule(n, &[Arg::eq32(0, i as u64)], Action::Allow).rule(
            n,
            &[Arg::gt64(1, 7)],
            Action::Trace,
        );
    }
    let p = b.build().unwrap();
    let prog = p.program();
    assert!(prog.len() > 1000, "{}", prog.len());
    assert!(
        prog.iter().any(|i| i.code == BPF_JMP | BPF_JA),
        "expected JA trampolines"
    );
    for i in 0..200u64 {
        assert_eq!(
            run_nr(&p, "ioctl", [0, 0x1000 + i, 0, 0, 0, 0]),
            errno(1 + i as u16)
        );
        assert_eq!(
            run_nr(&p, "ioctl", [0, (0x1000 + i) | 1 << 33, 0, 0, 0, 0]),
            VIOLATION
        );
    }
    for (i, &n) in candidates.iter().enumerate() {
        assert_eq!(run(&p, &call(n, [i as u64, 0, 0, 0, 0, 0])), ALLOW);
        assert_eq!(run(&p, &call(n, [i as u64 + 1, 8, 0, 0, 0, 0])), USER_TRACE);
        assert_eq!(run(&p, &call(n, [i as u64 + 1, 7, 0, 0, 0, 0])), VIOLATION);
    }
}

/// Sweeps chain lengths so that jumps to a shared return land exactly on the edge of the 8-bit
/// reach (offsets 254..=257): rules of 2 and 3 instructions shift the distance by every amount.
#[test]
fn jumps_at_the_edge_of_short_reach() {
    for n in 100..140u64 {
        for m in 0..3u64 {
            let mut b = PolicyBuilder::new();
            for i in 0..n {
                b.rule("ioctl", &[Arg::eq32(1, i)], Action::Errno(1));
            }
            for j in 0..m {
                b.rule(
                    "ioctl",
                    &[Arg::masked_eq32(1, 0xffff_0000, 0x1_0000 * (j + 1))],
                    Action::Errno(1),
                );
            }
            let p = b.build().unwrap();
            for i in 0..n {
                assert_eq!(
                    run_nr(&p, "ioctl", [0, i, 0, 0, 0, 0]),
                    errno(1),
                    "n {n} m {m} i {i}"
                );
            }
            for j in 0..m {
                assert_eq!(
                    run_nr(&p, "ioctl", [0, 0x1_0000 * (j + 1) + 5, 0, 0, 0, 0]),
                    errno(1)
                );
            }
            assert_eq!(run_nr(&p, "ioctl", [0, n, 0, 0, 0, 0]), VIOLATION);
        }
    }
}

#[test]
fn too_long_programs_are_rejected() {
    let mut b = PolicyBuilder::new();
    for i in 0..1500u64 {
        b.rule("ioctl", &[Arg::eq64(1, i)], Action::Allow);
    }
    match b.build() {
        Err(Error::InvalidPolicy(m)) => assert!(m.contains("4096"), "{m}"),
        other => panic!("expected InvalidPolicy, got {other:?}"),
    }
}

#[test]
fn programs_are_valid_for_the_kernel() {
    // What the kernel's checker wants: at most 4096 instructions, every jump inside, last
    // instruction a return, only seccomp-accepted opcodes.
    let p = presets::tool_default().build().unwrap();
    let prog = p.program();
    assert!(prog.len() <= BPF_MAXINSNS);
    assert_eq!(prog.last().map(|i| i.code), Some(BPF_RET | BPF_K));
    for (pc, insn) in prog.iter().enumerate() {
        match insn.code {
            c if c == BPF_JMP | BPF_JA => assert!(pc + 1 + (insn.k as usize) < prog.len()),
            c if c & 0x07 == BPF_JMP => {
                assert!(pc + 1 + usize::from(insn.jt.max(insn.jf)) < prog.len());
            }
            c if c == BPF_LD | BPF_W | BPF_ABS => assert!(insn.k % 4 == 0 && insn.k < 64),
            c if c == BPF_RET | BPF_K || c == BPF_ALU | BPF_AND | BPF_K => {}
            c => panic!("unexpected opcode {c:#x} at {pc}"),
        }
    }
}
