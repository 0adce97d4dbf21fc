//! Virtual time: a paused clock that jumps to the next timer when every task is idle.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip::time::{advance, sleep, timeout, Instant};
use tulip_tests::Log;

#[tulip::test(start_paused = true)]
async fn an_hour_long_timeout_elapses_at_exactly_one_hour() {
    let start = Instant::now();
    let r = timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
    assert!(r.is_err());
    assert_eq!(Instant::now() - start, Duration::from_secs(3600));
}

#[tulip::test(start_paused = true)]
async fn timers_fire_in_order_with_exact_virtual_times() {
    let start = Instant::now();
    let log = Log::new();
    let tasks: Vec<_> = [
        (86_400_000u64, "day"),
        (1, "ms"),
        (60_000, "minute"),
        (250, "quarter"),
    ]
    .into_iter()
    .map(|(ms, name)| {
        let log = log.clone();
        tulip::spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            log.push(format!("{name}@{}", (Instant::now() - start).as_millis()));
        })
    })
    .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        log.entries(),
        ["ms@1", "quarter@250", "minute@60000", "day@86400000"]
    );
}

// advance() lets the woken tasks run before it returns: a single-threaded-loop promise.
#[tulip::test(start_paused = true, workers = 1, fifo = true)]
async fn advance_fires_exactly_the_due_timers() {
    let fired = Arc::new(AtomicBool::new(false));
    let f = fired.clone();
    let _t = tulip::spawn(async move {
        sleep(Duration::from_secs(10)).await;
        f.store(true, SeqCst);
    });
    tulip::yield_now().await;
    advance(Duration::from_secs(9)).await;
    assert!(!fired.load(SeqCst));
    advance(Duration::from_millis(999)).await;
    assert!(!fired.load(SeqCst));
    advance(Duration::from_millis(1)).await;
    assert!(fired.load(SeqCst));
}

#[tulip::test(start_paused = true)]
async fn the_clock_does_not_move_while_tasks_are_busy() {
    let start = Instant::now();
    for _ in 0..1000 {
        tulip::yield_now().await;
    }
    assert_eq!(Instant::now(), start);
    let lp = tulip::EventLoop::current();
    assert_eq!(lp.time(), start);
}

#[test]
fn advance_on_a_real_clock_panics() {
    let r = std::panic::catch_unwind(|| {
        tulip::run(async { advance(Duration::from_secs(1)).await });
    });
    assert!(r.is_err());
}

#[tulip::test(start_paused = true)]
async fn nested_timeouts_the_inner_one_fires_first() {
    let start = Instant::now();
    let outer = timeout(Duration::from_secs(10), async {
        timeout(Duration::from_secs(5), std::future::pending::<()>()).await
    })
    .await;
    assert!(matches!(outer, Ok(Err(_))));
    assert_eq!(Instant::now() - start, Duration::from_secs(5));
}
