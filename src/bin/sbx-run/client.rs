//! The client side of `sbx-run --serve`: when `SBX_RUN_SERVER` names a server, this process
//! hands it the run (its arguments, environment, working directory and stdio) and waits for
//! the exit status, forwarding SIGINT/SIGTERM/SIGHUP; the server's warm state (mount templates,
//! pooled namespaces and cgroups, a running supervisor) makes the run cheaper than setting all
//! of that up in a fresh process.
//!
//! The wire (over `sbx::Comms`, a stream socket with fd passing), all in one direction first:
//! the greeting [`HELLO`] and the server's token (from [`SERVER_VAR`]); the arguments and the `KEY=VALUE` variables, each list one bytes
//! message ([`pack`]); four fds (stdin, stdout, stderr, the working directory). The server answers
//! [`TAKEN`] or [`REFUSED`] and a reason. After TAKEN the client may send a signal number (u32)
//! at any time, and the server answers once more, with the exit status (u32). A server that cannot be reached or is not this process's equal (`peer.rs`) is not
//! used: the run happens here, with a note on stderr unless quiet. A server that ends after it
//! took the run is an error (the run may have started: it is not repeated).

use crate::signals::{Signals, Stop};
use crate::EXIT_SETUP;
use sbx::comms::Comms;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;

/// The variable that names a server: `TOKEN:PATH` (set by `sbx-run --serve -- COMMAND` for
/// COMMAND), 32 hex digits of the server's random token and its socket's path.
pub(crate) const SERVER_VAR: &str = "SBX_RUN_SERVER";

/// The first message of a request: the protocol and the binary's version (a server runs
/// requests only from its own version: the options must mean the same on both ends).
pub(crate) const HELLO: &str = concat!("sbx-run-serve/1 ", env!("CARGO_PKG_VERSION"));

/// What the server answers once it has read a request: it took the run (the exit status
/// follows), or it refused it (a reason follows).
pub(crate) const TAKEN: u32 = 0;
pub(crate) const REFUSED: u32 = 1;

/// Argument lists or environments larger than this (arguments plus environment) are run here.
pub(crate) const MAX_REQUEST: usize = 1 << 20;

/// Runs this process's command line through the server named in the environment: `Some`
/// exit status when the server took the run, `None` to run it here.
pub(crate) fn run_through_server(quiet: bool) -> Option<u8> {
    let value = std::env::var(SERVER_VAR).ok().filter(|v| !v.is_empty())?;
    let note = |why: &str| {
        if !quiet {
            eprintln!("sbx-run: note: not using the server: {why}; running here");
        }
    };
    let Some((token, path)) = value.split_once(':').filter(|(t, p)| t.len() == 32 && p.starts_with('/')) else {
        note(&format!("{SERVER_VAR} is not TOKEN:PATH as sbx-run --serve gives it"));
        return None;
    };
    let request = match Request::here() {
        Ok(r) => r,
        // Nothing to note: these runs are meant to happen here.
        Err(Here::Quietly) => return None,
        Err(Here::Because(why)) => {
            note(&why);
            return None;
        }
    };
    let stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e) => {
            note(&format!("{path}: {e}"));
            return None;
        }
    };
    if let Err(why) = crate::peer::check_equal(stream.as_raw_fd()) {
        note(&why);
        return None;
    }
    let mut comms = Comms::from_fd(OwnedFd::from(stream));
    // A server that refuses may do so before it read everything: its answer is read even when
    // sending failed, and tells why. A server that does not answer in time (stopped, wedged) has
    // started nothing: the run happens here.
    let sent = request.send(&mut comms, token);
    let _ = comms.set_timeout(Some(TAKEN_TIMEOUT));
    if let Err(why) = taken(&mut comms).and(sent) {
        note(&why);
        return None;
    }
    let _ = comms.set_timeout(None);
    Some(wait_for_status(&mut comms))
}

/// How long a client waits for the server to take its run before running it itself.
const TAKEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a run is not handed to the server.
enum Here {
    /// It names this process's own fds or /proc entries (`/dev/fd/N`, `/dev/stdin`,
    /// `/proc/self/...`), which mean something else in the server.
    Quietly,
    Because(String),
}

/// Path prefixes that name the calling process itself.
const OWN_PATHS: [&str; 4] = ["/dev/fd/", "/dev/std", "/proc/self/", "/proc/thread-self/"];

/// This process's run as the server needs it.
struct Request {
    args: Vec<String>,
    env: Vec<String>,
    stdio: Vec<OwnedFd>,
    cwd: std::fs::File,
}

