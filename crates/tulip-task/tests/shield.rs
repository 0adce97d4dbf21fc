//! shield: dropping the outer future leaves the inner work running to completion; on both
//! flavours of the loop.

mod common;

use std::sync::{Arc, Mutex};

use common::{on_both, on_both_local, secs, since, until, Counter};
use tulip_executor::spawn;
use tulip_reactor::{sleep, Instant};
use tulip_task::{shield, shield_local, timeout, TaskGroup};

#[test]
fn awaiting_a_shield_gives_the_result() {
    on_both(|| async {
        assert_eq!(shield(async { 6 * 7 }).await.unwrap(), 42);
    });
}

#[test]
fn dropping_the_outer_future_leaves_the_work_running_to_completion() {
    on_both(|| async {
        let start = Instant::now();
        let finished_at = Arc::new(Mutex::new(None));
        let f = finished_at.clone();
        let guarded = shield(async move {
            sleep(secs(5)).await;
            *f.lock().unwrap() = Some(Instant::now());
        });
        assert!(timeout(secs(1), guarded).await.is_err());
        assert_eq!(since(start), secs(1));
        sleep(secs(10)).await;
        let at = finished_at
            .lock()
            .unwrap()
            .expect("the shielded work finished");
        assert_eq!(at - start, secs(5));
    });
}

#[test]
fn cancelling_the_awaiting_task_does_not_cancel_the_work() {
    on_both(|| async {
        let done = Counter::new();
        let d = done.clone();
        let started = Counter::new();
        let s = started.clone();
        let outer = spawn(async move {
            shield(async move {
                s.bump();
                sleep(secs(3)).await;
                d.bump();
            })
            .await
            .unwrap();
        });
        until("the shielded work started", || started.get() == 1).await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(secs(3)).await;
        until("the shielded work finished", || done.get() == 1).await;
    });
}

#[test]
fn a_shield_survives_a_failing_task_group() {
    on_both(|| async {
        let saved = Counter::new();
        let s = saved.clone();
        let tg = TaskGroup::new();
        tg.spawn(async move {
            shield(async move {
                sleep(secs(2)).await;
                s.bump();
            })
            .await
            .unwrap();
            Ok(())
        })
        .unwrap();
        tg.spawn(async {
            sleep(secs(1)).await;
            Err::<(), _>("sibling failed")
        })
        .unwrap();
        assert!(tg.join().await.is_err());
        assert_eq!(saved.get(), 0);
        sleep(secs(1)).await;
        until("the shielded work finished", || saved.get() == 1).await;
    });
}

#[test]
fn a_panic_in_the_shielded_work_is_a_join_error() {
    on_both(|| async {
        let r = shield(async {
            if true {
                panic!("shielded panic");
            }
        })
        .await;
        assert_eq!(
            r.unwrap_err().panic_message().as_deref(),
            Some("shielded panic")
        );
    });
}

#[test]
fn a_shield_dropped_before_its_first_poll_never_starts_the_work() {
    on_both(|| async {
        let ran = Counter::new();
        let r = ran.clone();
        let s = shield(async move { r.bump() });
        assert!(s.task().is_none());
        drop(s);
        sleep(secs(1)).await;
        assert_eq!(ran.get(), 0);
    });
}

#[test]
fn the_shield_exposes_its_task_once_polled() {
    on_both(|| async {
        let mut s = shield(sleep(secs(1)));
        assert!(futures_lite::future::poll_once(&mut s).await.is_none());
        let id = s.task().expect("spawned at the first poll").id();
        assert!(s.task().is_some_and(|t| t.id() == id));
        s.await.unwrap();
    });
}

#[test]
fn shield_local_runs_not_send_work_to_completion() {
    on_both_local(|| async {
        let cell = std::rc::Rc::new(std::cell::Cell::new(0));
        let c = cell.clone();
        let guarded = shield_local(async move {
            sleep(secs(2)).await;
            c.set(7);
        });
        assert!(timeout(secs(1), guarded).await.is_err());
        sleep(secs(5)).await;
        assert_eq!(cell.get(), 7);
    });
}
