//! CancelScope: exact deadlines, cancel() from elsewhere, reschedule, nested scopes and who
//! reports a cancellation, the flags, and current_deadline; on both flavours of the loop.

mod common;

use std::future::pending;
use std::sync::mpsc;
use std::time::Duration;

use common::{ms, on_both, runner, secs, since, until, Counter, FLAVOURS};
use tulip_executor::{spawn, yield_now};
use tulip_reactor::{sleep, Instant, Reactor};
use tulip_task::{current_deadline, join, CancelScope, Cancelled, TaskGroup};

#[test]
fn the_work_is_cancelled_at_exactly_the_deadline() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_deadline(start + ms(1500));
        assert_eq!(scope.run(pending::<()>()).await, Err(Cancelled::Elapsed));
        assert_eq!(since(start), ms(1500));
    });
}

#[test]
fn work_that_finishes_first_wins() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_deadline(start + secs(2));
        let r = scope
            .run(async {
                sleep(secs(1)).await;
                "done"
            })
            .await;
        assert_eq!(r, Ok("done"));
        assert!(!scope.expired() && !scope.cancel_called() && !scope.cancelled_caught());
        // The deadline passing later does not matter any more.
        sleep(secs(5)).await;
        assert!(!scope.expired());
    });
}

#[test]
fn a_relative_deadline_counts_from_the_first_poll() {
    on_both(|| async {
        let scope = CancelScope::with_timeout(secs(3));
        let work = scope.run(pending::<()>());
        sleep(secs(10)).await;
        let first_poll = Instant::now();
        assert_eq!(work.await, Err(Cancelled::Elapsed));
        assert_eq!(since(first_poll), secs(3));
        assert_eq!(scope.deadline(), Some(first_poll + secs(3)));
    });
}

#[test]
fn a_scope_without_deadline_waits_for_cancel() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::new();
        let handle = scope.clone();
        let _canceller = spawn(async move {
            sleep(secs(7)).await;
            handle.cancel();
        });
        assert_eq!(scope.run(pending::<()>()).await, Err(Cancelled::Requested));
        assert_eq!(since(start), secs(7));
        assert!(scope.cancel_called() && scope.cancelled_caught() && !scope.expired());
    });
}

#[test]
fn cancel_can_be_called_from_a_plain_thread() {
    for workers in FLAVOURS {
        let scope = CancelScope::new();
        let handle = scope.clone();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let canceller = std::thread::spawn(move || {
            started_rx.recv().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            handle.cancel();
        });
        let r = runner(workers).run(async move {
            scope
                .run(async move {
                    started_tx.send(()).unwrap();
                    pending::<()>().await
                })
                .await
        });
        assert_eq!(r, Err(Cancelled::Requested));
        canceller.join().unwrap();
    }
}

#[test]
fn cancel_before_the_first_poll_lets_the_work_run_to_its_first_suspension() {
    on_both(|| async {
        let scope = CancelScope::new();
        scope.cancel();
        let steps = Counter::new();
        let s = steps.clone();
        let r = scope
            .run(async move {
                s.bump();
                yield_now().await;
                s.bump();
            })
            .await;
        assert_eq!(r, Err(Cancelled::Requested));
        assert_eq!(steps.get(), 1);
        // Work that never suspends completes (as in asyncio and Trio).
        assert_eq!(scope.run(async { 5 }).await, Ok(5));
    });
}

#[test]
fn reschedule_later_from_inside_extends_the_work() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_deadline(start + secs(10));
        let handle = scope.clone();
        let r = scope
            .run(async move {
                sleep(secs(9)).await;
                handle.reschedule(Some(start + secs(20)));
                sleep(secs(5)).await;
                "finished at 14"
            })
            .await;
        assert_eq!(r, Ok("finished at 14"));
        assert_eq!(since(start), secs(14));
    });
}

