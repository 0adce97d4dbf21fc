//! Sleeps and timeouts on the real clock: never early, ordered, overflow-safe.

use std::time::Duration;

use tulip::time::{sleep, sleep_until, timeout, timeout_at, Instant};
use tulip_tests::{single_threaded, Log};

#[test]
fn sleep_never_wakes_early() {
    tulip::run(async {
        for ms in [0u64, 1, 2, 3, 5, 8] {
            let d = Duration::from_millis(ms);
            let start = std::time::Instant::now();
            sleep(d).await;
            assert!(start.elapsed() >= d, "slept {:?} < {d:?}", start.elapsed());
        }
        for us in [100u64, 250, 999, 1001, 1500] {
            let d = Duration::from_micros(us);
            let start = std::time::Instant::now();
            sleep(d).await;
            assert!(start.elapsed() >= d, "slept {:?} < {d:?}", start.elapsed());
        }
    });
}

#[test]
fn concurrent_sleeps_wake_in_deadline_order() {
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let tasks: Vec<_> = [7u64, 3, 5, 1, 9]
            .into_iter()
            .map(|ms| {
                let l = l.clone();
                tulip::spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    l.push(ms.to_string());
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(log.entries(), ["1", "3", "5", "7", "9"]);
}

#[test]
fn sleep_zero_yields_like_asyncio_sleep_0() {
    let log = Log::new();
    let l = log.clone();
    single_threaded().run(async move {
        let l2 = l.clone();
        let t = tulip::spawn(async move { l2.push("other task") });
        sleep(Duration::ZERO).await;
        l.push("after sleep(0)");
        t.await.unwrap();
    });
    assert_eq!(log.entries(), ["other task", "after sleep(0)"]);
}

#[test]
fn duration_max_and_past_deadlines_do_not_panic() {
    tulip::run(async {
        let r = timeout(Duration::from_millis(2), sleep(Duration::MAX)).await;
        assert!(r.is_err());
        let past = Instant::now() - Duration::from_secs(1);
        sleep_until(past).await;
        assert!(timeout(Duration::MAX, async { 5 }).await == Ok(5));
        assert!(timeout_at(past, std::future::pending::<()>())
            .await
            .is_err());
    });
}

#[test]
fn timeout_returns_the_value_when_in_time() {
    tulip::run(async {
        let r = timeout(Duration::from_secs(5), async {
            sleep(Duration::from_millis(1)).await;
            "ok"
        })
        .await;
        assert_eq!(r, Ok("ok"));
    });
}

#[test]
fn elapsed_converts_to_io_timed_out() {
    tulip::run(async {
        let e = timeout(Duration::from_millis(1), std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "deadline has elapsed");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn sleep_reset_moves_the_deadline() {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async {
            let start = Instant::now();
            let mut s = std::pin::pin!(sleep(Duration::from_secs(10)));
            // Start it, then pull the deadline in.
            assert!(futures_lite::future::poll_once(s.as_mut()).await.is_none());
            s.as_mut().get_mut().reset(start + Duration::from_secs(1));
            s.as_mut().await;
            assert_eq!(Instant::now() - start, Duration::from_secs(1));
            assert!(s.is_elapsed());
        });
}
