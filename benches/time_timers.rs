//! Timer workloads.
//!
//! - `timers_cancel`: `n` (1 M) timers registered and dropped, one after another: create a
//!   one-second sleep, poll it once so that it registers with the runtime's timer, drop it;
//!   ns/timer.
//! - `timers_fire`: `n` (100 000) tasks each sleep 1 ms, all at once; the total time in ms
//!   (the 1 ms itself is the floor). The same `n` in quick and full runs.
//! - `scope_cancel`: `n` (1 M) drop-based timeouts set up and dropped: a one-second timeout
//!   around a future that never ends, polled once (so its timer registers), dropped;
//!   ns/scope. What cancellation by drop costs, which issue 16's cooperative scopes must not
//!   make dearer.

use std::time::{Duration, Instant};

use tulip_benches::{dispatch, ns_per, Runtime, Spec};

async fn timers_cancel<R: Runtime>(n: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let sleep = std::pin::pin!(R::sleep(Duration::from_secs(1)));
        let polled = futures_lite::future::poll_once(sleep).await;
        debug_assert!(polled.is_none());
    }
    ns_per(start.elapsed(), n)
}

async fn scope_cancel<R: Runtime>(n: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let scoped = std::pin::pin!(R::timeout(
            Duration::from_secs(1),
            std::future::pending::<()>()
        ));
        let polled = futures_lite::future::poll_once(scoped).await;
        debug_assert!(polled.is_none());
    }
    ns_per(start.elapsed(), n)
}

async fn timers_fire<R: Runtime>(n: u64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|_| R::spawn(R::sleep(Duration::from_millis(1))))
        .collect();
    for h in handles {
        h.await;
    }
    start.elapsed().as_secs_f64() * 1e3
}

fn main() {
    tulip_benches::main(
        "time",
        &[
            Spec {
                name: "timers_cancel",
                unit: "ns/timer",
                higher_is_better: false,
                n: 1_000_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(timers_cancel),
                refs: &[],
            },
            Spec {
                name: "scope_cancel",
                unit: "ns/scope",
                higher_is_better: false,
                n: 1_000_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(scope_cancel),
                refs: &[],
            },
            Spec {
                name: "timers_fire",
                unit: "ms",
                higher_is_better: false,
                n: 100_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(timers_fire),
                refs: &[],
            },
        ],
    );
}
