//! Spawning: ordering, handles, detach, ids, names, spawn_local, errors outside a loop.

use std::cell::Cell;
use std::panic::catch_unwind;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip::task::Builder;
use tulip_tests::{single_threaded, Log};

#[test]
fn tasks_start_in_spawn_order() {
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let l = l.clone();
                tulip::spawn(async move { l.push(format!("t{i}")) })
            })
            .collect();
        l.push("main before await");
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(
        log.entries(),
        ["main before await", "t0", "t1", "t2", "t3", "t4"]
    );
}

#[test]
fn yielding_tasks_interleave_round_robin() {
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let l = l.clone();
                tulip::spawn(async move {
                    for i in 0..3 {
                        l.push(format!("{name}{i}"));
                        tulip::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(log.entries(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn dropping_a_task_handle_detaches_it() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    tulip::run(async move {
        let d2 = d.clone();
        drop(tulip::spawn(async move {
            tulip::sleep(Duration::from_millis(1)).await;
            d2.fetch_add(1, SeqCst);
        }));
        tulip::sleep(Duration::from_millis(20)).await;
        assert_eq!(d.load(SeqCst), 1, "the detached task ran to completion");
    });
    assert_eq!(done.load(SeqCst), 1);
}

#[test]
fn ids_are_unique_and_names_are_kept() {
    tulip::run(async {
        let a = Builder::new().name("alpha").spawn(async {});
        let b = tulip::spawn(async {});
        assert_ne!(a.id(), b.id());
        assert_eq!(a.name(), Some("alpha"));
        assert_eq!(b.name(), None);
        assert!(a.location().file().ends_with("task_spawn.rs"));
        a.await.unwrap();
        b.await.unwrap();
    });
}

#[test]
fn is_finished_tracks_completion() {
    single_threaded().run(async {
        let t = tulip::spawn(async {
            tulip::yield_now().await;
            5
        });
        assert!(!t.is_finished());
        tulip::yield_now().await;
        tulip::yield_now().await;
        assert!(t.is_finished());
        assert_eq!(t.await.unwrap(), 5);
    });
}

#[test]
fn spawn_local_runs_non_send_futures_on_the_loop_thread() {
    tulip::run(async {
        let cell = Rc::new(Cell::new(0));
        let c = cell.clone();
        let thread = std::thread::current().id();
        let t = tulip::spawn_local(async move {
            c.set(c.get() + 1);
            tulip::yield_now().await;
            assert_eq!(std::thread::current().id(), thread);
            c.set(c.get() + 1);
        });
        t.await.unwrap();
        assert_eq!(cell.get(), 2);
        let named = Builder::new()
            .name("local")
            .spawn_local(async { Rc::new(1) });
        assert_eq!(named.name(), Some("local"));
        assert_eq!(*named.await.unwrap(), 1);
    });
}

#[test]
fn spawn_outside_a_loop_panics_with_a_clear_message() {
    let err = catch_unwind(|| tulip::spawn(async {})).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("outside a running tulip event loop"), "{msg}");
}

#[test]
fn futures_are_lazy_and_bind_to_the_loop_that_polls_them() {
    // Created outside any loop, polled inside one.
    let fut = tulip::timeout(
        Duration::from_secs(5),
        tulip::sleep(Duration::from_millis(1)),
    );
    assert!(tulip::run(fut).is_ok());
}

#[test]
fn tasks_spawned_by_tasks_run() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tulip::run(async move {
        fn chain(depth: usize, c: Arc<AtomicUsize>) -> tulip::Task<()> {
            tulip::spawn(async move {
                c.fetch_add(1, SeqCst);
                if depth > 0 {
                    chain(depth - 1, c).await.unwrap();
                }
            })
        }
        chain(1000, c).await.unwrap();
    });
    assert_eq!(count.load(SeqCst), 1001);
}

#[test]
fn a_task_handle_can_be_awaited_from_another_task() {
    tulip::run(async {
        let producer = tulip::spawn(async {
            tulip::sleep(Duration::from_millis(1)).await;
            "value"
        });
        let consumer = tulip::spawn(async move { producer.await.unwrap() });
        assert_eq!(consumer.await.unwrap(), "value");
    });
}
