//! What runs on this thread right now: the executor it has entered (and as which worker),
//! whether a loop runs here, and the task being polled.
//!
//! The task-local values installed on the thread live in [`task_local`](crate::task_local);
//! this module only records whether any are installed, next to the current task, so that a
//! poll of a task without task-locals touches one thread-local.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::executor::shared::Shared;
use crate::scheduler::current_thread::StLocal;
use crate::scheduler::multi_thread::WorkerLocal;
use crate::task::meta::TaskMeta;
use crate::task_local::{self, TaskLocals};

/// The executor state a thread can enter.
#[derive(Clone)]
pub(crate) enum Ctx {
    /// The loop thread of a single-threaded executor.
    St(Rc<StLocal>),
    /// A worker thread of a multi-threaded executor.
    Mt(Rc<WorkerLocal>),
}

impl Ctx {
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        match self {
            Ctx::St(l) => &l.shared,
            Ctx::Mt(w) => &w.shared,
        }
    }
}

thread_local! {
    /// The executor entered on this thread.
    static CURRENT: RefCell<Option<Ctx>> = const { RefCell::new(None) };
    /// Whether an executor loop is running on this thread (nested runs are refused).
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread's context (`None` outside any executor, or while the thread-local
/// is being torn down).
pub(crate) fn with_ctx<R>(f: impl FnOnce(Option<&Ctx>) -> R) -> R {
    let mut f = Some(f);
    let r = CURRENT.try_with(|c| match c.try_borrow() {
        Ok(cur) => Some((f.take().expect("called once"))(cur.as_ref())),
        Err(_) => None,
    });
    match r {
        Ok(Some(v)) => v,
        _ => (f.take().expect("called once"))(None),
    }
}

/// Enters `ctx` on this thread until the guard drops.
pub(crate) fn enter(ctx: Ctx) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Some(ctx)));
    EnterGuard { prev: Some(prev) }
}

/// Restores the previously entered context when dropped.
#[must_use = "the executor is only entered while the guard lives"]
pub struct EnterGuard {
    prev: Option<Option<Ctx>>,
}

impl std::fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnterGuard")
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            let _ = CURRENT.try_with(|c| c.replace(prev));
        }
    }
}

/// Whether an event loop is currently running on this thread.
pub fn in_loop() -> bool {
    RUNNING.try_with(Cell::get).unwrap_or(false)
}

/// Marks the thread as running a loop while alive.
pub(crate) struct RunningGuard {
    prev: bool,
}

impl RunningGuard {
    pub(crate) fn set() -> RunningGuard {
        RunningGuard {
            prev: RUNNING.with(|r| r.replace(true)),
        }
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = RUNNING.try_with(|r| r.set(prev));
    }
}

/// The task being polled on this thread (no destructor, so access is a plain TLS load).
struct TaskTls {
    /// The metadata of the task being polled (null outside task polls). Set only by
    /// [`in_task`], which resets it before it returns or unwinds.
    meta: Cell<*const TaskMeta>,
    /// Whether the thread's task-local context may hold a value: when false it is empty and
    /// nobody needs to touch it (the common case: tasks that use no task-locals).
    locals_live: Cell<bool>,
    /// The index of the worker running on this thread (for the watchdog's busy slots).
    worker: Cell<usize>,
    /// The single-threaded loop running on this thread (null when none): set only by
    /// [`RunningStGuard`], for the whole of the loop's `run_loop` frame, which borrows the
    /// loop's state. Lets a wake on the loop thread reach the run queue without going through
    /// `CURRENT` (a `RefCell` behind a thread-local with a destructor).
    running_st: Cell<*const StLocal>,
}

thread_local! {
    static TASK: TaskTls = const {
        TaskTls {
            meta: Cell::new(std::ptr::null()),
            locals_live: Cell::new(false),
            worker: Cell::new(0),
            running_st: Cell::new(std::ptr::null()),
        }
    };
}

/// Marks `local`'s loop as running on this thread while alive (see `TaskTls::running_st`).
/// Made only by the loop itself, on its stack, while it borrows `local`.
pub(crate) struct RunningStGuard<'a> {
    prev: *const StLocal,
    _local: std::marker::PhantomData<&'a StLocal>,
}

impl<'a> RunningStGuard<'a> {
    /// Marks `local` as the loop running on this thread until the guard drops; the borrow
    /// keeps `local` alive at least that long.
    pub(crate) fn set(local: &'a StLocal) -> RunningStGuard<'a> {
        let prev = TASK.with(|t| t.running_st.replace(local));
        RunningStGuard {
            prev,
            _local: std::marker::PhantomData,
        }
    }
}

impl Drop for RunningStGuard<'_> {
    fn drop(&mut self) {
        // `TASK` has no destructor: it is always there to restore.
        TASK.with(|t| t.running_st.set(self.prev));
    }
}

