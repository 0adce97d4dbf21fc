//! The executor on its own (no reactor): spawning, waking across threads, cancellation, panics
//! and closing. These tests use no I/O so they also run under Miri (`cargo xtask miri`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulip_executor::{spawn, spawn_local, yield_now, Executor, ExecutorConfig, ThreadDriver};
use tulip_test_support::Counter;

fn executor() -> Executor {
    Executor::new(Arc::new(ThreadDriver::new()))
}

/// Scale for Miri, which is slow.
const N: usize = if cfg!(miri) { 20 } else { 2000 };

/// A future that is pending until `fire` is called, from any thread.
#[derive(Clone, Default)]
struct Trigger(Arc<Mutex<(bool, Option<Waker>)>>);

impl Trigger {
    fn fire(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl Future for Trigger {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.0.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn spawn_and_await_many() {
    let ex = executor();
    let sum = ex.block_on(async {
        let tasks: Vec<_> = (0..N).map(|i| spawn(async move { i })).collect();
        let mut s = 0;
        for t in tasks {
            s += t.await.unwrap();
        }
        s
    });
    assert_eq!(sum, N * (N - 1) / 2);
    assert_eq!(ex.live_tasks(), 0);
}

#[test]
fn wakes_from_another_thread_reach_a_parked_loop() {
    let ex = executor();
    let trig = Trigger::default();
    let t2 = trig.clone();
    let out = ex.block_on(async move {
        let task = spawn(async move {
            trig.await;
            7
        });
        let th = std::thread::spawn(move || t2.fire());
        let v = task.await.unwrap();
        th.join().unwrap();
        v
    });
    assert_eq!(out, 7);
}

#[test]
fn local_tasks_share_rc_state() {
    let ex = executor();
    let cell = Rc::new(Cell::new(0));
    let c = cell.clone();
    ex.block_on(async move {
        let ts: Vec<_> = (0..10)
            .map(|_| {
                let c = c.clone();
                spawn_local(async move {
                    yield_now().await;
                    c.set(c.get() + 1);
                })
            })
            .collect();
        for t in ts {
            t.await.unwrap();
        }
    });
    assert_eq!(cell.get(), 10);
}

#[test]
fn cancel_drops_pending_future_once() {
    let ex = executor();
    let drops = Counter::new();
    let d = drops.clone();
    ex.block_on(async move {
        let guard = d.on_drop();
        let t = spawn(async move {
            let _g = guard;
            std::future::pending::<()>().await
        });
        yield_now().await;
        assert!(t.cancel());
        assert!(t.await.unwrap_err().is_cancelled());
    });
    assert_eq!(drops.get(), 1);
}

#[test]
fn cancel_from_another_thread() {
    let ex = executor();
    ex.block_on(async {
        let t = spawn(std::future::pending::<()>());
        yield_now().await;
        let t = std::thread::spawn(move || {
            assert!(t.cancel());
            t
        })
        .join()
        .unwrap();
        assert!(t.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn panics_are_contained_and_reported() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
    config.handler = Arc::new(move |rep| r.lock().unwrap().push(rep.to_string()));
    let ex = Executor::with_config(config).unwrap();
    ex.block_on(async {
        let t = spawn(async { panic!("inner") });
        assert!(t.await.unwrap_err().is_panic());
    });
    assert_eq!(reports.lock().unwrap().len(), 1);
}

#[test]
fn close_drops_every_unfinished_future_on_this_thread() {
    let ex = executor();
    let drops = Counter::new();
    let d = drops.clone();
    let handles = ex.block_on(async move {
        let mut hs = Vec::new();
        for _ in 0..N {
            let g = d.on_drop();
            hs.push(spawn(async move {
                let _g = g;
                std::future::pending::<()>().await
            }));
        }
        // Half of them get polled once; the other half never run.
        for _ in 0..N / 2 {
            yield_now().await;
        }
        hs
    });
    ex.close();
    assert_eq!(drops.get(), N);
    assert_eq!(ex.live_tasks(), 0);
    for h in handles {
        assert!(tulip_executor::Task::wait_blocking(h)
            .unwrap_err()
            .is_cancelled());
    }
}

#[test]
fn remote_spawns_run_and_after_close_are_cancelled() {
    let ex = executor();
    let spawner = ex.spawner();
    let s2 = spawner.clone();
    let v = ex.block_on(async move {
        let t = std::thread::spawn(move || s2.spawn(async { 5 }))
            .join()
            .unwrap();
        t.await.unwrap()
    });
    assert_eq!(v, 5);
    ex.close();
    let late = spawner.spawn(async { 1 });
    assert!(tulip_executor::Task::wait_blocking(late)
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn callbacks_interleave_fifo_with_tasks() {
    let ex = executor();
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    let (a, b) = (log.clone(), log.clone());
    ex.call_soon(Box::new(move || a.borrow_mut().push("cb")));
    ex.block_on(async move {
        b.borrow_mut().push("main");
    });
    assert_eq!(*log.borrow(), ["cb", "main"]);
}

/// A task woken on the thread of another single-threaded loop, while that loop runs, is
/// queued for its own loop: the other loop never polls it.
#[test]
fn a_wake_on_another_loops_thread_reaches_the_tasks_own_loop() {
    let (a, b) = (executor(), executor());
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let (s, p) = (stash.clone(), polls.clone());
    let task = b.spawner().spawn(std::future::poll_fn(move |cx| {
        if p.fetch_add(1, SeqCst) == 0 {
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    b.block_on(async {
        while stash.lock().unwrap().is_none() {
            yield_now().await;
        }
    });
    a.block_on(async {
        stash.lock().unwrap().take().expect("stashed").wake();
        for _ in 0..10 {
            yield_now().await;
        }
    });
    assert_eq!(
        polls.load(SeqCst),
        1,
        "the waking loop polled another loop's task"
    );
    b.block_on(task).unwrap();
    assert_eq!(polls.load(SeqCst), 2);
}

fn multi(workers: usize) -> Executor {
    let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
    config.workers = workers;
    Executor::with_config(config).unwrap()
}

#[test]
fn multi_thread_spawns_steals_and_completes_everything() {
    let ex = multi(2);
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let sum = ex.block_on(async move {
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let c = c.clone();
                spawn(async move {
                    yield_now().await;
                    c.fetch_add(1, SeqCst);
                    i
                })
            })
            .collect();
        let mut s = 0;
        for t in tasks {
            s += t.await.unwrap();
        }
        s
    });
    assert_eq!(sum, N * (N - 1) / 2);
    assert_eq!(count.load(SeqCst), N);
}

#[test]
fn multi_thread_local_tasks_stay_home_and_close_drops_them_there() {
    let ex = multi(2);
    let drops = Counter::new();
    let d = drops.clone();
    ex.block_on(async move {
        let home = std::thread::current().id();
        let rc = Rc::new(Cell::new(0));
        let rc2 = rc.clone();
        spawn_local(async move {
            for _ in 0..5 {
                yield_now().await;
                assert_eq!(std::thread::current().id(), home);
                rc2.set(rc2.get() + 1);
            }
        })
        .await
        .unwrap();
        assert_eq!(rc.get(), 5);
        let g = d.on_drop();
        spawn_local(async move {
            let _g = g;
            std::future::pending::<()>().await
        })
        .detach();
        yield_now().await;
    });
    ex.close();
    assert_eq!(drops.get(), 1);
}

#[test]
fn multi_thread_cross_thread_wake_and_cancel() {
    let ex = multi(2);
    let trig = Trigger::default();
    let t2 = trig.clone();
    ex.block_on(async move {
        let waiting = spawn(async move {
            trig.await;
            1
        });
        let stuck = spawn(std::future::pending::<()>());
        yield_now().await;
        let th = std::thread::spawn(move || {
            t2.fire();
            assert!(stuck.cancel());
            stuck
        });
        assert_eq!(waiting.await.unwrap(), 1);
        let stuck = th.join().unwrap();
        assert!(stuck.await.unwrap_err().is_cancelled());
    });
}

/// Runs `f` on `dropped` once when dropped, panicking afterwards if `panic` is set.
struct DropProbe {
    dropped: Arc<AtomicUsize>,
    panic: bool,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
        if self.panic {
            panic!("panic in drop");
        }
    }
}

/// Polls `F`; holds a probe that is dropped with the future (not when `F` completes).
struct Holding<F> {
    future: Pin<Box<F>>,
    _probe: DropProbe,
}

impl<F: Future> Future for Holding<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.future.as_mut().poll(cx)
    }
}

fn holding<F: Future>(future: F, probe: DropProbe) -> Holding<F> {
    Holding {
        future: Box::pin(future),
        _probe: probe,
    }
}

/// Every way a task ends drops its future exactly once, with and without task hooks (the
/// poll has a path of its own for each), and the termination hook runs once per task, after
/// the future is gone.
#[test]
fn every_ending_drops_the_future_once_with_and_without_hooks() {
    for hooked in [false, true] {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r = reports.clone();
        let dropped = Arc::new(AtomicUsize::new(0));
        let at_terminate = Arc::new(Mutex::new(Vec::new()));
        let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
        config.handler = Arc::new(move |rep| r.lock().unwrap().push(rep.to_string()));
        if hooked {
            let (d, t) = (dropped.clone(), at_terminate.clone());
            config.hooks = tulip_executor::TaskHooks::new()
                .on_terminate(move |_| t.lock().unwrap().push(d.load(SeqCst)));
        }
        let ex = Executor::with_config(config).unwrap();
        let hold = |panic| DropProbe {
            dropped: dropped.clone(),
            panic,
        };
        ex.block_on(async {
            // Completes at its first poll.
            assert_eq!(spawn(holding(async { 6 }, hold(false))).await.unwrap(), 6);
            // Completes after waiting once.
            let t = spawn(holding(
                async {
                    yield_now().await;
                    7
                },
                hold(false),
            ));
            assert_eq!(t.await.unwrap(), 7);
            // Completes, and then its future panics as it is dropped: reported, value kept.
            let t = spawn(holding(
                async {
                    yield_now().await;
                    8
                },
                hold(true),
            ));
            assert_eq!(t.await.unwrap(), 8);
            // Panics in its poll.
            let t = spawn(holding(
                async {
                    yield_now().await;
                    panic!("in poll");
                },
                hold(false),
            ));
            assert!(t.await.unwrap_err().is_panic());
            // Cancelled before its first poll.
            let t = spawn(holding(async { 9 }, hold(false)));
            assert!(t.cancel());
            assert!(t.await.unwrap_err().is_cancelled());
        });
        drop(ex);
        assert_eq!(dropped.load(SeqCst), 5, "hooks: {hooked}");
        let reports = reports.lock().unwrap();
        assert_eq!(
            reports.len(),
            2,
            "the drop panic and the poll panic: {reports:?}"
        );
        if hooked {
            // One termination per task (the main future is not a task), each after the drop
            // of that task's future: the counts seen never go back and end at 5.
            let seen = at_terminate.lock().unwrap();
            assert_eq!(seen.len(), 5, "{seen:?}");
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
            assert_eq!(seen.last(), Some(&5));
        }
    }
}
