//! [`Condition`]: asyncio's `Condition`, a condition variable that owns its lock.

use crate::lock::{Lock, LockAcquire, LockGuard};
use crate::raw::AcquireSlot;
use crate::sync::{block_on, const_fn, Listener, Notify};
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::ptr;
use std::task::{ready, Context, Poll};

/// A condition variable with its own [`Lock`]: asyncio's `Condition`.
///
/// Tasks take the lock with [`lock()`](Condition::lock), check some shared state, and
/// [`wait()`](Condition::wait) for another task to change it and call
/// [`notify()`](Condition::notify) or [`notify_all()`](Condition::notify_all). `wait` takes
/// the guard by value, releases the lock while waiting, and returns the guard once the lock
/// is held again; [`wait_for()`](Condition::wait_for) loops until a predicate holds.
///
/// Waiters are notified in the order they started waiting. Like every condition variable, a
/// waiter may occasionally wake without the state having changed (a "spurious wakeup", for
/// example a notification passed on by a cancelled waiter), so the state is re-checked in a
/// loop: `wait_for` does that for you.
///
/// Unlike asyncio, `notify()` may be called without holding the lock. Change the state the
/// waiters check while holding the lock, though, or a waiter may check, miss the change, and
/// wait for a notification that has already been sent.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use tulip_sync::Condition;
///
/// # futures_lite::future::block_on(async {
/// let cond = Arc::new(Condition::new());
/// let ready = Arc::new(AtomicBool::new(false));
///
/// let notifier = {
///     let (cond, ready) = (Arc::clone(&cond), Arc::clone(&ready));
///     std::thread::spawn(move || {
///         let _guard = cond.lock_blocking();
///         ready.store(true, Ordering::SeqCst);
///         cond.notify_all();
///     })
/// };
///
/// let guard = cond.lock().await;
/// let _guard = cond
///     .wait_for(guard, || ready.load(Ordering::SeqCst))
///     .await;
/// # notifier.join().unwrap();
/// # });
/// ```
pub struct Condition {
    lock: Lock,
    notify: Notify,
}

impl Condition {
    const_fn! {
        /// Creates a condition variable with a new, unlocked lock.
        ///
        /// # Examples
        ///
        /// ```
        /// use tulip_sync::Condition;
        ///
        /// let cond = Condition::new();
        /// assert!(!cond.locked());
        /// ```
        #[must_use]
        pub fn new() -> Condition {
            Condition {
                lock: Lock::new(),
                notify: Notify::new(),
            }
        }
    }

