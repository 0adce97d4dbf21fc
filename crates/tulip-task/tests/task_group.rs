//! TaskGroup: joining, fail-fast cancellation, error aggregation, cancellation from outside,
//! refused spawns, nested groups; on both flavours of the loop, on virtual time.

mod common;

use std::future::pending;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use common::{
    after, ms, on_both, on_both_counting_reports, on_both_local, on_both_with, runner, secs, since,
    until, Counter, PanicOnDrop, FLAVOURS,
};
use tulip_executor::{spawn, yield_now, Builder, JoinError};
use tulip_reactor::{sleep, Instant};
use tulip_task::{timeout, Cancelled, Failure, GroupError, SpawnErrorKind, TaskGroup};

#[test]
fn children_values_are_ready_after_join() {
    on_both(|| async {
        let tg = TaskGroup::<()>::new();
        let a = tg.spawn(after(secs(2), "a").map_ok()).unwrap();
        let b = tg.spawn(after(secs(1), 2).map_ok()).unwrap();
        tg.join().await.unwrap();
        assert_eq!(a.await.unwrap(), "a");
        assert_eq!(b.await.unwrap(), 2);
    });
}

#[test]
fn on_one_thread_every_handle_is_finished_when_join_returns() {
    // With several workers a child's task may still be completing on another worker for a
    // moment after `join` returned (its future is already done and dropped).
    runner(1).run(async {
        let tg = TaskGroup::<()>::new();
        let handles: Vec<_> = (0..3)
            .map(|i| tg.spawn(after(secs(i), i).map_ok()).unwrap())
            .collect();
        tg.join().await.unwrap();
        assert!(handles.iter().all(|h| h.is_finished()));
    });
}

#[test]
fn join_waits_for_the_slowest_child() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::<()>::new();
        for s in [3, 1, 2] {
            tg.spawn(after(secs(s), ()).map_ok()).unwrap();
        }
        assert_eq!(tg.len(), 3);
        tg.join().await.unwrap();
        assert_eq!(since(start), secs(3));
    });
}

#[test]
fn an_empty_group_joins_at_once() {
    on_both(|| async {
        let start = Instant::now();
        TaskGroup::<()>::new().join().await.unwrap();
        assert_eq!(since(start), secs(0));
    });
}

#[test]
fn the_first_error_cancels_every_sibling() {
    on_both(|| async {
        let start = Instant::now();
        let dropped = Counter::new();
        let tg = TaskGroup::new();
        let mut siblings = Vec::new();
        for _ in 0..5 {
            let guard = dropped.on_drop();
            siblings.push(
                tg.spawn(async move {
                    let _guard = guard;
                    sleep(secs(3600)).await;
                    Ok(())
                })
                .unwrap(),
            );
        }
        tg.spawn(async {
            sleep(secs(1)).await;
            Err::<(), _>("boom")
        })
        .unwrap();
        let err = tg.join().await.unwrap_err();
        assert_eq!(
            since(start),
            secs(1),
            "join returns once the siblings are gone"
        );
        assert_eq!(dropped.get(), 5);
        assert_eq!(err.len(), 1);
        assert!(matches!(err.first(), Failure::Error("boom")));
        for s in siblings {
            assert!(s.await.unwrap_err().is_cancelled());
        }
    });
}

#[test]
fn a_panic_cancels_the_siblings_and_is_collected_with_its_payload() {
    on_both(|| async {
        let dropped = Counter::new();
        let tg = TaskGroup::<()>::new();
        let guard = dropped.on_drop();
        tg.spawn(async move {
            let _guard = guard;
            pending::<Result<(), ()>>().await
        })
        .unwrap();
        let crashing = tg
            .spawn(async {
                sleep(ms(5)).await;
                std::panic::panic_any(42u32);
                #[allow(unreachable_code, reason = "the child's type says it may return Ok")]
                Ok(())
            })
            .unwrap();
        let err = tg.join().await.unwrap_err();
        assert_eq!(dropped.get(), 1);
        let (errors, panics) = err.split();
        assert!(errors.is_empty());
        assert_eq!(panics.len(), 1);
        let payload = panics.into_iter().next().unwrap().into_inner();
        assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
        // The handle reports a panic too, without the payload (the group has it).
        assert!(crashing.await.unwrap_err().is_panic());
    });
}

