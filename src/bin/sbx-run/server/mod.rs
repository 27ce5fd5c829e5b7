//! `sbx-run --serve [-- COMMAND ARGS...]`: a resident sbx-run that makes other sbx-run
//! processes' runs (`client.rs` has the wire). Its library state stays warm between runs: the
//! supervisor thread, mount templates, pooled network namespaces and cgroups, compiled
//! policies; so a run costs about what a sandbox costs inside a long-lived process, not a fresh
//! process's setup.
//!
//! Trust: the socket is made in a new directory only this user can enter; its path and a random
//! token are given only to COMMAND (as `SBX_RUN_SERVER`), or printed on stdout when there is
//! none. A client must know the token and be this process's equal (`peer.rs`); a sandboxee, or
//! any process more confined than the server in a way /proc shows, is refused even with the
//! token. A run has the client's arguments, environment, working directory (the request's
//! thread takes it with `unshare(CLONE_FS)`) and stdio; not the client's own rlimits, cgroup
//! and umask: those are the server's.
//!
//! The server ends when COMMAND does (with its status), or, without COMMAND, when its stdin
//! reaches end of file. On SIGINT, SIGTERM or SIGHUP it kills the runs (their clients end with
//! 128+signal, as if they had got it), passes the signal to COMMAND and waits for it (at most
//! [`COMMAND_GRACE`]), and ends with 128+signal.

mod request;
mod workers;

use crate::args::{parse_args, Options, Parsed};
use crate::run::{run, Io};
use crate::setup::build_policy;
use crate::signals::{pidfd_of_child, pidfd_signal, Signals, Stop};
use crate::EXIT_SETUP;
use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Runs served at once; a client beyond them runs in its own process.
const MAX_RUNS: usize = 256;

/// How long a signalled server waits for its runs to end, and for COMMAND.
const RUNS_GRACE: Duration = Duration::from_secs(5);
const COMMAND_GRACE: Duration = Duration::from_secs(10);

/// Runs taken, clients refused, and runs going on now.
static SERVED: AtomicUsize = AtomicUsize::new(0);
static REFUSALS: AtomicUsize = AtomicUsize::new(0);
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The signal that ends the server (0: none yet), and the pipe whose write end it closes so
/// that every run's wait wakes up ([`Shutdown`]).
static ENDING: AtomicI32 = AtomicI32::new(0);
static SHUTDOWN: OnceLock<(OwnedFd, Mutex<Option<OwnedFd>>)> = OnceLock::new();

/// The server's main: set up, warm up, serve until told to stop; the exit status.
pub(crate) fn serve(opts: &Options) -> u8 {
    let signals = match Signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if let Err(e) = self_check() {
        return fail(&e);
    }
    match nix::unistd::pipe() {
        Ok((r, w)) => {
            let _ = SHUTDOWN.set((r, Mutex::new(Some(w))));
        }
        Err(e) => return fail(&format!("pipe: {e}")),
    }
    let dir = match private_dir() {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let socket = dir.join("sock");
    let code = match (UnixListener::bind(&socket), token()) {
        (Ok(listener), Ok(token)) => match warm_up() {
            Ok(()) => {
                let address = format!("{token}:{}", socket.display());
                serve_until_done(listener, token, &address, &opts.program, &signals)
            }
            Err(e) => fail(&e),
        },
        (Err(e), _) => fail(&format!("{}: {e}", socket.display())),
        (_, Err(e)) => fail(&e),
    };
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_dir(&dir);
    sbx::cgroups::release();
    say(&format!(
        "served {} runs, refused {} clients",
        SERVED.load(Ordering::SeqCst),
        REFUSALS.load(Ordering::SeqCst)
    ));
    code
}

/// A line on the server's stderr (nothing if it is closed).
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "sbx-run --serve: {msg}");
}

fn fail(msg: &str) -> u8 {
    say(&format!("error: {msg}"));
    EXIT_SETUP
}

/// Whether a peer can be checked here at all (`SO_PEERPIDFD`, Linux 6.5): without it every
/// client would be refused.
fn self_check() -> Result<(), String> {
    let (a, _b) = UnixStream::pair().map_err(|e| e.to_string())?;
    crate::peer::check_equal(a.as_raw_fd())
        .map_err(|e| format!("clients cannot be checked here (Linux 6.5 or later needed): {e}"))
}

/// 128 random bits, hex: what a client must present.
fn token() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

/// A new directory that only this user can enter, under `$XDG_RUNTIME_DIR` or the temporary
/// directory.
fn private_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    for attempt in 0..16u32 {
        let dir = base.join(format!("sbx-run.{}.{:x}", std::process::id(), stamp ^ attempt));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        }
    }
    Err(format!("no new directory could be made in {}", base.display()))
}

/// Two runs of `true` from the main thread: they check that sandboxes run here at all, start
/// the library's threads from this thread (not from a request's, whose working directory is a
/// client's) and ask for the default view's mount template.
fn warm_up() -> Result<(), String> {
    for _ in 0..2 {
        let Ok(Parsed::Run(opts)) = parse_args(vec!["--".into(), "true".into()]) else {
            return Err("the warm-up run's options".into());
        };
        let null = || std::fs::File::open("/dev/null").map(OwnedFd::from);
        let [Ok(i), Ok(o), Ok(e)] = [null(), null(), null()] else {
            return Err("/dev/null cannot be opened".into());
        };
        let mut report = Vec::new();
        let io = Io {
            stdio: Some([i, o, e]),
            report: &mut report,
        };
        let built = build_policy(&opts).map(Arc::new);
        let done = run(&opts, built, &crate::setup::own_env(), &Never, io);
        if done.code != 0 {
            return Err(format!(
                "sandboxes do not run here (a warm-up run of `true` ended with {}): {}",
                done.code,
                String::from_utf8_lossy(&report).trim()
            ));
        }
    }
    Ok(())
}

