//! Introspection of the running loop's tasks (asyncio's `current_task()` and `all_tasks()`):
//! [`current`], [`current_id`], [`all`], [`TaskInfo`], and what a task is [`WaitingOn`].
//!
//! The rest of this page is for whoever works on the executor: how a task is made, what it
//! carries, and its life until its memory is freed (the code is in `src/task/`).
//!
//! # The pieces
//!
//! A task is one [`async-task`](async_task) allocation holding:
//!
//! - the header, `TaskMeta` (`meta.rs`): id, name, spawn location, the executor it belongs
//!   to, the worker a `!Send` task is pinned to, its registry slot, and a few atomics (flags,
//!   state, poll count);
//! - the future, `TaskFuture` (`future.rs`): the user's future plus the task's task-local
//!   context, wrapped with cancellation, panic containment and timing;
//! - the output slot, holding a `Result<T, JoinError>` (`error.rs`) once the future is done.
//!
//! Three kinds of reference keep the allocation alive: the `Runnable` (a run queue holds it
//! while the task is scheduled; running it polls the future), `Waker`s (one of them in the
//! registry once the task is registered), and the [`Task`] handle (`handle.rs`)
//! — or nothing, once the handle is detached or dropped.
//!
//! # Life
//!
//! ```text
//!   spawn ──► SCHEDULED ──run──► RUNNING ──Pending──► IDLE ──wake──► SCHEDULED ──► …
//!                                   │                   │
//!                                   │ Ready / panic /   │ cancel: woken, then polled:
//!                                   │ cancel seen       │ the cancel is seen
//!                                   ▼                   ▼
//!                      future dropped in place, `task_done` (leaves the registry),
//!                      outcome stored for the handle
//! ```
//!
//! - **Spawn** (`spawn_send`, `spawn_pinned` below): the header is filled in (`state` =
//!   `SCHEDULED`, no slot, no flag), async-task allocates, and the `Runnable` goes to a run
//!   queue — or is dropped at once if the executor has closed, which cancels the task. In
//!   debug mode the task registers here already, so that `task::all()` lists it.
//! - **Scheduled → running**: the scheduler runs the `Runnable`, which polls the
//!   `TaskFuture` (`state` = `RUNNING`, `polls` + 1). async-task guarantees that one thread
//!   at a time polls a task, and that a wake during a poll reschedules it after the poll.
//! - **Running → idle**: at `Pending` the task is `IDLE`; at its *first* `Pending` it
//!   registers (its waker goes into the registry and its index into `slot`), which is how
//!   closing and [`Task::cancel`] reach a task that nobody else will wake. A task that
//!   finishes in its first poll never registers.
//! - **End**: `Ready`, a panic (reported, then `JoinError::Panicked`) or a cancel seen
//!   before or after a poll (`JoinError::Cancelled`) drops the user's future at once, in the
//!   task's own task-local context, containing a panic from its `Drop`; the task leaves the
//!   registry; async-task stores the outcome for the handle.
//! - **Dropped unfinished**: closing the executor wakes every registered task and drops
//!   every queued `Runnable`; async-task then drops the `TaskFuture`, whose `Drop` does what
//!   the end does (the awaiter gets `JoinError::Cancelled`).
//!
//! # Who touches what, from which thread
//!
//! | field | written by | read by |
//! |---|---|---|
//! | `id`, `name`, `location`, `shared`, `pinned` | the spawning thread, before the task exists | any thread |
//! | the user's future, the task-local context (`TaskFuture`) | the thread polling or dropping the task | that thread |
//! | `slot` | the task's own poll (registering) and drop (`task_done`) | any thread (`Task::cancel`) |
//! | `flags`: `CANCEL` | any thread (`Task::cancel`) | the polling thread |
//! | `flags`: `PANICKED`, `HANDLE_GONE`, `REPORTED` | the polling thread; the handle's thread | both (debug mode's "never retrieved" rule) |
//! | `polls` | the polling thread (a plain store: it is the only writer) | any thread (introspection, relaxed) |
//! | `state` | the waking thread (`SCHEDULED`), the polling thread | any thread (introspection, relaxed) |
//! | the registry entry | under its shard's lock | under its shard's lock |
//!
//! The polling thread is any worker for a `Send` task, and always the same one for a task
//! pinned by `spawn_local`: its `Runnable` is only ever queued where that worker alone takes
//! it, and at shutdown each worker drops its own pinned tasks (see `src/scheduler/`). That is
//! what makes running a `!Send` future sound.
//!
//! # The cancel/registration handshake
//!
//! A cancel must never be lost to a task registering at the same moment:
//!
//! ```text
//!   Task::cancel (any thread)              the task's first Pending (polling thread)
//!   flags |= CANCEL            (SeqCst)    slot = registry.insert(waker)   (SeqCst)
//!   s = slot                   (SeqCst)    if flags & CANCEL   (SeqCst)  → wake itself
//!   if s registered → wake the task
//! ```
//!
//! All four accesses are `SeqCst`, so they fall in one total order: either the cancel's
//! read of `slot` comes after the store (it finds the waker and wakes the task), or the
//! poll's re-read of the flag comes after the cancel's write (it wakes itself). With
//! release/acquire both sides could read the old value — Miri's weak-memory emulation found
//! exactly that as a deadlock. A cancel of a task that is queued or running (not registered)
//! needs no wake: the task sees the flag at its next poll, or right after this one.

