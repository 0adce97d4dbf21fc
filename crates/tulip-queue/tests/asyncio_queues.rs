//! asyncio's queue behaviour, ported from CPython's test suite.
//!
//! Source: `Lib/test/test_asyncio/test_queues.py`, CPython 3.13,
//! <https://github.com/python/cpython/blob/3.13/Lib/test/test_asyncio/test_queues.py>
//! (Python Software Foundation License). The scenarios are re-expressed in Rust; no code is
//! copied. One `mod` per upstream test class; test names follow the upstream ones.
//!
//! asyncio's tasks become tasks on a single-threaded `async_executor::LocalExecutor`;
//! `await asyncio.sleep(0)` becomes [`run_until_stalled`] (run every task that can make
//! progress); `task.cancel()` becomes dropping the task, which drops its future the next time
//! the executor runs. Everything is deterministic: no timers, no threads.

mod common;

use std::{cell::RefCell, rc::Rc};

use async_executor::{LocalExecutor, Task};
use common::run_until_stalled;
use futures_lite::future;
use tulip_queue::{GetError, LifoQueue, PriorityQueue, PutError, Queue, QueueShutDown};

/// The result of a finished task.
fn result<T>(task: Task<T>) -> T {
    assert!(task.is_finished(), "the task has not finished");
    future::block_on(task)
}

/// Cancels `task` and lets the executor drop its future.
fn cancel<T>(ex: &LocalExecutor<'_>, task: Task<T>) {
    drop(task);
    run_until_stalled(ex);
}

/// `QueueBasicTests`.
mod queue_basic {
    use super::*;

    #[test]
    fn test_empty() {
        future::block_on(async {
            let q = Queue::new(0);
            assert!(q.empty());
            q.put(1).await.unwrap();
            assert!(!q.empty());
            assert_eq!(q.get().await, Ok(1));
            assert!(q.empty());
        });
    }

    #[test]
    fn test_full() {
        future::block_on(async {
            let q: Queue<i32> = Queue::new(0);
            assert!(!q.full());
            let q = Queue::new(1);
            q.put(1).await.unwrap();
            assert!(q.full());
        });
    }

    #[test]
    fn test_order() {
        future::block_on(async {
            let q = Queue::new(0);
            for n in [1, 3, 2] {
                q.put(n).await.unwrap();
            }
            let mut items = Vec::new();
            for _ in 0..3 {
                items.push(q.get().await.unwrap());
            }
            assert_eq!(items, [1, 3, 2]);
        });
    }

    #[test]
    fn test_maxsize() {
        let ex = LocalExecutor::new();
        let q = Queue::new(2);
        assert_eq!(q.maxsize(), 2);
        let have_been_put = Rc::new(RefCell::new(Vec::new()));
        let putter = ex.spawn({
            let (q, have_been_put) = (q.clone(), Rc::clone(&have_been_put));
            async move {
                for n in 0..3 {
                    q.put(n).await.unwrap();
                    have_been_put.borrow_mut().push(n);
                }
                true
            }
        });
        run_until_stalled(&ex);
        // The putter is blocked after putting two items.
        assert_eq!(*have_been_put.borrow(), [0, 1]);
        assert_eq!(q.get_nowait(), Ok(0));
        // Let the putter resume and put the last item.
        run_until_stalled(&ex);
        assert_eq!(*have_been_put.borrow(), [0, 1, 2]);
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
        assert!(result(putter));
    }
}

/// `QueueGetTests`.
mod queue_get {
    use super::*;

    #[test]
    fn test_blocking_get() {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        assert_eq!(future::block_on(q.get()), Ok(1));
    }

    #[test]
    fn test_get_with_putters() {
        let ex = LocalExecutor::new();
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let putter = ex.spawn({
            let q = q.clone();
            async move { q.put(2).await }
        });
        run_until_stalled(&ex);
        assert!(!putter.is_finished());
        assert_eq!(future::block_on(q.get()), Ok(1));
        // The get woke the waiting putter.
        run_until_stalled(&ex);
        assert_eq!(result(putter), Ok(()));
        assert_eq!(q.get_nowait(), Ok(2));
    }

    #[test]
    fn test_blocking_get_wait() {
        let ex = LocalExecutor::new();
        let q = Queue::new(0);
        let getter = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        assert!(!getter.is_finished());
        q.put_nowait(1).unwrap();
        run_until_stalled(&ex);
        assert_eq!(result(getter), Ok(1));
    }

    #[test]
    fn test_nonblocking_get() {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        assert_eq!(q.get_nowait(), Ok(1));
    }

    #[test]
    fn test_nonblocking_get_exception() {
        let q: Queue<i32> = Queue::new(0);
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
    }

