//! [`Condition`]: asyncio's `Condition`, a condition variable with its lock.

use std::sync::Arc;
use tulip_util::sync::block_on;

use crate::lock::{Lock, LockAcquire, LockAcquireArc, LockGuard, LockGuardArc};
use crate::notify::{Listener, Notify};
use crate::raw::AcquireSlot;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::ptr;
use std::task::{ready, Context, Poll};

/// A condition variable with its own [`Lock`]: asyncio's `Condition`.
///
/// [`Condition::new()`] creates the lock; [`Condition::with_lock()`] shares an existing one,
/// as asyncio's `Condition(lock)` does (several conditions on one lock, for example "not
/// empty" and "not full" of a queue).
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
/// For `'static` tasks, [`lock_arc()`](Condition::lock_arc) returns an owned [`LockGuardArc`]
/// and [`wait_arc()`](Condition::wait_arc) / [`wait_for_arc()`](Condition::wait_for_arc)
/// take and return one.
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
    lock: Arc<Lock>,
    notify: Notify,
}

impl Condition {
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
        Condition::with_lock(Arc::new(Lock::new()))
    }

    /// Creates a condition variable that uses `lock` (asyncio's `Condition(lock)`), so that
    /// several conditions can share one lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::{Condition, Lock};
    ///
    /// let lock = Arc::new(Lock::new());
    /// let not_empty = Condition::with_lock(Arc::clone(&lock));
    /// let not_full = Condition::with_lock(Arc::clone(&lock));
    /// let guard = not_empty.try_lock().unwrap();
    /// assert!(not_full.locked());
    /// assert!(lock.locked());
    /// drop(guard);
    /// ```
    #[must_use]
    pub fn with_lock(lock: Arc<Lock>) -> Condition {
        Condition {
            lock,
            notify: Notify::new(),
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

    /// Waits for the lock with an owned guard, for `'static` tasks; pass the guard to
    /// [`wait_arc()`](Condition::wait_arc).
    ///
    /// # Cancel safety
    ///
    /// As for [`Lock::lock()`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// # futures_lite::future::block_on(async {
    /// let cond = Condition::new();
    /// let guard = cond.lock_arc().await;
    /// std::thread::spawn(move || drop(guard)).join().unwrap();
    /// assert!(!cond.locked());
    /// # });
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock_arc(&self) -> LockAcquireArc {
        self.lock.lock_arc()
    }

    /// [`try_lock()`](Condition::try_lock) with an owned guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Condition;
    ///
    /// let cond = Condition::new();
    /// let guard = cond.try_lock_arc().unwrap();
    /// assert!(cond.try_lock_arc().is_none());
    /// drop(guard);
    /// ```
    #[must_use]
    pub fn try_lock_arc(&self) -> Option<LockGuardArc> {
        self.lock.try_lock_arc()
    }

    /// [`lock_blocking()`](Condition::lock_blocking) with an owned guard.
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
    /// let guard = cond.lock_arc_blocking();
    /// assert!(cond.locked());
    /// drop(guard);
    /// ```
    pub fn lock_arc_blocking(&self) -> LockGuardArc {
        self.lock.lock_arc_blocking()
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

    /// [`wait()`](Condition::wait) with an owned guard: the future is `'static`.
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
    /// use std::sync::Arc;
    /// use tulip_sync::Condition;
    ///
    /// # futures_lite::future::block_on(async {
    /// let cond = Arc::new(Condition::new());
    /// let guard = cond.lock_arc().await;
    /// let wait = cond.wait_arc(guard); // owns everything it needs
    /// let notifier = {
    ///     let cond = Arc::clone(&cond);
    ///     std::thread::spawn(move || {
    ///         let _guard = cond.lock_blocking();
    ///         cond.notify(1);
    ///     })
    /// };
    /// let _guard = wait.await;
    /// # notifier.join().unwrap();
    /// # });
    /// ```
    pub fn wait_arc(self: &Arc<Self>, guard: LockGuardArc) -> ConditionWaitArc {
        self.check_arc(&guard);
        ConditionWaitArc {
            cond: Arc::clone(self),
            phase: WaitPhase::Start(guard),
        }
    }

    /// [`wait_for()`](Condition::wait_for) with an owned guard: the future is `'static`
    /// if the predicate is.
    ///
    /// # Cancel safety
    ///
    /// As for [`wait()`](Condition::wait).
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
    /// let guard = cond.lock_arc().await;
    /// let _guard = cond.wait_for_arc(guard, || true).await;
    /// # });
    /// ```
    pub fn wait_for_arc<F>(
        self: &Arc<Self>,
        guard: LockGuardArc,
        predicate: F,
    ) -> ConditionWaitForArc<F>
    where
        F: FnMut() -> bool + Unpin,
    {
        self.check_arc(&guard);
        ConditionWaitForArc {
            cond: Arc::clone(self),
            predicate,
            state: WaitForArcState::Check(Some(guard)),
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
            ptr::eq(guard.lock, &*self.lock),
            "Condition::wait called with the guard of another lock"
        );
    }

    fn check_arc(&self, guard: &LockGuardArc) {
        assert!(
            Arc::ptr_eq(&guard.lock, &self.lock),
            "Condition::wait_arc called with the guard of another lock"
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

/// The phases of one [`Condition::wait()`]; `G` is the guard type.
enum WaitPhase<G> {
    /// Not polled yet: still holds the lock.
    Start(G),
    /// Lock released; waiting for a notification.
    Waiting(Listener),
    /// Notified; taking the lock again.
    Relock(AcquireSlot),
    /// Finished.
    Done,
}

impl<G> WaitPhase<G> {
    /// Drives the wait; `Ready` once the lock is held again (the caller builds the guard).
    fn poll(&mut self, cond: &Condition, cx: &mut Context<'_>) -> Poll<()> {
        crate::noting(self.poll_phases(cond, cx), "Condition", cond)
    }

    fn poll_phases(&mut self, cond: &Condition, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self {
                WaitPhase::Start(_) => {
                    // Register first (with our waker), then release the lock by dropping the
                    // guard: a notification sent once the lock is free finds us.
                    let mut listener = Listener::new();
                    listener.listen(&cond.notify, cx.waker());
                    *self = WaitPhase::Waiting(listener);
                    return Poll::Pending;
                }
                WaitPhase::Waiting(listener) => {
                    ready!(listener.poll(&cond.notify, cx));
                    *self = WaitPhase::Relock(AcquireSlot::new());
                }
                WaitPhase::Relock(slot) => {
                    ready!(slot.poll::<true>(&cond.lock.raw, cx));
                    *self = WaitPhase::Done;
                    return Poll::Ready(());
                }
                WaitPhase::Done => panic!("Condition wait polled after completion"),
            }
        }
    }

    /// Cancels the wait: releases the lock if still held, leaves the queues, and passes on a
    /// notification that was received but never returned to the caller.
    fn cancel(&mut self, cond: &Condition) {
        match mem::replace(self, WaitPhase::Done) {
            // Never waited: dropping the guard releases the lock.
            WaitPhase::Start(guard) => drop(guard),
            WaitPhase::Waiting(mut listener) => {
                if listener.discard(&cond.notify) {
                    // Notified but never returned: pass the notification on.
                    cond.notify.notify(1);
                }
            }
            WaitPhase::Relock(mut slot) => {
                slot.cancel(&cond.lock.raw);
                // Woken, but the caller never saw it: pass the notification on.
                cond.notify.notify(1);
            }
            WaitPhase::Done => {}
        }
    }

    fn name(&self) -> &'static str {
        match self {
            WaitPhase::Start(_) => "start",
            WaitPhase::Waiting(_) => "waiting",
            WaitPhase::Relock(_) => "relocking",
            WaitPhase::Done => "done",
        }
    }
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
    phase: WaitPhase<LockGuard<'a>>,
}

impl<'a> Future for ConditionWait<'a> {
    type Output = LockGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let cond = this.cond;
        ready!(this.phase.poll(cond, cx));
        Poll::Ready(LockGuard { lock: &cond.lock })
    }
}

impl Drop for ConditionWait<'_> {
    fn drop(&mut self) {
        self.phase.cancel(self.cond);
    }
}

impl fmt::Debug for ConditionWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWait")
            .field("phase", &self.phase.name())
            .finish_non_exhaustive()
    }
}

