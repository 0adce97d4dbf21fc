//! The one place where the crate picks its low-level synchronization tools.
//!
//! Every primitive in this crate is built from these, and this module decides where each
//! comes from:
//!
//! | tool | normal build | `--cfg tulip_loom` |
//! |---|---|---|
//! | atomics and fences (`atomic::*`) | `std::sync::atomic` | `loom::sync::atomic` |
//! | the slow-path [`Mutex`] | `std::sync::Mutex` | `loom::sync::Mutex` |
//! | [`UnsafeCell`] (data of `Mutex<T>`/`RwLock<T>`) | a thin wrapper over `std::cell::UnsafeCell` | `loom::cell::UnsafeCell` |
//! | [`block_on`] (for the `*_blocking` methods) | thread parking | `loom::future::block_on` |
//!
//! The wait queues (the `tulip-waitlist` crate, used by `raw.rs` and `notify.rs`) are plain data kept
//! behind these mutexes and published through these atomics, the same code in both builds.
//! So under loom every lock, atomic and fence on a waiting path is loom's: the models check
//! the wait queues together with the state machines built on them (the permit word, the
//! reader/writer word, the event flag, the barrier state) in every interleaving. There is no
//! stand-in any more, and no third-party code on those paths.

#![allow(dead_code)] // Not every helper is used in both the std and the loom build.

pub(crate) use std::sync::Arc;

#[cfg(not(tulip_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(tulip_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// Atomics: `std` or loom.
pub(crate) mod atomic {
    #[cfg(not(tulip_loom))]
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

    #[cfg(tulip_loom)]
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
}

/// Locks a slow-path mutex, ignoring poisoning.
///
/// The critical sections in this crate only update counters and wait lists, and wake no
/// task while the lock is held; they leave the protected data consistent, so poisoning
/// carries no information here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Expands to a `const fn` in normal builds and to a plain `fn` under `tulip_loom`, whose
/// types cannot be built in a const context.
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
pub(crate) use const_fn;

// ---------------------------------------------------------------------------------------
// UnsafeCell
// ---------------------------------------------------------------------------------------

/// `std::cell::UnsafeCell` with loom's closure-based API, so one body serves both builds.
#[cfg(not(tulip_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(tulip_loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Unwraps the value.
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(tulip_loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared pointer to the value.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the value.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(tulip_loom)]
pub(crate) use loom::cell::UnsafeCell;

// ---------------------------------------------------------------------------------------
// block_on for the *_blocking methods
// ---------------------------------------------------------------------------------------

/// Drives `future` to completion on the current thread, parking it while it waits.
#[cfg(not(tulip_loom))]
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::{self, Thread};

    struct Unparker(Thread);

    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
    }

    let mut future = std::pin::pin!(future);
    let waker = WAKER
        .try_with(Waker::clone)
        .unwrap_or_else(|_| Waker::from(Arc::new(Unparker(thread::current()))));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A spurious unpark only costs one more poll.
        thread::park();
    }
}

#[cfg(tulip_loom)]
pub(crate) use loom::future::block_on;
