//! Tests of built policies as a whole: the compiled program run through the interpreter must agree
//! with the model ([`Policy::decide`]), stay cacheable by the kernel, dispatch in logarithmic time,
//! survive long jumps, and always carry the mandatory rules.
//!
//! Here: the shared helpers, the random inputs (also used by `differential.rs`) and the
//! behaviour of small policies; `semantics.rs` the builder's semantics; `mandatory_rules.rs`
//! the mandatory rules; `compiler.rs` the compiled program's structure; `property.rs` the
//! property test against the model; `tool_preset.rs` the tool preset; `disassembly.rs` the
//! disassembler.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]

use super::bpf::*;
use super::*;
use crate::arch::{Arch, NATIVE_AUDIT_ARCH};
use crate::error::Error;
use super::rule::ioctl_cmd;

mod compiler;
mod disassembly;
mod file_round_trip;
mod learning;
mod mandatory_rules;
mod property;
mod semantics;
mod tool_preset;

fn nr(name: &str) -> u32 {
    syscalls::number(name).unwrap_or_else(|| panic!("{name} missing from the native table"))
}

/// The native ones of `names`, which lists the names of every architecture a test means
/// (`dup2` on x86-64, `dup3` everywhere); each must exist on one at least.
fn native_ones(
    names: impl IntoIterator<Item = &'static str>,
) -> impl Iterator<Item = &'static str> {
    names.into_iter().filter(|name| {
        let archs = [Arch::X86_64, Arch::X86_32, Arch::Aarch64];
        assert!(
            archs
                .iter()
                .any(|&a| syscalls::number_for(a, name).is_some()),
            "{name} is no syscall anywhere"
        );
        syscalls::number(name).is_some()
    })
}

fn call(nr: u32, args: [u64; 6]) -> SeccompData {
    SeccompData {
        nr: nr as i32,
        arch: NATIVE_AUDIT_ARCH,
        instruction_pointer: 0x7fff_0000_1234,
        args,
    }
}

/// Runs the compiled program and checks it agrees with the model before returning the verdict.
fn run(policy: &Policy, data: &SeccompData) -> u32 {
    let got = evaluate(policy.program(), data).expect("compiled program must evaluate");
    assert_eq!(
        got,
        policy.decide(data),
        "program and model disagree on {data:?}"
    );
    got
}

fn run_nr(policy: &Policy, name: &str, args: [u64; 6]) -> u32 {
    run(policy, &call(nr(name), args))
}

const ALLOW: u32 = SECCOMP_RET_ALLOW;
const VIOLATION: u32 = SECCOMP_RET_TRACE | trace_data::VIOLATION as u32;
const USER_TRACE: u32 = SECCOMP_RET_TRACE | trace_data::USER_TRACE as u32;
const fn errno(e: u16) -> u32 {
    SECCOMP_RET_ERRNO | e as u32
}

// ---------------------------------------------------------------------------------------------
// Random inputs, for the property test and `differential.rs`.

/// xorshift64*: small, deterministic, good enough to spread test inputs.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Values near the edges where comparisons go wrong.
pub(super) fn interesting(rng: &mut Rng, w32: bool) -> u64 {
    let v = match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => u64::from(u32::MAX),
        3 => 0x8000_0000,
        4 => 1 << 32,
        5 => u64::MAX,
        6 => rng.below(16),
        _ => rng.next(),
    };
    if w32 {
        v & u64::from(u32::MAX)
    } else {
        v
    }
}

pub(super) fn random_arg(rng: &mut Rng) -> Arg {
    let index = rng.below(6) as u8;
    let w32 = rng.chance(50);
    let width = if w32 { Width::W32 } else { Width::W64 };
    let cmp = match rng.below(7) {
        0 => Cmp::Eq,
        1 => Cmp::Ne,
        2 => Cmp::Lt,
        3 => Cmp::Le,
        4 => Cmp::Gt,
        5 => Cmp::Ge,
        _ => Cmp::MaskedEq(interesting(rng, w32)),
    };
    let mut value = interesting(rng, w32);
    if let Cmp::MaskedEq(mask) = cmp {
        value &= mask;
    }
    Arg::new(index, width, cmp, value)
}

