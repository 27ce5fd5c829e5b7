//! `sbx-run --serve [-- COMMAND ARGS...]`: a resident sbx-run that makes other sbx-run
//! processes' runs (`client.rs` has the wire). Its library state stays warm between runs: the
//! supervisor thread, mount templates, pooled network namespaces and cgroups, so a run costs
//! about what a sandbox costs inside a long-lived process, not a fresh process's setup.
//!
//! Trust: the socket is made in a new directory only this user can enter, and its path is given
//! only to COMMAND (as `SBX_RUN_SERVER`), or printed on stdout when there is none. Each client
//! must be this process's equal (`peer.rs`): a sandboxee, or any process more confined than the
//! server, is refused. A run has the client's arguments, environment, working directory (this
//! request's thread takes it with `unshare(CLONE_FS)`) and stdio; what it does not have is the
//! client's own rlimits, cgroup, umask and scheduling: those are the server's.
//!
//! The server ends when COMMAND does (with its status), or, without COMMAND, when its stdin
//! reaches end of file; on SIGINT, SIGTERM or SIGHUP in both cases. Runs still going then end
//! with it (their clients report that the server ended).

use crate::args::{parse_args, Options, Parsed};
use crate::client::{unpack, HELLO, MAX_REQUEST, REFUSED, TAKEN};
use crate::run::{run, Io};
use crate::setup::{build_policy, Built};
use crate::signals::{Signals, Stop, FORWARDED};
use crate::EXIT_SETUP;
use sbx::comms::Comms;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs served at once; a client beyond them runs in its own process.
const MAX_RUNS: usize = 256;

/// Runs taken and clients refused, reported on stderr when the server ends.
static SERVED: AtomicUsize = AtomicUsize::new(0);
static REFUSALS: AtomicUsize = AtomicUsize::new(0);


/// The server's main: set up, warm up, serve until told to stop; the exit status.
pub(crate) fn serve(opts: &Options) -> u8 {
    let signals = match Signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let dir = match private_dir() {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let socket = dir.join("sock");
    let code = match UnixListener::bind(&socket) {
        Ok(listener) => match warm_up() {
            Ok(()) => serve_until_done(listener, &socket, &opts.program, &signals),
            Err(e) => fail(&e),
        },
        Err(e) => fail(&format!("{}: {e}", socket.display())),
    };
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_dir(&dir);
    sbx::cgroups::release();
    eprintln!(
        "sbx-run --serve: served {} runs, refused {} clients",
        SERVED.load(Ordering::SeqCst),
        REFUSALS.load(Ordering::SeqCst)
    );
    code
}

fn fail(msg: &str) -> u8 {
    eprintln!("sbx-run --serve: error: {msg}");
    EXIT_SETUP
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
        let stdio = [null(), null(), null()];
        let [Ok(i), Ok(o), Ok(e)] = stdio else {
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
    socket: &Path,
    command: &[String],
    signals: &Signals,
) -> u8 {
    let (end_rx, end_tx) = match UnixStream::pair() {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    if let Some(program) = command.first() {
        let child = std::process::Command::new(program)
            .args(&command[1..])
            .env(crate::client::SERVER_VAR, socket)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => return fail(&format!("{program}: {e}")),
        };
        let spawned = std::thread::Builder::new()
            .name("sbx-run-command".into())
            .spawn(move || {
                let status = child.wait().ok().and_then(|s| {
                    use std::os::unix::process::ExitStatusExt;
                    s.code().or_else(|| s.signal().map(|n| 128 + n))
                });
                let code = u8::try_from(status.unwrap_or(i32::from(EXIT_SETUP))).unwrap_or(1);
                let _ = (&end_tx).write_all(&[code]);
            });
        if let Err(e) = spawned {
            return fail(&e.to_string());
        }
    } else {
        println!("{}={}", crate::client::SERVER_VAR, socket.display());
        let _ = std::io::stdout().flush();
        let spawned = std::thread::Builder::new()
            .name("sbx-run-stdin".into())
            .spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
                let _ = (&end_tx).write_all(&[0]);
            });
        if let Err(e) = spawned {
            return fail(&e.to_string());
        }
    }
    let accepting = std::thread::Builder::new()
        .name("sbx-run-accept".into())
        .spawn(move || accept_loop(&listener));
    if let Err(e) = accepting {
        return fail(&e.to_string());
    }
    wait_for_end(&end_rx, signals)
}

