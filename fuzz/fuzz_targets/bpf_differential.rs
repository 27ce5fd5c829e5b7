//! The BPF compiler against the policy model: a policy built from the input's rules (syscalls,
//! argument conditions of every width and comparison, every action, a default) and a few
//! `seccomp_data` inputs; the compiled program, run by the BPF interpreter, must return exactly
//! what `Policy::decide` says, and the unotify variant must agree with it but for TRACE ->
//! USER_NOTIF. A policy the builder refuses is fine; a disagreement is a compiler bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sbx::policy::{bpf, Action, Arg, Cmp, DefaultAction, PolicyBuilder, SeccompData, Width};

/// A few syscall numbers, many rules land on the same ones (arguments matter there).
const NRS: [u32; 12] = [0, 1, 2, 3, 9, 16, 39, 41, 42, 56, 59, 257];

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u64(&mut self) -> u64 {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.u8();
        }
        u64::from_le_bytes(v)
    }
    /// Values near the interesting edges more often than at random.
    fn value(&mut self) -> u64 {
        match self.u8() % 6 {
            0 => u64::from(self.u8()),
            1 => u64::MAX - u64::from(self.u8()),
            2 => 0xffff_ffff - u64::from(self.u8()),
            3 => 0x1_0000_0000 + u64::from(self.u8()),
            _ => self.u64(),
        }
    }
}

fn arg(b: &mut Bytes) -> Arg {
    let index = b.u8() % 6;
    let width = if b.u8() % 2 == 0 { Width::W32 } else { Width::W64 };
    let value = b.value();
    let cmp = match b.u8() % 7 {
        0 => Cmp::Eq,
        1 => Cmp::Ne,
        2 => Cmp::Lt,
        3 => Cmp::Le,
        4 => Cmp::Gt,
        5 => Cmp::Ge,
        _ => {
            let mask = b.value();
            return Arg::new(index, width, Cmp::MaskedEq(mask), value & mask);
        }
    };
    Arg::new(index, width, cmp, value)
}

fn action(b: &mut Bytes) -> Action {
    match b.u8() % 4 {
        0 => Action::Allow,
        1 => Action::Errno(1 + u16::from(b.u8())),
        2 => Action::Trace,
        _ => Action::Violation,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut pb = PolicyBuilder::new();
    pb.default_action(match b.u8() % 4 {
        0 => DefaultAction::Violation,
        1 => DefaultAction::AllowAll,
        2 => DefaultAction::TraceAll,
        _ => DefaultAction::Errno(1 + u16::from(b.u8())),
    });
    for _ in 0..(b.u8() % 24) {
        let nr = NRS[usize::from(b.u8()) % NRS.len()];
        let args: Vec<Arg> = (0..b.u8() % 3).map(|_| arg(&mut b)).collect();
        pb.rule(nr, &args, action(&mut b));
    }
    let Ok(policy) = pb.build() else {
        return;
    };
    let unotify = policy.program_for_user_notify(1024);
    for _ in 0..8 {
        let nr = match b.u8() % 4 {
            0 => b.u64() as u32,
            _ => NRS[usize::from(b.u8()) % NRS.len()],
        };
        let arch = match b.u8() % 8 {
            0 => 0x4000_0003, // i386
            1 => b.u64() as u32,
            _ => sbx::arch::NATIVE_AUDIT_ARCH,
        };
        let input = SeccompData {
            nr: nr as i32,
            arch,
            instruction_pointer: b.u64(),
            args: [b.value(), b.value(), b.value(), b.value(), b.value(), b.value()],
        };
        let want = policy.decide(&input);
        let got = bpf::evaluate(policy.program(), &input).expect("the compiled program runs");
        assert_eq!(got, want, "BPF and model disagree on {input:?}");
        let got = bpf::evaluate(&unotify, &input).expect("the unotify program runs");
        let trace = want & 0xffff_0000 == bpf::SECCOMP_RET_TRACE;
        let sendmsg_on_reserved = arch == sbx::arch::NATIVE_AUDIT_ARCH && nr == 46 && input.args[0] == 1024;
        if sendmsg_on_reserved {
            assert_eq!(got, bpf::SECCOMP_RET_ALLOW);
        } else if trace {
            assert_eq!(got, 0x7fc0_0000, "unotify: TRACE must become USER_NOTIF for {input:?}");
        } else {
            assert_eq!(got, want, "unotify program disagrees on {input:?}");
        }
    }
});
