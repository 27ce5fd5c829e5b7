//! One client's request, on a thread of its own: check the peer, read the request, take the
//! client's working directory, answer TAKEN or REFUSED, run, send the exit status.

use super::{say, shutdown_fd, ENDING, REFUSALS, SERVED};
use crate::args::{parse_args, Options, Parsed};
use crate::client::{unpack, HELLO, MAX_REQUEST, REFUSED, TAKEN};
use crate::run::{run, Io};
use crate::setup::{build_policy, Built};
use crate::signals::{Stop, FORWARDED};
use sbx::comms::Comms;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one read of a request may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Tells the client why (it then runs in its own process) and says so on stderr.
pub(super) fn refuse(conn: UnixStream, why: &str) {
    refuse_on(&mut Comms::from_fd(conn.into()), why);
}

fn refuse_on(c: &mut Comms, why: &str) {
    REFUSALS.fetch_add(1, Ordering::SeqCst);
    say(&format!("refused a client: {why}"));
    let _ = c.send_u32(REFUSED).and_then(|()| c.send_string(why));
}

/// Serves one connection.
pub(super) fn serve(conn: UnixStream, token: &str) {
    // Nothing is read from a peer that is not this process's equal.
    if let Err(why) = crate::peer::check_equal(conn.as_raw_fd()) {
        return refuse(conn, &why);
    }
    let mut c = Comms::from_fd(conn.into());
    let _ = c.set_timeout(Some(READ_TIMEOUT));
    let request = read_request(&mut c, token).and_then(prepare);
    let (opts, env, stdio, key) = match request {
        Ok(r) => r,
        Err(why) => return refuse_on(&mut c, &why),
    };
    if c.send_u32(TAKEN).is_err() {
        return;
    }
    SERVED.fetch_add(1, Ordering::SeqCst);
    let built = policy_for(&opts, key);
    let [i, o, e] = stdio;
    let Ok(mut report) = e.try_clone().map(std::fs::File::from) else {
        let _ = c.send_u32(u32::from(crate::EXIT_SETUP));
        return;
    };
    let stop = Connection {
        comms: RefCell::new(&mut c),
        gone: Cell::new(false),
        ending_seen: Cell::new(false),
    };
    let io = Io {
        stdio: Some([i, o, e]),
        report: &mut report,
    };
    let done = run(&opts, built, &env, &stop, io);
    let _ = c.send_u32(u32::from(done.code));
}

/// A request as it came: arguments, environment, stdio and working directory.
struct Wire {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdio: [OwnedFd; 3],
    cwd: OwnedFd,
}

/// Reads a client's request: the greeting with the token, then (bounded) the lists and fds.
fn read_request(c: &mut Comms, token: &str) -> Result<Wire, String> {
    let wire = |e: sbx::comms::CommsError| format!("reading the request: {e}");
    let expected = format!("{HELLO} {token}");
    c.set_max_message_size(expected.len() as u64);
    let hello = c.recv_string().map_err(wire)?;
    if !same(hello.as_bytes(), expected.as_bytes()) {
        return Err(if hello.starts_with(&format!("{HELLO} ")) {
            "wrong token".into()
        } else {
            format!("the server is {HELLO}; the client said {:?}", hello.split(' ').take(2).collect::<Vec<_>>().join(" "))
        });
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

/// Equal bytes, compared in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type Request = (Box<Options>, Vec<(String, String)>, [OwnedFd; 3], Option<String>);

/// The run a request asks for, with this thread moved into the client's working directory, and
/// its policy's cache key; the reason when it is not one to run here (the client then runs it
/// itself, and reports any error in its options the way it always does).
fn prepare(w: Wire) -> Result<Request, String> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS)
        .and_then(|()| nix::unistd::fchdir(w.cwd.as_raw_fd()))
        .map_err(|e| format!("taking the client's working directory: {e}"))?;
    match parse_args(w.args) {
        Ok(Parsed::Run(mut o)) if !(o.serve || o.check || o.dump_policy || o.dump_policy_file) => {
            let key = policy_key(&mut o);
            Ok((o, w.env, w.stdio, key))
        }
        Ok(_) => Err("not a run".into()),
        Err(e) => Err(e),
    }
}

/// Policies made for earlier runs, so that a run with the same options does not compile its
/// filter again. Bounded: cleared when full.
static POLICIES: Mutex<Option<HashMap<String, Arc<Built>>>> = Mutex::new(None);
const CACHED_POLICIES: usize = 64;

/// What a run's policy is made of, as a cache key: the options (the program's own arguments
/// left out: they do not change the policy), the working directory relative paths start from,
/// and the identity (device, inode, type) of every host path the policy depends on: the bind
/// sources and a program given by path. `None` for a policy made from what may change between
/// runs without a trace in the key: files (`--policy`, `--seccomp-profile`), host names
/// (`--allow-connect`), or a learning run's.
fn policy_key(opts: &mut Options) -> Option<String> {
    if opts.policy_file.is_some()
        || opts.seccomp_profile.is_some()
        || opts.learn.is_some()
        || !opts.allow_connect.is_empty()
    {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let program_args = opts.program.split_off(1.min(opts.program.len()));
    // Debug: the path with its escapes, so that no two directories give one key.
    let mut key = format!("{:?} {opts:?}", cwd.as_os_str());
    opts.program.extend(program_args);
    let program = opts.program.first().filter(|p| p.contains('/')).map(PathBuf::from);
    for path in opts.binds.iter().map(|b| b.outside.clone()).chain(program) {
        match nix::sys::stat::stat(&path) {
            Ok(st) => {
                let kind = st.st_mode & libc::S_IFMT;
                let _ = write!(key, " {}:{}:{kind:o}", st.st_dev, st.st_ino);
            }
            Err(e) => {
                let _ = write!(key, " {e}");
            }
        }
    }
    Some(key)
}

/// The policy of `opts`: the cached one for `key`, or a new one (cached when there is a key).
fn policy_for(opts: &Options, key: Option<String>) -> Result<Arc<Built>, String> {
    let lock = || POLICIES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(k) = &key {
        if let Some(b) = lock().as_ref().and_then(|m| m.get(k)) {
            return Ok(Arc::clone(b));
        }
    }
    let built = Arc::new(build_policy(opts)?);
    if let Some(k) = key {
        let mut guard = lock();
        let map = guard.get_or_insert_with(HashMap::new);
        if map.len() >= CACHED_POLICIES {
            map.clear();
        }
        map.insert(k, Arc::clone(&built));
    }
    Ok(built)
}

/// A run's stop: the client's connection, which carries the signals the client got (its end,
/// the client gone, kills the run too), and the server's own end ([`super::shut_down`]).
struct Connection<'r> {
    comms: RefCell<&'r mut Comms>,
    gone: Cell<bool>,
    ending_seen: Cell<bool>,
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

    fn also(&self) -> RawFd {
        if self.ending_seen.get() {
            -1
        } else {
            shutdown_fd()
        }
    }

    fn take(&self) -> Option<i32> {
        let ending = ENDING.load(Ordering::SeqCst);
        if ending != 0 && !self.ending_seen.get() {
            self.ending_seen.set(true);
            return Some(ending);
        }
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
    matches!(crate::signals::ready([fd], 0), Ok([true]))
}
