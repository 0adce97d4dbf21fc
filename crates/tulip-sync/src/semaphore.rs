//! [`Semaphore`]: asyncio's `Semaphore`, with RAII permits.

use std::sync::Arc;
use tulip_util::const_fn;

use crate::raw::{AcquireSlot, RawSemaphore, MAX_PERMITS};
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A counting semaphore: asyncio's `Semaphore`.
///
/// The semaphore holds a number of permits. [`acquire()`](Semaphore::acquire) waits for one
/// and returns a [`Permit`] that gives it back when dropped; [`release()`](Semaphore::release)
/// adds a permit, as asyncio's `release()` does (it never fails, and may raise the count above
/// the initial value: use [`BoundedSemaphore`](crate::BoundedSemaphore) to forbid that).
///
/// Waiters are served in strict FIFO order: a released permit is handed to the oldest waiter,
/// and a newcomer never takes a permit while others wait. asyncio's example holds: three tasks
/// that each acquire and release twice a `Semaphore::new(1)` run c1, c2, c3, c1, c2, c3.
///
/// # Examples
///
/// ```
/// use tulip_sync::Semaphore;
///
/// # futures_lite::future::block_on(async {
/// let sem = Semaphore::new(2);
/// let a = sem.acquire().await;
/// let b = sem.acquire().await;
/// assert!(sem.locked());
/// assert!(sem.try_acquire().is_none());
/// drop(a);
/// assert_eq!(sem.available(), 1);
/// # drop(b);
/// # });
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// assert_eq!(Semaphore::MAX_PERMITS, usize::MAX >> 1);
    /// ```
    pub const MAX_PERMITS: usize = MAX_PERMITS;

    const_fn! {
        /// Creates a semaphore with `permits` permits.
        ///
        /// # Panics
        ///
        /// Panics if `permits` exceeds [`Semaphore::MAX_PERMITS`].
        ///
        /// # Examples
        ///
        /// ```
        /// use tulip_sync::Semaphore;
        ///
        /// static CONNECTIONS: Semaphore = Semaphore::new(10);
        /// assert_eq!(CONNECTIONS.available(), 10);
        /// ```
        #[must_use]
        pub fn new(permits: usize) -> Semaphore {
            Semaphore {
                raw: RawSemaphore::new(permits),
            }
        }
    }

    /// Waits for a permit (asyncio's `await sem.acquire()` / `async with sem:`).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up its place in the queue and nothing else. If a permit had
    /// already been handed to it (a release picked it, but it was dropped before it ran), the
    /// permit is handed on to the next waiter, or returned to the semaphore when nobody waits:
    /// no permit is lost and none is granted twice.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Semaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert_eq!(sem.available(), 0);
    /// drop(permit);
    /// assert_eq!(sem.available(), 1);
    /// # });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire(Acquiring::new(self))
    }

    /// Takes a permit if one is free and nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(permit);
    /// ```
    #[must_use]
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        self.raw.try_acquire().then(|| Permit { sem: self })
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
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let permit = sem.acquire_blocking();
    /// assert!(sem.locked());
    /// drop(permit);
    /// ```
    pub fn acquire_blocking(&self) -> Permit<'_> {
        self.raw.acquire_blocking::<false>();
        Permit { sem: self }
    }

    /// Waits for a permit that keeps the `Arc` alive, for permits that must be `'static`.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire()`](Semaphore::acquire): dropping the future gives up its place and
    /// hands on a permit that had already been handed to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Semaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = sem.acquire_arc().await;
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(sem.available(), 1);
    /// # });
    /// ```
    pub fn acquire_arc(self: &Arc<Self>) -> AcquireArc {
        AcquireArc(Acquiring::new(Arc::clone(self)))
    }

    /// [`try_acquire()`](Semaphore::try_acquire) with an owned permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = sem.try_acquire_arc().unwrap();
    /// assert!(sem.try_acquire_arc().is_none());
    /// drop(permit);
    /// ```
    #[must_use]
    pub fn try_acquire_arc(self: &Arc<Self>) -> Option<PermitArc> {
        self.raw.try_acquire().then(|| PermitArc {
            sem: Arc::clone(self),
            forgotten: false,
        })
    }

    /// [`acquire_blocking()`](Semaphore::acquire_blocking) with an owned permit.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = sem.acquire_arc_blocking();
    /// drop(permit);
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn acquire_arc_blocking(self: &Arc<Self>) -> PermitArc {
        self.raw.acquire_blocking::<false>();
        PermitArc {
            sem: Arc::clone(self),
            forgotten: false,
        }
    }

    /// Adds one permit (asyncio's `release()`), handing it to the oldest waiter if any.
    ///
    /// Dropping a [`Permit`] does the same; call this to return a permit whose guard was
    /// [`forget`](Permit::forget)-ed, or to grow the semaphore.
    ///
    /// # Panics
    ///
    /// Panics if the number of free permits would exceed [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sem = Semaphore::new(1);
    /// sem.acquire().await.forget(); // asyncio style: acquire() ...
    /// assert!(sem.locked());
    /// sem.release(); // ... and release() later
    /// assert_eq!(sem.available(), 1);
    /// sem.release(); // an unbounded semaphore may grow
    /// assert_eq!(sem.available(), 2);
    /// # });
    /// ```
    pub fn release(&self) {
        self.raw.release();
    }

    /// Returns `true` if a permit cannot be taken right now (asyncio's `locked()`): none is
    /// free, or other tasks are first in line.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// assert!(!sem.locked());
    /// let _permit = sem.try_acquire();
    /// assert!(sem.locked());
    /// ```
    #[must_use]
    pub fn locked(&self) -> bool {
        self.raw.locked()
    }

    /// The number of free permits (asyncio's `_value`).
    ///
    /// A permit handed to a waiter that has not run yet is not free. While such a waiter
    /// exists, newcomers queue even if permits are free, as in asyncio: see
    /// [`locked()`](Semaphore::locked).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// let _permit = sem.try_acquire();
    /// assert_eq!(sem.available(), 2);
    /// ```
    #[must_use]
    pub fn available(&self) -> usize {
        self.raw.available()
    }

    /// Gives back one permit unless every one of `bound` permits is free already; `false`
    /// then (the bounded semaphore's `release`).
    pub(crate) fn release_up_to(&self, bound: usize) -> bool {
        self.raw.release_up_to(bound)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .finish()
    }
}