/// Runs `f` with the single-threaded loop running on this thread, if any (`None` otherwise,
/// and `f` is not called).
#[inline(always)]
pub(crate) fn with_running_st<R>(f: impl FnOnce(&StLocal) -> R) -> Option<R> {
    let ptr = TASK.with(|t| t.running_st.get());
    // SAFETY: a non-null pointer was set by a `RunningStGuard` that is still alive (its drop
    // puts back the previous value, on return and on unwind alike), and the guard borrows the
    // `StLocal` for its whole life, so the `StLocal` is alive. The guard lives on this
    // thread's stack, and `TASK` is this thread's: `f` runs on the thread that runs the loop,
    // synchronously, while that borrow lasts. Only shared references are ever made.
    unsafe { ptr.as_ref() }.map(f)
}

/// Runs `f` as a poll (or the drop) of `meta`'s task: `meta` is the current task and
/// `context` the thread's task-local context meanwhile. Returns what `f` returned and the
/// context as `f` left it.
///
/// Invariant: between polls the thread's context is empty (`block_on` moves the caller's
/// context into the main future and swaps it around each of its polls; callbacks run inside
/// `TaskLocals::run`), so an empty task context needs no swap at all.
#[inline]
pub(crate) fn in_task<R>(
    meta: &TaskMeta,
    context: TaskLocals,
    f: impl FnOnce() -> R,
) -> (R, TaskLocals) {
    let prev = enter_task(meta, context);
    // Resets the current task if `f` unwinds, so that no pointer to `meta` outlives this call.
    let guard = LeaveOnUnwind(prev);
    let r = f();
    std::mem::forget(guard);
    (r, leave_task(prev))
}

/// Undoes [`enter_task`] when dropped (only while unwinding out of [`in_task`]).
struct LeaveOnUnwind(*const TaskMeta);

impl Drop for LeaveOnUnwind {
    fn drop(&mut self) {
        let _ = leave_task(self.0);
    }
}

/// Marks `meta` as the task being polled on this thread and installs its `context`; returns
/// what [`leave_task`] restores.
#[inline(always)]
fn enter_task(meta: &TaskMeta, context: TaskLocals) -> *const TaskMeta {
    if !context.is_empty() {
        install_locals(context);
    }
    // `TASK` has no destructor, so this is a plain TLS access, inlined into every poll.
    TASK.with(|t| t.meta.replace(meta))
}

/// [`enter_task`] for a task that has task-locals: out of line, so that the poll of a task
/// without any (the common case) stays small and inlined.
#[inline(never)]
fn install_locals(context: TaskLocals) {
    task_local::install(context);
    set_locals_live(true);
}

/// Undoes [`enter_task`]; returns the task's context as the poll left it.
#[inline(always)]
fn leave_task(prev: *const TaskMeta) -> TaskLocals {
    let live = TASK
        .try_with(|t| {
            t.meta.set(prev);
            t.locals_live.replace(false)
        })
        .unwrap_or(false);
    if live {
        uninstall_locals()
    } else {
        TaskLocals::EMPTY
    }
}

/// [`leave_task`] for a task that has task-locals (out of line, as [`install_locals`]).
#[inline(never)]
fn uninstall_locals() -> TaskLocals {
    task_local::uninstall()
}

/// Runs `f` with the metadata of the task being polled on this thread.
pub(crate) fn current_task_meta<R>(f: impl FnOnce(Option<&TaskMeta>) -> R) -> R {
    let ptr = TASK.try_with(|t| t.meta.get()).unwrap_or(std::ptr::null());
    // SAFETY: a non-null pointer was set by `in_task` from a live `&TaskMeta` (in the task's
    // allocation, which outlives the poll), and `in_task` resets it before it returns or
    // unwinds. So it is valid for as long as this thread is inside that `in_task` call — which
    // it is, since `f` runs here, synchronously.
    f(unsafe { ptr.as_ref() })
}

/// Whether the thread's task-local context may hold a value.
#[inline]
pub(crate) fn locals_live() -> bool {
    TASK.try_with(|t| t.locals_live.get()).unwrap_or(false)
}

/// Records whether the thread's task-local context holds a value.
#[inline]
pub(crate) fn set_locals_live(live: bool) {
    let _ = TASK.try_with(|t| t.locals_live.set(live));
}

/// Records which worker runs on this thread.
pub(crate) fn set_worker_index(i: usize) {
    let _ = TASK.try_with(|t| t.worker.set(i));
}

/// The worker running on this thread.
pub(crate) fn worker_index() -> usize {
    TASK.try_with(|t| t.worker.get()).unwrap_or(0)
}
