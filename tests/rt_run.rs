//! `tulip::run`, `Runner`, `block_on`, `run_forever`/`stop`, leftover cancellation, nested runs.

// Tests hand task handles out of `run` on purpose.
#![allow(clippy::async_yields_async)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip::rt::EventLoop;
use tulip_tests::{single_threaded, Counter, Latch};

#[test]
fn run_returns_the_future_output() {
    assert_eq!(tulip::run(async { 6 * 7 }), 42);
}

#[test]
fn run_accepts_a_non_send_future() {
    let rc = std::rc::Rc::new(5);
    let out = tulip::run(async move {
        tulip::yield_now().await;
        *rc + 1
    });
    assert_eq!(out, 6);
}

#[test]
fn leftover_tasks_are_cancelled_when_run_ends() {
    let drops = Counter::new();
    let progressed = Arc::new(AtomicUsize::new(0));
    let (d, p) = (drops.clone(), progressed.clone());
    tulip::run(async move {
        let started = Latch::new(10);
        for _ in 0..10 {
            let token = d.on_drop();
            let p = p.clone();
            let started = started.clone();
            tulip::spawn(async move {
                let _token = token;
                p.fetch_add(1, SeqCst);
                started.arrive();
                std::future::pending::<()>().await;
            })
            .detach();
        }
        // Wait until they all started, then leave them pending.
        started.wait().await;
    });
    assert_eq!(progressed.load(SeqCst), 10);
    assert_eq!(
        drops.get(),
        10,
        "every leftover future was dropped at close"
    );
}

#[test]
fn tasks_never_polled_are_dropped_at_close_too() {
    let drops = Counter::new();
    let d = drops.clone();
    tulip::run(async move {
        for _ in 0..5 {
            let token = d.on_drop();
            tulip::spawn(async move {
                let _t = token;
            })
            .detach();
        }
        // Return without yielding: none of the tasks ever ran.
    });
    assert_eq!(drops.get(), 5);
}

#[test]
fn awaiting_a_task_of_a_closed_loop_reports_cancelled() {
    let runner = tulip::Runner::new();
    let task = runner.run(async { tulip::spawn(std::future::pending::<()>()) });
    runner.close();
    let outcome = task.wait_blocking();
    assert!(outcome.unwrap_err().is_cancelled());
}

#[test]
fn nested_run_panics_with_a_clear_message() {
    let caught = tulip::run(async {
        catch_unwind(AssertUnwindSafe(|| tulip::run(async { 1 }))).unwrap_err()
    });
    let msg = caught
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| caught.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("inside a running event loop"), "{msg}");
    // The outer loop survived and still works.
    assert_eq!(tulip::run(async { 2 }), 2);
}

#[test]
fn runner_keeps_tasks_between_runs_and_cancels_them_on_close() {
    // asyncio's Runner: nothing runs between two runs, which only the one-thread loop promises.
    let runner = single_threaded();
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let drops = Counter::new();
    let token = drops.on_drop();
    let task = runner.run(async move {
        tulip::spawn(async move {
            let _t = token;
            loop {
                c.fetch_add(1, SeqCst);
                tulip::yield_now().await;
            }
        })
    });
    let after_first = counter.load(SeqCst);
    runner.run(async {
        for _ in 0..10 {
            tulip::yield_now().await;
        }
    });
    assert!(
        counter.load(SeqCst) > after_first,
        "the task continued in the second run"
    );
    assert_eq!(drops.get(), 0);
    runner.close();
    assert_eq!(drops.get(), 1);
    assert!(task.wait_blocking().unwrap_err().is_cancelled());
}

#[test]
fn run_forever_returns_after_stop() {
    let runner = tulip::Runner::new();
    let handle = runner.handle();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h2 = handle.clone();
    handle
        .spawn(async move {
            tulip::sleep(Duration::from_millis(1)).await;
            r.store(true, SeqCst);
            h2.stop();
        })
        .detach();
    runner.run_forever();
    assert!(ran.load(SeqCst));
}

