//! `Mutex<T>`: the FIFO lock that owns its data.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{yield_now, Polled, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::{Mutex, MutexGuard, MutexGuardArc};

#[test]
fn guard_gives_access_to_the_value() {
    let mutex = Mutex::new(vec![1]);
    mutex.try_lock().unwrap().push(2);
    assert_eq!(*mutex.try_lock().unwrap(), [1, 2]);
    assert_eq!(mutex.into_inner(), [1, 2]);
}

#[test]
fn get_mut_needs_no_lock() {
    let mut mutex = Mutex::new(1);
    *mutex.get_mut() += 1;
    assert_eq!(*mutex.try_lock().unwrap(), 2);
}

#[test]
fn guard_held_across_yields_keeps_other_tasks_out() {
    let sim = Sim::new();
    let mutex = Rc::new(Mutex::new(0u32));
    for _ in 0..10 {
        let mutex = Rc::clone(&mutex);
        sim.spawn(async move {
            for _ in 0..10 {
                let mut guard = mutex.lock().await;
                let seen = *guard;
                yield_now().await;
                *guard = seen + 1; // a lost update if two tasks were inside
            }
        });
    }
    sim.run_until_idle();
    assert_eq!(*mutex.try_lock().unwrap(), 100);
}

#[test]
fn tasks_take_turns_in_fifo_order() {
    let sim = Sim::new();
    let mutex = Rc::new(Mutex::new(Vec::new()));
    for id in 0..3 {
        let mutex = Rc::clone(&mutex);
        sim.spawn(async move {
            for _ in 0..2 {
                let mut guard = mutex.lock().await;
                guard.push(id);
                yield_now().await;
            }
        });
    }
    sim.run_until_idle();
    assert_eq!(*mutex.try_lock().unwrap(), [0, 1, 2, 0, 1, 2]);
}

#[test]
fn woken_then_cancelled_waiter_hands_the_mutex_on() {
    let mutex = Mutex::new(0);
    let guard = mutex.try_lock().unwrap();
    let mut a = Polled::new(mutex.lock());
    let mut b = Polled::new(mutex.lock());
    a.pending();
    b.pending();
    drop(guard);
    drop(a);
    assert_eq!(b.wakeups(), 1);
    *b.ready() += 1;
    assert_eq!(*mutex.try_lock().unwrap(), 1);
}

#[test]
fn cancelled_waiter_leaves_no_trace() {
    let mutex = Mutex::new(());
    let guard = mutex.try_lock().unwrap();
    let mut waiter = Polled::new(mutex.lock());
    waiter.pending();
    drop(waiter);
    drop(guard);
    assert!(!mutex.locked());
    assert!(mutex.try_lock().is_some());
}

#[test]
fn owned_guard_can_be_sent_to_another_thread() {
    let mutex = Arc::new(Mutex::new(String::from("a")));
    let mut guard = futures_lite::future::block_on(mutex.lock_arc());
    guard.push('b');
    let handle = std::thread::spawn(move || {
        guard.push('c');
        assert!(MutexGuardArc::source(&guard).locked());
    });
    handle.join().unwrap();
    assert_eq!(*mutex.try_lock_arc().unwrap(), "abc");
}

#[test]
fn unsized_values_are_supported() {
    let mutex: Arc<Mutex<[u32]>> = Arc::new(Mutex::new([1, 2, 3]));
    mutex.try_lock().unwrap()[0] = 10;
    assert_eq!(mutex.lock_blocking().iter().sum::<u32>(), 15);
    let guard = mutex.lock_arc_blocking();
    assert_eq!(guard.len(), 3);
}

#[test]
fn lock_blocking_counts_correctly_across_threads() {
    // Fewer under Miri (cargo xtask miri --all), where each lock takes milliseconds.
    const EACH: u64 = if cfg!(miri) { 50 } else { 2_000 };
    let mutex = Arc::new(Mutex::new(0u64));
    let total = common::within(Duration::from_secs(30), {
        let mutex = Arc::clone(&mutex);
        move || {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let mutex = Arc::clone(&mutex);
                    std::thread::spawn(move || {
                        for _ in 0..EACH {
                            *mutex.lock_blocking() += 1;
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            *mutex.lock_blocking()
        }
    });
    assert_eq!(total, 4 * EACH);
}

#[test]
fn guard_source_is_the_mutex() {
    let mutex = Mutex::new(1);
    let guard = mutex.try_lock().unwrap();
    assert!(std::ptr::eq(MutexGuard::source(&guard), &mutex));
    assert_eq!(format!("{guard:?} {guard}"), "1 1");
}

#[test]
fn debug_shows_the_value_or_locked() {
    let mutex = Mutex::new(5);
    assert_eq!(format!("{mutex:?}"), "Mutex { data: 5 }");
    let _guard = mutex.try_lock();
    assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
}

#[test]
fn static_mutex_works() {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    futures_lite::future::block_on(async {
        NAMES.lock().await.push("tulip");
    });
    assert_eq!(*NAMES.try_lock().unwrap(), ["tulip"]);
}

#[test]
fn waiting_lock_yields_to_the_holder() {
    let sim = Sim::new();
    let mutex = Rc::new(Mutex::new(()));
    let log: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    {
        let (mutex, log) = (Rc::clone(&mutex), Rc::clone(&log));
        sim.spawn(async move {
            let _guard = mutex.lock().await;
            log.borrow_mut().push("a in");
            yield_now().await;
            log.borrow_mut().push("a out");
        });
    }
    {
        let (mutex, log) = (Rc::clone(&mutex), Rc::clone(&log));
        sim.spawn(async move {
            let _guard = mutex.lock().await;
            log.borrow_mut().push("b in");
        });
    }
    sim.run_until_idle();
    assert_eq!(*log.borrow(), ["a in", "a out", "b in"]);
}
