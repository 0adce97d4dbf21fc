//! The thread-local context: which executor (and which worker) runs on this thread.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::mt::WorkerLocal;
use crate::shared::Shared;
use crate::st::StLocal;

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
