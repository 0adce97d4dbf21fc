//! [`BoundedSemaphore`]: a semaphore whose explicit `release()` cannot raise the count past
//! its initial value.

use crate::raw::{AcquireSlot, RawSemaphore};
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{const_fn, Arc};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The error of [`BoundedSemaphore::release()`] when every permit is already free
/// (asyncio's `ValueError: BoundedSemaphore released too many times`).
///
/// # Examples
///
/// ```
/// use tulip_sync::{BoundedSemaphore, TooManyReleases};
///
/// let sem = BoundedSemaphore::new(1);
/// assert_eq!(sem.release(), Err(TooManyReleases));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TooManyReleases;

impl fmt::Display for TooManyReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl Error for TooManyReleases {}

/// A semaphore that refuses to be released more often than it was acquired: asyncio's
/// `BoundedSemaphore`.
///
/// It behaves like [`Semaphore`](crate::Semaphore) (strict FIFO, RAII permits that cannot
/// over-release), except that the explicit [`release()`](BoundedSemaphore::release) returns
/// [`Err(TooManyReleases)`](TooManyReleases) instead of raising the number of permits above
/// the initial value.
///
/// A permit counts as taken from the moment its `acquire` completes until its guard is
/// dropped or `release()` returns it. As in asyncio, a permit that a release has handed to a
/// waiter which has not run yet still counts as free.
///
/// # Examples
///
/// ```
/// use tulip_sync::{BoundedSemaphore, TooManyReleases};
///
/// # futures_lite::future::block_on(async {
/// let sem = BoundedSemaphore::new(1);
/// sem.acquire().await.forget();
/// assert_eq!(sem.release(), Ok(()));
/// assert_eq!(sem.release(), Err(TooManyReleases));
/// assert_eq!(sem.available(), 1);
/// # });
/// ```
pub struct BoundedSemaphore {
    raw: RawSemaphore,
    /// Permits whose acquire completed and that were not given back yet.
    held: AtomicUsize,
    /// The initial number of permits.
    bound: usize,
}

impl BoundedSemaphore {
    const_fn! {
        /// Creates a bounded semaphore with `permits` permits, which is also its bound.
        ///
        /// # Panics
        ///
        /// Panics if `permits` exceeds [`Semaphore::MAX_PERMITS`](crate::Semaphore::MAX_PERMITS).
        ///
        /// # Examples
        ///
        /// ```
        /// use tulip_sync::BoundedSemaphore;
        ///
        /// let sem = BoundedSemaphore::new(3);
        /// assert_eq!(sem.bound(), 3);
        /// assert_eq!(sem.available(), 3);
        /// ```
        #[must_use]
        pub fn new(permits: usize) -> BoundedSemaphore {
            BoundedSemaphore {
                raw: RawSemaphore::new(permits),
                held: AtomicUsize::new(0),
                bound: permits,
            }
        }
    }

