//! Real software under `sbx-run`'s embedded default policy and view: the programs people
//! sandbox (runtimes, compilers, build tools, archivers, shells), each in a job directory bound
//! writable at `/job`, as the invoking user (root here; uid 65534 through
//! `tests/run-unprivileged.sh`).
//!
//! A workload whose program is not installed (or, for an unprivileged user, not readable) is
//! skipped with a printed `SKIP` line naming the reason; everything else must succeed and print
//! what it computed. Options beyond the default are named where a workload needs them:
//! `--allow-write-exec` to run what a compiler just wrote, `--bind` for toolchains outside the
//! default view (Go under /usr/local/go, a rustup toolchain).

// Test harness: raw syscalls, fds and capabilities of the test process itself.
#![allow(unsafe_code)]

mod real;

use real::{job_dir, skip_unless_installed, write, SBX_RUN};
use std::process::Output;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;


/// `sbx-run --bind-rw JOB:/job --cwd /job --env HOME=/tmp EXTRA... -- ARGV...`.
fn sbx_run(job: &Path, extra: &[&str], argv: &[&str]) -> Output {
    real::sbx_run_with(job, &[], extra, argv)
}

/// Runs and asserts success and that stdout contains `want`.
#[track_caller]
fn expect(job: &Path, extra: &[&str], argv: &[&str], want: &str) -> String {
    let out = sbx_run(job, extra, argv);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(want),
        "{argv:?} with {extra:?}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

/// The written file must be the job directory owner's, as the caller expects.
#[track_caller]
fn assert_owned_like_job(job: &Path, name: &str) {
    let dir = std::fs::metadata(job).expect("stat job");
    let file = std::fs::metadata(job.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        (file.uid(), file.gid()),
        (dir.uid(), dir.gid()),
        "{name} should belong to the job directory's owner"
    );
}

#[test]
fn node_eval_and_worker_threads() {
    if skip_unless_installed(&["node"]) {
        return;
    }
    let job = job_dir("node");
    expect(&job, &[], &["node", "-e", "console.log(1+1)"], "2");
    write(
        &job,
        "w.js",
        "const { Worker, isMainThread, parentPort } = require('worker_threads');\n\
         if (isMainThread) { new Worker(__filename).on('message', m => console.log('worker says', m)); }\n\
         else parentPort.postMessage(6 * 7);\n",
    );
    expect(&job, &[], &["node", "w.js"], "worker says 42");
}

#[test]
fn java_version_and_javac() {
    if skip_unless_installed(&["java", "javac"]) {
        return;
    }
    let job = job_dir("java");
    let out = sbx_run(&job, &[], &["java", "-version"]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stderr).contains("version"),
        "java -version: {out:?}"
    );
    write(
        &job,
        "Hello.java",
        "public class Hello { public static void main(String[] a) { System.out.println(\"java says \" + (6 * 7)); } }\n",
    );
    expect(
        &job,
        &[],
        &["javac", "-d", "/job/classes", "Hello.java"],
        "",
    );
    assert_owned_like_job(&job, "classes/Hello.class");
    expect(
        &job,
        &[],
        &["java", "-cp", "/job/classes", "Hello"],
        "java says 42",
    );
}

#[test]
fn python_stdlib_sqlite_multiprocessing_asyncio() {
    if skip_unless_installed(&["python3"]) {
        return;
    }
    let job = job_dir("python");
    write(
        &job,
        "job.py",
        "import asyncio, concurrent.futures, json, multiprocessing, sqlite3\n\
         with concurrent.futures.ProcessPoolExecutor(2) as ex:\n    print('pool', sum(ex.map(abs, range(100))))\n\
         q = multiprocessing.Queue(); p = multiprocessing.Process(target=q.put, args=(7,)); p.start(); print('queue', q.get()); p.join()\n\
         db = sqlite3.connect('/job/t.db'); db.execute('create table t(x)'); db.execute('insert into t values (42)'); db.commit()\n\
         print('sqlite', db.execute('select x from t').fetchone()[0])\n\
         async def main():\n    await asyncio.sleep(0.01)\n    return 5\n\
         print('asyncio', asyncio.run(main()), json.dumps({'ok': True}))\n",
    );
    let out = expect(&job, &[], &["python3", "job.py"], "pool 4950");
    for want in ["queue 7", "sqlite 42", "asyncio 5 {\"ok\": true}"] {
        assert!(out.contains(want), "missing {want:?} in {out}");
    }
    assert_owned_like_job(&job, "t.db");
}