/// One permit of a [`Semaphore`], given back when dropped.
///
/// # Examples
///
/// ```
/// use tulip_sync::Semaphore;
///
/// let sem = Semaphore::new(1);
/// let permit = sem.try_acquire().unwrap();
/// assert!(std::ptr::eq(permit.source(), &sem));
/// drop(permit);
/// assert_eq!(sem.available(), 1);
/// ```
#[doc(alias = "release")]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct Permit<'a> {
    sem: &'a Semaphore,
}

impl<'a> Permit<'a> {
    /// The semaphore this permit belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert_eq!(permit.source().available(), 0);
    /// ```
    #[must_use]
    pub fn source(&self) -> &'a Semaphore {
        self.sem
    }

    /// Keeps the permit taken without a guard: asyncio's `acquire()` without `release()`.
    /// Give it back later with [`Semaphore::release()`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn forget(self) {
        mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.sem.raw.release();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// An owned permit of an `Arc<Semaphore>`, from [`Semaphore::acquire_arc()`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::Semaphore;
///
/// let sem = Arc::new(Semaphore::new(1));
/// let permit = sem.try_acquire_arc().unwrap();
/// assert!(Arc::ptr_eq(permit.source(), &sem));
/// ```
#[doc(alias = "release")]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct PermitArc {
    sem: Arc<Semaphore>,
    /// Set by [`forget`](PermitArc::forget): dropping gives nothing back.
    forgotten: bool,
}

