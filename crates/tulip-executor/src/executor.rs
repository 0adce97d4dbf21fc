//! [`Executor`]: the task half of a tulip event loop, single- or multi-threaded; [`Spawner`];
//! [`spawn`] and [`spawn_local`].

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::context::{self, in_loop, with_ctx, Ctx, EnterGuard};
use crate::mt::{self, MtExecutor, MtShared, ThreadStart};
use crate::report::{default_exception_handler, ExceptionHandler, UnhandledPanic};
use crate::shared::{
    run_watchdog, spawn_pinned, spawn_send, Driver, Flavor, Shared, SharedConfig, ThreadDriver,
};
use crate::st::{self, StExecutor, StShared};
use crate::task_handle::Task;

/// Configuration of an [`Executor`].
pub struct ExecutorConfig {
    /// Waits for I/O and timers; see [`Driver`].
    pub driver: Arc<dyn Driver>,
    /// Receives panics caught in tasks and callbacks, and debug-mode reports.
    pub handler: ExceptionHandler,
    /// What happens after a task panics (default: report it and go on).
    pub unhandled_panic: UnhandledPanic,
    /// Debug mode: report task polls and callbacks slower than this.
    pub debug: Option<std::time::Duration>,
    /// Run a watchdog thread that reports, while it happens, a task or callback that runs
    /// longer than this without yielding (a blocked loop).
    pub watchdog: Option<std::time::Duration>,
    /// Number of workers: 1 is asyncio's single-threaded loop (no extra thread); `n > 1`
    /// spawns `n - 1` worker threads that steal work from each other and from the thread
    /// calling [`Executor::block_on`].
    pub workers: usize,
    /// Runs first on every spawned worker thread; what it returns lives as long as the thread.
    pub thread_start: Option<ThreadStart>,
    /// Worker threads are named `"{thread_name}-{i}"`.
    pub thread_name: String,
}

impl ExecutorConfig {
    /// A single-threaded configuration around `driver` with the default panic handler.
    pub fn new(driver: Arc<dyn Driver>) -> ExecutorConfig {
        ExecutorConfig {
            driver,
            handler: default_exception_handler(),
            unhandled_panic: UnhandledPanic::Log,
            debug: None,
            watchdog: None,
            workers: 1,
            thread_start: None,
            thread_name: "tulip-worker".into(),
        }
    }
}

impl fmt::Debug for ExecutorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorConfig")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .finish_non_exhaustive()
    }
}

enum Inner {
    St(StExecutor),
    Mt(MtExecutor),
}

/// The task half of a tulip event loop.
///
/// With one worker (the default) it is asyncio's loop: tasks and callbacks run in FIFO order on
/// the thread that calls [`block_on`](Executor::block_on), and no thread is spawned. With
/// `workers > 1` it is a work-stealing pool whose worker 0 is that same thread; `spawn` runs
/// anywhere, `spawn_local` pins a `!Send` task to the worker that spawned it, so both kinds of
/// task share one executor.
///
/// The executor never waits on the OS itself: it asks its [`Driver`] (the reactor, in a full
/// loop) to park when there is nothing to run. It is `!Send`: it belongs to the thread that
/// created it. Other threads reach it through a [`Spawner`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_executor::{Executor, ThreadDriver};
///
/// let ex = Executor::new(Arc::new(ThreadDriver::new()));
/// let out = ex.block_on(async {
///     let t = tulip_executor::spawn(async { 1 + 1 });
///     t.await.unwrap()
/// });
/// assert_eq!(out, 2);
/// ```
pub struct Executor {
    inner: Inner,
    shared: Arc<Shared>,
    /// Keeps the executor `!Send` and `!Sync` in both flavours.
    _not_send: std::marker::PhantomData<Cell<*const ()>>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("workers", &self.workers())
            .field("queued", &self.queued())
            .field("live_tasks", &self.live_tasks())
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// A single-threaded executor waiting through `driver`.
    pub fn new(driver: Arc<dyn Driver>) -> Executor {
        Executor::with_config(ExecutorConfig::new(driver))
            .expect("a single-threaded executor spawns no thread and cannot fail")
    }

