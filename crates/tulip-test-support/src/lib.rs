//! Test helpers shared by tulip's crates: a dev-dependency only, never published.
//!
//! - [`within`]: run a test body on its own thread and fail, instead of hanging, if it does
//!   not finish in time (a lost wake-up or a deadlock).
//! - [`WakeCounter`], [`poll_with`], [`poll_once`], [`Polled`]: poll futures by hand and see
//!   how often they woke their waker.
//! - [`Counter`], [`OnDrop`], [`PanicOnDrop`]: count events and drops; a value whose `Drop`
//!   panics.
//!
//! Helpers that only one crate's tests need (a deterministic executor for tulip-sync's
//! scenarios, tulip-queue's drop log and models, tulip-task's runs on both loop flavours)
//! stay in that crate's `tests/common/`.
//!
//! std only, so that the runtime-agnostic crates can use it and the executor's tests still
//! run under Miri.

#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

/// Runs `f` on its own thread and returns its result; fails the test if it has not finished
/// within `limit`, so that a lost wake-up fails instead of hanging the test run. A panic of
/// `f` is resumed here.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(tulip_test_support::within(Duration::from_secs(10), || 6 * 7), 42);
/// ```
#[track_caller]
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            worker.join().expect("the body finished, so its thread did");
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            // The body panicked: surface its panic.
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body ended without sending its result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}: lost wake-up or deadlock?")
        }
    }
}

/// A waker that counts its wake-ups and remembers whether it was woken since it was last
/// asked.
///
/// # Examples
///
/// ```
/// let counter = tulip_test_support::WakeCounter::new();
/// counter.waker().wake_by_ref();
/// assert!(counter.take());
/// assert!(!counter.take());
/// assert_eq!(counter.count(), 1);
/// ```
#[derive(Debug, Default)]
pub struct WakeCounter {
    woken: AtomicBool,
    count: AtomicUsize,
}

impl WakeCounter {
    /// A counter at zero.
    pub fn new() -> Arc<WakeCounter> {
        Arc::new(WakeCounter::default())
    }

    /// Whether it was woken since the last call; clears the flag.
    pub fn take(&self) -> bool {
        self.woken.swap(false, SeqCst)
    }

    /// How many times it was woken in total.
    pub fn count(&self) -> usize {
        self.count.load(SeqCst)
    }

    /// A waker that counts into `self`.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, SeqCst);
        self.woken.store(true, SeqCst);
    }
}

/// Polls `fut` once with `counter`'s waker.
///
/// # Examples
///
/// ```
/// use std::task::Poll;
/// use tulip_test_support::{poll_with, WakeCounter};
///
/// let counter = WakeCounter::new();
/// assert_eq!(poll_with(&mut std::future::ready(3), &counter), Poll::Ready(3));
/// ```
pub fn poll_with<F: Future + Unpin>(fut: &mut F, counter: &Arc<WakeCounter>) -> Poll<F::Output> {
    let waker = counter.waker();
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

/// Polls `fut` once with a waker nobody looks at.
///
/// # Examples
///
/// ```
/// assert!(tulip_test_support::poll_once(&mut std::future::pending::<()>()).is_pending());
/// ```
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_with(fut, &WakeCounter::new())
}

/// A future polled by hand, with its own [`WakeCounter`].
///
/// # Examples
///
/// ```
/// let mut p = tulip_test_support::Polled::new(async { 1 });
/// assert_eq!(p.ready(), 1);
/// assert_eq!(p.wakeups(), 0);
/// ```
#[derive(Debug)]
pub struct Polled<F> {
    /// The future.
    pub future: Pin<Box<F>>,
    counter: Arc<WakeCounter>,
    waker: Waker,
}

impl<F: Future> Polled<F> {
    /// Boxes and pins `future`.
    pub fn new(future: F) -> Self {
        let counter = WakeCounter::new();
        let waker = counter.waker();
        Self {
            future: Box::pin(future),
            counter,
            waker,
        }
    }

    /// Polls once.
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
        self.counter.count()
    }
}

/// A shared counter (of reports, of drops, of anything).
///
/// # Examples
///
/// ```
/// let drops = tulip_test_support::Counter::new();
/// drop(drops.on_drop());
/// drops.bump();
/// assert_eq!(drops.get(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// A counter at zero.
    pub fn new() -> Counter {
        Counter::default()
    }

    /// Adds one.
    pub fn bump(&self) {
        self.0.fetch_add(1, SeqCst);
    }

    /// The count.
    pub fn get(&self) -> usize {
        self.0.load(SeqCst)
    }

    /// A value that bumps the counter when dropped.
    pub fn on_drop(&self) -> OnDrop {
        OnDrop(self.clone())
    }
}

/// Bumps its [`Counter`] when dropped.
#[derive(Debug)]
pub struct OnDrop(Counter);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// Panics with its message when dropped (a future whose cleanup fails), unless the thread is
/// already panicking.
///
/// # Examples
///
/// ```
/// let r = std::panic::catch_unwind(|| drop(tulip_test_support::PanicOnDrop("boom")));
/// assert!(r.is_err());
/// ```
#[derive(Debug)]
pub struct PanicOnDrop(pub &'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("{}", self.0);
        }
    }
}
