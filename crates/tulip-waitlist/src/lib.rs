//! A FIFO wait queue without an allocation per wait, for async primitives that keep their
//! waiters behind a lock of their own (tulip-sync's locks and semaphores, tulip-queue's queues
//! and channels).
//!
//! A [`WaitList`] is a slab of entries plus a doubly linked FIFO of the waiting ones,
//! threaded through the slab by index. A waiter [`push`](WaitList::push)es an entry with its
//! waker and keeps the returned key; [`notify`](WaitList::notify) (or
//! [`notify_one`](WaitList::notify_one)) marks the oldest waiting entries as notified, which
//! unlinks them from the FIFO and hands back their wakers; the waiter later takes its entry
//! out: after seeing the notification ([`poll`](WaitList::poll)), after getting what it waited
//! for anyway ([`remove`](WaitList::remove), the notification is consumed), or when it gives up
//! ([`remove_and_pass_on`](WaitList::remove_and_pass_on), a notification it did not use goes
//! to the next waiter).
//!
//! An owner that tells its waiters they were picked through state of its own (an atomic they
//! read without its lock) can instead [`pop`](WaitList::pop) the oldest entry out of the list
//! at once; the entries then carry a tag for it ([`push_tagged`](WaitList::push_tagged), e.g.
//! a ticket), handed back by `pop`.
//!
//! Notifications come in event-listener's two kinds: *additional* ones (`notify(n, true)`)
//! notify `n` more waiters than are notified already; plain ones (`notify(n, false)`) make
//! sure that `n` waiters are notified, counting those notified earlier that have not taken
//! their entries out. A notification passed on by a cancelled waiter keeps its kind.
//!
//! Every operation is O(1) per entry touched. Entries that leave go on a free list and are
//! reused, so a list whose number of waiters stays bounded allocates nothing once its slab
//! has grown to that number: there is no allocation per wait. A slab that grew large (a
//! burst of waiters) is given back to the allocator when the list becomes empty.
//!
//! The list does no locking and no waking itself: its owner holds a lock around every call
//! (this crate's [`ShortLock`], a mutex without `std`'s poisoning checks, or any other)
//! and wakes the collected wakers after releasing it (see [`WakeList`]), so no task is woken
//! while the lock is held. A key is only valid until its entry is taken out; only the waiter
//! that pushed an entry takes it out, so a key is never stale while its owner holds it.
//!
//! # Examples
//!
//! ```
//! use std::task::Waker;
//! use tulip_waitlist::{WaitList, WakeList};
//!
//! let mut list = WaitList::new();
//! let first = list.push(Waker::noop().clone());
//! let second = list.push(Waker::noop().clone());
//!
//! // A notifier, under the owner's lock, picks the oldest waiter...
//! let mut wakers = WakeList::new();
//! assert_eq!(list.notify(1, true, &mut wakers), 1);
//! // ...and wakes it once the lock is released.
//! wakers.wake();
//!
//! // The first waiter sees its notification; the second still waits.
//! assert!(list.poll(first, Waker::noop()));
//! assert!(!list.poll(second, Waker::noop()));
//! // The second gives up: it had no notification, so nothing is passed on.
//! assert_eq!(list.remove(second), None);
//! assert_eq!((list.waiting(), list.notified()), (0, 0));
//! ```

#![deny(unsafe_code)]

// The one module with `unsafe` code: the data cell behind the lock's guard.
#[allow(unsafe_code)]
mod short_lock;

pub use short_lock::{ShortGuard, ShortLock};

use std::{fmt, mem, task::Waker};

/// "No entry": the end of a link, or an empty free list.
const NIL: usize = usize::MAX;

/// A slab with more entries than this is freed when the list becomes empty.
const SHRINK_ABOVE: usize = 1024;

enum Entry<T> {
    /// Unused; `next_free` links the free list.
    Vacant { next_free: usize },
    /// Waiting, linked into the FIFO, with the owner's tag. The oldest entry's `prev` is
    /// stale (never read: [`remove`](WaitList::remove) compares the key with `head`), so
    /// that taking the head out does not write to the next entry.
    Waiting {
        waker: Waker,
        prev: usize,
        next: usize,
        tag: T,
    },
    /// Notified (and unlinked), until its waiter takes it out; `additional` is the kind of
    /// the notification, for passing it on.
    Notified { additional: bool },
}

