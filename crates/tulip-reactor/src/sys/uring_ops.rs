//! Completion operations on the io_uring backend: a slab of in-flight operations that own
//! their buffers, and a provided-buffer ring for stream reads.
//!
//! # The buffer-lifetime invariant
//!
//! **The kernel never writes into memory that has been freed or handed back to safe code.**
//! Two kinds of memory are lent to the kernel:
//!
//! - **An operation's own buffer** (a `Vec<u8>` moved into its [`Slot`]): the SQE points into
//!   the `Vec`'s heap block, which does not move when the `Vec` does. The slot keeps the `Vec`
//!   until the operation's completion (CQE) has been reaped; only then is the buffer given back
//!   (to [`Ops::take`]) or dropped. The owner of an operation holds only the slot's index. An
//!   owner that goes away first ([`Ops::orphan`]) leaves the slot marked
//!   [`OpState::Orphaned`], with its buffer, and submits an `ASYNC_CANCEL`; the slot and its
//!   buffer are freed when the CQE arrives — never earlier, whatever the cancellation does.
//! - **The provided-buffer ring** ([`BufRing`]): one allocation of `ENTRIES` buffers,
//!   registered with the kernel. A buffer is the kernel's while its id is in the ring; a recv
//!   completion hands one id to us; we copy data out of it and publish the id back to the
//!   ring. The allocation lives as long as the ring instance (`Uring`); its drop cancels every
//!   operation still in flight and reaps until none is left, and if the kernel does not
//!   finish them in time the memory is leaked rather than freed.
//!
//! A recv completion that picked a ring buffer but whose owner went away returns the buffer
//! to the ring as it is reaped, so orphans never shrink the ring.
//!
//! Sends own their buffers the same way (the caller's bytes are copied into a `Vec` the slot
//! keeps): **a send's buffer lives until its completion has been reaped**, whoever dropped
//! what meanwhile. An orphaned send is *not* cancelled (unless the socket lingers for zero
//! seconds): its bytes were already reported written, as bytes in the socket's buffer are, so
//! it runs to completion and its slot and buffer are freed when the CQE arrives.
//!
//! A multishot accept keeps one slot for all its completions (each a new file descriptor,
//! queued in the slot until the owner takes it); it counts as in flight until its last CQE
//! (one without `IORING_CQE_F_MORE`). Descriptors that reach an orphaned accept, or that were
//! queued when its owner went away, are closed.
//!
//! # Cancel safety of reads
//!
//! A stream's in-flight recv belongs to the stream (its `Source`), not to the future that
//! polls it: dropping a read future leaves the operation running, and whatever the kernel
//! delivers is kept (in its ring buffer) for the next read. Only dropping the stream itself
//! orphans the operation.
//!
//! # Cancel safety of writes
//!
//! A write on the completion path copies the caller's bytes into the stream's send buffer,
//! submits the send (or stages the bytes behind the send in flight) and returns `Ready(n)` at
//! once: the bytes are committed, as bytes a `send(2)` put into the socket buffer are. The
//! in-flight send belongs to the stream; a write that has to wait (the stage full) has taken
//! nothing, so dropping its future loses nothing and writes nothing.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::Waker;

use io_uring::types::BufRingEntry;

/// Buffers in the provided-buffer ring (a power of two).
pub(crate) const RING_ENTRIES: u16 = 128;
/// Size of each ring buffer.
pub(crate) const RING_BUF_SIZE: usize = 16 * 1024;
/// The buffer group id of the ring.
pub(crate) const RING_GROUP: u16 = 0;
/// Accepted connections a multishot accept may queue before it is cancelled (re-armed once
/// the owner has taken them): the listener's backlog stays the kernel's, not our queue.
pub(crate) const ACCEPT_QUEUE_MAX: usize = 64;

