//! Seeded schedules: the pseudo-random choices a loop makes when it was given a seed
//! ([`ExecutorConfig::seed`](crate::ExecutorConfig::seed)).
//!
//! Without a seed the loop runs its ready queue in FIFO order and nothing here is reached (one
//! well-predicted branch per pop). With a seed, each pop picks one item among the first
//! [`WINDOW`] ready ones from a small generator (splitmix64) seeded by it, so that a race that
//! depends on which ready task runs first shows up under some seed and replays under the same
//! seed.
//!
//! What may be reordered: tasks (and the turns of the main future, which asyncio runs as a
//! task) among themselves. What may not: callbacks (`call_soon`, `call_soon_threadsafe`, and
//! so a future's done-callbacks) keep their place in the FIFO order relative to everything,
//! as asyncio's ready queue does: a callback runs after everything queued before it and
//! before everything queued after it. So callbacks are barriers: a seeded pop chooses among
//! the ready tasks in front of the first callback (at most [`WINDOW`] of them), takes the
//! callback when it is in front, and removes what it chose without moving the others. asyncio
//! code may rely on "`call_soon(cb)`, then `await sleep(0)`: `cb` has run", and it still holds
//! under every seed.

use std::cell::Cell;
use std::collections::VecDeque;

/// How many ready items, from the front of the queue, a seeded pop chooses among.
pub(crate) const WINDOW: usize = 64;

/// splitmix64's output function: a well-mixed 64-bit value from a counter.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A splitmix64 generator: tiny, fast, and every seed gives a full-period sequence.
#[derive(Debug)]
pub(crate) struct SeededRng {
    state: Cell<u64>,
}

impl SeededRng {
    /// A generator for `seed`, decorrelated per `stream` (a worker's index).
    pub(crate) fn new(seed: u64, stream: u64) -> SeededRng {
        SeededRng {
            state: Cell::new(seed ^ mix(stream.wrapping_add(0x5EED))),
        }
    }

    /// The next value.
    pub(crate) fn next_u64(&self) -> u64 {
        let s = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(s);
        mix(s)
    }

    /// A value in `0..n` (`n > 0`), by Lemire's multiply-shift (its bias is below 2^-32 for
    /// the small `n` used here).
    pub(crate) fn below(&self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A fair coin.
    pub(crate) fn coin(&self) -> bool {
        self.next_u64() >> 63 == 1
    }

    /// The index, in `queue`, of the item a seeded pop takes: uniformly one of the tasks in
    /// front of the first callback (at most [`WINDOW`] of them), or `0` when the front item is
    /// a callback (callbacks are barriers: see the module docs).
    pub(crate) fn pick<T>(&self, queue: &VecDeque<T>, is_callback: impl Fn(&T) -> bool) -> usize {
        let tasks = queue
            .iter()
            .take(WINDOW)
            .take_while(|item| !is_callback(item))
            .count();
        if tasks <= 1 {
            return 0;
        }
        self.below(tasks)
    }

    /// Pops the item [`pick`](Self::pick) chooses, leaving the others in order.
    pub(crate) fn pop<T>(
        &self,
        queue: &mut VecDeque<T>,
        is_callback: impl Fn(&T) -> bool,
    ) -> Option<T> {
        if queue.is_empty() {
            return None;
        }
        let i = self.pick(queue, is_callback);
        queue.remove(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let a = SeededRng::new(42, 0);
        let b = SeededRng::new(42, 0);
        let c = SeededRng::new(42, 1);
        let xs: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..16).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    proptest! {
        /// A seeded pop takes every item exactly once, only from the window, and keeps every
        /// callback's place: it runs after everything queued before it and before everything
        /// queued after it.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn seeded_pops_keep_callbacks_in_order(
            seed in any::<u64>(),
            kinds in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let rng = SeededRng::new(seed, 0);
            // (is_callback, id)
            let mut q: VecDeque<(bool, usize)> = kinds.iter().copied().zip(0..).collect();
            let mut seen = vec![false; kinds.len()];
            while !q.is_empty() {
                let window: Vec<usize> = q.iter().take(WINDOW).map(|&(_, id)| id).collect();
                let (is_call, id) = rng.pop(&mut q, |&(c, _)| c).expect("non-empty");
                prop_assert!(window.contains(&id));
                prop_assert!(!seen[id], "item {} popped twice", id);
                seen[id] = true;
                for earlier in 0..id {
                    if is_call || kinds[earlier] {
                        prop_assert!(seen[earlier], "{} ran before {} (a callback)", id, earlier);
                    }
                }
            }
            prop_assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn some_seed_reorders_two_tasks() {
        let reordered = (0..64u64).any(|seed| {
            let rng = SeededRng::new(seed, 0);
            let mut q: VecDeque<u8> = [0, 1].into();
            rng.pop(&mut q, |_| false) == Some(1)
        });
        assert!(reordered);
    }
}
