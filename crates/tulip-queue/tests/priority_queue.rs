//! `PriorityQueue` (smallest first): behaviour tests and a proptest model against
//! `BinaryHeap<Reverse<_>>`.

mod common;

use common::{model, poll_once, DropLog};
use futures_lite::future;
use proptest::prelude::*;
use std::{
    panic::AssertUnwindSafe,
    sync::atomic::{AtomicBool, Ordering},
};
use tulip_queue::{GetError, PriorityQueue, PutError};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 512 }))]

    #[test]
    fn behaves_like_a_binary_heap_model(maxsize in 0..4usize, ops in model::ops()) {
        model::check::<PriorityQueue<u32>>(maxsize, ops)?;
    }

    #[test]
    fn pops_any_multiset_in_sorted_order(
        // Shorter under Miri (cargo xtask miri --all), where each put takes milliseconds.
        items in prop::collection::vec(any::<i64>(), 0..if cfg!(miri) { 40 } else { 200 }),
    ) {
        let q = PriorityQueue::new(0);
        for &item in &items {
            q.put_nowait(item).unwrap();
        }
        let out: Vec<i64> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
        let mut sorted = items;
        sorted.sort_unstable();
        prop_assert_eq!(out, sorted);
    }
}

#[test]
fn smallest_item_comes_out_first() {
    let q = PriorityQueue::new(0);
    for n in [1, 3, 2] {
        q.put_nowait(n).unwrap();
    }
    let out: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
    assert_eq!(out, [1, 2, 3]);
}

#[test]
fn priority_tuples_keep_fifo_order_within_a_priority_with_a_sequence_number() {
    let q = PriorityQueue::new(0);
    for (seq, (prio, name)) in [(1, "b"), (0, "a"), (1, "c")].into_iter().enumerate() {
        q.put_nowait((prio, seq, name)).unwrap();
    }
    let out: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok().map(|(_, _, n)| n)).collect();
    assert_eq!(out, ["a", "b", "c"]);
}

#[test]
fn a_full_priority_queue_hands_the_item_back() {
    let q = PriorityQueue::new(1);
    q.put_nowait(5).unwrap();
    assert_eq!(q.put_nowait(1), Err(PutError::Full(1)));
    let mut put = q.put(0);
    assert!(poll_once(&mut put).is_pending());
    assert_eq!(q.get_nowait(), Ok(5));
    assert_eq!(future::block_on(put), Ok(()));
    assert_eq!(q.get_nowait(), Ok(0));
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
}

/// Makes every `Touchy` comparison panic while set.
static ARMED: AtomicBool = AtomicBool::new(false);

/// An `Ord` whose comparisons panic while [`ARMED`] is set.
#[derive(Debug, PartialEq, Eq)]
struct Touchy(u32);

impl PartialOrd for Touchy {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Touchy {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        assert!(!ARMED.load(Ordering::SeqCst), "comparison panics");
        self.0.cmp(&other.0)
    }
}

/// Runs `f` with comparisons panicking; returns whether `f` panicked.
fn with_panicking_cmp(f: impl FnOnce()) -> bool {
    ARMED.store(true, Ordering::SeqCst);
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(f)).is_err();
    ARMED.store(false, Ordering::SeqCst);
    panicked
}

#[test]
fn a_panicking_comparison_loses_no_item_and_keeps_the_counts() {
    let q = PriorityQueue::new(0);
    for n in [5, 3, 8, 1, 4] {
        q.put_nowait(Touchy(n)).unwrap();
    }
    // The put panics while sifting up: the item is in the queue and counted.
    assert!(with_panicking_cmp(|| drop(q.put_nowait(Touchy(0)))));
    assert_eq!((q.qsize(), q.unfinished_tasks()), (6, 6));
    // The get panics while sifting down: the top item is put back.
    assert!(with_panicking_cmp(|| drop(q.get_nowait())));
    assert_eq!((q.qsize(), q.unfinished_tasks()), (6, 6));
    // Every item is still there, and the queue still works.
    let mut out: Vec<u32> = std::iter::from_fn(|| q.get_nowait().ok().map(|t| t.0)).collect();
    out.sort_unstable();
    assert_eq!(out, [0, 1, 3, 4, 5, 8]);
    q.put_nowait(Touchy(2)).unwrap();
    q.put_nowait(Touchy(1)).unwrap();
    assert_eq!(q.get_nowait(), Ok(Touchy(1)));
}

#[test]
fn items_left_in_a_dropped_priority_queue_are_dropped_once() {
    let log = DropLog::new();
    let q = PriorityQueue::new(0);
    for n in [4, 2, 9] {
        q.put_nowait(log.item(n)).unwrap();
    }
    assert_eq!(q.get_nowait().unwrap().id, 2);
    drop(q);
    log.assert_all_dropped_once();
}