    /// Waits for a permit.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up its place in the queue and nothing else. If a permit had
    /// already been handed to it, the permit is handed on to the next waiter, or returned to
    /// the semaphore when nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = BoundedSemaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert!(sem.locked());
    /// drop(permit);
    /// # });
    /// ```
    pub fn acquire(&self) -> BoundedAcquire<'_> {
        BoundedAcquire {
            sem: Some(self),
            slot: AcquireSlot::new(),
        }
    }

    /// Takes a permit if one is free and nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(permit);
    /// ```
    #[must_use]
    pub fn try_acquire(&self) -> Option<BoundedPermit<'_>> {
        self.raw.try_acquire().then(|| self.taken())
    }

    /// Blocks the current thread until a permit is taken.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let permit = sem.acquire_blocking();
    /// drop(permit);
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn acquire_blocking(&self) -> BoundedPermit<'_> {
        self.raw.acquire_blocking::<false>();
        self.taken()
    }

    /// Waits for a permit that keeps the `Arc` alive.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire()`](BoundedSemaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Arc::new(BoundedSemaphore::new(1));
    /// let permit = sem.acquire_arc().await;
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(sem.available(), 1);
    /// # });
    /// ```
    pub fn acquire_arc(self: &Arc<Self>) -> BoundedAcquireArc {
        BoundedAcquireArc {
            sem: Some(Arc::clone(self)),
            slot: AcquireSlot::new(),
        }
    }

    /// [`try_acquire()`](BoundedSemaphore::try_acquire) with an owned permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = Arc::new(BoundedSemaphore::new(1));
    /// let permit = sem.try_acquire_arc().unwrap();
    /// assert!(sem.try_acquire_arc().is_none());
    /// drop(permit);
    /// ```
    #[must_use]
    pub fn try_acquire_arc(self: &Arc<Self>) -> Option<BoundedPermitArc> {
        self.raw.try_acquire().then(|| self.taken_arc())
    }

    /// [`acquire_blocking()`](BoundedSemaphore::acquire_blocking) with an owned permit.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = Arc::new(BoundedSemaphore::new(1));
    /// drop(sem.acquire_arc_blocking());
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn acquire_arc_blocking(self: &Arc<Self>) -> BoundedPermitArc {
        self.raw.acquire_blocking::<false>();
        self.taken_arc()
    }

    /// Gives back a permit taken without a guard (see [`BoundedPermit::forget()`]), handing
    /// it to the oldest waiter if any.
    ///
    /// # Errors
    ///
    /// Returns [`TooManyReleases`] if no permit is taken, that is if the release would raise
    /// the number of free permits past the initial value. Nothing changes then.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::{BoundedSemaphore, TooManyReleases};
    ///
    /// let sem = BoundedSemaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.release(), Ok(()));
    /// assert_eq!(sem.release(), Err(TooManyReleases));
    /// ```
    pub fn release(&self) -> Result<(), TooManyReleases> {
        let mut held = self.held.load(Ordering::Relaxed);
        loop {
            if held == 0 {
                return Err(TooManyReleases);
            }
            match self.held.compare_exchange_weak(
                held,
                held - 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => held = actual,
            }
        }
        self.raw.release();
        Ok(())
    }

    /// Returns `true` if a permit cannot be taken right now (asyncio's `locked()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let _permit = sem.try_acquire();
    /// assert!(sem.locked());
    /// ```
    #[must_use]
    pub fn locked(&self) -> bool {
        self.raw.available() == 0
    }

    /// The number of free permits: zero while anyone waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(2);
    /// let _permit = sem.try_acquire();
    /// assert_eq!(sem.available(), 1);
    /// ```
    #[must_use]
    pub fn available(&self) -> usize {
        self.raw.available()
    }

    /// The initial number of permits, which free permits may never exceed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// assert_eq!(BoundedSemaphore::new(5).bound(), 5);
    /// ```
    #[must_use]
    pub fn bound(&self) -> usize {
        self.bound
    }

    fn taken(&self) -> BoundedPermit<'_> {
        self.held.fetch_add(1, Ordering::Relaxed);
        BoundedPermit { sem: self }
    }

    fn taken_arc(self: &Arc<Self>) -> BoundedPermitArc {
        self.held.fetch_add(1, Ordering::Relaxed);
        BoundedPermitArc {
            sem: Some(Arc::clone(self)),
        }
    }

    /// Gives back a permit held by a guard.
    fn give_back(&self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
        self.raw.release();
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available", &self.available())
            .field("bound", &self.bound)
            .finish()
    }
}

/// One permit of a [`BoundedSemaphore`], given back when dropped.
///
/// # Examples
///
/// ```
/// use tulip_sync::BoundedSemaphore;
///
/// let sem = BoundedSemaphore::new(1);
/// let permit = sem.try_acquire().unwrap();
/// assert!(std::ptr::eq(permit.source(), &sem));
/// drop(permit);
/// assert_eq!(sem.available(), 1);
/// ```
#[doc(alias = "release")]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct BoundedPermit<'a> {
    sem: &'a BoundedSemaphore,
}