#[test]
fn stop_from_another_thread_wakes_a_parked_loop() {
    let runner = tulip::Runner::new();
    let handle = runner.handle();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let stopper = std::thread::spawn(move || {
        rx.recv().unwrap();
        handle.stop();
    });
    let h = runner.handle();
    // Signal the thread from inside the loop, then park with nothing to do.
    h.call_soon_threadsafe(move || tx.send(()).unwrap());
    runner.run_forever();
    stopper.join().unwrap();
}

#[test]
fn block_on_runs_a_future_from_sync_code() {
    let v = tulip::block_on(async {
        tulip::sleep(Duration::from_millis(1)).await;
        "done"
    });
    assert_eq!(v, "done");
}

#[test]
fn event_loop_current_is_available_inside_and_not_outside() {
    assert!(EventLoop::try_current().is_none());
    tulip::run(async {
        let lp = EventLoop::current();
        assert!(lp.is_running());
        assert!(!lp.is_closed());
    });
    assert!(EventLoop::try_current().is_none());
}

#[test]
fn loop_handle_spawn_from_another_thread_runs_on_the_loop() {
    // "The loop's thread" is one thread only on the single-threaded loop.
    let runner = single_threaded();
    let handle = runner.handle();
    let loop_thread = std::thread::current().id();
    let out = runner.run(async move {
        let h = handle.clone();
        let t = std::thread::spawn(move || h.spawn(async move { std::thread::current().id() }))
            .join()
            .unwrap();
        t.await.unwrap()
    });
    assert_eq!(out, loop_thread);
}

#[test]
fn spawning_through_a_handle_after_close_gives_a_cancelled_task() {
    let runner = tulip::Runner::new();
    let handle = runner.handle();
    runner.close();
    assert!(handle.is_closed());
    let task = handle.spawn(async { 1 });
    assert!(task.wait_blocking().unwrap_err().is_cancelled());
}

#[test]
fn main_future_panic_propagates_and_tasks_are_still_cleaned_up() {
    let drops = Counter::new();
    let d = drops.clone();
    let r = catch_unwind(AssertUnwindSafe(|| {
        tulip::run(async move {
            let token = d.on_drop();
            tulip::spawn(async move {
                let _t = token;
                std::future::pending::<()>().await
            })
            .detach();
            tulip::yield_now().await;
            panic!("main failed");
        })
    }));
    assert!(r.is_err());
    assert_eq!(drops.get(), 1);
}

#[tulip::test]
async fn the_test_macro_runs_on_a_loop() {
    let t = tulip::spawn(async { 3 });
    assert_eq!(t.await.unwrap(), 3);
}

#[tulip::test]
async fn the_test_macro_supports_result() -> Result<(), std::io::Error> {
    tulip::sleep(Duration::from_millis(1)).await;
    Ok(())
}

#[tulip::test]
#[should_panic(expected = "nobody retrieved its panic: unobserved in a test")]
async fn the_test_macro_fails_a_test_whose_task_panics_unobserved() {
    tulip::spawn(async { panic!("unobserved in a test") }).detach();
    std::future::pending::<()>().await
}

#[tulip::test]
async fn the_test_macro_lets_an_awaited_panic_pass() {
    let t = tulip::spawn(async { panic!("observed") });
    assert!(t.await.unwrap_err().is_panic());
}

#[tulip::test(unhandled_panic = "ignore", start_paused = true)]
async fn the_test_macro_can_ignore_unobserved_panics() {
    tulip::spawn(async { panic!("ignored on purpose") }).detach();
    tulip::sleep(Duration::from_secs(1)).await;
}

#[tulip::test(workers = 2, unhandled_panic = "shutdown_loop")]
#[should_panic(expected = "UnhandledPanic::ShutdownLoop")]
async fn the_test_macro_can_stop_at_any_panic() {
    let t = tulip::spawn(async { panic!("even an awaited one") });
    let _ = t.await;
    std::future::pending::<()>().await
}
