//! [`Mutex<T>`]: a FIFO async mutex that owns its data.
//!
//! This module and `rwlock` are the only ones with `unsafe` code: a guard that hands out
//! `&T`/`&mut T` and can be sent to another thread needs an `UnsafeCell` (a `std` lock
//! inside would make the guard `!Send`, so no task holding it across an `.await` could run
//! on a multi-threaded executor).
#![allow(
    unsafe_code,
    reason = "the data cell behind the guards; the crate denies unsafe code elsewhere"
)]

use std::sync::Arc;
use tulip_util::const_fn;
use tulip_util::sync::UnsafeCell;

use crate::raw::{AcquireSlot, RawSemaphore};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An async mutex that owns the value it protects.
///
/// The Rust shape of asyncio's `Lock` + the data it protects: [`lock()`](Mutex::lock) waits
/// for the mutex and returns a [`MutexGuard`] that dereferences to the value and unlocks on
/// drop. Waiters are served in strict FIFO order, exactly as for [`Lock`](crate::Lock); the
/// guard may be held across `.await` points and is `Send` when `T` is.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::Mutex;
///
/// # futures_lite::future::block_on(async {
/// let counter = Arc::new(Mutex::new(0));
/// *counter.lock().await += 1;
/// assert_eq!(*counter.lock().await, 1);
/// # });
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawSemaphore,
    data: UnsafeCell<T>,
}

// SAFETY: `Mutex<T>` hands out `&mut T` to one thread at a time (the guard holder), so sharing
// it between threads needs exactly that `T` may move between threads: `T: Send`. This is
// `std::sync::Mutex`'s rule. (`Send` follows automatically from the fields.)
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    const_fn! {
        /// Creates an unlocked mutex holding `value`.
        ///
        /// # Examples
        ///
        /// ```
        /// use tulip_sync::Mutex;
        ///
        /// static REGISTRY: Mutex<Vec<String>> = Mutex::new(Vec::new());
        /// assert!(REGISTRY.try_lock().unwrap().is_empty());
        /// ```
        #[must_use]
        pub fn new(value: T) -> Mutex<T> {
            Mutex {
                raw: RawSemaphore::new(1),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the mutex and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Mutex;
    ///
    /// let mutex = Mutex::new(10);
    /// assert_eq!(mutex.into_inner(), 10);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the mutex and returns a guard giving access to the value.
    ///
    /// When the mutex is free and nobody waits, this takes it with a single atomic
    /// operation. Otherwise the caller queues; releases hand the mutex to waiters in FIFO
    /// order.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up its place in the queue and nothing else. If the mutex had
    /// already been handed to it, it is handed on to the next waiter, or unlocked when nobody
    /// waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Mutex;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mutex = Mutex::new(vec![1]);
    /// mutex.lock().await.push(2);
    /// assert_eq!(*mutex.lock().await, [1, 2]);
    /// # });
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> MutexLock<'_, T> {
        MutexLock {
            mutex: Some(self),
            slot: AcquireSlot::new(),
        }
    }

    /// Takes the mutex if it is free and nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Mutex;
    ///
    /// let mutex = Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(mutex.try_lock().is_none());
    /// drop(guard);
    /// ```
    #[must_use]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard { mutex: self })
    }

    /// Blocks the current thread until the mutex is taken.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::thread;
    /// use tulip_sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(0));
    /// let handles: Vec<_> = (0..4)
    ///     .map(|_| {
    ///         let mutex = Arc::clone(&mutex);
    ///         thread::spawn(move || *mutex.lock_blocking() += 1)
    ///     })
    ///     .collect();
    /// for handle in handles {
    ///     handle.join().unwrap();
    /// }
    /// assert_eq!(*mutex.lock_blocking(), 4);
    /// ```
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        self.raw.acquire_blocking::<true>();
        MutexGuard { mutex: self }
    }

    /// Waits for the mutex, returning a guard that keeps the `Arc` alive.
    ///
    /// # Cancel safety
    ///
    /// As for [`lock()`](Mutex::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Mutex;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mutex = Arc::new(Mutex::new(1));
    /// let mut guard = mutex.lock_arc().await;
    /// *guard += 1;
    /// std::thread::spawn(move || assert_eq!(*guard, 2)).join().unwrap();
    /// # });
    /// ```
    pub fn lock_arc(self: &Arc<Self>) -> MutexLockArc<T> {
        MutexLockArc {
            mutex: Some(Arc::clone(self)),
            slot: AcquireSlot::new(),
        }
    }

    /// [`try_lock()`](Mutex::try_lock) with an owned guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(()));
    /// let guard = mutex.try_lock_arc().unwrap();
    /// assert!(mutex.try_lock_arc().is_none());
    /// drop(guard);
    /// ```
    #[must_use]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<MutexGuardArc<T>> {
        self.raw.try_lock().then(|| MutexGuardArc {
            mutex: Arc::clone(self),
        })
    }

    /// [`lock_blocking()`](Mutex::lock_blocking) with an owned guard.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(5));
    /// assert_eq!(*mutex.lock_arc_blocking(), 5);
    /// ```
    pub fn lock_arc_blocking(self: &Arc<Self>) -> MutexGuardArc<T> {
        self.raw.acquire_blocking::<true>();
        MutexGuardArc {
            mutex: Arc::clone(self),
        }
    }

    /// Returns `true` if the mutex is held.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Mutex;
    ///
    /// let mutex = Mutex::new(());
    /// let guard = mutex.try_lock();
    /// assert!(mutex.locked());
    /// drop(guard);
    /// assert!(!mutex.locked());
    /// ```
    #[must_use]
    pub fn locked(&self) -> bool {
        self.raw.available() == 0
    }

    /// A mutable reference to the value; no locking needed, the borrow proves exclusivity.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Mutex;
    ///
    /// let mut mutex = Mutex::new(1);
    /// *mutex.get_mut() = 2;
    /// assert_eq!(*mutex.try_lock().unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves that no guard exists, so nobody else can access the data.
        self.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Access to the value of a [`Mutex`]; dropping it unlocks the mutex.
