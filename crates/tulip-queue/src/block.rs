//! Driving one of our futures to completion on a plain thread (the `*_blocking` methods).

use std::future::Future;

/// Blocks the current thread until `fut` completes.
///
/// Every `*_blocking` method is this applied to the matching future, so blocking and async
/// callers share one code path and one set of cancel-safety arguments.
#[cfg(not(tulip_loom))]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    use std::{
        pin::pin,
        sync::{
            atomic::{AtomicBool, Ordering},
            Arc,
        },
        task::{Context, Poll, Wake, Waker},
        thread::{self, Thread},
    };

    /// Wakes the blocked thread. `woken` makes a wake that lands between a `Pending` poll and
    /// the `park` count: `park` returns at once when the token is already there, and the flag
    /// tells a real wake from a spurious unpark.
    struct Unparker {
        thread: Thread,
        woken: AtomicBool,
    }

    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            if !self.woken.swap(true, Ordering::Release) {
                self.thread.unpark();
            }
        }
    }

    // A fresh parker per call (one allocation) keeps nested calls from stealing each other's
    // wake-ups; the thread is about to block anyway.
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&unparker));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        while !unparker.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

/// Under loom, loom's executor: it parks the loom thread and lets the model explore the rest.
#[cfg(tulip_loom)]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    loom::future::block_on(fut)
}
