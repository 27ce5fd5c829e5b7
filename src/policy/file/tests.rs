//! Every key's errors name the file, line, column and key, and change nothing; every key loads.

use crate::namespaces::NetNs;
use crate::policy::{Monitor, PolicyBuilder};
use std::time::Duration;

/// Loads `text` into a builder holding one rule and a tmpfs; asserts the error names `place`
/// and `word` and that the builder is as it was.
fn refused(text: &str, place: &str, word: &str) {
    let mut pb = PolicyBuilder::new();
    pb.allow("getuid").add_tmpfs("/keep", None);
    let before = pb.to_toml();
    let err = match pb.load_file(text, "f.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(place), "{err:?} does not name {place}\n{text}");
    assert!(err.contains(word), "{err:?} does not name {word:?}\n{text}");
    assert_eq!(pb.to_toml(), before, "half applied:\n{text}");
}

#[test]
fn bad_settings_name_the_place_and_key() {
    let v = "version = 1\n";
    let cases: &[(&str, &str, &str)] = &[
        ("monitor = \"seccomp\"\n", "f.toml:2:11", "monitor"),
        ("audit = \"yes\"\n", "f.toml:2:9", "audit"),
        ("allow_speculation = 1\n", "f.toml:2:21", "allow_speculation"),
        ("stack_traces = \"on\"\n", "f.toml:2:16", "stack_traces"),
        ("monitr = \"auto\"\n", "f.toml:2:1", "monitr"),
        ("[namespaces]\nnetwork = \"none\"\n", "f.toml:3:11", "namespaces.network"),
        ("[namespaces]\nhostname = \"a/b\"\n", "f.toml:3:12", "namespaces.hostname"),
        ("[namespaces]\nenabled = 0\n", "f.toml:3:11", "enabled"),
        ("[namespaces]\nuser = true\n", "f.toml:3:1", "user"),
        ("[view]\ndev_shm = 0\n", "f.toml:3:11", "view.dev_shm"),
        ("[view]\ndev_shm = -1\n", "f.toml:3:11", "view.dev_shm"),
        ("[view]\nroot = true\n", "f.toml:3:1", "root"),
        ("[[rule]]\nsyscall = \"nope\"\naction = \"allow\"\n", "f.toml:3:11", "rule"),
        ("[[fallback]]\nsyscall = \"read\"\naction = \"errno:0\"\n", "f.toml:4:10", "fallback"),
        ("[[fallback]]\nsyscall = \"read\"\naction = \"allow\"\nargs = [{ index = 0, cmp = \"eq\", value = 1 }]\n", "f.toml:3:11", "fallback"),
        ("connect = [\"nowhere:x\"]\n", "f.toml:2:12", "connect"),
        ("refuse_connect = \"ENOPE\"\n", "f.toml:2:18", "refuse_connect"),
    ];
    for (text, place, word) in cases {
        refused(&format!("{v}{text}"), place, word);
    }
}

#[test]
fn bad_mounts_name_the_place_and_key() {
    let v = "version = 1\nallow = [\"read\"]\n";
    let cases: &[(&str, &str, &str)] = &[
        ("[[mount]]\npath = \"/x\"\ntype = \"overlay\"\n", "f.toml:3:1", "overlay"),
        ("[[mount]]\npath = \"/x\"\ntype = \"bind\"\n", "f.toml:3:1", "needs a source"),
        ("[[mount]]\npath = \"/x\"\ntype = \"tmpfs\"\nsource = \"/usr\"\n", "f.toml:3:1", "takes no source"),
        ("[[mount]]\npath = \"/x\"\ntype = \"tmpfs\"\nsize = 0\n", "f.toml:3:1", "size 0"),
        ("[[mount]]\npath = \"x\"\ntype = \"tmpfs\"\n", "f.toml:3:1", "mount: x"),
        ("[[mount]]\npath = \"/x\"\ntype = \"bind\"\nsource = \"/nonexistent-sbx\"\n", "f.toml:3:1", "/nonexistent-sbx"),
        ("[[mount]]\npath = \"/x\"\ntype = \"tmpfs\"\nmode = 1\n", "f.toml:6:1", "mode"),
        // The second mount conflicts with the first: neither is kept.
        ("[[mount]]\npath = \"/u\"\ntype = \"bind\"\nsource = \"/usr\"\n[[mount]]\npath = \"/u\"\ntype = \"tmpfs\"\n", "f.toml:7:1", "already mounted"),
        ("[[mount]]\npath = \"/bin/sh\"\ntype = \"libraries\"\nsource = \"/bin/true\"\n", "f.toml:3:1", "libraries"),
        // Mounts with namespaces disabled are refused by build, not here: see below.
    ];
    for (text, place, word) in cases {
        refused(&format!("{v}{text}"), place, word);
    }
}

#[test]
fn bad_limits_name_the_place_and_key() {
    let v = "version = 1\n[limits]\n";
    let cases: &[(&str, &str, &str)] = &[
        ("walltime = 0\n", "f.toml:3:12", "limits.walltime"),
        ("walltime = \"forever\"\n", "f.toml:3:12", "limits.walltime"),
        ("open_files = -3\n", "f.toml:3:14", "limits.open_files"),
        ("open_files = 2\n", "f.toml:2:1", "open_files"),
        ("processes = 0\n", "f.toml:2:1", "processes"),
        ("memory = 1\n", "f.toml:2:1", "memory"),
        ("cpus = 0\n", "f.toml:3:8", "limits.cpus"),
        ("rss = 1\n", "f.toml:3:1", "rss"),
    ];
    for (text, place, word) in cases {
        refused(&format!("{v}{text}"), place, word);
    }
}

#[test]
fn every_key_loads() {
    let text = r#"version = 1
default = "errno:EPERM"
monitor = "ptrace"
audit = true
allow_speculation = true
stack_traces = true
allow = ["read"]

[namespaces]
enabled = true
network = "host"
hostname = "box"
allow_no_private_proc = true

[view]
root_writable = true
write_exec = true
dev_shm = 1048576
dev_pts = true

[[mount]]
path = "/usr"
type = "bind"
source = "/usr"

[[mount]]
path = "/usr/share"
type = "hidden"
dir = true

[[mount]]
path = "/opt/none"
type = "bind"
source = "/nonexistent-sbx"
optional = true

[[mount]]
path = "/work"
type = "tmpfs"
size = 4096

[[mount]]
path = "/bin/true"
type = "libraries"
source = "/bin/true"

[[fallback]]
syscall = "readlinkat"
action = "errno:ENOENT"

[limits]
walltime = 1.5
cpu_seconds = "unlimited"
pids = 10
cpus = 0.5
"#;
    let mut pb = PolicyBuilder::new();
    let loaded = pb
        .load_file(text, "all.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let p = pb.build().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.monitor(), Monitor::Ptrace);
    assert!(p.is_audit() && p.allows_speculation() && p.stack_traces());
    assert_eq!(p.namespaces().net(), NetNs::Host);
    assert_eq!(p.namespaces().hostname, "box");
    assert!(p.namespaces().allow_no_proc);
    let m = p.mounts();
    assert!(m.root_writable() && m.writable_exec() && m.dev_pts());
    assert_eq!(m.dev_shm(), Some(1 << 20));
    let paths: Vec<_> = m.mounts().into_iter().map(|m| m.inside).collect();
    for want in ["/usr", "/usr/share", "/work", "/bin/true"] {
        assert!(
            paths.iter().any(|p| p.as_os_str() == want),
            "{want} missing: {paths:?}"
        );
    }
    assert!(!paths.iter().any(|p| p.starts_with("/opt")), "{paths:?}");
    let l = loaded.limits.expect("limits");
    assert!(loaded.view);
    assert_eq!(l.wall_time, Some(Duration::from_millis(1500)));
    assert_eq!(l.cpu_seconds, None);
    assert_eq!(l.cgroup.pids, Some(10));
    assert_eq!(l.cgroup.cpu_millicores, Some(500));
    assert_eq!(l.open_files, Some(1024), "defaults stay");
    // And the dump of all that loads to the same filter.
    let again = PolicyBuilder::from_toml(&pb.to_toml(), "dump.toml").unwrap();
    assert_eq!(again.build().unwrap().program(), p.program());
}

#[test]
fn mounts_without_namespaces_are_refused_by_build() {
    let text =
        "version = 1\n[namespaces]\nenabled = false\n[[mount]]\npath = \"/x\"\ntype = \"tmpfs\"\n";
    let pb = PolicyBuilder::from_toml(text, "f.toml").unwrap();
    let e = pb.build().unwrap_err().to_string();
    assert!(e.contains("namespaces"), "{e}");
}

#[test]
fn version_one_files_of_learn_mode_still_load() {
    let text = "version = 1\nallow = [\"read\", \"write\"]\n[[rule]]\nsyscall = \"socket\"\naction = \"allow\"\nargs = [{ index = 0, cmp = \"eq\", value = 1 }]\n";
    let loaded = PolicyBuilder::new().load_file(text, "old.toml").unwrap();
    assert_eq!(loaded.limits, None);
    assert!(!loaded.view);
}

/// A multi-byte character right before a key's `=` (found by the `policy_text` fuzzer: the key
/// finder once sliced inside it and panicked): an error naming the place, never a panic.
#[test]
fn a_multibyte_character_before_a_key_is_an_error() {
    for text in ["version = 1\nmonitoré = \"auto\"\n", "versqo\u{fffd} = }}}}", "\u{e9}= 1"] {
        let mut pb = PolicyBuilder::new();
        let err = pb.load_file(text, "odd.toml").err().map(|e| e.to_string());
        assert!(err.as_deref().is_some_and(|e| e.contains("odd.toml:")), "{text:?}: {err:?}");
    }
}