#[test]
fn python_venv() {
    if skip_unless_installed(&["python3"]) {
        return;
    }
    let job = job_dir("venv");
    let script =
        "python3 -m venv /tmp/venv && /tmp/venv/bin/python -c 'import sys; print(sys.prefix)'";
    expect(&job, &[], &["sh", "-c", script], "/tmp/venv");
}

#[test]
fn gcc_and_gxx_compile_into_the_bind_and_run() {
    if skip_unless_installed(&["gcc", "g++"]) {
        return;
    }
    let job = job_dir("gcc");
    write(
        &job,
        "hello.c",
        "#include <stdio.h>\nint main(void) { printf(\"c says %d\\n\", 6 * 7); return 0; }\n",
    );
    write(
        &job,
        "hello.cc",
        "#include <iostream>\n#include <vector>\nint main() { std::vector<int> v{6, 7}; std::cout << \"c++ says \" << v[0] * v[1] << std::endl; }\n",
    );
    expect(&job, &[], &["gcc", "-O1", "-o", "hello-c", "hello.c"], "");
    expect(&job, &[], &["g++", "-O1", "-o", "hello-cc", "hello.cc"], "");
    assert_owned_like_job(&job, "hello-c");
    // Writable mounts are noexec by default; running a fresh build needs the option.
    let out = sbx_run(&job, &[], &["/job/hello-c"]);
    assert!(
        !out.status.success(),
        "a writable bind must be noexec by default: {out:?}"
    );
    expect(
        &job,
        &["--allow-write-exec"],
        &["/job/hello-c"],
        "c says 42",
    );
    expect(
        &job,
        &["--allow-write-exec"],
        &["/job/hello-cc"],
        "c++ says 42",
    );
}

#[test]
fn go_build_with_usr_local_go() {
    let goroot = Path::new("/usr/local/go");
    if !goroot.join("bin/go").is_file() {
        eprintln!("SKIP: Go is not installed at /usr/local/go");
        return;
    }
    let job = job_dir("go");
    write(&job, "go.mod", "module example.com/hello\n\ngo 1.21\n");
    write(
        &job,
        "main.go",
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"go says\", 6*7) }\n",
    );
    let go_env = [
        "--bind",
        "/usr/local/go",
        "--env",
        "PATH=/usr/local/go/bin:/usr/bin:/bin",
        "--env",
        "GOCACHE=/tmp/go-cache",
        "--env",
        "GOPATH=/tmp/go",
        "--env",
        "GOTOOLCHAIN=local",
        "--env",
        "GOFLAGS=-mod=mod",
        "--allow-write-exec",
    ];
    expect(
        &job,
        &go_env,
        &["sh", "-c", "go build -o /job/hello . && /job/hello"],
        "go says 42",
    );
    assert_owned_like_job(&job, "hello");
}

#[test]
fn rustc_compile_and_run() {
    // The toolchain is wherever rustup put it (often under /root, unreadable for other users).
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let Some(sysroot) = sysroot.filter(|s| s.join("bin/rustc").is_file()) else {
        eprintln!("SKIP: no rustc toolchain readable by this user (rustc --print sysroot)");
        return;
    };
    let job = job_dir("rustc");
    write(
        &job,
        "hello.rs",
        "fn main() { println!(\"rust says {}\", 6 * 7); }\n",
    );
    let bind = format!("{}:/opt/rust", sysroot.display());
    let extra = ["--bind", bind.as_str(), "--allow-write-exec"];
    expect(
        &job,
        &extra,
        &[
            "sh",
            "-c",
            "/opt/rust/bin/rustc -o /job/hello hello.rs && /job/hello",
        ],
        "rust says 42",
    );
}

