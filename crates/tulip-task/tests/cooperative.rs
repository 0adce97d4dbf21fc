//! Cooperative cancel scopes: level-triggered checkpoints, awaited cleanup, shields, the grace
//! period, and how they mix with drop-based scopes; on both flavours of the loop, on virtual
//! time.

mod common;

use std::future::pending;
use std::sync::{Arc, Mutex};

use common::{ms, on_both, secs, since, until, Counter};
use tulip_executor::spawn;
use tulip_reactor::{sleep, Instant};
use tulip_task::{
    cancellable, cancellation, checkpoint, gather, timeout, CancelScope, Cancelled, Failure,
    TaskGroup,
};

/// What happened when, in virtual time since the start.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(&'static str, std::time::Duration)>>>);

impl Log {
    fn at(&self, what: &'static str, start: Instant) {
        self.0.lock().unwrap().push((what, since(start)));
    }

    fn take(&self) -> Vec<(&'static str, std::time::Duration)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

// Provenance: Trio's test_cancel_scope_is_level_triggered / test_cancel_edge_cases
// (every checkpoint inside a cancelled scope raises until the scope exits).
#[test]
fn every_checkpoint_fails_until_the_scope_exits() {
    on_both(|| async {
        let scope = CancelScope::cooperative();
        let handle = scope.clone();
        let r = scope
            .run(async move {
                assert_eq!(checkpoint().await, Ok(()));
                handle.cancel();
                let mut failures = 0;
                for _ in 0..5 {
                    if checkpoint().await == Err(Cancelled::Requested) {
                        failures += 1;
                    }
                }
                assert_eq!(cancellation(), Some(Cancelled::Requested));
                failures
            })
            .await;
        assert_eq!(r, Ok(5));
        assert!(scope.cancelled_caught());
        // Outside the scope, checkpoints pass again.
        assert_eq!(checkpoint().await, Ok(()));
        assert_eq!(cancellation(), None);
    });
}

// Provenance: CPython test_taskgroups / test_timeouts cleanup cases
// (`except CancelledError: await cleanup(); raise`).
#[test]
fn cancelled_work_awaits_its_cleanup_before_run_returns() {
    on_both(|| async {
        let start = Instant::now();
        let log = Log::default();
        let scope = CancelScope::cooperative();
        let handle = scope.clone();
        let canceller = spawn(async move {
            sleep(secs(3)).await;
            handle.cancel();
        });
        let l = log.clone();
        let r = scope
            .run(async move {
                let slept = cancellable(sleep(secs(3600))).await;
                l.at("told", start);
                // Cleanup that awaits, shielded from the scope's cancellation.
                CancelScope::shield()
                    .run(async {
                        cancellable(sleep(secs(2))).await.unwrap();
                        l.at("cleaned up", start);
                    })
                    .await
                    .unwrap();
                slept
            })
            .await;
        log.at("run returned", start);
        canceller.await.unwrap();
        assert_eq!(r, Ok(Err(Cancelled::Requested)));
        assert_eq!(
            log.take(),
            [
                ("told", secs(3)),
                ("cleaned up", secs(5)),
                ("run returned", secs(5))
            ]
        );
    });
}

// Provenance: Trio's test_cancel_shield_abort / test_nested_shield (nested shielded scopes).
#[test]
fn nested_shields_each_hide_the_outer_cancellation_and_keep_their_own() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::cooperative();
        outer.cancel();
        let middle = CancelScope::shield();
        let inner = CancelScope::shield().expire_after(secs(4));
        let (m, i) = (middle.clone(), inner.clone());
        let r = outer
            .run(async move {
                let out = checkpoint().await;
                let r = m
                    .run(async {
                        let mid = checkpoint().await;
                        let r = i
                            .run(async {
                                let before = checkpoint().await;
                                // The innermost shield's own deadline reaches its work.
                                let slept = cancellable(sleep(secs(60))).await;
                                (before, slept, since(start))
                            })
                            .await;
                        // Cancelling the middle shield reaches its work, not the outer's.
                        m.cancel();
                        (mid, r, checkpoint().await)
                    })
                    .await;
                (out, r, checkpoint().await)
            })
            .await;
        let (out, middle_r, after) = r.unwrap();
        let (mid, inner_r, mid_after) = middle_r.unwrap();
        let (before, slept, when) = inner_r.unwrap();
        assert_eq!(out, Err(Cancelled::Requested));
        assert_eq!(mid, Ok(()));
        assert_eq!(before, Ok(()));
        assert_eq!((slept, when), (Err(Cancelled::Elapsed), secs(4)));
        assert_eq!(mid_after, Err(Cancelled::Requested));
        assert_eq!(after, Err(Cancelled::Requested));
        assert!(inner.expired() && inner.cancelled_caught());
        assert!(middle.cancelled_caught());
    });
}

