//! The blocking pool behind [`to_thread`], [`spawn_blocking`] and
//! [`LoopHandle::run_in_executor`](crate::LoopHandle::run_in_executor).
//!
//! A bounded pool of threads per loop that grows on demand (up to
//! [`RunnerBuilder::max_blocking_threads`](crate::RunnerBuilder::max_blocking_threads)) and lets
//! idle threads go after a keep-alive. While a job is queued or running, a paused clock does not
//! jump ahead (the job's result may be what the loop is waiting for). On shutdown the pool stops
//! taking jobs and waits for queued and running ones up to a timeout, then reports what was left.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tulip_executor::{JoinError, Panic};
use tulip_reactor::AutoAdvanceGuard;
use tulip_util::lock;

use crate::handle::EventLoop;

type Job = Box<dyn FnOnce() + Send>;

struct PoolState {
    queue: VecDeque<Job>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// Jobs running now.
    running: usize,
    shutdown: bool,
}

struct PoolInner {
    state: Mutex<PoolState>,
    /// Signals idle threads: a job arrived, or shutdown.
    work: Condvar,
    /// Signals the shutdown waiter: a job finished or a thread left.
    done: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    name: String,
}

/// What a blocking pool left behind when it shut down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Jobs still running when the timeout expired (their threads are left to finish alone).
    pub still_running: usize,
    /// Jobs still queued when the timeout expired (dropped without running).
    pub dropped_queued: usize,
}

impl ShutdownReport {
    /// Whether everything finished in time.
    pub fn is_clean(&self) -> bool {
        self.still_running == 0 && self.dropped_queued == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} blocking job(s) still running and {} queued job(s) dropped at shutdown",
            self.still_running, self.dropped_queued
        )
    }
}

/// A loop's pool of blocking threads.
#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<PoolInner>,
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration, name: &str) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    running: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                done: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                name: format!("{name}-blocking"),
            }),
        }
    }

    /// Queues a job; hands it back if the pool has shut down.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        let inner = &self.inner;
        let mut st = lock(&inner.state);
        if st.shutdown {
            return Err(job);
        }
        st.queue.push_back(job);
        if st.idle > st.queue.len() - 1 {
            inner.work.notify_one();
        } else if st.threads < inner.max_threads {
            st.threads += 1;
            let me = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name(inner.name.clone())
                .spawn(move || worker(&me));
            if spawned.is_err() {
                // Out of threads: the queued job waits for a running thread to take it.
                st.threads -= 1;
                if st.threads == 0 {
                    return Err(st.queue.pop_back().expect("just pushed"));
                }
            }
        }
        Ok(())
    }

    /// Number of pool threads alive.
    pub(crate) fn threads(&self) -> usize {
        lock(&self.inner.state).threads
    }

    /// Stops taking jobs; waits up to `timeout` for queued and running jobs.
    pub(crate) fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let inner = &self.inner;
        let deadline = Instant::now().checked_add(timeout);
        let mut st = lock(&inner.state);
        st.shutdown = true;
        inner.work.notify_all();
        while st.running > 0 || (!st.queue.is_empty() && st.threads > 0) {
            let now = Instant::now();
            let wait = match deadline {
                Some(d) if d <= now => break,
                Some(d) => d - now,
                None => Duration::from_secs(3600),
            };
            st = inner
                .done
                .wait_timeout(st, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let dropped: Vec<Job> = st.queue.drain(..).collect();
        let report = ShutdownReport {
            still_running: st.running,
            dropped_queued: dropped.len(),
        };
        drop(st);
        drop(dropped);
        report
    }
}

fn worker(inner: &PoolInner) {
    let mut st = lock(&inner.state);
    loop {
        if let Some(job) = st.queue.pop_front() {
            st.running += 1;
            drop(st);
            // Jobs catch their own panics; this is a second fence for the pool's sake.
            let _ = catch_unwind(AssertUnwindSafe(job));
            st = lock(&inner.state);
            st.running -= 1;
            inner.done.notify_all();
            continue;
        }
        if st.shutdown {
            break;
        }
        st.idle += 1;
        let (guard, res) = inner
            .work
            .wait_timeout(st, inner.keep_alive)
            .unwrap_or_else(PoisonError::into_inner);
        st = guard;
        st.idle -= 1;
        if res.timed_out() && st.queue.is_empty() {
            break;
        }
    }
    st.threads -= 1;
    inner.done.notify_all();
}

/// How a blocking job ended.
enum Finished<T> {
    Value(T),
    Panicked(Box<dyn std::any::Any + Send>),
    /// The pool had shut down: the job never ran.
    Refused,
}

/// Where a blocking job's result waits for its awaiter.
enum Slot<T> {
    Pending(Option<Waker>),
    Done(Finished<T>),
    Taken,
}

struct Shared<T> {
    slot: Mutex<Slot<T>>,
}

