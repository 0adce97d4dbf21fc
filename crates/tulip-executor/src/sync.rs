//! The synchronization primitives the schedulers use: std's, or loom's under
//! `--cfg tulip_loom` so the models in `tests/loom.rs` explore every interleaving.

#[cfg(not(tulip_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize};
#[cfg(not(tulip_loom))]
pub(crate) use std::sync::Mutex;
#[cfg(not(tulip_loom))]
pub(crate) use std::thread::{current as current_thread, park, Thread};

#[cfg(tulip_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize};
#[cfg(tulip_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(tulip_loom)]
pub(crate) use loom::thread::{current as current_thread, park, Thread};

/// Locks a mutex, ignoring poisoning (no user code runs under the schedulers' locks).
pub(crate) fn lock<T>(m: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    #[cfg(not(tulip_loom))]
    {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
    #[cfg(tulip_loom)]
    {
        m.lock().unwrap()
    }
}

#[cfg(tulip_loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(not(tulip_loom))]
pub(crate) use std::sync::MutexGuard;
