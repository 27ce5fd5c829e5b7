//! Stack traces on violation (`PolicyBuilder::stack_traces`): a forbidden call three frames deep
//! (tests/testcases/stack.c and stack.rs, and this test binary itself) yields a trace that names
//! the three functions in order: C and Rust, static and dynamic, with and without frame
//! pointers, and with frame pointers but no unwind tables (the frame-pointer fallback); under
//! either monitor (user-notify attaches on demand). A crash's trace (ptrace only), deep
//! recursions, and sbx-run's output; traces on a timeout and on a kill (`stacktrace/kill.rs`).
//! x86-64 only: the programs are built for the host by gcc and rustc.
#![cfg(target_arch = "x86_64")]

mod common;

use common::*;
use sbx::{Executor, Monitor, PolicyBuilder, StackTrace};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The policy of every run: anything but getppid, the binary (and its libraries) in the view.
fn policy_for(bin: &Path, dynamic: bool, traces: bool) -> PolicyBuilder {
    let mut pb = allow_all_rules();
    pb.violation("getppid").stack_traces(traces);
    if dynamic {
        pb.add_libraries_for_binary(bin);
    } else {
        pb.add_file(bin);
    }
    pb
}

fn run(bin: &Path, dynamic: bool) -> Run {
    run_with(Executor::new(bin), bin, dynamic)
}

fn run_with(ex: Executor, bin: &Path, dynamic: bool) -> Run {
    let run = run_capture(ex, build(&policy_for(bin, dynamic, true)));
    assert_violation(&run, "getppid");
    run
}

/// The trace names stack_level3, stack_level2, stack_level1 in this order, one frame apart.
fn assert_three_deep(run: &Run, what: &str) -> StackTrace {
    let t = run
        .r
        .stack_trace
        .clone()
        .unwrap_or_else(|| panic!("{what}: no stack trace\n{}", run.ctx()));
    let v = run.r.violation.as_ref().unwrap();
    assert_eq!(t.thread, v.pid, "{what}: the violating thread was walked");
    if test_monitor() == Monitor::Unotify {
        // Attached on demand by the user-notify monitor, which killed and reaped the thread.
        assert!(run.r.fences.contains(&"unotify_monitor"), "{}", run.ctx());
    }
    assert_all_dead(&[v.pid], std::time::Duration::from_secs(2), what);
    println!("{what}:\n{}", t.describe());
    let names = t.symbols();
    let at = |name: &str| {
        names
            .iter()
            .position(|s| s.is_some_and(|s| s.ends_with(name)))
    };
    let i = at("stack_level3")
        .unwrap_or_else(|| panic!("{what}: no stack_level3 in\n{}", t.describe()));
    assert_eq!(at("stack_level2"), Some(i + 1), "{what}:\n{}", t.describe());
    assert_eq!(at("stack_level1"), Some(i + 2), "{what}:\n{}", t.describe());
    assert!(
        at("main").is_some_and(|m| m > i + 2),
        "{what}: main after the three:\n{}",
        t.describe()
    );
    assert_eq!(t.frames[0].pc, v.ip, "{what}: frame 0 is the call");
    assert!(t.frames.len() <= sbx::stacktrace::limits::MAX_FRAMES);
    t
}

/// The C program built with `flags`.
fn c_program(tag: &str, flags: &[&str]) -> PathBuf {
    compile("stack.c", &format!("stack-c-{tag}"), flags)
}

/// Runs the C program built with `flags` (and `-g` unless `-g0` is among them).
fn check_c(tag: &str, flags: &[&str], dynamic: bool) -> StackTrace {
    let debug = !flags.contains(&"-g0");
    let mut all = vec![if debug { "-g" } else { "-g0" }];
    all.extend_from_slice(flags);
    let bin = c_program(tag, &all);
    let r = run(&bin, dynamic);
    let t = assert_three_deep(&r, tag);
    if debug {
        // Built with -g: the frames of the program have their source lines.
        let f = t
            .frames
            .iter()
            .find(|f| f.symbol.as_deref() == Some("stack_level2"))
            .unwrap();
        assert!(
            f.file.as_deref().is_some_and(|p| p.ends_with("stack.c")) && f.line.is_some(),
            "{tag}: no file:line for stack_level2:\n{}",
            t.describe()
        );
        assert_eq!(f.module.as_deref(), bin.to_str(), "{tag}");
    }
    t
}

