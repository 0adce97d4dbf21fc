//! [`yield_now`]: give the loop a turn (asyncio's `sleep(0)`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets every other ready task and callback run once before this task continues (asyncio's
/// `await asyncio.sleep(0)`).
///
/// # Cancel safety
///
/// Cancel safe: it holds nothing.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let _t = tulip_executor::spawn(async move { r.store(true, SeqCst) });
/// tulip_executor::yield_now().await;
/// assert!(ran.load(SeqCst), "the spawned task ran while we yielded");
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
