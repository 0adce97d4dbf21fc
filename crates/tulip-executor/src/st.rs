//! The single-threaded scheduler: asyncio's loop.
//!
//! # Invariants
//!
//! * Every task `Runnable` is run and dropped on the loop thread. Wakes on the loop thread push
//!   onto the local segmented queue (no atomics, no locks); wakes from other threads go through the
//!   `injector` and, only when the loop is parked, [`Driver::unpark`].
//! * Closing wakes every registered (pending) task and drops every queued item, on the loop
//!   thread, until no task is registered; a task woken from another thread concurrently is
//!   waited for (it is on its way into the injector).

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use async_task::Runnable;
use concurrent_queue::ConcurrentQueue;

use crate::context::{self, with_ctx, Ctx, RunningGuard};
use crate::report::{ExceptionContext, ReportKind};
use crate::segqueue::SegQueue;
use crate::shared::{Flavor, Shared};
use crate::task_handle::TaskMeta;

/// How many queue items run between two non-blocking checks of the driver (I/O and timers)
/// and of the injector. A task that is always ready cannot starve I/O for longer than this.
pub const BUDGET: u32 = 128;

/// Items from other threads.
pub(crate) enum Remote {
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

/// The part of a single-threaded executor that other threads reach.
pub(crate) struct StShared {
    /// Items scheduled from other threads.
    injector: ConcurrentQueue<Remote>,
    /// True while the loop is (about to be) blocked in `Driver::park(None)`.
    parked: AtomicBool,
}

impl StShared {
    pub(crate) fn new() -> StShared {
        StShared {
            injector: ConcurrentQueue::unbounded(),
            parked: AtomicBool::new(false),
        }
    }
}

fn st(shared: &Shared) -> &StShared {
    match &shared.flavor {
        Flavor::St(st) => st,
        Flavor::Mt(_) => unreachable!("single-threaded scheduler on a multi-threaded executor"),
    }
}

/// Queues `item` from another thread and wakes the loop if it is parked.
pub(crate) fn push_remote(shared: &Shared, item: Remote) {
    let st = st(shared);
    if let Err(e) = st.injector.push(item) {
        // Only a closed queue refuses (the executor is gone); the item is dropped here. Task
        // runnables never reach this point once closed: every task is closed by then.
        drop(e.into_inner());
        return;
    }
    if st.parked.swap(false, Ordering::SeqCst) {
        shared.driver.unpark();
    }
}

/// Schedules a task of a single-threaded executor.
pub(crate) fn schedule(runnable: Runnable<TaskMeta>) {
    let mut runnable = Some(runnable);
    with_ctx(|ctx| {
        if let Some(Ctx::St(local)) = ctx {
            let r = runnable.as_ref().expect("present");
            if Arc::ptr_eq(&local.shared, &r.metadata().shared) {
                let r = runnable.take().expect("present");
                local.queue.borrow_mut().push_back(Ready::Task(r));
            }
        }
    });
    if let Some(r) = runnable {
        let shared = r.metadata().shared.clone();
        push_remote(&shared, Remote::Task(r));
    }
}

/// Loop-thread state.
pub(crate) struct StLocal {
    pub(crate) shared: Arc<Shared>,
    /// The run queue (FIFO, as asyncio's ready queue).
    queue: RefCell<SegQueue<Ready>>,
}

impl StLocal {
    fn pop(&self) -> Option<Ready> {
        self.queue.borrow_mut().pop_front()
    }

    /// Moves everything from the injector to the local queue.
    fn drain_injector(&self) -> usize {
        let mut n = 0;
        while let Ok(item) = st(&self.shared).injector.pop() {
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

    pub(crate) fn call_soon(&self, f: Box<dyn FnOnce()>) {
        self.queue.borrow_mut().push_back(Ready::Call(f));
    }
}

/// The waker of the future passed to `block_on`.
struct MainWake {
    /// True while a `Main` item is queued (or the main future is being polled).
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
        let pushed = with_ctx(|ctx| match ctx {
            Some(Ctx::St(local)) if Arc::ptr_eq(&local.shared, &self.shared) => {
                local.queue.borrow_mut().push_back(Ready::Main);
                true
            }
            _ => false,
        });
        if !pushed {
            push_remote(&self.shared, Remote::Main);
        }
    }
}

/// A single-threaded executor.
pub(crate) struct StExecutor {
    pub(crate) local: Rc<StLocal>,
}

impl StExecutor {
    pub(crate) fn new(shared: Arc<Shared>) -> StExecutor {
        StExecutor {
            local: Rc::new(StLocal {
                shared,
                queue: RefCell::new(SegQueue::new()),
            }),
        }
    }