pub(crate) mod error;
pub(crate) mod fallible;
pub(crate) mod future;
pub(crate) mod handle;
pub(crate) mod meta;

use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_task::{Runnable, WithInfo};

use crate::current::{with_ctx, Ctx};
use crate::executor::shared::Shared;
use crate::hooks::{run_hook, HookPoint};
use crate::scheduler;
use crate::task::future::TaskFuture;
use crate::task::meta::{TaskMeta, NOT_PINNED, SLOW_POLL};
use crate::task_local::{capture_context, swap_context};

pub use crate::introspect::{
    all, current, current_id, note_waiting, TaskInfo, TaskState, WaitingOn,
};
pub(crate) use handle::Task;

/// Spawns a `Send` future on `shared`.
pub(crate) fn spawn_send<F>(
    shared: &Arc<Shared>,
    future: F,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
    eager: Option<bool>,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_send_meta(
        TaskMeta::new(shared, name, location, NOT_PINNED),
        future,
        eager,
    )
}

/// The header of a `Send` task of `shared` (for [`spawn_send_meta`]).
#[inline]
pub(crate) fn send_meta(
    shared: &Arc<Shared>,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
) -> TaskMeta {
    TaskMeta::new(shared, name, location, NOT_PINNED)
}

/// Spawns a `Send` future as the task whose header is `meta` (made by [`send_meta`]: the
/// caller looks its executor up once, without a reference count of its own).
pub(crate) fn spawn_send_meta<F>(meta: TaskMeta, future: F, eager: Option<bool>) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    debug_assert_eq!(meta.pinned, NOT_PINNED);
    // The child starts with a copy of the spawner's task-local context.
    let context = capture_context();
    // SAFETY: the future is Send + 'static; the only borrow it holds is of the task's own
    // metadata, which async-task stores in the same allocation and drops after the future.
    // The schedule function is a plain fn (Send + Sync + 'static).
    let (runnable, task) = unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta| TaskFuture::new(meta, context, future),
            WithInfo(scheduler::schedule),
        )
    };
    launch(runnable, eager);
    Task::new(task)
}

/// The executor and worker of this thread, where a `!Send` task spawned here must stay.
///
/// Only [`PinTarget::here`] makes one, and it cannot leave the thread (`!Send`), so a
/// `PinTarget` always names the worker of the thread that holds it.
pub(crate) struct PinTarget {
    shared: Arc<Shared>,
    worker: u32,
    _this_thread: PhantomData<*const ()>,
}

