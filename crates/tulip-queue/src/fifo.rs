//! [`Fifo`]: the FIFO store of [`Queue`](crate::Queue) and of the mpmc channel, whose bound is
//! a limit and not an allocation.
//!
//! # Layout
//!
//! - **A bound of one** (a `bounded(1)` channel, a `Queue` of `maxsize` 1): a [`Slot`], our
//!   own single-slot queue, whose push and pop are one compare-and-swap and one store, inlined
//!   (concurrent-queue's is an out-of-line call, a dispatch over its three kinds of queue and
//!   two read-modify-writes).
//! - **Unbounded**, or a bound whose ring fits in [`RING_BYTES`]: a [`ConcurrentQueue`] as is
//!   (a ring of `cap` slots allocated up front, or concurrent-queue's segmented unbounded
//!   queue, which allocates blocks as it grows and frees them as it drains).
//! - **A larger bound** ([`Spill`]): a lock-free ring of [`ring_slots`] slots, allocated up
//!   front, holds the oldest items; what does not fit waits behind it in an [`Overflow`] of
//!   fixed-size blocks under a mutex, allocated as it grows and freed as it drains. A queue
//!   that never holds more than a ring's worth of items (the common case) never touches the
//!   overflow: it costs what a ring of that size costs (plus one load per push), and
//!   allocates nothing per item.
//!
//! # The spill protocol
//!
//! `epoch` is odd exactly while the overflow holds items (it is changed under the overflow's
//! lock, right before the first item goes in and right after the last one comes out), so an
//! even epoch read at any instant means the overflow was empty then.
//!
//! - **push**: with an even epoch, push to the ring; if the ring is full, or the epoch is odd,
//!   take the lock, move what fits from the overflow into the ring ([`Fifo::refill`]), and
//!   push to the ring if the overflow is now empty, to the overflow's tail otherwise (or fail
//!   with `Full` when the overflow holds `cap - ring` items and the ring is full).
//! - **pop**: pop from the ring. If it is empty, read the epoch and pop from the ring again.
//!   If the ring is still empty and the epoch was odd, take the lock and pop from the ring
//!   once more (a refill may have moved items in), else take the overflow's oldest item, and
//!   refill. If the epoch was even and still has the same value after the ring was found
//!   empty, the queue was empty at that moment: `Empty`.
//!
//! Why this is FIFO: an item goes to the overflow only while the ring is full or the overflow
//! is not empty, and overflow items enter the ring only at its tail, in order, under the lock;
//! a pusher that read an odd epoch never touches the ring without the lock. The one item that
//! can enter the ring ahead of overflow items is from a pusher that read an even epoch before
//! the spill began and pushed after: its `put` overlapped every `put` that went to the
//! overflow, so either order is a valid one. A popper takes from the overflow only under the
//! lock with the ring empty, and nothing enters the ring while the lock is held except from
//! such a pusher.
//!
//! The bound: the ring holds at most its capacity and the overflow at most `cap - ring`, so
//! the queue never holds more than `cap`; `Full` is reported only when the ring is full and the
//! overflow holds its share, that is with `cap` items in the queue.
//!
//! `len` counts an item that a refill has taken out of the overflow and not yet pushed into
//! the ring in neither part: it may be one short while a refill runs, never over.
//!
//! The loom models in `tests/loom.rs` run with a ring of two slots, so they reach the spill.

use std::{collections::VecDeque, mem};

use concurrent_queue::{ConcurrentQueue, PopError, PushError};

use tulip_util::sync::{lock, AtomicUsize, Mutex, Ordering};

use crate::slot::Slot;

/// The most memory a bounded queue takes before any item is put: its ring, `cap` slots when
/// they fit in this budget, else as many slots as fit. (Under loom, two slots of word-sized
/// items, so that the models reach the overflow.)
#[cfg(not(tulip_loom))]
pub(crate) const RING_BYTES: usize = 32 * 1024;
#[cfg(tulip_loom)]
pub(crate) const RING_BYTES: usize = 32;