// Provenance: CPython test_timeouts' cleanup under an expired timeout; Trio's shielded
// cleanup after `move_on_after` fires.
#[test]
fn shielded_cleanup_runs_under_an_expired_outer_deadline() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::cooperative().expire_after(secs(10));
        let r = outer
            .run(async move {
                let work = cancellable(pending::<()>()).await;
                assert_eq!((work, since(start)), (Err(Cancelled::Elapsed), secs(10)));
                // Unshielded, the cleanup's own checkpoints fail at once.
                assert_eq!(cancellable(sleep(secs(1))).await, Err(Cancelled::Elapsed));
                assert_eq!(since(start), secs(10));
                CancelScope::shield()
                    .run(cancellable(sleep(secs(3))))
                    .await
                    .unwrap()
                    .unwrap();
                since(start)
            })
            .await;
        assert_eq!(r, Ok(secs(13)));
        assert!(outer.expired());
    });
}

// Provenance: Trio's graceful-cancellation proposals (trio#147): a deadline still bounds
// work that ignores its cancellation.
#[test]
fn work_that_ignores_the_cancellation_is_dropped_after_the_grace_period() {
    on_both(|| async {
        let start = Instant::now();
        let drops = Counter::new();
        // The default grace period, counted from the deadline.
        let scope = CancelScope::cooperative().expire_after(secs(5));
        let d = drops.on_drop();
        let r = scope
            .run(async move {
                let _d = d;
                sleep(secs(3600)).await; // not a checkpoint: ignores the cancellation
            })
            .await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        assert_eq!(since(start), secs(5) + tulip_task::DEFAULT_GRACE);
        assert_eq!(drops.get(), 1);
        assert!(scope.cancelled_caught());

        // A chosen grace period, counted from the first poll that saw cancel().
        let start = Instant::now();
        let scope = CancelScope::cooperative().with_grace(ms(1500));
        let handle = scope.clone();
        spawn(async move {
            sleep(secs(2)).await;
            handle.cancel();
        })
        .detach();
        let r = scope
            .run(async {
                // Cleanup that takes longer than the grace period.
                let _ = cancellable(pending::<()>()).await;
                CancelScope::shield().run(sleep(secs(60))).await
            })
            .await;
        assert_eq!(r, Err(Cancelled::Requested));
        assert_eq!(since(start), ms(3500));
    });
}

#[test]
fn an_infinite_grace_period_waits_for_the_work() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::cooperative()
            .expire_after(secs(1))
            .with_grace(std::time::Duration::MAX);
        let r = scope.run(sleep(secs(500))).await;
        assert_eq!((r, since(start)), (Ok(()), secs(500)));
        assert!(scope.cancelled_caught());
    });
}

#[test]
fn a_checkpoint_deep_inside_a_combinator_is_woken_by_the_cancellation() {
    on_both(|| async {
        let start = Instant::now();
        let scope = CancelScope::cooperative().expire_after(secs(7));
        let r = scope
            .run(gather([
                Box::pin(async { cancellable(sleep(secs(100))).await.map(|()| 0u64) })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>,
                Box::pin(async { cancellable(sleep(secs(2))).await.map(|()| 2) }),
                Box::pin(async { cancellable(pending::<u64>()).await }),
            ]))
            .await;
        assert_eq!(
            r,
            Ok(vec![
                Err(Cancelled::Elapsed),
                Ok(2),
                Err(Cancelled::Elapsed)
            ])
        );
        assert_eq!(since(start), secs(7));
    });
}

#[test]
fn a_cancel_from_another_task_wakes_a_waiting_checkpoint() {
    on_both(|| async {
        let scope = CancelScope::cooperative();
        let told = Counter::new();
        let t = told.clone();
        let work = spawn(scope.run(async move {
            let r = cancellable(pending::<()>()).await;
            t.bump();
            r
        }));
        sleep(secs(1)).await;
        assert_eq!(told.get(), 0);
        let start = Instant::now();
        scope.cancel();
        until("the work saw the cancellation", || told.get() == 1).await;
        assert_eq!(since(start), secs(0));
        assert_eq!(work.await.unwrap(), Ok(Err(Cancelled::Requested)));
    });
}