#[test]
fn a_child_panic_is_not_reported_to_the_loop_exception_handler() {
    on_both_counting_reports(0, || async {
        let tg = TaskGroup::<()>::new();
        tg.spawn(async {
            if true {
                panic!("in a group");
            }
            Ok(())
        })
        .unwrap();
        let err = tg.join().await.unwrap_err();
        assert_eq!(
            err.panics().next().unwrap().message().as_deref(),
            Some("in a group")
        );
    });
    // The handler does see the panic of a plain task: the count above is meaningful.
    on_both_counting_reports(1, || async {
        assert!(spawn(async { panic!("plain") })
            .await
            .unwrap_err()
            .is_panic());
    });
}

#[test]
fn every_error_and_panic_is_collected_in_order() {
    on_both(|| async {
        let tg = TaskGroup::new();
        for name in ["c1", "c2", "c3"] {
            tg.spawn(async move {
                let _cleanup = PanicOnDrop(name);
                pending::<Result<(), String>>().await
            })
            .unwrap();
        }
        tg.spawn(async {
            sleep(secs(1)).await;
            Err::<(), _>("first".to_string())
        })
        .unwrap();
        let err: GroupError<String> = tg.join().await.unwrap_err();
        assert_eq!(err.len(), 4);
        assert!(matches!(err.first(), Failure::Error(e) if e == "first"));
        let mut cleanups: Vec<String> = err.panics().filter_map(|p| p.message()).collect();
        cleanups.sort();
        assert_eq!(cleanups, ["c1", "c2", "c3"]);
        let text = err.to_string();
        assert!(
            text.starts_with("4 tasks of a task group failed: first; panic: c"),
            "{text}"
        );
    });
}

#[test]
fn cancelling_the_owner_cancels_every_child_and_ends_it_cancelled() {
    on_both(|| async {
        let dropped = Counter::new();
        let started = Counter::new();
        let (d, s) = (dropped.clone(), started.clone());
        let owner = spawn(async move {
            let tg = TaskGroup::<()>::new();
            for _ in 0..4 {
                let (guard, s) = (d.on_drop(), s.clone());
                tg.spawn(async move {
                    let _guard = guard;
                    s.bump();
                    sleep(secs(3600)).await;
                    Ok(())
                })
                .unwrap();
            }
            tg.join().await
        });
        until("the children started", || started.get() == 4).await;
        assert!(owner.cancel());
        let r = owner.await;
        assert!(matches!(r, Err(JoinError::Cancelled)), "{r:?}");
        until("the children are dropped", || dropped.get() == 4).await;
    });
}

#[test]
fn dropping_the_join_future_cancels_the_children() {
    on_both(|| async {
        let start = Instant::now();
        let dropped = Counter::new();
        let tg = TaskGroup::<()>::new();
        for _ in 0..3 {
            let guard = dropped.on_drop();
            tg.spawn(async move {
                let _guard = guard;
                sleep(secs(3600)).await;
                Ok(())
            })
            .unwrap();
        }
        assert!(timeout(secs(10), tg.join()).await.is_err());
        assert_eq!(since(start), secs(10));
        until("the children are dropped", || dropped.get() == 3).await;
        assert_eq!(
            since(start),
            secs(10),
            "dropped without waiting for a timer"
        );
    });
}