/// The future of [`Condition::wait_arc()`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::Condition;
/// use tulip_sync::futures::ConditionWaitArc;
///
/// # futures_lite::future::block_on(async {
/// let cond = Arc::new(Condition::new());
/// let guard = cond.lock_arc().await;
/// let wait: ConditionWaitArc = cond.wait_arc(guard);
/// drop(wait); // never polled: just releases the lock
/// assert!(!cond.locked());
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ConditionWaitArc {
    cond: Arc<Condition>,
    phase: WaitPhase<LockGuardArc>,
}

impl Future for ConditionWaitArc {
    type Output = LockGuardArc;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        ready!(this.phase.poll(&this.cond, cx));
        Poll::Ready(LockGuardArc {
            lock: Arc::clone(&this.cond.lock),
        })
    }
}

impl Drop for ConditionWaitArc {
    fn drop(&mut self) {
        self.phase.cancel(&self.cond);
    }
}

impl fmt::Debug for ConditionWaitArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWaitArc")
            .field("phase", &self.phase.name())
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

enum WaitForArcState {
    /// Holding the lock; check the predicate next.
    Check(Option<LockGuardArc>),
    /// Waiting for a notification.
    Waiting(ConditionWaitArc),
}

/// The future of [`Condition::wait_for_arc()`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::Condition;
/// use tulip_sync::futures::ConditionWaitForArc;
///
/// # futures_lite::future::block_on(async {
/// let cond = Arc::new(Condition::new());
/// let guard = cond.lock_arc().await;
/// let wait: ConditionWaitForArc<_> = cond.wait_for_arc(guard, || true);
/// let _guard = wait.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ConditionWaitForArc<F> {
    cond: Arc<Condition>,
    predicate: F,
    state: WaitForArcState,
}

impl<F: FnMut() -> bool + Unpin> Future for ConditionWaitForArc<F> {
    type Output = LockGuardArc;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                WaitForArcState::Check(guard) => {
                    let guard = guard
                        .take()
                        .expect("ConditionWaitForArc polled after completion");
                    if (this.predicate)() {
                        return Poll::Ready(guard);
                    }
                    this.state = WaitForArcState::Waiting(this.cond.wait_arc(guard));
                }
                WaitForArcState::Waiting(wait) => {
                    let guard = ready!(Pin::new(wait).poll(cx));
                    this.state = WaitForArcState::Check(Some(guard));
                }
            }
        }
    }
}

impl<F> fmt::Debug for ConditionWaitForArc<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConditionWaitForArc");
        match &self.state {
            WaitForArcState::Check(_) => d.field("phase", &"check"),
            WaitForArcState::Waiting(wait) => d.field("wait", wait),
        };
        d.finish_non_exhaustive()
    }
}
