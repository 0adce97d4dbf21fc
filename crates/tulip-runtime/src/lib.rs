//! The tulip event loop: where the executor and the reactor meet.
//!
//! - [`run`]: asyncio's `asyncio.run` — a new loop on this thread runs a future to the end,
//!   then cancels the tasks left and closes. On the main thread, Ctrl-C cancels the future,
//!   closes the loop and ends the process by SIGINT, as asyncio 3.11's Runner does
//!   ([`RunnerBuilder::handle_ctrl_c`]).
//! - [`Runner`] / [`RunnerBuilder`]: asyncio's `Runner` — one loop, many `run`s, options
//!   (debug, exception handler, paused clock, backend).
//! - [`EventLoop::current`] → [`LoopHandle`]: asyncio's `get_running_loop()` with
//!   `call_soon`, `call_later`, `call_at`, `call_soon_threadsafe`, `time`, `stop`, `spawn`,
//!   `add_signal_handler`, `remove_signal_handler`, `create_future`, `add_reader`/`add_writer`
//!   (level-triggered fd callbacks) and their removal.
//! - [`future`]: asyncio's `Future` — [`future::Promise`] and [`future::Completion`] with
//!   done-callbacks, [`future::wrap_future`], [`InvalidStateError`].
//! - Eager tasks and task hooks: [`RunnerBuilder::eager_tasks`],
//!   [`RunnerBuilder::on_task_spawn`] and the poll and termination hooks.
//! - [`block_on`]: run one future from synchronous code.
//! - [`LoopHandle::dump`]: every task of a loop, as text or JSON; on Unix also from outside
//!   the process when `TULIP_DUMP_SOCKET` or `TULIP_DUMP_SIGNAL` is set (see
//!   [`LoopDump`]; not available on other platforms).
//! - [`to_thread`] / [`spawn_blocking`]: run blocking closures on the loop's bounded blocking
//!   pool (asyncio's `to_thread` / `run_in_executor`).
//!
//! # Implementation
//!
//! A loop is a `tulip_executor::Executor` (run queue, tasks) plus a `tulip_reactor::Reactor`
//! (I/O, timers, clock). With one worker (the default) it lives on one thread and spawns none:
//! when no task is ready the loop parks in the reactor until the next timer, an I/O event, or a
//! wake from another thread. With `workers(n)`, `n - 1` worker threads steal work from each
//! other; whichever worker would otherwise sleep drives the one reactor. The blocking pool's
//! threads come and go on demand.
//! Every so many queue items (128 on the single-threaded loop, every 61st turn of a worker on
//! the multi-threaded one) the loop checks the reactor without blocking, so a task that is
//! always ready cannot starve I/O or timers.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! let out = tulip_runtime::run(async {
//!     let task = tulip_executor::spawn(async {
//!         tulip_reactor::sleep(Duration::from_millis(1)).await;
//!         "slept"
//!     });
//!     task.await.unwrap()
//! });
//! assert_eq!(out, "slept");
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod blocking;
mod dump;
#[cfg(unix)]
mod fd;
pub mod future;
mod handle;
#[cfg(unix)]
mod remote;
mod runner;

pub use blocking::{spawn_blocking, to_thread, BlockingTask, ShutdownReport, ToThread};
pub use dump::{LoopDump, TaskDump};
pub use future::InvalidStateError;
pub use handle::{CallHandle, EventLoop, LoopHandle, TimerHandle};
pub use runner::{block_on, run, Runner, RunnerBuilder};
pub use tulip_executor::{
    call_exception_handler, default_exception_handler, ExceptionContext, ExceptionHandler,
    ReportKind, UnhandledPanic,
};