/// A FIFO wait queue without allocation per wait; see the module docs.
///
/// Each waiting entry carries a tag of type `T` for its owner (nothing by default): see
/// [`push_tagged`](WaitList::push_tagged) and [`pop`](WaitList::pop).
pub struct WaitList<T = ()> {
    entries: Vec<Entry<T>>,
    /// Oldest and newest waiting entries.
    head: usize,
    tail: usize,
    /// First vacant entry.
    free: usize,
    /// Entries in the FIFO.
    waiting: usize,
    /// Notified entries not taken out yet.
    notified: usize,
}

impl<T: Copy> Default for WaitList<T> {
    fn default() -> Self {
        Self::new_tagged()
    }
}

impl WaitList {
    /// An empty list; allocates nothing until the first waiter.
    #[inline(always)]
    pub const fn new() -> Self {
        Self::new_tagged()
    }

    /// Appends a waiting entry at the tail and returns its key.
    #[inline(always)]
    pub fn push(&mut self, waker: Waker) -> usize {
        self.push_tagged(waker, ())
    }
}

impl<T: Copy> WaitList<T> {
    /// An empty list whose entries carry a tag of type `T`; allocates nothing until the
    /// first waiter.
    #[inline(always)]
    pub const fn new_tagged() -> Self {
        Self {
            entries: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            waiting: 0,
            notified: 0,
        }
    }

    /// Entries waiting, not notified yet.
    #[inline(always)]
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Notified entries whose waiters have not taken them out yet.
    #[inline(always)]
    pub fn notified(&self) -> usize {
        self.notified
    }

    /// Appends a waiting entry with `tag` at the tail and returns its key.
    #[inline(always)]
    pub fn push_tagged(&mut self, waker: Waker, tag: T) -> usize {
        let entry = Entry::Waiting {
            waker,
            prev: self.tail,
            next: NIL,
            tag,
        };
        let key = if self.free == NIL {
            self.entries.push(entry);
            self.entries.len() - 1
        } else {
            let key = self.free;
            let slot = &mut self.entries[key];
            let Entry::Vacant { next_free } = *slot else {
                unreachable!("the free list links an entry in use")
            };
            // The slot is known vacant here: nothing to drop, a plain write.
            *slot = entry;
            self.free = next_free;
            key
        };
        match self.tail {
            NIL => self.head = key,
            tail => self.set_next(tail, key),
        }
        self.tail = key;
        self.waiting += 1;
        key
    }

    /// Notifies up to `n` waiting entries, oldest first, with event-listener's semantics
    /// (see the module docs); their wakers go to `wakers`. Returns how many were notified.
    #[inline(always)]
    pub fn notify(&mut self, n: usize, additional: bool, wakers: &mut WakeList) -> usize {
        let n = if additional {
            n
        } else {
            n.saturating_sub(self.notified)
        };
        let mut count = 0;
        while count < n {
            let key = self.head;
            if key == NIL {
                break;
            }
            wakers.push(self.notify_head(key, additional));
            count += 1;
        }
        count
    }

