//! Learn mode and policy files (issue 13): a learning run records what the program did; the
//! learned policy, applied or written as a file and loaded back, runs the same workload and
//! refuses one that needs more; a bad file is refused naming file:line:column and changes
//! nothing. Runs under the monitor SBX_TEST_MONITOR names.

mod common;

use common::*;
use sbx::learn::{learning, Learned};
use sbx::{PolicyBuilder, Status};

/// The attacker's view (base_policy's namespaces and files) without its rules.
fn view() -> PolicyBuilder {
    base_policy().without_rules()
}

fn learning_run(mode: &str, args: &[&str]) -> sbx::RunResult {
    let run = run_capture(attack(mode, args), build(&learning(&view())));
    assert!(run.r.audit.is_some(), "not an audit run\n{}", run.ctx());
    run.r
}

fn learn(mode: &str, args: &[&str]) -> Learned {
    Learned::from_results([&learning_run(mode, args)])
}

/// The learned rules written as a file and loaded back give the filter `apply` gives; returns
/// the file.
fn assert_round_trip(learned: &Learned) -> String {
    let text = learned.to_toml();
    let mut applied = view();
    learned.apply(&mut applied);
    let mut loaded = view();
    loaded
        .load_rules(&text, "learned.toml")
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        build(&applied).program(),
        build(&loaded).program(),
        "the file gives another filter:\n{text}"
    );
    text
}

#[test]
fn a_learned_policy_runs_the_workload_and_refuses_more() {
    let learned = learn("sys", &["getuid"]);
    assert!(learned.calls.iter().any(|c| c.name == "getuid"), "{learned:?}");
    assert!(learned.calls.iter().all(|c| c.name != "getppid"), "{learned:?}");

    let mut pb = view();
    learned.apply(&mut pb);
    let run = run_capture(attack("sys", &["getuid"]), build(&pb));
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.out.contains("RETURNED getuid ok"), "{}", run.ctx());

    let run = run_capture(attack("sys", &["getppid"]), build(&pb));
    assert_violation(&run, "getppid");
}

#[test]
fn the_file_round_trips_to_the_same_filter() {
    let learned = learn("sys", &["getuid"]);
    let text = assert_round_trip(&learned);
    // Calls with a deciding argument are rules on the values seen, not plain allows.
    for c in learned.calls.iter().filter(|c| c.only.is_some()) {
        assert!(text.contains(&format!("syscall = \"{}\"", c.name)), "{}: {text}", c.name);
    }
}

#[test]
fn two_runs_merge() {
    let a = learning_run("sys", &["getuid"]);
    let b = learning_run("sys", &["getppid"]);
    let both = Learned::from_results([&a, &b]);
    for name in ["getuid", "getppid"] {
        assert!(both.calls.iter().any(|c| c.name == name), "{name} missing: {both:?}");
    }
    // A call both runs made is listed once, with both counts and the union of the values seen.
    let one = Learned::from_results([&a]);
    for c in &one.calls {
        let merged = both.calls.iter().find(|m| m.nr == c.nr).expect("kept");
        assert!(merged.count >= c.count, "{}", c.name);
        if let (Some(m), Some(o)) = (&merged.only, &c.only) {
            assert!(o.values.iter().all(|v| m.values.contains(v)), "{}: {m:?} lacks {o:?}", c.name);
        }
    }
    let mut pb = view();
    both.apply(&mut pb);
    for call in ["getuid", "getppid"] {
        let run = run_capture(attack("sys", &[call]), build(&pb));
        assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    }
}

#[test]
fn bad_files_name_the_place_and_change_nothing() {
    let cases: [(&str, &str, &str); 7] = [
        ("version = 1\nallow = [\"read\", \"no_such_call\"]\n", "f.toml:2:18", "no_such_call"),
        ("version = 1\nalow = [\"read\"]\n", "f.toml:2:1", "alow"),
        ("version = 2\n", "f.toml:1:11", "version 2"),
        (
            "version = 1\n[[rule]]\nsyscall = \"read\"\naction = \"permit\"\n",
            "f.toml:4:10",
            "permit",
        ),
        (
            "version = 1\n[[rule]]\nsyscall = \"socket\"\naction = \"allow\"\nargs = [{ index = 9, cmp = \"eq\", value = 1 }]\n",
            "f.toml:5:9",
            "index",
        ),
        ("version = 1\nallow = [\"ptrace\"]\n", "f.toml:2:10", "ptrace"),
        ("version = 1\ndefault = \"errno:ENOPE\"\n", "f.toml:2:11", "ENOPE"),
    ];
    for (text, place, word) in cases {
        let mut pb = view();
        pb.allow("getuid");
        let before = build(&pb).program().to_vec();
        let err = match pb.load_rules(text, "f.toml") {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(place), "{err:?} does not name {place}\n{text}");
        assert!(err.contains(word), "{err:?} does not name {word:?}\n{text}");
        assert_eq!(build(&pb).program(), &before[..], "half applied:\n{text}");
    }
}