    pub(crate) fn ctx(&self) -> Ctx {
        Ctx::St(self.local.clone())
    }

    pub(crate) fn queued(&self) -> usize {
        self.local.queue.borrow().len() + st(&self.local.shared).injector.len()
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.ctx());
        let _running = RunningGuard::set();
        context::set_worker_index(0);
        let mut main_ctx = context::MainContext::take_from_thread();
        let local = &*self.local;
        let shared = &*local.shared;
        let st = st(shared);
        let driver = &*shared.driver;

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
                None if local.drain_injector() > 0 => local.pop(),
                None => None,
            };
            match item {
                Some(Ready::Main) => {
                    // A swap, not a store: reading the waker's `swap(true)` orders whatever it published
                    // before waking (a finished task, a sent message) before this poll reads it. With a
                    // store, the poll could miss it while the waker saw `true` and queued nothing: a
                    // lost wake-up (Miri's weak-memory emulation found it).
                    main.queued.swap(false, Ordering::AcqRel);
                    if let Some(w) = &shared.watchdog {
                        w.start(0, 0);
                    }
                    let polled = main_ctx.run(|| future.as_mut().poll(&mut cx));
                    if let Some(w) = &shared.watchdog {
                        w.end(0);
                    }
                    if let Poll::Ready(v) = polled {
                        return v;
                    }
                }
                Some(Ready::Task(runnable)) => {
                    runnable.run();
                }
                Some(Ready::Call(f)) => run_callback(shared, 0, f),
                None => {
                    // Idle: park until I/O, a timer or a remote wake.
                    st.parked.store(true, Ordering::SeqCst);
                    if !st.injector.is_empty() {
                        st.parked.store(false, Ordering::SeqCst);
                        continue;
                    }
                    driver.park(None, true);
                    st.parked.store(false, Ordering::SeqCst);
                    shared.check_poisoned();
                    ticks = 0;
                    continue;
                }
            }
            ticks += 1;
            if ticks >= BUDGET {
                ticks = 0;
                local.drain_injector();
                driver.park(Some(Duration::ZERO), true);
                shared.check_poisoned();
            }
        }
    }

    pub(crate) fn close(&self) {
        let local = &*self.local;
        let shared = &*local.shared;
        shared.closed.store(true, Ordering::SeqCst);
        let _enter = context::enter(self.ctx());
        let mut spins = 0u32;
        loop {
            for w in shared.registry.wakers(|_| true) {
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
            if shared.registry.len() == 0 {
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
        // Late pushes are refused from now on.
        st(shared).injector.close();
        while let Ok(item) = st(shared).injector.pop() {
            drop(item);
        }
    }
}

/// Runs a callback (or polls the main future), reporting a panic and, in debug mode, a slow
/// run; the watchdog sees it as work on `worker`.
pub(crate) fn run_callback(shared: &Shared, worker: usize, f: impl FnOnce()) {
    if let Some(w) = &shared.watchdog {
        w.start(worker, 0);
    }
    let started = shared.debug.map(|slow| (std::time::Instant::now(), slow));
    let res = catch_unwind(AssertUnwindSafe(f));
    if let Some(w) = &shared.watchdog {
        w.end(worker);
    }
    if let Some((t0, slow)) = started {
        let took = t0.elapsed();
        if took >= slow {
            let mut r = ExceptionContext::new(ReportKind::SlowCallback);
            r.duration = Some(took);
            shared.report(&r);
        }
    }
    if let Err(payload) = res {
        let mut r = ExceptionContext::new(ReportKind::CallbackPanic);
        r.payload = Some(&*payload);
        shared.report(&r);
    }
}