    /// Notifies the oldest waiting entry (an additional notification) and returns its waker
    /// for the caller to wake after releasing its lock; `None` if nobody waits.
    #[inline(always)]
    pub fn notify_one(&mut self) -> Option<Waker> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        Some(self.notify_head(key, true))
    }

    /// Takes the oldest waiting entry out of the list altogether, without the notified
    /// stage: returns its key (vacant now, and free for the next push), its waker, for the
    /// caller to wake after releasing its lock, and its tag; `None` if nobody waits.
    ///
    /// For an owner that tells the waiter it was picked through state of its own (an atomic
    /// the waiter reads without the owner's lock, compared with the tag), so that the waiter
    /// never comes back to the list once picked.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(usize, Waker, T)> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        // The entry goes straight onto the free list: one write to the slab.
        let Entry::Waiting {
            waker, next, tag, ..
        } = mem::replace(
            &mut self.entries[key],
            Entry::Vacant {
                next_free: self.free,
            },
        )
        else {
            unreachable!("the FIFO links an entry that is not waiting")
        };
        self.free = key;
        self.head = next;
        self.waiting -= 1;
        if next == NIL {
            self.tail = NIL;
            self.shrink_if_empty();
        }
        Some((key, waker, tag))
    }

    /// Marks the head entry `key` as notified and unlinks it; returns its waker.
    #[inline(always)]
    fn notify_head(&mut self, key: usize, additional: bool) -> Waker {
        let Entry::Waiting { waker, next, .. } =
            mem::replace(&mut self.entries[key], Entry::Notified { additional })
        else {
            unreachable!("the FIFO links an entry that is not waiting")
        };
        self.head = next;
        if next == NIL {
            self.tail = NIL;
        }
        self.waiting -= 1;
        self.notified += 1;
        waker
    }

    /// The waiter of `key` looks at its entry. If it was notified, the entry is taken out
    /// (the notification is used) and this returns `true`; otherwise the entry keeps
    /// waiting, now with `waker`.
    #[inline(always)]
    pub fn poll(&mut self, key: usize, waker: &Waker) -> bool {
        match &mut self.entries[key] {
            Entry::Notified { .. } => {
                self.notified -= 1;
                self.vacate(key);
                true
            }
            Entry::Waiting { waker: old, .. } => {
                if !old.will_wake(waker) {
                    *old = waker.clone();
                }
                false
            }
            Entry::Vacant { .. } => unreachable!("polled a vacant wait-list entry"),
        }
    }

    /// Takes the entry of `key` out, consuming a notification it may have received. Returns
    /// the kind of that notification, if any.
    #[inline(always)]
    pub fn remove(&mut self, key: usize) -> Option<bool> {
        let notification = match mem::replace(
            &mut self.entries[key],
            Entry::Notified { additional: false },
        ) {
            Entry::Notified { additional } => {
                self.notified -= 1;
                Some(additional)
            }
            Entry::Waiting { prev, next, .. } => {
                // The head's `prev` is stale.
                let prev = if key == self.head { NIL } else { prev };
                match prev {
                    NIL => self.head = next,
                    prev => self.set_next(prev, next),
                }
                match next {
                    NIL => self.tail = prev,
                    next => self.set_prev(next, prev),
                }
                self.waiting -= 1;
                None
            }
            Entry::Vacant { .. } => unreachable!("removed a vacant wait-list entry"),
        };
        self.vacate(key);
        notification
    }

    /// Takes the entry of `key` out; a notification it received and did not use is passed
    /// on to the next waiting entry (event-listener's drop of a notified listener).
    #[inline(always)]
    pub fn remove_and_pass_on(&mut self, key: usize, wakers: &mut WakeList) {
        if let Some(additional) = self.remove(key) {
            self.notify(1, additional, wakers);
        }
    }

    #[inline(always)]
    fn vacate(&mut self, key: usize) {
        self.entries[key] = Entry::Vacant {
            next_free: self.free,
        };
        self.free = key;
        self.shrink_if_empty();
    }

    /// Gives a large slab back once nobody is in the list.
    #[inline(always)]
    fn shrink_if_empty(&mut self) {
        if self.waiting == 0 && self.notified == 0 && self.entries.capacity() > SHRINK_ABOVE {
            // Nobody is in the list: give a large slab back.
            self.entries = Vec::new();
            self.free = NIL;
        }
    }

    #[inline(always)]
    fn set_next(&mut self, key: usize, to: usize) {
        match &mut self.entries[key] {
            Entry::Waiting { next, .. } => *next = to,
            _ => unreachable!("the FIFO links an entry that is not waiting"),
        }
    }

    #[inline(always)]
    fn set_prev(&mut self, key: usize, to: usize) {
        match &mut self.entries[key] {
            Entry::Waiting { prev, .. } => *prev = to,
            _ => unreachable!("the FIFO links an entry that is not waiting"),
        }
    }
}

impl<T> fmt::Debug for WaitList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.waiting)
            .field("notified", &self.notified)
            .finish()
    }
}

/// Wakers collected under a lock, to [`wake`](WakeList::wake) once it is released.
#[must_use = "the wakers must be woken"]
pub struct WakeList {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl Default for WakeList {
    fn default() -> Self {
        Self::new()
    }
}

impl WakeList {
    /// An empty list.
    #[inline(always)]
    pub const fn new() -> Self {
        Self {
            first: None,
            more: Vec::new(),
        }
    }

    /// Adds a waker (woken in the order added).
    #[inline(always)]
    pub fn push(&mut self, waker: Waker) {
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.more.push(waker);
        }
    }

    /// Wakes every waker, in the order they were added. Call it after releasing the lock
    /// the wakers were collected under.
    ///
    /// # Panics
    ///
    /// If a waker panics, the ones after it are woken all the same, and then the first
    /// panic is resumed: one bad waker does not keep the other waiters asleep.
    #[inline(always)]
    pub fn wake(self) {
        // `more` is only used once `first` is taken.
        if let Some(waker) = self.first {
            if self.more.is_empty() {
                waker.wake();
            } else {
                wake_all(waker, self.more);
            }
        }
    }
}

