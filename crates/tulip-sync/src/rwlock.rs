//! [`RwLock<T>`]: an async reader-writer lock with writer preference.
//!
//! # Implementation
//!
//! * `mutex`, a one-permit FIFO [`RawSemaphore`], orders the writers.
//! * `state` counts the readers (times [`ONE_READER`]) and holds the [`WRITER`] bit, which the
//!   writer at the head of the line sets as soon as it holds `mutex`. From then on no new
//!   reader gets in; the writer waits on `no_readers` until the readers inside have left.
//!   That is the writer preference: a stream of readers cannot starve a writer.
//! * Readers that find `WRITER` set wait on `no_writer`; a writer that unlocks (or gives up)
//!   clears `WRITER`, wakes all of them, and only then hands `mutex` to the next writer, so
//!   the readers that were waiting get a turn between two writers.
//!
//! `unsafe` is needed for the data cell; see the `mutex` module.
#![allow(
    unsafe_code,
    reason = "the data cell behind the guards; the crate denies unsafe code elsewhere"
)]

use std::sync::Arc;
use tulip_util::const_fn;
use tulip_util::sync::{block_on, AtomicUsize, Ordering, UnsafeCell};

use crate::notify::{Listener, Notify};
use crate::raw::{AcquireSlot, RawSemaphore};
use std::fmt;
use std::future::Future;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Bit 0 of `state`: a writer holds `mutex`; it owns the lock once the readers are gone.
///
/// Invariant: set only by the holder of `mutex`, cleared by it before it releases `mutex`.
const WRITER: usize = 1;

/// One reader, as counted in `state`.
const ONE_READER: usize = 2;

/// The lock-free part of an [`RwLock`], shared by its futures and guards.
struct RawRwLock {
    /// Writers queue here, in FIFO order.
    mutex: RawSemaphore,
    /// Readers times [`ONE_READER`], plus [`WRITER`].
    state: AtomicUsize,
    /// Readers blocked by [`WRITER`] wait here; notified all at once.
    no_writer: Notify,
    /// The writer holding `mutex` waits here for the last reader to leave.
    no_readers: Notify,
}

impl RawRwLock {
    const_fn! {
        fn new() -> RawRwLock {
            RawRwLock {
                mutex: RawSemaphore::new(1),
                state: AtomicUsize::new(0),
                no_writer: Notify::new(),
                no_readers: Notify::new(),
            }
        }
    }

    /// Adds a reader unless a writer holds or waits for the lock.
    fn try_read(&self) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & WRITER != 0 {
                return false;
            }
            assert!(
                state <= usize::MAX - 2 * ONE_READER,
                "too many readers of an RwLock"
            );
            match self.state.compare_exchange_weak(
                state,
                state + ONE_READER,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    fn read_unlock(&self) {
        let prev = self.state.fetch_sub(ONE_READER, Ordering::Release);
        if prev == ONE_READER | WRITER {
            // The last reader leaves while a writer waits for it.
            self.no_readers.notify(1);
        }
    }

    fn try_write(&self) -> bool {
        if !self.mutex.try_lock() {
            return false;
        }
        if self
            .state
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        self.mutex.unlock();
        false
    }

    fn write_unlock(&self) {
        self.state.fetch_and(!WRITER, Ordering::Release);
        self.no_writer.notify(usize::MAX);
        self.mutex.unlock();
    }

    /// Turns the writer into a reader without letting another writer in between.
    fn downgrade(&self) {
        // While WRITER is set no reader can enter, so the word is exactly WRITER.
        let prev = self.state.swap(ONE_READER, Ordering::Release);
        debug_assert_eq!(prev, WRITER);
        self.no_writer.notify(usize::MAX);
        self.mutex.unlock();
    }

    fn read_blocking(&self) {
        let mut slot = ReadSlot::new();
        block_on(std::future::poll_fn(|cx| slot.poll(self, cx)));
    }

    fn write_blocking(&self) {
        let mut slot = WriteSlot::new();
        block_on(std::future::poll_fn(|cx| slot.poll(self, cx)));
    }
}

/// One read acquire: not waiting, or waiting on `no_writer`.
///
/// The owner must call [`cancel`](Self::cancel) when it is dropped before completion.
struct ReadSlot {
    listener: Listener,
}

impl ReadSlot {
    const fn new() -> Self {
        Self {
            listener: Listener::new(),
        }
    }