    /// An executor with the given configuration.
    ///
    /// # Errors
    ///
    /// Fails if a worker thread cannot be spawned.
    pub fn with_config(config: ExecutorConfig) -> std::io::Result<Executor> {
        let workers = config.workers.max(1);
        let shared_config = SharedConfig {
            driver: config.driver,
            handler: config.handler,
            unhandled: config.unhandled_panic,
            debug: config.debug,
            watchdog: config.watchdog,
        };
        let (inner, shared) = if workers == 1 {
            let shared = Arc::new(Shared::new(
                Flavor::St(StShared::new()),
                &shared_config,
                1,
                1,
            ));
            (Inner::St(StExecutor::new(shared.clone())), shared)
        } else {
            let shared = Arc::new(Shared::new(
                Flavor::Mt(MtShared::new(workers)),
                &shared_config,
                workers * 4,
                workers,
            ));
            let mt = MtExecutor::new(shared.clone(), config.thread_start, &config.thread_name)?;
            (Inner::Mt(mt), shared)
        };
        if shared.watchdog.is_some() {
            let weak = Arc::downgrade(&shared);
            std::thread::Builder::new()
                .name(format!("{}-watchdog", config.thread_name))
                .spawn(move || run_watchdog(weak))?;
        }
        Ok(Executor {
            inner,
            shared,
            _not_send: std::marker::PhantomData,
        })
    }

    /// Number of workers (1 for asyncio's single-threaded loop).
    pub fn workers(&self) -> usize {
        match &self.shared.flavor {
            Flavor::St(_) => 1,
            Flavor::Mt(_) => match &self.inner {
                Inner::Mt(_) => mt_workers(&self.shared),
                Inner::St(_) => 1,
            },
        }
    }

    /// Makes this the current executor on this thread until the guard drops (so `spawn`,
    /// `spawn_local` and `call_soon` reach it without running it).
    pub fn enter(&self) -> EnterGuard {
        context::enter(self.ctx())
    }

    fn ctx(&self) -> Ctx {
        match &self.inner {
            Inner::St(st) => st.ctx(),
            Inner::Mt(mt) => mt.ctx(),
        }
    }

    /// A handle that spawns onto this executor from any thread.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            shared: self.shared.clone(),
        }
    }

    /// Number of tasks spawned whose future has not been dropped yet.
    pub fn live_tasks(&self) -> usize {
        self.shared.registry.len()
    }

    /// Every live task (asyncio's `all_tasks()` for this loop, callable from any thread via
    /// the spawner too).
    pub fn tasks(&self) -> Vec<crate::task::TaskInfo> {
        self.spawner().tasks()
    }

    /// Number of items waiting in run queues.
    pub fn queued(&self) -> usize {
        match &self.inner {
            Inner::St(st) => st.queued(),
            Inner::Mt(mt) => mt.queued(),
        }
    }

    /// Queues a callback to run in FIFO order with tasks (asyncio's `call_soon`); with several
    /// workers, on this thread.
    pub fn call_soon(&self, f: Box<dyn FnOnce()>) {
        let _enter = self.enter();
        if let Err(f) = call_soon_current(f) {
            drop(f);
        }
    }

    /// Whether [`close`](Self::close) has run.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Runs the loop until `future` completes, polling it in place (it is not spawned), and
    /// returns its output. On a single-threaded executor it takes its FIFO turn with tasks and
    /// callbacks; on a multi-threaded one, this thread works as worker 0 meanwhile.
    ///
    /// Tasks still pending when `future` completes stay in the executor: a later `block_on`
    /// continues them, and [`close`](Self::close) cancels them.
    ///
    /// # Panics
    ///
    /// Panics if a loop already runs on this thread, and propagates a panic of `future` itself
    /// (panics of tasks are caught and reported).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            !in_loop(),
            "cannot start a tulip event loop from inside a running event loop \
             (await the future instead, or use spawn)"
        );
        assert!(
            !self.is_closed(),
            "tulip: block_on called on a closed executor"
        );
        match &self.inner {
            Inner::St(st) => st.block_on(future),
            Inner::Mt(mt) => mt.block_on(future),
        }
    }

    /// Cancels every task: every unfinished future is dropped (a `!Send` one on the thread of
    /// the worker that spawned it), worker threads are woken and joined. Awaiting a cancelled
    /// task gives `Err(JoinError::Cancelled)`; spawning afterwards gives an already-cancelled
    /// task.
    pub fn close(&self) {
        match &self.inner {
            Inner::St(st) => {
                if !self.is_closed() {
                    st.close();
                }
            }
            Inner::Mt(mt) => mt.close(),
        }
    }
}

fn mt_workers(shared: &Shared) -> usize {
    match &shared.flavor {
        Flavor::Mt(_) => mt::worker_count(shared),
        Flavor::St(_) => 1,
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.close();
    }
}

