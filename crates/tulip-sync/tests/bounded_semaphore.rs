//! `BoundedSemaphore`: asyncio's `BoundedSemaphore` behaviours.
//!
//! Scenarios marked "asyncio" are ported from CPython's `Lib/test/test_asyncio/test_locks.py`
//! (Python Software Foundation License): the scenarios, not the code.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{Polled, Sim};
use std::error::Error;
use std::rc::Rc;
use std::sync::Arc;
use tulip_sync::{BoundedSemaphore, TooManyReleases};

/// asyncio: `test_release_not_acquired`.
#[test]
fn release_past_the_initial_value_is_an_error() {
    let sem = BoundedSemaphore::new(1);
    assert_eq!(sem.release(), Err(TooManyReleases));
    assert_eq!(sem.available(), 1);
}

#[test]
fn too_many_releases_is_a_std_error_with_a_message() {
    let error: Box<dyn Error + Send + Sync> = Box::new(TooManyReleases);
    assert_eq!(
        error.to_string(),
        "BoundedSemaphore released too many times"
    );
}

#[test]
fn release_gives_back_a_forgotten_permit_once() {
    let sem = BoundedSemaphore::new(2);
    sem.try_acquire().unwrap().forget();
    sem.try_acquire().unwrap().forget();
    assert!(sem.locked());
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Err(TooManyReleases));
    assert_eq!(sem.available(), 2);
}

#[test]
fn guard_drop_after_an_explicit_release_keeps_the_bound() {
    let sem = BoundedSemaphore::new(1);
    let permit = sem.try_acquire().unwrap();
    assert_eq!(sem.release(), Ok(()), "gives back the guard's permit");
    drop(permit);
    assert_eq!(sem.available(), 1);
}

/// As in asyncio 3.12, a permit handed to a waiter that has not run yet is taken: a
/// `release()` then succeeds.
#[test]
fn permit_handed_to_a_waiter_counts_as_taken() {
    let sem = BoundedSemaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut waiter = Polled::new(sem.acquire());
    waiter.pending();
    drop(held);
    assert_eq!(sem.available(), 0);
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Err(TooManyReleases));
    let permit = waiter.ready();
    drop(permit);
    assert_eq!(sem.available(), 1);
}

#[test]
fn waiters_are_served_in_fifo_order() {
    let sim = Sim::new();
    let sem = Rc::new(BoundedSemaphore::new(1));
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    for id in 0..4 {
        let (sem, order) = (Rc::clone(&sem), Rc::clone(&order));
        sim.spawn(async move {
            for _ in 0..2 {
                let _permit = sem.acquire().await;
                order.borrow_mut().push(id);
                common::yield_now().await;
            }
        });
    }
    sim.run_until_idle();
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 0, 1, 2, 3]);
    assert_eq!(sem.available(), 1);
}

#[test]
fn woken_then_cancelled_waiter_hands_the_permit_on() {
    let sem = BoundedSemaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Polled::new(sem.acquire());
    let mut b = Polled::new(sem.acquire());
    a.pending();
    b.pending();
    drop(held);
    drop(a);
    assert_eq!(b.wakeups(), 1);
    drop(b.ready());
    assert_eq!(sem.available(), 1);
    assert_eq!(sem.release(), Err(TooManyReleases));
}

#[test]
fn owned_and_blocking_permits_respect_the_bound() {
    let sem = Arc::new(BoundedSemaphore::new(1));
    let permit = sem.acquire_arc_blocking();
    assert!(sem.try_acquire_arc().is_none());
    std::thread::spawn(move || drop(permit)).join().unwrap();
    assert_eq!(sem.available(), 1);
    sem.try_acquire_arc().unwrap().forget();
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Err(TooManyReleases));
    let permit = futures_lite::future::block_on(sem.acquire_arc());
    assert_eq!(permit.source().bound(), 1);
    drop(permit);
    drop(sem.acquire_blocking());
    assert_eq!(sem.available(), 1);
}
