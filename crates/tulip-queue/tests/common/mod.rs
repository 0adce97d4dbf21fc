//! Helpers shared by the test files: a deterministic single-threaded "event loop", wakers
//! that record wake-ups, items that count their drops, and a watchdog for threaded tests.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

pub(crate) mod model;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc, Arc,
    },
    task::{Context, Poll, Wake, Waker},
    thread,
    time::Duration,
};

use async_executor::LocalExecutor;

/// Runs every task that can make progress until none can: asyncio's "let the other tasks
/// run" (`await asyncio.sleep(0)`, repeated). Single-threaded and deterministic.
pub(crate) fn run_until_stalled(ex: &LocalExecutor<'_>) {
    while ex.try_tick() {}
}

/// A waker that records whether it was woken.
#[derive(Default)]
pub(crate) struct Flag {
    woken: AtomicBool,
    count: AtomicUsize,
}

impl Flag {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether it was woken since the last call; clears the flag.
    pub(crate) fn take(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    /// How many times it was woken in total.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.woken.store(true, Ordering::SeqCst);
    }
}

/// Polls `fut` once with `flag`'s waker.
pub(crate) fn poll_with<F: Future + Unpin>(fut: &mut F, flag: &Arc<Flag>) -> Poll<F::Output> {
    let waker = flag.waker();
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

/// Polls `fut` once with a waker nobody looks at.
pub(crate) fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_with(fut, &Flag::new())
}

/// Counts the drops of [`Counted`] items.
#[derive(Clone, Default)]
pub(crate) struct DropLog {
    drops: Arc<AtomicUsize>,
    created: Arc<AtomicUsize>,
}

impl DropLog {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A new item with this id.
    pub(crate) fn item(&self, id: u32) -> Counted {
        self.created.fetch_add(1, Ordering::SeqCst);
        Counted {
            id,
            log: self.clone(),
            panic_on_drop: false,
        }
    }

    /// A new item whose `Drop` panics (after counting itself).
    pub(crate) fn bomb(&self, id: u32) -> Counted {
        let mut item = self.item(id);
        item.panic_on_drop = true;
        item
    }

    pub(crate) fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    pub(crate) fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// Every item created so far was dropped exactly once.
    pub(crate) fn assert_all_dropped_once(&self) {
        assert_eq!(
            self.drops(),
            self.created(),
            "items dropped != items created"
        );
    }
}

/// An item that counts its drops; optionally panics in `Drop`.
pub(crate) struct Counted {
    pub(crate) id: u32,
    log: DropLog,
    panic_on_drop: bool,
}

impl std::fmt::Debug for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counted({})", self.id)
    }
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Counted {}

impl PartialOrd for Counted {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Counted {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let previous = self.log.drops.fetch_add(1, Ordering::SeqCst);
        assert!(
            previous < self.log.created(),
            "more drops than items: item {} dropped twice?",
            self.id
        );
        if self.panic_on_drop && !thread::panicking() {
            panic!("boom: item {} panics in Drop", self.id);
        }
    }
}

/// Runs `body` on its own thread and fails the test if it takes longer than `secs`: a lost
/// wake-up shows up as a failure instead of a hung test run.
pub(crate) fn with_deadline<F: FnOnce() + Send + 'static>(secs: u64, body: F) {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker.join().expect("test body panicked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: re-raise its panic here.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("test did not finish within {secs} s (lost wake-up or deadlock?)")
        }
    }
}
