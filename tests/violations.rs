//! Security invariants 1, 2, 3 and 6 (design §3): default deny, mandatory rules that win over every
//! user policy, foreign ABIs, argument widths, and the single exec. Each test runs a real attacker
//! program (tests/testcases/attacker.c) in a real sandbox and checks how the run ended.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod common;

use common::*;
use sbx::{Action, Arch, Arg, Cmp, DefaultAction, Error, PolicyBuilder, Reason, Status, Width};

// ---------------------------------------------------------------------------------------------
// Default deny
// ---------------------------------------------------------------------------------------------

#[test]
fn default_deny_reports_the_syscall() {
    let run = run_attack("sys", &["getuid"], &base_policy());
    let v = assert_violation(&run, "getuid");
    assert_eq!(v.pid, run.r.pid, "the main process made the call");
    assert_eq!(run.r.exit_code, None);
}

#[test]
fn base_policy_runs_a_static_program() {
    // The base policy is enough for the attacker's start-up and sandbox check: the other tests'
    // violations are therefore caused by the attack, not by start-up noise.
    let run = run_attack("exit", &["0"], &base_policy());
    assert!(run.r.success(), "{}", run.ctx());
}

#[test]
fn static_startup_group_is_enough_for_static_glibc() {
    // sandbox2's MinimalBinaryWorks: allow_static_startup (+ exit, and the reads and writes the
    // program itself makes) runs a static glibc binary. glibc 2.36's static start-up calls
    // readlink("/proc/self/exe") (_dl_non_dynamic_init -> _dl_get_origin) and, for the malloc
    // that stores it, getrandom(8 bytes, GRND_NONBLOCK) before main.
    let run = run_attack("exit", &["0"], &minimal_policy());
    assert!(run.r.success(), "allow_static_startup misses a start-up syscall:\n{}", run.ctx());
}

#[test]
fn explicit_violation_rule_beats_allow_all() {
    let mut pb = allow_all();
    pb.violation("getppid");
    let run = run_attack("sys", &["getppid"], &pb);
    assert_violation(&run, "getppid");
}

#[test]
fn default_errno_fails_unlisted_calls_without_ending_the_run() {
    let mut pb = base_policy();
    pb.default_action(DefaultAction::Errno(libc::EPERM as u16));
    let run = run_attack("sys", &["getuid"], &pb);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
}

#[test]
fn sigsys_handler_cannot_swallow_a_default_deny() {
    let mut pb = base_policy();
    pb.allow("rt_sigaction").allow("rt_sigreturn");
    let run = run_attack("sigsys", &["getuid"], &pb);
    assert!(run.out.contains("HANDLER INSTALLED"), "{}", run.ctx());
    assert!(!run.out.contains("SIGSYS CAUGHT"), "a SIGSYS handler ran:\n{}", run.ctx());
    assert_ne!(run.r.exit_code, Some(77), "{}", run.ctx());
    assert_violation(&run, "getuid");
}

#[test]
fn sigsys_handler_cannot_swallow_a_mandatory_deny() {
    let run = run_attack("sigsys", &["bpf"], &allow_all());
    assert!(run.out.contains("HANDLER INSTALLED"), "{}", run.ctx());
    assert!(!run.out.contains("SIGSYS CAUGHT"), "a SIGSYS handler ran:\n{}", run.ctx());
    assert_violation(&run, "bpf");
}

// ---------------------------------------------------------------------------------------------
// Mandatory rules under DefaultAction::AllowAll, and with the call explicitly allowed
// ---------------------------------------------------------------------------------------------

/// Runs `attacker MODE ARGS` (1) under allow-all and (2) under allow-all plus an explicit
/// `allow(name)`: the mandatory rule must win both times (or the builder must refuse (2)).
fn mandatory(mode: &str, args: &[&str], name: &str) -> sbx::Violation {
    let run = run_attack(mode, args, &allow_all());
    let v = assert_violation(&run, name);

    let mut pb = allow_all();
    pb.allow(name);
    match pb.build() {
        Err(Error::InvalidPolicy(_) | Error::InvalidArgument(_)) => {}
        Err(e) => panic!("allow({name}) refused with an unexpected error: {e:?}"),
        Ok(policy) => {
            let run = run_capture(attack(mode, args), policy);
            assert_violation(&run, name);
        }
    }
    v
}

#[test]
fn mandatory_ptrace() {
    let v = mandatory("ptrace", &[], "ptrace");
    assert_eq!(v.args[0], 0x4206, "PTRACE_SEIZE expected in arg 0: {v:?}");
}

