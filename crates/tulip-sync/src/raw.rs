//! The FIFO hand-off semaphore that `Lock`, `Mutex<T>`, `Semaphore`, `BoundedSemaphore`,
//! `Condition` and the writer side of `RwLock<T>` are built on.
//!
//! # State
//!
//! * `state`, one atomic word: the number of free permits shifted left by one, plus the
//!   [`QUEUED`] bit. The fast paths (take a permit, give one back) are a single
//!   compare-and-swap on this word, allowed only while `QUEUED` is clear, and touch nothing
//!   else.
//! * `queue`, behind a `Mutex`: the [`WaitList`] of the waiters, oldest first. Its
//!   `waiting()` entries are the queued waiters not yet handed a permit; its `notified()`
//!   entries are the waiters handed a permit that have not run yet ("handed" below).
//!
//! # Invariants
//!
//! 1. `QUEUED` is set if and only if `waiting + handed > 0`; both change only under the mutex.
//! 2. While `QUEUED` is set, `state` changes only under the mutex: both fast paths
//!    compare-and-swap against a word without `QUEUED`.
//! 3. Outside the mutex, queued waiters and free permits coexist only while `handed > 0`:
//!    every critical section ends with [`settle`](RawSemaphore::settle), which hands free
//!    permits to queued waiters, and a newcomer queues rather than take a free permit only
//!    while some handed waiter has not run (whose run, or cancellation, settles again).
//! 4. A notified entry owns one permit: handing a permit (`state -= ONE`) and notifying the
//!    oldest waiting entry happen together, under the mutex.
//!
//! # Hand-off, hand-on, and asyncio's "let the woken run first"
//!
//! A release that finds `QUEUED` takes the mutex, adds its permit and settles: the permit is
//! handed to the oldest waiter (its entry is notified and its task woken, after the mutex is
//! released) instead of staying free, so a newcomer cannot take it (strict FIFO, no
//! barging).
//!
//! While a handed waiter has not run yet (`handed > 0`), `QUEUED` stays set, so a newcomer
//! queues even if a permit is free (asyncio 3.12's rule: "wait for others to start even if
//! `_value > 0`"). When the handed waiter runs, it takes the mutex, takes its entry out
//! (leaving `handed`) and settles, handing any free permits to the waiters queued meanwhile.
//!
//! A waiter whose future is dropped takes the mutex and removes its entry. If the entry had
//! been notified, the waiter owned a permit it never used: it gives the permit back, and the
//! settle hands it to the next waiter ("hand-on"). Either way no permit is lost and none is
//! granted twice.
//!
//! # Cost of a wait
//!
//! Three short critical sections and no allocation: the waiter queues with its waker
//! ([`enqueue`](RawSemaphore::enqueue)), a release hands it the permit, and the woken waiter
//! takes its entry out. The slab of the wait list is reused from one wait to the next.

use std::fmt;
use std::task::{Context, Poll, Waker};
use tulip_util::const_fn;
use tulip_util::sync::{block_on, lock, AtomicUsize, Mutex, Ordering};
use tulip_waitlist::{WaitList, WakeList};

/// Bit 0 of `state`: some waiters are queued, or were handed a permit and have not run.
///
/// Invariant: set if and only if `waiting + handed > 0` (see the module docs).
const QUEUED: usize = 1;

/// One permit, as counted in `state`.
const ONE: usize = 2;

/// The largest number of free permits `state` can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 1;

/// A counting semaphore with FIFO hand-off; see the module docs.
pub(crate) struct RawSemaphore {
    /// Free permits times [`ONE`], plus [`QUEUED`].
    state: AtomicUsize,
    /// The waiters, oldest first: waiting, or handed a permit and not run yet.
    queue: Mutex<WaitList>,
}

impl RawSemaphore {
    const_fn! {
        /// A semaphore with `permits` free permits.
        ///
        /// Panics if `permits > MAX_PERMITS`.
        pub(crate) fn new(permits: usize) -> Self {
            assert!(permits <= MAX_PERMITS, "too many permits for a semaphore");
            Self {
                state: AtomicUsize::new(permits << 1),
                queue: Mutex::new(WaitList::new()),
            }
        }
    }

