//! [`Runner`], [`RunnerBuilder`], [`run`] and [`block_on`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tulip_executor::{
    call_exception_handler, Driver, ExceptionContext, ExceptionHandler, Executor, ExecutorConfig,
    ReportKind, TaskHookInfo, TaskHooks, UnhandledPanic,
};
use tulip_reactor::{Backend, Reactor};
use tulip_time::Clock;

use crate::blocking::{BlockingPool, ShutdownReport};
use crate::handle::{LoopHandle, LoopShared, StopFuture};

/// Configures a [`Runner`] (asyncio's `Runner(debug=…, loop_factory=…)`).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let runner = tulip_runtime::Runner::builder()
///     .exception_handler(move |report| s.lock().unwrap().push(report.to_string()))
///     .build();
/// let r = runner.run(async {
///     tulip_executor::Builder::new().name("doomed").spawn(async { panic!("oops") }).await
/// });
/// assert!(r.unwrap_err().is_panic());
/// assert!(seen.lock().unwrap()[0].contains("'doomed'"));
/// ```
#[must_use = "a builder does nothing until build is called"]
pub struct RunnerBuilder {
    debug: bool,
    exception_handler: Option<ExceptionHandler>,
    workers: usize,
    start_paused: bool,
    slow_callback_duration: Duration,
    backend: Backend,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
    shutdown_timeout: Duration,
    thread_name: String,
    unhandled_panic: UnhandledPanic,
    watchdog: Option<Option<Duration>>,
    handle_ctrl_c: bool,
    eager_tasks: bool,
    hooks: TaskHooks,
    /// The seeded schedule, or why `TULIP_SEED` could not be read (reported by `try_build`).
    seed: Result<Option<u64>, String>,
}

impl fmt::Debug for RunnerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerBuilder")
            .field("debug", &self.debug)
            .field("workers", &self.workers)
            .field("start_paused", &self.start_paused)
            .field("slow_callback_duration", &self.slow_callback_duration)
            .field("backend", &self.backend)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("handle_ctrl_c", &self.handle_ctrl_c)
            .field("eager_tasks", &self.eager_tasks)
            .field("hooks", &self.hooks)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for RunnerBuilder {
    fn default() -> Self {
        RunnerBuilder {
            debug: std::env::var("TULIP_DEBUG").is_ok_and(|v| !v.is_empty() && v != "0"),
            exception_handler: None,
            workers: std::env::var("TULIP_WORKERS")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(1),
            start_paused: false,
            slow_callback_duration: Duration::from_millis(100),
            backend: Backend::from_env(),
            max_blocking_threads: 64,
            blocking_keep_alive: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            thread_name: "tulip".into(),
            unhandled_panic: UnhandledPanic::Log,
            watchdog: None,
            handle_ctrl_c: true,
            eager_tasks: false,
            hooks: TaskHooks::new(),
            seed: seed_from_env(),
        }
    }
}

/// What `TULIP_SEED` asks for: unset or empty is no seed; `random` is a fresh seed (printed
/// to stderr, so that the run can be replayed); otherwise a `u64`, decimal or `0x` hex.
fn seed_from_env() -> Result<Option<u64>, String> {
    match std::env::var("TULIP_SEED") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => {
            Err(format!("TULIP_SEED={v:?} is not a number or `random`"))
        }
        Ok(v) => parse_seed(&v),
    }
}

/// [`seed_from_env`] on the variable's value.
fn parse_seed(v: &str) -> Result<Option<u64>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.eq_ignore_ascii_case("random") {
        let seed = fresh_seed();
        eprintln!("tulip: TULIP_SEED=random picked TULIP_SEED={seed}");
        return Ok(Some(seed));
    }
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse::<u64>(),
    };
    parsed
        .map(Some)
        .map_err(|e| format!("TULIP_SEED={v:?} is not a u64 or `random`: {e}"))
}

/// A seed that differs from run to run (std's per-process hash keys, the time, a counter).
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish()
}

/// Says on stderr which seed a loop ran under when a `run` of it unwinds (a failing test
/// under `TULIP_SEED`), so that the failure can be replayed.
struct SeedNote {
    seed: u64,
    workers: usize,
}

