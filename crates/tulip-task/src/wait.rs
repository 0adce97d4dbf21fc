//! [`wait`]: wait for tasks until one, one failure, or all of them finish, with an optional
//! timeout, and get the finished ones and the others back (asyncio's `wait`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tulip_executor::JoinError;
use tulip_reactor::{sleep, sleep_until, Sleep};
use tulip_time::Instant;

use crate::set::FutureSet;

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
///
/// # Examples
///
/// ```
/// assert_eq!(tulip_task::ReturnWhen::default(), tulip_task::ReturnWhen::AllCompleted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as one task finishes (however it finishes).
    FirstCompleted,
    /// As soon as one task fails with a panic, or when all have finished. As in asyncio, a
    /// cancelled task does not count as a failure.
    FirstException,
    /// When every task has finished (the default).
    #[default]
    AllCompleted,
}

/// Waits for `tasks` (asyncio's `wait(aws, timeout, return_when)`): a builder, set with
/// [`return_when`](Wait::return_when) and [`timeout`](Wait::timeout), that is awaited directly
/// (`IntoFuture`) and gives `(done, pending)`.
///
/// - `done` holds the tasks that finished, in completion order, each wrapped in a [`Done`]
///   that keeps its position in `tasks`, the task itself, and its result: awaiting a `Done`
///   gives the result at once, like awaiting a finished task in asyncio.
/// - `pending` holds the other tasks, untouched, in input order: still running, to wait for
///   again, await, or cancel. As in asyncio, `wait` never cancels anything; on timeout it just
///   returns.
///
/// Works with any `Unpin` future whose output is `Result<T, JoinError>`: [`Task`]s, and the
/// [`GroupTask`](crate::GroupTask)s of a task group. An empty `tasks` returns at once.
///
/// [`Task`]: tulip_executor::Task
///
/// # Cancel safety
///
/// Dropping the future drops the handles it holds (tasks detach and keep running) and the
/// results already collected.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::sleep;
/// use tulip_task::{wait, ReturnWhen};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let tasks: Vec<_> = [2u64, 1, 30]
///         .map(|s| tulip_executor::spawn(async move {
///             sleep(Duration::from_secs(s)).await;
///             s
///         }))
///         .into();
///     let (done, pending) = wait(tasks)
///         .return_when(ReturnWhen::AllCompleted)
///         .timeout(Duration::from_secs(5))
///         .await;
///     let finished: Vec<u64> = done.into_iter().map(|d| d.into_output().unwrap()).collect();
///     assert_eq!(finished, [1, 2]);
///     assert_eq!(pending.len(), 1);
///     assert_eq!(pending.into_iter().next().unwrap().await.unwrap(), 30);
/// });
/// ```
pub fn wait<I, T>(tasks: I) -> Wait<I::Item>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, JoinError>> + Unpin,
{
    Wait {
        tasks: tasks.into_iter().collect(),
        return_when: ReturnWhen::AllCompleted,
        limit: None,
    }
}

/// When a wait gives up.
#[derive(Debug, Clone, Copy)]
enum Limit {
    After(Duration),
    At(Instant),
}

/// The builder of [`wait`]; await it (it is `IntoFuture`) for `(done, pending)`.
///
/// # Cancel safety
///
/// See [`WaitFuture`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_task::{wait, ReturnWhen};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let deadline = tulip_time::Instant::now() + Duration::from_secs(2);
///     let tasks = [tulip_executor::spawn(std::future::pending::<()>())];
///     let builder: tulip_task::Wait<_> =
///         wait(tasks).return_when(ReturnWhen::FirstCompleted).timeout_at(deadline);
///     let (done, pending) = builder.await;
///     assert!(done.is_empty() && pending.len() == 1);
///     assert_eq!(tulip_time::Instant::now(), deadline);
/// });
/// ```
#[must_use = "a Wait does nothing until awaited"]
pub struct Wait<F> {
    tasks: Vec<F>,
    return_when: ReturnWhen,
    limit: Option<Limit>,
}

impl<F> fmt::Debug for Wait<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("return_when", &self.return_when)
            .field("limit", &self.limit)
            .finish()
    }
}

impl<F> Wait<F> {
    /// When to return; [`ReturnWhen::AllCompleted`] by default.
    pub fn return_when(mut self, return_when: ReturnWhen) -> Wait<F> {
        self.return_when = return_when;
        self
    }

    /// Returns after `timeout` (counted from the first poll) at the latest, with whatever has
    /// finished by then. `Duration::MAX` means no timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let t = tulip_executor::spawn(std::future::pending::<()>());
    ///     let (done, pending) = tulip_task::wait([t]).timeout(Duration::from_secs(1)).await;
    ///     assert!(done.is_empty());
    ///     assert_eq!(pending.len(), 1);
    /// });
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Wait<F> {
        self.limit = (timeout != Duration::MAX).then_some(Limit::After(timeout));
        self
    }