impl Request {
    fn here() -> Result<Request, Here> {
        // main refused arguments that are not UTF-8 already; variables that are not are left
        // out, as for a run here.
        let args: Vec<String> = std::env::args_os()
            .skip(1)
            .filter_map(|a| a.into_string().ok())
            .collect();
        let env: Vec<String> = crate::setup::own_env()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        // The options (not the program's own arguments, which are the sandboxee's business).
        let options = args.iter().take_while(|a| *a != "--");
        if options.into_iter().any(|a| OWN_PATHS.iter().any(|p| a.contains(p))) {
            return Err(Here::Quietly);
        }
        let packed = |l: &[String]| l.iter().map(|s| s.len() + 1).sum::<usize>();
        if packed(&args).max(packed(&env)) > MAX_REQUEST {
            return Err(Here::Because(format!(
                "the arguments or the environment are over {MAX_REQUEST} bytes"
            )));
        }
        let cwd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(".")
            .map_err(|e| Here::Because(format!("working directory: {e}")))?;
        // A closed stdio fd cannot be passed: the run happens here, as it would have.
        let stdio = [
            std::io::stdin().as_fd().try_clone_to_owned(),
            std::io::stdout().as_fd().try_clone_to_owned(),
            std::io::stderr().as_fd().try_clone_to_owned(),
        ];
        let stdio = stdio
            .into_iter()
            .collect::<std::io::Result<_>>()
            .map_err(|e| Here::Because(format!("a standard stream: {e}")))?;
        Ok(Request {
            args,
            env,
            stdio,
            cwd,
        })
    }

    fn send(&self, c: &mut Comms, token: &str) -> Result<(), String> {
        let sent = (|| {
            c.send_string(&format!("{HELLO} {token}"))?;
            c.send_bytes(&pack(&self.args))?;
            c.send_bytes(&pack(&self.env))?;
            for fd in &self.stdio {
                c.send_fd(fd.as_fd())?;
            }
            c.send_fd(self.cwd.as_fd())
        })();
        sent.map_err(|e| format!("sending the run: {e}"))
    }
}

/// Whether the server took the run: until it says so, nothing has started.
fn taken(c: &mut Comms) -> Result<(), String> {
    match c.recv_u32() {
        Ok(TAKEN) => Ok(()),
        Ok(REFUSED) => Err(format!(
            "it refused the run: {}",
            c.recv_string().unwrap_or_default()
        )),
        Ok(other) => Err(format!("it answered {other}")),
        Err(e) => Err(format!("it did not answer: {e}")),
    }
}

/// A list as one message: each item followed by a NUL (no item holds one: they are C strings).
pub(crate) fn pack(items: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|s| s.len() + 1).sum());
    for s in items {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    out
}

/// Waits for the server's exit status, passing on the signals that would have killed the run
/// here. A server that ends first is an error.
fn wait_for_status(c: &mut Comms) -> u8 {
    // Unblocked signals end this process, which ends the run too (the server sees it go).
    let signals = Signals::block().ok();
    loop {
        let fds = [c.as_raw_fd(), signals.as_ref().map_or(-1, Stop::fd)];
        let Ok([answer, signal]) = crate::signals::ready(fds, -1) else {
            break;
        };
        if signal {
            if let Some(sig) = signals.as_ref().and_then(Stop::take) {
                if c.send_u32(sig.unsigned_abs()).is_err() {
                    break;
                }
            }
        }
        if answer {
            return match c.recv_u32() {
                Ok(code) => u8::try_from(code).unwrap_or(EXIT_SETUP),
                Err(_) => break,
            };
        }
    }
    eprintln!("sbx-run: error: the server ended before the run's result came");
    EXIT_SETUP
}

/// A list as [`pack`] made it: each item followed by a NUL.
pub(crate) fn unpack(bytes: &[u8]) -> Result<Vec<String>, String> {
    let Some(body) = bytes.strip_suffix(b"\0") else {
        return if bytes.is_empty() {
            Ok(Vec::new())
        } else {
            Err("a list of the request does not end with NUL".into())
        };
    };
    body.split(|b| *b == 0)
        .map(|item| {
            String::from_utf8(item.to_vec()).map_err(|_| "the request is not UTF-8".to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{pack, unpack};

    #[test]
    fn lists_round_trip_and_bad_ones_are_refused() {
        for list in [vec![], vec![String::new()], vec!["a".into(), String::new(), "b=c".into()]] {
            assert_eq!(unpack(&pack(&list)), Ok(list));
        }
        assert!(unpack(b"no-terminator").is_err());
        assert!(unpack(b"\xff\0").is_err());
    }
}