#[test]
fn git_init_commit_log() {
    if skip_unless_installed(&["git"]) {
        return;
    }
    let job = job_dir("git");
    let script = "git init -q repo && cd repo && echo hi > f && git add f && \
                  git -c user.email=a@example.com -c user.name=a commit -q -m first && git log --oneline";
    expect(&job, &[], &["sh", "-c", script], "first");
}

#[test]
fn sqlite3_cli() {
    if skip_unless_installed(&["sqlite3"]) {
        return;
    }
    let job = job_dir("sqlite3");
    let sql = "create table t(x); insert into t values (6), (7); select x * (select x from t where x = 7) from t where x = 6;";
    expect(&job, &[], &["sqlite3", "/job/db.sqlite", sql], "42");
}

#[test]
fn tar_with_xz_zstd_gzip_round_trip() {
    if skip_unless_installed(&["tar", "gzip", "xz", "zstd"]) {
        return;
    }
    let job = job_dir("tar");
    write(&job, "in/data.txt", &"payload line\n".repeat(1000));
    let script = "for z in gzip xz zstd; do tar -cf - in | $z -c > /tmp/a.$z && \
                  mkdir -p out-$z && $z -dc < /tmp/a.$z | tar -xf - -C out-$z && \
                  cmp in/data.txt out-$z/in/data.txt && echo $z ok; done";
    let out = expect(&job, &[], &["sh", "-c", script], "gzip ok");
    assert!(out.contains("xz ok") && out.contains("zstd ok"), "{out}");
}

#[test]
fn perl_and_make() {
    if skip_unless_installed(&["perl", "make"]) {
        return;
    }
    let job = job_dir("make");
    expect(
        &job,
        &[],
        &["perl", "-e", "my %h = (a => 6); print $h{a} * 7, qq(\\n)"],
        "42",
    );
    write(
        &job,
        "Makefile",
        "all: out.txt\n\nout.txt: in.txt\n\tsort -n in.txt > out.txt\n\techo made\n",
    );
    write(&job, "in.txt", "3\n1\n2\n");
    expect(&job, &[], &["make"], "made");
    assert_eq!(
        std::fs::read_to_string(job.join("out.txt")).unwrap(),
        "1\n2\n3\n"
    );
}

#[test]
fn shell_pipelines_subshells_and_parallel_xargs() {
    let job = job_dir("shell");
    let script =
        "seq 1 100 | sort -rn | awk '{ s += $1 } END { print \"sum\", s }' | sed 's/sum/total/'; \
                  (cd /tmp && echo \"sub $(pwd)\"); \
                  seq 1 20 | xargs -P 4 -n 1 sh -c 'echo $(($0 * 2))' | sort -n | tail -n 1";
    let out = expect(&job, &[], &["sh", "-c", script], "total 5050");
    assert!(
        out.contains("sub /tmp") && out.trim_end().ends_with("40"),
        "{out}"
    );
}

