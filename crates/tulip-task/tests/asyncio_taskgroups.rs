//! Scenarios ported from CPython's `Lib/test/test_asyncio/test_taskgroups.py`.
//!
//! Provenance: <https://github.com/python/cpython/blob/3.13/Lib/test/test_asyncio/test_taskgroups.py>,
//! Copyright (c) 2001-2024 Python Software Foundation, licensed under the PSF License
//! Agreement. Only the scenarios are ported (what each test sets up and checks), not the code;
//! each test names the upstream test it follows. Timings are the upstream ones, on virtual
//! time, so they are exact here.
//!
//! Where Rust differs: cancellation drops a future (there is no `CancelledError` to catch, and
//! cleanup runs in `Drop`), so "a child raising in `finally:`" becomes "a child whose `Drop`
//! panics", and "the body raising" becomes "the owner returning early", which drops the group.
//! A failing child does not cancel the owner's body unless the body runs in the group's
//! `cancel_scope()`, which is how the scenarios that rely on that are written.

mod common;

use std::future::pending;

use common::{on_both, on_both_counting_reports, secs, since, until, Counter, PanicOnDrop};
use tulip_executor::{spawn, JoinError};
use tulip_reactor::{sleep, Instant};
use tulip_task::{Cancelled, Failure, GroupError, SpawnErrorKind, TaskGroup};

/// `ZeroDivisionError` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exc {
    ZeroDivision,
    Value,
    Mine,
}

/// test_taskgroup_01: two children's results are available after the group.
#[test]
fn taskgroup_01_results_after_the_group() {
    on_both(|| async {
        let tg = TaskGroup::<Exc>::new();
        let t1 = tg
            .spawn(async {
                sleep(secs(1)).await;
                Ok(42)
            })
            .unwrap();
        let t2 = tg
            .spawn(async {
                sleep(secs(2)).await;
                Ok(11)
            })
            .unwrap();
        tg.join().await.unwrap();
        assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (42, 11));
    });
}

/// test_taskgroup_02: a child created after the body slept.
#[test]
fn taskgroup_02_child_created_later() {
    on_both(|| async {
        let tg = TaskGroup::<Exc>::new();
        let t1 = tg.spawn(async { Ok(42) }).unwrap();
        sleep(secs(0)).await;
        let t2 = tg
            .spawn(async {
                sleep(secs(2)).await;
                Ok(11)
            })
            .unwrap();
        tg.join().await.unwrap();
        assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (42, 11));
    });
}

/// test_taskgroup_04: one child fails, the slow sibling is cancelled; the group raises an
/// ExceptionGroup of the one error.
#[test]
fn taskgroup_04_failure_cancels_the_sibling() {
    on_both(|| async {
        let num = Counter::new();
        let n = num.clone();
        let tg = TaskGroup::new();
        let t1 = tg
            .spawn(async move {
                sleep(secs(1)).await;
                n.bump();
                Ok(42)
            })
            .unwrap();
        let t2 = tg
            .spawn(async {
                sleep(secs_f(0.1)).await;
                Err::<i32, _>(Exc::ZeroDivision)
            })
            .unwrap();
        let err = tg.join().await.unwrap_err();
        assert_eq!(errors(&err), [Exc::ZeroDivision]);
        assert_eq!(num.get(), 0, "t1 never got past its sleep");
        assert!(t1.await.unwrap_err().is_cancelled());
        assert!(t2.await.is_err());
    });
}

/// test_taskgroup_05: as 04, with more children created along the way; every sibling is
/// cancelled and only the one error is reported.
#[test]
fn taskgroup_05_many_siblings_cancelled() {
    on_both(|| async {
        let cancelled = Counter::new();
        let tg = TaskGroup::new();
        for _ in 0..5 {
            let guard = cancelled.on_drop();
            tg.spawn(async move {
                let _guard = guard;
                sleep(secs(10)).await;
                Ok(())
            })
            .unwrap();
        }
        tg.spawn(async {
            sleep(secs_f(0.1)).await;
            Err::<(), _>(Exc::ZeroDivision)
        })
        .unwrap();
        let start = Instant::now();
        let err = tg.join().await.unwrap_err();
        assert_eq!(since(start), secs_f(0.1));
        assert_eq!(errors(&err), [Exc::ZeroDivision]);
        assert_eq!(cancelled.get(), 5);
    });
}

/// test_taskgroup_06: the task running the group is cancelled; the children are cancelled
/// and the runner ends cancelled (not with an ExceptionGroup).
#[test]
fn taskgroup_06_outer_task_cancelled() {
    on_both(|| async {
        let cancelled = Counter::new();
        let c = cancelled.clone();
        let runner = spawn(async move {
            let tg = TaskGroup::<Exc>::new();
            for _ in 0..5 {
                let guard = c.on_drop();
                tg.spawn(async move {
                    let _guard = guard;
                    sleep(secs(10)).await;
                    Ok(())
                })
                .unwrap();
            }
            sleep(secs(10)).await;
            tg.join().await
        });
        sleep(secs_f(0.1)).await;
        assert!(!runner.is_finished());
        runner.cancel();
        assert!(matches!(runner.await, Err(JoinError::Cancelled)));
        until("the children are cancelled", || cancelled.get() == 5).await;
    });
}

