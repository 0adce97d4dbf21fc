//! The timer wheel against a `BTreeMap` model: inserts, cancels, resets (cancel and
//! re-insert) and advances of time in any order and at any scale, `u64::MAX` and past
//! deadlines included. Checks that timers fire exactly when the model says — never early,
//! never late (an expiry fires everything due), in `(deadline, insertion)` order — that keys
//! of fired or cancelled timers name nothing, that `next_deadline` is never after the earliest
//! deadline, and that the slab never outgrows the peak number of live timers and is given
//! back once the wheel empties.

use std::collections::{BTreeMap, HashMap};

use tulip_time::wheel::{TimerKey, TimerWheel};

use crate::input::Input;

/// A deadline drawn from the input, relative to `now`.
fn deadline(input: &mut Input<'_>, now: u64) -> u64 {
    let small = u64::from(input.u16());
    match input.u8() % 6 {
        0 => now.saturating_add(small),
        1 => now.saturating_add(small << 20),
        2 => now.saturating_add(small << 34),
        3 => now.saturating_sub(small << 10),
        4 => u64::MAX - small,
        _ => input.u64(),
    }
}

/// Runs the operations `data` decodes to; panics if the wheel and the model disagree.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mut wheel: TimerWheel<u64> = TimerWheel::new();
    // (deadline, sequence) -> id, and id -> (key, deadline, sequence).
    let mut model: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut live: HashMap<u64, (TimerKey, u64, u64)> = HashMap::new();
    let mut ids: Vec<u64> = Vec::new();
    let mut dead: Vec<TimerKey> = Vec::new();
    let mut now = 0u64;
    let mut seq = 0u64;
    let mut next_id = 0u64;
    let mut peak = 0usize;
    let mut out = Vec::new();
    let mut steps = 0;
    while !input.is_empty() && steps < 10_000 {
        steps += 1;
        match input.u8() % 6 {
            0 => {
                let d = deadline(&mut input, now);
                let id = next_id;
                next_id += 1;
                let key = wheel.insert(d, id);
                seq += 1;
                model.insert((d, seq), id);
                live.insert(id, (key, d, seq));
                ids.push(id);
            }
            1 | 2 => {
                if ids.is_empty() {
                    continue;
                }
                let i = usize::from(input.u16()) % ids.len();
                let id = ids.swap_remove(i);
                let (key, d, s) = live.remove(&id).expect("model: live id");
                model.remove(&(d, s));
                assert_eq!(wheel.remove(key), Some(id), "cancel of a live timer");
                dead.push(key);
                if input.u8() % 2 == 0 {
                    // Reset: the same timer again, at a new deadline.
                    let d = deadline(&mut input, now);
                    let key = wheel.insert(d, id);
                    seq += 1;
                    model.insert((d, seq), id);
                    live.insert(id, (key, d, seq));
                    ids.push(id);
                }
            }
            3 => {
                let delta = match input.u8() % 5 {
                    0 => u64::from(input.u16()),
                    1 => u64::from(input.u16()) << 20,
                    2 => u64::from(input.u16()) << 30,
                    3 => u64::from(input.u16()) << 44,
                    _ => input.u64(),
                };
                now = now.saturating_add(delta);
                out.clear();
                let n = wheel.expire(now, &mut out);
                assert_eq!(n, out.len(), "expire's count");
                let due: Vec<(u64, u64)> =
                    model.range(..=(now, u64::MAX)).map(|(&k, _)| k).collect();
                let expected: Vec<u64> = due.iter().map(|k| model[k]).collect();
                assert_eq!(
                    out, expected,
                    "fired at {now}: exactly the due timers, in order"
                );
                for k in due {
                    let id = model.remove(&k).expect("model: due id");
                    let (key, _, _) = live.remove(&id).expect("model: live id");
                    ids.retain(|&x| x != id);
                    dead.push(key);
                }
                if model.is_empty() {
                    assert!(
                        wheel.capacity() <= 1024,
                        "an emptied wheel gives its memory back"
                    );
                }
            }
            4 => {
                let next = wheel.next_deadline();
                match model.keys().next() {
                    None => assert_eq!(next, None),
                    Some(&(d, _)) => {
                        let next = next.expect("a wheel with timers has a next deadline");
                        assert!(
                            next <= d.max(now),
                            "next_deadline {next} after the earliest {d}"
                        );
                    }
                }
            }
            _ => {
                if let Some(&key) = dead.get(usize::from(input.u16()) % dead.len().max(1)) {
                    assert!(
                        !wheel.contains(key),
                        "a fired or cancelled key names nothing"
                    );
                    assert_eq!(wheel.deadline(key), None);
                    assert_eq!(wheel.get_mut(key), None);
                    assert_eq!(wheel.remove(key), None);
                }
                if let Some(&id) = ids.first() {
                    let (key, d, _) = live[&id];
                    assert_eq!(wheel.deadline(key), Some(d));
                    assert_eq!(wheel.get_mut(key).copied(), Some(id));
                }
            }
        }
        assert_eq!(wheel.len(), model.len(), "live timers");
        peak = peak.max(model.len());
        assert!(
            wheel.capacity() <= peak,
            "slab entries beyond the peak of live timers"
        );
        if dead.len() > 4096 {
            dead.drain(..2048);
        }
    }
    // Everything left fires by the end of time, in order.
    out.clear();
    wheel.expire(u64::MAX, &mut out);
    let expected: Vec<u64> = model.values().copied().collect();
    assert_eq!(out, expected, "the rest fires at the end of time, in order");
    assert!(wheel.is_empty());
}
