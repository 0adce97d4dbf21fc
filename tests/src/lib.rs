//! Shared helpers for the cross-crate integration tests; the ones every crate's tests use
//! ([`Counter`], [`OnDrop`], [`PanicOnDrop`], ...) come from tulip-test-support.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use tulip_test_support::{Counter, OnDrop, PanicOnDrop};

/// Collects what the loop's exception handler reports.
#[derive(Clone, Debug, Default)]
pub struct Reports(Arc<Mutex<Vec<String>>>);

impl Reports {
    /// An empty collection.
    pub fn new() -> Reports {
        Reports::default()
    }

    /// A runner builder whose exception handler records into this collection.
    pub fn builder(&self) -> tulip::RunnerBuilder {
        let me = self.clone();
        tulip::Runner::builder()
            .exception_handler(move |r| me.0.lock().unwrap().push(r.to_string()))
    }

    /// Everything reported so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A shared, ordered log of events for ordering tests.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// An empty log.
    pub fn new() -> Log {
        Log::default()
    }

    /// Appends an entry.
    pub fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }

    /// The entries so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A single-threaded runner whatever `TULIP_WORKERS` says: for tests of asyncio's ordering
/// guarantees (FIFO turns, callbacks interleaved with tasks), which only the single-threaded
/// loop makes.
pub fn single_threaded() -> tulip::Runner {
    tulip::Runner::builder().workers(1).build()
}

/// Counts arrivals and lets a task wait for `n` of them: explicit synchronisation for tests
/// that must know other tasks have started, on any flavour of loop.
#[derive(Clone, Debug)]
pub struct Latch(Arc<(AtomicUsize, usize, tulip::sync::Event)>);

impl Latch {
    /// A latch that opens after `n` arrivals.
    pub fn new(n: usize) -> Latch {
        Latch(Arc::new((
            AtomicUsize::new(0),
            n,
            tulip::sync::Event::new(),
        )))
    }

    /// One arrival.
    pub fn arrive(&self) {
        if self.0 .0.fetch_add(1, Ordering::SeqCst) + 1 >= self.0 .1 {
            self.0 .2.set();
        }
    }

    /// Waits until every arrival happened.
    pub async fn wait(&self) {
        self.0 .2.wait().await;
    }
}

/// Yields to the loop until `cond` holds; fails the test (instead of hanging it) if it never
/// does within a million turns.
pub async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..1_000_000 {
        if cond() {
            return;
        }
        tulip::yield_now().await;
    }
    panic!("the awaited condition never became true");
}
