//! The vocabulary of a policy: what to do with a syscall ([`Action`]), which argument values a
//! rule applies to ([`Arg`]), how syscalls are named ([`Sys`]) and what happens to syscalls no
//! rule mentions ([`DefaultAction`]).

use super::bpf::{SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_TRACE};
use super::trace_data;
use crate::error::{Error, Result};

/// Largest errno a filter can return: the kernel caps `SECCOMP_RET_ERRNO` data at `MAX_ERRNO`.
pub const MAX_ERRNO: u16 = 4095;

/// What a rule does with a matching syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Let the syscall run.
    Allow,
    /// Fail the syscall with this errno (1..=4095) without running it.
    Errno(u16),
    /// Stop at the monitor (`SECCOMP_RET_TRACE` with [`trace_data::USER_TRACE`]), which hands it to
    /// the Notify handler; without one it is a violation.
    Trace,
    /// End the sandbox with a violation report naming the syscall.
    Violation,
}

/// An `int` constant from `libc` as a rule value.
pub(crate) fn c(v: libc::c_int) -> u64 {
    u64::from(crate::sys::bits_u32(v))
}

/// An `ioctl` request from `libc` (`c_ulong` or `c_int` depending on the libc) as a rule value:
/// the kernel reads the request as an `unsigned int`.
#[allow(clippy::cast_possible_truncation)] // that reading: the kernel's own truncation
pub(crate) fn ioctl_cmd(v: libc::Ioctl) -> u64 {
    u64::from(v as u32)
}

impl Action {
    /// The filter return value that implements this action.
    pub fn ret(self) -> u32 {
        match self {
            Action::Allow => SECCOMP_RET_ALLOW,
            Action::Errno(e) => SECCOMP_RET_ERRNO | u32::from(e),
            Action::Trace => SECCOMP_RET_TRACE | u32::from(trace_data::USER_TRACE),
            Action::Violation => SECCOMP_RET_TRACE | u32::from(trace_data::VIOLATION),
        }
    }

    pub(crate) fn validate(self) -> Result<()> {
        match self {
            Action::Errno(e) => check_errno(e),
            _ => Ok(()),
        }
    }
}

/// The number of the errno called `name` (`EPERM`, `eperm`; the aliases `EWOULDBLOCK`,
/// `ENOTSUP` and `EDEADLOCK` too), or `None`.
pub fn errno_from_name(name: &str) -> Option<u16> {
    let upper = name.trim().to_ascii_uppercase();
    // Aliases that nix spells by their primary name.
    let wanted = match upper.as_str() {
        "EWOULDBLOCK" => "EAGAIN",
        "ENOTSUP" => "EOPNOTSUPP",
        "EDEADLOCK" => "EDEADLK",
        other => other,
    };
    (1..=i32::from(MAX_ERRNO))
        .find(|&n| format!("{:?}", nix::errno::Errno::from_raw(n)) == wanted)
        .and_then(|n| u16::try_from(n).ok())
}

pub(crate) fn check_errno(e: u16) -> Result<()> {
    if (1..=MAX_ERRNO).contains(&e) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "errno {e} is outside 1..={MAX_ERRNO}"
        )))
    }
}

/// How many bits of an argument register a comparison looks at.
///
/// Use the width of the C type the kernel reads: an `int` or `unsigned int` argument (`ioctl`'s
/// `cmd`, `socket`'s `domain`, `fcntl`'s `cmd`, `clone`'s flags in their low word) is [`W32`]:
/// the caller may leave garbage in the upper half of the register and the kernel ignores it, so a
/// 64-bit comparison could be bypassed or could reject a legitimate call. Pointers, sizes and
/// `unsigned long` values are [`W64`].
///
/// [`W32`]: Width::W32
/// [`W64`]: Width::W64
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// Compare only the low 32 bits of the register.
    W32,
    /// Compare all 64 bits.
    W64,
}

impl Width {
    /// The bits of the register this width compares.
    pub fn mask(self) -> u64 {
        match self {
            Width::W32 => u64::from(u32::MAX),
            Width::W64 => u64::MAX,
        }
    }
}