    #[test]
    fn test_get_cancelled_race() {
        let ex = LocalExecutor::new();
        let q = Queue::new(0);
        let t1 = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        let t2 = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        cancel(&ex, t1);
        q.put_nowait('a').unwrap();
        run_until_stalled(&ex);
        assert_eq!(result(t2), Ok('a'));
    }

    #[test]
    fn test_get_with_waiting_putters() {
        let ex = LocalExecutor::new();
        let q = Queue::new(1);
        let put_a = ex.spawn({
            let q = q.clone();
            async move { q.put('a').await }
        });
        let put_b = ex.spawn({
            let q = q.clone();
            async move { q.put('b').await }
        });
        run_until_stalled(&ex);
        assert_eq!(future::block_on(q.get()), Ok('a'));
        run_until_stalled(&ex);
        assert_eq!(future::block_on(q.get()), Ok('b'));
        assert_eq!(result(put_a), Ok(()));
        assert_eq!(result(put_b), Ok(()));
    }

    #[test]
    fn test_why_are_getters_waiting() {
        let ex = LocalExecutor::new();
        let q = Queue::new(1);
        let items = 5;
        let consumer = ex.spawn({
            let q = q.clone();
            async move {
                for _ in 0..items {
                    q.get().await.unwrap();
                }
            }
        });
        let producer = ex.spawn({
            let q = q.clone();
            async move {
                for n in 0..items {
                    q.put(n).await.unwrap();
                }
            }
        });
        run_until_stalled(&ex);
        result(consumer);
        result(producer);
    }

    #[test]
    fn test_cancelled_getters_not_being_held_in_self_getters() {
        let ex = LocalExecutor::new();
        let q = Queue::new(5);
        let getter = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        // Upstream times the getter out; dropping it is the same cancellation.
        cancel(&ex, getter);
        // Nothing waits any more: a put is not handed to the dead getter, and a new getter
        // is served.
        q.put_nowait(1).unwrap();
        assert_eq!(q.get_nowait(), Ok(1));
        let getter = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        q.put_nowait(2).unwrap();
        run_until_stalled(&ex);
        assert_eq!(result(getter), Ok(2));
    }
}

/// `QueuePutTests`.
mod queue_put {
    use super::*;

    #[test]
    fn test_blocking_put() {
        future::block_on(async {
            let q = Queue::new(0);
            // No maxsize: it does not wait.
            q.put(1).await.unwrap();
            assert_eq!(q.get().await, Ok(1));
        });
    }

    #[test]
    fn test_blocking_put_wait() {
        let ex = LocalExecutor::new();
        let q = Queue::new(1);
        let finished = Rc::new(RefCell::new(false));
        let putter = ex.spawn({
            let (q, finished) = (q.clone(), Rc::clone(&finished));
            async move {
                q.put(1).await.unwrap();
                q.put(2).await.unwrap();
                *finished.borrow_mut() = true;
            }
        });
        run_until_stalled(&ex);
        assert!(!*finished.borrow());
        q.get_nowait().unwrap();
        run_until_stalled(&ex);
        assert!(*finished.borrow());
        result(putter);
    }

    #[test]
    fn test_nonblocking_put() {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        assert_eq!(q.get_nowait(), Ok(1));
    }

    #[test]
    fn test_get_cancel_drop_one_pending_reader() {
        let ex = LocalExecutor::new();
        let q = Queue::new(0);
        let reader = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        // The reader was woken for item 1 but has not run: cancelling it must not lose 1.
        cancel(&ex, reader);
        let reader = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        assert_eq!(result(reader), Ok(1), "item 1 was dropped");
    }

