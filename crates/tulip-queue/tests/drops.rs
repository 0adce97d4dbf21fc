//! Every item is dropped exactly once — left in a dropped queue or channel, discarded by an
//! immediate shutdown, evicted, replaced — and an item whose `Drop` panics leaves the queue
//! consistent, with the remaining items still dropped.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{run_until_stalled, DropLog};
use futures_lite::future;
use tulip_queue::{channel, GetError, LifoQueue, PriorityQueue, Queue, QueueShutDown};

/// Runs `f`, expecting it to panic (from an item's `Drop`).
fn expect_panic(f: impl FnOnce()) {
    assert!(
        catch_unwind(AssertUnwindSafe(f)).is_err(),
        "expected a panic"
    );
}

macro_rules! queue_drop_tests {
    ($module:ident, $Q:ident) => {
        mod $module {
            use super::*;

            #[test]
            fn items_left_in_a_dropped_queue_are_dropped_once() {
                for maxsize in [0, 1, 5, 64] {
                    let log = DropLog::new();
                    let q = $Q::new(maxsize);
                    let n = if maxsize == 0 { 100 } else { maxsize as u32 };
                    for id in 0..n {
                        q.put_nowait(log.item(id)).unwrap();
                    }
                    drop(q.get_nowait().unwrap());
                    let clone = q.clone();
                    drop(q);
                    assert_eq!(log.drops(), 1, "a live handle keeps the items");
                    drop(clone);
                    log.assert_all_dropped_once();
                }
            }

            #[test]
            fn items_refused_by_put_nowait_are_handed_back_not_dropped() {
                let log = DropLog::new();
                let q = $Q::new(1);
                q.put_nowait(log.item(1)).unwrap();
                let refused = q.put_nowait(log.item(2)).unwrap_err().into_inner();
                assert_eq!(log.drops(), 0);
                q.shutdown(false);
                let refused2 = q.put_nowait(log.item(3)).unwrap_err().into_inner();
                assert_eq!((refused.id, refused2.id), (2, 3));
                drop((refused, refused2, q));
                log.assert_all_dropped_once();
            }

            #[test]
            fn an_immediate_shutdown_drops_the_items_left_once() {
                let log = DropLog::new();
                let q = $Q::new(0);
                for id in 0..10 {
                    q.put_nowait(log.item(id)).unwrap();
                }
                q.shutdown(true);
                assert_eq!(log.drops(), 10);
                q.shutdown(true);
                drop(q);
                log.assert_all_dropped_once();
            }

            #[test]
            fn a_put_failed_by_shutdown_drops_its_item_once() {
                let log = DropLog::new();
                let ex = async_executor::LocalExecutor::new();
                let q = $Q::new(1);
                q.put_nowait(log.item(0)).unwrap();
                let putter = ex.spawn({
                    let (q, item) = (q.clone(), log.item(1));
                    async move { q.put(item).await }
                });
                run_until_stalled(&ex);
                q.shutdown(false);
                run_until_stalled(&ex);
                assert_eq!(future::block_on(putter), Err(QueueShutDown));
                assert_eq!(log.drops(), 1);
                drop(q);
                log.assert_all_dropped_once();
            }

            #[test]
            fn a_panicking_drop_in_a_dropped_queue_still_drops_the_rest() {
                let log = DropLog::new();
                let q = $Q::new(0);
                for id in 0..5 {
                    q.put_nowait(log.item(id)).unwrap();
                }
                q.put_nowait(log.bomb(5)).unwrap();
                for id in 6..10 {
                    q.put_nowait(log.item(id)).unwrap();
                }
                expect_panic(|| drop(q));
                log.assert_all_dropped_once();
            }

            #[test]
            fn a_panicking_drop_during_an_immediate_shutdown_leaves_the_queue_consistent() {
                let log = DropLog::new();
                let ex = async_executor::LocalExecutor::new();
                let q = $Q::new(0);
                for id in 0..3 {
                    q.put_nowait(log.item(id)).unwrap();
                }
                q.put_nowait(log.bomb(3)).unwrap();
                for id in 4..6 {
                    q.put_nowait(log.item(id)).unwrap();
                }
                let joiner = ex.spawn({
                    let q = q.clone();
                    async move { q.join().await }
                });
                run_until_stalled(&ex);
                expect_panic(|| q.shutdown(true));
                // Every discarded item was dropped, the queue is shut down and empty, the
                // unfinished count is adjusted and join() released.
                log.assert_all_dropped_once();
                assert!(q.is_shut_down());
                assert_eq!(q.qsize(), 0);
                assert_eq!(q.unfinished_tasks(), 0);
                assert_eq!(q.get_nowait().map(|_| ()), Err(GetError::ShutDown));
                run_until_stalled(&ex);
                assert!(joiner.is_finished());
            }

            #[test]
            fn a_panicking_drop_of_a_gotten_item_does_not_affect_the_queue() {
                let log = DropLog::new();
                let q = $Q::new(0);
                q.put_nowait(log.bomb(0)).unwrap();
                let item = q.get_nowait().unwrap();
                q.put_nowait(log.item(1)).unwrap();
                expect_panic(|| drop(item));
                q.task_done().unwrap();
                assert_eq!(q.qsize(), 1);
                q.put_nowait(log.item(2)).unwrap();
                assert_eq!(q.qsize(), 2);
                drop(q);
                log.assert_all_dropped_once();
            }
        }
    };
}

