//! Checkpoints: where work running in a [`cooperative`](crate::CancelScope::cooperative)
//! cancel scope learns that it is cancelled.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::scope::Listener;
use crate::Cancelled;

/// A checkpoint (Trio's `checkpoint`): yields to the loop once, and gives `Err(Cancelled)` if
/// a [`cooperative`](crate::CancelScope::cooperative) scope around the caller is cancelled
/// (checked before and after the yield), `Ok(())` otherwise. Outside cooperative scopes it is
/// a [`yield_now`](tulip_executor::yield_now) that always succeeds.
///
/// Checkpoints are level-triggered: once a scope is cancelled, every checkpoint inside it
/// fails, until its work ends, except inside a [`shield`](crate::CancelScope::shield) scope.
///
/// # Cancel safety
///
/// Cancel safe: it holds nothing.
///
/// # Errors
///
/// `Err(Cancelled::Requested)` or `Err(Cancelled::Elapsed)`: why the innermost cancelled
/// cooperative scope (up to the nearest shield) was cancelled.
///
/// # Examples
///
/// ```
/// use tulip_task::{checkpoint, CancelScope};
///
/// tulip_runtime::run(async {
///     assert_eq!(checkpoint().await, Ok(())); // no scope: a yield
///     let scope = CancelScope::cooperative();
///     let handle = scope.clone();
///     let steps = scope
///         .run(async move {
///             let mut steps = 0;
///             while checkpoint().await.is_ok() {
///                 steps += 1;
///                 if steps == 3 {
///                     handle.cancel();
///                 }
///             }
///             steps // the loop saw the request and ended on its own
///         })
///         .await;
///     assert_eq!(steps, Ok(3));
/// });
/// ```
#[doc(alias = "cancel_point")]
pub fn checkpoint() -> Checkpoint {
    Checkpoint { yielded: false }
}

/// The future of [`checkpoint`].
///
/// # Cancel safety
///
/// Cancel safe: it holds nothing.
///
/// # Errors
///
/// As [`checkpoint`].
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let c: tulip_task::Checkpoint = tulip_task::checkpoint();
/// assert!(c.await.is_ok());
/// # });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Checkpoint {
    yielded: bool,
}

impl Future for Checkpoint {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(reason) = Listener::default().check(None) {
            return Poll::Ready(Err(reason));
        }
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Whether a [`cooperative`](crate::CancelScope::cooperative) scope around the caller is
/// cancelled, without yielding (Trio's `checkpoint_if_cancelled` without the checkpoint):
/// `Some(reason)` where [`checkpoint`] would fail.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// use tulip_task::{cancellation, CancelScope, Cancelled};
///
/// assert_eq!(cancellation(), None);
/// let scope = CancelScope::cooperative();
/// scope.cancel();
/// assert_eq!(scope.run(async { cancellation() }).await, Ok(Some(Cancelled::Requested)));
/// # });
/// ```
pub fn cancellation() -> Option<Cancelled> {
    Listener::default().check(None)
}

/// Makes `future` a checkpoint: it gives `Err(Cancelled)`, dropping `future`, as soon as a
/// [`cooperative`](crate::CancelScope::cooperative) scope around the caller is cancelled
/// (also if it already is when first polled, without polling `future`), and
/// `Ok(output)` if `future` ends first. The scopes wake it when they are cancelled, so it
/// fails at once, also deep inside combinators.
///
/// This is how a leaf future (a [`sleep`](tulip_reactor::sleep), a read, a lock) becomes
/// cancellable cooperatively; tulip's own futures are not checkpoints unless their docs say
/// so, because dropping them is their cancellation.
///
/// # Cancel safety
///
/// As cancel safe as `future`: a cooperative cancellation drops `future` just as a drop
/// would.
///
/// # Errors
///
/// As [`checkpoint`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::{sleep, Instant};
/// use tulip_task::{cancellable, CancelScope, Cancelled};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let start = Instant::now();
///     let scope = CancelScope::cooperative().expire_after(Duration::from_secs(2));
///     let r = scope
///         .run(async {
///             let slept = cancellable(sleep(Duration::from_secs(60))).await;
///             (slept, start.elapsed())
///         })
///         .await;
///     assert_eq!(r, Ok((Err(Cancelled::Elapsed), Duration::from_secs(2))));
/// });
/// ```
pub fn cancellable<F: IntoFuture>(future: F) -> Cancellable<F::IntoFuture> {
    Cancellable {
        future: Some(future.into_future()),
        listener: Listener::default(),
    }
}

pin_project! {
    /// The future of [`cancellable`].
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as the future inside.
    ///
    /// # Errors
    ///
    /// As [`checkpoint`].
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// let c: tulip_task::Cancellable<_> = tulip_task::cancellable(async { 7 });
    /// assert_eq!(c.await, Ok(7));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Cancellable<F> {
        #[pin]
        future: Option<F>,
        listener: Listener,
    }
}

impl<F> fmt::Debug for Cancellable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellable")
            .field("done", &self.future.is_none())
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let future = this
            .future
            .as_mut()
            .as_pin_mut()
            .expect("Cancellable polled after completion");
        if let Some(reason) = this.listener.check(None) {
            this.future.set(None);
            return Poll::Ready(Err(reason));
        }
        if let Poll::Ready(out) = future.poll(cx) {
            this.future.set(None);
            this.listener.clear();
            return Poll::Ready(Ok(out));
        }
        // Re-check (the future may have cancelled a scope) and leave the waker with the scopes.
        if let Some(reason) = this.listener.check(Some(cx.waker())) {
            this.future.set(None);
            return Poll::Ready(Err(reason));
        }
        Poll::Pending
    }
}
