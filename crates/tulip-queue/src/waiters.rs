//! Wait lists: a FIFO [`WaitList`] behind a short mutex, plus a count of registered
//! waiters.
//!
//! # Protocol
//!
//! A waiter that found its condition false (queue empty, queue full, count not zero, …):
//!
//! 1. inserts an entry with its waker into the list, which raises `unnotified`, the number
//!    of entries not notified yet ([`WaitSlot::poll_wait`]),
//! 2. issues a `SeqCst` fence,
//! 3. checks its condition again, and only then waits (returns `Pending`: its waker is in
//!    the list already).
//!
//! A notifier first changes the state (pushes the item, frees the slot, …), then issues a
//! `SeqCst` fence and reads `unnotified`; only when it is non-zero does it take the list's
//! lock. By the fence-to-fence rule either the notifier sees the entry, or the waiter's
//! re-check sees the new state. So the common cases — nobody waiting, or every waiter
//! notified already and not run yet (a burst of sends to a receiver that was woken by the
//! first) — cost a fence and a load instead of a lock. Skipping the lock then changes
//! nothing: every notification here notifies entries that are not notified yet.
//!
//! `unnotified` is written only under the lock, after every change of the list, so it is
//! the list's count as of the last critical section.
//!
//! # Hand-off
//!
//! One put wakes one getter with an *additional* notification (asyncio's `_wakeup_next`): a
//! second put while the first getter has not run yet wakes a second getter. A notified
//! waiter that is dropped without having used its wake-up passes it on to the next waiter
//! ([`WaitSlot::clear`]), so a cancelled waiter never swallows a hand-off. A waiter that *did*
//! get what it waited for discards its entry instead ([`WaitSlot::discard`]), so success
//! causes no spurious wake-up of a neighbour. (These are event-listener's semantics, which
//! this module used before it had its own list; see [`WaitList`].)
//!
//! # Cost
//!
//! A wait takes the list's lock three times — to register, to be notified, and to take the
//! entry out once woken — and allocates nothing: the list's slab is reused from one wait to
//! the next. Tasks are woken after the lock is released.

use std::{
    fmt,
    task::{Context, Poll, Waker},
};

use tulip_waitlist::{WaitList, WakeList};

use tulip_util::sync::{fence, lock, AtomicUsize, Mutex, Ordering};
use tulip_util::waiting::note_waiting;

/// One wait list (getters, putters, joiners, …).
pub(crate) struct Waiters {
    /// The FIFO list of waiters.
    list: Mutex<WaitList>,
    /// The entries of `list` that are not notified yet; see the module docs.
    unnotified: AtomicUsize,
    /// What its waiters wait for (`"Queue.get"`, ...), for the task dumps of a tulip loop in
    /// debug mode ([`tulip_util::waiting`]).
    what: &'static str,
}

impl Waiters {
    /// An empty wait list whose waiters wait for `what`.
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            list: Mutex::new(WaitList::new()),
            unnotified: AtomicUsize::new(0),
            what,
        }
    }

    /// Whether anyone may be waiting without a notification; the caller has already
    /// changed the state.
    #[inline]
    fn anyone_waiting(&self) -> bool {
        fence(Ordering::SeqCst);
        self.unnotified.load(Ordering::Relaxed) != 0
    }

    /// Notifies `n` waiters (see [`WaitList::notify`]) and wakes them once the lock is
    /// released.
    #[inline(never)]
    fn notify(&self, n: usize, additional: bool) {
        let mut wakers = WakeList::new();
        {
            let mut list = lock(&self.list);
            list.notify(n, additional, &mut wakers);
            self.unnotified.store(list.waiting(), Ordering::Relaxed);
        }
        wakers.wake();
    }

    /// Wakes one more waiter than are already woken (asyncio's `_wakeup_next`).
    #[inline]
    pub(crate) fn notify_one(&self) {
        if self.anyone_waiting() {
            self.notify(1, true);
        }
    }

    /// [`notify_one`](Self::notify_one) on `self` and [`notify_all`](Self::notify_all) on
    /// `all`, with a single fence (a send wakes one receiver and every stream).
    #[inline]
    pub(crate) fn notify_one_and_all(&self, all: &Waiters) {
        fence(Ordering::SeqCst);
        if self.unnotified.load(Ordering::Relaxed) != 0 {
            self.notify(1, true);
        }
        if all.unnotified.load(Ordering::Relaxed) != 0 {
            all.notify(usize::MAX, false);
        }
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        if self.anyone_waiting() {
            self.notify(usize::MAX, false);
        }
    }
}

