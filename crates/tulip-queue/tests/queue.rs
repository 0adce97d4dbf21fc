//! `Queue` (FIFO): behaviour tests and proptest models against `VecDeque`, within the queue's
//! ring and beyond it.

mod common;

use common::{model, poll_once, run_until_stalled, within, DropLog};
use futures_lite::future;
use proptest::prelude::*;
use std::task::Poll;
use std::time::Duration;
use tulip_queue::{GetError, PutError, Queue, QueueShutDown, TooManyTaskDone};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 512 }))]

    #[test]
    fn behaves_like_a_vecdeque_model(maxsize in 0..4usize, ops in model::ops()) {
        model::check::<Queue<u32>>(maxsize, ops)?;
    }

    /// Items so large that the queue's ring holds three: with a larger `maxsize` the others
    /// wait in the overflow behind the ring, and move into it as the ring drains.
    #[test]
    fn beyond_its_ring_behaves_like_a_vecdeque_model(maxsize in 4..12usize, ops in model::ops()) {
        model::check::<Queue<model::Heavy>>(maxsize, ops)?;
    }
}

#[test]
fn items_come_out_in_put_order() {
    let q = Queue::new(0);
    for n in [1, 3, 2] {
        q.put_nowait(n).unwrap();
    }
    let out: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
    assert_eq!(out, [1, 3, 2]);
}

#[test]
fn zero_maxsize_is_unbounded() {
    // Fewer under Miri (cargo xtask miri --all), where 10,000 puts take minutes.
    const N: usize = if cfg!(miri) { 300 } else { 10_000 };
    let q = Queue::new(0);
    for n in 0..N {
        q.put_nowait(n).unwrap();
    }
    assert!(!q.full());
    assert_eq!(q.qsize(), N);
}

#[test]
fn put_nowait_on_a_full_queue_hands_the_item_back() {
    let q = Queue::new(2);
    q.put_nowait("a").unwrap();
    q.put_nowait("b").unwrap();
    assert_eq!(q.put_nowait("c"), Err(PutError::Full("c")));
    assert_eq!(q.unfinished_tasks(), 2);
}

#[test]
fn get_nowait_on_an_empty_queue_is_empty() {
    let q: Queue<()> = Queue::new(0);
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
}

#[test]
fn handles_are_clones_of_one_queue() {
    let a = Queue::new(0);
    let b = a.clone();
    a.put_nowait(1).unwrap();
    assert_eq!(b.get_nowait(), Ok(1));
    assert!(a.same_queue(&b));
    assert!(!a.same_queue(&Queue::new(0)));
}

#[test]
fn task_done_once_too_often_is_an_error_and_keeps_the_count_at_zero() {
    let q = Queue::new(0);
    q.put_nowait(()).unwrap();
    q.task_done().unwrap();
    assert_eq!(q.task_done(), Err(TooManyTaskDone));
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn put_waits_for_room_and_get_wakes_it() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let mut put = q.put(2);
    assert!(poll_once(&mut put).is_pending());
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(future::block_on(put), Ok(()));
    assert_eq!(q.get_nowait(), Ok(2));
}

#[test]
fn a_dropped_pending_put_never_enqueues_its_item() {
    let log = DropLog::new();
    let q = Queue::new(1);
    q.put_nowait(log.item(1)).unwrap();
    let mut put = q.put(log.item(2));
    assert!(poll_once(&mut put).is_pending());
    drop(put);
    assert_eq!(log.drops(), 1);
    assert_eq!(q.qsize(), 1);
    assert_eq!(q.unfinished_tasks(), 1);
    assert_eq!(q.get_nowait().unwrap().id, 1);
}

#[test]
fn put_into_inner_recovers_the_item_of_a_pending_put() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let mut put = q.put(2);
    assert!(poll_once(&mut put).is_pending());
    assert_eq!(put.into_inner(), Some(2));
    assert_eq!(q.qsize(), 1);
}

#[test]
fn get_item_marks_the_task_done_when_dropped_even_on_panic() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    let q2 = q.clone();
    let result = std::panic::catch_unwind(move || {
        let _item = q2.get_item_nowait().unwrap();
        panic!("worker failed");
    });
    assert!(result.is_err());
    assert_eq!(q.unfinished_tasks(), 0);
    future::block_on(q.join());
}

#[test]
fn join_returns_at_once_when_nothing_is_unfinished() {
    let q: Queue<()> = Queue::new(0);
    assert_eq!(poll_once(&mut q.join()), Poll::Ready(()));
}

#[test]
fn join_waits_for_the_last_task_done() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    let flag = common::WakeCounter::new();
    let mut join = q.join();
    assert!(common::poll_with(&mut join, &flag).is_pending());
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    assert!(!flag.take());
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    assert!(flag.take());
    assert_eq!(poll_once(&mut join), Poll::Ready(()));
}

#[test]
fn a_joiner_released_by_task_done_returns_even_if_a_put_follows_before_it_runs() {
    // asyncio's join() waits on an Event: once set, the waiter returns even if a later put
    // clears it before the waiter is scheduled.
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    let mut join = q.join();
    assert!(poll_once(&mut join).is_pending());
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    q.put_nowait(2).unwrap();
    assert_eq!(poll_once(&mut join), Poll::Ready(()));
    // A new joiner waits for the new item.
    assert!(poll_once(&mut q.join()).is_pending());
}

#[test]
fn shutdown_fails_waiting_putters_and_getters() {
    let ex = async_executor::LocalExecutor::new();
    let full = Queue::new(1);
    full.put_nowait(0).unwrap();
    let empty: Queue<i32> = Queue::new(0);
    let putter = ex.spawn({
        let q = full.clone();
        async move { q.put(1).await }
    });
    let getter = ex.spawn({
        let q = empty.clone();
        async move { q.get().await }
    });
    run_until_stalled(&ex);
    assert!(!putter.is_finished() && !getter.is_finished());
    full.shutdown(false);
    empty.shutdown(false);
    run_until_stalled(&ex);
    assert_eq!(future::block_on(putter), Err(QueueShutDown));
    assert_eq!(future::block_on(getter), Err(QueueShutDown));
    // Graceful: the item stays for getters.
    assert_eq!(full.get_nowait(), Ok(0));
}

#[test]
fn blocking_put_and_get_work_across_threads() {
    // Fewer under Miri (cargo xtask miri --all), where each hand-over takes milliseconds.
    const N: i32 = if cfg!(miri) { 50 } else { 1000 };
    within(Duration::from_secs(60), || {
        let q = Queue::new(2);
        let producer = std::thread::spawn({
            let q = q.clone();
            move || {
                for n in 0..N {
                    q.put_blocking(n).unwrap();
                }
                q.join_blocking();
                q.shutdown(false);
            }
        });
        let mut next = 0;
        while let Ok(n) = q.get_blocking() {
            assert_eq!(n, next);
            next += 1;
            q.task_done().unwrap();
        }
        assert_eq!(next, N);
        producer.join().unwrap();
    });
}

#[test]
fn debug_shows_the_counts() {
    let q = Queue::new(3);
    q.put_nowait(1).unwrap();
    let s = format!("{q:?}");
    assert!(s.contains("qsize: 1") && s.contains("maxsize: 3"), "{s}");
}
