//! `RwLock<T>`: shared readers, exclusive writers, writer preference.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{yield_now, Polled, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::{RwLock, RwLockWriteGuard, RwLockWriteGuardArc};

type Log = Rc<RefCell<Vec<String>>>;

#[test]
fn many_readers_share_the_lock() {
    let lock = RwLock::new(1);
    let a = lock.try_read().unwrap();
    let b = lock.try_read().unwrap();
    assert_eq!(*a + *b, 2);
    assert!(lock.try_write().is_none());
    drop((a, b));
    assert!(lock.try_write().is_some());
}

#[test]
fn a_writer_excludes_readers_and_writers() {
    let lock = RwLock::new(1);
    let mut writer = lock.try_write().unwrap();
    *writer = 2;
    assert!(lock.try_read().is_none());
    assert!(lock.try_write().is_none());
    drop(writer);
    assert_eq!(*lock.try_read().unwrap(), 2);
}

#[test]
fn waiting_writer_stops_new_readers() {
    let lock = RwLock::new(0);
    let reader = lock.try_read().unwrap();
    let mut writer = Polled::new(lock.write());
    writer.pending();
    assert!(lock.try_read().is_none(), "writer preference");
    let mut late_reader = Polled::new(lock.read());
    late_reader.pending();

    drop(reader);
    assert_eq!(writer.wakeups(), 1);
    let mut guard = writer.ready();
    *guard = 1;
    late_reader.pending();
    drop(guard);
    assert_eq!(*late_reader.ready(), 1);
}

/// Readers that keep the lock read-held at every moment (each re-enters before the others
/// leave) would starve a writer without writer preference: the simulation would never
/// settle. With it, the writer gets in and the readers stop.
#[test]
fn a_stream_of_readers_does_not_starve_a_writer() {
    let sim = Sim::new();
    let lock = Rc::new(RwLock::new(0u32));
    let written = Rc::new(RefCell::new(false));
    for i in 0..3 {
        let (lock, written) = (Rc::clone(&lock), Rc::clone(&written));
        sim.spawn(async move {
            for _ in 0..i {
                yield_now().await;
            }
            while !*written.borrow() {
                let _reader = lock.read().await;
                yield_now().await;
                yield_now().await;
            }
        });
    }
    {
        let (lock, written) = (Rc::clone(&lock), Rc::clone(&written));
        sim.spawn(async move {
            yield_now().await;
            yield_now().await;
            *lock.write().await += 1;
            *written.borrow_mut() = true;
        });
    }
    sim.run_until_idle();
    assert!(*written.borrow());
    assert_eq!(*lock.try_read().unwrap(), 1);
}

#[test]
fn readers_waiting_behind_a_writer_go_before_the_next_writer() {
    let sim = Sim::new();
    let lock = Rc::new(RwLock::new(()));
    let log: Log = Rc::default();
    let first_writer = lock.try_write().unwrap();
    let spawn_reader = |tag: &'static str| {
        let (lock, log) = (Rc::clone(&lock), Rc::clone(&log));
        sim.spawn(async move {
            let _reader = lock.read().await;
            log.borrow_mut().push(tag.to_string());
            yield_now().await;
        })
    };
    let spawn_writer = |tag: &'static str| {
        let (lock, log) = (Rc::clone(&lock), Rc::clone(&log));
        sim.spawn(async move {
            let _writer = lock.write().await;
            log.borrow_mut().push(tag.to_string());
        })
    };
    spawn_reader("r1");
    spawn_writer("w2");
    spawn_reader("r2");
    sim.run_until_idle();
    assert!(log.borrow().is_empty());
    drop(first_writer);
    sim.run_until_idle();
    assert_eq!(*log.borrow(), ["r1", "r2", "w2"]);
}

#[test]
fn writers_are_served_in_fifo_order() {
    let sim = Sim::new();
    let lock = Rc::new(RwLock::new(Vec::new()));
    for id in 0..3 {
        let lock = Rc::clone(&lock);
        sim.spawn(async move {
            for _ in 0..2 {
                lock.write().await.push(id);
                yield_now().await;
            }
        });
    }
    sim.run_until_idle();
    assert_eq!(*lock.try_read().unwrap(), [0, 1, 2, 0, 1, 2]);
}