// ---------------------------------------------------------------------------------------------
// Behaviour of small policies.

#[test]
fn empty_policy_denies_everything() {
    let p = PolicyBuilder::new().build().unwrap();
    assert_eq!(run_nr(&p, "read", [0; 6]), VIOLATION);
    assert_eq!(run(&p, &call(100_000, [0; 6])), VIOLATION);
    assert_eq!(p.default_action(), DefaultAction::Violation);
    assert!(!p.allows_exec());
}

#[test]
fn actions_and_defaults() {
    let mut b = PolicyBuilder::new();
    b.allow("read")
        .errno("write", 5)
        .trace("getpid")
        .violation("getppid");
    for (default, ret) in [
        (DefaultAction::Violation, VIOLATION),
        (DefaultAction::AllowAll, ALLOW),
        (DefaultAction::TraceAll, USER_TRACE),
        (DefaultAction::Errno(38), errno(38)),
    ] {
        let p = b.clone().default_action(default).build().unwrap();
        assert_eq!(run_nr(&p, "read", [0; 6]), ALLOW);
        assert_eq!(run_nr(&p, "write", [0; 6]), errno(5));
        assert_eq!(run_nr(&p, "getpid", [0; 6]), USER_TRACE);
        assert_eq!(run_nr(&p, "getppid", [0; 6]), VIOLATION);
        assert_eq!(run_nr(&p, "close", [0; 6]), ret, "{default:?}");
        assert_eq!(p.default_action(), default);
    }
}

