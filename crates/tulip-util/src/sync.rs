//! The synchronization tools of code that loom models check: `std`'s in a normal build,
//! loom's under `RUSTFLAGS="--cfg tulip_loom"`, so that the models in the crates' `tests/loom.rs`
//! explore every interleaving of our own atomics, locks and parking.
//!
//! | tool | normal build | `--cfg tulip_loom` |
//! |---|---|---|
//! | atomics, [`fence`], [`Ordering`] | `std::sync::atomic` | `loom::sync::atomic` |
//! | [`Arc`], [`Mutex`], [`RwLock`] and their guards | `std::sync` | `loom::sync` |
//! | [`current`], [`park`], [`Thread`] | `std::thread` | `loom::thread` |
//! | [`UnsafeCell`] | a thin wrapper over `std::cell::UnsafeCell` with loom's API | `loom::cell::UnsafeCell` |
//! | [`block_on`] | [`crate::block_on`] (thread parking) | `loom::future::block_on` |
//!
//! [`lock`], [`read`] and [`write()`] ignore poisoning, as the crate-level ones do.
//! [`const_fn!`](crate::const_fn) makes a `const fn` that loom's types (which cannot be built in
//! a const context) turn into a plain `fn`.
//!
//! The cfg is deliberately not the bare `loom`: concurrent-queue switches into its own loom
//! mode under `cfg(loom)`, which only the executor's models want (`cargo xtask loom` passes
//! both to them).
//!
//! Code that no loom model reaches uses `std` directly and the crate-level [`crate::lock`].

#[cfg(not(tulip_loom))]
pub use std::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(tulip_loom))]
pub use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(not(tulip_loom))]
pub use std::thread::{current, park, Thread};

#[cfg(tulip_loom)]
pub use loom::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(tulip_loom)]
pub use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(tulip_loom)]
pub use loom::thread::{current, park, Thread};

#[cfg(not(tulip_loom))]
pub use crate::block_on;
#[cfg(tulip_loom)]
pub use loom::future::block_on;

#[cfg(not(tulip_loom))]
pub use crate::{lock, read, write};

/// Locks `mutex`, ignoring poisoning (see the [crate docs](crate#poisoning)).
#[cfg(tulip_loom)]
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Read-locks `lock`, ignoring poisoning.
#[cfg(tulip_loom)]
pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write-locks `lock`, ignoring poisoning.
#[cfg(tulip_loom)]
pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `std::cell::UnsafeCell` with loom's closure-based API, so one body serves both builds.
///
/// # Examples
///
/// ```
/// let cell = tulip_util::sync::UnsafeCell::new(1);
/// // SAFETY: no other access to the cell exists.
/// cell.with_mut(|p| unsafe { *p += 1 });
/// assert_eq!(cell.into_inner(), 2);
/// ```
#[cfg(not(tulip_loom))]
#[derive(Debug)]
pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(tulip_loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(tulip_loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared pointer to the value.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the value.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(tulip_loom)]
pub use loom::cell::UnsafeCell;

/// Expands to a `const fn` in normal builds and to a plain `fn` under `tulip_loom`, whose
/// types cannot be built in a const context. The cfg is read in the crate that uses it.
///
/// # Examples
///
/// ```
/// use tulip_util::sync::{AtomicUsize, Ordering};
///
/// pub struct Counter(AtomicUsize);
///
/// impl Counter {
///     tulip_util::const_fn! {
///         /// A counter at zero.
///         pub fn new() -> Counter {
///             Counter(AtomicUsize::new(0))
///         }
///     }
/// }
///
/// assert_eq!(Counter::new().0.load(Ordering::Relaxed), 0);
/// ```
#[macro_export]
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(tulip_loom))]
        $(#[$attr])*
        $vis const fn $($rest)*

        #[cfg(tulip_loom)]
        $(#[$attr])*
        $vis fn $($rest)*
    };
}