impl Drop for SeedNote {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "tulip: this loop ran a seeded schedule: TULIP_SEED={} (workers: {}); run \
                 again with TULIP_SEED={} to replay it",
                self.seed, self.workers, self.seed
            );
        }
    }
}

impl RunnerBuilder {
    /// Debug mode (asyncio's `debug=True`; also turned on by `TULIP_DEBUG=1`): task polls and
    /// callbacks slower than [`slow_callback_duration`](Self::slow_callback_duration) are
    /// reported with the task's name and spawn site; the blocked-loop watchdog runs; a task
    /// that panicked with nobody ever awaiting it is reported; task dumps say what each task
    /// waits on.
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The handler for panics caught in tasks and callbacks and for debug-mode reports
    /// (asyncio's `loop.set_exception_handler`; default: one line on stderr).
    pub fn exception_handler(
        mut self,
        handler: impl Fn(&ExceptionContext<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.exception_handler = Some(Arc::new(handler));
        self
    }

    /// What happens after a task panics, once it is reported: go on (the default), stop the
    /// loop (the running `run` panics), or abort the process.
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Self {
        self.unhandled_panic = policy;
        self
    }

    /// The blocked-loop watchdog: a thread that reports, while it happens, a task poll or
    /// callback that has run longer than `threshold` without yielding. `None` turns it off.
    /// Default: on in debug mode (threshold: the slow-callback duration), off otherwise. It
    /// costs each poll a few relaxed atomic stores, so it can stay on in production.
    pub fn watchdog(mut self, threshold: Option<Duration>) -> Self {
        self.watchdog = Some(threshold);
        self
    }

    /// Number of workers. `1` (the default, unless the `TULIP_WORKERS` environment variable
    /// says otherwise) is asyncio's single-threaded loop: no thread is spawned. `n > 1` gives a work-stealing loop: the thread calling `run` is worker 0 and
    /// `n - 1` threads are spawned; `spawn` runs anywhere, `spawn_local` stays on the worker
    /// that spawned it. `0` means one worker per CPU.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = if n == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            n
        };
        self
    }

    /// A seeded schedule (default: none, unless the `TULIP_SEED` environment variable gives
    /// one; this call overrides it). Each time the loop takes a ready task it picks one of the
    /// first ready ones from a generator seeded with `seed`, instead of the oldest: a bug that
    /// depends on the order in which ready tasks run shows up under some seed, and the same
    /// seed replays it. Callbacks (`call_soon`, done-callbacks) keep their place in FIFO order
    /// relative to everything queued before and after them, as in asyncio's ready queue; only
    /// tasks move among tasks. With one worker the whole schedule replays exactly, given the same
    /// inputs (I/O readiness and timers: use [`start_paused`](Self::start_paused) for virtual
    /// time); with several workers the choices are seeded but thread timing is not. When a
    /// `run` of a seeded loop panics (a failing test), the seed is printed on stderr.
    ///
    /// `TULIP_SEED=random` picks a fresh seed for every loop and prints it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let order = |seed| {
    ///     let runner = tulip_runtime::Runner::builder().seed(seed).build();
    ///     runner.run(async {
    ///         let log = Rc::new(RefCell::new(Vec::new()));
    ///         let tasks: Vec<_> = (0..4)
    ///             .map(|i| {
    ///                 let log = log.clone();
    ///                 tulip_executor::spawn_local(async move { log.borrow_mut().push(i) })
    ///             })
    ///             .collect();
    ///         for t in tasks {
    ///             t.await.unwrap();
    ///         }
    ///         log.take()
    ///     })
    /// };
    /// // The same seed gives the same schedule.
    /// assert_eq!(order(7), order(7));
    /// let mut sorted = order(7);
    /// sorted.sort();
    /// assert_eq!(sorted, [0, 1, 2, 3]);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Ok(Some(seed));
        self
    }

    /// With `true`: no seeded schedule, whatever `TULIP_SEED` says (ready tasks run in FIFO
    /// order), for a test of the order of ready tasks, which a seed relaxes on purpose (see
    /// [`seed`](Self::seed)). `false` leaves the seed as it is.
    pub fn fifo(mut self, fifo: bool) -> Self {
        if fifo {
            self.seed = Ok(None);
        }
        self
    }

    /// The most threads the blocking pool (`to_thread`, `spawn_blocking`) may run at once
    /// (default 64). More jobs wait in a queue.
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = n.max(1);
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it exits (default 10 s).
    pub fn blocking_keep_alive(mut self, d: Duration) -> Self {
        self.blocking_keep_alive = d;
        self
    }

    /// How long closing the loop waits for blocking jobs (default 10 s); what is still running
    /// then is reported and left behind (asyncio's `shutdown_default_executor(timeout)`).
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }

    /// Prefix of the names of the threads the loop spawns (default `"tulip"`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Runs the loop on a paused virtual clock that jumps to the next timer whenever every
    /// task is idle (for tests: a one-hour timeout takes microseconds).
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.start_paused = paused;
        self
    }

    /// In debug mode, task polls and callbacks slower than this are reported (default 100 ms).
    pub fn slow_callback_duration(mut self, d: Duration) -> Self {
        self.slow_callback_duration = d;
        self
    }

    /// Whether [`Runner::run`] handles Ctrl-C the way asyncio 3.11's `Runner` does (default:
    /// yes). When `run` is called on the process's main thread and SIGINT still has its
    /// default disposition (nothing else handles it), the first Ctrl-C cancels the main
    /// future (drops it), the loop shuts down as [`Runner::close`] does — leftover tasks
    /// dropped, the blocking pool joined up to the shutdown timeout — and the process then
    /// ends killed by SIGINT (a shell reports exit status 130), as an interrupted Python
    /// program does; a second Ctrl-C during that shutdown ends it at once. Code after `run`
    /// does not execute then. While something handles SIGINT through tulip
    /// (`tulip::signal::ctrl_c`, a `Signals` with SIGINT, `add_signal_handler`), Ctrl-C is
    /// theirs and `run` leaves it alone.
    pub fn handle_ctrl_c(mut self, on: bool) -> Self {
        self.handle_ctrl_c = on;
        self
    }

    /// Runs every task's first step inside `spawn` (asyncio 3.12's
    /// `loop.set_task_factory(asyncio.eager_task_factory)`); a task spawned with
    /// [`Builder::eager`](tulip_executor::Builder::eager) decides for itself. Spawns from
    /// threads that do not run the loop are never eager.
    ///
    /// # Examples
    ///
    /// ```
    /// let runner = tulip_runtime::Runner::builder().eager_tasks(true).build();
    /// runner.run(async {
    ///     let task = tulip_executor::spawn(async { 42 });
    ///     assert!(task.is_finished()); // it ran to the end inside spawn
    ///     assert_eq!(task.await.unwrap(), 42);
    /// });
    /// ```
    pub fn eager_tasks(mut self, on: bool) -> Self {
        self.eager_tasks = on;
        self
    }

    /// Runs `f` when a task is spawned, on the spawning thread, before the task can run
    /// (with the three other task hooks, a task-factory equivalent for observing tasks).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let (a, b, c, d) = (log.clone(), log.clone(), log.clone(), log.clone());
    /// let runner = tulip_runtime::Runner::builder()
    ///     .on_task_spawn(move |t| a.lock().unwrap().push(format!("spawn {}", t.name().unwrap())))
    ///     .on_before_task_poll(move |_| b.lock().unwrap().push("before".to_string()))
    ///     .on_after_task_poll(move |_| c.lock().unwrap().push("after".to_string()))
    ///     .on_task_terminate(move |_| d.lock().unwrap().push("end".to_string()))
    ///     .build();
    /// runner.run(async {
    ///     tulip_executor::Builder::new().name("t").spawn(async {}).await.unwrap();
    /// });
    /// assert_eq!(*log.lock().unwrap(), ["spawn t", "before", "after", "end"]);
    /// ```
    pub fn on_task_spawn(mut self, f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static) -> Self {
        self.hooks = self.hooks.on_spawn(f);
        self
    }

    /// Runs `f` right before each poll of a task, on the polling thread.
    pub fn on_before_task_poll(
        mut self,
        f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.hooks = self.hooks.on_before_poll(f);
        self
    }

    /// Runs `f` right after each poll of a task, on the polling thread.
    pub fn on_after_task_poll(
        mut self,
        f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.hooks = self.hooks.on_after_poll(f);
        self
    }

    /// Runs `f` once when a task ends: finished, panicked or cancelled (also when the loop
    /// closes with the task unfinished).
    pub fn on_task_terminate(
        mut self,
        f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.hooks = self.hooks.on_terminate(f);
        self
    }

    /// The OS interface the reactor waits on (default: [`Backend::from_env`]).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Builds the loop.
    ///
    /// # Panics
    ///
    /// Panics if the OS refuses to create the poller or the worker threads (see
    /// [`try_build`](Self::try_build)).
    pub fn build(self) -> Runner {
        self.try_build()
            .unwrap_or_else(|e| panic!("tulip: cannot create the event loop: {e}"))
    }

    /// Builds the loop, reporting OS failures.
    ///
    /// # Errors
    ///
    /// Fails if `TULIP_SEED` is neither a number nor `random`, if the backend is unavailable,
    /// or if the OS refuses to create the poller or the
    /// worker threads.
    pub fn try_build(self) -> std::io::Result<Runner> {
        let seed = self
            .seed
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let clock = if self.start_paused {
            Clock::paused()
        } else {
            Clock::real()
        };
        let reactor = Reactor::with_backend_and_clock(self.backend, clock)?;
        let handler = self
            .exception_handler
            .unwrap_or_else(tulip_executor::default_exception_handler);
        let pool = BlockingPool::new(
            self.max_blocking_threads,
            self.blocking_keep_alive,
            &self.thread_name,
        );
        // Worker threads enter the loop handle when they start, so the handle exists first and
        // learns the executor's spawner once the executor is built.
        let driver: Arc<dyn Driver> = Arc::new(ReactorDriver(reactor.clone()));
        let handle = LoopHandle::new(LoopShared::new(
            reactor.clone(),
            pool,
            self.debug,
            self.slow_callback_duration,
        ));
        let start_reactor = reactor.clone();
        let start_handle = handle.clone();
        let mut config = ExecutorConfig::new(driver);
        config.handler = handler;
        config.unhandled_panic = self.unhandled_panic;
        config.debug = self.debug.then_some(self.slow_callback_duration);
        config.watchdog = match self.watchdog {
            Some(explicit) => explicit,
            None => self.debug.then_some(self.slow_callback_duration),
        };
        config.workers = self.workers;
        config.eager_tasks = self.eager_tasks;
        config.hooks = self.hooks;
        config.seed = seed;
        config.thread_name = format!("{}-worker", self.thread_name);
        config.thread_start = Some(Arc::new(move || {
            let reactor_guard = start_reactor.enter();
            let loop_guard = start_handle.enter();
            Box::new((reactor_guard, loop_guard))
        }));
        let executor = Executor::with_config(config)?;
        handle.shared().set_spawner(executor.spawner());
        if self.debug {
            // Fill in what tasks wait on, for task dumps.
            reactor.set_wait_hook(Box::new(|note| {
                use tulip_executor::task::{note_waiting, WaitingOn};
                match note {
                    tulip_reactor::WaitNote::Timer(at) => note_waiting(WaitingOn::Timer(at)),
                    tulip_reactor::WaitNote::Io { fd, write } => {
                        note_waiting(WaitingOn::Io { fd, write })
                    }
                    _ => {}
                }
            }));
        }
        #[cfg(unix)]
        crate::remote::register(&handle);
        Ok(Runner {
            executor,
            reactor,
            handle,
            shutdown_timeout: self.shutdown_timeout,
            handle_ctrl_c: self.handle_ctrl_c,
        })
    }
}

