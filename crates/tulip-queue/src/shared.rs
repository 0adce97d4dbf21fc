//! The engine shared by [`Queue`](crate::Queue), [`PriorityQueue`](crate::PriorityQueue) and
//! [`LifoQueue`](crate::LifoQueue): the items, the unfinished-task counter, and the getters'
//! and putters' wait lists.
//!
//! # Who may touch what
//!
//! - The items live in a [`Store`]: a [`Fifo`] (a lock-free ring, and for large bounds an
//!   overflow behind it) for FIFO order, a [`Mutex`]-protected `Vec` (a stack, or a binary
//!   min-heap) for LIFO and priority order; both grow with the items held and give memory
//!   back as they drain, whatever the bound. Only [`Shared::try_put`], [`Shared::try_get`],
//!   [`Shared::shutdown`] and `Drop` move items in or out, and none of them drops an item
//!   while holding the lock.
//! - "Shut down" is the store's closed flag ([`Fifo::close`], or `closed` under the lock):
//!   once set, every push fails, and pops drain what is left.
//! - An item counts as an unfinished task from *before* it becomes visible to getters, so a
//!   consumer can never call `task_done()` for it before the count includes it. The LIFO and
//!   priority stores count under their lock. The FIFO store counts just before the push and
//!   takes the count back if the push fails; only a `task_done()` that is one too many,
//!   racing a failing `put_nowait`, can observe that provisional count (and succeed where it
//!   would otherwise have failed). The count never goes below zero.

use std::{cmp::Ordering as CmpOrdering, fmt, marker::PhantomData, mem};

use concurrent_queue::{PopError, PushError};

use tulip_util::sync::{lock, Mutex};

use crate::{
    error::{GetError, PutError},
    fifo::{ring_slots, Fifo},
    tasks::TaskCounter,
    waiters::Waiters,
};

/// The state behind every handle of one queue.
pub(crate) struct Shared<T> {
    /// The items.
    store: Store<T>,
    /// asyncio's `maxsize`; 0 is unbounded.
    maxsize: usize,
    /// Unfinished tasks, and `join()`'s waiters.
    pub(crate) tasks: TaskCounter,
    /// `get()`s waiting for an item (or for shutdown).
    pub(crate) getters: Waiters,
    /// `put()`s waiting for a free slot (or for shutdown).
    pub(crate) putters: Waiters,
}

/// Where the items are kept.
#[allow(
    clippy::large_enum_variant,
    reason = "one per queue, inside its Arc; boxing the FIFO store would add an indirection to every operation"
)]
enum Store<T> {
    /// First in, first out: bounded when `maxsize > 0` (see [`Fifo`] for the memory it takes).
    Fifo(Fifo<T>),
    /// Last in first out, or smallest first: a `Vec` under a lock.
    Locked(Mutex<Locked<T>>),
}

/// The lock-protected store of the LIFO and priority queues.
struct Locked<T> {
    /// A stack (`cmp` is `None`) or a binary min-heap ordered by `cmp`.
    items: Vec<T>,
    /// Shut down: pushes fail.
    closed: bool,
    /// The heap order; `<T as Ord>::cmp`, captured where `T: Ord` is known.
    cmp: Option<fn(&T, &T) -> CmpOrdering>,
}

impl<T> Locked<T> {
    fn push(&mut self, item: T) {
        self.items.push(item);
        if let Some(cmp) = self.cmp {
            // Sift the new last element up.
            let mut child = self.items.len() - 1;
            while child > 0 {
                let parent = (child - 1) / 2;
                if cmp(&self.items[child], &self.items[parent]) != CmpOrdering::Less {
                    break;
                }
                self.items.swap(child, parent);
                child = parent;
            }
        }
    }

    fn pop(&mut self) -> Option<T> {
        let item = self.take();
        self.give_back_room();
        item
    }

    /// Halves the `Vec`'s capacity once three quarters of it are unused, down to a ring's
    /// worth ([`ring_slots`]): memory follows the items held, and a burst does not keep its
    /// peak allocated after it drains. Amortized O(1): a halving copies fewer items than
    /// were popped since the capacity was last this size.
    fn give_back_room(&mut self) {
        let capacity = self.items.capacity();
        let keep = ring_slots::<T>();
        if capacity > keep && self.items.len() < capacity / 4 {
            self.items.shrink_to((capacity / 2).max(keep));
        }
    }