/// Submits `f` to the current loop's pool; returns the shared result slot.
fn submit<T, F>(f: F, what: &str) -> Arc<Shared<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let handle = EventLoop::try_current()
        .unwrap_or_else(|| panic!("tulip::{what} called outside a running tulip event loop"));
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot::Pending(None)),
    });
    let s2 = shared.clone();
    let guard: AutoAdvanceGuard = handle.reactor().inhibit_auto_advance();
    // The closure runs in the submitting task's task-local context (asyncio's to_thread
    // copies contextvars).
    let context = tulip_executor::TaskLocals::current();
    let job: Job = Box::new(move || {
        let result = match catch_unwind(AssertUnwindSafe(|| context.run(f))) {
            Ok(v) => Finished::Value(v),
            Err(payload) => Finished::Panicked(payload),
        };
        let waker = {
            let mut slot = lock(&s2.slot);
            match std::mem::replace(&mut *slot, Slot::Done(result)) {
                Slot::Pending(w) => w,
                _ => None,
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
        // Let virtual time move again only once the result is in place.
        drop(guard);
    });
    if let Err(job) = handle.blocking_pool().submit(job) {
        // The pool has shut down: the job is dropped unrun and the slot says so.
        drop(job);
        *lock(&shared.slot) = Slot::Done(Finished::Refused);
    }
    shared
}

fn poll_slot<T>(shared: &Shared<T>, cx: &mut Context<'_>) -> Poll<Finished<T>> {
    let mut slot = lock(&shared.slot);
    match std::mem::replace(&mut *slot, Slot::Taken) {
        Slot::Done(r) => Poll::Ready(r),
        Slot::Pending(_) => {
            *slot = Slot::Pending(Some(cx.waker().clone()));
            Poll::Pending
        }
        Slot::Taken => panic!("a blocking task was polled after it completed"),
    }
}

/// Runs a blocking closure on the loop's blocking pool and waits for its result (asyncio's
/// `asyncio.to_thread`).
///
/// Lazy: the closure is submitted when the future is first polled. A panic in the closure
/// resumes in the awaiting task (as asyncio re-raises the exception). Dropping the future does
/// not stop a closure that has started (threads cannot be cancelled); its result is discarded.
///
/// # Cancel safety
///
/// Dropping the future discards the result; the closure still runs to completion.
///
/// # Panics
///
/// Polling it outside a tulip event loop panics; a panic of the closure is resumed.
///
/// # Examples
///
/// ```
/// let n = tulip_runtime::run(async {
///     tulip_runtime::to_thread(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0)).await
/// });
/// assert!(n > 0);
/// ```
pub fn to_thread<F, T>(f: F) -> ToThread<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    ToThread {
        f: Some(f),
        shared: None,
    }
}

/// Future of [`to_thread`].
#[must_use = "futures do nothing unless polled"]
pub struct ToThread<F, T> {
    f: Option<F>,
    shared: Option<Arc<Shared<T>>>,
}

impl<F, T> fmt::Debug for ToThread<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToThread")
            .field("submitted", &self.shared.is_some())
            .finish()
    }
}

impl<F, T> Unpin for ToThread<F, T> {}

impl<F, T> Future for ToThread<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.shared.is_none() {
            let f = self.f.take().expect("ToThread polled after completion");
            self.shared = Some(submit(f, "to_thread"));
        }
        let shared = self.shared.as_ref().expect("submitted");
        match poll_slot(shared, cx) {
            Poll::Ready(Finished::Value(v)) => Poll::Ready(v),
            Poll::Ready(Finished::Panicked(payload)) => std::panic::resume_unwind(payload),
            Poll::Ready(Finished::Refused) => {
                panic!("tulip::to_thread: the loop's blocking pool has shut down")
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Starts a blocking closure on the loop's blocking pool now and returns a handle to await
/// (tokio's `spawn_blocking`; asyncio's `loop.run_in_executor(None, f)`).
///
/// Awaiting gives `Ok(value)`, or `Err(JoinError::Panicked)` if the closure panicked, or
/// `Err(JoinError::Cancelled)` if the pool had shut down. Dropping the handle detaches the job.
///
/// # Cancel safety
///
/// Dropping the handle (or an await of it) discards the result; the closure runs to the end
/// anyway, since a thread cannot be cancelled.
///
/// # Panics
///
/// Panics if no tulip event loop runs on this thread.
///
/// # Examples
///
/// ```
/// tulip_runtime::run(async {
///     let job = tulip_runtime::spawn_blocking(|| (1..=10).product::<u64>());
///     assert_eq!(job.await.unwrap(), 3_628_800);
/// });
/// ```
pub fn spawn_blocking<F, T>(f: F) -> BlockingTask<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    BlockingTask {
        shared: submit(f, "spawn_blocking"),
    }
}

/// Handle of a job started with [`spawn_blocking`].
#[must_use = "dropping a BlockingTask detaches it"]
pub struct BlockingTask<T> {
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for BlockingTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingTask")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> BlockingTask<T> {
    /// Lets the job run on with nobody awaiting it (what dropping the handle does too).
    pub fn detach(self) {}

    /// Whether the job has finished.
    pub fn is_finished(&self) -> bool {
        !matches!(*lock(&self.shared.slot), Slot::Pending(_))
    }
}

impl<T> Future for BlockingTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match poll_slot(&self.shared, cx) {
            Poll::Ready(Finished::Value(v)) => Poll::Ready(Ok(v)),
            Poll::Ready(Finished::Panicked(payload)) => {
                Poll::Ready(Err(JoinError::Panicked(Panic::new(payload))))
            }
            Poll::Ready(Finished::Refused) => Poll::Ready(Err(JoinError::Cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}
