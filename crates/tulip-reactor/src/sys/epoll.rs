//! Linux epoll through rustix: edge-triggered, registered once, no timerfd.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::time::Duration;

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};

use super::Event;
use crate::source::borrow;

/// Key reserved for the notification eventfd.
const NOTIFY_KEY: u64 = u64::MAX;
/// Events fetched per wait (more wait for the next turn, which comes right after).
const BATCH: usize = 256;

/// An epoll instance plus the eventfd that interrupts its waits.
pub(crate) struct Epoll {
    epfd: OwnedFd,
    eventfd: OwnedFd,
}

impl std::fmt::Debug for Epoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Epoll")
            .field("epfd", &self.epfd)
            .finish_non_exhaustive()
    }
}

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        let epfd = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        // Edge-triggered: every write makes a new edge, so the counter is never read back.
        epoll::add(
            &epfd,
            &eventfd,
            EventData::new_u64(NOTIFY_KEY),
            EventFlags::IN | EventFlags::ET,
        )?;
        Ok(Epoll { epfd, eventfd })
    }

    pub(crate) fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        // PRI: urgent (out-of-band) data, at whose mark a read stops short (see `wait`).
        let flags =
            EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::PRI | EventFlags::ET;
        epoll::add(
            &self.epfd,
            borrow(fd),
            EventData::new_u64(key as u64),
            flags,
        )?;
        Ok(())
    }

    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        epoll::delete(&self.epfd, borrow(fd))?;
        Ok(())
    }

    pub(crate) fn wait(&self, out: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = timeout.map(|t| {
            // Round up to whole milliseconds: rustix then uses plain epoll_pwait, which takes
            // milliseconds, and a wait is never shorter than asked.
            let ms = t.as_nanos().div_ceil(1_000_000);
            let ms = i64::try_from(ms)
                .unwrap_or(i64::MAX)
                .min(i64::from(i32::MAX));
            Timespec {
                tv_sec: ms / 1000,
                tv_nsec: (ms % 1000) * 1_000_000,
            }
        });
        // A stack buffer: rustix's event type holds a pointer and is not Send, so it cannot
        // live in the (shared) reactor.
        let mut buf = [MaybeUninit::<epoll::Event>::uninit(); BATCH];
        let ready = match epoll::wait(&self.epfd, &mut buf, timeout.as_ref()) {
            Ok((ready, _)) => ready,
            Err(rustix::io::Errno::INTR) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for ev in ready.iter() {
            let key = ev.data.u64();
            if key == NOTIFY_KEY {
                continue;
            }
            let f = ev.flags;
            let err = f.intersects(EventFlags::ERR | EventFlags::HUP);
            out.push(Event {
                key: key as usize,
                readable: err || f.intersects(EventFlags::IN | EventFlags::RDHUP | EventFlags::PRI),
                writable: err || f.contains(EventFlags::OUT),
                // Urgent data (TCP `MSG_OOB`, or Unix stream OOB since Linux 5.15) ends a read
                // at its mark with ordinary data still queued and no event to come for it: a
                // short read proves nothing on this socket from now on, as after a FIN.
                read_closed: err || f.intersects(EventFlags::RDHUP | EventFlags::PRI),
                write_closed: err,
            });
        }
        Ok(())
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        match rustix::io::write(self.eventfd.as_fd(), &1u64.to_ne_bytes()) {
            Ok(_) => Ok(()),
            // The counter is full: a wake-up is pending anyway. Drain it so later writes
            // make new edges.
            Err(rustix::io::Errno::AGAIN) => {
                let mut b = [0u8; 8];
                let _ = rustix::io::read(self.eventfd.as_fd(), &mut b);
                let _ = rustix::io::write(self.eventfd.as_fd(), &1u64.to_ne_bytes());
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