/// The number of ring slots, and of items per overflow block, for items of type `T`: as many
/// as fit in [`RING_BYTES`] (a slot is the item and a word of state), at least one.
pub(crate) fn ring_slots<T>() -> usize {
    (RING_BYTES / mem::size_of::<(usize, T)>()).max(1)
}

/// A multi-producer multi-consumer FIFO queue, bounded or not, with concurrent-queue's
/// interface.
pub(crate) struct Fifo<T> {
    /// Which of the layouts of the module docs; one match per operation picks the code.
    kind: Kind<T>,
    /// Under loom only: touched before every operation on a concurrent-queue (see
    /// [`Fifo::ring`]).
    #[cfg(tulip_loom)]
    ring_ops: AtomicUsize,
}

/// The layouts of a [`Fifo`]. (The ring is first: its tag is zero, which costs the hot paths'
/// check one comparison less.)
enum Kind<T> {
    /// No bound, or one whose ring fits in [`RING_BYTES`]: the whole queue is the ring.
    Ring(ConcurrentQueue<T>),
    /// A bound of one: the whole queue is a single slot.
    Slot(Slot<T>),
    /// A larger bound: the ring holds the oldest items (closed when the queue is), the
    /// [`Spill`] the newer ones.
    Spill(ConcurrentQueue<T>, Box<Spill<T>>),
}

/// The part of a [`Fifo`] bounded beyond its ring; see the module docs.
struct Spill<T> {
    /// Odd exactly while the overflow holds items.
    epoch: AtomicUsize,
    /// The overflow's length, readable without the lock.
    overflow_len: AtomicUsize,
    /// The items behind the ring's, oldest first.
    overflow: Mutex<Overflow<T>>,
    /// The bound on ring and overflow together.
    cap: usize,
    /// The overflow's share of the bound: `cap` minus the ring's capacity.
    overflow_cap: usize,
}

impl<T> Fifo<T> {
    /// A queue of the given layout.
    fn new(kind: Kind<T>) -> Self {
        Self {
            kind,
            #[cfg(tulip_loom)]
            ring_ops: AtomicUsize::new(0),
        }
    }

    /// A queue without a bound.
    pub(crate) fn unbounded() -> Self {
        Self::new(Kind::Ring(ConcurrentQueue::unbounded()))
    }

    /// A queue that holds at most `cap` items (`cap > 0`); the memory taken up front is at
    /// most [`RING_BYTES`], whatever `cap` is.
    pub(crate) fn bounded(cap: usize) -> Self {
        Self::with_ring(cap, ring_slots::<T>())
    }

    /// [`bounded`](Self::bounded) with a ring of at most `ring` slots.
    pub(crate) fn with_ring(cap: usize, ring: usize) -> Self {
        assert!(
            cap > 0 && ring > 0,
            "a bounded queue needs room for an item"
        );
        Self::new(if cap == 1 {
            Kind::Slot(Slot::new())
        } else if cap <= ring {
            Kind::Ring(ConcurrentQueue::bounded(cap))
        } else {
            Kind::Spill(
                ConcurrentQueue::bounded(ring),
                Box::new(Spill {
                    epoch: AtomicUsize::new(0),
                    overflow_len: AtomicUsize::new(0),
                    overflow: Mutex::new(Overflow::new(ring)),
                    cap,
                    overflow_cap: cap - ring,
                }),
            )
        })
    }

