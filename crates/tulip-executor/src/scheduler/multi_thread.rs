//! The multi-threaded, work-stealing scheduler.
//!
//! # Layout
//!
//! Worker 0 is the thread that calls `block_on` (it also polls the main future); workers
//! `1..n` are threads the executor spawns. Each worker has:
//!
//! - a bounded, stealable FIFO `queue` of `Send` tasks (a [`ring`]: only its
//!   worker pushes, with a plain store; its worker pops and thieves steal half with a
//!   compare-and-swap), overflowing half of itself into the global `injector` when full;
//! - a thread-local LIFO slot: a task woken by the running task (a message reply) runs next,
//!   while its data is hot; at most [`LIFO_STREAK`] times in a row, so others are not starved.
//!   Only this worker takes it, so filling an empty slot wakes no other worker;
//! - a thread-local `pinned` deque for `!Send` tasks spawned on this worker (`spawn_local`),
//!   local callbacks and the main future, and an `inbox` through which other threads send
//!   those back to it.
//!
//! # Finding work and parking
//!
//! A worker takes, in order: every [`FAIRNESS`] turns the injector and inbox first (and a
//! non-blocking look at I/O and timers); the LIFO slot; its pinned deque; its queue; its inbox;
//! a batch from the injector; half of a random victim's queue. With nothing found it registers
//! as a sleeper *then* checks everything again (so a producer that pushes and then reads the
//! sleeper count cannot miss it), and parks: in the driver (the reactor: epoll) if no other
//! worker is there, on its own thread parker otherwise.
//!
//! Waking is one worker at a time: a producer wakes a sleeper only when no worker is already
//! searching; a searching worker that finds work wakes the next one if it was the last
//! searcher. The woken worker is marked searching by its waker.
//!
//! # Invariants
//!
//! * A task pinned to worker `w` (`spawn_local`) is only ever queued where worker `w` alone
//!   takes it (its pinned deque or its inbox), so it is run and dropped on `w`'s thread.
//! * Shutdown: `closed` is set and every worker woken; each spawned worker drops its own pinned
//!   tasks on its own thread (waking registered ones so they come back to it, and waiting for
//!   runnables in flight) and exits; then the calling thread does the same for worker 0, joins
//!   the workers, and drops every remaining (`Send`) task until the registry is empty.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use async_task::Runnable;
use concurrent_queue::ConcurrentQueue;

use crate::current::{self, with_ctx, Ctx, RunningGuard};
use crate::executor::shared::Shared;
use crate::registry::Entry;
use crate::scheduler::idle::{DriverPark, Idle};
use crate::scheduler::ring;
use crate::scheduler::seeded::{self, SeededRng};
use crate::scheduler::{drain_on_close, run_callback, Flavor, MainWake, Remote as Item};
use crate::task::meta::{TaskMeta, NOT_PINNED};
use crate::task_local::MainLocals;

/// Capacity of a worker's stealable queue: 8 KiB of pointers. 1 024 rather than 256 because a
/// task that overflows to the injector tends to come back on the other worker, where its state
/// word misses the cache: 1 000 yielding tasks on two workers ran 36 ns per yield with 256
/// slots and 28 with 1 024 (docs/benchmarks.md, issue 22).
const LOCAL_CAP: usize = 1024;
/// Every this many turns a worker looks at the injector and its inbox first, and at I/O.
pub(crate) const FAIRNESS: u32 = 61;
/// How many times in a row the LIFO slot may pre-empt the queue.
const LIFO_STREAK: u32 = 3;

/// Items of a worker's thread-local pinned deque.
pub(crate) enum LocalItem {
    Task(Runnable<TaskMeta>),
    Call(Box<dyn FnOnce()>),
    SendCall(Box<dyn FnOnce() + Send>),
    Main,
}

impl From<Item> for LocalItem {
    fn from(item: Item) -> LocalItem {
        match item {
            Item::Task(r) => LocalItem::Task(r),
            Item::Call(f) => LocalItem::SendCall(f),
            Item::Main => LocalItem::Main,
        }
    }
}

