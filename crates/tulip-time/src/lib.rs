//! Time for the tulip event loop: instants, clocks (real and virtual) and the timer wheel.
//!
//! - [`Instant`]: a point in time read from the running loop's clock.
//! - [`Clock`]: the system's monotonic clock, or a paused virtual clock for tests.
//! - [`wheel::TimerWheel`]: a hierarchical timer wheel with O(1) insert and cancel.
//! - [`Elapsed`]: the error of a timeout (asyncio's `TimeoutError`).
//!
//! This crate holds data structures only: it never blocks, spawns threads or touches file
//! descriptors. The reactor (`tulip-reactor`) owns a wheel per event loop and drives it; the
//! user-facing `sleep`, `timeout` and `interval` futures live there and in the `tulip` facade.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use tulip_time::{wheel::TimerWheel, Clock};
//!
//! let clock = Clock::paused();
//! let origin = clock.now();
//! let mut wheel = TimerWheel::new();
//! wheel.insert(Duration::from_millis(10).as_nanos() as u64, "ten");
//! wheel.insert(Duration::from_millis(5).as_nanos() as u64, "five");
//!
//! clock.advance(Duration::from_millis(10));
//! let now = (clock.now() - origin).as_nanos() as u64;
//! let mut fired = Vec::new();
//! wheel.expire(now, &mut fired);
//! assert_eq!(fired, ["five", "ten"]);
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod clock;
mod instant;
pub mod wheel;

pub use clock::{Clock, ClockGuard};
pub use instant::Instant;

use std::error::Error;
use std::fmt;

/// The error of a future that did not finish before its deadline (asyncio's `TimeoutError`).
///
/// # Examples
///
/// ```
/// let e = tulip_time::Elapsed::new();
/// assert_eq!(e.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

impl Elapsed {
    /// Creates the error.
    pub fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
