//! Learn → replay on real software (issue 13): for python, node, gcc, git and tar, learning
//! runs (`sbx-run --learn FILE`, more merged in with `--learn-merge`) write a policy file; the same workload replayed under it
//! (`sbx-run --policy FILE`, a fresh job directory) succeeds with the same output; the learned
//! policy may allow fewer syscalls than the default (tool) policy; and another command of the
//! same tool, which needs a syscall the learning run never made, is refused as a violation
//! naming that syscall.
//!
//! Each workload runs in the default view with a job directory bound writable at `/job`, as
//! tests/workloads.rs runs them, under the monitor `SBX_TEST_MONITOR` names. A tool that is not
//! installed is skipped with a printed `SKIP` line.

mod real;

use real::{job_dir, skip_unless_installed, write};
use sbx::policy::bpf::SECCOMP_RET_ALLOW;
use sbx::{Arch, PolicyBuilder};
use std::path::Path;
use std::process::Output;

/// Fixed commit dates: git's hashes, and so its output, are the same in every run.
const GIT_DATES: [&str; 4] = [
    "--env",
    "GIT_AUTHOR_DATE=2020-01-01T00:00:00Z",
    "--env",
    "GIT_COMMITTER_DATE=2020-01-01T00:00:00Z",
];

/// One workload: the files of its job directory, the command learned and replayed, and a
/// command of the same tool that needs more (with the syscall that refuses it).
struct Workload {
    name: &'static str,
    programs: &'static [&'static str],
    files: &'static [(&'static str, &'static str)],
    extra: &'static [&'static str],
    argv: &'static [&'static str],
    /// What the learned command prints (checked in every run).
    want: &'static str,
    /// How many learning runs are merged (`--learn-merge`).
    learn_runs: usize,
    /// Options of the replay beside the learned file (what a user adds after a replay showed
    /// a call the learning runs happened to miss).
    replay_extra: &'static [&'static str],
    more: &'static [&'static str],
    /// The syscall `more` makes that the learned policy does not allow.
    refused: &'static str,
}

/// `sbx-run [--monitor M] --bind-rw JOB:/job ... EXTRA... -- ARGV...`.
fn sbx_run(job: &Path, extra: &[&str], argv: &[&str]) -> Output {
    let monitor = std::env::var("SBX_TEST_MONITOR").ok();
    let first: Vec<&str> = monitor.iter().flat_map(|m| ["--monitor", m.as_str()]).collect();
    real::sbx_run_with(job, &first, extra, argv)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh job directory holding the workload's files.
fn fresh_job(w: &Workload, run: &str) -> std::path::PathBuf {
    let job = job_dir(&format!("learn-{}-{run}", w.name));
    for (name, body) in w.files {
        write(&job, name, body);
    }
    job
}

/// Runs `argv` with `extra` in a fresh job directory; asserts success and `want`; the stdout.
#[track_caller]
fn run_ok(w: &Workload, run: &str, extra: &[&str], argv: &[&str]) -> String {
    let job = fresh_job(w, run);
    let out = sbx_run(&job, &[extra, w.extra].concat(), argv);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success() && stdout.contains(w.want),
        "{}: {run} {argv:?} with {extra:?}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        w.name,
        out.status
    );
    let _ = std::fs::remove_dir_all(&job);
    stdout
}

/// How many native syscalls `pb`'s policy may allow (unconditionally or for some arguments).
fn may_allow(pb: &PolicyBuilder) -> usize {
    let policy = pb.build().unwrap_or_else(|e| panic!("build: {e}"));
    (0..1024u32)
        .filter(|&nr| sbx::policy::syscalls::name(Arch::native(), u64::from(nr)).is_some())
        .filter(|&nr| policy.constant_verdict(nr).map_or(true, |v| v == SECCOMP_RET_ALLOW))
        .count()
}