    fn poll(&mut self, raw: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        crate::noting(self.poll_read(raw, cx), "RwLock.read", raw)
    }

    fn poll_read(&mut self, raw: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        let mut listened = false;
        loop {
            if raw.try_read() {
                // `no_writer` wakes every reader: a notification we got needs no passing on.
                self.listener.discard(&raw.no_writer);
                return Poll::Ready(());
            }
            if listened {
                // Still locked after listening: our waker is registered.
                return Poll::Pending;
            }
            if self.listener.is_listening() {
                ready!(self.listener.poll(&raw.no_writer, cx));
            } else {
                // Listen, then look again: a write unlock in between is seen either way.
                self.listener.listen(&raw.no_writer, cx.waker());
                listened = true;
            }
        }
    }

    fn cancel(&mut self, raw: &RawRwLock) {
        self.listener.discard(&raw.no_writer);
    }

    fn is_waiting(&self) -> bool {
        self.listener.is_listening()
    }
}

/// The phases of one write acquire.
enum WritePhase {
    /// Queued for `mutex`.
    Mutex(AcquireSlot),
    /// Holding `mutex` with [`WRITER`] set; waiting for the readers to leave.
    Drain(Listener),
    /// Finished (or cancelled).
    Done,
}

struct WriteSlot {
    phase: WritePhase,
}

impl WriteSlot {
    const fn new() -> Self {
        Self {
            phase: WritePhase::Mutex(AcquireSlot::new()),
        }
    }

    fn poll(&mut self, raw: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        crate::noting(self.poll_write(raw, cx), "RwLock.write", raw)
    }

    fn poll_write(&mut self, raw: &RawRwLock, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &mut self.phase {
                WritePhase::Mutex(slot) => {
                    ready!(slot.poll::<true>(&raw.mutex, cx));
                    let prev = raw.state.fetch_or(WRITER, Ordering::Acquire);
                    debug_assert_eq!(prev & WRITER, 0, "two writers hold the RwLock mutex");
                    if prev == 0 {
                        self.phase = WritePhase::Done;
                        return Poll::Ready(());
                    }
                    self.phase = WritePhase::Drain(Listener::new());
                }
                WritePhase::Drain(listener) => {
                    if listener.is_listening() {
                        ready!(listener.poll(&raw.no_readers, cx));
                    }
                    // Listen, then look: the last reader's notification is seen either way.
                    listener.listen(&raw.no_readers, cx.waker());
                    if raw.state.load(Ordering::Acquire) == WRITER {
                        listener.discard(&raw.no_readers);
                        self.phase = WritePhase::Done;
                        return Poll::Ready(());
                    }
                    return Poll::Pending;
                }
                WritePhase::Done => panic!("write future polled after completion"),
            }
        }
    }

    /// Gives up: leaves the writers' queue, or undoes the `WRITER` bit and `mutex`.
    fn cancel(&mut self, raw: &RawRwLock) {
        match mem::replace(&mut self.phase, WritePhase::Done) {
            WritePhase::Mutex(mut slot) => slot.cancel(&raw.mutex),
            WritePhase::Drain(mut listener) => {
                listener.discard(&raw.no_readers);
                raw.write_unlock();
            }
            WritePhase::Done => {}
        }
    }

    fn is_queued(&self) -> bool {
        !matches!(self.phase, WritePhase::Done)
    }
}

