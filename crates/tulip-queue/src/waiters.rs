//! Wait lists: a FIFO [`WaitList`] behind a [`ShortLock`] (a mutex without `std`'s poisoning
//! checks, which cost about 50 instructions per channel round trip), plus a count of
//! registered waiters.
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
//! second put while the first getter has not run yet wakes a second getter. A notification
//! takes the oldest waiting entry out of the list at once ([`WaitList::pop`]) and moves
//! `granted`, an atomic, to that entry's ticket (every entry carries one, growing with every
//! registration, so the list is in ticket order and the entries taken out are always its
//! oldest). A waiter whose ticket is at most `granted` was therefore notified, and knows it
//! without the lock: its entry is gone. A waiter that was not notified takes its entry out
//! under the lock.
//!
//! # Whose notification it is
//!
//! A waiter's loop is: take a notification that reached it
//! ([`WaitSlot::take_notification`], one atomic load), try the operation, and on success
//! leave ([`WaitSlot::discard`]); else wait ([`WaitSlot::poll_wait`]). A notification seen
//! *before* the try announced what the try then finds (the notifier changed the state first),
//! so a woken waiter that succeeds keeps it and leaves without the lock. A notification that
//! arrives *after* the try cannot be told apart from one announcing another item: a future
//! polled without having been woken (inside a `select!`, say) can take an item that was never
//! announced to it, and if the next put's notification then went to its entry, keeping it
//! would leave that item in the queue with its rightful waiter asleep. So `discard` passes
//! such a notification on, like a cancelled waiter ([`WaitSlot::clear`]): at worst one spurious
//! wake-up of the next waiter, who finds nothing and waits again. (Found by the loom model
//! `blocked_getters_on_two_threads_are_both_served` at three preemptions: two getters, the
//! second polled spuriously, took the first put's item and swallowed the second put's
//! notification.)
//!
//! A notified waiter that is dropped without having used its wake-up passes it on to the next
//! waiter ([`WaitSlot::clear`]), so a cancelled waiter never swallows a hand-off. A wake-up
//! passed on is an additional one whatever its kind was: a waiter woken by
//! [`Waiters::notify_all`] that is cancelled before it runs wakes one more waiter than needed
//! (who finds nothing and waits again, at the tail), which costs a wake-up but loses nothing;
//! the list does not remember kinds of entries it gave up.
//!
//! # Cost
//!
//! A wait takes the list's lock twice — to register and to be notified — and allocates
//! nothing: the list's slab is reused from one wait to the next. Tasks are woken after the
//! lock is released. Only a waiter polled again before its notification (a spurious poll, or
//! a new waker) and one that leaves without having been notified take the lock a third time.

use std::{
    fmt,
    task::{Context, Poll, Waker},
};

use tulip_waitlist::{ShortLock, WaitList, WakeList};

use tulip_util::sync::{fence, AtomicU64, AtomicUsize, Ordering};
use tulip_util::waiting::note_waiting;

/// One wait list (getters, putters, joiners, …).
pub(crate) struct Waiters {
    /// The entries of `list` that are not notified yet; see the module docs.
    unnotified: AtomicUsize,
    /// The ticket of the last entry notified (taken out of the list); 0: none yet. Written
    /// under the lock only, after the entry left the list; read by waiters without it.
    granted: AtomicU64,
    /// The FIFO list of waiters, each tagged with its ticket.
    list: ShortLock<List>,
    /// What its waiters wait for (`"Queue.get"`, ...), for the task dumps of a tulip loop in
    /// debug mode ([`tulip_util::waiting`]).
    what: &'static str,
}

/// What the lock of a [`Waiters`] guards.
struct List {
    /// The waiting entries, oldest first, each tagged with its ticket.
    entries: WaitList<u64>,
    /// The ticket of the last entry registered.
    last_ticket: u64,
}

impl Waiters {
    /// An empty wait list whose waiters wait for `what`.
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            unnotified: AtomicUsize::new(0),
            granted: AtomicU64::new(0),
            list: ShortLock::new(List {
                entries: WaitList::new_tagged(),
                last_ticket: 0,
            }),
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

    /// Whether the waiter of `ticket` was notified (its entry is out of the list). `Acquire`
    /// pairs with the `Release` store of the notification: what the notifier did before it
    /// (taking the entry out) is visible afterwards.
    #[inline(always)]
    fn was_notified(&self, ticket: u64) -> bool {
        self.granted.load(Ordering::Acquire) >= ticket
    }

    /// Takes up to `n` of the oldest waiting entries out of `list`, notifying them; their
    /// wakers go to `wakers`. Call with the lock held.
    #[inline(always)]
    fn pop_into(&self, list: &mut List, n: usize, wakers: &mut WakeList) {
        let mut last = None;
        for _ in 0..n {
            let Some((_, waker, ticket)) = list.entries.pop() else {
                break;
            };
            wakers.push(waker);
            last = Some(ticket);
        }
        if let Some(ticket) = last {
            self.granted.store(ticket, Ordering::Release);
        }
        self.unnotified
            .store(list.entries.waiting(), Ordering::Relaxed);
    }

    /// Notifies `n` more waiters, oldest first, and wakes them once the lock is released.
    #[inline(never)]
    fn notify(&self, n: usize) {
        let mut wakers = WakeList::new();
        self.pop_into(&mut self.list.lock(), n, &mut wakers);
        wakers.wake();
    }

    /// Notifies the oldest waiter and wakes it once the lock is released: [`notify`]
    /// for one, without a list of wakers.
    ///
    /// [`notify`]: Self::notify
    #[inline(never)]
    fn notify_oldest(&self) {
        let waker = {
            let mut list = self.list.lock();
            let Some((_, waker, ticket)) = list.entries.pop() else {
                return;
            };
            self.granted.store(ticket, Ordering::Release);
            self.unnotified
                .store(list.entries.waiting(), Ordering::Relaxed);
            waker
        };
        waker.wake();
    }

