//! Eager tasks (asyncio 3.12's `eager_task_factory`): `task::Builder::eager(true)` and
//! `RunnerBuilder::eager_tasks(true)` run a task's first step inside `spawn`. On both flavours
//! (`TULIP_WORKERS=2`): the eager step always runs on the spawning thread.

use tulip::task::{Builder, JoinError};
use tulip_tests::{Log, Reports};

tulip::task_local! {
    static WHO: &'static str;
}

fn runner() -> tulip::Runner {
    tulip::Runner::builder().build()
}

// Case from CPython's Lib/test/test_asyncio/test_eager_task_factory.py
// (test_eager_task_factory_set / a coroutine that returns without suspending completes in
// create_task).
#[test]
fn an_eager_task_that_never_suspends_is_done_when_spawn_returns() {
    let log = Log::new();
    let l = log.clone();
    runner().run(async move {
        let child = l.clone();
        let task = Builder::new().eager(true).spawn(async move {
            child.push("child ran");
            7
        });
        l.push("spawn returned");
        assert!(task.is_finished());
        assert_eq!(task.await.unwrap(), 7);
    });
    assert_eq!(log.entries(), ["child ran", "spawn returned"]);
}

// Case from CPython's test_eager_task_factory.py (test_eager_task_factory_suspends: the step
// up to the first real suspension runs in create_task, the rest on the loop).
#[test]
fn an_eager_task_that_suspends_is_resumed_by_the_loop() {
    let log = Log::new();
    let l = log.clone();
    runner().run(async move {
        let child = l.clone();
        // Pinned to this thread, so that on two workers no other one resumes it while the
        // spawner is still logging.
        let task = Builder::new().eager(true).spawn_local(async move {
            child.push("first step");
            tulip::yield_now().await;
            child.push("second step");
        });
        l.push("spawn returned");
        assert!(!task.is_finished());
        task.await.unwrap();
    });
    let e = log.entries();
    assert_eq!(e[0], "first step");
    assert_eq!(e[1], "spawn returned");
    assert_eq!(e[2], "second step");
}

#[test]
fn a_panic_in_the_eager_step_is_contained_and_reported() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let task = Builder::new()
            .name("eager-boom")
            .eager(true)
            .spawn(async { panic!("eager step failed") });
        // The spawner goes on; the handle holds the panic.
        assert!(task.is_finished());
        match task.await {
            Err(JoinError::Panicked(p)) => {
                assert_eq!(p.message().as_deref(), Some("eager step failed"));
            }
            other => panic!("expected a panic, got {other:?}"),
        }
        // The loop still runs tasks.
        assert_eq!(tulip::spawn(async { 1 }).await.unwrap(), 1);
    });
    let all = reports.all();
    assert!(
        all.iter()
            .any(|r| r.contains("eager-boom") && r.contains("eager step failed")),
        "{all:?}"
    );
}

#[test]
fn a_suspended_eager_task_can_be_cancelled() {
    runner().run(async {
        let task = Builder::new()
            .eager(true)
            .spawn(std::future::pending::<()>());
        assert!(!task.is_finished());
        assert!(task.cancel());
        assert!(matches!(task.await, Err(JoinError::Cancelled)));
    });
}

#[test]
fn the_eager_step_sees_the_spawners_task_locals_and_does_not_leak_back() {
    runner().run(WHO.scope("parent", async {
        let task = Builder::new().eager(true).spawn(async {
            let inherited = WHO.get();
            WHO.set("child");
            let after_set = WHO.get();
            tulip::yield_now().await;
            (inherited, after_set, WHO.get())
        });
        // The parent's own context is intact after the eager step.
        assert_eq!(WHO.get(), "parent");
        assert_eq!(task.await.unwrap(), ("parent", "child", "child"));
        assert_eq!(WHO.get(), "parent");
    }));
}

#[test]
fn the_eager_step_is_the_current_task_and_the_spawner_is_current_again_after() {
    runner().run(async {
        let parent = tulip::spawn(async {
            let me = tulip::task::current_id().unwrap();
            let child = Builder::new()
                .eager(true)
                .spawn(async { tulip::task::current_id().unwrap() });
            let child_id = child.id();
            assert_eq!(tulip::task::current_id(), Some(me));
            assert_eq!(child.await.unwrap(), child_id);
            assert_ne!(child_id, me);
        });
        parent.await.unwrap();
    });
}

#[test]
fn eager_tasks_nest() {
    let log = Log::new();
    let l = log.clone();
    runner().run(async move {
        let (a, b) = (l.clone(), l.clone());
        let outer = Builder::new().eager(true).spawn(async move {
            a.push("outer start");
            let inner = Builder::new().eager(true).spawn(async move {
                b.push("inner");
            });
            assert!(inner.is_finished());
            a.push("outer end");
        });
        assert!(outer.is_finished());
        outer.await.unwrap();
    });
    assert_eq!(log.entries(), ["outer start", "inner", "outer end"]);
}

#[test]
fn spawn_local_can_be_eager() {
    runner().run(async {
        let cell = std::rc::Rc::new(std::cell::Cell::new(0));
        let c = cell.clone();
        let task = Builder::new()
            .eager(true)
            .spawn_local(async move { c.set(5) });
        assert_eq!(cell.get(), 5);
        task.await.unwrap();
    });
}

#[test]
fn the_runner_option_makes_every_spawn_eager_unless_the_builder_says_no() {
    tulip::Runner::builder()
        .eager_tasks(true)
        .build()
        .run(async {
            let eager = tulip::spawn(async { 1 });
            assert!(eager.is_finished());
            // Pinned to this thread, so that on two workers no other one runs it meanwhile.
            let lazy = Builder::new().eager(false).spawn_local(async { 2 });
            assert!(!lazy.is_finished());
            assert_eq!(eager.await.unwrap() + lazy.await.unwrap(), 3);
        });
}

#[test]
fn without_the_option_spawn_is_lazy() {
    runner().run(async {
        // Pinned to this thread, so that on two workers no other one runs it meanwhile.
        let task = tulip::spawn_local(async { 1 });
        assert!(!task.is_finished());
        assert_eq!(task.await.unwrap(), 1);
    });
}

#[test]
fn task_group_children_can_be_eager() {
    tulip::Runner::builder()
        .eager_tasks(true)
        .build()
        .run(async {
            let tg = tulip::TaskGroup::<()>::new();
            let done = (0..10)
                .map(|i| tg.spawn(async move { Ok(i * 2) }).unwrap())
                .collect::<Vec<_>>();
            assert!(done.iter().all(|t| t.is_finished()));
            tg.join().await.unwrap();
        });
}

#[test]
fn spawns_through_the_loop_handle_are_never_eager() {
    tulip::Runner::builder()
        .workers(1)
        .eager_tasks(true)
        .build()
        .run(async {
            let task = tulip::rt::EventLoop::current().spawn(async { 3 });
            assert!(!task.is_finished());
            assert_eq!(task.await.unwrap(), 3);
        });
}
