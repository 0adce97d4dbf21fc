//! Test support: a deterministic single-threaded FIFO executor shaped like asyncio's event
//! loop, wakers that count, and a watchdog for multi-threaded tests.
//!
//! The executor runs ready tasks in the order they became ready, exactly like asyncio's
//! `call_soon` queue, so scenarios ported from CPython's `test_asyncio` observe the same
//! interleavings. Cancelling a task drops its future, which is how Rust cancels.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

type LocalTask = Pin<Box<dyn Future<Output = ()>>>;

struct TaskWaker {
    id: usize,
    scheduled: AtomicBool,
    ready: Arc<Mutex<VecDeque<usize>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.scheduled.swap(true, Ordering::SeqCst) {
            self.ready.lock().unwrap().push_back(self.id);
        }
    }
}

/// A deterministic FIFO executor for `!Send` futures.
#[derive(Default)]
pub struct Sim {
    tasks: RefCell<Vec<Option<LocalTask>>>,
    wakers: RefCell<Vec<Arc<TaskWaker>>>,
    ready: Arc<Mutex<VecDeque<usize>>>,
}

/// A spawned task: its id and its result once finished.
pub struct Handle<T> {
    pub id: usize,
    result: Rc<RefCell<Option<T>>>,
}

impl<T> Handle<T> {
    /// The result, if the task finished.
    pub fn take(&self) -> Option<T> {
        self.result.borrow_mut().take()
    }

    pub fn is_done(&self) -> bool {
        self.result.borrow().is_some()
    }
}

impl Sim {
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `future`; it first runs at the next `run_until_idle`.
    pub fn spawn<F>(&self, future: F) -> Handle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let result = Rc::new(RefCell::new(None));
        let slot = Rc::clone(&result);
        let task: LocalTask = Box::pin(async move {
            let output = future.await;
            *slot.borrow_mut() = Some(output);
        });
        let id = {
            let mut tasks = self.tasks.borrow_mut();
            tasks.push(Some(task));
            tasks.len() - 1
        };
        let waker = Arc::new(TaskWaker {
            id,
            scheduled: AtomicBool::new(false),
            ready: Arc::clone(&self.ready),
        });
        waker.wake_by_ref();
        self.wakers.borrow_mut().push(waker);
        Handle { id, result }
    }

    /// Cancels a task: drops its future now (asyncio's `task.cancel()` taking effect).
    pub fn cancel<T>(&self, handle: &Handle<T>) {
        let task = self.tasks.borrow_mut()[handle.id].take();
        drop(task);
    }

    /// Runs one ready task. Returns `false` when none is ready.
    pub fn step(&self) -> bool {
        let Some(id) = self.ready.lock().unwrap().pop_front() else {
            return false;
        };
        let waker_arc = Arc::clone(&self.wakers.borrow()[id]);
        waker_arc.scheduled.store(false, Ordering::SeqCst);
        let Some(mut task) = self.tasks.borrow_mut()[id].take() else {
            return true; // cancelled or finished meanwhile
        };
        let waker = Waker::from(waker_arc);
        if task
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
        {
            self.tasks.borrow_mut()[id] = Some(task);
        }
        true
    }

    /// Runs ready tasks in FIFO order until none is ready.
    pub fn run_until_idle(&self) {
        let mut steps = 0;
        while self.step() {
            steps += 1;
            assert!(steps < 1_000_000, "the simulation does not settle");
        }
    }

    /// Number of tasks that have not finished nor been cancelled.
    pub fn live_tasks(&self) -> usize {
        self.tasks.borrow().iter().filter(|t| t.is_some()).count()
    }
}

/// `asyncio.sleep(0)`: lets every other ready task run once.
pub async fn yield_now() {
    futures_lite::future::yield_now().await;
}

/// A waker that counts its wakeups.
#[derive(Default)]
pub struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future polled by hand, with its own counting waker.
pub struct Polled<F> {
    pub future: Pin<Box<F>>,
    counter: Arc<CountingWaker>,
    waker: Waker,
}

impl<F: Future> Polled<F> {
    pub fn new(future: F) -> Self {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counter));
        Self {
            future: Box::pin(future),
            counter,
            waker,
        }
    }

    pub fn poll(&mut self) -> Poll<F::Output> {
        self.future
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls and expects `Pending`.
    #[track_caller]
    pub fn pending(&mut self) {
        assert!(self.poll().is_pending(), "expected the future to wait");
    }

    /// Polls and expects `Ready`.
    #[track_caller]
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }

    /// How many times the future's waker was woken.
    pub fn wakeups(&self) -> usize {
        self.counter.0.load(Ordering::SeqCst)
    }
}

/// Runs `f` on a thread and fails the test if it has not finished within `limit`, so that a
/// lost wakeup fails instead of hanging.
#[track_caller]
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: surface its panic.
            match worker.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!(),
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}: lost wakeup or deadlock")
        }
    }
}

/// Runs `tasks` futures on a 2-thread `async-executor`, returning their outputs in order.
pub fn run_multi_threaded<T, F>(tasks: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let ex = Arc::new(async_executor::Executor::new());
    let (stop_tx, stop_rx) = async_channel_stub::pair();
    let helpers: Vec<_> = (0..1)
        .map(|_| {
            let ex = Arc::clone(&ex);
            let stop = stop_rx.clone();
            std::thread::spawn(move || futures_lite::future::block_on(ex.run(stop.wait())))
        })
        .collect();
    let handles: Vec<_> = tasks.into_iter().map(|t| ex.spawn(t)).collect();
    let results = futures_lite::future::block_on(ex.run(async {
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await);
        }
        out
    }));
    stop_tx.set();
    for helper in helpers {
        helper.join().unwrap();
    }
    results
}

/// A tiny stop signal for the helper threads, built on `tulip_sync::Event`.
mod async_channel_stub {
    use std::sync::Arc;
    use tulip_sync::Event;

    #[derive(Clone)]
    pub struct Stop(Arc<Event>);

    impl Stop {
        pub async fn wait(self) {
            self.0.wait().await;
        }

        pub fn set(&self) {
            self.0.set();
        }
    }

    pub fn pair() -> (Stop, Stop) {
        let event = Stop(Arc::new(Event::new()));
        (event.clone(), event)
    }
}
