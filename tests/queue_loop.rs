//! tulip::queue and tulip::channel on tulip's own loop, both flavours.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip::channel;
use tulip::queue::{GetError, LifoQueue, PriorityQueue, PutError, Queue};
use tulip::stream::StreamExt;
use tulip_tests::single_threaded;

fn flavours() -> [tulip::Runner; 2] {
    [
        tulip::Runner::new(),
        tulip::Runner::builder().workers(2).build(),
    ]
}

#[test]
fn producer_consumer_with_task_done_and_join() {
    for runner in flavours() {
        runner.run(async {
            let q = Queue::new(4);
            let processed = Arc::new(AtomicUsize::new(0));
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let (q, processed) = (q.clone(), processed.clone());
                    tulip::spawn(async move {
                        while let Ok(item) = q.get().await {
                            tulip::sleep(Duration::from_micros(50)).await;
                            processed.fetch_add(item, SeqCst);
                            q.task_done().unwrap();
                        }
                    })
                })
                .collect();
            for i in 1..=100 {
                q.put(i).await.unwrap();
            }
            q.join().await;
            assert_eq!(processed.load(SeqCst), 5050);
            q.shutdown(false);
            for w in workers {
                w.await.unwrap();
            }
            assert!(matches!(q.put_nowait(1), Err(PutError::ShutDown(1))));
            assert!(matches!(q.get_nowait(), Err(GetError::ShutDown)));
        });
    }
}

#[test]
fn priority_and_lifo_orders() {
    tulip::run(async {
        let pq = PriorityQueue::new(0);
        for x in [5, 1, 4, 2, 3] {
            pq.put(x).await.unwrap();
        }
        let mut out = Vec::new();
        while let Ok(x) = pq.get_nowait() {
            out.push(x);
        }
        assert_eq!(out, [1, 2, 3, 4, 5]);
        let lq = LifoQueue::new(0);
        for x in 1..=3 {
            lq.put_nowait(x).unwrap();
        }
        assert_eq!(lq.get().await.unwrap(), 3);
    });
}

#[test]
fn a_getter_cancelled_after_a_put_loses_no_item() {
    single_threaded().run(async {
        let q: Queue<u32> = Queue::new(0);
        let q2 = q.clone();
        let getter = tulip::spawn(async move { q2.get().await });
        tulip::yield_now().await;
        q.put_nowait(7).unwrap();
        // Cancelled after it was woken but before it ran.
        getter.cancel();
        assert!(getter.await.unwrap_err().is_cancelled());
        assert_eq!(q.get_nowait().unwrap(), 7);
    });
}

#[test]
fn mpmc_channel_counts_match_across_workers() {
    for runner in flavours() {
        runner.run(async {
            let (tx, rx) = channel::bounded::<u64>(16);
            let producers: Vec<_> = (0..4)
                .map(|p| {
                    let tx = tx.clone();
                    tulip::spawn(async move {
                        for i in 0..2500u64 {
                            tx.send(p * 10_000 + i).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    tulip::spawn(async move {
                        let mut n = 0u64;
                        let mut sum = 0u64;
                        while let Ok(v) = rx.recv().await {
                            n += 1;
                            sum += v;
                        }
                        (n, sum)
                    })
                })
                .collect();
            drop(rx);
            for p in producers {
                p.await.unwrap();
            }
            let (mut n, mut sum) = (0, 0);
            for c in consumers {
                let (a, b) = c.await.unwrap();
                n += a;
                sum += b;
            }
            let expect: u64 = (0..4u64)
                .map(|p| (0..2500u64).map(|i| p * 10_000 + i).sum::<u64>())
                .sum();
            assert_eq!((n, sum), (10_000, expect));
        });
    }
}

#[test]
fn oneshot_broadcast_and_watch_on_the_loop() {
    for runner in flavours() {
        runner.run(async {
            let (tx, rx) = channel::oneshot::<&str>();
            tulip::spawn(async move {
                tulip::sleep(Duration::from_millis(1)).await;
                let _ = tx.send("reply");
            })
            .detach();
            assert_eq!(rx.await.unwrap(), "reply");

            let (btx, mut brx) = channel::broadcast::<u32>(2);
            for i in 0..5 {
                let _ = btx.send(i);
            }
            // Lagged: only the last two are kept.
            assert!(brx.recv().await.is_err());
            assert_eq!(brx.recv().await.unwrap(), 3);

            let (wtx, mut wrx) = channel::watch(0u32);
            let watcher = tulip::spawn(async move {
                wrx.changed().await.unwrap();
                *wrx.borrow_and_update()
            });
            tulip::yield_now().await;
            wtx.send(42).unwrap();
            assert_eq!(watcher.await.unwrap(), 42);
        });
    }
}

#[test]
fn receivers_are_streams() {
    tulip::run(async {
        let (tx, rx) = channel::unbounded();
        for i in 0..5 {
            tx.try_send(i).unwrap();
        }
        drop(tx);
        let all: Vec<i32> = rx.collect().await;
        assert_eq!(all, [0, 1, 2, 3, 4]);
    });
}
