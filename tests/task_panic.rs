//! Panics in tasks, callbacks and drops are contained, reported and surfaced as JoinError.

use std::time::Duration;

use tulip_tests::{Latch, PanicOnDrop, Reports};

#[test]
fn a_panicking_task_surfaces_as_join_error_and_is_reported_with_its_name() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let t = tulip::task::Builder::new()
            .name("worker-7")
            .spawn(async { panic!("kaboom") });
        let err = t.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message().as_deref(), Some("kaboom"));
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"kaboom"));
    });
    let all = reports.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].contains("'worker-7'") && all[0].contains("kaboom"),
        "{all:?}"
    );
}

#[test]
fn the_loop_keeps_running_after_many_panics() {
    let reports = Reports::new();
    let survivors = reports.builder().build().run(async {
        let mut ok = 0;
        for i in 0..100 {
            let t = tulip::spawn(async move {
                if i % 2 == 0 {
                    panic!("even {i}");
                }
                i
            });
            if t.await.is_ok() {
                ok += 1;
            }
        }
        ok
    });
    assert_eq!(survivors, 50);
    assert_eq!(reports.all().len(), 50);
}

#[test]
fn a_panic_while_dropping_a_cancelled_future_is_contained() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let started = Latch::new(1);
        let s2 = started.clone();
        let t = tulip::spawn(async move {
            let _bomb = PanicOnDrop("drop exploded");
            s2.arrive();
            tulip::sleep(Duration::from_secs(60)).await;
        });
        started.wait().await;
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
        // The loop is fine.
        tulip::sleep(Duration::from_millis(1)).await;
    });
    let all = reports.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].contains("while its future was dropped") && all[0].contains("drop exploded"),
        "{all:?}"
    );
}

#[test]
fn a_panic_while_dropping_leftover_tasks_at_close_is_contained() {
    let reports = Reports::new();
    let runner = reports.builder().build();
    runner.run(async {
        let started = Latch::new(1);
        let s2 = started.clone();
        tulip::spawn(async move {
            let _bomb = PanicOnDrop("drop exploded");
            s2.arrive();
            std::future::pending::<()>().await;
        })
        .detach();
        started.wait().await;
    });
    runner.close();
    assert_eq!(reports.all().len(), 1);
}

#[test]
fn a_panicking_exception_handler_does_not_take_the_loop_down() {
    let runner = tulip::Runner::builder()
        .exception_handler(|_| panic!("handler is broken"))
        .build();
    let out = runner.run(async {
        let t = tulip::spawn(async { panic!("task") });
        assert!(t.await.unwrap_err().is_panic());
        1
    });
    assert_eq!(out, 1);
}

#[test]
fn join_error_displays_and_converts() {
    tulip::run(async {
        let t = tulip::spawn(async { std::future::pending::<()>().await });
        t.cancel();
        let e = t.await.unwrap_err();
        assert_eq!(e.to_string(), "task was cancelled");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::Other);
    });
}

#[test]
fn the_exception_handler_can_be_replaced_while_the_loop_runs_from_any_thread() {
    use std::sync::{Arc, Mutex};
    use tulip::rt::{ExceptionContext, ReportKind};

    let before = Reports::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    before.builder().build().run(async {
        let lp = tulip::EventLoop::current();
        let t = tulip::spawn(async { panic!("first") });
        assert!(t.await.unwrap_err().is_panic());

        // Replaced from another thread (asyncio's set_exception_handler).
        let s = seen.clone();
        let remote = lp.clone();
        std::thread::spawn(move || {
            remote.set_exception_handler(Some(Arc::new(move |ctx: &ExceptionContext<'_>| {
                s.lock().unwrap().push((ctx.kind, ctx.to_string()));
            })));
        })
        .join()
        .unwrap();
        let t = tulip::spawn(async { panic!("second") });
        assert!(t.await.unwrap_err().is_panic());
        lp.call_soon(|| panic!("third"));
        tulip::yield_now().await;
        lp.call_exception_handler(&ExceptionContext::error("fourth", None));
        tulip::rt::call_exception_handler(&ExceptionContext::error("fifth", None));

        // A handler that passes reports on to the previous one, then back to the default.
        let previous = lp.exception_handler();
        let chained = Arc::new(Mutex::new(0));
        let c = chained.clone();
        lp.set_exception_handler(Some(Arc::new(move |ctx: &ExceptionContext<'_>| {
            *c.lock().unwrap() += 1;
            previous(ctx);
        })));
        lp.call_exception_handler(&ExceptionContext::error("sixth", None));
        assert_eq!(*chained.lock().unwrap(), 1);
        lp.set_exception_handler(None);
        lp.default_exception_handler(&ExceptionContext::error("printed by the default", None));
    });
    assert_eq!(before.all().len(), 1, "{:?}", before.all());
    let seen = seen.lock().unwrap();
    let kinds: Vec<ReportKind> = seen.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [
            ReportKind::TaskPanic,
            ReportKind::CallbackPanic,
            ReportKind::Error,
            ReportKind::Error,
            ReportKind::Error
        ]
    );
    assert!(seen[0].1.contains("second"), "{seen:?}");
    assert_eq!(seen[4].1, "sixth");
}
