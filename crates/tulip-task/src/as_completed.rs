//! [`as_completed`]: a stream of outputs in completion order (asyncio's `as_completed`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use crate::set::FutureSet;

/// Runs every future concurrently and yields their outputs **in completion order** (asyncio's
/// `as_completed`).
///
/// The futures are polled inside the task polling the stream, not spawned; each has its own
/// waker, so a wake-up polls only the future it concerns. Between two items nothing runs,
/// since the futures only make progress while the stream is polled. For Python 3.13's form
/// that yields the original awaitables, [`AsCompleted::indexed`] yields each output with its
/// input position.
///
/// # Cancel safety
///
/// Dropping the stream drops every future not yet finished. Each `next()` is cancel safe: an
/// output is only taken out of the set when it is returned.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures_lite::StreamExt;
/// use tulip_reactor::sleep;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let futs = [3u64, 1, 2].map(|s| async move {
///         sleep(Duration::from_secs(s)).await;
///         s
///     });
///     let order: Vec<u64> = tulip_task::as_completed(futs).collect().await;
///     assert_eq!(order, [1, 2, 3]);
/// });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    AsCompleted {
        set: FutureSet::new(
            futures
                .into_iter()
                .map(|f| Box::pin(f.into_future()))
                .collect(),
        ),
    }
}

/// Stream of [`as_completed`]: each future's output as it completes.
///
/// # Cancel safety
///
/// Dropping the stream drops every future not yet finished; a dropped `next()` loses nothing.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
///
/// # tulip_runtime::run(async {
/// let mut s = tulip_task::as_completed([1, 2].map(std::future::ready));
/// assert_eq!(s.remaining(), 2);
/// let mut got = vec![s.next().await.unwrap(), s.next().await.unwrap()];
/// got.sort();
/// assert_eq!(got, [1, 2]);
/// assert_eq!(s.remaining(), 0);
/// # });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    set: FutureSet<Pin<Box<F>>>,
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.set.remaining())
            .finish()
    }
}

impl<F> Unpin for AsCompleted<F> {}

impl<F: Future> AsCompleted<F> {
    /// Number of futures that have not completed yet.
    pub fn remaining(&self) -> usize {
        self.set.remaining()
    }

    /// The same stream, yielding `(input position, output)` pairs: which future finished, as
    /// Python 3.13's `as_completed` yields the original awaitables.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::StreamExt;
    ///
    /// # tulip_runtime::run(async {
    /// let mut s = tulip_task::as_completed([std::future::ready('a')]).indexed();
    /// assert_eq!(s.next().await, Some((0, 'a')));
    /// assert_eq!(s.next().await, None);
    /// # });
    /// ```
    pub fn indexed(self) -> Indexed<F> {
        Indexed { set: self.set }
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.set.poll_next(cx).map(|o| o.map(|(_, _, out)| out))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.remaining(), Some(self.set.remaining()))
    }
}

impl<F: Future> FusedStream for AsCompleted<F> {
    fn is_terminated(&self) -> bool {
        self.set.remaining() == 0
    }
}

/// Stream of [`AsCompleted::indexed`]: `(input position, output)` in completion order.
///
/// # Cancel safety
///
/// As [`AsCompleted`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures_lite::StreamExt;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let futs = [2u64, 1].map(|s| tulip_reactor::sleep(Duration::from_secs(s)));
///     let order: Vec<usize> = tulip_task::as_completed(futs).indexed().map(|(i, ())| i).collect().await;
///     assert_eq!(order, [1, 0]);
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Indexed<F> {
    set: FutureSet<Pin<Box<F>>>,
}

impl<F> fmt::Debug for Indexed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Indexed")
            .field("remaining", &self.set.remaining())
            .finish()
    }
}

impl<F> Unpin for Indexed<F> {}

impl<F: Future> Stream for Indexed<F> {
    type Item = (usize, F::Output);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.set
            .poll_next(cx)
            .map(|o| o.map(|(i, _, out)| (i, out)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.remaining(), Some(self.set.remaining()))
    }
}

impl<F: Future> FusedStream for Indexed<F> {
    fn is_terminated(&self) -> bool {
        self.set.remaining() == 0
    }
}
