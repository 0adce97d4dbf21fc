//! [`EventLoop`], [`LoopHandle`] and the handles of scheduled callbacks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tulip_executor::{ExceptionContext, ExceptionHandler, ReportKind, Spawner, Task};
use tulip_reactor::Reactor;
use tulip_time::Instant;

use crate::blocking::{BlockingPool, BlockingTask};

thread_local! {
    static CURRENT: RefCell<Option<LoopHandle>> = const { RefCell::new(None) };
}

/// State shared by every handle to one loop.
pub(crate) struct LoopShared {
    /// Set right after the executor is built (worker threads enter the handle first).
    spawner: std::sync::OnceLock<Spawner>,
    reactor: Reactor,
    pool: BlockingPool,
    debug: bool,
    slow_callback_duration: Duration,
    closed: AtomicBool,
    stop: Mutex<StopState>,
    /// The handlers of `add_signal_handler`, by signal.
    signal_handlers: Mutex<HashMap<i32, SignalHandler>>,
    /// The watchers of `add_reader`/`add_writer`.
    #[cfg(unix)]
    pub(crate) fd_watchers: crate::fd::FdWatchers,
}

/// One `add_signal_handler` registration: the task running the callback, and the handle that
/// unregisters its signal at once.
struct SignalHandler {
    close: tulip_signal::SignalsHandle,
    task: Task<()>,
}

impl SignalHandler {
    fn remove(self) {
        self.close.close();
        self.task.cancel();
    }
}

#[derive(Default)]
struct StopState {
    requested: bool,
    waker: Option<Waker>,
}

impl LoopShared {
    pub(crate) fn new(
        reactor: Reactor,
        pool: BlockingPool,
        debug: bool,
        slow_callback_duration: Duration,
    ) -> LoopShared {
        LoopShared {
            spawner: std::sync::OnceLock::new(),
            reactor,
            pool,
            debug,
            slow_callback_duration,
            closed: AtomicBool::new(false),
            stop: Mutex::new(StopState::default()),
            signal_handlers: Mutex::new(HashMap::new()),
            #[cfg(unix)]
            fd_watchers: crate::fd::FdWatchers::default(),
        }
    }

    pub(crate) fn set_spawner(&self, spawner: Spawner) {
        let _ = self.spawner.set(spawner);
    }

    fn spawner(&self) -> &Spawner {
        self.spawner
            .get()
            .expect("the loop's executor is built before its handle is used")
    }

    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Removes every `add_signal_handler` handler (asyncio's `loop.close()` does).
    pub(crate) fn remove_signal_handlers(&self) {
        let all: Vec<SignalHandler> = tulip_util::lock(&self.signal_handlers)
            .drain()
            .map(|(_, h)| h)
            .collect();
        for h in all {
            h.remove();
        }
    }
}

/// asyncio's `get_running_loop()`: the handle of the loop running on this thread.
#[derive(Debug, Clone, Copy)]
pub struct EventLoop;

impl EventLoop {
    /// The loop running on this thread.
    ///
    /// # Panics
    ///
    /// Panics if no tulip loop runs on this thread (asyncio raises `RuntimeError: no running
    /// event loop`); see [`try_current`](Self::try_current).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     assert!(lp.is_running());
    /// });
    /// ```
    pub fn current() -> LoopHandle {
        EventLoop::try_current()
            .unwrap_or_else(|| panic!("tulip: no running event loop on this thread"))
    }