    /// Returns at `deadline` at the latest.
    pub fn timeout_at(mut self, deadline: Instant) -> Wait<F> {
        self.limit = Some(Limit::At(deadline));
        self
    }
}

impl<F, T> IntoFuture for Wait<F>
where
    F: Future<Output = Result<T, JoinError>> + Unpin,
{
    type Output = (Vec<Done<F>>, Vec<F>);
    type IntoFuture = WaitFuture<F>;

    fn into_future(self) -> WaitFuture<F> {
        WaitFuture {
            set: FutureSet::new(self.tasks),
            done: Vec::new(),
            return_when: self.return_when,
            sleep: self.limit.map(|l| match l {
                Limit::After(d) => sleep(d),
                Limit::At(t) => sleep_until(t),
            }),
            failed: false,
            finished: false,
        }
    }
}

/// Future of a [`Wait`].
///
/// # Cancel safety
///
/// Dropping it drops the handles it holds (tasks detach and keep running) and the results
/// already collected.
///
/// # Examples
///
/// ```
/// use std::future::IntoFuture;
///
/// # tulip_runtime::run(async {
/// let fut: tulip_task::WaitFuture<_> =
///     tulip_task::wait([tulip_executor::spawn(async { 1 })]).into_future();
/// let (done, _) = fut.await;
/// assert_eq!(*done[0].output().as_ref().unwrap(), 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitFuture<F: Future> {
    set: FutureSet<F>,
    done: Vec<Done<F>>,
    return_when: ReturnWhen,
    sleep: Option<Sleep>,
    /// A task ended with a panic.
    failed: bool,
    finished: bool,
}

impl<F: Future> fmt::Debug for WaitFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("done", &self.done.len())
            .field("pending", &self.set.remaining())
            .field("return_when", &self.return_when)
            .finish()
    }
}

impl<F: Future> Unpin for WaitFuture<F> {}

impl<F, T> Future for WaitFuture<F>
where
    F: Future<Output = Result<T, JoinError>> + Unpin,
{
    type Output = (Vec<Done<F>>, Vec<F>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.finished, "WaitFuture polled after completion");
        while let Poll::Ready(Some((index, task, output))) = this.set.poll_next(cx) {
            this.failed |= matches!(output, Err(JoinError::Panicked(_)));
            this.done.push(Done {
                index,
                task,
                output: Some(output),
            });
        }
        let all = this.set.remaining() == 0;
        let ready =
            all || match this.return_when {
                ReturnWhen::FirstCompleted => !this.done.is_empty(),
                ReturnWhen::FirstException => this.failed,
                ReturnWhen::AllCompleted => false,
            } || this
                .sleep
                .as_mut()
                .is_some_and(|s| Pin::new(s).poll(cx).is_ready());
        if !ready {
            return Poll::Pending;
        }
        this.finished = true;
        this.sleep = None;
        let pending = this
            .set
            .take_remaining()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Poll::Ready((std::mem::take(&mut this.done), pending))
    }
}

/// A task that [`wait`] saw finish: its position in the input, the task, and its result.
///
/// Awaiting it gives the result at once (like awaiting a finished task);
/// [`get_ref`](Done::get_ref) reaches the task for its id or name.
///
/// # Cancel safety
///
/// Awaiting it completes at its first poll; dropping it drops the result.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let t = tulip_executor::Builder::new().name("x").spawn(async { 5 });
/// let (done, _) = tulip_task::wait([t]).await;
/// let d = done.into_iter().next().unwrap();
/// assert_eq!(d.index(), 0);
/// assert_eq!(d.get_ref().name(), Some("x"));
/// assert_eq!(d.await.unwrap(), 5);
/// # });
/// ```
pub struct Done<F: Future> {
    index: usize,
    task: F,
    output: Option<F::Output>,
}

impl<F: Future> Done<F> {
    /// The task's position in the input of [`wait`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The task (finished; its result is in this `Done`).
    pub fn get_ref(&self) -> &F {
        &self.task
    }

    /// The task's result.
    ///
    /// # Panics
    ///
    /// Panics if the `Done` was already awaited.
    pub fn output(&self) -> &F::Output {
        self.output.as_ref().expect("Done already awaited")
    }

    /// The task's result.
    ///
    /// # Panics
    ///
    /// Panics if the `Done` was already awaited.
    pub fn into_output(self) -> F::Output {
        self.output.expect("Done already awaited")
    }
}

impl<F: Future> Unpin for Done<F> {}

impl<F: Future> Future for Done<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<F::Output> {
        Poll::Ready(self.output.take().expect("Done polled after completion"))
    }
}

impl<F> fmt::Debug for Done<F>
where
    F: Future + fmt::Debug,
    F::Output: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Done")
            .field("index", &self.index)
            .field("task", &self.task)
            .field("output", &self.output)
            .finish()
    }
}
