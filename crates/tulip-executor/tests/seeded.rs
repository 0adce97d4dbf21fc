//! Seeded schedules (`ExecutorConfig::seed`): whatever order the seed picks, every task runs
//! to its end exactly once, no wake-up is lost, callbacks keep their FIFO order, and the same
//! seed gives the same schedule on one worker.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use proptest::prelude::*;
use tulip_executor::{spawn, spawn_local, yield_now, Executor, ExecutorConfig, ThreadDriver};

fn executor(workers: usize, seed: Option<u64>) -> Executor {
    let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
    config.workers = workers;
    config.seed = seed;
    Executor::with_config(config).expect("executor")
}

/// A one-shot event: pending until `set`, from any thread.
#[derive(Clone, Default)]
struct Event(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Event {
    fn set(&self) {
        let wakers = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        for w in wakers {
            w.wake();
        }
    }
}

impl Future for Event {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.0.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// One task of a generated program: it yields `yields` times, and first waits for the event
/// of task `waits_for` (an earlier task, so there is no cycle) if any.
#[derive(Debug, Clone)]
struct Spec {
    yields: u8,
    waits_for: Option<usize>,
    local: bool,
}

fn program() -> impl Strategy<Value = Vec<Spec>> {
    proptest::collection::vec(
        (0..4u8, any::<Option<prop::sample::Index>>(), any::<bool>()),
        1..24,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (yields, w, local))| Spec {
                yields,
                waits_for: if i == 0 { None } else { w.map(|w| w.index(i)) },
                local,
            })
            .collect()
    })
}

/// Runs `specs` on a seeded executor, with a bound on time (a lost wake-up would hang), and
/// returns the order of the steps `(task, step)` and of the callbacks.
fn run(specs: &[Spec], workers: usize, seed: u64) -> (Vec<(usize, u8)>, Vec<usize>) {
    let specs = specs.to_vec();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let ex = executor(workers, Some(seed));
        let out = ex.block_on(async move {
            let steps = Arc::new(Mutex::new(Vec::new()));
            let calls = Rc::new(RefCell::new(Vec::new()));
            let done = Arc::new(AtomicUsize::new(0));
            let events: Vec<Event> = specs.iter().map(|_| Event::default()).collect();
            let mut tasks = Vec::new();
            for (i, spec) in specs.iter().enumerate() {
                let steps = steps.clone();
                let done = done.clone();
                let wait = spec.waits_for.map(|w| events[w].clone());
                let mine = events[i].clone();
                let yields = spec.yields;
                let body = async move {
                    if let Some(e) = wait {
                        e.await;
                    }
                    for k in 0..=yields {
                        steps.lock().unwrap().push((i, k));
                        yield_now().await;
                    }
                    mine.set();
                    done.fetch_add(1, SeqCst);
                    i
                };
                tasks.push(if spec.local {
                    spawn_local(body)
                } else {
                    spawn(body)
                });
                // A callback between spawns.
                let calls = calls.clone();
                tulip_executor::Spawner::current()
                    .expect("in the loop")
                    .call_soon_local(Box::new(move || calls.borrow_mut().push(i)))
                    .unwrap_or_else(|_| panic!("call_soon_local from the loop"));
            }
            for (i, t) in tasks.into_iter().enumerate() {
                assert_eq!(t.await.expect("task ran to its end"), i);
            }
            // Every callback was queued before the awaits above ended: let them all run.
            for _ in 0..specs.len() + 1 {
                yield_now().await;
            }
            assert_eq!(done.load(SeqCst), specs.len());
            let steps = steps.lock().unwrap().clone();
            let calls = calls.borrow().clone();
            (steps, calls)
        });
        let _ = tx.send(out);
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the seeded run finished (no lost wake-up)")
}

/// What the reference says: each task `i` steps through `0..=yields` once, in order.
fn check(specs: &[Spec], steps: &[(usize, u8)], calls: &[usize]) -> Result<(), TestCaseError> {
    let mut next = vec![0u8; specs.len()];
    for &(i, k) in steps {
        prop_assert_eq!(k, next[i], "task {} stepped out of order", i);
        next[i] += 1;
    }
    for (i, spec) in specs.iter().enumerate() {
        prop_assert_eq!(next[i], spec.yields + 1, "task {} ran {} steps", i, next[i]);
    }
    let fifo: Vec<usize> = (0..specs.len()).collect();
    prop_assert_eq!(calls, &fifo[..], "callbacks out of FIFO order");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// One worker: every task runs every step exactly once, callbacks stay FIFO, and the same
    /// seed replays the same schedule.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn one_worker_runs_everything_once_and_replays(specs in program(), seed in any::<u64>()) {
        let (steps, calls) = run(&specs, 1, seed);
        check(&specs, &steps, &calls)?;
        let (again, _) = run(&specs, 1, seed);
        prop_assert_eq!(steps, again, "the same seed gave another schedule");
    }

    /// Two workers: the same guarantees, except replay (thread timing is not seeded).
    #[test]
    #[cfg_attr(miri, ignore)]
    fn two_workers_run_everything_once(specs in program(), seed in any::<u64>()) {
        let (steps, calls) = run(&specs, 2, seed);
        check(&specs, &steps, &calls)?;
    }
}

/// Seeds do reorder: among a few seeds, some schedule differs from FIFO's.
#[test]
fn some_seed_differs_from_fifo() {
    let order = |seed: Option<u64>| {
        let ex = executor(1, seed);
        ex.block_on(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let log = log.clone();
                    spawn_local(async move { log.borrow_mut().push(i) })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            log.take()
        })
    };
    let fifo = order(None);
    assert_eq!(fifo, (0..8).collect::<Vec<_>>());
    assert!((0..8).any(|s| order(Some(s)) != fifo));
    assert_eq!(order(Some(3)), order(Some(3)));
}
