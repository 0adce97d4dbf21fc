//! The thread-local context: which executor (and which worker) runs on this thread.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::local::Context;
use crate::mt::WorkerLocal;
use crate::shared::Shared;
use crate::st::StLocal;
use crate::task_handle::TaskMeta;

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

/// The task being polled on this thread and its task-local context.
struct TaskTls {
    /// The metadata of the task being polled (null outside task polls).
    meta: Cell<*const TaskMeta>,
    /// The current task-local context (the running task's, or the thread's outside tasks).
    context: RefCell<Context>,
    /// The index of the worker running on this thread (for the watchdog's busy slots).
    worker: Cell<usize>,
}

thread_local! {
    static TASK: TaskTls = TaskTls {
        meta: Cell::new(std::ptr::null()),
        context: RefCell::new(Context::default()),
        worker: Cell::new(0),
    };
}

/// Marks `meta` as the task being polled on this thread and installs `context`; returns what
/// to restore with [`leave_task`].
pub(crate) fn enter_task(meta: &TaskMeta, context: Context) -> (*const TaskMeta, Context) {
    TASK.with(|t| {
        let prev_meta = t.meta.replace(meta);
        let prev_ctx = std::mem::replace(&mut *t.context.borrow_mut(), context);
        (prev_meta, prev_ctx)
    })
}

/// Undoes [`enter_task`]; returns the task's (possibly updated) context.
pub(crate) fn leave_task(prev: (*const TaskMeta, Context)) -> Context {
    TASK.try_with(|t| {
        t.meta.set(prev.0);
        std::mem::replace(&mut *t.context.borrow_mut(), prev.1)
    })
    .unwrap_or_default()
}

/// Runs `f` with the metadata of the task being polled on this thread.
pub(crate) fn current_task_meta<R>(f: impl FnOnce(Option<&TaskMeta>) -> R) -> R {
    let ptr = TASK.try_with(|t| t.meta.get()).unwrap_or(std::ptr::null());
    // SAFETY: a non-null pointer was set by `enter_task` from a live `&TaskMeta` (in the
    // task's allocation, which outlives the poll) and is reset by `leave_task` before the poll
    // returns, so it is valid for as long as this thread is inside that poll — which it is,
    // since `f` runs here, synchronously.
    f(unsafe { ptr.as_ref() })
}

/// Runs `f` with this thread's current task-local context.
pub(crate) fn with_context<R>(f: impl FnOnce(&mut Context) -> R) -> R {
    let mut f = Some(f);
    match TASK.try_with(|t| (f.take().expect("once"))(&mut t.context.borrow_mut())) {
        Ok(r) => r,
        Err(_) => (f.take().expect("once"))(&mut Context::default()),
    }
}

/// Installs `context` on this thread; returns the previous one.
pub(crate) fn swap_context(context: Context) -> Context {
    TASK.try_with(|t| std::mem::replace(&mut *t.context.borrow_mut(), context))
        .unwrap_or_default()
}

/// Records which worker runs on this thread.
pub(crate) fn set_worker_index(i: usize) {
    let _ = TASK.try_with(|t| t.worker.set(i));
}

/// The worker running on this thread.
pub(crate) fn worker_index() -> usize {
    TASK.try_with(|t| t.worker.get()).unwrap_or(0)
}
