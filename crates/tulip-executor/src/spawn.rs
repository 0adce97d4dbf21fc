//! Starting tasks on the running loop: [`spawn`], [`spawn_local`] and [`Builder`] (with a
//! name).

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::current::with_ctx;
use crate::driver::ThreadDriver;
use crate::executor::Executor;
use crate::task::fallible::Fallible;
use crate::task::{self, PinTarget, Task};

/// Spawns tasks with options (asyncio's `create_task(coro, name=...)`).
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let task = tulip_executor::Builder::new().name("fetcher").spawn(async { 1 });
/// assert_eq!(task.name(), Some("fetcher"));
/// assert_eq!(task.await.unwrap(), 1);
/// # });
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    name: Option<Box<str>>,
    eager: Option<bool>,
}

impl Builder {
    /// A builder with default options.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (shown in panic reports and introspection).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Runs the task's first step inside `spawn` (asyncio 3.12's eager tasks), or not,
    /// whatever the loop's default (`RunnerBuilder::eager_tasks` in tulip-runtime).
    ///
    /// An eager task is polled once, right away, on the spawning thread, with a copy of the
    /// spawner's task-locals, as the current task; a task that finishes there never touches
    /// the run queue, and its handle is already done when `spawn` returns. One that suspends
    /// is resumed by the loop as usual. A panic in the eager step is contained and reported
    /// like any task panic. A spawn from a thread that does not run the loop (through a
    /// `Spawner`) is never eager.
    ///
    /// Beware: the spawner is suspended during the eager step, so the step must not wait for
    /// a lock the spawner holds.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_executor::doc_block_on(async {
    /// let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let l = log.clone();
    /// let task = tulip_executor::Builder::new()
    ///     .eager(true)
    ///     .spawn_local(async move { l.borrow_mut().push("child ran") });
    /// log.borrow_mut().push("spawn returned");
    /// assert!(task.is_finished());
    /// assert_eq!(*log.borrow(), ["child ran", "spawn returned"]);
    /// # });
    /// ```
    pub fn eager(mut self, eager: bool) -> Builder {
        self.eager = Some(eager);
        self
    }

    /// Spawns a `Send` task on the current loop.
    ///
    /// # Cancel safety
    ///
    /// Spawning does not wait. The returned [`Task`] is a handle: dropping it, or an
    /// await of it, detaches the task, which runs on; only [`Task::cancel`] stops it.
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_named(future, self.name, self.eager)
    }

    /// [`spawn_fallible`] with this builder's options.
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    #[track_caller]
    pub fn spawn_fallible<F, T, E>(self, future: F) -> Task<Result<T, E>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        spawn_named(Fallible::new(future), self.name, self.eager)
    }

    /// [`spawn_local_fallible`] with this builder's options.
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    #[track_caller]
    pub fn spawn_local_fallible<F, T, E>(self, future: F) -> Task<Result<T, E>>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: fmt::Display + 'static,
    {
        spawn_local_named(Fallible::new(future), self.name, self.eager)
    }

    /// Spawns a `!Send` task on the current loop (it always runs on this thread).
    ///
    /// # Cancel safety
    ///
    /// Spawning does not wait. The returned [`Task`] is a handle: dropping it, or an
    /// await of it, detaches the task, which runs on; only [`Task::cancel`] stops it.
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_local_named(future, self.name, self.eager)
    }
}

/// Spawns a `Send` task on the current event loop (asyncio's `create_task`).
///
/// The task starts at the loop's next turn, in FIFO order on a single-threaded loop. Dropping
/// the returned [`Task`] detaches it (it keeps running).
///
/// # Cancel safety
///
/// Spawning does not wait. The returned [`Task`] is a handle: dropping it, or an await of
/// it, detaches the task, which runs on; only [`Task::cancel`] stops it.
///
/// # Panics
///
/// Panics if no tulip event loop runs on this thread.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let task = tulip_executor::spawn(async { "done" });
/// assert_eq!(task.await.unwrap(), "done");
/// # });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_named(future, None, None)
}

