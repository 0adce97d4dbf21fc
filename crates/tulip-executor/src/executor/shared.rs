//! [`Shared`]: the state of one executor that every thread, every handle and every task
//! header reaches — its flavour's queues, the driver, reporting, the registry of tasks, and
//! whether it is closed or poisoned.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::driver::Driver;
use crate::hooks::TaskHooks;
use crate::introspect::WaitingOn;
use tulip_util::lock;

use crate::registry::Registry;
use crate::report::{ExceptionContext, ExceptionHandler, ReportKind, UnhandledPanic};
use crate::scheduler::Flavor;
use crate::task::meta::{TaskId, TaskMeta, NO_SLOT, PANICKED};
use crate::watchdog::Watchdog;

/// State shared by everything that refers to one executor: task headers, wakers, spawners.
pub(crate) struct Shared {
    pub(crate) flavor: Flavor,
    /// Waits for I/O and timers.
    pub(crate) driver: Arc<dyn Driver>,
    /// Reports panics and debug-mode findings; replaceable while the loop runs (asyncio's
    /// `loop.set_exception_handler`). Read only on the reporting paths.
    handler: RwLock<ExceptionHandler>,
    /// What to do after a task panics.
    pub(crate) unhandled: UnhandledPanic,
    /// Debug mode: the slow-poll threshold.
    pub(crate) debug: Option<Duration>,
    /// The blocked-loop detector, when enabled.
    pub(crate) watchdog: Option<Watchdog>,
    /// `debug.is_some() || watchdog.is_some()`: one branch on the hot path.
    pub(crate) instrumented: bool,
    /// Set when the executor closes; later spawns are cancelled at once.
    pub(crate) closed: AtomicBool,
    /// Why a panic under `UnhandledPanic::ShutdownLoop` stopped the loop.
    poisoned: Mutex<Option<String>>,
    /// Whether `poisoned` is set (read on every turn of the loop).
    is_poisoned: AtomicBool,
    /// Registered tasks: every live task in debug mode; otherwise the ones that have
    /// returned `Pending` at least once.
    pub(crate) registry: Registry,
    /// Debug mode: what each waiting task last said it waits for.
    pub(crate) waiting: Option<Mutex<HashMap<TaskId, WaitingOn>>>,
    /// Whether the "never retrieved" rule is applied: in debug mode, and under
    /// `UnhandledPanic::ShutdownIfUnobserved`.
    pub(crate) tracks_retrieval: bool,
    /// When `tracks_retrieval`: what a failed task whose handle is still alive failed with
    /// (the panic message or the error's `Display`), to report if the handle goes unread.
    failures: Option<Mutex<HashMap<TaskId, String>>>,
    /// The tasks waiting in `wait_idle`, woken when the loop has nothing else to run.
    pub(crate) idle: crate::wait_idle::IdleWaiters,
    /// Debug mode: keeps tulip-util's wait notes (tulip-sync, tulip-queue) coming.
    _listening: Option<tulip_util::waiting::Listening>,
    /// Whether tasks run their first step inside `spawn` by default.
    pub(crate) eager: bool,
    /// Task hooks; `None` when none is set (one branch per hook point).
    pub(crate) hooks: Option<Box<TaskHooks>>,
}

/// Whether the never-retrieved rule applies under `config`.
fn tracks(config: &SharedConfig) -> bool {
    config.debug.is_some() || config.unhandled == UnhandledPanic::ShutdownIfUnobserved
}

/// A failed task's error, as text, for the never-retrieved report.
#[derive(Debug)]
struct ErrorMessage(String);

impl std::fmt::Display for ErrorMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ErrorMessage {}

/// The parts of the executor configuration that [`Shared`] keeps.
pub(crate) struct SharedConfig {
    pub(crate) driver: Arc<dyn Driver>,
    pub(crate) handler: ExceptionHandler,
    pub(crate) unhandled: UnhandledPanic,
    pub(crate) debug: Option<Duration>,
    pub(crate) watchdog: Option<Duration>,
    pub(crate) eager: bool,
    pub(crate) hooks: TaskHooks,
}

