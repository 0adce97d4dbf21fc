//! Test support: run a body on both flavours of the loop on virtual time, count what the loop's
//! exception handler reports, and measure virtual time; [`Counter`], [`OnDrop`] and
//! [`PanicOnDrop`] come from tulip-test-support.
#![allow(
    dead_code,
    unreachable_pub,
    unused_imports,
    reason = "each test binary uses a different part of it"
)]

use std::future::Future;
use std::time::Duration;

use tulip_reactor::{sleep, Instant};
use tulip_runtime::Runner;
pub use tulip_test_support::{Counter, OnDrop, PanicOnDrop};

/// The two flavours of the loop: single-threaded, and two work-stealing workers.
pub const FLAVOURS: [usize; 2] = [1, 2];

/// Names the flavour of a failing run in the panic output.
struct Flavour(usize);

impl Drop for Flavour {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("(this failure happened with workers({}))", self.0);
        }
    }
}

/// A loop on virtual time with `workers` workers.
pub fn runner(workers: usize) -> Runner {
    Runner::builder()
        .workers(workers)
        .start_paused(true)
        .build()
}

/// Runs `body` on a single-threaded loop and on a `workers(2)` loop, both on virtual time.
///
/// The body runs as a spawned task, not as the loop's main future: on a multi-threaded loop
/// with a paused clock, the runtime can advance virtual time while the main future has just
/// been woken by a timer on another worker and has not been polled yet (the idle protocol's
/// targeted `unpark` leaves the woken worker counted as sleeping), which skips the main
/// future's timers. Tasks are woken through the run queues and are not affected.
pub fn on_both<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for workers in FLAVOURS {
        let _flavour = Flavour(workers);
        runner(workers).run(as_task(body()));
    }
}

/// [`on_both`], with the body told how many workers its loop has (for assertions that only
/// hold on one worker, where the OS cannot preempt one worker while the other runs).
#[allow(dead_code, reason = "not every test file uses it")]
pub fn on_both_with<F, Fut>(body: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for workers in FLAVOURS {
        let _flavour = Flavour(workers);
        runner(workers).run(as_task(body(workers)));
    }
}

/// Runs a `!Send` body on both flavours as the loop's main future (see [`on_both`] for why
/// such bodies must not assert exact times on the multi-threaded flavour).
pub fn on_both_local<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    for workers in FLAVOURS {
        let _flavour = Flavour(workers);
        runner(workers).run(body());
    }
}

/// Runs `body` as a task and resumes its panic, if it panics, in the caller.
async fn as_task<Fut>(body: Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Err(e) = tulip_executor::spawn(body).await {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("the test body ended with {e}"),
        }
    }
}

/// Runs `body` on both flavours, each with an exception handler that counts reports, and
/// checks the count after each run.
pub fn on_both_counting_reports<F, Fut>(expected: usize, body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for workers in FLAVOURS {
        let _flavour = Flavour(workers);
        let reports = Counter::new();
        let r = reports.clone();
        let runner = Runner::builder()
            .workers(workers)
            .start_paused(true)
            .exception_handler(move |_| r.bump())
            .build();
        runner.run(as_task(body()));
        drop(runner);
        assert_eq!(
            reports.get(),
            expected,
            "reports of the loop's exception handler"
        );
    }
}

/// Seconds as a `Duration`.
pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Milliseconds as a `Duration`.
pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// Virtual time since `start`.
pub fn since(start: Instant) -> Duration {
    Instant::now() - start
}

/// Waits until `cond` holds, without moving virtual time: yields to the loop so other tasks
/// run, pausing the thread briefly between yields (work on another worker may need real time
/// to finish); fails after ten seconds of real time.
pub async fn until(what: &str, cond: impl Fn() -> bool) {
    let give_up = std::time::Instant::now() + Duration::from_secs(10);
    let mut spins = 0u32;
    while !cond() {
        assert!(
            std::time::Instant::now() < give_up,
            "timed out waiting until {what}"
        );
        spins += 1;
        if spins > 100 {
            std::thread::sleep(Duration::from_micros(100));
        }
        tulip_executor::yield_now().await;
    }
}

/// Sleeps for `d`, then returns `v`.
pub async fn after<T>(d: Duration, v: T) -> T {
    sleep(d).await;
    v
}