/// A send operation's state beside its buffer.
#[derive(Debug)]
pub(crate) struct SendOp {
    /// The owner's fd (valid while the owner lives).
    pub(crate) fd: RawFd,
    /// A duplicate of `fd`, taken when the owner went away with bytes still to send: the
    /// reaper sends the rest on it (the owner's fd number may be closed and reused).
    pub(crate) dup: Option<std::os::fd::OwnedFd>,
    /// Bytes written while `buf` was in flight (at most `SEND_MAX`).
    pub(crate) next: Vec<u8>,
    /// Shut the write side down when everything is sent (a `shutdown` asked for meanwhile;
    /// cleared if the owner goes away).
    pub(crate) then_shutdown: bool,
}

/// What [`Ops::stage_send`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Staged {
    /// Took this many bytes, sent after the send in flight.
    Took(usize),
    /// The stage is full: the owner waits (its waker is stored).
    Full,
    /// The send has completed: the owner takes its result ([`Ops::take`]).
    Finished,
}

/// What kind of operation a slot runs.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A recv; `selects` when its completion may carry a ring buffer (buffer select).
    Recv { selects: bool },
    /// A send of the slot's `buf` on `fd`, with bytes written meanwhile staged in `next`
    /// (the reaper sends them as the same operation when `buf` is done, so sends never
    /// overtake each other).
    Send(Box<SendOp>),
    /// A multishot accept: results (new fds or errors) not taken yet; `cancelling` once the
    /// queue is full and a cancellation was asked for.
    Accept {
        results: VecDeque<i32>,
        cancelling: bool,
    },
}

/// What an operation's slot is waiting for.
#[derive(Debug)]
pub(crate) enum OpState {
    /// In flight; its owner waits with this waker.
    Pending(Option<Waker>),
    /// The CQE was reaped: its result and flags, for the owner to take.
    Done { res: i32, flags: u32 },
    /// In flight, but its owner went away: freed (with its buffer) when its CQE arrives.
    Orphaned,
}

/// One operation: its state and the buffer it lent to the kernel, if any.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) state: OpState,
    /// Kept until the CQE was reaped (see the module docs).
    pub(crate) buf: Option<Vec<u8>>,
    pub(crate) kind: Kind,
    /// The reactor key of the source it reads, whose readiness waiters its completion wakes
    /// too (a task waiting for `readable()` then calling `try_read` must see the data).
    pub(crate) key: Option<usize>,
}

/// The provided-buffer ring: entries shared with the kernel, and the buffers they name.
pub(crate) struct BufRing {
    /// `RING_ENTRIES` entries, page aligned (the kernel maps them).
    entries: *mut BufRingEntry,
    /// `RING_ENTRIES * RING_BUF_SIZE` bytes.
    bufs: *mut u8,
    /// Our copy of the tail (the kernel only reads it).
    tail: u16,
}

#[allow(unsafe_code, reason = "memory shared with the kernel: raw pointers")]
// SAFETY: the raw pointers are owned allocations; every access goes through `&mut self`
// (under the `Ops` mutex) or reads buffers the kernel handed back to us.
unsafe impl Send for BufRing {}

impl std::fmt::Debug for BufRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufRing").field("tail", &self.tail).finish()
    }
}

impl BufRing {
    fn entries_layout() -> Layout {
        Layout::from_size_align(
            usize::from(RING_ENTRIES) * std::mem::size_of::<BufRingEntry>(),
            4096,
        )
        .expect("valid layout")
    }

    fn bufs_layout() -> Layout {
        Layout::from_size_align(usize::from(RING_ENTRIES) * RING_BUF_SIZE, 64)
            .expect("valid layout")
    }

    /// Allocates the ring with every buffer in it (not yet registered).
    pub(crate) fn new() -> Option<BufRing> {
        #[allow(unsafe_code)] // Memory shared with the kernel: raw pointers.
        // SAFETY: both layouts have a non-zero size.
        let (entries, bufs) = unsafe {
            (
                alloc_zeroed(Self::entries_layout()).cast::<BufRingEntry>(),
                alloc_zeroed(Self::bufs_layout()),
            )
        };
        if entries.is_null() || bufs.is_null() {
            #[allow(unsafe_code)] // Memory shared with the kernel: raw pointers.
            // SAFETY: each pointer, when not null, came from `alloc_zeroed` with this layout.
            unsafe {
                if !entries.is_null() {
                    dealloc(entries.cast(), Self::entries_layout());
                }
                if !bufs.is_null() {
                    dealloc(bufs, Self::bufs_layout());
                }
            }
            return None;
        }
        let mut ring = BufRing {
            entries,
            bufs,
            tail: 0,
        };
        for bid in 0..RING_ENTRIES {
            ring.recycle(bid);
        }
        Some(ring)
    }