#[test]
fn dropping_a_group_that_was_not_joined_cancels_its_children() {
    on_both(|| async {
        let dropped = Counter::new();
        let tg = TaskGroup::<()>::new();
        let mut handles = Vec::new();
        for _ in 0..3 {
            let guard = dropped.on_drop();
            handles.push(
                tg.spawn(async move {
                    let _guard = guard;
                    pending::<Result<(), ()>>().await
                })
                .unwrap(),
            );
        }
        let handle = tg.handle();
        drop(tg);
        for h in handles {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        assert_eq!(dropped.get(), 3);
        let refused = handle.spawn(async { Ok(()) }).unwrap_err();
        assert_eq!(refused.kind(), SpawnErrorKind::Closed);
    });
}

#[test]
fn spawning_into_a_failed_group_is_refused_with_the_future_back() {
    on_both(|| async {
        let tg = TaskGroup::new();
        tg.spawn(async { Err::<u8, _>("broken") }).unwrap();
        until("the group failed", || tg.is_failed()).await;
        let refused = tg.spawn(async { Ok(7) }).unwrap_err();
        assert_eq!(refused.kind(), SpawnErrorKind::Failed);
        assert_eq!(
            refused.to_string(),
            "task group is shutting down after a child failed"
        );
        assert_eq!(refused.into_inner().await, Ok(7));
        assert!(tg.join().await.is_err());
    });
}

#[test]
fn spawning_into_a_joined_group_is_refused() {
    on_both(|| async {
        let tg = TaskGroup::<()>::new();
        let handle = tg.handle();
        assert!(handle.is_open());
        tg.spawn(async { Ok(()) }).unwrap();
        tg.join().await.unwrap();
        assert!(!handle.is_open());
        let refused = handle.spawn(async { Ok(()) }).unwrap_err();
        assert_eq!(refused.kind(), SpawnErrorKind::Closed);
    });
}

#[test]
fn a_child_can_spawn_a_sibling_while_join_waits() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::<()>::new();
        let handle = tg.handle();
        let late = Arc::new(Mutex::new(None));
        let l = late.clone();
        tg.spawn(async move {
            sleep(secs(1)).await;
            let sibling = handle.spawn(after(secs(5), "late").map_ok()).unwrap();
            *l.lock().unwrap() = Some(sibling);
            Ok(())
        })
        .unwrap();
        tg.join().await.unwrap();
        assert_eq!(since(start), secs(6), "join waited for the late sibling");
        let sibling = late.lock().unwrap().take().unwrap();
        assert_eq!(sibling.await.unwrap(), "late");
    });
}

