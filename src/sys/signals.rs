//! The calling thread's signal mask.

#![allow(unsafe_code)]

/// Blocks every signal on the calling thread: the library's own threads (the supervisor, whose
/// clone children inherit the mask, and the janitor), so that no host handler runs on them.
pub(crate) fn block_all() {
    // SAFETY: sigfillset initialises the set; pthread_sigmask only affects this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}