    /// The loop running on this thread, if any.
    pub fn try_current() -> Option<LoopHandle> {
        CURRENT.with(|c| c.borrow().clone())
    }
}

/// A handle to an event loop (asyncio's loop object): schedule callbacks, read its clock,
/// spawn tasks. `Clone + Send + Sync`; the methods that run `!Send` closures must be called on
/// the loop's thread.
#[derive(Clone)]
pub struct LoopHandle {
    shared: Arc<LoopShared>,
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("debug", &self.shared.debug)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl LoopHandle {
    pub(crate) fn new(shared: LoopShared) -> LoopHandle {
        LoopHandle {
            shared: Arc::new(shared),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<LoopShared> {
        &self.shared
    }

    /// Makes this loop current on this thread (for `EventLoop::current` and the blocking pool)
    /// until the guard drops.
    pub(crate) fn enter(&self) -> LoopGuard {
        let prev = CURRENT.with(|c| c.replace(Some(self.clone())));
        LoopGuard { prev: Some(prev) }
    }

    /// Whether this loop is running on the calling thread right now.
    pub fn is_running(&self) -> bool {
        tulip_executor::in_loop()
            && Spawner::current().is_some_and(|s| s.same_executor(self.shared.spawner()))
    }

    /// Whether the loop has been closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Whether the loop runs in debug mode.
    pub fn debug(&self) -> bool {
        self.shared.debug
    }

    /// The debug-mode threshold for slow callbacks and task polls.
    pub fn slow_callback_duration(&self) -> Duration {
        self.shared.slow_callback_duration
    }

    /// The loop's current time (asyncio's `loop.time()`): virtual when the clock is paused.
    pub fn time(&self) -> Instant {
        self.shared.reactor.now()
    }

    /// The loop's reactor.
    pub fn reactor(&self) -> &Reactor {
        &self.shared.reactor
    }

    /// Tells the loop's exception handler about `report` (asyncio's
    /// `loop.call_exception_handler(context)`), from any thread. A panic of the handler is
    /// contained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tulip_runtime::{ExceptionContext, Runner};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let runner = Runner::builder()
    ///     .exception_handler(move |r| s.lock().unwrap().push(r.to_string()))
    ///     .build();
    /// runner.run(async {
    ///     let err = std::io::Error::other("too many open files");
    ///     let handle = tulip_runtime::EventLoop::current();
    ///     handle.call_exception_handler(&ExceptionContext::error("accept failed", Some(&err)));
    /// });
    /// assert_eq!(*seen.lock().unwrap(), ["accept failed: too many open files"]);
    /// ```
    pub fn call_exception_handler(&self, report: &ExceptionContext<'_>) {
        self.shared.spawner().call_exception_handler(report);
    }

    /// Replaces the loop's exception handler while it runs (asyncio's
    /// `loop.set_exception_handler(handler)`), from any thread; `None` puts the default one
    /// back (one line on stderr). The handler gets every report from then on: task panics,
    /// debug mode's findings, [`call_exception_handler`](Self::call_exception_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tulip_runtime::{EventLoop, ExceptionContext, ExceptionHandler, ReportKind};
    ///
    /// tulip_runtime::run(async {
    ///     let lp = EventLoop::current();
    ///     let seen = Arc::new(Mutex::new(Vec::new()));
    ///     let s = seen.clone();
    ///     let previous: ExceptionHandler = lp.exception_handler();
    ///     lp.set_exception_handler(Some(Arc::new(move |ctx: &ExceptionContext<'_>| {
    ///         s.lock().unwrap().push(ctx.kind);
    ///         previous(ctx); // and print it as before (asyncio's default_exception_handler)
    ///     })));
    ///     let t = tulip_executor::spawn(async { panic!("boom") });
    ///     assert!(t.await.unwrap_err().is_panic());
    ///     assert_eq!(*seen.lock().unwrap(), [ReportKind::TaskPanic]);
    ///     lp.set_exception_handler(None);
    /// });
    /// ```
    pub fn set_exception_handler(&self, handler: Option<ExceptionHandler>) {
        self.shared.spawner().set_exception_handler(handler);
    }

    /// The loop's exception handler (asyncio's `loop.get_exception_handler()`); the default
    /// one if none was set (asyncio answers `None` then).
    pub fn exception_handler(&self) -> ExceptionHandler {
        self.shared.spawner().exception_handler()
    }

    /// What the default exception handler does with `report`: one line on stderr (asyncio's
    /// `loop.default_exception_handler(context)`, for a handler of one's own that passes some
    /// reports on).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_runtime::ExceptionContext;
    ///
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     lp.default_exception_handler(&ExceptionContext::error("printed on stderr", None));
    /// });
    /// ```
    pub fn default_exception_handler(&self, report: &ExceptionContext<'_>) {
        tulip_executor::default_exception_handler()(report);
    }

    pub(crate) fn blocking_pool(&self) -> &BlockingPool {
        &self.shared.pool
    }

    /// Number of threads in the loop's blocking pool right now (they come and go on demand).
    pub fn blocking_threads(&self) -> usize {
        self.shared.pool.threads()
    }

    /// Runs `f` on the loop's blocking pool (asyncio's `loop.run_in_executor(None, f)`); the
    /// same as [`spawn_blocking`](crate::spawn_blocking) but callable from any thread.
    ///
    /// # Cancel safety
    ///
    /// Dropping the handle (or an await of it) discards the result; the closure runs to the
    /// end anyway, since a thread cannot be cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     let r = lp.run_in_executor(|| 2 + 2).await;
    ///     assert_eq!(r.unwrap(), 4);
    /// });
    /// ```
    pub fn run_in_executor<F, T>(&self, f: F) -> BlockingTask<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _loop = self.enter();
        crate::blocking::spawn_blocking(f)
    }

    /// Schedules `callback` to run at the loop's next turn, in FIFO order with other callbacks
    /// and tasks (asyncio's `call_soon`).
    ///
    /// # Panics
    ///
    /// Panics when called from another thread than the loop's (use
    /// [`call_soon_threadsafe`](Self::call_soon_threadsafe)), or when the loop is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     let log = Rc::new(RefCell::new(Vec::new()));
    ///     for i in 0..3 {
    ///         let log = log.clone();
    ///         lp.call_soon(move || log.borrow_mut().push(i));
    ///     }
    ///     tulip_executor::yield_now().await;
    ///     assert_eq!(*log.borrow(), [0, 1, 2]);
    /// });
    /// ```
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> CallHandle {
        let handle = CallHandle::new(None);
        let state = handle.state.clone();
        // Callbacks run in the task-local context they were scheduled from (asyncio's
        // `context=` default).
        let context = tulip_executor::TaskLocals::current();
        let f: Box<dyn FnOnce()> = Box::new(move || {
            if !state.cancelled.load(Ordering::Acquire) {
                context.run(callback);
            }
        });
        if let Err(e) = self.shared.spawner().call_soon_local(f) {
            drop(e);
            panic!(
                "tulip: call_soon called from a thread that is not running this loop \
                 (use call_soon_threadsafe)"
            );
        }
        handle
    }

    /// Schedules `callback` from any thread and wakes the loop (asyncio's
    /// `call_soon_threadsafe`). If the loop has closed, the callback is dropped unrun and the
    /// returned handle reports [`cancelled`](CallHandle::cancelled).
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce() + Send + 'static) -> CallHandle {
        let handle = CallHandle::new(None);
        let state = handle.state.clone();
        let context = tulip_executor::TaskLocals::current();
        let queued = self.shared.spawner().call_soon(Box::new(move || {
            if !state.cancelled.load(Ordering::Acquire) {
                context.run(callback);
            }
        }));
        if !queued {
            handle.cancel();
        }
        handle
    }

    /// Schedules `callback` to run after `delay` (asyncio's `call_later`). Callbacks due at the
    /// same loop turn run in deadline order, ties in scheduling order.
    ///
    /// # Panics
    ///
    /// Panics when called from another thread than the loop's.
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> TimerHandle {
        let when = self.time().saturating_add(delay);
        self.call_at(when, callback)
    }

    /// Schedules `callback` to run at `when` (asyncio's `call_at`).
    ///
    /// # Panics
    ///
    /// Panics when called from another thread than the loop's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     let log = Rc::new(RefCell::new(Vec::new()));
    ///     let (a, b) = (log.clone(), log.clone());
    ///     lp.call_at(lp.time() + Duration::from_secs(2), move || a.borrow_mut().push("late"));
    ///     let h = lp.call_later(Duration::from_secs(1), move || b.borrow_mut().push("early"));
    ///     assert_eq!(h.when(), lp.time() + Duration::from_secs(1));
    ///     tulip_reactor::sleep(Duration::from_secs(3)).await;
    ///     assert_eq!(*log.borrow(), ["early", "late"]);
    /// });
    /// ```
    pub fn call_at(&self, when: Instant, callback: impl FnOnce() + 'static) -> TimerHandle {
        assert!(
            self.is_running_here(),
            "tulip: call_later/call_at called from a thread that is not running this loop"
        );
        let handle = CallHandle::new(Some(when));
        let state = handle.state.clone();
        let task = tulip_executor::Builder::new()
            .name("call_at")
            .spawn_local(async move {
                tulip_reactor::sleep_until(when).await;
                if !state.cancelled.load(Ordering::Acquire) {
                    callback();
                }
            });
        TimerHandle {
            call: handle,
            task: Some(task),
        }
    }

    /// Runs `callback` on the loop's thread each time signal `sig` arrives (asyncio's
    /// `loop.add_signal_handler(sig, callback)`), replacing the handler `sig` had on this loop.
    ///
    /// The signal is caught from now until [`remove_signal_handler`](Self::remove_signal_handler)
    /// or the loop closes; then it gets back the disposition it had before (for most signals
    /// the default action, ending the process). A signal wakes a loop parked in `epoll_wait`
    /// at once. Deliveries are counted, never lost, and each runs the callback once; the
    /// kernel merges a signal sent again before its handler ran. A panic of the callback is
    /// reported to the exception handler, and the handler stays.
    ///
    /// While a handler for SIGINT is set, Ctrl-C runs it instead of interrupting
    /// [`Runner::run`](crate::Runner::run).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for SIGKILL and SIGSTOP (they cannot be caught), SIGILL, SIGFPE and
    /// SIGSEGV (faults of the thread that raised them), and numbers out of range, each with a
    /// message naming it; an error when called from another thread than the loop's (asyncio
    /// raises `RuntimeError`); the OS refusing the handler.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     let hits = Rc::new(Cell::new(0));
    ///     let h = hits.clone();
    ///     lp.add_signal_handler(tulip_signal::SIGUSR1, move || h.set(h.get() + 1))?;
    ///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR1)?;
    ///     while hits.get() == 0 {
    ///         tulip_executor::yield_now().await;
    ///     }
    ///     assert!(lp.remove_signal_handler(tulip_signal::SIGUSR1));
    ///     assert!(!lp.remove_signal_handler(tulip_signal::SIGUSR1));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn add_signal_handler(
        &self,
        sig: i32,
        mut callback: impl FnMut() + 'static,
    ) -> std::io::Result<()> {
        tulip_signal::check_signal(sig)?;
        if !self.is_running_here() {
            return Err(std::io::Error::other(
                "tulip: add_signal_handler must be called on the loop's thread (the callback \
                 runs there)",
            ));
        }
        let mut signals = tulip_signal::Signals::new([sig])?;
        let close = signals.handle();
        let task = tulip_executor::Builder::new()
            .name(format!("signal handler for signal {sig}"))
            .spawn_local(async move {
                while signals.recv().await.is_some() {
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut callback));
                    if let Err(payload) = run {
                        let mut report = ExceptionContext::new(ReportKind::CallbackPanic);
                        report.payload = Some(&*payload);
                        tulip_executor::call_exception_handler(&report);
                    }
                }
            });
        let old = tulip_util::lock(&self.shared.signal_handlers)
            .insert(sig, SignalHandler { close, task });
        // The new handler is registered before the old one goes: no delivery in between
        // meets the default action.
        if let Some(old) = old {
            old.remove();
        }
        Ok(())
    }

    /// Removes the handler [`add_signal_handler`](Self::add_signal_handler) set for `sig` on
    /// this loop, restoring at once the disposition the signal had before (asyncio's
    /// `loop.remove_signal_handler`). Returns whether there was one. Callable from any thread.
    pub fn remove_signal_handler(&self, sig: i32) -> bool {
        let removed = tulip_util::lock(&self.shared.signal_handlers).remove(&sig);
        match removed {
            Some(h) => {
                h.remove();
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_running_here(&self) -> bool {
        Spawner::current().is_some_and(|s| s.same_executor(self.shared.spawner()))
    }

    /// A new pending future of this loop (asyncio's `loop.create_future()`): its
    /// [`Promise`](crate::future::Promise) and a [`Completion`](crate::future::Completion).
    /// Done-callbacks run on this loop. Callable from any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     let (promise, completion) = lp.create_future::<&str>();
    ///     assert!(!completion.done());
    ///     promise.set_result("done").unwrap();
    ///     assert!(promise.set_result("again").is_err()); // InvalidStateError
    ///     assert_eq!(completion.await.unwrap(), "done");
    /// });
    /// ```
    pub fn create_future<T: Send + 'static>(
        &self,
    ) -> (crate::future::Promise<T>, crate::future::Completion<T>) {
        crate::future::Promise::with_loop(Some(self.clone()))
    }

    /// Spawns a `Send` task on this loop from any thread (asyncio's
    /// `run_coroutine_threadsafe`). If the loop has closed, the task is cancelled at once.
    ///
    /// # Cancel safety
    ///
    /// Spawning does not wait. The returned [`Task`] is a handle: dropping it, or an await
    /// of it, detaches the task, which runs on; only [`Task::cancel`] stops it.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawner().spawn(future)
    }

    /// A snapshot of the loop: every live task with its state, spawn site and (in debug mode)
    /// what it waits on, plus queue, timer and pool counts. Printable as text (`Display`) and
    /// as JSON ([`LoopDump::to_json`](crate::LoopDump::to_json)). Callable from any thread, while the loop runs.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     let _t = tulip_executor::Builder::new().name("idle one").spawn(std::future::pending::<()>());
    ///     tulip_executor::yield_now().await;
    ///     let dump = lp.dump();
    ///     assert!(dump.to_string().contains("idle one"));
    ///     assert!(dump.to_json().contains("\"name\":\"idle one\""));
    /// });
    /// ```
    pub fn dump(&self) -> crate::dump::LoopDump {
        crate::dump::LoopDump::capture(self)
    }

    /// A weak reference, for the remote dump's list of loops.
    #[cfg(unix)]
    pub(crate) fn downgrade(&self) -> std::sync::Weak<LoopShared> {
        Arc::downgrade(&self.shared)
    }

    /// The loop behind a weak reference, if it is still there.
    #[cfg(unix)]
    pub(crate) fn upgrade(weak: &std::sync::Weak<LoopShared>) -> Option<LoopHandle> {
        weak.upgrade().map(|shared| LoopHandle { shared })
    }

    pub(crate) fn spawner_ref(&self) -> &Spawner {
        self.shared.spawner()
    }

    /// Makes [`Runner::run_forever`](crate::Runner::run_forever) return (asyncio's
    /// `loop.stop()`); callable from any thread. If the loop is not running forever yet, the
    /// next `run_forever` returns at once.
    pub fn stop(&self) {
        let waker = {
            let mut st = tulip_util::lock(&self.shared.stop);
            st.requested = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Restores the previous current loop when dropped.
pub(crate) struct LoopGuard {
    prev: Option<Option<LoopHandle>>,
}

impl Drop for LoopGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            let _ = CURRENT.try_with(|c| c.replace(prev));
        }
    }
}