#[test]
fn large_values_and_every_comparison_load() {
    let text = "version = 1\ndefault = \"errno:EPERM\"\n\
        [[rule]]\nsyscall = \"ioctl\"\naction = \"allow\"\nargs = [{ index = 1, cmp = \"eq\", value = 21505 }]\n\
        [[rule]]\nsyscall = \"mmap\"\naction = \"errno:13\"\nargs = [{ index = 3, width = 64, cmp = \"masked_eq\", mask = \"0xffffffffffffffff\", value = 1 }]\n\
        [[rule]]\nsyscall = \"lseek\"\naction = \"trace\"\nargs = [{ index = 2, cmp = \"ge\", value = 3 }, { index = 0, width = 64, cmp = \"ne\", value = \"0x8000000000000000\" }]\n";
    let mut pb = view();
    pb.load_rules(text, "ok.toml").unwrap_or_else(|e| panic!("{e}"));
    build(&pb);
}

#[test]
fn conditional_rules_round_trip_too() {
    let seen = |index, width, values: Vec<u64>| {
        Some(sbx::SeenArg {
            index,
            width,
            values,
            more: false,
        })
    };
    let nr = |name: &str| u64::from(sbx::policy::syscalls::number(name).unwrap());
    let call = |name: &str, only| sbx::learn::LearnedCall {
        name: name.into(),
        nr: nr(name),
        count: 1,
        only,
        results: None,
    };
    let learned = Learned {
        calls: vec![
            call("read", None),
            call("mmap", seen(2, sbx::Width::W32, vec![1, 3, 5])),
            call(
                "clone",
                seen(0, sbx::Width::W64, vec![0x0120_0011, u64::MAX - 1]),
            ),
            call("ioctl", seen(1, sbx::Width::W32, vec![0x5401])),
        ],
        ..Learned::default()
    };
    assert_round_trip(&learned);
    for form in [learned.to_rust(), learned.to_c(), learned.to_go(), learned.to_oci_json()] {
        assert!(form.contains("mmap") && form.contains("ioctl"), "{form}");
    }
}

