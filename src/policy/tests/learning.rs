//! A learning run's base ([`PolicyBuilder::for_learning`]): the base's explicit denials stay in
//! force (violations too, in audit mode), everything else is audited.

use super::*;

const AUDIT: u32 = SECCOMP_RET_TRACE | trace_data::AUDIT as u32;
const TCGETS: u64 = 0x5401;

fn base() -> PolicyBuilder {
    let mut b = PolicyBuilder::new();
    b.allow("getuid")
        .rule("ioctl", &[Arg::eq32(1, TCGETS)], Action::Allow)
        .errno("ioctl", 25)
        .violation("getppid")
        .rule("socket", &[Arg::eq32(0, 17)], Action::Errno(1))
        .rule("socket", &[Arg::eq32(0, 1)], Action::Allow)
        .trace("getpid")
        .allow_static_startup();
    b
}

#[test]
fn denials_stay_and_the_rest_is_audited() {
    let p = base().for_learning().build().expect("build");
    assert!(p.is_audit() && p.is_learning());
    // The allow before ioctl's errno is part of it; the errno holds for the rest.
    assert_eq!(run_nr(&p, "ioctl", [1, TCGETS, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run_nr(&p, "ioctl", [1, 0x5421, 0, 0, 0, 0]), SECCOMP_RET_ERRNO | 0x19);
    // An explicit violation stays one; the default is audited.
    assert_eq!(run_nr(&p, "getppid", [0; 6]), VIOLATION);
    assert_eq!(run_nr(&p, "socket", [17, 0, 0, 0, 0, 0]), SECCOMP_RET_ERRNO | 0x1);
    // Allows after the last denial, plain allows, trace rules and fallbacks: recorded instead.
    for name in ["getuid", "getpid", "read"] {
        assert_eq!(run_nr(&p, name, [0; 6]), AUDIT, "{name}");
    }
    assert_eq!(run_nr(&p, "socket", [1, 0, 0, 0, 0, 0]), AUDIT);
    // A plain audit run of the same base audits its violation rule.
    let mut plain = base();
    plain.audit(true);
    assert_eq!(run_nr(&plain.build().expect("build"), "getppid", [0; 6]), AUDIT);
}

#[test]
fn learning_twice_is_learning_once() {
    let once = base().for_learning();
    let twice = once.for_learning();
    assert_eq!(once.explicit_rules(), twice.explicit_rules());
    assert_eq!(once.build().expect("once").program(), twice.build().expect("twice").program());
    // By syscall number (which differs between architectures), in order within one.
    let mut kept: Vec<(String, Action)> =
        once.explicit_rules().into_iter().map(|r| (r.name, r.action)).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let want = [
        ("getppid", Action::Violation),
        ("ioctl", Action::Allow),
        ("ioctl", Action::Errno(25)),
        ("socket", Action::Errno(1)),
    ];
    assert_eq!(kept, want.map(|(n, a)| (n.to_string(), a)));
}
