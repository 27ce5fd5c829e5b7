//! Fixes from the security review, each held by an attack in a real sandbox:
//! a root caller's sandboxee is never host root (no `/proc/sys` writes), forged seccomp trace
//! data is not honoured, capabilities are dropped whatever state the caller's are in, the init
//! holds no host fd, and the host's dumpable flag survives root runs.

mod common;

use common::*;
use sbx::{Notify, Sandbox, Status, Syscall, TraceAction};

fn expected_host_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        sbx::namespaces::root_caller_host_id()
    } else {
        euid
    }
}

/// The sandboxee's host uid, read from the host while it runs.
#[test]
fn a_root_callers_sandboxee_is_not_host_root() {
    for namespaced in [true, false] {
        let (mut ex, pb) = if namespaced {
            (attack("sleep", &["5"]), base_policy())
        } else {
            (attack_no_ns("sleep", &["5"]), base_policy_no_ns())
        };
        ex.walltime(std::time::Duration::from_secs(10));
        let sb = Sandbox::new(ex, build(&pb));
        sb.start().unwrap();
        let pid = sb.pid().expect("running");
        let status = match std::fs::read_to_string(format!("/proc/{pid}/status")) {
            Ok(s) => s,
            Err(e) => {
                sb.kill();
                panic!("namespaced={namespaced}: /proc/{pid}/status: {e}; run: {:?}", sb.wait());
            }
        };
        sb.kill();
        let _ = sb.wait();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        let uids: Vec<u32> = uid_line
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(
            uids.iter().all(|u| *u == expected_host_uid()),
            "namespaced={namespaced}: {uid_line}"
        );
        let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
        assert!(
            !groups.split_whitespace().skip(1).any(|g| g == "0"),
            "host gid 0 kept: {groups}"
        );
    }
}

#[test]
fn global_sysctls_cannot_be_opened_for_writing() {
    // Opening for writing is enough to prove the point and changes nothing.
    let target = "/proc/sys/kernel/core_pattern";
    let run = run_attack("openw", &[target], &allow_all());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.out.contains("RETURNED open errno 13"),
        "namespaced: {}",
        run.ctx()
    );
    let run = run_capture(attack_no_ns("openw", &[target]), build(&allow_all_no_ns()));
    assert!(
        run.out.contains("RETURNED open errno 13"),
        "no namespaces: {}",
        run.ctx()
    );
}

struct AllowTraced;
impl Notify for AllowTraced {
    fn trace(&mut self, _: &Syscall) -> TraceAction {
        TraceAction::Allow
    }
}

#[test]
fn forged_trace_data_does_not_reach_a_permissive_notify() {
    let mut pb = allow_all();
    pb.trace("personality");
    let ex = attack("forge_trace", &[]);
    let (r, w) = pipe();
    let out = reader(r);
    let mut ex = ex;
    ex.stdout(sbx::Stdio::Fd(w));
    let res = Sandbox::with_notify(ex, build(&pb), Box::new(AllowTraced))
        .run()
        .unwrap();
    let out = out.join().unwrap();
    assert_eq!(res.status, Status::Violation, "{}\n{out}", res.describe());
    assert_eq!(res.violation.unwrap().name, "unshare");
    assert!(!out.contains("RETURNED unshare"), "unshare returned: {out}");
}

#[test]
fn capabilities_are_dropped_even_when_only_permitted() {
    if !is_root() {
        // Nothing to drop for an unprivileged caller; the plain case is in no_namespaces.rs.
        return;
    }
    // A root thread that keeps its capabilities permitted but not effective (a common
    // libcap-ng pattern) starts the sandbox; the monitor thread inherits that state.
    let h = std::thread::spawn(|| {
        #[repr(C)]
        struct Hdr(u32, i32);
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data(u32, u32, u32);
        let hdr = Hdr(0x2008_0522, 0);
        let mut d = [Data(0, 0, 0); 2];
        // SAFETY: capget/capset with correctly sized structs; only this thread changes.
        unsafe {
            assert_eq!(libc::syscall(libc::SYS_capget, &hdr, d.as_mut_ptr()), 0);
            d[0].0 = 0;
            d[1].0 = 0;
            assert_eq!(libc::syscall(libc::SYS_capset, &hdr, d.as_ptr()), 0);
        }
        let mut pb = base_policy_no_ns();
        pb.allow("prctl")
            .allow("getpid")
            .allow("getsid")
            .allow("getpgid");
        run_capture(attack_no_ns("status", &[]), build(&pb))
    });
    let run = h.join().unwrap();
    assert!(run.r.success(), "{}", run.ctx());
    let zero = "0000000000000000";
    for f in ["CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"] {
        assert_eq!(field(&run.out, f), zero, "{f}: {}", run.ctx());
    }
    let id = sbx::namespaces::root_caller_host_id();
    assert_eq!(
        field(&run.out, "Uid"),
        format!("{id}\t{id}\t{id}\t{id}"),
        "{}",
        run.ctx()
    );
}

#[test]
fn the_init_holds_no_host_fd_and_the_host_stays_dumpable() {
    // SAFETY: PR_GET_DUMPABLE takes no pointers.
    let dumpable_before = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
    // A host fd without O_CLOEXEC, which a careless init would carry along.
    let leak = std::ffi::CString::new("/").unwrap();
    // SAFETY: plain open of "/" (no O_CLOEXEC on purpose).
    let fd = unsafe { libc::open(leak.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0);
    let mut ex = attack("sleep", &["5"]);
    ex.walltime(std::time::Duration::from_secs(10));
    let sb = Sandbox::new(ex, build(&base_policy()));
    sb.start().unwrap();
    let pid = sb.pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let init: i32 = field_colon(&status, "PPid").parse().unwrap();
    let fds = std::fs::read_dir(format!("/proc/{init}/fd"));
    sb.kill();
    let _ = sb.wait();
    // SAFETY: closing our own fd.
    unsafe { libc::close(fd) };
    match fds {
        // Root can look: the init has exec'd its image with every fd closed.
        Ok(d) => assert_eq!(d.count(), 0, "the init holds fds"),
        // An unprivileged host cannot even look: the init is non-dumpable.
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}"),
    }
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_GET_DUMPABLE) },
        dumpable_before,
        "host dumpable flag changed"
    );
}

fn field_colon<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim()
}