/// Queues a `!Send` callback on the executor entered on this thread.
fn call_soon_current(f: Box<dyn FnOnce()>) -> Result<(), Box<dyn FnOnce()>> {
    let mut f = Some(f);
    with_ctx(|ctx| match ctx {
        Some(Ctx::St(local)) if !local.shared.is_closed() => {
            local.call_soon(f.take().expect("present"))
        }
        Some(Ctx::Mt(w)) if !w.shared.is_closed() => w.call_soon(f.take().expect("present")),
        _ => {}
    });
    match f {
        None => Ok(()),
        Some(f) => Err(f),
    }
}

/// Spawns tasks onto an executor from any thread (`Clone + Send + Sync`).
#[derive(Clone)]
pub struct Spawner {
    shared: Arc<Shared>,
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("closed", &self.shared.is_closed())
            .finish()
    }
}

impl Spawner {
    /// Spawns a `Send` future onto the executor. If the executor has closed, the task is
    /// cancelled at once (awaiting it gives `Err(JoinError::Cancelled)`).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_send(&self.shared, future, None, Location::caller())
    }

    /// Queues a `Send` callback to run on the loop (asyncio's `call_soon_threadsafe`); wakes
    /// the loop if it is parked. Returns `false` if the executor has closed (the callback is
    /// dropped).
    pub fn call_soon(&self, f: Box<dyn FnOnce() + Send>) -> bool {
        if self.shared.is_closed() {
            return false;
        }
        match &self.shared.flavor {
            Flavor::St(_) => st::push_remote(&self.shared, st::Remote::Call(f)),
            Flavor::Mt(_) => mt::call_soon_remote(&self.shared, f),
        }
        true
    }

    /// Queues a `!Send` callback on the executor's own thread (asyncio's `call_soon`).
    ///
    /// # Errors
    ///
    /// Hands the callback back when called from a thread that is not running (or has not
    /// entered) this executor, or after it closed.
    pub fn call_soon_local(&self, f: Box<dyn FnOnce()>) -> Result<(), Box<dyn FnOnce()>> {
        let here = with_ctx(|ctx| ctx.is_some_and(|c| Arc::ptr_eq(c.shared(), &self.shared)));
        if !here {
            return Err(f);
        }
        call_soon_current(f)
    }

    /// Whether the executor has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Every live task of the executor (callable from any thread).
    pub fn tasks(&self) -> Vec<crate::task::TaskInfo> {
        let mut out = Vec::new();
        self.shared
            .registry
            .for_each(|m| out.push(crate::introspect::TaskInfo::of(m)));
        out.sort_by_key(|t| t.id);
        out
    }

    /// Number of workers of the executor.
    pub fn workers(&self) -> usize {
        match &self.shared.flavor {
            Flavor::St(_) => 1,
            Flavor::Mt(_) => mt::worker_count(&self.shared),
        }
    }

    /// Whether two spawners reach the same executor.
    pub fn same_executor(&self, other: &Spawner) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The spawner of the executor entered on this thread, if any.
    pub fn current() -> Option<Spawner> {
        with_ctx(|ctx| {
            ctx.map(|c| Spawner {
                shared: c.shared().clone(),
            })
        })
    }
}

/// Spawns a `Send` task on the current event loop (asyncio's `create_task`).
///
/// The task starts at the loop's next turn, in FIFO order on a single-threaded loop. Dropping
/// the returned [`Task`] detaches it (it keeps running).
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
    spawn_named(future, None)
}

#[track_caller]
pub(crate) fn spawn_named<F>(future: F, name: Option<Box<str>>) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    let shared =
        with_ctx(|ctx| ctx.map(|c| c.shared().clone())).unwrap_or_else(|| no_loop("spawn"));
    spawn_send(&shared, future, name, location)
}

/// Spawns a `!Send` task on the current event loop; it always runs on this thread (on a
/// multi-threaded loop: on this worker).
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
    spawn_local_named(future, None)
}

#[track_caller]
pub(crate) fn spawn_local_named<F>(future: F, name: Option<Box<str>>) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    let target = with_ctx(|ctx| match ctx {
        Some(Ctx::St(l)) => Some((l.shared.clone(), 0u32)),
        Some(Ctx::Mt(w)) => Some((w.shared.clone(), w.index as u32)),
        None => None,
    });
    let (shared, worker) = target.unwrap_or_else(|| no_loop("spawn_local"));
    spawn_pinned(&shared, worker, future, name, location)
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
