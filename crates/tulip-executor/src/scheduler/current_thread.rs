//! The single-threaded scheduler: asyncio's loop.
//!
//! # Invariants
//!
//! * Every task `Runnable` is run and dropped on the loop thread. Wakes on the loop thread push
//!   onto the local segmented queue (no atomics, no locks); wakes from other threads go through the
//!   `injector` and, only when the loop is parked, [`Driver::unpark`](crate::Driver::unpark).
//! * Closing wakes every registered (pending) task and drops every queued item, on the loop
//!   thread, until no task is registered; a task woken from another thread concurrently is
//!   waited for (it is on its way into the injector).

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_task::Runnable;
use concurrent_queue::ConcurrentQueue;

use crate::current::{self, with_ctx, Ctx, RunningGuard};
use crate::executor::shared::Shared;
use crate::scheduler::seeded::SeededRng;
use crate::scheduler::segqueue::SegQueue;
use crate::scheduler::{drain_on_close, run_callback, Flavor, MainWake, Remote};
use crate::task::meta::TaskMeta;
use crate::task_local::MainLocals;

/// How many queue items run between two non-blocking checks of the driver (I/O and timers)
/// and of the injector. A task that is always ready cannot starve I/O for longer than this.
pub(crate) const BUDGET: u32 = 128;

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
#[inline]
pub(crate) fn schedule(runnable: Runnable<TaskMeta>) {
    // The usual case, a wake or spawn on the thread running the task's own loop, reaches the
    // run queue through `with_running_st`; anything else takes `schedule_elsewhere`.
    let mut runnable = Some(runnable);
    current::with_running_st(|local| {
        let r = runnable.take().expect("present");
        if Arc::ptr_eq(&local.shared, &r.metadata().shared) {
            local.queue.borrow_mut().push_back(Ready::Task(r));
        } else {
            runnable = Some(r);
        }
    });
    if let Some(r) = runnable {
        schedule_elsewhere(r);
    }
}

/// [`schedule`] when this thread is not running the task's loop (or is closing it): the
/// entered executor's queue if it is the task's, else the injector.
#[inline(never)]
fn schedule_elsewhere(runnable: Runnable<TaskMeta>) {
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
    /// With a seed: what picks the next item among the first ready ones (see `seeded.rs`).
    seeded: Option<SeededRng>,
}

impl StLocal {
    /// The next item: the oldest, or with a seed the one the generator picks.
    fn pop(&self) -> Option<Ready> {
        match &self.seeded {
            None => self.queue.borrow_mut().pop_front(),
            Some(rng) => self.pop_seeded(rng),
        }
    }

    /// [`pop`](Self::pop) for the loop, which knows at compile time whether it is seeded: the
    /// FIFO loop has no branch on the seed at all.
    #[inline]
    fn pop_in<const SEEDED: bool>(&self) -> Option<Ready> {
        if SEEDED {
            self.pop()
        } else {
            self.queue.borrow_mut().pop_front()
        }
    }

    #[cold]
    #[inline(never)]
    fn pop_seeded(&self, rng: &SeededRng) -> Option<Ready> {
        self.queue
            .borrow_mut()
            .pop_from_head(|q| rng.pop(q, |item| matches!(item, Ready::Call(_))))
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

/// Queues a turn of the main future (its waker was woken).
pub(crate) fn queue_main(shared: &Arc<Shared>) {
    let pushed = with_ctx(|ctx| match ctx {
        Some(Ctx::St(local)) if Arc::ptr_eq(&local.shared, shared) => {
            local.queue.borrow_mut().push_back(Ready::Main);
            true
        }
        _ => false,
    });
    if !pushed {
        push_remote(shared, Remote::Main);
    }
}

/// A single-threaded executor.
pub(crate) struct StExecutor {
    pub(crate) local: Rc<StLocal>,
}

impl StExecutor {
    pub(crate) fn new(shared: Arc<Shared>, seed: Option<u64>) -> StExecutor {
        StExecutor {
            local: Rc::new(StLocal {
                shared,
                queue: RefCell::new(SegQueue::new()),
                seeded: seed.map(|s| SeededRng::new(s, 0)),
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
        // One branch per `block_on`, not per item: the loop is compiled once for FIFO order
        // and once for a seeded schedule.
        if self.local.seeded.is_some() {
            self.run_loop::<F, true>(future)
        } else {
            self.run_loop::<F, false>(future)
        }
    }

    fn run_loop<F: Future, const SEEDED: bool>(&self, future: F) -> F::Output {
        let _enter = current::enter(self.ctx());
        let _running = RunningGuard::set();
        let _running_st = current::RunningStGuard::set(&self.local);
        current::set_worker_index(0);
        let mut main_ctx = MainLocals::take_from_thread();
        let local = &*self.local;
        let shared = &*local.shared;
        let st = st(shared);
        let driver = &*shared.driver;

        let main = MainWake::new(local.shared.clone());
        let waker = main.waker();
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        local.queue.borrow_mut().push_back(Ready::Main);

        let mut ticks: u32 = 0;
        loop {
            let item = match local.pop_in::<SEEDED>() {
                Some(item) => Some(item),
                None if local.drain_injector() > 0 => local.pop_in::<SEEDED>(),
                None => None,
            };
            match item {
                Some(Ready::Main) => {
                    main.begin_poll();
                    if let Some(w) = &shared.watchdog {
                        w.start(0, 0);
                    }
                    let polled = main_ctx.run(|| future.as_mut().poll(&mut cx));
                    if let Some(w) = &shared.watchdog {
                        w.end(0);
                    }
                    if let Poll::Ready(v) = polled {
                        // A panic nobody retrieved may have come to light as the main future
                        // ended (its handles dropped).
                        shared.check_poisoned();
                        return v;
                    }
                }
                Some(Ready::Task(runnable)) => {
                    runnable.run();
                }
                Some(Ready::Call(f)) => run_callback(shared, 0, f),
                None => {
                    if shared.idle.wanted() {
                        // Someone waits for the loop to be idle: collect what is already
                        // due (timers, I/O) without moving a paused clock, and only if that
                        // gave nothing to run, wake the waiters instead of sleeping.
                        driver.park(Some(Duration::ZERO), false);
                        if local.queue.borrow().len() > 0 || local.drain_injector() > 0 {
                            continue;
                        }
                        if shared.idle.wake_all() {
                            continue;
                        }
                    }
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
        let _enter = current::enter(self.ctx());
        let drain = || {
            let mut dropped = 0usize;
            while let Some(item) = local.pop().or_else(|| {
                local.drain_injector();
                local.pop()
            }) {
                drop(item);
                dropped += 1;
            }
            dropped
        };
        drain_on_close(shared, |_| true, drain, |_| shared.registry.len() == 0);
        // Late pushes are refused from now on.
        st(shared).injector.close();
        while let Ok(item) = st(shared).injector.pop() {
            drop(item);
        }
    }
}
