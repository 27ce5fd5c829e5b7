//! Syscall rules: groups, names and numbers allowed, failed with an errno, traced or made
//! violations, rules with argument conditions (`sbx_arg`, `sbx_width`, `sbx_cmp`, `sbx_action`),
//! policy files and the default action.

use super::{sbx_group, sbx_policy_builder};
use crate::ffi::failure::{sbx_error, Failure};
use crate::ffi::handle::{try_mut, try_slice, try_str, try_str_array};
use crate::ffi::panic::boundary_status;
use crate::ffi::status::sbx_status;
use crate::{Action, Arg, Cmp, DefaultAction, Sys, Width};
use std::ffi::c_char;

/// What a rule does with a matching syscall (`sbx_policy_builder_add_rule`), or, for
/// `sbx_policy_builder_set_default_action`, with a syscall no rule decides.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_action {
    /// Let the syscall run (as a default action: allow everything the rules and the mandatory
    /// rules do not decide, a deny-list policy).
    Allow = 1,
    /// Fail the syscall with the errno given beside the action (1..4095) without running it.
    Errno = 2,
    /// Stop at the monitor and ask the sandbox's notify callbacks (`sbx_notify_callbacks.trace`): allow, deny or fail with an errno. Without a `trace` callback the call is a violation.
    Trace = 3,
    /// End the sandbox with a VIOLATION result naming the syscall (the default action).
    Violation = 4,
}

/// How many bits of an argument register a condition compares (`sbx_arg.width`). Use the width
/// of the C type the kernel reads: `int` arguments (`ioctl`'s cmd, `socket`'s domain, `fcntl`'s
/// cmd, file descriptors) are 32-bit; pointers, sizes and `unsigned long` are 64-bit.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_width {
    /// Compare only the low 32 bits (the upper half of the register is ignored, as the kernel
    /// ignores it).
    W32 = 32,
    /// Compare all 64 bits.
    W64 = 64,
}

/// An unsigned comparison of an argument `x` with a condition's `value` (`sbx_arg.cmp`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_cmp {
    /// `x == value`
    Eq = 1,
    /// `x != value`
    Ne = 2,
    /// `x < value`
    Lt = 3,
    /// `x <= value`
    Le = 4,
    /// `x > value`
    Gt = 5,
    /// `x >= value`
    Ge = 6,
    /// `(x & mask) == value`; every bit of `value` must lie inside `mask`.
    MaskedEq = 7,
}

/// One condition on one syscall argument; a rule applies when all of its conditions hold.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sbx_arg {
    /// Argument position, 0..5.
    pub index: u32,
    /// `SBX_WIDTH_W32` or `SBX_WIDTH_W64`.
    pub width: u32,
    /// One of the `SBX_CMP_*` values.
    pub cmp: u32,
    /// The mask for `SBX_CMP_MASKED_EQ`; ignored by the other comparisons.
    pub mask: u64,
    /// The value compared with (for `SBX_CMP_MASKED_EQ`, the expected masked value).
    pub value: u64,
}

fn action_from_c(action: u32, errno_value: i32) -> Result<Action, Failure> {
    Ok(match action {
        x if x == sbx_action::Allow as u32 => Action::Allow,
        x if x == sbx_action::Errno as u32 => Action::Errno(errno_from_c(errno_value)?),
        x if x == sbx_action::Trace as u32 => Action::Trace,
        x if x == sbx_action::Violation as u32 => Action::Violation,
        other => {
            return Err(Failure::invalid(format!(
                "action {other} is not one of the SBX_ACTION_* values"
            )))
        }
    })
}

fn errno_from_c(errno_value: i32) -> Result<u16, Failure> {
    u16::try_from(errno_value)
        .map_err(|_| Failure::invalid(format!("errno {errno_value} is outside 1..4095")))
}

fn arg_from_c(a: &sbx_arg) -> Result<Arg, Failure> {
    let index = u8::try_from(a.index)
        .map_err(|_| Failure::invalid(format!("argument index {} is outside 0..5", a.index)))?;
    let width = match a.width {
        x if x == sbx_width::W32 as u32 => Width::W32,
        x if x == sbx_width::W64 as u32 => Width::W64,
        other => {
            return Err(Failure::invalid(format!(
                "width {other} is not SBX_WIDTH_W32 or SBX_WIDTH_W64"
            )))
        }
    };
    let cmp = match a.cmp {
        x if x == sbx_cmp::Eq as u32 => Cmp::Eq,
        x if x == sbx_cmp::Ne as u32 => Cmp::Ne,
        x if x == sbx_cmp::Lt as u32 => Cmp::Lt,
        x if x == sbx_cmp::Le as u32 => Cmp::Le,
        x if x == sbx_cmp::Gt as u32 => Cmp::Gt,
        x if x == sbx_cmp::Ge as u32 => Cmp::Ge,
        x if x == sbx_cmp::MaskedEq as u32 => Cmp::MaskedEq(a.mask),
        other => {
            return Err(Failure::invalid(format!(
                "comparison {other} is not one of the SBX_CMP_* values"
            )))
        }
    };
    Ok(Arg::new(index, width, cmp, a.value))
}

fn args_from_c(args: *const sbx_arg, nargs: usize) -> Result<Vec<Arg>, Failure> {
    try_slice(args, nargs, "args")?
        .iter()
        .map(arg_from_c)
        .collect()
}

