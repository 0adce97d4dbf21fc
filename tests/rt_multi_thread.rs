//! The multi-threaded flavour: work stealing, pinned local tasks, cross-worker wakes, shutdown.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulip_tests::Counter;

fn mt(workers: usize) -> tulip::Runner {
    tulip::Runner::builder().workers(workers).build()
}

#[test]
fn runner_reports_its_workers() {
    assert_eq!(mt(3).workers(), 3);
    assert_eq!(tulip::Runner::builder().workers(1).build().workers(), 1);
}

/// Spawns two tasks that can only both finish if they run on different threads at once: the
/// first one to run blocks its thread until the second one signals. Each then runs `then`.
/// Returns the threads they ran on.
async fn on_two_threads<F, Fut>(then: F) -> Vec<(std::thread::ThreadId, Fut::Output)>
where
    F: Fn() -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = Arc::new(Mutex::new(rx));
    let turn = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (tx, rx, turn, then) = (tx.clone(), rx.clone(), turn.clone(), then.clone());
            tulip::spawn(async move {
                if turn.fetch_add(1, SeqCst) == 0 {
                    // First: hold this worker thread until the other task has run elsewhere.
                    rx.lock().unwrap().recv().unwrap();
                } else {
                    tx.send(()).unwrap();
                }
                let here = std::thread::current().id();
                (here, then().await)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[test]
fn tasks_run_on_more_than_one_thread() {
    let runner = mt(2);
    let threads = runner.run(async {
        let out = on_two_threads(|| async {}).await;
        out.into_iter()
            .map(|(t, ())| t)
            .collect::<HashSet<_>>()
            .len()
    });
    assert_eq!(threads, 2, "both workers ran tasks");
}

#[test]
fn one_million_tasks_spawned_from_many_workers_all_complete() {
    const SPAWNERS: usize = 8;
    const PER: usize = 125_000;
    let runner = mt(2);
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let total = runner.run(async move {
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|_| {
                let c = c.clone();
                tulip::spawn(async move {
                    let tasks: Vec<_> = (0..PER)
                        .map(|i| {
                            let c = c.clone();
                            tulip::spawn(async move {
                                c.fetch_add(1, SeqCst);
                                i as u64
                            })
                        })
                        .collect();
                    let mut s = 0u64;
                    for t in tasks {
                        s += t.await.unwrap();
                    }
                    s
                })
            })
            .collect();
        let mut total = 0u64;
        for s in spawners {
            total += s.await.unwrap();
        }
        total
    });
    assert_eq!(count.load(SeqCst), SPAWNERS * PER);
    assert_eq!(total, SPAWNERS as u64 * (PER as u64 - 1) * PER as u64 / 2);
}

#[test]
fn ping_pong_across_workers() {
    let runner = mt(2);
    runner.run(async {
        let rounds = 20_000u32;
        let ball = Arc::new(Mutex::new((
            0u32,
            None::<std::task::Waker>,
            None::<std::task::Waker>,
        )));
        // Two tasks take turns through a shared counter and wakers: even is A's turn.
        let mk = |me: u32| {
            let ball = ball.clone();
            tulip::spawn(async move {
                loop {
                    let done = std::future::poll_fn(|cx| {
                        let mut g = ball.lock().unwrap();
                        if g.0 >= rounds * 2 {
                            let other = if me == 0 { g.2.take() } else { g.1.take() };
                            if let Some(w) = other {
                                w.wake();
                            }
                            return std::task::Poll::Ready(true);
                        }
                        if g.0 % 2 == me {
                            g.0 += 1;
                            let other = if me == 0 { g.2.take() } else { g.1.take() };
                            if let Some(w) = other {
                                w.wake();
                            }
                            std::task::Poll::Ready(false)
                        } else {
                            let slot = if me == 0 { &mut g.1 } else { &mut g.2 };
                            *slot = Some(cx.waker().clone());
                            std::task::Poll::Pending
                        }
                    })
                    .await;
                    if done {
                        return;
                    }
                }
            })
        };
        let a = mk(0);
        let b = mk(1);
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(ball.lock().unwrap().0, rounds * 2);
    });
}

#[test]
fn tasks_spawning_tasks_chain_deeply() {
    let runner = mt(2);
    let n = runner.run(async {
        fn chain(depth: u32, c: Arc<AtomicUsize>) -> tulip::Task<()> {
            tulip::spawn(async move {
                c.fetch_add(1, SeqCst);
                if depth > 0 {
                    chain(depth - 1, c).detach();
                }
            })
        }
        let c = Arc::new(AtomicUsize::new(0));
        chain(100_000, c.clone()).detach();
        while c.load(SeqCst) < 100_001 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
        c.load(SeqCst)
    });
    assert_eq!(n, 100_001);
}

#[test]
fn spawn_local_stays_on_its_worker_while_send_tasks_move() {
    let runner = mt(2);
    runner.run(async {
        let rc = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut locals = Vec::new();
        for _ in 0..10 {
            let rc = rc.clone();
            locals.push(tulip::spawn_local(async move {
                let home = std::thread::current().id();
                for _ in 0..100 {
                    tulip::yield_now().await;
                    assert_eq!(std::thread::current().id(), home);
                    rc.set(rc.get() + 1);
                }
            }));
        }
        // Send tasks keep the other worker busy and stealing meanwhile.
        let sends: Vec<_> = (0..100)
            .map(|_| {
                tulip::spawn(async {
                    for _ in 0..10 {
                        tulip::yield_now().await;
                    }
                })
            })
            .collect();
        for t in locals {
            t.await.unwrap();
        }
        for t in sends {
            t.await.unwrap();
        }
        assert_eq!(rc.get(), 1000);
    });
}

#[test]
fn spawn_local_from_a_worker_thread_task_is_pinned_there() {
    let runner = mt(2);
    runner.run(async {
        let out = on_two_threads(|| async {
            let spawned_on = std::thread::current().id();
            let local = tulip::spawn_local(async move {
                for _ in 0..10 {
                    tulip::yield_now().await;
                }
                std::thread::current().id()
            });
            (spawned_on, local.await.unwrap())
        })
        .await;
        let threads: HashSet<_> = out.iter().map(|(t, _)| *t).collect();
        assert_eq!(threads.len(), 2);
        for (_, (spawned_on, ran_on)) in out {
            assert_eq!(spawned_on, ran_on, "a local task left its worker");
        }
    });
}

struct RecordDropThread(
    Arc<Mutex<Vec<std::thread::ThreadId>>>,
    std::thread::ThreadId,
);

impl Drop for RecordDropThread {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(std::thread::current().id());
        assert_eq!(
            std::thread::current().id(),
            self.1,
            "a !Send future was dropped on another thread"
        );
    }
}