    /// The number of free permits.
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Relaxed) >> 1
    }

    /// Returns `true` if an acquire would have to wait: no free permit, or others first
    /// in line (asyncio's `locked()`).
    pub(crate) fn locked(&self) -> bool {
        let state = self.state.load(Ordering::Relaxed);
        state < ONE || state & QUEUED != 0
    }

    /// Takes a permit if one is free and nobody is in line.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & QUEUED != 0 || state < ONE {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state - ONE,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    /// [`try_acquire`](Self::try_acquire) for a semaphore that never has more than one
    /// permit: a single compare-and-swap.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(ONE, 0, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Gives back one permit: to the oldest waiter if there is one, else to the pool.
    ///
    /// Panics if the pool would exceed [`MAX_PERMITS`].
    #[inline]
    pub(crate) fn release(&self) {
        let _ = self.release_up_to(MAX_PERMITS);
    }

    /// Gives back one permit unless that would make more than `bound` permits free.
    /// Returns `false` (and changes nothing) in that case.
    ///
    /// Panics if `bound == MAX_PERMITS` and the pool is full.
    #[inline]
    pub(crate) fn release_up_to(&self, bound: usize) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & QUEUED == 0 {
            if state >> 1 >= bound {
                return refuse(bound);
            }
            match self.state.compare_exchange_weak(
                state,
                state + ONE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        self.release_slow(bound)
    }

    /// [`release`](Self::release) for a semaphore that never has more than one permit: a
    /// single compare-and-swap when nobody waits.
    #[inline]
    pub(crate) fn unlock(&self) {
        if self
            .state
            .compare_exchange(0, ONE, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.release_slow(1);
        }
    }

    #[cold]
    fn release_slow(&self, bound: usize) -> bool {
        let mut queue = lock(&self.queue);
        // With QUEUED set only we change `state`; without it only increments race with us.
        let mut state = self.state.load(Ordering::Relaxed);
        if queue.waiting() > 0 {
            // QUEUED is set and, by invariant 3 and the settle that ended the last critical
            // section, no permit is free unless a handed waiter has not run yet.
            if state >> 1 >= bound {
                return refuse(bound);
            }
            if state < ONE {
                // Hand our permit straight to the oldest waiter: `state` does not change.
                let waker = queue.notify_one().expect("waiting() > 0");
                drop(queue);
                waker.wake();
                return true;
            }
        }
        loop {
            if state >> 1 >= bound {
                return refuse(bound);
            }
            match self.state.compare_exchange_weak(
                state,
                state + ONE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        let wakers = self.settle(&mut queue);
        drop(queue);
        wakers.wake();
        true
    }

    /// Ends every critical section: hands free permits to the queued waiters, oldest first,
    /// and clears [`QUEUED`] when nobody is left in line. Returns the wakers of the waiters
    /// handed a permit, to be woken once the mutex is released. Only the lock-free fast
    /// paths race with this, and only while `QUEUED` is clear.
    #[inline(always)]
    fn settle(&self, queue: &mut WaitList) -> WakeList {
        let mut wakers = WakeList::new();
        while queue.waiting() > 0 {
            // Someone waits, so QUEUED is set: nobody else changes `state` now.
            let state = self.state.load(Ordering::Relaxed);
            debug_assert_ne!(state & QUEUED, 0);
            if state < ONE {
                break;
            }
            self.state.store(state - ONE, Ordering::Relaxed);
            wakers.push(queue.notify_one().expect("waiting() > 0"));
        }
        if queue.waiting() == 0 && queue.notified() == 0 {
            self.state.fetch_and(!QUEUED, Ordering::Relaxed);
        }
        wakers
    }

    /// The slow path of an acquire: with the mutex held, either take a free permit (nobody
    /// in line) or join the line, to be woken through `waker`. `None` means the permit was
    /// taken; otherwise the key of the waiter's entry.
    #[cold]
    fn enqueue(&self, waker: &Waker) -> Option<usize> {
        let mut queue = lock(&self.queue);
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & QUEUED != 0 {
                // Others are in line (queued, or handed a permit and not run yet).
                break;
            }
            let next = if state >= ONE {
                state - ONE
            } else {
                state | QUEUED
            };
            match self.state.compare_exchange_weak(
                state,
                next,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) if next & QUEUED == 0 => return None,
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        Some(queue.push(waker.clone()))
    }

    /// A queued waiter is polled: `true` if it was handed a permit, which it now owns (its
    /// entry is out of the queue). Otherwise it waits on, woken through `waker`.
    fn poll_queued(&self, key: usize, waker: &Waker) -> bool {
        let mut queue = lock(&self.queue);
        if !queue.poll(key, waker) {
            return false;
        }
        // We left `handed`: hand permits that became free meanwhile to those behind us.
        // (The release that handed us the permit did so under this mutex, so everything
        // before it happens before our return.)
        let wakers = self.settle(&mut queue);
        drop(queue);
        wakers.wake();
        true
    }

    /// Leaves the line: the acquire owning the entry `key` was cancelled.
    fn cancel(&self, key: usize) {
        let mut queue = lock(&self.queue);
        if queue.remove(key).is_some() {
            // We were handed a permit and never used it: give it back, to the next waiter.
            let prev = self.state.fetch_add(ONE, Ordering::Release);
            debug_assert_ne!(prev & QUEUED, 0);
        }
        let wakers = self.settle(&mut queue);
        drop(queue);
        wakers.wake();
    }

    /// Blocks the current thread until a permit is taken.
    pub(crate) fn acquire_blocking<const LOCK: bool>(&self) {
        let mut slot = AcquireSlot::new();
        block_on(std::future::poll_fn(|cx| slot.poll::<LOCK>(self, cx)));
    }
}

/// A release beyond `bound`: `false` for a bounded semaphore, a panic at the limit of the
/// counter.
fn refuse(bound: usize) -> bool {
    assert!(bound < MAX_PERMITS, "semaphore permit count overflow");
    false
}

impl fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("RawSemaphore")
            .field("available", &(state >> 1))
            .field("queued", &(state & QUEUED != 0))
            .finish()
    }
}