impl sbx_policy_builder {
    /// Allows a convenience group, `group` being one of the `SBX_GROUP_*` values.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (unknown
    /// group). Details go to `*err_out` when `err_out` is not NULL.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_group(
        builder: *mut sbx_policy_builder,
        group: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            sbx_group::from_c(group)?.apply(&mut b);
            Ok(())
        })
    }

    /// Allows `futex` with operation `op` (`FUTEX_WAIT`, `FUTEX_WAKE`, ...), with or without
    /// `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`. An `op` that itself includes those flags
    /// makes `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_ARGUMENT`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_futex_op(
        builder: *mut sbx_policy_builder,
        op: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_futex_op(op);
            Ok(())
        })
    }

    /// Allows the syscall called `name` (the kernel's spelling, e.g. `"newfstatat"`) whatever its
    /// arguments. The string is copied. An unknown name makes `sbx_policy_builder_build` fail
    /// with `SBX_STATUS_UNKNOWN_SYSCALL`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.allow(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Adds the syscall rules of a policy file, after the builder's own: TOML as `sbx-run
    /// --learn` writes it (`version = 1`, `default`, `allow = [...]`, `[[rule]]` with
    /// `syscall`, `action` and `args`; see the README). `origin` names the file in errors (NULL:
    /// `"policy"`). A bad file changes nothing and is `SBX_STATUS_INVALID_POLICY` with a message
    /// naming `origin:line:column` and the problem (unknown key or syscall, bad action, errno or
    /// condition, a syscall the mandatory rules deny).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `text`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`text` or `origin` not UTF-8), `SBX_STATUS_INVALID_POLICY` (the file).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_load_rules(
        builder: *mut sbx_policy_builder,
        text: *const c_char,
        origin: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let text = try_str(text, "text")?;
            let origin = if origin.is_null() {
                "policy"
            } else {
                try_str(origin, "origin")?
            };
            b.load_rules(text, origin)?;
            Ok(())
        })
    }

    /// Allows each of the `count` syscalls named in `names` (NULL is fine when `count` is 0).
    /// All names are checked for NULL and UTF-8 before any is added.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `names`, an element),
    /// `SBX_STATUS_INVALID_ARGUMENT` (an element not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_syscalls(
        builder: *mut sbx_policy_builder,
        names: *const *const c_char,
        count: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.allow_many(try_str_array(names, count, "names")?);
            Ok(())
        })
    }

    /// Allows native syscall number `nr` whatever its arguments. A number outside the syscall
    /// range makes `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_ARGUMENT`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_syscall_nr(
        builder: *mut sbx_policy_builder,
        nr: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow(Sys::Nr(nr));
            Ok(())
        })
    }

    /// Makes the syscall called `name` fail with `errno_value` (1..4095, e.g. `EPERM`) without
    /// running it. A value in 0..65535 but outside 1..4095 makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8, `errno_value` negative or above 65535).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_errno_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let name = try_str(name, "name")?;
            b.errno(name, errno_from_c(errno_value)?);
            Ok(())
        })
    }

    /// Sends the syscall called `name` to the monitor (`SBX_ACTION_TRACE`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_trace_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.trace(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Makes the syscall called `name` a violation explicitly (what the default action does
    /// anyway; useful before a deny-list default or to document intent).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_violation_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.violation(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Adds a rule for the syscall called `name`: when all `nargs` conditions of `args` hold,
    /// `action` (one of the `SBX_ACTION_*` values; `errno_value` is used only with
    /// `SBX_ACTION_ERRNO`). No conditions (`args` may then be NULL) make the rule unconditional.
    /// The conditions are copied.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`, `args` with `nargs` > 0),
    /// `SBX_STATUS_INVALID_ARGUMENT` (`name` not UTF-8, unknown action, width or comparison,
    /// index above 255, errno not in 0..65535). Other rule problems are reported by
    /// `sbx_policy_builder_build`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_rule(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        args: *const sbx_arg,
        nargs: usize,
        action: u32,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let name = try_str(name, "name")?;
            let args = args_from_c(args, nargs)?;
            let action = action_from_c(action, errno_value)?;
            b.rule(name, &args, action);
            Ok(())
        })
    }

    /// Like `sbx_policy_builder_add_rule`, for native syscall number `nr`.
    ///
    /// Errors: as `sbx_policy_builder_add_rule`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_rule_nr(
        builder: *mut sbx_policy_builder,
        nr: u32,
        args: *const sbx_arg,
        nargs: usize,
        action: u32,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let args = args_from_c(args, nargs)?;
            let action = action_from_c(action, errno_value)?;
            b.rule(Sys::Nr(nr), &args, action);
            Ok(())
        })
    }

    /// Sets what happens to syscalls no rule decides: `SBX_ACTION_VIOLATION` (the default),
    /// `SBX_ACTION_ALLOW` (a deny-list policy; the mandatory rules still apply),
    /// `SBX_ACTION_TRACE`, or `SBX_ACTION_ERRNO` with `errno_value`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (unknown
    /// action, errno not in 0..65535).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_default_action(
        builder: *mut sbx_policy_builder,
        action: u32,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let action = match action_from_c(action, errno_value)? {
                Action::Allow => DefaultAction::AllowAll,
                Action::Errno(e) => DefaultAction::Errno(e),
                Action::Trace => DefaultAction::TraceAll,
                Action::Violation => DefaultAction::Violation,
            };
            b.default_action(action);
            Ok(())
        })
    }
}
