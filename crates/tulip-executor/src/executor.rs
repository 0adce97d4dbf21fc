//! The single-threaded executor: run queue, injector, registry, and the loop that drives them.
//!
//! # Invariants
//!
//! * Every task `Runnable` is run and dropped on the executor's own thread (the "loop
//!   thread"). Wakes on the loop thread push onto the local queue (no atomics, no locks); wakes
//!   from other threads go through the `injector` (a concurrent queue) and, only when the loop
//!   is parked, a notification of the driver ([`Park`]).
//! * A task whose future returned `Pending` has its waker in the loop's registry until its
//!   future is dropped; closing the executor wakes every registered task and drops every queued
//!   `Runnable`, which drops every future that has not finished — on the loop thread.
//! * The executor never touches a file descriptor: waiting is delegated to [`Park`].

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use async_task::Runnable;
use concurrent_queue::ConcurrentQueue;

use crate::task::{payload_message, Task, TaskId, TaskMeta, NO_SLOT};
use crate::wrapper::TaskFuture;

/// How many queue items run between two non-blocking checks of the driver (I/O and timers)
/// and of the injector. A task that is always ready cannot starve I/O for longer than this.
pub const BUDGET: u32 = 128;

thread_local! {
    /// The executor whose loop runs (or is entered) on this thread.
    static CURRENT: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
    /// Whether an executor loop is running on this thread (nested runs are refused).
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Whether an event loop is currently running on this thread.
pub fn in_loop() -> bool {
    RUNNING.with(Cell::get)
}

/// What the loop does when it has nothing to run: wait for I/O and timers.
///
/// The executor calls `park(Some(Duration::ZERO))` every [`BUDGET`] items (check without
/// blocking) and `park(None)` when its queues are empty (block until something happens, or
/// until [`Executor::new`]'s `unpark` callback is called from another thread).
pub trait Park {
    /// Waits for I/O events and timers and wakes what they concern; see the trait docs.
    fn park(&mut self, timeout: Option<Duration>);
}

/// A [`Park`] for executors without I/O: blocks the thread until unparked.
#[derive(Debug, Default)]
pub struct ThreadPark {
    _priv: (),
}

impl Park for ThreadPark {
    fn park(&mut self, timeout: Option<Duration>) {
        match timeout {
            Some(t) if t.is_zero() => {}
            Some(t) => std::thread::park_timeout(t),
            None => std::thread::park(),
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

/// Items from other threads.
enum Remote {
    Task(Runnable<TaskMeta>),
    Call(Box<dyn FnOnce() + Send>),
    Main,
}

/// Items of the local run queue.
enum Ready {
    Task(Runnable<TaskMeta>),
    Call(Box<dyn FnOnce()>),
    Main,
}

/// State shared with other threads (through wakers, task handles and spawners).
pub(crate) struct Shared {
    /// Items scheduled from other threads.
    injector: ConcurrentQueue<Remote>,
    /// True while the loop is (about to be) blocked in `Park::park(None)`.
    parked: AtomicBool,
    /// Interrupts the driver's blocking wait.
    unpark: Box<dyn Fn() + Send + Sync>,
    /// Set when the executor closes; later spawns are refused.
    closed: AtomicBool,
    /// Reports panics caught in tasks and callbacks.
    panic_handler: PanicHandler,
    /// Number of live tasks (spawned and not yet finished or dropped).
    live: AtomicUsize,
}

impl Shared {
    fn push_remote(&self, item: Remote) {
        if let Err(e) = self.injector.push(item) {
            // Only a closed queue refuses; the item is dropped here (it is Send by
            // construction of `Remote`, except task runnables, which `close` accounts for).
            drop(e.into_inner());
            return;
        }
        if self.parked.swap(false, Ordering::SeqCst) {
            (self.unpark)();
        }
    }

    /// Reports a panic to the handler, containing a panic of the handler itself.
    pub(crate) fn report(&self, report: &PanicReport<'_>) {
        if catch_unwind(AssertUnwindSafe(|| (self.panic_handler)(report))).is_err() {
            eprintln!("tulip: the exception handler panicked while reporting: {report}");
        }
    }

    /// Makes a task whose cancellation was just requested run again.
    pub(crate) fn wake_for_cancel(self: &Arc<Self>, id: TaskId, slot: usize) {
        let on_loop = with_local(self, |local| local.wake_registered(id, slot)).is_some();
        if !on_loop && slot != NO_SLOT {
            let me = self.clone();
            self.push_remote(Remote::Call(Box::new(move || {
                with_local(&me, |local| local.wake_registered(id, slot));
            })));
        }
    }
}

/// Runs `f` with this thread's executor if it is the one owning `shared`.
fn with_local<R>(shared: &Arc<Shared>, f: impl FnOnce(&Local) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| {
            let cur = c.try_borrow().ok()?;
            let local = cur.as_ref()?;
            if Arc::ptr_eq(&local.shared, shared) {
                Some(f(local))
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// async-task's schedule function for every task.
pub(crate) fn schedule(runnable: Runnable<TaskMeta>) {
    let shared = runnable.metadata().shared.clone();
    let mut runnable = Some(runnable);
    with_local(&shared, |local| {
        if let Some(r) = runnable.take() {
            local.queue.borrow_mut().push_back(Ready::Task(r));
        }
    });
    if let Some(r) = runnable {
        shared.push_remote(Remote::Task(r));
    }
}

/// Loop-thread state.
pub(crate) struct Local {
    pub(crate) shared: Arc<Shared>,
    /// The run queue (FIFO, as asyncio's ready queue).
    queue: RefCell<VecDeque<Ready>>,
    /// Wakers of pending tasks: slot -> (task id, waker).
    registry: RefCell<Registry>,
}

/// A slab of wakers of pending tasks.
#[derive(Default)]
struct Registry {
    slots: Vec<Option<(TaskId, Waker)>>,
    free: Vec<usize>,
    len: usize,
}

impl Registry {
    fn insert(&mut self, id: TaskId, waker: Waker) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some((id, waker));
                i
            }
            None => {
                self.slots.push(Some((id, waker)));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, slot: usize, id: TaskId) -> Option<Waker> {
        match self.slots.get_mut(slot) {
            Some(s @ Some(_)) if s.as_ref().is_some_and(|(i, _)| *i == id) => {
                let (_, w) = s.take()?;
                self.free.push(slot);
                self.len -= 1;
                Some(w)
            }
            _ => None,
        }
    }
}

impl Local {
    /// Registers a pending task's waker; returns the slot.
    pub(crate) fn register(&self, id: TaskId, waker: Waker) -> usize {
        self.registry.borrow_mut().insert(id, waker)
    }

    /// Removes a task from the registry.
    pub(crate) fn unregister(&self, slot: usize, id: TaskId) {
        let waker = self.registry.borrow_mut().remove(slot, id);
        drop(waker);
    }

    fn wake_registered(&self, id: TaskId, slot: usize) {
        let waker = {
            let reg = self.registry.borrow();
            match reg.slots.get(slot) {
                Some(Some((i, w))) if *i == id => Some(w.clone()),
                _ => None,
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn pop(&self) -> Option<Ready> {
        self.queue.borrow_mut().pop_front()
    }

    /// Moves everything from the injector to the local queue.
    fn drain_injector(&self) -> usize {
        let mut n = 0;
        while let Ok(item) = self.shared.injector.pop() {
            let item = match item {
                Remote::Task(r) => Ready::Task(r),
                Remote::Call(f) => Ready::Call(f),
                Remote::Main => Ready::Main,
            };
            self.queue.borrow_mut().push_back(item);
            n += 1;
        }
        n
    }
}

/// Runs `f` with the current executor's local state.
pub(crate) fn with_current_local<R>(f: impl FnOnce(&Local) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| {
            c.try_borrow()
                .ok()
                .and_then(|cur| cur.as_ref().map(|l| f(l)))
        })
        .ok()
        .flatten()
}

/// The waker of the future passed to [`Executor::block_on`].
struct MainWake {
    /// True while a `Ready::Main` item is queued (or the main future is being polled).
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut pushed = false;
        with_local(&self.shared, |local| {
            local.queue.borrow_mut().push_back(Ready::Main);
            pushed = true;
        });
        if !pushed {
            self.shared.push_remote(Remote::Main);
        }
    }
}

/// Configuration of an [`Executor`].
pub struct ExecutorConfig {
    /// Interrupts the driver's blocking `park(None)` from another thread.
    pub unpark: Box<dyn Fn() + Send + Sync>,
    /// Reports panics caught in tasks and callbacks.
    pub panic_handler: PanicHandler,
}

impl fmt::Debug for ExecutorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorConfig").finish_non_exhaustive()
    }
}

/// A single-threaded executor: the task half of a tulip event loop.
///
/// It runs tasks and callbacks in FIFO order on the thread that owns it, and asks a [`Park`]
/// implementation (the reactor, in a full loop) to wait when nothing is ready. It is `!Send`:
/// the loop belongs to its thread. Other threads reach it through [`Spawner`].
///
/// # Examples
///
/// ```
/// use tulip_executor::{Executor, ThreadPark};
///
/// let thread = std::thread::current();
/// let ex = Executor::new(move || thread.unpark());
/// let out = ex.block_on(async {
///     let t = tulip_executor::spawn(async { 1 + 1 });
///     t.await.unwrap()
/// }, &mut ThreadPark::default());
/// assert_eq!(out, 2);
/// ```
pub struct Executor {
    local: Rc<Local>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("queued", &self.local.queue.borrow().len())
            .field(
                "live_tasks",
                &self.local.shared.live.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// A new executor; `unpark` must interrupt the [`Park`] implementation's blocking wait.
    pub fn new(unpark: impl Fn() + Send + Sync + 'static) -> Executor {
        Executor::with_config(ExecutorConfig {
            unpark: Box::new(unpark),
            panic_handler: default_panic_handler(),
        })
    }

    /// A new executor with the given configuration.
    pub fn with_config(config: ExecutorConfig) -> Executor {
        let shared = Arc::new(Shared {
            injector: ConcurrentQueue::unbounded(),
            parked: AtomicBool::new(false),
            unpark: config.unpark,
            closed: AtomicBool::new(false),
            panic_handler: config.panic_handler,
            live: AtomicUsize::new(0),
        });
        Executor {
            local: Rc::new(Local {
                shared,
                queue: RefCell::new(VecDeque::new()),
                registry: RefCell::new(Registry::default()),
            }),
        }
    }

    /// Makes this the current executor on this thread until the guard drops (so `spawn` and
    /// `spawn_local` reach it).
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.replace(Some(self.local.clone())));
        EnterGuard { prev: Some(prev) }
    }

    /// A handle that spawns onto this executor from any thread.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            shared: self.local.shared.clone(),
        }
    }

    /// Number of tasks spawned and not yet finished.
    pub fn live_tasks(&self) -> usize {
        self.local.shared.live.load(Ordering::Acquire)
    }

    /// Number of items waiting in the run queue.
    pub fn queued(&self) -> usize {
        self.local.queue.borrow().len() + self.local.shared.injector.len()
    }

    /// Queues a callback to run in FIFO order with tasks (asyncio's `call_soon`).
    pub fn call_soon(&self, f: Box<dyn FnOnce()>) {
        self.local.queue.borrow_mut().push_back(Ready::Call(f));
    }

    /// Whether [`close`](Self::close) has run.
    pub fn is_closed(&self) -> bool {
        self.local.shared.closed.load(Ordering::Acquire)
    }

    /// Runs the loop until `future` completes, polling it in place (it is not spawned) in FIFO
    /// turn with tasks and callbacks.
    ///
    /// Tasks still pending when `future` completes stay in the executor: a later `block_on`
    /// continues them, and [`close`](Self::close) cancels them.
    ///
    /// # Panics
    ///
    /// Panics if a loop already runs on this thread, and propagates a panic of `future`
    /// itself (panics of tasks are caught and reported).
    pub fn block_on<F: Future>(&self, future: F, park: &mut dyn Park) -> F::Output {
        assert!(
            !in_loop(),
            "cannot start a tulip event loop from inside a running event loop \
             (await the future instead, or use spawn)"
        );
        let _enter = self.enter();
        let _running = RunningGuard::set();
        let local = &*self.local;
        let shared = &*local.shared;

        let main = Arc::new(MainWake {
            queued: AtomicBool::new(true),
            shared: local.shared.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        local.queue.borrow_mut().push_back(Ready::Main);

        let mut ticks: u32 = 0;
        loop {
            let item = match local.pop() {
                Some(item) => Some(item),
                None => {
                    if local.drain_injector() > 0 {
                        local.pop()
                    } else {
                        None
                    }
                }
            };
            match item {
                Some(Ready::Main) => {
                    main.queued.store(false, Ordering::Release);
                    if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                        return v;
                    }
                }
                Some(Ready::Task(runnable)) => {
                    runnable.run();
                }
                Some(Ready::Call(f)) => run_callback(shared, f),
                None => {
                    // Idle: park until I/O, a timer or a remote wake.
                    shared.parked.store(true, Ordering::SeqCst);
                    if !shared.injector.is_empty() {
                        shared.parked.store(false, Ordering::SeqCst);
                        continue;
                    }
                    park.park(None);
                    shared.parked.store(false, Ordering::SeqCst);
                    ticks = 0;
                    continue;
                }
            }
            ticks += 1;
            if ticks >= BUDGET {
                ticks = 0;
                local.drain_injector();
                park.park(Some(Duration::ZERO));
            }
        }
    }

    /// Cancels every task: wakes each pending task and drops every queued item, so every
    /// unfinished future is dropped (on this thread). Awaiting a cancelled task gives
    /// `Err(JoinError::Cancelled)`. Spawning afterwards is refused.
    pub fn close(&self) {
        let local = &*self.local;
        local.shared.closed.store(true, Ordering::SeqCst);
        let _enter = self.enter();
        let mut spins = 0u32;
        loop {
            let wakers: Vec<Waker> = local
                .registry
                .borrow()
                .slots
                .iter()
                .flatten()
                .map(|(_, w)| w.clone())
                .collect();
            for w in wakers {
                w.wake();
            }
            let mut dropped = 0usize;
            loop {
                let item = local.pop().or_else(|| {
                    local.drain_injector();
                    local.pop()
                });
                match item {
                    Some(item) => {
                        drop(item);
                        dropped += 1;
                    }
                    None => break,
                }
            }
            if local.registry.borrow().len == 0 {
                break;
            }
            if dropped == 0 {
                // A task woken from another thread is on its way into the injector.
                spins += 1;
                if spins > 64 {
                    std::thread::yield_now();
                }
                std::hint::spin_loop();
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if !self.is_closed() {
            self.close();
        }
        // Stay closed for remote spawners: close the injector so late pushes are refused.
        self.local.shared.injector.close();
        while let Ok(item) = self.local.shared.injector.pop() {
            drop(item);
        }
    }
}

fn run_callback(shared: &Shared, f: Box<dyn FnOnce()>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        shared.report(&PanicReport {
            task_id: None,
            task_name: None,
            location: None,
            context: "callback",
            payload: &*payload,
        });
    }
}

/// Marks the thread as running a loop.
struct RunningGuard;

impl RunningGuard {
    fn set() -> RunningGuard {
        RUNNING.with(|r| r.set(true));
        RunningGuard
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let _ = RUNNING.try_with(|r| r.set(false));
    }
}

/// Restores the previously entered executor when dropped (see [`Executor::enter`]).
#[must_use = "the executor is only entered while the guard lives"]
pub struct EnterGuard {
    prev: Option<Option<Rc<Local>>>,
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            let _ = CURRENT.try_with(|c| c.replace(prev));
        }
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
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
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
        if self.shared.closed.load(Ordering::Acquire) {
            return false;
        }
        self.shared.push_remote(Remote::Call(f));
        true
    }

    /// Queues a `!Send` callback on the executor's own thread (asyncio's `call_soon`).
    ///
    /// # Errors
    ///
    /// Hands the callback back when called from a thread that is not running (or has not
    /// entered) this executor, or after it closed.
    pub fn call_soon_local(&self, f: Box<dyn FnOnce()>) -> Result<(), Box<dyn FnOnce()>> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(f);
        }
        let mut f = Some(f);
        with_local(&self.shared, |local| {
            if let Some(f) = f.take() {
                local.queue.borrow_mut().push_back(Ready::Call(f));
            }
        });
        match f {
            None => Ok(()),
            Some(f) => Err(f),
        }
    }

    /// Whether the executor has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Whether two spawners reach the same executor.
    pub fn same_executor(&self, other: &Spawner) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The spawner of the executor entered on this thread, if any.
    pub fn current() -> Option<Spawner> {
        with_current_local(|l| Spawner {
            shared: l.shared.clone(),
        })
    }
}

