//! [`Notify`]: a FIFO wait list behind its own short mutex, for the primitives that have no
//! mutex of their own to keep one under (`Event`, `Condition`'s notifications, `RwLock`'s
//! readers and draining writer, `Barrier`).
//!
//! The semaphore core (`raw.rs`) does not use this type: it keeps its own line of waiters
//! (`line.rs`) under the mutex it already takes when a task has to wait.
//!
//! # Semantics
//!
//! Listeners are queued in FIFO order; [`Notify::notify`] notifies the oldest `n` listeners
//! that are not notified yet and wakes them; a notified listener completes when polled;
//! [`Listener::discard`] takes a listener out and says whether it had been notified (the
//! caller decides whether to pass that notification on: nothing is passed on implicitly).
//! A notification sent while nobody listens is not kept.
//!
//! # The lock-free fast path of `notify`
//!
//! `waiting` mirrors the number of listeners not notified yet; it is written under the
//! mutex and read without it. [`Listener::listen`] issues a `SeqCst` fence after inserting
//! the listener, and [`Notify::notify`] one before reading `waiting`; every caller changes
//! the state it waits for *before* notifying and looks at it again *after* listening. By the
//! fence-to-fence rule, either the notifier sees the new listener, or the listener's second
//! look sees the new state. So `notify` with nobody listening (every `RwLock` write unlock,
//! for example) is a fence and a load, without the lock.

use std::fmt;
use std::task::{Context, Poll, Waker};
use tulip_util::const_fn;
use tulip_util::sync::{fence, lock, AtomicUsize, Mutex, Ordering};
use tulip_waitlist::{WaitList, WakeList};

/// A FIFO list of listeners; see the module docs.
pub(crate) struct Notify {
    list: Mutex<WaitList>,
    /// `list.waiting()`, for the fast path of [`notify`](Notify::notify). Written only
    /// under the mutex.
    waiting: AtomicUsize,
}

impl Notify {
    const_fn! {
        /// An empty list; allocates nothing until the first listener.
        pub(crate) fn new() -> Notify {
            Notify {
                list: Mutex::new(WaitList::new()),
                waiting: AtomicUsize::new(0),
            }
        }
    }

    /// Notifies the oldest `n` listeners not notified yet, wakes them (after releasing the
    /// lock), and returns how many were notified.
    pub(crate) fn notify(&self, n: usize) -> usize {
        fence(Ordering::SeqCst);
        if n == 0 || self.waiting.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let mut wakers = WakeList::new();
        let mut list = lock(&self.list);
        let mut count = 0;
        while count < n {
            match list.notify_one() {
                Some(waker) => wakers.push(waker),
                None => break,
            }
            count += 1;
        }
        self.waiting.store(list.waiting(), Ordering::Relaxed);
        drop(list);
        wakers.wake();
        count
    }
}

impl Notify {
    /// Takes the entry of `key` out; `true` if it had been notified.
    #[inline(never)]
    fn remove(&self, key: usize) -> bool {
        let mut list = lock(&self.list);
        let notified = list.remove(key).is_some();
        self.waiting.store(list.waiting(), Ordering::Relaxed);
        notified
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

/// A waiter's place in one [`Notify`] list, or none.
///
/// It does not remember its list: the owner passes the same `Notify` to every call, and
/// must [`discard`](Self::discard) the listener (usually in its `Drop`) unless a
/// [`poll`](Self::poll) returned `Ready`.
pub(crate) struct Listener {
    key: Option<usize>,
}

impl Listener {
    /// Not listening.
    pub(crate) const fn new() -> Self {
        Self { key: None }
    }

    /// Whether this listener is in a list.
    pub(crate) fn is_listening(&self) -> bool {
        self.key.is_some()
    }

    /// Appends this listener to `notify`, to be woken through `waker`. The caller looks at
    /// the state it waits for again afterwards (see the module docs).
    pub(crate) fn listen(&mut self, notify: &Notify, waker: &Waker) {
        debug_assert!(self.key.is_none(), "listener already listening");
        let mut list = lock(&notify.list);
        self.key = Some(list.push(waker.clone()));
        notify.waiting.store(list.waiting(), Ordering::Relaxed);
        drop(list);
        fence(Ordering::SeqCst);
    }

    /// `Ready` once notified; the listener has then left the list. Otherwise the listener
    /// waits on, woken through `cx`'s waker.
    pub(crate) fn poll(&mut self, notify: &Notify, cx: &mut Context<'_>) -> Poll<()> {
        let key = self.key.expect("polled a listener that is not listening");
        if lock(&notify.list).poll(key, cx.waker()) {
            self.key = None;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Leaves the list if in it; `true` if this listener had been notified (the caller
    /// passes the notification on if it must).
    #[inline]
    pub(crate) fn discard(&mut self, notify: &Notify) -> bool {
        match self.key.take() {
            Some(key) => notify.remove(key),
            None => false,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        debug_assert!(
            self.key.is_none() || std::thread::panicking(),
            "a listener was dropped while still in its list"
        );
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("listening", &self.is_listening())
            .finish()
    }
}
