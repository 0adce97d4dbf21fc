//! State shared by every flavour of executor: the driver seam, panic reporting, the registry of
//! pending tasks, and spawning.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::thread::Thread;
use std::time::Duration;

use async_task::{Runnable, ScheduleInfo, WithInfo};

use crate::mt::MtShared;
use crate::st::StShared;
use crate::task::{payload_message, Task, TaskId, TaskMeta, NOT_PINNED, NO_SLOT};
use crate::wrapper::TaskFuture;

/// Locks a mutex, ignoring poisoning: no user code runs under the executor's locks.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

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

/// What happened when a task or callback panicked, for the loop's exception handler.
#[derive(Debug)]
pub struct PanicReport<'a> {
    /// The task's id (`None` for a callback).
    pub task_id: Option<TaskId>,
    /// The task's name, if any.
    pub task_name: Option<&'a str>,
    /// Where the task was spawned.
    pub location: Option<&'static Location<'static>>,
    /// What was running: `"task"`, `"task drop"` (a panic while a cancelled task's future was
    /// dropped) or `"callback"`.
    pub context: &'static str,
    /// The panic payload.
    pub payload: &'a (dyn std::any::Any + Send),
}

impl PanicReport<'_> {
    /// The panic message, when it is a string.
    pub fn message(&self) -> Option<&str> {
        payload_message(self.payload)
    }
}

impl fmt::Display for PanicReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.task_id, self.task_name) {
            (Some(id), Some(name)) => write!(f, "{} '{}' (id {})", self.context, name, id)?,
            (Some(id), None) => write!(f, "{} {}", self.context, id)?,
            _ => write!(f, "{}", self.context)?,
        }
        if let Some(loc) = self.location {
            write!(f, " spawned at {loc}")?;
        }
        match self.message() {
            Some(m) => write!(f, " panicked: {m}"),
            None => f.write_str(" panicked"),
        }
    }
}

/// Handler for panics caught in tasks and callbacks.
pub type PanicHandler = Arc<dyn Fn(&PanicReport<'_>) + Send + Sync>;

/// The default panic handler: one line on stderr.
pub fn default_panic_handler() -> PanicHandler {
    Arc::new(|report: &PanicReport<'_>| {
        eprintln!("tulip: {report}");
    })
}

/// Wakers of pending tasks, so that cancellation and shutdown can reach them.
#[derive(Default)]
pub(crate) struct Registry {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    len: usize,
}

/// One pending task.
pub(crate) struct Entry {
    pub(crate) id: TaskId,
    pub(crate) waker: Waker,
    /// The worker a `!Send` task is pinned to (`NOT_PINNED` otherwise).
    pub(crate) pinned: u32,
}

