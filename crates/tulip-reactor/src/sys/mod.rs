//! The OS backends: the only code in tulip that waits for I/O readiness.
//!
//! - [`epoll`] (Linux): our own thin layer over rustix's epoll. Sources are registered once,
//!   edge-triggered, for both directions; a wait is one `epoll_pwait` with a millisecond
//!   timeout (rounded up, so timers never fire early) and no timerfd; a notification is one
//!   eventfd write, registered edge-triggered so it never needs to be read back.
//! - [`polling`](mod@self::poller) (every platform): the `polling` crate (epoll, kqueue, event
//!   ports, IOCP, poll), edge-triggered where the platform supports it and oneshot with
//!   re-arming elsewhere.
//!
//! The backend is chosen when a reactor is built ([`Backend`]); the environment variable
//! `TULIP_BACKEND=polling` forces the portable one (CI runs the suite on both).
//!
//! An io_uring backend will slot in here as a third variant; nothing above the reactor assumes
//! readiness-only I/O (see the crate docs).

#[cfg(target_os = "linux")]
pub(crate) mod epoll;
pub(crate) mod poller;

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Which OS interface a reactor waits on.
///
/// # Examples
///
/// ```
/// use tulip_reactor::{Backend, Reactor};
///
/// let reactor = Reactor::with_backend(Backend::Polling)?;
/// assert_eq!(reactor.backend(), Backend::Polling);
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Linux epoll through rustix, edge-triggered, no timerfd (the default on Linux).
    Epoll,
    /// The `polling` crate: epoll, kqueue, event ports, IOCP or poll (the default elsewhere).
    Polling,
}

impl Backend {
    /// The default for this platform, unless `TULIP_BACKEND` (`epoll` or `polling`) says
    /// otherwise.
    pub fn from_env() -> Backend {
        match std::env::var("TULIP_BACKEND").as_deref() {
            Ok("polling") => Backend::Polling,
            Ok("epoll") if cfg!(target_os = "linux") => Backend::Epoll,
            _ => Backend::platform_default(),
        }
    }

    /// The best backend for this platform.
    pub fn platform_default() -> Backend {
        if cfg!(target_os = "linux") {
            Backend::Epoll
        } else {
            Backend::Polling
        }
    }
}

/// Readiness reported for one source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// The read side is closed for good (peer's FIN, hang-up or error): reads will never
    /// block again; or urgent data came, at whose mark a read stops short. Either way a short
    /// read no longer proves the side empty. Only backends that can tell say so.
    pub(crate) read_closed: bool,
    /// The write side is closed for good (hang-up or error).
    pub(crate) write_closed: bool,
}

/// A backend instance.
#[derive(Debug)]
pub(crate) enum Poller {
    #[cfg(target_os = "linux")]
    Epoll(epoll::Epoll),
    Polling(poller::PollingPoller),
}

impl Poller {
    pub(crate) fn new(backend: Backend) -> io::Result<Poller> {
        match backend {
            #[cfg(target_os = "linux")]
            Backend::Epoll => Ok(Poller::Epoll(epoll::Epoll::new()?)),
            #[cfg(not(target_os = "linux"))]
            Backend::Epoll => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the epoll backend exists on Linux only",
            )),
            Backend::Polling => Ok(Poller::Polling(poller::PollingPoller::new()?)),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) => Backend::Epoll,
            Poller::Polling(_) => Backend::Polling,
        }
    }

    /// Registers `fd` for both directions under `key`.
    pub(crate) fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.add(fd, key),
            Poller::Polling(p) => p.add(fd, key),
        }
    }

    /// Re-arms interest after a wait found nothing (oneshot platforms only; a no-op when
    /// sources are edge-triggered).
    pub(crate) fn rearm(&self, fd: RawFd, key: usize, read: bool, write: bool) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) => Ok(()),
            Poller::Polling(p) => p.rearm(fd, key, read, write),
        }
    }

    /// Whether a short read or write may be taken as "drained": the backend is
    /// edge-triggered (every new readiness edge is reported, with no re-arming) *and* reports
    /// a closed read side (`EPOLLRDHUP`), so an end of stream that arrived with the last data
    /// is never missed. Only our epoll backend does both; `polling` hides `EPOLLRDHUP`.
    pub(crate) fn trusts_short_io(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) => true,
            Poller::Polling(_) => false,
        }
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.delete(fd),
            Poller::Polling(p) => p.delete(fd),
        }
    }

    /// Waits up to `timeout` (`None`: until an event or a notification) and appends events.
    pub(crate) fn wait(&self, out: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.wait(out, timeout),
            Poller::Polling(p) => p.wait(out, timeout),
        }
    }

    /// Wakes the current or the next `wait`.
    pub(crate) fn notify(&self) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.notify(),
            Poller::Polling(p) => p.notify(),
        }
    }
}