queue_drop_tests!(queue, Queue);
queue_drop_tests!(lifo_queue, LifoQueue);
queue_drop_tests!(priority_queue, PriorityQueue);

#[test]
fn messages_left_when_the_last_receiver_goes_are_dropped_once_even_if_one_panics() {
    let log = DropLog::new();
    let (tx, rx) = channel::bounded(8);
    tx.try_send(log.item(0)).unwrap();
    tx.try_send(log.bomb(1)).unwrap();
    tx.try_send(log.item(2)).unwrap();
    expect_panic(|| drop(rx));
    log.assert_all_dropped_once();
    assert!(tx.is_closed());
    assert!(tx.try_send(log.item(3)).unwrap_err().is_closed());
    log.assert_all_dropped_once();
}

#[test]
fn messages_left_in_a_dropped_channel_are_dropped_once_even_if_one_panics() {
    let log = DropLog::new();
    let (tx, rx) = channel::unbounded();
    for id in 0..3 {
        tx.try_send(log.item(id)).unwrap();
    }
    tx.try_send(log.bomb(3)).unwrap();
    tx.try_send(log.item(4)).unwrap();
    // Senders alive while the receiver goes: the receiver drains.
    expect_panic(|| drop(rx));
    drop(tx);
    log.assert_all_dropped_once();
}

#[test]
fn a_panicking_oneshot_value_is_dropped_once() {
    let log = DropLog::new();
    let (tx, rx) = channel::oneshot();
    tx.send(log.bomb(0)).unwrap();
    expect_panic(|| drop(rx));
    log.assert_all_dropped_once();
}

#[test]
fn a_panicking_evicted_broadcast_message_leaves_the_channel_working() {
    let log = DropLog::new();
    let (tx, mut rx) = channel::broadcast(1);
    tx.send(std::sync::Arc::new(log.bomb(0))).unwrap();
    // Evicting the bomb panics, after the new message is in place.
    expect_panic(|| drop(tx.send(std::sync::Arc::new(log.item(1)))));
    assert_eq!(
        rx.try_recv().map(|_| ()),
        Err(channel::broadcast::TryRecvError::Lagged(1))
    );
    assert_eq!(rx.try_recv().unwrap().id, 1);
    tx.send(std::sync::Arc::new(log.item(2))).unwrap();
    assert_eq!(rx.try_recv().unwrap().id, 2);
    drop((tx, rx));
    log.assert_all_dropped_once();
}

#[test]
fn a_panicking_replaced_watch_value_leaves_the_new_value_in_place() {
    let log = DropLog::new();
    let (tx, mut rx) = channel::watch(log.bomb(0));
    expect_panic(|| drop(tx.send(log.item(1))));
    assert_eq!(rx.borrow_and_update().id, 1);
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send(log.item(2)).unwrap();
    assert_eq!(rx.has_changed(), Ok(true));
    drop((tx, rx));
    log.assert_all_dropped_once();
}
