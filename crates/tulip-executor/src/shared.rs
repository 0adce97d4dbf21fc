//! State shared by every flavour of executor: the driver seam, reporting, the registry of live
//! tasks, the watchdog's shared state, and spawning.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::Thread;
use std::time::Duration;

use async_task::{Runnable, ScheduleInfo, WithInfo};

use crate::context::capture_context;
use crate::introspect::{WaitingOn, SCHEDULED};
use crate::mt::MtShared;
use crate::registry::{lock, Registry};
use crate::report::{ExceptionContext, ExceptionHandler, ReportKind, UnhandledPanic};
use crate::st::StShared;
use crate::task_handle::{Task, TaskId, TaskMeta, NOT_PINNED, NO_SLOT, PANICKED};
use crate::wrapper::TaskFuture;

/// What the loop does when it has nothing to run: wait for I/O and timers (the reactor, in a
/// full tulip loop).
///
/// The executor calls `park(Some(Duration::ZERO), _)` every so many task polls (check without
/// blocking) and `park(None, _)` when it has nothing to run (block until an I/O event, a timer,
/// or [`unpark`](Driver::unpark)). In a multi-threaded executor one worker at a time parks in
/// the driver; the others sleep on their own parkers.
pub trait Driver: Send + Sync + 'static {
    /// Waits for events and wakes what they concern. `may_advance_time` is `false` while some
    /// other worker is still busy: a paused (virtual) clock must not jump then.
    fn park(&self, timeout: Option<Duration>, may_advance_time: bool);

    /// Interrupts a blocking [`park`](Driver::park) from any thread.
    fn unpark(&self);

    /// Whether time is virtual and paused (the executor then makes sure the last worker to go
    /// idle lets the driver advance it).
    fn time_is_paused(&self) -> bool {
        false
    }
}

/// A [`Driver`] for executors without I/O: blocks the parking thread until unparked.
#[derive(Debug, Default)]
pub struct ThreadDriver {
    /// The thread blocked in `park`, if any.
    parked: Mutex<Option<Thread>>,
    /// A pending unpark (consumed by the next park).
    notified: AtomicBool,
}

impl ThreadDriver {
    /// A new driver.
    pub fn new() -> ThreadDriver {
        ThreadDriver::default()
    }
}

impl Driver for ThreadDriver {
    fn park(&self, timeout: Option<Duration>, _may_advance_time: bool) {
        if timeout == Some(Duration::ZERO) {
            return;
        }
        *lock(&self.parked) = Some(std::thread::current());
        if !self.notified.swap(false, Ordering::SeqCst) {
            match timeout {
                Some(t) => std::thread::park_timeout(t),
                None => std::thread::park(),
            }
        }
        self.notified.store(false, Ordering::SeqCst);
        *lock(&self.parked) = None;
    }

    fn unpark(&self) {
        self.notified.store(true, Ordering::SeqCst);
        if let Some(t) = lock(&self.parked).as_ref() {
            t.unpark();
        }
    }
}

/// The scheduler half that differs by flavour.
pub(crate) enum Flavor {
    /// asyncio's single-threaded loop.
    St(StShared),
    /// Work-stealing workers.
    Mt(MtShared),
}

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
}

