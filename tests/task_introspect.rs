//! current(), all(), dump() and what tasks wait on.

use std::time::Duration;

use tulip::task::{self, TaskState, WaitingOn};
use tulip_tests::single_threaded;

#[test]
fn current_names_the_running_task() {
    tulip::run(async {
        assert!(task::current().is_none(), "the main future is not a task");
        let t = task::Builder::new().name("worker").spawn(async {
            let me = task::current().unwrap();
            (
                me.name,
                me.state,
                me.location.file().to_string(),
                task::current_id(),
            )
        });
        let id = t.id();
        let (name, state, file, cid) = t.await.unwrap();
        assert_eq!(name.as_deref(), Some("worker"));
        assert_eq!(state, TaskState::Running);
        assert!(file.ends_with("task_introspect.rs"));
        assert_eq!(cid, Some(id));
    });
}

#[test]
fn all_lists_every_live_task_with_its_state_in_debug_mode() {
    // States right after spawning are deterministic on the single-threaded loop only.
    tulip::Runner::builder()
        .workers(1)
        .debug(true)
        .watchdog(None)
        .build()
        .run(async {
            let idle = task::Builder::new()
                .name("idle")
                .spawn(std::future::pending::<()>());
            tulip::yield_now().await;
            let fresh = task::Builder::new().name("fresh").spawn(async {});
            let all = task::all();
            let find = |n: &str| all.iter().find(|i| i.name.as_deref() == Some(n)).cloned();
            assert_eq!(find("idle").unwrap().state, TaskState::Idle);
            assert_eq!(find("fresh").unwrap().state, TaskState::Scheduled);
            assert_eq!(find("idle").unwrap().polls, 1);
            fresh.await.unwrap();
            idle.cancel();
            let _ = idle.await;
            assert!(task::all().is_empty(), "finished tasks leave the list");
        });
}

#[test]
fn all_lists_started_tasks_outside_debug_mode() {
    single_threaded().run(async {
        let idle = task::Builder::new()
            .name("idle")
            .spawn(std::future::pending::<()>());
        tulip::yield_now().await;
        let all = task::all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name.as_deref(), Some("idle"));
        assert_eq!(all[0].state, TaskState::Idle);
        idle.cancel();
        let _ = idle.await;
        assert!(task::all().is_empty());
    });
}

#[test]
fn debug_mode_dumps_say_what_tasks_wait_on() {
    tulip::Runner::builder()
        .workers(1)
        .debug(true)
        .build()
        .run(async {
            let lp = tulip::EventLoop::current();
            let sleeper = task::Builder::new()
                .name("sleeper")
                .spawn(tulip::sleep(Duration::from_secs(30)));
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            let reader = task::Builder::new().name("reader").spawn(async move {
                let a = tulip::io::Async::new(a).unwrap();
                let mut buf = [0u8; 1];
                use tulip::io::AsyncReadExt;
                let mut a = a;
                let _ = a.read(&mut buf).await;
            });
            let sleeper_id = sleeper.id();
            let joiner = task::Builder::new().name("joiner").spawn(sleeper);
            for _ in 0..3 {
                tulip::yield_now().await;
            }
            let dump = lp.dump();
            let info = |n: &str| {
                dump.tasks
                    .iter()
                    .find(|t| t.info.name.as_deref() == Some(n))
                    .unwrap()
                    .info
                    .clone()
            };
            assert!(matches!(
                info("sleeper").waiting_on,
                Some(WaitingOn::Timer(_))
            ));
            assert!(matches!(
                info("reader").waiting_on,
                Some(WaitingOn::Io { write: false, .. })
            ));
            assert_eq!(info("joiner").waiting_on, Some(WaitingOn::Task(sleeper_id)));
            let text = dump.to_string();
            assert!(text.contains("3 task(s)"), "{text}");
            assert!(text.contains("waiting on timer"), "{text}");
            let json = dump.to_json();
            assert!(json.starts_with("{\"workers\":1,"), "{json}");
            assert!(json.contains("\"name\":\"reader\""), "{json}");
            assert!(json.contains("\"state\":\"idle\""), "{json}");
            reader.cancel();
            joiner.cancel();
        });
}

#[test]
fn dump_works_from_another_thread_on_a_multi_thread_loop() {
    // Debug mode registers tasks at spawn, so the dump cannot race with the task's first poll.
    let runner = tulip::Runner::builder()
        .workers(2)
        .debug(true)
        .watchdog(None)
        .build();
    let lp = runner.handle();
    runner.run(async move {
        let (tx, rx) = tulip::channel::oneshot();
        let _t = task::Builder::new().name("parked").spawn(async move {
            let _ = tx.send(());
            std::future::pending::<()>().await
        });
        rx.await.unwrap();
        tulip::yield_now().await;
        let dump = std::thread::spawn(move || lp.dump()).join().unwrap();
        assert_eq!(dump.workers, 2);
        assert!(dump.to_string().contains("'parked'"));
    });
}
