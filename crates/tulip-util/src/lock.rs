//! [`lock`], [`read`] and [`write`]: `std` locks without poisoning (see the crate docs).

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, ignoring poisoning (see the [crate docs](crate#poisoning)).
///
/// # Examples
///
/// ```
/// let m = std::sync::Mutex::new(vec![1]);
/// tulip_util::lock(&m).push(2);
/// assert_eq!(*tulip_util::lock(&m), [1, 2]);
/// ```
#[inline]
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks `lock`, ignoring poisoning (see [`lock`]).
///
/// # Examples
///
/// ```
/// let l = std::sync::RwLock::new(3);
/// assert_eq!(*tulip_util::read(&l), 3);
/// ```
#[inline]
pub fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks `lock`, ignoring poisoning (see [`lock`]).
///
/// # Examples
///
/// ```
/// let l = std::sync::RwLock::new(3);
/// *tulip_util::write(&l) += 1;
/// assert_eq!(*tulip_util::read(&l), 4);
/// ```
#[inline]
pub fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, RwLock};

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let m = Mutex::new(5);
        let l = RwLock::new(6);
        std::thread::scope(|s| {
            let _ = s
                .spawn(|| {
                    let _g = m.lock().unwrap();
                    let _w = l.write().unwrap();
                    panic!("poison both");
                })
                .join();
        });
        assert!(m.is_poisoned() && l.is_poisoned());
        assert_eq!(*super::lock(&m), 5);
        assert_eq!(*super::read(&l), 6);
        *super::write(&l) = 7;
        assert_eq!(*super::read(&l), 7);
    }
}
