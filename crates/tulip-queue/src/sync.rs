//! The synchronisation primitives this crate is built on.
//!
//! Everything in the crate that is shared between threads and written by us goes through this
//! module: `std`'s types in a normal build, loom's under `RUSTFLAGS="--cfg tulip_loom"`, so the
//! loom models in `tests/loom.rs` explore our own atomics, locks and reference counts.
//!
//! The wait lists (the `tulip-waitlist` crate) are plain data behind these mutexes, the same code in both
//! builds, so loom explores them too.
//!
//! The cfg is deliberately not the bare `loom`: concurrent-queue switches into its own loom
//! mode under `cfg(loom)` and then fails to build without its `loom` feature. Under
//! `tulip_loom` it stays ordinary std code, which loom runs but does not explore (see the
//! crate documentation, "Implementation").

#[cfg(not(tulip_loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

#[cfg(tulip_loom)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use std::sync::PoisonError;

/// Locks `mutex`, ignoring poisoning.
///
/// A panic while the lock is held can only come from user code that runs under it (an item's
/// `Ord` or `Clone`); every critical section in this crate leaves the protected state
/// consistent before calling such code, so the data behind a poisoned lock is still valid.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks `lock`, ignoring poisoning (see [`lock`]).
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks `lock`, ignoring poisoning (see [`lock`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
