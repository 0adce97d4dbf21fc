//! [`Instant`]: a point in time read from the current clock, real or virtual.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::clock::Clock;

/// A measurement of a monotonically nondecreasing clock, like [`std::time::Instant`], read from
/// the clock of the event loop running on this thread.
///
/// Under a paused (virtual) clock, as in `#[tulip::test(start_paused = true)]`,
/// [`Instant::now`] returns virtual time, which only moves when every task is idle or when a
/// test advances it; everywhere else it is the system's monotonic clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_time::Instant;
///
/// let start = Instant::now();
/// let later = start + Duration::from_secs(1);
/// assert_eq!(later - start, Duration::from_secs(1));
/// assert_eq!(start.saturating_duration_since(later), Duration::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// The current time of this thread's clock (virtual when the running loop's clock is
    /// paused, the system's monotonic clock otherwise).
    pub fn now() -> Instant {
        Clock::now_current()
    }

    /// Wraps a [`std::time::Instant`].
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant(std)
    }

    /// The [`std::time::Instant`] inside.
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time elapsed from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time elapsed since `self` by this thread's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` on overflow.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// `self - duration`, or `None` on underflow.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_sub(duration).map(Instant)
    }

    /// `self + duration`, or the latest representable instant on overflow (about 30 years
    /// ahead is guaranteed; platforms usually go much further). Timers use this so that
    /// `Duration::MAX` means "never" instead of a panic.
    #[inline]
    pub fn saturating_add(&self, duration: Duration) -> Instant {
        match self.checked_add(duration) {
            Some(t) => t,
            None => self.saturating_add_slow(duration),
        }
    }

    /// [`saturating_add`](Self::saturating_add) once `self + duration` overflowed.
    #[cold]
    fn saturating_add_slow(&self, duration: Duration) -> Instant {
        // Find the largest addable duration by halving; at most ~64 steps, only on overflow.
        let mut lo = Duration::ZERO;
        let mut hi = duration;
        while hi - lo > Duration::from_nanos(1) {
            let mid = lo + (hi - lo) / 2;
            if self.0.checked_add(mid).is_some() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Instant(self.0 + lo)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(t: Instant) -> std::time::Instant {
        t.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Panics on overflow, like [`std::time::Instant`]; use [`Instant::checked_add`] or
    /// [`Instant::saturating_add`] to avoid it.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0 + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, rhs: Duration) -> Instant {
        Instant(self.0 - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 -= rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates to zero when `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}