impl Shared {
    pub(crate) fn new(
        flavor: Flavor,
        config: &SharedConfig,
        shards: usize,
        workers: usize,
    ) -> Shared {
        Shared {
            flavor,
            driver: config.driver.clone(),
            handler: RwLock::new(config.handler.clone()),
            unhandled: config.unhandled,
            debug: config.debug,
            watchdog: config.watchdog.map(|t| Watchdog::new(t, workers)),
            instrumented: config.debug.is_some() || config.watchdog.is_some(),
            closed: AtomicBool::new(false),
            poisoned: Mutex::new(None),
            is_poisoned: AtomicBool::new(false),
            registry: Registry::new(shards),
            waiting: config.debug.map(|_| Mutex::new(HashMap::new())),
            tracks_retrieval: tracks(config),
            failures: tracks(config).then(|| Mutex::new(HashMap::new())),
            idle: crate::wait_idle::IdleWaiters::default(),
            _listening: config.debug.map(|_| {
                tulip_util::waiting::set_hook(crate::introspect::primitive_hook);
                tulip_util::waiting::listen()
            }),
            eager: config.eager,
            hooks: (!config.hooks.is_empty()).then(|| Box::new(config.hooks.clone())),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Reports to the handler, containing a panic of the handler itself. The handler runs
    /// outside the lock, so it may replace itself.
    pub(crate) fn report(&self, report: &ExceptionContext<'_>) {
        let handler = self.handler();
        if catch_unwind(AssertUnwindSafe(|| handler(report))).is_err() {
            eprintln!("tulip: the exception handler panicked while reporting: {report}");
        }
    }

    /// The exception handler in use.
    pub(crate) fn handler(&self) -> ExceptionHandler {
        tulip_util::read(&self.handler).clone()
    }

    /// Replaces the exception handler; `None` puts the default one back.
    pub(crate) fn set_handler(&self, handler: Option<ExceptionHandler>) {
        *tulip_util::write(&self.handler) =
            handler.unwrap_or_else(crate::report::default_exception_handler);
    }

    /// Applies the never-retrieved rule and the unhandled-panic policy after a task panicked
    /// (the panic has been reported already).
    pub(crate) fn after_panic(&self, meta: &TaskMeta, payload: &(dyn std::any::Any + Send)) {
        if self.tracks_retrieval {
            let msg = crate::task::error::payload_message(payload).unwrap_or("(no message)");
            self.record_failure(meta, msg.to_owned());
            meta.check_never_retrieved(PANICKED);
        } else {
            meta.flags.fetch_or(PANICKED, Ordering::Relaxed);
        }
        match self.unhandled {
            UnhandledPanic::Log | UnhandledPanic::ShutdownIfUnobserved => {}
            UnhandledPanic::Abort => {
                eprintln!(
                    "tulip: aborting: task {} panicked (UnhandledPanic::Abort)",
                    meta.id
                );
                std::process::abort();
            }
            UnhandledPanic::ShutdownLoop => {
                let msg = crate::task::error::payload_message(payload).unwrap_or("(no message)");
                self.poison(format!("task {} panicked: {msg}", meta.id));
            }
        }
    }

    /// Stops the loop: the thread running `block_on` panics with `why` at its next check.
    fn poison(&self, why: String) {
        let mut p = lock(&self.poisoned);
        if p.is_none() {
            *p = Some(why);
        }
        self.is_poisoned.store(true, Ordering::SeqCst);
        drop(p);
        self.driver.unpark();
    }

    /// Remembers what a task failed with, for the never-retrieved report.
    pub(crate) fn record_failure(&self, meta: &TaskMeta, message: String) {
        if let Some(f) = &self.failures {
            lock(f).insert(meta.id, message);
        }
    }

    /// The task's outcome was taken: nothing to report about it.
    #[cold]
    pub(crate) fn forget_failure(&self, id: TaskId) {
        if let Some(f) = &self.failures {
            lock(f).remove(&id);
        }
    }

    /// A failed task's handle went away unread: report it (asyncio's "Task exception was
    /// never retrieved") and, for a panic under `ShutdownIfUnobserved`, stop the loop.
    #[cold]
    pub(crate) fn never_retrieved(&self, meta: &TaskMeta, panicked: bool) {
        let message = self
            .failures
            .as_ref()
            .and_then(|f| lock(f).remove(&meta.id))
            .unwrap_or_default();
        let mut r = meta.report(ReportKind::NeverRetrieved);
        let error = ErrorMessage(message.clone());
        if panicked {
            r.payload = Some(&message);
        } else {
            r.error = Some(&error);
        }
        self.report(&r);
        if panicked && self.unhandled == UnhandledPanic::ShutdownIfUnobserved {
            let who = match meta.name.as_deref() {
                Some(n) => format!("task {} '{n}'", meta.id),
                None => format!("task {}", meta.id),
            };
            self.poison(format!(
                "{who} (spawned at {}) panicked and nobody retrieved its panic: {message}",
                meta.location
            ));
        }
    }

    /// Panics (on the thread running `block_on`) if a task panic has stopped the loop.
    #[inline]
    pub(crate) fn check_poisoned(&self) {
        if self.is_poisoned.load(Ordering::Relaxed) {
            self.poisoned_panic();
        }
    }

    #[cold]
    fn poisoned_panic(&self) -> ! {
        let msg = lock(&self.poisoned).clone().unwrap_or_default();
        let policy = match self.unhandled {
            UnhandledPanic::ShutdownIfUnobserved => "ShutdownIfUnobserved",
            _ => "ShutdownLoop",
        };
        panic!("tulip: the loop stopped because {msg} (UnhandledPanic::{policy})");
    }

    /// Makes a task whose cancellation was just requested run again. An unregistered task is
    /// queued or running: it sees the flag when it next polls.
    pub(crate) fn wake_for_cancel(&self, meta: &TaskMeta, slot: u32) {
        if slot == NO_SLOT {
            return;
        }
        if let Some(w) = self.registry.waker(slot, meta) {
            w.wake();
        }
    }

    /// Registers a task with the waker that reaches it.
    ///
    /// # Safety
    ///
    /// `waker` must be a waker of the task whose header is `meta` (see `Registry::insert`).
    pub(crate) unsafe fn register(&self, meta: &TaskMeta, waker: std::task::Waker) {
        // SAFETY: passed on from our caller.
        let slot = unsafe { self.registry.insert(meta, waker) };
        // SeqCst: pairs with `Task::cancel` (see there).
        meta.slot.store(slot, Ordering::SeqCst);
    }

    /// Called when a task's future is dropped (finished or cancelled): it leaves the registry.
    ///
    /// A task that never registered (it finished in its first poll), outside debug mode, has
    /// nothing to undo: that check is inlined into the task's drop, the rest is not.
    #[inline]
    pub(crate) fn task_done(&self, meta: &TaskMeta) {
        // Only this task's own poll and drop write its slot, never concurrently.
        let slot = meta.slot.load(Ordering::Acquire);
        if slot != NO_SLOT || self.waiting.is_some() {
            self.leave_registry(meta, slot);
        }
    }

    /// [`task_done`](Self::task_done) for a registered task, or in debug mode.
    #[inline(never)]
    fn leave_registry(&self, meta: &TaskMeta, slot: u32) {
        if slot != NO_SLOT {
            meta.slot.store(NO_SLOT, Ordering::Release);
            self.registry.remove(slot, meta);
        }
        if let Some(w) = &self.waiting {
            lock(w).remove(&meta.id);
        }
    }
}
