//! [`Barrier`]: asyncio's `Barrier` (Python 3.11), with `abort()` and `reset()`.
//!
//! # Implementation
//!
//! The state machine is asyncio's (itself `threading.Barrier`'s), kept behind a short-lived
//! mutex, with one wait list for every kind of change:
//!
//! * **filling**: tasks arrive; each takes the arrival index `count` and increments it.
//! * **draining**: the last party arrived; every waiter returns its index and leaves
//!   (`count -= 1`). Tasks that arrive meanwhile wait until the barrier is empty.
//! * **resetting**: `reset()` was called with waiters inside; they leave with
//!   [`BrokenBarrierError`], and the last one out makes the barrier filling again.
//! * **broken**: `abort()` was called; every waiter and every later `wait()` fails until
//!   `reset()`.
//!
//! Every state change wakes the whole wait list; each waiter then re-reads the state.

use tulip_util::sync::{block_on, lock, Mutex};

use crate::notify::{Listener, Notify};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The error of [`Barrier::wait()`] when the barrier is aborted or reset (asyncio's
/// `BrokenBarrierError`).
///
/// # Examples
///
/// ```
/// use tulip_sync::{Barrier, BrokenBarrierError};
///
/// # futures_lite::future::block_on(async {
/// let barrier = Barrier::new(2);
/// barrier.abort();
/// assert_eq!(barrier.wait().await, Err(BrokenBarrierError));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier aborted or reset")
    }
}

impl Error for BrokenBarrierError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Filling,
    Draining,
    Resetting,
    Broken,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// Tasks inside the barrier: arrived and not yet left.
    count: usize,
}

impl Inner {
    /// A task left the barrier. Returns `true` if the waiters must be woken.
    fn exit(&mut self) -> bool {
        self.count -= 1;
        if self.count == 0 {
            if matches!(self.state, State::Draining | State::Resetting) {
                self.state = State::Filling;
            }
            return true;
        }
        false
    }
}

/// A barrier for a fixed number of tasks: asyncio's `Barrier`.
///
/// Each of `parties` tasks calls [`wait()`](Barrier::wait); all of them wait until the last
/// one arrives, then all return together, each with its arrival index (`0` for the first,
/// `parties - 1` for the one that released the others). The barrier can then be used again.
///
/// [`abort()`](Barrier::abort) breaks the barrier: the tasks waiting in it, and every later
/// `wait()`, fail with [`BrokenBarrierError`] until [`reset()`](Barrier::reset), which also
/// makes the tasks waiting at that moment fail.
///
/// Unlike asyncio, `abort()` and `reset()` are plain methods: they need not wait for
/// anything.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::Barrier;
///
/// let barrier = Arc::new(Barrier::new(3));
/// let threads: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = Arc::clone(&barrier);
///         std::thread::spawn(move || barrier.wait_blocking().unwrap())
///     })
///     .collect();
/// let mut indices: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// ```
pub struct Barrier {
    parties: usize,
    inner: Mutex<Inner>,
    notify: Notify,
}

impl Barrier {
    /// Creates a barrier for `parties` tasks.
    ///
    /// # Panics
    ///
    /// Panics if `parties` is zero (asyncio raises `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// assert_eq!(barrier.parties(), 2);
    /// ```
    #[must_use]
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "a barrier needs at least one party");
        Barrier {
            parties,
            inner: Mutex::new(Inner {
                state: State::Filling,
                count: 0,
            }),
            notify: Notify::new(),
        }
    }

    /// Waits until `parties` tasks are waiting, and returns this task's arrival index.
    ///
    /// # Errors
    ///
    /// Returns [`BrokenBarrierError`] if the barrier is broken when the task arrives, or is
    /// aborted or reset while it waits.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while it waits makes the task leave the barrier, as a cancelled
    /// asyncio task does: it no longer counts towards `parties`, and if the barrier had just
    /// released it, the others still return normally. Dropping it before its first poll does
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Barrier;
    ///
    /// # futures_lite::future::block_on(async {
    /// let barrier = Barrier::new(1);
    /// assert_eq!(barrier.wait().await, Ok(0));
    /// assert_eq!(barrier.wait().await, Ok(0)); // reusable
    /// # });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            phase: Phase::Arrive(Listener::new()),
        }
    }

    /// Blocking version of [`wait()`](Barrier::wait).
    ///
    /// # Errors
    ///
    /// As for [`wait()`](Barrier::wait).
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Barrier;
    ///
    /// let barrier = Barrier::new(1);
    /// assert_eq!(barrier.wait_blocking(), Ok(0));
    /// ```
    pub fn wait_blocking(&self) -> Result<usize, BrokenBarrierError> {
        block_on(self.wait())
    }

    /// Breaks the barrier: waiting tasks and later `wait()`s get [`BrokenBarrierError`] until
    /// [`reset()`](Barrier::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// barrier.abort();
    /// assert!(barrier.broken());
    /// ```
    pub fn abort(&self) {
        lock(&self.inner).state = State::Broken;
        self.notify.notify(usize::MAX);
    }

    /// Returns the barrier to its empty, filling state. Tasks waiting in it get
    /// [`BrokenBarrierError`]; new arrivals wait until they have left.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Barrier;
    ///
    /// # futures_lite::future::block_on(async {
    /// let barrier = Barrier::new(1);
    /// barrier.abort();
    /// barrier.reset();
    /// assert!(!barrier.broken());
    /// assert_eq!(barrier.wait().await, Ok(0));
    /// # });
    /// ```
    pub fn reset(&self) {
        {
            let mut inner = lock(&self.inner);
            inner.state = if inner.count > 0 {
                State::Resetting
            } else {
                State::Filling
            };
        }
        self.notify.notify(usize::MAX);
    }

    /// The number of tasks needed to pass the barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Barrier;
    ///
    /// assert_eq!(Barrier::new(4).parties(), 4);
    /// ```
    #[must_use]
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The number of tasks waiting for the barrier to fill (zero while it drains or resets).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Waker};
    /// use tulip_sync::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// let mut wait = pin!(barrier.wait());
    /// assert!(wait.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    /// assert_eq!(barrier.n_waiting(), 1);
    /// ```
    #[must_use]
    pub fn n_waiting(&self) -> usize {
        let inner = lock(&self.inner);
        if inner.state == State::Filling {
            inner.count
        } else {
            0
        }
    }

    /// Returns `true` if the barrier is broken (aborted and not reset).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// assert!(!barrier.broken());
    /// barrier.abort();
    /// assert!(barrier.broken());
    /// ```
    #[must_use]
    pub fn broken(&self) -> bool {
        lock(&self.inner).state == State::Broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.inner);
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("state", &inner.state)
            .field("count", &inner.count)
            .finish()
    }
}

