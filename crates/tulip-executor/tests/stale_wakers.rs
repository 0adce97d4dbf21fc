//! Wakers that outlive their executor (issue 20): a thread keeps task wakers and wakes them
//! while the executor closes and after it is gone. Each wake must be a no-op (no
//! use-after-free, no task run twice, no future dropped twice). No I/O: this runs under Miri
//! too (`cargo xtask miri`), which checks the task allocations' reference counting.

use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use tulip_executor::{spawn, yield_now, Executor, ExecutorConfig, ThreadDriver};
use tulip_test_support::Counter;

/// Tasks per run: fewer under Miri, which is slow.
const TASKS: usize = if cfg!(miri) { 4 } else { 64 };
/// Wake rounds of the waking thread.
const ROUNDS: usize = if cfg!(miri) { 3 } else { 200 };

fn executor(workers: usize) -> Executor {
    let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
    config.workers = workers;
    Executor::with_config(config).unwrap()
}

/// Spawns `TASKS` tasks that hand their waker to `stash` and wait forever (half of them), or
/// finish (the other half: wakers of completed tasks are kept too); returns once all ran.
fn fill(ex: &Executor, stash: &Arc<Mutex<Vec<Waker>>>, drops: &Counter) {
    let (stash, drops) = (stash.clone(), drops.clone());
    ex.block_on(async move {
        let mut finished = Vec::new();
        for i in 0..TASKS {
            let (stash, guard) = (stash.clone(), drops.on_drop());
            let t = spawn(async move {
                let _guard = guard;
                std::future::poll_fn(|cx| {
                    stash.lock().unwrap().push(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
                if i % 2 == 0 {
                    std::future::pending::<()>().await;
                }
            });
            if i % 2 == 1 {
                finished.push(t);
            }
        }
        for t in finished {
            t.await.unwrap();
        }
        while stash.lock().unwrap().len() < TASKS {
            yield_now().await;
        }
    });
}

fn wakers_outlive(workers: usize) {
    let ex = executor(workers);
    let stash = Arc::new(Mutex::new(Vec::new()));
    let drops = Counter::new();
    fill(&ex, &stash, &drops);
    assert_eq!(drops.get(), TASKS / 2, "the finished half was dropped");

    // A thread wakes them all, again and again, while the executor closes.
    let wakers: Vec<Waker> = stash.lock().unwrap().clone();
    let waking = std::thread::spawn(move || {
        for _ in 0..ROUNDS {
            for w in &wakers {
                w.wake_by_ref();
            }
        }
        wakers
    });
    ex.close();
    drop(ex);
    let wakers = waking.join().unwrap();
    assert_eq!(drops.get(), TASKS, "every future dropped exactly once");

    // And once it is gone: by reference, by value, clones, drops.
    for w in wakers {
        w.wake_by_ref();
        let c = w.clone();
        c.wake();
        w.wake();
    }
    for w in stash.lock().unwrap().drain(..) {
        drop(w);
    }
    assert_eq!(drops.get(), TASKS, "no future dropped twice");
}

#[test]
fn task_wakers_kept_by_a_thread_are_no_ops_once_the_loop_is_gone() {
    wakers_outlive(1);
}

#[test]
fn task_wakers_kept_by_a_thread_are_no_ops_once_a_multi_threaded_loop_is_gone() {
    wakers_outlive(2);
}