impl<'a> BoundedPermit<'a> {
    /// The semaphore this permit belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert_eq!(permit.source().bound(), 1);
    /// ```
    pub fn source(&self) -> &'a BoundedSemaphore {
        self.sem
    }

    /// Keeps the permit taken without a guard; give it back with
    /// [`BoundedSemaphore::release()`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert!(sem.release().is_ok());
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for BoundedPermit<'_> {
    fn drop(&mut self) {
        self.sem.give_back();
    }
}

impl fmt::Debug for BoundedPermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedPermit").finish_non_exhaustive()
    }
}

/// An owned permit of an `Arc<BoundedSemaphore>`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::BoundedSemaphore;
///
/// let sem = Arc::new(BoundedSemaphore::new(1));
/// let permit = sem.try_acquire_arc().unwrap();
/// assert!(Arc::ptr_eq(permit.source(), &sem));
/// ```
#[doc(alias = "release")]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct BoundedPermitArc {
    /// `None` only once [`forget`](BoundedPermitArc::forget) ran.
    sem: Option<Arc<BoundedSemaphore>>,
}

impl BoundedPermitArc {
    /// The semaphore this permit belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = Arc::new(BoundedSemaphore::new(2));
    /// let permit = sem.try_acquire_arc().unwrap();
    /// assert_eq!(permit.source().available(), 1);
    /// ```
    pub fn source(&self) -> &Arc<BoundedSemaphore> {
        self.sem
            .as_ref()
            .expect("only `forget` takes the semaphore")
    }

    /// Keeps the permit taken without a guard; see [`BoundedPermit::forget()`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::BoundedSemaphore;
    ///
    /// let sem = Arc::new(BoundedSemaphore::new(1));
    /// sem.try_acquire_arc().unwrap().forget();
    /// assert!(sem.release().is_ok());
    /// ```
    pub fn forget(mut self) {
        self.sem = None;
    }
}

impl Drop for BoundedPermitArc {
    fn drop(&mut self) {
        if let Some(sem) = self.sem.take() {
            sem.give_back();
        }
    }
}

impl fmt::Debug for BoundedPermitArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedPermitArc").finish_non_exhaustive()
    }
}

/// The future of [`BoundedSemaphore::acquire()`].
#[must_use = "futures do nothing unless polled"]
pub struct BoundedAcquire<'a> {
    sem: Option<&'a BoundedSemaphore>,
    slot: AcquireSlot,
}

impl<'a> Future for BoundedAcquire<'a> {
    type Output = BoundedPermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this.sem.expect("BoundedAcquire polled after completion");
        match this.slot.poll::<false>(&sem.raw, cx) {
            Poll::Ready(()) => {
                this.sem = None;
                Poll::Ready(sem.taken())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for BoundedAcquire<'_> {
    fn drop(&mut self) {
        if let Some(sem) = self.sem {
            self.slot.cancel(&sem.raw);
        }
    }
}

impl fmt::Debug for BoundedAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedAcquire")
            .field("queued", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}

/// The future of [`BoundedSemaphore::acquire_arc()`].
#[must_use = "futures do nothing unless polled"]
pub struct BoundedAcquireArc {
    sem: Option<Arc<BoundedSemaphore>>,
    slot: AcquireSlot,
}

impl Future for BoundedAcquireArc {
    type Output = BoundedPermitArc;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this
            .sem
            .as_ref()
            .expect("BoundedAcquireArc polled after completion");
        match this.slot.poll::<false>(&sem.raw, cx) {
            Poll::Ready(()) => {
                let sem = this.sem.take().expect("checked above");
                sem.held.fetch_add(1, Ordering::Relaxed);
                Poll::Ready(BoundedPermitArc { sem: Some(sem) })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for BoundedAcquireArc {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            self.slot.cancel(&sem.raw);
        }
    }
}

impl fmt::Debug for BoundedAcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedAcquireArc")
            .field("queued", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}