#[test]
fn first_matching_rule_wins() {
    let tcgets = ioctl_cmd(libc::TCGETS);
    let mut b = PolicyBuilder::new();
    b.rule("ioctl", &[Arg::eq32(1, tcgets)], Action::Allow)
        .errno("ioctl", crate::sys::errno16(libc::ENOTTY));
    let p = b.build().unwrap();
    assert_eq!(run_nr(&p, "ioctl", [1, tcgets, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        run_nr(&p, "ioctl", [1, ioctl_cmd(libc::TIOCSTI), 0, 0, 0, 0]),
        errno(crate::sys::errno16(libc::ENOTTY))
    );

    // The other way round, the unconditional errno decides alone; the later rule is dropped.
    let mut b = PolicyBuilder::new();
    b.errno("ioctl", 25)
        .rule("ioctl", &[Arg::eq32(1, tcgets)], Action::Allow);
    let p = b.build().unwrap();
    assert_eq!(run_nr(&p, "ioctl", [1, tcgets, 0, 0, 0, 0]), errno(25));
}

#[test]
fn conditions_are_anded_rules_are_ored() {
    let mut b = PolicyBuilder::new();
    b.rule(
        "mmap",
        &[Arg::eq32(2, 3), Arg::eq32(3, 0x22)],
        Action::Allow,
    )
    .rule("mmap", &[Arg::eq32(2, 0)], Action::Errno(1));
    let p = b.build().unwrap();
    assert_eq!(run_nr(&p, "mmap", [0, 4096, 3, 0x22, 0, 0]), ALLOW);
    assert_eq!(run_nr(&p, "mmap", [0, 4096, 3, 0x02, 0, 0]), VIOLATION);
    assert_eq!(run_nr(&p, "mmap", [0, 4096, 0, 0x22, 0, 0]), errno(1));
}

#[test]
fn sixty_four_bit_comparisons() {
    let v = 0x0000_0001_8000_0000u64;
    let cases = [
        (Cmp::Eq, [false, true, false]),
        (Cmp::Ne, [true, false, true]),
        (Cmp::Lt, [true, false, false]),
        (Cmp::Le, [true, true, false]),
        (Cmp::Gt, [false, false, true]),
        (Cmp::Ge, [false, true, true]),
    ];
    for (cmp, want) in cases {
        let p = PolicyBuilder::new()
            .rule("read", &[Arg::new(0, Width::W64, cmp, v)], Action::Allow)
            .build()
            .unwrap();
        // Below, equal, above; each also with the halves arranged to fool a one-half compare.
        for (x, want) in [(v - 1, want[0]), (v, want[1]), (v + 1, want[2])] {
            let got = run_nr(&p, "read", [x, 0, 0, 0, 0, 0]) == ALLOW;
            assert_eq!(got, want, "{cmp:?} x={x:#x}");
        }
        let low_big_high_small = 0x0000_0000_ffff_ffffu64;
        let expect = matches!(cmp, Cmp::Lt | Cmp::Le | Cmp::Ne);
        assert_eq!(
            run_nr(&p, "read", [low_big_high_small, 0, 0, 0, 0, 0]) == ALLOW,
            expect
        );
        let high_big_low_small = 0x0000_0002_0000_0000u64;
        let expect = matches!(cmp, Cmp::Gt | Cmp::Ge | Cmp::Ne);
        assert_eq!(
            run_nr(&p, "read", [high_big_low_small, 0, 0, 0, 0, 0]) == ALLOW,
            expect
        );
    }
    let p = PolicyBuilder::new()
        .rule(
            "read",
            &[Arg::masked_eq64(
                0,
                0xff00_0000_0000_00ff,
                0x1200_0000_0000_0034,
            )],
            Action::Allow,
        )
        .build()
        .unwrap();
    assert_eq!(
        run_nr(&p, "read", [0x12ab_cdef_0123_4534, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run_nr(&p, "read", [0x13ab_cdef_0123_4534, 0, 0, 0, 0, 0]),
        VIOLATION
    );
    assert_eq!(
        run_nr(&p, "read", [0x12ab_cdef_0123_4535, 0, 0, 0, 0, 0]),
        VIOLATION
    );
}

/// The kernel reads `ioctl`'s `cmd` as an `unsigned int`: a caller may put anything in the upper
/// half of the register and the kernel still runs TCGETS. A 32-bit rule sees the call as the
/// kernel does; a 64-bit rule would not match (so an allow-list would wrongly refuse it, and a
/// deny rule written on 64 bits could be bypassed by setting high bits).
#[test]
fn ioctl_cmd_is_compared_on_32_bits() {
    let tcgets = ioctl_cmd(libc::TCGETS);
    let dirty = 0xffff_ffff_0000_0000 | tcgets;
    let p32 = PolicyBuilder::new().allow_tcgets().build().unwrap();
    assert_eq!(run_nr(&p32, "ioctl", [0, dirty, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run_nr(&p32, "ioctl", [0, tcgets, 0, 0, 0, 0]), ALLOW);
    let p64 = PolicyBuilder::new()
        .rule("ioctl", &[Arg::eq64(1, tcgets)], Action::Allow)
        .build()
        .unwrap();
    assert_eq!(run_nr(&p64, "ioctl", [0, dirty, 0, 0, 0, 0]), VIOLATION);
    assert_eq!(run_nr(&p64, "ioctl", [0, tcgets, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn allows_exec_reflects_the_user_policy() {
    let p = PolicyBuilder::new().allow_exec().build().unwrap();
    assert!(p.allows_exec());
    let p = PolicyBuilder::new().allow("execve").build().unwrap();
    assert!(p.allows_exec());
    let p = PolicyBuilder::new()
        .default_action(DefaultAction::AllowAll)
        .build()
        .unwrap();
    assert!(p.allows_exec());
    let p = PolicyBuilder::new()
        .rule("execve", &[Arg::eq64(0, 0)], Action::Allow)
        .default_action(DefaultAction::AllowAll)
        .errno("execveat", 1)
        .build()
        .unwrap();
    assert!(!p.allows_exec());
}
