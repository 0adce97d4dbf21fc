//! The FIFO hand-off semaphore that `Lock`, `Mutex<T>`, `Semaphore`, `BoundedSemaphore`,
//! `Condition` and the writer side of `RwLock<T>` are built on.
//!
//! # State
//!
//! The semaphore keeps two pieces of state:
//!
//! * `state`, one atomic word: the number of free permits shifted left by one, plus the
//!   [`QUEUED`] bit. The fast paths (take a permit when nobody queues, give one back when
//!   nobody queues) are a single compare-and-swap on this word and never touch anything else.
//! * `waiters`, behind a `Mutex`: how many queued waiters have not been handed a permit yet,
//!   together with the FIFO list of their listeners in `notify`.
//!
//! # Invariants
//!
//! 1. `QUEUED` is set if and only if `waiters > 0`. Both change only with the mutex held.
//! 2. `QUEUED` set implies zero free permits. While it is set, `state` changes only with the
//!    mutex held, because both fast paths compare-and-swap against a word without `QUEUED`.
//! 3. The listeners in `notify` that are not notified yet are exactly the `waiters` queued
//!    waiters: `listen` happens with `waiters += 1`, and `notify(1)` with `waiters -= 1`,
//!    each under the mutex. A listener that *is* notified owns one permit (the "hand-off").
//!
//! # Hand-off and hand-on
//!
//! A release that finds `QUEUED` takes the mutex and, instead of adding a permit to `state`,
//! notifies the oldest listener: that waiter now owns the permit, and a newcomer cannot take
//! it in between, since `state` still shows zero permits (strict FIFO, no barging).
//!
//! A waiter whose future is dropped takes the mutex and discards its listener. If the
//! listener had been notified, the waiter owned a permit it never used and releases it again
//! with the mutex held: to the next waiter, or back into `state` when nobody waits ("hand-on").
//! If it had not been notified, it just leaves the queue (`waiters -= 1`). Either way no
//! permit is lost and none is granted twice.

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{block_on, const_fn, lock, Listener, Mutex, Notify};
use std::fmt;
use std::task::{Context, Poll};

/// Bit 0 of `state`: some waiters are queued and not yet handed a permit.
///
/// Invariant: set if and only if `waiters > 0`; never set together with a free permit.
const QUEUED: usize = 1;

/// One permit, as counted in `state`.
const ONE: usize = 2;

/// The largest number of free permits `state` can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 1;

/// A counting semaphore with FIFO hand-off; see the module docs.
pub(crate) struct RawSemaphore {
    /// Free permits times [`ONE`], plus [`QUEUED`].
    state: AtomicUsize,
    /// Queued waiters that have not been handed a permit. The mutex also serializes every
    /// `listen`, `notify` and `discard` on `notify`.
    waiters: Mutex<usize>,
    /// The waiters' listeners, oldest first.
    notify: Notify,
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
                waiters: Mutex::new(0),
                notify: Notify::new(),
            }
        }
    }

    /// The number of free permits (zero while anyone is queued).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Relaxed) >> 1
    }

    /// Takes a permit if one is free and nobody is queued.
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
        let mut state = self.state.load(Ordering::Relaxed);
        while state & QUEUED == 0 {
            assert!(state >> 1 < MAX_PERMITS, "semaphore permit count overflow");
            match self.state.compare_exchange_weak(
                state,
                state + ONE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        self.release_slow();
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
            self.release_slow();
        }
    }

    #[cold]
    fn release_slow(&self) {
        let mut waiters = lock(&self.waiters);
        self.release_locked(&mut waiters);
    }

    /// Releases one permit with the mutex held.
    fn release_locked(&self, waiters: &mut usize) {
        if *waiters > 0 {
            // Hand-off: the oldest un-notified listener now owns the permit.
            *waiters -= 1;
            if *waiters == 0 {
                self.state.fetch_and(!QUEUED, Ordering::Relaxed);
            }
            let notified = self.notify.notify(1);
            debug_assert_eq!(notified, 1, "a queued waiter has no listener");
        } else {
            // Nobody waits (and, by invariant 1, QUEUED is clear): back into the pool.
            // Only the lock-free fast paths race with us here.
            let mut state = self.state.load(Ordering::Relaxed);
            loop {
                debug_assert_eq!(state & QUEUED, 0);
                assert!(state >> 1 < MAX_PERMITS, "semaphore permit count overflow");
                match self.state.compare_exchange_weak(
                    state,
                    state + ONE,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(actual) => state = actual,
                }
            }
        }
    }

    /// The slow path of an acquire: with the mutex held, either take a free permit (nobody
    /// is queued) or join the queue. `None` means the permit was taken.
    #[cold]
    fn enqueue(&self) -> Option<Listener> {
        let mut waiters = lock(&self.waiters);
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & QUEUED != 0 {
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
        *waiters += 1;
        Some(self.notify.listen())
    }

    /// Leaves the queue: the acquire owning `listener` was cancelled.
    fn cancel(&self, listener: Listener) {
        let mut waiters = lock(&self.waiters);
        if listener.discard() {
            // We were handed a permit and never used it: hand it on.
            self.release_locked(&mut waiters);
        } else {
            *waiters -= 1;
            if *waiters == 0 {
                self.state.fetch_and(!QUEUED, Ordering::Relaxed);
            }
        }
    }

    /// Blocks the current thread until a permit is taken.
    pub(crate) fn acquire_blocking<const LOCK: bool>(&self) {
        let mut slot = AcquireSlot::new();
        block_on(std::future::poll_fn(|cx| slot.poll::<LOCK>(self, cx)));
    }
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

/// The state of one acquire: not queued yet, or queued with a listener.
///
/// The owner must call [`cancel`](Self::cancel) when it is dropped before completion (the
/// public futures do it in their `Drop`), so that a handed-off permit is handed on.
pub(crate) struct AcquireSlot {
    listener: Option<Listener>,
}

impl AcquireSlot {
    /// An acquire that has not started.
    pub(crate) const fn new() -> Self {
        Self { listener: None }
    }

    /// Polls for a permit. `LOCK` selects the one-permit fast path. Once this returned
    /// `Ready` the caller owns a permit and must not poll again.
    pub(crate) fn poll<const LOCK: bool>(
        &mut self,
        sem: &RawSemaphore,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if self.listener.is_none() {
            let taken = if LOCK {
                sem.try_lock()
            } else {
                sem.try_acquire()
            };
            if taken {
                return Poll::Ready(());
            }
            match sem.enqueue() {
                None => return Poll::Ready(()),
                Some(listener) => self.listener = Some(listener),
            }
        }
        let listener = self.listener.as_mut().expect("checked above");
        match listener.poll(cx) {
            Poll::Ready(()) => {
                self.listener = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Leaves the queue if this acquire is in it, handing on a permit it was handed.
    pub(crate) fn cancel(&mut self, sem: &RawSemaphore) {
        if let Some(listener) = self.listener.take() {
            sem.cancel(listener);
        }
    }

    /// Whether this acquire waits in the queue.
    pub(crate) fn is_queued(&self) -> bool {
        self.listener.is_some()
    }
}

impl fmt::Debug for AcquireSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireSlot")
            .field("queued", &self.is_queued())
            .finish()
    }
}
