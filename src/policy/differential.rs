//! Differential test against seccompiler, an independent seccomp BPF generator (rust-vmm): the
//! same allow-list, compiled by both, must give the same verdict for every input. seccompiler has
//! one match action and no mandatory rules, so the policies here allow on match, return an errno
//! otherwise, and avoid the syscalls libsbx's mandatory rules own.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::bpf::evaluate;
use super::tests::{interesting, random_arg, Rng};
use super::{mandatory, syscalls, Action, Arg, Cmp, DefaultAction, PolicyBuilder, SeccompData};
use super::{SockFilter, Width};
use crate::arch::{Arch, NATIVE_AUDIT_ARCH};

const MISMATCH_ERRNO: u16 = 77;

fn their_condition(a: &Arg) -> SeccompCondition {
    let len = match a.width {
        Width::W32 => SeccompCmpArgLen::Dword,
        Width::W64 => SeccompCmpArgLen::Qword,
    };
    let op = match a.cmp {
        Cmp::Eq => SeccompCmpOp::Eq,
        Cmp::Ne => SeccompCmpOp::Ne,
        Cmp::Lt => SeccompCmpOp::Lt,
        Cmp::Le => SeccompCmpOp::Le,
        Cmp::Gt => SeccompCmpOp::Gt,
        Cmp::Ge => SeccompCmpOp::Ge,
        Cmp::MaskedEq(m) => SeccompCmpOp::MaskedEq(m),
    };
    SeccompCondition::new(a.index, len, op, a.value).expect("valid condition")
}

fn target_arch() -> TargetArch {
    if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        TargetArch::x86_64
    }
}

#[test]
fn agrees_with_seccompiler() {
    let table = syscalls::table(Arch::native()).expect("native table");
    let m = mandatory::get();
    let pool: Vec<u32> = table
        .iter()
        .map(|&(nr, _)| nr)
        .filter(|nr| !m.denied.contains_key(nr) && !m.conditional.contains_key(nr))
        .collect();
    let mut cases = 0;
    let mut allowed = 0;
    for seed in 1..=150u64 {
        let mut rng = Rng(seed.wrapping_mul(0xd134_2543_de82_ef95) | 1);
        let mut ours = PolicyBuilder::new();
        ours.default_action(DefaultAction::Errno(MISMATCH_ERRNO));
        let mut theirs: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        let mut used: Vec<Arg> = Vec::new();
        let mut nrs = Vec::new();
        for _ in 0..=rng.below(12) {
            let nr = *rng.pick(&pool);
            if theirs.contains_key(&i64::from(nr)) {
                continue;
            }
            nrs.push(nr);
            if rng.chance(20) {
                ours.allow(nr);
                theirs.insert(i64::from(nr), Vec::new());
                continue;
            }
            let mut rules = Vec::new();
            for _ in 0..=rng.below(4) {
                let conds: Vec<Arg> = (0..=rng.below(3)).map(|_| random_arg(&mut rng)).collect();
                ours.rule(nr, &conds, Action::Allow);
                used.extend(&conds);
                rules.push(SeccompRule::new(conds.iter().map(their_condition).collect()).unwrap());
            }
            theirs.insert(i64::from(nr), rules);
        }
        let policy = ours.build().expect("policy builds");
        let filter = SeccompFilter::new(
            theirs,
            SeccompAction::Errno(u32::from(MISMATCH_ERRNO)),
            SeccompAction::Allow,
            target_arch(),
        )
        .expect("seccompiler filter");
        let their_prog: BpfProgram = filter.try_into().expect("seccompiler compiles");
        let their_prog: Vec<SockFilter> = their_prog
            .iter()
            .map(|i| SockFilter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();

        for _ in 0..300 {
            let nr = if rng.chance(85) {
                *rng.pick(&nrs)
            } else {
                *rng.pick(&pool)
            };
            let mut args = [0u64; 6];
            for (i, a) in args.iter_mut().enumerate() {
                let near: Vec<&Arg> = used.iter().filter(|u| usize::from(u.index) == i).collect();
                *a = if near.is_empty() || rng.chance(15) {
                    interesting(&mut rng, false)
                } else {
                    let base = rng.pick(&near).value;
                    let v = base.wrapping_add(rng.below(3)).wrapping_sub(1);
                    if rng.chance(30) {
                        v ^ (rng.next() << 32)
                    } else {
                        v
                    }
                };
            }
            let data = SeccompData {
                nr: nr as i32,
                arch: NATIVE_AUDIT_ARCH,
                instruction_pointer: rng.next(),
                args,
            };
            let a = evaluate(policy.program(), &data).expect("ours evaluates");
            let b = evaluate(&their_prog, &data).expect("theirs evaluates");
            assert_eq!(a, b, "seed {seed}: {data:?}");
            cases += 1;
            allowed += usize::from(a == super::bpf::SECCOMP_RET_ALLOW);
        }
    }
    assert!(cases >= 40_000);
    // Both outcomes are well represented, so conditions were really exercised.
    assert!(
        allowed > cases / 5 && allowed < cases * 4 / 5,
        "{allowed} of {cases} allowed"
    );
}