/// An event loop on the current thread that can run many futures in turn (asyncio's
/// `Runner`).
///
/// Tasks spawned during one [`run`](Runner::run) and still pending when it returns stay on the
/// loop and continue in the next `run`. [`close`](Runner::close) (or dropping the runner)
/// cancels whatever is left.
///
/// # Examples
///
/// ```
/// let runner = tulip_runtime::Runner::new();
/// let a = runner.run(async { 1 });
/// let b = runner.run(async { 2 });
/// assert_eq!(a + b, 3);
/// runner.close();
/// ```
pub struct Runner {
    executor: Executor,
    reactor: Reactor,
    handle: LoopHandle,
    shutdown_timeout: Duration,
    handle_ctrl_c: bool,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("executor", &self.executor)
            .field("reactor", &self.reactor)
            .finish()
    }
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

/// The reactor as the executor's [`Driver`].
struct ReactorDriver(Reactor);

impl Driver for ReactorDriver {
    fn park(&self, timeout: Option<Duration>, may_advance_time: bool) {
        let parked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.0.park_with(timeout, may_advance_time)
        }));
        match parked {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                // The OS wait itself failed (not an interruption): say so and back off a little
                // so a persistent failure does not spin.
                eprintln!("tulip: the reactor's wait failed: {e}");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(payload) => {
                // A foreign waker (a future polled by hand with a waker of its own) panicked
                // when a timer or I/O event woke it. The reactor woke every other waker first;
                // the panic is reported like a callback's, and the loop goes on.
                let mut ctx = ExceptionContext::new(ReportKind::CallbackPanic);
                ctx.payload = Some(&*payload);
                ctx.note = Some("a waker panicked when the reactor woke it");
                call_exception_handler(&ctx);
            }
        }
    }

    fn unpark(&self) {
        self.0.notify();
    }

    fn time_is_paused(&self) -> bool {
        self.0.clock().is_paused()
    }
}

