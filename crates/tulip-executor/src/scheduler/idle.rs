//! Parking and waking the workers of a multi-threaded executor.
//!
//! The protocol, which `tests/loom.rs` checks for lost wake-ups:
//!
//! * One atomic word holds how many workers sleep and how many search. A worker that found
//!   nothing to run **registers as a sleeper first** (a read-modify-write of the word), then
//!   looks for work once more, and only then sleeps. A producer **pushes its work first**, then
//!   reads the word with a read-modify-write (`fetch_add(0)`): the two RMWs on one location are
//!   ordered, so either the worker sees the work or the producer sees the sleeper.
//! * A producer wakes one sleeper only if no worker is already searching; the woken worker is
//!   counted as searching by its waker. A searching worker that finds work stops searching and,
//!   if it was the last searcher, wakes the next sleeper (work may be waiting behind it).
//! * A sleeping worker blocks in the driver (I/O) if nobody else is there, on its own thread
//!   parker otherwise. Each worker's parker is one atomic state (`EMPTY`, `NOTIFIED`,
//!   `PARKED_THREAD`, `PARKED_DRIVER`): the sleeper moves it from `EMPTY` to a parked state by
//!   compare-and-swap, the waker swaps in `NOTIFIED` and interrupts whichever wait it replaced,
//!   so no wake-up falls between checking and sleeping.

use std::cell::Cell;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::OnceLock;

use tulip_util::sync::{
    current as current_thread, lock, park, AtomicBool, AtomicU8, AtomicUsize, Mutex, Thread,
};

/// Parker states.
const EMPTY: u8 = 0;
const NOTIFIED: u8 = 1;
const PARKED_THREAD: u8 = 2;
const PARKED_DRIVER: u8 = 3;

/// One sleeper in the packed state word.
const SLEEPER: usize = 1 << 16;
/// Mask of the searching count in the packed state word.
const SEARCHING_MASK: usize = SLEEPER - 1;

fn sleeping(state: usize) -> usize {
    state >> 16
}

fn searching(state: usize) -> usize {
    state & SEARCHING_MASK
}

/// One worker's sleeping state.
pub(crate) struct Parker {
    state: AtomicU8,
    /// The worker's thread.
    thread: OnceLock<Thread>,
}

/// The sleep/wake bookkeeping of all workers.
pub(crate) struct Idle {
    parkers: Box<[Parker]>,
    /// Ids of sleeping workers.
    sleepers: Mutex<Vec<usize>>,
    /// Sleeping workers (`>> 16`) and searching workers (low 16 bits).
    state: AtomicUsize,
    /// Set while a worker is blocked in (or polling) the driver. An atomic flag rather than a
    /// mutex: it is only ever tried, never waited for.
    driver_busy: AtomicBool,
}

/// Releases the driver when dropped.
struct DriverGuard<'a>(&'a AtomicBool);

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, SeqCst);
    }
}

/// How a worker sleeps in (and is woken from) the driver.
pub(crate) trait DriverPark {
    /// Blocks until events arrive or [`unpark`](Self::unpark) is called.
    fn park(&self, may_advance_time: bool);
    /// Interrupts `park`.
    fn unpark(&self);
    /// Whether time is paused (the last worker to go idle then kicks the driver).
    fn time_is_paused(&self) -> bool;
    /// Whether some task waits for every worker to be idle (`wait_idle`).
    fn idle_wanted(&self) -> bool {
        false
    }
    /// Wakes the tasks waiting for every worker to be idle; `false` if there were none.
    fn wake_idle_waiters(&self) -> bool {
        false
    }
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Idle {
        assert!(workers < SEARCHING_MASK, "too many workers");
        Idle {
            parkers: (0..workers)
                .map(|_| Parker {
                    state: AtomicU8::new(EMPTY),
                    thread: OnceLock::new(),
                })
                .collect(),
            sleepers: Mutex::new(Vec::new()),
            state: AtomicUsize::new(0),
            driver_busy: AtomicBool::new(false),
        }
    }

    /// Records the thread of worker `i` (call on that thread before it first sleeps).
    pub(crate) fn set_thread(&self, i: usize) {
        let _ = self.parkers[i].thread.set(current_thread());
    }