/// An unsigned comparison of an argument `x` with a rule's value `v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `x == v`
    Eq,
    /// `x != v`
    Ne,
    /// `x < v`
    Lt,
    /// `x <= v`
    Le,
    /// `x > v`
    Gt,
    /// `x >= v`
    Ge,
    /// `x & mask == v` (all bits of `v` must lie inside `mask`).
    MaskedEq(u64),
}

/// One condition on one syscall argument; a rule matches when all its conditions hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arg {
    /// Argument position, 0..=5.
    pub index: u8,
    /// How many bits of the register to compare.
    pub width: Width,
    /// The comparison.
    pub cmp: Cmp,
    /// The value compared with (for [`Cmp::MaskedEq`], the expected masked value).
    pub value: u64,
}

macro_rules! arg_ctors {
    ($($(#[$doc:meta])* $name32:ident, $name64:ident => $cmp:ident;)*) => {$(
        $(#[$doc])*
        #[doc = "\n\nCompares the low 32 bits (an `int` argument)."]
        pub fn $name32(index: u8, value: u64) -> Arg {
            Arg::new(index, Width::W32, Cmp::$cmp, value)
        }
        $(#[$doc])*
        #[doc = "\n\nCompares all 64 bits."]
        pub fn $name64(index: u8, value: u64) -> Arg {
            Arg::new(index, Width::W64, Cmp::$cmp, value)
        }
    )*};
}

impl Arg {
    /// A condition `arg[index] <cmp> value` on `width` bits. Checked when the rule is added.
    pub fn new(index: u8, width: Width, cmp: Cmp, value: u64) -> Arg {
        Arg {
            index,
            width,
            cmp,
            value,
        }
    }

    arg_ctors! {
        /// `arg[index] == value`.
        eq32, eq64 => Eq;
        /// `arg[index] != value`.
        ne32, ne64 => Ne;
        /// `arg[index] < value` (unsigned).
        lt32, lt64 => Lt;
        /// `arg[index] <= value` (unsigned).
        le32, le64 => Le;
        /// `arg[index] > value` (unsigned).
        gt32, gt64 => Gt;
        /// `arg[index] >= value` (unsigned).
        ge32, ge64 => Ge;
    }

    /// `arg[index] & mask == value` on the low 32 bits.
    pub fn masked_eq32(index: u8, mask: u64, value: u64) -> Arg {
        Arg::new(index, Width::W32, Cmp::MaskedEq(mask), value)
    }

    /// `arg[index] & mask == value` on all 64 bits.
    pub fn masked_eq64(index: u8, mask: u64, value: u64) -> Arg {
        Arg::new(index, Width::W64, Cmp::MaskedEq(mask), value)
    }

    /// Whether the condition holds for these argument registers: the policy model, independent of
    /// the compiled filter.
    pub fn matches(&self, args: &[u64; 6]) -> bool {
        let Some(&raw) = args.get(usize::from(self.index)) else {
            return false;
        };
        let x = raw & self.width.mask();
        let v = self.value;
        match self.cmp {
            Cmp::Eq => x == v,
            Cmp::Ne => x != v,
            Cmp::Lt => x < v,
            Cmp::Le => x <= v,
            Cmp::Gt => x > v,
            Cmp::Ge => x >= v,
            Cmp::MaskedEq(mask) => x & mask == v,
        }
    }

    /// Rejects conditions that cannot mean what the caller wrote.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.index > 5 {
            return Err(Error::InvalidArgument(format!(
                "argument index {} is outside 0..=5",
                self.index
            )));
        }
        let max = self.width.mask();
        // A 32-bit comparison never sees bits 32..63, so such a value or mask would silently make
        // the rule always or never match.
        if self.value > max {
            return Err(Error::InvalidArgument(format!(
                "value {:#x} of a 32-bit comparison on argument {} does not fit in 32 bits",
                self.value, self.index
            )));
        }
        if let Cmp::MaskedEq(mask) = self.cmp {
            if mask > max {
                return Err(Error::InvalidArgument(format!(
                    "mask {mask:#x} of a 32-bit comparison on argument {} does not fit in 32 bits",
                    self.index
                )));
            }
            if self.value & !mask != 0 {
                return Err(Error::InvalidArgument(format!(
                    "value {:#x} has bits outside mask {mask:#x} on argument {}: it can never match",
                    self.value, self.index
                )));
            }
        }
        Ok(())
    }
}

/// A syscall, by name (as the kernel spells it, e.g. `"newfstatat"`) or by native number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Sys {
    /// A name looked up in the native table.
    Name(String),
    /// A native syscall number.
    Nr(u32),
}

