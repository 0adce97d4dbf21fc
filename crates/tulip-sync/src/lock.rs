//! [`Lock`]: asyncio's `Lock`, a mutual-exclusion lock that guards no data.

use std::sync::Arc;
use tulip_util::const_fn;

use crate::raw::{AcquireSlot, RawSemaphore};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An async mutual-exclusion lock that guards no data: asyncio's `Lock`.
///
/// [`lock()`](Lock::lock) waits until the lock is free and returns a [`LockGuard`]; the lock
/// is released when the guard is dropped, so releasing a lock one does not hold (asyncio's
/// `RuntimeError`) cannot be written. Use [`Mutex<T>`](crate::Mutex) when the lock protects a
/// value: it hands out access to the value through its guard.
///
/// Waiters are served in strict FIFO order: a release hands the lock to the oldest waiter,
/// and a task that calls `lock()` or [`try_lock()`](Lock::try_lock) while others wait queues
/// behind them instead of taking the lock first.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::Lock;
///
/// # futures_lite::future::block_on(async {
/// let lock = Arc::new(Lock::new());
///
/// let guard = lock.lock().await;
/// assert!(lock.locked());
/// assert!(lock.try_lock().is_none());
///
/// drop(guard); // asyncio's `lock.release()`
/// assert!(!lock.locked());
/// # });
/// ```
#[doc(alias = "acquire")]
#[doc(alias = "release")]
pub struct Lock {
    pub(crate) raw: RawSemaphore,
}

impl Lock {
    const_fn! {
        /// Creates an unlocked lock.
        ///
        /// # Examples
        ///
        /// ```
        /// use tulip_sync::Lock;
        ///
        /// static LOCK: Lock = Lock::new();
        /// assert!(!LOCK.locked());
        /// ```
        #[must_use]
        pub fn new() -> Lock {
            Lock {
                raw: RawSemaphore::new(1),
            }
        }
    }

    /// Waits for the lock and returns a guard that releases it when dropped.
    ///
    /// asyncio's `await lock.acquire()` / `async with lock:`. When the lock is free and
    /// nobody waits, this takes it with a single atomic operation.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up its place in the queue and nothing else. If the lock
    /// had already been handed to it (a release picked it as the next owner, but it was
    /// dropped before it ran), the lock is handed on to the next waiter, or released when
    /// nobody waits. No other waiter loses its place.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Lock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Lock::new();
    /// let guard = lock.lock().await;
    /// assert!(lock.locked());
    /// drop(guard);
    /// # });
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> LockAcquire<'_> {
        LockAcquire {
            lock: Some(self),
            slot: AcquireSlot::new(),
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Lock;
    ///
    /// let lock = Lock::new();
    /// let guard = lock.try_lock().expect("the lock is free");
    /// assert!(lock.try_lock().is_none());
    /// drop(guard);
    /// assert!(lock.try_lock().is_some());
    /// ```
    #[must_use]
    pub fn try_lock(&self) -> Option<LockGuard<'_>> {
        self.raw.try_lock().then(|| LockGuard { lock: self })
    }

    /// Blocks the current thread until the lock is taken.
    ///
    /// # Blocking
    ///
    /// Parks the thread; call it from synchronous code, never from a task on an event loop
    /// (that could deadlock the loop).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::thread;
    /// use tulip_sync::Lock;
    ///
    /// let lock = Arc::new(Lock::new());
    /// let guard = lock.lock_blocking();
    /// let other = {
    ///     let lock = Arc::clone(&lock);
    ///     thread::spawn(move || drop(lock.lock_blocking()))
    /// };
    /// drop(guard);
    /// other.join().unwrap();
    /// ```
    pub fn lock_blocking(&self) -> LockGuard<'_> {
        self.raw.acquire_blocking::<true>();
        LockGuard { lock: self }
    }

    /// Waits for the lock, returning a guard that keeps the `Arc` alive: for guards that
    /// must be `'static` (moved into another task).
    ///
    /// # Cancel safety
    ///
    /// As for [`lock()`](Lock::lock): dropping the future gives up its place in the queue and
    /// hands on a lock that had already been handed to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Lock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(Lock::new());
    /// let guard = lock.lock_arc().await;
    /// assert!(Arc::ptr_eq(guard.source(), &lock));
    /// # });
    /// ```
    pub fn lock_arc(self: &Arc<Self>) -> LockAcquireArc {
        LockAcquireArc {
            lock: Some(Arc::clone(self)),
            slot: AcquireSlot::new(),
        }
    }

    /// [`try_lock()`](Lock::try_lock) with an owned guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Lock;
    ///
    /// let lock = Arc::new(Lock::new());
    /// let guard = lock.try_lock_arc().unwrap();
    /// assert!(lock.try_lock_arc().is_none());
    /// drop(guard);
    /// ```
    #[must_use]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<LockGuardArc> {
        self.raw.try_lock().then(|| LockGuardArc {
            lock: Arc::clone(self),
        })
    }

    /// [`lock_blocking()`](Lock::lock_blocking) with an owned guard.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Lock;
    ///
    /// let lock = Arc::new(Lock::new());
    /// let guard = lock.lock_arc_blocking();
    /// assert!(lock.locked());
    /// drop(guard);
    /// ```
    pub fn lock_arc_blocking(self: &Arc<Self>) -> LockGuardArc {
        self.raw.acquire_blocking::<true>();
        LockGuardArc {
            lock: Arc::clone(self),
        }
    }

    /// Returns `true` if the lock is held (asyncio's `locked()`).
    ///
    /// The lock also counts as held between a release and the moment the waiter it was
    /// handed to runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Lock;
    ///
    /// let lock = Lock::new();
    /// assert!(!lock.locked());
    /// let _guard = lock.try_lock();
    /// assert!(lock.locked());
    /// ```
    #[must_use]
    pub fn locked(&self) -> bool {
        self.raw.available() == 0
    }
}

