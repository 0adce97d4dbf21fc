//! Tasks and scheduling for the tulip event loop.
//!
//! - [`spawn`] / [`spawn_local`] / [`Builder`]: start tasks on the running loop (asyncio's
//!   `create_task`).
//! - [`Task`]: await a task's result, [`cancel`](Task::cancel) it, read its [`TaskId`] and
//!   name; dropping a `Task` detaches it (asyncio semantics).
//! - [`JoinError`]: `Cancelled` or `Panicked`, asyncio's `CancelledError` and task exceptions.
//! - [`yield_now`]: asyncio's `sleep(0)`.
//! - [`task_local!`], [`LocalKey`], [`TaskLocals`]: values that flow into the tasks a task
//!   spawns (asyncio's `contextvars`).
//! - [`task`]: the running loop's tasks (asyncio's `current_task()`, `all_tasks()`); its page
//!   also describes, for maintainers, a task's life inside this crate.
//! - [`Executor`]: the task half of an event loop, single-threaded or work-stealing, that
//!   `tulip-runtime` joins with the reactor (through the [`Driver`] seam); [`Spawner`] reaches
//!   it from any thread.
//!
//! # Implementation
//!
//! Tasks are [`async-task`](async_task) allocations: one allocation per task holding the
//! future, its output and a small header (id, name, spawn site, cancel flag). The loop thread
//! owns a FIFO run queue (segmented, no atomics or locks); wakes from other threads go
//! through a concurrent injector and notify the driver only if the loop is parked. The future
//! passed to [`Executor::block_on`] is polled in place, not spawned.
//!
//! Every task's future runs inside a wrapper that catches panics (reported to the loop's
//! handler, surfaced as [`JoinError::Panicked`]), honours [`Task::cancel`], and contains a
//! panic raised while a cancelled future is dropped. The loop never unwinds because of a task.
//!
//! With several workers ([`ExecutorConfig::workers`]), worker threads steal from each other's
//! queues; each has a LIFO slot for message-passing patterns, and `!Send` tasks stay pinned to
//! the worker that spawned them. The single-threaded flavour pays for none of this.
//!
//! This crate never touches a file descriptor: waiting is delegated to a [`Driver`] (the
//! reactor, in a full loop). The single-threaded flavour spawns no thread.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use tulip_executor::{Executor, ThreadDriver};
//!
//! let ex = Executor::new(Arc::new(ThreadDriver::new()));
//! let total = ex.block_on(async {
//!     let tasks: Vec<_> = (0..10).map(|i| tulip_executor::spawn(async move { i * 2 })).collect();
//!     let mut sum = 0;
//!     for t in tasks {
//!         sum += t.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(total, 90);
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![doc(test(attr(deny(warnings))))]

mod current;
mod driver;
mod executor;
mod hooks;
mod introspect;
mod registry;
mod report;
mod scheduler;
mod spawn;
pub mod task;
mod task_local;
mod wait_idle;
mod watchdog;
mod yield_now;

#[cfg(tulip_loom)]
#[doc(hidden)]
pub mod loom_models;

pub use current::{in_loop, EnterGuard};
pub use driver::{Driver, ThreadDriver};
pub use executor::{Executor, ExecutorConfig, Spawner};
pub use hooks::{TaskHook, TaskHookInfo, TaskHooks};
pub use report::{
    call_exception_handler, default_exception_handler, ExceptionContext, ExceptionHandler,
    ReportKind, UnhandledPanic,
};
pub use scheduler::multi_thread::ThreadStart;
pub use spawn::{doc_block_on, spawn, spawn_fallible, spawn_local, spawn_local_fallible, Builder};
pub use task::error::{payload_message, JoinError, Panic};
pub use task::handle::Task;
pub use task::meta::TaskId;
pub use task_local::{AccessError, LocalKey, TaskLocals, WithTaskLocals};
pub use wait_idle::{wait_idle, WaitIdle};
pub use yield_now::{yield_now, YieldNow};
