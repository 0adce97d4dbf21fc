//! `Lock`: asyncio's `Lock` behaviours.
//!
//! The scenarios marked "asyncio" are ported from CPython's `Lib/test/test_asyncio/test_locks.py`
//! (class `LockTests`, Python Software Foundation License): the scenarios, not the code. A
//! task that asyncio leaves holding the lock keeps its guard in a shared list here, and the
//! test "releases" by dropping one.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{yield_now, Polled, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::{Lock, LockGuardArc};

#[test]
fn lock_starts_unlocked_and_try_lock_takes_it() {
    let lock = Lock::new();
    assert!(!lock.locked());
    let guard = lock.try_lock().expect("free lock");
    assert!(lock.locked());
    assert!(lock.try_lock().is_none());
    drop(guard);
    assert!(!lock.locked());
}

/// asyncio: `test_acquire`.
#[test]
fn waiters_get_the_lock_in_fifo_order() {
    let sim = Sim::new();
    let lock = Arc::new(Lock::new());
    let held: Rc<RefCell<Vec<LockGuardArc>>> = Rc::default();
    let result: Rc<RefCell<Vec<u32>>> = Rc::default();

    held.borrow_mut().push(lock.try_lock_arc().unwrap());
    let spawn = |tag: u32| {
        let (lock, held, result) = (Arc::clone(&lock), Rc::clone(&held), Rc::clone(&result));
        sim.spawn(async move {
            let guard = lock.lock_arc().await;
            result.borrow_mut().push(tag);
            held.borrow_mut().push(guard);
        })
    };
    let _t1 = spawn(1);
    let _t2 = spawn(2);
    sim.run_until_idle();
    assert!(result.borrow().is_empty());

    drop(held.borrow_mut().remove(0)); // release
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1]);

    let _t3 = spawn(3);
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1]);

    drop(held.borrow_mut().remove(0)); // release
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1, 2]);

    drop(held.borrow_mut().remove(0)); // release
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1, 2, 3]);
    assert_eq!(sim.live_tasks(), 0);
}

/// asyncio: `test_acquire_cancel`.
#[test]
fn cancelled_waiter_leaves_the_lock_free() {
    let lock = Lock::new();
    let guard = lock.try_lock().unwrap();
    let mut waiter = Polled::new(lock.lock());
    waiter.pending();
    drop(waiter); // cancel
    drop(guard);
    assert!(!lock.locked());
    assert!(lock.try_lock().is_some());
}

/// asyncio: `test_cancel_race`. A holds the lock, B and C wait; B is cancelled just as A
/// releases: C must get the lock.
#[test]
fn cancel_race_lets_the_next_waiter_in() {
    let sim = Sim::new();
    let lock = Arc::new(Lock::new());
    let order: Rc<RefCell<Vec<char>>> = Rc::default();

    let guard_a = lock.try_lock_arc().unwrap();
    let spawn = |tag: char| {
        let (lock, order) = (Arc::clone(&lock), Rc::clone(&order));
        sim.spawn(async move {
            let _guard = lock.lock().await;
            order.borrow_mut().push(tag);
        })
    };
    let b = spawn('B');
    let c = spawn('C');
    sim.run_until_idle();

    sim.cancel(&b);
    drop(guard_a);
    sim.run_until_idle();

    assert_eq!(*order.borrow(), ['C']);
    assert!(c.is_done());
    assert!(!lock.locked());
}

/// asyncio: `test_cancel_release_race` (bpo-32734). Three waiters; the lock is released (so
/// the first is woken) and the first two are cancelled before they run: the third must end
/// up with the lock.
#[test]
fn woken_then_cancelled_waiters_hand_the_lock_on() {
    let sim = Sim::new();
    let lock = Arc::new(Lock::new());
    let held: Rc<RefCell<Vec<(u32, LockGuardArc)>>> = Rc::default();

    let guard = lock.try_lock_arc().unwrap();
    let spawn = |tag: u32| {
        let (lock, held) = (Arc::clone(&lock), Rc::clone(&held));
        sim.spawn(async move {
            let guard = lock.lock_arc().await;
            held.borrow_mut().push((tag, guard));
        })
    };
    let t1 = spawn(1);
    let t2 = spawn(2);
    let t3 = spawn(3);
    sim.run_until_idle();

    drop(guard);
    sim.cancel(&t1);
    sim.cancel(&t2);
    sim.run_until_idle();

    let tags: Vec<u32> = held.borrow().iter().map(|(tag, _)| *tag).collect();
    assert_eq!(tags, [3]);
    assert!(t3.is_done());
    assert!(lock.locked());
    held.borrow_mut().clear();
    assert!(!lock.locked());
}