/// A stop that never comes.
struct Never;

impl Stop for Never {
    fn fd(&self) -> RawFd {
        -1
    }
    fn take(&self) -> Option<i32> {
        None
    }
}

/// Accepts clients on a thread of its own while this thread waits for the end: COMMAND's exit,
/// stdin's end of file without COMMAND, or a signal.
fn serve_until_done(
    listener: UnixListener,
    token: String,
    address: &str,
    command: &[String],
    signals: &Signals,
) -> u8 {
    let (end_rx, end_tx) = match UnixStream::pair() {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let command = match start_command(command, address, end_tx) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let accepting = std::thread::Builder::new()
        .name("sbx-run-accept".into())
        .spawn(move || accept_loop(&listener, &token));
    if let Err(e) = accepting {
        return fail(&e.to_string());
    }
    match wait_for_end(&end_rx, signals) {
        End::Done(code) => code,
        End::Signal(sig) => shut_down(sig, command.as_ref(), &end_rx),
    }
}

/// Starts COMMAND with the server's address (its pidfd), or, without one, prints the address
/// and watches stdin; either ends by writing to `end`.
fn start_command(command: &[String], address: &str, end: UnixStream) -> Result<Option<OwnedFd>, String> {
    let Some(program) = command.first() else {
        let mut out = std::io::stdout();
        writeln!(out, "{}={address}", crate::client::SERVER_VAR)
            .and_then(|()| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
        std::thread::Builder::new()
            .name("sbx-run-stdin".into())
            .spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
                let _ = (&end).write_all(&[0]);
            })
            .map_err(|e| e.to_string())?;
        return Ok(None);
    };
    let mut child = std::process::Command::new(program)
        .args(&command[1..])
        .env(crate::client::SERVER_VAR, address)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    // Taken before anything waits for the child: the pid is still its own.
    let pidfd = pidfd_of_child(child.id()).ok();
    std::thread::Builder::new()
        .name("sbx-run-command".into())
        .spawn(move || {
            let status = child.wait().ok().and_then(|s| {
                use std::os::unix::process::ExitStatusExt;
                s.code().or_else(|| s.signal().map(|n| 128 + n))
            });
            let code = u8::try_from(status.unwrap_or(i32::from(EXIT_SETUP))).unwrap_or(1);
            let _ = (&end).write_all(&[code]);
        })
        .map_err(|e| e.to_string())?;
    Ok(pidfd)
}

enum End {
    /// COMMAND's exit status, or 0 at stdin's end.
    Done(u8),
    Signal(i32),
}

fn wait_for_end(end: &UnixStream, signals: &Signals) -> End {
    loop {
        let Ok([ended, signalled]) = crate::signals::ready([end.as_raw_fd(), signals.fd()], -1)
        else {
            return End::Done(EXIT_SETUP);
        };
        if signalled {
            if let Some(sig) = signals.take() {
                return End::Signal(sig);
            }
        }
        if ended {
            return End::Done(read_code(end, Duration::ZERO).unwrap_or(EXIT_SETUP));
        }
    }
}

/// The exit status written to `end`, waiting at most `wait` for it.
fn read_code(end: &UnixStream, wait: Duration) -> Option<u8> {
    let _ = end.set_read_timeout((!wait.is_zero()).then_some(wait));
    let mut code = [0];
    matches!(std::io::Read::read(&mut &*end, &mut code), Ok(1)).then_some(code[0])
}

/// After `sig`: ends every run (each client is told 128+sig), passes `sig` to COMMAND and waits
/// for it, each within its grace time.
fn shut_down(sig: i32, command: Option<&OwnedFd>, end: &UnixStream) -> u8 {
    ENDING.store(sig, Ordering::SeqCst);
    if let Some((_, write_end)) = SHUTDOWN.get() {
        drop(write_end.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
    }
    if let Some(pidfd) = command {
        let _ = pidfd_signal(pidfd, sig);
    }
    let deadline = Instant::now() + RUNS_GRACE;
    while RUNNING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if command.is_some() && read_code(end, COMMAND_GRACE).is_none() {
        say("COMMAND did not end after the signal; leaving it");
    }
    crate::run::signal_status(sig)
}

/// The read end of the shutdown pipe: at end of file once the server ends (-1 before it is
/// made).
fn shutdown_fd() -> RawFd {
    SHUTDOWN.get().map_or(-1, |(r, _)| r.as_raw_fd())
}

fn accept_loop(listener: &UnixListener, token: &str) {
    let workers = workers::Workers::new(token);
    for conn in listener.incoming() {
        let Ok(conn) = conn else {
            std::thread::sleep(Duration::from_millis(10)); // EMFILE and the like: try again
            continue;
        };
        let Some(slot) = Slot::take() else {
            request::refuse(conn, "the server is at its limit of runs");
            continue;
        };
        workers.serve(conn, slot);
    }
}

/// One of [`MAX_RUNS`], given back when dropped (also when a request thread panics or cannot
/// be made).
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        if RUNNING.fetch_add(1, Ordering::SeqCst) >= MAX_RUNS {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}