    /// Takes the driver if nobody holds it.
    fn try_driver(&self) -> Option<DriverGuard<'_>> {
        self.driver_busy
            .compare_exchange(false, true, SeqCst, SeqCst)
            .ok()
            .map(|_| DriverGuard(&self.driver_busy))
    }

    /// Runs `f` while holding the driver, if nobody else holds it.
    pub(crate) fn try_with_driver(&self, f: impl FnOnce()) -> bool {
        match self.try_driver() {
            Some(_g) => {
                f();
                true
            }
            None => false,
        }
    }

    /// Wakes worker `i`, wherever it sleeps.
    pub(crate) fn unpark(&self, i: usize, driver: &dyn DriverPark) {
        let p = &self.parkers[i];
        match p.state.swap(NOTIFIED, SeqCst) {
            PARKED_DRIVER => driver.unpark(),
            PARKED_THREAD => {
                if let Some(t) = p.thread.get() {
                    t.unpark();
                }
            }
            _ => {}
        }
    }

    /// Wakes worker `i` because work was queued for it alone (its inbox): it leaves the sleeper
    /// set at once, counted as searching like a worker woken by [`notify_one`], so that no
    /// other worker mistakes it for idle (a paused clock must not jump meanwhile).
    pub(crate) fn wake_worker(&self, i: usize, driver: &dyn DriverPark) {
        {
            let mut sleepers = lock(&self.sleepers);
            if let Some(pos) = sleepers.iter().position(|&w| w == i) {
                sleepers.swap_remove(pos);
                self.state.fetch_sub(SLEEPER - 1, SeqCst);
            }
        }
        self.unpark(i, driver);
    }

    /// Wakes one sleeping worker, unless one is already searching for work.
    pub(crate) fn notify_one(&self, driver: &dyn DriverPark) {
        // A read-modify-write, not a load: it is ordered after a sleeper's registration.
        let s = self.state.fetch_add(0, SeqCst);
        if searching(s) > 0 || sleeping(s) == 0 {
            return;
        }
        let woken = {
            let mut sleepers = lock(&self.sleepers);
            // Re-check under the lock: another producer may have woken someone meanwhile.
            if searching(self.state.load(SeqCst)) > 0 {
                return;
            }
            let w = sleepers.pop();
            if w.is_some() {
                // One fewer sleeper, one more searcher.
                self.state.fetch_sub(SLEEPER - 1, SeqCst);
            }
            w
        };
        if let Some(i) = woken {
            self.unpark(i, driver);
        }
    }

    /// Wakes every worker (shutdown).
    pub(crate) fn wake_all(&self, driver: &dyn DriverPark) {
        for i in 0..self.parkers.len() {
            self.unpark(i, driver);
        }
    }

    /// A searching worker found work: it stops searching and, if it was the last searcher,
    /// wakes the next sleeper.
    pub(crate) fn found_work(&self, is_searching: &Cell<bool>, driver: &dyn DriverPark) {
        if is_searching.replace(false) && searching(self.state.fetch_sub(1, SeqCst)) == 1 {
            self.notify_one(driver);
        }
    }

    /// Puts worker `me` to sleep until woken (or, in the driver, until events arrive).
    /// `has_work` is checked after registering as a sleeper; `stop` ends the sleep early.
    pub(crate) fn park(
        &self,
        me: usize,
        is_searching: &Cell<bool>,
        has_work: &dyn Fn() -> bool,
        stop: &dyn Fn() -> bool,
        driver: &dyn DriverPark,
    ) {
        let p = &self.parkers[me];
        if is_searching.replace(false) {
            self.state.fetch_sub(1, SeqCst);
        }
        let n = self.parkers.len();
        if driver.idle_wanted()
            && sleeping(self.state.load(SeqCst)) + 1 == n
            && !has_work()
            && !stop()
            && driver.wake_idle_waiters()
        {
            // This worker was the last one busy: rather than sleep (and let a paused clock
            // jump), it wakes the tasks waiting for the loop to be idle, and runs them.
            return;
        }
        let after = {
            let mut sleepers = lock(&self.sleepers);
            sleepers.push(me);
            self.state.fetch_add(SLEEPER, SeqCst) + SLEEPER
        };
        if has_work() || stop() {
            self.wake_up(me, is_searching);
            return;
        }
        if sleeping(after) == n && driver.time_is_paused() {
            // The last worker to go idle lets the worker in the driver (if any) re-check, so
            // that virtual time may advance now that nothing runs.
            driver.unpark();
        }
        match self.try_driver() {
            Some(_g) => {
                if p.state
                    .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
                    .is_ok()
                    && !stop()
                {
                    driver.park(sleeping(self.state.load(SeqCst)) == n);
                }
                p.state.swap(EMPTY, SeqCst);
            }
            None => {
                if p.state
                    .compare_exchange(EMPTY, PARKED_THREAD, SeqCst, SeqCst)
                    .is_ok()
                {
                    while p.state.load(SeqCst) != NOTIFIED && !stop() {
                        park();
                    }
                }
                p.state.swap(EMPTY, SeqCst);
            }
        }
        self.wake_up(me, is_searching);
    }

    /// Leaves the sleeper set after waking (or after deciding not to sleep).
    fn wake_up(&self, me: usize, is_searching: &Cell<bool>) {
        let removed = {
            let mut sleepers = lock(&self.sleepers);
            match sleepers.iter().position(|&i| i == me) {
                Some(pos) => {
                    sleepers.swap_remove(pos);
                    self.state.fetch_sub(SLEEPER, SeqCst);
                    true
                }
                None => false,
            }
        };
        if !removed {
            // A notifier took us out of the set and counted us as searching.
            is_searching.set(true);
        }
        // A notification that raced with our deciding not to sleep is consumed here. A swap,
        // not a store: reading the notifier's write orders what it did before (say, setting
        // a stop flag) before what we check next.
        self.parkers[me].state.swap(EMPTY, SeqCst);
    }
}
