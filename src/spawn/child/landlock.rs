//! Step 9b of the child: entering the plan's Landlock domain with raw syscalls (see the module
//! docs of [`super`] for what code here may do). The raw-ABI casts are allowed for all of
//! `child/` in `mod.rs`.

#![allow(unsafe_code)]

use super::check;
use crate::spawn::plan::{Plan, Step};
use crate::sys::raw::syscall;

/// Creates the plan's Landlock ruleset, adds its rules (paths of the view, opened `O_PATH` now
/// that the root is the sandbox's; then the mapped fds) and restricts the calling thread's
/// process with it. A path that does not exist (an optional `/proc` that could not be mounted)
/// grants nothing; an fd Landlock does not govern (a pipe or socket: EBADFD) is skipped.
pub(super) fn enter_landlock(plan: &Plan, domain: &crate::landlock::Domain) {
    use crate::landlock::{NetPortAttr, PathBeneathAttr, RULE_NET_PORT, RULE_PATH_BENEATH};
    use crate::spawn::plan::landlock_item;
    let attr = &domain.attr;
    // Every call through `sys` passes pointers to the plan's ruleset attribute, its rule paths
    // (NUL-terminated CStrings) and a rule on this stack frame, all alive for the call; the fds
    // are ours (the ruleset, the O_PATH fd just opened) or the sandboxee's moved fds, and a bad
    // one is an error the call returns.
    // SAFETY: see above; none of these calls changes memory the caller relies on.
    let sys = |nr: i64, args: &[u64]| unsafe { syscall(nr, args) };
    let ruleset = check(
        plan,
        Step::Landlock,
        sys(
            libc::SYS_landlock_create_ruleset,
            &[std::ptr::from_ref(attr) as u64, attr.size as u64, 0],
        ),
        landlock_item::CREATE,
    );
    let add = |fd: i64, access: u64| {
        let rule = PathBeneathAttr {
            allowed_access: access,
            parent_fd: fd as i32,
        };
        sys(
            libc::SYS_landlock_add_rule,
            &[
                ruleset as u64,
                RULE_PATH_BENEATH,
                std::ptr::addr_of!(rule) as u64,
                0,
            ],
        )
    };
    for (i, rule) in domain.paths.iter().enumerate() {
        let fd = sys(
            libc::SYS_openat,
            &[
                libc::AT_FDCWD as u64,
                rule.path.as_ptr() as u64,
                (libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW) as u64,
            ],
        );
        if fd == -i64::from(libc::ENOENT) {
            continue;
        }
        check(plan, Step::Landlock, fd, i);
        let r = add(fd, rule.access);
        sys(libc::SYS_close, &[fd as u64]);
        check(plan, Step::Landlock, r, i);
    }
    for (i, rule) in domain.fds.iter().enumerate() {
        let r = add(i64::from(rule.fd), rule.access);
        if r != -i64::from(libc::EBADFD) {
            check(plan, Step::Landlock, r, domain.paths.len() + i);
        }
    }
    for (i, &port) in domain.tcp_ports.iter().enumerate() {
        let rule = NetPortAttr {
            allowed_access: crate::sys::landlock::net::CONNECT_TCP,
            port: u64::from(port),
        };
        let r = sys(
            libc::SYS_landlock_add_rule,
            &[
                ruleset as u64,
                RULE_NET_PORT,
                std::ptr::addr_of!(rule) as u64,
                0,
            ],
        );
        check(
            plan,
            Step::Landlock,
            r,
            domain.paths.len() + domain.fds.len() + i,
        );
    }
    check(
        plan,
        Step::Landlock,
        sys(libc::SYS_landlock_restrict_self, &[ruleset as u64, 0]),
        landlock_item::RESTRICT,
    );
    sys(libc::SYS_close, &[ruleset as u64]);
}