/// The parts of the executor configuration that [`Shared`] keeps.
pub(crate) struct SharedConfig {
    pub(crate) driver: Arc<dyn Driver>,
    pub(crate) handler: ExceptionHandler,
    pub(crate) unhandled: UnhandledPanic,
    pub(crate) debug: Option<Duration>,
    pub(crate) watchdog: Option<Duration>,
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
                let msg = crate::task_handle::payload_message(payload).unwrap_or("(no message)");
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
    pub(crate) fn register(&self, meta: &TaskMeta, waker: std::task::Waker) {
        let slot = self.registry.insert(meta, waker);
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

/// The blocked-loop detector's shared state: a coarse clock (`epoch`, advanced by the
/// watchdog thread every `tick`) and, per worker, the epoch at which its current poll began.
/// Publishing a poll costs a relaxed load and three relaxed stores: cheap enough to leave on.
pub(crate) struct Watchdog {
    epoch: AtomicU64,
    tick: Duration,
    threshold: Duration,
    busy: Box<[Busy]>,
}

/// One worker's current poll.
struct Busy {
    /// Epoch at which the poll began (0: idle).
    since: AtomicU64,
    /// The task polled (0: a callback or the main future).
    task: AtomicU64,
    /// Whether this poll has been reported already.
    reported: AtomicBool,
}

impl Watchdog {
    fn new(threshold: Duration, workers: usize) -> Watchdog {
        Watchdog {
            epoch: AtomicU64::new(1),
            tick: (threshold / 4).max(Duration::from_millis(1)),
            threshold,
            busy: (0..workers.max(1))
                .map(|_| Busy {
                    since: AtomicU64::new(0),
                    task: AtomicU64::new(0),
                    reported: AtomicBool::new(false),
                })
                .collect(),
        }
    }

    /// A poll (of task `task`, 0 for callbacks and the main future) begins on worker `slot`.
    pub(crate) fn start(&self, slot: usize, task: u64) {
        if let Some(b) = self.busy.get(slot) {
            b.task.store(task, Ordering::Relaxed);
            b.reported.store(false, Ordering::Relaxed);
            b.since
                .store(self.epoch.load(Ordering::Relaxed), Ordering::Release);
        }
    }

    /// The poll on worker `slot` ended.
    pub(crate) fn end(&self, slot: usize) {
        if let Some(b) = self.busy.get(slot) {
            b.since.store(0, Ordering::Release);
        }
    }
}

/// The watchdog thread: advances the epoch and reports polls that have run too long. It holds
/// only a weak reference and exits when the executor closes or goes away.
pub(crate) fn run_watchdog(shared: Weak<Shared>) {
    let Some(tick) = shared
        .upgrade()
        .and_then(|s| s.watchdog.as_ref().map(|w| w.tick))
    else {
        return;
    };
    loop {
        std::thread::sleep(tick);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.is_closed() {
            return;
        }
        let Some(w) = shared.watchdog.as_ref() else {
            return;
        };
        let now = w.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        for b in w.busy.iter() {
            let since = b.since.load(Ordering::Acquire);
            if since == 0 || now <= since {
                continue;
            }
            let ran = w.tick * u32::try_from(now - since).unwrap_or(u32::MAX);
            if ran >= w.threshold && !b.reported.swap(true, Ordering::AcqRel) {
                let id = b.task.load(Ordering::Relaxed);
                let known = shared.registry.with_task(id, |meta| {
                    let mut r = meta.report(ReportKind::Blocked);
                    r.duration = Some(ran);
                    shared.report(&r);
                });
                if known.is_none() {
                    let mut r = ExceptionContext::new(ReportKind::Blocked);
                    r.duration = Some(ran);
                    shared.report(&r);
                }
            }
        }
    }
}

/// async-task's schedule function for every task.
fn schedule(runnable: Runnable<TaskMeta>, info: ScheduleInfo) {
    runnable
        .metadata()
        .state
        .store(SCHEDULED, Ordering::Relaxed);
    if let Flavor::St(_) = runnable.metadata().shared.flavor {
        crate::st::schedule(runnable);
    } else {
        crate::mt::schedule(runnable, info.woken_while_running);
    }
}

fn new_meta(
    shared: &Arc<Shared>,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
    pinned: u32,
) -> TaskMeta {
    TaskMeta {
        id: TaskId::next(),
        name: name.map(Box::new),
        location,
        slot: AtomicUsize::new(NO_SLOT),
        shared: shared.clone(),
        pinned,
        polls: AtomicU32::new(0),
        state: AtomicU8::new(SCHEDULED),
        flags: AtomicU8::new(0),
    }
}

/// Spawns a `Send` future.
pub(crate) fn spawn_send<F>(
    shared: &Arc<Shared>,
    future: F,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let meta = new_meta(shared, name, location, NOT_PINNED);
    // The child starts with a copy of the spawner's task-local context.
    let context = capture_context();
    // SAFETY: the future is Send + 'static; the only borrow it holds is of the task's own
    // metadata, which async-task stores in the same allocation and drops after the future.
    // The schedule function is a plain fn (Send + Sync + 'static).
    let (runnable, task) = unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta| TaskFuture::new(meta, context, future),
            WithInfo(schedule),
        )
    };
    finish_spawn(shared, runnable, task)
}

/// Spawns a `!Send` future pinned to worker `pinned` of `shared`; the caller must be running
/// on that worker's thread.
pub(crate) fn spawn_pinned<F>(
    shared: &Arc<Shared>,
    pinned: u32,
    future: F,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let meta = new_meta(shared, name, location, pinned);
    let context = capture_context();
    // SAFETY: the future may be !Send, so its Runnable must be run and dropped on the thread of
    // worker `pinned` (the current thread). `schedule` only ever queues a pinned task where that
    // worker alone takes it (its own local queue, or its inbox, which only it drains), and
    // shutdown has each worker wake and drop its own pinned tasks on its own thread — waiting
    // for runnables still in flight from other threads — before it exits. The future borrows
    // only its own task's metadata, which outlives it.
    let (runnable, task) = unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta| TaskFuture::new(meta, context, future),
            WithInfo(schedule),
        )
    };
    finish_spawn(shared, runnable, task)
}

fn finish_spawn<T>(
    shared: &Arc<Shared>,
    runnable: Runnable<TaskMeta>,
    task: async_task::Task<crate::task_handle::Outcome<T>, TaskMeta>,
) -> Task<T> {
    // In debug mode every task is registered from the start, so `task::all()` and dumps list
    // tasks that have not run yet. Otherwise a task registers at its first `Pending`: until
    // then it sits in a run queue, where closing finds it anyway.
    if shared.debug.is_some() {
        shared.register(runnable.metadata(), runnable.waker());
    }
    if shared.is_closed() {
        // Dropping the runnable cancels the task; its handle reports Cancelled.
        drop(runnable);
    } else {
        match &shared.flavor {
            Flavor::St(_) => crate::st::schedule(runnable),
            Flavor::Mt(_) => crate::mt::push_spawned(runnable),
        }
    }
    Task::new(task)
}