#[test]
fn reschedule_earlier_from_another_task_takes_effect_at_once() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_deadline(start + secs(3600));
        let handle = scope.clone();
        let _t = spawn(async move {
            sleep(secs(2)).await;
            handle.reschedule(Some(start + secs(5)));
        });
        assert_eq!(scope.run(pending::<()>()).await, Err(Cancelled::Elapsed));
        assert_eq!(since(start), secs(5));
    });
}

#[test]
fn reschedule_into_the_past_cancels_now() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_deadline(start + secs(3600));
        let handle = scope.clone();
        let _t = spawn(async move {
            sleep(secs(4)).await;
            handle.reschedule(Some(start));
        });
        assert_eq!(scope.run(pending::<()>()).await, Err(Cancelled::Elapsed));
        assert_eq!(since(start), secs(4));
    });
}

#[test]
fn reschedule_to_none_removes_the_deadline() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_deadline(start + secs(1));
        scope.reschedule(None);
        assert_eq!(scope.deadline(), None);
        let r = scope
            .run(async {
                sleep(secs(100)).await;
                1
            })
            .await;
        assert_eq!(r, Ok(1));
        assert_eq!(since(start), secs(100));
    });
}

#[test]
fn reschedule_before_the_first_poll_replaces_a_relative_deadline() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_timeout(secs(1));
        scope.reschedule(Some(start + secs(8)));
        assert_eq!(scope.run(pending::<()>()).await, Err(Cancelled::Elapsed));
        assert_eq!(since(start), secs(8));
    });
}

#[test]
fn the_deadline_never_fires_early() {
    // Manual clock control: the loop must not jump time by itself during this test.
    for workers in FLAVOURS {
        runner(workers).run(async {
            let reactor = Reactor::current().unwrap();
            let _manual = reactor.inhibit_auto_advance();
            let start = Instant::now();
            let scope = CancelScope::with_deadline(start + secs(1));
            let work = spawn(scope.run(pending::<()>()));
            yield_now().await;
            tulip_reactor::advance(ms(999)).await;
            for _ in 0..10 {
                yield_now().await;
            }
            assert!(!work.is_finished(), "cancelled before its deadline");
            tulip_reactor::advance(ms(1)).await;
            until("the scope ends", || work.is_finished()).await;
            assert_eq!(work.await.unwrap(), Err(Cancelled::Elapsed));
            assert_eq!(since(start), secs(1));
        });
    }
}

#[test]
fn nested_scopes_with_the_same_deadline_only_the_outer_reports() {
    on_both(|| async {
        let start = Instant::now();
        let deadline = start + secs(5);
        let outer = CancelScope::with_deadline(deadline);
        let inner = CancelScope::with_deadline(deadline);
        let inner_result = Counter::new();
        let seen = inner_result.clone();
        let i = inner.clone();
        let r = outer
            .run(async move {
                let r = i.run(pending::<()>()).await;
                // Never reached: the outer scope drops this future.
                seen.bump();
                r
            })
            .await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        assert_eq!(since(start), secs(5));
        assert_eq!(
            inner_result.get(),
            0,
            "the inner scope did not report the timeout"
        );
        assert!(outer.cancelled_caught() && outer.expired());
        assert!(!inner.cancelled_caught());
        assert!(
            inner.expired() && inner.cancel_called(),
            "the inner one did expire"
        );
    });
}

#[test]
fn three_nested_scopes_with_the_same_deadline_the_outermost_reports() {
    on_both(|| async {
        let deadline = Instant::now() + secs(2);
        let scopes: Vec<_> = (0..3)
            .map(|_| CancelScope::with_deadline(deadline))
            .collect();
        let (s1, s2) = (scopes[1].clone(), scopes[2].clone());
        let r = scopes[0]
            .run(async move { s1.run(async move { s2.run(pending::<()>()).await }).await })
            .await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        let caught: Vec<bool> = scopes.iter().map(CancelScope::cancelled_caught).collect();
        assert_eq!(caught, [true, false, false]);
    });
}