#[cold]
fn wake_all(first: Waker, more: Vec<Waker>) {
    let mut panic = None;
    for waker in std::iter::once(first).chain(more) {
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake())) {
            panic.get_or_insert(p);
        }
    }
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
}

impl fmt::Debug for WakeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeList")
            .field(
                "len",
                &(usize::from(self.first.is_some()) + self.more.len()),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> Waker {
        counted().1
    }

    fn counted() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&count), Waker::from(count))
    }

    fn notify(list: &mut WaitList, n: usize, additional: bool) -> usize {
        let mut wakers = WakeList::new();
        let count = list.notify(n, additional, &mut wakers);
        wakers.wake();
        count
    }

    #[test]
    fn additional_and_plain_notifications() {
        let mut list = WaitList::new();
        let keys: Vec<usize> = (0..4).map(|_| list.push(waker())).collect();
        assert_eq!(notify(&mut list, 1, true), 1);
        assert_eq!(notify(&mut list, 1, true), 1);
        // Two are notified already: a plain notify(2) adds none, notify(3) one.
        assert_eq!(notify(&mut list, 2, false), 0);
        assert_eq!(notify(&mut list, 3, false), 1);
        assert!(list.poll(keys[0], &waker()));
        assert!(list.poll(keys[1], &waker()));
        assert!(list.poll(keys[2], &waker()));
        assert!(!list.poll(keys[3], &waker()));
        assert_eq!(notify(&mut list, usize::MAX, false), 1);
        assert!(list.poll(keys[3], &waker()));
    }

    #[test]
    fn a_dropped_notified_entry_passes_its_notification_on() {
        let mut list = WaitList::new();
        let a = list.push(waker());
        let b = list.push(waker());
        let c = list.push(waker());
        notify(&mut list, 1, true);
        // `b` leaves without a notification: nothing to pass on.
        let mut wakers = WakeList::new();
        list.remove_and_pass_on(b, &mut wakers);
        wakers.wake();
        assert!(!list.poll(c, &waker()));
        // `a` leaves with one: `c` gets it.
        let mut wakers = WakeList::new();
        list.remove_and_pass_on(a, &mut wakers);
        wakers.wake();
        assert!(list.poll(c, &waker()));
        // A consumed notification is not passed on.
        let d = list.push(waker());
        let e = list.push(waker());
        notify(&mut list, 1, true);
        assert_eq!(list.remove(d), Some(true));
        assert!(!list.poll(e, &waker()));
        assert_eq!(list.remove(e), None);
    }

    #[test]
    fn a_plain_notification_passed_on_counts_those_still_notified() {
        let mut list = WaitList::new();
        let a = list.push(waker());
        let b = list.push(waker());
        notify(&mut list, usize::MAX, false);
        let c = list.push(waker());
        // `b` is still notified, so `a`'s plain notification passed on adds nobody.
        let mut wakers = WakeList::new();
        list.remove_and_pass_on(a, &mut wakers);
        wakers.wake();
        assert!(!list.poll(c, &waker()));
        // Now nobody else is notified: `b`'s goes to `c`.
        let mut wakers = WakeList::new();
        list.remove_and_pass_on(b, &mut wakers);
        wakers.wake();
        assert!(list.poll(c, &waker()));
    }

    #[test]
    fn a_large_slab_is_freed_when_empty() {
        let mut list = WaitList::new();
        let keys: Vec<usize> = (0..2 * SHRINK_ABOVE).map(|_| list.push(waker())).collect();
        for key in keys {
            list.remove(key);
        }
        assert_eq!(list.entries.capacity(), 0);
        assert_eq!(list.push(waker()), 0);
    }

    #[test]
    fn fifo_order_with_removals_and_reuse() {
        let mut list = WaitList::new();
        let w = waker();
        let keys: Vec<usize> = (0..5).map(|_| list.push(w.clone())).collect();
        assert_eq!(list.remove(keys[0]), None);
        assert_eq!(list.remove(keys[2]), None);
        assert_eq!(list.remove(keys[4]), None);
        let k5 = list.push(w.clone()); // reuses a vacant entry, queued last
        assert!(keys.contains(&k5));
        assert_eq!(list.waiting(), 3);
        list.notify_one().unwrap();
        assert!(list.poll(keys[1], &w));
        list.notify_one().unwrap();
        assert!(!list.poll(k5, &w), "k5 is behind keys[3]");
        assert_eq!(list.remove(keys[3]), Some(true), "keys[3] was notified");
        list.notify_one().unwrap();
        assert!(list.poll(k5, &w));
        assert!(list.notify_one().is_none());
        assert_eq!((list.waiting(), list.notified()), (0, 0));
    }

    #[test]
    fn pop_takes_the_oldest_out_and_frees_its_entry() {
        let mut list = WaitList::new();
        let (a, wa) = counted();
        let first = list.push(wa);
        let second = list.push(waker());
        let third = list.push(waker());
        assert_eq!(list.remove(second), None);
        let (key, w, ()) = list.pop().unwrap();
        assert_eq!(key, first);
        w.wake();
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        assert_eq!((list.waiting(), list.notified()), (1, 0));
        // The popped entry is vacant and reused; the FIFO continues with `third`.
        let fourth = list.push(waker());
        assert!(fourth == first || fourth == second);
        assert_eq!(list.pop().map(|(k, _, ())| k), Some(third));
        assert_eq!(list.pop().map(|(k, _, ())| k), Some(fourth));
        assert!(list.pop().is_none());
        assert_eq!((list.waiting(), list.notified()), (0, 0));
    }

    #[test]
    fn removing_the_head_after_pops_keeps_the_links() {
        // After a pop (or a notify) the new head's `prev` still names the entry that left;
        // `remove` must not follow it.
        let mut list = WaitList::<u64>::new_tagged();
        let a = list.push_tagged(waker(), 1);
        let b = list.push_tagged(waker(), 2);
        let c = list.push_tagged(waker(), 3);
        assert_eq!(list.pop().map(|(k, _, t)| (k, t)), Some((a, 1)));
        // `a`'s slot is reused at the tail; `b`, the head, leaves.
        let d = list.push_tagged(waker(), 4);
        assert_eq!(d, a);
        assert_eq!(list.remove(b), None);
        // `c` is head and `d` tail; `c` leaves, then `d`, the only one left.
        assert_eq!(list.remove(c), None);
        assert_eq!(list.remove(d), None);
        assert_eq!((list.waiting(), list.notified()), (0, 0));
        // The list is empty and consistent: a new entry is head and tail.
        let e = list.push_tagged(waker(), 5);
        let f = list.push_tagged(waker(), 6);
        assert_eq!(list.pop().map(|(k, _, t)| (k, t)), Some((e, 5)));
        assert_eq!(list.pop().map(|(k, _, t)| (k, t)), Some((f, 6)));
        assert!(list.pop().is_none());
        // Same after a notification took the head out.
        let mut plain = WaitList::new();
        let g = plain.push(waker());
        let h = plain.push(waker());
        plain.notify_one().unwrap();
        assert_eq!(plain.remove(h), None);
        let i = plain.push(waker());
        assert!(plain.poll(g, &waker()));
        plain.notify_one().unwrap();
        assert!(plain.poll(i, &waker()));
        assert_eq!((plain.waiting(), plain.notified()), (0, 0));
    }

    #[test]
    fn tags_follow_their_entries() {
        let mut list = WaitList::<u64>::new_tagged();
        let a = list.push_tagged(waker(), 10);
        let b = list.push_tagged(waker(), 11);
        let c = list.push_tagged(waker(), 12);
        assert_eq!(list.remove(b), None);
        let d = list.push_tagged(waker(), 13); // reuses b's entry, queued last
        assert_eq!(d, b);
        let popped: Vec<(usize, u64)> = std::iter::from_fn(|| list.pop())
            .map(|(key, _, tag)| (key, tag))
            .collect();
        assert_eq!(popped, [(a, 10), (c, 12), (d, 13)]);
    }

    #[test]
    fn poll_updates_the_waker() {
        let mut list = WaitList::new();
        let (a, wa) = counted();
        let (b, wb) = counted();
        let key = list.push(wa);
        assert!(!list.poll(key, &wb));
        let mut wakers = WakeList::new();
        wakers.push(list.notify_one().unwrap());
        wakers.wake();
        assert_eq!(a.0.load(Ordering::SeqCst), 0);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        assert!(list.poll(key, &wb));
    }

    #[test]
    fn notify_one_and_notify_count_the_same_waiters() {
        let mut list = WaitList::new();
        let keys: Vec<usize> = (0..3).map(|_| list.push(waker())).collect();
        assert!(list.notify_one().is_some());
        // One is notified already: a plain notify(1) adds nobody, notify(2) one more.
        assert_eq!(notify(&mut list, 1, false), 0);
        assert_eq!(notify(&mut list, 2, false), 1);
        assert_eq!((list.waiting(), list.notified()), (1, 2));
        for key in keys {
            list.remove(key);
        }
        assert_eq!((list.waiting(), list.notified()), (0, 0));
    }
}
