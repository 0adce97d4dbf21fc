//! The blocking pool: to_thread, spawn_blocking, run_in_executor, bounds, keep-alive, shutdown.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

#[test]
fn to_thread_runs_off_the_loop_and_returns_the_value() {
    let loop_thread = std::thread::current().id();
    let (v, ran_on) =
        tulip::run(async { tulip::to_thread(|| (42, std::thread::current().id())).await });
    assert_eq!(v, 42);
    assert_ne!(ran_on, loop_thread);
}

#[test]
fn a_panic_in_to_thread_resumes_in_the_awaiting_task() {
    let reports = tulip_tests::Reports::new();
    reports.builder().build().run(async {
        let t = tulip::spawn(async { tulip::to_thread(|| -> u32 { panic!("in the pool") }).await });
        let err = t.await.unwrap_err();
        assert_eq!(err.panic_message().as_deref(), Some("in the pool"));
    });
}

#[test]
fn spawn_blocking_reports_panics_as_join_errors() {
    tulip::run(async {
        let ok = tulip::spawn_blocking(|| 5);
        let bad = tulip::spawn_blocking(|| -> u32 { panic!("nope") });
        assert_eq!(ok.await.unwrap(), 5);
        assert!(bad.await.unwrap_err().is_panic());
    });
}

#[test]
fn run_in_executor_from_the_handle() {
    tulip::run(async {
        let lp = tulip::EventLoop::current();
        assert_eq!(lp.run_in_executor(|| "x").await.unwrap(), "x");
    });
}

#[test]
fn the_pool_never_runs_more_than_its_bound_at_once() {
    let runner = tulip::Runner::builder().max_blocking_threads(3).build();
    runner.run(async {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..30)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                tulip::spawn_blocking(move || {
                    let now = running.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(now, SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                    running.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap();
        }
        assert!(peak.load(SeqCst) <= 3, "peak {}", peak.load(SeqCst));
        assert!(peak.load(SeqCst) >= 2, "the pool grew on demand");
        assert!(tulip::EventLoop::current().blocking_threads() <= 3);
    });
}

#[test]
fn idle_pool_threads_leave_after_the_keep_alive() {
    let runner = tulip::Runner::builder()
        .blocking_keep_alive(Duration::from_millis(20))
        .build();
    runner.run(async {
        let lp = tulip::EventLoop::current();
        tulip::to_thread(|| ()).await;
        assert!(lp.blocking_threads() >= 1);
        // Wait (bounded) for the idle thread to leave.
        for _ in 0..2000 {
            if lp.blocking_threads() == 0 {
                return;
            }
            tulip::sleep(Duration::from_millis(1)).await;
        }
        panic!("the idle thread never left");
    });
}

#[test]
fn shutdown_waits_up_to_the_timeout_then_reports_what_is_left() {
    let runner = tulip::Runner::new();
    let release = Arc::new(Barrier::new(2));
    let r2 = release.clone();
    let started = Arc::new(Barrier::new(2));
    let s2 = started.clone();
    runner.run(async move {
        tulip::spawn_blocking(move || {
            s2.wait();
            r2.wait();
        })
        .detach();
        tulip::to_thread(move || started.wait()).await;
    });
    let report = runner.shutdown_timeout(Duration::from_millis(20));
    assert_eq!(report.still_running, 1);
    assert!(!report.is_clean());
    release.wait();
}

#[test]
fn shutdown_waits_for_jobs_that_finish_in_time() {
    let done = Arc::new(Mutex::new(false));
    let d = done.clone();
    let runner = tulip::Runner::new();
    runner.run(async move {
        tulip::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(20));
            *d.lock().unwrap() = true;
        })
        .detach();
    });
    let report = runner.shutdown_timeout(Duration::from_secs(30));
    assert!(report.is_clean());
    assert!(*done.lock().unwrap());
}

#[test]
fn virtual_time_does_not_jump_while_a_blocking_job_runs() {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async {
            let start = tulip::time::Instant::now();
            let job = tulip::to_thread(|| std::thread::sleep(Duration::from_millis(30)));
            let r = tulip::timeout(Duration::from_secs(3600), job).await;
            assert!(r.is_ok(), "the hour-long timeout fired while the job ran");
            assert_eq!(tulip::time::Instant::now(), start);
        });
}

#[test]
fn blocking_pool_works_on_a_multi_thread_loop() {
    tulip::Runner::builder().workers(2).build().run(async {
        let jobs: Vec<_> = (0..50)
            .map(|i| tulip::spawn_blocking(move || i * 2))
            .collect();
        let mut sum = 0;
        for j in jobs {
            sum += j.await.unwrap();
        }
        assert_eq!(sum, 2450);
    });
}
