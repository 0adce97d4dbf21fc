//! Multi-producer multi-consumer stress: plain threads, many tasks on a multi-threaded
//! executor, and both mixed, with every item counted. Each test runs under a deadline, so a
//! lost wake-up fails instead of hanging.
// Thousands of threads and tasks: far too slow under Miri, which runs the other tests.
#![cfg(not(miri))]

mod common;

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::Duration,
};

use async_executor::Executor;
use common::within;
use futures_lite::future;
use tulip_queue::{channel, LifoQueue, PriorityQueue, Queue};

const PRODUCERS: u64 = 4;
const CONSUMERS: usize = 4;
const PER_PRODUCER: u64 = 20_000;

/// Item `i` of producer `p`.
fn item(p: u64, i: u64) -> u64 {
    p * PER_PRODUCER + i
}

fn expected_sum() -> u64 {
    (0..PRODUCERS * PER_PRODUCER).sum()
}

/// Runs `f` on an executor driven by `threads` threads until `f` returns.
fn on_executor<T: Send + 'static>(
    threads: usize,
    f: impl FnOnce(Arc<Executor<'static>>) -> T + Send + 'static,
) -> T {
    let ex = Arc::new(Executor::new());
    let (stop_tx, stop_rx) = channel::watch(false);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (ex, mut stop) = (Arc::clone(&ex), stop_rx.clone());
            thread::spawn(move || {
                future::block_on(ex.run(async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                }));
            })
        })
        .collect();
    let out = f(Arc::clone(&ex));
    stop_tx.send_replace(true);
    for worker in workers {
        worker.join().unwrap();
    }
    out
}

macro_rules! queue_thread_stress {
    ($name:ident, $Q:ident, $check_fifo:expr) => {
        queue_thread_stress!($name, $Q, $check_fifo, 8);
    };
    ($name:ident, $Q:ident, $check_fifo:expr, $maxsize:expr) => {
        #[test]
        fn $name() {
            within(Duration::from_secs(120), || {
                let q = $Q::new($maxsize);
                let consumers: Vec<_> = (0..CONSUMERS)
                    .map(|_| {
                        let q = q.clone();
                        thread::spawn(move || {
                            let mut got = Vec::new();
                            while let Ok(n) = q.get_blocking() {
                                got.push(n);
                                q.task_done().unwrap();
                            }
                            got
                        })
                    })
                    .collect();
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let q = q.clone();
                        thread::spawn(move || {
                            for i in 0..PER_PRODUCER {
                                q.put_blocking(item(p, i)).unwrap();
                            }
                        })
                    })
                    .collect();
                producers.into_iter().for_each(|t| t.join().unwrap());
                q.join_blocking();
                assert_eq!(q.unfinished_tasks(), 0);
                q.shutdown(false);
                let mut total = 0;
                let mut sum = 0;
                for consumer in consumers {
                    let got = consumer.join().unwrap();
                    if $check_fifo {
                        // One consumer sees each producer's items in the order they were put.
                        let mut last = vec![None; PRODUCERS as usize];
                        for &n in &got {
                            let p = (n / PER_PRODUCER) as usize;
                            assert!(last[p] < Some(n), "FIFO order broken");
                            last[p] = Some(n);
                        }
                    }
                    total += got.len() as u64;
                    sum += got.iter().sum::<u64>();
                }
                assert_eq!(total, PRODUCERS * PER_PRODUCER);
                assert_eq!(sum, expected_sum());
            });
        }
    };
}

queue_thread_stress!(
    fifo_queue_with_threads_delivers_every_item_in_order,
    Queue,
    true
);
// A bound far beyond the queue's ring: when the producers get ahead, items wait in the
// overflow behind the ring and move into it as the consumers catch up.
queue_thread_stress!(
    fifo_queue_with_a_huge_bound_and_threads_delivers_every_item_in_order,
    Queue,
    true,
    usize::MAX
);
queue_thread_stress!(
    lifo_queue_with_threads_delivers_every_item,
    LifoQueue,
    false
);
queue_thread_stress!(
    priority_queue_with_threads_delivers_every_item,
    PriorityQueue,
    false
);

