//! [`Shared`]: the state of one executor that every thread, every handle and every task
//! header reaches — its flavour's queues, the driver, reporting, the registry of tasks, and
//! whether it is closed or poisoned.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::driver::Driver;
use crate::hooks::TaskHooks;
use crate::introspect::WaitingOn;
use tulip_util::lock;

use crate::registry::Registry;
use crate::report::{ExceptionContext, ExceptionHandler, UnhandledPanic};
use crate::scheduler::Flavor;
use crate::task::meta::{TaskId, TaskMeta, NO_SLOT, PANICKED};
use crate::watchdog::Watchdog;

/// State shared by everything that refers to one executor: task headers, wakers, spawners.
pub(crate) struct Shared {
    pub(crate) flavor: Flavor,
    /// Waits for I/O and timers.
    pub(crate) driver: Arc<dyn Driver>,
    /// Reports panics and debug-mode findings.
    pub(crate) handler: ExceptionHandler,
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
    /// Whether tasks run their first step inside `spawn` by default.
    pub(crate) eager: bool,
    /// Task hooks; `None` when none is set (one branch per hook point).
    pub(crate) hooks: Option<Box<TaskHooks>>,
}

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
            handler: config.handler.clone(),
            unhandled: config.unhandled,
            debug: config.debug,
            watchdog: config.watchdog.map(|t| Watchdog::new(t, workers)),
            instrumented: config.debug.is_some() || config.watchdog.is_some(),
            closed: AtomicBool::new(false),
            poisoned: Mutex::new(None),
            is_poisoned: AtomicBool::new(false),
            registry: Registry::new(shards),
            waiting: config.debug.map(|_| Mutex::new(HashMap::new())),
            eager: config.eager,
            hooks: (!config.hooks.is_empty()).then(|| Box::new(config.hooks.clone())),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Reports to the handler, containing a panic of the handler itself.
    pub(crate) fn report(&self, report: &ExceptionContext<'_>) {
        if catch_unwind(AssertUnwindSafe(|| (self.handler)(report))).is_err() {
            eprintln!("tulip: the exception handler panicked while reporting: {report}");
        }
    }

    /// Applies debug mode's never-retrieved check and the unhandled-panic policy after a task
    /// panicked (the panic has been reported already).
    pub(crate) fn after_panic(&self, meta: &TaskMeta, payload: &(dyn std::any::Any + Send)) {
        if self.debug.is_some() {
            meta.check_never_retrieved(PANICKED);
        } else {
            meta.flags.fetch_or(PANICKED, Ordering::Relaxed);
        }
        match self.unhandled {
            UnhandledPanic::Log => {}
            UnhandledPanic::Abort => {
                eprintln!(
                    "tulip: aborting: task {} panicked (UnhandledPanic::Abort)",
                    meta.id
                );
                std::process::abort();
            }
            UnhandledPanic::ShutdownLoop => {
                let msg = crate::task::error::payload_message(payload).unwrap_or("(no message)");
                let mut p = lock(&self.poisoned);
                if p.is_none() {
                    *p = Some(format!("task {} panicked: {msg}", meta.id));
                }
                self.is_poisoned.store(true, Ordering::SeqCst);
                drop(p);
                self.driver.unpark();
            }
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
        panic!("tulip: the loop stopped because {msg} (UnhandledPanic::ShutdownLoop)");
    }

    /// Makes a task whose cancellation was just requested run again. An unregistered task is
    /// queued or running: it sees the flag when it next polls.
    pub(crate) fn wake_for_cancel(&self, meta: &TaskMeta, slot: usize) {
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
    #[inline]
    pub(crate) fn task_done(&self, meta: &TaskMeta) {
        // Only this task's own poll and drop write its slot, never concurrently.
        let slot = meta.slot.load(Ordering::Acquire);
        if slot != NO_SLOT {
            meta.slot.store(NO_SLOT, Ordering::Release);
            self.registry.remove(slot, meta);
        }
        if let Some(w) = &self.waiting {
            lock(w).remove(&meta.id);
        }
    }
}
