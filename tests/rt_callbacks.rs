//! `call_soon`, `call_soon_threadsafe`, `call_later`, `call_at`: FIFO and deadline order,
//! cancellation, threads, panics.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use tulip::rt::EventLoop;
use tulip_tests::{single_threaded, Log, Reports};

#[test]
fn call_soon_runs_callbacks_fifo() {
    tulip::run(async {
        let lp = EventLoop::current();
        let log = Rc::new(RefCell::new(Vec::new()));
        for i in 0..100 {
            let log = log.clone();
            lp.call_soon(move || log.borrow_mut().push(i));
        }
        tulip::yield_now().await;
        assert_eq!(*log.borrow(), (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn callbacks_and_tasks_share_one_fifo_queue() {
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let lp = EventLoop::current();
        let (a, b, c) = (l.clone(), l.clone(), l.clone());
        lp.call_soon(move || a.push("cb1"));
        let t = tulip::spawn(async move { b.push("task") });
        lp.call_soon(move || c.push("cb2"));
        t.await.unwrap();
        l.push("main");
    });
    assert_eq!(log.entries(), ["cb1", "task", "cb2", "main"]);
}

#[test]
fn cancelled_call_soon_does_not_run() {
    tulip::run(async {
        let lp = EventLoop::current();
        let ran = Rc::new(RefCell::new(false));
        let r = ran.clone();
        let h = lp.call_soon(move || *r.borrow_mut() = true);
        assert!(!h.cancelled());
        h.cancel();
        assert!(h.cancelled());
        tulip::yield_now().await;
        assert!(!*ran.borrow());
    });
}

#[test]
fn call_later_fires_in_deadline_order_then_insertion_order() {
    // Insertion order among equal deadlines is what tulip does in FIFO order; asyncio leaves
    // it undefined, and a seeded schedule may reorder the timers' turns.
    tulip::Runner::builder()
        .start_paused(true)
        .fifo(true)
        .build()
        .run(async {
            let lp = EventLoop::current();
            let log = Rc::new(RefCell::new(Vec::new()));
            let delays = [(30, "c"), (10, "a1"), (20, "b"), (10, "a2"), (0, "now")];
            for (ms, name) in delays {
                let log = log.clone();
                lp.call_later(Duration::from_millis(ms), move || {
                    log.borrow_mut().push(name)
                });
            }
            tulip::sleep(Duration::from_millis(50)).await;
            assert_eq!(*log.borrow(), ["now", "a1", "a2", "b", "c"]);
        });
}

#[test]
fn call_at_uses_the_loop_clock_and_cancel_stops_it() {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async {
            let lp = EventLoop::current();
            let start = lp.time();
            let log = Rc::new(RefCell::new(Vec::new()));
            let (l1, l2) = (log.clone(), log.clone());
            let lp2 = lp.clone();
            let keep = lp.call_at(start + Duration::from_secs(5), move || {
                l1.borrow_mut().push(lp2.time() - start)
            });
            let drop_me = lp.call_at(start + Duration::from_secs(1), move || {
                l2.borrow_mut().push(Duration::ZERO)
            });
            assert_eq!(keep.when(), start + Duration::from_secs(5));
            drop_me.cancel();
            assert!(drop_me.cancelled());
            tulip::sleep(Duration::from_secs(10)).await;
            assert_eq!(*log.borrow(), [Duration::from_secs(5)]);
        });
}

#[test]
fn dropping_a_timer_handle_does_not_cancel_it() {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async {
            let lp = EventLoop::current();
            let ran = Rc::new(RefCell::new(false));
            let r = ran.clone();
            drop(lp.call_later(Duration::from_secs(1), move || *r.borrow_mut() = true));
            tulip::sleep(Duration::from_secs(2)).await;
            assert!(*ran.borrow());
        });
}

#[test]
fn call_soon_threadsafe_from_other_threads_wakes_the_loop() {
    let log = Log::new();
    let l = log.clone();
    tulip::run(async move {
        let lp = EventLoop::current();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut threads = Vec::new();
        for i in 0..4 {
            let lp = lp.clone();
            let l = l.clone();
            let tx = tx.clone();
            threads.push(std::thread::spawn(move || {
                lp.call_soon_threadsafe(move || {
                    l.push(format!("t{i}"));
                    tx.send(()).unwrap();
                });
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        // The loop parks until the callbacks arrive; wait for all four.
        let mut seen = 0;
        while seen < 4 {
            while rx.try_recv().is_ok() {
                seen += 1;
            }
            if seen < 4 {
                tulip::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let mut entries = log.entries();
    entries.sort();
    assert_eq!(entries, ["t0", "t1", "t2", "t3"]);
}

#[test]
fn call_soon_from_a_foreign_thread_panics_clearly() {
    tulip::run(async {
        let lp = EventLoop::current();
        let err = std::thread::spawn(move || {
            catch_unwind(AssertUnwindSafe(|| {
                lp.call_soon(|| {});
            }))
            .unwrap_err()
        })
        .join()
        .unwrap();
        let msg = err
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_else(|| err.downcast_ref::<String>().cloned().unwrap());
        assert!(msg.contains("call_soon_threadsafe"), "{msg}");
    });
}

#[test]
fn a_panicking_callback_is_reported_and_the_loop_goes_on() {
    let reports = Reports::new();
    let out = reports.builder().build().run(async {
        let lp = EventLoop::current();
        lp.call_soon(|| panic!("callback exploded"));
        tulip::yield_now().await;
        tulip::yield_now().await;
        "still alive"
    });
    assert_eq!(out, "still alive");
    let all = reports.all();
    assert_eq!(all.len(), 1);
    assert!(
        all[0].contains("callback") && all[0].contains("callback exploded"),
        "{all:?}"
    );
}

#[test]
fn call_soon_threadsafe_after_close_reports_cancelled() {
    let runner = tulip::Runner::new();
    let lp = runner.handle();
    runner.close();
    let h = lp.call_soon_threadsafe(|| unreachable!("the loop is closed"));
    assert!(h.cancelled());
}
