//! Property test: compiled program == model, on random policies and random inputs.

use super::*;

pub(super) fn random_action(rng: &mut Rng) -> Action {
    match rng.below(4) {
        0 => Action::Allow,
        1 => Action::Errno(1 + rng.below(u64::from(MAX_ERRNO)) as u16),
        2 => Action::Trace,
        _ => Action::Violation,
    }
}

/// A random valid policy over a pool of syscalls, and the pool.
fn random_policy(rng: &mut Rng) -> (Policy, Vec<u32>, Vec<Arg>) {
    let table = syscalls::table(Arch::native()).unwrap();
    let denied = &mandatory::get().denied;
    let size = match rng.below(10) {
        0 => 120,
        1..=3 => 30,
        _ => 6,
    };
    let mut pool: Vec<u32> = (0..size).map(|_| rng.pick(table).0).collect();
    // The mandatory conditional syscalls are the interesting neighbours of user rules.
    for name in ["clone", "execveat", "unshare", "seccomp", "ptrace"] {
        if rng.chance(30) {
            pool.push(nr(name));
        }
    }
    let mut b = PolicyBuilder::new();
    let mut args_used = Vec::new();
    let rules = pool.len() * (1 + rng.below(3) as usize);
    for _ in 0..rules {
        let n = *rng.pick(&pool);
        if denied.contains_key(&n) {
            if rng.chance(50) {
                b.errno(n, 1 + rng.below(100) as u16);
            }
            continue;
        }
        if rng.chance(25) {
            b.rule(n, &[], random_action(rng));
        } else {
            let conds: Vec<Arg> = (0..=rng.below(3)).map(|_| random_arg(rng)).collect();
            args_used.extend(conds.iter().copied());
            b.rule(n, &conds, random_action(rng));
        }
    }
    let default = match rng.below(4) {
        0 => DefaultAction::AllowAll,
        1 => DefaultAction::TraceAll,
        2 => DefaultAction::Errno(1 + rng.below(4095) as u16),
        _ => DefaultAction::Violation,
    };
    b.default_action(default);
    match b.build() {
        Ok(p) => (p, pool, args_used),
        Err(e) => panic!("random policy failed to build: {e}"),
    }
}

/// An argument value aimed at a condition's boundary, with the upper half sometimes disturbed.
fn random_value(rng: &mut Rng, args_used: &[Arg], index: usize) -> u64 {
    let near: Vec<&Arg> = args_used
        .iter()
        .filter(|a| usize::from(a.index) == index)
        .collect();
    if near.is_empty() || rng.chance(20) {
        return interesting(rng, false);
    }
    let a = *rng.pick(&near);
    let base = match a.cmp {
        Cmp::MaskedEq(mask) if rng.chance(50) => a.value | (rng.next() & !mask),
        _ => a.value,
    };
    let v = match rng.below(3) {
        0 => base.wrapping_sub(1),
        1 => base,
        _ => base.wrapping_add(1),
    };
    match rng.below(4) {
        0 => v ^ (rng.next() << 32),
        1 => v ^ (1 << 32),
        _ => v,
    }
}

#[test]
fn compiled_program_agrees_with_the_model() {
    let mut cases = 0usize;
    let mut verdicts = std::collections::HashSet::new();
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (p, pool, args_used) = random_policy(&mut rng);
        for _ in 0..200 {
            let arch = match rng.below(10) {
                0 => crate::arch::AUDIT_ARCH_I386,
                1 => rng.next() as u32,
                _ => NATIVE_AUDIT_ARCH,
            };
            let n = match rng.below(10) {
                0..=5 => *rng.pick(&pool),
                6 => rng.pick(&pool).wrapping_add(1),
                7 => rng.pick(&pool).wrapping_sub(1),
                8 => rng.below(600) as u32,
                _ => match rng.below(3) {
                    0 => 0x4000_0000 | rng.below(600) as u32,
                    1 => rng.next() as u32,
                    _ => *rng.pick(&pool) | 0x4000_0000,
                },
            };
            let mut args = [0u64; 6];
            for (i, a) in args.iter_mut().enumerate() {
                *a = random_value(&mut rng, &args_used, i);
            }
            let data = SeccompData {
                nr: n as i32,
                arch,
                instruction_pointer: rng.next(),
                args,
            };
            let got = evaluate(p.program(), &data)
                .unwrap_or_else(|e| panic!("seed {seed}: evaluation failed: {e}"));
            let want = p.decide(&data);
            assert_eq!(got, want, "seed {seed}: {data:?}\n{}", p.disassemble());
            verdicts.insert(got);
            cases += 1;
        }
    }
    assert!(cases >= 50_000);
    // The inputs reached rules, not only the defaults.
    assert!(
        verdicts.len() > 200,
        "only {} distinct verdicts",
        verdicts.len()
    );
}