    #[test]
    fn test_get_cancel_drop_many_pending_readers() {
        let ex = LocalExecutor::new();
        let q = Queue::new(0);
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                ex.spawn(async move { q.get().await })
            })
            .collect();
        run_until_stalled(&ex);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let mut readers = readers.into_iter();
        cancel(&ex, readers.next().unwrap());
        run_until_stalled(&ex);
        // Which reader gets which item is unspecified; none is lost.
        let mut got: Vec<i32> = readers.map(|r| result(r).unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    }

    #[test]
    fn test_put_cancel_drop() {
        let ex = LocalExecutor::new();
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        // Putting a second item has to wait (maxsize 1).
        let writer = ex.spawn({
            let q = q.clone();
            async move { q.put(2).await }
        });
        run_until_stalled(&ex);
        assert_eq!(q.get_nowait(), Ok(1));
        // The writer was woken but has not run: cancelling it must not enqueue 2.
        cancel(&ex, writer);
        assert_eq!(q.qsize(), 0);
        let writer = ex.spawn({
            let q = q.clone();
            async move { q.put(2).await }
        });
        run_until_stalled(&ex);
        assert_eq!(result(writer), Ok(()));
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(q.qsize(), 0);
    }

    #[test]
    fn test_nonblocking_put_exception() {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        assert_eq!(q.put_nowait(2), Err(PutError::Full(2)));
    }

    #[test]
    fn test_put_cancelled() {
        let ex = LocalExecutor::new();
        let q = Queue::new(0);
        let putter = ex.spawn({
            let q = q.clone();
            async move {
                q.put(1).await.unwrap();
                true
            }
        });
        let got = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        assert_eq!(result(got), Ok(1));
        assert!(result(putter));
    }

    #[test]
    fn test_put_cancelled_race() {
        let ex = LocalExecutor::new();
        let q = Queue::new(1);
        let spawn_put = |item| {
            let q = q.clone();
            ex.spawn(async move { q.put(item).await })
        };
        let put_a = spawn_put('a');
        let put_b = spawn_put('b');
        let put_c = spawn_put('X');
        run_until_stalled(&ex);
        assert!(put_a.is_finished());
        assert!(!put_b.is_finished());
        cancel(&ex, put_c);
        assert_eq!(q.get_nowait(), Ok('a'));
        run_until_stalled(&ex);
        assert_eq!(q.get_nowait(), Ok('b'));
        assert_eq!(result(put_b), Ok(()));
        assert_eq!(result(put_a), Ok(()));
    }

    #[test]
    fn test_put_with_waiting_getters() {
        let ex = LocalExecutor::new();
        let q = Queue::new(0);
        let getter = ex.spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        run_until_stalled(&ex);
        future::block_on(q.put('a')).unwrap();
        run_until_stalled(&ex);
        assert_eq!(result(getter), Ok('a'));
    }

    #[test]
    fn test_why_are_putters_waiting() {
        let ex = LocalExecutor::new();
        let q = Queue::new(2);
        let getter = ex.spawn({
            let q = q.clone();
            async move {
                future::yield_now().await;
                for _ in 0..q.qsize() {
                    q.get_nowait().unwrap();
                }
            }
        });
        let putters: Vec<_> = (0..4)
            .map(|n| {
                let q = q.clone();
                ex.spawn(async move { q.put(n).await })
            })
            .collect();
        run_until_stalled(&ex);
        result(getter);
        for putter in putters {
            assert_eq!(result(putter), Ok(()));
        }
    }

    #[test]
    fn test_cancelled_puts_not_being_held_in_self_putters() {
        let ex = LocalExecutor::new();
        // A full queue, and a task waiting for room.
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let putter = ex.spawn({
            let q = q.clone();
            async move { q.put(1).await }
        });
        run_until_stalled(&ex);
        cancel(&ex, putter);
        // The freed slot is not reserved for the dead putter.
        assert_eq!(q.get_nowait(), Ok(1));
        q.put_nowait(2).unwrap();
        assert_eq!(q.qsize(), 1);
    }

    #[test]
    fn test_cancelled_put_silence_value_error_exception() {
        let ex = LocalExecutor::new();
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let putter = ex.spawn({
            let q = q.clone();
            async move { q.put(1).await }
        });
        run_until_stalled(&ex);
        // The get wakes the putter; cancelling it before it runs is not an error, and it
        // enqueues nothing.
        q.get_nowait().unwrap();
        cancel(&ex, putter);
        assert_eq!(q.qsize(), 0);
        assert_eq!(q.unfinished_tasks(), 1);
    }
}

/// `LifoQueueTests` and `PriorityQueueTests`.
mod order {
    use super::*;

    #[test]
    fn lifo_test_order() {
        future::block_on(async {
            let q = LifoQueue::new(0);
            for n in [1, 3, 2] {
                q.put(n).await.unwrap();
            }
            let mut items = Vec::new();
            for _ in 0..3 {
                items.push(q.get().await.unwrap());
            }
            assert_eq!(items, [2, 3, 1]);
        });
    }

    #[test]
    fn priority_test_order() {
        future::block_on(async {
            let q = PriorityQueue::new(0);
            for n in [1, 3, 2] {
                q.put(n).await.unwrap();
            }
            let mut items = Vec::new();
            for _ in 0..3 {
                items.push(q.get().await.unwrap());
            }
            assert_eq!(items, [1, 2, 3]);
        });
    }
}

