//! The unfinished-task counter behind `task_done()` and `join()`.
//!
//! # State
//!
//! - `count`: items put and not yet marked done (asyncio's `_unfinished_tasks`). Incremented
//!   by every successful put, decremented by `task_done()` (never below zero: that is
//!   [`TooManyTaskDone`]) and by an immediate shutdown for each item it discards.
//! - `epoch`: bumped every time `count` reaches zero. asyncio's `join()` waits on an
//!   `asyncio.Event` that `task_done()` sets; a joiner woken by that `set()` returns even if a
//!   `put()` clears the event again before the joiner runs. A joiner here remembers the epoch
//!   it started in, and returns once `count` is zero *or* the epoch has moved on: the same
//!   rule, without a lock.
//!
//! # Ordering
//!
//! A joiner reads `epoch` before `count`. If it reads a non-zero count, the decrement to zero
//! that will release it has not happened yet, so the `epoch` bump after that decrement is
//! later than the joiner's read and the joiner cannot miss it. The wake-up itself follows the
//! [`Waiters`] protocol.

use std::{
    fmt,
    task::{Context, Poll},
};

use tulip_util::sync::{AtomicUsize, Ordering};

use crate::{
    error::TooManyTaskDone,
    waiters::{WaitSlot, Waiters},
};

/// `count` + `epoch` + the joiners' wait list.
pub(crate) struct TaskCounter {
    count: AtomicUsize,
    epoch: AtomicUsize,
    joiners: Waiters,
}

impl TaskCounter {
    /// No unfinished tasks.
    pub(crate) fn new() -> Self {
        Self {
            count: AtomicUsize::new(0),
            epoch: AtomicUsize::new(0),
            joiners: Waiters::new("Queue.join"),
        }
    }

    /// The number of unfinished tasks.
    pub(crate) fn unfinished(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// One more unfinished task (a put succeeded, or is about to).
    pub(crate) fn add(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// `task_done()`.
    pub(crate) fn done(&self) -> Result<(), TooManyTaskDone> {
        let mut current = self.count.load(Ordering::SeqCst);
        loop {
            if current == 0 {
                return Err(TooManyTaskDone);
            }
            match self.count.compare_exchange_weak(
                current,
                current - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        if current == 1 {
            self.finished();
        }
        Ok(())
    }

    /// Subtracts up to `n` without going below zero (an immediate shutdown discarding `n`
    /// items, or a put that did not happen after all). Releases the joiners when this brings
    /// the count to zero.
    pub(crate) fn sub_saturating(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut current = self.count.load(Ordering::SeqCst);
        loop {
            if current == 0 {
                return;
            }
            let new = current.saturating_sub(n);
            match self
                .count
                .compare_exchange_weak(current, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) if new == 0 => return self.finished(),
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The count just reached zero: start a new epoch and wake every joiner.
    fn finished(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.joiners.notify_all();
    }

    /// Polls a `join()`: `start` is the epoch the joiner started in (set on the first poll).
    pub(crate) fn poll_join(
        &self,
        start: &mut Option<usize>,
        slot: &mut WaitSlot,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        loop {
            slot.take_notification(&self.joiners);
            let epoch = match *start {
                Some(epoch) => epoch,
                None => {
                    let epoch = self.epoch.load(Ordering::SeqCst);
                    *start = Some(epoch);
                    epoch
                }
            };
            if self.count.load(Ordering::SeqCst) == 0 || self.epoch.load(Ordering::SeqCst) != epoch
            {
                slot.discard(&self.joiners);
                return Poll::Ready(());
            }
            if slot.poll_wait(&self.joiners, cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// A joiner went away before it was released.
    pub(crate) fn cancel_join(&self, slot: &mut WaitSlot) {
        slot.clear(&self.joiners);
    }
}

impl fmt::Debug for TaskCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCounter")
            .field("unfinished", &self.unfinished())
            .finish()
    }
}