/// An async reader-writer lock that owns its data, with writer preference.
///
/// Any number of readers ([`read()`](RwLock::read)) or one writer
/// ([`write()`](RwLock::write)) may hold the lock. As soon as a writer is first in line, new
/// readers wait, so a steady stream of readers cannot starve writers; writers are served in
/// FIFO order, and the readers that waited behind a writer get in as soon as it is done.
///
/// # Examples
///
/// ```
/// use tulip_sync::RwLock;
///
/// # futures_lite::future::block_on(async {
/// let lock = RwLock::new(5);
/// {
///     let r1 = lock.read().await;
///     let r2 = lock.read().await;
///     assert_eq!(*r1 + *r2, 10);
///     assert!(lock.try_write().is_none());
/// }
/// *lock.write().await += 1;
/// assert_eq!(*lock.read().await, 6);
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer gets `&mut T` on
// any thread (needs `T: Send`). This is `std::sync::RwLock`'s rule. (`Send` is automatic.)
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    const_fn! {
        /// Creates an unlocked reader-writer lock holding `value`.
        ///
        /// # Examples
        ///
        /// ```
        /// use tulip_sync::RwLock;
        ///
        /// static CONFIG: RwLock<Option<String>> = RwLock::new(None);
        /// assert!(CONFIG.try_read().unwrap().is_none());
        /// ```
        #[must_use]
        pub fn new(value: T) -> RwLock<T> {
            RwLock {
                raw: RawRwLock::new(),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the lock and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// assert_eq!(RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared read access.
    ///
    /// Waits while a writer holds the lock or is first in line for it.
    ///
    /// # Cancel safety
    ///
    /// Readers do not queue in order, so dropping the future loses nothing: no place in line,
    /// no wakeup that another task needed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// let a = lock.read().await;
    /// let b = lock.read().await;
    /// assert_eq!(*a, *b);
    /// # });
    /// ```
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: Some(self),
            slot: ReadSlot::new(),
        }
    }

    /// Takes read access if no writer holds or waits for the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let reader = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_none());
    /// drop(reader);
    /// ```
    #[must_use]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw.try_read().then(|| RwLockReadGuard { lock: self })
    }

    /// Blocks the current thread until read access is taken.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// assert_eq!(*lock.read_blocking(), 1);
    /// ```
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        self.raw.read_blocking();
        RwLockReadGuard { lock: self }
    }

    /// Waits for read access with a guard that keeps the `Arc` alive.
    ///
    /// # Cancel safety
    ///
    /// As for [`read()`](RwLock::read): dropping the future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(RwLock::new(1));
    /// let reader = lock.read_arc().await;
    /// std::thread::spawn(move || assert_eq!(*reader, 1)).join().unwrap();
    /// # });
    /// ```
    pub fn read_arc(self: &Arc<Self>) -> ReadArc<T> {
        ReadArc {
            lock: Some(Arc::clone(self)),
            slot: ReadSlot::new(),
        }
    }

    /// [`try_read()`](RwLock::try_read) with an owned guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// assert_eq!(*lock.try_read_arc().unwrap(), 1);
    /// ```
    #[must_use]
    pub fn try_read_arc(self: &Arc<Self>) -> Option<RwLockReadGuardArc<T>> {
        self.raw.try_read().then(|| RwLockReadGuardArc {
            lock: Arc::clone(self),
        })
    }

    /// [`read_blocking()`](RwLock::read_blocking) with an owned guard.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// assert_eq!(*lock.read_arc_blocking(), 1);
    /// ```
    pub fn read_arc_blocking(self: &Arc<Self>) -> RwLockReadGuardArc<T> {
        self.raw.read_blocking();
        RwLockReadGuardArc {
            lock: Arc::clone(self),
        }
    }

    /// Waits for exclusive write access.
    ///
    /// Writers queue in FIFO order. The writer first in line stops new readers from
    /// entering, then waits for the readers inside to leave.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up its place among the writers and nothing else: a place it
    /// had been handed passes to the next writer, and readers it was holding back are let in.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new(1);
    /// *lock.write().await = 2;
    /// assert_eq!(*lock.read().await, 2);
    /// # });
    /// ```
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: Some(self),
            slot: WriteSlot::new(),
        }
    }

    /// Takes write access if nobody holds or waits for the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let writer = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_none());
    /// drop(writer);
    /// ```
    #[must_use]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw
            .try_write()
            .then(|| RwLockWriteGuard { lock: self })
    }

    /// Blocks the current thread until write access is taken.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// *lock.write_blocking() += 1;
    /// assert_eq!(*lock.read_blocking(), 2);
    /// ```
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        self.raw.write_blocking();
        RwLockWriteGuard { lock: self }
    }

    /// Waits for write access with a guard that keeps the `Arc` alive.
    ///
    /// # Cancel safety
    ///
    /// As for [`write()`](RwLock::write).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::RwLock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(RwLock::new(1));
    /// let mut writer = lock.write_arc().await;
    /// std::thread::spawn(move || *writer += 1).join().unwrap();
    /// assert_eq!(*lock.read().await, 2);
    /// # });
    /// ```
    pub fn write_arc(self: &Arc<Self>) -> WriteArc<T> {
        WriteArc {
            lock: Some(Arc::clone(self)),
            slot: WriteSlot::new(),
        }
    }

    /// [`try_write()`](RwLock::try_write) with an owned guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// *lock.try_write_arc().unwrap() = 2;
    /// assert_eq!(*lock.try_read().unwrap(), 2);
    /// ```
    #[must_use]
    pub fn try_write_arc(self: &Arc<Self>) -> Option<RwLockWriteGuardArc<T>> {
        self.raw.try_write().then(|| RwLockWriteGuardArc {
            lock: Arc::clone(self),
            downgraded: false,
        })
    }

    /// [`write_blocking()`](RwLock::write_blocking) with an owned guard.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// *lock.write_arc_blocking() = 3;
    /// assert_eq!(*lock.read_blocking(), 3);
    /// ```
    pub fn write_arc_blocking(self: &Arc<Self>) -> RwLockWriteGuardArc<T> {
        self.raw.write_blocking();
        RwLockWriteGuardArc {
            lock: Arc::clone(self),
            downgraded: false,
        }
    }

    /// A mutable reference to the value; no locking needed, the borrow proves exclusivity.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::RwLock;
    ///
    /// let mut lock = RwLock::new(1);
    /// *lock.get_mut() = 2;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves that no guard exists.
        self.data.with_mut(|data| unsafe { &mut *data })
    }

    /// The value, for a guard.
    ///
    /// # Safety
    ///
    /// The caller holds the lock (for reading or writing), and the reference does not outlive
    /// its hold: no writer can then have a `&mut T`.
    unsafe fn data(&self) -> &T {
        // SAFETY: the caller holds the lock, so no `&mut T` exists while this one lives.
        self.data.with(|data| unsafe { &*data })
    }

    /// The value, mutably, for a write guard.
    ///
    /// # Safety
    ///
    /// The caller holds the write lock and borrows its guard mutably for as long as the
    /// reference lives: no other reference to the value can exist meanwhile.
    #[allow(
        clippy::mut_from_ref,
        reason = "exclusivity comes from the write lock, a contract of this unsafe fn"
    )]
    unsafe fn data_mut(&self) -> &mut T {
        // SAFETY: the caller holds the write lock through a unique borrow of its guard.
        self.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to the value of an [`RwLock`]; dropping it releases the read access.
///
/// # Examples
///
/// ```
/// use tulip_sync::{RwLock, RwLockReadGuard};
///
/// let lock = RwLock::new(1);
/// let reader = lock.try_read().unwrap();
/// assert_eq!(*reader, 1);
/// assert!(std::ptr::eq(RwLockReadGuard::source(&reader), &lock));
/// ```
#[must_use = "the read access ends as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// The lock this guard reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::{RwLock, RwLockReadGuard};
    ///
    /// let lock = RwLock::new(());
    /// let reader = lock.try_read().unwrap();
    /// assert!(RwLockReadGuard::source(&reader).try_write().is_none());
    /// ```
    #[must_use]
    pub fn source(guard: &Self) -> &'a RwLock<T> {
        guard.lock
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.read_unlock();
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a guard holds the lock for as long as it lives, and the reference
        // borrows the guard.
        unsafe { self.lock.data() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owned read guard of an `Arc<RwLock<T>>`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::{RwLock, RwLockReadGuardArc};
///
/// let lock = Arc::new(RwLock::new(1));
/// let reader = lock.try_read_arc().unwrap();
/// assert!(Arc::ptr_eq(RwLockReadGuardArc::source(&reader), &lock));
/// ```
#[must_use = "the read access ends as soon as the guard is dropped"]
pub struct RwLockReadGuardArc<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> RwLockReadGuardArc<T> {
    /// The lock this guard reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::{RwLock, RwLockReadGuardArc};
    ///
    /// let lock = Arc::new(RwLock::new(()));
    /// let reader = lock.try_read_arc().unwrap();
    /// assert!(RwLockReadGuardArc::source(&reader).try_write().is_none());
    /// ```
    #[must_use]
    pub fn source(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }
}

impl<T: ?Sized> Drop for RwLockReadGuardArc<T> {
    fn drop(&mut self) {
        self.lock.raw.read_unlock();
    }
}

impl<T: ?Sized> Deref for RwLockReadGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a guard holds the lock for as long as it lives, and the reference
        // borrows the guard.
        unsafe { self.lock.data() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Exclusive access to the value of an [`RwLock`]; dropping it releases the lock.
///
/// # Examples
///
/// ```
/// use tulip_sync::{RwLock, RwLockWriteGuard};
///
/// let lock = RwLock::new(1);
/// let mut writer = lock.try_write().unwrap();
/// *writer = 2;
/// assert!(std::ptr::eq(RwLockWriteGuard::source(&writer), &lock));
/// ```
#[must_use = "the write access ends as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// The lock this guard writes.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(());
    /// let writer = lock.try_write().unwrap();
    /// assert!(RwLockWriteGuard::source(&writer).try_read().is_none());
    /// ```
    #[must_use]
    pub fn source(guard: &Self) -> &'a RwLock<T> {
        guard.lock
    }

    /// Turns write access into read access, letting other readers in (but no writer in
    /// between).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let mut writer = lock.try_write().unwrap();
    /// *writer = 2;
    /// let reader = RwLockWriteGuard::downgrade(writer);
    /// assert_eq!(*reader, 2);
    /// assert!(lock.try_read().is_some());
    /// assert!(lock.try_write().is_none());
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let lock = guard.lock;
        mem::forget(guard);
        lock.raw.downgrade();
        RwLockReadGuard { lock }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.write_unlock();
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a guard holds the lock for as long as it lives, and the reference
        // borrows the guard.
        unsafe { self.lock.data() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard holds the write lock, and the reference borrows the
        // guard mutably.
        unsafe { self.lock.data_mut() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owned write guard of an `Arc<RwLock<T>>`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulip_sync::{RwLock, RwLockWriteGuardArc};
///
/// let lock = Arc::new(RwLock::new(1));
/// let writer = lock.try_write_arc().unwrap();
/// assert!(Arc::ptr_eq(RwLockWriteGuardArc::source(&writer), &lock));
/// ```
#[must_use = "the write access ends as soon as the guard is dropped"]
pub struct RwLockWriteGuardArc<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    /// Set by `downgrade`: dropping must not unlock.
    downgraded: bool,
}

impl<T: ?Sized> RwLockWriteGuardArc<T> {
    /// The lock this guard writes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::{RwLock, RwLockWriteGuardArc};
    ///
    /// let lock = Arc::new(RwLock::new(()));
    /// let writer = lock.try_write_arc().unwrap();
    /// assert!(RwLockWriteGuardArc::source(&writer).try_read().is_none());
    /// ```
    #[must_use]
    pub fn source(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }

    /// Turns write access into read access; see [`RwLockWriteGuard::downgrade()`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::{RwLock, RwLockWriteGuardArc};
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let writer = lock.try_write_arc().unwrap();
    /// let reader = RwLockWriteGuardArc::downgrade(writer);
    /// assert!(lock.try_read().is_some());
    /// assert_eq!(*reader, 1);
    /// ```
    pub fn downgrade(mut guard: Self) -> RwLockReadGuardArc<T> {
        let lock = Arc::clone(&guard.lock);
        guard.downgraded = true;
        drop(guard);
        lock.raw.downgrade();
        RwLockReadGuardArc { lock }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuardArc<T> {
    fn drop(&mut self) {
        if !self.downgraded {
            self.lock.raw.write_unlock();
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a guard holds the lock for as long as it lives, and the reference
        // borrows the guard.
        unsafe { self.lock.data() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard holds the write lock, and the reference borrows the
        // guard mutably.
        unsafe { self.lock.data_mut() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// The future of [`RwLock::read()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::RwLock;
/// use tulip_sync::futures::Read;
///
/// # futures_lite::future::block_on(async {
/// let lock = RwLock::new(1);
/// let read: Read<'_, i32> = lock.read();
/// assert_eq!(*read.await, 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Read<'a, T: ?Sized> {
    lock: Option<&'a RwLock<T>>,
    slot: ReadSlot,
}

impl<'a, T: ?Sized> Future for Read<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this.lock.expect("Read polled after completion");
        ready!(this.slot.poll(&lock.raw, cx));
        this.lock = None;
        Poll::Ready(RwLockReadGuard { lock })
    }
}

impl<T: ?Sized> Drop for Read<'_, T> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            self.slot.cancel(&lock.raw);
        }
    }
}

impl<T: ?Sized> fmt::Debug for Read<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read")
            .field("waiting", &self.slot.is_waiting())
            .finish_non_exhaustive()
    }
}

/// The future of [`RwLock::read_arc()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::RwLock;
/// use tulip_sync::futures::ReadArc;
///
/// # futures_lite::future::block_on(async {
/// let lock = std::sync::Arc::new(RwLock::new(1));
/// let read: ReadArc<i32> = lock.read_arc();
/// assert_eq!(*read.await, 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ReadArc<T: ?Sized> {
    lock: Option<Arc<RwLock<T>>>,
    slot: ReadSlot,
}

impl<T: ?Sized> Future for ReadArc<T> {
    type Output = RwLockReadGuardArc<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this.lock.as_ref().expect("ReadArc polled after completion");
        ready!(this.slot.poll(&lock.raw, cx));
        Poll::Ready(RwLockReadGuardArc {
            lock: this.lock.take().expect("checked above"),
        })
    }
}

