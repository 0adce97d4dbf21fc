//! [`Task`]: the handle [`spawn`](crate::spawn) returns.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use crate::introspect::{note_waiting, WaitingOn};
use crate::task::error::{JoinError, Outcome, TaskOutput};
use crate::task::meta::{TaskId, TaskMeta, CANCEL, ERRORED, HANDLE_GONE, PANICKED};

/// A handle to a spawned task: await it for the task's result.
///
/// Asyncio semantics: **dropping a `Task` detaches it** — the task keeps running and its result
/// is discarded (the event loop owns running tasks). To stop a task, call
/// [`cancel`](Task::cancel); to tie children's lifetimes to a scope, use a task group.
///
/// Awaiting gives `Ok(value)`, `Err(JoinError::Cancelled)` if the task was cancelled (or its
/// loop closed before it finished), or `Err(JoinError::Panicked(_))` if it panicked.
///
/// # Cancel safety
///
/// Awaiting a `Task` moves it into the `await`; dropping that await (say, a `select` branch
/// that lost) drops the handle, which detaches the task: it keeps running and its result is
/// discarded. Await `&mut` through a wrapper, or cancel the task explicitly, to stop it.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let task = tulip_executor::spawn(async { 6 * 7 });
/// assert_eq!(task.await.unwrap(), 42);
/// # });
/// ```
#[must_use = "dropping a Task detaches it; call .detach() to say so"]
pub struct Task<T> {
    /// The async-task handle; `None` once detached.
    task: Option<async_task::FallibleTask<TaskOutput<T>, TaskMeta>>,
    /// The task's metadata, inside the task's heap allocation.
    meta: NonNull<TaskMeta>,
    /// Whether the outcome has been taken by awaiting.
    retrieved: bool,
}

// SAFETY: `Task<T>` is an async-task handle (Send when T: Send, since TaskMeta is Send + Sync)
// plus a pointer to the TaskMeta in the same allocation, which is Sync (atomics and immutable
// fields) and is only read through `&`.
unsafe impl<T: Send> Send for Task<T> {}
// SAFETY: every method takes `&self` to read the Sync TaskMeta or `&mut self`/`self` to touch the
// async-task handle; no `&self` method touches the output.
unsafe impl<T> Sync for Task<T> {}

impl<T> Unpin for Task<T> {}

impl<T> Task<T> {
    pub(crate) fn new(task: async_task::Task<TaskOutput<T>, TaskMeta>) -> Task<T> {
        let meta = NonNull::from(task.metadata());
        Task {
            task: Some(task.fallible()),
            meta,
            retrieved: false,
        }
    }

    fn meta(&self) -> &TaskMeta {
        // SAFETY: `meta` points into the task's allocation, which lives at least as long as the
        // async-task handle in `self.task`; that handle is only given up by `detach(self)` and
        // `Drop`, after which `self` is gone. The metadata is never mutated except through its
        // atomics.
        unsafe { self.meta.as_ref() }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.meta().id
    }

    /// The task's name, if it was given one with [`Builder::name`](crate::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.meta().name.as_deref().map(|n| &**n)
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.meta().location
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Asks the task to stop: its future is dropped at its current `.await` point the next time
    /// the loop gets to it, and awaiting the task gives `Err(JoinError::Cancelled)`.
    ///
    /// Returns `false` if the task had already finished (asyncio's `Task.cancel()`), `true`
    /// otherwise. May be called from any thread.
    #[doc(alias = "abort")]
    pub fn cancel(&self) -> bool {
        if self.is_finished() {
            return false;
        }
        let meta = self.meta();
        // SeqCst, with the registering poll's SeqCst store of its slot and re-check of this
        // flag (the handshake in the `task` module docs): in the single total order one of the
        // two comes first, so either this load finds the slot and wakes the task, or the poll
        // sees the flag and wakes itself. With release/acquire both could miss, and the cancel
        // would be lost.
        meta.flags.fetch_or(CANCEL, Ordering::SeqCst);
        meta.shared
            .wake_for_cancel(meta, meta.slot.load(Ordering::SeqCst));
        true
    }

    /// Lets the task run on with nobody awaiting it (what dropping the handle does too).
    pub fn detach(mut self) {
        self.let_go();
    }

    /// Gives up the handle: in debug mode, a panic nobody will ever retrieve is reported.
    fn let_go(&mut self) {
        let Some(t) = self.task.take() else { return };
        if !self.retrieved {
            self.meta().check_never_retrieved(HANDLE_GONE);
        }
        t.detach();
    }

    /// Blocks this (non-loop) thread until the task finishes; for plain threads waiting on a
    /// task spawned through a loop handle.
    ///
    /// # Panics
    ///
    /// Panics if called on a thread that is running a tulip event loop (it would deadlock).
    pub fn wait_blocking(self) -> Result<T, JoinError> {
        assert!(
            !crate::current::in_loop(),
            "Task::wait_blocking called on an event loop thread; await the task instead"
        );
        tulip_util::block_on(self)
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.let_go();
    }
}

impl<T> Future for Task<T> {
    type Output = Outcome<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        let task = self
            .task
            .as_mut()
            .expect("a detached Task cannot be awaited");
        match Pin::new(task).poll(cx) {
            Poll::Ready(Some(outcome)) => {
                self.retrieved = true;
                let meta = self.meta();
                if meta.flags.load(Ordering::Relaxed) & (PANICKED | ERRORED) != 0 {
                    meta.shared.forget_failure(meta.id);
                }
                Poll::Ready(outcome.map_err(|e| *e))
            }
            // The loop dropped the task before it finished (it closed).
            Poll::Ready(None) => {
                self.retrieved = true;
                Poll::Ready(Err(JoinError::Cancelled))
            }
            Poll::Pending => {
                note_waiting(WaitingOn::Task(self.id()));
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
