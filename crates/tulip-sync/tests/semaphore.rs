//! `Semaphore`: asyncio's `Semaphore` behaviours.
//!
//! Scenarios marked "asyncio" are ported from CPython's `Lib/test/test_asyncio/test_locks.py`
//! (class `SemaphoreTests`, Python Software Foundation License): the scenarios, not the code.
//! asyncio's `await sem.acquire()` without a matching `release()` in the same task becomes
//! `sem.acquire().await.forget()`.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{yield_now, Polled, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::Semaphore;

type Log = Rc<RefCell<Vec<String>>>;

fn log(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

#[test]
fn new_semaphore_has_all_permits_free() {
    let sem = Semaphore::new(3);
    assert_eq!(sem.available(), 3);
    assert!(!sem.locked());
    assert!(Semaphore::new(0).locked());
}

/// asyncio: `test_acquire`.
#[test]
fn acquire_takes_permits_and_queues_the_rest_in_order() {
    let sim = Sim::new();
    let sem = Rc::new(Semaphore::new(3));
    let result: Log = Rc::default();

    futures_lite::future::block_on(sem.acquire()).forget();
    futures_lite::future::block_on(sem.acquire()).forget();
    assert!(!sem.locked());

    let spawn = |tag: &'static str| {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            sem.acquire().await.forget();
            log(&result, tag);
        })
    };
    let t1 = spawn("1");
    let t2 = spawn("2");
    let t3 = spawn("3");
    sim.run_until_idle();
    assert_eq!(*result.borrow(), ["1"]);
    assert!(sem.locked());
    assert_eq!(sem.available(), 0);

    let t4 = spawn("4");
    sem.release();
    sem.release();
    sim.run_until_idle();
    assert_eq!(*result.borrow(), ["1", "2", "3"]);
    assert!(t1.is_done() && t2.is_done() && t3.is_done());
    assert!(!t4.is_done());

    sem.release();
    sim.run_until_idle();
    assert!(t4.is_done());
    assert_eq!(*result.borrow(), ["1", "2", "3", "4"]);
}

/// asyncio: `test_acquire_fifo_order`, the example from the brief: three tasks acquire and
/// release a `Semaphore(1)` twice each and run c1, c2, c3, c1, c2, c3.
#[test]
fn three_tasks_acquiring_twice_run_in_fifo_order() {
    let sim = Sim::new();
    let sem = Rc::new(Semaphore::new(1));
    let result: Log = Rc::default();
    for tag in ["c1", "c2", "c3"] {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            for round in 1..=2 {
                let _permit = sem.acquire().await;
                log(&result, format!("{tag}_{round}"));
                yield_now().await;
            }
        });
    }
    sim.run_until_idle();
    assert_eq!(
        *result.borrow(),
        ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]
    );
    assert_eq!(sem.available(), 1);
}

/// asyncio: `test_acquire_fifo_order_2`. A task that releases and re-acquires while a woken
/// task has not run yet queues behind it, even though a permit is free.
#[test]
fn reacquiring_task_queues_behind_a_woken_task_that_has_not_run() {
    let sim = Sim::new();
    let sem = Rc::new(Semaphore::new(1));
    let result: Log = Rc::default();
    {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            sem.acquire().await.forget();
            log(&result, "1");
        });
    }
    {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            sem.acquire().await.forget();
            log(&result, "2");
            sem.release();
            sem.acquire().await.forget();
            log(&result, "4");
        });
    }
    {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            sem.acquire().await.forget();
            log(&result, "3");
        });
    }
    sim.run_until_idle();
    sem.release();
    sem.release();
    sim.run_until_idle();
    assert_eq!(*result.borrow(), ["1", "2", "3", "4"]);
}

/// asyncio: `test_acquire_fifo_order_3`. A cancelled waiter is skipped; the others keep
/// their order.
#[test]
fn cancelled_waiter_is_skipped_and_the_others_keep_their_order() {
    let sim = Sim::new();
    let sem = Rc::new(Semaphore::new(0));
    let result: Log = Rc::default();
    let spawn = |tag: &'static str| {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            sem.acquire().await.forget();
            log(&result, tag);
        })
    };
    let t1 = spawn("1");
    let _t2 = spawn("2");
    let _t3 = spawn("3");
    sim.run_until_idle();
    sim.cancel(&t1);
    sem.release();
    sem.release();
    sim.run_until_idle();
    assert_eq!(*result.borrow(), ["2", "3"]);
    assert_eq!(sem.available(), 0);
}

/// asyncio: `test_acquire_fifo_order_4`. Releases made while the first woken task has not run
/// leave permits free but the semaphore locked; when that task runs it wakes the tasks
/// queued behind it.
#[test]
fn first_woken_task_wakes_the_tasks_queued_behind_it() {
    let sim = Rc::new(Sim::new());
    let sem = Rc::new(Semaphore::new(0));
    let result: Log = Rc::default();
    {
        let (sim2, sem, result) = (Rc::clone(&sim), Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            assert_eq!(sem.available(), 0);
            sem.acquire().await.forget();
            // Every waiting task was woken: no permit is left free.
            assert_eq!(sem.available(), 0);
            let result4 = Rc::clone(&result);
            // Runs after c3, not before c2.
            sim2.spawn(async move { log(&result4, "4") });
            log(&result, "1");
        });
    }
    {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            sem.release();
            sem.release();
            sem.release();
            assert_eq!(sem.available(), 2);
            assert!(sem.locked(), "c1 has not run yet");
            sem.acquire().await.forget();
            log(&result, "2");
        });
    }
    {
        let (sem, result) = (Rc::clone(&sem), Rc::clone(&result));
        sim.spawn(async move {
            sem.acquire().await.forget();
            assert!(sem.locked());
            log(&result, "3");
        });
    }
    sim.run_until_idle();
    assert_eq!(*result.borrow(), ["1", "2", "3", "4"]);
}