impl<T: ?Sized> Drop for ReadArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.slot.cancel(&lock.raw);
        }
    }
}

impl<T: ?Sized> fmt::Debug for ReadArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadArc")
            .field("waiting", &self.slot.is_waiting())
            .finish_non_exhaustive()
    }
}

/// The future of [`RwLock::write()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::RwLock;
/// use tulip_sync::futures::Write;
///
/// # futures_lite::future::block_on(async {
/// let lock = RwLock::new(1);
/// let write: Write<'_, i32> = lock.write();
/// *write.await += 1;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Write<'a, T: ?Sized> {
    lock: Option<&'a RwLock<T>>,
    slot: WriteSlot,
}

impl<'a, T: ?Sized> Future for Write<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this.lock.expect("Write polled after completion");
        ready!(this.slot.poll(&lock.raw, cx));
        this.lock = None;
        Poll::Ready(RwLockWriteGuard { lock })
    }
}

impl<T: ?Sized> Drop for Write<'_, T> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            self.slot.cancel(&lock.raw);
        }
    }
}

impl<T: ?Sized> fmt::Debug for Write<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write")
            .field("waiting", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}

/// The future of [`RwLock::write_arc()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::RwLock;
/// use tulip_sync::futures::WriteArc;
///
/// # futures_lite::future::block_on(async {
/// let lock = std::sync::Arc::new(RwLock::new(1));
/// let write: WriteArc<i32> = lock.write_arc();
/// *write.await += 1;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WriteArc<T: ?Sized> {
    lock: Option<Arc<RwLock<T>>>,
    slot: WriteSlot,
}

impl<T: ?Sized> Future for WriteArc<T> {
    type Output = RwLockWriteGuardArc<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this
            .lock
            .as_ref()
            .expect("WriteArc polled after completion");
        ready!(this.slot.poll(&lock.raw, cx));
        Poll::Ready(RwLockWriteGuardArc {
            lock: this.lock.take().expect("checked above"),
            downgraded: false,
        })
    }
}

impl<T: ?Sized> Drop for WriteArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.slot.cancel(&lock.raw);
        }
    }
}

impl<T: ?Sized> fmt::Debug for WriteArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteArc")
            .field("waiting", &self.slot.is_queued())
            .finish_non_exhaustive()
    }
}
