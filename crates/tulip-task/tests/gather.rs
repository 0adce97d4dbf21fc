//! gather, try_gather, join! and try_join!: input order, concurrency, dropping the rest, and
//! what dropping the combinator leaves behind; on both flavours of the loop.

mod common;

use std::future::{pending, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use common::{after, on_both, secs, since, until, Counter};
use tulip_executor::{spawn, yield_now, JoinError};
use tulip_reactor::{sleep, Instant};
use tulip_task::{gather, join, timeout, try_gather, try_join};

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

#[test]
fn gather_returns_outputs_in_input_order() {
    on_both(|| async {
        let start = Instant::now();
        let out = gather([5u64, 1, 3, 2, 4].map(|s| after(secs(s), s))).await;
        assert_eq!(out, [5, 1, 3, 2, 4]);
        assert_eq!(since(start), secs(5), "the futures ran concurrently");
    });
}

#[test]
fn gather_of_nothing_is_empty_at_once() {
    on_both(|| async {
        let out: Vec<u8> = gather(Vec::<std::future::Ready<u8>>::new()).await;
        assert!(out.is_empty());
    });
}

#[test]
fn gather_over_results_keeps_every_outcome_like_return_exceptions() {
    on_both(|| async {
        let futs: Vec<BoxFut<Result<u8, &str>>> = vec![
            Box::pin(after(secs(2), Ok(1))),
            Box::pin(after(secs(1), Err("bad"))),
            Box::pin(after(secs(3), Ok(3))),
        ];
        let start = Instant::now();
        assert_eq!(gather(futs).await, [Ok(1), Err("bad"), Ok(3)]);
        assert_eq!(since(start), secs(3), "an error does not stop the others");
    });
}

#[test]
fn gather_awaits_tasks() {
    on_both(|| async {
        let tasks: Vec<_> = (0..4u64).map(|i| spawn(after(secs(4 - i), i))).collect();
        let out: Vec<u64> = gather(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(out, [0, 1, 2, 3]);
    });
}

#[test]
fn dropping_gather_drops_the_futures_it_holds() {
    on_both(|| async {
        let start = Instant::now();
        let dropped = Counter::new();
        let futs: Vec<_> = (0..4)
            .map(|_| {
                let guard = dropped.on_drop();
                async move {
                    let _guard = guard;
                    sleep(secs(3600)).await;
                }
            })
            .collect();
        assert!(timeout(secs(1), gather(futs)).await.is_err());
        assert_eq!(dropped.get(), 4, "dropped at once, not detached");
        assert_eq!(since(start), secs(1));
    });
}

/// Counts its polls; ready after `n` wake-ups of its own.
struct Polls {
    polls: Counter,
    left: u32,
}

impl Future for Polls {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.bump();
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn gather_polls_only_the_futures_that_were_woken() {
    on_both(|| async {
        let polls = Counter::new();
        let sleepy = Counter::new();
        let mut futs: Vec<BoxFut<()>> = Vec::new();
        // One busy future waking itself 100 times, among 1000 sleeping ones.
        futs.push(Box::pin(Polls {
            polls: polls.clone(),
            left: 100,
        }));
        for _ in 0..1000 {
            let s = sleepy.clone();
            futs.push(Box::pin(async move {
                s.bump();
                sleep(secs(1)).await;
                s.bump();
            }));
        }
        gather(futs).await;
        assert_eq!(polls.get(), 101);
        // Each sleeper: its first poll, then the one after its timer (a poll may be spurious
        // only if it was woken).
        assert_eq!(sleepy.get(), 2000);
    });
}

#[test]
fn try_gather_returns_values_in_input_order() {
    on_both(|| async {
        let futs = [3u64, 1, 2].map(|s| async move { Ok::<_, ()>(after(secs(s), s).await) });
        assert_eq!(try_gather(futs).await, Ok(vec![3, 1, 2]));
    });
}

#[test]
fn try_gather_drops_the_rest_at_the_first_error() {
    on_both(|| async {
        let start = Instant::now();
        let dropped = Counter::new();
        let mut futs: Vec<BoxFut<Result<(), String>>> = Vec::new();
        for _ in 0..3 {
            let guard = dropped.on_drop();
            futs.push(Box::pin(async move {
                let _guard = guard;
                sleep(secs(3600)).await;
                Ok(())
            }));
        }
        futs.push(Box::pin(async {
            sleep(secs(2)).await;
            Err("first".to_string())
        }));
        futs.push(Box::pin(async {
            sleep(secs(3)).await;
            Err("second".to_string())
        }));
        let r = try_gather(futs).await;
        assert_eq!(r, Err("first".to_string()));
        assert_eq!(since(start), secs(2));
        assert_eq!(
            dropped.get(),
            3,
            "the rest were dropped when the error came"
        );
    });
}

#[test]
fn try_gather_drops_the_rest_even_if_the_result_is_awaited_later() {
    on_both(|| async {
        let dropped = Counter::new();
        let guard = dropped.on_drop();
        let futs: Vec<BoxFut<Result<(), ()>>> = vec![
            Box::pin(async move {
                let _guard = guard;
                pending().await
            }),
            Box::pin(async { Err(()) }),
        ];
        let mut tg = Box::pin(try_gather(futs));
        assert_eq!(tg.as_mut().await, Err(()));
        // The future still exists, but what it held is gone.
        assert_eq!(dropped.get(), 1);
    });
}

#[test]
fn join_runs_futures_of_different_types_concurrently() {
    on_both(|| async {
        let start = Instant::now();
        let (a, b, c, ()) = join!(
            after(secs(3), 1u8),
            after(secs(1), "two"),
            async { vec![3] },
            sleep(secs(2)),
        );
        assert_eq!((a, b, c), (1, "two", vec![3]));
        assert_eq!(since(start), secs(3));
    });
}

#[test]
fn join_of_one_and_of_none() {
    on_both(|| async {
        let (x,) = join!(after(secs(1), 'x'));
        assert_eq!(x, 'x');
        let () = join!();
    });
}

#[test]
fn join_accepts_into_future_values() {
    on_both(|| async {
        let (r,) = join!(tulip_task::wait([spawn(async { 1 })]));
        let (done, pending) = r;
        assert_eq!(done.len(), 1);
        assert!(pending.is_empty());
    });
}

#[test]
fn dropping_join_drops_its_futures() {
    on_both(|| async {
        let dropped = Counter::new();
        let (g1, g2) = (dropped.on_drop(), dropped.on_drop());
        let joined = async move {
            join!(
                async move {
                    let _g = g1;
                    sleep(secs(3600)).await;
                },
                async move {
                    let _g = g2;
                    pending::<()>().await;
                },
            )
        };
        assert!(timeout(secs(1), joined).await.is_err());
        assert_eq!(dropped.get(), 2);
    });
}

#[test]
fn try_join_gives_the_values_or_the_first_error() {
    on_both(|| async {
        let ok: Result<(u8, &str), ()> = try_join!(async { Ok(1) }, after(secs(1), Ok("a")));
        assert_eq!(ok, Ok((1, "a")));

        let start = Instant::now();
        let dropped = Counter::new();
        let guard = dropped.on_drop();
        let failed: Result<((), u8, ()), &str> = try_join!(
            async move {
                let _guard = guard;
                sleep(secs(3600)).await;
                Ok(())
            },
            after(secs(2), Err("late")),
            after(secs(1), Err("early")),
        );
        assert_eq!(failed, Err("early"));
        assert_eq!(since(start), secs(1));
        // The futures live in the awaiting task's frame until try_join! returns.
        assert_eq!(dropped.get(), 1);
    });
}

#[test]
fn gather_inside_a_task_is_cancelled_with_the_task() {
    on_both(|| async {
        let dropped = Counter::new();
        let d = dropped.clone();
        let started = Counter::new();
        let s = started.clone();
        let task = spawn(async move {
            let futs: Vec<_> = (0..3)
                .map(|_| {
                    let (guard, s) = (d.on_drop(), s.clone());
                    async move {
                        let _guard = guard;
                        s.bump();
                        pending::<()>().await;
                    }
                })
                .collect();
            gather(futs).await;
        });
        until("the futures started", || started.get() == 3).await;
        task.cancel();
        assert!(matches!(task.await, Err(JoinError::Cancelled)));
        assert_eq!(dropped.get(), 3);
    });
}

#[test]
fn a_future_that_keeps_waking_itself_does_not_starve_the_loop() {
    on_both(|| async {
        let other = Counter::new();
        let o = other.clone();
        let _t = spawn(async move {
            loop {
                o.bump();
                yield_now().await;
            }
        });
        let busy: Vec<BoxFut<()>> = vec![Box::pin(Polls {
            polls: Counter::new(),
            left: 50,
        })];
        gather(busy).await;
        assert!(
            other.get() > 0,
            "the gather yielded to the loop between polls"
        );
    });
}
