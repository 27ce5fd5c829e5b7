//! What the suites that run real software (tests/workloads.rs, tests/learn_workloads.rs) share:
//! a job directory per workload, where the sandbox's default PATH finds a program, and the
//! printed SKIP of a workload whose program is not installed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The sbx-run binary cargo built for the tests.
pub const SBX_RUN: &str = env!("CARGO_BIN_EXE_sbx-run");

/// Where the sandboxee's default `PATH` looks (`/usr/local/bin:/usr/bin:/bin`).
pub const SANDBOX_PATH: [&str; 3] = ["/usr/local/bin", "/usr/bin", "/bin"];

/// A fresh job directory owned by the test's user, mode 755: for a root caller, a directory the
/// sandboxee could only write through the idmapped bind.
pub fn job_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sbx-workload-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create job dir");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod job dir");
    dir
}

/// The program's path inside the sandbox's default PATH, if it is installed there.
pub fn in_sandbox_path(program: &str) -> Option<PathBuf> {
    SANDBOX_PATH
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// Prints why a workload is skipped; returns true when it must be.
pub fn skip_unless_installed(programs: &[&str]) -> bool {
    for p in programs {
        if in_sandbox_path(p).is_none() {
            eprintln!("SKIP: {p} is not installed in {SANDBOX_PATH:?}");
            return true;
        }
    }
    false
}

/// Writes a job file (and its directories).
pub fn write(job: &Path, name: &str, text: &str) {
    let path = job.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write job file");
}

/// `sbx-run FIRST... --walltime 180 --bind-rw JOB:/job --cwd /job --env HOME=/tmp EXTRA... --
/// ARGV...`, stdin empty.
pub fn sbx_run_with(job: &Path, first: &[&str], extra: &[&str], argv: &[&str]) -> Output {
    let mut cmd = Command::new(SBX_RUN);
    cmd.args(first)
        .args(["--walltime", "180", "--bind-rw"])
        .arg(format!("{}:/job", job.display()))
        .args(["--cwd", "/job", "--env", "HOME=/tmp"])
        .args(extra)
        .arg("--")
        .args(argv)
        .stdin(std::process::Stdio::null());
    cmd.output().expect("start sbx-run")
}
