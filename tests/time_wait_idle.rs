//! `tulip::time::wait_idle` (Trio's `wait_all_tasks_blocked`): resolves once every other task
//! is blocked, before a paused clock moves. Each body runs as a spawned task on a paused loop
//! with the worker count CI selects (`TULIP_WORKERS`), so the two-worker pass covers the
//! work-stealing loop.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip::sync::Event;
use tulip::time::{sleep, wait_idle, Instant};

/// Runs `body` as a task on a paused loop; resumes its panic here.
fn paused<F: Future<Output = ()> + Send + 'static>(body: F) {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async move {
            if let Err(e) = tulip::spawn(body).await {
                std::panic::resume_unwind(e.into_panic());
            }
        });
}

// Provenance: Trio's test_wait_all_tasks_blocked (the waiter wakes once the other tasks have
// all blocked, after they have run as far as they can).
#[test]
fn every_runnable_task_runs_as_far_as_it_can_and_the_clock_does_not_move() {
    paused(async {
        let start = Instant::now();
        let steps = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Event::new());
        for _ in 0..8 {
            let (steps, gate) = (steps.clone(), gate.clone());
            tulip::spawn(async move {
                for _ in 0..50 {
                    steps.fetch_add(1, SeqCst);
                    tulip::yield_now().await;
                }
                gate.wait().await; // blocked from here on
                steps.fetch_add(1, SeqCst);
            })
            .detach();
        }
        wait_idle().await;
        assert_eq!(steps.load(SeqCst), 400);
        assert_eq!(Instant::now(), start);
        gate.set();
        wait_idle().await;
        assert_eq!(steps.load(SeqCst), 408);
        assert_eq!(Instant::now(), start);
    });
}

#[test]
fn tasks_asleep_on_timers_are_blocked_until_the_clock_reaches_them() {
    paused(async {
        let start = Instant::now();
        let woke = Arc::new(AtomicUsize::new(0));
        let w = woke.clone();
        tulip::spawn(async move {
            sleep(Duration::from_secs(5)).await;
            w.fetch_add(1, SeqCst);
        })
        .detach();
        wait_idle().await;
        assert_eq!((woke.load(SeqCst), Instant::now()), (0, start));
        sleep(Duration::from_secs(5)).await;
        wait_idle().await;
        assert_eq!(woke.load(SeqCst), 1);
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
    });
}

#[test]
fn a_chain_of_wakeups_between_tasks_completes_before_it_resolves() {
    paused(async {
        // Each task waits for the previous one's event, then sets its own.
        let events: Vec<Arc<Event>> = (0..20).map(|_| Arc::new(Event::new())).collect();
        let done = Arc::new(AtomicUsize::new(0));
        for i in 1..events.len() {
            let (prev, me, done) = (events[i - 1].clone(), events[i].clone(), done.clone());
            tulip::spawn(async move {
                prev.wait().await;
                tulip::yield_now().await;
                me.set();
                done.fetch_add(1, SeqCst);
            })
            .detach();
        }
        events[0].set();
        wait_idle().await;
        assert_eq!(done.load(SeqCst), 19);
        assert!(events[19].is_set());
    });
}

#[test]
fn several_waiters_are_woken_together_and_a_dropped_one_leaves_nothing_behind() {
    paused(async {
        let start = Instant::now();
        let woken = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let w = woken.clone();
                tulip::spawn(async move {
                    wait_idle().await;
                    w.fetch_add(1, SeqCst);
                })
            })
            .collect();
        for t in waiters {
            t.await.unwrap();
        }
        assert_eq!(woken.load(SeqCst), 3);
        // A waiter polled once and dropped: the loop must still sleep and move the clock.
        let mut w = Box::pin(wait_idle());
        assert!(futures_lite::future::poll_once(w.as_mut()).await.is_none());
        drop(w);
        sleep(Duration::from_secs(30)).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(30));
    });
}