#[test]
fn cancelled_draining_writer_lets_readers_back_in() {
    let lock = RwLock::new(());
    let reader = lock.try_read().unwrap();
    let mut writer = Polled::new(lock.write());
    writer.pending();
    let mut blocked_reader = Polled::new(lock.read());
    blocked_reader.pending();

    drop(writer); // gives up while waiting for the reader to leave
    assert_eq!(blocked_reader.wakeups(), 1);
    let second = blocked_reader.ready();
    drop((reader, second));
    assert!(lock.try_write().is_some());
}

#[test]
fn cancelled_queued_writer_passes_its_turn_on() {
    let lock = RwLock::new(0);
    let first = lock.try_write().unwrap();
    let mut w1 = Polled::new(lock.write());
    let mut w2 = Polled::new(lock.write());
    w1.pending();
    w2.pending();
    drop(first);
    drop(w1); // woken, then cancelled
    assert_eq!(w2.wakeups(), 1);
    *w2.ready() = 5;
    assert_eq!(*lock.try_read().unwrap(), 5);
}

#[test]
fn cancelled_reader_loses_nothing() {
    let lock = RwLock::new(());
    let writer = lock.try_write().unwrap();
    let mut reader = Polled::new(lock.read());
    reader.pending();
    drop(reader);
    drop(writer);
    assert!(lock.try_write().is_some());
}

#[test]
fn downgrade_keeps_writers_out_and_lets_readers_in() {
    let lock = RwLock::new(1);
    let mut writer = lock.try_write().unwrap();
    *writer = 2;
    let mut waiting_reader = Polled::new(lock.read());
    waiting_reader.pending();
    let reader = RwLockWriteGuard::downgrade(writer);
    assert_eq!(waiting_reader.wakeups(), 1);
    assert_eq!(*waiting_reader.ready(), 2);
    assert!(lock.try_write().is_none());
    drop(reader);
    assert!(lock.try_write().is_some());
}

#[test]
fn owned_guards_move_between_threads() {
    let lock = Arc::new(RwLock::new(String::from("a")));
    let mut writer = futures_lite::future::block_on(lock.write_arc());
    writer.push('b');
    std::thread::spawn(move || {
        let reader = RwLockWriteGuardArc::downgrade(writer);
        assert_eq!(*reader, "ab");
    })
    .join()
    .unwrap();
    let reader = futures_lite::future::block_on(lock.read_arc());
    let other = lock.try_read_arc().unwrap();
    assert_eq!(*reader, *other);
    drop((reader, other));
    assert!(lock.try_write_arc().is_some());
}

#[test]
fn blocking_readers_and_writers_across_threads() {
    // Fewer under Miri (cargo xtask miri --all), where each lock takes milliseconds.
    const EACH: u64 = if cfg!(miri) { 50 } else { 1_000 };
    let lock = Arc::new(RwLock::new(0u64));
    let total = common::within(Duration::from_secs(30), {
        let lock = Arc::clone(&lock);
        move || {
            let writers: Vec<_> = (0..2)
                .map(|_| {
                    let lock = Arc::clone(&lock);
                    std::thread::spawn(move || {
                        for _ in 0..EACH {
                            *lock.write_blocking() += 1;
                        }
                    })
                })
                .collect();
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let lock = Arc::clone(&lock);
                    std::thread::spawn(move || {
                        let mut last = 0;
                        for _ in 0..EACH {
                            let now = *lock.read_blocking();
                            assert!(now >= last, "values only grow");
                            last = now;
                        }
                    })
                })
                .collect();
            for thread in writers.into_iter().chain(readers) {
                thread.join().unwrap();
            }
            let total = *lock.read_arc_blocking();
            *lock.write_arc_blocking() += 0;
            total
        }
    });
    assert_eq!(total, 2 * EACH);
}

#[test]
fn unsized_values_and_get_mut() {
    let mut lock: RwLock<Vec<u8>> = RwLock::new(vec![1]);
    lock.get_mut().push(2);
    let boxed: Box<RwLock<[u8]>> = Box::new(RwLock::new([1, 2]));
    assert_eq!(boxed.try_read().unwrap().len(), 2);
    assert_eq!(lock.into_inner(), [1, 2]);
}

#[test]
fn debug_shows_the_value_or_locked() {
    let lock = RwLock::new(3);
    assert_eq!(format!("{lock:?}"), "RwLock { data: 3 }");
    let _writer = lock.try_write();
    assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
}