/// What ordinary programs expect of /etc, /dev and /proc, and what the view withholds.
#[test]
fn etc_dev_and_proc_as_programs_expect() {
    let job = job_dir("view");
    let script = "test -r /etc/passwd && echo passwd ok; \
                  cat /etc/shadow 2>/dev/null || echo shadow withheld; \
                  cat /etc/machine-id 2>/dev/null || echo machine-id withheld; \
                  ls /etc/ssl/private 2>/dev/null || echo ssl private withheld; \
                  echo x > /dev/shm/probe && echo shm ok; \
                  test -e /dev/fd/1 && test -e /dev/stdout && echo dev fd ok; \
                  grep -q '^Seccomp:.2' /proc/self/status && ls /proc/self/fd >/dev/null && \
                  readlink /proc/self/exe >/dev/null && echo proc self ok";
    let out = expect(&job, &[], &["sh", "-c", script], "passwd ok");
    for want in [
        "shadow withheld",
        "machine-id withheld",
        "ssl private withheld",
        "shm ok",
        "dev fd ok",
        "proc self ok",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // Each sandbox has its own /dev/shm: the file written above is gone in the next one.
    expect(&job, &[], &["sh", "-c", "ls -A /dev/shm | wc -l"], "0");
}

/// Set-id bits cannot be planted through a writable bind (for a root caller its files land as
/// their host owner, root included).
#[test]
fn writable_bind_refuses_set_id_bits() {
    let job = job_dir("setid");
    write(&job, "tool", "#!/bin/sh\n");
    let out = sbx_run(
        &job,
        &[],
        &[
            "sh",
            "-c",
            "chmod 4755 tool; chmod 2755 tool; chmod 755 tool && echo plain ok",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("plain ok"),
        "{out:?}"
    );
    let mode = std::fs::metadata(job.join("tool")).unwrap().mode();
    assert_eq!(mode & 0o7777, 0o755, "mode {mode:o}");
    assert_owned_like_job(&job, "tool");
}

/// A writable bind that cannot be idmapped (procfs has no idmap support) fails the start with
/// an error naming the path and the fix, instead of a silently read-only bind. Only a root
/// caller's writable binds are idmapped; an unprivileged caller's sandboxee already is its uid.
#[test]
fn writable_bind_without_idmap_support_is_a_clear_error() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP: only a root caller's writable binds are idmapped");
        return;
    }
    let job = job_dir("noidmap");
    let out = sbx_run(&job, &["--bind-rw", "/proc/driver:/x"], &["true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("/proc/driver") && stderr.contains("idmapped"),
        "the error must name the path and the mechanism: {stderr}"
    );
}

/// `--tty`: the sandbox's own pseudo-terminals (`/dev/pts`, `/dev/ptmx`) and the ioctls that
/// drive them; TIOCSTI (typing into a terminal) stays refused. Without it there is no ptmx.
#[test]
fn pseudo_terminals_with_tty_option() {
    if skip_unless_installed(&["python3", "script"]) {
        return;
    }
    let job = job_dir("tty");
    write(
        &job,
        "ptyjob.py",
        "import errno, fcntl, os, pty, termios\n\
         pid, fd = pty.fork()\n\
         if pid == 0:\n    os.execv('/usr/bin/tty', ['tty'])\n\
         print('child on', os.read(fd, 100).decode().strip())\n\
         os.waitpid(pid, 0)\n\
         m, s = os.openpty()\n\
         try:\n    fcntl.ioctl(s, termios.TIOCSTI, b'x')\n    print('TIOCSTI allowed')\n\
         except OSError as e:\n    print('TIOCSTI refused', errno.errorcode[e.errno])\n",
    );
    let out = expect(&job, &["--tty"], &["python3", "ptyjob.py"], "child on /dev/pts/0");
    assert!(out.contains("TIOCSTI refused ENOTTY"), "{out}");
    expect(&job, &["--tty"], &["script", "-qc", "echo in-script; tty", "/dev/null"], "/dev/pts/");
    let out = expect(&job, &[], &["sh", "-c", "test -e /dev/ptmx || echo no ptmx"], "no ptmx");
    assert!(!out.contains("/dev/pts/"), "{out}");
}

/// A root caller without CAP_SYS_ADMIN (a container's root with the runtime's default
/// capabilities) cannot idmap: its writable binds stay plain binds, writable only where the
/// host's permissions let the sandbox's own host id write, and the result says so.
#[test]
fn root_without_sys_admin_degrades_idmapped_binds_visibly() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/setpriv").is_file() {
        eprintln!("SKIP: needs root and setpriv (to drop CAP_SYS_ADMIN)");
        return;
    }
    let job = job_dir("nosysadmin");
    let out = Command::new("/usr/bin/setpriv")
        .args(["--bounding-set=-sys_admin", "--inh-caps=-sys_admin", SBX_RUN, "--json", "--bind-rw"])
        .arg(format!("{}:/job", job.display()))
        .args(["--", "sh", "-c", "touch /job/f 2>/dev/null && echo wrote || echo refused"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run setpriv");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("\"degraded\":[\"idmapped_binds\"]"), "{stderr}");
    // The job directory is root's, mode 755: the sandbox's own host id may not write there.
    assert!(stdout.contains("refused"), "{stdout}");
}
