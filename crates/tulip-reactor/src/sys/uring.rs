//! Linux io_uring as a readiness backend: one multishot `POLL_ADD` per source, waits and
//! submissions in one `io_uring_enter` per loop turn.
//!
//! # How the reactor's invariants are kept
//!
//! - **Event counter.** Every source gets one multishot poll for `POLLIN | POLLOUT | POLLRDHUP
//!   | POLLPRI` (errors and hang-ups are always reported). The kernel posts a completion for
//!   every wake-up of the file (edge-like, as `EPOLLET`), whose `res` is the file's current
//!   mask; the reactor turns it into an [`Event`] that bumps the per-direction counters exactly
//!   as an epoll event does.
//! - **Drained hint.** The poll asks for `POLLRDHUP` and `POLLPRI`, so a closed read side and
//!   urgent data are reported as on epoll (`read_closed`), and the backend may trust a short
//!   read or write (`trusts_short_io`).
//! - **A multishot poll that ends** (a completion without `IORING_CQE_F_MORE`: the CQ ring
//!   overflowed, or the request was cancelled behind our back) is counted as an event in both
//!   directions (a spurious wake, which every operation tolerates) and re-armed at once. A
//!   re-armed poll checks the file's state when it is armed, so nothing that happened in
//!   between is lost.
//! - **Deregistration.** Each registration has a generation; a completion's `user_data` is
//!   `generation << 32 | key`. `delete` removes the poll (`POLL_REMOVE`) and submits at once,
//!   before the owner closes the fd, and bumps the key's generation, so a completion still in
//!   the ring for the old registration is recognised as stale and dropped: the kernel never
//!   reports an event of a closed (possibly reused) fd number to the wrong source.
//! - **Notifications.** An eventfd with its own multishot poll: `notify` is one eventfd write
//!   (from any thread), and every write is a completion that ends a blocked `io_uring_enter`.
//!   The counter is never read back (as with the epoll backend), so a re-armed poll fires at
//!   once: one spurious wake.
//! - **Timeouts.** The wait's timeout goes to `io_uring_enter` itself (`IORING_ENTER_EXT_ARG`,
//!   Linux 5.11): no timeout SQE, nothing to cancel afterwards. Rounded up to whole
//!   milliseconds, as on epoll, so a timer never fires early and both backends wake alike.
//! - **Batching.** A registration made while no thread waits in the kernel is only queued; the
//!   next wait submits it with the same `io_uring_enter` that waits. A non-blocking check with
//!   nothing to submit reads the completion ring without entering the kernel at all.
//!
//! # Threads
//!
//! Any thread may register, deregister and notify; one thread at a time waits (the reactor's
//! park lock). The submission queue is guarded by a mutex; a thread that queues a submission
//! while another waits in the kernel submits it itself, so the poll is armed at once. The
//! completion queue is read only by the waiting thread (its own mutex, never contended).
//!
//! # When it is refused
//!
//! [`Uring::new`] probes the ring: `io_uring_setup`, `IORING_FEAT_EXT_ARG`, and a multishot
//! poll that must report twice (Linux 5.13). Any refusal (old kernel, seccomp, a container's
//! `io_uring_disabled`) is an error, and the caller falls back to epoll.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use rustix::event::{eventfd, EventfdFlags, PollFlags};

use super::Event;
use crate::reactor::lock;

/// `user_data` of the notification eventfd's poll (generation 0 is never a source's).
const NOTIFY: u64 = 0;
/// `user_data` of requests whose completions carry nothing (poll removals).
const IGNORE: u64 = 1;
/// Submission queue entries: registrations beyond this in one turn are submitted early.
const SQ_ENTRIES: u32 = 256;
/// Completion queue entries: events beyond this in one turn overflow, which ends multishot
/// polls (they are re-armed).
const CQ_ENTRIES: u32 = 4096;