/// What other threads see of one worker.
struct WorkerShared {
    /// Stealable queue of `Send` tasks (the thieves' side of the worker's ring).
    queue: ring::Stealer<Runnable<TaskMeta>>,
    /// The owner's side of that ring, until the worker's thread takes it.
    owner: std::sync::Mutex<Option<ring::Local<Runnable<TaskMeta>>>>,
    /// Pinned tasks, the main future and local work sent from other threads.
    inbox: ConcurrentQueue<Item>,
}

/// The shared part of a multi-threaded executor.
pub(crate) struct MtShared {
    workers: Box<[WorkerShared]>,
    /// `Send` tasks and callbacks from outside the workers, and overflow.
    injector: ConcurrentQueue<Item>,
    /// Sleeping and waking workers.
    idle: Idle,
}

impl MtShared {
    pub(crate) fn new(workers: usize) -> MtShared {
        MtShared {
            workers: (0..workers.max(1))
                .map(|_| {
                    let (owner, queue) = ring::new(LOCAL_CAP);
                    WorkerShared {
                        queue,
                        owner: std::sync::Mutex::new(Some(owner)),
                        inbox: ConcurrentQueue::unbounded(),
                    }
                })
                .collect(),
            injector: ConcurrentQueue::unbounded(),
            idle: Idle::new(workers.max(1)),
        }
    }

    fn n(&self) -> usize {
        self.workers.len()
    }

    /// Wakes one sleeping worker, unless one is already searching for work.
    fn notify_one(&self, shared: &Shared) {
        self.idle.notify_one(&DriverOf(shared));
    }

    /// Queues a `Send` item from a thread that is not one of our workers.
    fn push_injector(&self, shared: &Shared, item: Item) {
        if let Err(e) = self.injector.push(item) {
            drop(e.into_inner());
            return;
        }
        self.notify_one(shared);
    }

    /// Sends an item to worker `i`'s inbox and wakes it.
    fn push_inbox(&self, shared: &Shared, i: usize, item: Item) {
        if let Err(e) = self.workers[i].inbox.push(item) {
            drop(e.into_inner());
            return;
        }
        self.idle.wake_worker(i, &DriverOf(shared));
    }
}

/// Number of workers of a multi-threaded executor.
pub(crate) fn worker_count(shared: &Shared) -> usize {
    mt(shared).n()
}

/// The executor's driver as the idle protocol sees it.
struct DriverOf<'a>(&'a Shared);

impl DriverPark for DriverOf<'_> {
    fn park(&self, may_advance_time: bool) {
        self.0.driver.park(None, may_advance_time);
    }

    fn unpark(&self) {
        self.0.driver.unpark();
    }

    fn idle_wanted(&self) -> bool {
        self.0.idle.wanted()
    }

    fn wake_idle_waiters(&self) -> bool {
        self.0.idle.wake_all()
    }

    fn time_is_paused(&self) -> bool {
        self.0.driver.time_is_paused()
    }
}

fn mt(shared: &Shared) -> &MtShared {
    match &shared.flavor {
        Flavor::Mt(mt) => mt,
        Flavor::St(_) => unreachable!("multi-threaded scheduler on a single-threaded executor"),
    }
}

/// Thread-local state of one worker.
pub(crate) struct WorkerLocal {
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
    /// The owner's side of this worker's ring (`me().queue` is the thieves' side).
    queue: ring::Local<Runnable<TaskMeta>>,
    lifo: Cell<Option<Runnable<TaskMeta>>>,
    lifo_streak: Cell<u32>,
    pinned: RefCell<VecDeque<LocalItem>>,
    tick: Cell<u32>,
    rng: Cell<u64>,
    /// Whether this worker was woken to search and has not found work yet.
    searching: Cell<bool>,
    /// With a seed: what makes this worker's scheduling choices (see `seeded.rs`).
    seeded: Option<SeededRng>,
}

