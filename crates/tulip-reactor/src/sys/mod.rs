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
//! - [`uring`] (Linux 5.13+): io_uring as a readiness source, one multishot poll per source
//!   and one `io_uring_enter` per loop turn (see its module docs for how it keeps the
//!   reactor's invariants). Falls back to epoll, saying why on one line, when the kernel
//!   refuses it.
//!
//! The backend is chosen when a reactor is built ([`Backend`]); the environment variable
//! `TULIP_BACKEND=polling|epoll|uring` overrides the default (CI runs the suite on all three).
//! `TULIP_BACKEND=polling-oneshot` is the `polling` backend in oneshot mode even where the OS
//! has edge-triggered waits: Windows' only mode, run on Linux.
//!
//! Beside its readiness polls, the uring backend runs completion operations ([`uring_ops`]):
//! stream reads are recvs into a provided-buffer ring, stream writes are sends of owned copies,
//! and listeners accept through a multishot accept (see `crate::completion`), with the
//! buffer-lifetime invariant documented there.

#[cfg(target_os = "linux")]
pub(crate) mod epoll;
pub(crate) mod poller;
#[cfg(target_os = "linux")]
pub(crate) mod uring;
#[cfg(target_os = "linux")]
pub(crate) mod uring_ops;

use crate::source::RawSource as RawFd;
use std::io;
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
    /// Linux io_uring (5.13 or later) as a readiness source: a multishot poll per source,
    /// submissions and the wait in one `io_uring_enter` per loop turn. Where the kernel refuses
    /// io_uring (too old, seccomp, a container's limits) the reactor uses [`Backend::Epoll`]
    /// instead and prints one line saying why; [`Reactor::backend`](crate::Reactor::backend)
    /// tells which one runs. Byte-stream reads ([`Async::poll_recv_stream`](crate::Async::poll_recv_stream),
    /// used by tulip-net's TCP and Unix streams) go through io_uring completions when the kernel
    /// accepts a provided-buffer ring (Linux 5.19), and so do byte-stream writes
    /// ([`Async::poll_send_stream`](crate::Async::poll_send_stream)) and listeners' accepts
    /// ([`Async::poll_accept_multishot`](crate::Async::poll_accept_multishot));
    /// `TULIP_URING_OPS=recv` keeps writes and accepts on readiness, `TULIP_URING_OPS=0` all
    /// three.
    Uring,
}

