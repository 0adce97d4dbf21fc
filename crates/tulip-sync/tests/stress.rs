//! Multi-threaded stress: OS threads using the `*_blocking` methods, and many tasks on a
//! two-thread `async-executor`, with cancellations racing wakeups. Every test runs under a
//! watchdog, so a lost wakeup fails instead of hanging.
// Thousands of threads and tasks: far too slow under Miri, which runs the other tests.
#![cfg(not(miri))]
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{run_multi_threaded, within};
use futures_lite::future;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::{Barrier, Condition, Event, Lock, Mutex, RwLock, Semaphore};

const LIMIT: Duration = Duration::from_secs(60);

/// Records how many holders are inside at once and fails past `max`.
struct Occupancy {
    inside: AtomicUsize,
    max: usize,
}

impl Occupancy {
    fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            inside: AtomicUsize::new(0),
            max,
        })
    }

    fn enter(&self) {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            now <= self.max,
            "{now} holders inside, at most {}",
            self.max
        );
    }

    fn leave(&self) {
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn blocking_semaphore_never_admits_more_than_its_permits() {
    within(LIMIT, || {
        let sem = Arc::new(Semaphore::new(3));
        let occupancy = Occupancy::new(3);
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (sem, occupancy) = (Arc::clone(&sem), Arc::clone(&occupancy));
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        let _permit = sem.acquire_blocking();
                        occupancy.enter();
                        occupancy.leave();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(sem.available(), 3);
    });
}

#[test]
fn blocking_lock_and_async_lock_exclude_each_other() {
    within(LIMIT, || {
        let lock = Arc::new(Lock::new());
        let occupancy = Occupancy::new(1);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (lock, occupancy) = (Arc::clone(&lock), Arc::clone(&occupancy));
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        let _guard = lock.lock_blocking();
                        occupancy.enter();
                        occupancy.leave();
                    }
                })
            })
            .collect();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (lock, occupancy) = (Arc::clone(&lock), Arc::clone(&occupancy));
                async move {
                    for i in 0..250 {
                        let _guard = lock.lock().await;
                        occupancy.enter();
                        if i % 10 == 0 {
                            future::yield_now().await;
                        }
                        occupancy.leave();
                    }
                }
            })
            .collect();
        run_multi_threaded(tasks);
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(!lock.locked());
    });
}

#[test]
fn many_tasks_count_exactly_with_a_mutex() {
    let mutex = within(LIMIT, || {
        let mutex = Arc::new(Mutex::new(0u64));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let mutex = Arc::clone(&mutex);
                async move {
                    for i in 0..500 {
                        let mut guard = mutex.lock_arc().await;
                        let seen = *guard;
                        if i % 50 == 0 {
                            future::yield_now().await;
                        }
                        *guard = seen + 1;
                    }
                }
            })
            .collect();
        run_multi_threaded(tasks);
        mutex
    });
    assert_eq!(*mutex.try_lock().unwrap(), 64 * 500);
}

/// Acquires race with their own cancellation: `or` drops the acquire whenever the
/// `yield_now` branch wins, including right after a release handed it the permit.
#[test]
fn cancelled_acquires_under_contention_conserve_permits() {
    within(LIMIT, || {
        let sem = Arc::new(Semaphore::new(2));
        let occupancy = Occupancy::new(2);
        let granted = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (sem, occupancy, granted) = (
                    Arc::clone(&sem),
                    Arc::clone(&occupancy),
                    Arc::clone(&granted),
                );
                async move {
                    for _ in 0..200 {
                        let attempt = future::or(async { Some(sem.acquire().await) }, async {
                            future::yield_now().await;
                            None
                        })
                        .await;
                        if let Some(_permit) = attempt {
                            granted.fetch_add(1, Ordering::Relaxed);
                            occupancy.enter();
                            future::yield_now().await;
                            occupancy.leave();
                        }
                    }
                }
            })
            .collect();
        run_multi_threaded(tasks);
        assert_eq!(sem.available(), 2, "no permit leaked or duplicated");
        assert!(!sem.locked());
        assert!(granted.load(Ordering::Relaxed) > 0);
    });
}