/// What a source's poll asks for.
fn interest() -> u32 {
    // Errors and hang-ups are always reported.
    u32::from((PollFlags::IN | PollFlags::OUT | PollFlags::RDHUP | PollFlags::PRI).bits())
}

/// One key's registration.
#[derive(Debug, Clone, Copy)]
struct Reg {
    fd: RawFd,
    /// The generation of its current (or last) poll.
    gen: u32,
    live: bool,
}

/// Registrations by key, and the next generation.
#[derive(Debug)]
struct Regs {
    slots: Vec<Reg>,
    next_gen: u32,
}

impl Regs {
    fn next_gen(&mut self) -> u32 {
        let g = self.next_gen;
        // Generation 0 is reserved for the backend's own requests.
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        g
    }
}

fn user_data(gen: u32, key: u32) -> u64 {
    (u64::from(gen) << 32) | u64::from(key)
}

/// The `cq` lock's guard: it holds the re-arms collected while reaping.
type CqGuard<'a> = MutexGuard<'a, Vec<(RawFd, u64)>>;

/// The submission queue while the `sq` lock is held.
struct Submissions<'a>(squeue::SubmissionQueue<'a>);

impl Submissions<'_> {
    /// Queues one entry (`Err` when the queue is full).
    fn push_entry(&mut self, e: &squeue::Entry) -> Result<(), squeue::PushError> {
        #[allow(unsafe_code)] // The io-uring crate's push is unsafe.
        // SAFETY: the entries this backend makes are polls and poll removals: they point at no
        // memory of ours, so nothing must outlive the request.
        unsafe {
            self.0.push(e)
        }
    }
}

/// An io_uring instance plus the eventfd that interrupts its waits.
pub(crate) struct Uring {
    ring: IoUring,
    /// Guards the submission queue: any thread pushes.
    sq: Mutex<()>,
    /// Guards the completion queue: the waiting thread reads it (and queued re-arms).
    cq: Mutex<Vec<(RawFd, u64)>>,
    /// Set (under `sq`) while a thread waits in `io_uring_enter`: a submission queued meanwhile
    /// is submitted by the thread that queued it.
    waiting: AtomicBool,
    regs: Mutex<Regs>,
    eventfd: OwnedFd,
}

impl std::fmt::Debug for Uring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uring")
            .field("ring", &self.ring.as_raw_fd())
            .finish_non_exhaustive()
    }
}

