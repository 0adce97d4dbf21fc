//! `Condition`: asyncio's `Condition` behaviours.
//!
//! Scenarios marked "asyncio" are ported from CPython's `Lib/test/test_asyncio/test_locks.py`
//! (class `ConditionTests`, including the gh-112202 tests for notifications racing with
//! cancellation; Python Software Foundation License): the scenarios, not the code. A task
//! that asyncio leaves holding the lock keeps its guard in a shared list here, and the test
//! "releases" by dropping it.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{yield_now, Polled, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::{Condition, Lock, LockGuard, LockGuardArc};

/// asyncio: `test_wait`.
#[test]
fn notify_wakes_waiters_in_order_as_the_lock_frees() {
    let sim = Sim::new();
    // A static, not `Box::leak`: Miri reports memory only a leaked box still reaches.
    static COND: std::sync::LazyLock<Condition> = std::sync::LazyLock::new(Condition::new);
    let cond: &'static Condition = &COND;
    let held: Rc<RefCell<Vec<LockGuard<'static>>>> = Rc::default();
    let result: Rc<RefCell<Vec<u32>>> = Rc::default();
    for tag in 1..=3 {
        let (held, result) = (Rc::clone(&held), Rc::clone(&result));
        sim.spawn(async move {
            let guard = cond.lock().await;
            let guard = cond.wait(guard).await;
            result.borrow_mut().push(tag);
            held.borrow_mut().push(guard);
        });
    }
    sim.run_until_idle();
    assert!(result.borrow().is_empty());
    assert!(!cond.locked());

    let guard = cond.try_lock().unwrap();
    assert_eq!(cond.notify(1), 1);
    sim.run_until_idle();
    assert!(result.borrow().is_empty(), "the waiter needs the lock back");
    assert!(cond.locked());

    drop(guard);
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1]);
    assert!(cond.locked());

    assert_eq!(cond.notify(2), 2);
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1]);

    held.borrow_mut().clear(); // release
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1, 2]);
    held.borrow_mut().clear();
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1, 2, 3]);
    assert!(cond.locked());
    held.borrow_mut().clear();
    assert!(!cond.locked());
}

/// asyncio: `test_wait_cancel`. A cancelled waiter leaves no waiter behind; in Rust the lock
/// is not held afterwards (the guard was moved into the dropped future).
#[test]
fn cancelled_wait_leaves_no_waiter_and_no_lock() {
    let cond = Condition::new();
    let guard = cond.try_lock().unwrap();
    let mut wait = Polled::new(cond.wait(guard));
    wait.pending();
    assert!(!cond.locked());
    drop(wait);
    assert!(!cond.locked());
    assert_eq!(cond.notify(1), 0, "no waiter left");
}

/// asyncio: `test_wait_cancel_contested`. The waiter is notified, but the lock is contested
/// when it is cancelled: the notification moves on and the lock stays consistent.
#[test]
fn cancel_while_relocking_a_contested_lock() {
    let cond = Condition::new();
    let guard = cond.try_lock().unwrap();
    let mut wait = Polled::new(cond.wait(guard));
    wait.pending();
    assert!(!cond.locked());

    let guard = cond.try_lock().unwrap();
    cond.notify(1);
    wait.pending(); // notified; now queued for the lock
    drop(wait);
    assert!(cond.locked());
    drop(guard);
    assert!(!cond.locked());
}

/// asyncio: `test_wait_cancel_after_notify` (bpo-32841).
#[test]
fn cancel_after_notify_releases_cleanly() {
    let sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let waited = Rc::new(Cell::new(false));
    let waiter = {
        let (cond, waited) = (Rc::clone(&cond), Rc::clone(&waited));
        sim.spawn(async move {
            let guard = cond.lock().await;
            waited.set(true);
            let _guard = cond.wait(guard).await;
        })
    };
    sim.run_until_idle();
    let guard = cond.try_lock().unwrap();
    cond.notify(1);
    sim.run_until_idle(); // the waiter queues for the lock
    sim.cancel(&waiter);
    drop(guard);
    sim.run_until_idle();
    assert!(!waiter.is_done());
    assert!(waited.get());
    assert!(!cond.locked());
}

/// asyncio: `test_wait_for`.
#[test]
fn wait_for_rechecks_the_predicate_after_each_notify() {
    let sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let presult = Rc::new(Cell::new(false));
    let calls = Rc::new(Cell::new(0));
    let task = {
        let (cond, presult, calls) = (Rc::clone(&cond), Rc::clone(&presult), Rc::clone(&calls));
        sim.spawn(async move {
            let guard = cond.lock().await;
            let _guard = cond
                .wait_for(guard, || {
                    calls.set(calls.get() + 1);
                    presult.get()
                })
                .await;
            true
        })
    };
    sim.run_until_idle();
    assert_eq!(calls.get(), 1);

    {
        let _guard = cond.try_lock().unwrap();
        cond.notify(1);
    }
    sim.run_until_idle();
    assert_eq!(calls.get(), 2);
    assert!(!task.is_done());

    presult.set(true);
    {
        let _guard = cond.try_lock().unwrap();
        cond.notify(1);
    }
    sim.run_until_idle();
    assert_eq!(calls.get(), 3);
    assert_eq!(task.take(), Some(true));
}