impl Backend {
    /// The default for this platform, unless `TULIP_BACKEND` (`epoll`, `uring` or `polling`)
    /// says otherwise (`epoll` and `uring` count on Linux only). `polling-oneshot` is
    /// [`Backend::Polling`] with oneshot registrations re-armed after every event, as on
    /// Windows, wherever it runs.
    pub fn from_env() -> Backend {
        match std::env::var("TULIP_BACKEND").as_deref() {
            Ok("polling") | Ok("polling-oneshot") => Backend::Polling,
            Ok("epoll") if cfg!(target_os = "linux") => Backend::Epoll,
            Ok("uring") if cfg!(target_os = "linux") => Backend::Uring,
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
#[allow(
    clippy::large_enum_variant,
    reason = "one per reactor, inside its Arc: a Box would only add a pointer chase per wait"
)]
pub(crate) enum Poller {
    #[cfg(target_os = "linux")]
    Epoll(epoll::Epoll),
    #[cfg(target_os = "linux")]
    Uring(uring::Uring),
    Polling(poller::PollingPoller),
}

impl Poller {
    pub(crate) fn new(backend: Backend) -> io::Result<Poller> {
        match backend {
            #[cfg(target_os = "linux")]
            Backend::Epoll => Ok(Poller::Epoll(epoll::Epoll::new()?)),
            #[cfg(target_os = "linux")]
            Backend::Uring => Poller::uring_or_epoll(uring::Uring::new()),
            #[cfg(not(target_os = "linux"))]
            Backend::Epoll | Backend::Uring => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the epoll and io_uring backends exist on Linux only",
            )),
            Backend::Polling => Ok(Poller::Polling(poller::PollingPoller::new()?)),
        }
    }

    /// The io_uring backend if it could be set up, epoll otherwise (saying why, once per
    /// process).
    #[cfg(target_os = "linux")]
    fn uring_or_epoll(uring: io::Result<uring::Uring>) -> io::Result<Poller> {
        match uring {
            Ok(u) => Ok(Poller::Uring(u)),
            Err(e) => {
                static SAID: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!("tulip: io_uring refused ({e}); the reactor uses epoll instead");
                }
                Ok(Poller::Epoll(epoll::Epoll::new()?))
            }
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) => Backend::Epoll,
            #[cfg(target_os = "linux")]
            Poller::Uring(_) => Backend::Uring,
            Poller::Polling(_) => Backend::Polling,
        }
    }

    /// Registers `fd` for both directions under `key`.
    pub(crate) fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.add(fd, key),
            #[cfg(target_os = "linux")]
            Poller::Uring(p) => p.add(fd, key),
            Poller::Polling(p) => p.add(fd, key),
        }
    }

    /// Whether registrations are oneshot: every event disarms the source until
    /// [`rearm`](Self::rearm) (the `polling` backend where the OS has no edge-triggered mode:
    /// Windows, illumos, plain `poll`). Never on epoll or io_uring.
    pub(crate) fn is_oneshot(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) | Poller::Uring(_) => false,
            Poller::Polling(p) => p.is_oneshot(),
        }
    }

    /// Re-arms interest after a wait found nothing (oneshot platforms only; a no-op when
    /// sources are edge-triggered).
    pub(crate) fn rearm(&self, fd: RawFd, key: usize, read: bool, write: bool) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) | Poller::Uring(_) => Ok(()),
            Poller::Polling(p) => p.rearm(fd, key, read, write),
        }
    }

    /// Whether a short read or write may be taken as "drained": the backend is
    /// edge-triggered (every new readiness edge is reported, with no re-arming) *and* reports
    /// a closed read side (`EPOLLRDHUP`) and urgent data (`EPOLLPRI`), so an end of stream that
    /// arrived with the last data is never missed. Our epoll backend does both, and so does the
    /// uring one (its multishot polls ask for `POLLRDHUP | POLLPRI`); `polling` hides
    /// `EPOLLRDHUP`.
    pub(crate) fn trusts_short_io(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) | Poller::Uring(_) => true,
            Poller::Polling(_) => false,
        }
    }

    /// Removes `fd`, registered under `key`; once this returns, no event of it is reported.
    pub(crate) fn delete(&self, fd: RawFd, key: usize) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.delete(fd),
            #[cfg(target_os = "linux")]
            Poller::Uring(p) => {
                let _ = fd;
                p.delete(key)
            }
            Poller::Polling(p) => {
                let _ = key;
                p.delete(fd)
            }
        }
    }

    /// Waits up to `timeout` (`None`: until an event or a notification) and appends events.
    pub(crate) fn wait(&self, out: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.wait(out, timeout),
            #[cfg(target_os = "linux")]
            Poller::Uring(p) => p.wait(out, timeout),
            Poller::Polling(p) => p.wait(out, timeout),
        }
    }

    /// The io_uring backend, when it runs with a provided-buffer ring (completion reads).
    #[cfg(target_os = "linux")]
    pub(crate) fn completions(&self) -> Option<&uring::Uring> {
        match self {
            Poller::Uring(u) if u.has_buf_ring() => Some(u),
            _ => None,
        }
    }

    /// Wakes the current or the next `wait`.
    pub(crate) fn notify(&self) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.notify(),
            #[cfg(target_os = "linux")]
            Poller::Uring(p) => p.notify(),
            Poller::Polling(p) => p.notify(),
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_refused_ring_falls_back_to_epoll() {
        let refused = Err(io::Error::from_raw_os_error(
            rustix::io::Errno::NOSYS.raw_os_error(),
        ));
        let p = Poller::uring_or_epoll(refused).unwrap();
        assert_eq!(p.backend(), Backend::Epoll);
    }

    #[test]
    fn uring_is_chosen_by_name() {
        let p = Poller::new(Backend::Uring).unwrap();
        // Uring where the kernel allows it, epoll where it refuses.
        assert!(matches!(p.backend(), Backend::Uring | Backend::Epoll));
    }
}
