//! One supervisor thread for every sandbox of the process: it spawns each sandboxee, is the
//! ptrace tracer of all their tasks, enforces every wall-time limit and sends the kills the
//! callers' threads may not send. No thread per sandbox, no deadline thread.
//!
//! Why one thread and how it wakes:
//! - ptrace requests must come from the tracer thread, and that thread must be the one waiting:
//!   `wait4(-1, __WALL | __WNOTHREAD)` sees exactly the children and tracees this thread made,
//!   never the host's own children (sibling threads' children are not ours to reap).
//! - Ptrace stops have no fd to poll, and a library may not install signal handlers, so the
//!   thread sleeps in `wait4` and is woken by its doorbell child (`spawn/doorbell.rs`), which
//!   stops itself when a request is queued, the next deadline's timerfd fires or a user-notify
//!   fd is ready.
//! - While no sandbox needs `wait4` (every running one is user-notify, its init watched through
//!   a pidfd), the doorbell is left stopped and the thread sleeps in `epoll_wait` on the same
//!   fds: a notification then costs one wake-up, not the doorbell's two. The first ptrace
//!   sandbox continues the doorbell and the thread goes back to `wait4`.
//! - Every event available at a wake is collected before any is handled (`WNOHANG` until none is
//!   left): a stopped task reports nothing new until resumed, so a sandbox whose tasks storm
//!   signals cannot starve the others, which `wait4`'s fixed scan order would otherwise allow.
//!
//! Notify callbacks run on this thread: a slow callback delays every sandbox's events, and a
//! callback must not wait for a sandbox (`Sandbox::wait` refuses on this thread).
//!
//! The thread starts with the first sandbox and lives as long as the process; its children die
//! with it (`PR_SET_PDEATHSIG`, `PTRACE_O_EXITKILL`).

#![allow(unsafe_code)]

use super::epoll::{Epoll, Source};
use super::ptrace;
use super::state::{lock, Shared};
use super::unotify;
use crate::caps::with_raised_capabilities;
use crate::error::{Error, Result};
use crate::notify::Notify;
use crate::policy::Policy;
use crate::spawn::doorbell::{Bell, Doorbell};
use crate::spawn::Plan;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

mod dispatch;
mod kill;

/// A sandbox to start.
pub(crate) struct Job {
    pub plan: Box<Plan>,
    pub policy: Policy,
    pub shared: Arc<Shared>,
    pub started_at: Instant,
    pub notify: Box<dyn Notify>,
    /// When the wall-time limit expires.
    pub deadline: Option<Instant>,
    /// The effective capabilities of the thread that started it: its callbacks run with them.
    pub effective: Option<[u32; 2]>,
}

enum Request {
    Start(Job),
    /// SIGKILL with the supervisor's capabilities (the caller's thread was refused).
    Kill(Weak<Shared>),
    /// A kill with stack traces on: the main thread's stack first (`kill.rs`).
    KillTraced(Weak<Shared>),
}

/// Requests for the supervisor, taken when its doorbell rings.
static QUEUE: Mutex<Vec<Request>> = Mutex::new(Vec::new());

struct Handle {
    bell: Bell,
}

thread_local! {
    static ON_SUPERVISOR: Cell<bool> = const { Cell::new(false) };
}

/// True on the supervisor thread (inside Notify callbacks).
pub(crate) fn on_supervisor_thread() -> bool {
    ON_SUPERVISOR.with(Cell::get)
}

/// Hands `job` to the supervisor; its progress and result arrive in `job.shared`.
pub(crate) fn start(job: Job) -> Result<()> {
    submit(Request::Start(job))
}

/// Asks the supervisor to send the SIGKILL the calling thread was not allowed to send.
pub(crate) fn kill(shared: &Arc<Shared>) -> Result<()> {
    submit(Request::Kill(Arc::downgrade(shared)))
}

/// Asks the supervisor to end the run after taking its main thread's stack (stack traces on).
pub(crate) fn kill_traced(shared: &Arc<Shared>) -> Result<()> {
    submit(Request::KillTraced(Arc::downgrade(shared)))
}

fn submit(r: Request) -> Result<()> {
    let h = handle()?;
    lock(&QUEUE).push(r);
    h.bell.ring();
    Ok(())
}

/// The supervisor, started on first use; the errno of a failed start is kept.
fn handle() -> Result<&'static Handle> {
    static H: OnceLock<std::result::Result<Handle, i32>> = OnceLock::new();
    match H.get_or_init(launch) {
        Ok(h) => Ok(h),
        Err(errno) => Err(Error::os("start the libsbx supervisor thread", *errno)),
    }
}