impl PinTarget {
    /// This thread's executor and worker; `None` outside any executor.
    pub(crate) fn here() -> Option<PinTarget> {
        with_ctx(|ctx| {
            let (shared, worker) = match ctx? {
                Ctx::St(l) => (l.shared.clone(), 0),
                Ctx::Mt(w) => (w.shared.clone(), w.index as u32),
            };
            Some(PinTarget {
                shared,
                worker,
                _this_thread: PhantomData,
            })
        })
    }
}

/// Spawns a `!Send` future pinned to `target`, the worker of this thread.
pub(crate) fn spawn_pinned<F>(
    target: PinTarget,
    future: F,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
    eager: Option<bool>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = &target.shared;
    let meta = TaskMeta::new(shared, name, location, target.worker);
    let context = capture_context();
    // SAFETY: the future may be !Send, so its Runnable must be run and dropped on the thread of
    // worker `target.worker`, which is this thread (see `PinTarget`). The scheduler only ever
    // queues a pinned task where that worker alone takes it (its own local queue, or its
    // inbox, which only it drains), and shutdown has each worker wake and drop its own pinned
    // tasks on its own thread — waiting for runnables still in flight from other threads —
    // before it exits. The future borrows only its own task's metadata, which outlives it.
    let (runnable, task) = unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta| TaskFuture::new(meta, context, future),
            WithInfo(scheduler::schedule),
        )
    };
    launch(runnable, eager);
    Task::new(task)
}

/// Starts a task just made: the spawn hook and debug mode's early registration, then its
/// first step — queued, run eagerly, or, on a closed executor, cancelled. Not generic, so
/// every spawn site shares it; the checks that only hooks and debug mode need are one test of
/// the task's `SLOW_POLL` flag.
fn launch(runnable: Runnable<TaskMeta>, eager: Option<bool>) {
    let meta = runnable.metadata();
    let shared = &meta.shared;
    if meta.flags.load(Ordering::Relaxed) & SLOW_POLL != 0 {
        launch_instrumented(&runnable);
    }
    if shared.is_closed() {
        // Dropping the runnable cancels the task; its handle reports Cancelled.
        drop(runnable);
    } else if eager.unwrap_or(shared.eager) && runs_here(shared) {
        run_eager(runnable);
    } else {
        scheduler::push_spawned(runnable);
    }
}

/// [`launch`] with hooks or instrumentation: the spawn hook, and in debug mode the task
/// registers at once.
#[cold]
#[inline(never)]
fn launch_instrumented(runnable: &Runnable<TaskMeta>) {
    let meta = runnable.metadata();
    run_hook(meta, HookPoint::Spawn);
    // In debug mode every task is registered from the start, so `task::all()` and dumps list
    // tasks that have not run yet. Otherwise a task registers at its first `Pending`: until
    // then it sits in a run queue, where closing finds it anyway.
    if meta.shared.debug.is_some() {
        // SAFETY: the runnable's waker is a waker of the task whose header it holds.
        unsafe { meta.shared.register(meta, runnable.waker()) };
    }
}

/// Whether this thread runs `shared`'s loop (an eager step may run here).
fn runs_here(shared: &Arc<Shared>) -> bool {
    crate::current::in_loop()
        && with_ctx(|ctx| ctx.is_some_and(|c| Arc::ptr_eq(c.shared(), shared)))
}

/// The eager step: polls the new task right here, inside `spawn`.
///
/// The spawner (a task, a callback or the main future) is in the middle of its own poll, with
/// its task-local context installed on the thread; a task poll expects an empty one (see
/// `current::in_task`), so the spawner's is set aside for the step and put back after. The
/// current-task pointer is saved and restored by `in_task` itself. A panic is caught inside
/// the poll (`TaskFuture`), so nothing unwinds into the spawner. If the task finishes, async-task
/// drops the runnable here and the task never reaches a run queue; if it woke itself during
/// the step, async-task's schedule function queues it as any wake does.
fn run_eager(runnable: Runnable<TaskMeta>) {
    let spawner_ctx = swap_context(crate::task_local::TaskLocals::default());
    runnable.run();
    swap_context(spawner_ctx);
}
