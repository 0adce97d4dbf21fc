//! asyncio's synchronization primitives, for any executor.
//!
//! This crate is the Rust version of Python's `asyncio.Lock`, `Event`, `Condition`,
//! `Semaphore`, `BoundedSemaphore` and `Barrier`, plus the data-owning locks Rust users
//! expect. It is re-exported by the `tulip` facade as `tulip::sync`, but depends on no
//! runtime: every type works under any executor, and from plain threads through the
//! `*_blocking` methods.
//!
//! * [`Lock`]: a FIFO mutual-exclusion lock that guards no data (asyncio's `Lock`).
//! * [`Mutex<T>`]: the same lock owning the value it protects.
//! * [`RwLock<T>`]: a reader-writer lock with writer preference.
//! * [`Event`]: a flag that tasks can wait for (set, clear, wait).
//! * [`Condition`]: a condition variable with its lock (wait, wait_for, notify).
//! * [`Semaphore`]: a FIFO counting semaphore with RAII permits.
//! * [`BoundedSemaphore`]: a semaphore whose explicit `release()` cannot exceed its initial
//!   value ([`TooManyReleases`]).
//! * [`Barrier`]: a reusable barrier with arrival indices, `abort()` and `reset()`
//!   ([`BrokenBarrierError`]).
//!
//! Most methods come in the trio `op()` (a future), `try_op()` (never waits) and
//! `op_blocking()` (parks the thread), with `op_arc()` variants whose guards own an `Arc`
//! for `'static` tasks. The futures are named types, listed in [`futures`]; they are lazy
//! (creating one does nothing until it is polled) and `Unpin`.
//!
//! # Fairness and cancellation
//!
//! [`Lock`], [`Mutex`], [`Semaphore`], [`BoundedSemaphore`] and the writers of [`RwLock`] are
//! strictly FIFO: a release *hands* the lock or permit to the oldest waiter, and a newcomer
//! never takes it first, not even with `try_*`. asyncio's example holds: three tasks that each
//! acquire and release a `Semaphore::new(1)` twice run in the order c1, c2, c3, c1, c2, c3.
//!
//! A future is cancelled by dropping it. Every async method documents in a `# Cancel safety`
//! section what a dropped future leaves behind; in short, dropping one never loses a permit,
//! a lock or a notification that belongs to another task. A waiter dropped after it was handed
//! a permit, but before it ran, hands the permit on to the next waiter; a [`Condition`] waiter
//! dropped after it was notified passes the notification on.
//!
//! # Implementation
//!
//! The crate depends on no runtime and spawns no thread; of tulip's crates it uses only
//! tulip-waitlist (its wait queue) and tulip-util (its std/loom switch). Each FIFO primitive
//! keeps its free permits in one atomic word: taking a free lock or permit while nobody waits,
//! and giving one back while nobody waits, is a single compare-and-swap. Only once a task has to wait
//! does the primitive take a small internal `std` mutex, which guards its wait queue, so that
//! a release can hand its permit to exactly the oldest waiter.
//!
//! The wait queue is a slab of entries (the waiter's waker, and links of a FIFO threaded
//! through the slab by index) behind that mutex; a waiting future keeps only its entry's
//! index. Entries are reused, so waiting allocates nothing once the slab has grown to the
//! number of tasks waiting at once; a large slab is freed when it empties. A wait costs two
//! short critical sections: join the queue with the waker, and be handed the permit by a
//! release, which takes the entry out of the queue. The woken waiter sees its permit through
//! an atomic (each waiter has a ticket, and the semaphore remembers the last ticket served),
//! without the mutex. Tasks are woken after the mutex is released. [`Event`],
//! [`Condition`]'s notifications, [`RwLock`]'s readers and [`Barrier`] use the same queue
//! behind a mutex of its own, with a lock-free check that makes a notification with nobody
//! waiting a fence and a load. [`RwLock`] adds a reader count and a writer bit to a FIFO
//! writers' lock; [`Barrier`] keeps asyncio's state machine behind a short-lived mutex.
//!
//! The only `unsafe` code is in `Mutex<T>` and `RwLock<T>`: their guards hand out `&mut T`
//! and must stay `Send`, which needs an `UnsafeCell` (a `std` lock inside would make the
//! guards `!Send`). The semaphore core keeps its waiters behind tulip-waitlist's
//! `ShortLock`, `std`'s mutex without the poisoning checks that cost a tenth of a contended
//! acquire.
//!
//! The state machines are checked with [loom](https://docs.rs/loom) under `--cfg
//! tulip_loom` (`tests/loom.rs`). There the atomics, fences, mutexes and data cells (all taken
//! from `tulip_util::sync`) come from loom, and the wait queues are the same code as in a
//! normal build, so the models check the permit word, the hand-off logic and the wait queues
//! together, in every interleaving.
//!
//! # Relationship with `std::sync`
//!
//! In async code, use these types when a lock is held across an `.await`, or when a task
//! must *wait* (for a permit, an event, a condition, a barrier) without blocking its thread.
//! When a lock is only held for a short, synchronous critical section, `std::sync::Mutex`
//! (or `RwLock`) is simpler and faster, and fine to use from async code as long as the guard
//! is dropped before the next `.await`. Unlike asyncio's primitives, which belong to one
//! event loop, all types here are `Send + Sync` and may be shared between loops and threads.
//!
//! # Examples
//!
//! Three tasks share a semaphore of one permit and take turns in FIFO order:
//!
//! ```
//! use std::sync::{Arc, Mutex as StdMutex};
//! use futures_lite::future;
//! use tulip_sync::Semaphore;
//!
//! let sem = Arc::new(Semaphore::new(1));
//! let order = Arc::new(StdMutex::new(Vec::new()));
//!
//! let ex = async_executor::LocalExecutor::new();
//! let tasks: Vec<_> = (1..=3)
//!     .map(|id| {
//!         let (sem, order) = (Arc::clone(&sem), Arc::clone(&order));
//!         ex.spawn(async move {
//!             for _ in 0..2 {
//!                 let _permit = sem.acquire().await;
//!                 order.lock().unwrap().push(id);
//!                 future::yield_now().await;
//!             }
//!         })
//!     })
//!     .collect();
//! future::block_on(ex.run(async {
//!     for task in tasks {
//!         task.await;
//!     }
//! }));
//! assert_eq!(*order.lock().unwrap(), [1, 2, 3, 1, 2, 3]);
//! ```
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

