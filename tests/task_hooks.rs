//! Task hooks (a task-factory equivalent): on spawn, before and after each poll, on
//! termination, with the task's id and name; a panicking hook is reported.

use std::sync::{Arc, Mutex};

use tulip::task::{Builder, TaskId};
use tulip_tests::Reports;

type Events = Arc<Mutex<Vec<(String, TaskId)>>>;

fn hooked(events: &Events) -> tulip::RunnerBuilder {
    let (a, b, c, d) = (
        events.clone(),
        events.clone(),
        events.clone(),
        events.clone(),
    );
    let tag = |what: &str, t: &tulip::task::TaskHookInfo<'_>| {
        (format!("{what} {}", t.name().unwrap_or("-")), t.id())
    };
    tulip::Runner::builder()
        .on_task_spawn(move |t| a.lock().unwrap().push(tag("spawn", t)))
        .on_before_task_poll(move |t| b.lock().unwrap().push(tag("before", t)))
        .on_after_task_poll(move |t| c.lock().unwrap().push(tag("after", t)))
        .on_task_terminate(move |t| d.lock().unwrap().push(tag("end", t)))
}

/// The events of one task, in order.
fn of(events: &Events, id: TaskId) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, i)| *i == id)
        .map(|(s, _)| s.clone())
        .collect()
}

#[test]
fn hooks_fire_in_order_with_id_and_name() {
    let events = Events::default();
    let id = hooked(&events).build().run(async {
        let t = Builder::new().name("worker").spawn(async {
            tulip::yield_now().await;
            tulip::yield_now().await;
        });
        let id = t.id();
        t.await.unwrap();
        id
    });
    assert_eq!(
        of(&events, id),
        [
            "spawn worker",
            "before worker",
            "after worker",
            "before worker",
            "after worker",
            "before worker",
            "after worker",
            "end worker",
        ]
    );
}

#[test]
fn an_eager_task_gets_spawn_before_the_poll_hooks_of_its_first_step() {
    let events = Events::default();
    let id = hooked(&events).build().run(async {
        let t = Builder::new().name("e").eager(true).spawn(async {});
        assert!(t.is_finished());
        t.id()
    });
    assert_eq!(of(&events, id), ["spawn e", "before e", "after e", "end e"]);
}

#[test]
fn cancelled_and_panicked_tasks_terminate_once() {
    let events = Events::default();
    let (cancelled, panicked) = hooked(&events)
        .exception_handler(|_| {})
        .build()
        .run(async {
            let c = Builder::new().name("c").spawn(std::future::pending::<()>());
            let p = Builder::new().name("p").spawn(async { panic!("task bug") });
            tulip::yield_now().await;
            let ids = (c.id(), p.id());
            c.cancel();
            assert!(c.await.unwrap_err().is_cancelled());
            assert!(p.await.unwrap_err().is_panic());
            ids
        });
    let c = of(&events, cancelled);
    assert_eq!(c.first().map(String::as_str), Some("spawn c"));
    assert_eq!(c.iter().filter(|e| *e == "end c").count(), 1);
    assert_eq!(c.last().map(String::as_str), Some("end c"));
    assert_eq!(
        of(&events, panicked),
        ["spawn p", "before p", "after p", "end p"]
    );
}

#[test]
fn a_task_left_at_close_terminates_too() {
    let events = Events::default();
    let id = hooked(&events).build().run(async {
        let t = Builder::new()
            .name("left")
            .spawn(std::future::pending::<()>());
        tulip::yield_now().await;
        t.id()
    });
    assert_eq!(of(&events, id).last().map(String::as_str), Some("end left"));
}

#[test]
fn a_panicking_hook_is_reported_and_the_task_runs_on() {
    let reports = Reports::new();
    let out = reports
        .builder()
        .on_before_task_poll(|_| panic!("hook bug"))
        .build()
        .run(async { tulip::spawn(async { 5 }).await.unwrap() });
    assert_eq!(out, 5);
    assert!(reports.all().iter().any(|r| r.contains("hook bug")));
}
