//! [`BoundedSemaphore`]: a semaphore whose explicit `release()` cannot raise the count past
//! its initial value.
//!
//! A thin wrapper over [`Semaphore`]: the same FIFO, the same acquire futures (the generic
//! `Acquiring` body), with its own permit guards, whose `Drop` and `release()` give a permit
//! back only up to the bound.

use std::sync::Arc;
use tulip_util::const_fn;

use crate::semaphore::{Acquiring, Permit, Semaphore, SemaphoreRef};
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
/// `release()` fails when every permit is free, that is when [`available()`] equals
/// [`bound()`]. As in asyncio 3.12, a permit that a release handed to a waiter that has not
/// run yet is no longer free. A guard whose permit was already given back by an explicit
/// `release()` gives nothing back when it is dropped: the number of free permits never
/// exceeds the bound.
///
/// [`available()`]: BoundedSemaphore::available
/// [`bound()`]: BoundedSemaphore::bound
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
    sem: Semaphore,
    /// The initial number of permits, which free permits never exceed.
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
                sem: Semaphore::new(permits),
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
        BoundedAcquire(Acquiring::new(self))
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
        self.sem.try_acquire().map(|p| self.adopt(p))
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
        self.adopt(self.sem.acquire_blocking())
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
        BoundedAcquireArc(Acquiring::new(Arc::clone(self)))
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
        self.sem.try_acquire().map(|p| self.adopt_arc(p))
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
        self.adopt_arc(self.sem.acquire_blocking())
    }

    /// Gives back a permit taken without a guard (see [`BoundedPermit::forget()`]), handing
    /// it to the oldest waiter if any.
    ///
    /// # Errors
    ///
    /// Returns [`TooManyReleases`] if every permit is free already, that is if the release
    /// would raise the number of free permits past the initial value. Nothing changes then.
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
        if self.sem.release_up_to(self.bound) {
            Ok(())
        } else {
            Err(TooManyReleases)
        }
    }

    /// Returns `true` if a permit cannot be taken right now (asyncio's `locked()`): none is
    /// free, or other tasks are first in line.
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
        self.sem.locked()
    }

    /// The number of free permits (asyncio's `_value`); never more than
    /// [`bound()`](BoundedSemaphore::bound).
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
        self.sem.available()
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

    /// Turns a permit of the inner semaphore (whose `Drop` would give back without a bound)
    /// into a bounded one.
    fn adopt<'a>(&'a self, permit: Permit<'a>) -> BoundedPermit<'a> {
        permit.forget();
        BoundedPermit { sem: self }
    }

    /// [`adopt`](Self::adopt) for an owned permit.
    fn adopt_arc(self: &Arc<Self>, permit: Permit<'_>) -> BoundedPermitArc {
        permit.forget();
        BoundedPermitArc {
            sem: Arc::clone(self),
            forgotten: false,
        }
    }

    /// Gives back a permit held by a guard; nothing if `release()` already gave it back.
    fn give_back(&self) {
        self.sem.release_up_to(self.bound);
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
    #[must_use]
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
    sem: Arc<BoundedSemaphore>,
    /// Set by [`forget`](BoundedPermitArc::forget): dropping gives nothing back.
    forgotten: bool,
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
    #[must_use]
    pub fn source(&self) -> &Arc<BoundedSemaphore> {
        &self.sem
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
        self.forgotten = true;
    }
}

impl Drop for BoundedPermitArc {
    fn drop(&mut self) {
        if !self.forgotten {
            self.sem.give_back();
        }
    }
}

impl fmt::Debug for BoundedPermitArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedPermitArc").finish_non_exhaustive()
    }
}

impl SemaphoreRef for &BoundedSemaphore {
    fn semaphore(&self) -> &Semaphore {
        &self.sem
    }
}

impl SemaphoreRef for Arc<BoundedSemaphore> {
    fn semaphore(&self) -> &Semaphore {
        &self.sem
    }
}

/// The future of [`BoundedSemaphore::acquire()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::BoundedSemaphore;
/// use tulip_sync::futures::BoundedAcquire;
///
/// # futures_lite::future::block_on(async {
/// let sem = BoundedSemaphore::new(1);
/// let acquire: BoundedAcquire<'_> = sem.acquire();
/// drop(acquire.await);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct BoundedAcquire<'a>(Acquiring<&'a BoundedSemaphore>);

impl<'a> Future for BoundedAcquire<'a> {
    type Output = BoundedPermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_acquire(cx).map(|sem| BoundedPermit { sem })
    }
}

impl fmt::Debug for BoundedAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedAcquire")
            .field("queued", &self.0.is_queued())
            .finish_non_exhaustive()
    }
}

/// The future of [`BoundedSemaphore::acquire_arc()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::BoundedSemaphore;
/// use tulip_sync::futures::BoundedAcquireArc;
///
/// # futures_lite::future::block_on(async {
/// let sem = std::sync::Arc::new(BoundedSemaphore::new(1));
/// let acquire: BoundedAcquireArc = sem.acquire_arc();
/// drop(acquire.await);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct BoundedAcquireArc(Acquiring<Arc<BoundedSemaphore>>);

impl Future for BoundedAcquireArc {
    type Output = BoundedPermitArc;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_acquire(cx).map(|sem| BoundedPermitArc {
            sem,
            forgotten: false,
        })
    }
}

impl fmt::Debug for BoundedAcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedAcquireArc")
            .field("queued", &self.0.is_queued())
            .finish_non_exhaustive()
    }
}
