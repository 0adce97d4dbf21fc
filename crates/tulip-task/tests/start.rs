//! TaskGroup::start (Trio's nursery.start): the ready value, failures before readiness going
//! to the caller, after it to the group; on both flavours of the loop, on virtual time.

mod common;

use std::future::pending;

use common::{on_both, on_both_counting_reports, secs, since};
use tulip_reactor::{sleep, Instant};
use tulip_task::{Failure, Ready, SpawnErrorKind, StartError, TaskGroup};

// Provenance: Trio test_nursery_start (the value handed to started() is start's result, and
// the child goes on in the nursery).
#[test]
fn start_returns_the_ready_value_and_the_child_runs_on_in_the_group() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::<()>::new();
        let v = tg
            .start(|ready| async move {
                sleep(secs(3)).await;
                ready.started("bound");
                sleep(secs(4)).await;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!((v, since(start)), ("bound", secs(3)));
        assert_eq!(tg.len(), 1);
        tg.join().await.unwrap();
        assert_eq!(since(start), secs(7));
    });
}

// Provenance: Trio test_nursery_start (an exception before started() propagates out of
// start, not out of the nursery).
#[test]
fn an_error_before_ready_is_the_callers_and_the_siblings_run_on() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::<&'static str>::new();
        let sibling = tg
            .spawn(async {
                sleep(secs(5)).await;
                Ok("sibling")
            })
            .unwrap();
        let r = tg
            .start(|_ready: Ready<u16>| async {
                sleep(secs(1)).await;
                Err("bind failed")
            })
            .await;
        assert!(matches!(r, Err(StartError::Failed("bind failed"))));
        assert_eq!(since(start), secs(1));
        tg.join().await.unwrap();
        assert_eq!(sibling.await.unwrap(), "sibling");
        assert_eq!(since(start), secs(5));
    });
}

#[test]
fn a_panic_before_ready_is_the_callers_and_nobody_else_reports_it() {
    on_both_counting_reports(0, || async {
        let tg = TaskGroup::<()>::new();
        let r = tg
            .start(|_ready: Ready<()>| async {
                sleep(secs(1)).await;
                panic!("cannot start")
            })
            .await;
        match r {
            Err(StartError::Panicked(p)) => {
                assert_eq!(p.message().as_deref(), Some("cannot start"))
            }
            other => panic!("expected Panicked, got {other:?}"),
        }
        tg.join().await.unwrap();
    });
}

#[test]
fn ending_without_started_is_an_error() {
    on_both(|| async {
        let tg = TaskGroup::<std::io::Error>::new();
        let r = tg.start(|_ready: Ready<u8>| async { Ok(()) }).await;
        assert!(matches!(r, Err(StartError::NotStarted)));
        assert_eq!(
            r.unwrap_err().to_string(),
            "the child ended without calling started()"
        );
        tg.join().await.unwrap();
    });
}

#[test]
fn failures_after_ready_are_the_groups() {
    on_both(|| async {
        let tg = TaskGroup::<&'static str>::new();
        tg.start(|ready| async move {
            ready.started(());
            sleep(secs(1)).await;
            Err("later")
        })
        .await
        .unwrap();
        let err = tg.join().await.unwrap_err();
        assert!(matches!(err.first(), Failure::Error("later")));

        let tg = TaskGroup::<()>::new();
        tg.start(|ready| async move {
            ready.started(());
            sleep(secs(1)).await;
            panic!("later still")
        })
        .await
        .unwrap();
        let err = tg.join().await.unwrap_err();
        assert!(err.first().is_panic());
    });
}

#[test]
fn a_child_cancelled_before_ready_gives_cancelled_and_a_stopped_group_refuses() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::<()>::new();
        let handle = tg.handle();
        tulip_executor::spawn(async move {
            sleep(secs(2)).await;
            handle.cancel();
        })
        .detach();
        let r = tg
            .start(|_ready: Ready<()>| async { pending::<Result<(), ()>>().await })
            .await;
        assert!(matches!(r, Err(StartError::Cancelled)));
        assert_eq!(since(start), secs(2));
        let r = tg.start(|ready| async move {
            ready.started(());
            Ok(())
        });
        assert!(matches!(
            r.await,
            Err(StartError::Refused(SpawnErrorKind::Cancelled))
        ));
        tg.join().await.unwrap();
    });
}
