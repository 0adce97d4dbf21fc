//! current(), all(), dump() and what tasks wait on.

use std::sync::Arc;
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
    // States right after spawning are deterministic on the single-threaded loop only, in FIFO
    // order (the yields count turns).
    tulip::Runner::builder()
        .workers(1)
        .fifo(true)
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
    // FIFO order: the yields count the other tasks' turns.
    tulip::Runner::builder()
        .workers(1)
        .fifo(true)
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

#[test]
fn dumps_name_the_lock_queue_channel_event_or_condition_a_task_waits_on_and_forget_it_after() {
    // FIFO order: the yields count the other tasks' turns.
    tulip::Runner::builder()
        .workers(1)
        .fifo(true)
        .debug(true)
        .build()
        .run(async {
            let lp = tulip::EventLoop::current();
            let lock = Arc::new(tulip::sync::Lock::new());
            let held = lock.lock_arc().await;
            let queue = tulip::queue::Queue::<u32>::new(0);
            let event = Arc::new(tulip::sync::Event::new());
            let cond = Arc::new(tulip::sync::Condition::new());
            let (tx, rx) = tulip::channel::bounded::<u32>(1);
            let sem = Arc::new(tulip::sync::Semaphore::new(0));

            let l = lock.clone();
            let locker = task::Builder::new().name("locker").spawn(async move {
                drop(l.lock().await);
                // Then wait on something nobody reports: the record must not say "Lock".
                std::future::pending::<()>().await;
            });
            let q = queue.clone();
            let getter = task::Builder::new()
                .name("getter")
                .spawn(async move { q.get().await });
            let e = event.clone();
            let waiter = task::Builder::new()
                .name("waiter")
                .spawn(async move { e.wait().await });
            let c = cond.clone();
            let notified = task::Builder::new().name("notified").spawn(async move {
                let g = c.lock().await;
                drop(c.wait(g).await);
            });
            let receiver = task::Builder::new()
                .name("receiver")
                .spawn(async move { rx.recv().await });
            let s = sem.clone();
            let acquirer = task::Builder::new()
                .name("acquirer")
                .spawn(async move { drop(s.acquire().await) });
            for _ in 0..3 {
                tulip::yield_now().await;
            }

            let waits = |name: &str| {
                lp.dump()
                    .tasks
                    .iter()
                    .find(|t| t.info.name.as_deref() == Some(name))
                    .and_then(|t| t.info.waiting_on)
            };
            let what = |name: &str| match waits(name) {
                Some(WaitingOn::Primitive { what, .. }) => what,
                other => panic!("{name} waits on {other:?}"),
            };
            assert_eq!(what("locker"), "Lock");
            assert_eq!(what("getter"), "Queue.get");
            assert_eq!(what("waiter"), "Event");
            assert_eq!(what("notified"), "Condition");
            assert_eq!(what("receiver"), "channel.recv");
            assert_eq!(what("acquirer"), "Semaphore");
            let text = lp.dump().to_string();
            assert!(text.contains("waiting on Queue.get at 0x"), "{text}");

            // Every wait ends; the records go with them.
            drop(held);
            queue.put_nowait(1).unwrap();
            event.set();
            cond.notify_all();
            tx.send(5).await.unwrap();
            sem.release();
            assert_eq!(getter.await.unwrap().unwrap(), 1);
            waiter.await.unwrap();
            notified.await.unwrap();
            assert_eq!(receiver.await.unwrap().unwrap(), 5);
            acquirer.await.unwrap();
            for _ in 0..3 {
                tulip::yield_now().await;
            }
            assert_eq!(waits("locker"), None, "the lock was taken: no stale record");
            locker.cancel();
        });
}