    /// Waits for the condition's lock (asyncio's `await cond.acquire()` /
    /// `async with cond:`).
    ///
    /// # Cancel safety
    ///
    /// As for [`Lock::lock()`]: dropping the future gives up its place in the queue and hands
    /// on a lock that had already been handed to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// # futures_lite::future::block_on(async {
    /// let cond = Condition::new();
    /// let guard = cond.lock().await;
    /// assert!(cond.locked());
    /// drop(guard);
    /// # });
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> LockAcquire<'_> {
        self.lock.lock()
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// let cond = Condition::new();
    /// let guard = cond.try_lock().unwrap();
    /// assert!(cond.try_lock().is_none());
    /// drop(guard);
    /// ```
    #[must_use]
    pub fn try_lock(&self) -> Option<LockGuard<'_>> {
        self.lock.try_lock()
    }

    /// Blocks the current thread until the lock is taken.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// let cond = Condition::new();
    /// let guard = cond.lock_blocking();
    /// assert!(cond.locked());
    /// drop(guard);
    /// ```
    pub fn lock_blocking(&self) -> LockGuard<'_> {
        self.lock.lock_blocking()
    }

    /// Returns `true` if the lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// let cond = Condition::new();
    /// let _guard = cond.try_lock();
    /// assert!(cond.locked());
    /// ```
    #[must_use]
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Releases the lock, waits for a notification, takes the lock again and returns its
    /// guard.
    ///
    /// The waiter is registered before the lock is released, so a task that takes the lock
    /// afterwards and notifies cannot be missed.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped, the lock is not held afterwards: the guard moved in is
    /// released. A notification it received (or was being given the lock back for) is passed
    /// on to the next waiter, as asyncio 3.13 does, so a notification is never lost to a
    /// cancelled waiter; the price is that the next waiter may wake spuriously.
    ///
    /// # Panics
    ///
    /// Panics if `guard` holds a different lock than this condition's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Condition;
    ///
    /// # futures_lite::future::block_on(async {
    /// let cond = Arc::new(Condition::new());
    /// let guard = cond.lock().await;
    /// let notifier = {
    ///     let cond = Arc::clone(&cond);
    ///     std::thread::spawn(move || {
    ///         let _guard = cond.lock_blocking(); // blocks until `wait` released the lock
    ///         cond.notify(1);
    ///     })
    /// };
    /// let guard = cond.wait(guard).await;
    /// assert!(cond.locked());
    /// # drop(guard);
    /// # notifier.join().unwrap();
    /// # });
    /// ```
    pub fn wait<'a>(&'a self, guard: LockGuard<'a>) -> ConditionWait<'a> {
        self.check(&guard);
        ConditionWait {
            cond: self,
            phase: WaitPhase::Start(guard),
        }
    }

    /// Waits until `predicate` returns `true`, checking it first and then after every
    /// wakeup, always with the lock held. Returns the guard (asyncio returns the predicate's
    /// value, which is always true here).
    ///
    /// The predicate must be `Unpin`, as closures are unless they capture a value that is
    /// not.
    ///
    /// # Cancel safety
    ///
    /// As for [`wait()`](Condition::wait): the lock is not held afterwards and a notification
    /// received by the dropped waiter is passed on.
    ///
    /// # Panics
    ///
    /// Panics if `guard` holds a different lock than this condition's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use tulip_sync::Condition;
    ///
    /// # futures_lite::future::block_on(async {
    /// let cond = Condition::new();
    /// let items = AtomicUsize::new(1);
    /// let guard = cond.lock().await;
    /// // Already true: returns without waiting.
    /// let _guard = cond.wait_for(guard, || items.load(Ordering::SeqCst) > 0).await;
    /// # });
    /// ```
    pub fn wait_for<'a, F>(&'a self, guard: LockGuard<'a>, predicate: F) -> ConditionWaitFor<'a, F>
    where
        F: FnMut() -> bool + Unpin,
    {
        self.check(&guard);
        ConditionWaitFor {
            cond: self,
            predicate,
            state: WaitForState::Check(Some(guard)),
        }
    }

    /// Blocking version of [`wait()`](Condition::wait).
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Panics
    ///
    /// Panics if `guard` holds a different lock than this condition's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Condition;
    ///
    /// let cond = Arc::new(Condition::new());
    /// let guard = cond.lock_blocking();
    /// let notifier = {
    ///     let cond = Arc::clone(&cond);
    ///     std::thread::spawn(move || {
    ///         let _guard = cond.lock_blocking();
    ///         cond.notify_all();
    ///     })
    /// };
    /// let _guard = cond.wait_blocking(guard);
    /// notifier.join().unwrap();
    /// ```
    pub fn wait_blocking<'a>(&'a self, guard: LockGuard<'a>) -> LockGuard<'a> {
        block_on(self.wait(guard))
    }

    /// Blocking version of [`wait_for()`](Condition::wait_for).
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Panics
    ///
    /// Panics if `guard` holds a different lock than this condition's.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// let cond = Condition::new();
    /// let guard = cond.lock_blocking();
    /// let _guard = cond.wait_for_blocking(guard, || true);
    /// ```
    pub fn wait_for_blocking<'a, F>(&'a self, guard: LockGuard<'a>, predicate: F) -> LockGuard<'a>
    where
        F: FnMut() -> bool + Unpin,
    {
        block_on(self.wait_for(guard, predicate))
    }

    /// Wakes up to `n` waiters, oldest first, and returns how many were woken.
    ///
    /// Only waiters that have not been notified yet count: two `notify(1)` calls wake two
    /// waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// let cond = Condition::new();
    /// assert_eq!(cond.notify(1), 0); // nobody waits: the notification is not kept
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        self.notify.notify(n)
    }

    /// Wakes every waiter and returns how many were woken.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// let cond = Condition::new();
    /// assert_eq!(cond.notify_all(), 0);
    /// ```
    pub fn notify_all(&self) -> usize {
        self.notify.notify(usize::MAX)
    }

    fn check(&self, guard: &LockGuard<'_>) {
        assert!(
            ptr::eq(guard.lock, &self.lock),
            "Condition::wait called with the guard of another lock"
        );
    }
}