#[test]
fn mandatory_ptrace_survives_a_stacked_allow_filter() {
    // The sandboxee may add filters (no listener), but an ALLOW from its own filter never
    // overrides the sandbox's verdict.
    let run = run_attack("seccomp_then_ptrace", &[], &allow_all());
    assert!(run.out.contains("STACKED ALLOW FILTER"), "{}", run.ctx());
    assert_violation(&run, "ptrace");
}

#[test]
fn mandatory_bpf() {
    mandatory("sys", &["bpf"], "bpf");
}

#[test]
fn mandatory_io_uring() {
    for name in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        mandatory("sys", &[name], name);
    }
}

#[test]
fn mandatory_userfaultfd() {
    mandatory("sys", &["userfaultfd"], "userfaultfd");
}

#[test]
fn mandatory_perf_event_open() {
    mandatory("sys", &["perf_event_open"], "perf_event_open");
}

#[test]
fn mandatory_keyctl_family() {
    for name in ["keyctl", "add_key", "request_key"] {
        mandatory("sys", &[name], name);
    }
}

#[test]
fn mandatory_kernel_modules() {
    for name in ["init_module", "finit_module", "delete_module"] {
        mandatory("sys", &[name], name);
    }
}

#[test]
fn mandatory_kexec() {
    for name in ["kexec_load", "kexec_file_load"] {
        mandatory("sys", &[name], name);
    }
}

const SIGCHLD: u64 = libc::SIGCHLD as u64;
const NS_FLAGS: [(&str, u64); 7] = [
    ("CLONE_NEWNS", libc::CLONE_NEWNS as u64),
    ("CLONE_NEWCGROUP", libc::CLONE_NEWCGROUP as u64),
    ("CLONE_NEWUTS", libc::CLONE_NEWUTS as u64),
    ("CLONE_NEWIPC", libc::CLONE_NEWIPC as u64),
    ("CLONE_NEWUSER", libc::CLONE_NEWUSER as u64),
    ("CLONE_NEWPID", libc::CLONE_NEWPID as u64),
    ("CLONE_NEWNET", libc::CLONE_NEWNET as u64),
];

#[test]
fn mandatory_clone_with_namespace_flags() {
    // Plain clone (fork-style) is fine under allow-all...
    let run = run_attack("clone", &[&format!("{SIGCHLD:#x}")], &allow_all());
    assert_eq!(run.r.exit_code, Some(RETURNED_OK), "plain clone must work:\n{}", run.ctx());
    // ...but any namespace flag is a violation.
    for (what, flag) in NS_FLAGS {
        let flags = flag | SIGCHLD;
        let run = run_attack("clone", &[&format!("{flags:#x}")], &allow_all());
        let v = assert_violation(&run, "clone");
        assert_eq!(v.args[0], flags, "{what}: {v:?}");
    }
}

#[test]
fn mandatory_clone_untraced() {
    let flags = libc::CLONE_UNTRACED as u64 | SIGCHLD;
    let run = run_attack("clone", &[&format!("{flags:#x}")], &allow_all());
    assert_violation(&run, "clone");
}

#[test]
fn clone_flags_are_checked_on_their_low_32_bits() {
    // The kernel reads clone's flags as a 32-bit value: garbage in the upper half must not hide
    // a namespace flag from the filter.
    let flags = 0xffff_ffff_0000_0000u64 | libc::CLONE_NEWUTS as u64 | SIGCHLD;
    let run = run_attack("clone", &[&format!("{flags:#x}")], &allow_all());
    let v = assert_violation(&run, "clone");
    assert_eq!(v.args[0], flags, "the report shows the full register: {v:?}");
}

#[test]
fn mandatory_unshare_with_namespace_flags() {
    for (what, flag) in NS_FLAGS {
        let run = run_attack("unshare", &[&format!("{flag:#x}")], &allow_all());
        let v = assert_violation(&run, "unshare");
        assert_eq!(v.args[0], flag, "{what}: {v:?}");
    }
}

#[test]
fn mandatory_unshare_cannot_be_allowed() {
    let flag = libc::CLONE_NEWUTS as u64;
    mandatory("unshare", &[&format!("{flag:#x}")], "unshare");
}

#[test]
fn clone3_fails_with_enosys_even_under_allow_all() {
    for flags in [0u64, libc::CLONE_NEWUSER as u64] {
        let run = run_attack("clone3", &[&format!("{flags:#x}")], &allow_all());
        assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
        assert_eq!(run.r.exit_code, Some(10), "clone3 must fail with ENOSYS:\n{}", run.ctx());
    }
}