/// asyncio: `test_finished_waiter_cancelled`. A waiter woken by a release but cancelled
/// before it ran passes the lock to the next waiter.
#[test]
fn finished_waiter_cancelled_passes_the_lock_to_the_next() {
    let lock = Lock::new();
    let guard = lock.try_lock().unwrap();
    let mut a = Polled::new(lock.lock());
    let mut b = Polled::new(lock.lock());
    a.pending();
    b.pending();

    drop(guard);
    assert_eq!(
        a.wakeups(),
        1,
        "the release hands the lock to the first waiter"
    );
    assert_eq!(b.wakeups(), 0);

    drop(a);
    assert_eq!(b.wakeups(), 1, "the cancelled waiter hands the lock on");
    let guard_b = b.ready();
    assert!(lock.locked());
    drop(guard_b);
    assert!(!lock.locked());
}

/// asyncio: `test_release_no_waiters`.
#[test]
fn release_without_waiters_unlocks() {
    let lock = Lock::new();
    drop(lock.try_lock().unwrap());
    assert!(!lock.locked());
}

/// A newcomer cannot take the lock between a release and the run of the waiter it was
/// handed to, not even with `try_lock`.
#[test]
fn newcomer_does_not_barge_past_a_woken_waiter() {
    let lock = Lock::new();
    let guard = lock.try_lock().unwrap();
    let mut first = Polled::new(lock.lock());
    first.pending();
    drop(guard);

    assert!(lock.locked(), "the lock was handed to the waiter");
    assert!(lock.try_lock().is_none());
    let mut newcomer = Polled::new(lock.lock());
    newcomer.pending();

    let guard = first.ready();
    assert_eq!(newcomer.wakeups(), 0);
    drop(guard);
    assert_eq!(newcomer.wakeups(), 1);
    drop(newcomer.ready());
    assert!(!lock.locked());
}

#[test]
fn dropping_an_unpolled_lock_future_changes_nothing() {
    let lock = Lock::new();
    drop(lock.lock());
    let guard = lock.try_lock().unwrap();
    drop(lock.lock());
    drop(guard);
    assert!(!lock.locked());
}

#[test]
fn cancelling_a_waiter_in_the_middle_keeps_the_others_in_order() {
    let lock = Lock::new();
    let guard = lock.try_lock().unwrap();
    let mut a = Polled::new(lock.lock());
    let mut b = Polled::new(lock.lock());
    let mut c = Polled::new(lock.lock());
    a.pending();
    b.pending();
    c.pending();
    drop(b);
    drop(guard);
    let guard = a.ready();
    c.pending();
    drop(guard);
    drop(c.ready());
    assert!(!lock.locked());
}

#[test]
fn owned_guard_moves_to_another_thread() {
    let lock = Arc::new(Lock::new());
    let guard = lock.try_lock_arc().unwrap();
    std::thread::spawn(move || drop(guard)).join().unwrap();
    assert!(!lock.locked());
}

#[test]
fn lock_blocking_waits_for_an_async_holder() {
    let lock = Arc::new(Lock::new());
    let guard = futures_lite::future::block_on(lock.lock_arc());
    let waiter = {
        let lock = Arc::clone(&lock);
        std::thread::spawn(move || {
            let _guard = lock.lock_arc_blocking();
        })
    };
    drop(guard);
    common::within(Duration::from_secs(10), move || waiter.join().unwrap());
    assert!(!lock.locked());
}

#[test]
fn lock_future_yields_to_other_tasks_while_waiting() {
    let sim = Sim::new();
    let lock = Arc::new(Lock::new());
    let log: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    {
        let (lock, log) = (Arc::clone(&lock), Rc::clone(&log));
        sim.spawn(async move {
            let _guard = lock.lock().await;
            log.borrow_mut().push("a locked");
            yield_now().await;
            yield_now().await;
            log.borrow_mut().push("a unlocks");
        });
    }
    {
        let (lock, log) = (Arc::clone(&lock), Rc::clone(&log));
        sim.spawn(async move {
            log.borrow_mut().push("b waits");
            let _guard = lock.lock().await;
            log.borrow_mut().push("b locked");
        });
    }
    sim.run_until_idle();
    assert_eq!(
        *log.borrow(),
        ["a locked", "b waits", "a unlocks", "b locked"]
    );
}

#[test]
fn debug_shows_the_state() {
    let lock = Lock::new();
    assert_eq!(format!("{lock:?}"), "Lock { locked: false }");
    let _guard = lock.try_lock();
    assert_eq!(format!("{lock:?}"), "Lock { locked: true }");
}