#[test]
fn c_static_with_frame_pointers() {
    check_c("static-fp", &["-static", "-fno-omit-frame-pointer"], false);
}

#[test]
fn c_static_without_frame_pointers() {
    let t = check_c("static-nofp", &["-static", "-fomit-frame-pointer"], false);
    assert!(
        t.frames.iter().skip(1).all(|f| f.found_by == "cfi"),
        "{}",
        t.describe()
    );
}

#[test]
fn c_dynamic_with_frame_pointers() {
    check_c("dyn-fp", &["-fno-omit-frame-pointer"], true);
}

#[test]
fn c_dynamic_without_frame_pointers() {
    check_c("dyn-nofp", &["-fomit-frame-pointer"], true);
}

#[test]
fn c_frame_pointers_without_unwind_tables() {
    // No CFI for the program's own functions (no unwind tables, and no -g, whose .debug_frame
    // would hold it): the walk follows the frame-pointer chain there.
    let flags = [
        "-g0",
        "-static",
        "-fno-omit-frame-pointer",
        "-fno-asynchronous-unwind-tables",
        "-fno-unwind-tables",
    ];
    let t = check_c("static-fp-only", &flags, false);
    let by_fp = t
        .frames
        .iter()
        .filter(|f| f.found_by == "frame_pointer")
        .count();
    assert!(by_fp >= 2, "{}", t.describe());
}

#[test]
fn a_deep_recursion_folds_and_a_deeper_alternation_is_capped() {
    let bin = c_program("deep", &["-g", "-static"]);
    let deep = |mode: &str| {
        let mut ex = Executor::new(&bin);
        ex.args([mode, "3000"]);
        let r = run_with(ex, &bin, false);
        let t = r.r.stack_trace.clone().unwrap();
        println!("{mode}:\n{}", t.describe());
        t
    };
    // 3001 frames of stack_recurse: the innermost (its call of stack_level1), then one frame
    // with 2999 repeats (the same return address 3000 times); the walk reaches _start.
    let t = deep("recurse");
    let recurse: Vec<u32> = t
        .frames
        .iter()
        .filter(|f| f.symbol.as_deref() == Some("stack_recurse"))
        .map(|f| f.repeats)
        .collect();
    assert_eq!(recurse, [0, 2999], "{}", t.describe());
    assert!(!t.truncated && t.error.is_none(), "{}", t.describe());
    assert_eq!(t.symbols().last().copied().flatten(), Some("_start"));
    // ping, pong, ping, ...: nothing folds; 200 frames kept, the rest cut.
    let t = deep("pingpong");
    assert_eq!(
        t.frames.len(),
        sbx::stacktrace::limits::MAX_FRAMES,
        "{}",
        t.describe()
    );
    assert!(t.truncated && t.error.is_some(), "{}", t.describe());
}

#[test]
fn an_unhandled_crash_signal_has_its_trace_too() {
    // Under ptrace: the stack at the SIGSEGV's delivery, frame 0 the faulting store.
    let bin = c_program("crash", &["-g", "-static"]);
    let mut ex = Executor::new(&bin);
    ex.arg("crash");
    let r = run_capture(ex, build(&policy_for(&bin, false, true)));
    assert_eq!(r.r.status, sbx::Status::Signaled, "{}", r.ctx());
    assert_eq!(r.r.signal, Some(libc::SIGSEGV));
    if !ptraced(&r.r) {
        assert_eq!(r.r.stack_trace, None, "user-notify sees no signals");
        return;
    }
    let t = r.r.stack_trace.clone().expect("a crash trace");
    println!("crash:\n{}", t.describe());
    let names = t.symbols();
    assert_eq!(
        &names[..3],
        [
            Some("stack_level3"),
            Some("stack_level2"),
            Some("stack_level1")
        ]
    );
    assert_eq!(t.frames[0].found_by, "registers");
}

