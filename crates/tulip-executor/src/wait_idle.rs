//! [`wait_idle`]: wait until every other task of the loop is blocked (Trio's
//! `wait_all_tasks_blocked`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulip_util::lock;

use crate::current;
use crate::executor::shared::Shared;

/// The tasks waiting in [`wait_idle`], kept by the executor.
#[derive(Default)]
pub(crate) struct IdleWaiters {
    /// Whether `waiters` may be non-empty: the one atomic read the loop pays when idle.
    wanted: AtomicBool,
    waiters: Mutex<Vec<(Arc<AtomicBool>, Waker)>>,
}

impl IdleWaiters {
    /// Whether some task waits for the loop to be idle.
    pub(crate) fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Acquire)
    }

    /// Wakes every waiter; `false` if there were none (the loop may sleep).
    pub(crate) fn wake_all(&self) -> bool {
        let waiters = {
            let mut w = lock(&self.waiters);
            self.wanted.store(false, Ordering::Release);
            std::mem::take(&mut *w)
        };
        let any = !waiters.is_empty();
        for (fired, waker) in waiters {
            fired.store(true, Ordering::Release);
            waker.wake();
        }
        any
    }

    fn register(&self, fired: &Arc<AtomicBool>, waker: &Waker) {
        let mut w = lock(&self.waiters);
        match w.iter_mut().find(|(f, _)| Arc::ptr_eq(f, fired)) {
            Some((_, old)) => {
                if !old.will_wake(waker) {
                    old.clone_from(waker);
                }
            }
            None => w.push((fired.clone(), waker.clone())),
        }
        self.wanted.store(true, Ordering::Release);
    }

    fn remove(&self, fired: &Arc<AtomicBool>) {
        let mut w = lock(&self.waiters);
        w.retain(|(f, _)| !Arc::ptr_eq(f, fired));
        if w.is_empty() {
            self.wanted.store(false, Ordering::Release);
        }
    }
}

/// Waits until every other task of the loop is blocked (Trio's `wait_all_tasks_blocked`):
/// no task, callback or due timer is left to run, so the loop would otherwise sleep, or, on
/// a paused clock, move time forward. Tests use it to let everything that can happen now
/// happen, without sleeping and without moving virtual time.
///
/// - It resolves *before* a paused clock advances: after `wait_idle().await` the clock reads
///   what it did, and every task is parked on something in the future.
/// - On the single-threaded loop, timers already due and I/O already ready are collected
///   first (they are not idle). On a multi-threaded loop it resolves when every worker is
///   about to sleep; I/O the reactor has not collected yet counts as blocked, as in Trio.
/// - Work on the blocking pool ([`spawn_blocking`]) does not count: its tasks are threads.
/// - Several tasks may wait at once; they are all woken together.
///
/// [`spawn_blocking`]: https://docs.rs/tulip-runtime
///
/// # Cancel safety
///
/// Cancel safe: dropping it takes its waker back.
///
/// # Panics
///
/// Polling it outside a tulip event loop panics.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// let steps = Arc::new(AtomicUsize::new(0));
/// let s = steps.clone();
/// let _t = tulip_executor::spawn(async move {
///     for _ in 0..100 {
///         s.fetch_add(1, SeqCst);
///         tulip_executor::yield_now().await;
///     }
/// });
/// tulip_executor::wait_idle().await;
/// assert_eq!(steps.load(SeqCst), 100); // it ran to its end meanwhile
/// # });
/// ```
#[doc(alias = "wait_all_tasks_blocked")]
pub fn wait_idle() -> WaitIdle {
    WaitIdle {
        fired: Arc::new(AtomicBool::new(false)),
        shared: None,
    }
}

/// Future of [`wait_idle`].
///
/// # Cancel safety
///
/// Cancel safe: dropping it takes its waker back.
#[must_use = "futures do nothing unless polled"]
pub struct WaitIdle {
    fired: Arc<AtomicBool>,
    /// The loop it waits on, once polled.
    shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for WaitIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitIdle")
            .field("fired", &self.fired.load(Ordering::Relaxed))
            .finish()
    }
}

impl Future for WaitIdle {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.load(Ordering::Acquire) {
            self.shared = None;
            return Poll::Ready(());
        }
        if self.shared.is_none() {
            let shared = current::with_ctx(|c| c.map(|c| c.shared().clone()))
                .expect("wait_idle() must be polled inside a tulip event loop");
            self.shared = Some(shared);
        }
        let this = &*self;
        let shared = this.shared.as_ref().expect("set above");
        shared.idle.register(&this.fired, cx.waker());
        // The loop may be idle already, but it is polling us, so it is not: it will look
        // again before it sleeps.
        Poll::Pending
    }
}

impl Drop for WaitIdle {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.idle.remove(&self.fired);
        }
    }
}
