//! Wait lists: an event-listener [`Event`] plus a count of registered waiters.
//!
//! # Protocol
//!
//! A waiter that found its condition false (queue empty, queue full, count not zero, …):
//!
//! 1. inserts a listener into the event ([`WaitSlot::register`]),
//! 2. increments `waiting`, then issues a `SeqCst` fence,
//! 3. checks its condition again, and only then waits for the listener.
//!
//! A notifier first changes the state (pushes the item, frees the slot, …), then issues a
//! `SeqCst` fence and reads `waiting`; only when it is non-zero does it call into the event.
//! By the fence-to-fence rule either the notifier sees the increment (and the listener, which
//! was inserted before it), or the waiter's re-check sees the new state. So the common case —
//! nobody waiting — costs a fence and a load instead of event-listener's internal lock.
//!
//! # Hand-off
//!
//! One put wakes one getter with an *additional* notification (asyncio's `_wakeup_next`): a
//! second put while the first getter has not run yet wakes a second getter. A notified
//! listener that is dropped without having consumed its wake-up passes it on to the next
//! listener (event-listener's propagation), so a cancelled waiter never swallows a hand-off.
//! A waiter that *did* get what it waited for discards its listener instead
//! ([`WaitSlot::discard`]), so success causes no spurious wake-up of a neighbour.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use event_listener::{Event, EventListener, IntoNotification, Listener};

use crate::sync::{fence, AtomicUsize, Ordering};

/// One wait list (getters, putters, joiners, …).
pub(crate) struct Waiters {
    /// The FIFO list of listeners.
    event: Event,
    /// How many [`WaitSlot`]s are registered on `event`. May briefly over-count (a slot that
    /// is being removed); never under-counts a registered slot.
    waiting: AtomicUsize,
}

impl Waiters {
    /// An empty wait list.
    pub(crate) fn new() -> Self {
        Self {
            event: Event::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Whether anyone may be waiting; the caller has already changed the state.
    fn anyone_waiting(&self) -> bool {
        fence(Ordering::SeqCst);
        self.waiting.load(Ordering::Relaxed) != 0
    }

    /// Wakes one more waiter than are already woken (asyncio's `_wakeup_next`).
    pub(crate) fn notify_one(&self) {
        if self.anyone_waiting() {
            self.event.notify(1.additional());
        }
    }

    /// [`notify_one`](Self::notify_one) on `self` and [`notify_all`](Self::notify_all) on
    /// `all`, with a single fence (a send wakes one receiver and every stream).
    pub(crate) fn notify_one_and_all(&self, all: &Waiters) {
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::Relaxed) != 0 {
            self.event.notify(1.additional());
        }
        if all.waiting.load(Ordering::Relaxed) != 0 {
            all.event.notify(usize::MAX);
        }
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        if self.anyone_waiting() {
            self.event.notify(usize::MAX);
        }
    }
}

impl fmt::Debug for Waiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiters")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

/// A waiter's place in one [`Waiters`] list; empty until [`register`](Self::register)ed.
///
/// The slot does not remember its list: its owner passes the same `Waiters` to every call,
/// and must call [`clear`](Self::clear) (usually from `Drop`) before the slot goes away.
#[derive(Default)]
pub(crate) struct WaitSlot {
    listener: Option<EventListener>,
}

impl WaitSlot {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Self { listener: None }
    }

    /// Whether the slot holds a listener.
    pub(crate) fn is_registered(&self) -> bool {
        self.listener.is_some()
    }

    /// Steps 1 and 2 of the protocol. The caller re-checks its condition afterwards.
    pub(crate) fn register(&mut self, waiters: &Waiters) {
        debug_assert!(self.listener.is_none(), "slot registered twice");
        self.listener = Some(waiters.event.listen());
        waiters.waiting.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Polls the registered listener. On a wake-up the slot is empty again, and the caller
    /// re-checks its condition (and registers anew if it still has to wait).
    pub(crate) fn poll(&mut self, waiters: &Waiters, cx: &mut Context<'_>) -> Poll<()> {
        let listener = self
            .listener
            .as_mut()
            .expect("polled a wait slot that is not registered");
        match Pin::new(listener).poll(cx) {
            Poll::Ready(()) => {
                self.listener = None;
                waiters.waiting.fetch_sub(1, Ordering::Relaxed);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Leaves the list after getting what we waited for: a pending wake-up is consumed, not
    /// passed on.
    pub(crate) fn discard(&mut self, waiters: &Waiters) {
        if let Some(listener) = self.listener.take() {
            listener.discard();
            waiters.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Leaves the list without having got anything (cancellation): a pending wake-up is passed
    /// on to the next waiter.
    pub(crate) fn clear(&mut self, waiters: &Waiters) {
        if self.listener.take().is_some() {
            waiters.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for WaitSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitSlot")
            .field("registered", &self.is_registered())
            .finish()
    }
}