/// test_taskgroup_07: the runner is cancelled while the children's cleanups fail. Nobody
/// joins the group any more, so the cleanup panics go to the loop's exception handler (in
/// asyncio they end up in the ExceptionGroup raised into the cancelled runner).
#[test]
fn taskgroup_07_cleanup_failures_of_a_cancelled_runner_are_reported() {
    on_both_counting_reports(5, || async {
        let started = Counter::new();
        let s = started.clone();
        let runner = spawn(async move {
            let tg = TaskGroup::<Exc>::new();
            for _ in 0..5 {
                let s = s.clone();
                tg.spawn(async move {
                    let _finally = PanicOnDrop("1 / 0 in finally");
                    s.bump();
                    sleep(secs(10)).await;
                    Ok(())
                })
                .unwrap();
            }
            tg.join().await
        });
        until("the children started", || started.get() == 5).await;
        runner.cancel();
        assert!(runner.await.unwrap_err().is_cancelled());
        sleep(secs(1)).await;
    });
}

/// test_taskgroup_08: the body fails after creating children; the children are cancelled.
#[test]
fn taskgroup_08_body_failure_cancels_the_children() {
    on_both(|| async {
        let cancelled = Counter::new();
        let c = cancelled.clone();
        let runner = async move {
            let tg = TaskGroup::<Exc>::new();
            for _ in 0..5 {
                let guard = c.on_drop();
                tg.spawn(async move {
                    let _guard = guard;
                    sleep(secs(10)).await;
                    Ok(())
                })
                .unwrap();
            }
            sleep(secs_f(0.1)).await;
            // The body raises ValueError: returning early drops the group.
            Err::<(), _>(Exc::Value)?;
            tg.join().await.map_err(|_| Exc::Mine)
        };
        let start = Instant::now();
        assert_eq!(runner.await, Err(Exc::Value));
        until("the children are cancelled", || cancelled.get() == 5).await;
        assert_eq!(since(start), secs_f(0.1));
    });
}

/// test_taskgroup_09 / test_taskgroup_10: a child fails while the body waits; the body is
/// cancelled too (through the group's cancel scope) and the group reports the child's error.
#[test]
fn taskgroup_09_child_failure_cancels_the_body() {
    on_both(|| async {
        let t1_cancelled = Counter::new();
        let guard = t1_cancelled.on_drop();
        let start = Instant::now();
        let tg = TaskGroup::new();
        let body = tg.cancel_scope().run(async {
            tg.spawn(async move {
                let _guard = guard;
                sleep(secs(1)).await;
                Ok(())
            })
            .unwrap();
            tg.spawn(async {
                sleep(secs_f(0.3)).await;
                Err::<(), _>(Exc::ZeroDivision)
            })
            .unwrap();
            sleep(secs(10)).await;
        });
        assert_eq!(body.await, Err(Cancelled::Requested));
        let err = tg.join().await.unwrap_err();
        assert_eq!(errors(&err), [Exc::ZeroDivision]);
        assert_eq!(since(start), secs_f(0.3));
        assert_eq!(t1_cancelled.get(), 1);
    });
}

/// test_taskgroup_11 / test_taskgroup_12: nested groups, the outer runner is cancelled; every
/// level is cancelled and the runner ends cancelled.
#[test]
fn taskgroup_11_nested_groups_cancelled_from_outside() {
    on_both(|| async {
        let cancelled = Counter::new();
        let c = cancelled.clone();
        let runner = spawn(async move {
            let outer = TaskGroup::<GroupError<Exc>>::new();
            let c2 = c.clone();
            outer
                .spawn(async move {
                    let inner = TaskGroup::<Exc>::new();
                    for _ in 0..5 {
                        let guard = c2.on_drop();
                        inner
                            .spawn(async move {
                                let _guard = guard;
                                sleep(secs(10)).await;
                                Ok(())
                            })
                            .unwrap();
                    }
                    inner.join().await
                })
                .unwrap();
            sleep(secs(1)).await;
            outer.join().await
        });
        sleep(secs_f(0.1)).await;
        runner.cancel();
        assert!(matches!(runner.await, Err(JoinError::Cancelled)));
        until("every level is cancelled", || cancelled.get() == 5).await;
    });
}

/// test_taskgroup_14: a child of the outer group runs an inner group whose child crashes: the
/// outer ExceptionGroup holds the inner ExceptionGroup holding the error.
#[test]
fn taskgroup_14_errors_nest_like_exception_groups() {
    on_both(|| async {
        let outer = TaskGroup::<GroupError<Exc>>::new();
        outer
            .spawn(async {
                let inner = TaskGroup::new();
                inner
                    .spawn(async {
                        sleep(secs_f(0.1)).await;
                        Err::<(), _>(Exc::ZeroDivision)
                    })
                    .unwrap();
                sleep(secs(1)).await;
                inner.join().await
            })
            .unwrap();
        let err = outer.join().await.unwrap_err();
        assert_eq!(err.len(), 1);
        let inner = match err.into_failures().pop().unwrap() {
            Failure::Error(inner) => inner,
            Failure::Panic(p) => panic!("unexpected panic {p:?}"),
        };
        assert_eq!(errors(&inner), [Exc::ZeroDivision]);
    });
}