    /// Wakes one more waiter than are already woken (asyncio's `_wakeup_next`).
    #[inline]
    pub(crate) fn notify_one(&self) {
        if self.anyone_waiting() {
            self.notify_oldest();
        }
    }

    /// [`notify_one`](Self::notify_one) on `self` and [`notify_all`](Self::notify_all) on
    /// `all`, with a single fence (a send wakes one receiver and every stream).
    #[inline]
    pub(crate) fn notify_one_and_all(&self, all: &Waiters) {
        fence(Ordering::SeqCst);
        if self.unnotified.load(Ordering::Relaxed) != 0 {
            self.notify_oldest();
        }
        if all.unnotified.load(Ordering::Relaxed) != 0 {
            all.notify(usize::MAX);
        }
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        if self.anyone_waiting() {
            self.notify(usize::MAX);
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
    /// The key and the ticket of our entry in the list, while registered (and not known to
    /// have been notified).
    entry: Option<(usize, u64)>,
    /// Registered during the current poll and not re-checked yet: the caller's next
    /// [`poll_wait`](Self::poll_wait) returns `Pending` at once.
    fresh: bool,
}

impl WaitSlot {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Self {
            entry: None,
            fresh: false,
        }
    }

    /// Whether the slot is registered in its list.
    pub(crate) fn is_registered(&self) -> bool {
        self.entry.is_some()
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
        match self.entry {
            None => {
                // Steps 1 and 2 of the protocol; the caller re-checks (step 3).
                self.entry = Some(Self::register(waiters, cx.waker()));
                self.fresh = true;
                Poll::Ready(())
            }
            Some(_) if self.fresh => {
                self.fresh = false;
                note_waiting(waiters.what, waiters);
                Poll::Pending
            }
            Some((key, ticket)) => {
                if waiters.was_notified(ticket) || Self::poll_entry(waiters, key, ticket, cx) {
                    self.entry = None;
                    Poll::Ready(())
                } else {
                    note_waiting(waiters.what, waiters);
                    Poll::Pending
                }
            }
        }
    }

    /// Steps 1 and 2 of the protocol; returns the key and the ticket of the new entry.
    #[inline(never)]
    fn register(waiters: &Waiters, waker: &Waker) -> (usize, u64) {
        let entry = {
            let mut list = waiters.list.lock();
            list.last_ticket += 1;
            let ticket = list.last_ticket;
            let key = list.entries.push_tagged(waker.clone(), ticket);
            waiters
                .unnotified
                .store(list.entries.waiting(), Ordering::Relaxed);
            (key, ticket)
        };
        fence(Ordering::SeqCst);
        entry
    }

    /// A registered waiter polled before its notification was seen: `true` if it came
    /// meanwhile, else the entry keeps waiting with the waker of `cx`.
    #[inline(never)]
    fn poll_entry(waiters: &Waiters, key: usize, ticket: u64, cx: &mut Context<'_>) -> bool {
        let mut list = waiters.list.lock();
        // Notifications are made under the lock: this load sees every one made so far.
        if waiters.was_notified(ticket) {
            return true;
        }
        let notified = list.entries.poll(key, cx.waker());
        debug_assert!(!notified, "an entry taken out as notified was still listed");
        false
    }

    /// Call at the top of the waiter's loop, before it tries its operation: a notification
    /// that reached the slot is taken now (its entry is out of the list already), and the
    /// try that follows is what it announced. One load when registered, nothing otherwise.
    ///
    /// Only a notification seen here is the waiter's to keep. One that arrives after it may
    /// announce an item (or a free place) that this waiter's successful try did not take:
    /// [`discard`](Self::discard) passes it on (see the module docs).
    #[inline]
    pub(crate) fn take_notification(&mut self, waiters: &Waiters) {
        if let Some((_, ticket)) = self.entry {
            if waiters.was_notified(ticket) {
                self.entry = None;
                self.fresh = false;
            }
        }
    }

    /// Leaves the list after getting what we waited for. A notification the loop took with
    /// [`take_notification`](Self::take_notification) before its try is consumed; the slot
    /// is then empty and this does nothing. A notification that came since is passed on to
    /// the next waiter, as [`clear`](Self::clear) does: it may announce an item this waiter
    /// did not take.
    #[inline]
    pub(crate) fn discard(&mut self, waiters: &Waiters) {
        if let Some((key, ticket)) = self.entry.take() {
            self.fresh = false;
            Self::clear_entry(waiters, key, ticket);
        }
    }

    /// Leaves the list without having got anything (cancellation): a pending wake-up is passed
    /// on to the next waiter.
    #[inline]
    pub(crate) fn clear(&mut self, waiters: &Waiters) {
        if let Some((key, ticket)) = self.entry.take() {
            self.fresh = false;
            Self::clear_entry(waiters, key, ticket);
        }
    }

    #[inline(never)]
    fn clear_entry(waiters: &Waiters, key: usize, ticket: u64) {
        let mut wakers = WakeList::new();
        {
            let mut list = waiters.list.lock();
            if waiters.was_notified(ticket) {
                // Woken and never used: the next waiter gets it.
                waiters.pop_into(&mut list, 1, &mut wakers);
            } else {
                list.entries.remove(key);
                waiters
                    .unnotified
                    .store(list.entries.waiting(), Ordering::Relaxed);
            }
        }
        wakers.wake();
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        debug_assert!(
            self.entry.is_none() || std::thread::panicking(),
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
