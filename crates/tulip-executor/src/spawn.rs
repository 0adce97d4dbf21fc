//! Starting tasks on the running loop: [`spawn`], [`spawn_local`] and [`Builder`] (with a
//! name).

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::current::with_ctx;
use crate::driver::ThreadDriver;
use crate::executor::Executor;
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
    let shared =
        with_ctx(|ctx| ctx.map(|c| c.shared().clone())).unwrap_or_else(|| no_loop("spawn"));
    task::spawn_send(&shared, future, name, location, eager)
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