use std::task::Poll;

mod barrier;
mod bounded;
mod condition;
mod event;
mod line;
mod lock;
mod mutex;
mod notify;
mod raw;
mod rwlock;
mod semaphore;

pub use barrier::{Barrier, BrokenBarrierError};
pub use bounded::{BoundedPermit, BoundedPermitArc, BoundedSemaphore, TooManyReleases};
pub use condition::Condition;
pub use event::Event;
pub use lock::{Lock, LockGuard, LockGuardArc};
pub use mutex::{Mutex, MutexGuard, MutexGuardArc};
pub use rwlock::{
    RwLock, RwLockReadGuard, RwLockReadGuardArc, RwLockWriteGuard, RwLockWriteGuardArc,
};
pub use semaphore::{Permit, PermitArc, Semaphore};

/// Returns `poll`, telling a tulip loop in debug mode (through
/// [`tulip_util::waiting::note_waiting`]) that the polling task waits for `what` on `object`
/// when it is `Pending`. Under any other executor it costs a relaxed load.
#[inline]
pub(crate) fn noting<T, O: ?Sized>(poll: Poll<T>, what: &'static str, object: &O) -> Poll<T> {
    if poll.is_pending() {
        tulip_util::waiting::note_waiting(what, object);
    }
    poll
}

/// The named future types returned by the async methods of this crate.
///
/// Naming them lets a struct store a pending acquire, or a trait return one, without
/// boxing.
///
/// # Examples
///
/// ```
/// use tulip_sync::futures::Acquire;
/// use tulip_sync::Semaphore;
///
/// struct Pending<'a> {
///     acquire: Acquire<'a>,
/// }
///
/// # futures_lite::future::block_on(async {
/// let sem = Semaphore::new(1);
/// let pending = Pending { acquire: sem.acquire() };
/// let _permit = pending.acquire.await;
/// # });
/// ```
pub mod futures {
    pub use crate::barrier::BarrierWait;
    pub use crate::bounded::{BoundedAcquire, BoundedAcquireArc};
    pub use crate::condition::{
        ConditionWait, ConditionWaitArc, ConditionWaitFor, ConditionWaitForArc,
    };
    pub use crate::event::EventWait;
    pub use crate::lock::{LockAcquire, LockAcquireArc};
    pub use crate::mutex::{MutexLock, MutexLockArc};
    pub use crate::rwlock::{Read, ReadArc, Write, WriteArc};
    pub use crate::semaphore::{Acquire, AcquireArc};
}