impl Registry {
    fn insert(&mut self, entry: Entry) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, slot: usize, id: TaskId) -> Option<Entry> {
        match self.slots.get_mut(slot) {
            Some(s) if s.as_ref().is_some_and(|e| e.id == id) => {
                let e = s.take();
                self.free.push(slot);
                self.len -= 1;
                e
            }
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
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
    /// Reports panics caught in tasks and callbacks.
    pub(crate) panic_handler: PanicHandler,
    /// Set when the executor closes; later spawns are cancelled at once.
    pub(crate) closed: AtomicBool,
    /// Number of live tasks (spawned, future not yet dropped).
    pub(crate) live: AtomicUsize,
    /// Pending tasks, sharded by task id.
    registry: Box<[Mutex<Registry>]>,
}

impl Shared {
    pub(crate) fn new(
        flavor: Flavor,
        driver: Arc<dyn Driver>,
        panic_handler: PanicHandler,
        shards: usize,
    ) -> Shared {
        Shared {
            flavor,
            driver,
            panic_handler,
            closed: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            registry: (0..shards.max(1))
                .map(|_| Mutex::new(Registry::default()))
                .collect(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Reports a panic to the handler, containing a panic of the handler itself.
    pub(crate) fn report(&self, report: &PanicReport<'_>) {
        if catch_unwind(AssertUnwindSafe(|| (self.panic_handler)(report))).is_err() {
            eprintln!("tulip: the exception handler panicked while reporting: {report}");
        }
    }

    fn shard_of(&self, id: TaskId) -> usize {
        (id.as_u64() as usize) % self.registry.len()
    }

    /// Registers a pending task; returns its slot.
    pub(crate) fn register(&self, id: TaskId, waker: Waker, pinned: u32) -> usize {
        let shard = self.shard_of(id);
        let idx = lock(&self.registry[shard]).insert(Entry { id, waker, pinned });
        idx * self.registry.len() + shard
    }

    /// Removes a task from the registry (its waker is dropped outside the lock).
    pub(crate) fn unregister(&self, slot: usize, id: TaskId) {
        let n = self.registry.len();
        let entry = lock(&self.registry[slot % n]).remove(slot / n, id);
        drop(entry);
    }

    /// Number of registered (pending) tasks.
    pub(crate) fn registered(&self) -> usize {
        self.registry.iter().map(|r| lock(r).len()).sum()
    }

    /// Wakers of registered tasks matching `filter` (cloned; woken by the caller).
    pub(crate) fn registered_wakers(&self, filter: impl Fn(&Entry) -> bool) -> Vec<Waker> {
        let mut out = Vec::new();
        for r in self.registry.iter() {
            out.extend(
                lock(r)
                    .entries()
                    .filter(|e| filter(e))
                    .map(|e| e.waker.clone()),
            );
        }
        out
    }

    /// Makes a task whose cancellation was just requested run again.
    pub(crate) fn wake_for_cancel(&self, id: TaskId, slot: usize) {
        if slot == NO_SLOT {
            // Not pending: it is queued or running, and checks its flag when it next polls.
            return;
        }
        let n = self.registry.len();
        let waker = {
            let reg = lock(&self.registry[slot % n]);
            match reg.slots.get(slot / n) {
                Some(Some(e)) if e.id == id => Some(e.waker.clone()),
                _ => None,
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Called when a task's future is dropped (finished or cancelled).
    pub(crate) fn task_done(&self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// async-task's schedule function for every task.
fn schedule(runnable: Runnable<TaskMeta>, info: ScheduleInfo) {
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
    // Balanced by `Shared::task_done` when the task's future is dropped, which happens exactly
    // once whether the task finishes, is cancelled, or is never run.
    shared.live.fetch_add(1, Ordering::Relaxed);
    TaskMeta {
        id: TaskId::next(),
        name,
        location,
        cancel_requested: AtomicBool::new(false),
        slot: AtomicUsize::new(NO_SLOT),
        pinned,
        shared: shared.clone(),
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
    // SAFETY: the future is Send + 'static; the only borrow it holds is of the task's own
    // metadata, which async-task stores in the same allocation and drops after the future.
    // The schedule function is a plain fn (Send + Sync + 'static).
    let (runnable, task) = unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta| TaskFuture::new(meta, future),
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
    // SAFETY: the future may be !Send, so its Runnable must be run and dropped on the thread of
    // worker `pinned` (the current thread). `schedule` only ever queues a pinned task where that
    // worker alone takes it (its own local queue, or its inbox, which only it drains), and
    // shutdown has each worker wake and drop its own pinned tasks on its own thread — waiting
    // for runnables still in flight from other threads — before it exits. The future borrows
    // only its own task's metadata, which outlives it.
    let (runnable, task) = unsafe {
        async_task::Builder::new().metadata(meta).spawn_unchecked(
            move |meta| TaskFuture::new(meta, future),
            WithInfo(schedule),
        )
    };
    finish_spawn(shared, runnable, task)
}

fn finish_spawn<T>(
    shared: &Arc<Shared>,
    runnable: Runnable<TaskMeta>,
    task: async_task::Task<crate::task::Outcome<T>, TaskMeta>,
) -> Task<T> {
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