    /// Removes the top item: the last one, or the heap's smallest.
    fn take(&mut self) -> Option<T> {
        let Some(cmp) = self.cmp else {
            return self.items.pop();
        };
        let last = self.items.len().checked_sub(1)?;
        self.items.swap(0, last);
        let top = self.items.pop();
        // If `cmp` panics while the new root sifts down, the guard puts the top item back:
        // the heap order may suffer, but no item is lost.
        let mut guard = PutBack {
            items: &mut self.items,
            top,
        };
        sift_down(guard.items, cmp);
        guard.top.take()
    }
}

/// Moves the root of a heap that is in order below it down to its place.
fn sift_down<T>(items: &mut [T], cmp: fn(&T, &T) -> CmpOrdering) {
    let len = items.len();
    let mut parent = 0;
    loop {
        let left = 2 * parent + 1;
        if left >= len {
            break;
        }
        let right = left + 1;
        let child = if right < len && cmp(&items[right], &items[left]) == CmpOrdering::Less {
            right
        } else {
            left
        };
        if cmp(&items[child], &items[parent]) != CmpOrdering::Less {
            break;
        }
        items.swap(parent, child);
        parent = child;
    }
}

/// Puts an item popped from a heap back if the sift that follows the pop panics.
struct PutBack<'a, T> {
    items: &'a mut Vec<T>,
    top: Option<T>,
}

impl<T> Drop for PutBack<'_, T> {
    fn drop(&mut self) {
        if let Some(top) = self.top.take() {
            self.items.push(top);
        }
    }
}

impl<T> Shared<T> {
    fn with_store(store: Store<T>, maxsize: usize) -> Self {
        Self {
            store,
            maxsize,
            tasks: TaskCounter::new(),
            getters: Waiters::new("Queue.get"),
            putters: Waiters::new("Queue.put"),
        }
    }

    /// A FIFO queue.
    pub(crate) fn fifo(maxsize: usize) -> Self {
        let queue = match maxsize {
            0 => Fifo::unbounded(),
            n => Fifo::bounded(n),
        };
        Self::with_store(Store::Fifo(queue), maxsize)
    }

    fn locked(maxsize: usize, cmp: Option<fn(&T, &T) -> CmpOrdering>) -> Self {
        let locked = Locked {
            items: Vec::new(),
            closed: false,
            cmp,
        };
        Self::with_store(Store::Locked(Mutex::new(locked)), maxsize)
    }

    /// A LIFO queue.
    pub(crate) fn lifo(maxsize: usize) -> Self {
        Self::locked(maxsize, None)
    }

    /// A priority queue, smallest first.
    pub(crate) fn priority(maxsize: usize) -> Self
    where
        T: Ord,
    {
        Self::locked(maxsize, Some(T::cmp))
    }

    /// `maxsize` as given to `new`.
    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// The number of items in the queue.
    pub(crate) fn len(&self) -> usize {
        match &self.store {
            Store::Fifo(queue) => queue.len(),
            Store::Locked(locked) => lock(locked).items.len(),
        }
    }

    /// Whether `shutdown` has been called.
    pub(crate) fn is_shut_down(&self) -> bool {
        match &self.store {
            Store::Fifo(queue) => queue.is_closed(),
            Store::Locked(locked) => lock(locked).closed,
        }
    }