fn new_meta(
    shared: &Arc<Shared>,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
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
        shared: shared.clone(),
    }
}

/// Spawns a `Send` future onto `shared`'s executor.
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
    let meta = new_meta(shared, name, location);
    // SAFETY: the future is Send + 'static; the only borrow it holds is of the task's own
    // metadata, which async-task stores in the same allocation and drops after the future.
    // The schedule function is a plain fn (Send + Sync + 'static).
    let (runnable, task) = unsafe {
        async_task::Builder::new()
            .metadata(meta)
            .spawn_unchecked(move |meta| TaskFuture::new(meta, future), schedule)
    };
    finish_spawn(shared, runnable, task)
}

/// Spawns a `!Send` future onto the executor of this thread.
pub(crate) fn spawn_local_on<F>(
    local: &Local,
    future: F,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let meta = new_meta(&local.shared, name, location);
    // SAFETY: the future may be !Send, so its Runnable must be run and dropped on this thread:
    // `schedule` only runs it from the loop that owns `local` (remote wakes go through the
    // injector, which only this loop drains), and `Executor::close` drops every unfinished
    // Runnable on this thread (waiting for ones in flight from other threads) before the
    // executor goes away. The future borrows only its own task's metadata, which outlives it.
    let (runnable, task) = unsafe {
        async_task::Builder::new()
            .metadata(meta)
            .spawn_unchecked(move |meta| TaskFuture::new(meta, future), schedule)
    };
    finish_spawn(&local.shared, runnable, task)
}