#[test]
fn cancel_stops_the_children_and_join_succeeds() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::<()>::new();
        let child = tg.spawn(after(secs(3600), ()).map_ok()).unwrap();
        sleep(secs(1)).await;
        tg.cancel();
        assert!(tg.is_cancelled());
        assert_eq!(
            tg.spawn(async { Ok(()) }).unwrap_err().kind(),
            SpawnErrorKind::Cancelled
        );
        tg.join().await.unwrap();
        assert_eq!(since(start), secs(1));
        assert!(child.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn cancel_after_a_failure_still_reports_the_failure() {
    on_both(|| async {
        let tg = TaskGroup::new();
        tg.spawn(async { Err::<(), _>(1) }).unwrap();
        until("the group failed", || tg.is_failed()).await;
        tg.cancel();
        assert!(!tg.is_cancelled());
        let err = tg.join().await.unwrap_err();
        assert_eq!(err.errors().copied().collect::<Vec<_>>(), [1]);
    });
}

#[test]
fn cancelling_one_child_is_not_a_failure() {
    on_both(|| async {
        let tg = TaskGroup::<()>::new();
        let stuck = tg.spawn(pending::<Result<(), ()>>()).unwrap();
        let fine = tg.spawn(after(secs(1), 1).map_ok()).unwrap();
        assert!(stuck.cancel());
        tg.join().await.unwrap();
        assert!(stuck.await.unwrap_err().is_cancelled());
        assert_eq!(fine.await.unwrap(), 1);
    });
}

#[test]
fn a_child_that_returns_err_gives_cancelled_on_its_handle() {
    on_both(|| async {
        let tg = TaskGroup::new();
        let failing = tg.spawn(async { Err::<(), _>("mine") }).unwrap();
        assert!(failing.await.unwrap_err().is_cancelled());
        let err = tg.join().await.unwrap_err();
        assert_eq!(err.errors().collect::<Vec<_>>(), [&"mine"]);
    });
}

#[test]
fn nested_groups_keep_their_errors_apart() {
    on_both(|| async {
        let outer = TaskGroup::<GroupError<&'static str>>::new();
        let outer_sibling = outer.spawn(after(secs(3600), ()).map_ok()).unwrap();
        outer
            .spawn(async {
                let inner = TaskGroup::new();
                inner.spawn(async { Err::<(), _>("inner-1") }).unwrap();
                inner.spawn(after(secs(3600), ()).map_ok()).unwrap();
                inner.join().await
            })
            .unwrap();
        let err = outer.join().await.unwrap_err();
        // One failure in the outer group: the inner group's error, holding its own.
        assert_eq!(err.len(), 1);
        let inner_err = err.into_failures().into_iter().next().unwrap();
        let inner_err = inner_err.into_error().unwrap();
        assert_eq!(inner_err.errors().collect::<Vec<_>>(), [&"inner-1"]);
        assert!(outer_sibling.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn an_outer_failure_cancels_the_children_of_an_inner_group() {
    on_both(|| async {
        let start = Instant::now();
        let dropped = Counter::new();
        let d = dropped.clone();
        let outer = TaskGroup::<&'static str>::new();
        outer
            .spawn(async move {
                let inner = TaskGroup::<&'static str>::new();
                for _ in 0..3 {
                    let guard = d.on_drop();
                    inner
                        .spawn(async move {
                            let _guard = guard;
                            sleep(secs(3600)).await;
                            Ok(())
                        })
                        .unwrap();
                }
                inner.join().await.map_err(|_| "inner failed")
            })
            .unwrap();
        outer
            .spawn(async {
                sleep(secs(2)).await;
                Err::<(), _>("outer")
            })
            .unwrap();
        let err = outer.join().await.unwrap_err();
        // Only the outer error: the inner group was dropped, not failed.
        assert_eq!(err.errors().collect::<Vec<_>>(), [&"outer"]);
        until("the inner children are dropped", || dropped.get() == 3).await;
        assert_eq!(since(start), secs(2));
    });
}

#[test]
fn local_children_join_and_fail_like_send_ones() {
    on_both_local(|| async {
        let tg = TaskGroup::<()>::new();
        let shared = Rc::new(3);
        let s = shared.clone();
        let ok = tg
            .spawn_local(async move {
                sleep(secs(1)).await;
                Ok(*s * 2)
            })
            .unwrap();
        tg.join().await.unwrap();
        assert_eq!(ok.await.unwrap(), 6);

        let tg = TaskGroup::new();
        let s = shared.clone();
        let cancelled = tg
            .spawn_local(async move {
                sleep(secs(3600)).await;
                Ok::<_, Rc<str>>(*s)
            })
            .unwrap();
        tg.spawn_local(async { Err::<(), _>(Rc::from("local")) })
            .unwrap();
        let err = tg.join().await.unwrap_err();
        assert_eq!(&*err.errors().next().unwrap().clone(), "local");
        assert!(cancelled.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn children_can_be_named() {
    on_both(|| async {
        let tg = TaskGroup::<()>::new();
        let c = tg
            .spawn_with(Builder::new().name("worker-1"), async { Ok(()) })
            .unwrap();
        assert_eq!(c.name(), Some("worker-1"));
        assert!(c.location().file().ends_with("task_group.rs"));
        tg.join().await.unwrap();
    });
}

#[test]
fn spawning_outside_a_loop_panics_and_leaves_the_group_usable() {
    let tg = TaskGroup::<()>::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = tg.spawn(async { Ok(()) });
    }));
    assert!(r.is_err());
    assert_eq!(tg.len(), 0, "the refused child gave its slot back");
    for workers in FLAVOURS {
        let tg = TaskGroup::<()>::new();
        runner(workers).run(async move {
            tg.spawn(async { Ok(()) }).unwrap();
            tg.join().await.unwrap();
        });
    }
}

#[test]
fn a_failure_while_siblings_yield_is_seen_at_once() {
    on_both_with(|workers| async move {
        let polls = Counter::new();
        let tg = TaskGroup::new();
        for _ in 0..3 {
            let p = polls.clone();
            tg.spawn(async move {
                loop {
                    p.bump();
                    yield_now().await;
                }
                #[allow(unreachable_code, reason = "the child's type says it may return Ok")]
                Ok(())
            })
            .unwrap();
        }
        tg.spawn(async {
            yield_now().await;
            Err::<(), _>(())
        })
        .unwrap();
        assert!(tg.join().await.is_err());
        // On one worker the loop's order alone decides: the siblings get a few turns. On two,
        // the OS may preempt the worker running the failing child while the other spins the
        // yielding siblings (a loaded CI machine showed 2 624 polls), so there the promise
        // checked is that join returned (the siblings loop forever unless cancelled) and that
        // they are gone: no poll after it.
        if workers == 1 {
            assert!(
                polls.get() < 100,
                "siblings stopped promptly: {}",
                polls.get()
            );
        }
        let after = polls.get();
        for _ in 0..10 {
            yield_now().await;
        }
        assert_eq!(polls.get(), after, "a sibling ran after join returned");
    });
}

#[test]
fn the_group_cancel_scope_interrupts_the_owner_body_when_a_child_fails() {
    on_both(|| async {
        let start = Instant::now();
        let tg = TaskGroup::new();
        let scope = tg.cancel_scope();
        let body = scope.run(async {
            tg.spawn(async {
                sleep(secs(2)).await;
                Err::<(), _>("child")
            })
            .unwrap();
            sleep(secs(3600)).await;
        });
        assert_eq!(body.await, Err(Cancelled::Requested));
        assert_eq!(since(start), secs(2));
        assert!(scope.cancel_called());
        assert!(tg.join().await.is_err());
    });
}

#[test]
fn the_group_cancel_scope_is_cancelled_by_cancel_and_by_drop_but_not_by_join() {
    on_both(|| async {
        let tg = TaskGroup::<()>::new();
        let scope = tg.cancel_scope();
        tg.cancel();
        assert!(scope.cancel_called());

        let tg = TaskGroup::<()>::new();
        let scope = tg.cancel_scope();
        drop(tg);
        assert!(scope.cancel_called());

        let tg = TaskGroup::<()>::new();
        let scope = tg.cancel_scope();
        tg.spawn(async { Ok(()) }).unwrap();
        tg.join().await.unwrap();
        assert!(!scope.cancel_called());
    });
}

#[test]
fn a_cleanup_panic_in_a_dropped_group_goes_to_the_loop_exception_handler() {
    // The owner is cancelled, so nobody will join the group: the panic of a child's cleanup
    // cannot reach a GroupError and is reported like any task's panic instead of being lost.
    on_both_counting_reports(1, || async {
        let started = Counter::new();
        let s = started.clone();
        let owner = spawn(async move {
            let tg = TaskGroup::<()>::new();
            tg.spawn(async move {
                let _cleanup = PanicOnDrop("cleanup after the owner was cancelled");
                s.bump();
                pending::<Result<(), ()>>().await
            })
            .unwrap();
            tg.join().await
        });
        until("the child started", || started.get() == 1).await;
        owner.cancel();
        assert!(owner.await.unwrap_err().is_cancelled());
        // Let the child be dropped and its task report the panic.
        sleep(secs(1)).await;
    });
}

tulip_executor::task_local! {
    static REQUEST_ID: u32;
}

#[test]
fn children_inherit_the_task_local_values_of_whoever_spawns_them() {
    on_both(|| async {
        REQUEST_ID.set(7);
        let tg = TaskGroup::<()>::new();
        let handle = tg.handle();
        let child = tg
            .spawn(async move {
                let seen = REQUEST_ID.get();
                REQUEST_ID.set(8); // stays in this child
                let grandchild = handle.spawn(async { Ok(REQUEST_ID.get()) }).unwrap();
                Ok((seen, grandchild))
            })
            .unwrap();
        tg.join().await.unwrap();
        let (seen, grandchild) = child.await.unwrap();
        assert_eq!(seen, 7);
        assert_eq!(
            grandchild.await.unwrap(),
            8,
            "copied from the spawning child"
        );
        assert_eq!(REQUEST_ID.get(), 7);
    });
}

#[test]
fn a_panic_collected_by_a_group_that_is_then_dropped_is_reported() {
    // The owner returns early (drops the group) after a child panicked: the panic was
    // collected for a GroupError that nobody will ever see, so it is reported instead.
    on_both_counting_reports(1, || async {
        let tg = TaskGroup::<()>::new();
        tg.spawn(async {
            if true {
                panic!("collected, then orphaned");
            }
            Ok(())
        })
        .unwrap();
        until("the child failed", || tg.is_failed()).await;
        drop(tg);
        sleep(secs(1)).await;
    });
}

/// `Ok`-wrapping for the futures above.
trait MapOk: std::future::Future + Sized {
    fn map_ok<E>(self) -> impl std::future::Future<Output = Result<Self::Output, E>> {
        async move { Ok(self.await) }
    }
}

impl<F: std::future::Future> MapOk for F {}
