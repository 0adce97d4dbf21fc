//! The FIFO hand-off semaphore that `Lock`, `Mutex<T>`, `Semaphore`, `BoundedSemaphore`,
//! `Condition` and the writer side of `RwLock<T>` are built on.
//!
//! # State
//!
//! * `state`, one atomic word: the number of free permits shifted left by one, plus the
//!   [`QUEUED`] bit. The fast paths (take a permit, give one back) are a single
//!   compare-and-swap on this word, allowed only while `QUEUED` is clear, and touch nothing
//!   else.
//! * `queue`, behind a mutex (a [`ShortLock`]): the [`Line`] of the waiters not handed a permit yet
//!   ("waiting"), oldest first, each with its ticket (a number that grows with every waiter
//!   queued, so the line is also in ticket order).
//! * `granted`, an atomic: the ticket of the last waiter handed a permit. Written only under
//!   the mutex; a queued waiter with ticket `t` owns a permit once `granted >= t`, which it
//!   reads without the mutex.
//! * `handed`, an atomic: the number of waiters handed a permit that have not run yet
//!   ("handed"), times [`HANDED`], plus the [`WAITING`] bit, set under the mutex while the
//!   list is not empty. Incremented under the mutex; a handed waiter that runs decrements it
//!   without the mutex.
//!
//! # Invariants (whenever nobody holds the mutex)
//!
//! 1. `QUEUED` is set if `waiting + handed > 0`, and clear if both are zero, with one
//!    transient exception: a handed waiter that just left `handed` found `WAITING` clear (or
//!    free permits) and is on its way to the mutex to settle (4).
//! 2. While `QUEUED` is set, `state` changes only under the mutex: both fast paths
//!    compare-and-swap against a word without `QUEUED`.
//! 3. Waiters and free permits coexist only while `handed > 0`: every critical section but
//!    [`enqueue`](RawSemaphore::enqueue) ends with [`settle`](RawSemaphore::settle), which
//!    hands free permits to the waiters, and a newcomer queues behind a free permit only
//!    while some handed waiter has not run (asyncio's "let the woken run first"); or,
//!    transiently, while the handed waiter that left last is on its way to the mutex (4).
//! 4. A handed waiter that runs settles when something is owed: it decrements `handed` and
//!    takes the mutex to settle if `WAITING` was set and a permit is free (the newcomers of
//!    3 are owed it), or if `WAITING` was clear and it was the last handed waiter (`QUEUED`
//!    must be cleared). Otherwise (waiters but no free permit, or nobody waiting and others
//!    still handed) there is nothing to do.
//! 5. A handed waiter owns one permit: handing a permit (`state -= ONE`, or a release that
//!    does not add its permit), taking the oldest waiter out of the list, `handed += 1` and
//!    `granted = its ticket` happen together, under the mutex.
//!
//! # Hand-off, hand-on, and asyncio's "let the woken run first"
//!
//! A release that finds `QUEUED` takes the mutex and hands its permit to the oldest waiter:
//! the waiter leaves the list, `granted` moves to its ticket, and its task is woken after the
//! mutex is released. A newcomer cannot take the permit (strict FIFO, no barging).
//!
//! While a handed waiter has not run yet (`handed > 0`), `QUEUED` stays set, so a newcomer
//! queues even if a permit is free (asyncio 3.12's rule: "wait for others to start even if
//! `_value > 0`"). When the handed waiter runs it sees `granted >= ticket`, leaves `handed`
//! and, by invariant 4, takes the mutex only if something is owed.
//!
//! A waiter whose future is dropped takes the mutex. If `granted` has reached its ticket, it
//! owned a permit it never used: it leaves `handed` and gives the permit back, and the settle
//! hands it to the next waiter ("hand-on"). Otherwise it takes its entry out of the list.
//! Either way no permit is lost and none is granted twice.
//!
//! # Cost of a wait
//!
//! Two short critical sections and no allocation: the waiter queues with its waker
//! ([`enqueue`](RawSemaphore::enqueue)) and a release hands it the permit. The woken waiter
//! reads `granted` and decrements `handed`, without the mutex (it used to take its entry out
//! under the mutex: a third critical section, often on another worker than the release).
//! The ring buffer of the line is reused from one wait to the next, and a waiter keeps only
//! its ticket.