#[test]
fn clone3_stays_enosys_when_the_user_allows_it() {
    let mut pb = allow_all();
    pb.allow("clone3");
    match pb.build() {
        Err(Error::InvalidPolicy(_) | Error::InvalidArgument(_)) => {}
        Err(e) => panic!("unexpected error {e:?}"),
        Ok(p) => {
            let run = run_capture(attack("clone3", &[&format!("{:#x}", libc::CLONE_NEWUSER)]), p);
            assert_ne!(run.r.exit_code, Some(11), "clone3 with CLONE_NEWUSER created a process:\n{}", run.ctx());
            assert!(
                run.r.exit_code == Some(10) || run.r.status == Status::Violation,
                "clone3 must stay ENOSYS or be a violation:\n{}",
                run.ctx()
            );
        }
    }
}

#[test]
fn threads_work_because_libc_falls_back_from_clone3() {
    let run = run_attack("threads", &[], &allow_all());
    assert!(run.r.success(), "{}", run.ctx());
    assert!(run.out.contains("THREAD OK"), "{}", run.ctx());
}

#[test]
fn mandatory_seccomp_new_listener() {
    let listener = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    let v = mandatory("seccomp", &[&format!("{listener:#x}")], "seccomp");
    assert_eq!(v.args[1], listener, "{v:?}");
    // With TSYNC as well.
    let flags = listener | libc::SECCOMP_FILTER_FLAG_TSYNC;
    let run = run_attack("seccomp", &[&format!("{flags:#x}")], &allow_all());
    assert_violation(&run, "seccomp");
}

#[test]
fn seccomp_without_listener_is_left_to_the_policy() {
    // The mandatory rule is precise: stacking an ordinary filter is allowed under allow-all.
    let run = run_attack("seccomp", &["0"], &allow_all());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(RETURNED_OK), "{}", run.ctx());
}

