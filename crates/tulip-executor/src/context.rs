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

/// The task being polled on this thread (no destructor, so access is a plain TLS load).
struct TaskTls {
    /// The metadata of the task being polled (null outside task polls).
    meta: Cell<*const TaskMeta>,
    /// Whether [`CONTEXT`] may hold a value: when false the current context is empty and
    /// nobody needs to touch `CONTEXT` (the common case: tasks that use no task-locals).
    ctx_live: Cell<bool>,
    /// The index of the worker running on this thread (for the watchdog's busy slots).
    worker: Cell<usize>,
}

thread_local! {
    static TASK: TaskTls = const {
        TaskTls {
            meta: Cell::new(std::ptr::null()),
            ctx_live: Cell::new(false),
            worker: Cell::new(0),
        }
    };
    /// The current task-local context (the running task's, or the thread's outside tasks).
    static CONTEXT: Cell<Context> = const { Cell::new(Context::EMPTY) };
}

/// Marks `meta` as the task being polled on this thread and installs its `context`; returns
/// what [`leave_task`] restores.
///
/// Invariant: between polls the thread's context is empty (`block_on` moves the caller's
/// context into the main future and swaps it around each of its polls; callbacks run inside
/// `Context::run`), so an empty task context needs no swap at all.
#[inline]
pub(crate) fn enter_task(meta: &TaskMeta, context: Context) -> *const TaskMeta {
    TASK.with(|t| {
        if !context.is_empty() {
            CONTEXT.set(context);
            t.ctx_live.set(true);
        }
        t.meta.replace(meta)
    })
}

/// Undoes [`enter_task`]; returns the task's context as the poll left it.
#[inline]
pub(crate) fn leave_task(prev: *const TaskMeta) -> Context {
    TASK.try_with(|t| {
        t.meta.set(prev);
        if t.ctx_live.replace(false) {
            CONTEXT.try_with(Cell::take).unwrap_or_default()
        } else {
            Context::EMPTY
        }
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

/// A copy of this thread's current task-local context (cheap when it is empty).
#[inline]
pub(crate) fn capture_context() -> Context {
    if TASK.try_with(|t| t.ctx_live.get()).unwrap_or(false) {
        CONTEXT
            .try_with(|c| {
                let v = c.take();
                let copy = v.clone();
                c.set(v);
                copy
            })
            .unwrap_or_default()
    } else {
        Context::EMPTY
    }
}

/// Runs `f` with this thread's current task-local context, which it may change.
pub(crate) fn with_context<R>(f: impl FnOnce(&mut Context) -> R) -> R {
    let mut f = Some(f);
    let r = CONTEXT.try_with(|c| {
        let mut ctx = c.take();
        let r = (f.take().expect("once"))(&mut ctx);
        let live = !ctx.is_empty();
        c.set(ctx);
        let _ = TASK.try_with(|t| t.ctx_live.set(live));
        r
    });
    match r {
        Ok(r) => r,
        Err(_) => (f.take().expect("once"))(&mut Context::default()),
    }
}

/// Installs `context` on this thread; returns the previous one.
pub(crate) fn swap_context(context: Context) -> Context {
    let live = !context.is_empty();
    let prev = CONTEXT.try_with(|c| c.replace(context)).unwrap_or_default();
    let _ = TASK.try_with(|t| t.ctx_live.set(live));
    prev
}

/// Records which worker runs on this thread.
pub(crate) fn set_worker_index(i: usize) {
    let _ = TASK.try_with(|t| t.worker.set(i));
}

/// The worker running on this thread.
pub(crate) fn worker_index() -> usize {
    TASK.try_with(|t| t.worker.get()).unwrap_or(0)
}

/// The main future's task-local context while `block_on` runs: it starts as a copy of the
/// caller's, is installed only around the main future's polls (so the thread's context is
/// empty between polls, as tasks expect), and the caller's is put back when `block_on` ends.
pub(crate) struct MainContext {
    main: Context,
    caller: Option<Context>,
}

impl MainContext {
    pub(crate) fn take_from_thread() -> MainContext {
        let caller = swap_context(Context::default());
        MainContext {
            main: caller.clone(),
            caller: Some(caller),
        }
    }

    /// Runs `f` (a poll of the main future) with the main context installed.
    pub(crate) fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        swap_context(std::mem::take(&mut self.main));
        let r = f();
        self.main = swap_context(Context::default());
        r
    }
}

impl Drop for MainContext {
    fn drop(&mut self) {
        if let Some(c) = self.caller.take() {
            swap_context(c);
        }
    }
}
