//! asyncio's `Future` as `tulip::future::{Promise, Completion}`: results, errors, cancel,
//! many awaiters, done-callbacks (order, removal, context, loop thread), `wrap_future`.

use std::sync::{Arc, Mutex};

use tulip::future::{wrap_future, FutureError, Promise};
use tulip::rt::EventLoop;
use tulip_tests::{single_threaded, until, Log, Reports};

tulip::task_local! {
    static REQUEST: &'static str;
}

// Case from CPython's Lib/test/test_asyncio/test_futures.py (test_initial_state, test_result).
#[test]
fn result_before_done_is_invalid_state_then_the_value() {
    tulip::run(async {
        let (promise, fut) = EventLoop::current().create_future::<u32>();
        assert!(!fut.done() && !fut.cancelled());
        match fut.result() {
            Err(FutureError::InvalidState(e)) => assert!(!e.already_done()),
            other => panic!("expected InvalidState, got {other:?}"),
        }
        assert!(matches!(fut.error(), Err(FutureError::InvalidState(_))));
        promise.set_result(42).unwrap();
        assert!(fut.done() && !fut.cancelled() && promise.done());
        assert_eq!(fut.result().unwrap(), 42);
        assert!(fut.error().unwrap().is_none());
        assert_eq!(fut.await.unwrap(), 42);
    });
}

// Case from CPython's test_futures.py (test_result, test_exception: set twice).
#[test]
fn setting_twice_is_invalid_state() {
    tulip::run(async {
        let (promise, fut) = Promise::<&str>::new();
        promise.set_result("first").unwrap();
        let err = promise.set_result("second").unwrap_err();
        assert!(err.already_done());
        assert_eq!(err.to_string(), "invalid state: the future is already done");
        assert!(promise.set_error("late").is_err());
        assert!(!promise.cancel());
        assert!(!fut.cancel());
        assert_eq!(fut.result().unwrap(), "first");
    });
}

// Case from CPython's test_futures.py (test_exception).
#[test]
fn set_error_is_seen_by_result_error_and_await() {
    tulip::run(async {
        let (promise, fut) = Promise::<u8>::new();
        promise
            .set_error(std::io::Error::other("disk on fire"))
            .unwrap();
        let e = fut.error().unwrap().expect("an error");
        assert_eq!(e.to_string(), "disk on fire");
        match fut.result() {
            Err(FutureError::Failed(e)) => assert_eq!(e.to_string(), "disk on fire"),
            other => panic!("expected Failed, got {other:?}"),
        }
        assert!(matches!(fut.await, Err(FutureError::Failed(_))));
    });
}

// Case from CPython's test_futures.py (test_cancel).
#[test]
fn cancel_makes_it_done_and_cancelled_for_every_awaiter() {
    tulip::run(async {
        let (promise, fut) = Promise::<u8>::new();
        let waiter = {
            let fut = fut.clone();
            tulip::spawn(fut)
        };
        tulip::yield_now().await;
        assert!(fut.cancel());
        assert!(!fut.cancel());
        assert!(fut.cancelled() && fut.done() && promise.cancelled());
        assert!(fut.result().unwrap_err().is_cancelled());
        assert!(fut.error().unwrap_err().is_cancelled());
        assert!(promise.set_result(1).is_err());
        assert!(waiter.await.unwrap().unwrap_err().is_cancelled());
    });
}

#[test]
fn dropping_the_promise_cancels_the_future() {
    tulip::run(async {
        let (promise, fut) = Promise::<u8>::new();
        let waiter = {
            let fut = fut.clone();
            tulip::spawn(fut)
        };
        tulip::yield_now().await;
        drop(promise);
        assert!(waiter.await.unwrap().unwrap_err().is_cancelled());
        assert!(fut.cancelled());
    });
}

#[test]
fn many_awaiters_all_get_the_value() {
    tulip::run(async {
        let (promise, fut) = Promise::<String>::new();
        let waiters: Vec<_> = (0..50)
            .map(|_| {
                let fut = fut.clone();
                tulip::spawn(async move { fut.await.unwrap() })
            })
            .collect();
        tulip::yield_now().await;
        promise.set_result("shared".to_string()).unwrap();
        for w in waiters {
            assert_eq!(w.await.unwrap(), "shared");
        }
    });
}

// Case from CPython's test_futures.py (test_callbacks_invoked_on_set_result,
// test_callbacks_invoked_on_set_exception, test_callbacks_remove_third_callback).
#[test]
fn done_callbacks_run_in_order_through_call_soon_and_can_be_removed() {
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let (promise, fut) = Promise::<&str>::new();
        for tag in ["42", "17", "100"] {
            let l = l.clone();
            fut.add_done_callback(move |f| l.push(format!("{tag}:{}", f.result().unwrap())));
        }
        let third = {
            let l = l.clone();
            fut.add_done_callback(move |_| l.push("removed"))
        };
        assert!(fut.remove_done_callback(third));
        assert!(!fut.remove_done_callback(third));
        promise.set_result("foo").unwrap();
        // Scheduled through call_soon: nothing has run yet; a callback queued now runs after.
        assert!(l.entries().is_empty());
        let l2 = l.clone();
        EventLoop::current().call_soon(move || l2.push("later call_soon"));
        tulip::yield_now().await;
    });
    assert_eq!(
        log.entries(),
        ["42:foo", "17:foo", "100:foo", "later call_soon"]
    );
}