impl fmt::Debug for Waiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiters")
            .field("unnotified", &self.unnotified.load(Ordering::Relaxed))
            .finish()
    }
}

/// A waiter's place in one [`Waiters`] list; empty until it first waits.
///
/// The slot does not remember its list: its owner passes the same `Waiters` to every call,
/// and must call [`clear`](Self::clear) (usually from `Drop`) before the slot goes away.
#[derive(Default)]
pub(crate) struct WaitSlot {
    /// The key of our entry in the list, while registered.
    key: Option<usize>,
    /// Registered during the current poll and not re-checked yet: the caller's next
    /// [`poll_wait`](Self::poll_wait) returns `Pending` at once.
    fresh: bool,
}

impl WaitSlot {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Self {
            key: None,
            fresh: false,
        }
    }

    /// Whether the slot is registered in its list.
    pub(crate) fn is_registered(&self) -> bool {
        self.key.is_some()
    }

    /// Call when the waiter's condition was found false. `Ready` means "check again", and
    /// `Pending` means "return `Pending`": the waker of `cx` is registered.
    ///
    /// Not registered: registers (steps 1 and 2 of the protocol) and returns `Ready`, for
    /// the re-check of step 3. Just registered, and the re-check failed: `Pending`.
    /// Registered earlier: `Ready` once notified (the slot is then empty again, and
    /// registers anew at the tail if the caller still has to wait), `Pending` otherwise.
    #[inline]
    pub(crate) fn poll_wait(&mut self, waiters: &Waiters, cx: &mut Context<'_>) -> Poll<()> {
        match self.key {
            None => {
                // Steps 1 and 2 of the protocol; the caller re-checks (step 3).
                self.key = Some(Self::register(waiters, cx.waker()));
                self.fresh = true;
                Poll::Ready(())
            }
            Some(_) if self.fresh => {
                self.fresh = false;
                note_waiting(waiters.what, waiters);
                Poll::Pending
            }
            Some(key) => {
                if Self::poll_entry(waiters, key, cx.waker()) {
                    self.key = None;
                    Poll::Ready(())
                } else {
                    note_waiting(waiters.what, waiters);
                    Poll::Pending
                }
            }
        }
    }

    /// Steps 1 and 2 of the protocol; returns the key of the new entry.
    #[inline(never)]
    fn register(waiters: &Waiters, waker: &Waker) -> usize {
        let key = {
            let mut list = lock(&waiters.list);
            let key = list.push(waker.clone());
            waiters.unnotified.store(list.waiting(), Ordering::Relaxed);
            key
        };
        fence(Ordering::SeqCst);
        key
    }

    /// `true` if the entry was notified; it is then out of the list. Taking a notified
    /// entry out leaves `unnotified` as it is.
    #[inline(never)]
    fn poll_entry(waiters: &Waiters, key: usize, waker: &Waker) -> bool {
        lock(&waiters.list).poll(key, waker)
    }

    /// Leaves the list after getting what we waited for: a pending wake-up is consumed, not
    /// passed on.
    #[inline]
    pub(crate) fn discard(&mut self, waiters: &Waiters) {
        if let Some(key) = self.key.take() {
            self.fresh = false;
            Self::discard_entry(waiters, key);
        }
    }

    #[inline(never)]
    fn discard_entry(waiters: &Waiters, key: usize) {
        let mut list = lock(&waiters.list);
        list.remove(key);
        waiters.unnotified.store(list.waiting(), Ordering::Relaxed);
    }

    /// Leaves the list without having got anything (cancellation): a pending wake-up is passed
    /// on to the next waiter.
    #[inline]
    pub(crate) fn clear(&mut self, waiters: &Waiters) {
        if let Some(key) = self.key.take() {
            self.fresh = false;
            Self::clear_entry(waiters, key);
        }
    }

    #[inline(never)]
    fn clear_entry(waiters: &Waiters, key: usize) {
        let mut wakers = WakeList::new();
        {
            let mut list = lock(&waiters.list);
            list.remove_and_pass_on(key, &mut wakers);
            waiters.unnotified.store(list.waiting(), Ordering::Relaxed);
        }
        wakers.wake();
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        debug_assert!(
            self.key.is_none() || std::thread::panicking(),
            "a wait slot was dropped while still registered"
        );
    }
}

impl fmt::Debug for WaitSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitSlot")
            .field("registered", &self.is_registered())
            .finish()
    }
}
