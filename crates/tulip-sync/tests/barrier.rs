//! `Barrier`: asyncio's `Barrier` behaviours (Python 3.11).
//!
//! Scenarios marked "asyncio" are ported from CPython's `Lib/test/test_asyncio/test_locks.py`
//! (class `BarrierTests`, Python Software Foundation License): the scenarios, not the code.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::{yield_now, Polled, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tulip_sync::{Barrier, BrokenBarrierError};

type Results = Rc<RefCell<Vec<Result<usize, BrokenBarrierError>>>>;

fn spawn_waiters(sim: &Sim, barrier: &Rc<Barrier>, n: usize, results: &Results) {
    for _ in 0..n {
        let (barrier, results) = (Rc::clone(barrier), Rc::clone(results));
        sim.spawn(async move {
            let result = barrier.wait().await;
            results.borrow_mut().push(result);
        });
    }
}

fn sorted_ok(results: &Results) -> Vec<usize> {
    let mut indices: Vec<usize> = results
        .borrow()
        .iter()
        .map(|r| r.expect("barrier passed"))
        .collect();
    indices.sort_unstable();
    indices
}

/// asyncio: `test_barrier_parties`.
#[test]
#[should_panic(expected = "at least one party")]
fn a_barrier_for_zero_parties_panics() {
    let _ = Barrier::new(0);
}

#[test]
fn new_barrier_is_empty_and_whole() {
    let barrier = Barrier::new(3);
    assert_eq!(barrier.parties(), 3);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

/// asyncio: `test_filling_one_task` and `test_filling_one_task_twice`.
#[test]
fn a_single_party_passes_at_once_every_time() {
    let barrier = Barrier::new(1);
    assert_eq!(Polled::new(barrier.wait()).ready(), Ok(0));
    assert_eq!(Polled::new(barrier.wait()).ready(), Ok(0));
    assert_eq!(barrier.n_waiting(), 0);
}

/// asyncio: `test_filling_task_by_task`.
#[test]
fn tasks_fill_the_barrier_one_by_one() {
    let barrier = Barrier::new(3);
    let mut a = Polled::new(barrier.wait());
    a.pending();
    assert_eq!(barrier.n_waiting(), 1);
    let mut b = Polled::new(barrier.wait());
    b.pending();
    assert_eq!(barrier.n_waiting(), 2);
    let mut c = Polled::new(barrier.wait());
    assert_eq!(c.ready(), Ok(2));
    assert_eq!(barrier.n_waiting(), 0, "draining");
    assert_eq!((a.wakeups(), b.wakeups()), (1, 1));
    assert_eq!(a.ready(), Ok(0));
    assert_eq!(b.ready(), Ok(1));
    assert!(!barrier.broken());
}

/// asyncio: `test_filling_tasks_wait_twice` and `test_filling_tasks_check_return_value`.
#[test]
fn every_round_returns_each_index_once() {
    let sim = Sim::new();
    let barrier = Rc::new(Barrier::new(4));
    let results: Rc<RefCell<Vec<Vec<usize>>>> = Rc::new(RefCell::new(vec![Vec::new(); 2]));
    for _ in 0..4 {
        let (barrier, results) = (Rc::clone(&barrier), Rc::clone(&results));
        sim.spawn(async move {
            for round in 0..2 {
                let index = barrier.wait().await.unwrap();
                results.borrow_mut()[round].push(index);
            }
        });
    }
    sim.run_until_idle();
    for mut round in results.borrow().clone() {
        round.sort_unstable();
        assert_eq!(round, [0, 1, 2, 3]);
    }
}

/// asyncio: `test_draining_state` and `test_blocking_tasks_while_draining`. Tasks arriving
/// while the barrier drains wait until the released tasks have left.
#[test]
fn arrivals_during_draining_wait_for_the_next_round() {
    let barrier = Barrier::new(2);
    let mut a = Polled::new(barrier.wait());
    a.pending();
    assert_eq!(Polled::new(barrier.wait()).ready(), Ok(1));
    // `a` was released but has not run: the barrier is draining.
    assert_eq!(barrier.n_waiting(), 0);
    let mut early = Polled::new(barrier.wait());
    early.pending();
    assert_eq!(barrier.n_waiting(), 0, "the early task is not counted yet");

    assert_eq!(a.ready(), Ok(0));
    assert_eq!(early.wakeups(), 1);
    early.pending();
    assert_eq!(barrier.n_waiting(), 1);
    let mut partner = Polled::new(barrier.wait());
    assert_eq!(partner.ready(), Ok(1));
    assert_eq!(early.ready(), Ok(0));
}

/// asyncio: `test_filling_tasks_cancel_one`. A cancelled waiter leaves the barrier.
#[test]
fn cancelled_waiter_leaves_the_barrier() {
    let sim = Sim::new();
    let barrier = Rc::new(Barrier::new(3));
    let results: Results = Rc::default();
    let first = {
        let barrier = Rc::clone(&barrier);
        sim.spawn(async move { barrier.wait().await })
    };
    spawn_waiters(&sim, &barrier, 1, &results);
    sim.run_until_idle();
    assert_eq!(barrier.n_waiting(), 2);

    sim.cancel(&first);
    assert_eq!(barrier.n_waiting(), 1);

    spawn_waiters(&sim, &barrier, 2, &results);
    sim.run_until_idle();
    assert_eq!(results.borrow().len(), 3);
    assert!(results.borrow().iter().all(Result::is_ok));
    assert_eq!(barrier.n_waiting(), 0);
}

/// asyncio: `test_reset_barrier`.
#[test]
fn reset_of_an_idle_barrier_changes_nothing() {
    let barrier = Barrier::new(1);
    barrier.reset();
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
    assert_eq!(Polled::new(barrier.wait()).ready(), Ok(0));
}

/// asyncio: `test_reset_barrier_while_tasks_waiting`.
#[test]
fn reset_breaks_the_tasks_waiting_inside() {
    let sim = Sim::new();
    let barrier = Rc::new(Barrier::new(3));
    let results: Results = Rc::default();
    spawn_waiters(&sim, &barrier, 2, &results);
    sim.run_until_idle();
    assert_eq!(barrier.n_waiting(), 2);

    barrier.reset();
    sim.run_until_idle();
    assert_eq!(
        *results.borrow(),
        [Err(BrokenBarrierError), Err(BrokenBarrierError)]
    );
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());

    results.borrow_mut().clear();
    spawn_waiters(&sim, &barrier, 3, &results);
    sim.run_until_idle();
    assert_eq!(sorted_ok(&results), [0, 1, 2]);
}

