//! [`shield`]: protect work from the cancellation of whoever awaits it (asyncio's `shield`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use tulip_executor::{JoinError, Task};

/// Runs `future` as a task of its own, so that dropping the returned [`Shield`] (cancelling
/// whoever awaits it) does **not** cancel the work: it runs on to completion and its result is
/// discarded (asyncio's `shield`). Awaiting the `Shield` gives the result.
///
/// The work is spawned on the loop that first polls the `Shield` (the future is lazy, like
/// everything tulip returns); a `Shield` dropped before its first poll drops `future`
/// unstarted. A panic in the work is the task's panic: the loop's exception handler reports it
/// and the `Shield` gives `Err(JoinError::Panicked(_))`.
///
/// # Cancel safety
///
/// This is the point of it: dropping the `Shield` after its first poll leaves the work running
/// to completion.
///
/// # Errors
///
/// The `Shield` gives `Err(JoinError)` if the work panicked, or was cancelled because its
/// loop closed.
///
/// # Panics
///
/// Polling it outside a tulip event loop panics (it spawns a task).
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tulip_reactor::sleep;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let saved = Arc::new(AtomicBool::new(false));
///     let s = saved.clone();
///     let commit = tulip_task::shield(async move {
///         sleep(Duration::from_secs(2)).await;
///         s.store(true, SeqCst);
///     });
///     // The caller gives up after one second; the shielded work does not.
///     assert!(tulip_task::timeout(Duration::from_secs(1), commit).await.is_err());
///     sleep(Duration::from_secs(5)).await;
///     assert!(saved.load(SeqCst));
/// });
/// ```
pub fn shield<F>(future: F) -> Shield<F::IntoFuture>
where
    F: IntoFuture,
    F::IntoFuture: Send + 'static,
    F::Output: Send + 'static,
{
    Shield {
        state: State::Lazy(future.into_future(), tulip_executor::spawn::<F::IntoFuture>),
    }
}

/// [`shield`] for a `!Send` future: the work runs on this thread (on this worker, with
/// several).
///
/// # Cancel safety
///
/// Dropping the `Shield` after its first poll leaves the work running to completion.
///
/// # Errors
///
/// As [`shield`].
///
/// # Panics
///
/// Polling it outside a tulip event loop panics.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let rc = std::rc::Rc::new(3);
/// let r = tulip_task::shield_local(async move { *rc * 2 }).await;
/// assert_eq!(r.unwrap(), 6);
/// # });
/// ```
pub fn shield_local<F>(future: F) -> Shield<F::IntoFuture>
where
    F: IntoFuture,
    F::IntoFuture: 'static,
    F::Output: 'static,
{
    Shield {
        state: State::Lazy(
            future.into_future(),
            tulip_executor::spawn_local::<F::IntoFuture>,
        ),
    }
}

/// How a `Shield` starts its work: `spawn` or `spawn_local`, chosen by the constructor that
/// knows the bounds.
type SpawnFn<F> = fn(F) -> Task<<F as Future>::Output>;

enum State<F: Future> {
    /// Not polled yet.
    Lazy(F, SpawnFn<F>),
    Running(Task<F::Output>),
    Done,
}

/// Future of [`shield`] and [`shield_local`]: the shielded work's result.
///
/// # Cancel safety
///
/// Dropping it after its first poll leaves the work running to completion (the task is
/// detached).
///
/// # Errors
///
/// As [`shield`].
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let mut s = tulip_task::shield(async { 3 });
/// assert!(s.task().is_none()); // lazy: nothing spawned yet
/// assert!(futures_lite::future::poll_once(&mut s).await.is_none()); // spawned, not run yet
/// assert!(s.task().is_some());
/// assert_eq!(s.await.unwrap(), 3);
/// # });
/// ```
#[must_use = "a Shield does nothing until polled; dropping it unpolled drops the work"]
pub struct Shield<F: Future> {
    state: State<F>,
}

impl<F: Future> Unpin for Shield<F> {}

impl<F: Future> fmt::Debug for Shield<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Shield");
        match &self.state {
            State::Lazy(..) => d.field("state", &"lazy"),
            State::Running(t) => d.field("task", t),
            State::Done => d.field("state", &"done"),
        };
        d.finish()
    }
}

impl<F: Future> Shield<F> {
    /// The task running the work, once the `Shield` has been polled.
    pub fn task(&self) -> Option<&Task<F::Output>> {
        match &self.state {
            State::Running(t) => Some(t),
            _ => None,
        }
    }
}

impl<F: Future> Future for Shield<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let State::Lazy(..) = self.state {
            let State::Lazy(future, spawn) = std::mem::replace(&mut self.state, State::Done) else {
                unreachable!("checked above")
            };
            self.state = State::Running(spawn(future));
        }
        let State::Running(task) = &mut self.state else {
            panic!("Shield polled after completion");
        };
        let out = std::task::ready!(Pin::new(task).poll(cx));
        self.state = State::Done;
        Poll::Ready(out)
    }
}