use std::fmt;
use std::num::NonZeroU64;
use std::task::{Context, Poll, Waker};
use tulip_util::const_fn;
use tulip_util::sync::{block_on, AtomicU64, AtomicUsize, Ordering};
use tulip_waitlist::WakeList;

use crate::line::Line;
use tulip_waitlist::ShortLock;

/// Bit 0 of `state`: some waiters are queued, or were handed a permit and have not run.
///
/// Invariant: set if and only if `waiting + handed > 0`, but for a handed waiter on its way
/// to the mutex to clear it (see the module docs).
const QUEUED: usize = 1;

/// One permit, as counted in `state`.
const ONE: usize = 2;

/// Bit 0 of `handed`: the wait list is not empty. Changes only under the mutex.
const WAITING: usize = 1;

/// One handed waiter, as counted in `handed`.
const HANDED: usize = 2;

/// The largest number of free permits `state` can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 1;

/// A counting semaphore with FIFO hand-off; see the module docs.
///
/// `repr(C)` keeps the three atomic words and the mutex's own word next to each other, in
/// one or two cache lines: a hand-off touches all four, and with two workers each of them
/// would otherwise be a separate cache miss.
#[repr(C)]
pub(crate) struct RawSemaphore {
    /// Free permits times [`ONE`], plus [`QUEUED`].
    state: AtomicUsize,
    /// Handed waiters that have not run, times [`HANDED`], plus [`WAITING`].
    handed: AtomicUsize,
    /// The ticket of the last waiter handed a permit (0: none yet).
    granted: AtomicU64,
    /// The waiters not handed a permit yet, oldest first.
    queue: ShortLock<Queue>,
}

/// What the mutex guards.
struct Queue {
    /// The waiting entries, oldest first, each with its ticket.
    list: Line,
    /// Whether [`WAITING`] is set in `handed` (only the mutex holder changes it).
    waiting_bit: bool,
}

/// A queued acquire: its ticket, which finds its entry in the line. (Tickets start at 1,
/// so that an `Option<Queued>` is one word.)
#[derive(Clone, Copy)]
struct Queued {
    ticket: NonZeroU64,
}

impl Queued {
    #[inline(always)]
    fn ticket(self) -> u64 {
        self.ticket.get()
    }
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
                handed: AtomicUsize::new(0),
                granted: AtomicU64::new(0),
                queue: ShortLock::new(Queue {
                    list: Line::new(),
                    waiting_bit: false,
                }),
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
        // A semaphore's release under contention hands its permit on more often than not:
        // inlined (a call and a frame less per hand-off); a lock's unlock calls it out of line.
        self.release_slow_inline(bound)
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

    /// [`release_slow_inline`](Self::release_slow_inline), out of line (a lock's unlock,
    /// which should stay small enough to be inlined into the guard's drop).
    #[cold]
    #[inline(never)]
    fn release_slow(&self, bound: usize) -> bool {
        self.release_slow_inline(bound)
    }