    /// The address the kernel registers.
    pub(crate) fn addr(&self) -> u64 {
        self.entries as u64
    }

    /// Publishes buffer `bid` to the kernel again.
    pub(crate) fn recycle(&mut self, bid: u16) {
        debug_assert!(bid < RING_ENTRIES);
        let idx = usize::from(self.tail & (RING_ENTRIES - 1));
        #[allow(unsafe_code)] // Memory shared with the kernel: raw pointers.
        // SAFETY: `idx < RING_ENTRIES`, inside the entries allocation. The kernel reads an entry
        // only between the old and the new tail, so the entry at the old tail is ours to write
        // until the tail store below publishes it; the `Release` store orders the entry's
        // writes before it. `tail` points at the `resv` field of entry 0, a `u16` the kernel
        // reads as the ring's tail, properly aligned for an `AtomicU16`. The buffer it names,
        // `bid`, was handed to us by a completion (or never lent) and we no longer read it.
        unsafe {
            let e = &mut *self.entries.add(idx);
            e.set_addr(self.bufs.add(usize::from(bid) * RING_BUF_SIZE) as u64);
            e.set_len(RING_BUF_SIZE as u32);
            e.set_bid(bid);
            self.tail = self.tail.wrapping_add(1);
            let tail = BufRingEntry::tail(self.entries)
                .cast_mut()
                .cast::<AtomicU16>();
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// The first `len` bytes of buffer `bid`, which a completion handed to us.
    pub(crate) fn buf(&self, bid: u16, len: usize) -> &[u8] {
        assert!(bid < RING_ENTRIES && len <= RING_BUF_SIZE);
        #[allow(unsafe_code)] // Memory shared with the kernel: raw pointers.
        // SAFETY: in bounds (asserted). The caller holds `bid` from a completion and has not
        // recycled it, so the kernel does not write it while the slice lives; the memory was
        // zeroed at allocation, so it is initialised whatever the kernel wrote.
        unsafe {
            std::slice::from_raw_parts(self.bufs.add(usize::from(bid) * RING_BUF_SIZE), len)
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        #[allow(unsafe_code)] // Memory shared with the kernel: raw pointers.
        // SAFETY: both came from `alloc_zeroed` with these layouts. `Uring`'s drop reaps every
        // operation before it drops the ring, and leaks the ring (never dropping it) when it
        // cannot (see the module docs), so the kernel no longer uses this memory.
        unsafe {
            dealloc(self.entries.cast(), Self::entries_layout());
            dealloc(self.bufs, Self::bufs_layout());
        }
    }
}

/// The slab of operations and the buffer ring (under one mutex in `Uring`).
#[derive(Debug, Default)]
pub(crate) struct Ops {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Operations whose CQE has not been reaped (pending or orphaned).
    pub(crate) in_flight: usize,
    /// The registered buffer ring, if the kernel took it (Linux 5.19).
    pub(crate) ring: Option<BufRing>,
}

impl Ops {
    /// Takes a free slot for a new operation owning `buf`.
    pub(crate) fn insert(
        &mut self,
        buf: Option<Vec<u8>>,
        kind: Kind,
        key: Option<usize>,
        waker: Waker,
    ) -> u32 {
        let slot = Slot {
            state: OpState::Pending(Some(waker)),
            buf,
            kind,
            key,
        };
        self.in_flight += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// The slot `idx` (live).
    pub(crate) fn slot_mut(&mut self, idx: u32) -> &mut Slot {
        self.slots[idx as usize]
            .as_mut()
            .expect("an operation's slot lives until its owner takes or orphans it")
    }

    /// Frees `idx` and hands back its buffer.
    fn remove(&mut self, idx: u32) -> Slot {
        let s = self.slots[idx as usize].take().expect("live slot");
        self.free.push(idx);
        s
    }

    /// Records the CQE of `idx`; returns what the reaper does with it. An orphan is freed
    /// here (at its last CQE), the ring buffer its completion picked goes back to the ring,
    /// and the fds a multishot accept brings it are closed.
    pub(crate) fn complete(&mut self, idx: u32, res: i32, flags: u32) -> Completed {
        let Some(Some(slot)) = self.slots.get_mut(idx as usize) else {
            return Completed::default();
        };
        let key = slot.key;
        if let Kind::Accept {
            results,
            cancelling,
        } = &mut slot.kind
        {
            let more = io_uring::cqueue::more(flags);
            let mut out = Completed::default();
            match &mut slot.state {
                OpState::Pending(w) => {
                    // The cancellation that ends it (ours, or the backlog cap's) is no result.
                    if res != -libc_ecanceled() || more {
                        results.push_back(res);
                    }
                    out.waker = w.take();
                    out.key = key;
                    if more && results.len() >= ACCEPT_QUEUE_MAX && !*cancelling {
                        *cancelling = true;
                        out.cancel = true;
                    }
                    if !more {
                        slot.state = OpState::Done { res: 0, flags };
                        self.in_flight -= 1;
                    }
                }
                OpState::Orphaned => {
                    close_fd(res);
                    if !more {
                        self.remove(idx);
                        self.in_flight -= 1;
                    }
                }
                OpState::Done { .. } => close_fd(res),
            }
            return out;
        }
        if let (Kind::Send(op), Some(buf)) = (&mut slot.kind, slot.buf.as_mut()) {
            // The fd to go on with: the owner's while it lives, an orphan's duplicate.
            let fd = match (&slot.state, &op.dup) {
                (OpState::Pending(_), _) => Some(op.fd),
                (OpState::Orphaned, Some(d)) => Some(d.as_raw_fd()),
                _ => None,
            };
            // What is left: the rest of a short send (rare with `MSG_WAITALL`), then what was
            // staged meanwhile. Chained as the same operation, with the same `user_data`.
            let sent = usize::try_from(res).unwrap_or(0);
            let short = sent < buf.len();
            let more = (short && res > 0) || (!short && !op.next.is_empty());
            if let (true, true, Some(fd)) = (res >= 0, more, fd) {
                if short {
                    buf.drain(..sent);
                    buf.extend_from_slice(&op.next);
                    op.next.clear();
                } else {
                    std::mem::swap(buf, &mut op.next);
                    op.next.clear();
                }
                let entry = send_entry(fd, buf, u64::from(idx) | super::uring::OP_BIT);
                let (waker, key) = match &mut slot.state {
                    // A writer waiting for room in the stage may stage more now (an orphan's
                    // key may name another source by now: no event for it).
                    OpState::Pending(w) => (w.take(), key),
                    _ => (None, None),
                };
                return Completed {
                    waker,
                    key,
                    write: true,
                    cancel: false,
                    resubmit: Some(entry),
                };
            }
            if op.then_shutdown {
                // The owner asked for a shutdown while this send was in flight: the bytes went
                // (or failed), so the FIN now follows them, as after a readiness write.
                let _ = rustix::net::shutdown(
                    crate::source::borrow(op.fd),
                    rustix::net::Shutdown::Write,
                );
            }
        }
        self.in_flight -= 1;
        let write = matches!(slot.kind, Kind::Send(_));
        match std::mem::replace(&mut slot.state, OpState::Done { res, flags }) {
            OpState::Pending(w) => Completed {
                waker: w,
                key,
                write,
                ..Completed::default()
            },
            OpState::Orphaned => {
                let s = self.remove(idx);
                if let Kind::Recv { selects: true } = s.kind {
                    if let (Some(bid), Some(ring)) =
                        (io_uring::cqueue::buffer_select(flags), self.ring.as_mut())
                    {
                        ring.recycle(bid);
                    }
                }
                // `s.buf` drops here: the kernel is done with it.
                Completed::default()
            }
            OpState::Done { .. } => unreachable!("one CQE per single-shot operation"),
        }
    }

    /// The result of `idx` if its CQE arrived (freeing the slot and returning its buffer);
    /// otherwise stores `waker`.
    pub(crate) fn take(&mut self, idx: u32, waker: &Waker) -> Option<(i32, u32, Option<Vec<u8>>)> {
        let slot = self.slot_mut(idx);
        match &mut slot.state {
            OpState::Pending(w) => {
                match w {
                    Some(w) if w.will_wake(waker) => {}
                    _ => *w = Some(waker.clone()),
                }
                None
            }
            OpState::Done { res, flags } => {
                let (res, flags) = (*res, *flags);
                let s = self.remove(idx);
                Some((res, flags, s.buf))
            }
            OpState::Orphaned => unreachable!("an orphan has no owner to poll it"),
        }
    }

    /// The owner of `idx` goes away. Returns `true` if the operation is still in flight (the
    /// caller submits a cancellation if it wants one); a finished one is freed at once.
    pub(crate) fn orphan(&mut self, idx: u32) -> bool {
        let slot = self.slot_mut(idx);
        match &mut slot.kind {
            Kind::Accept { results, .. } => {
                for fd in results.drain(..) {
                    close_fd(fd);
                }
            }
            Kind::Send(op) => {
                op.then_shutdown = false;
                if matches!(slot.state, OpState::Pending(_)) && !op.next.is_empty() {
                    // What is staged goes out on a duplicate of the fd, which the owner is
                    // about to close (without one, out of fds, it is lost). The duplicate
                    // keeps the file open until the reaper has sent it: a loop that stops
                    // reaping holds the connection's end back (its drop waits up to a second).
                    op.dup = rustix::io::fcntl_dupfd_cloexec(crate::source::borrow(op.fd), 0).ok();
                }
            }
            Kind::Recv { .. } => {}
        }
        match slot.state {
            OpState::Pending(_) => {
                slot.state = OpState::Orphaned;
                true
            }
            OpState::Done { flags, .. } => {
                let s = self.remove(idx);
                if let Kind::Recv { selects: true } = s.kind {
                    if let (Some(bid), Some(ring)) =
                        (io_uring::cqueue::buffer_select(flags), self.ring.as_mut())
                    {
                        ring.recycle(bid);
                    }
                }
                false
            }
            OpState::Orphaned => false,
        }
    }

    /// The next result of the multishot accept `idx`: `Some(Ok(res))` (an fd or `-errno`),
    /// `Some(Err(()))` once it ended with nothing left (the slot is freed: re-arm), `None`
    /// while it runs with nothing queued (`waker` is woken by the next CQE).
    pub(crate) fn take_accept(&mut self, idx: u32, waker: &Waker) -> Option<Result<i32, ()>> {
        let slot = self.slot_mut(idx);
        let Kind::Accept { results, .. } = &mut slot.kind else {
            unreachable!("take_accept on an accept slot");
        };
        if let Some(r) = results.pop_front() {
            return Some(Ok(r));
        }
        match &mut slot.state {
            OpState::Pending(w) => {
                match w {
                    Some(w) if w.will_wake(waker) => {}
                    _ => *w = Some(waker.clone()),
                }
                None
            }
            OpState::Done { .. } => {
                self.remove(idx);
                Some(Err(()))
            }
            OpState::Orphaned => unreachable!("an orphan has no owner to poll it"),
        }
    }

    /// Asks for the write side to be shut down when send `idx` completes; `false` if it
    /// already has (the caller shuts it down itself).
    pub(crate) fn shutdown_after(&mut self, idx: u32) -> bool {
        let slot = self.slot_mut(idx);
        match (&slot.state, &mut slot.kind) {
            (OpState::Pending(_), Kind::Send(op)) => {
                op.then_shutdown = true;
                true
            }
            _ => false,
        }
    }

    /// Whether send `idx` is in flight with `max` bytes staged behind it.
    pub(crate) fn stage_full(&mut self, idx: u32, max: usize) -> bool {
        let slot = self.slot_mut(idx);
        matches!((&slot.state, &slot.kind), (OpState::Pending(_), Kind::Send(op)) if op.next.len() >= max)
    }

    /// Stages `bufs` behind send `idx` while it is in flight (up to `max` bytes staged).
    pub(crate) fn stage_send(
        &mut self,
        idx: u32,
        bufs: &[std::io::IoSlice<'_>],
        max: usize,
        waker: &Waker,
    ) -> Staged {
        let slot = self.slot_mut(idx);
        let (OpState::Pending(w), Kind::Send(op)) = (&mut slot.state, &mut slot.kind) else {
            return Staged::Finished;
        };
        let room = max.saturating_sub(op.next.len());
        let want: usize = bufs.iter().map(|b| b.len()).sum();
        if room == 0 || want == 0 {
            match w {
                Some(w) if w.will_wake(waker) => {}
                _ => *w = Some(waker.clone()),
            }
            return if want == 0 {
                Staged::Took(0)
            } else {
                Staged::Full
            };
        }
        let n = want.min(room);
        let mut left = n;
        for b in bufs {
            let k = b.len().min(left);
            op.next.extend_from_slice(&b[..k]);
            left -= k;
            if left == 0 {
                break;
            }
        }
        Staged::Took(n)
    }

    /// Whether a send is still in flight (its owner's or an orphan).
    pub(crate) fn sends_in_flight(&self) -> bool {
        self.slots.iter().flatten().any(|s| {
            matches!(s.kind, Kind::Send { .. })
                && matches!(s.state, OpState::Pending(_) | OpState::Orphaned)
        })
    }

    /// Whether slot `idx` holds a buffer still lent to the kernel (for tests).
    #[cfg(test)]
    pub(crate) fn holds_buffer(&self, idx: u32) -> bool {
        matches!(&self.slots[idx as usize], Some(s) if s.buf.is_some())
    }
}

/// What the reaper does with a completion.
#[derive(Debug, Default)]
pub(crate) struct Completed {
    /// The owner's waker.
    pub(crate) waker: Option<Waker>,
    /// The source whose readiness waiters look again (for reading, or for writing if
    /// `write`).
    pub(crate) key: Option<usize>,
    /// The event for `key` is a writable one (a send finished or made room).
    pub(crate) write: bool,
    /// Cancel this (multishot) operation: its queue is full.
    pub(crate) cancel: bool,
    /// Submit this entry: the operation goes on (a send's rest or staged bytes).
    pub(crate) resubmit: Option<io_uring::squeue::Entry>,
}

/// The SQE of a send of `buf` on `fd` (`MSG_NOSIGNAL | MSG_WAITALL`: on a stream socket the
/// kernel retries a short send itself, so a completion is all of it or an error). The caller
/// keeps `buf` in the operation's slot until the CQE is reaped.
pub(crate) fn send_entry(fd: RawFd, buf: &[u8], user_data: u64) -> io_uring::squeue::Entry {
    // `MSG_WAITALL` is 0x100 on Linux (rustix names it for receives only).
    const MSG_WAITALL: u32 = 0x100;
    let flags = (rustix::net::SendFlags::NOSIGNAL.bits() | MSG_WAITALL) as i32;
    let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    io_uring::opcode::Send::new(io_uring::types::Fd(fd), buf.as_ptr(), len)
        .flags(flags)
        .build()
        .user_data(user_data)
}

fn libc_ecanceled() -> i32 {
    rustix::io::Errno::CANCELED.raw_os_error()
}

/// Closes an fd a completion brought and nobody will take (negative: an error, nothing to
/// close).
fn close_fd(res: i32) {
    if res >= 0 {
        #[allow(unsafe_code)] // Taking ownership of a raw fd.
        // SAFETY: a non-negative accept result is a new fd the kernel installed for us, owned
        // by nothing else; this is its only owner, which closes it.
        drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(res) });
    }
}
