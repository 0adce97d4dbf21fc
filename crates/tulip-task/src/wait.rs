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

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`),
/// and [`ReturnWhen::FirstError`] for tasks that return a `Result`.
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
    /// As soon as one task fails with a panic (Rust's exception), or when all have finished.
    /// An `Err` a task returns is a value here, not a failure; see
    /// [`ReturnWhen::FirstError`]. As in asyncio, a cancelled task does not count as a
    /// failure.
    FirstException,
    /// When every task has finished (the default).
    #[default]
    AllCompleted,
}

#[allow(non_upper_case_globals)] // It reads as the fourth of ReturnWhen's variants.
impl ReturnWhen {
    /// As soon as one task fails — panics, **or returns `Err`** — or when all have finished:
    /// [`FirstException`](ReturnWhen::FirstException) for errors carried as values.
    ///
    /// It is a constant of its own type, [`FirstError`], rather than a variant, so that it can
    /// only be given to [`Wait::return_when`] for tasks whose output is a `Result`
    /// (`Task<Result<T, E>>`): for any other output it does not compile, instead of quietly
    /// meaning `FirstException`. A cancelled task does not count as a failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_reactor::sleep;
    /// use tulip_task::{wait, ReturnWhen};
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let tasks: Vec<_> = [(1, true), (2, false), (3, true)]
    ///         .map(|(s, ok)| tulip_executor::spawn(async move {
    ///             sleep(Duration::from_secs(s)).await;
    ///             if ok { Ok(s) } else { Err(format!("task {s} failed")) }
    ///         }))
    ///         .into();
    ///     let (done, pending) = wait(tasks).return_when(ReturnWhen::FirstError).await;
    ///     assert_eq!(done.len(), 2); // the 1 s task, then the failing 2 s one
    ///     assert_eq!(done[1].output().as_ref().unwrap(), &Err("task 2 failed".to_string()));
    ///     assert_eq!(pending.len(), 1);
    /// });
    /// ```
    pub const FirstError: FirstError = FirstError;
}

/// The type of [`ReturnWhen::FirstError`]: wait until the first task panics or returns `Err`.
///
/// # Examples
///
/// ```
/// let _: tulip_task::FirstError = tulip_task::ReturnWhen::FirstError;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FirstError;

/// What [`Wait::return_when`] accepts for tasks whose output is `O`: a [`ReturnWhen`] for any
/// task, [`FirstError`] for tasks that return a `Result`. Sealed.
pub trait ReturnCondition<O>: sealed::Sealed {
    #[doc(hidden)]
    fn mode(&self) -> Mode;
    #[doc(hidden)]
    fn failure(&self) -> fn(&O) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ReturnWhen {}
    impl Sealed for super::FirstError {}
}

/// When a wait returns, once the condition is chosen.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    FirstCompleted,
    FirstFailure,
    AllCompleted,
}

/// A panic is a failure.
fn panicked<T>(output: &Result<T, JoinError>) -> bool {
    matches!(output, Err(JoinError::Panicked(_)))
}

/// A panic or an `Err` is a failure.
fn errored<T, E>(output: &Result<Result<T, E>, JoinError>) -> bool {
    matches!(output, Ok(Err(_)) | Err(JoinError::Panicked(_)))
}

impl<T> ReturnCondition<Result<T, JoinError>> for ReturnWhen {
    fn mode(&self) -> Mode {
        match self {
            ReturnWhen::FirstCompleted => Mode::FirstCompleted,
            ReturnWhen::FirstException => Mode::FirstFailure,
            ReturnWhen::AllCompleted => Mode::AllCompleted,
        }
    }

    fn failure(&self) -> fn(&Result<T, JoinError>) -> bool {
        panicked::<T>
    }
}

impl<T, E> ReturnCondition<Result<Result<T, E>, JoinError>> for FirstError {
    fn mode(&self) -> Mode {
        Mode::FirstFailure
    }

    fn failure(&self) -> fn(&Result<Result<T, E>, JoinError>) -> bool {
        errored::<T, E>
    }
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
        mode: Mode::AllCompleted,
        failure: panicked::<T>,
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
pub struct Wait<F: Future> {
    tasks: Vec<F>,
    mode: Mode,
    /// Whether an output counts as a failure (for `FirstException` and `FirstError`).
    failure: fn(&F::Output) -> bool,
    limit: Option<Limit>,
}

impl<F: Future> fmt::Debug for Wait<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("mode", &self.mode)
            .field("limit", &self.limit)
            .finish()
    }
}

impl<F: Future> Wait<F> {
    /// When to return: a [`ReturnWhen`] ([`ReturnWhen::AllCompleted`] by default), or
    /// [`ReturnWhen::FirstError`] for tasks whose output is a `Result`.
    pub fn return_when(mut self, condition: impl ReturnCondition<F::Output>) -> Wait<F> {
        self.mode = condition.mode();
        self.failure = condition.failure();
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
            mode: self.mode,
            failure: self.failure,
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
    mode: Mode,
    failure: fn(&F::Output) -> bool,
    sleep: Option<Sleep>,
    /// A task ended with a failure (a panic; or an `Err`, for `FirstError`).
    failed: bool,
    finished: bool,
}

impl<F: Future> fmt::Debug for WaitFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("done", &self.done.len())
            .field("pending", &self.set.remaining())
            .field("mode", &self.mode)
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
            this.failed |= (this.failure)(&output);
            this.done.push(Done {
                index,
                task,
                output: Some(output),
            });
        }
        let all = this.set.remaining() == 0;
        let ready =
            all || match this.mode {
                Mode::FirstCompleted => !this.done.is_empty(),
                Mode::FirstFailure => this.failed,
                Mode::AllCompleted => false,
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
