//! Executor workloads: spawning, chained spawning and yielding.
//!
//! - `spawn_many`: one task spawns `n` (1 M) trivial tasks, then awaits every handle; ns/task.
//! - `chained_spawn`: each task spawns the next and finishes, depth `n` (1 M); the last one
//!   signals the root over a oneshot; ns/spawn.
//! - `yield_many`: 1 000 tasks each yield `n` (1 000) times; ns/yield.
//! - `spawn_many_spawned`, `chained_spawn_spawned`: the same with the root a spawned task that
//!   the main future only awaits (a server's tasks spawn from tasks, never from the main
//!   future).

use std::time::Instant;

use tulip_benches::{dispatch, dispatch_spawned, ns_per, Runtime, Spec};

async fn spawn_many<R: Runtime>(n: u64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|_| R::spawn(async {})).collect();
    for h in handles {
        h.await;
    }
    ns_per(start.elapsed(), n)
}

fn chain<R: Runtime>(left: u64, done: R::OTx<()>) {
    if left == 0 {
        R::osend(done, ());
    } else {
        R::detach(R::spawn(async move { chain::<R>(left - 1, done) }));
    }
}

async fn chained_spawn<R: Runtime>(n: u64) -> f64 {
    let start = Instant::now();
    let (tx, rx) = R::oneshot();
    chain::<R>(n, tx);
    R::orecv(rx).await.expect("the chain ended early");
    ns_per(start.elapsed(), n)
}

/// Tasks in `yield_many`.
const YIELD_TASKS: u64 = 1_000;

async fn yield_many<R: Runtime>(n: u64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            R::spawn(async move {
                for _ in 0..n {
                    R::yield_now().await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await;
    }
    ns_per(start.elapsed(), n * YIELD_TASKS)
}

fn main() {
    tulip_benches::main(
        "executor",
        &[
            Spec {
                name: "spawn_many",
                unit: "ns/task",
                higher_is_better: false,
                n: 1_000_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(spawn_many),
                refs: &[],
            },
            Spec {
                name: "chained_spawn",
                unit: "ns/spawn",
                higher_is_better: false,
                n: 1_000_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(chained_spawn),
                refs: &[],
            },
            Spec {
                name: "yield_many",
                unit: "ns/yield",
                higher_is_better: false,
                n: 1_000,
                quick_n: 100,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch!(yield_many),
                refs: &[],
            },
            Spec {
                name: "spawn_many_spawned",
                unit: "ns/task",
                higher_is_better: false,
                n: 1_000_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch_spawned!(spawn_many),
                refs: &[],
            },
            Spec {
                name: "chained_spawn_spawned",
                unit: "ns/spawn",
                higher_is_better: false,
                n: 1_000_000,
                quick_n: 100_000,
                warmup: 1,
                reps: 7,
                quick_reps: 3,
                run: dispatch_spawned!(chained_spawn),
                refs: &[],
            },
        ],
    );
}