    /// A release with someone queued (or a permit handed and not taken yet): hands the
    /// permit on, or returns it to the pool and settles.
    #[inline(always)]
    fn release_slow_inline(&self, bound: usize) -> bool {
        let mut queue = self.queue.lock();
        // With QUEUED set only we change `state`; without it only increments race with us.
        let mut state = self.state.load(Ordering::Relaxed);
        if queue.list.waiting() > 0 {
            // QUEUED is set and, by invariant 3, no permit is free unless a handed waiter
            // has not run yet.
            if state < ONE {
                // No permit free: ours would be the only one.
                if bound == 0 {
                    return refuse(bound);
                }
                // Hand our permit straight to the oldest waiter: `state` does not change.
                let waker = self.hand_oldest(&mut queue);
                if queue.list.waiting() == 0 {
                    self.tidy(&mut queue);
                }
                drop(queue);
                waker.wake();
                return true;
            }
            if state >> 1 >= bound {
                return refuse(bound);
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

    /// With the mutex held and a permit owned by nobody (taken from `state`, or a release's
    /// own): hands it to the oldest waiter, which leaves the list. Returns its waker, to be
    /// woken once the mutex is released.
    #[inline(always)]
    fn hand_oldest(&self, queue: &mut Queue) -> Waker {
        let (waker, ticket) = queue.list.pop().expect("a waiter to hand a permit to");
        // Counted as handed before `granted` lets the waiter see its permit (and leave
        // `handed`): the release below orders the two for it.
        self.handed.fetch_add(HANDED, Ordering::Relaxed);
        self.granted.store(ticket, Ordering::Release);
        waker
    }

    /// Ends every critical section but `enqueue`: hands free permits to the waiters, oldest
    /// first, and, once the list is empty, clears [`WAITING`] and (when nobody is handed
    /// either) [`QUEUED`]. Returns the wakers of the waiters handed a permit, to be woken
    /// once the mutex is released. Only the lock-free fast paths race with this, and only
    /// while `QUEUED` is clear.
    #[inline(always)]
    fn settle(&self, queue: &mut Queue) -> WakeList {
        let mut wakers = WakeList::new();
        while queue.list.waiting() > 0 {
            // Someone waits, so QUEUED is set: nobody else changes `state` now.
            let state = self.state.load(Ordering::Relaxed);
            debug_assert_ne!(state & QUEUED, 0);
            if state < ONE {
                return wakers;
            }
            self.state.store(state - ONE, Ordering::Relaxed);
            wakers.push(self.hand_oldest(queue));
        }
        self.tidy(queue);
        wakers
    }

    /// With the mutex held and the list empty: clears [`WAITING`], and [`QUEUED`] unless a
    /// handed waiter has not run. A handed waiter that leaves after this sees `WAITING`
    /// clear and settles in turn (invariant 4).
    #[inline(always)]
    fn tidy(&self, queue: &mut Queue) {
        debug_assert_eq!(queue.list.waiting(), 0);
        let handed = if queue.waiting_bit {
            queue.waiting_bit = false;
            self.handed.fetch_and(!WAITING, Ordering::AcqRel)
        } else {
            self.handed.load(Ordering::Acquire)
        };
        if handed < HANDED {
            self.state.fetch_and(!QUEUED, Ordering::Relaxed);
        }
    }

    /// [`enqueue_inline`](Self::enqueue_inline), out of line (a lock's first poll, which
    /// should stay small enough to be inlined into its caller).
    #[cold]
    #[inline(never)]
    fn enqueue(&self, waker: &Waker) -> Option<Queued> {
        self.enqueue_inline(waker)
    }

    /// The slow path of an acquire: with the mutex held, either take a free permit (nobody
    /// in line) or join the line, to be woken through `waker`. `None` means the permit was
    /// taken; otherwise the waiter's entry and ticket.
    #[inline(always)]
    fn enqueue_inline(&self, waker: &Waker) -> Option<Queued> {
        let mut queue = self.queue.lock();
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
        let ticket = queue.list.push(waker.clone());
        if !queue.waiting_bit {
            // A handed waiter that leaves after this sees WAITING, and then the free permits
            // we may queue behind (they were freed before this, under the mutex).
            queue.waiting_bit = true;
            self.handed.fetch_or(WAITING, Ordering::AcqRel);
        }
        Some(Queued { ticket })
    }

    /// Whether the waiter with `ticket` was handed a permit. Authoritative under the mutex;
    /// without it, `false` may be stale but `true` is final.
    #[inline(always)]
    fn is_granted(&self, ticket: u64) -> bool {
        self.granted.load(Ordering::Acquire) >= ticket
    }

    /// A handed waiter runs: it leaves `handed`, and settles if it was the last one and
    /// something is owed (invariant 4). Without the mutex in the common cases.
    #[inline]
    fn leave_handed(&self) {
        let prev = self.handed.fetch_sub(HANDED, Ordering::AcqRel);
        debug_assert!(prev >= HANDED);
        let owed = if prev & WAITING == 0 {
            // Nobody waits: the last handed waiter to run clears QUEUED.
            prev < 2 * HANDED
        } else {
            // Waiters, so QUEUED stays set: they are owed the permits freed while we were
            // handed (asyncio: every woken waiter wakes as many as there are free permits).
            self.state.load(Ordering::Acquire) >= ONE
        };
        if owed {
            self.settle_locked();
        }
    }

    #[cold]
    fn settle_locked(&self) {
        let mut queue = self.queue.lock();
        let wakers = self.settle(&mut queue);
        drop(queue);
        wakers.wake();
    }

    /// A queued waiter is polled and did not see its permit without the mutex: `true` if it
    /// was handed one meanwhile, which it now owns. Otherwise it waits on, woken through
    /// `waker`.
    #[cold]
    fn poll_queued(&self, queued: Queued, waker: &Waker) -> bool {
        let mut queue = self.queue.lock();
        if self.is_granted(queued.ticket()) {
            self.handed.fetch_sub(HANDED, Ordering::AcqRel);
            let wakers = self.settle(&mut queue);
            drop(queue);
            wakers.wake();
            return true;
        }
        queue.list.set_waker(queued.ticket(), waker);
        false
    }

    /// Leaves the line: the acquire `queued` was cancelled.
    fn cancel(&self, queued: Queued) {
        let mut queue = self.queue.lock();
        if self.is_granted(queued.ticket()) {
            // We were handed a permit and never used it: give it back, to the next waiter.
            self.handed.fetch_sub(HANDED, Ordering::AcqRel);
            let prev = self.state.fetch_add(ONE, Ordering::Release);
            debug_assert_ne!(prev & QUEUED, 0);
        } else {
            queue.list.remove(queued.ticket());
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

/// The state of one acquire: not queued yet, or queued with its entry and ticket.
///
/// The owner must call [`cancel`](Self::cancel) when it is dropped before completion (the
/// public futures do it in their `Drop`), so that a handed-off permit is handed on.
pub(crate) struct AcquireSlot {
    queued: Option<Queued>,
}

impl AcquireSlot {
    /// An acquire that has not started.
    pub(crate) const fn new() -> Self {
        Self { queued: None }
    }

    /// Polls for a permit. `LOCK` selects the one-permit fast path. Once this returned
    /// `Ready` the caller owns a permit and must not poll again.
    pub(crate) fn poll<const LOCK: bool>(
        &mut self,
        sem: &RawSemaphore,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        match self.queued {
            None => {
                let taken = if LOCK {
                    sem.try_lock()
                } else {
                    sem.try_acquire()
                };
                if taken {
                    return Poll::Ready(());
                }
                // A semaphore's acquire waits more often than not: its slow path is inlined
                // (a call and a frame less per wait); a lock's stays out of line.
                let queued = if LOCK {
                    sem.enqueue(cx.waker())
                } else {
                    sem.enqueue_inline(cx.waker())
                };
                match queued {
                    None => Poll::Ready(()),
                    // Queued with our waker: a hand-off from now on wakes us.
                    Some(queued) => {
                        self.queued = Some(queued);
                        Poll::Pending
                    }
                }
            }
            // A lock's future is often polled once (uncontended): its second poll stays out
            // of line, so that the first is small enough to be inlined into the caller. A
            // semaphore's acquire waits more often than not: its second poll is inlined too
            // (a call and a frame less per wait).
            Some(queued) if LOCK => self.poll_again(sem, queued, cx.waker()),
            Some(queued) => self.poll_waiting(sem, queued, cx.waker()),
        }
    }

    /// [`poll_waiting`](Self::poll_waiting), out of line.
    #[inline(never)]
    fn poll_again(&mut self, sem: &RawSemaphore, queued: Queued, waker: &Waker) -> Poll<()> {
        self.poll_waiting(sem, queued, waker)
    }

    /// [`poll`](Self::poll) once queued.
    #[inline(always)]
    fn poll_waiting(&mut self, sem: &RawSemaphore, queued: Queued, waker: &Waker) -> Poll<()> {
        if sem.is_granted(queued.ticket()) {
            // Our entry left the list when the permit was handed to us.
            self.queued = None;
            sem.leave_handed();
            Poll::Ready(())
        } else if sem.poll_queued(queued, waker) {
            self.queued = None;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Leaves the queue if this acquire is in it, handing on a permit it was handed.
    pub(crate) fn cancel(&mut self, sem: &RawSemaphore) {
        if let Some(queued) = self.queued.take() {
            sem.cancel(queued);
        }
    }

    /// Whether this acquire waits in the queue (or was handed a permit and has not run).
    pub(crate) fn is_queued(&self) -> bool {
        self.queued.is_some()
    }
}

impl Drop for AcquireSlot {
    fn drop(&mut self) {
        debug_assert!(
            self.queued.is_none() || std::thread::panicking(),
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
