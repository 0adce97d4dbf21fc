//! timeout, timeout_at, move_on_after, move_on_at: exact times, asyncio's `Timeout` methods,
//! nesting, and what a dropped timeout leaves behind; on both flavours of the loop.

mod common;

use std::future::pending;
use std::time::Duration;

use common::{after, on_both, secs, since, Counter};
use tulip_executor::yield_now;
use tulip_reactor::{sleep, Instant};
use tulip_task::{move_on_after, move_on_at, timeout, timeout_at};
use tulip_time::Elapsed;

#[test]
fn a_timeout_elapses_at_exactly_its_duration() {
    on_both(|| async {
        let start = Instant::now();
        assert_eq!(
            timeout(secs(3600), pending::<()>()).await,
            Err(Elapsed::new())
        );
        assert_eq!(since(start), secs(3600));
    });
}

#[test]
fn a_fast_future_wins() {
    on_both(|| async {
        let start = Instant::now();
        assert_eq!(timeout(secs(5), after(secs(2), 'x')).await, Ok('x'));
        assert_eq!(since(start), secs(2));
    });
}

#[test]
fn work_due_at_the_deadline_loses() {
    // The deadline is checked before the work is polled again: a timer due at the same
    // instant as the deadline does not sneak a result in (asyncio: the task is cancelled at
    // its await before it resumes).
    on_both(|| async {
        assert!(timeout(secs(2), after(secs(2), ())).await.is_err());
    });
}

#[test]
fn a_zero_timeout_cancels_at_the_first_suspension() {
    on_both(|| async {
        let start = Instant::now();
        let steps = Counter::new();
        let s = steps.clone();
        let r = timeout(Duration::ZERO, async move {
            s.bump();
            yield_now().await;
            s.bump();
        })
        .await;
        assert!(r.is_err());
        assert_eq!(steps.get(), 1);
        assert_eq!(since(start), secs(0));
    });
}

#[test]
fn a_zero_timeout_lets_work_that_never_suspends_finish() {
    on_both(|| async {
        assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
    });
}

#[test]
fn duration_max_never_times_out() {
    on_both(|| async {
        let t = timeout(Duration::MAX, after(secs(10 * 365 * 86_400), "a decade"));
        assert_eq!(t.deadline(), None);
        assert_eq!(t.await, Ok("a decade"));
    });
}

#[test]
fn a_timeout_counts_from_its_first_poll() {
    on_both(|| async {
        let t = timeout(secs(2), pending::<()>());
        assert_eq!(t.deadline(), None, "not known before the first poll");
        sleep(secs(30)).await;
        let polled = Instant::now();
        assert!(t.await.is_err());
        assert_eq!(since(polled), secs(2));
    });
}

#[test]
fn timeout_at_a_deadline_and_in_the_past() {
    on_both(|| async {
        let start = Instant::now();
        let t = timeout_at(start + secs(7), pending::<()>());
        assert_eq!(t.deadline(), Some(start + secs(7)));
        assert!(t.await.is_err());
        assert_eq!(since(start), secs(7));
        // A deadline in the past: the work runs to its first suspension only.
        assert!(timeout_at(start, sleep(secs(1))).await.is_err());
        assert_eq!(since(start), secs(7));
    });
}

#[test]
fn reschedule_when_and_expired_like_asyncio_timeout() {
    on_both(|| async {
        let start = Instant::now();
        let t = timeout(secs(1), after(secs(10), "slow"));
        t.reschedule(Some(start + secs(20)));
        assert_eq!(t.deadline(), Some(start + secs(20)));
        assert!(!t.expired());
        let scope = t.scope().clone();
        assert_eq!(t.await, Ok("slow"));
        assert!(!scope.expired());

        let t = timeout(secs(100), pending::<()>());
        t.reset(start + secs(15));
        let scope = t.scope().clone();
        assert!(t.await.is_err());
        assert_eq!(since(start), secs(15));
        assert!(scope.expired());
    });
}

#[test]
fn nested_timeouts_with_equal_durations_report_once_from_the_outside() {
    on_both(|| async {
        let start = Instant::now();
        // The inner Result would be Ok(Err(Elapsed)) if the inner timeout had claimed it.
        let r: Result<Result<(), Elapsed>, Elapsed> =
            timeout(secs(5), timeout(secs(5), pending::<()>())).await;
        assert_eq!(r, Err(Elapsed::new()));
        assert_eq!(since(start), secs(5));
    });
}

#[test]
fn a_shorter_inner_timeout_reports_itself() {
    on_both(|| async {
        let r = timeout(secs(5), timeout(secs(1), pending::<()>())).await;
        assert_eq!(r, Ok(Err(Elapsed::new())));
    });
}

#[test]
fn a_shorter_outer_timeout_reports_itself() {
    on_both(|| async {
        let r = timeout(secs(1), timeout(secs(5), pending::<()>())).await;
        assert_eq!(r, Err(Elapsed::new()));
    });
}

#[test]
fn dropping_a_timeout_drops_the_future_and_its_timer() {
    on_both(|| async {
        let dropped = Counter::new();
        let guard = dropped.on_drop();
        let mut t = Box::pin(timeout(secs(5), async move {
            let _guard = guard;
            pending::<()>().await
        }));
        assert!(futures_lite::future::poll_once(t.as_mut()).await.is_none());
        drop(t);
        assert_eq!(dropped.get(), 1);
        // No timer is left behind: the loop is idle and nothing fires at 5 s.
        let start = Instant::now();
        sleep(secs(10)).await;
        assert_eq!(since(start), secs(10));
    });
}

#[test]
fn move_on_gives_none_when_time_runs_out() {
    on_both(|| async {
        let start = Instant::now();
        assert_eq!(move_on_after(secs(3), pending::<u8>()).await, None);
        assert_eq!(since(start), secs(3));
        assert_eq!(move_on_after(secs(3), async { 4 }).await, Some(4));
        let deadline = Instant::now() + secs(2);
        let m = move_on_at(deadline, pending::<u8>());
        assert_eq!(m.scope().deadline(), Some(deadline));
        assert_eq!(m.await, None);
        assert_eq!(since(start), secs(5));
    });
}

#[test]
fn a_timeout_inside_a_spawned_task_on_any_worker() {
    on_both(|| async {
        let start = Instant::now();
        let tasks: Vec<_> = (1..=6u64)
            .map(|i| {
                tulip_executor::spawn(async move {
                    let r = timeout(secs(i), pending::<()>()).await;
                    (r.is_err(), Instant::now())
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let (elapsed, at) = t.await.unwrap();
            assert!(elapsed);
            assert_eq!(at - start, secs(i as u64 + 1));
        }
    });
}
