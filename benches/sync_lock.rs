//! Lock workloads, each runtime with its own primitives: tulip-sync, `tokio::sync`,
//! async-lock.
//!
//! - `mutex`: 64 tasks × `n` (10 000) lock/unlock of one async mutex, incrementing a counter;
//!   ns/lock. (On one thread a task never finds the lock taken; with two workers it does.)
//! - `mutex_yield`: the same, but each task yields while holding the lock, so every other task
//!   queues behind it: the hand-off path; ns/lock.
//! - `mutex_uncontended`: one task × `n` (1 M) lock/unlock; ns/lock.
//! - `semaphore`: 64 tasks × `n` (10 000) acquire / yield / release on a semaphore of 8
//!   permits; ns/acquire.

use std::sync::Arc;
use std::time::Instant;

use tulip_benches::{dispatch, ns_per, Runtime, Spec};

/// Tasks in the contended workloads.
const TASKS: u64 = 64;

async fn contended_mutex<R: Runtime>(n: u64, yield_while_held: bool) -> f64 {
    let m = Arc::new(R::mutex(0u64));
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let m = m.clone();
            R::spawn(async move {
                for _ in 0..n {
                    let mut g = R::lock(&m).await;
                    *g += 1;
                    if yield_while_held {
                        R::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await;
    }
    let elapsed = start.elapsed();
    assert_eq!(*R::lock(&m).await, TASKS * n);
    ns_per(elapsed, TASKS * n)
}

async fn mutex<R: Runtime>(n: u64) -> f64 {
    contended_mutex::<R>(n, false).await
}

async fn mutex_yield<R: Runtime>(n: u64) -> f64 {
    contended_mutex::<R>(n, true).await
}

async fn mutex_uncontended<R: Runtime>(n: u64) -> f64 {
    let m = R::mutex(0u64);
    let start = Instant::now();
    for _ in 0..n {
        *R::lock(&m).await += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(*R::lock(&m).await, n);
    ns_per(elapsed, n)
}

/// Permits of the `semaphore` workload.
const PERMITS: usize = 8;

async fn semaphore<R: Runtime>(n: u64) -> f64 {
    let s = Arc::new(R::semaphore(PERMITS));
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let s = s.clone();
            R::spawn(async move {
                for _ in 0..n {
                    let _permit = R::acquire(&s).await;
                    R::yield_now().await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await;
    }
    ns_per(start.elapsed(), TASKS * n)
}

fn main() {
    tulip_benches::main(
        "sync",
        &[
            Spec {
                name: "mutex",
                unit: "ns/lock",
                higher_is_better: false,
                n: 10_000,
                quick_n: 1_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(mutex),
                refs: &[],
            },
            Spec {
                name: "mutex_yield",
                unit: "ns/lock",
                higher_is_better: false,
                n: 10_000,
                quick_n: 1_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(mutex_yield),
                refs: &[],
            },
            Spec {
                name: "mutex_uncontended",
                unit: "ns/lock",
                higher_is_better: false,
                n: 1_000_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(mutex_uncontended),
                refs: &[],
            },
            Spec {
                name: "semaphore",
                unit: "ns/acquire",
                higher_is_better: false,
                n: 10_000,
                quick_n: 1_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(semaphore),
                refs: &[],
            },
        ],
    );
}