impl PermitArc {
    /// The semaphore this permit belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// let permit = sem.try_acquire_arc().unwrap();
    /// assert_eq!(permit.source().available(), 1);
    /// ```
    #[must_use]
    pub fn source(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permit taken without a guard; see [`Permit::forget()`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// sem.try_acquire_arc().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release();
    /// ```
    pub fn forget(mut self) {
        self.forgotten = true;
    }
}

impl Drop for PermitArc {
    fn drop(&mut self) {
        if !self.forgotten {
            self.sem.raw.release();
        }
    }
}

impl fmt::Debug for PermitArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitArc").finish_non_exhaustive()
    }
}

/// The semaphore a pending acquire holds on to: borrowed or owned, of a [`Semaphore`] or of a
/// [`BoundedSemaphore`](crate::BoundedSemaphore), which wraps one.
pub(crate) trait SemaphoreRef {
    /// The semaphore whose permit is being acquired.
    fn semaphore(&self) -> &Semaphore;
}

impl SemaphoreRef for &Semaphore {
    fn semaphore(&self) -> &Semaphore {
        self
    }
}

impl SemaphoreRef for Arc<Semaphore> {
    fn semaphore(&self) -> &Semaphore {
        self
    }
}

/// The one body of the four acquire futures ([`Acquire`], [`AcquireArc`] and their bounded
/// twins): a place in the semaphore's FIFO, and the semaphore until the permit is taken.
pub(crate) struct Acquiring<S: SemaphoreRef> {
    /// `None` once the permit has been taken.
    sem: Option<S>,
    slot: AcquireSlot,
}

impl<S: SemaphoreRef> Acquiring<S> {
    pub(crate) fn new(sem: S) -> Self {
        Acquiring {
            sem: Some(sem),
            slot: AcquireSlot::new(),
        }
    }

    /// `Ready` with the semaphore once a permit is taken for the caller.
    ///
    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready`.
    #[inline]
    pub(crate) fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<S> {
        let sem = self
            .sem
            .as_ref()
            .expect("an acquire future was polled after completion");
        let raw = &sem.semaphore().raw;
        match crate::noting(self.slot.poll::<false>(raw, cx), "Semaphore", raw) {
            Poll::Ready(()) => Poll::Ready(self.sem.take().expect("checked above")),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Whether it waits in the semaphore's queue.
    pub(crate) fn is_queued(&self) -> bool {
        self.slot.is_queued()
    }
}

impl<S: SemaphoreRef> Drop for Acquiring<S> {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            self.slot.cancel(&sem.semaphore().raw);
        }
    }
}

/// The future of [`Semaphore::acquire()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Semaphore;
/// use tulip_sync::futures::Acquire;
///
/// # futures_lite::future::block_on(async {
/// let sem = Semaphore::new(1);
/// let acquire: Acquire<'_> = sem.acquire();
/// drop(acquire.await);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a>(Acquiring<&'a Semaphore>);

impl<'a> Future for Acquire<'a> {
    type Output = Permit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_acquire(cx).map(|sem| Permit { sem })
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("queued", &self.0.is_queued())
            .finish_non_exhaustive()
    }
}

/// The future of [`Semaphore::acquire_arc()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Semaphore;
/// use tulip_sync::futures::AcquireArc;
///
/// # futures_lite::future::block_on(async {
/// let sem = std::sync::Arc::new(Semaphore::new(1));
/// let acquire: AcquireArc = sem.acquire_arc();
/// drop(acquire.await);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct AcquireArc(Acquiring<Arc<Semaphore>>);

impl Future for AcquireArc {
    type Output = PermitArc;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_acquire(cx).map(|sem| PermitArc {
            sem,
            forgotten: false,
        })
    }
}

impl fmt::Debug for AcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireArc")
            .field("queued", &self.0.is_queued())
            .finish_non_exhaustive()
    }
}
