//! Debug mode: slow polls, the blocked-loop watchdog, never-retrieved panics, unhandled-panic
//! policies. Handler output is captured, not printed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use tulip::rt::{ReportKind, UnhandledPanic};
use tulip_tests::Reports;

/// A runner whose handler forwards (kind, text) to a channel.
fn capture(builder: tulip::RunnerBuilder) -> (tulip::Runner, mpsc::Receiver<(ReportKind, String)>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let runner = builder
        .exception_handler(move |r| {
            let _ = tx.lock().unwrap().send((r.kind, r.to_string()));
        })
        .build();
    (runner, rx)
}

#[test]
fn a_slow_poll_is_reported_with_name_and_spawn_site() {
    let (runner, rx) = capture(
        tulip::Runner::builder()
            .debug(true)
            .watchdog(None)
            .slow_callback_duration(Duration::from_millis(150)),
    );
    runner.run(async {
        tulip::task::Builder::new()
            .name("hog")
            .spawn(async { std::thread::sleep(Duration::from_millis(300)) })
            .await
            .unwrap();
        tulip::task::Builder::new()
            .name("quick")
            .spawn(async {})
            .await
            .unwrap();
    });
    let reports: Vec<_> = rx.try_iter().collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, ReportKind::SlowPoll);
    assert!(
        reports[0].1.contains("'hog'") && reports[0].1.contains("rt_debug.rs"),
        "{reports:?}"
    );
}

#[test]
fn a_slow_callback_is_reported() {
    let (runner, rx) = capture(
        tulip::Runner::builder()
            .debug(true)
            .watchdog(None)
            .slow_callback_duration(Duration::from_millis(150)),
    );
    runner.run(async {
        let lp = tulip::EventLoop::current();
        lp.call_soon(|| std::thread::sleep(Duration::from_millis(300)));
        tulip::yield_now().await;
    });
    let kinds: Vec<_> = rx.try_iter().map(|r| r.0).collect();
    assert_eq!(kinds, [ReportKind::SlowCallback]);
}

#[test]
fn the_watchdog_reports_a_blocked_loop_while_it_is_blocked() {
    let (runner, rx) = capture(tulip::Runner::builder().watchdog(Some(Duration::from_millis(20))));
    runner.run(async move {
        tulip::task::Builder::new()
            .name("blocker")
            .spawn(async move {
                // Block the loop thread until the watchdog has spoken (bounded).
                let r = rx.recv_timeout(Duration::from_secs(30));
                r.expect("the watchdog reported while the task was still blocking")
            })
            .await
            .map(|(kind, text)| {
                assert_eq!(kind, ReportKind::Blocked);
                assert!(
                    text.contains("'blocker'") && text.contains("without yielding"),
                    "{text}"
                );
            })
            .unwrap();
    });
}

#[test]
fn the_watchdog_works_on_every_worker() {
    let (runner, rx) = capture(
        tulip::Runner::builder()
            .workers(2)
            .watchdog(Some(Duration::from_millis(20))),
    );
    runner.run(async move {
        let t = tulip::spawn(async move {
            rx.recv_timeout(Duration::from_secs(30))
                .expect("reported while blocked")
                .0
        });
        assert_eq!(t.await.unwrap(), ReportKind::Blocked);
    });
}

#[test]
fn a_panic_nobody_retrieves_is_reported_in_debug_mode() {
    // FIFO order: the yields below count the other tasks' turns.
    let (runner, rx) = capture(
        tulip::Runner::builder()
            .debug(true)
            .watchdog(None)
            .fifo(true),
    );
    runner.run(async {
        // Detached before it panics.
        tulip::spawn(async {
            tulip::yield_now().await;
            panic!("lost");
        })
        .detach();
        // Panics, then its handle is dropped unawaited.
        let t = tulip::spawn(async { panic!("ignored") });
        for _ in 0..3 {
            tulip::yield_now().await;
        }
        drop(t);
        // Awaited: retrieved, so no extra report.
        let awaited = tulip::spawn(async { panic!("seen") });
        assert!(awaited.await.is_err());
    });
    let kinds: Vec<_> = rx.try_iter().map(|r| r.0).collect();
    let never = kinds
        .iter()
        .filter(|k| **k == ReportKind::NeverRetrieved)
        .count();
    let panics = kinds
        .iter()
        .filter(|k| **k == ReportKind::TaskPanic)
        .count();
    assert_eq!((panics, never), (3, 2), "{kinds:?}");
}