/// test_taskgroup_18 / test_taskgroup_19: a child fails while its sibling's cleanup fails
/// too: both failures are reported.
#[test]
fn taskgroup_18_failures_during_cancellation_are_collected() {
    on_both(|| async {
        let tg = TaskGroup::new();
        tg.spawn(async {
            let _finally = PanicOnDrop("MyExc in finally");
            sleep(secs(10)).await;
            Ok(())
        })
        .unwrap();
        tg.spawn(async {
            sleep(secs_f(0.1)).await;
            Err::<(), _>(Exc::ZeroDivision)
        })
        .unwrap();
        let err = tg.join().await.unwrap_err();
        assert_eq!(errors(&err), [Exc::ZeroDivision]);
        let panics: Vec<String> = err.panics().filter_map(|p| p.message()).collect();
        assert_eq!(panics, ["MyExc in finally"]);
    });
}

/// test_taskgroup_task_name: children can be named.
#[test]
fn taskgroup_task_name() {
    on_both(|| async {
        let tg = TaskGroup::<Exc>::new();
        let t = tg
            .spawn_with(tulip_executor::Builder::new().name("example name"), async {
                Ok(())
            })
            .unwrap();
        assert_eq!(t.name(), Some("example name"));
        tg.join().await.unwrap();
    });
}

/// test_taskgroup_no_create_task_after_failure: spawning into a failed group is refused and
/// the coroutine is handed back (asyncio closes it so it is not "never awaited").
#[test]
fn taskgroup_no_create_task_after_failure() {
    on_both(|| async {
        let tg = TaskGroup::new();
        let handle = tg.handle();
        tg.spawn(async {
            sleep(secs_f(0.1)).await;
            Err::<(), _>(Exc::ZeroDivision)
        })
        .unwrap();
        tg.spawn(async move {
            sleep(secs(1)).await;
            // Runs only if not cancelled; the group has failed by now anyway.
            let refused = handle.spawn(async { Ok(()) }).unwrap_err();
            assert_eq!(refused.kind(), SpawnErrorKind::Failed);
            Ok(())
        })
        .unwrap();
        sleep(secs_f(0.2)).await;
        let refused = tg.spawn(async { Ok(()) }).unwrap_err();
        assert_eq!(refused.kind(), SpawnErrorKind::Failed);
        drop(refused.into_inner());
        assert!(tg.join().await.is_err());
    });
}

/// test_create_task_after_exit ("TaskGroup is finished"): spawning after the group exited.
#[test]
fn taskgroup_create_task_after_exit() {
    on_both(|| async {
        let tg = TaskGroup::<Exc>::new();
        let handle = tg.handle();
        tg.join().await.unwrap();
        let refused = handle.spawn(async { Ok(()) }).unwrap_err();
        assert_eq!(refused.kind(), SpawnErrorKind::Closed);
        assert_eq!(
            refused.to_string(),
            "task group is finished (joined or dropped)"
        );
    });
}

/// test_children_complete_on_child_error (3.12+): children that finish before a failure
/// keep their results.
#[test]
fn taskgroup_children_done_before_the_failure_keep_their_results() {
    on_both(|| async {
        let tg = TaskGroup::new();
        let early = tg
            .spawn(async {
                sleep(secs_f(0.1)).await;
                Ok("early")
            })
            .unwrap();
        tg.spawn(async {
            sleep(secs(1)).await;
            Err::<&str, _>(Exc::Value)
        })
        .unwrap();
        assert!(tg.join().await.is_err());
        assert_eq!(early.await.unwrap(), "early");
    });
}

/// test_cancel_children_on_child_error / test_taskgroup_cancel_body (3.13 `TaskGroup.cancel`
/// lands in 3.15): stopping the group on purpose is not an error.
#[test]
fn taskgroup_cancel_stops_everything_without_error() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::<Exc>::new();
        let cancelled = Counter::new();
        for _ in 0..3 {
            let guard = cancelled.on_drop();
            tg.spawn(async move {
                let _guard = guard;
                pending::<Result<(), Exc>>().await
            })
            .unwrap();
        }
        let handle = tg.handle();
        tg.spawn(async move {
            sleep(secs(1)).await;
            handle.cancel();
            Ok(())
        })
        .unwrap();
        tg.join().await.unwrap();
        assert_eq!(since(start), secs(1));
        assert_eq!(cancelled.get(), 3);
    });
}

fn errors(err: &GroupError<Exc>) -> Vec<Exc> {
    err.errors().copied().collect()
}

fn secs_f(s: f64) -> std::time::Duration {
    std::time::Duration::from_secs_f64(s)
}