#[test]
fn mandatory_denials_can_become_errno() {
    let mut pb = allow_all();
    pb.errno("ptrace", libc::EPERM as u16).errno("bpf", libc::EPERM as u16);
    let p = build(&pb);
    let run = run_capture(attack("ptrace", &[]), p.clone());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
    let run = run_capture(attack("sys", &["bpf"]), p);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// Foreign ABIs
// ---------------------------------------------------------------------------------------------

fn assert_arch_violation(run: &Run, arch: Arch, nr: u64, name: &str) {
    let r = &run.r;
    assert_eq!(r.status, Status::Violation, "{}", run.ctx());
    assert_eq!(r.reason(), Some(Reason::ViolationArch), "{}", run.ctx());
    assert_eq!(r.reason_code, Reason::ViolationArch as u32, "{}", run.ctx());
    let v = r.violation.as_ref().unwrap_or_else(|| panic!("no violation details\n{}", run.ctx()));
    assert_eq!(v.arch, arch, "{}", run.ctx());
    assert_eq!(v.nr, nr, "{}", run.ctx());
    assert_eq!(v.name, name, "{}", run.ctx());
    assert!(!run.out.contains("RETURNED"), "the call returned:\n{}", run.ctx());
}

#[test]
fn int80_from_a_64_bit_program_is_an_arch_violation() {
    // i386 getpid is 20 (x86-64 20 would be writev).
    let run = run_attack("int80", &["20", "0"], &allow_all());
    assert_arch_violation(&run, Arch::X86_32, 20, "getpid");
    assert!(
        run.r.describe().starts_with("ARCH VIOLATION - [X86-32] getpid("),
        "describe() = {}",
        run.r.describe()
    );
    // i386 exit(42): had the call run, the program would have ended OK with code 42.
    let run = run_attack("int80", &["1", "42"], &allow_all());
    assert_arch_violation(&run, Arch::X86_32, 1, "exit");
    assert_eq!(run.r.exit_code, None);
    assert_eq!(run.r.violation.as_ref().unwrap().args[0], 42);
}

#[test]
fn x32_syscall_numbers_are_arch_violations() {
    const X32: u64 = 0x4000_0000;
    let run = run_attack("x32", &[&libc::SYS_getpid.to_string()], &allow_all());
    assert_arch_violation(&run, Arch::X32, X32 | libc::SYS_getpid as u64, "getpid");
    // The x32 alias of a mandatory denial is caught by the ABI rule too.
    let run = run_attack("x32", &[&libc::SYS_ptrace.to_string()], &allow_all());
    let r = &run.r;
    assert_eq!(r.status, Status::Violation, "{}", run.ctx());
    assert_eq!(r.reason(), Some(Reason::ViolationArch), "{}", run.ctx());
    assert_eq!(r.violation.as_ref().unwrap().arch, Arch::X32, "{}", run.ctx());
}

#[test]
fn a_32_bit_binary_is_an_arch_violation() {
    let mut ex = sbx::Executor::new(attacker32());
    ex.args(sandbox_check_args());
    let run = run_capture(ex, build(&allow_all()));
    assert!(!run.out.contains("I386 SYSCALLS ALLOWED"), "{}", run.ctx());
    let r = &run.r;
    assert_eq!(r.status, Status::Violation, "{}", run.ctx());
    assert_eq!(r.reason(), Some(Reason::ViolationArch), "{}", run.ctx());
    let v = r.violation.as_ref().unwrap();
    assert_eq!(v.arch, Arch::X86_32, "{}", run.ctx());
    // The C library's first syscall: brk (45) with glibc; set_thread_area (243) would also do.
    assert!(
        (v.nr, v.name.as_str()) == (45, "brk") || (v.nr, v.name.as_str()) == (243, "set_thread_area"),
        "unexpected first i386 syscall: {v:?}"
    );
    assert!(r.describe().starts_with("ARCH VIOLATION - [X86-32] "), "{}", r.describe());
}

// ---------------------------------------------------------------------------------------------
// Argument widths (invariant 3)
// ---------------------------------------------------------------------------------------------

fn ioctl_policy(width: Width) -> PolicyBuilder {
    let mut pb = base_policy();
    pb.rule("ioctl", &[Arg::new(1, width, Cmp::Eq, libc::TCGETS)], Action::Allow);
    pb
}

#[test]
fn ioctl_cmd_is_compared_on_32_bits() {
    let pb = ioctl_policy(Width::W32);
    // The kernel reads cmd as an unsigned int: this is TCGETS, so the rule allows it. stdin is
    // /dev/null, so the kernel answers ENOTTY.
    let run = run_attack("ioctl", &["0xdeadbeef00005401"], &pb);
    assert!(run.r.success(), "high garbage bits must not matter:\n{}", run.ctx());
    assert!(run.out.contains("IOCTL ret -1\nIOCTL errno 25\n"), "{}", run.ctx());
    // Plain TCGETS, for reference.
    let run = run_attack("ioctl", &["0x5401"], &pb);
    assert!(run.r.success(), "{}", run.ctx());
    // Another low word is not allowed, whatever the high word is.
    for cmd in ["0x5402", "0x0000540100000000", "0x5401ffff5402"] {
        let run = run_attack("ioctl", &[cmd], &pb);
        let v = assert_violation(&run, "ioctl");
        assert_eq!(v.args[1], u64::from_str_radix(&cmd[2..], 16).unwrap(), "{cmd}: {v:?}");
    }
}

#[test]
fn w64_compares_the_whole_register() {
    let pb = ioctl_policy(Width::W64);
    let run = run_attack("ioctl", &["0x5401"], &pb);
    assert!(run.r.success(), "{}", run.ctx());
    let run = run_attack("ioctl", &["0xdeadbeef00005401"], &pb);
    assert_violation(&run, "ioctl");
}

#[test]
fn without_exec_groups_refuse_executable_memory() {
    // sandbox2's (disabled) MmapWithExecNotAllowedByDefault and MprotectWithExec...: libsbx has
    // no W^X by default either (allow_all, allow_mmap and allow_mprotect let PROT_EXEC through);
    // a policy that wants it uses the without_exec groups, which this checks in a real run.
    let mut pb = base_policy();
    pb.allow_mmap_without_exec().allow_mprotect_without_exec();
    let run = run_attack("wx", &["rw"], &pb);
    assert_eq!(run.r.exit_code, Some(RETURNED_OK), "{}", run.ctx());
    let v = assert_violation(&run_attack("wx", &["mmap"], &pb), "mmap");
    assert_eq!(v.args[2], (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64, "{v:?}");
    let v = assert_violation(&run_attack("wx", &["mprotect"], &pb), "mprotect");
    assert_eq!(v.args[2], (libc::PROT_READ | libc::PROT_EXEC) as u64, "{v:?}");
}

// ---------------------------------------------------------------------------------------------
// Exec (invariant 6)
// ---------------------------------------------------------------------------------------------

#[test]
fn second_exec_is_a_violation_without_allow_exec() {
    let path = attacker().to_str().unwrap();
    let run = run_attack("exec", &[path], &base_policy());
    assert_violation(&run, "execve");
}

#[test]
fn second_exec_works_with_allow_exec() {
    let path = attacker().to_str().unwrap();
    let mut pb = base_policy();
    pb.allow_exec();
    let run = run_attack("exec", &[path], &pb);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(7), "the exec'd program exits 7:\n{}", run.ctx());
}

#[test]
fn the_library_exec_magic_does_not_grant_a_second_exec() {
    // The sandboxee forges the library's own start-up execveat (magic in the 6th register).
    let path = attacker().to_str().unwrap();
    let magic = format!("{:#x}", sbx::policy::EXEC_MAGIC);
    let run = run_attack("execmagic", &[path, &magic], &base_policy());
    let v = assert_violation(&run, "execveat");
    assert_eq!(v.args[5], sbx::policy::EXEC_MAGIC, "{v:?}");
    assert_eq!(v.pid, run.r.pid);

    // Same from a child process.
    let mut pb = base_policy();
    pb.allow_fork().allow_wait().allow("getpid");
    let run = run_attack("child_execmagic", &[path, &magic], &pb);
    let v = assert_violation(&run, "execveat");
    assert_ne!(v.pid, run.r.pid, "the child made the call:\n{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// Children and threads are followed
// ---------------------------------------------------------------------------------------------

/// Runs `attacker MODE ARGS` (child_sys or thread_sys), which prints `TAG <pid>` (the pid in the
/// sandbox's pid namespace) and waits on stdin before its call: the test maps that pid to the
/// host's while the task is alive, then lets it go. Returns the run and the task's host pid.
fn run_reporting(mode: &str, args: &[&str], pb: &PolicyBuilder, tag: &str) -> (Run, i32) {
    let mut live = Live::start(attack(mode, args), build(pb));
    live.expect(tag);
    let inner = live.reported(tag);
    let main = live.sb.pid().expect("running sandbox has a pid");
    let host = host_pid_of(main, inner);
    live.go();
    let run = live.finish();
    let host = host.unwrap_or_else(|| panic!("{tag}{inner} not found on the host\n{}", run.ctx()));
    if EXPECT_NS {
        assert_ne!(inner, host, "the sandboxee saw a host pid\n{}", run.ctx());
    }
    (run, host)
}

#[test]
fn violation_in_a_child_process_names_the_child() {
    let mut pb = base_policy();
    pb.allow_fork().allow_wait().allow("getpid");
    let (run, child) = run_reporting("child_sys", &["getuid"], &pb, "CHILD ");
    let v = assert_violation(&run, "getuid");
    assert_eq!(v.pid, child, "the violation names the child's host pid\n{}", run.ctx());
    assert_ne!(v.pid, run.r.pid, "{}", run.ctx());
    assert!(!run.out.contains("PARENT SAW CHILD END"), "{}", run.ctx());
}

#[test]
fn violation_in_a_thread_names_the_thread() {
    let mut pb = allow_all();
    pb.violation("getuid");
    let (run, tid) = run_reporting("thread_sys", &["getuid"], &pb, "THREAD ");
    let v = assert_violation(&run, "getuid");
    assert_eq!(v.pid, tid, "the violation names the thread's host tid\n{}", run.ctx());
    assert_ne!(v.pid, run.r.pid, "{}", run.ctx());
}

#[test]
fn mandatory_denial_in_a_child_process() {
    let (run, child) = run_reporting("child_sys", &["bpf"], &allow_all(), "CHILD ");
    let v = assert_violation(&run, "bpf");
    assert_eq!(v.pid, child, "{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// Policy building errors
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_syscall_names_are_rejected() {
    let mut pb = PolicyBuilder::new();
    pb.allow_exit().allow("no_such_syscall_sbx");
    match pb.build() {
        Err(Error::UnknownSyscall(n)) => assert_eq!(n, "no_such_syscall_sbx"),
        other => panic!("expected UnknownSyscall, got {other:?}"),
    }
}

#[test]
fn out_of_range_values_are_rejected() {
    let mut pb = PolicyBuilder::new();
    pb.errno("getpid", 0);
    assert!(pb.build().is_err(), "errno 0 accepted");
    let mut pb = PolicyBuilder::new();
    pb.errno("getpid", 5000);
    assert!(pb.build().is_err(), "errno 5000 accepted");
    let mut pb = PolicyBuilder::new();
    pb.rule("ioctl", &[Arg::new(6, Width::W32, Cmp::Eq, 0)], Action::Allow);
    assert!(pb.build().is_err(), "argument index 6 accepted");
    // A number in the x32 range must never become an allow rule (it would name an x32 call).
    for nr in [0x4000_0000u32 | libc::SYS_getpid as u32, u32::MAX] {
        let mut pb = PolicyBuilder::new();
        pb.allow(nr);
        assert!(pb.build().is_err(), "syscall number {nr:#x} accepted");
    }
    let mut pb = PolicyBuilder::new();
    pb.allow(-1i64);
    assert!(pb.build().is_err(), "syscall number -1 accepted");
}