#[test]
fn shutdown_loop_policy_stops_the_run() {
    let reports = Reports::new();
    let runner = reports
        .builder()
        .unhandled_panic(UnhandledPanic::ShutdownLoop)
        .build();
    let r = catch_unwind(AssertUnwindSafe(|| {
        runner.run(async {
            tulip::spawn(async { panic!("fatal") }).detach();
            // Would run forever without the policy.
            std::future::pending::<()>().await
        })
    }));
    let err = r.unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("fatal") && msg.contains("ShutdownLoop"),
        "{msg}"
    );
    assert_eq!(reports.all().len(), 1);
}

#[test]
fn an_err_nobody_retrieves_from_a_fallible_task_is_reported_with_name_and_spawn_site() {
    let (runner, rx) = capture(tulip::Runner::builder().debug(true).watchdog(None));
    let line = line!() + 5;
    runner.run(async {
        // Detached before it fails.
        tulip::task::Builder::new()
            .name("uploader")
            .spawn_fallible(async {
                tulip::yield_now().await;
                Err::<(), _>(std::io::Error::other("connection reset"))
            })
            .detach();
        // Fails, then its handle is dropped unawaited. Waiting for the loop to be idle (rather
        // than yielding) lets both tasks end first on any number of workers.
        let t = tulip::task::spawn_fallible(async { Err::<u8, _>("bad header") });
        tulip::time::wait_idle().await;
        assert!(t.is_finished());
        drop(t);
        // Awaited: retrieved. Ok: nothing to say. A plain spawn cannot tell an Err.
        let seen = tulip::task::spawn_fallible(async { Err::<(), _>("seen") });
        assert_eq!(seen.await.unwrap(), Err("seen"));
        tulip::task::spawn_fallible(async { Ok::<_, String>(1) }).detach();
        tulip::spawn(async { Err::<(), _>("plain") }).detach();
        tulip::time::wait_idle().await;
    });
    let reports: Vec<_> = rx.try_iter().collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|r| r.0 == ReportKind::NeverRetrieved));
    let uploader = &reports[0].1;
    assert!(
        uploader.starts_with("task 'uploader' (id ")
            && uploader.contains(&format!("rt_debug.rs:{line}"))
            && uploader.ends_with(
                "returned an error and its result was never retrieved: connection reset"
            ),
        "{uploader}"
    );
    assert!(
        reports[1].1.ends_with("never retrieved: bad header"),
        "{reports:?}"
    );
}

#[test]
fn shutdown_if_unobserved_stops_the_run_at_a_panic_nobody_retrieves() {
    for workers in [1, 2] {
        let reports = Reports::new();
        let runner = reports
            .builder()
            .workers(workers)
            .unhandled_panic(UnhandledPanic::ShutdownIfUnobserved)
            .build();
        // Awaited panics and the panics a task group collects stop nothing.
        runner.run(async {
            let t = tulip::spawn(async { panic!("seen") });
            assert!(t.await.unwrap_err().is_panic());
            let tg = tulip::TaskGroup::<()>::new();
            tg.spawn(async { panic!("collected") as Result<(), ()> })
                .unwrap();
            assert!(tg.join().await.is_err());
        });
        // A detached one does.
        let r = catch_unwind(AssertUnwindSafe(|| {
            runner.run(async {
                tulip::task::Builder::new()
                    .name("orphan")
                    .spawn(async { panic!("nobody looks") })
                    .detach();
                std::future::pending::<()>().await
            })
        }));
        let err = r.unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("'orphan'")
                && msg.contains("nobody retrieved its panic: nobody looks")
                && msg.contains("ShutdownIfUnobserved"),
            "{msg}"
        );
        let all = reports.all();
        assert!(all.iter().any(|r| r.contains("never retrieved")), "{all:?}");
    }
}

#[test]
fn shutdown_if_unobserved_sees_a_handle_dropped_as_the_main_future_ends() {
    let runner = Reports::new()
        .builder()
        .unhandled_panic(UnhandledPanic::ShutdownIfUnobserved)
        .build();
    let r = catch_unwind(AssertUnwindSafe(|| {
        runner.run(async {
            let t = tulip::spawn(async { panic!("left behind") });
            tulip::time::wait_idle().await;
            assert!(t.is_finished());
            // `t` is dropped unawaited as the main future returns.
        })
    }));
    let err = r.unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("left behind"), "{msg}");
}