#[test]
fn groups_load_by_name() {
    let mut by_file = view();
    by_file
        .load_rules("version = 1\ngroups = [\"static_startup\", \"exit\"]\n", "g.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut by_code = view();
    by_code.allow_static_startup().allow_exit();
    assert_eq!(build(&by_file).program(), build(&by_code).program());
    let err = match view().load_rules("version = 1\ngroups = [\"nope\"]\n", "g.toml") {
        Ok(_) => panic!("an unknown group was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("g.toml:2:11") && err.contains("nope"), "{err}");
}

/// A whole policy file with a view and namespaces (the dump of sbx-run's default policy with a
/// hostname of its own) runs a shell writing to its private /tmp as the builder does.
#[test]
fn a_policy_file_with_a_view_runs_a_shell() {
    let mut pb = sbx::policy::presets::tool_default();
    pb.hostname("filebox");
    let text = pb.to_toml();
    assert!(text.contains("[[mount]]") && text.contains("hostname = \"filebox\""), "{text}");
    let loaded = PolicyBuilder::from_toml(&text, "view.toml").unwrap_or_else(|e| panic!("{e}"));
    for (what, b) in [("builder", &pb), ("file", &loaded)] {
        let mut ex = sbx::Executor::new("/bin/sh");
        ex.argv(["/bin/sh", "-c", "echo hi > /tmp/x && cat /tmp/x"]);
        let run = run_capture(ex, build(b));
        assert_eq!(run.r.status, Status::Ok, "{what}: {}", run.ctx());
        assert_eq!(run.out, "hi\n", "{what}: {}", run.ctx());
    }
}

/// A base's errno and violation rules hold in the learning run and come first in every form of
/// the learned policy: a call the base refuses is never learned as allowed.
#[test]
fn a_base_policy_s_denials_stay_authoritative() {
    let mut base = view();
    base.errno("getuid", 13).violation("getppid").allow("gettid");
    let run = run_capture(attack("sys", &["getuid"]), build(&learning(&base)));
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.out.contains("RETURNED getuid errno 13"), "{}", run.ctx());
    let learned = Learned::from_runs(&base, [&run.r]);
    assert!(learned.calls.iter().all(|c| c.name != "getuid"), "{learned:?}");
    let kept: Vec<&str> = learned.base.iter().map(|r| r.name.as_str()).collect();
    assert!(kept.contains(&"getuid") && kept.contains(&"getppid"), "{kept:?}");
    assert!(!kept.contains(&"gettid"), "a base allow is not a denial: {kept:?}");

    // The file carries the denials; replayed from it, getuid fails as the base said.
    let text = assert_round_trip(&learned);
    assert!(text.contains("action = \"errno:13\"") && text.contains("action = \"violation\""), "{text}");
    // Read back (as --learn-merge does): the same base and calls.
    let back = Learned::from_toml(&text, "learned.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.base, learned.base, "{text}");
    let names = |l: &Learned| {
        let mut nrs: Vec<u64> = l.calls.iter().map(|c| c.nr).collect();
        nrs.sort_unstable();
        nrs
    };
    assert_eq!(names(&back), names(&learned), "{text}");
    let mut replay = view();
    replay.load_rules(&text, "learned.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let again = run_capture(attack("sys", &["getuid"]), build(&replay));
    assert_eq!(again.r.status, Status::Ok, "{}", again.ctx());
    assert!(again.out.contains("RETURNED getuid errno 13"), "{}", again.ctx());
    for (form, want) in [
        (learned.to_rust(), "pb.rule(\"getuid\", &[], sbx::Action::Errno(13));"),
        (learned.to_c(), "sbx_policy_builder_add_rule(b, \"getuid\", NULL, 0, SBX_ACTION_ERRNO, 13, NULL);"),
        (learned.to_go(), "b.AddRule(\"getuid\", sbx.ActionErrno(syscall.Errno(13)))"),
        (learned.to_oci_json(), "{ \"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13 }"),
    ] {
        assert!(form.contains(want), "{want} missing:\n{form}");
    }

    // The base's violation rule ends the learning run instead of being recorded.
    let run = run_capture(attack("sys", &["getppid"]), build(&learning(&base)));
    assert_violation(&run, "getppid");
}

/// Under the ptrace monitor a learning run sees what each call returned: a call that only ever
/// failed (rmdir of a directory that is not there, on the read-only view) is marked in the
/// file and stays allowed; calls that succeeded are not marked. User-notify cannot see
/// results: nothing is marked there.
#[test]
fn calls_seen_only_failing_are_marked_under_ptrace() {
    let script = "rmdir /no-such-dir 2>/dev/null; echo done";
    for monitor in [sbx::Monitor::Ptrace, sbx::Monitor::Unotify] {
        let mut pb = learning(&sbx::policy::presets::tool_default());
        pb.monitor(monitor);
        let mut ex = sbx::Executor::new("/bin/sh");
        ex.argv(["/bin/sh", "-c", script]);
        let run = run_capture(ex, pb.build().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(run.r.status, Status::Ok, "{monitor:?}: {}", run.ctx());
        assert_eq!(run.out, "done\n", "{monitor:?}: {}", run.ctx());
        let learned = Learned::from_runs(&pb, [&run.r]);
        let call = |name: &str| learned.calls.iter().find(|c| c.name == name).expect(name);
        let text = learned.to_toml();
        if monitor == sbx::Monitor::Unotify {
            assert!(learned.calls.iter().all(|c| c.results.is_none()), "{learned:?}");
            assert!(!text.contains("only seen failing"), "{text}");
            continue;
        }
        let errnos = call("rmdir").only_failing().unwrap_or_else(|| panic!("{learned:?}"));
        assert!(!errnos.is_empty(), "{learned:?}");
        for name in ["write", "execve", "wait4"].into_iter().filter(|n| learned.calls.iter().any(|c| c.name == *n)) {
            assert!(call(name).only_failing().is_none(), "{name}: {:?}", call(name));
        }
        assert!(text.contains("# only seen failing: E"), "{text}");
        assert!(learned.to_rust().contains("// only seen failing: E"));
        // Still allowed: the replay takes the same path.
        let mut replay = sbx::policy::presets::tool_default().without_rules();
        learned.apply(&mut replay);
        let mut ex = sbx::Executor::new("/bin/sh");
        ex.argv(["/bin/sh", "-c", script]);
        let again = run_capture(ex, build(&replay));
        assert_eq!(again.r.status, Status::Ok, "{}", again.ctx());
    }
}