/// asyncio: `test_notify`. `notify(n)` counts only waiters not notified yet.
#[test]
fn notify_counts_only_waiters_not_yet_notified() {
    let cond = Condition::new();
    let mut waits: Vec<_> = (0..3)
        .map(|_| {
            let guard = futures_lite::future::block_on(cond.lock());
            let mut wait = Polled::new(cond.wait(guard));
            wait.pending();
            wait
        })
        .collect();
    assert_eq!(cond.notify(1), 1);
    assert_eq!(cond.notify(1), 1);
    assert_eq!(cond.notify(2), 1);
    let woken: Vec<usize> = waits.iter().map(Polled::wakeups).collect();
    assert_eq!(woken, [1, 1, 1]);
    for wait in &mut waits {
        drop(wait.ready());
    }
}

/// asyncio: `test_notify_all`.
#[test]
fn notify_all_wakes_every_waiter() {
    let sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let result: Rc<RefCell<Vec<u32>>> = Rc::default();
    for tag in 1..=2 {
        let (cond, result) = (Rc::clone(&cond), Rc::clone(&result));
        sim.spawn(async move {
            let guard = cond.lock().await;
            let _guard = cond.wait(guard).await;
            result.borrow_mut().push(tag);
        });
    }
    sim.run_until_idle();
    {
        let _guard = cond.try_lock().unwrap();
        assert_eq!(cond.notify_all(), 2);
    }
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1, 2]);
}

/// A consumer that waits for `state != 0` and consumes one item, until `state < 0`
/// (the consumer of asyncio's gh-112202 tests).
async fn consumer(cond: Rc<Condition>, state: Rc<Cell<i32>>) {
    let mut guard = cond.lock().await;
    loop {
        guard = cond.wait_for(guard, || state.get() != 0).await;
        if state.get() < 0 {
            return;
        }
        state.set(state.get() - 1);
    }
}

/// asyncio: `test_cancelled_wakeup` (gh-112202). A consumer cancelled right after it was
/// notified, while still waiting for its wakeup to run, must not swallow the notification.
#[test]
fn notification_survives_a_waiter_cancelled_before_it_ran() {
    let sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let state = Rc::new(Cell::new(0));
    let c0 = sim.spawn(consumer(Rc::clone(&cond), Rc::clone(&state)));
    let c1 = sim.spawn(consumer(Rc::clone(&cond), Rc::clone(&state)));
    sim.run_until_idle();

    {
        let _guard = cond.try_lock().unwrap();
        state.set(state.get() + 1);
        assert_eq!(cond.notify(1), 1);
        sim.cancel(&c0);
    }
    sim.run_until_idle();
    assert_eq!(
        state.get(),
        0,
        "the item was consumed by the other consumer"
    );

    {
        let _guard = cond.try_lock().unwrap();
        state.set(-1);
        cond.notify_all();
    }
    sim.run_until_idle();
    assert!(c1.is_done());
}

/// asyncio: `test_cancelled_wakeup_relock` (gh-112202). Same, but the consumer is cancelled
/// after its wakeup ran, while it waits to take the lock back.
#[test]
fn notification_survives_a_waiter_cancelled_while_relocking() {
    let sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let state = Rc::new(Cell::new(0));
    let c0 = sim.spawn(consumer(Rc::clone(&cond), Rc::clone(&state)));
    let c1 = sim.spawn(consumer(Rc::clone(&cond), Rc::clone(&state)));
    sim.run_until_idle();

    {
        let _guard = cond.try_lock().unwrap();
        state.set(state.get() + 1);
        assert_eq!(cond.notify(1), 1);
        sim.run_until_idle(); // c0 wakes up and queues for the lock
        sim.cancel(&c0);
    }
    sim.run_until_idle();
    assert_eq!(
        state.get(),
        0,
        "the item was consumed by the other consumer"
    );

    {
        let _guard = cond.try_lock().unwrap();
        state.set(-1);
        cond.notify_all();
    }
    sim.run_until_idle();
    assert!(c1.is_done());
}

/// asyncio: `test_cancelled_error_wakeup`. Cancelling a `wait_for` while it waits loses
/// nothing: the lock is free and nobody is left waiting.
#[test]
fn cancelled_wait_for_leaves_the_condition_clean() {
    let cond = Condition::new();
    let guard = cond.try_lock().unwrap();
    let mut wait = Polled::new(cond.wait_for(guard, || false));
    wait.pending();
    drop(wait);
    assert!(!cond.locked());
    assert_eq!(cond.notify_all(), 0);
}