fn finish_spawn<T>(
    shared: &Arc<Shared>,
    runnable: Runnable<TaskMeta>,
    task: async_task::Task<crate::task::Outcome<T>, TaskMeta>,
) -> Task<T> {
    if shared.closed.load(Ordering::Acquire) {
        // Dropping the runnable cancels the task; its handle reports Cancelled.
        drop(runnable);
    } else {
        runnable.schedule();
    }
    Task::new(task)
}

impl Shared {
    /// Called when a task's future is dropped (finished or cancelled).
    pub(crate) fn task_done(&self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Spawns a `Send` task on the current event loop (asyncio's `create_task`).
///
/// The task starts at the loop's next turn, in FIFO order. Dropping the returned [`Task`]
/// detaches it (it keeps running).
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
    let location = Location::caller();
    let shared = with_current_local(|l| l.shared.clone()).unwrap_or_else(|| no_loop("spawn"));
    spawn_send(&shared, future, None, location)
}

/// Spawns a `!Send` task on the current event loop; it always runs on this thread.
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
    let location = Location::caller();
    with_current_local(|l| spawn_local_on(l, future, None, location))
        .unwrap_or_else(|| no_loop("spawn_local"))
}

#[track_caller]
pub(crate) fn no_loop(what: &str) -> ! {
    panic!("tulip::{what} called outside a running tulip event loop (start one with tulip::run)")
}

/// Runs a future to completion on a fresh executor without I/O; for doc examples.
#[doc(hidden)]
pub fn doc_block_on<F: Future>(future: F) -> F::Output {
    let thread = std::thread::current();
    let ex = Executor::new(move || thread.unpark());
    ex.block_on(future, &mut ThreadPark::default())
}
