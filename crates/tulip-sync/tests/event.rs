//! `Event`: asyncio's `Event` behaviours.
//!
//! Scenarios marked "asyncio" are ported from CPython's `Lib/test/test_asyncio/test_locks.py`
//! (class `EventTests`, Python Software Foundation License): the scenarios, not the code.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{Polled, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::Event;

/// asyncio: `test_wait`. Waiters run in the order they were woken, after a task that was
/// already scheduled when `set()` was called.
#[test]
fn set_wakes_every_waiter_in_order() {
    let sim = Sim::new();
    let event = Rc::new(Event::new());
    let result: Rc<RefCell<Vec<u32>>> = Rc::default();
    let spawn = |tag: u32| {
        let (event, result) = (Rc::clone(&event), Rc::clone(&result));
        sim.spawn(async move {
            event.wait().await;
            result.borrow_mut().push(tag);
        })
    };
    let t1 = spawn(1);
    let t2 = spawn(2);
    sim.run_until_idle();
    assert!(result.borrow().is_empty());

    let t3 = spawn(3);
    event.set();
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [3, 1, 2]);
    assert!(t1.is_done() && t2.is_done() && t3.is_done());
}

/// asyncio: `test_wait_on_set`.
#[test]
fn wait_on_a_set_event_returns_at_once() {
    let event = Event::new();
    event.set();
    let mut wait = Polled::new(event.wait());
    wait.ready();
}

/// asyncio: `test_wait_cancel`.
#[test]
fn cancelled_waiter_leaves_nothing_behind() {
    let event = Event::new();
    let mut wait = Polled::new(event.wait());
    wait.pending();
    drop(wait);
    event.set();
    assert!(event.is_set());
}

/// asyncio: `test_clear`.
#[test]
fn clear_resets_the_flag() {
    let event = Event::new();
    assert!(!event.is_set());
    event.set();
    assert!(event.is_set());
    event.clear();
    assert!(!event.is_set());
}

/// asyncio: `test_clear_with_waiters`. A waiter woken by `set()` returns even if the flag
/// was cleared (and set again) before it ran.
#[test]
fn woken_waiter_returns_even_if_cleared_before_it_runs() {
    let sim = Sim::new();
    let event = Rc::new(Event::new());
    let result: Rc<RefCell<Vec<u32>>> = Rc::default();
    let task = {
        let (event, result) = (Rc::clone(&event), Rc::clone(&result));
        sim.spawn(async move {
            event.wait().await;
            result.borrow_mut().push(1);
            true
        })
    };
    sim.run_until_idle();
    assert!(result.borrow().is_empty());

    event.set();
    event.clear();
    assert!(!event.is_set());
    event.set();
    event.set();
    sim.run_until_idle();
    assert_eq!(*result.borrow(), [1]);
    assert_eq!(task.take(), Some(true));
}

#[test]
fn set_then_clear_before_the_waiter_runs_still_wakes_it() {
    let event = Event::new();
    let mut wait = Polled::new(event.wait());
    wait.pending();
    event.set();
    event.clear();
    assert_eq!(wait.wakeups(), 1);
    wait.ready();
}

/// A waiter dropped after `set()` woke it must not wake a waiter that started after a
/// `clear()`.
#[test]
fn dropped_woken_waiter_does_not_wake_a_later_one() {
    let event = Event::new();
    let mut early = Polled::new(event.wait());
    early.pending();
    event.set();
    event.clear();
    let mut late = Polled::new(event.wait());
    late.pending();
    drop(early);
    assert_eq!(late.wakeups(), 0);
    late.pending();
}

#[test]
fn wait_blocking_returns_when_another_thread_sets() {
    let event = Arc::new(Event::new());
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let event = Arc::clone(&event);
            std::thread::spawn(move || event.wait_blocking())
        })
        .collect();
    event.set();
    common::within(Duration::from_secs(10), move || {
        for waiter in waiters {
            waiter.join().unwrap();
        }
    });
}

#[test]
fn static_event_and_debug() {
    static READY: Event = Event::new();
    assert_eq!(format!("{READY:?}"), "Event { is_set: false }");
    READY.set();
    futures_lite::future::block_on(READY.wait());
    assert_eq!(format!("{READY:?}"), "Event { is_set: true }");
}