    /// `put_nowait`: enqueue and wake one getter, or hand the item back.
    pub(crate) fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        match &self.store {
            Store::Fifo(queue) => {
                // Cheap early outs that keep a waiting putter from touching the counter.
                if queue.is_closed() {
                    return Err(PutError::ShutDown(item));
                }
                if self.maxsize > 0 && queue.is_full() {
                    return Err(PutError::Full(item));
                }
                // Count the task before the item becomes visible to getters; take it back if
                // the push fails after all.
                self.tasks.add();
                if let Err(err) = queue.push(item) {
                    self.tasks.sub_saturating(1);
                    return Err(match err {
                        PushError::Full(item) => PutError::Full(item),
                        PushError::Closed(item) => PutError::ShutDown(item),
                    });
                }
            }
            Store::Locked(locked) => {
                // Declared before the lock guard, so dropped after it: the getters are woken
                // once the lock is released, also if `T::cmp` panics inside `push` (the item
                // is in the queue by then).
                let mut wake_getter = WakeOneOnDrop {
                    waiters: &self.getters,
                    armed: false,
                };
                let mut locked = lock(locked);
                if locked.closed {
                    return Err(PutError::ShutDown(item));
                }
                if self.maxsize > 0 && locked.items.len() >= self.maxsize {
                    return Err(PutError::Full(item));
                }
                // Under the lock, so before any getter can see the item.
                self.tasks.add();
                wake_getter.armed = true;
                locked.push(item);
                return Ok(());
            }
        }
        self.getters.notify_one();
        Ok(())
    }

    /// `get_nowait`: dequeue and wake one putter.
    pub(crate) fn try_get(&self) -> Result<T, GetError> {
        let item = match &self.store {
            Store::Fifo(queue) => queue.pop().map_err(|err| match err {
                PopError::Empty => GetError::Empty,
                PopError::Closed => GetError::ShutDown,
            })?,
            Store::Locked(locked) => {
                let mut locked = lock(locked);
                match locked.pop() {
                    Some(item) => item,
                    None if locked.closed => return Err(GetError::ShutDown),
                    None => return Err(GetError::Empty),
                }
            }
        };
        if self.maxsize > 0 {
            self.putters.notify_one();
        }
        Ok(item)
    }

    /// asyncio 3.13's `shutdown(immediate)`.
    pub(crate) fn shutdown(&self, immediate: bool) {
        // Close first: from here on no put succeeds, so an immediate shutdown's drain below
        // leaves the queue empty for good.
        let discarded = match &self.store {
            Store::Fifo(queue) => {
                queue.close();
                let mut discarded = Vec::new();
                if immediate {
                    while let Ok(item) = queue.pop() {
                        discarded.push(item);
                    }
                }
                discarded
            }
            Store::Locked(locked) => {
                let mut locked = lock(locked);
                locked.closed = true;
                if immediate {
                    mem::take(&mut locked.items)
                } else {
                    Vec::new()
                }
            }
        };
        // CPython decrements `_unfinished_tasks` once per discarded item while it is positive,
        // and releases `join()` when it ends at zero.
        self.tasks.sub_saturating(discarded.len());
        // Blocked getters re-check (and fail once empty); blocked putters fail.
        self.getters.notify_all();
        self.putters.notify_all();
        // Dropped last, with the state consistent: a panicking `Drop` of one item propagates
        // from here, and `Vec`'s drop still drops the rest.
        drop(discarded);
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // concurrent-queue would stop dropping at the first panicking item and leak the rest;
        // pop them one at a time instead. (The lock-protected `Vec` already drops every
        // element even if one of them panics.)
        if let Store::Fifo(queue) = &self.store {
            drop_each(|| queue.pop().ok());
        }
    }
}

impl<T> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("qsize", &self.len())
            .field("maxsize", &self.maxsize)
            .field("unfinished_tasks", &self.tasks.unfinished())
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}

/// Wakes one waiter when dropped, if armed.
struct WakeOneOnDrop<'a> {
    waiters: &'a Waiters,
    armed: bool,
}

impl Drop for WakeOneOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.waiters.notify_one();
        }
    }
}

/// Drops every item `next` yields. If one item's `Drop` panics, the rest are still dropped
/// while the panic unwinds (a second panic aborts, as it does for `Vec`).
pub(crate) fn drop_each<T, F: FnMut() -> Option<T>>(next: F) {
    struct Rest<T, F: FnMut() -> Option<T>>(F, PhantomData<fn() -> T>);

    impl<T, F: FnMut() -> Option<T>> Drop for Rest<T, F> {
        fn drop(&mut self) {
            while let Some(item) = (self.0)() {
                drop(item);
            }
        }
    }

    let mut rest = Rest(next, PhantomData);
    while let Some(item) = (rest.0)() {
        drop(item);
    }
}

#[cfg(all(test, not(tulip_loom)))]
mod tests {
    use tulip_util::sync::lock;

    use super::{Shared, Store};
    use crate::fifo::ring_slots;

    /// The `Vec` behind a LIFO or priority queue.
    fn capacity<T>(shared: &Shared<T>) -> usize {
        match &shared.store {
            Store::Locked(locked) => lock(locked).items.capacity(),
            Store::Fifo(_) => unreachable!("not a Vec"),
        }
    }

    #[test]
    // Volume on one thread: under Miri (cargo xtask miri --all) 200,000 items take hours.
    #[cfg_attr(miri, ignore)]
    fn lifo_and_priority_queues_give_memory_back_as_they_drain() {
        for shared in [Shared::lifo(usize::MAX), Shared::priority(usize::MAX)] {
            assert_eq!(capacity(&shared), 0, "nothing is allocated for the bound");
            for n in 0..100_000u64 {
                shared.try_put(n).unwrap();
            }
            assert!(capacity(&shared) >= 100_000);
            for _ in 0..100_000 - 10 {
                shared.try_get().unwrap();
            }
            assert_eq!(shared.len(), 10);
            assert!(
                capacity(&shared) <= 2 * ring_slots::<u64>(),
                "{} slots kept for 10 items",
                capacity(&shared)
            );
        }
    }
}
