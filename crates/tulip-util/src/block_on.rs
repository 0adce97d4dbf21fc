//! [`block_on`]: a future driven to completion on a plain thread.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes the blocked thread. `woken` tells a real wake from a spurious unpark, and keeps a
/// wake that lands between a `Pending` poll and the `park` from being lost: the thread only
/// parks while `woken` is false.
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

/// Polls `future` on this thread until it completes, parking the thread between polls.
///
/// Never call it from a task on an event loop: it blocks the loop's thread.
///
/// A fresh waker per call (one allocation) keeps nested calls from taking each other's
/// wake-ups; the thread is about to block anyway.
///
/// # Examples
///
/// ```
/// let (tx, rx) = std::sync::mpsc::channel();
/// std::thread::spawn(move || tx.send(7).unwrap());
/// let n = tulip_util::block_on(async move { rx.recv().unwrap() });
/// assert_eq!(n, 7);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&unparker));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        while !unparker.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    /// Pending until another thread fires it.
    #[derive(Default)]
    struct Shot(Mutex<(bool, Option<Waker>)>);

    impl Future for &Shot {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut g = self.0.lock().unwrap();
            if g.0 {
                Poll::Ready(())
            } else {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    #[test]
    fn waits_for_a_wake_from_another_thread() {
        let shot = Arc::new(Shot::default());
        let s = shot.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            let w = {
                let mut g = s.0.lock().unwrap();
                g.0 = true;
                g.1.take()
            };
            w.into_iter().for_each(Waker::wake);
        });
        super::block_on(&*shot);
        t.join().unwrap();
    }

    #[test]
    fn nested_calls_finish() {
        assert_eq!(
            super::block_on(async { super::block_on(async { 1 }) + 1 }),
            2
        );
    }
}