impl WorkerLocal {
    fn new(shared: Arc<Shared>, index: usize, seed: Option<u64>) -> WorkerLocal {
        let seeded = seed.map(|s| SeededRng::new(s, index as u64));
        let queue = tulip_util::lock(&mt(&shared).workers[index].owner)
            .take()
            .expect("one WorkerLocal per worker");
        WorkerLocal {
            shared,
            index,
            queue,
            lifo: Cell::new(None),
            lifo_streak: Cell::new(0),
            pinned: RefCell::new(VecDeque::new()),
            tick: Cell::new(0),
            // xorshift's state must not be zero; `mix` of a nonzero value is nonzero.
            rng: Cell::new(match &seeded {
                None => 0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1),
                Some(r) => r.next_u64() | 1,
            }),
            searching: Cell::new(false),
            seeded,
        }
    }

    fn me(&self) -> &WorkerShared {
        &mt(&self.shared).workers[self.index]
    }

    fn next_rand(&self) -> usize {
        // xorshift64*
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize
    }

    /// Pushes a `Send` task at the back of this worker's queue (overflowing into the injector).
    #[inline]
    fn push_back(&self, r: Runnable<TaskMeta>) {
        // Full: half of the queue, then this task, go to the injector.
        self.queue.push_back(r, |t| {
            let _ = mt(&self.shared).injector.push(Item::Task(t));
        });
    }

    /// Puts a woken task in the LIFO slot (its previous occupant goes to the queue); returns
    /// whether it displaced one.
    fn push_lifo(&self, r: Runnable<TaskMeta>) -> bool {
        match self.lifo.replace(Some(r)) {
            Some(prev) => {
                self.push_back(prev);
                true
            }
            None => false,
        }
    }

    pub(crate) fn call_soon(&self, f: Box<dyn FnOnce()>) {
        self.pinned.borrow_mut().push_back(LocalItem::Call(f));
    }

    fn drain_inbox(&self) {
        let me = self.me();
        if me.inbox.is_empty() {
            return;
        }
        let mut pinned = self.pinned.borrow_mut();
        while let Ok(item) = me.inbox.pop() {
            pinned.push_back(item.into());
        }
    }

    /// The next thing to run, if any.
    fn next(&self) -> Option<LocalItem> {
        let mt = mt(&self.shared);
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % FAIRNESS == 0 {
            self.drain_inbox();
            if let Ok(item) = mt.injector.pop() {
                return Some(item.into());
            }
            mt.idle
                .try_with_driver(|| self.shared.driver.park(Some(Duration::ZERO), false));
        }
        if let Some(r) = self.lifo.take() {
            if self.lifo_streak.get() < LIFO_STREAK {
                self.lifo_streak.set(self.lifo_streak.get() + 1);
                return Some(LocalItem::Task(r));
            }
            self.push_back(r);
        }
        self.lifo_streak.set(0);
        if let Some(item) = self.pop_pinned() {
            return Some(item);
        }
        if let Some(r) = self.pop_queue() {
            return Some(LocalItem::Task(r));
        }
        self.drain_inbox();
        if let Some(item) = self.pop_pinned() {
            return Some(item);
        }
        if let Ok(item) = mt.injector.pop() {
            // Take a batch while we are at it.
            let batch = (mt.injector.len() / mt.n()).min(LOCAL_CAP / 2);
            for _ in 0..batch {
                match mt.injector.pop() {
                    Ok(Item::Task(r)) => self.push_back(r),
                    Ok(other) => {
                        let _ = mt.injector.push(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            return Some(item.into());
        }
        self.steal()
    }

    /// The next item of the pinned deque: its front, or with a seed one of its first ones
    /// (callbacks keep their FIFO order).
    #[inline]
    fn pop_pinned(&self) -> Option<LocalItem> {
        let mut pinned = self.pinned.borrow_mut();
        match &self.seeded {
            None => pinned.pop_front(),
            Some(rng) => rng.pop(&mut pinned, |item| {
                matches!(item, LocalItem::Call(_) | LocalItem::SendCall(_))
            }),
        }
    }

    /// The next task of this worker's stealable queue: its front, or with a seed the front
    /// after a seeded rotation (the queue is a concurrent FIFO, so the seeded choice moves the
    /// tasks it skips to the back).
    #[inline]
    fn pop_queue(&self) -> Option<Runnable<TaskMeta>> {
        let r = self.queue.pop()?;
        match &self.seeded {
            None => Some(r),
            Some(rng) => self.rotate_seeded(rng, r),
        }
    }

    #[cold]
    #[inline(never)]
    fn rotate_seeded(
        &self,
        rng: &SeededRng,
        mut r: Runnable<TaskMeta>,
    ) -> Option<Runnable<TaskMeta>> {
        let skip = rng.below((self.queue.len() + 1).min(seeded::WINDOW));
        for _ in 0..skip {
            // Only this worker pushes to its queue, and it just popped: there is room (or, with
            // a thief at work, the task overflows to the injector, which is just as fair).
            self.push_back(r);
            // `None`: thieves took everything meanwhile (they run it).
            r = self.queue.pop()?;
        }
        Some(r)
    }

    /// Takes half of a random victim's queue.
    fn steal(&self) -> Option<LocalItem> {
        let mt = mt(&self.shared);
        let n = mt.n();
        if n == 1 {
            return None;
        }
        let start = self.next_rand() % n;
        for k in 0..n {
            let v = (start + k) % n;
            if v == self.index {
                continue;
            }
            if let Some(r) = mt.workers[v].queue.steal_into(&self.queue) {
                return Some(LocalItem::Task(r));
            }
        }
        None
    }

    /// Whether anything is runnable for this worker.
    fn has_work(&self) -> bool {
        let mt = mt(&self.shared);
        // Peek at the LIFO slot: take the value out and put it back.
        let lifo = self.lifo.take();
        let has_lifo = lifo.is_some();
        self.lifo.set(lifo);
        has_lifo
            || !self.pinned.borrow().is_empty()
            || !self.me().inbox.is_empty()
            || !mt.injector.is_empty()
            || mt.workers.iter().any(|w| !w.queue.is_empty())
    }

    /// Stops searching (found work); wakes another searcher if this was the last one.
    fn found_work(&self) {
        mt(&self.shared)
            .idle
            .found_work(&self.searching, &DriverOf(&self.shared));
    }

    /// Sleeps until woken (or until the driver reports events, for the driving worker).
    fn park(&self) {
        let shared = &*self.shared;
        mt(shared).idle.park(
            self.index,
            &self.searching,
            &|| self.has_work(),
            &|| shared.is_closed(),
            &DriverOf(shared),
        );
    }

    /// Runs work until `poll_main` reports completion or the executor closes.
    fn run(&self, poll_main: &mut dyn FnMut() -> bool) -> bool {
        let shared = &*self.shared;
        current::set_worker_index(self.index);
        loop {
            if shared.is_closed() {
                return false;
            }
            if self.index == 0 {
                shared.check_poisoned();
            }
            match self.next() {
                Some(item) => {
                    self.found_work();
                    match item {
                        LocalItem::Task(r) => {
                            r.run();
                        }
                        LocalItem::Call(f) => run_callback(shared, self.index, f),
                        LocalItem::SendCall(f) => run_callback(shared, self.index, f),
                        LocalItem::Main => {
                            if let Some(w) = &shared.watchdog {
                                w.start(self.index, 0);
                            }
                            let done = poll_main();
                            if let Some(w) = &shared.watchdog {
                                w.end(self.index);
                            }
                            if done {
                                return true;
                            }
                        }
                    }
                }
                None => self.park(),
            }
        }
    }

    /// On shutdown, on this worker's thread: drop every task pinned to this worker.
    fn drop_pinned(&self) {
        let shared = &*self.shared;
        let idx = self.index as u32;
        let mine = |e: &Entry| e.meta().pinned == idx;
        let drain = || {
            self.drain_inbox();
            let mut dropped = 0;
            loop {
                let item = self.pinned.borrow_mut().pop_front();
                match item {
                    Some(item) => {
                        drop(item);
                        dropped += 1;
                    }
                    None => break,
                }
                self.drain_inbox();
            }
            dropped
        };
        drain_on_close(shared, mine, drain, |_| shared.registry.count(mine) == 0);
        // Send tasks left in the LIFO slot go where the closing thread will find them.
        if let Some(r) = self.lifo.take() {
            let _ = mt(shared).injector.push(Item::Task(r));
        }
        if self.index != 0 {
            self.me().inbox.close();
        }
    }
}

/// Schedules a woken task of a multi-threaded executor.
pub(crate) fn schedule(runnable: Runnable<TaskMeta>, woken_while_running: bool) {
    let pinned = runnable.metadata().pinned;
    let mut runnable = Some(runnable);
    with_ctx(|ctx| {
        let Some(Ctx::Mt(w)) = ctx else { return };
        let r = runnable.as_ref().expect("present");
        if !Arc::ptr_eq(&w.shared, &r.metadata().shared) {
            return;
        }
        let r = runnable.take().expect("present");
        let mt = mt(&w.shared);
        if pinned == NOT_PINNED {
            if woken_while_running || w.seeded.as_ref().is_some_and(SeededRng::coin) {
                // A yield: go to the back, do not pre-empt others. (With a seed, a coin
                // decides whether a woken task takes the LIFO slot.)
                w.push_back(r);
                mt.notify_one(&w.shared);
            } else if w.push_lifo(r) {
                // The displaced task went to the stealable queue: another worker may take it.
                mt.notify_one(&w.shared);
            }
            // A task alone in the LIFO slot wakes nobody: no other worker can take it (the slot
            // is this thread's), and this worker runs it next, before it could go to sleep
            // (`has_work` sees the slot). Waking a sleeper for it only made the sleeper find
            // nothing and sleep again: a futex wake and two context switches per message of a
            // ping-pong, which now stays on one worker.
        } else if pinned as usize == w.index {
            w.pinned.borrow_mut().push_back(LocalItem::Task(r));
        } else {
            mt.push_inbox(&w.shared, pinned as usize, Item::Task(r));
        }
    });
    if let Some(r) = runnable {
        let shared = r.metadata().shared.clone();
        let mt = mt(&shared);
        if pinned == NOT_PINNED {
            mt.push_injector(&shared, Item::Task(r));
        } else {
            mt.push_inbox(&shared, pinned as usize, Item::Task(r));
        }
    }
}

/// Schedules a newly spawned task (at the back of the local queue, not in the LIFO slot).
#[inline(never)]
pub(crate) fn push_spawned(runnable: Runnable<TaskMeta>) {
    let pinned = runnable.metadata().pinned;
    if pinned != NOT_PINNED {
        // Spawned on its own worker's thread.
        return schedule(runnable, true);
    }
    let mut runnable = Some(runnable);
    with_ctx(|ctx| {
        let Some(Ctx::Mt(w)) = ctx else { return };
        let r = runnable.as_ref().expect("present");
        if Arc::ptr_eq(&w.shared, &r.metadata().shared) {
            w.push_back(runnable.take().expect("present"));
            mt(&w.shared).notify_one(&w.shared);
        }
    });
    if let Some(r) = runnable {
        let shared = r.metadata().shared.clone();
        mt(&shared).push_injector(&shared, Item::Task(r));
    }
}

/// Queues a `Send` callback on any worker.
pub(crate) fn call_soon_remote(shared: &Shared, f: Box<dyn FnOnce() + Send>) {
    mt(shared).push_injector(shared, Item::Call(f));
}

/// Queues a turn of the main future (its waker was woken); the main future is pinned to
/// worker 0.
pub(crate) fn queue_main(shared: &Arc<Shared>) {
    let pushed = with_ctx(|ctx| match ctx {
        Some(Ctx::Mt(w)) if w.index == 0 && Arc::ptr_eq(&w.shared, shared) => {
            w.pinned.borrow_mut().push_back(LocalItem::Main);
            true
        }
        _ => false,
    });
    if !pushed {
        mt(shared).push_inbox(shared, 0, Item::Main);
    }
}

/// Runs on a new worker thread before it starts working; returns guards kept for the
/// thread's lifetime (the runtime enters its reactor and loop handle here).
pub type ThreadStart = Arc<dyn Fn() -> Box<dyn std::any::Any> + Send + Sync>;

/// A multi-threaded executor.
pub(crate) struct MtExecutor {
    pub(crate) shared: Arc<Shared>,
    /// Worker 0 (this thread).
    local: Rc<WorkerLocal>,
    threads: RefCell<Vec<JoinHandle<()>>>,
}

impl MtExecutor {
    pub(crate) fn new(
        shared: Arc<Shared>,
        thread_start: Option<ThreadStart>,
        name: &str,
        seed: Option<u64>,
    ) -> std::io::Result<MtExecutor> {
        let n = mt(&shared).n();
        mt(&shared).idle.set_thread(0);
        let exec = MtExecutor {
            local: Rc::new(WorkerLocal::new(shared.clone(), 0, seed)),
            shared,
            threads: RefCell::new(Vec::new()),
        };
        for i in 1..n {
            let shared = exec.shared.clone();
            let start = thread_start.clone();
            let handle = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || worker_main(shared, i, start, seed));
            match handle {
                Ok(h) => exec.threads.borrow_mut().push(h),
                Err(e) => {
                    exec.close();
                    return Err(e);
                }
            }
        }
        Ok(exec)
    }

    pub(crate) fn ctx(&self) -> Ctx {
        Ctx::Mt(self.local.clone())
    }

    pub(crate) fn queued(&self) -> usize {
        let mt = mt(&self.shared);
        mt.injector.len()
            + mt.workers
                .iter()
                .map(|w| w.queue.len() + w.inbox.len())
                .sum::<usize>()
            + self.local.pinned.borrow().len()
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = current::enter(self.ctx());
        let _running = RunningGuard::set();
        let w = &*self.local;
        let main = MainWake::new(self.shared.clone());
        let waker = main.waker();
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut output = None;
        w.pinned.borrow_mut().push_back(LocalItem::Main);
        let mut main_ctx = MainLocals::take_from_thread();
        let mut poll_main = || {
            main.begin_poll();
            match main_ctx.run(|| future.as_mut().poll(&mut cx)) {
                Poll::Ready(v) => {
                    output = Some(v);
                    true
                }
                Poll::Pending => false,
            }
        };
        let done = w.run(&mut poll_main);
        // Leave nothing stranded in the LIFO slot while this thread is away.
        if let Some(r) = w.lifo.take() {
            w.push_back(r);
            mt(&self.shared).notify_one(&self.shared);
        }
        assert!(
            done,
            "tulip: the executor was closed while block_on was running"
        );
        self.shared.check_poisoned();
        output.expect("main future completed")
    }

    pub(crate) fn close(&self) {
        let shared = &*self.shared;
        if shared.closed.swap(true, Ordering::SeqCst) && self.threads.borrow().is_empty() {
            return;
        }
        let mt = mt(shared);
        mt.idle.wake_all(&DriverOf(shared));
        for h in self.threads.borrow_mut().drain(..) {
            // A worker thread only panics if the runtime itself has a bug; the rest of the
            // shutdown still runs.
            let _ = h.join();
        }
        let _enter = current::enter(self.ctx());
        self.local.drop_pinned();
        let drain = || {
            let mut dropped = 0usize;
            while let Ok(item) = mt.injector.pop() {
                drop(item);
                dropped += 1;
            }
            for ws in mt.workers.iter() {
                // Every worker thread has exited: no thief is at work, so `pop` misses nothing.
                while let Some(r) = ws.queue.pop() {
                    drop(r);
                    dropped += 1;
                }
            }
            // Worker 0's inbox may hold its pinned work; the other workers emptied (and
            // closed) theirs before exiting, and no task pinned to them exists any more.
            while let Ok(item) = mt.workers[0].inbox.pop() {
                drop(item);
                dropped += 1;
            }
            let leftovers: Vec<_> = self.local.pinned.borrow_mut().drain(..).collect();
            dropped += leftovers.len();
            drop(leftovers);
            if let Some(r) = self.local.lifo.take() {
                drop(r);
                dropped += 1;
            }
            dropped
        };
        let done = |dropped| shared.registry.len() == 0 && dropped == 0;
        drain_on_close(shared, |_| true, drain, done);
        mt.injector.close();
    }
}

impl Drop for MtExecutor {
    fn drop(&mut self) {
        self.close();
    }
}

fn worker_main(shared: Arc<Shared>, index: usize, start: Option<ThreadStart>, seed: Option<u64>) {
    mt(&shared).idle.set_thread(index);
    let _guards = start.map(|f| f());
    let local = Rc::new(WorkerLocal::new(shared, index, seed));
    let _enter = current::enter(Ctx::Mt(local.clone()));
    let _running = RunningGuard::set();
    local.run(&mut || false);
    local.drop_pinned();
}
