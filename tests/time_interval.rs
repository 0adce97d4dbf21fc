//! Intervals and their missed-tick policies, on virtual time.

use std::time::Duration;

use tulip::time::{interval, interval_at, sleep, Instant, MissedTickBehavior};

const P: Duration = Duration::from_millis(100);

async fn ticks_after_stall(behavior: MissedTickBehavior) -> Vec<u128> {
    let start = Instant::now();
    let mut iv = interval(P);
    iv.set_missed_tick_behavior(behavior);
    assert_eq!(iv.missed_tick_behavior(), behavior);
    assert_eq!(iv.tick().await, start);
    // Stall for 3.5 periods.
    sleep(Duration::from_millis(350)).await;
    let mut out = Vec::new();
    for _ in 0..4 {
        let scheduled = iv.tick().await;
        out.push((scheduled - start).as_millis());
        out.push((Instant::now() - start).as_millis());
    }
    out
}

#[tulip::test(start_paused = true)]
async fn burst_catches_up_on_the_original_schedule() {
    // (scheduled, actual) pairs
    assert_eq!(
        ticks_after_stall(MissedTickBehavior::Burst).await,
        [100, 350, 200, 350, 300, 350, 400, 400]
    );
}

#[tulip::test(start_paused = true)]
async fn delay_restarts_the_schedule_from_now() {
    assert_eq!(
        ticks_after_stall(MissedTickBehavior::Delay).await,
        [100, 350, 450, 450, 550, 550, 650, 650]
    );
}

#[tulip::test(start_paused = true)]
async fn skip_jumps_to_the_next_tick_of_the_original_schedule() {
    assert_eq!(
        ticks_after_stall(MissedTickBehavior::Skip).await,
        [100, 350, 400, 400, 500, 500, 600, 600]
    );
}

#[tulip::test(start_paused = true)]
async fn interval_at_starts_later_and_reset_restarts() {
    let start = Instant::now();
    let mut iv = interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    assert_eq!(iv.period(), Duration::from_secs(1));
    assert_eq!(iv.tick().await - start, Duration::from_secs(1));
    sleep(Duration::from_millis(500)).await;
    iv.reset();
    assert_eq!(iv.tick().await - start, Duration::from_millis(2500));
}

#[tulip::test(start_paused = true)]
async fn a_zero_period_ticks_by_yielding() {
    let start = Instant::now();
    let mut iv = interval(Duration::ZERO);
    for _ in 0..5 {
        iv.tick().await;
    }
    assert_eq!(Instant::now(), start);
}

#[tulip::test(start_paused = true)]
async fn interval_is_a_stream() {
    use tulip::stream::StreamExt;
    let start = Instant::now();
    let ticks: Vec<_> = interval(P)
        .take(3)
        .map(|t| (t - start).as_millis())
        .collect()
        .await;
    assert_eq!(ticks, [0, 100, 200]);
}
