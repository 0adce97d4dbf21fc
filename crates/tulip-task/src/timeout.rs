//! [`timeout`], [`timeout_at`] (asyncio's `timeout` / `wait_for`) and [`move_on_after`],
//! [`move_on_at`] (Trio's), all built on [`CancelScope`].

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tulip_time::{Elapsed, Instant};

use crate::scope::{CancelScope, CancelScoped};

pin_project! {
    /// Future of [`timeout`] and [`timeout_at`]: a [`CancelScope`] with a deadline, with
    /// asyncio's `Timeout` methods ([`deadline`](Self::deadline) / `when`,
    /// [`reschedule`](Self::reschedule), [`expired`](Self::expired)).
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as the future inside: dropping a `Timeout` drops that future and the
    /// timer.
    ///
    /// # Errors
    ///
    /// `Err(Elapsed)` if the deadline passed before the future completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_time::Instant;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let t: tulip_task::Timeout<_> =
    ///         tulip_task::timeout(Duration::from_secs(1), std::future::pending::<()>());
    ///     let handle = t.scope().clone(); // to reschedule or cancel from elsewhere
    ///     assert!(!t.expired());
    ///     assert!(t.await.is_err());
    ///     assert!(handle.expired());
    ///     let start = Instant::now();
    ///     let t = tulip_task::timeout_at(start, async { 1 });
    ///     assert_eq!(t.deadline(), Some(start));
    /// });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        inner: CancelScoped<F>,
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.deadline())
            .field("expired", &self.expired())
            .finish()
    }
}

/// Runs `future` for at most `duration`, counted from the first poll: `Ok(output)`, or
/// `Err(Elapsed)` when time ran out first, in which case `future` is dropped (asyncio's
/// `wait_for(aw, timeout)` and `async with timeout(delay)`). `Duration::MAX` never times out.
///
/// Built on [`CancelScope`], so nested timeouts behave as in asyncio 3.11 and Trio: when
/// several expire at once, the outermost reports it; an inner timeout whose deadline is not
/// earlier than an outer one's never does. It never ends early: `Err(Elapsed)` means the
/// loop's clock has reached the deadline. A future that completes at its first poll wins even
/// if the duration is zero; after that, once the deadline has passed the future is not polled
/// again, so work that would finish at the deadline itself loses, as in asyncio.
///
/// # Cancel safety
///
/// As cancel safe as `future`: dropping the [`Timeout`] drops `future` and the timer.
///
/// # Errors
///
/// `Err(Elapsed)` if the deadline passed before `future` completed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::{sleep, Instant};
/// use tulip_task::timeout;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let start = Instant::now();
///     let slow = timeout(Duration::from_secs(5), sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
///     assert_eq!(start.elapsed(), Duration::from_secs(5));
///     let fast = timeout(Duration::from_secs(5), async { 7 }).await;
///     assert_eq!(fast, Ok(7));
/// });
/// ```
#[doc(alias = "wait_for")]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        inner: CancelScope::with_timeout(duration).run(future),
    }
}

/// Runs `future` until `deadline`: `Ok(output)`, or `Err(Elapsed)` if the deadline came first
/// (then `future` is dropped). asyncio's `timeout_at(when)`.
///
/// # Cancel safety
///
/// As cancel safe as `future`: dropping the [`Timeout`] drops `future` and the timer.
///
/// # Errors
///
/// `Err(Elapsed)` if the deadline passed before `future` completed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::Instant;
/// use tulip_task::timeout_at;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let deadline = Instant::now() + Duration::from_millis(1500);
///     let r = timeout_at(deadline, std::future::pending::<()>()).await;
///     assert!(r.is_err());
///     assert_eq!(Instant::now(), deadline);
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        inner: CancelScope::with_deadline(deadline).run(future),
    }
}

impl<F> Timeout<F> {
    /// The deadline (asyncio's `Timeout.when()`); for [`timeout`], known from the first poll
    /// on.
    #[doc(alias = "when")]
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.scope().deadline()
    }

    /// Moves the deadline; `None` removes it (asyncio's `Timeout.reschedule`). See
    /// [`CancelScope::reschedule`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_reactor::Instant;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let start = Instant::now();
    ///     let t = tulip_task::timeout(Duration::from_secs(1), std::future::pending::<()>());
    ///     t.reschedule(Some(start + Duration::from_secs(30)));
    ///     assert!(t.await.is_err());
    ///     assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// });
    /// ```
    pub fn reschedule(&self, deadline: Option<Instant>) {
        self.inner.scope().reschedule(deadline);
    }

    /// Moves the deadline (the reactor's `Timeout::reset`, kept for drop-in use); the same as
    /// [`reschedule`](Self::reschedule)`(Some(deadline))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_time::Instant;
    ///
    /// let t = tulip_task::timeout(Duration::from_secs(1), async {});
    /// let when = Instant::now() + Duration::from_secs(9);
    /// t.reset(when);
    /// assert_eq!(t.deadline(), Some(when));
    /// ```
    pub fn reset(&self, deadline: Instant) {
        self.reschedule(Some(deadline));
    }

    /// Whether the deadline passed while the future ran (asyncio's `Timeout.expired()`).
    pub fn expired(&self) -> bool {
        self.inner.scope().expired()
    }

    /// The scope the future runs in, to clone and hand to code that should be able to
    /// reschedule or cancel it from elsewhere (a cancelled `Timeout` reports `Elapsed`).
    pub fn scope(&self) -> &CancelScope {
        self.inner.scope()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.poll(cx) {
            Poll::Ready(Ok(v)) => Poll::Ready(Ok(v)),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project! {
    /// Future of [`move_on_after`] and [`move_on_at`].
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as the future inside.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let m = tulip_task::move_on_after(Duration::from_secs(1), std::future::pending::<()>());
    ///     let scope = m.scope().clone();
    ///     assert_eq!(m.await, None);
    ///     assert!(scope.expired());
    /// });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct MoveOn<F> {
        #[pin]
        inner: CancelScoped<F>,
    }
}

impl<F> fmt::Debug for MoveOn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoveOn")
            .field("scope", self.inner.scope())
            .finish()
    }
}

impl<F> MoveOn<F> {
    /// The scope the future runs in.
    pub fn scope(&self) -> &CancelScope {
        self.inner.scope()
    }
}

impl<F: Future> Future for MoveOn<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Result::ok)
    }
}

/// Runs `future` for at most `duration` (from the first poll): `Some(output)`, or `None` if
/// time ran out (Trio's `move_on_after`; `timeout(..).await.ok()`).
///
/// # Cancel safety
///
/// As cancel safe as `future`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let r = tulip_task::move_on_after(Duration::from_secs(1), std::future::pending::<u8>()).await;
///     assert_eq!(r, None);
/// });
/// ```
pub fn move_on_after<F: IntoFuture>(duration: Duration, future: F) -> MoveOn<F::IntoFuture> {
    MoveOn {
        inner: CancelScope::with_timeout(duration).run(future),
    }
}

/// Runs `future` until `deadline`: `Some(output)`, or `None` if the deadline came first
/// (Trio's `move_on_at`).
///
/// # Cancel safety
///
/// As cancel safe as `future`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_time::Instant;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let soon = Instant::now() + Duration::from_secs(1);
///     assert_eq!(tulip_task::move_on_at(soon, async { 3 }).await, Some(3));
/// });
/// ```
pub fn move_on_at<F: IntoFuture>(deadline: Instant, future: F) -> MoveOn<F::IntoFuture> {
    MoveOn {
        inner: CancelScope::with_deadline(deadline).run(future),
    }
}