#[test]
fn queue_with_many_tasks_delivers_every_item_and_join_waits_for_all() {
    within(Duration::from_secs(120), || {
        on_executor(2, |ex| {
            const TASKS: u64 = 64;
            const EACH: u64 = 500;
            let q = Queue::new(4);
            let sum = Arc::new(AtomicU64::new(0));
            let count = Arc::new(AtomicUsize::new(0));
            let consumers: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (q, sum, count) = (q.clone(), Arc::clone(&sum), Arc::clone(&count));
                    ex.spawn(async move {
                        while let Ok(item) = q.get_item().await {
                            sum.fetch_add(*item, Ordering::Relaxed);
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            let producers: Vec<_> = (0..TASKS)
                .map(|p| {
                    let q = q.clone();
                    ex.spawn(async move {
                        for i in 0..EACH {
                            q.put(p * EACH + i).await.unwrap();
                        }
                    })
                })
                .collect();
            future::block_on(async {
                for producer in producers {
                    producer.await;
                }
                q.join().await;
            });
            assert_eq!(count.load(Ordering::Relaxed) as u64, TASKS * EACH);
            assert_eq!(sum.load(Ordering::Relaxed), (0..TASKS * EACH).sum::<u64>());
            q.shutdown(false);
            future::block_on(async {
                for consumer in consumers {
                    consumer.await;
                }
            });
        });
    });
}

#[test]
fn threads_and_tasks_share_one_queue() {
    within(Duration::from_secs(120), || {
        on_executor(2, |ex| {
            let q = Queue::new(2);
            let consumers: Vec<_> = (0..8)
                .map(|_| {
                    let q = q.clone();
                    ex.spawn(async move {
                        let mut n = 0u64;
                        while q.get().await.is_ok() {
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let q = q.clone();
                    thread::spawn(move || {
                        for i in 0..PER_PRODUCER / 4 {
                            q.put_blocking(item(p, i)).unwrap();
                        }
                    })
                })
                .collect();
            producers.into_iter().for_each(|t| t.join().unwrap());
            q.shutdown(false);
            let total: u64 = future::block_on(async {
                let mut total = 0;
                for consumer in consumers {
                    total += consumer.await;
                }
                total
            });
            assert_eq!(total, PRODUCERS * PER_PRODUCER / 4);
        });
    });
}

#[test]
fn cancelled_gets_racing_with_puts_lose_no_item() {
    within(Duration::from_secs(120), || {
        on_executor(2, |ex| {
            const ITEMS: u64 = 20_000;
            let q = Queue::new(16);
            let received = Arc::new(AtomicU64::new(0));
            let consumers: Vec<_> = (0..8)
                .map(|_| {
                    let (q, received) = (q.clone(), Arc::clone(&received));
                    ex.spawn(async move {
                        loop {
                            // Race every get against a yield: the get is often cancelled,
                            // sometimes after it was woken for an item.
                            let got = future::or(async { Some(q.get().await) }, async {
                                future::yield_now().await;
                                None
                            })
                            .await;
                            match got {
                                Some(Ok(_)) => {
                                    received.fetch_add(1, Ordering::Relaxed);
                                }
                                Some(Err(_)) => break,
                                None => {}
                            }
                        }
                    })
                })
                .collect();
            let producer = ex.spawn({
                let q = q.clone();
                async move {
                    for i in 0..ITEMS {
                        q.put(i).await.unwrap();
                    }
                }
            });
            future::block_on(producer);
            q.shutdown(false);
            future::block_on(async {
                for consumer in consumers {
                    consumer.await;
                }
            });
            assert_eq!(received.load(Ordering::Relaxed) + q.qsize() as u64, ITEMS);
            assert_eq!(q.qsize(), 0);
        });
    });
}

#[test]
fn bounded_channel_with_threads_delivers_every_message() {
    within(Duration::from_secs(120), || {
        let (tx, rx) = channel::bounded(8);
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let (mut n, mut sum) = (0u64, 0u64);
                    while let Ok(m) = rx.recv_blocking() {
                        n += 1;
                        sum += m;
                    }
                    (n, sum)
                })
            })
            .collect();
        drop(rx);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..PER_PRODUCER {
                        tx.send_blocking(item(p, i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx); // the channel closes when the producers' senders are gone
        producers.into_iter().for_each(|t| t.join().unwrap());
        let (n, sum) = consumers
            .into_iter()
            .map(|t| t.join().unwrap())
            .fold((0, 0), |(a, b), (n, s)| (a + n, b + s));
        assert_eq!(n, PRODUCERS * PER_PRODUCER);
        assert_eq!(sum, expected_sum());
    });
}

#[test]
fn channels_with_many_tasks_deliver_every_message() {
    within(Duration::from_secs(120), || {
        on_executor(2, |ex| {
            for (tx, rx) in [channel::bounded(4), channel::unbounded()] {
                const TASKS: u64 = 32;
                const EACH: u64 = 500;
                let consumers: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let rx = rx.clone();
                        ex.spawn(async move {
                            let mut sum = 0u64;
                            while let Ok(m) = rx.recv().await {
                                sum += m;
                            }
                            sum
                        })
                    })
                    .collect();
                drop(rx);
                let producers: Vec<_> = (0..TASKS)
                    .map(|p| {
                        let tx = tx.clone();
                        ex.spawn(async move {
                            for i in 0..EACH {
                                tx.send(p * EACH + i).await.unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let sum: u64 = future::block_on(async {
                    for producer in producers {
                        producer.await;
                    }
                    let mut sum = 0;
                    for consumer in consumers {
                        sum += consumer.await;
                    }
                    sum
                });
                assert_eq!(sum, (0..TASKS * EACH).sum::<u64>());
            }
        });
    });
}

#[test]
fn broadcast_receivers_account_for_every_message_as_received_or_lagged() {
    within(Duration::from_secs(120), || {
        const SENDERS: u64 = 2;
        const EACH: u64 = 20_000;
        let (tx, rx) = channel::broadcast(16);
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.clone();
                thread::spawn(move || {
                    let (mut received, mut lagged) = (0u64, 0u64);
                    loop {
                        match rx.recv_blocking() {
                            Ok(_) => received += 1,
                            Err(channel::broadcast::RecvError::Lagged(n)) => lagged += n,
                            Err(channel::broadcast::RecvError::Closed) => break,
                        }
                    }
                    received + lagged
                })
            })
            .collect();
        drop(rx);
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..EACH {
                        tx.send(i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        senders.into_iter().for_each(|t| t.join().unwrap());
        for receiver in receivers {
            assert_eq!(receiver.join().unwrap(), SENDERS * EACH);
        }
    });
}

#[test]
fn watch_receivers_all_see_the_final_value() {
    within(Duration::from_secs(120), || {
        const LAST: u64 = 50_000;
        let (tx, rx) = channel::watch(0u64);
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.clone();
                thread::spawn(move || {
                    let mut last = 0;
                    while rx.changed_blocking().is_ok() {
                        let now = *rx.borrow_and_update();
                        assert!(now >= last);
                        last = now;
                    }
                    last
                })
            })
            .collect();
        drop(rx);
        for n in 1..=LAST {
            tx.send(n).unwrap();
        }
        drop(tx);
        for receiver in receivers {
            assert_eq!(receiver.join().unwrap(), LAST);
        }
    });
}

#[test]
fn oneshots_between_tasks_deliver_every_value() {
    within(Duration::from_secs(120), || {
        on_executor(2, |ex| {
            let tasks: Vec<_> = (0..10_000u64)
                .map(|n| {
                    let (tx, rx) = channel::oneshot();
                    let ex2 = Arc::clone(&ex);
                    ex.spawn(async move {
                        ex2.spawn(async move { tx.send(n).unwrap() }).detach();
                        rx.await.unwrap()
                    })
                })
                .collect();
            let sum: u64 = future::block_on(async {
                let mut sum = 0;
                for task in tasks {
                    sum += task.await;
                }
                sum
            });
            assert_eq!(sum, (0..10_000).sum::<u64>());
        });
    });
}