impl Default for Lock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish()
    }
}

/// Holds a [`Lock`]; dropping it releases the lock (asyncio's `release()`).
///
/// # Examples
///
/// ```
/// use tulip_sync::Lock;
///
/// let lock = Lock::new();
/// let guard = lock.try_lock().unwrap();
/// assert!(std::ptr::eq(guard.source(), &lock));
/// drop(guard);
/// assert!(!lock.locked());
/// ```
#[doc(alias = "release")]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    pub(crate) lock: &'a Lock,
}

impl<'a> LockGuard<'a> {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Lock;
    ///
    /// let lock = Lock::new();
    /// let guard = lock.try_lock().unwrap();
    /// assert!(guard.source().locked());
    /// ```
    #[must_use]
    pub fn source(&self) -> &'a Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// An owned guard of an `Arc<Lock>`, from [`Lock::lock_arc()`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::Lock;
///
/// let lock = Arc::new(Lock::new());
/// let guard = lock.try_lock_arc().unwrap();
/// // The guard is 'static: it can move into another thread or task.
/// std::thread::spawn(move || drop(guard)).join().unwrap();
/// assert!(!lock.locked());
/// ```
#[doc(alias = "release")]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuardArc {
    pub(crate) lock: Arc<Lock>,
}

impl LockGuardArc {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Lock;
    ///
    /// let lock = Arc::new(Lock::new());
    /// let guard = lock.try_lock_arc().unwrap();
    /// assert!(Arc::ptr_eq(guard.source(), &lock));
    /// ```
    #[must_use]
    pub fn source(&self) -> &Arc<Lock> {
        &self.lock
    }
}

impl Drop for LockGuardArc {
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}

impl fmt::Debug for LockGuardArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuardArc").finish_non_exhaustive()
    }
}

/// The future of [`Lock::lock()`] (and of [`Condition::lock()`](crate::Condition::lock)).
///
/// # Examples
///
/// ```
/// use tulip_sync::Lock;
/// use tulip_sync::futures::LockAcquire;
///
/// # futures_lite::future::block_on(async {
/// let lock = Lock::new();
/// let acquire: LockAcquire<'_> = lock.lock();
/// let _guard = acquire.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct LockAcquire<'a> {
    lock: Option<&'a Lock>,
    slot: AcquireSlot,
}

impl<'a> Future for LockAcquire<'a> {
    type Output = LockGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this.lock.expect("LockAcquire polled after completion");
        match crate::noting(this.slot.poll::<true>(&lock.raw, cx), "Lock", lock) {
            Poll::Ready(()) => {
                this.lock = None;
                Poll::Ready(LockGuard { lock })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for LockAcquire<'_> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            self.slot.cancel(&lock.raw);
        }
    }
}

impl fmt::Debug for LockAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquire")
            .field("queued", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}

/// The future of [`Lock::lock_arc()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Lock;
/// use tulip_sync::futures::LockAcquireArc;
///
/// # futures_lite::future::block_on(async {
/// let lock = std::sync::Arc::new(Lock::new());
/// let acquire: LockAcquireArc = lock.lock_arc();
/// let _guard = acquire.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct LockAcquireArc {
    lock: Option<Arc<Lock>>,
    slot: AcquireSlot,
}

impl Future for LockAcquireArc {
    type Output = LockGuardArc;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this
            .lock
            .as_ref()
            .expect("LockAcquireArc polled after completion");
        match crate::noting(this.slot.poll::<true>(&lock.raw, cx), "Lock", &**lock) {
            Poll::Ready(()) => Poll::Ready(LockGuardArc {
                lock: this.lock.take().expect("checked above"),
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for LockAcquireArc {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.slot.cancel(&lock.raw);
        }
    }
}

impl fmt::Debug for LockAcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquireArc")
            .field("queued", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}