/// asyncio: `test_reset_barrier_while_tasks_waiting_and_waiting_again`.
#[test]
fn tasks_broken_by_reset_can_wait_again() {
    let sim = Sim::new();
    let barrier = Rc::new(Barrier::new(2));
    let results: Results = Rc::default();
    let first = {
        let (barrier, results) = (Rc::clone(&barrier), Rc::clone(&results));
        sim.spawn(async move {
            let broken = barrier.wait().await;
            results.borrow_mut().push(broken);
            let again = barrier.wait().await;
            results.borrow_mut().push(again);
        })
    };
    sim.run_until_idle();
    barrier.reset();
    sim.run_until_idle();
    assert_eq!(*results.borrow(), [Err(BrokenBarrierError)]);
    assert_eq!(barrier.n_waiting(), 1, "waiting again");

    spawn_waiters(&sim, &barrier, 1, &results);
    sim.run_until_idle();
    assert!(first.is_done());
    assert_eq!(results.borrow().len(), 3);
    assert!(results.borrow()[1..].iter().all(Result::is_ok));
}

/// asyncio: `test_reset_barrier_when_tasks_half_draining`. Tasks arriving while the barrier
/// resets wait until the broken ones have left, then fill a new round.
#[test]
fn arrivals_during_reset_wait_for_the_broken_tasks_to_leave() {
    let barrier = Barrier::new(3);
    let mut a = Polled::new(barrier.wait());
    let mut b = Polled::new(barrier.wait());
    a.pending();
    b.pending();
    barrier.reset();
    let mut late = Polled::new(barrier.wait());
    late.pending();
    assert_eq!(barrier.n_waiting(), 0, "resetting");

    assert_eq!(a.ready(), Err(BrokenBarrierError));
    late.pending();
    assert_eq!(b.ready(), Err(BrokenBarrierError));
    assert_eq!(late.wakeups(), 1);
    late.pending();
    assert_eq!(barrier.n_waiting(), 1);
}

