//! [`FutureSet`]: futures polled concurrently inside one task, each with its own waker, yielding
//! outputs in completion order. The engine under `gather`, `try_gather`, `as_completed` and
//! `wait` (a small `FuturesUnordered`).
//!
//! Every future gets a waker that records its index in a shared ready queue and wakes the task
//! polling the set, so a wake-up costs one poll of the future that was woken, not a poll of all
//! of them. The ready queue is the only shared state:
//!
//! - an index is in `queue` at most once (`queued[i]`), so a future woken many times between
//!   two polls of the set is polled once;
//! - `queued[i]` is cleared when the set takes `i` out of the queue, *before* polling future
//!   `i`, so a wake that arrives while it is being polled queues it again;
//! - a push onto an empty queue wakes the set's task (through the waker stored by the set's
//!   most recent poll); a push onto a non-empty queue does not need to, since the task was
//!   already woken for the earlier push and will drain the whole queue.
//!
//! A poll of the set drains the queue at most once: a future that wakes itself every time it
//! is polled (`yield_now` in a loop) cannot keep the set's task in one endless poll.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// The ready queue shared between a set and its futures' wakers.
#[derive(Debug)]
struct Ready {
    state: Mutex<ReadyState>,
}

#[derive(Debug)]
struct ReadyState {
    /// Indices of futures woken since the set last drained the queue.
    queue: Vec<usize>,
    /// `queued[i]`: whether `i` is in `queue`.
    queued: Vec<bool>,
    /// The waker of the task polling the set, from its most recent poll.
    parent: Option<Waker>,
}

impl Ready {
    fn lock(&self) -> MutexGuard<'_, ReadyState> {
        // A panic while the lock is held leaves the state consistent (pushes are atomic).
        tulip_util::lock(&self.state)
    }

    fn push(&self, index: usize) {
        let parent = {
            let mut st = self.lock();
            if st.queued[index] {
                return;
            }
            st.queued[index] = true;
            st.queue.push(index);
            if st.queue.len() > 1 {
                return;
            }
            st.parent.clone()
        };
        if let Some(w) = parent {
            w.wake();
        }
    }
}

/// The waker of future `index`.
struct SlotWaker {
    index: usize,
    ready: Arc<Ready>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.index);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.index);
    }
}

/// Futures polled concurrently, yielding `(index, future, output)` as each completes.
///
/// `S` is `Unpin` (a `Pin<Box<F>>` for arbitrary futures, or an `Unpin` handle such as a
/// `Task` that must be handed back by value).
pub(crate) struct FutureSet<S> {
    /// The futures still running; `None` once completed or taken.
    slots: Vec<Option<S>>,
    /// `wakers[i]` is future `i`'s waker.
    wakers: Vec<Waker>,
    ready: Arc<Ready>,
    /// Indices taken from the ready queue and not polled yet.
    batch: VecDeque<usize>,
    /// Number of `Some` slots.
    remaining: usize,
}

impl<S> std::fmt::Debug for FutureSet<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FutureSet")
            .field("len", &self.slots.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl<S> FutureSet<S> {
    /// Number of futures given to the set.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Number of futures still running.
    pub(crate) fn remaining(&self) -> usize {
        self.remaining
    }
}

impl<S: Future + Unpin> FutureSet<S> {
    /// A set of `futures`, all of them due for a first poll.
    pub(crate) fn new(futures: Vec<S>) -> FutureSet<S> {
        let n = futures.len();
        let ready = Arc::new(Ready {
            state: Mutex::new(ReadyState {
                queue: Vec::new(),
                queued: vec![false; n],
                parent: None,
            }),
        });
        let wakers = (0..n)
            .map(|index| {
                Waker::from(Arc::new(SlotWaker {
                    index,
                    ready: ready.clone(),
                }))
            })
            .collect();
        FutureSet {
            slots: futures.into_iter().map(Some).collect(),
            wakers,
            ready,
            batch: (0..n).collect(),
            remaining: n,
        }
    }

    /// Polls the futures that were woken; returns the next one to complete, `Ready(None)` when
    /// none is left, or `Pending` (with a wake-up registered) when none of them completed.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(usize, S, S::Output)>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let mut refilled = false;
        loop {
            while let Some(i) = self.batch.pop_front() {
                let Some(fut) = self.slots[i].as_mut() else {
                    continue;
                };
                let mut child_cx = Context::from_waker(&self.wakers[i]);
                if let Poll::Ready(out) = Pin::new(fut).poll(&mut child_cx) {
                    let fut = self.slots[i].take().expect("checked above");
                    self.remaining -= 1;
                    return Poll::Ready(Some((i, fut, out)));
                }
            }
            if refilled {
                // Anything woken meanwhile is queued and has woken (or will wake) `cx`.
                return Poll::Pending;
            }
            refilled = true;
            let mut st = self.ready.lock();
            if !st.parent.as_ref().is_some_and(|p| p.will_wake(cx.waker())) {
                st.parent = Some(cx.waker().clone());
            }
            let ReadyState { queue, queued, .. } = &mut *st;
            for i in queue.drain(..) {
                queued[i] = false;
                self.batch.push_back(i);
            }
            drop(st);
            if self.batch.is_empty() {
                return Poll::Pending;
            }
        }
    }

    /// Takes the futures still running out of the set, in index order.
    pub(crate) fn take_remaining(&mut self) -> Vec<(usize, S)> {
        self.remaining = 0;
        self.batch.clear();
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.take().map(|s| (i, s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::{pending, ready};

    fn noop_cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn yields_ready_futures_then_none() {
        let futs: Vec<Pin<Box<dyn Future<Output = u32> + Send>>> =
            vec![Box::pin(ready(1)), Box::pin(pending()), Box::pin(ready(3))];
        let mut set = FutureSet::new(futs);
        let mut cx = noop_cx();
        let mut got = Vec::new();
        while let Poll::Ready(Some((i, _, v))) = set.poll_next(&mut cx) {
            got.push((i, v));
        }
        assert_eq!(got, [(0, 1), (2, 3)]);
        assert_eq!(set.remaining(), 1);
        let left: Vec<usize> = set.take_remaining().into_iter().map(|(i, _)| i).collect();
        assert_eq!(left, [1]);
        assert!(matches!(set.poll_next(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn only_woken_futures_are_polled_again() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        struct Count(Arc<AtomicUsize>);
        impl Future for Count {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                self.0.fetch_add(1, SeqCst);
                Poll::Pending
            }
        }
        let polls: Vec<_> = (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        let mut set = FutureSet::new(polls.iter().map(|p| Count(p.clone())).collect());
        let mut cx = noop_cx();
        assert!(set.poll_next(&mut cx).is_pending());
        set.wakers[1].wake_by_ref();
        set.wakers[1].wake_by_ref();
        assert!(set.poll_next(&mut cx).is_pending());
        let counts: Vec<usize> = polls.iter().map(|p| p.load(SeqCst)).collect();
        assert_eq!(counts, [1, 2, 1]);
    }
}