fn errno_of(e: &Error) -> i32 {
    match e {
        Error::Os { errno, .. } => errno.0,
        _ => libc::EIO,
    }
}

fn launch() -> std::result::Result<Handle, i32> {
    let bell = Bell::new().map_err(|e| errno_of(&e))?;
    let bell_fd = bell.raw_fd();
    let epoll = Epoll::new().map_err(|e| e.raw_os_error().unwrap_or(libc::EMFILE))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::result::Result<(), i32>>(1);
    std::thread::Builder::new()
        .name("sbx-supervisor".into())
        .stack_size(1 << 20)
        .spawn(move || {
            ON_SUPERVISOR.with(|c| c.set(true));
            crate::sys::signals::block_all();
            match Doorbell::new(bell_fd, epoll.raw_fd()) {
                Ok(door) => {
                    let _ = tx.send(Ok(()));
                    let mut s = Supervisor::new(door, epoll);
                    s.watch_bell(true);
                    s.run();
                }
                Err(e) => {
                    let _ = tx.send(Err(errno_of(&e)));
                }
            }
        })
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EAGAIN))?;
    rx.recv().unwrap_or(Err(libc::EIO))?;
    Ok(Handle { bell })
}

/// A started sandbox under either monitor.
enum Run {
    Ptrace(ptrace::Running),
    Unotify(unotify::Running),
}

impl Run {
    fn first_pid(&self) -> libc::pid_t {
        match self {
            Run::Ptrace(r) => r.first_pid(),
            Run::Unotify(r) => r.first_pid(),
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Run::Ptrace(r) => r.is_done(),
            Run::Unotify(r) => r.is_done(),
        }
    }

    /// Its events come only through `wait4(-1)`: ptrace stops, or an init without a pidfd.
    fn needs_wait4(&self) -> bool {
        match self {
            Run::Ptrace(_) => true,
            Run::Unotify(r) => !r.watches_exit(),
        }
    }
}

/// One running sandbox.
struct Entry {
    run: Run,
    shared: Arc<Shared>,
    notify: Box<dyn Notify>,
    started_at: Instant,
    deadline: Option<Instant>,
    effective: Option<[u32; 2]>,
    /// Counted in [`Supervisor::wait4_runs`].
    needs_wait4: bool,
    /// A timeout's or a kill's trace awaits the main thread's stop until then (`kill.rs`).
    trace_until: Option<Instant>,
}

struct Event {
    pid: libc::pid_t,
    status: i32,
    rusage: libc::rusage,
}

struct Supervisor {
    door: Doorbell,
    /// The fds of user-notify sandboxes; the doorbell polls it.
    epoll: Epoll,
    jobs: HashMap<u64, Entry>,
    /// Every task of every sandbox, by pid.
    owner: HashMap<libc::pid_t, u64>,
    /// First events of tasks whose parent's fork event has not been seen yet.
    parked: HashMap<libc::pid_t, (Instant, Event)>,
    next_id: u64,
    /// The doorbell is stopped and left so: the thread sleeps in `epoll_wait`.
    door_parked: bool,
    /// The bell's eventfd and the doorbell's timerfd are in the epoll set.
    bell_watched: bool,
    /// Running sandboxes whose events need `wait4(-1)`.
    wait4_runs: usize,
}

impl Supervisor {
    fn new(door: Doorbell, epoll: Epoll) -> Supervisor {
        Supervisor {
            door,
            epoll,
            jobs: HashMap::new(),
            owner: HashMap::new(),
            parked: HashMap::new(),
            next_id: 0,
            door_parked: false,
            bell_watched: false,
            wait4_runs: 0,
        }
    }

    /// Adds the bell's fds to the epoll set (`eventfd_too`: the first doorbell; a remade one
    /// brings only a new timerfd). Without them the thread never sleeps in `epoll_wait`.
    fn watch_bell(&mut self, eventfd_too: bool) {
        let mut fds = vec![self.door.timer_fd()];
        if eventfd_too {
            fds.push(self.door.bell_fd());
        }
        let ok = fds
            .into_iter()
            .all(|fd| self.epoll.add(fd, 0, Source::Bell).is_ok());
        self.bell_watched = ok && (eventfd_too || self.bell_watched);
        if !ok {
            log::error!("libsbx: the supervisor's bell is not in its epoll set: it stays in wait4");
        }
    }

    /// Sleeps in `epoll_wait` (doorbell stopped) only while no run needs `wait4(-1)`.
    fn may_sleep_in_epoll(&self) -> bool {
        self.bell_watched && self.wait4_runs == 0
    }