    /// `ring`, for one operation.
    ///
    /// Under loom the operation is first announced on `ring_ops`: concurrent-queue's atomics
    /// are invisible to loom here (each ring operation runs as one step), and without an
    /// access it can see, loom would take two threads' ring operations for independent and
    /// never try them in the other order. (A [`Slot`]'s atomics are loom's own, and are not
    /// announced: that would only add synchronization that hides theirs.)
    #[inline(always)]
    fn ring<'a>(&self, ring: &'a ConcurrentQueue<T>) -> &'a ConcurrentQueue<T> {
        #[cfg(tulip_loom)]
        self.ring_ops.fetch_add(1, Ordering::SeqCst);
        ring
    }

    /// Pushes `item`, or hands it back if the queue is full or closed.
    #[inline]
    pub(crate) fn push(&self, item: T) -> Result<(), PushError<T>> {
        if let Kind::Slot(slot) = &self.kind {
            return slot.push(item);
        }
        if let Kind::Ring(ring) = &self.kind {
            return self.ring(ring).push(item);
        }
        not_a_ring();
        match &self.kind {
            Kind::Slot(slot) => slot.push(item),
            Kind::Ring(ring) => self.ring(ring).push(item),
            Kind::Spill(ring, spill) => {
                let item = if spill.epoch.load(Ordering::SeqCst) & 1 == 0 {
                    match self.ring(ring).push(item) {
                        Err(PushError::Full(item)) => item,
                        done => return done,
                    }
                } else {
                    item
                };
                self.push_slow(ring, spill, item)
            }
        }
    }

    /// The ring is full, or items wait in the overflow.
    #[cold]
    #[inline(never)]
    fn push_slow(
        &self,
        ring: &ConcurrentQueue<T>,
        spill: &Spill<T>,
        item: T,
    ) -> Result<(), PushError<T>> {
        let mut overflow = lock(&spill.overflow);
        if self.ring(ring).is_closed() {
            return Err(PushError::Closed(item));
        }
        self.refill(ring, spill, &mut overflow);
        let item = if overflow.is_empty() {
            // Nothing waits behind the ring: the ring's tail is the queue's tail.
            match self.ring(ring).push(item) {
                Err(PushError::Full(item)) => item,
                done => return done,
            }
        } else {
            item
        };
        if overflow.len() >= spill.overflow_cap {
            // The refill stopped at a full ring: `cap` items are in the queue.
            return Err(PushError::Full(item));
        }
        if overflow.is_empty() {
            // Odd: from now on pushers come here, behind this item.
            spill.epoch.fetch_add(1, Ordering::SeqCst);
        }
        overflow.push_back(item);
        spill.overflow_len.store(overflow.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Pops the oldest item.
    ///
    /// A [`Slot`] (a bound of one) answers an empty queue from one load, without a
    /// read-modify-write: a receiver that waits meets the empty queue twice per wait (before
    /// registering and in the re-check after it). (On the rings a check before every `pop`
    /// costs a receiver that finds items more than it saves one that waits.)
    #[inline]
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        if let Kind::Slot(slot) = &self.kind {
            return slot.pop();
        }
        if let Kind::Ring(ring) = &self.kind {
            return self.ring(ring).pop();
        }
        not_a_ring();
        match &self.kind {
            Kind::Slot(slot) => slot.pop(),
            Kind::Ring(ring) => self.ring(ring).pop(),
            Kind::Spill(ring, spill) => match self.ring(ring).pop() {
                Ok(item) => Ok(item),
                Err(_) => self.pop_spill(ring, spill),
            },
        }
    }

    /// The ring was found empty, and items may wait in the overflow.
    #[inline(never)]
    fn pop_spill(&self, ring: &ConcurrentQueue<T>, spill: &Spill<T>) -> Result<T, PopError> {
        loop {
            let epoch = spill.epoch.load(Ordering::SeqCst);
            match self.ring(ring).pop() {
                Ok(item) => return Ok(item),
                Err(_) if epoch & 1 == 1 => {
                    if let Some(item) = self.pop_slow(ring, spill) {
                        return Ok(item);
                    }
                    // The spill ended meanwhile: look at the ring again.
                }
                Err(err) => {
                    if spill.epoch.load(Ordering::SeqCst) == epoch {
                        // The overflow was empty from before the ring was found empty until
                        // now: the queue was empty then.
                        return Err(err);
                    }
                    // A spill began (and maybe ended) meanwhile: look again.
                }
            }
        }
    }

    /// The ring was found empty during a spill. `None` if the spill has ended since.
    #[cold]
    #[inline(never)]
    fn pop_slow(&self, ring: &ConcurrentQueue<T>, spill: &Spill<T>) -> Option<T> {
        let mut overflow = lock(&spill.overflow);
        // Under the lock only a pusher that read an even epoch before the spill can add to
        // the ring; a refill may have moved items in before we got the lock.
        let item = match self.ring(ring).pop() {
            Ok(item) => item,
            Err(_) => {
                let item = overflow.pop_front()?;
                spill.overflow_len.store(overflow.len(), Ordering::Relaxed);
                if overflow.is_empty() {
                    spill.epoch.fetch_add(1, Ordering::SeqCst);
                }
                item
            }
        };
        // Let the next pops find their items in the ring, without the lock.
        self.refill(ring, spill, &mut overflow);
        Some(item)
    }

    /// Under the lock: moves the overflow's oldest items to the ring's tail while the ring has
    /// room, and ends the spill (even epoch) if that empties the overflow.
    fn refill(&self, ring: &ConcurrentQueue<T>, spill: &Spill<T>, overflow: &mut Overflow<T>) {
        if overflow.is_empty() || self.ring(ring).is_full() {
            // Nothing to move, or no room (the usual case for a push while the queue holds
            // more than its ring: consumers have not freed a slot since the last refill).
            return;
        }
        let drained = overflow.move_out(|item, left| {
            // Not counted while in between, so `len` is never over.
            spill.overflow_len.store(left, Ordering::Relaxed);
            self.ring(ring).push(item).map_err(|err| {
                // Full, or closed: the item stays the overflow's oldest.
                spill.overflow_len.store(left + 1, Ordering::Relaxed);
                err.into_inner()
            })
        });
        if drained {
            spill.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The number of items (see the module docs for how exact it is under concurrency).
    pub(crate) fn len(&self) -> usize {
        match &self.kind {
            Kind::Slot(slot) => slot.len(),
            Kind::Ring(ring) => self.ring(ring).len(),
            Kind::Spill(ring, spill) => {
                self.ring(ring).len() + spill.overflow_len.load(Ordering::Relaxed)
            }
        }
    }

    /// Whether the queue holds no item; never `true` while an item is in it (a stream's end
    /// depends on it).
    pub(crate) fn is_empty(&self) -> bool {
        let (ring, spill) = match &self.kind {
            Kind::Slot(slot) => return slot.is_empty(),
            Kind::Ring(ring) => return self.ring(ring).is_empty(),
            Kind::Spill(ring, spill) => (ring, spill),
        };
        loop {
            let epoch = spill.epoch.load(Ordering::SeqCst);
            if epoch & 1 == 1 {
                return false;
            }
            let empty = self.ring(ring).is_empty();
            if spill.epoch.load(Ordering::SeqCst) == epoch {
                return empty;
            }
        }
    }

    /// Whether the queue holds `cap` items: its ring is full, and so is the overflow if there
    /// is one.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        match &self.kind {
            Kind::Slot(slot) => slot.is_full(),
            Kind::Ring(ring) => self.ring(ring).is_full(),
            Kind::Spill(ring, spill) => {
                self.ring(ring).is_full()
                    && spill.overflow_len.load(Ordering::Relaxed) >= spill.overflow_cap
            }
        }
    }

    /// The bound; `None` if unbounded.
    pub(crate) fn capacity(&self) -> Option<usize> {
        match &self.kind {
            Kind::Slot(_) => Some(1),
            Kind::Ring(ring) => self.ring(ring).capacity(),
            Kind::Spill(_, spill) => Some(spill.cap),
        }
    }

    /// Closes the queue: pushes fail from now on, pops drain what is left. `true` if this call
    /// closed it.
    pub(crate) fn close(&self) -> bool {
        match &self.kind {
            Kind::Slot(slot) => slot.close(),
            Kind::Ring(ring) => self.ring(ring).close(),
            Kind::Spill(ring, spill) => {
                // Under the overflow's lock: a push into the overflow has then either
                // completed (and the pops after the close find its item) or not begun (and it
                // sees the queue closed).
                let _overflow = lock(&spill.overflow);
                self.ring(ring).close()
            }
        }
    }

    /// Whether the queue is closed.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        match &self.kind {
            Kind::Slot(slot) => slot.is_closed(),
            Kind::Ring(ring) | Kind::Spill(ring, _) => self.ring(ring).is_closed(),
        }
    }

    /// Overflow blocks allocated, the spare included (0 without an overflow).
    #[cfg(all(test, not(tulip_loom)))]
    fn blocks_held(&self) -> usize {
        match &self.kind {
            Kind::Spill(_, spill) => lock(&spill.overflow).blocks_held(),
            _ => 0,
        }
    }
}

