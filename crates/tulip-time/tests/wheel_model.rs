//! The timer wheel checked against a `BTreeMap` model: insert, cancel, advance, fire order.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tulip_time::wheel::{TimerKey, TimerWheel};

#[derive(Debug, Clone)]
enum Op {
    /// Insert a timer `delta` ns after now (saturating).
    Insert(u64),
    /// Insert a timer `delta` ns before now (a deadline in the past).
    InsertPast(u64),
    /// Remove the n-th key ever issued (possibly already fired or removed).
    Remove(usize),
    /// Advance time by `delta` ns and expire.
    Advance(u64),
    /// Jump straight to the wheel's next deadline, as the virtual clock does.
    JumpToNext,
}

fn delta() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..5_000_000,                       // within a few ticks
        3 => 0u64..200_000_000,                     // up to 200 ms: levels 0-1
        2 => 0u64..20_000_000_000,                  // up to 20 s: level 2
        1 => 0u64..(1u64 << 52),                    // up to ~52 days: levels 3-5
        1 => Just(u64::MAX),                        // "never"
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => delta().prop_map(Op::Insert),
        1 => (0u64..10_000_000).prop_map(Op::InsertPast),
        3 => any::<usize>().prop_map(Op::Remove),
        3 => prop_oneof![0u64..3_000_000, 0u64..100_000_000, 0u64..50_000_000_000].prop_map(Op::Advance),
        2 => Just(Op::JumpToNext),
    ]
}

struct Model {
    /// (deadline, insertion seq) -> id
    live: BTreeMap<(u64, u64), u64>,
    /// key index in `keys` -> (deadline, seq) while live
    keys: Vec<(TimerKey, (u64, u64))>,
}

fn fire_model(model: &mut Model, now: u64) -> Vec<u64> {
    let due: Vec<(u64, u64)> = model
        .live
        .range(..=(now, u64::MAX))
        .map(|(k, _)| *k)
        .collect();
    due.iter().map(|k| model.live.remove(k).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn wheel_matches_btreemap(ops in proptest::collection::vec(op(), 1..200)) {
        let mut wheel: TimerWheel<u64> = TimerWheel::new();
        let mut model = Model { live: BTreeMap::new(), keys: Vec::new() };
        let mut now: u64 = 0;
        let mut seq: u64 = 0;
        for op in ops {
            match op {
                Op::Insert(d) | Op::InsertPast(d) => {
                    let deadline = if matches!(op, Op::Insert(_)) { now.saturating_add(d) } else { now.saturating_sub(d) };
                    let id = seq;
                    seq += 1;
                    let key = wheel.insert(deadline, id);
                    model.live.insert((deadline, id), id);
                    model.keys.push((key, (deadline, id)));
                }
                Op::Remove(n) => {
                    if model.keys.is_empty() { continue; }
                    let (key, k) = model.keys[n % model.keys.len()];
                    let expect = model.live.remove(&k);
                    prop_assert_eq!(wheel.remove(key), expect);
                    prop_assert!(!wheel.contains(key));
                }
                Op::Advance(d) => {
                    now = now.saturating_add(d);
                    let mut out = Vec::new();
                    wheel.expire(now, &mut out);
                    prop_assert_eq!(out, fire_model(&mut model, now));
                }
                Op::JumpToNext => {
                    let next = wheel.next_deadline();
                    let min = model.live.keys().next().map(|k| k.0);
                    prop_assert_eq!(next.is_some(), min.is_some());
                    if let (Some(next), Some(min)) = (next, min) {
                        prop_assert!(next <= min.max(now), "next {} beyond earliest {}", next, min);
                        // Jumping from one reported deadline to the next reaches the earliest
                        // timer in a bounded number of steps (one per level cascade).
                        let mut steps = 0;
                        loop {
                            let target = wheel.next_deadline().unwrap().max(now);
                            now = target;
                            let mut out = Vec::new();
                            wheel.expire(now, &mut out);
                            let expect = fire_model(&mut model, now);
                            prop_assert_eq!(&out, &expect);
                            if !out.is_empty() || wheel.is_empty() { break; }
                            steps += 1;
                            prop_assert!(steps <= 9, "no progress after {} jumps", steps);
                        }
                    }
                }
            }
            prop_assert_eq!(wheel.len(), model.live.len());
        }
        // Everything left fires, in order, at the end of time.
        let mut out = Vec::new();
        wheel.expire(u64::MAX, &mut out);
        prop_assert_eq!(out, fire_model(&mut model, u64::MAX));
        prop_assert!(wheel.is_empty());
    }
}

#[test]
fn register_then_drop_keeps_memory_flat() {
    let mut wheel = TimerWheel::new();
    let mut now = 0u64;
    for i in 0..1_000_000u64 {
        let key = wheel.insert(now + 1_000_000 + (i % 5000) * 1000, i);
        assert_eq!(wheel.remove(key), Some(i));
        if i % 1000 == 0 {
            now += 1_000_000;
            wheel.expire(now, &mut Vec::new());
        }
    }
    assert_eq!(wheel.capacity(), 1);
}
