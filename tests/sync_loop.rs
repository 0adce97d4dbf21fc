//! tulip::sync on tulip's own loop: asyncio orderings on the single-threaded loop, exclusion and
//! counts under the multi-threaded one.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip::sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, Mutex, RwLock, Semaphore};
use tulip_tests::{single_threaded, Log};

fn flavours() -> [tulip::Runner; 2] {
    [
        tulip::Runner::new(),
        tulip::Runner::builder().workers(2).build(),
    ]
}

#[test]
fn semaphore_one_three_tasks_acquire_twice_in_fifo_order() {
    // asyncio's documented example: c1, c2, c3, c1, c2, c3.
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let sem = Arc::new(Semaphore::new(1));
        let tasks: Vec<_> = (1..=3)
            .map(|i| {
                let (sem, l) = (sem.clone(), l.clone());
                tulip::spawn(async move {
                    for _ in 0..2 {
                        let _p = sem.acquire().await;
                        l.push(format!("c{i}"));
                        tulip::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(log.entries(), ["c1", "c2", "c3", "c1", "c2", "c3"]);
}

#[test]
fn lock_serves_waiters_in_fifo_order_on_the_loop() {
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let lock = Arc::new(Lock::new());
        let guard = lock.lock().await;
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let (lock, l) = (lock.clone(), l.clone());
                tulip::spawn(async move {
                    let _g = lock.lock().await;
                    l.push(i.to_string());
                })
            })
            .collect();
        tulip::yield_now().await;
        drop(guard);
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(log.entries(), ["0", "1", "2", "3", "4"]);
}

#[test]
fn mutex_excludes_across_workers() {
    for runner in flavours() {
        let total = runner.run(async {
            let m = Arc::new(Mutex::new(0u64));
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let m = m.clone();
                    tulip::spawn(async move {
                        for _ in 0..500 {
                            let mut g = m.lock().await;
                            let v = *g;
                            tulip::yield_now().await;
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let v = *m.lock().await;
            v
        });
        assert_eq!(total, 16_000);
    }
}

#[test]
fn rwlock_and_semaphore_bound_concurrency_on_both_flavours() {
    for runner in flavours() {
        runner.run(async {
            let sem = Arc::new(Semaphore::new(3));
            let rw = Arc::new(RwLock::new(0usize));
            let inside = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..40)
                .map(|i| {
                    let (sem, rw, inside, peak) =
                        (sem.clone(), rw.clone(), inside.clone(), peak.clone());
                    tulip::spawn(async move {
                        let _p = sem.acquire().await;
                        let now = inside.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        if i % 4 == 0 {
                            *rw.write().await += 1;
                        } else {
                            let _r = rw.read().await;
                        }
                        tulip::yield_now().await;
                        inside.fetch_sub(1, SeqCst);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert!(peak.load(SeqCst) <= 3);
            assert_eq!(*rw.read().await, 10);
        });
    }
}

#[test]
fn event_condition_barrier_on_the_loop() {
    for runner in flavours() {
        runner.run(async {
            let ev = Arc::new(Event::new());
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    let ev = ev.clone();
                    tulip::spawn(async move { ev.wait().await })
                })
                .collect();
            tulip::sleep(Duration::from_millis(1)).await;
            ev.set();
            for w in waiters {
                w.await.unwrap();
            }

            let cond = Arc::new(Condition::new());
            let ready = Arc::new(AtomicUsize::new(0));
            let c2 = cond.clone();
            let r2 = ready.clone();
            let consumer = tulip::spawn(async move {
                let g = c2.lock().await;
                let _g = c2.wait_for(g, || r2.load(SeqCst) == 3).await;
            });
            for _ in 0..3 {
                tulip::yield_now().await;
                let _g = cond.lock().await;
                ready.fetch_add(1, SeqCst);
                cond.notify_all();
            }
            consumer.await.unwrap();

            let barrier = Arc::new(Barrier::new(3));
            let parts: Vec<_> = (0..3)
                .map(|_| {
                    let b = barrier.clone();
                    tulip::spawn(async move { b.wait().await.unwrap() })
                })
                .collect();
            let mut idx = Vec::new();
            for p in parts {
                idx.push(p.await.unwrap());
            }
            idx.sort_unstable();
            assert_eq!(idx, [0, 1, 2]);
        });
    }
}

#[test]
fn bounded_semaphore_release_past_the_bound_is_an_error() {
    tulip::run(async {
        let s = BoundedSemaphore::new(1);
        assert!(s.release().is_err());
    });
}

#[test]
fn a_cancelled_lock_waiter_loses_its_place_without_blocking_others() {
    single_threaded().run(async {
        let lock = Arc::new(Lock::new());
        let g = lock.lock().await;
        let l2 = lock.clone();
        let doomed = tulip::spawn(async move {
            let _g = l2.lock().await;
        });
        let l3 = lock.clone();
        let next = tulip::spawn(async move {
            let _g = l3.lock().await;
            "got it"
        });
        tulip::yield_now().await;
        doomed.cancel();
        assert!(doomed.await.unwrap_err().is_cancelled());
        drop(g);
        assert_eq!(next.await.unwrap(), "got it");
    });
}