    fn run(mut self) {
        let mut batch = Vec::new();
        loop {
            if self.door_parked {
                if self.may_sleep_in_epoll() {
                    self.epoll_wake();
                    continue;
                }
                // A ptrace sandbox started: wake-ups come through the doorbell again.
                self.door.resume();
                self.door_parked = false;
            }
            // Block for one event, then take every other one already there.
            let first = match wait_any(0) {
                Ok(Some(e)) => e,
                Ok(None) => continue,
                Err(()) => {
                    // No child at all: the doorbell is gone and could not be made again.
                    self.remake_doorbell();
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            batch.push(first);
            while let Ok(Some(e)) = wait_any(libc::WNOHANG) {
                batch.push(e);
            }
            for e in batch.drain(..) {
                if e.pid == self.door.pid() {
                    self.on_bell(&e);
                } else {
                    self.dispatch(e);
                }
            }
        }
    }

    /// The doorbell stopped (a request or a deadline) or died (made again).
    fn on_bell(&mut self, e: &Event) {
        if !libc::WIFSTOPPED(e.status) {
            self.remake_doorbell();
            return;
        }
        self.serve_requests();
        for (id, source) in self.epoll.ready() {
            self.on_ready(id, source);
        }
        self.expire_deadlines();
        self.forget_stale_parked();
        if self.may_sleep_in_epoll() {
            // Stay stopped: the next sleep is in `epoll_wait` (see the module comment).
            self.door_parked = true;
        } else {
            self.door.resume();
        }
    }

    /// One `epoll_wait` while the doorbell is parked: requests, alarms, user-notify fds and
    /// inits' ends, all from the one wake-up.
    fn epoll_wake(&mut self) {
        let ready = self.epoll.wait(-1);
        let mut bell = false;
        for (id, source) in ready {
            bell |= source == Source::Bell;
            self.on_ready(id, source);
        }
        // Deadlines change only with a request (a new sandbox) or the alarm, both on the bell;
        // a notification alone needs no rescan or re-arm.
        if bell {
            self.serve_requests();
            self.expire_deadlines();
        }
    }

    /// Empties the bell's fds, then starts and kills what the other threads asked for.
    fn serve_requests(&mut self) {
        self.door.drain();
        let requests = std::mem::take(&mut *lock(&QUEUE));
        for r in requests {
            match r {
                Request::Start(job) => self.start(job),
                Request::Kill(w) => {
                    if let Some(s) = w.upgrade() {
                        with_raised_capabilities(|| s.signal_main_here());
                    }
                }
                Request::KillTraced(w) => {
                    if let Some(s) = w.upgrade() {
                        self.kill_traced(&s);
                    }
                }
            }
        }
    }

    fn remake_doorbell(&mut self) {
        log::error!("libsbx: the supervisor's doorbell ended; making a new one");
        match Doorbell::new(self.door.bell_fd(), self.epoll.raw_fd()) {
            Ok(d) => {
                // The old one is gone: dropping it reaps nothing and frees its stack (and
                // closes its timerfd, which leaves the epoll set with it).
                self.door = d;
                self.watch_bell(false);
                self.expire_deadlines();
            }
            Err(err) => log::error!("libsbx: no new doorbell: {err}"),
        }
    }
}


/// One `wait4(-1, __WALL | __WNOTHREAD | WUNTRACED | flags)`: `Ok(None)` for nothing yet (WNOHANG) or
/// EINTR, `Err` when this thread has no child at all (ECHILD).
fn wait_any(flags: libc::c_int) -> std::result::Result<Option<Event>, ()> {
    // WUNTRACED: the doorbell's (untraced) group-stop; tracees report their stops anyway.
    match wait4(-1, libc::__WNOTHREAD | libc::WUNTRACED | flags) {
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Err(()),
        r => Ok(r.ok().flatten()),
    }
}

/// The end of our child `pid` (`flags`: `WNOHANG`), if it has ended; its stops are not asked for.
fn wait(pid: libc::pid_t, flags: libc::c_int) -> Option<Event> {
    wait4(pid, flags).ok().flatten()
}

/// `wait4(pid, __WALL | flags)` with the status and usage of what it reaped: `Ok(None)` when
/// nothing was (WNOHANG), the errno otherwise.
fn wait4(pid: libc::pid_t, flags: libc::c_int) -> std::io::Result<Option<Event>> {
    let mut status = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 writes status and rusage into our locals.
    let r = unsafe { libc::wait4(pid, &mut status, libc::__WALL | flags, &mut rusage) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((r > 0).then_some(Event {
        pid: r,
        status,
        rusage,
    }))
}
