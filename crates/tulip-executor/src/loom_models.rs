//! Models run by `tests/loom.rs` under `--cfg tulip_loom --cfg loom` (see `cargo xtask loom`).
//! They drive the real scheduler code (`Idle`, the per-worker `ring`) with loom's threads and
//! atomics.

use std::cell::Cell;
use std::sync::atomic::Ordering::SeqCst;

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Condvar, Mutex};

use crate::scheduler::idle::{DriverPark, Idle};
use crate::scheduler::ring;

/// A driver that blocks on a condition variable until unparked.
#[derive(Default)]
struct ModelDriver {
    flag: Mutex<bool>,
    cv: Condvar,
}

impl DriverPark for ModelDriver {
    fn park(&self, _may_advance_time: bool) {
        let mut flag = self.flag.lock().unwrap();
        while !*flag {
            flag = self.cv.wait(flag).unwrap();
        }
        *flag = false;
    }

    fn unpark(&self) {
        *self.flag.lock().unwrap() = true;
        self.cv.notify_one();
    }

    fn time_is_paused(&self) -> bool {
        false
    }
}

/// `workers` workers sleep through the idle protocol while the main thread produces `items`
/// units of work, notifying after each. Every unit must be consumed and every worker must
/// finish: a lost wake-up leaves a worker asleep with work pending, which loom reports as a
/// deadlock.
pub fn idle_no_lost_wakeup(workers: usize, items: usize) {
    loom::model(move || {
        let idle = Arc::new(Idle::new(workers));
        let driver = Arc::new(ModelDriver::default());
        let work = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..workers)
            .map(|i| {
                let (idle, driver, work, done, stop) = (
                    idle.clone(),
                    driver.clone(),
                    work.clone(),
                    done.clone(),
                    stop.clone(),
                );
                loom::thread::spawn(move || {
                    idle.set_thread(i);
                    let searching = Cell::new(false);
                    loop {
                        let took = work
                            .fetch_update(SeqCst, SeqCst, |w| w.checked_sub(1))
                            .is_ok();
                        if took {
                            idle.found_work(&searching, &*driver);
                            if done.fetch_add(1, SeqCst) + 1 == items {
                                stop.store(true, SeqCst);
                                idle.wake_all(&*driver);
                            }
                            continue;
                        }
                        if stop.load(SeqCst) {
                            return;
                        }
                        idle.park(
                            i,
                            &searching,
                            &|| work.load(SeqCst) > 0,
                            &|| stop.load(SeqCst),
                            &*driver,
                        );
                    }
                })
            })
            .collect();
        for _ in 0..items {
            work.fetch_add(1, SeqCst);
            idle.notify_one(&*driver);
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(done.load(SeqCst), items);
    });
}

/// A worker's ring of capacity 4: the owner queues `before` items, starts `thieves` threads
/// that each steal once into a ring of their own and drain it, pushes `pushes - before` more
/// (overflowing half the ring into a side list when full, as into the injector) and pops until
/// its ring is empty. Every item is taken exactly once: none lost, none run twice.
pub fn ring_steal_exactly_once(thieves: usize, before: usize, pushes: usize) {
    loom::model(move || {
        let (owner, stealer) = ring::new::<usize>(4);
        let taken = Arc::new(Mutex::new(Vec::new()));
        let mut own = Vec::new();
        for i in 0..before {
            owner.push_back(i, |v| own.push(v));
        }
        let handles: Vec<_> = (0..thieves)
            .map(|_| {
                let (stealer, taken) = (stealer.clone(), taken.clone());
                loom::thread::spawn(move || {
                    let (mine, _mine_stolen) = ring::new::<usize>(4);
                    let mut got = Vec::new();
                    if let Some(v) = stealer.steal_into(&mine) {
                        got.push(v);
                        while let Some(v) = mine.pop() {
                            got.push(v);
                        }
                    }
                    taken.lock().unwrap().extend(got);
                })
            })
            .collect();
        for i in before..pushes {
            owner.push_back(i, |v| own.push(v));
        }
        while let Some(v) = owner.pop() {
            own.push(v);
        }
        for h in handles {
            h.join().unwrap();
        }
        // The owner saw an empty ring and pushed nothing since; the thieves are done.
        assert!(stealer.is_empty());
        let mut all = taken.lock().unwrap().clone();
        all.extend(own);
        all.sort_unstable();
        assert_eq!(all, (0..pushes).collect::<Vec<_>>());
    });
}

/// The owner pops while a thief takes items one at a time (`Stealer::pop`, what shutdown
/// uses): each item goes to exactly one of them.
pub fn ring_pop_races_stealer_pop(items: usize) {
    loom::model(move || {
        let (owner, stealer) = ring::new::<usize>(4);
        for i in 0..items {
            owner.push_back(i, |_| unreachable!("fits"));
        }
        let thief = {
            let stealer = stealer.clone();
            loom::thread::spawn(move || {
                let mut got = Vec::new();
                while let Some(v) = stealer.pop() {
                    got.push(v);
                }
                got
            })
        };
        let mut own = Vec::new();
        while let Some(v) = owner.pop() {
            own.push(v);
        }
        let mut all = thief.join().unwrap();
        all.extend(own);
        all.sort_unstable();
        assert_eq!(all, (0..items).collect::<Vec<_>>());
    });
}

/// Work queued for one worker alone (its inbox) wakes that worker, wherever it sleeps, and it
/// counts as busy from then on: every worker finishes, none sleeps with its inbox non-empty.
pub fn targeted_wakeup_no_loss() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        let driver = Arc::new(ModelDriver::default());
        let inbox = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (idle, driver, inbox, stop) =
                    (idle.clone(), driver.clone(), inbox.clone(), stop.clone());
                loom::thread::spawn(move || {
                    idle.set_thread(i);
                    let searching = Cell::new(false);
                    loop {
                        if inbox[i].swap(0, SeqCst) > 0 {
                            idle.found_work(&searching, &*driver);
                            stop.store(true, SeqCst);
                            idle.wake_all(&*driver);
                            continue;
                        }
                        if stop.load(SeqCst) {
                            return;
                        }
                        idle.park(
                            i,
                            &searching,
                            &|| inbox[i].load(SeqCst) > 0,
                            &|| stop.load(SeqCst),
                            &*driver,
                        );
                    }
                })
            })
            .collect();
        inbox[1].fetch_add(1, SeqCst);
        idle.wake_worker(1, &*driver);
        for h in handles {
            h.join().unwrap();
        }
    });
}
