//! The FIFO wait queue every waiting primitive of this crate keeps behind its own mutex.
//!
//! A [`WaitList`] is a slab of entries plus a doubly linked FIFO of the waiting ones,
//! threaded through the slab by index. A waiter [`push`](WaitList::push)es an entry with its
//! waker and keeps the returned key; a notifier marks the oldest waiting entry as notified
//! ([`notify_one`](WaitList::notify_one)), which unlinks it from the FIFO and hands back its
//! waker; the waiter later takes its entry out, either because it saw the notification
//! ([`poll`](WaitList::poll)) or because it gave up ([`remove`](WaitList::remove), which says
//! whether a notification was lost with it, so that the caller can pass it on).
//!
//! Every operation is O(1). Entries that leave go on a free list and are reused, so a
//! primitive whose number of waiters stays bounded allocates nothing once the slab has
//! grown to that number: there is no allocation per wait. A slab that grew large (a burst of
//! waiters) is given back to the allocator when the list becomes empty.
//!
//! The list does no locking and no waking itself: its owner holds a lock around every call
//! and wakes the returned wakers after releasing it (see [`WakeList`]), so no task is woken
//! while the lock is held. A key is only valid
//! until its entry is taken out by `poll` or `remove`; only the waiter that pushed the entry
//! takes it out, so a key is never stale while its owner holds it.

use std::fmt;
use std::mem;
use std::task::Waker;

/// "No entry": the end of a link, or an empty free list.
const NIL: usize = usize::MAX;

/// A slab with more entries than this is freed when the list becomes empty.
const SHRINK_ABOVE: usize = 1024;

enum Entry {
    /// Unused; `next_free` links the free list.
    Vacant { next_free: usize },
    /// Waiting, linked into the FIFO.
    Waiting {
        waker: Waker,
        prev: usize,
        next: usize,
    },
    /// Notified (and unlinked), until its waiter takes it out.
    Notified,
}

/// A FIFO wait queue without allocation per wait; see the module docs.
pub(crate) struct WaitList {
    entries: Vec<Entry>,
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

impl WaitList {
    /// An empty list; allocates nothing until the first waiter.
    #[inline(always)]
    pub(crate) const fn new() -> Self {
        Self {
            entries: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            waiting: 0,
            notified: 0,
        }
    }

    /// Waiting (not notified) entries.
    #[inline(always)]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Notified entries whose waiters have not taken them out yet.
    #[inline(always)]
    pub(crate) fn notified(&self) -> usize {
        self.notified
    }

