//! Scenarios ported from CPython's `Lib/test/test_asyncio/test_timeouts.py`.
//!
//! Provenance: <https://github.com/python/cpython/blob/3.13/Lib/test/test_asyncio/test_timeouts.py>,
//! Copyright (c) 2001-2024 Python Software Foundation, licensed under the PSF License
//! Agreement. Only the scenarios are ported (what each test sets up and checks), not the code;
//! each test names the upstream test it follows. Upstream checks timings loosely on a real
//! clock ("less than 2 seconds"); on virtual time they are exact here.
//!
//! Where Rust differs: `async with timeout(d) as cm:` is `timeout(d, body)` (or
//! `CancelScope::with_timeout(d).run(body)` when the body needs the handle), `TimeoutError` is
//! `Elapsed`, and `cm.when()` is `deadline()`. Entering a `Timeout` twice is impossible (it is
//! consumed when awaited), so the `test_timeout_double_enter` family has no counterpart; a
//! `CancelScope` may run several futures by design.

mod common;

use std::future::pending;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ms, on_both, secs, since, until, Counter};
use tulip_executor::{spawn, yield_now, JoinError};
use tulip_reactor::{sleep, Instant};
use tulip_task::{timeout, timeout_at, CancelScope, Cancelled, TaskGroup};

/// test_timeout_basic: a 10 ms timeout around a 10 s sleep raises; `expired()` is true.
#[test]
fn timeout_basic() {
    on_both(|| async {
        let start = Instant::now();
        let cm = CancelScope::with_timeout(ms(10));
        assert_eq!(cm.run(sleep(secs(10))).await, Err(Cancelled::Elapsed));
        assert!(cm.expired());
        assert_eq!(since(start), ms(10));
    });
}

/// test_timeout_at_basic: the same with an absolute deadline, which `when()` reports.
#[test]
fn timeout_at_basic() {
    on_both(|| async {
        let deadline = Instant::now() + ms(10);
        let t = timeout_at(deadline, sleep(secs(10)));
        assert_eq!(t.deadline(), Some(deadline));
        let cm = t.scope().clone();
        assert!(t.await.is_err());
        assert!(cm.expired());
        assert_eq!(Instant::now(), deadline);
    });
}

/// test_nested_timeouts: two equal 10 ms timeouts; the inner body is cancelled, the outer
/// one raises, both report `expired()`.
#[test]
fn nested_timeouts() {
    on_both(|| async {
        let cancelled = Counter::new();
        let guard = cancelled.on_drop();
        let cm1 = CancelScope::with_timeout(ms(10));
        let cm2 = CancelScope::with_timeout(ms(10));
        let inner = cm2.clone();
        let r = cm1
            .run(async move {
                inner
                    .run(async move {
                        let _guard = guard;
                        sleep(secs(10)).await;
                    })
                    .await
            })
            .await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        assert_eq!(cancelled.get(), 1);
        assert!(cm1.expired() && cm2.expired());
        assert!(cm1.cancelled_caught() && !cm2.cancelled_caught());
    });
}

/// test_waiter_cancelled: the body is cancelled (its `except CancelledError` runs; here, its
/// `Drop`) and the timeout raises.
#[test]
fn waiter_cancelled() {
    on_both(|| async {
        let cancelled = Counter::new();
        let guard = cancelled.on_drop();
        let r = timeout(ms(10), async move {
            let _guard = guard;
            sleep(secs(10)).await;
        })
        .await;
        assert!(r.is_err());
        assert_eq!(cancelled.get(), 1);
    });
}

/// test_timeout_not_called: a 10 s timeout around a 10 ms sleep: no error, not expired.
#[test]
fn timeout_not_called() {
    on_both(|| async {
        let start = Instant::now();
        let cm = CancelScope::with_timeout(secs(10));
        assert_eq!(cm.run(sleep(ms(10))).await, Ok(()));
        assert!(!cm.expired());
        assert_eq!(since(start), ms(10));
    });
}