/// Spawns a task whose output is a `Result`, so that an `Err` nobody retrieves is not lost:
/// when the task ends with `Err` and its [`Task`] handle is dropped or detached without being
/// awaited (in either order), the loop's exception handler gets a
/// [`ReportKind::NeverRetrieved`](crate::ReportKind::NeverRetrieved) report with the task's
/// name, spawn site and the error's `Display` (asyncio's "Task exception was never
/// retrieved"), in debug mode and under
/// [`UnhandledPanic::ShutdownIfUnobserved`](crate::UnhandledPanic::ShutdownIfUnobserved).
///
/// Otherwise it is [`spawn`]: the same [`Task`], whose output is the future's `Result`. A
/// plain `spawn` cannot tell an `Err` from any other value (Rust has no specialization), which
/// is why fallible tasks have a spawn of their own; the check costs nothing until the task
/// ends with `Err`.
///
/// # Cancel safety
///
/// As [`spawn`].
///
/// # Panics
///
/// Panics if no tulip event loop runs on this thread.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tulip_executor::{Executor, ExecutorConfig, ReportKind, ThreadDriver};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
/// let s = seen.clone();
/// config.handler = Arc::new(move |r| s.lock().unwrap().push((r.kind, r.to_string())));
/// config.debug = Some(std::time::Duration::from_secs(1));
/// let ex = Executor::with_config(config).unwrap();
/// ex.block_on(async {
///     tulip_executor::Builder::new()
///         .name("sync")
///         .spawn_fallible(async { Err::<(), _>("disk full") })
///         .detach();
///     tulip_executor::yield_now().await;
/// });
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[0].0, ReportKind::NeverRetrieved);
/// assert!(seen[0].1.contains("'sync'") && seen[0].1.ends_with("disk full"), "{}", seen[0].1);
/// ```
#[track_caller]
pub fn spawn_fallible<F, T, E>(future: F) -> Task<Result<T, E>>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    spawn_named(Fallible::new(future), None, None)
}

/// [`spawn_fallible`] for a `!Send` future, which always runs on this thread.
///
/// # Cancel safety
///
/// As [`spawn`].
///
/// # Panics
///
/// Panics if no tulip event loop runs on this thread.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let rc = std::rc::Rc::new(1);
/// let t = tulip_executor::spawn_local_fallible(async move { Err::<(), _>(format!("{rc}")) });
/// assert_eq!(t.await.unwrap(), Err("1".to_string())); // retrieved: nothing reported
/// # });
/// ```
#[track_caller]
pub fn spawn_local_fallible<F, T, E>(future: F) -> Task<Result<T, E>>
where
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: fmt::Display + 'static,
{
    spawn_local_named(Fallible::new(future), None, None)
}

#[track_caller]
pub(crate) fn spawn_named<F>(
    future: F,
    name: Option<Box<str>>,
    eager: Option<bool>,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    // The header is made while the executor is at hand: it takes the one reference count
    // the task needs, and the lookup takes none of its own.
    let meta = with_ctx(|ctx| ctx.map(|c| task::send_meta(c.shared(), name, location)))
        .unwrap_or_else(|| no_loop("spawn"));
    task::spawn_send_meta(meta, future, eager)
}

/// Spawns a `!Send` task on the current event loop; it always runs on this thread (on a
/// multi-threaded loop: on this worker).
///
/// # Cancel safety
///
/// As for [`spawn`]: the returned [`Task`] is a handle, and dropping it detaches the task.
///
/// # Panics
///
/// Panics if no tulip event loop runs on this thread.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let shared = std::rc::Rc::new(std::cell::Cell::new(0));
/// let s2 = shared.clone();
/// tulip_executor::spawn_local(async move { s2.set(7) }).await.unwrap();
/// assert_eq!(shared.get(), 7);
/// # });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_named(future, None, None)
}

#[track_caller]
pub(crate) fn spawn_local_named<F>(
    future: F,
    name: Option<Box<str>>,
    eager: Option<bool>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    let target = PinTarget::here().unwrap_or_else(|| no_loop("spawn_local"));
    task::spawn_pinned(target, future, name, location, eager)
}

#[track_caller]
fn no_loop(what: &str) -> ! {
    panic!("tulip::{what} called outside a running tulip event loop (start one with tulip::run)")
}

/// Runs a future to completion on a fresh executor without I/O; for doc examples.
#[doc(hidden)]
pub fn doc_block_on<F: Future>(future: F) -> F::Output {
    Executor::new(Arc::new(ThreadDriver::new())).block_on(future)
}
