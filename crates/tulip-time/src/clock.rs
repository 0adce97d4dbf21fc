//! [`Clock`]: the real monotonic clock, or a virtual one that tests can pause and advance.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Instant;

thread_local! {
    /// The clock of the loop running on this thread; `None` means the real clock.
    static CURRENT: RefCell<Option<Arc<Virtual>>> = const { RefCell::new(None) };
}

/// A virtual clock: `base` plus an offset that only moves when told to.
struct Virtual {
    /// The real instant virtual time started from.
    base: std::time::Instant,
    /// Virtual nanoseconds elapsed since `base`.
    offset: AtomicU64,
}

impl Virtual {
    fn now(&self) -> Instant {
        let offset = Duration::from_nanos(self.offset.load(Ordering::Acquire));
        Instant::from_std(self.base + offset)
    }
}

/// The time source of an event loop: the system's monotonic clock, or a paused virtual clock.
///
/// A loop reads time only through its `Clock`, so virtual time is a swap rather than a second
/// code path. A paused clock starts at the real time of its creation and moves only through
/// [`Clock::advance`] / [`Clock::advance_to`]; the event loop advances it to the next timer
/// whenever every task is idle, so a test of a one-hour timeout takes microseconds.
///
/// Clones share one time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_time::Clock;
///
/// let clock = Clock::paused();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now() - start, Duration::from_secs(3600));
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    /// `None` for the real clock.
    virt: Option<Arc<Virtual>>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.virt {
            None => f.write_str("Clock::Real"),
            Some(v) => f
                .debug_struct("Clock::Paused")
                .field("now", &v.now())
                .finish(),
        }
    }
}

impl Clock {
    /// The system's monotonic clock.
    pub fn real() -> Clock {
        Clock { virt: None }
    }

    /// A paused virtual clock starting at the current real time.
    pub fn paused() -> Clock {
        Clock {
            virt: Some(Arc::new(Virtual {
                base: std::time::Instant::now(),
                offset: AtomicU64::new(0),
            })),
        }
    }

    /// Whether this is a paused virtual clock.
    pub fn is_paused(&self) -> bool {
        self.virt.is_some()
    }

    /// The current time of this clock.
    pub fn now(&self) -> Instant {
        match &self.virt {
            None => Instant::from_std(std::time::Instant::now()),
            Some(v) => v.now(),
        }
    }

    /// Moves a paused clock forward by `d` (saturating). Returns `false`, and does nothing,
    /// on the real clock.
    pub fn advance(&self, d: Duration) -> bool {
        match &self.virt {
            None => false,
            Some(v) => {
                let add = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                let mut cur = v.offset.load(Ordering::Acquire);
                loop {
                    let new = cur.saturating_add(add);
                    match v.offset.compare_exchange_weak(
                        cur,
                        new,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return true,
                        Err(actual) => cur = actual,
                    }
                }
            }
        }
    }

    /// Moves a paused clock forward to `t` if `t` is later than its current time. Returns
    /// `false`, and does nothing, on the real clock.
    pub fn advance_to(&self, t: Instant) -> bool {
        match &self.virt {
            None => false,
            Some(v) => {
                let target = t.into_std().saturating_duration_since(v.base);
                let target = u64::try_from(target.as_nanos()).unwrap_or(u64::MAX);
                v.offset.fetch_max(target, Ordering::AcqRel);
                true
            }
        }
    }

    /// Makes this the clock that [`Instant::now`] reads on this thread until the guard drops.
    pub fn enter(&self) -> ClockGuard {
        let prev = CURRENT.with(|c| c.replace(self.virt.clone()));
        ClockGuard { prev: Some(prev) }
    }

    /// The clock entered on this thread, or the real clock.
    pub fn current() -> Clock {
        Clock {
            virt: CURRENT.with(|c| c.borrow().clone()),
        }
    }

    /// `Instant::now()` for this thread's clock, without cloning it.
    pub(crate) fn now_current() -> Instant {
        CURRENT.with(|c| match &*c.borrow() {
            None => Instant::from_std(std::time::Instant::now()),
            Some(v) => v.now(),
        })
    }
}

/// Restores the previously entered clock when dropped (see [`Clock::enter`]).
#[must_use = "the clock is only entered while the guard lives"]
pub struct ClockGuard {
    prev: Option<Option<Arc<Virtual>>>,
}

impl fmt::Debug for ClockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClockGuard")
    }
}

impl Drop for ClockGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            // The thread-local may already be gone during thread teardown.
            let _ = CURRENT.try_with(|c| c.replace(prev));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entered_paused_clock_drives_instant_now() {
        let clock = Clock::paused();
        let t0 = clock.now();
        {
            let _g = clock.enter();
            assert_eq!(Instant::now(), t0);
            clock.advance(Duration::from_millis(5));
            assert_eq!(Instant::now() - t0, Duration::from_millis(5));
            assert!(Clock::current().is_paused());
        }
        assert!(!Clock::current().is_paused());
    }

    #[test]
    fn advance_saturates_and_advance_to_never_goes_back() {
        let clock = Clock::paused();
        let t0 = clock.now();
        clock.advance_to(t0 + Duration::from_secs(10));
        clock.advance_to(t0 + Duration::from_secs(5));
        assert_eq!(clock.now() - t0, Duration::from_secs(10));
        assert!(clock.advance(Duration::MAX));
        assert!(clock.now() > t0);
        assert!(!Clock::real().advance(Duration::from_secs(1)));
    }
}
