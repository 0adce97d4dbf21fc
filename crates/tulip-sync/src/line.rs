//! [`Line`]: the semaphore core's queue of waiters, a ring buffer in ticket order.
//!
//! Every waiter gets a ticket one above the last one given out, and joins at the back, so the
//! ring is sorted by ticket. The semaphore only ever takes waiters out at the front (a
//! hand-off) except when an acquire is cancelled; a cancelled waiter leaves a hole (its waker
//! is dropped at once) which a hand-off skips, or which is trimmed when it is at the back or
//! at the front when the cancel happens, and the ring is compacted
//! once holes outnumber waiters, so its length stays within twice the number of waiters (plus
//! a small constant). A waiter is found by its ticket with a binary search, which only a
//! cancel or a spurious poll needs.
//!
//! Compared with a slab and a linked list, a hand-off reads one slot and a new waiter writes
//! one: no links to follow or mend, and the waiter keeps only its ticket.

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::task::Waker;

/// Holes tolerated beyond the number of waiters before a compaction.
const SLACK: usize = 8;

/// A ring with more slots than this is freed when the line becomes empty.
const SHRINK_ABOVE: usize = 1024;

/// One slot: a waiter, or the hole a cancelled one left.
struct Slot {
    ticket: u64,
    /// `None`: a hole.
    waker: Option<Waker>,
}

/// A FIFO of wakers, each with its ticket; see the module docs. Its owner holds a lock
/// around every call and wakes the wakers it gets back after releasing it.
pub(crate) struct Line {
    /// Waiters and holes, in ticket order. The back is never a hole.
    slots: VecDeque<Slot>,
    /// Waiters (the slots that are not holes).
    waiting: usize,
    /// The ticket of the last waiter that joined.
    last_ticket: u64,
}

impl Line {
    /// An empty line; allocates nothing until the first waiter.
    pub(crate) const fn new() -> Self {
        Self {
            slots: VecDeque::new(),
            waiting: 0,
            last_ticket: 0,
        }
    }

    /// The number of waiters.
    #[inline(always)]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// A waiter joins at the back, to be woken through `waker`; returns its ticket.
    #[inline(always)]
    pub(crate) fn push(&mut self, waker: Waker) -> NonZeroU64 {
        // Tickets start at 1 (2^64 of them will not run out).
        let ticket = NonZeroU64::MIN.saturating_add(self.last_ticket);
        self.last_ticket = ticket.get();
        self.slots.push_back(Slot {
            ticket: ticket.get(),
            waker: Some(waker),
        });
        self.waiting += 1;
        ticket
    }

