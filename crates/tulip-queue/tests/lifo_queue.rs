//! `LifoQueue` (newest first): behaviour tests and a proptest model against `Vec`.

mod common;

use common::{model, poll_once, DropLog};
use futures_lite::future;
use proptest::prelude::*;
use tulip_queue::{GetError, LifoQueue, PutError};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 512 }))]

    #[test]
    fn behaves_like_a_vec_model(maxsize in 0..4usize, ops in model::ops()) {
        model::check::<LifoQueue<u32>>(maxsize, ops)?;
    }
}

#[test]
fn newest_item_comes_out_first() {
    let q = LifoQueue::new(0);
    for n in [1, 3, 2] {
        q.put_nowait(n).unwrap();
    }
    let out: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
    assert_eq!(out, [2, 3, 1]);
}

#[test]
fn a_full_lifo_queue_hands_the_item_back_and_a_get_makes_room() {
    let q = LifoQueue::new(2);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    assert_eq!(q.put_nowait(3), Err(PutError::Full(3)));
    let mut put = q.put(3);
    assert!(poll_once(&mut put).is_pending());
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(future::block_on(put), Ok(()));
    assert_eq!(q.get_nowait(), Ok(3));
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
}

#[test]
fn graceful_shutdown_drains_newest_first() {
    let q = LifoQueue::new(0);
    q.put_nowait('a').unwrap();
    q.put_nowait('b').unwrap();
    q.shutdown(false);
    assert_eq!(q.get_nowait(), Ok('b'));
    assert_eq!(q.get_nowait(), Ok('a'));
    assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
}

#[test]
fn items_left_in_a_dropped_lifo_queue_are_dropped_once() {
    let log = DropLog::new();
    let q = LifoQueue::new(0);
    for n in 0..10 {
        q.put_nowait(log.item(n)).unwrap();
    }
    drop(q.get_nowait());
    drop(q);
    log.assert_all_dropped_once();
}
