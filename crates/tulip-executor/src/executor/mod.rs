//! [`Executor`]: the task half of a tulip event loop, single- or multi-threaded, and its
//! [`ExecutorConfig`].
//!
//! - `shared.rs`: the state every thread, handle and task header of one executor reaches.
//! - `spawner.rs`: [`Spawner`], the handle that reaches an executor from any thread.

pub(crate) mod shared;
mod spawner;

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::current::{self, in_loop, Ctx, EnterGuard};
use crate::driver::Driver;
use crate::hooks::TaskHooks;
use crate::report::{default_exception_handler, ExceptionHandler, UnhandledPanic};
use crate::scheduler::current_thread::{StExecutor, StShared};
use crate::scheduler::multi_thread::{self, MtExecutor, MtShared, ThreadStart};
use crate::scheduler::Flavor;
use crate::watchdog::run_watchdog;
use shared::{Shared, SharedConfig};
pub(crate) use spawner::call_soon_current;
pub use spawner::Spawner;

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
    /// Run every task's first step inside `spawn` (asyncio 3.12's eager task factory), unless
    /// its [`Builder::eager`](crate::Builder::eager) says otherwise.
    pub eager_tasks: bool,
    /// Callbacks at spawn, around each poll and at the end of every task.
    pub hooks: TaskHooks,
    /// A seeded schedule (`None`, the default, keeps FIFO order): each run-queue pop picks
    /// among the first ready tasks from a generator seeded with this, so that a bug that
    /// depends on the order of ready tasks shows up under some seed and replays under the same
    /// one. Callbacks keep their FIFO order among themselves (asyncio's promise). With one
    /// worker the whole schedule is a function of the seed and of the inputs (I/O readiness,
    /// timers); with several, the choices are seeded but thread timing is not. See
    /// `docs/reliability.md`, "Seeded schedules".
    pub seed: Option<u64>,
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
            eager_tasks: false,
            hooks: TaskHooks::new(),
            seed: None,
        }
    }
}

impl fmt::Debug for ExecutorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorConfig")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .field("seed", &self.seed)
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
    seed: Option<u64>,
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
            eager: config.eager_tasks,
            hooks: config.hooks,
        };
        let (inner, shared) = if workers == 1 {
            let shared = Arc::new(Shared::new(
                Flavor::St(StShared::new()),
                &shared_config,
                1,
                1,
            ));
            (
                Inner::St(StExecutor::new(shared.clone(), config.seed)),
                shared,
            )
        } else {
            let shared = Arc::new(Shared::new(
                Flavor::Mt(MtShared::new(workers)),
                &shared_config,
                workers * 4,
                workers,
            ));
            let mt = MtExecutor::new(
                shared.clone(),
                config.thread_start,
                &config.thread_name,
                config.seed,
            )?;
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
            seed: config.seed,
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

    /// The seed of a seeded schedule ([`ExecutorConfig::seed`]), if any.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Makes this the current executor on this thread until the guard drops (so `spawn`,
    /// `spawn_local` and `call_soon` reach it without running it).
    pub fn enter(&self) -> EnterGuard {
        current::enter(self.ctx())
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
        Flavor::Mt(_) => multi_thread::worker_count(shared),
        Flavor::St(_) => 1,
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.close();
    }
}