impl Uring {
    /// Sets up a ring and probes what the backend needs (see the module docs).
    pub(crate) fn new() -> io::Result<Uring> {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(CQ_ENTRIES);
        // Keep submitting a batch past a request that fails (5.18); older kernels refuse the
        // flag, and then a batch may stop early (the rest goes with the next enter).
        let ring = match builder.setup_submit_all().build(SQ_ENTRIES) {
            Ok(r) => r,
            Err(_) => {
                let mut b = IoUring::builder();
                b.setup_cqsize(CQ_ENTRIES);
                b.build(SQ_ENTRIES)?
            }
        };
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11)",
            ));
        }
        let eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let uring = Uring {
            ring,
            sq: Mutex::new(()),
            cq: Mutex::new(Vec::new()),
            waiting: AtomicBool::new(false),
            regs: Mutex::new(Regs {
                slots: Vec::new(),
                next_gen: 1,
            }),
            eventfd,
        };
        uring.probe()?;
        Ok(uring)
    }

    /// Arms the eventfd's multishot poll and checks that it reports twice with more to come
    /// (a kernel without multishot poll fails the request or ends it after one report).
    fn probe(&self) -> io::Result<()> {
        self.push(&[self.notify_poll()], true)?;
        for _ in 0..2 {
            self.notify()?;
            let ts = types::Timespec::new().sec(1);
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::TIME.raw_os_error()) => {}
                Err(e) => return Err(e),
            }
            let cq = lock(&self.cq);
            let cqe = self.completions(&cq).next();
            match cqe {
                Some(c)
                    if c.user_data() == NOTIFY && c.result() >= 0 && cqueue::more(c.flags()) => {}
                Some(c) if c.result() < 0 => {
                    return Err(io::Error::from_raw_os_error(-c.result()));
                }
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "io_uring has no multishot poll (Linux 5.13)",
                    ))
                }
            }
        }
        Ok(())
    }

    /// The submission queue, borrowed while `_guard` (the `sq` lock) is held.
    fn submissions<'a>(&'a self, _guard: &'a MutexGuard<'_, ()>) -> Submissions<'a> {
        #[allow(unsafe_code)] // The io-uring crate's shared queue access is unsafe.
        // SAFETY: the crate requires that no other `SubmissionQueue` of this ring exists
        // meanwhile; every one is made here, under the `sq` lock that the caller proves it holds
        // and that outlives the queue.
        Submissions(unsafe { self.ring.submission_shared() })
    }

    /// The completion queue, borrowed while `_guard` (the `cq` lock) is held.
    fn completions<'a>(&'a self, _guard: &'a CqGuard<'_>) -> cqueue::CompletionQueue<'a> {
        #[allow(unsafe_code)] // The io-uring crate's shared queue access is unsafe.
        // SAFETY: as for `submissions`: every `CompletionQueue` of this ring is made here,
        // under the `cq` lock, which the caller holds for as long as the queue lives.
        unsafe {
            self.ring.completion_shared()
        }
    }

    fn notify_poll(&self) -> squeue::Entry {
        opcode::PollAdd::new(
            types::Fd(self.eventfd.as_raw_fd()),
            u32::from(PollFlags::IN.bits()),
        )
        .multi(true)
        .build()
        .user_data(NOTIFY)
    }

    fn source_poll(fd: RawFd, data: u64) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(fd), interest())
            .multi(true)
            .build()
            .user_data(data)
    }

    /// Queues `entries`; submits them now if `now`, if another thread waits in the kernel, or
    /// if the queue fills up.
    fn push(&self, entries: &[squeue::Entry], now: bool) -> io::Result<()> {
        let sq = lock(&self.sq);
        for e in entries {
            loop {
                let pushed = self.submissions(&sq).push_entry(e);
                if pushed.is_ok() {
                    break;
                }
                // Full: hand the kernel what is queued (it consumes submissions in order).
                self.ring.submit()?;
            }
        }
        if now || self.waiting.load(Ordering::SeqCst) {
            self.ring.submit()?;
        }
        Ok(())
    }

    pub(crate) fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        let key = u32::try_from(key).map_err(|_| io::Error::other("too many sources"))?;
        // A poll on a regular file or a directory is ready at once and never again (no wait
        // queue): refuse them, as epoll does.
        let stat = rustix::fs::fstat(crate::source::borrow(fd))?;
        let kind = rustix::fs::FileType::from_raw_mode(stat.st_mode);
        if matches!(
            kind,
            rustix::fs::FileType::RegularFile | rustix::fs::FileType::Directory
        ) {
            return Err(io::Error::from_raw_os_error(
                rustix::io::Errno::PERM.raw_os_error(),
            ));
        }
        let mut regs = lock(&self.regs);
        let gen = regs.next_gen();
        let k = key as usize;
        if regs.slots.len() <= k {
            regs.slots.resize(
                k + 1,
                Reg {
                    fd: -1,
                    gen: 0,
                    live: false,
                },
            );
        }
        regs.slots[k] = Reg {
            fd,
            gen,
            live: true,
        };
        // Pushed under `regs`, so a `delete` of this key queues its removal after this poll.
        self.push(&[Self::source_poll(fd, user_data(gen, key))], false)
    }

    pub(crate) fn delete(&self, key: usize) -> io::Result<()> {
        let Ok(key) = u32::try_from(key) else {
            return Ok(());
        };
        let mut regs = lock(&self.regs);
        let Some(reg) = regs.slots.get(key as usize).copied() else {
            return Ok(());
        };
        if !reg.live {
            return Ok(());
        }
        // A new generation: completions of the old poll still in flight are stale.
        let gen = regs.next_gen();
        regs.slots[key as usize] = Reg {
            fd: -1,
            gen,
            live: false,
        };
        // A cancel, not a `POLL_REMOVE`: a removal fails (`EALREADY`) while the poll is firing
        // — as it is right after being armed on a ready socket — and the poll would then live
        // on, holding the file open after the owner closed its fd. A cancel marks the request
        // and always ends it.
        let cancel = opcode::AsyncCancel::new(user_data(reg.gen, key))
            .build()
            .user_data(IGNORE);
        // Submitted now, before the owner closes the fd: the poll (and its hold on the file)
        // goes as soon as the kernel has run the cancellation.
        self.push(&[cancel], true)
    }

    pub(crate) fn wait(&self, out: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let mut rearm = lock(&self.cq);
        let seen = self.reap(out, &mut rearm);
        self.rearm(&mut rearm)?;
        let block = timeout != Some(Duration::ZERO) && seen == 0;
        let need_enter = {
            let guard = lock(&self.sq);
            let sq = self.submissions(&guard);
            let need = block || !sq.0.is_empty() || sq.0.cq_overflow() || sq.0.taskrun();
            drop(sq);
            if block {
                self.waiting.store(true, Ordering::SeqCst);
            }
            need
        };
        if need_enter {
            let res = if block {
                match timeout {
                    Some(t) => {
                        // Whole milliseconds, rounded up (as on epoll: never early).
                        let ms = t.as_nanos().div_ceil(1_000_000);
                        let ms = u64::try_from(ms).unwrap_or(u64::MAX);
                        let ts = types::Timespec::new()
                            .sec(ms / 1000)
                            .nsec(((ms % 1000) * 1_000_000) as u32);
                        let args = types::SubmitArgs::new().timespec(&ts);
                        self.ring.submitter().submit_with_args(1, &args)
                    }
                    None => self.ring.submit_and_wait(1),
                }
            } else {
                self.ring.submit()
            };
            self.waiting.store(false, Ordering::SeqCst);
            match res {
                Ok(_) => {}
                Err(e) => match rustix::io::Errno::from_io_error(&e) {
                    // Timed out, interrupted, or completions are waiting to be flushed.
                    Some(rustix::io::Errno::TIME)
                    | Some(rustix::io::Errno::INTR)
                    | Some(rustix::io::Errno::BUSY) => {}
                    _ => return Err(e),
                },
            }
            self.reap(out, &mut rearm);
            self.rearm(&mut rearm)?;
        }
        Ok(())
    }

    /// Moves completions into `out`; returns how many there were (notifications included).
    /// Polls that ended are collected in `rearm`.
    fn reap(&self, out: &mut Vec<Event>, rearm: &mut CqGuard<'_>) -> usize {
        let mut n = 0;
        let regs = lock(&self.regs);
        let cq = self.completions(rearm);
        let mut ended = Vec::new();
        for cqe in cq {
            n += 1;
            let data = cqe.user_data();
            let more = cqueue::more(cqe.flags());
            let res = cqe.result();
            if data == NOTIFY {
                if !more {
                    ended.push((self.eventfd.as_raw_fd(), NOTIFY));
                }
                continue;
            }
            if data >> 32 == 0 {
                continue;
            }
            let key = (data & u64::from(u32::MAX)) as usize;
            let gen = (data >> 32) as u32;
            let Some(reg) = regs.slots.get(key) else {
                continue;
            };
            if !reg.live || reg.gen != gen {
                // A completion of a removed registration.
                continue;
            }
            if res < 0 && res != -rustix::io::Errno::CANCELED.raw_os_error() {
                // The poll failed for good: report an error in both directions, so waiters
                // try their operation and get the error from it.
                out.push(Event {
                    key,
                    readable: true,
                    writable: true,
                    read_closed: true,
                    write_closed: true,
                });
                continue;
            }
            if !more {
                ended.push((reg.fd, data));
            }
            if res < 0 {
                // Cancelled behind our back: a spurious wake, and the poll is re-armed.
                out.push(Event {
                    key,
                    readable: true,
                    writable: true,
                    read_closed: false,
                    write_closed: false,
                });
                continue;
            }
            let f = PollFlags::from_bits_truncate(res as u16);
            let err = f.intersects(PollFlags::ERR | PollFlags::HUP);
            out.push(Event {
                key,
                // A poll that ended is also a wake in both directions: what it missed while
                // it was down is seen when it is re-armed.
                readable: !more
                    || err
                    || f.intersects(PollFlags::IN | PollFlags::RDHUP | PollFlags::PRI),
                writable: !more || err || f.contains(PollFlags::OUT),
                // As on epoll: a FIN, a hang-up, an error, or urgent data (a read stops short
                // at its mark with data still queued).
                read_closed: err || f.intersects(PollFlags::RDHUP | PollFlags::PRI),
                write_closed: err,
            });
        }
        rearm.extend(ended);
        n
    }

    /// Re-arms the polls that ended (still registered: checked under `regs`, and pushed under
    /// it so that a `delete` coming after queues its removal after the new poll).
    fn rearm(&self, rearm: &mut CqGuard<'_>) -> io::Result<()> {
        if rearm.is_empty() {
            return Ok(());
        }
        let regs = lock(&self.regs);
        let entries: Vec<squeue::Entry> = rearm
            .drain(..)
            .filter(|&(_, data)| {
                if data == NOTIFY {
                    return true;
                }
                let key = (data & u64::from(u32::MAX)) as usize;
                regs.slots
                    .get(key)
                    .is_some_and(|r| r.live && u64::from(r.gen) == data >> 32)
            })
            .map(|(fd, data)| {
                if data == NOTIFY {
                    self.notify_poll()
                } else {
                    Self::source_poll(fd, data)
                }
            })
            .collect();
        let res = self.push(&entries, false);
        drop(regs);
        res
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        match rustix::io::write(self.eventfd.as_fd(), &1u64.to_ne_bytes()) {
            Ok(_) => Ok(()),
            // The counter is full: a wake-up is pending anyway. Drain it so later writes
            // wake the poll again.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    fn ring() -> Option<Uring> {
        match Uring::new() {
            Ok(u) => Some(u),
            Err(e) => {
                eprintln!("io_uring unavailable here ({e}); skipping");
                None
            }
        }
    }

    #[test]
    fn reports_readable_and_closed() {
        let Some(u) = ring() else { return };
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        u.add(a.as_raw_fd(), 7).unwrap();
        let mut out = Vec::new();
        // Writable at once.
        u.wait(&mut out, Some(Duration::from_millis(100))).unwrap();
        assert!(out
            .iter()
            .any(|e| e.key == 7 && e.writable && !e.read_closed));
        out.clear();
        b.write_all(b"x").unwrap();
        u.wait(&mut out, Some(Duration::from_millis(100))).unwrap();
        assert!(out.iter().any(|e| e.key == 7 && e.readable));
        out.clear();
        drop(b);
        u.wait(&mut out, Some(Duration::from_millis(100))).unwrap();
        assert!(out
            .iter()
            .any(|e| e.key == 7 && e.readable && e.read_closed));
        u.delete(7).unwrap();
    }

    #[test]
    fn removed_sources_report_nothing_even_on_a_reused_key() {
        let Some(u) = ring() else { return };
        let (a, mut b) = UnixStream::pair().unwrap();
        u.add(a.as_raw_fd(), 3).unwrap();
        let mut out = Vec::new();
        u.wait(&mut out, Some(Duration::ZERO)).unwrap();
        // Writable event queued, not reaped yet; the key goes and comes back for another fd.
        b.write_all(b"x").unwrap();
        u.delete(3).unwrap();
        drop(a);
        let (c, _d) = UnixStream::pair().unwrap();
        u.add(c.as_raw_fd(), 3).unwrap();
        out.clear();
        u.wait(&mut out, Some(Duration::from_millis(50))).unwrap();
        // Only the new registration's events (writable, never readable: nothing was sent).
        assert!(out.iter().all(|e| e.key != 3 || !e.readable));
        u.delete(3).unwrap();
    }

    #[test]
    fn notify_wakes_a_blocked_wait_from_another_thread() {
        let Some(u) = ring() else { return };
        let u = std::sync::Arc::new(u);
        let u2 = u.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            u2.notify().unwrap();
        });
        let start = std::time::Instant::now();
        let mut out = Vec::new();
        u.wait(&mut out, None).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
    }

    /// A source registered from another thread while the loop's thread is blocked in
    /// `io_uring_enter` is armed at once (the registering thread submits it), not at the next
    /// turn: the blocked wait returns with its event long before its timeout.
    #[test]
    fn a_registration_from_another_thread_reaches_a_blocked_wait() {
        let Some(u) = ring() else { return };
        let u = std::sync::Arc::new(u);
        let mut out = Vec::new();
        // Drain the probe's notifications first.
        u.wait(&mut out, Some(Duration::ZERO)).unwrap();
        out.clear();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.write_all(b"x").unwrap();
        let u2 = u.clone();
        let fd = a.as_raw_fd();
        let adder = std::thread::spawn(move || {
            // Wait (bounded) until the other thread is inside the kernel.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !u2.waiting.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
            u2.add(fd, 9).unwrap();
        });
        let start = std::time::Instant::now();
        while !out.iter().any(|e| e.key == 9 && e.readable) {
            assert!(
                start.elapsed() < Duration::from_secs(4),
                "the poll was never armed"
            );
            u.wait(&mut out, Some(Duration::from_secs(5))).unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(4));
        adder.join().unwrap();
        u.delete(9).unwrap();
        drop(a);
    }

    #[test]
    fn timeouts_are_never_short() {
        let Some(u) = ring() else { return };
        let mut out = Vec::new();
        // Drain the probe's notifications first.
        u.wait(&mut out, Some(Duration::ZERO)).unwrap();
        let start = std::time::Instant::now();
        u.wait(&mut out, Some(Duration::from_micros(1500))).unwrap();
        assert!(start.elapsed() >= Duration::from_micros(1500));
    }

    #[test]
    fn regular_files_are_refused_as_on_epoll() {
        let Some(u) = ring() else { return };
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        assert!(u.add(f.as_raw_fd(), 1).is_err());
    }

    /// The poll holds the file: unless it is really cancelled, closing the fd would not close
    /// the socket (no FIN, no reset). Delete right after adding (both in one batch, where a
    /// `POLL_REMOVE` fails with `EALREADY`), after the poll was armed, and from another thread.
    #[test]
    fn a_deleted_sources_socket_really_closes() {
        use std::io::Read;
        let Some(u) = ring() else { return };
        let u = std::sync::Arc::new(u);
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        for how in 0..3 {
            let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            s.set_nonblocking(true).unwrap();
            u.add(s.as_raw_fd(), 5).unwrap();
            let mut out = Vec::new();
            if how > 0 {
                u.wait(&mut out, Some(Duration::ZERO)).unwrap();
            }
            if how == 2 {
                let u2 = u.clone();
                std::thread::spawn(move || u2.delete(5).unwrap())
                    .join()
                    .unwrap();
            } else {
                u.delete(5).unwrap();
            }
            drop(s);
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut b = [0u8; 4];
            assert_eq!(
                c.read(&mut b).unwrap(),
                0,
                "case {how}: the peer saw no FIN"
            );
            out.clear();
            u.wait(&mut out, Some(Duration::ZERO)).unwrap();
            assert!(out.is_empty(), "case {how}: {out:?}");
        }
    }
}