/// `bin`'s sections named in `names` overwritten with `fill` (a minimal ELF64 section-header
/// reader: the program still runs, its unwind and debug data are garbage).
fn corrupt_sections(bin: &Path, names: &[&str], fill: u8) -> PathBuf {
    let mut elf = std::fs::read(bin).unwrap();
    let u16_at = |e: &[u8], o: usize| usize::from(u16::from_le_bytes([e[o], e[o + 1]]));
    let u64_at = |e: &[u8], o: usize| {
        usize::try_from(u64::from_le_bytes(e[o..o + 8].try_into().unwrap())).unwrap()
    };
    let (shoff, shentsize, shnum, shstrndx) = (
        u64_at(&elf, 0x28),
        u16_at(&elf, 0x3a),
        u16_at(&elf, 0x3c),
        u16_at(&elf, 0x3e),
    );
    let strtab = u64_at(&elf, shoff + shstrndx * shentsize + 0x18);
    let mut hit = 0;
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        let name_at = strtab
            + usize::try_from(u32::from_le_bytes(elf[h..h + 4].try_into().unwrap())).unwrap();
        let end = elf[name_at..].iter().position(|&b| b == 0).unwrap();
        let name = std::str::from_utf8(&elf[name_at..name_at + end])
            .unwrap()
            .to_string();
        if names.contains(&name.as_str()) {
            let (off, size) = (u64_at(&elf, h + 0x18), u64_at(&elf, h + 0x20));
            elf[off..off + size].fill(fill);
            hit += 1;
        }
    }
    assert_eq!(hit, names.len(), "sections of {}", bin.display());
    // Written under another name, then copied by `cp`: no write fd of the executable in this
    // process (see copy_executable).
    let out = bin.with_extension(format!("corrupt-{fill:02x}"));
    let staged = bin.with_extension(format!("staged-{fill:02x}"));
    std::fs::write(&staged, &elf).unwrap();
    std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    copy_executable(&staged, &out);
    out
}

#[test]
fn a_hostile_elf_ends_the_trace_cleanly() {
    // The program's own unwind tables and DWARF overwritten (0xff: lengths of 4 GiB and 64-bit
    // escapes; 0x00: zero terminators and a CIE id where FDEs should be): the run still ends as
    // the violation, promptly, with frame 0 and the reason the walk stopped.
    // Static (no .eh_frame_hdr: .eh_frame scanned) and dynamic (its binary search table too).
    for (tag, dynamic) in [("hostile-static", false), ("hostile-dyn", true)] {
        let mut flags = vec!["-g", "-fomit-frame-pointer"];
        let mut sections = vec![".eh_frame", ".debug_info", ".debug_line", ".debug_abbrev"];
        if dynamic {
            sections.push(".eh_frame_hdr");
        } else {
            flags.push("-static");
        }
        let bin = c_program(tag, &flags);
        for fill in [0xff, 0x00] {
            let bad = corrupt_sections(&bin, &sections, fill);
            let started = std::time::Instant::now();
            let run = run(&bad, dynamic);
            let t = run.r.stack_trace.clone().expect("a trace");
            println!("{tag}, fill {fill:#x}:\n{}", t.describe());
            assert!(started.elapsed() < std::time::Duration::from_secs(10));
            assert_eq!(t.frames[0].pc, run.r.violation.as_ref().unwrap().ip);
            assert!(t.error.is_some(), "{}", t.describe());
            assert!(t.frames.len() < 8, "garbage frames:\n{}", t.describe());
        }
    }
}

#[test]
fn off_by_default_and_when_off() {
    let bin = c_program("off", &["-static"]);
    for pb in [policy_for(&bin, false, false), {
        let mut pb = allow_all_rules();
        pb.violation("getppid").add_file(&bin);
        pb
    }] {
        let r = run_capture(Executor::new(&bin), build(&pb));
        assert_violation(&r, "getppid");
        assert_eq!(r.r.stack_trace, None, "{}", r.ctx());
    }
}

#[test]
fn sbx_run_prints_and_reports_the_trace() {
    // ptrace is refused by the mandatory rules, so sbx-run's default policy ends the run there.
    let bin = c_program("sbx-run", &["-g", "-DSTACK_SYSCALL=SYS_ptrace"]);
    let dir = bin.parent().unwrap().to_str().unwrap();
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sbx-run"));
        cmd.args(["--stack-trace", "--ro", dir]);
        if json {
            cmd.args(["--json", "-q"]);
        }
        cmd.arg("--").arg(&bin).output().unwrap()
    };
    let text = String::from_utf8_lossy(&run(false).stderr).into_owned();
    assert!(text.contains("SYSCALL VIOLATION"), "{text}");
    // sbx-run picks its own monitor: auto, which is ptrace with --stack-trace.
    let at = |name: &str| {
        text.find(name)
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert!(at("stack trace of thread") < at("stack_level3"), "{text}");
    assert!(at("stack_level3") < at("stack_level2") && at("stack_level2") < at("stack_level1"));
    assert!(text.contains("stack.c:"), "{text}");
    let json = String::from_utf8_lossy(&run(true).stderr).into_owned();
    for key in [
        "\"stack_trace\":{\"thread\":",
        "\"symbol\":\"stack_level2\"",
        "\"found_by\":\"cfi\"",
    ] {
        assert!(json.contains(key), "no {key} in {json}");
    }
}