#[test]
fn an_inner_scope_with_an_earlier_deadline_reports_its_own_timeout() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::with_deadline(start + secs(10));
        let inner = CancelScope::with_deadline(start + secs(3));
        let i = inner.clone();
        let r = outer
            .run(async move {
                let r = i.run(pending::<()>()).await;
                assert_eq!(r, Err(Cancelled::Elapsed));
                sleep(secs(1)).await;
                "the outer work went on"
            })
            .await;
        assert_eq!(r, Ok("the outer work went on"));
        assert_eq!(since(start), secs(4));
        assert!(inner.cancelled_caught() && !outer.cancelled_caught() && !outer.expired());
    });
}

#[test]
fn an_outer_scope_with_an_earlier_deadline_reports() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::with_deadline(start + secs(3));
        let inner = CancelScope::with_deadline(start + secs(10));
        let i = inner.clone();
        let r = outer.run(async move { i.run(pending::<()>()).await }).await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        assert_eq!(since(start), secs(3));
        assert!(!inner.expired() && !inner.cancelled_caught());
    });
}

#[test]
fn equal_deadlines_already_passed_at_entry_are_reported_by_the_outer_scope() {
    on_both(|| async {
        let past = Instant::now();
        sleep(secs(1)).await;
        let outer = CancelScope::with_deadline(past);
        let inner = CancelScope::with_deadline(past);
        let i = inner.clone();
        let r = outer.run(async move { i.run(pending::<()>()).await }).await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        assert!(outer.cancelled_caught() && !inner.cancelled_caught());
    });
}

#[test]
fn an_inner_deadline_moved_to_the_outer_one_defers_to_the_outer_scope() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::with_deadline(start + secs(6));
        let inner = CancelScope::with_deadline(start + secs(60));
        let i = inner.clone();
        let work = outer.run(async move { i.run(pending::<()>()).await });
        let handle = inner.clone();
        let _t = spawn(async move {
            sleep(secs(1)).await;
            handle.reschedule(Some(start + secs(6)));
        });
        assert_eq!(work.await, Err(Cancelled::Elapsed));
        assert_eq!(since(start), secs(6));
        assert!(outer.cancelled_caught() && !inner.cancelled_caught());
    });
}

#[test]
fn when_both_are_cancelled_the_outer_scope_reports() {
    on_both(|| async {
        let outer = CancelScope::new();
        let inner = CancelScope::new();
        let (o, i) = (outer.clone(), inner.clone());
        let r = outer
            .run(async move {
                i.clone()
                    .run(async move {
                        i.cancel();
                        o.cancel();
                        pending::<()>().await
                    })
                    .await
            })
            .await;
        assert_eq!(r, Err(Cancelled::Requested));
        assert!(outer.cancelled_caught() && !inner.cancelled_caught());
    });
}

#[test]
fn cancelling_only_the_inner_scope_is_reported_by_it() {
    on_both(|| async {
        let outer = CancelScope::new();
        let inner = CancelScope::new();
        let i = inner.clone();
        let r = outer
            .run(async move {
                let handle = i.clone();
                let r = i
                    .run(async move {
                        handle.cancel();
                        pending::<()>().await
                    })
                    .await;
                (r, "outer continues")
            })
            .await;
        assert_eq!(r, Ok((Err(Cancelled::Requested), "outer continues")));
        assert!(inner.cancelled_caught() && !outer.cancel_called());
    });
}

#[test]
fn an_outer_cancel_while_the_inner_scope_runs_is_reported_by_the_outer_scope() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::new();
        let inner = CancelScope::with_deadline(start + secs(100));
        let handle = outer.clone();
        let _t = spawn(async move {
            sleep(secs(2)).await;
            handle.cancel();
        });
        let i = inner.clone();
        let r = outer.run(async move { i.run(pending::<()>()).await }).await;
        assert_eq!(r, Err(Cancelled::Requested));
        assert_eq!(since(start), secs(2));
        assert!(!inner.cancel_called());
    });
}