/// The exit status once the end comes.
fn wait_for_end(end: &UnixStream, signals: &Signals) -> u8 {
    loop {
        let mut fds = [end.as_raw_fd(), signals.fd()].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        if crate::signals::poll(&mut fds).is_err() {
            return EXIT_SETUP;
        }
        if fds[1].revents != 0 {
            if let Some(sig) = signals.take() {
                return crate::run::signal_status(sig);
            }
        }
        if fds[0].revents != 0 {
            let mut code = [EXIT_SETUP];
            let _ = std::io::Read::read(&mut &*end, &mut code);
            return code[0];
        }
    }
}

fn accept_loop(listener: &UnixListener) {
    let running = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(conn) = conn else {
            std::thread::sleep(Duration::from_millis(10)); // EMFILE and the like: try again
            continue;
        };
        if running.fetch_add(1, Ordering::SeqCst) >= MAX_RUNS {
            running.fetch_sub(1, Ordering::SeqCst);
            refuse(&mut Comms::from_fd(conn.into()), "the server is at its limit of runs");
            continue;
        }
        let count = Arc::clone(&running);
        let spawned = std::thread::Builder::new()
            .name("sbx-run-request".into())
            .spawn(move || {
                serve_one(conn);
                count.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            running.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Tells the client why (it then runs in its own process) and says so on stderr.
fn refuse(c: &mut Comms, why: &str) {
    REFUSALS.fetch_add(1, Ordering::SeqCst);
    eprintln!("sbx-run --serve: refused a client: {why}");
    let _ = c.send_u32(REFUSED).and_then(|()| c.send_string(why));
}

/// One client's run, on its own thread.
fn serve_one(conn: UnixStream) {
    let mut c = Comms::from_fd(conn.into());
    // A client that stalls mid-request does not hold the thread for long.
    let _ = c.set_timeout(Some(Duration::from_secs(10)));
    // The whole request is read before any refusal, so that the client reads the reason
    // rather than a reset connection.
    let request = read_request(&mut c).and_then(|wire| {
        crate::peer::check_equal(c.as_raw_fd())?;
        prepare(wire)
    });
    let (opts, env, stdio, key) = match request {
        Ok(r) => r,
        Err(why) => return refuse(&mut c, &why),
    };
    let built = policy_for(&opts, key);
    if c.send_u32(TAKEN).is_err() {
        return;
    }
    SERVED.fetch_add(1, Ordering::SeqCst);
    let [i, o, e] = stdio;
    let mut report = match e.try_clone() {
        Ok(fd) => std::fs::File::from(fd),
        Err(_) => return,
    };
    let stop = Connection {
        comms: std::cell::RefCell::new(&mut c),
        gone: std::cell::Cell::new(false),
    };
    let io = Io {
        stdio: Some([i, o, e]),
        report: &mut report,
    };
    let done = run(&opts, built, &env, &stop, io);
    let _ = c.send_u32(u32::from(done.code));
}

type Request = (Box<Options>, Vec<(String, String)>, [OwnedFd; 3], PolicyKey);

/// What a run's policy is made from: the arguments up to the program (its own arguments do not
/// change the policy) and the working directory (device, inode) they are relative to.
type PolicyKey = (Vec<String>, u64, u64);

/// Policies made for earlier runs, so that a run with the same options does not compile its
/// filter again. Bounded: cleared when full.
static POLICIES: Mutex<Option<HashMap<PolicyKey, Arc<Built>>>> = Mutex::new(None);
const CACHED_POLICIES: usize = 64;

/// The policy of `opts`: cached, unless it comes from files that may change between runs
/// (`--policy`, `--seccomp-profile`) or is a learning run's.
fn policy_for(opts: &Options, key: PolicyKey) -> Result<Arc<Built>, String> {
    let cacheable = opts.policy_file.is_none() && opts.seccomp_profile.is_none() && opts.learn.is_none();
    let lock = || POLICIES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if cacheable {
        if let Some(b) = lock().as_ref().and_then(|m| m.get(&key)) {
            return Ok(Arc::clone(b));
        }
    }
    let built = Arc::new(build_policy(opts)?);
    if cacheable {
        let mut guard = lock();
        let map = guard.get_or_insert_with(HashMap::new);
        if map.len() >= CACHED_POLICIES {
            map.clear();
        }
        map.insert(key, Arc::clone(&built));
    }
    Ok(built)
}

/// A request as it came: arguments, environment, stdio and working directory.
struct Wire {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdio: [OwnedFd; 3],
    cwd: OwnedFd,
}

/// Reads a client's request (bounded in size).
fn read_request(c: &mut Comms) -> Result<Wire, String> {
    let wire = |e: sbx::comms::CommsError| format!("reading the request: {e}");
    let hello = c.recv_string().map_err(wire)?;
    if hello != HELLO {
        return Err(format!("the server is {HELLO}, the client {hello}"));
    }
    // The lists' bound is the channel's: a longer message fails the read.
    c.set_max_message_size(MAX_REQUEST as u64);
    let args = unpack(&c.recv_bytes().map_err(wire)?)?;
    let env = unpack(&c.recv_bytes().map_err(wire)?)?
        .into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let mut fds = Vec::with_capacity(4);
    for _ in 0..4 {
        fds.push(c.recv_fd().map_err(wire)?);
    }
    let cwd = fds.pop().ok_or("no working directory")?;
    let stdio: [OwnedFd; 3] = fds.try_into().map_err(|_| "no stdio".to_string())?;
    Ok(Wire {
        args,
        env,
        stdio,
        cwd,
    })
}

/// The run a request asks for, with this thread moved into the client's working directory;
/// the reason when it is not one to run here (the client then runs it itself, and reports any
/// error in its options the way it always does).
fn prepare(w: Wire) -> Result<Request, String> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS)
        .and_then(|()| nix::unistd::fchdir(w.cwd.as_raw_fd()))
        .map_err(|e| format!("taking the client's working directory: {e}"))?;
    let cwd = nix::sys::stat::fstat(w.cwd.as_raw_fd())
        .map_err(|e| format!("the client's working directory: {e}"))?;
    let mut key_args = w.args.clone();
    match parse_args(w.args) {
        Ok(Parsed::Run(o)) if !(o.serve || o.check || o.dump_policy || o.dump_policy_file) => {
            key_args.truncate(key_args.len() + 1 - o.program.len().max(1));
            Ok((o, w.env, w.stdio, (key_args, cwd.st_dev, cwd.st_ino)))
        }
        Ok(_) => Err("not a run".into()),
        Err(e) => Err(e),
    }
}

/// A run's stop: the client's connection, which carries the signals the client got; its end
/// (the client is gone) kills the run too.
struct Connection<'r> {
    comms: std::cell::RefCell<&'r mut Comms>,
    gone: std::cell::Cell<bool>,
}

impl Stop for Connection<'_> {
    fn fd(&self) -> RawFd {
        // Once the client is gone there is nothing more to read: the run's end is waited for
        // alone.
        if self.gone.get() {
            -1
        } else {
            self.comms.borrow().as_raw_fd()
        }
    }

    fn take(&self) -> Option<i32> {
        if self.gone.get() || !readable(self.comms.borrow().as_raw_fd()) {
            return None;
        }
        let Ok(sig) = self.comms.borrow_mut().recv_u32() else {
            self.gone.set(true);
            return Some(libc::SIGHUP);
        };
        Some(
            i32::try_from(sig)
                .ok()
                .filter(|s| FORWARDED.contains(s))
                .unwrap_or(libc::SIGTERM),
        )
    }
}

/// Whether `fd` has something to read (or its end) right now.
fn readable(fd: RawFd) -> bool {
    let mut p = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    crate::signals::poll_for(&mut p, 0).is_ok() && p[0].revents != 0
}