fn learn_and_replay(w: &Workload) {
    if skip_unless_installed(w.programs) {
        return;
    }
    let dir = job_dir(&format!("learn-{}-policy", w.name));
    let file = dir.join("learned.toml");
    let file_arg = file.display().to_string();

    let learned_out = run_ok(w, "learn", &["--learn", &file_arg], w.argv);
    for i in 1..w.learn_runs {
        let again = run_ok(w, &format!("learn{i}"), &["--learn", &file_arg, "--learn-merge"], w.argv);
        assert_eq!(learned_out, again, "{}: the learning runs differ", w.name);
    }
    let policy = std::fs::read_to_string(&file).expect("the learned policy file");

    let replayed = run_ok(w, "replay", &[&["--policy", &file_arg], w.replay_extra].concat(), w.argv);
    assert_eq!(learned_out, replayed, "{}: the replay printed otherwise\n{policy}", w.name);

    let mut learned = PolicyBuilder::new();
    learned
        .load_rules(&policy, &file_arg)
        .unwrap_or_else(|e| panic!("{e}\n{policy}"));
    let (mine, default) = (may_allow(&learned), may_allow(&sbx::policy::presets::tool_default()));
    eprintln!("{}: the learned policy may allow {mine} syscalls, the default {default}", w.name);
    assert!(mine < default, "{}: {mine} >= {default}\n{policy}", w.name);

    let job = fresh_job(w, "more");
    let out = sbx_run(&job, &[&["--policy", file_arg.as_str()], w.extra].concat(), w.more);
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("SYSCALL VIOLATION")
            && stderr.contains(&format!("] {}(", w.refused)),
        "{}: {:?} should be refused at {}: {}\nstdout:\n{}\nstderr:\n{stderr}\n{policy}",
        w.name,
        w.more,
        w.refused,
        out.status,
        text(&out.stdout)
    );
    for d in [job, dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn python_learned_and_replayed() {
    learn_and_replay(&Workload {
        name: "python",
        programs: &["python3"],
        files: &[(
            "job.py",
            "import hashlib, json, sqlite3\n\
             db = sqlite3.connect('/job/t.db'); db.execute('create table t(x)')\n\
             db.execute('insert into t values (42)'); db.commit()\n\
             print('sqlite', db.execute('select x from t').fetchone()[0])\n\
             print(hashlib.sha256(b'sbx').hexdigest()[:12], json.dumps({'ok': 6 * 7}))\n",
        )],
        extra: &[],
        argv: &["python3", "job.py"],
        want: "sqlite 42",
        learn_runs: 1,
        replay_extra: &[],
        // A network socket: the job made none.
        more: &["python3", "-c", "import _socket; _socket.socket()"],
        refused: "socket",
    });
}

#[test]
fn node_learned_and_replayed() {
    learn_and_replay(&Workload {
        name: "node",
        programs: &["node"],
        files: &[(
            "job.js",
            "const fs = require('fs');\n\
             fs.writeFileSync('/job/out.json', JSON.stringify({ a: 6 * 7 }));\n\
             console.log('node says', JSON.parse(fs.readFileSync('/job/out.json')).a);\n",
        )],
        extra: &[],
        argv: &["node", "job.js"],
        want: "node says 42",
        learn_runs: 2,
        // V8's threads call sched_yield only when they happen to contend (seen in about one
        // learning run in ten on an idle host, in most replays while other tests load it): a
        // call no number of learning runs is sure to see.
        replay_extra: &["--allow", "sched_yield"],
        // A listening socket: the job made none.
        more: &["node", "-e", "require('net').createServer().listen(0)"],
        refused: "socket",
    });
}

#[test]
fn gcc_learned_and_replayed() {
    learn_and_replay(&Workload {
        name: "gcc",
        programs: &["gcc"],
        files: &[(
            "hello.c",
            "#include <stdio.h>\nint main(void) { printf(\"c says %d\\n\", 6 * 7); return 0; }\n",
        )],
        extra: &[],
        argv: &["sh", "-c", "gcc -O1 -o hello hello.c && ls -l hello | cut -c1-10 && echo built"],
        want: "built",
        learn_runs: 1,
        replay_extra: &[],
        // Link-time optimisation: its plugin checks the jobserver's fds with fcntl(F_GETFL), a
        // command the plain compile never used.
        more: &["gcc", "-flto", "-O1", "-o", "hello", "hello.c"],
        refused: "fcntl",
    });
}

#[test]
fn git_learned_and_replayed() {
    learn_and_replay(&Workload {
        name: "git",
        programs: &["git"],
        files: &[],
        extra: &GIT_DATES,
        argv: &[
            "sh",
            "-c",
            "git init -q repo && cd repo && echo hi > f && git add f && \
             git -c user.email=a@example.com -c user.name=a commit -q -m first && git log --oneline",
        ],
        want: "first",
        learn_runs: 1,
        replay_extra: &[],
        more: &[
            "sh",
            "-c",
            "git init -q repo && cd repo && echo hi > f && git add f && \
             git -c user.email=a@example.com -c user.name=a commit -q -m first && git gc -q",
        ],
        // gc's lock file names the host (uname), which the learned commands never asked.
        refused: "uname",
    });
}

#[test]
fn tar_learned_and_replayed() {
    learn_and_replay(&Workload {
        name: "tar",
        programs: &["tar", "gzip"],
        files: &[("in/data.txt", "payload line\npayload line\npayload line\n")],
        extra: &[],
        argv: &[
            "sh",
            "-c",
            "tar -czf /tmp/a.tgz in && mkdir out && tar -xzf /tmp/a.tgz -C out && \
             cmp in/data.txt out/in/data.txt && echo tar ok",
        ],
        want: "tar ok",
        learn_runs: 1,
        replay_extra: &[],
        // Archiving extended attributes lists them (flistxattr).
        more: &["tar", "--xattrs", "-cf", "/tmp/b.tar", "in"],
        refused: "flistxattr",
    });
}

/// The command line around learning: `--errno` is a base whose denial holds in the learning run
/// and is written into the file; `--learn-merge` adds a second run to the file (the first run's
/// calls and the denial stay); the replay of both commands passes under the merged file;
/// `--allow` is refused with `--learn`.
#[test]
fn sbx_run_learns_over_a_base_and_merges_runs() {
    let job = job_dir("learn-cli");
    let file = job.join("merged.toml");
    let f = file.display().to_string();
    // Without the base's errno the rmdir would succeed (the job directory is writable).
    let first = ["sh", "-c", "mkdir -p /job/d && rmdir /job/d 2>/dev/null || echo refused"];
    let second = ["sh", "-c", "uname -s"];
    let run = |extra: &[&str], argv: &[&str]| {
        let out = sbx_run(&job, extra, argv);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{argv:?} {extra:?}: {stdout}\n{}", text(&out.stderr));
        stdout
    };
    assert_eq!(run(&["--learn", &f, "--errno", "rmdir=EACCES"], &first), "refused\n");
    let one = std::fs::read_to_string(&file).expect("learned file");
    assert!(one.contains("syscall = \"rmdir\"\naction = \"errno:13\""), "{one}");
    assert_eq!(run(&["--learn", &f, "--learn-merge"], &second), "Linux\n");
    let both = std::fs::read_to_string(&file).expect("merged file");
    assert!(both.contains("syscall = \"rmdir\"\naction = \"errno:13\""), "{both}");
    for name in ["\"uname\"", "\"wait4\""] {
        assert!(both.contains(name), "{name} missing:\n{both}");
    }
    assert_eq!(run(&["--policy", &f], &first), "refused\n", "{both}");
    assert_eq!(run(&["--policy", &f], &second), "Linux\n", "{both}");
    assert!(job.join("d").is_dir(), "the rmdir ran");
    let out = sbx_run(&job, &["--learn", &f, "--allow", "read"], &second);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&job);
}
