//! Test support: a deterministic single-threaded FIFO executor shaped like asyncio's event
//! loop, and a multi-threaded runner; wakers that count ([`Polled`]) and the watchdog for
//! multi-threaded tests ([`within`]) come from tulip-test-support.
//!
//! The executor runs ready tasks in the order they became ready, exactly like asyncio's
//! `call_soon` queue, so scenarios ported from CPython's `test_asyncio` observe the same
//! interleavings. Cancelling a task drops its future, which is how Rust cancels.
#![allow(
    dead_code,
    unreachable_pub,
    unused_imports,
    reason = "each test binary uses a different part of it"
)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

pub use tulip_test_support::{within, Polled};

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
