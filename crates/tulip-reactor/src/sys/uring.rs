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
//! # Completion operations
//!
//! Beside the polls, the ring runs single-shot operations whose `user_data` is
//! `OP_BIT | slot` ([`uring_ops`](super::uring_ops): a slab of slots that own their buffers, and
//! a registered provided-buffer ring). Their completions are reaped in the same pass as the
//! polls' and wake their owners (and the readiness waiters of the source they read). See
//! `uring_ops` for the buffer-lifetime invariant and `Drop for Uring` for how it holds at the
//! end.
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
use std::task::Waker;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use rustix::event::{eventfd, EventfdFlags, PollFlags};

use super::uring_ops::{send_entry, BufRing, Kind, Ops, SendOp, Staged, RING_ENTRIES, RING_GROUP};
use super::Event;
use crate::reactor::lock;

/// `user_data` of the notification eventfd's poll (generation 0 is never a source's).
const NOTIFY: u64 = 0;
/// `user_data` of requests whose completions carry nothing (poll removals).
const IGNORE: u64 = 1;
/// Set in the `user_data` of completion operations (`OP_BIT | slot`); polls' generations
/// have 31 bits, so theirs never has it.
pub(crate) const OP_BIT: u64 = 1 << 63;
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
        // 31 bits: the top bit of `user_data` marks completion operations (`OP_BIT`).
        self.next_gen = (self.next_gen.wrapping_add(1) & 0x7FFF_FFFF).max(1);
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
        // SAFETY: polls, poll removals and cancellations point at no memory of ours. Completion
        // operations point into a buffer their slot in `ops` owns until their CQE is reaped,
        // or into the registered buffer ring, which outlives every operation (see the
        // buffer-lifetime invariant in `uring_ops`).
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
    /// Completion operations and the provided-buffer ring (lock order: `cq` → `regs` → `ops`;
    /// `ops` → `sq`).
    ops: Mutex<Ops>,
    /// Whether the kernel took the provided-buffer ring.
    buf_ring: bool,
    /// Whether stream writes are sends and listeners accept with a multishot accept
    /// (completion ops on, and not limited to reads by `TULIP_URING_OPS=recv`).
    send_accept: bool,
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
            ops: Mutex::new(Ops::default()),
            buf_ring: false,
            send_accept: false,
        };
        let mut uring = uring;
        uring.probe()?;
        uring.setup_buf_ring();
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
        let mut wakers = Vec::new();
        let res = self.wait_inner(out, timeout, &mut wakers);
        // Outside every lock of the backend (waking only queues tasks).
        for w in wakers {
            w.wake();
        }
        res
    }

    fn wait_inner(
        &self,
        out: &mut Vec<Event>,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> io::Result<()> {
        let mut rearm = lock(&self.cq);
        let seen = self.reap(out, &mut rearm, wakers);
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
            self.reap(out, &mut rearm, wakers);
            self.rearm(&mut rearm)?;
        }
        Ok(())
    }

    /// Moves completions into `out`; returns how many there were (notifications included).
    /// Polls that ended are collected in `rearm`.
    /// Completions of operations wake their owners (into `wakers`).
    fn reap(
        &self,
        out: &mut Vec<Event>,
        rearm: &mut CqGuard<'_>,
        wakers: &mut Vec<Waker>,
    ) -> usize {
        let mut n = 0;
        let regs = lock(&self.regs);
        let cq = self.completions(rearm);
        let mut ended = Vec::new();
        let mut ops = None;
        for cqe in cq {
            n += 1;
            let data = cqe.user_data();
            let more = cqueue::more(cqe.flags());
            let res = cqe.result();
            if data & OP_BIT != 0 {
                let ops = ops.get_or_insert_with(|| lock(&self.ops));
                let idx = (data & !OP_BIT) as u32;
                let done = ops.complete(idx, res, cqe.flags());
                wakers.extend(done.waker);
                if let Some(e) = done.resubmit {
                    // A send goes on with what is left (lock order `ops` → `sq` holds); it is
                    // submitted with the next enter.
                    let _ = self.push(&[e], false);
                }
                if done.cancel {
                    // A multishot accept filled its queue: stop it (its owner re-arms it once
                    // the queue is taken), so the backlog stays in the kernel. Lock order
                    // `ops` → `sq` holds. Submitted now, while the slot (whose `user_data`
                    // the cancel names) cannot have been freed and given to another operation.
                    let cancel = opcode::AsyncCancel::new(data).build().user_data(IGNORE);
                    let _ = self.push(&[cancel], true);
                }
                if let Some(key) = done.key {
                    // Data (or an error) for the source, or room behind its send: its
                    // readiness waiters look again.
                    out.push(Event {
                        key,
                        readable: !done.write,
                        writable: done.write,
                        read_closed: false,
                        write_closed: false,
                    });
                }
                continue;
            }
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

    // ----- completion operations (see `uring_ops`) -----

    /// Registers the provided-buffer ring (Linux 5.19); without it, stream reads stay on the
    /// readiness path.
    fn setup_buf_ring(&mut self) {
        let ops = std::env::var("TULIP_URING_OPS");
        if ops.as_deref() == Ok("0") {
            return;
        }
        let Some(ring) = BufRing::new() else { return };
        #[allow(unsafe_code)] // The io-uring crate's registration is unsafe.
        // SAFETY: `ring.addr()` is a page-aligned allocation of `RING_ENTRIES` entries that
        // lives in `ops` as long as this ring (see `Drop for Uring`).
        let res = unsafe {
            self.ring.submitter().register_buf_ring_with_flags(
                ring.addr(),
                RING_ENTRIES,
                RING_GROUP,
                0,
            )
        };
        if res.is_ok() {
            lock(&self.ops).ring = Some(ring);
            self.buf_ring = true;
            // Multishot accept came with the buffer ring (5.19), send long before.
            self.send_accept = ops.as_deref() != Ok("recv");
        }
    }

    /// Whether stream writes go through [`submit_send`](Self::submit_send) and listeners
    /// through [`submit_accept`](Self::submit_accept).
    pub(crate) fn has_send_accept(&self) -> bool {
        self.send_accept
    }

    /// Whether stream reads may go through [`submit_recv`](Self::submit_recv).
    pub(crate) fn has_buf_ring(&self) -> bool {
        self.buf_ring
    }

    /// Queues a recv on `fd` that picks a buffer from the ring (submitted with the next
    /// `io_uring_enter`, or at once if a thread waits in the kernel). Returns its slot.
    pub(crate) fn submit_recv(
        &self,
        fd: RawFd,
        key: Option<usize>,
        waker: &Waker,
    ) -> io::Result<u32> {
        let mut ops = lock(&self.ops);
        let idx = ops.insert(None, Kind::Recv { selects: true }, key, waker.clone());
        let e = opcode::Recv::new(types::Fd(fd), std::ptr::null_mut(), 0)
            .buf_group(RING_GROUP)
            .build()
            .flags(squeue::Flags::BUFFER_SELECT)
            .user_data(OP_BIT | u64::from(idx));
        self.push_op(&mut ops, idx, &e)
    }

    /// Queues a recv of up to `len` bytes on `fd` into a buffer the operation owns (the
    /// fallback when the ring is empty).
    pub(crate) fn submit_recv_owned(
        &self,
        fd: RawFd,
        len: usize,
        key: Option<usize>,
        waker: &Waker,
    ) -> io::Result<u32> {
        let mut ops = lock(&self.ops);
        let mut buf = vec![0u8; len];
        let ptr = buf.as_mut_ptr();
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        // The `Vec`'s heap block does not move when the `Vec` moves into the slot.
        let idx = ops.insert(Some(buf), Kind::Recv { selects: false }, key, waker.clone());
        let e = opcode::Recv::new(types::Fd(fd), ptr, len)
            .build()
            .user_data(OP_BIT | u64::from(idx));
        self.push_op(&mut ops, idx, &e)
    }

    /// Queues a send of `buf` on `fd` (`MSG_NOSIGNAL | MSG_WAITALL`: a stream send the kernel
    /// finishes whole unless it fails). The slot owns `buf` until the CQE is reaped;
    /// [`take_op`](Self::take_op) gives it back. Bytes staged meanwhile
    /// ([`stage_send`](Self::stage_send)) go out as the same operation.
    pub(crate) fn submit_send(
        &self,
        fd: RawFd,
        buf: Vec<u8>,
        key: usize,
        waker: &Waker,
    ) -> io::Result<u32> {
        let mut ops = lock(&self.ops);
        // The `Vec`'s heap block does not move when the `Vec` moves into the slot.
        let idx = ops.insert(
            Some(buf),
            Kind::Send(Box::new(SendOp {
                fd,
                dup: None,
                next: Vec::new(),
                then_shutdown: false,
            })),
            Some(key),
            waker.clone(),
        );
        let e = send_entry(
            fd,
            ops.slot_mut(idx).buf.as_deref().unwrap_or_default(),
            OP_BIT | u64::from(idx),
        );
        self.push_op(&mut ops, idx, &e)
    }

    /// Whether send `idx` has no room left behind it (a write would wait).
    pub(crate) fn stage_full(&self, idx: u32, max: usize) -> bool {
        lock(&self.ops).stage_full(idx, max)
    }

    /// Stages bytes behind send `idx` (see `Ops::stage_send`).
    pub(crate) fn stage_send(
        &self,
        idx: u32,
        bufs: &[io::IoSlice<'_>],
        max: usize,
        waker: &Waker,
    ) -> Staged {
        lock(&self.ops).stage_send(idx, bufs, max, waker)
    }

    /// Queues a multishot accept on the listener `fd` (new fds non-blocking and
    /// close-on-exec); its results are taken with [`take_accept`](Self::take_accept).
    pub(crate) fn submit_accept(&self, fd: RawFd, key: usize, waker: &Waker) -> io::Result<u32> {
        let mut ops = lock(&self.ops);
        let idx = ops.insert(
            None,
            Kind::Accept {
                results: Default::default(),
                cancelling: false,
            },
            Some(key),
            waker.clone(),
        );
        let flags = (rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC).bits();
        let e = opcode::AcceptMulti::new(types::Fd(fd))
            .flags(flags as i32)
            .build()
            .user_data(OP_BIT | u64::from(idx));
        self.push_op(&mut ops, idx, &e)
    }

    /// The next result of multishot accept `idx` (see `Ops::take_accept`).
    pub(crate) fn take_accept(&self, idx: u32, waker: &Waker) -> Option<Result<i32, ()>> {
        lock(&self.ops).take_accept(idx, waker)
    }

    /// Shuts the write side of `fd` down once send `idx` completes; `false` if it already
    /// has (shut it down now).
    pub(crate) fn shutdown_after(&self, idx: u32) -> bool {
        lock(&self.ops).shutdown_after(idx)
    }

    fn push_op(&self, ops: &mut Ops, idx: u32, e: &squeue::Entry) -> io::Result<u32> {
        match self.push(std::slice::from_ref(e), false) {
            Ok(()) => Ok(idx),
            Err(err) => {
                // Never queued (or queued and the enter failed: then it may still complete,
                // so keep its slot as an orphan until the CQE comes).
                ops.orphan(idx);
                Err(err)
            }
        }
    }

    /// The result, flags and buffer of operation `idx` once its CQE has been reaped (the
    /// slot is freed); until then `None`, and `waker` is woken when it is.
    pub(crate) fn take_op(&self, idx: u32, waker: &Waker) -> Option<(i32, u32, Option<Vec<u8>>)> {
        lock(&self.ops).take(idx, waker)
    }

    /// The owner of operation `idx` goes away: the slot keeps its buffer until the CQE, and
    /// the operation is cancelled if `cancel`.
    pub(crate) fn orphan_op(&self, idx: u32, cancel: bool) {
        let in_flight = lock(&self.ops).orphan(idx);
        if in_flight && cancel {
            let cancel = opcode::AsyncCancel::new(OP_BIT | u64::from(idx))
                .build()
                .user_data(IGNORE);
            // Submitted now: the operation holds its file open until it ends.
            let _ = self.push(&[cancel], true);
        } else if in_flight {
            // Submitted now, while the owner's fd is still open: an operation still queued
            // must take its file before the fd number can close (or be reused).
            let _ = self.push(&[], true);
        }
    }

    /// Runs `f` on the ring buffer `bid` (its first `len` bytes), which a completion handed
    /// over; `recycle` gives it back to the ring afterwards.
    pub(crate) fn with_ring_buf<R>(
        &self,
        bid: u16,
        len: usize,
        recycle: bool,
        f: impl FnOnce(&[u8]) -> R,
    ) -> R {
        let mut ops = lock(&self.ops);
        let ring = ops.ring.as_mut().expect("a buffer id comes from the ring");
        let r = f(ring.buf(bid, len));
        if recycle {
            ring.recycle(bid);
        }
        r
    }

    /// Gives ring buffer `bid` back without reading it.
    pub(crate) fn recycle(&self, bid: u16) {
        if let Some(ring) = lock(&self.ops).ring.as_mut() {
            ring.recycle(bid);
        }
    }

    /// Cancels every operation in flight, behind their owners' backs (for tests of ended
    /// operations).
    #[cfg(test)]
    pub(crate) fn cancel_all(&self) {
        let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(IGNORE);
        self.push(&[cancel], true).unwrap();
    }

    /// Operations whose CQE has not been reaped yet.
    #[cfg(test)]
    pub(crate) fn ops_in_flight(&self) -> usize {
        lock(&self.ops).in_flight
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

impl Drop for Uring {
    /// Keeps the buffer-lifetime invariant at the end: gives sends in flight up to a second
    /// to finish, then cancels every operation still in flight and reaps until their CQEs are in (bounded); if some never come, the slots'
    /// buffers and the ring are leaked rather than freed under the kernel.
    fn drop(&mut self) {
        if lock(&self.ops).in_flight == 0 {
            return;
        }
        let mut out = Vec::new();
        // Sends carry bytes the writers were told were written (write-behind): give them a
        // moment (bounded: a peer that reads nothing must not hold the loop's end up) to reach
        // the socket buffers, as they would have on a readiness path.
        for _ in 0..100 {
            if !lock(&self.ops).sends_in_flight() {
                break;
            }
            let _ = self.wait(&mut out, Some(Duration::from_millis(10)));
            out.clear();
        }
        let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(IGNORE);
        let _ = self.push(&[cancel], true);
        for _ in 0..100 {
            if lock(&self.ops).in_flight == 0 {
                return;
            }
            let _ = self.wait(&mut out, Some(Duration::from_millis(10)));
            out.clear();
        }
        let ops = std::mem::take(&mut *lock(&self.ops));
        std::mem::forget(ops);
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

    /// Reaps until operation `idx` is done (bounded); returns its result, flags and buffer.
    fn finish(u: &Uring, idx: u32) -> (i32, u32, Option<Vec<u8>>) {
        let waker = std::task::Waker::noop();
        let mut out = Vec::new();
        for _ in 0..500 {
            if let Some(r) = u.take_op(idx, waker) {
                return r;
            }
            u.wait(&mut out, Some(Duration::from_millis(10))).unwrap();
        }
        panic!("operation {idx} never completed");
    }

    #[test]
    fn a_ring_recv_completes_with_the_data() {
        let Some(u) = ring() else { return };
        if !u.has_buf_ring() {
            return;
        }
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"hello ring").unwrap();
        let idx = u
            .submit_recv(a.as_raw_fd(), None, std::task::Waker::noop())
            .unwrap();
        let (res, flags, buf) = finish(&u, idx);
        assert_eq!(res, 10);
        assert!(buf.is_none());
        let bid = cqueue::buffer_select(flags).expect("a ring buffer");
        let data = u.with_ring_buf(bid, res as usize, true, |d| d.to_vec());
        assert_eq!(data, b"hello ring");
        assert_eq!(u.ops_in_flight(), 0);
    }

    #[test]
    fn an_owned_recv_completes_into_its_buffer() {
        let Some(u) = ring() else { return };
        let (a, mut b) = UnixStream::pair().unwrap();
        let idx = u
            .submit_recv_owned(a.as_raw_fd(), 64, None, std::task::Waker::noop())
            .unwrap();
        b.write_all(b"owned").unwrap();
        let (res, _, buf) = finish(&u, idx);
        assert_eq!(res, 5);
        assert_eq!(&buf.unwrap()[..5], b"owned");
    }

    /// The owner goes away while the recv is in flight: the slot keeps the buffer until the
    /// CQE (the cancellation's `ECANCELED`) is reaped, then frees it; the data sent afterwards
    /// was never taken by the cancelled operation.
    #[test]
    fn an_orphaned_op_keeps_its_buffer_until_its_completion() {
        let Some(u) = ring() else { return };
        let (a, mut b) = UnixStream::pair().unwrap();
        let idx = u
            .submit_recv_owned(a.as_raw_fd(), 4096, None, std::task::Waker::noop())
            .unwrap();
        let mut out = Vec::new();
        // Submitted and parked in the kernel (no data yet).
        u.wait(&mut out, Some(Duration::ZERO)).unwrap();
        u.orphan_op(idx, true);
        assert!(lock(&u.ops).holds_buffer(idx), "freed before its CQE");
        assert_eq!(u.ops_in_flight(), 1);
        for _ in 0..500 {
            if u.ops_in_flight() == 0 {
                break;
            }
            u.wait(&mut out, Some(Duration::from_millis(10))).unwrap();
        }
        assert_eq!(u.ops_in_flight(), 0, "the cancellation never completed");
        // The cancelled recv took nothing: the bytes are still the socket's.
        b.write_all(b"late").unwrap();
        let mut got = [0u8; 4];
        std::io::Read::read_exact(&mut &a, &mut got).unwrap();
        assert_eq!(&got, b"late");
    }

    /// Dropping the ring with operations in flight cancels and reaps them first.
    #[test]
    fn dropping_the_ring_with_ops_in_flight_reaps_them() {
        let Some(u) = ring() else { return };
        let (a, _b) = UnixStream::pair().unwrap();
        for _ in 0..8 {
            u.submit_recv_owned(a.as_raw_fd(), 128, None, std::task::Waker::noop())
                .unwrap();
        }
        drop(u);
    }

    #[test]
    fn many_ops_in_flight_complete_each_with_its_own_data() {
        let Some(u) = ring() else { return };
        if !u.has_buf_ring() {
            return;
        }
        let pairs: Vec<_> = (0..64).map(|_| UnixStream::pair().unwrap()).collect();
        let idxs: Vec<u32> = pairs
            .iter()
            .map(|(a, _)| {
                u.submit_recv(a.as_raw_fd(), None, std::task::Waker::noop())
                    .unwrap()
            })
            .collect();
        for (i, (_, b)) in pairs.iter().enumerate() {
            (&*b).write_all(format!("msg {i}").as_bytes()).unwrap();
        }
        for (i, idx) in idxs.into_iter().enumerate() {
            let (res, flags, _) = finish(&u, idx);
            assert!(res > 0, "op {i}: {res}");
            let bid = cqueue::buffer_select(flags).unwrap();
            let d = u.with_ring_buf(bid, res as usize, true, |d| d.to_vec());
            assert_eq!(d, format!("msg {i}").as_bytes());
        }
        assert_eq!(u.ops_in_flight(), 0);
    }

    /// More recvs than ring buffers, none given back: the kernel answers `ENOBUFS` (taking no
    /// data) once the ring is dry.
    #[test]
    fn a_dry_ring_answers_enobufs_without_taking_data() {
        let Some(u) = ring() else { return };
        if !u.has_buf_ring() {
            return;
        }
        let n = usize::from(RING_ENTRIES) + 2;
        let pairs: Vec<_> = (0..n).map(|_| UnixStream::pair().unwrap()).collect();
        for (_, b) in &pairs {
            (&*b).write_all(b"x").unwrap();
        }
        let mut held = Vec::new();
        let mut dry = Vec::new();
        for (i, (a, _)) in pairs.iter().enumerate() {
            let idx = u
                .submit_recv(a.as_raw_fd(), None, std::task::Waker::noop())
                .unwrap();
            let (res, flags, _) = finish(&u, idx);
            if res == -rustix::io::Errno::NOBUFS.raw_os_error() {
                dry.push(i);
            } else {
                assert_eq!(res, 1);
                held.push(cqueue::buffer_select(flags).unwrap());
            }
        }
        assert_eq!(held.len(), usize::from(RING_ENTRIES));
        assert_eq!(dry.len(), 2);
        for i in dry {
            let mut b = [0u8; 1];
            std::io::Read::read_exact(&mut &pairs[i].0, &mut b).unwrap();
            assert_eq!(&b, b"x");
        }
        for bid in held {
            u.recycle(bid);
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