#[test]
fn cancelled_lock_waits_under_contention_leave_the_lock_free() {
    within(LIMIT, || {
        let mutex = Arc::new(Mutex::new(0u64));
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (mutex, done) = (Arc::clone(&mutex), Arc::clone(&done));
                async move {
                    for _ in 0..200 {
                        let attempt = future::or(async { Some(mutex.lock().await) }, async {
                            future::yield_now().await;
                            None
                        })
                        .await;
                        if let Some(mut guard) = attempt {
                            *guard += 1;
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
            .collect();
        run_multi_threaded(tasks);
        assert_eq!(
            *mutex.try_lock().expect("the lock is free"),
            done.load(Ordering::Relaxed) as u64
        );
    });
}

#[test]
fn condition_producers_and_consumers_lose_no_item() {
    within(LIMIT, || {
        let cond = Arc::new(Condition::new());
        let queue = Arc::new(std::sync::Mutex::new(VecDeque::new()));
        let finished = Arc::new(AtomicBool::new(false));
        let consumed = Arc::new(AtomicUsize::new(0));
        const PRODUCERS: usize = 4;
        const ITEMS: usize = 500;

        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (cond, queue, finished, consumed) = (
                    Arc::clone(&cond),
                    Arc::clone(&queue),
                    Arc::clone(&finished),
                    Arc::clone(&consumed),
                );
                async move {
                    let mut guard = cond.lock().await;
                    loop {
                        guard = cond
                            .wait_for(guard, || {
                                !queue.lock().unwrap().is_empty() || finished.load(Ordering::SeqCst)
                            })
                            .await;
                        let item = queue.lock().unwrap().pop_front();
                        match item {
                            Some(_) => {
                                consumed.fetch_add(1, Ordering::SeqCst);
                            }
                            None => return,
                        }
                    }
                }
            })
            .collect();
        let consumer_threads = std::thread::spawn(move || run_multi_threaded(consumers));

        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (cond, queue) = (Arc::clone(&cond), Arc::clone(&queue));
                std::thread::spawn(move || {
                    for i in 0..ITEMS {
                        let _guard = cond.lock_blocking();
                        queue.lock().unwrap().push_back(p * ITEMS + i);
                        cond.notify(1);
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        // Let the consumers drain the queue, then tell them to stop.
        loop {
            let _guard = cond.lock_blocking();
            if queue.lock().unwrap().is_empty() {
                finished.store(true, Ordering::SeqCst);
                cond.notify_all();
                break;
            }
            cond.notify_all();
        }
        consumer_threads.join().unwrap();
        assert_eq!(consumed.load(Ordering::SeqCst), PRODUCERS * ITEMS);
    });
}

#[test]
fn rwlock_readers_never_see_a_torn_write() {
    within(LIMIT, || {
        let lock = Arc::new(RwLock::new((0u64, 0u64)));
        let writers = (0..4).map(|_| {
            let lock = Arc::clone(&lock);
            Box::pin(async move {
                for i in 0..300 {
                    let mut guard = lock.write_arc().await;
                    guard.0 += 1;
                    if i % 30 == 0 {
                        future::yield_now().await;
                    }
                    guard.1 += 1;
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        });
        let readers = (0..12).map(|_| {
            let lock = Arc::clone(&lock);
            Box::pin(async move {
                for i in 0..300 {
                    let guard = lock.read_arc().await;
                    assert_eq!(guard.0, guard.1, "a reader saw a half-done write");
                    if i % 30 == 0 {
                        future::yield_now().await;
                    }
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        });
        run_multi_threaded(writers.chain(readers).collect());
        assert_eq!(*lock.try_read().unwrap(), (1_200, 1_200));
    });
}

#[test]
fn barrier_holds_many_tasks_for_many_rounds() {
    within(LIMIT, || {
        const TASKS: usize = 8;
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                async move {
                    let mut indices = Vec::new();
                    for _ in 0..100 {
                        indices.push(barrier.wait().await.unwrap());
                    }
                    indices
                }
            })
            .collect();
        let results = run_multi_threaded(tasks);
        for round in 0..100 {
            let mut indices: Vec<usize> = results.iter().map(|r| r[round]).collect();
            indices.sort_unstable();
            assert_eq!(indices, (0..TASKS).collect::<Vec<_>>());
        }
    });
}

#[test]
fn events_ping_pong_between_threads() {
    within(LIMIT, || {
        let ping = Arc::new(Event::new());
        let pong = Arc::new(Event::new());
        let other = {
            let (ping, pong) = (Arc::clone(&ping), Arc::clone(&pong));
            std::thread::spawn(move || {
                for _ in 0..1_000 {
                    ping.wait_blocking();
                    ping.clear();
                    pong.set();
                }
            })
        };
        future::block_on(async {
            for _ in 0..1_000 {
                ping.set();
                pong.wait().await;
                pong.clear();
            }
        });
        other.join().unwrap();
    });
}
