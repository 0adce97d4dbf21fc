//! Cancellation: asyncio's `Task.cancel()` semantics on drop-based Rust cancellation. The tests
//! synchronise explicitly, so they hold on every flavour of loop (CI also runs them with
//! `TULIP_WORKERS=2`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip_tests::{single_threaded, until, Counter, Latch, Log};

#[test]
fn cancel_drops_the_future_at_its_await_point() {
    let log = Log::new();
    let drops = Counter::new();
    let (l, d) = (log.clone(), drops.clone());
    tulip::run(async move {
        let token = d.on_drop();
        let l2 = l.clone();
        let started = Latch::new(1);
        let s2 = started.clone();
        let t = tulip::spawn(async move {
            let _token = token;
            l2.push("started");
            s2.arrive();
            tulip::sleep(Duration::from_secs(3600)).await;
            l2.push("unreachable");
        });
        started.wait().await;
        assert!(t.cancel(), "cancel of a running task returns true");
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
    });
    assert_eq!(log.entries(), ["started"]);
    assert_eq!(drops.get(), 1);
}

#[test]
fn cancel_before_the_first_poll_never_runs_the_future() {
    // Only the single-threaded loop can promise the task has not started yet.
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    single_threaded().run(async move {
        let t = tulip::spawn(async move { r.store(true, SeqCst) });
        assert!(t.cancel());
        assert!(t.await.unwrap_err().is_cancelled());
    });
    assert!(!ran.load(SeqCst));
}

#[test]
fn cancel_of_a_finished_task_returns_false_and_keeps_the_result() {
    tulip::run(async {
        let done = Latch::new(1);
        let d2 = done.clone();
        let t = tulip::spawn(async move {
            d2.arrive();
            9
        });
        done.wait().await;
        // Finishing is the step right after the body returns; wait for it without awaiting.
        until(|| t.is_finished()).await;
        assert!(!t.cancel());
        assert_eq!(t.await.unwrap(), 9);
    });
}

#[test]
fn cancelling_the_sleep_frees_the_timer() {
    tulip::run(async {
        let lp = tulip::EventLoop::current();
        let t = tulip::spawn(tulip::sleep(Duration::from_secs(3600)));
        until(|| lp.reactor().timer_count() > 0).await;
        assert_eq!(lp.reactor().timer_count(), 1);
        t.cancel();
        let _ = t.await;
        assert_eq!(lp.reactor().timer_count(), 0);
    });
}

#[test]
fn a_task_can_cancel_itself_and_stops_at_its_next_await() {
    let steps = Arc::new(AtomicUsize::new(0));
    let drops = Counter::new();
    let (s, d) = (steps.clone(), drops.clone());
    tulip::run(async move {
        let (tx, rx) = tulip::channel::oneshot::<tulip::Task<()>>();
        let token = d.on_drop();
        let t = tulip::spawn(async move {
            let _token = token;
            let me = rx.await.unwrap();
            s.fetch_add(1, SeqCst);
            assert!(me.cancel());
            // Cancelled at this await point, as asyncio raises CancelledError here.
            tulip::yield_now().await;
            s.fetch_add(1, SeqCst);
        });
        // Hand the task its own handle; wait until its future has been dropped.
        tx.send(t).unwrap();
        until(|| d.get() == 1).await;
    });
    assert_eq!(steps.load(SeqCst), 1);
    assert_eq!(drops.get(), 1);
}

#[test]
fn cancel_from_another_thread_reaches_a_parked_loop() {
    tulip::run(async {
        let started = Latch::new(1);
        let s2 = started.clone();
        let t = tulip::spawn(async move {
            s2.arrive();
            std::future::pending::<()>().await
        });
        started.wait().await;
        let t = std::thread::spawn(move || {
            assert!(t.cancel());
            t
        })
        .join()
        .unwrap();
        assert!(t.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn cancel_of_a_task_awaiting_another_leaves_the_other_running() {
    let log = Log::new();
    let l = log.clone();
    tulip::run(async move {
        let l2 = l.clone();
        let inner = tulip::spawn(async move {
            tulip::sleep(Duration::from_millis(5)).await;
            l2.push("inner done");
            1
        });
        let inner_id = inner.id();
        let outer = tulip::spawn(inner);
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        // The inner task was detached when the outer's future dropped its handle.
        let _ = inner_id;
        for _ in 0..1000 {
            if !l.entries().is_empty() {
                break;
            }
            tulip::sleep(Duration::from_millis(1)).await;
        }
    });
    assert_eq!(log.entries(), ["inner done"]);
}