/// test_timeout_disabled / test_timeout_at_disabled: `timeout(None)`: no deadline.
#[test]
fn timeout_disabled() {
    on_both(|| async {
        let start = Instant::now();
        let cm = CancelScope::new();
        assert_eq!(cm.run(sleep(ms(10))).await, Ok(()));
        assert!(!cm.expired());
        assert_eq!(cm.deadline(), None);
        assert_eq!(since(start), ms(10));
        let t = timeout(Duration::MAX, sleep(ms(10)));
        assert_eq!(t.await, Ok(()));
    });
}

/// test_timeout_zero: `timeout(0)` around a 10 s sleep raises at once; `t0 <= when <= t1`.
#[test]
fn timeout_zero() {
    on_both(|| async {
        let t0 = Instant::now();
        let cm = CancelScope::with_timeout(Duration::ZERO);
        assert_eq!(cm.run(sleep(secs(10))).await, Err(Cancelled::Elapsed));
        let t1 = Instant::now();
        assert!(cm.expired());
        assert_eq!(t1, t0);
        let when = cm.deadline().unwrap();
        assert!(t0 <= when && when <= t1);
    });
}

/// test_timeout_zero_sleep_zero: `timeout(0)` around `sleep(0)` raises too.
#[test]
fn timeout_zero_sleep_zero() {
    on_both(|| async {
        assert!(timeout(Duration::ZERO, sleep(Duration::ZERO))
            .await
            .is_err());
        assert!(timeout(Duration::ZERO, yield_now()).await.is_err());
    });
}

/// test_timeout_in_the_past_sleep_zero: a deadline 11 s in the past around `sleep(0)`.
#[test]
fn timeout_in_the_past_sleep_zero() {
    on_both(|| async {
        sleep(secs(11)).await;
        let past = Instant::now() - secs(11);
        let t = timeout_at(past, sleep(Duration::ZERO));
        let cm = t.scope().clone();
        assert!(t.await.is_err());
        assert!(cm.expired());
        assert_eq!(cm.deadline(), Some(past));
    });
}

/// test_foreign_exception_passed: an error raised in the body passes through the timeout
/// untouched (here: a body's `Err` and a body's panic).
#[test]
fn foreign_exception_passed() {
    on_both(|| async {
        let r = timeout(secs(10), async { Err::<(), _>("KeyError") }).await;
        assert_eq!(r, Ok(Err("KeyError")));
        let panicked = spawn(timeout(secs(10), async {
            if true {
                panic!("KeyError");
            }
        }))
        .await;
        assert_eq!(
            panicked.unwrap_err().panic_message().as_deref(),
            Some("KeyError")
        );
    });
}

/// test_foreign_cancel_doesnt_timeout_if_not_expired: the task in a timeout is cancelled
/// from outside before the deadline: it ends cancelled, and the timeout is not expired.
#[test]
fn foreign_cancel_doesnt_timeout_if_not_expired() {
    on_both(|| async {
        let cm = CancelScope::with_timeout(secs(10));
        let scope = cm.clone();
        let started = Counter::new();
        let s = started.clone();
        let task = spawn(async move {
            scope
                .run(async move {
                    s.bump();
                    sleep(secs(10)).await;
                })
                .await
        });
        until("the task started", || started.get() == 1).await;
        task.cancel();
        assert!(matches!(task.await, Err(JoinError::Cancelled)));
        assert!(!cm.expired() && !cm.cancelled_caught());
    });
}

/// test_outer_task_is_not_cancelled: after its timeout expired, the task goes on normally.
#[test]
fn outer_task_is_not_cancelled() {
    on_both(|| async {
        let task = spawn(async {
            let r = timeout(ms(1), sleep(secs(10))).await;
            assert!(r.is_err());
            sleep(ms(10)).await;
            "ok"
        });
        assert_eq!(task.await.unwrap(), "ok");
    });
}

/// test_nested_timeouts_concurrent: the outer 2 ms timeout expires while the body is busy and
/// the inner 100 ms one has not: the outer one raises.
#[test]
fn nested_timeouts_concurrent() {
    on_both(|| async {
        let start = Instant::now();
        let inner = CancelScope::with_timeout(ms(100));
        let i = inner.clone();
        let r = timeout(ms(2), async move {
            i.run(async {
                // "Pretend we crunch some numbers": move the clock as a busy loop would.
                sleep(ms(10)).await;
                sleep(secs(1)).await;
            })
            .await
        })
        .await;
        assert!(r.is_err());
        assert_eq!(since(start), ms(2));
        assert!(!inner.cancelled_caught());
    });
}

