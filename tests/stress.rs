//! Stress: a million tasks, a million timers registered and dropped.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn one_million_spawned_tasks_all_complete() {
    const N: usize = 1_000_000;
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let sum = tulip::run(async move {
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let c = c.clone();
                tulip::spawn(async move {
                    c.fetch_add(1, SeqCst);
                    i as u64
                })
            })
            .collect();
        let mut sum = 0u64;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    assert_eq!(count.load(SeqCst), N);
    assert_eq!(sum, (N as u64 - 1) * N as u64 / 2);
}

#[test]
fn one_million_timers_registered_and_dropped_keep_memory_flat() {
    tulip::run(async {
        let lp = tulip::EventLoop::current();
        let reactor = lp.reactor().clone();
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        for i in 0..1_000_000u64 {
            let mut s = Box::pin(tulip::sleep(Duration::from_millis(1 + i % 10_000)));
            assert!(s.as_mut().poll_fn_once(&mut cx).is_pending());
            drop(s);
            if i % 100_000 == 0 {
                assert!(
                    reactor.timer_capacity() <= 1,
                    "slab grew: {}",
                    reactor.timer_capacity()
                );
            }
        }
        assert_eq!(reactor.timer_count(), 0);
        assert!(reactor.timer_capacity() <= 1);
    });
}

trait PollOnce {
    fn poll_fn_once(self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()>;
}

impl PollOnce for std::pin::Pin<&mut tulip::time::Sleep> {
    fn poll_fn_once(self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::future::Future::poll(self, cx)
    }
}

#[test]
fn many_tasks_ping_pong_through_timers() {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async {
            let tasks: Vec<_> = (0..10_000u64)
                .map(|i| {
                    tulip::spawn(async move {
                        for j in 0..10 {
                            tulip::sleep(Duration::from_millis((i * 7 + j) % 50)).await;
                        }
                        i
                    })
                })
                .collect();
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            assert_eq!(total, 10_000 * 9_999 / 2);
        });
}
