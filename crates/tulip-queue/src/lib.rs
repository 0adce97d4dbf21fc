//! asyncio's queues and Rust's channels, for any executor.
//!
//! - [`Queue`], [`PriorityQueue`] and [`LifoQueue`]: asyncio's queues with their 3.13
//!   semantics — `put`/`get`, the `_nowait` forms with named errors that hand the item back,
//!   `task_done`/`join`, and `shutdown(immediate)` — as `Clone` handles to one queue that is
//!   `Send + Sync`, with `*_blocking` forms for plain threads.
//! - [`channel`]: [`bounded`](channel::bounded) and [`unbounded`](channel::unbounded)
//!   multi-producer multi-consumer channels, [`oneshot`](channel::oneshot()),
//!   [`broadcast`](channel::broadcast()) and [`watch`](channel::watch()).
//! - [`futures`]: the named futures the queues return; [`QueueItem`], a guard that calls
//!   `task_done` when dropped.
//!
//! Nothing here needs a particular runtime: the futures work under any executor, and every
//! waiting operation also has a blocking form.
//!
//! # Implementation
//!
//! No thread is spawned and no timer is used. The crate composes
//! [concurrent-queue](concurrent_queue) (the FIFO queue's and the mpmc channel's items) with
//! wait lists, a few atomics and short locks of its own. Its only `unsafe` code is the
//! oneshot channel's lock-free state (`channel::oneshot`) and the single slot that holds the
//! item of a FIFO queue or mpmc channel bounded to one (`slot`, one state word over one cell,
//! in place of concurrent-queue's), both checked by loom models and Miri.
//!
//! - **Hand-off.** Waiters queue in FIFO order. Each put wakes one more getter than are
//!   already woken, and each get wakes one more putter (asyncio's `_wakeup_next`). A woken
//!   waiter that is dropped (cancelled) before it ran passes its wake-up to the next one.
//! - **Cancel safety.** Items move only inside the `poll` that returns them: a cancelled get
//!   takes nothing, and a cancelled put enqueues nothing. Each async method says so in its
//!   `# Cancel safety` section.
//! - **Wait lists.** Each wait list is a FIFO queue threaded through a slab of entries
//!   (a waker and two links each) behind a short mutex; a waiting future keeps only the
//!   index of its entry. Entries are reused, so waiting allocates nothing once the slab has
//!   grown to the number of tasks waiting at once. A wait takes the list's lock twice
//!   (register, be notified): a notification takes the entry out and moves an atomic ticket
//!   the woken waiter reads, so it leaves without the lock. Tasks are woken after the lock is
//!   released.
//! - **No lock when nobody needs a wake-up.** Each wait list mirrors in an atomic how many
//!   of its waiters are not notified yet; a put or get that finds it at zero skips the lock
//!   entirely (a fence and a load). The protocol is documented in the `waiters` module.
//! - **Drops.** Every item is dropped exactly once, including items left in a dropped queue
//!   or channel and items discarded by an immediate shutdown. Items are never dropped under a
//!   lock, and if an item's `Drop` panics, the queue stays consistent and the remaining
//!   items are still dropped.
//! - **A bound is a limit, not an allocation.** Memory follows the items held, for any bound
//!   up to `usize::MAX`, and is given back as the queue drains. A bounded FIFO queue or channel
//!   allocates its ring up front only up to 32 KiB; a larger bound gets a 32 KiB ring, and the
//!   items beyond it wait in blocks allocated as the queue grows and freed as it drains.
//! - **FIFO queues are lock-free** while they hold no more than their ring; the items beyond
//!   it wait behind a short lock. LIFO and priority queues keep a `Vec` (a stack or a binary
//!   heap) behind a short lock; it grows with the items and shrinks as they drain.
//! - **Testing.** The loom models in `tests/loom.rs` (run with
//!   `RUSTFLAGS="--cfg tulip_loom"`) explore this crate's own atomics and locks: the wait
//!   lists and their waiter-counting protocol, the unfinished-task counter, the lock-based
//!   queues and shutdown, the FIFO's spill from its ring into the overflow and back (with a
//!   two-slot ring), the single slot of a bound of one, the oneshot, broadcast and watch
//!   channels. Loom cannot see inside concurrent-queue, which runs as ordinary code inside
//!   the models; its own test suite (with loom) covers it.
//!
//! # Examples
//!
//! A producer and two workers, with asyncio's `join()` to wait until every item is processed
//! and `shutdown()` to stop the workers:
//!
//! ```
//! use futures_lite::future;
//! use tulip_queue::Queue;
//!
//! # future::block_on(async {
//! let q = Queue::new(4);
//! let worker = |q: Queue<u32>| async move {
//!     let mut sum = 0;
//!     while let Ok(n) = q.get().await {
//!         sum += n;
//!         q.task_done().unwrap();
//!     }
//!     sum
//! };
//! let workers = future::zip(worker(q.clone()), worker(q.clone()));
//! let producer = async {
//!     for n in 1..=100 {
//!         q.put(n).await.unwrap();
//!     }
//!     q.join().await; // every item taken and marked done
//!     q.shutdown(false); // the workers' `get` now fails
//! };
//! let ((a, b), ()) = future::zip(workers, producer).await;
//! assert_eq!(a + b, 5050);
//! # });
//! ```

#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod fifo;
mod item;
mod queue;
mod shared;
// `unsafe`: a state word over one cell (see its docs), checked by loom models and Miri.
#[allow(unsafe_code)]
mod slot;
mod tasks;
mod waiters;

pub mod channel;
pub mod futures;

pub use crate::{
    error::{GetError, PutError, QueueShutDown, TooManyTaskDone},
    item::QueueItem,
    queue::{LifoQueue, PriorityQueue, Queue},
};
