//! [`ShortLock<T>`]: the lock an owner keeps its [`WaitList`](crate::WaitList) behind, for
//! critical sections of a few dozen instructions.
//!
//! `std::sync::Mutex` checks the thread's panic state twice per critical section for its
//! poisoning, which the wait lists' owners do not use (tulip's locks ignore poisoning): a
//! tenth of the instructions of a contended semaphore acquire, and about 50 instructions of a
//! channel's round trip. This lock is `std`'s futex mutex without poisoning:
//! one compare-and-swap to lock and one swap to unlock when nobody waits, a short spin, then
//! sleep. Lacking a portable futex, a sleeper waits on a condition variable (the lock's own,
//! with the mutex it needs); only a contended unlock touches them.
//!
//! States: `UNLOCKED`; `LOCKED`, nobody sleeps; `CONTENDED`, somebody may sleep, so the unlock
//! wakes one sleeper. A thread that gave up spinning takes the lock as `CONTENDED` (it cannot
//! tell whether others sleep), exactly as `std`'s does.
//!
//! Under `--cfg tulip_loom` the atomics, the cell and the sleeping are loom's, so the models
//! check this lock too (without the spin, which loom cannot explore).

use std::ops::{Deref, DerefMut};
use tulip_util::const_fn;
use tulip_util::sync::{lock, AtomicU32, Mutex, Ordering, UnsafeCell};

#[cfg(tulip_loom)]
use loom::sync::Condvar;
#[cfg(not(tulip_loom))]
use std::sync::Condvar;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

/// Spins before sleeping, as `std`'s futex mutex does.
#[cfg(not(tulip_loom))]
const SPINS: u32 = 100;

/// A mutex without poisoning for short critical sections: `std`'s futex mutex without its
/// poisoning checks (one compare-and-swap to lock and one swap to unlock when nobody waits,
/// a short spin, then a sleep on a condition variable).
///
/// A panic while the lock is held unlocks it (the guard's `Drop` runs) and leaves the data as
/// the panic found it, as `std`'s mutex does when its poisoning is ignored.
///
/// `repr(C)`: `state` first, so that it can share a cache line with atomics the owner puts
/// right before it.
///
/// # Examples
///
/// ```
/// use tulip_waitlist::ShortLock;
///
/// let lock = ShortLock::new(Vec::new());
/// lock.lock().push(1);
/// lock.lock().push(2);
/// assert_eq!(*lock.lock(), [1, 2]);
/// ```
#[repr(C)]
pub struct ShortLock<T> {
    state: AtomicU32,
    data: UnsafeCell<T>,
    /// Held by a sleeper between its last look at `state` and its wait.
    sleep: Mutex<()>,
    wake: Condvar,
}

// SAFETY: the lock hands the data to one thread at a time (the guard borrows the lock), so
// it only needs the data to be sendable, as `std::sync::Mutex` does.
unsafe impl<T: Send> Send for ShortLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for ShortLock<T> {}

impl<T> ShortLock<T> {
    const_fn! {
        /// An unlocked lock holding `value`.
        pub fn new(value: T) -> Self {
            Self {
                state: AtomicU32::new(UNLOCKED),
                data: UnsafeCell::new(value),
                sleep: Mutex::new(()),
                wake: Condvar::new(),
            }
        }
    }

    /// Locks, waiting for the holder if there is one (spinning briefly, then sleeping).
    #[inline(always)]
    pub fn lock(&self) -> ShortGuard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ShortGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        #[cfg(not(tulip_loom))]
        for _ in 0..SPINS {
            match self.state.load(Ordering::Relaxed) {
                UNLOCKED => {
                    if self
                        .state
                        .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        return;
                    }
                }
                // Others sleep already: no point spinning.
                CONTENDED => break,
                _ => std::hint::spin_loop(),
            }
        }
        // Taken as CONTENDED, so that our unlock wakes whoever sleeps behind us.
        while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            let guard = lock(&self.sleep);
            // Looked at under `sleep`: an unlock that came before this load finds us awake
            // and we see UNLOCKED; one that comes after it takes `sleep` only once we wait,
            // and then wakes us (or another sleeper, who will pass the wake on when it
            // unlocks, the state being CONTENDED again).
            if self.state.load(Ordering::Relaxed) == CONTENDED {
                drop(self.wake.wait(guard));
            }
        }
    }

    /// Unlocks; wakes a sleeper if there may be one.
    #[inline(always)]
    fn unlock(&self) {
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            self.wake_one();
        }
    }

    #[cold]
    fn wake_one(&self) {
        // A sleeper that saw CONTENDED holds `sleep` until it waits: taking it here means
        // it waits now, and the notification reaches it.
        drop(lock(&self.sleep));
        self.wake.notify_one();
    }
}

/// Holds a [`ShortLock`]; unlocks it when dropped.
pub struct ShortGuard<'a, T> {
    lock: &'a ShortLock<T>,
}

// Unwind safety as `std::sync::Mutex` has it, whose poisoning tulip's locks ignore anyway: a
// panic inside a critical section unlocks (the guard's `Drop`), and the owners keep their
// data consistent at every point a panic can come from (a waker's clone happens before the
// list changes).
impl<T> std::panic::RefUnwindSafe for ShortLock<T> {}
impl<T> std::panic::UnwindSafe for ShortLock<T> {}

impl<T> std::fmt::Debug for ShortLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The data is not shown: looking at it would mean taking the lock.
        let locked = self.state.load(Ordering::Relaxed) != UNLOCKED;
        f.debug_struct("ShortLock")
            .field("locked", &locked)
            .finish_non_exhaustive()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for ShortGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl<T> Deref for ShortGuard<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no `&mut T` exists elsewhere; the reference
        // cannot outlive the guard.
        self.lock.data.with(|data| unsafe { &*data })
    }
}

impl<T> DerefMut for ShortGuard<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock and is borrowed mutably, so this is the only
        // reference to the data until it is dropped.
        self.lock.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T> Drop for ShortGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

#[cfg(all(test, not(tulip_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn excludes_and_counts_across_threads() {
        let lock = Arc::new(ShortLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..if cfg!(miri) { 50 } else { 20_000 } {
                        let mut guard = lock.lock();
                        let seen = *guard;
                        // Give another thread a chance to run inside the critical section.
                        std::thread::yield_now();
                        *guard = seen + 1;
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let expected = if cfg!(miri) { 200 } else { 80_000 };
        assert_eq!(*lock.lock(), expected);
        assert_eq!(lock.state.load(Ordering::Relaxed), UNLOCKED);
    }
}

/// Run with `RUSTFLAGS="--cfg tulip_loom" cargo test --release -p tulip-waitlist --lib short_lock`.
#[cfg(all(test, tulip_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    #[test]
    fn three_lockers_exclude_and_the_sleepers_wake() {
        loom::model(|| {
            let lock = Arc::new(ShortLock::new(0u32));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let lock = Arc::clone(&lock);
                    loom::thread::spawn(move || {
                        let mut guard = lock.lock();
                        let seen = *guard;
                        loom::thread::yield_now();
                        *guard = seen + 1;
                    })
                })
                .collect();
            {
                let mut guard = lock.lock();
                *guard += 1;
            }
            for thread in threads {
                thread.join().unwrap();
            }
            assert_eq!(*lock.lock(), 3);
            assert_eq!(lock.state.load(Ordering::Relaxed), UNLOCKED);
        });
    }
}