// Case from CPython's test_futures.py (test_callbacks_invoked_on_set_exception: a callback added
// to a done future is scheduled at once).
#[test]
fn callback_added_after_done_is_scheduled_at_once() {
    tulip::run(async {
        let (promise, fut) = Promise::<u8>::new();
        promise.set_error("boom").unwrap();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        fut.add_done_callback(move |f| {
            *s.lock().unwrap() = Some(f.error().unwrap().unwrap().to_string());
        });
        until(|| seen.lock().unwrap().is_some()).await;
        assert_eq!(seen.lock().unwrap().as_deref(), Some("boom"));
    });
}

// Case from CPython's test_futures.py (test_callbacks_copy_context / add_done_callback's
// `context=`): a callback runs in the context current when it was added.
#[test]
fn done_callback_runs_in_the_context_captured_when_added() {
    tulip::run(async {
        let (promise, fut) = Promise::<()>::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for who in ["alice", "bob"] {
            let s = seen.clone();
            let fut = fut.clone();
            REQUEST
                .scope(who, async move {
                    fut.add_done_callback(move |_| s.lock().unwrap().push(REQUEST.get()));
                })
                .await;
        }
        // Completed from a context of its own: the callbacks keep theirs.
        REQUEST
            .scope("completer", async { promise.set_result(()).unwrap() })
            .await;
        until(|| seen.lock().unwrap().len() == 2).await;
        assert_eq!(*seen.lock().unwrap(), ["alice", "bob"]);
    });
}

#[test]
fn completed_from_another_thread_callbacks_run_on_the_loop_thread() {
    let loop_thread = std::thread::current().id();
    let seen = Arc::new(Mutex::new(None));
    let (s, s2) = (seen.clone(), seen.clone());
    single_threaded().run(async move {
        let (promise, fut) = EventLoop::current().create_future::<u64>();
        fut.add_done_callback(move |f| {
            *s.lock().unwrap() = Some((std::thread::current().id(), f.result().unwrap()));
        });
        let worker = std::thread::spawn(move || promise.set_result(7).unwrap());
        assert_eq!(fut.clone().await.unwrap(), 7);
        worker.join().unwrap();
        until(|| s2.lock().unwrap().is_some()).await;
    });
    assert_eq!(*seen.lock().unwrap(), Some((loop_thread, 7)));
}

#[test]
fn a_panicking_done_callback_is_reported_and_the_next_one_runs() {
    let reports = Reports::new();
    let log = Log::new();
    let l = log.clone();
    reports.builder().build().run(async move {
        let (promise, fut) = Promise::<()>::new();
        fut.add_done_callback(|_| panic!("callback bug"));
        let l2 = l.clone();
        fut.add_done_callback(move |_| l2.push("second ran"));
        promise.set_result(()).unwrap();
        until(|| !l.entries().is_empty()).await;
    });
    assert_eq!(log.entries(), ["second ran"]);
    assert!(reports.all().iter().any(|r| r.contains("callback bug")));
}

// Case from CPython's test_futures.py (test_wrap_future: a concurrent future completed by an
// executor thread; test_wrap_future_cancel: cancelling the wrapper cancels the source).
#[test]
fn wrap_future_of_a_value_from_another_thread() {
    tulip::run(async {
        let (tx, rx) = tulip::channel::oneshot::<u32>();
        let worker = std::thread::spawn(move || {
            let _ = tx.send(6 * 7);
        });
        let wrapped = wrap_future(async move { rx.await.unwrap() });
        assert_eq!(wrapped.await.unwrap(), 42);
        worker.join().unwrap();
    });
}

#[test]
fn cancelling_a_wrapped_future_cancels_its_task() {
    tulip::run(async {
        let dropped = Arc::new(Mutex::new(false));
        let guard = DropFlag(dropped.clone());
        let wrapped = wrap_future(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        tulip::yield_now().await;
        assert!(wrapped.cancel());
        until(|| *dropped.lock().unwrap()).await;
        assert!(wrapped.await.unwrap_err().is_cancelled());
    });
}

struct DropFlag(Arc<Mutex<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = true;
    }
}

#[test]
fn removing_a_callback_that_owns_the_promise_cancels_without_deadlock() {
    tulip::run(async {
        let (promise, fut) = Promise::<u8>::new();
        let id = fut.add_done_callback(move |_| drop(promise));
        // Dropping the removed callback drops the promise, which completes this very future.
        assert!(fut.remove_done_callback(id));
        assert!(fut.cancelled());
    });
}

// The PyMOTW-3 future programs are checked against their recorded output by tests/pymotw.rs.
