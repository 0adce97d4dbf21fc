//! asyncio's structured concurrency and task combinators for the tulip event loop.
//!
//! - [`TaskGroup`]: asyncio's `TaskGroup` (Trio's nursery): children that cannot outlive the
//!   group, the first failure cancels the siblings, and [`join`](TaskGroup::join) returns a
//!   [`GroupError`] with **every** error and panic (asyncio's `ExceptionGroup`);
//!   [`start`](TaskGroup::start) waits until a child is ready (Trio's `nursery.start`).
//! - [`gather`] (outputs in input order), [`join!`] (futures of different types),
//!   [`try_gather`] and [`try_join!`] (the first `Err` drops the rest): concurrency inside one
//!   task, without spawning.
//! - [`wait`]`(tasks).return_when(`[`ReturnWhen`]`::…).timeout(d).await` → `(done, pending)`;
//!   [`ReturnWhen::FirstError`] stops at the first `Err` as well as the first panic.
//! - [`as_completed`]: a stream of outputs in completion order.
//! - [`shield`]: work that survives the cancellation of whoever awaits it.
//! - [`CancelScope`]: a movable deadline ([`reschedule`](CancelScope::reschedule)) and a
//!   [`cancel`](CancelScope::cancel) callable from anywhere, with Trio's nesting rules;
//!   [`timeout`] / [`timeout_at`] (asyncio's `timeout` and `wait_for`) and [`move_on_after`] /
//!   [`move_on_at`] are built on it; [`current_deadline`].
//!
//! # Cancellation
//!
//! Rust cancels a future by dropping it, and so does everything here: a failed
//! [`TaskGroup`] drops its other children, [`try_gather`] drops the futures it no longer
//! needs, and an expired [`CancelScope`] drops its work. A dropped future can only clean up in
//! `Drop` (there is no `async` drop); every future here has a `# Cancel safety` section saying
//! what dropping it leaves behind.
//!
//! For cleanup that must await (close a connection, say goodbye to a peer), cancellation can
//! be **cooperative** instead, as in Trio: [`CancelScope::cooperative`] does not drop its work
//! when cancelled but tells it — every [`checkpoint`] and [`cancellable`] future inside gives
//! `Err(Cancelled)`, level-triggered, until the work ends — and the work cleans up, awaiting
//! inside a [`CancelScope::shield`], where checkpoints pass. A grace period
//! ([`DEFAULT_GRACE`], [`CancelScope::with_grace`]) bounds it: work still running then is
//! dropped. [`TaskGroup::cooperative`] runs its children that way: a failure or
//! [`cancel`](TaskGroup::cancel) tells them, and `join` waits for their cleanup. Drop stays
//! the default, and always wins: a drop-based scope around a cooperative one drops it.
//!
//! Structured concurrency follows from ownership: the children of a [`TaskGroup`] belong to
//! it, and dropping the group (or the [`Join`] future that owns it) cancels them, so cancelling
//! the task that owns a group (dropping its future) cancels every child, and the owner ends
//! cancelled, not with a `GroupError`. A plain [`Task`](tulip_executor::Task) instead
//! *detaches* when its handle is dropped (asyncio's semantics), which is what [`shield`]
//! relies on.
//!
//! # Cancel scopes
//!
//! A [`CancelScope`] wraps work with [`run`](CancelScope::run); the work ends with
//! `Err(Cancelled::Elapsed)` when the deadline passes, `Err(Cancelled::Requested)` when
//! [`cancel`](CancelScope::cancel) is called. Scopes nest: when several nested scopes are
//! cancelled at once (the same deadline, say), **the outermost reports it** and the inner
//! ones end silently as their work is dropped, which is Trio's rule and asyncio 3.11's for
//! nested `timeout()`s. An inner scope reports a timeout only when its own deadline passes
//! while no enclosing scope is cancelled. A scope never ends early: `Elapsed` means the loop's
//! clock has reached the deadline.
//!
//! # Implementation
//!
//! Nothing here spawns a thread, and only [`TaskGroup`] and [`shield`] spawn tasks (on the
//! running loop, single- or multi-threaded).
//!
//! - A [`TaskGroup`] child is an ordinary task whose future is wrapped: the wrapper checks the
//!   group's stop flag before every poll (the group wakes every child when it sets it), and runs
//!   the child under `catch_unwind`. A child's panic is therefore collected into the
//!   [`GroupError`], payload included, and is *not* reported to the loop's exception handler,
//!   as asyncio does not report a `TaskGroup` child's exception to the loop's handler.
//! - [`gather`], [`try_gather`], [`as_completed`] and [`wait`] poll their futures inside the
//!   awaiting task, each future with its own waker that queues its index, so a wake-up costs
//!   one poll of the future concerned (a small `FuturesUnordered`). [`join!`] pins its futures
//!   on the awaiting task's stack and polls them in turn.
//! - A [`CancelScope`] arms one reactor timer for its deadline; the decision itself reads the
//!   loop's clock. Each thread keeps a stack of the scopes being polled and one clock reading
//!   shared by them, which is how nested scopes agree on who reports a cancellation.
//!
//! The crate has no `unsafe` code.
//!
//! # Examples
//!
//! A group of workers under a deadline:
//!
//! ```
//! use std::time::Duration;
//! use tulip_reactor::{sleep, Instant};
//! use tulip_task::{timeout, TaskGroup};
//!
//! tulip_runtime::Runner::builder().start_paused(true).build().run(async {
//!     let start = Instant::now();
//!     let work = async {
//!         let tg = TaskGroup::<std::io::Error>::new();
//!         for secs in [1, 2, 3600] {
//!             tg.spawn(async move {
//!                 sleep(Duration::from_secs(secs)).await;
//!                 Ok(())
//!             })
//!             .unwrap();
//!         }
//!         tg.join().await
//!     };
//!     // The deadline drops the group, which cancels the hour-long child.
//!     assert!(timeout(Duration::from_secs(10), work).await.is_err());
//!     assert_eq!(start.elapsed(), Duration::from_secs(10));
//! });
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod as_completed;
mod checkpoint;
mod gather;
mod group;
mod join;
mod scope;
mod scoped_task;
mod set;
mod shield;
mod timeout;
mod wait;

pub use as_completed::{as_completed, AsCompleted, Indexed};
pub use checkpoint::{cancellable, cancellation, checkpoint, Cancellable, Checkpoint};
pub use gather::{gather, try_gather, Gather, TryGather};
pub use group::{
    Failure, GroupError, GroupTask, Join, Ready, SpawnError, SpawnErrorKind, Start, StartError,
    TaskGroup, TaskGroupHandle,
};
pub use scope::{current_deadline, CancelScope, CancelScoped, Cancelled, DEFAULT_GRACE};
pub use scoped_task::{spawn_cooperative, ScopedTask};
pub use shield::{shield, shield_local, Shield};
pub use timeout::{move_on_after, move_on_at, timeout, timeout_at, MoveOn, Timeout};
pub use wait::{wait, Done, FirstError, ReturnCondition, ReturnWhen, Wait, WaitFuture};

/// Re-exported for the macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::join::MaybeDone;
    pub use core::future::poll_fn;
    pub use core::pin::pin;
}
