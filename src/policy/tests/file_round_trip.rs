//! Property test: random builders (rules with conditions, default actions, groups, the view,
//! namespaces, monitor, network allow-lists) survive `to_toml` → `from_toml` with the same
//! compiled filter and the same settings, and the dump of the loaded builder is the dump itself.

use super::property::random_action;
use super::*;
use crate::namespaces::NetNs;
use crate::policy::net::OnDenied;

/// A random builder that builds.
fn random_builder(rng: &mut Rng) -> PolicyBuilder {
    let table = syscalls::table(Arch::native()).unwrap();
    let denied = &mandatory::get().denied;
    let mut b = PolicyBuilder::new();
    // Groups first or among the rules: their rules and fallbacks are what the dump writes.
    for _ in 0..rng.below(4) {
        let (_, add) = *rng.pick(super::super::groups::BY_NAME);
        add(&mut b);
    }
    for _ in 0..rng.below(40) {
        let n = rng.pick(table).0;
        if denied.contains_key(&n) {
            if rng.chance(50) {
                b.errno(n, 1 + rng.below(100) as u16);
            }
            continue;
        }
        if rng.chance(30) {
            b.rule(n, &[], random_action(rng));
        } else {
            let conds: Vec<Arg> = (0..=rng.below(3)).map(|_| random_arg(rng)).collect();
            b.rule(n, &conds, random_action(rng));
        }
    }
    // A number without a name in the table, written as a number.
    if rng.chance(10) {
        b.rule(Sys::Nr(999), &[random_arg(rng)], Action::Allow);
    }
    b.default_action(match rng.below(4) {
        0 => DefaultAction::AllowAll,
        1 => DefaultAction::TraceAll,
        2 => DefaultAction::Errno(1 + rng.below(4095) as u16),
        _ => DefaultAction::Violation,
    });
    b.audit(rng.chance(20));
    if rng.chance(20) {
        b.allow_speculation();
    }
    b.stack_traces(rng.chance(20));
    if rng.chance(10) {
        // No namespaces: no mounts, no proxy, no unotify.
        b.disable_namespaces();
        if rng.chance(50) {
            b.monitor(Monitor::Ptrace);
        }
        return b;
    }
    random_view(rng, &mut b);
    if rng.chance(30) {
        let specs = [
            "127.0.0.1:80",
            "10.0.0.0/8:443",
            "[::1]:0",
            "unix:/run/x.sock",
            "abstract:n",
        ];
        let spec: &&str = rng.pick(&specs);
        b.allow_connect(spec);
        if rng.chance(30) {
            b.allow_connect("udp:127.0.0.53:53");
        }
        if rng.chance(50) {
            b.on_denied_connect(OnDenied::Errno(111));
        }
        if rng.chance(50) {
            b.monitor(Monitor::Unotify);
        }
    } else {
        b.monitor(*rng.pick(&[Monitor::Auto, Monitor::Ptrace, Monitor::Unotify]));
        b.network_namespace(*rng.pick(&[NetNs::PerSandbox, NetNs::Host]));
    }
    b
}

fn random_view(rng: &mut Rng, b: &mut PolicyBuilder) {
    if rng.chance(50) {
        b.add_directory("/usr");
        if rng.chance(50) {
            b.hide("/usr/share", true);
        }
    }
    if rng.chance(50) {
        b.add_file_at("/etc/passwd", "/etc/users", rng.chance(50));
    }
    if rng.chance(30) {
        b.add_directory_at("/tmp", "/scratch", true);
    }
    for i in 0..rng.below(3) {
        let size = rng.chance(50).then(|| 1 + rng.below(1 << 40));
        b.add_tmpfs(format!("/t{i}/x{}", rng.below(5)), size);
    }
    if rng.chance(30) {
        b.dev_shm(Some(1 + rng.below(1 << 30)));
    }
    b.dev_pts(rng.chance(30));
    if rng.chance(30) {
        b.set_root_writable();
    }
    if rng.chance(30) {
        b.allow_write_exec();
    }
    if rng.chance(30) {
        b.allow_no_private_proc();
    }
    if rng.chance(30) {
        b.hostname(format!("h-{}", rng.below(1000)));
    }
}

#[test]
fn random_builders_survive_dump_and_load() {
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let b = random_builder(&mut rng);
        let before = b
            .build()
            .unwrap_or_else(|e| panic!("seed {seed}: random builder failed to build: {e}"));
        let text = b.to_toml();
        let loaded = PolicyBuilder::from_toml(&text, "dump.toml")
            .unwrap_or_else(|e| panic!("seed {seed}: the dump does not load: {e}\n{text}"));
        let after = loaded
            .build()
            .unwrap_or_else(|e| panic!("seed {seed}: the loaded dump does not build: {e}\n{text}"));
        assert_eq!(
            before.program(),
            after.program(),
            "seed {seed}: BPF differs\n{text}"
        );
        assert_eq!(
            before.namespaces(),
            after.namespaces(),
            "seed {seed}\n{text}"
        );
        assert_eq!(before.mounts(), after.mounts(), "seed {seed}\n{text}");
        assert_eq!(before.monitor(), after.monitor(), "seed {seed}\n{text}");
        assert_eq!(before.network(), after.network(), "seed {seed}\n{text}");
        assert_eq!(before.is_audit(), after.is_audit(), "seed {seed}\n{text}");
        assert_eq!(before.stack_traces(), after.stack_traces(), "seed {seed}\n{text}");
        assert_eq!(
            before.allows_speculation(),
            after.allows_speculation(),
            "seed {seed}"
        );
        assert_eq!(
            before.default_action(),
            after.default_action(),
            "seed {seed}"
        );
        assert_eq!(
            loaded.to_toml(),
            text,
            "seed {seed}: the dump of the load differs"
        );
    }
}

#[test]
fn limits_survive_dump_and_load() {
    let mut l = crate::limits::Limits {
        wall_time: Some(std::time::Duration::from_millis(2500)),
        address_space: Some(1 << 30),
        file_size: None,
        processes: Some(7),
        ..Default::default()
    };
    l.cgroup.memory = Some(64 << 20);
    l.cgroup.cpu_millicores = Some(1500);
    let text = PolicyBuilder::new().to_toml_with_limits(&l);
    let got = PolicyBuilder::new().load_file(&text, "l.toml").unwrap();
    assert_eq!(got.limits, Some(l), "{text}");
    assert!(got.view);
}