    /// Takes the oldest waiter out: its waker and ticket. `None` if nobody waits.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<(Waker, u64)> {
        loop {
            let Slot { ticket, waker } = self.slots.pop_front()?;
            // Holes are skipped.
            if let Some(waker) = waker {
                self.waiting -= 1;
                if self.waiting == 0 {
                    // No waiter left, so no hole either (the back is never one).
                    debug_assert!(self.slots.is_empty());
                    self.shrink_if_large();
                }
                return Some((waker, ticket));
            }
        }
    }

    /// Replaces the waker of the waiter with `ticket` unless it would wake the same task.
    /// Panics if that waiter is not in the line.
    pub(crate) fn set_waker(&mut self, ticket: u64, waker: &Waker) {
        let index = self.find(ticket);
        let old = self.slots[index]
            .waker
            .as_mut()
            .expect("a live waiter at its ticket");
        if !old.will_wake(waker) {
            old.clone_from(waker);
        }
    }

    /// Takes the waiter with `ticket` out (a cancel), dropping its waker. Panics if it is not
    /// in the line.
    pub(crate) fn remove(&mut self, ticket: u64) {
        let index = self.find(ticket);
        let waker = self.slots[index].waker.take();
        debug_assert!(waker.is_some(), "removed a hole");
        self.waiting -= 1;
        if self.waiting == 0 {
            self.slots.clear();
            self.shrink_if_large();
        } else {
            self.trim_front();
            while self.slots.back().is_some_and(|slot| slot.waker.is_none()) {
                self.slots.pop_back();
            }
            if self.slots.len() > 2 * self.waiting + SLACK {
                self.slots.retain(|slot| slot.waker.is_some());
            }
        }
        // Dropped after the line is consistent again (a waker's drop may panic).
        drop(waker);
    }

    /// The index of the slot with `ticket` (the line is sorted by ticket).
    fn find(&self, ticket: u64) -> usize {
        self.slots
            .binary_search_by_key(&ticket, |slot| slot.ticket)
            .expect("a queued waiter's ticket is in the line")
    }

    /// Pops the holes at the front.
    #[inline(always)]
    fn trim_front(&mut self) {
        while self.slots.front().is_some_and(|slot| slot.waker.is_none()) {
            self.slots.pop_front();
        }
    }

    /// Gives a large ring back once the line is empty.
    #[inline(always)]
    fn shrink_if_large(&mut self) {
        if self.slots.capacity() > SHRINK_ABOVE {
            self.slots = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counted() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&count), Waker::from(count))
    }

    fn waker() -> Waker {
        counted().1
    }

    fn tickets(line: &mut Line) -> Vec<u64> {
        std::iter::from_fn(|| line.pop().map(|(_, ticket)| ticket)).collect()
    }

    fn push(line: &mut Line) -> u64 {
        line.push(waker()).get()
    }

    #[test]
    fn fifo_in_ticket_order() {
        let mut line = Line::new();
        assert_eq!((push(&mut line), push(&mut line)), (1, 2));
        assert_eq!(line.pop().map(|(_, t)| t), Some(1));
        assert_eq!(push(&mut line), 3);
        assert_eq!(tickets(&mut line), [2, 3]);
        assert!(line.pop().is_none());
        assert_eq!(line.waiting(), 0);
    }

    #[test]
    fn cancelled_waiters_are_skipped_wherever_they_were() {
        let mut line = Line::new();
        let t: Vec<u64> = (0..6).map(|_| push(&mut line)).collect();
        line.remove(t[0]); // the front
        line.remove(t[2]); // the middle
        line.remove(t[5]); // the back
        assert_eq!(line.waiting(), 3);
        assert_eq!(line.slots.len(), 4);
        assert_eq!(line.pop().map(|(_, t)| t), Some(t[1]));
        // The hole of t[2] is at the front now: the next hand-off skips it.
        assert_eq!(line.pop().map(|(_, t)| t), Some(t[3]));
        line.remove(t[4]);
        assert!(line.pop().is_none());
        let t6 = push(&mut line);
        let t7 = push(&mut line);
        line.remove(t6);
        assert_eq!(
            line.slots.len(),
            1,
            "a hole at the front when cancelled is trimmed"
        );
        assert_eq!(tickets(&mut line), [t7]);
        assert!(line.slots.is_empty());
    }

    #[test]
    fn holes_stay_bounded_behind_a_waiter_that_never_leaves() {
        let mut line = Line::new();
        let first = push(&mut line);
        let mut other = push(&mut line);
        for _ in 0..10_000 {
            // A second waiter joins, and the one before it gives up: a hole in the middle.
            let next = push(&mut line);
            line.remove(other);
            other = next;
            assert!(line.slots.len() <= 2 * line.waiting() + SLACK + 1);
        }
        assert_eq!(tickets(&mut line), [first, other]);
    }

    #[test]
    fn set_waker_replaces_the_waker_that_a_hand_off_wakes() {
        let mut line = Line::new();
        let (a, wa) = counted();
        let (b, wb) = counted();
        let ticket = line.push(wa).get();
        line.set_waker(ticket, &wb);
        let (waker, t) = line.pop().unwrap();
        assert_eq!(t, ticket);
        waker.wake();
        assert_eq!(a.0.load(Ordering::SeqCst), 0);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_large_ring_is_freed_when_empty() {
        let mut line = Line::new();
        let t: Vec<u64> = (0..2 * SHRINK_ABOVE).map(|_| push(&mut line)).collect();
        for ticket in t {
            line.remove(ticket);
        }
        assert_eq!(line.slots.capacity(), 0);
        line.push(waker());
        while line.pop().is_some() {}
        assert_eq!(line.waiting(), 0);
    }
}
