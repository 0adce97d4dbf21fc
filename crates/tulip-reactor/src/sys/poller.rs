//! The portable backend: the `polling` crate.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use polling::{Event as PEvent, Events, PollMode, Poller};

use super::Event;
use crate::source::{borrow, RawSource as RawFd};

/// A `polling::Poller`, edge-triggered where supported, oneshot (re-armed on demand) elsewhere.
#[derive(Debug)]
pub(crate) struct PollingPoller {
    poller: Poller,
    mode: PollMode,
    events: Mutex<Events>,
}

impl PollingPoller {
    /// Edge-triggered where the OS supports it; oneshot otherwise, or everywhere when
    /// `TULIP_BACKEND=polling-oneshot` (to run the suite on the oneshot paths, Windows' only
    /// mode, on Linux or macOS).
    pub(crate) fn new() -> io::Result<PollingPoller> {
        let poller = Poller::new()?;
        let forced = std::env::var("TULIP_BACKEND").as_deref() == Ok("polling-oneshot");
        let mode = if poller.supports_edge() && !forced {
            PollMode::Edge
        } else {
            PollMode::Oneshot
        };
        Ok(PollingPoller {
            poller,
            mode,
            events: Mutex::new(Events::new()),
        })
    }

    /// A poller in oneshot mode even where the OS could do edge-triggered (to run the
    /// oneshot paths, Windows' only mode, in tests elsewhere).
    #[cfg(test)]
    pub(crate) fn new_oneshot() -> io::Result<PollingPoller> {
        Ok(PollingPoller {
            mode: PollMode::Oneshot,
            ..PollingPoller::new()?
        })
    }

    pub(crate) fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        // `polling`'s `add` is unsafe: it cannot check that the fd outlives its registration.
        #[allow(unsafe_code)]
        // SAFETY: `polling` requires the source to be deleted before it is closed; the reactor
        // deletes every source in `Registration::drop` before the I/O object is dropped.
        unsafe {
            self.poller.add_with_mode(fd, PEvent::all(key), self.mode)
        }
    }

    pub(crate) fn is_oneshot(&self) -> bool {
        self.mode == PollMode::Oneshot
    }

    pub(crate) fn rearm(&self, fd: RawFd, key: usize, read: bool, write: bool) -> io::Result<()> {
        if self.mode == PollMode::Edge {
            return Ok(());
        }
        let mut ev = PEvent::none(key);
        ev.readable = read;
        ev.writable = write;
        self.poller.modify_with_mode(borrow(fd), ev, self.mode)
    }

    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.poller.delete(borrow(fd))
    }

    pub(crate) fn wait(&self, out: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.clear();
        match self.poller.wait(&mut events, timeout) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for ev in events.iter() {
            out.push(Event {
                key: ev.key,
                readable: ev.readable || ev.is_interrupt(),
                writable: ev.writable || ev.is_interrupt(),
                read_closed: ev.is_interrupt(),
                write_closed: ev.is_interrupt(),
            });
        }
        Ok(())
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }
}
