//! Seeded schedules (`RunnerBuilder::seed`, `TULIP_SEED`): an order-dependent race that FIFO
//! order hides shows up under some seed and replays under the same seed; callbacks keep FIFO
//! order under every seed; a failing seeded test prints its seed.

use std::cell::{Cell, RefCell};
use std::process::Command;
use std::rc::Rc;

use tulip::Runner;

/// The outcome of one run of the toy race: whether its check held, and the interleaving.
struct Outcome {
    ok: bool,
    trace: Vec<String>,
}

/// A deliberately order-dependent program: three tasks take turns through three steps each,
/// and the "reader" assumes at its second step that the "writer" has done its second step
/// already. It holds in FIFO order (tasks run in spawn order, round after round) and nowhere
/// else is it promised.
fn toy_race(seed: Option<u64>) -> Outcome {
    let b = Runner::builder().start_paused(true);
    let runner = match seed {
        Some(s) => b.seed(s),
        // FIFO order even when the suite runs under TULIP_SEED.
        None => b.fifo(true),
    }
    .build();
    assert_eq!(runner.seed(), seed);
    runner.run(async {
        let trace = Rc::new(RefCell::new(Vec::new()));
        let written = Rc::new(Cell::new(0));
        let ok = Rc::new(Cell::new(true));
        let mut tasks = Vec::new();
        for name in ["writer", "other", "reader"] {
            let (trace, written, ok) = (trace.clone(), written.clone(), ok.clone());
            tasks.push(tulip::spawn_local(async move {
                for step in 0..3 {
                    trace.borrow_mut().push(format!("{name}{step}"));
                    match name {
                        "writer" => written.set(step + 1),
                        // The bug: "the writer has been here by now".
                        "reader" if step == 1 && written.get() < 2 => ok.set(false),
                        _ => {}
                    }
                    tulip::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        Outcome {
            ok: ok.get(),
            trace: trace.take(),
        }
    })
}

#[test]
fn an_order_dependent_race_shows_up_under_some_seed_and_replays() {
    let fifo = toy_race(None);
    assert!(fifo.ok, "FIFO order hides the race: {:?}", fifo.trace);

    // Among the first 32 seeds, one makes the race fail.
    let (seed, failing) = (0..32u64)
        .map(|s| (s, toy_race(Some(s))))
        .find(|(_, o)| !o.ok)
        .expect("some seed among the first 32 shows the race");
    assert_ne!(failing.trace, fifo.trace);

    // The same seed replays the same interleaving, twice.
    for _ in 0..2 {
        let again = toy_race(Some(seed));
        assert!(!again.ok, "seed {seed} did not replay the failure");
        assert_eq!(
            again.trace, failing.trace,
            "seed {seed} replayed another schedule"
        );
    }
}

/// asyncio runs a `call_soon` callback after everything queued before it and before
/// everything queued after it; a seed reorders tasks between two callbacks, never across one.
#[test]
fn callbacks_keep_their_fifo_place_under_every_seed() {
    let mut reordered = false;
    for seed in 0..16u64 {
        let runner = Runner::builder().seed(seed).build();
        let log = runner.run(async {
            let lp = tulip::EventLoop::current();
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut tasks = Vec::new();
            for round in 0..5usize {
                for i in 0..4usize {
                    let l = log.clone();
                    tasks.push(tulip::spawn_local(async move {
                        l.borrow_mut().push((round, Some(i)));
                    }));
                }
                let l = log.clone();
                lp.call_soon(move || l.borrow_mut().push((round, None)));
            }
            for t in tasks {
                t.await.unwrap();
            }
            // The main future's own turns are tasks too: queued after every callback above.
            log.take()
        });
        assert_eq!(log.len(), 25, "seed {seed}: {log:?}");
        // Rounds in order: all of round r (its 4 tasks, in any order, then its callback)
        // before anything of round r + 1.
        for (k, &(round, what)) in log.iter().enumerate() {
            assert_eq!(round, k / 5, "seed {seed}: {log:?}");
            assert_eq!(what.is_none(), k % 5 == 4, "seed {seed}: {log:?}");
        }
        reordered |= log
            .iter()
            .zip(0usize..)
            .any(|(&(_, w), k)| w.is_some_and(|i| i != k % 5));
    }
    assert!(
        reordered,
        "no seed reordered the tasks between two callbacks"
    );
}

/// Two workers under a few seeds: every task still runs exactly once.
#[test]
fn two_seeded_workers_run_every_task_once() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    for seed in 0..4u64 {
        let runner = Runner::builder().workers(2).seed(seed).build();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let total = runner.run(async move {
            let tasks: Vec<_> = (0..200usize)
                .map(|i| {
                    let r = r.clone();
                    tulip::spawn(async move {
                        for _ in 0..(i % 4) {
                            tulip::yield_now().await;
                        }
                        r.fetch_add(1, SeqCst);
                        i
                    })
                })
                .collect();
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            total
        });
        assert_eq!(total, (0..200).sum::<usize>(), "seed {seed}");
        assert_eq!(runs.load(SeqCst), 200, "seed {seed}");
    }
}

/// The child side of the next test: fails on purpose, but only when asked to.
#[tulip::test]
async fn seeded_child_that_fails() {
    if std::env::var_os("TULIP_TESTS_SEEDED_CHILD").is_none() {
        return;
    }
    tulip::yield_now().await;
    panic!("a deliberate failure");
}

/// Runs [`seeded_child_that_fails`] in a child process of this test binary with `TULIP_SEED`
/// set and returns its stderr.
fn failing_child(tulip_seed: &str) -> String {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "seeded_child_that_fails",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TULIP_TESTS_SEEDED_CHILD", "1")
        .env("TULIP_SEED", tulip_seed)
        .output()
        .expect("run the test binary");
    assert!(!out.status.success(), "the child test was meant to fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_failing_seeded_test_prints_its_seed() {
    let err = failing_child("12345");
    assert!(err.contains("TULIP_SEED=12345"), "stderr: {err}");

    // `random`: a fresh seed, printed when picked and again at the failure.
    let err = failing_child("random");
    let picked = err
        .split("picked TULIP_SEED=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no picked seed in: {err}"));
    let seed: u64 = picked.parse().expect("a number");
    assert!(
        err.contains(&format!("schedule: TULIP_SEED={seed} ")),
        "stderr: {err}"
    );
}

#[test]
fn a_bad_tulip_seed_is_a_named_error() {
    // Checked in-process on the parser's public face: the builder reports it at build time.
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "seeded_child_that_fails",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TULIP_TESTS_SEEDED_CHILD", "1")
        .env("TULIP_SEED", "lots")
        .output()
        .expect("run the test binary");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TULIP_SEED=\"lots\" is not a u64 or `random`"),
        "stderr: {err}"
    );
}