enum Phase {
    /// Not inside yet; waiting (with the listener) while the barrier drains or resets.
    Arrive(Listener),
    /// Inside with this arrival index; waiting for the barrier to fill.
    Inside(usize, Listener),
    /// Left the barrier.
    Done,
}

/// The future of [`Barrier::wait()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Barrier;
/// use tulip_sync::futures::BarrierWait;
///
/// # futures_lite::future::block_on(async {
/// let barrier = Barrier::new(1);
/// let wait: BarrierWait<'_> = barrier.wait();
/// assert_eq!(wait.await, Ok(0));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    phase: Phase,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrierError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let barrier = self.barrier;
        crate::noting(self.poll_phases(cx), "Barrier", barrier)
    }
}

impl BarrierWait<'_> {
    fn poll_phases(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, BrokenBarrierError>> {
        let this = self;
        let barrier = this.barrier;
        loop {
            match &mut this.phase {
                Phase::Arrive(listener) | Phase::Inside(_, listener) if listener.is_listening() => {
                    if listener.poll(&barrier.notify, cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                Phase::Arrive(listener) => {
                    let mut inner = lock(&barrier.inner);
                    match inner.state {
                        State::Draining | State::Resetting => {
                            // Listen with the lock held: the change we wait for needs it.
                            listener.listen(&barrier.notify, cx.waker());
                            return Poll::Pending;
                        }
                        State::Broken => {
                            this.phase = Phase::Done;
                            return Poll::Ready(Err(BrokenBarrierError));
                        }
                        State::Filling => {
                            let index = inner.count;
                            inner.count += 1;
                            if inner.count == barrier.parties {
                                // The last party: release everyone, then leave at once.
                                inner.state = State::Draining;
                                inner.exit();
                                drop(inner);
                                barrier.notify.notify(usize::MAX);
                                this.phase = Phase::Done;
                                return Poll::Ready(Ok(index));
                            }
                            let mut listener = Listener::new();
                            listener.listen(&barrier.notify, cx.waker());
                            this.phase = Phase::Inside(index, listener);
                            return Poll::Pending;
                        }
                    }
                }
                Phase::Inside(index, listener) => {
                    let index = *index;
                    let mut inner = lock(&barrier.inner);
                    let result = match inner.state {
                        State::Filling => {
                            listener.listen(&barrier.notify, cx.waker());
                            return Poll::Pending;
                        }
                        State::Draining => Ok(index),
                        State::Resetting | State::Broken => Err(BrokenBarrierError),
                    };
                    let wake = inner.exit();
                    drop(inner);
                    if wake {
                        barrier.notify.notify(usize::MAX);
                    }
                    this.phase = Phase::Done;
                    return Poll::Ready(result);
                }
                Phase::Done => panic!("BarrierWait polled after completion"),
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let barrier = self.barrier;
        match mem::replace(&mut self.phase, Phase::Done) {
            Phase::Arrive(mut listener) => {
                listener.discard(&barrier.notify);
            }
            Phase::Inside(_, mut listener) => {
                listener.discard(&barrier.notify);
                let wake = lock(&barrier.inner).exit();
                if wake {
                    barrier.notify.notify(usize::MAX);
                }
            }
            Phase::Done => {}
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("BarrierWait");
        match self.phase {
            Phase::Arrive(_) => d.field("phase", &"arriving"),
            Phase::Inside(index, _) => d.field("index", &index),
            Phase::Done => d.field("phase", &"done"),
        };
        d.finish_non_exhaustive()
    }
}
