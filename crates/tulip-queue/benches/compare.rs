//! A quick comparison with async-channel, without a benchmark framework:
//! `cargo bench -p tulip-queue --bench compare`.
//!
//! Each workload runs on one thread under a `LocalExecutor` (asyncio's model), repeated a few
//! times; the median is printed in nanoseconds per operation. The workspace's benchmark suite
//! (`benches/`) is where the full comparison with tokio lives; this file only keeps the
//! crate's own costs in sight, including what a generous bound costs (the `2^20` rows): a
//! queue holding no more than its ring, and a burst that goes beyond it.

use std::{hint::black_box, time::Instant};

use async_executor::LocalExecutor;
use futures_lite::future;
use tulip_queue::{channel, LifoQueue, PriorityQueue, Queue};

const REPEAT: usize = 7;

/// Runs `f` (which performs `ops` operations) `REPEAT` times; prints the median ns/op.
fn bench(name: &str, ops: u64, mut f: impl FnMut()) {
    f(); // warm-up
    let mut times: Vec<f64> = (0..REPEAT)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("{name:<48} {:>8.1} ns/op", times[REPEAT / 2]);
}

/// Spawns `tasks` on a fresh local executor and runs them to completion.
fn run_local(tasks: impl FnOnce(&LocalExecutor<'_>) -> Vec<async_executor::Task<()>>) {
    let ex = LocalExecutor::new();
    let tasks = tasks(&ex);
    future::block_on(ex.run(async {
        for task in tasks {
            task.await;
        }
    }));
}

fn main() {
    const N: u64 = 1_000_000;

    println!("-- uncontended try operations (put then get, one thread)");
    bench("tulip Queue put_nowait+get_nowait", N, || {
        let q = Queue::new(1024);
        for i in 0..N {
            q.put_nowait(i).unwrap();
            black_box(q.get_nowait().unwrap());
        }
    });
    bench("tulip LifoQueue put_nowait+get_nowait", N, || {
        let q = LifoQueue::new(1024);
        for i in 0..N {
            q.put_nowait(i).unwrap();
            black_box(q.get_nowait().unwrap());
        }
    });
    bench("tulip PriorityQueue put_nowait+get_nowait", N, || {
        let q = PriorityQueue::new(1024);
        for i in 0..N {
            q.put_nowait(i).unwrap();
            black_box(q.get_nowait().unwrap());
        }
    });
    bench("tulip channel::bounded try_send+try_recv", N, || {
        let (tx, rx) = channel::bounded(1024);
        for i in 0..N {
            tx.try_send(i).unwrap();
            black_box(rx.try_recv().unwrap());
        }
    });
    bench("async-channel bounded try_send+try_recv", N, || {
        let (tx, rx) = async_channel::bounded(1024);
        for i in 0..N {
            tx.try_send(i).unwrap();
            black_box(rx.try_recv().unwrap());
        }
    });

    println!("-- a bound far beyond the ring (2^20): within the ring, then a burst beyond it");
    bench("tulip Queue(2^20) put_nowait+get_nowait", N, || {
        let q = Queue::new(1 << 20);
        for i in 0..N {
            q.put_nowait(i).unwrap();
            black_box(q.get_nowait().unwrap());
        }
    });
    bench("tulip channel::bounded(2^20) try_send+try_recv", N, || {
        let (tx, rx) = channel::bounded(1 << 20);
        for i in 0..N {
            tx.try_send(i).unwrap();
            black_box(rx.try_recv().unwrap());
        }
    });
    const BURST: u64 = 100_000;
    bench(
        "tulip Queue(2^20) 100k put_nowait, then 100k get_nowait",
        BURST,
        || {
            let q = Queue::new(1 << 20);
            for i in 0..BURST {
                q.put_nowait(i).unwrap();
            }
            for _ in 0..BURST {
                black_box(q.get_nowait().unwrap());
            }
        },
    );
    bench(
        "tulip Queue(0) 100k put_nowait, then 100k get_nowait",
        BURST,
        || {
            let q = Queue::new(0);
            for i in 0..BURST {
                q.put_nowait(i).unwrap();
            }
            for _ in 0..BURST {
                black_box(q.get_nowait().unwrap());
            }
        },
    );

    println!("-- ping-pong between two tasks, one round trip per op");
    const ROUNDS: u64 = 200_000;
    bench("tulip channel::bounded(1)", ROUNDS, || {
        run_local(|ex| {
            let (ping_tx, ping_rx) = channel::bounded(1);
            let (pong_tx, pong_rx) = channel::bounded(1);
            vec![
                ex.spawn(async move {
                    for i in 0..ROUNDS {
                        ping_tx.send(i).await.unwrap();
                        pong_rx.recv().await.unwrap();
                    }
                }),
                ex.spawn(async move {
                    while let Ok(i) = ping_rx.recv().await {
                        pong_tx.send(i).await.unwrap();
                    }
                }),
            ]
        });
    });
    bench("async-channel bounded(1)", ROUNDS, || {
        run_local(|ex| {
            let (ping_tx, ping_rx) = async_channel::bounded(1);
            let (pong_tx, pong_rx) = async_channel::bounded(1);
            vec![
                ex.spawn(async move {
                    for i in 0..ROUNDS {
                        ping_tx.send(i).await.unwrap();
                        pong_rx.recv().await.unwrap();
                    }
                }),
                ex.spawn(async move {
                    while let Ok(i) = ping_rx.recv().await {
                        pong_tx.send(i).await.unwrap();
                    }
                }),
            ]
        });
    });
    bench("tulip Queue(1) pair", ROUNDS, || {
        run_local(|ex| {
            let (ping, pong) = (Queue::new(1), Queue::new(1));
            let (ping2, pong2) = (ping.clone(), pong.clone());
            vec![
                ex.spawn(async move {
                    for i in 0..ROUNDS {
                        ping.put(i).await.unwrap();
                        pong.get().await.unwrap();
                    }
                    ping.shutdown(false);
                }),
                ex.spawn(async move {
                    while let Ok(i) = ping2.get().await {
                        pong2.put(i).await.unwrap();
                    }
                }),
            ]
        });
    });
    bench("tulip oneshot reply per round trip", ROUNDS, || {
        run_local(|ex| {
            let (req_tx, req_rx) = channel::bounded::<channel::oneshot::Sender<u64>>(1);
            vec![
                ex.spawn(async move {
                    for i in 0..ROUNDS {
                        let (tx, rx) = channel::oneshot();
                        req_tx.send(tx).await.unwrap();
                        assert_eq!(rx.await, Ok(i));
                    }
                }),
                ex.spawn(async move {
                    let mut i = 0;
                    while let Ok(reply) = req_rx.recv().await {
                        reply.send(i).unwrap();
                        i += 1;
                    }
                }),
            ]
        });
    });
    bench("tulip bounded(1) reply per round trip", ROUNDS, || {
        run_local(|ex| {
            let (req_tx, req_rx) = channel::bounded::<channel::Sender<u64>>(1);
            vec![
                ex.spawn(async move {
                    for i in 0..ROUNDS {
                        let (tx, rx) = channel::bounded(1);
                        req_tx.send(tx).await.unwrap();
                        assert_eq!(rx.recv().await, Ok(i));
                    }
                }),
                ex.spawn(async move {
                    let mut i = 0;
                    while let Ok(reply) = req_rx.recv().await {
                        reply.send(i).await.unwrap();
                        i += 1;
                    }
                }),
            ]
        });
    });

    println!("-- mpsc: 4 producer tasks into bounded(1024), one consumer");
    const EACH: u64 = 250_000;
    bench("tulip channel::bounded(1024)", 4 * EACH, || {
        run_local(|ex| {
            let (tx, rx) = channel::bounded(1024);
            let mut tasks: Vec<_> = (0..4)
                .map(|_| {
                    let tx = tx.clone();
                    ex.spawn(async move {
                        for i in 0..EACH {
                            tx.send(i).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            tasks.push(ex.spawn(async move { while rx.recv().await.is_ok() {} }));
            tasks
        });
    });
    bench("async-channel bounded(1024)", 4 * EACH, || {
        run_local(|ex| {
            let (tx, rx) = async_channel::bounded(1024);
            let mut tasks: Vec<_> = (0..4)
                .map(|_| {
                    let tx = tx.clone();
                    ex.spawn(async move {
                        for i in 0..EACH {
                            tx.send(i).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            tasks.push(ex.spawn(async move { while rx.recv().await.is_ok() {} }));
            tasks
        });
    });
    bench("tulip Queue(1024)", 4 * EACH, || {
        run_local(|ex| {
            let q = Queue::new(1024);
            let producers: Vec<_> = (0..4)
                .map(|_| {
                    let q = q.clone();
                    ex.spawn(async move {
                        for i in 0..EACH {
                            q.put(i).await.unwrap();
                        }
                    })
                })
                .collect();
            let consumer = ex.spawn({
                let q = q.clone();
                async move {
                    for _ in 0..4 * EACH {
                        q.get().await.unwrap();
                    }
                }
            });
            let mut tasks = producers;
            tasks.push(consumer);
            tasks
        });
    });
}
