//! The timer wheel at its extremes (docs/reliability.md, "Timers"): a million timers over ten
//! seconds, a hundred thousand at one instant, one timer reset a million times,
//! `Duration::MAX` and deadlines already past. Each checks that timers fire in
//! `(deadline, insertion)` order, never before their deadline and never later than the first
//! expiry at or after it, and that the slab's memory is given back once the wheel empties.
//! Time is the wheel's own (nanoseconds passed to `expire`), so each test takes well under a
//! second or two even in a debug build.

use std::time::Duration;

use tulip_time::wheel::TimerWheel;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

/// xorshift64*: deterministic spread of deadlines.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Expires the wheel at each time of `steps`, checking every fired `(deadline, seq)` against
/// the time and the order so far; returns how many fired.
fn run_to(wheel: &mut TimerWheel<(u64, u64)>, steps: impl Iterator<Item = u64>) -> usize {
    let mut out = Vec::new();
    let mut last = (0u64, 0u64);
    let mut fired = 0;
    for now in steps {
        out.clear();
        wheel.expire(now, &mut out);
        for &(deadline, seq) in &out {
            assert!(
                deadline <= now,
                "timer for {deadline} fired early, at {now}"
            );
            assert!(
                (deadline, seq) > last || fired == 0,
                "out of order: {last:?} then {:?}",
                (deadline, seq)
            );
            last = (deadline, seq);
            fired += 1;
        }
        // Never late: nothing due is left behind.
        if let Some(next) = wheel.next_deadline() {
            assert!(next > now, "a timer due at {next} was left at {now}");
        }
    }
    fired
}

#[test]
fn a_million_timers_over_ten_seconds() {
    let mut wheel = TimerWheel::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    const N: u64 = 1_000_000;
    for seq in 0..N {
        let deadline = rng.next() % (10 * SEC);
        wheel.insert(deadline, (deadline, seq));
    }
    assert_eq!(wheel.len(), N as usize);
    // A loop that wakes every millisecond for ten seconds, then once more past the end.
    let fired = run_to(
        &mut wheel,
        (1..=10_000).map(|i| i * MS).chain([10 * SEC + 1]),
    );
    assert_eq!(fired, N as usize);
    assert!(wheel.is_empty());
    assert_eq!(wheel.capacity(), 0, "the emptied wheel gave its slab back");
}

#[test]
fn a_hundred_thousand_timers_at_one_instant() {
    let mut wheel = TimerWheel::new();
    let at = 3 * SEC + 7;
    const N: u64 = 100_000;
    for seq in 0..N {
        wheel.insert(at, (at, seq));
    }
    let mut out = Vec::new();
    assert_eq!(
        wheel.expire(at - 1, &mut out),
        0,
        "none fires a nanosecond early"
    );
    assert_eq!(
        wheel.expire(at, &mut out),
        N as usize,
        "all fire at their instant"
    );
    assert!(out.iter().map(|&(_, s)| s).eq(0..N), "in insertion order");
    assert_eq!(wheel.capacity(), 0);
}

#[test]
fn one_timer_reset_a_million_times() {
    let mut wheel = TimerWheel::new();
    let mut key = wheel.insert(SEC, (SEC, 0));
    let mut out = Vec::new();
    let mut now = 0;
    for i in 1..=1_000_000u64 {
        // Pushed back by a varying amount, as a read timeout is on every read; time moves on
        // a little now and then, never reaching the deadline.
        assert!(wheel.remove(key).is_some());
        let deadline = now + SEC + (i % 977) * MS;
        key = wheel.insert(deadline, (deadline, i));
        if i % 1000 == 0 {
            now += MS;
            assert_eq!(wheel.expire(now, &mut out), 0);
        }
        assert_eq!(wheel.capacity(), 1, "a reset reuses the one slab entry");
    }
    let deadline = wheel.deadline(key).unwrap();
    assert_eq!(wheel.expire(deadline - 1, &mut out), 0);
    assert_eq!(wheel.expire(deadline, &mut out), 1);
    assert_eq!(out, [(deadline, 1_000_000)]);
    assert!(wheel.is_empty());
}

#[test]
fn duration_max_waits_forever_and_never_overflows() {
    let mut wheel = TimerWheel::new();
    // Duration::MAX in nanoseconds does not fit a u64: the loop clamps it to the end of time.
    let max = u64::try_from(Duration::MAX.as_nanos()).unwrap_or(u64::MAX);
    assert_eq!(max, u64::MAX);
    wheel.insert(max, (max, 0));
    wheel.insert(max - 1, (max - 1, 1));
    wheel.insert(5 * SEC, (5 * SEC, 2));
    let mut out = Vec::new();
    assert_eq!(wheel.expire(10 * SEC, &mut out), 1);
    // A century later: still waiting.
    assert_eq!(wheel.expire(100 * 365 * 86_400 * SEC, &mut out), 0);
    assert_eq!(wheel.expire(max - 2, &mut out), 0);
    assert!(wheel.next_deadline().unwrap() < max);
    assert_eq!(wheel.expire(max - 1, &mut out), 1);
    assert_eq!(wheel.expire(max, &mut out), 1);
    assert_eq!(out, [(5 * SEC, 2), (max - 1, 1), (max, 0)]);
    // Expiring at the end of time again is harmless.
    assert_eq!(wheel.expire(max, &mut out), 0);
}

#[test]
fn past_deadlines_fire_at_the_next_expiry_in_order() {
    let mut wheel = TimerWheel::new();
    let mut out = Vec::new();
    let now = 60 * SEC;
    wheel.expire(now, &mut out);
    // Deadlines from the origin up to now, inserted in scrambled order.
    let mut rng = Rng(7);
    let mut want = Vec::new();
    for seq in 0..10_000u64 {
        let deadline = match seq % 4 {
            0 => 0,
            1 => now,
            _ => rng.next() % now,
        };
        wheel.insert(deadline, (deadline, seq));
        want.push((deadline, seq));
    }
    want.sort();
    assert_eq!(wheel.next_deadline().map(|d| d <= now), Some(true));
    assert_eq!(wheel.expire(now, &mut out), want.len());
    assert_eq!(out, want);
}

#[test]
fn memory_follows_the_live_timers() {
    let mut wheel = TimerWheel::new();
    let keys: Vec<_> = (0..200_000u64)
        .map(|i| wheel.insert(i * 1000, (i * 1000, i)))
        .collect();
    assert!(wheel.capacity() >= 200_000);
    // Cancelling frees entries for reuse: refilling does not grow the slab.
    for &k in &keys[..100_000] {
        wheel.remove(k);
    }
    for i in 0..100_000u64 {
        wheel.insert(SEC + i, (SEC + i, i));
    }
    assert_eq!(wheel.capacity(), 200_000, "cancelled entries were reused");
    let mut out = Vec::new();
    assert_eq!(wheel.expire(2 * SEC, &mut out), 200_000);
    assert_eq!(
        wheel.capacity(),
        0,
        "an emptied wheel gives its memory back"
    );
}