impl Runner {
    /// A single-threaded loop with default options.
    ///
    /// # Panics
    ///
    /// Panics if the OS refuses to create the poller.
    pub fn new() -> Runner {
        Runner::builder().build()
    }

    /// A builder for a loop with options.
    pub fn builder() -> RunnerBuilder {
        RunnerBuilder::default()
    }

    /// A handle to this loop (usable from any thread).
    pub fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }

    /// Runs `future` to completion on this loop, together with the loop's tasks, and returns
    /// its output. The future may be `!Send`; it is polled in place, not spawned.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a running tulip loop (asyncio raises the same error), or
    /// after [`close`](Self::close). A panic of `future` itself propagates (a panic of a task
    /// does not: it is reported and the task's awaiter gets `JoinError::Panicked`).
    ///
    /// # Ctrl-C
    ///
    /// On the main thread, a Ctrl-C cancels `future`, closes the loop and ends the process by
    /// SIGINT, unless something else handles SIGINT (see
    /// [`RunnerBuilder::handle_ctrl_c`]).
    pub fn run<F: Future>(&self, future: F) -> F::Output {
        assert!(
            !tulip_executor::in_loop(),
            "tulip: cannot call run() from inside a running event loop; await the future \
             instead, or spawn it"
        );
        assert!(
            !self.executor.is_closed(),
            "tulip: run() called on a closed Runner"
        );
        let _reactor = self.reactor.enter();
        let _loop = self.handle.enter();
        let _seed_note = self.executor.seed().map(|seed| SeedNote {
            seed,
            workers: self.executor.workers(),
        });
        let interrupt = if self.handle_ctrl_c {
            tulip_signal::Interrupt::install().unwrap_or_else(|e| {
                eprintln!("tulip: cannot install the Ctrl-C handler: {e}");
                None
            })
        } else {
            None
        };
        let Some(mut interrupt) = interrupt else {
            return self.executor.block_on(future);
        };
        let future = std::pin::pin!(Some(future));
        let out = self.executor.block_on(Interruptible {
            future,
            interrupt: &mut interrupt,
        });
        match out {
            Some(out) => out,
            None => {
                // asyncio's Runner: the main task was cancelled by the first Ctrl-C; close
                // the loop in order, then end as an interrupted program does. A second Ctrl-C
                // from now on ends the process at once.
                interrupt.arm();
                let report = self.close_now();
                if !report.is_clean() {
                    eprintln!(
                        "tulip: closing the loop after waiting {:?}: {report}",
                        self.shutdown_timeout
                    );
                }
                interrupt.exit()
            }
        }
    }

    /// Number of workers (1 for asyncio's single-threaded loop).
    pub fn workers(&self) -> usize {
        self.executor.workers()
    }

    /// The seed of this loop's seeded schedule ([`RunnerBuilder::seed`], `TULIP_SEED`), if
    /// any.
    pub fn seed(&self) -> Option<u64> {
        self.executor.seed()
    }

    /// Runs the loop until [`LoopHandle::stop`] is called (asyncio's `run_forever`).
    ///
    /// # Panics
    ///
    /// As [`run`](Self::run).
    pub fn run_forever(&self) {
        self.run(StopFuture::new(self.handle.shared()));
    }

    /// Cancels every task left, waits for the blocking pool (up to the
    /// [shutdown timeout](RunnerBuilder::shutdown_timeout)) and closes the loop (asyncio's
    /// `Runner.close`). Blocking jobs left behind are reported on stderr. Dropping the runner
    /// does the same.
    pub fn close(self) {
        drop(self);
    }

    /// [`close`](Self::close), waiting at most `timeout` for blocking jobs, and returning what
    /// was left behind instead of printing it.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> ShutdownReport {
        self.shutdown_timeout = timeout;
        self.close_now()
    }

    fn close_now(&self) -> ShutdownReport {
        if self.executor.is_closed() {
            return ShutdownReport::default();
        }
        {
            let _reactor = self.reactor.enter();
            let _loop = self.handle.enter();
            self.handle.shared().mark_closed();
            // asyncio's loop.close() removes the signal handlers.
            self.handle.shared().remove_signal_handlers();
            // The fd watchers' tasks go with the executor; forget their handles first.
            #[cfg(unix)]
            self.handle.shared().fd_watchers.clear();
            self.executor.close();
        }
        self.handle.blocking_pool().shutdown(self.shutdown_timeout)
    }
}