///
/// # Examples
///
/// ```
/// use tulip_sync::{Mutex, MutexGuard};
///
/// let mutex = Mutex::new(1);
/// let mut guard = mutex.try_lock().unwrap();
/// *guard += 1;
/// assert!(std::ptr::eq(MutexGuard::source(&guard), &mutex));
/// ```
#[doc(alias = "release")]
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: sending the guard sends `&mut T` access (needs `T: Send`) and the right to unlock,
// which any thread may do.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T` (needs `T: Sync`) and, through `source()`, the
// `&Mutex<T>`, with which another thread may lock the mutex once the guard is gone (needs
// `Mutex<T>: Sync`, that is `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard holds (an associated function, so it cannot shadow a method of
    /// `T`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::{Mutex, MutexGuard};
    ///
    /// let mutex = Mutex::new(());
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(MutexGuard::source(&guard).locked());
    /// ```
    #[must_use]
    pub fn source(guard: &Self) -> &'a Mutex<T> {
        guard.mutex
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex, so no `&mut T` exists elsewhere; the reference
        // cannot outlive the guard.
        self.mutex.data.with(|data| unsafe { &*data })
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex and is borrowed mutably, so this is the only
        // reference to the data until it is dropped.
        self.mutex.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owned guard of an `Arc<Mutex<T>>`, from [`Mutex::lock_arc()`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::{Mutex, MutexGuardArc};
///
/// let mutex = Arc::new(Mutex::new(1));
/// let guard = mutex.try_lock_arc().unwrap();
/// assert!(Arc::ptr_eq(MutexGuardArc::source(&guard), &mutex));
/// ```
#[doc(alias = "release")]
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct MutexGuardArc<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

// SAFETY: as for `MutexGuard`: sending moves `&mut T` access, sharing shares `&T`. The `Arc`
// itself is `Send + Sync` because `Mutex<T>` is when `T: Send`.
unsafe impl<T: ?Sized + Send> Send for MutexGuardArc<T> {}
// SAFETY: see above; sharing the guard only gives out `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuardArc<T> {}

impl<T: ?Sized> MutexGuardArc<T> {
    /// The mutex this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::{Mutex, MutexGuardArc};
    ///
    /// let mutex = Arc::new(Mutex::new(()));
    /// let guard = mutex.try_lock_arc().unwrap();
    /// assert!(MutexGuardArc::source(&guard).locked());
    /// ```
    #[must_use]
    pub fn source(guard: &Self) -> &Arc<Mutex<T>> {
        &guard.mutex
    }
}

impl<T: ?Sized> Drop for MutexGuardArc<T> {
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized> Deref for MutexGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex; see `MutexGuard::deref`.
        self.mutex.data.with(|data| unsafe { &*data })
    }
}

impl<T: ?Sized> DerefMut for MutexGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex and is borrowed mutably; see
        // `MutexGuard::deref_mut`.
        self.mutex.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// The future of [`Mutex::lock()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Mutex;
/// use tulip_sync::futures::MutexLock;
///
/// # futures_lite::future::block_on(async {
/// let mutex = Mutex::new(1);
/// let lock: MutexLock<'_, i32> = mutex.lock();
/// assert_eq!(*lock.await, 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct MutexLock<'a, T: ?Sized> {
    mutex: Option<&'a Mutex<T>>,
    slot: AcquireSlot,
}

impl<'a, T: ?Sized> Future for MutexLock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this.mutex.expect("MutexLock polled after completion");
        match crate::noting(this.slot.poll::<true>(&mutex.raw, cx), "Mutex", &mutex.raw) {
            Poll::Ready(()) => {
                this.mutex = None;
                Poll::Ready(MutexGuard { mutex })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for MutexLock<'_, T> {
    fn drop(&mut self) {
        if let Some(mutex) = self.mutex {
            self.slot.cancel(&mutex.raw);
        }
    }
}

impl<T: ?Sized> fmt::Debug for MutexLock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexLock")
            .field("queued", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}

/// The future of [`Mutex::lock_arc()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Mutex;
/// use tulip_sync::futures::MutexLockArc;
///
/// # futures_lite::future::block_on(async {
/// let mutex = std::sync::Arc::new(Mutex::new(1));
/// let lock: MutexLockArc<i32> = mutex.lock_arc();
/// assert_eq!(*lock.await, 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct MutexLockArc<T: ?Sized> {
    mutex: Option<Arc<Mutex<T>>>,
    slot: AcquireSlot,
}

impl<T: ?Sized> Future for MutexLockArc<T> {
    type Output = MutexGuardArc<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this
            .mutex
            .as_ref()
            .expect("MutexLockArc polled after completion");
        match crate::noting(this.slot.poll::<true>(&mutex.raw, cx), "Mutex", &mutex.raw) {
            Poll::Ready(()) => Poll::Ready(MutexGuardArc {
                mutex: this.mutex.take().expect("checked above"),
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for MutexLockArc<T> {
    fn drop(&mut self) {
        if let Some(mutex) = &self.mutex {
            self.slot.cancel(&mutex.raw);
        }
    }
}

impl<T: ?Sized> fmt::Debug for MutexLockArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexLockArc")
            .field("queued", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}
