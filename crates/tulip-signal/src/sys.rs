//! What rustix does not offer: reading and setting a signal's disposition (`sigaction`), and
//! asking whether this is the process's main thread.

use std::fmt;
use std::io;

/// A signal's disposition, as `sigaction(2)` reports it: a handler (or `SIG_DFL`/`SIG_IGN`)
/// with its flags and mask.
#[cfg(unix)]
#[derive(Clone, Copy)]
pub(crate) struct Disposition(libc::sigaction);

#[cfg(unix)]
impl fmt::Debug for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.handler() {
            libc::SIG_DFL => f.write_str("SIG_DFL"),
            libc::SIG_IGN => f.write_str("SIG_IGN"),
            h => write!(f, "handler {h:#x}"),
        }
    }
}

#[cfg(unix)]
impl Disposition {
    /// The handler's address, or `SIG_DFL`/`SIG_IGN`.
    pub(crate) fn handler(&self) -> libc::sighandler_t {
        self.0.sa_sigaction
    }

    /// Whether this is the default action (`SIG_DFL`).
    pub(crate) fn is_default(&self) -> bool {
        self.handler() == libc::SIG_DFL
    }
}

/// The current disposition of `sig`.
#[cfg(unix)]
pub(crate) fn get(sig: i32) -> io::Result<Disposition> {
    // SAFETY: `sigaction` is a plain C struct of integers, a signal set and (on some targets) an
    // `Option` of a function pointer, for all of which all-zero bytes are a valid value.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null `act` only reads the disposition; `old` is a valid, writable `sigaction`.
    if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Disposition(old))
}

/// Sets the disposition of `sig` to `d` (one read earlier with [`get`]).
#[cfg(unix)]
pub(crate) fn set(sig: i32, d: &Disposition) -> io::Result<()> {
    // SAFETY: `d` was read from the kernel by `get`: its handler is `SIG_DFL`, `SIG_IGN`, or a
    // handler that was installed for this signal and is still loaded (signal-hook's registry
    // never unloads its handler; other handlers are functions of this program).
    if unsafe { libc::sigaction(sig, &d.0, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the calling thread is the process's main thread (the one `main` runs on).
/// A signal's disposition on Windows: the C runtime's handler (`signal()`), no flags or mask.
#[cfg(windows)]
#[derive(Clone, Copy)]
pub(crate) struct Disposition(libc::sighandler_t);

#[cfg(windows)]
impl fmt::Debug for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            libc::SIG_DFL => f.write_str("SIG_DFL"),
            libc::SIG_IGN => f.write_str("SIG_IGN"),
            h => write!(f, "handler {h:#x}"),
        }
    }
}

#[cfg(windows)]
impl Disposition {
    /// The handler.
    pub(crate) fn handler(&self) -> libc::sighandler_t {
        self.0
    }

    /// Whether this is the default action.
    pub(crate) fn is_default(&self) -> bool {
        self.0 == libc::SIG_DFL
    }
}

/// Reads `sig`'s handler: the C runtime has no read-only call, so it is swapped out for the
/// default and straight back (under the registry's lock; a delivery in between gets the
/// default action, which for the signals tulip handles means the same as before it caught
/// them).
#[cfg(windows)]
pub(crate) fn get(sig: i32) -> io::Result<Disposition> {
    // SAFETY: `signal` with `SIG_DFL` installs no code of ours; the handler it returns is put
    // back at once, unchanged.
    let old = unsafe { libc::signal(sig, libc::SIG_DFL) };
    if old == libc::SIG_ERR as libc::sighandler_t {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above: the handler that was installed goes back.
    unsafe { libc::signal(sig, old) };
    Ok(Disposition(old))
}

/// Sets `sig`'s handler.
#[cfg(windows)]
pub(crate) fn set(sig: i32, d: &Disposition) -> io::Result<()> {
    // SAFETY: `d` was read by `get`: `SIG_DFL`, `SIG_IGN`, or a handler installed for this
    // signal that is still loaded (signal-hook's registry never unloads its handler).
    if unsafe { libc::signal(sig, d.0) } == libc::SIG_ERR as libc::sighandler_t {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn is_main_thread() -> bool {
    rustix::thread::gettid() == rustix::process::getpid()
}

/// Whether the calling thread is the process's main thread (the one `main` runs on).
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
pub(crate) fn is_main_thread() -> bool {
    // SAFETY: `pthread_main_np` takes no argument and only reads the calling thread's identity.
    unsafe { libc::pthread_main_np() == 1 }
}

/// Whether the calling thread is the process's main thread: Rust names it `main`.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
pub(crate) fn is_main_thread() -> bool {
    std::thread::current().name() == Some("main")
}

/// The largest signal number of this platform.
pub(crate) fn max_signal() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX()
    }
    #[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
    {
        31
    }
    #[cfg(windows)]
    {
        // The C runtime's NSIG is 23: SIGABRT (22) is the highest.
        libc::NSIG - 1
    }
}