/// The main future of a [`Runner::run`] that handles Ctrl-C: `Some(output)`, or `None` once a
/// Ctrl-C arrived (the main future is dropped right then, on the loop, as asyncio cancels its
/// main task).
struct Interruptible<'a, F: Future> {
    /// Pinned in `run`'s frame; set to `None` (which drops the future in place) when done.
    future: std::pin::Pin<&'a mut Option<F>>,
    interrupt: &'a mut tulip_signal::Interrupt,
}

impl<F: Future> Future for Interruptible<'_, F> {
    type Output = Option<F::Output>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<F::Output>> {
        use std::task::Poll;
        if let Some(f) = self.future.as_mut().as_pin_mut() {
            if let Poll::Ready(out) = f.poll(cx) {
                self.future.set(None);
                return Poll::Ready(Some(out));
            }
        }
        if self.interrupt.poll_interrupted(cx).is_ready() {
            self.future.set(None);
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let report = self.close_now();
        if !report.is_clean() {
            eprintln!(
                "tulip: closing the loop after waiting {:?}: {report}",
                self.shutdown_timeout
            );
        }
    }
}

/// Runs `future` on a new single-threaded event loop on this thread and returns its output
/// (asyncio's `asyncio.run`). When `future` completes, every task it left is cancelled and the
/// loop closes.
///
/// # Panics
///
/// Panics if called from inside a running tulip event loop, or if the OS refuses to create the
/// poller. A panic of `future` propagates.
///
/// # Examples
///
/// ```
/// let answer = tulip_runtime::run(async {
///     let t = tulip_executor::spawn(async { 40 + 2 });
///     t.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn run<F: Future>(future: F) -> F::Output {
    let runner = Runner::new();
    let out = runner.run(future);
    runner.close();
    out
}

/// Drives one future to completion from synchronous code, outside any loop (asyncio's
/// `loop.run_until_complete` on a fresh loop): the same as [`run`].
///
/// # Panics
///
/// As [`run`].
pub fn block_on<F: Future>(future: F) -> F::Output {
    run(future)
}

#[cfg(test)]
mod seed_tests {
    use super::parse_seed;

    #[test]
    fn tulip_seed_values() {
        assert_eq!(parse_seed(""), Ok(None));
        assert_eq!(parse_seed(" 42 "), Ok(Some(42)));
        assert_eq!(parse_seed("0x2a"), Ok(Some(42)));
        assert!(parse_seed("random").unwrap().is_some());
        let err = parse_seed("many").unwrap_err();
        assert!(err.contains("TULIP_SEED=\"many\""), "{err}");
        assert!(parse_seed("-1").is_err());
    }
}