#[test]
fn a_drop_based_scope_inside_a_cancelled_cooperative_one_keeps_its_deadline() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::cooperative();
        outer.cancel();
        let r = outer
            .run(async {
                // The drop-based timeout must not wait for the outer scope to claim it.
                timeout(secs(2), sleep(secs(60))).await
            })
            .await;
        assert!(r.unwrap().is_err());
        assert_eq!(since(start), secs(2));
    });
}

#[test]
fn a_drop_based_scope_outside_drops_cooperative_work_shields_included() {
    on_both(|| async {
        let start = Instant::now();
        let drops = Counter::new();
        let d = drops.on_drop();
        let r = timeout(
            secs(3),
            CancelScope::cooperative().run(CancelScope::shield().run(async move {
                let _d = d;
                cancellable(sleep(secs(60))).await
            })),
        )
        .await;
        assert!(r.is_err());
        assert_eq!((since(start), drops.get()), (secs(3), 1));
    });
}

#[test]
fn work_that_ends_before_the_cancellation_is_not_caught() {
    on_both(|| async {
        let scope = CancelScope::cooperative().expire_after(secs(5));
        assert_eq!(scope.run(cancellable(sleep(secs(1)))).await, Ok(Ok(())));
        assert!(!scope.cancelled_caught() && !scope.cancel_called());
    });
}

/// A child that waits at a checkpoint, then cleans up for `cleanup` seconds (shielded) and
/// logs when it is done.
async fn polite_child(
    log: Log,
    start: Instant,
    cleanup: u64,
    name: &'static str,
) -> Result<(), Cancelled> {
    let r = cancellable(pending::<()>()).await;
    CancelScope::shield()
        .run(sleep(secs(cleanup)))
        .await
        .unwrap();
    log.at(name, start);
    r
}

// Provenance: CPython test_taskgroups (children's `except CancelledError` cleanup runs before
// the `async with` exits); Trio's nursery waits for cancelled children.
#[test]
fn a_cooperative_group_waits_for_its_children_to_clean_up() {
    on_both(|| async {
        let start = Instant::now();
        let log = Log::default();
        let tg = TaskGroup::<Cancelled>::cooperative();
        for (cleanup, name) in [(1, "a"), (4, "b"), (2, "c")] {
            tg.spawn(polite_child(log.clone(), start, cleanup, name))
                .unwrap();
        }
        sleep(secs(10)).await;
        tg.cancel();
        tg.join().await.unwrap(); // the children's Err(Cancelled) are not failures
        log.at("joined", start);
        assert_eq!(
            log.take(),
            [
                ("a", secs(11)),
                ("c", secs(12)),
                ("b", secs(14)),
                ("joined", secs(14))
            ]
        );
    });
}