impl From<&str> for Sys {
    fn from(name: &str) -> Sys {
        Sys::Name(name.to_owned())
    }
}

impl From<String> for Sys {
    fn from(name: String) -> Sys {
        Sys::Name(name)
    }
}

impl From<u32> for Sys {
    fn from(nr: u32) -> Sys {
        Sys::Nr(nr)
    }
}

/// For `libc::SYS_*` constants, which are `c_long`. A negative or oversized number becomes
/// `u32::MAX`, which the builder rejects as out of range.
impl From<i64> for Sys {
    fn from(nr: i64) -> Sys {
        Sys::Nr(u32::try_from(nr).unwrap_or(u32::MAX))
    }
}

/// What happens to a native syscall that no rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DefaultAction {
    /// End the sandbox with a violation (allow-list policy). The default.
    #[default]
    Violation,
    /// Allow it (deny-list policy; the mandatory rules still apply).
    AllowAll,
    /// Stop at the monitor for the Notify handler to decide.
    TraceAll,
    /// Fail it with this errno (1..=4095).
    Errno(u16),
}

impl DefaultAction {
    /// The filter return value for syscalls that fall through to the default.
    pub fn ret(self) -> u32 {
        match self {
            DefaultAction::Violation => Action::Violation.ret(),
            DefaultAction::AllowAll => Action::Allow.ret(),
            DefaultAction::TraceAll => Action::Trace.ret(),
            DefaultAction::Errno(e) => Action::Errno(e).ret(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w32_ignores_the_high_half() {
        let args = [0, 0xffff_ffff_0000_5401, 0, 0, 0, 0];
        assert!(Arg::eq32(1, 0x5401).matches(&args));
        assert!(!Arg::eq64(1, 0x5401).matches(&args));
        assert!(Arg::eq64(1, 0xffff_ffff_0000_5401).matches(&args));
        assert!(Arg::masked_eq32(1, 0xff00, 0x5400).matches(&args));
        assert!(Arg::lt32(1, 0x5402).matches(&args));
        assert!(!Arg::lt64(1, 0x5402).matches(&args));
    }

    #[test]
    fn validation() {
        assert!(Arg::eq32(5, 1).validate().is_ok());
        assert!(Arg::eq32(6, 1).validate().is_err());
        assert!(Arg::eq32(0, 1 << 32).validate().is_err());
        assert!(Arg::eq64(0, 1 << 32).validate().is_ok());
        assert!(Arg::masked_eq32(0, 1 << 32, 0).validate().is_err());
        assert!(Arg::masked_eq64(0, 0xf0, 0x0f).validate().is_err());
        assert!(Arg::masked_eq64(0, 0xf0, 0x10).validate().is_ok());
        assert!(Action::Errno(0).validate().is_err());
        assert!(Action::Errno(4096).validate().is_err());
        assert!(Action::Errno(4095).validate().is_ok());
    }

    #[test]
    fn sys_conversions() {
        assert_eq!(Sys::from("read"), Sys::Name("read".into()));
        assert_eq!(Sys::from(String::from("read")), Sys::Name("read".into()));
        assert_eq!(Sys::from(3u32), Sys::Nr(3));
        assert_eq!(Sys::from(3i64), Sys::Nr(3));
        assert_eq!(Sys::from(-1i64), Sys::Nr(u32::MAX));
    }
}