/// Completes when `stop` is called.
pub(crate) struct StopFuture {
    shared: Arc<LoopShared>,
}

impl StopFuture {
    pub(crate) fn new(shared: &Arc<LoopShared>) -> StopFuture {
        StopFuture {
            shared: shared.clone(),
        }
    }
}

impl Future for StopFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = tulip_util::lock(&self.shared.stop);
        if std::mem::take(&mut st.requested) {
            st.waker = None;
            Poll::Ready(())
        } else {
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

struct CallState {
    cancelled: AtomicBool,
}

/// Handle of a callback scheduled with [`LoopHandle::call_soon`] or
/// [`LoopHandle::call_soon_threadsafe`] (asyncio's `Handle`). Dropping it does not cancel the
/// callback.
#[derive(Clone)]
pub struct CallHandle {
    state: Arc<CallState>,
    when: Option<Instant>,
}

impl fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallHandle")
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

impl CallHandle {
    fn new(when: Option<Instant>) -> CallHandle {
        CallHandle {
            state: Arc::new(CallState {
                cancelled: AtomicBool::new(false),
            }),
            when,
        }
    }

    /// Cancels the callback if it has not run yet.
    pub fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::Acquire)
    }
}

/// Handle of a callback scheduled with [`LoopHandle::call_later`] or [`LoopHandle::call_at`]
/// (asyncio's `TimerHandle`). Dropping it does not cancel the callback; `cancel` removes the
/// timer at once.
pub struct TimerHandle {
    call: CallHandle,
    task: Option<Task<()>>,
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when())
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

impl TimerHandle {
    /// When the callback is (or was) due.
    pub fn when(&self) -> Instant {
        self.call.when.expect("timer handles have a deadline")
    }

    /// Cancels the callback if it has not run yet, and frees its timer.
    pub fn cancel(&self) {
        self.call.cancel();
        if let Some(t) = &self.task {
            t.cancel();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.call.cancelled()
    }
}
