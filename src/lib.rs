//! # libsbx: Linux process sandboxing as a library
//!
//! libsbx runs a program you do not trust (the *sandboxee*) under a seccomp-bpf policy, watches
//! it with a ptrace monitor and tells you exactly what happened: its exit code, the signal that
//! killed it, or the syscall (architecture, name, number, six arguments, pid) that broke the
//! policy. It is Google's sandbox2 model rebuilt in Rust, with a C ABI, a Go package and a CLI.
//!
//! ```no_run
//! use sbx::{Executor, PolicyBuilder, Sandbox};
//! let mut pb = PolicyBuilder::new();
//! pb.allow_static_startup().allow_exit().allow_write();
//! let policy = pb.build()?;
//! let result = Sandbox::new(Executor::new("/path/to/static-binary"), policy).run()?;
//! println!("{}", result.describe());
//! # Ok::<(), sbx::Error>(())
//! ```
//!
//! What libsbx guarantees (each is tested by an attacker program in a real sandbox):
//! - default deny: a syscall no rule allows ends the run as VIOLATION with the call reported;
//! - mandatory rules precede every policy (foreign architectures, x32, ptrace, bpf, namespace
//!   flags on clone/unshare, clone3, seccomp listeners, io_uring, userfaultfd, perf, keyctl,
//!   modules, kexec);
//! - `no_new_privs`, no capabilities in the host namespace, only mapped fds survive, the one exec
//!   of the target is the only exec the policy does not have to allow;
//! - the sandboxee and everything it forks die when the run ends or the host dies.
//!
//! What it does not do yet: see ARCHITECTURE.md ("Not yet").
//!
//! Naming: Rust's `Result` is taken, so the outcome of a run is [`RunResult`] (C: `sbx_result`,
//! Go: `Result`).

#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod arch;
mod caps;
pub mod cgroups;
pub mod client;
pub mod comms;
pub mod diagnose;
pub mod error;
pub mod executor;
pub mod features;
mod host_id;
mod janitor;
pub mod landlock;
pub mod learn;
// The C ABI: every export is `#[no_mangle] extern "C"` (which the unsafe_code lint counts);
// raw pointers are converted only in `ffi/handle/`.
#[allow(unsafe_code)]
pub mod ffi;
pub mod limits;
mod monitor;
pub mod mounts;
pub mod namespaces;
pub mod notify;
pub mod policy;
pub mod result;
pub mod sandbox;
mod spawn;
pub mod stacktrace;
mod sys;

pub use arch::Arch;
pub use error::{Error, Result};
pub use executor::{Executor, Stdio};
pub use limits::Limits;
pub use notify::{Notify, TraceAction};
pub use policy::{Action, Arg, Cmp, DefaultAction, Monitor, Policy, PolicyBuilder, Sys, Width};
pub use result::{
    AuditedCall, CallResults, DeniedConnect, Reason, RunResult, SeenArg, Status, Syscall, Usage, Violation,
};
pub use sandbox::Sandbox;
pub use spawn::latency::SetupStep;
pub use stacktrace::StackTrace;

/// The library version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
