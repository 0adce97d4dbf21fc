//! Scheduling: which task, callback or main-future poll runs next, on which thread.
//!
//! - [`current_thread`]: asyncio's single-threaded loop (one FIFO run queue, [`segqueue`]).
//! - [`multi_thread`]: work-stealing workers, which sleep and wake through [`idle`]; each
//!   worker's stealable run queue is a [`ring`].
//! - [`seeded`]: the choices both make instead of FIFO order when given a seed.
//!
//! What both flavours share lives here: async-task's [`schedule`] function, the items other
//! threads send a loop ([`Remote`]), the main future's waker ([`MainWake`]), running a
//! callback ([`run_callback`]), and the drain loop of shutdown ([`drain_on_close`]).

pub(crate) mod current_thread;
pub(crate) mod idle;
pub(crate) mod multi_thread;
pub(crate) mod ring;
pub(crate) mod seeded;
pub(crate) mod segqueue;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use async_task::{Runnable, ScheduleInfo};

use crate::executor::shared::Shared;
use crate::registry::Entry;
use crate::report::{ExceptionContext, ReportKind};
use crate::task::meta::{TaskMeta, SCHEDULED};

/// The scheduler half that differs by flavour.
pub(crate) enum Flavor {
    /// asyncio's single-threaded loop.
    St(current_thread::StShared),
    /// Work-stealing workers.
    Mt(multi_thread::MtShared),
}

/// Work that another thread hands to a loop (and, in the multi-threaded flavour, that moves
/// between workers).
pub(crate) enum Remote {
    /// A task's `Runnable`.
    Task(Runnable<TaskMeta>),
    /// A `call_soon_threadsafe` callback.
    Call(Box<dyn FnOnce() + Send>),
    /// A turn of the main future.
    Main,
}

/// async-task's schedule function for every task.
pub(crate) fn schedule(runnable: Runnable<TaskMeta>, info: ScheduleInfo) {
    runnable
        .metadata()
        .state
        .store(SCHEDULED, Ordering::Relaxed);
    if let Flavor::St(_) = runnable.metadata().shared.flavor {
        current_thread::schedule(runnable);
    } else {
        multi_thread::schedule(runnable, info.woken_while_running);
    }
}

/// Queues a newly spawned task.
#[inline]
pub(crate) fn push_spawned(runnable: Runnable<TaskMeta>) {
    match &runnable.metadata().shared.flavor {
        Flavor::St(_) => current_thread::schedule(runnable),
        Flavor::Mt(_) => multi_thread::push_spawned(runnable),
    }
}

/// The waker of the future passed to `block_on` (which is polled in place, not spawned).
///
/// `queued` is true while a turn of the main future is queued or running, so that a burst of
/// wakes queues one turn.
pub(crate) struct MainWake {
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl MainWake {
    /// The waker of a main future whose first turn the caller has queued already.
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<MainWake> {
        Arc::new(MainWake {
            queued: AtomicBool::new(true),
            shared,
        })
    }

    /// Call right before each poll of the main future: later wakes queue another turn.
    #[inline]
    pub(crate) fn begin_poll(&self) {
        // A swap, not a store: reading the waker's `swap(true)` orders whatever it published
        // before waking (a finished task, a sent message) before this poll reads it. With a
        // store, the poll could miss it while the waker saw `true` and queued nothing: a
        // lost wake-up (Miri's weak-memory emulation found it).
        self.queued.swap(false, Ordering::AcqRel);
    }
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        match &self.shared.flavor {
            Flavor::St(_) => current_thread::queue_main(&self.shared),
            Flavor::Mt(_) => multi_thread::queue_main(&self.shared),
        }
    }
}

impl MainWake {
    /// A `Waker` for `self`.
    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
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

/// Shutdown's drain loop, one turn after another: wake every registered task that `wake`
/// selects (so that it comes back to a run queue), `drain` the queues (dropping what they
/// hold; it returns how many items it dropped), and stop once `done` (given that count)
/// says so.
///
/// A turn that dropped nothing while tasks are still registered means a task woken from
/// another thread is on its way into a queue: spin, then yield the thread, and look again.
pub(crate) fn drain_on_close(
    shared: &Shared,
    wake: impl Fn(&Entry) -> bool,
    mut drain: impl FnMut() -> usize,
    mut done: impl FnMut(usize) -> bool,
) {
    let mut spins = 0u32;
    loop {
        for w in shared.registry.wakers(&wake) {
            w.wake();
        }
        let dropped = drain();
        if done(dropped) {
            return;
        }
        if dropped == 0 {
            spins += 1;
            if spins > 64 {
                std::thread::yield_now();
            }
            std::hint::spin_loop();
        }
    }
}