/// The state of one acquire: not queued yet, or queued with the key of its entry.
///
/// The owner must call [`cancel`](Self::cancel) when it is dropped before completion (the
/// public futures do it in their `Drop`), so that a handed-off permit is handed on.
pub(crate) struct AcquireSlot {
    key: Option<usize>,
}

impl AcquireSlot {
    /// An acquire that has not started.
    pub(crate) const fn new() -> Self {
        Self { key: None }
    }

    /// Polls for a permit. `LOCK` selects the one-permit fast path. Once this returned
    /// `Ready` the caller owns a permit and must not poll again.
    pub(crate) fn poll<const LOCK: bool>(
        &mut self,
        sem: &RawSemaphore,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        match self.key {
            None => {
                let taken = if LOCK {
                    sem.try_lock()
                } else {
                    sem.try_acquire()
                };
                if taken {
                    return Poll::Ready(());
                }
                match sem.enqueue(cx.waker()) {
                    None => Poll::Ready(()),
                    // Queued with our waker: a hand-off from now on wakes us.
                    Some(key) => {
                        self.key = Some(key);
                        Poll::Pending
                    }
                }
            }
            Some(key) => {
                if sem.poll_queued(key, cx.waker()) {
                    self.key = None;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// Leaves the queue if this acquire is in it, handing on a permit it was handed.
    pub(crate) fn cancel(&mut self, sem: &RawSemaphore) {
        if let Some(key) = self.key.take() {
            sem.cancel(key);
        }
    }

    /// Whether this acquire waits in the queue.
    pub(crate) fn is_queued(&self) -> bool {
        self.key.is_some()
    }
}

impl Drop for AcquireSlot {
    fn drop(&mut self) {
        debug_assert!(
            self.key.is_none() || std::thread::panicking(),
            "an acquire left the queue without cancel()"
        );
    }
}

impl fmt::Debug for AcquireSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireSlot")
            .field("queued", &self.is_queued())
            .finish()
    }
}