/// test_nested_timeouts_loop_busy: the inner 10 ms timeout expires first and raises; the
/// outer 100 ms one raises later.
#[test]
fn nested_timeouts_loop_busy() {
    on_both(|| async {
        let start = Instant::now();
        let outer = CancelScope::with_timeout(ms(100));
        let inner = CancelScope::with_timeout(ms(10));
        let i = inner.clone();
        let r = outer
            .run(async move {
                let r = i
                    .run(async {
                        sleep(ms(10)).await;
                        sleep(secs(1)).await;
                    })
                    .await;
                assert_eq!(r, Err(Cancelled::Elapsed));
                assert_eq!(since(start), ms(10));
                sleep(ms(100)).await;
                sleep(secs(1)).await;
            })
            .await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        assert_eq!(since(start), ms(100));
        assert!(inner.cancelled_caught() && outer.cancelled_caught());
    });
}

/// test_reschedule: from outside, move the deadline, read it back, remove it; then cancel the
/// task: it ends cancelled and the timeout never expired.
#[test]
fn reschedule() {
    on_both(|| async {
        let deadline1 = Instant::now() + secs(10);
        let deadline2 = deadline1 + secs(20);
        let entered: Arc<Mutex<Option<CancelScope>>> = Arc::default();
        let e = entered.clone();
        let task = spawn(async move {
            let cm = CancelScope::with_deadline(deadline1);
            *e.lock().unwrap() = Some(cm.clone());
            cm.run(sleep(secs(50))).await
        });
        until("the task entered the timeout", || {
            entered.lock().unwrap().is_some()
        })
        .await;
        let cm = entered.lock().unwrap().take().unwrap();
        assert_eq!(cm.deadline(), Some(deadline1));
        cm.reschedule(Some(deadline2));
        assert_eq!(cm.deadline(), Some(deadline2));
        cm.reschedule(None);
        assert_eq!(cm.deadline(), None);
        task.cancel();
        assert!(matches!(task.await, Err(JoinError::Cancelled)));
        assert!(!cm.expired());
    });
}

/// test_timeout_taskgroup: a timeout around a task group cancels the group's children and
/// raises TimeoutError, not an ExceptionGroup.
#[test]
fn timeout_taskgroup() {
    on_both(|| async {
        let start = Instant::now();
        let cancelled = Counter::new();
        let guard = cancelled.on_drop();
        let r = timeout(ms(10), async move {
            let tg = TaskGroup::<()>::new();
            tg.spawn(async move {
                let _guard = guard;
                sleep(secs(2)).await;
                Ok(())
            })
            .unwrap();
            tg.join().await
        })
        .await;
        assert!(r.is_err());
        until("the child is cancelled", || cancelled.get() == 1).await;
        assert_eq!(since(start), ms(10));
    });
}

/// test_timeout_finished: after the timeout exited, rescheduling changes only what `when()`
/// reports (asyncio raises `RuntimeError`; a scope handle may outlive its work here).
#[test]
fn timeout_finished() {
    on_both(|| async {
        let cm = CancelScope::with_timeout(secs(10));
        assert_eq!(cm.run(async { 1 }).await, Ok(1));
        let later = Instant::now() + secs(1);
        cm.reschedule(Some(later));
        assert_eq!(cm.deadline(), Some(later));
        sleep(secs(2)).await;
        assert!(
            !cm.expired(),
            "no work was running when the new deadline passed"
        );
    });
}

/// test_timeout_expired (3.12's `expired()` after the timeout fired): every flag is set.
#[test]
fn timeout_expired_flags() {
    on_both(|| async {
        let cm = CancelScope::with_timeout(ms(10));
        let r = cm.run(pending::<()>()).await;
        assert_eq!(r, Err(Cancelled::Elapsed));
        assert!(cm.expired() && cm.cancel_called() && cm.cancelled_caught());
    });
}
