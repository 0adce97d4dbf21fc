//! as_completed: completion order, positions, and dropping the stream; on both flavours of the
//! loop.

mod common;

use std::future::{pending, Future};
use std::pin::Pin;

use common::{after, on_both, runner, secs, since, Counter};
use futures_lite::StreamExt;
use tulip_executor::spawn;
use tulip_reactor::{sleep, Instant};
use tulip_task::{as_completed, timeout};

#[test]
fn outputs_come_in_completion_order() {
    on_both(|| async {
        let start = Instant::now();
        let mut stream = as_completed([4u64, 1, 3, 2].map(|s| after(secs(s), s)));
        let mut seen = Vec::new();
        while let Some(v) = stream.next().await {
            // Each output is available as soon as its future completes.
            assert_eq!(since(start), secs(v));
            seen.push(v);
        }
        assert_eq!(seen, [1, 2, 3, 4]);
    });
}

#[test]
fn indexed_tells_which_future_finished() {
    on_both(|| async {
        let futs = [30u64, 10, 20].map(|ms| after(std::time::Duration::from_millis(ms), ()));
        let order: Vec<usize> = as_completed(futs)
            .indexed()
            .map(|(i, ())| i)
            .collect()
            .await;
        assert_eq!(order, [1, 2, 0]);
    });
}

#[test]
fn on_one_thread_simultaneous_completions_come_in_input_order() {
    // Flavour-dependent: on one thread the loop runs the tasks due at one instant in FIFO
    // order, as asyncio does.
    runner(1).run(async {
        let tasks: Vec<_> = (0..5u64).map(|i| spawn(after(secs(1), i))).collect();
        let order: Vec<u64> = as_completed(tasks).map(Result::unwrap).collect().await;
        assert_eq!(order, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn it_works_over_tasks() {
    on_both(|| async {
        let tasks: Vec<_> = [3u64, 1, 2].map(|s| spawn(after(secs(s), s))).into();
        let order: Vec<u64> = as_completed(tasks).map(Result::unwrap).collect().await;
        assert_eq!(order, [1, 2, 3]);
    });
}

#[test]
fn remaining_and_size_hint_count_down() {
    on_both(|| async {
        let mut s = as_completed([1u64, 2].map(|v| after(secs(v), v)));
        assert_eq!(s.remaining(), 2);
        assert_eq!(futures_core::Stream::size_hint(&s), (2, Some(2)));
        s.next().await;
        assert_eq!(s.remaining(), 1);
        s.next().await;
        assert_eq!(s.next().await, None);
        assert_eq!(s.next().await, None, "fused");
    });
}

#[test]
fn an_empty_stream_ends_at_once() {
    on_both(|| async {
        let mut s = as_completed(Vec::<std::future::Ready<()>>::new());
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn dropping_the_stream_drops_the_futures_left() {
    on_both(|| async {
        let dropped = Counter::new();
        let mut futs: Vec<Pin<Box<dyn Future<Output = u8> + Send>>> =
            vec![Box::pin(after(secs(1), 1))];
        for _ in 0..3 {
            let guard = dropped.on_drop();
            futs.push(Box::pin(async move {
                let _guard = guard;
                pending().await
            }));
        }
        let mut s = as_completed(futs);
        assert_eq!(s.next().await, Some(1));
        assert_eq!(dropped.get(), 0);
        drop(s);
        assert_eq!(dropped.get(), 3);
    });
}

#[test]
fn a_cancelled_next_loses_no_output() {
    on_both(|| async {
        let start = Instant::now();
        let mut s = as_completed([2u64, 4].map(|v| after(secs(v), v)));
        // Give up waiting after one second, twice: nothing is lost.
        assert!(timeout(secs(1), s.next()).await.is_err());
        assert!(timeout(secs(0), s.next()).await.is_err());
        assert_eq!(s.next().await, Some(2));
        assert_eq!(s.next().await, Some(4));
        assert_eq!(since(start), secs(4));
    });
}

#[test]
fn the_futures_only_progress_while_the_stream_is_polled() {
    on_both(|| async {
        let polled = Counter::new();
        let p = polled.clone();
        let mut s = as_completed([async move {
            p.bump();
        }]);
        sleep(secs(1)).await;
        assert_eq!(polled.get(), 0, "inline futures, not spawned");
        s.next().await;
        assert_eq!(polled.get(), 1);
    });
}