#[test]
fn wait_registers_before_releasing_the_lock() {
    // A notifier that takes the lock after `wait` released it cannot be missed.
    let cond = Condition::new();
    let guard = cond.try_lock().unwrap();
    let mut wait = Polled::new(cond.wait(guard));
    wait.pending();
    let notifier_guard = cond.try_lock().expect("wait released the lock");
    assert_eq!(cond.notify(1), 1);
    drop(notifier_guard);
    drop(wait.ready());
}

#[test]
#[should_panic(expected = "guard of another lock")]
fn wait_with_the_guard_of_another_lock_panics() {
    let cond = Condition::new();
    let other = Lock::new();
    let guard = other.try_lock().unwrap();
    drop(cond.wait(guard));
}

#[test]
fn blocking_producer_and_consumer_threads() {
    let cond = Arc::new(Condition::new());
    let ready = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (cond, ready) = (Arc::clone(&cond), Arc::clone(&ready));
        std::thread::spawn(move || {
            let guard = cond.lock_blocking();
            let _guard = cond.wait_for_blocking(guard, || ready.load(Ordering::SeqCst));
        })
    };
    {
        let _guard = cond.lock_blocking();
        ready.store(true, Ordering::SeqCst);
        cond.notify_all();
    }
    common::within(Duration::from_secs(10), move || consumer.join().unwrap());
    let guard = cond.lock_blocking();
    // `wait_blocking` returns once notified.
    let notifier = {
        let cond = Arc::clone(&cond);
        std::thread::spawn(move || {
            let _guard = cond.lock_blocking();
            cond.notify(1);
        })
    };
    let _guard = cond.wait_blocking(guard);
    notifier.join().unwrap();
}

#[test]
fn wait_for_with_a_true_predicate_does_not_release_the_lock() {
    let sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let done = {
        let cond = Rc::clone(&cond);
        sim.spawn(async move {
            let guard = cond.lock().await;
            let guard = cond.wait_for(guard, || true).await;
            yield_now().await;
            drop(guard);
        })
    };
    sim.step();
    assert!(cond.locked());
    sim.run_until_idle();
    assert!(done.is_done());
    assert!(!cond.locked());
}

/// asyncio: `test_explicit_lock`. Conditions built on one lock share it: holding it through
/// one holds it for all.
#[test]
fn conditions_with_a_shared_lock_exclude_each_other() {
    let lock = Arc::new(Lock::new());
    let not_empty = Condition::with_lock(Arc::clone(&lock));
    let not_full = Condition::with_lock(Arc::clone(&lock));
    let guard = not_empty.try_lock().unwrap();
    assert!(not_full.locked());
    assert!(not_full.try_lock().is_none());
    // A guard of the shared lock may wait on either condition.
    let mut wait = Polled::new(not_full.wait(guard));
    wait.pending();
    assert!(!lock.locked());
    assert_eq!(not_empty.notify(1), 0, "waiters are per condition");
    assert_eq!(not_full.notify(1), 1);
    drop(wait.ready());
}

#[test]
fn owned_wait_runs_in_a_static_task() {
    let sim = Sim::new();
    let cond = Arc::new(Condition::new());
    let ready = Rc::new(Cell::new(false));
    let held: Rc<RefCell<Option<LockGuardArc>>> = Rc::default();
    let task = {
        let (cond, ready, held) = (Arc::clone(&cond), Rc::clone(&ready), Rc::clone(&held));
        sim.spawn(async move {
            let guard = cond.lock_arc().await;
            let guard = cond.wait_for_arc(guard, move || ready.get()).await;
            *held.borrow_mut() = Some(guard);
        })
    };
    sim.run_until_idle();
    assert!(!cond.locked());
    {
        let _guard = cond.try_lock_arc().unwrap();
        ready.set(true);
        cond.notify_all();
    }
    sim.run_until_idle();
    assert!(task.is_done());
    assert!(cond.locked());
    held.borrow_mut().take();
    assert!(!cond.locked());
}

#[test]
fn cancelled_owned_wait_passes_its_notification_on() {
    let cond = Arc::new(Condition::new());
    let first_guard = cond.lock_arc_blocking();
    let mut first = Polled::new(cond.wait_arc(first_guard));
    first.pending();
    let second_guard = cond.try_lock_arc().unwrap();
    let mut second = Polled::new(cond.wait_arc(second_guard));
    second.pending();
    assert_eq!(cond.notify(1), 1);
    assert_eq!((first.wakeups(), second.wakeups()), (1, 0));
    drop(first);
    assert_eq!(second.wakeups(), 1);
    drop(second.ready());
    assert!(!cond.locked());
}

#[test]
#[should_panic(expected = "guard of another lock")]
fn wait_arc_with_the_guard_of_another_lock_panics() {
    let cond = Arc::new(Condition::new());
    let other = Condition::new();
    let guard = other.try_lock_arc().unwrap();
    drop(cond.wait_arc(guard));
}
