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
//! # Cancel safety of reads
//!
//! A stream's in-flight recv belongs to the stream (its `Source`), not to the future that
//! polls it: dropping a read future leaves the operation running, and whatever the kernel
//! delivers is kept (in its ring buffer) for the next read. Only dropping the stream itself
//! orphans the operation.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::Waker;

use io_uring::types::BufRingEntry;

/// Buffers in the provided-buffer ring (a power of two).
pub(crate) const RING_ENTRIES: u16 = 128;
/// Size of each ring buffer.
pub(crate) const RING_BUF_SIZE: usize = 16 * 1024;
/// The buffer group id of the ring.
pub(crate) const RING_GROUP: u16 = 0;

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
    /// Whether the completion may carry a ring buffer (recv with buffer select).
    pub(crate) selects: bool,
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
        selects: bool,
        key: Option<usize>,
        waker: Waker,
    ) -> u32 {
        let slot = Slot {
            state: OpState::Pending(Some(waker)),
            buf,
            selects,
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

    /// Records the CQE of `idx`; returns the owner's waker and its source's key. An orphan is
    /// freed here, and the ring buffer its completion picked goes back to the ring.
    pub(crate) fn complete(
        &mut self,
        idx: u32,
        res: i32,
        flags: u32,
    ) -> (Option<Waker>, Option<usize>) {
        let Some(Some(slot)) = self.slots.get_mut(idx as usize) else {
            return (None, None);
        };
        self.in_flight -= 1;
        let key = slot.key;
        match std::mem::replace(&mut slot.state, OpState::Done { res, flags }) {
            OpState::Pending(w) => (w, key),
            OpState::Orphaned => {
                let s = self.remove(idx);
                if s.selects {
                    if let (Some(bid), Some(ring)) =
                        (io_uring::cqueue::buffer_select(flags), self.ring.as_mut())
                    {
                        ring.recycle(bid);
                    }
                }
                // `s.buf` drops here: the kernel is done with it.
                (None, None)
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
    /// caller submits a cancellation); a finished one is freed at once.
    pub(crate) fn orphan(&mut self, idx: u32) -> bool {
        let slot = self.slot_mut(idx);
        match slot.state {
            OpState::Pending(_) => {
                slot.state = OpState::Orphaned;
                true
            }
            OpState::Done { flags, .. } => {
                let selects = slot.selects;
                self.remove(idx);
                if selects {
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

    /// Whether slot `idx` holds a buffer still lent to the kernel (for tests).
    #[cfg(test)]
    pub(crate) fn holds_buffer(&self, idx: u32) -> bool {
        matches!(&self.slots[idx as usize], Some(s) if s.buf.is_some())
    }
}