#[test]
fn close_drops_every_future_once_and_local_ones_on_their_thread() {
    let runner = mt(2);
    let drops = Counter::new();
    let local_drops = Arc::new(Mutex::new(Vec::new()));
    let (d, ld) = (drops.clone(), local_drops.clone());
    runner.run(async move {
        for i in 0..1000 {
            let token = d.on_drop();
            tulip::spawn(async move {
                let _t = token;
                if i % 2 == 0 {
                    tulip::sleep(Duration::from_secs(3600)).await;
                } else {
                    std::future::pending::<()>().await;
                }
            })
            .detach();
        }
        // Pinned tasks on both workers.
        for _ in 0..50 {
            let ld = ld.clone();
            tulip::spawn(async move {
                let ld2 = ld.clone();
                let guard = RecordDropThread(ld2, std::thread::current().id());
                tulip::spawn_local(async move {
                    let _g = guard;
                    std::future::pending::<()>().await;
                })
                .detach();
                let _ = ld;
            })
            .detach();
        }
        tulip::sleep(Duration::from_millis(10)).await;
    });
    runner.close();
    assert_eq!(drops.get(), 1000);
    assert_eq!(local_drops.lock().unwrap().len(), 50);
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn dropping_a_runtime_with_sockets_and_timers_closes_every_fd() {
    use std::net::{TcpListener, TcpStream};
    use tulip::io::{Async, AsyncReadExt};
    let before = open_fds();
    {
        let runner = mt(2);
        runner.run(async {
            let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
            let addr = listener.get_ref().local_addr().unwrap();
            for _ in 0..20 {
                let mut client = Async::new(TcpStream::connect(addr).unwrap()).unwrap();
                tulip::spawn(async move {
                    let mut buf = [0u8; 1];
                    let _ = tulip::timeout(Duration::from_secs(3600), client.read(&mut buf)).await;
                })
                .detach();
                let (server_side, _) = listener.read_with(|l| l.accept()).await.unwrap();
                let mut server_side = Async::new(server_side).unwrap();
                tulip::spawn(async move {
                    let mut buf = [0u8; 1];
                    let _ = server_side.read(&mut buf).await;
                })
                .detach();
            }
            tulip::sleep(Duration::from_millis(5)).await;
        });
        drop(runner);
    }
    // Other tests in this binary run concurrently and open fds of their own; allow slack but
    // not the 40+ sockets and the poller of this test.
    let after = open_fds();
    assert!(after <= before + 8, "fds leaked: {before} -> {after}");
}

#[test]
fn timers_and_virtual_time_work_on_several_workers() {
    let runner = tulip::Runner::builder()
        .workers(2)
        .start_paused(true)
        .build();
    runner.run(async {
        let start = tulip::time::Instant::now();
        let tasks: Vec<_> = (1..=50u64)
            .map(|i| {
                tulip::spawn(async move {
                    tulip::sleep(Duration::from_secs(i * 60)).await;
                    tulip::time::Instant::now() - start
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), Duration::from_secs((i as u64 + 1) * 60));
        }
        let r = tulip::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
        assert!(r.is_err());
    });
}

#[test]
fn virtual_time_waits_for_busy_workers() {
    let runner = tulip::Runner::builder()
        .workers(2)
        .start_paused(true)
        .build();
    runner.run(async {
        let start = tulip::time::Instant::now();
        // A task that stays busy (yielding) for a while on some worker: the clock must not
        // jump while it runs.
        let busy = tulip::spawn(async move {
            for _ in 0..20_000 {
                tulip::yield_now().await;
            }
            tulip::time::Instant::now() - start
        });
        tulip::sleep(Duration::from_secs(5)).await;
        let busy_saw = busy.await.unwrap();
        assert_eq!(
            busy_saw,
            Duration::ZERO,
            "time jumped while a task was runnable"
        );
    });
}

#[test]
fn a_wake_after_the_runtime_is_gone_is_a_no_op() {
    let waker_slot: Arc<Mutex<Option<std::task::Waker>>> = Arc::default();
    let w2 = waker_slot.clone();
    let runner = mt(2);
    runner.run(async move {
        tulip::spawn(std::future::poll_fn(move |cx| {
            *w2.lock().unwrap() = Some(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }))
        .detach();
        tulip::sleep(Duration::from_millis(1)).await;
    });
    drop(runner);
    let w = waker_slot.lock().unwrap().take().unwrap();
    w.wake_by_ref();
    w.wake();
}

#[test]
fn call_soon_threadsafe_and_handle_spawn_reach_a_multi_thread_loop() {
    let runner = mt(2);
    let handle = runner.handle();
    let out = runner.run(async move {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = handle.clone();
        std::thread::spawn(move || {
            h.call_soon_threadsafe(move || tx.send(5).unwrap());
        })
        .join()
        .unwrap();
        let h = handle.clone();
        let t = std::thread::spawn(move || h.spawn(async { 6 }))
            .join()
            .unwrap();
        let six = t.await.unwrap();
        loop {
            if let Ok(v) = rx.try_recv() {
                return v + six;
            }
            tulip::sleep(Duration::from_millis(1)).await;
        }
    });
    assert_eq!(out, 11);
}

#[test]
fn panics_on_worker_threads_are_contained() {
    let reports = tulip_tests::Reports::new();
    let runner = reports.builder().workers(2).build();
    let ok = runner.run(async {
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                tulip::spawn(async move {
                    if i % 3 == 0 {
                        panic!("p{i}")
                    } else {
                        i
                    }
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            if t.await.is_ok() {
                ok += 1;
            }
        }
        ok
    });
    assert_eq!(ok, 66);
    assert_eq!(reports.all().len(), 34);
}

#[test]
fn runner_runs_many_times_with_workers() {
    let runner = mt(2);
    let a = runner.run(async { tulip::spawn(async { 1 }).await.unwrap() });
    let b = runner.run(async { tulip::spawn(async { 2 }).await.unwrap() });
    assert_eq!(a + b, 3);
}

/// Regression: a worker woken for its own inbox (the main future's wake-up) must count as
/// busy at once, or another worker going idle lets a paused clock jump past the main future's
/// timer. Racy by nature, so it runs many times.
#[test]
fn virtual_time_does_not_jump_past_the_main_futures_timer() {
    for _ in 0..100 {
        let runner = tulip::Runner::builder()
            .workers(2)
            .start_paused(true)
            .build();
        runner.run(async {
            let start = tulip::time::Instant::now();
            tulip::spawn(tulip::sleep(Duration::from_secs(3600))).detach();
            tulip::yield_now().await;
            tulip::sleep(Duration::from_secs(10)).await;
            assert_eq!(tulip::time::Instant::now() - start, Duration::from_secs(10));
        });
    }
}