#[test]
fn a_scope_can_run_several_futures_and_cancels_them_all() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::with_deadline(start + secs(4));
        let (a, b) = join!(
            scope.run(pending::<()>()),
            scope.run(async {
                sleep(secs(1)).await;
                2
            })
        );
        assert_eq!((a, b), (Err(Cancelled::Elapsed), Ok(2)));
        assert_eq!(since(start), secs(4));
        // A later run of an expired scope is cancelled at its first suspension.
        assert_eq!(scope.run(sleep(secs(1))).await, Err(Cancelled::Elapsed));
    });
}

#[test]
fn dropping_the_scoped_future_drops_the_work() {
    on_both(|| async {
        let dropped = Counter::new();
        let guard = dropped.on_drop();
        let scope = CancelScope::new();
        let work = scope.run(async move {
            let _guard = guard;
            pending::<()>().await
        });
        let mut work = Box::pin(work);
        assert!(futures_lite::future::poll_once(work.as_mut())
            .await
            .is_none());
        drop(work);
        assert_eq!(dropped.get(), 1);
        // Cancelling a scope whose work is gone does nothing.
        scope.cancel();
        assert!(!scope.cancelled_caught());
    });
}

#[test]
fn cancelling_a_scope_cancels_a_task_group_inside_it() {
    on_both(|| async {
        let start = Instant::now();
        let dropped = Counter::new();
        let d = dropped.clone();
        let scope = CancelScope::with_deadline(start + secs(3));
        let r = scope
            .run(async move {
                let tg = TaskGroup::<()>::new();
                for _ in 0..3 {
                    let guard = d.on_drop();
                    tg.spawn(async move {
                        let _guard = guard;
                        sleep(secs(3600)).await;
                        Ok(())
                    })
                    .unwrap();
                }
                tg.join().await
            })
            .await;
        assert!(matches!(r, Err(Cancelled::Elapsed)), "not a GroupError");
        until("the children are dropped", || dropped.get() == 3).await;
        assert_eq!(since(start), secs(3));
    });
}

#[test]
fn current_deadline_is_the_earliest_enclosing_deadline() {
    on_both(|| async {
        assert_eq!(current_deadline(), None);
        let start = Instant::now();
        let outer = CancelScope::with_deadline(start + secs(5));
        let inner = CancelScope::with_deadline(start + secs(50));
        let no_deadline = CancelScope::new();
        let i = inner.clone();
        outer
            .run(async move {
                assert_eq!(current_deadline(), Some(start + secs(5)));
                i.run(async move {
                    assert_eq!(current_deadline(), Some(start + secs(5)));
                    no_deadline
                        .run(async { assert_eq!(current_deadline(), Some(start + secs(5))) })
                        .await
                        .unwrap();
                    // A task spawned inside is not inside the scopes.
                    spawn(async { current_deadline() }).await.unwrap()
                })
                .await
            })
            .await
            .map(|r| assert_eq!(r, Ok(None)))
            .unwrap();
        assert_eq!(current_deadline(), None);
    });
}

#[test]
fn cancelled_converts_to_io_errors() {
    let timed_out: std::io::Error = Cancelled::Elapsed.into();
    assert_eq!(timed_out.kind(), std::io::ErrorKind::TimedOut);
    let interrupted: std::io::Error = Cancelled::Requested.into();
    assert_eq!(interrupted.kind(), std::io::ErrorKind::Interrupted);
    assert_eq!(
        Cancelled::from(tulip_time::Elapsed::new()),
        Cancelled::Elapsed
    );
    assert_eq!(Cancelled::Elapsed.to_string(), "deadline has elapsed");
}

#[test]
fn a_scope_works_from_a_spawned_task_on_any_worker() {
    on_both(|| async {
        let start = Instant::now();
        let tasks: Vec<_> = (1..=8u64)
            .map(|i| {
                spawn(async move {
                    let scope = CancelScope::with_timeout(secs(i));
                    let r = scope.run(sleep(secs(100))).await;
                    (r, Instant::now())
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let (r, at) = t.await.unwrap();
            assert_eq!(r, Err(Cancelled::Elapsed));
            assert_eq!(at - start, secs(i as u64 + 1));
        }
    });
}