/// rustc, when this user can run it (an unprivileged test user cannot reach root's toolchain).
fn rustc() -> Option<&'static str> {
    static R: OnceLock<Option<&'static str>> = OnceLock::new();
    *R.get_or_init(|| {
        let ok = Command::new("rustc").arg("--version").output();
        matches!(ok, Ok(o) if o.status.success()).then_some("rustc")
    })
}

/// The Rust program built with `flags`, or `None` (after saying so) without a usable rustc.
fn rust_program(tag: &str, flags: &[&str]) -> Option<PathBuf> {
    let Some(rustc) = rustc() else {
        println!("skipped: rustc is not runnable as this user ({tag})");
        return None;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testcases/stack.rs");
    let out = work_dir().join(format!("stack-rs-{tag}"));
    let res = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "-O",
            "-g",
            "--crate-name",
            "stack",
            "-o",
        ])
        .arg(&out)
        .arg(&src)
        .args(flags)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "rustc {flags:?}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    Some(out)
}

#[test]
fn rust_dynamic_without_frame_pointers() {
    if let Some(bin) = rust_program("dyn", &[]) {
        assert_three_deep(&run(&bin, true), "rust dynamic");
    }
}

#[test]
fn rust_dynamic_with_frame_pointers() {
    if let Some(bin) = rust_program("dyn-fp", &["-C", "force-frame-pointers=yes"]) {
        assert_three_deep(&run(&bin, true), "rust dynamic, frame pointers");
    }
}

#[test]
fn rust_static() {
    if let Some(bin) = rust_program("static", &["-C", "target-feature=+crt-static"]) {
        let t = assert_three_deep(&run(&bin, false), "rust static");
        // Demangled, without the hash: `stack::stack_level3`.
        let f = t.frames.iter().find(|f| {
            f.symbol
                .as_deref()
                .is_some_and(|s| s.ends_with("stack_level3"))
        });
        assert_eq!(
            f.unwrap().symbol.as_deref(),
            Some("stack::stack_level3"),
            "{}",
            t.describe()
        );
    }
}

include!("testcases/stack_levels.rs");

#[path = "stacktrace/kill.rs"]
mod kill;

/// Sandboxee side of `rust_test_binary_itself`: does nothing unless asked.
#[test]
fn self_sandboxee() {
    if std::env::var_os("SBX_STACK_SELF").is_some() {
        std::process::exit(i32::from(stack_level1(1) == 12345));
    }
}

#[test]
fn rust_test_binary_itself() {
    // This test binary: dynamic Rust built by cargo, runnable by any test user.
    let me = std::env::current_exe().unwrap();
    let mut ex = Executor::new(&me);
    ex.args([
        "--exact",
        "self_sandboxee",
        "--test-threads=1",
        "--nocapture",
    ])
    .env("SBX_STACK_SELF", "1");
    let r = run_with(ex, &me, true);
    let t = assert_three_deep_unanchored(&r);
    assert!(t.frames.len() > 3, "{}", t.describe());
}

/// [`assert_three_deep`] without the `main` check: the test harness runs the test on a thread.
fn assert_three_deep_unanchored(run: &Run) -> StackTrace {
    let t = run.r.stack_trace.clone().expect("a stack trace");
    let names = t.symbols();
    let at = |name: &str| {
        names
            .iter()
            .position(|s| s.is_some_and(|s| s.ends_with(name)))
    };
    let i = at("stack_level3").unwrap_or_else(|| panic!("no stack_level3 in\n{}", t.describe()));
    assert_eq!(at("stack_level2"), Some(i + 1), "{}", t.describe());
    assert_eq!(at("stack_level1"), Some(i + 2), "{}", t.describe());
    t
}
