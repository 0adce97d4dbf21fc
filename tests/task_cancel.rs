//! Cancellation: asyncio's `Task.cancel()` semantics on drop-based Rust cancellation.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip_tests::{DropCounter, Log};

#[test]
fn cancel_drops_the_future_at_its_await_point() {
    let log = Log::new();
    let drops = DropCounter::new();
    let (l, d) = (log.clone(), drops.clone());
    tulip::run(async move {
        let token = d.token();
        let l2 = l.clone();
        let t = tulip::spawn(async move {
            let _token = token;
            l2.push("started");
            tulip::sleep(Duration::from_secs(3600)).await;
            l2.push("unreachable");
        });
        tulip::yield_now().await;
        assert!(t.cancel(), "cancel of a running task returns true");
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
    });
    assert_eq!(log.entries(), ["started"]);
    assert_eq!(drops.dropped(), 1);
}

#[test]
fn cancel_before_the_first_poll_never_runs_the_future() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    tulip::run(async move {
        let t = tulip::spawn(async move { r.store(true, SeqCst) });
        assert!(t.cancel());
        assert!(t.await.unwrap_err().is_cancelled());
    });
    assert!(!ran.load(SeqCst));
}

#[test]
fn cancel_of_a_finished_task_returns_false_and_keeps_the_result() {
    tulip::run(async {
        let t = tulip::spawn(async { 9 });
        tulip::yield_now().await;
        assert!(t.is_finished());
        assert!(!t.cancel());
        assert_eq!(t.await.unwrap(), 9);
    });
}

#[test]
fn cancelling_the_sleep_frees_the_timer() {
    tulip::run(async {
        let lp = tulip::EventLoop::current();
        let t = tulip::spawn(tulip::sleep(Duration::from_secs(3600)));
        tulip::yield_now().await;
        assert_eq!(lp.reactor().timer_count(), 1);
        t.cancel();
        let _ = t.await;
        assert_eq!(lp.reactor().timer_count(), 0);
    });
}

#[test]
fn a_task_can_cancel_itself_and_stops_at_its_next_await() {
    let steps = Arc::new(AtomicUsize::new(0));
    let drops = DropCounter::new();
    let (s, d) = (steps.clone(), drops.clone());
    tulip::run(async move {
        let slot: Arc<std::sync::Mutex<Option<tulip::Task<()>>>> = Arc::default();
        let slot2 = slot.clone();
        let token = d.token();
        let t = tulip::spawn(async move {
            let _token = token;
            tulip::yield_now().await;
            let me = slot2.lock().unwrap().take().unwrap();
            s.fetch_add(1, SeqCst);
            assert!(me.cancel());
            // Cancelled at this await point, as asyncio raises CancelledError here.
            tulip::yield_now().await;
            s.fetch_add(1, SeqCst);
        });
        *slot.lock().unwrap() = Some(t);
        for _ in 0..5 {
            tulip::yield_now().await;
        }
    });
    assert_eq!(steps.load(SeqCst), 1);
    assert_eq!(drops.dropped(), 1);
}

#[test]
fn cancel_from_another_thread_reaches_a_parked_loop() {
    tulip::run(async {
        let t = tulip::spawn(std::future::pending::<()>());
        tulip::yield_now().await;
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
        let outer = tulip::spawn(inner);
        tulip::yield_now().await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        // The inner task was detached when the outer's future dropped its handle.
        tulip::sleep(Duration::from_millis(20)).await;
    });
    assert_eq!(log.entries(), ["inner done"]);
}