/// asyncio: `test_abort_barrier`. Waiters and later arrivals get `BrokenBarrierError`.
#[test]
fn abort_breaks_waiters_and_later_arrivals() {
    let sim = Sim::new();
    let barrier = Rc::new(Barrier::new(3));
    let results: Results = Rc::default();
    spawn_waiters(&sim, &barrier, 2, &results);
    sim.run_until_idle();

    barrier.abort();
    sim.run_until_idle();
    assert_eq!(
        *results.borrow(),
        [Err(BrokenBarrierError), Err(BrokenBarrierError)]
    );
    assert!(barrier.broken());
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(Polled::new(barrier.wait()).ready(), Err(BrokenBarrierError));
}

/// asyncio: `test_abort_barrier_when_exception_then_resetting`.
#[test]
fn reset_repairs_an_aborted_barrier() {
    let sim = Sim::new();
    let barrier = Rc::new(Barrier::new(2));
    let results: Results = Rc::default();
    spawn_waiters(&sim, &barrier, 1, &results);
    sim.run_until_idle();
    barrier.abort();
    sim.run_until_idle();
    assert_eq!(*results.borrow(), [Err(BrokenBarrierError)]);

    barrier.reset();
    assert!(!barrier.broken());
    results.borrow_mut().clear();
    spawn_waiters(&sim, &barrier, 2, &results);
    sim.run_until_idle();
    assert_eq!(sorted_ok(&results), [0, 1]);
}

/// asyncio: `test_abort_barrier_when_tasks_half_draining_half_blocking`. Tasks released
/// before the abort ran still see the broken state, as in asyncio; tasks blocked by the
/// draining fail at once.
#[test]
fn abort_while_draining_breaks_released_and_blocked_tasks() {
    let barrier = Barrier::new(2);
    let mut a = Polled::new(barrier.wait());
    a.pending();
    assert_eq!(Polled::new(barrier.wait()).ready(), Ok(1));
    let mut blocked = Polled::new(barrier.wait());
    blocked.pending();
    barrier.abort();
    assert_eq!(a.ready(), Err(BrokenBarrierError));
    assert_eq!(blocked.ready(), Err(BrokenBarrierError));
    assert!(barrier.broken());
}

#[test]
fn dropping_an_unpolled_wait_does_not_count() {
    let barrier = Barrier::new(2);
    drop(barrier.wait());
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn released_waiter_cancelled_before_it_ran_does_not_block_the_next_round() {
    let barrier = Barrier::new(2);
    let mut a = Polled::new(barrier.wait());
    a.pending();
    assert_eq!(Polled::new(barrier.wait()).ready(), Ok(1));
    drop(a); // released, then cancelled: leaves the draining barrier
    let mut c = Polled::new(barrier.wait());
    c.pending();
    assert_eq!(barrier.n_waiting(), 1);
    assert_eq!(Polled::new(barrier.wait()).ready(), Ok(1));
    assert_eq!(c.ready(), Ok(0));
}

/// Rounds in `threads_meet_at_the_barrier_many_times`: under Miri (cargo xtask miri --all)
/// fewer, since each round of four threads takes it a tenth of a second; 20 still reuse the
/// barrier across rounds while threads of the last one leave.
const THREAD_ROUNDS: usize = if cfg!(miri) { 20 } else { 200 };

#[test]
fn threads_meet_at_the_barrier_many_times() {
    let barrier = Arc::new(Barrier::new(4));
    let rounds = common::within(Duration::from_secs(30), {
        let barrier = Arc::clone(&barrier);
        move || {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    std::thread::spawn(move || {
                        (0..THREAD_ROUNDS)
                            .map(|_| barrier.wait_blocking().unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .collect::<Vec<_>>()
        }
    });
    for round in 0..THREAD_ROUNDS {
        let mut indices: Vec<usize> = rounds.iter().map(|r| r[round]).collect();
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2, 3]);
    }
}

#[test]
fn yielding_tasks_still_meet() {
    let sim = Sim::new();
    let barrier = Rc::new(Barrier::new(3));
    let results: Results = Rc::default();
    for i in 0..3 {
        let (barrier, results) = (Rc::clone(&barrier), Rc::clone(&results));
        sim.spawn(async move {
            for _ in 0..i {
                yield_now().await;
            }
            let index = barrier.wait().await;
            results.borrow_mut().push(index);
        });
    }
    sim.run_until_idle();
    assert_eq!(sorted_ok(&results), [0, 1, 2]);
}

#[test]
fn error_is_a_std_error_with_a_message() {
    let error: Box<dyn std::error::Error + Send + Sync> = Box::new(BrokenBarrierError);
    assert_eq!(error.to_string(), "barrier aborted or reset");
}
