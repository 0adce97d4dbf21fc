//! Tasks spawned inside a cancel scope: a handle whose `cancel` is the scope's, so a task in a
//! cooperative scope sees cancellation as a request it can clean up after.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use tulip_executor::{JoinError, Task, TaskId};

use crate::scope::{CancelScope, CancelScoped, Cancelled};

/// A task spawned with [`CancelScope::spawn`] (or [`spawn_cooperative`]): a [`Task`] whose
/// [`cancel`](Self::cancel) cancels the scope it runs in.
///
/// With a [cooperative](CancelScope::cooperative) scope that is a *request*: the task's
/// checkpoints return `Err(Cancelled)`, it may clean up (awaiting, in a
/// [shield](CancelScope::shield)) and end, and it is dropped only if it is still running
/// after the scope's grace period. [`abort`](Self::abort) drops it at once, as
/// [`Task::cancel`] does. With a drop-based scope both drop it at its next poll.
///
/// Awaiting it gives `Ok(Ok(output))`, `Ok(Err(Cancelled))` when the scope dropped the work
/// (or the work ended with the scope cancelled before it could run), or `Err(JoinError)` when
/// the task panicked or was aborted. Dropping the handle detaches the task, as for [`Task`].
#[must_use = "a ScopedTask is a handle: drop it to detach the task, await it for its output"]
pub struct ScopedTask<T> {
    task: Task<Result<T, Cancelled>>,
    scope: CancelScope,
}

impl<T> ScopedTask<T> {
    /// Cancels the task's scope: a request for a cooperative scope, a drop otherwise (see the
    /// type's docs). Calling it again, or after the task ended, does nothing.
    pub fn cancel(&self) {
        self.scope.cancel();
    }

    /// Drops the task at once, whatever its scope, as [`Task::cancel`]; `true` if it had not
    /// finished.
    pub fn abort(&self) -> bool {
        self.task.cancel()
    }

    /// The scope the task runs in (to move its deadline, or ask whether it was cancelled).
    pub fn scope(&self) -> &CancelScope {
        &self.scope
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// Whether the task has ended (finished, dropped by its scope, panicked or aborted).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Lets the task run on without a handle (its scope can still be cancelled through a
    /// clone of [`scope`](Self::scope)).
    pub fn detach(self) {
        self.task.detach();
    }
}

impl<T> Future for ScopedTask<T> {
    type Output = Result<Result<T, Cancelled>, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> fmt::Debug for ScopedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedTask")
            .field("task", &self.task)
            .field("scope", &self.scope)
            .finish()
    }
}

impl CancelScope {
    /// Spawns `future` as a task that runs inside this scope, and returns a handle whose
    /// [`cancel`](ScopedTask::cancel) is this scope's. With a
    /// [`cooperative`](Self::cooperative) scope, that is how a task learns that it is being
    /// cancelled and cleans up before it ends (asyncio's `except CancelledError: await
    /// cleanup(); raise`); [`spawn_cooperative`] is the short form.
    ///
    /// # Cancel safety
    ///
    /// Spawning does not wait; the handle is as a [`Task`]'s: dropping it detaches the task.
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_reactor::sleep;
    /// use tulip_task::{cancellable, CancelScope, Cancelled};
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let task = CancelScope::cooperative().spawn(async {
    ///         match cancellable(sleep(Duration::from_secs(60))).await {
    ///             Ok(()) => "slept",
    ///             Err(Cancelled::Requested) => {
    ///                 // Told, not dropped: clean up, awaiting in a shield, then end.
    ///                 CancelScope::shield()
    ///                     .run(sleep(Duration::from_millis(10)))
    ///                     .await
    ///                     .unwrap();
    ///                 "cleaned up"
    ///             }
    ///             Err(Cancelled::Elapsed) => unreachable!("no deadline"),
    ///         }
    ///     });
    ///     tulip_executor::yield_now().await;
    ///     task.cancel();
    ///     assert_eq!(task.await.unwrap(), Ok("cleaned up"));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> ScopedTask<<F::IntoFuture as Future>::Output>
    where
        F: IntoFuture,
        F::IntoFuture: Send + 'static,
        <F::IntoFuture as Future>::Output: Send + 'static,
    {
        let run: CancelScoped<F::IntoFuture> = self.run(future);
        ScopedTask {
            task: tulip_executor::spawn(run),
            scope: self.clone(),
        }
    }

    /// [`spawn`](Self::spawn) for a `!Send` future, pinned to this thread.
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> ScopedTask<<F::IntoFuture as Future>::Output>
    where
        F: IntoFuture,
        F::IntoFuture: 'static,
        <F::IntoFuture as Future>::Output: 'static,
    {
        let run: CancelScoped<F::IntoFuture> = self.run(future);
        ScopedTask {
            task: tulip_executor::spawn_local(run),
            scope: self.clone(),
        }
    }
}

/// Spawns `future` in a fresh [cooperative](CancelScope::cooperative) scope (default grace
/// period, no deadline): the returned handle's [`cancel`](ScopedTask::cancel) is a request the
/// task sees at its checkpoints, not a drop. `CancelScope::cooperative().spawn(future)`.
///
/// # Cancel safety
///
/// Spawning does not wait; dropping the handle detaches the task.
///
/// # Panics
///
/// Panics if no tulip event loop runs on this thread.
///
/// # Examples
///
/// ```
/// use tulip_task::{checkpoint, spawn_cooperative};
///
/// tulip_runtime::run(async {
///     let task = spawn_cooperative(async {
///         let mut steps = 0u64;
///         while checkpoint().await.is_ok() {
///             steps += 1;
///             tulip_executor::yield_now().await;
///         }
///         steps // the loop saw the request and ended on its own
///     });
///     task.cancel();
///     // Not dropped: the task's own return value comes back.
///     let steps: u64 = task.await.unwrap().unwrap();
///     # let _ = steps;
/// });
/// ```
#[track_caller]
pub fn spawn_cooperative<F>(future: F) -> ScopedTask<<F::IntoFuture as Future>::Output>
where
    F: IntoFuture,
    F::IntoFuture: Send + 'static,
    <F::IntoFuture as Future>::Output: Send + 'static,
{
    CancelScope::cooperative().spawn(future)
}