    /// Appends a waiting entry at the tail and returns its key.
    #[inline(always)]
    pub(crate) fn push(&mut self, waker: Waker) -> usize {
        let entry = Entry::Waiting {
            waker,
            prev: self.tail,
            next: NIL,
        };
        let key = if self.free == NIL {
            self.entries.push(entry);
            self.entries.len() - 1
        } else {
            let key = self.free;
            match mem::replace(&mut self.entries[key], entry) {
                Entry::Vacant { next_free } => self.free = next_free,
                _ => unreachable!("the free list links an entry in use"),
            }
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

    /// Notifies the oldest waiting entry and returns its waker; `None` if nobody waits.
    #[inline(always)]
    pub(crate) fn notify_one(&mut self) -> Option<Waker> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        let Entry::Waiting { waker, next, .. } =
            mem::replace(&mut self.entries[key], Entry::Notified)
        else {
            unreachable!("the FIFO links an entry that is not waiting")
        };
        self.head = next;
        match next {
            NIL => self.tail = NIL,
            next => self.set_prev(next, NIL),
        }
        self.waiting -= 1;
        self.notified += 1;
        Some(waker)
    }

    /// The waiter of `key` looks at its entry. If it was notified, the entry is taken out
    /// and this returns `true`; otherwise the entry keeps waiting, now with `waker`.
    #[inline(always)]
    pub(crate) fn poll(&mut self, key: usize, waker: &Waker) -> bool {
        match &mut self.entries[key] {
            Entry::Notified => {
                self.vacate(key);
                self.notified -= 1;
                self.shrink_if_empty();
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

    /// Takes the entry of `key` out, waiting or not; `true` if it had been notified.
    #[inline(always)]
    pub(crate) fn remove(&mut self, key: usize) -> bool {
        let notified = match mem::replace(&mut self.entries[key], Entry::Notified) {
            Entry::Notified => {
                self.notified -= 1;
                true
            }
            Entry::Waiting { prev, next, .. } => {
                match prev {
                    NIL => self.head = next,
                    prev => self.set_next(prev, next),
                }
                match next {
                    NIL => self.tail = prev,
                    next => self.set_prev(next, prev),
                }
                self.waiting -= 1;
                false
            }
            Entry::Vacant { .. } => unreachable!("removed a vacant wait-list entry"),
        };
        self.vacate(key);
        self.shrink_if_empty();
        notified
    }

    #[inline(always)]
    fn vacate(&mut self, key: usize) {
        self.entries[key] = Entry::Vacant {
            next_free: self.free,
        };
        self.free = key;
    }

    /// Gives a large slab back once nobody is in it.
    #[inline(always)]
    fn shrink_if_empty(&mut self) {
        if self.waiting == 0 && self.notified == 0 && self.entries.capacity() > SHRINK_ABOVE {
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

impl fmt::Debug for WaitList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.waiting)
            .field("notified", &self.notified)
            .finish()
    }
}

/// Wakers collected under a lock, to [`wake`](WakeList::wake) once it is released.
#[must_use = "the wakers must be woken"]
pub(crate) struct WakeList {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl WakeList {
    /// An empty list.
    #[inline(always)]
    pub(crate) const fn new() -> Self {
        Self {
            first: None,
            more: Vec::new(),
        }
    }

    /// Adds a waker (woken in the order added).
    #[inline(always)]
    pub(crate) fn push(&mut self, waker: Waker) {
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.more.push(waker);
        }
    }

    /// Wakes every waker, in the order they were added. Call it after releasing the lock
    /// the wakers were collected under.
    #[inline(always)]
    pub(crate) fn wake(self) {
        // `more` is only used once `first` is taken.
        if let Some(waker) = self.first {
            waker.wake();
            if !self.more.is_empty() {
                wake_all(self.more);
            }
        }
    }
}

#[cold]
fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
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

#[cfg(all(test, not(tulip_loom)))]
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

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&count), Waker::from(count))
    }

    #[test]
    fn fifo_order_with_removals_and_reuse() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        let keys: Vec<usize> = (0..5).map(|_| list.push(w.clone())).collect();
        assert!(!list.remove(keys[0]));
        assert!(!list.remove(keys[2]));
        assert!(!list.remove(keys[4]));
        let k5 = list.push(w.clone()); // reuses a vacant entry, queued last
        assert!(keys.contains(&k5));
        assert_eq!(list.waiting(), 3);
        list.notify_one().unwrap();
        assert!(list.poll(keys[1], &w));
        list.notify_one().unwrap();
        assert!(!list.poll(k5, &w), "k5 is behind keys[3]");
        assert!(list.remove(keys[3]), "keys[3] was notified");
        list.notify_one().unwrap();
        assert!(list.poll(k5, &w));
        assert!(list.notify_one().is_none());
        assert_eq!((list.waiting(), list.notified()), (0, 0));
    }

    #[test]
    fn poll_updates_the_waker() {
        let mut list = WaitList::new();
        let (a, wa) = waker();
        let (b, wb) = waker();
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
    fn a_large_slab_is_freed_when_empty() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        let keys: Vec<usize> = (0..2 * SHRINK_ABOVE)
            .map(|_| list.push(w.clone()))
            .collect();
        for key in keys {
            list.remove(key);
        }
        assert_eq!(list.entries.capacity(), 0);
        let key = list.push(w);
        assert_eq!(key, 0);
    }
}
