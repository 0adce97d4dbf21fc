//! The seam between the executor and what it waits on: [`Driver`] (the reactor, in a full
//! tulip loop) and [`ThreadDriver`] (no I/O: the thread just sleeps until woken).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::Thread;
use std::time::Duration;

use tulip_util::lock;

/// What the loop does when it has nothing to run: wait for I/O and timers (the reactor, in a
/// full tulip loop).
///
/// The executor calls `park(Some(Duration::ZERO), _)` every so many task polls (check without
/// blocking) and `park(None, _)` when it has nothing to run (block until an I/O event, a timer,
/// or [`unpark`](Driver::unpark)). In a multi-threaded executor one worker at a time parks in
/// the driver; the others sleep on their own parkers.
pub trait Driver: Send + Sync + 'static {
    /// Waits for events and wakes what they concern. `may_advance_time` is `false` while some
    /// other worker is still busy: a paused (virtual) clock must not jump then.
    fn park(&self, timeout: Option<Duration>, may_advance_time: bool);

    /// Interrupts a blocking [`park`](Driver::park) from any thread.
    fn unpark(&self);

    /// Whether time is virtual and paused (the executor then makes sure the last worker to go
    /// idle lets the driver advance it).
    fn time_is_paused(&self) -> bool {
        false
    }
}

/// A [`Driver`] for executors without I/O: blocks the parking thread until unparked.
#[derive(Debug, Default)]
pub struct ThreadDriver {
    /// The thread blocked in `park`, if any.
    parked: Mutex<Option<Thread>>,
    /// A pending unpark (consumed by the next park).
    notified: AtomicBool,
}

impl ThreadDriver {
    /// A new driver.
    pub fn new() -> ThreadDriver {
        ThreadDriver::default()
    }
}

impl Driver for ThreadDriver {
    fn park(&self, timeout: Option<Duration>, _may_advance_time: bool) {
        if timeout == Some(Duration::ZERO) {
            return;
        }
        *lock(&self.parked) = Some(std::thread::current());
        if !self.notified.swap(false, Ordering::SeqCst) {
            match timeout {
                Some(t) => std::thread::park_timeout(t),
                None => std::thread::park(),
            }
        }
        self.notified.store(false, Ordering::SeqCst);
        *lock(&self.parked) = None;
    }

    fn unpark(&self) {
        self.notified.store(true, Ordering::SeqCst);
        if let Some(t) = lock(&self.parked).as_ref() {
            t.unpark();
        }
    }
}
