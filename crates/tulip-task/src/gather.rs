//! [`gather`] and [`try_gather`]: run many futures of one type concurrently inside the current
//! task and collect their outputs in input order (asyncio's `gather`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::set::FutureSet;

/// Runs every future concurrently and returns their outputs **in input order** (asyncio's
/// `gather(*aws)`).
///
/// The futures are polled inside the task awaiting the gather, not spawned: each has its own
/// waker, so a wake-up polls only the future it concerns. Dropping the [`Gather`] future drops
/// every future it holds, so nothing it started outlives it (asyncio: cancelling `gather`
/// cancels its children). Futures that are [`Task`](tulip_executor::Task)s run on their own,
/// as tasks do, and are only awaited here.
///
/// asyncio's `return_exceptions=True` is this function over futures returning `Result`: every
/// future runs to the end and the `Vec` holds each `Ok` or `Err`. To stop at the first error,
/// use [`try_gather`].
///
/// # Cancel safety
///
/// Dropping the future drops every future not yet finished, and the outputs already
/// collected.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::sleep;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let futs = [3u64, 1, 2].map(|s| async move {
///         sleep(Duration::from_secs(s)).await;
///         s * 10
///     });
///     // Completion order is 1, 2, 3; the results keep the input order.
///     assert_eq!(tulip_task::gather(futs).await, [30, 10, 20]);
/// });
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let set = FutureSet::new(
        futures
            .into_iter()
            .map(|f| Box::pin(f.into_future()))
            .collect(),
    );
    let outputs = (0..set.len()).map(|_| None).collect();
    Gather { set, outputs }
}

/// Future of [`gather`].
///
/// # Cancel safety
///
/// Dropping it drops every future not yet finished.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let g: tulip_task::Gather<std::future::Ready<char>> =
///     tulip_task::gather(['a', 'b'].map(std::future::ready));
/// assert_eq!(g.await, ['a', 'b']);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Gather<F: Future> {
    set: FutureSet<Pin<Box<F>>>,
    outputs: Vec<Option<F::Output>>,
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("len", &self.set.len())
            .field("remaining", &self.set.remaining())
            .finish()
    }
}

impl<F: Future> Unpin for Gather<F> {}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match this.set.poll_next(cx) {
                Poll::Ready(Some((i, _, out))) => this.outputs[i] = Some(out),
                Poll::Ready(None) => {
                    let outputs = std::mem::take(&mut this.outputs);
                    return Poll::Ready(
                        outputs
                            .into_iter()
                            .map(|o| o.expect("every future completed"))
                            .collect(),
                    );
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Runs every future concurrently until all succeed, returning their values in input order,
/// or until one fails: the first `Err` is returned and **every other future is dropped**
/// (cancelled) at once.
///
/// The futures are polled inside the task awaiting it, not spawned (see [`gather`]).
///
/// # Cancel safety
///
/// Dropping the future drops every future not yet finished.
///
/// # Errors
///
/// The first `Err` any of the futures returns, in completion order.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::sleep;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let ok = tulip_task::try_gather([1, 2].map(|n| async move { Ok::<_, String>(n) })).await;
///     assert_eq!(ok, Ok(vec![1, 2]));
///
///     let start = tulip_reactor::Instant::now();
///     let failed = tulip_task::try_gather(vec![
///         Box::pin(async {
///             sleep(Duration::from_secs(3600)).await; // dropped at the first error
///             Ok(0)
///         }) as std::pin::Pin<Box<dyn std::future::Future<Output = Result<i32, String>>>>,
///         Box::pin(async {
///             sleep(Duration::from_secs(1)).await;
///             Err("no".to_string())
///         }),
///     ])
///     .await;
///     assert_eq!(failed, Err("no".to_string()));
///     assert_eq!(start.elapsed(), Duration::from_secs(1));
/// });
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<<I::Item as IntoFuture>::IntoFuture, T>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    let set = FutureSet::new(
        futures
            .into_iter()
            .map(|f| Box::pin(f.into_future()))
            .collect(),
    );
    let outputs = (0..set.len()).map(|_| None).collect();
    TryGather { set, outputs }
}

/// Future of [`try_gather`].
///
/// # Cancel safety
///
/// Dropping it drops every future not yet finished; the first `Err` drops them at once.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let results = [Ok(1), Err("no"), Ok(3)].map(std::future::ready);
/// assert_eq!(tulip_task::try_gather(results).await, Err("no"));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct TryGather<F, T> {
    set: FutureSet<Pin<Box<F>>>,
    outputs: Vec<Option<T>>,
}

impl<F, T> fmt::Debug for TryGather<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("len", &self.outputs.len())
            .finish_non_exhaustive()
    }
}

impl<F, T> Unpin for TryGather<F, T> {}

impl<F, T, E> Future for TryGather<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match this.set.poll_next(cx) {
                Poll::Ready(Some((i, _, Ok(v)))) => this.outputs[i] = Some(v),
                Poll::Ready(Some((_, _, Err(e)))) => {
                    // Drop the rest now, not when this future is dropped.
                    drop(this.set.take_remaining());
                    this.outputs.clear();
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    let outputs = std::mem::take(&mut this.outputs);
                    return Poll::Ready(Ok(outputs
                        .into_iter()
                        .map(|o| o.expect("every future completed"))
                        .collect()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