/// Called on the paths of [`Fifo::push`] and [`Fifo::pop`] for a spill, and compiled to
/// nothing, so that the compiler lays out the slot's and the ring's paths first: a slot is
/// tested first, then a ring (one comparison each). Testing the slot first costs the rings
/// about 6 instructions per message (`mpsc` 291 → 297) and saves a capacity-1 round trip 20
/// (`ping_pong_spawned` 1 483 → 1 463), which is what keeps that row within issue 22's goal.
#[cold]
#[inline(always)]
fn not_a_ring() {}

/// The items behind the ring, oldest first, in blocks of `block` items: allocated as it grows,
/// freed as it drains, with one empty block kept for the next growth.
///
/// Plain data, used under the [`Spill`]'s lock; it never drops an item.
struct Overflow<T> {
    /// Never an empty block in here.
    blocks: VecDeque<VecDeque<T>>,
    /// An empty block, allocated, for the next one needed.
    spare: Option<VecDeque<T>>,
    /// Items in all blocks.
    len: usize,
    /// Items per block.
    block: usize,
}

impl<T> Overflow<T> {
    fn new(block: usize) -> Self {
        Self {
            blocks: VecDeque::new(),
            spare: None,
            len: 0,
            block,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A block to start: the spare, or a new one.
    fn fresh_block(&mut self) -> VecDeque<T> {
        self.spare
            .take()
            .unwrap_or_else(|| VecDeque::with_capacity(self.block))
    }

    fn push_back(&mut self, item: T) {
        match self.blocks.back_mut() {
            Some(last) if last.len() < self.block => last.push_back(item),
            _ => {
                let mut block = self.fresh_block();
                block.push_back(item);
                self.blocks.push_back(block);
            }
        }
        self.len += 1;
    }

    /// Hands the items to `take`, oldest first, with the number left behind each, until
    /// `take` hands one back (it stays the oldest: `false`) or none is left (`true`).
    fn move_out(&mut self, mut take: impl FnMut(T, usize) -> Result<(), T>) -> bool {
        while let Some(first) = self.blocks.front_mut() {
            while let Some(item) = first.pop_front() {
                self.len -= 1;
                if let Err(item) = take(item, self.len) {
                    first.push_front(item);
                    self.len += 1;
                    return false;
                }
            }
            if let Some(empty) = self.blocks.pop_front() {
                self.retire(empty);
            }
        }
        true
    }

    fn pop_front(&mut self) -> Option<T> {
        let first = self.blocks.front_mut()?;
        let item = first.pop_front();
        if first.is_empty() {
            if let Some(empty) = self.blocks.pop_front() {
                self.retire(empty);
            }
        }
        self.len -= 1;
        item
    }

    /// Keeps an emptied block as the spare, or frees it; the list of blocks shrinks with it.
    fn retire(&mut self, block: VecDeque<T>) {
        if self.spare.is_none() {
            self.spare = Some(block);
        }
        let capacity = self.blocks.capacity();
        if capacity > 8 && self.blocks.len() < capacity / 4 {
            self.blocks.shrink_to(capacity / 2);
        }
    }

    /// Blocks allocated, the spare included.
    #[cfg(all(test, not(tulip_loom)))]
    fn blocks_held(&self) -> usize {
        self.blocks.len() + usize::from(self.spare.is_some())
    }
}

#[cfg(all(test, not(tulip_loom)))]
mod tests {
    use std::{
        collections::VecDeque,
        sync::{Arc, Barrier},
        thread,
    };

    use concurrent_queue::{PopError, PushError};
    use proptest::prelude::*;

    use super::{ring_slots, Fifo, Kind, Overflow, RING_BYTES};

    #[test]
    fn small_bounds_are_a_plain_ring_and_large_ones_spill() {
        assert!(matches!(Fifo::<u64>::bounded(1024).kind, Kind::Ring(_)));
        assert!(matches!(
            Fifo::<u64>::bounded(1 << 20).kind,
            Kind::Spill(..)
        ));
        assert!(matches!(
            Fifo::<u64>::bounded(usize::MAX).kind,
            Kind::Spill(..)
        ));
        assert!(matches!(Fifo::<u64>::unbounded().kind, Kind::Ring(_)));
        // A bound of one is the single slot, whatever the item and the ring.
        assert!(matches!(Fifo::<u64>::bounded(1).kind, Kind::Slot(_)));
        assert!(matches!(
            Fifo::<[u8; 1 << 16]>::bounded(1).kind,
            Kind::Slot(_)
        ));
        assert!(matches!(Fifo::<u64>::with_ring(1, 4).kind, Kind::Slot(_)));
        assert!(matches!(Fifo::<u64>::bounded(2).kind, Kind::Ring(_)));
        // The ring stays within the budget, whatever the item.
        assert_eq!(ring_slots::<u64>(), RING_BYTES / 16);
        assert_eq!(ring_slots::<[u8; 1 << 20]>(), 1);
    }

    #[test]
    fn items_keep_their_order_across_ring_and_overflow() {
        let q = Fifo::with_ring(100, 4);
        for n in 0..100 {
            q.push(n).unwrap();
        }
        assert_eq!(q.len(), 100);
        assert!(q.is_full());
        assert_eq!(q.push(100), Err(PushError::Full(100)));
        for n in 0..100 {
            assert_eq!(q.pop(), Ok(n));
            // Room for one again: it goes behind everything still queued.
            q.push(1000 + n).unwrap();
            assert_eq!(q.push(-1), Err(PushError::Full(-1)));
        }
        let rest: Vec<i32> = std::iter::from_fn(|| q.pop().ok()).collect();
        assert_eq!(rest, (1000..1100).collect::<Vec<_>>());
        assert_eq!(q.pop(), Err(PopError::Empty));
    }

    #[test]
    fn the_full_bound_is_usable_and_not_one_more() {
        for cap in [5, 8, 9, 13] {
            let q = Fifo::with_ring(cap, 4);
            for n in 0..cap {
                q.push(n).unwrap();
            }
            assert_eq!(q.push(cap), Err(PushError::Full(cap)), "cap {cap}");
            assert_eq!(q.len(), cap);
        }
    }

    #[test]
    fn a_drained_overflow_keeps_one_spare_block() {
        // Fewer blocks under Miri (cargo xtask miri --all), where each push takes milliseconds.
        const BLOCKS: usize = if cfg!(miri) { 10 } else { 100 };
        let q = Fifo::with_ring(usize::MAX, 8);
        for n in 0..8 + 8 * BLOCKS {
            q.push(n).unwrap();
        }
        assert_eq!(q.blocks_held(), BLOCKS);
        for _ in 0..8 + 8 * BLOCKS {
            q.pop().unwrap();
        }
        assert_eq!(q.blocks_held(), 1, "the blocks were not given back");
        assert_eq!(q.len(), 0);
        assert!(q.is_empty());
    }

    #[test]
    // Volume on one thread: under Miri (cargo xtask miri --all) 10,000 items take minutes.
    #[cfg_attr(miri, ignore)]
    fn overflow_list_shrinks_as_it_drains() {
        let mut overflow = Overflow::new(2);
        for n in 0..10_000 {
            overflow.push_back(n);
        }
        let grown = overflow.blocks.capacity();
        assert!(grown >= 5_000);
        for n in 0..9_990 {
            assert_eq!(overflow.pop_front(), Some(n));
        }
        assert!(
            overflow.blocks.capacity() <= 64,
            "{} block handles kept for 5 blocks",
            overflow.blocks.capacity()
        );
        let mut moved = Vec::new();
        assert!(!overflow.move_out(|n, left| {
            assert_eq!(left, 9 - moved.len());
            if moved.len() < 3 {
                moved.push(n);
                Ok(())
            } else {
                Err(n)
            }
        }));
        assert_eq!(moved, [9_990, 9_991, 9_992]);
        assert_eq!(overflow.len(), 7);
        let rest: Vec<i32> = std::iter::from_fn(|| overflow.pop_front()).collect();
        assert_eq!(rest, (9_993..10_000).collect::<Vec<_>>());
        assert_eq!(overflow.blocks_held(), 1);
        overflow.push_back(1);
        overflow.push_back(2);
        assert!(overflow.move_out(|_, _| Ok(())));
        assert!(overflow.is_empty());
    }

    #[test]
    fn close_fails_pushes_and_pops_drain_both_parts() {
        let q = Fifo::with_ring(10, 2);
        for n in 0..6 {
            q.push(n).unwrap();
        }
        assert!(q.close());
        assert!(!q.close());
        assert!(q.is_closed());
        assert_eq!(q.push(6), Err(PushError::Closed(6)));
        let got: Vec<i32> = std::iter::from_fn(|| q.pop().ok()).collect();
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        assert_eq!(q.pop(), Err(PopError::Closed));
        assert!(q.is_empty());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(u32),
        Pop,
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                3 => any::<u32>().prop_map(Op::Push),
                2 => Just(Op::Pop),
            ],
            // Shorter under Miri (cargo xtask miri --all): still past any ring and bound here.
            0..if cfg!(miri) { 60 } else { 300 },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 512 }))]

        /// Any bound, any ring: a `VecDeque` with the same bound.
        #[test]
        fn behaves_like_a_bounded_vecdeque(cap in 1..40usize, ring in 1..6usize, ops in ops()) {
            let q = Fifo::with_ring(cap, ring);
            let mut model = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(v) => {
                        let expected = if model.len() < cap {
                            model.push_back(v);
                            Ok(())
                        } else {
                            Err(PushError::Full(v))
                        };
                        prop_assert_eq!(q.push(v), expected);
                    }
                    Op::Pop => {
                        prop_assert_eq!(q.pop().ok(), model.pop_front());
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.is_empty(), model.is_empty());
                prop_assert_eq!(q.is_full(), model.len() == cap);
            }
            // Drained, the overflow keeps at most its spare block.
            while q.pop().is_ok() {}
            prop_assert!(q.blocks_held() <= 1);
        }
    }

    /// Producers and consumers on threads, with a ring much smaller than the bound: every item
    /// arrives once, and each consumer sees each producer's items in order.
    #[test]
    fn threads_keep_per_producer_order_and_lose_nothing() {
        const PRODUCERS: u64 = 3;
        const CONSUMERS: usize = 3;
        // Under Miri (cargo xtask miri --all) fewer: still 10 times the ring's four slots.
        const EACH: u64 = if cfg!(miri) { 40 } else { 30_000 };
        let q = Arc::new(Fifo::with_ring(64, 4));
        let start = Arc::new(Barrier::new(PRODUCERS as usize + CONSUMERS));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, start) = (Arc::clone(&q), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    for i in 0..EACH {
                        let mut item = p * EACH + i;
                        while let Err(err) = q.push(item) {
                            item = err.into_inner();
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let (q, start) = (Arc::clone(&q), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    let mut got = Vec::new();
                    loop {
                        match q.pop() {
                            Ok(n) => got.push(n),
                            Err(PopError::Closed) => return got,
                            Err(PopError::Empty) => thread::yield_now(),
                        }
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        q.close();
        let mut all = Vec::new();
        for consumer in consumers {
            let got = consumer.join().unwrap();
            let mut last = vec![None; PRODUCERS as usize];
            for &n in &got {
                let p = (n / EACH) as usize;
                assert!(last[p] < Some(n), "out of order: {n} after {:?}", last[p]);
                last[p] = Some(n);
            }
            all.extend(got);
        }
        all.sort_unstable();
        assert_eq!(all, (0..PRODUCERS * EACH).collect::<Vec<_>>());
        assert!(q.blocks_held() <= 1);
    }
}