/// asyncio: `test_acquire_cancel`.
#[test]
fn cancelled_acquire_leaves_the_count_unchanged() {
    let sem = Semaphore::new(0);
    let mut waiter = Polled::new(sem.acquire());
    waiter.pending();
    drop(waiter);
    assert_eq!(sem.available(), 0);
    sem.release();
    assert_eq!(sem.available(), 1);
    assert!(!sem.locked());
}

/// asyncio: `test_acquire_cancel_before_awoken`.
#[test]
fn waiters_cancelled_before_being_woken_lose_nothing() {
    let sim = Sim::new();
    let sem = Rc::new(Semaphore::new(0));
    let spawn = || {
        let sem = Rc::clone(&sem);
        sim.spawn(async move { sem.acquire().await.forget() })
    };
    let (t1, t2, t3, t4) = (spawn(), spawn(), spawn(), spawn());
    sim.run_until_idle();
    sim.cancel(&t1);
    sim.cancel(&t2);
    sem.release();
    sim.run_until_idle();
    assert!(t3.is_done());
    assert!(!t4.is_done());
    assert_eq!(sem.available(), 0);
}

/// asyncio: `test_acquire_hang`.
#[test]
fn cancelled_waiter_does_not_hang_the_next_one() {
    let sim = Sim::new();
    let sem = Rc::new(Semaphore::new(0));
    let spawn = || {
        let sem = Rc::clone(&sem);
        sim.spawn(async move { sem.acquire().await.forget() })
    };
    let t1 = spawn();
    let t2 = spawn();
    sim.run_until_idle();
    sim.cancel(&t1);
    sem.release();
    sim.run_until_idle();
    assert!(sem.locked());
    assert!(t2.is_done());
}

/// asyncio: `test_acquire_no_hang`. Tasks using the permit as a scope (`async with sem`)
/// all finish, whatever the interleaving.
#[test]
fn scoped_permits_never_hang() {
    let sim = Sim::new();
    let sem = Rc::new(Semaphore::new(1));
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let sem = Rc::clone(&sem);
            sim.spawn(async move {
                let _permit = sem.acquire().await;
                for _ in 0..i % 3 {
                    yield_now().await;
                }
            })
        })
        .collect();
    sim.cancel(&handles[3]);
    sim.run_until_idle();
    sim.cancel(&handles[5]);
    sim.run_until_idle();
    assert_eq!(sim.live_tasks(), 0);
    assert_eq!(sem.available(), 1);
}

#[test]
fn woken_then_cancelled_waiter_hands_the_permit_on() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Polled::new(sem.acquire());
    let mut b = Polled::new(sem.acquire());
    a.pending();
    b.pending();
    drop(held);
    assert_eq!((a.wakeups(), b.wakeups()), (1, 0));
    drop(a);
    assert_eq!(b.wakeups(), 1);
    let permit = b.ready();
    assert_eq!(sem.available(), 0);
    drop(permit);
    assert_eq!(sem.available(), 1);
}

#[test]
fn woken_then_cancelled_last_waiter_returns_the_permit() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Polled::new(sem.acquire());
    a.pending();
    drop(held);
    assert!(sem.locked(), "the permit is handed to the waiter");
    drop(a);
    assert_eq!(sem.available(), 1);
    assert!(!sem.locked());
    assert!(sem.try_acquire().is_some());
}

/// asyncio: `test_release_no_waiters`.
#[test]
fn release_without_waiters_adds_a_permit() {
    let sem = Semaphore::new(1);
    sem.try_acquire().unwrap().forget();
    assert!(sem.locked());
    sem.release();
    assert!(!sem.locked());
    sem.release();
    assert_eq!(sem.available(), 2);
}

#[test]
fn one_release_wakes_exactly_one_waiter() {
    let sem = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..3).map(|_| Polled::new(sem.acquire())).collect();
    for waiter in &mut waiters {
        waiter.pending();
    }
    sem.release();
    let woken: Vec<usize> = waiters.iter().map(Polled::wakeups).collect();
    assert_eq!(woken, [1, 0, 0]);
}

#[test]
fn owned_permit_moves_to_another_thread() {
    let sem = Arc::new(Semaphore::new(1));
    let permit = futures_lite::future::block_on(sem.acquire_arc());
    assert!(sem.try_acquire_arc().is_none());
    std::thread::spawn(move || drop(permit)).join().unwrap();
    assert_eq!(sem.available(), 1);
    sem.try_acquire_arc().unwrap().forget();
    assert_eq!(sem.available(), 0);
}

#[test]
fn acquire_blocking_waits_for_a_release_from_another_thread() {
    let sem = Arc::new(Semaphore::new(0));
    let waiter = {
        let sem = Arc::clone(&sem);
        std::thread::spawn(move || sem.acquire_arc_blocking().forget())
    };
    sem.release();
    common::within(Duration::from_secs(10), move || waiter.join().unwrap());
    assert_eq!(sem.available(), 0);
}

#[test]
#[should_panic(expected = "overflow")]
fn release_past_max_permits_panics() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    sem.release();
}

#[test]
#[should_panic(expected = "too many permits")]
fn new_with_too_many_permits_panics() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}