/// `_QueueJoinTestMixin` and `_QueueShutdownTestMixin`, for each queue class.
macro_rules! join_and_shutdown_tests {
    ($module:ident, $Q:ident) => {
        mod $module {
            use super::*;

            type Q<T> = $Q<T>;

            #[test]
            fn test_task_done_underflow() {
                let q: Q<i32> = Q::new(0);
                assert!(q.task_done().is_err());
            }

            #[test]
            fn test_task_done() {
                let ex = LocalExecutor::new();
                let q = Q::new(0);
                for n in 0..100 {
                    q.put_nowait(n).unwrap();
                }
                let accumulator = Rc::new(RefCell::new(0));
                // Two workers get items and call task_done after each; join, then check
                // that every item was processed.
                let workers: Vec<_> = (0..2)
                    .map(|_| {
                        let (q, accumulator) = (q.clone(), Rc::clone(&accumulator));
                        ex.spawn(async move {
                            while let Ok(n) = q.get().await {
                                *accumulator.borrow_mut() += n;
                                q.task_done().unwrap();
                            }
                        })
                    })
                    .collect();
                let joiner = ex.spawn({
                    let q = q.clone();
                    async move { q.join().await }
                });
                run_until_stalled(&ex);
                result(joiner);
                assert_eq!(*accumulator.borrow(), (0..100).sum::<i32>());
                // Stop the workers (upstream feeds them sentinels).
                q.shutdown(false);
                run_until_stalled(&ex);
                workers.into_iter().for_each(result);
            }

            #[test]
            fn test_join_empty_queue() {
                let q: Q<i32> = Q::new(0);
                // join() returns at once, twice.
                future::block_on(async {
                    q.join().await;
                    q.join().await;
                });
            }

            /// Every operation reports the shutdown.
            fn assert_raises_shutdown(q: &Q<&'static str>) {
                assert_eq!(future::block_on(q.put("data")), Err(QueueShutDown));
                assert_eq!(q.put_nowait("data"), Err(PutError::ShutDown("data")));
                assert_eq!(future::block_on(q.get()), Err(QueueShutDown));
                assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
            }

            #[test]
            fn test_shutdown_empty() {
                let ex = LocalExecutor::new();
                let q: Q<&str> = Q::new(0);
                let get_task = ex.spawn({
                    let q = q.clone();
                    async move { q.get().await }
                });
                run_until_stalled(&ex); // the get is pending before the shutdown
                q.shutdown(false); // unfinished tasks: 0 -> 0
                assert_eq!(q.qsize(), 0);
                future::block_on(q.join());
                run_until_stalled(&ex);
                assert_eq!(result(get_task), Err(QueueShutDown));
                assert_raises_shutdown(&q);
            }

            #[test]
            fn test_shutdown_nonempty() {
                let ex = LocalExecutor::new();
                let q = Q::new(1);
                q.put_nowait("data").unwrap();
                let join_task = ex.spawn({
                    let q = q.clone();
                    async move { q.join().await }
                });
                let put_task = ex.spawn({
                    let q = q.clone();
                    async move { q.put("data2").await }
                });
                run_until_stalled(&ex);
                assert!(!put_task.is_finished());

                q.shutdown(false); // unfinished tasks: 1 -> 1
                assert_eq!(q.qsize(), 1);
                run_until_stalled(&ex);
                assert_eq!(result(put_task), Err(QueueShutDown));

                // The item still comes out.
                assert_eq!(future::block_on(q.get()), Ok("data"));
                run_until_stalled(&ex);
                assert!(!join_task.is_finished());
                assert_raises_shutdown(&q);

                // One unfinished task is left; marking it done releases join().
                q.task_done().unwrap();
                run_until_stalled(&ex);
                result(join_task);
                assert!(q.task_done().is_err(), "all tasks should be done");
            }

            #[test]
            fn test_shutdown_immediate() {
                let ex = LocalExecutor::new();
                let q = Q::new(0);
                q.put_nowait("data").unwrap();
                let join_task = ex.spawn({
                    let q = q.clone();
                    async move { q.join().await }
                });
                run_until_stalled(&ex);
                q.shutdown(true); // unfinished tasks: 1 -> 0
                assert_eq!(q.qsize(), 0);
                run_until_stalled(&ex);
                result(join_task);
                assert_raises_shutdown(&q);
                assert!(q.task_done().is_err(), "no task should be unfinished");
            }

            #[test]
            fn test_shutdown_immediate_with_unfinished() {
                let ex = LocalExecutor::new();
                let q = Q::new(0);
                q.put_nowait("data").unwrap();
                q.put_nowait("data").unwrap();
                let join_task = ex.spawn({
                    let q = q.clone();
                    async move { q.join().await }
                });
                run_until_stalled(&ex);
                assert_eq!(future::block_on(q.get()), Ok("data"));

                q.shutdown(true); // unfinished tasks: 2 -> 1
                assert_eq!(q.qsize(), 0);
                run_until_stalled(&ex);
                assert!(!join_task.is_finished());
                assert_raises_shutdown(&q);

                // Exactly one unfinished task is left.
                q.task_done().unwrap();
                assert!(q.task_done().is_err(), "all tasks should be done");
                run_until_stalled(&ex);
                result(join_task);
            }
        }
    };
}

join_and_shutdown_tests!(queue_join_and_shutdown, Queue);
join_and_shutdown_tests!(lifo_queue_join_and_shutdown, LifoQueue);
join_and_shutdown_tests!(priority_queue_join_and_shutdown, PriorityQueue);