#[test]
fn a_failing_child_tells_its_siblings_and_only_its_error_is_reported() {
    on_both(|| async {
        let start = Instant::now();
        let log = Log::default();
        let tg = TaskGroup::<&'static str>::cooperative();
        let sibling = tg
            .spawn({
                let log = log.clone();
                async move {
                    polite_child(log, start, 3, "sibling")
                        .await
                        .map_err(|_| "cancelled")
                }
            })
            .unwrap();
        tg.spawn(async {
            sleep(secs(2)).await;
            Err::<(), _>("broken")
        })
        .unwrap();
        let err = tg.join().await.unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(matches!(err.first(), Failure::Error("broken")));
        assert_eq!(log.take(), [("sibling", secs(5))]);
        assert_eq!(since(start), secs(5));
        assert!(sibling.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn cancelling_one_child_of_a_cooperative_group_is_a_request_to_it_alone() {
    on_both(|| async {
        let start = Instant::now();
        let log = Log::default();
        let tg = TaskGroup::<Cancelled>::cooperative();
        let target = tg
            .spawn(polite_child(log.clone(), start, 2, "target"))
            .unwrap();
        let other = tg
            .spawn(async move {
                // Not told: its checkpoint only ends with its own sleep.
                cancellable(sleep(secs(6))).await?;
                Ok("other")
            })
            .unwrap();
        sleep(secs(1)).await;
        assert!(target.cancel());
        tg.join().await.unwrap();
        assert_eq!(log.take(), [("target", secs(3))]);
        assert_eq!(since(start), secs(6));
        assert!(target.await.unwrap_err().is_cancelled());
        assert_eq!(other.await.unwrap(), "other");
    });
}

#[test]
fn a_cooperative_group_drops_a_child_that_ignores_it_after_the_grace_period() {
    on_both(|| async {
        let start = Instant::now();
        let drops = Counter::new();
        let tg = TaskGroup::<()>::cooperative().with_grace(secs(4));
        let d = drops.on_drop();
        let stubborn = tg
            .spawn(async move {
                let _d = d;
                sleep(secs(3600)).await;
                Ok(())
            })
            .unwrap();
        sleep(secs(1)).await;
        tg.cancel();
        tg.join().await.unwrap();
        assert_eq!((since(start), drops.get()), (secs(5), 1));
        assert!(stubborn.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn dropping_a_cooperative_group_still_drops_its_children_at_once() {
    on_both(|| async {
        let drops = Counter::new();
        let tg = TaskGroup::<Cancelled>::cooperative();
        let d = drops.on_drop();
        let child = tg
            .spawn(async move {
                let _d = d;
                cancellable(pending::<()>()).await
            })
            .unwrap();
        sleep(secs(1)).await;
        let start = Instant::now();
        drop(tg);
        assert!(child.await.unwrap_err().is_cancelled());
        assert_eq!((since(start), drops.get()), (secs(0), 1));
    });
}

// Issue 16: a task's cancel that the task sees as a request (asyncio's `task.cancel()` with
// `except CancelledError: await cleanup(); raise`). Provenance: CPython test_tasks
// (test_cancel_yield / test_cancel_inner_future cleanup cases) and Trio's cancel-scope tests.
#[test]
fn a_cooperative_task_handle_cancels_by_request_and_the_task_cleans_up() {
    on_both(|| async {
        let start = Instant::now();
        let log = Log::default();
        let l = log.clone();
        let task = tulip_task::spawn_cooperative(async move {
            l.at("started", start);
            let r = cancellable(sleep(secs(60))).await;
            assert_eq!(r, Err(Cancelled::Requested));
            l.at("told", start);
            // Cleanup that awaits, shielded from the request.
            CancelScope::shield().run(sleep(secs(2))).await.unwrap();
            l.at("cleaned up", start);
            "done"
        });
        until("the task to start", || !log.0.lock().unwrap().is_empty()).await;
        sleep(secs(1)).await;
        task.cancel();
        task.cancel(); // a second request changes nothing
        assert_eq!(task.await.unwrap(), Ok("done"));
        assert_eq!(
            log.take(),
            [
                ("started", secs(0)),
                ("told", secs(1)),
                ("cleaned up", secs(3))
            ]
        );
    });
}

#[test]
fn a_cooperative_task_that_ignores_the_request_is_dropped_after_the_grace() {
    on_both(|| async {
        let start = Instant::now();
        let drops = Counter::new();
        let d = drops.on_drop();
        let task = CancelScope::cooperative()
            .with_grace(secs(4))
            .spawn(async move {
                let _d = d;
                sleep(secs(3600)).await; // not a checkpoint
            });
        sleep(secs(1)).await;
        task.cancel();
        assert_eq!(task.await.unwrap(), Err(Cancelled::Requested));
        assert_eq!(since(start), secs(5));
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn abort_drops_a_cooperative_task_at_once_and_a_drop_based_scope_drops_on_cancel() {
    on_both(|| async {
        let start = Instant::now();
        let drops = Counter::new();
        let d = drops.on_drop();
        let task = tulip_task::spawn_cooperative(async move {
            let _d = d;
            let _ = cancellable(pending::<()>()).await;
            CancelScope::shield().run(sleep(secs(60))).await
        });
        sleep(secs(1)).await;
        assert!(task.abort());
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled(), "{err}");
        assert_eq!(since(start), secs(1));
        assert_eq!(drops.get(), 1);

        // With a drop-based scope, cancel() drops the work at its next poll.
        let drops = Counter::new();
        let d = drops.on_drop();
        let task = CancelScope::new().spawn(async move {
            let _d = d;
            pending::<()>().await
        });
        sleep(secs(1)).await;
        task.cancel();
        assert_eq!(task.await.unwrap(), Err(Cancelled::Requested));
        assert_eq!(drops.get(), 1);
        assert_eq!(since(start), secs(2));
    });
}

#[test]
fn a_local_scoped_task_runs_non_send_work() {
    common::on_both_local(|| async {
        let cell = std::rc::Rc::new(std::cell::Cell::new(0));
        let c = cell.clone();
        let task = CancelScope::cooperative().spawn_local(async move {
            while checkpoint().await.is_ok() {
                c.set(c.get() + 1);
                sleep(ms(10)).await;
            }
            c.get()
        });
        sleep(ms(35)).await;
        task.cancel();
        let n = task.await.unwrap().unwrap();
        assert_eq!(n, cell.get());
        assert!(n >= 1);
    });
}