impl Default for Condition {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

/// The phases of one [`Condition::wait()`].
enum WaitPhase<'a> {
    /// Not polled yet: still holds the lock.
    Start(LockGuard<'a>),
    /// Lock released; waiting for a notification.
    Waiting(Listener),
    /// Notified; taking the lock again.
    Relock(AcquireSlot),
    /// Finished.
    Done,
}

/// The future of [`Condition::wait()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Condition;
/// use tulip_sync::futures::ConditionWait;
///
/// # futures_lite::future::block_on(async {
/// let cond = Condition::new();
/// let guard = cond.lock().await;
/// let wait: ConditionWait<'_> = cond.wait(guard);
/// drop(wait); // never polled: just releases the lock
/// assert!(!cond.locked());
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ConditionWait<'a> {
    cond: &'a Condition,
    phase: WaitPhase<'a>,
}

impl<'a> Future for ConditionWait<'a> {
    type Output = LockGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let cond = this.cond;
        loop {
            match &mut this.phase {
                WaitPhase::Start(_) => {
                    // Register first, then release the lock.
                    let listener = cond.notify.listen();
                    this.phase = WaitPhase::Waiting(listener);
                }
                WaitPhase::Waiting(listener) => {
                    ready!(listener.poll(cx));
                    this.phase = WaitPhase::Relock(AcquireSlot::new());
                }
                WaitPhase::Relock(slot) => {
                    ready!(slot.poll::<true>(&cond.lock.raw, cx));
                    this.phase = WaitPhase::Done;
                    return Poll::Ready(LockGuard { lock: &cond.lock });
                }
                WaitPhase::Done => panic!("ConditionWait polled after completion"),
            }
        }
    }
}

impl Drop for ConditionWait<'_> {
    fn drop(&mut self) {
        match mem::replace(&mut self.phase, WaitPhase::Done) {
            // Never waited: dropping the guard releases the lock.
            WaitPhase::Start(guard) => drop(guard),
            WaitPhase::Waiting(listener) => {
                if listener.discard() {
                    // Notified but never returned: pass the notification on.
                    self.cond.notify.notify(1);
                }
            }
            WaitPhase::Relock(mut slot) => {
                slot.cancel(&self.cond.lock.raw);
                // Woken, but the caller never saw it: pass the notification on.
                self.cond.notify.notify(1);
            }
            WaitPhase::Done => {}
        }
    }
}

impl fmt::Debug for ConditionWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            WaitPhase::Start(_) => "start",
            WaitPhase::Waiting(_) => "waiting",
            WaitPhase::Relock(_) => "relocking",
            WaitPhase::Done => "done",
        };
        f.debug_struct("ConditionWait")
            .field("phase", &phase)
            .finish_non_exhaustive()
    }
}

enum WaitForState<'a> {
    /// Holding the lock; check the predicate next.
    Check(Option<LockGuard<'a>>),
    /// Waiting for a notification.
    Waiting(ConditionWait<'a>),
}

/// The future of [`Condition::wait_for()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Condition;
/// use tulip_sync::futures::ConditionWaitFor;
///
/// # futures_lite::future::block_on(async {
/// let cond = Condition::new();
/// let guard = cond.lock().await;
/// let wait: ConditionWaitFor<'_, _> = cond.wait_for(guard, || true);
/// let _guard = wait.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ConditionWaitFor<'a, F> {
    cond: &'a Condition,
    predicate: F,
    state: WaitForState<'a>,
}

impl<'a, F: FnMut() -> bool + Unpin> Future for ConditionWaitFor<'a, F> {
    type Output = LockGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                WaitForState::Check(guard) => {
                    let guard = guard
                        .take()
                        .expect("ConditionWaitFor polled after completion");
                    if (this.predicate)() {
                        return Poll::Ready(guard);
                    }
                    this.state = WaitForState::Waiting(this.cond.wait(guard));
                }
                WaitForState::Waiting(wait) => {
                    let guard = ready!(Pin::new(wait).poll(cx));
                    this.state = WaitForState::Check(Some(guard));
                }
            }
        }
    }
}

impl<F> fmt::Debug for ConditionWaitFor<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConditionWaitFor");
        match &self.state {
            WaitForState::Check(_) => d.field("phase", &"check"),
            WaitForState::Waiting(wait) => d.field("wait", wait),
        };
        d.finish_non_exhaustive()
    }
}
