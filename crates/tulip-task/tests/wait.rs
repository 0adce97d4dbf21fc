//! wait: the three return conditions, with and without a timeout, and what comes back; on
//! both flavours of the loop.

mod common;

use std::future::pending;

use common::{after, on_both, runner, secs, since};
use tulip_executor::{spawn, Builder, Task};
use tulip_reactor::Instant;
use tulip_task::{wait, Done, ReturnWhen, TaskGroup};

/// Tasks that finish after the given seconds with their seconds as value.
fn sleepers(secs_each: &[u64]) -> Vec<Task<u64>> {
    secs_each
        .iter()
        .map(|&s| spawn(after(secs(s), s)))
        .collect()
}

fn values(done: Vec<Done<Task<u64>>>) -> Vec<u64> {
    done.into_iter().map(|d| d.into_output().unwrap()).collect()
}

#[test]
fn all_completed_waits_for_every_task() {
    on_both(|| async {
        let start = Instant::now();
        let (done, pending) = wait(sleepers(&[3, 1, 2])).await;
        assert_eq!(since(start), secs(3));
        assert!(pending.is_empty());
        assert_eq!(values(done), [1, 2, 3], "done is in completion order");
    });
}

#[test]
fn all_completed_with_a_timeout_returns_what_finished() {
    on_both(|| async {
        let start = Instant::now();
        let (done, pending) = wait(sleepers(&[30, 1, 2, 40]))
            .return_when(ReturnWhen::AllCompleted)
            .timeout(secs(5))
            .await;
        assert_eq!(since(start), secs(5));
        assert_eq!(values(done), [1, 2]);
        // Pending tasks come back untouched, in input order, still running.
        let rest: Vec<u64> = tulip_task::gather(pending)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rest, [30, 40]);
        assert_eq!(since(start), secs(40));
    });
}

#[test]
fn first_completed_returns_at_the_first_completion() {
    on_both(|| async {
        let start = Instant::now();
        let (done, pending) = wait(sleepers(&[3, 2, 5]))
            .return_when(ReturnWhen::FirstCompleted)
            .await;
        assert_eq!(since(start), secs(2));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].index(), 1);
        assert_eq!(values(done), [2]);
        assert_eq!(pending.len(), 2);
    });
}

#[test]
fn on_one_thread_first_completed_includes_every_task_done_at_that_moment() {
    // Flavour-dependent: with several workers, tasks due at the same virtual instant finish
    // at slightly different real times, and the waiter may wake between them.
    runner(1).run(async {
        let (done, pending) = wait(sleepers(&[2, 9, 2, 2]))
            .return_when(ReturnWhen::FirstCompleted)
            .await;
        let mut idx: Vec<usize> = done.iter().map(|d| d.index()).collect();
        idx.sort();
        assert_eq!(idx, [0, 2, 3]);
        assert_eq!(pending.len(), 1);
    });
}

#[test]
fn first_completed_with_a_timeout_and_nothing_done() {
    on_both(|| async {
        let start = Instant::now();
        let (done, pending) = wait(sleepers(&[10, 20]))
            .return_when(ReturnWhen::FirstCompleted)
            .timeout(secs(4))
            .await;
        assert_eq!(since(start), secs(4));
        assert!(done.is_empty());
        assert_eq!(pending.len(), 2);
        for t in pending {
            t.cancel();
        }
    });
}

#[test]
fn first_exception_returns_when_a_task_panics() {
    on_both(|| async {
        let start = Instant::now();
        let mut tasks = sleepers(&[1, 60]);
        tasks.push(spawn(async {
            after(secs(3), ()).await;
            panic!("task failed");
        }));
        let (done, pending) = wait(tasks).return_when(ReturnWhen::FirstException).await;
        assert_eq!(since(start), secs(3));
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].output().as_ref().unwrap(), &1);
        let err = done.into_iter().nth(1).unwrap().into_output().unwrap_err();
        assert_eq!(err.panic_message().as_deref(), Some("task failed"));
        assert_eq!(pending.len(), 1);
    });
}

#[test]
fn first_exception_does_not_count_a_cancelled_task() {
    on_both(|| async {
        let start = Instant::now();
        let tasks = sleepers(&[60, 5]);
        tasks[0].cancel();
        let (done, pending) = wait(tasks).return_when(ReturnWhen::FirstException).await;
        // No failure: like ALL_COMPLETED.
        assert_eq!(since(start), secs(5));
        assert_eq!(done.len(), 2);
        assert!(pending.is_empty());
        assert!(done[0].output().as_ref().unwrap_err().is_cancelled());
    });
}

#[test]
fn first_exception_with_a_timeout() {
    on_both(|| async {
        let start = Instant::now();
        let (done, pending) = wait(sleepers(&[1, 100]))
            .return_when(ReturnWhen::FirstException)
            .timeout(secs(10))
            .await;
        assert_eq!(since(start), secs(10));
        assert_eq!(values(done), [1]);
        assert_eq!(pending.len(), 1);
    });
}

#[test]
fn a_timeout_longer_than_the_work_does_not_delay_the_result() {
    on_both(|| async {
        let start = Instant::now();
        let (done, _) = wait(sleepers(&[1, 2])).timeout(secs(3600)).await;
        assert_eq!(since(start), secs(2));
        assert_eq!(done.len(), 2);
    });
}

#[test]
fn waiting_for_nothing_returns_at_once() {
    on_both(|| async {
        let (done, pending) = wait(Vec::<Task<()>>::new()).timeout(secs(5)).await;
        assert!(done.is_empty() && pending.is_empty());
    });
}

#[test]
fn done_keeps_the_task_and_gives_its_result_when_awaited() {
    on_both(|| async {
        let t = Builder::new().name("answer").spawn(after(secs(1), 42));
        let id = t.id();
        let (done, _) = wait([t]).await;
        let d = done.into_iter().next().unwrap();
        assert_eq!(d.get_ref().id(), id);
        assert_eq!(d.get_ref().name(), Some("answer"));
        assert_eq!(d.await.unwrap(), 42);
    });
}

#[test]
fn pending_tasks_can_be_waited_for_again() {
    on_both(|| async {
        let start = Instant::now();
        let (done1, pending1) = wait(sleepers(&[1, 2, 3]))
            .return_when(ReturnWhen::FirstCompleted)
            .await;
        let (done2, pending2) = wait(pending1).return_when(ReturnWhen::FirstCompleted).await;
        let (done3, pending3) = wait(pending2).await;
        assert_eq!(
            (values(done1), values(done2), values(done3)),
            (vec![1], vec![2], vec![3])
        );
        assert!(pending3.is_empty());
        assert_eq!(since(start), secs(3));
    });
}

#[test]
fn wait_works_on_task_group_children() {
    on_both(|| async {
        let tg = TaskGroup::<()>::new();
        let fast = tg
            .spawn(async { Ok(after(secs(1), "fast").await) })
            .unwrap();
        let slow = tg
            .spawn(async { Ok(after(secs(9), "slow").await) })
            .unwrap();
        let (done, pending) = wait([fast, slow])
            .return_when(ReturnWhen::FirstCompleted)
            .await;
        assert_eq!(done.into_iter().next().unwrap().await.unwrap(), "fast");
        assert_eq!(pending.len(), 1);
        tg.join().await.unwrap();
    });
}

#[test]
fn dropping_the_wait_detaches_the_tasks() {
    on_both(|| async {
        let start = Instant::now();
        let t = spawn(after(secs(5), 5));
        let id = t.id();
        let waited = tulip_task::timeout(secs(1), wait([t])).await;
        assert!(waited.is_err());
        // The task was detached, not cancelled: it still finishes.
        let (done, _) = wait([spawn(after(secs(10), 0))]).await;
        assert_eq!(done.len(), 1);
        assert_ne!(done[0].get_ref().id(), id);
        assert_eq!(since(start), secs(11));
    });
}

#[test]
fn a_task_that_never_ends_stays_pending() {
    on_both(|| async {
        let forever = spawn(pending::<()>());
        let (done, mut still) = wait([forever]).timeout(secs(1)).await;
        assert!(done.is_empty());
        let t = still.pop().unwrap();
        assert!(!t.is_finished());
        assert!(t.cancel());
        assert!(t.await.unwrap_err().is_cancelled());
    });
}

/// Tasks that finish after the given seconds, `Err` when the flag says so.
fn fallible(spec: &[(u64, bool)]) -> Vec<Task<Result<u64, String>>> {
    spec.iter()
        .map(|&(s, ok)| {
            spawn(async move {
                after(secs(s), ()).await;
                if ok {
                    Ok(s)
                } else {
                    Err(format!("{s} failed"))
                }
            })
        })
        .collect()
}

#[test]
fn first_error_returns_at_the_first_err() {
    on_both(|| async {
        let start = Instant::now();
        let (done, pending) = wait(fallible(&[(1, true), (3, false), (2, true), (60, false)]))
            .return_when(ReturnWhen::FirstError)
            .await;
        assert_eq!(since(start), secs(3));
        let outputs: Vec<Result<u64, String>> =
            done.into_iter().map(|d| d.into_output().unwrap()).collect();
        assert_eq!(outputs, [Ok(1), Ok(2), Err("3 failed".to_string())]);
        assert_eq!(pending.len(), 1);
    });
}

#[test]
fn first_exception_treats_an_err_as_a_value_and_first_error_does_not() {
    on_both(|| async {
        // The difference the docs state: FirstException waits past an Err.
        let start = Instant::now();
        let (done, _) = wait(fallible(&[(2, false), (5, true)]))
            .return_when(ReturnWhen::FirstException)
            .await;
        assert_eq!((since(start), done.len()), (secs(5), 2));
        let start = Instant::now();
        let (done, pending) = wait(fallible(&[(2, false), (5, true)]))
            .return_when(ReturnWhen::FirstError)
            .await;
        assert_eq!((since(start), done.len(), pending.len()), (secs(2), 1, 1));
    });
}

#[test]
fn first_error_also_returns_at_a_panic_and_not_at_a_cancel() {
    on_both(|| async {
        let start = Instant::now();
        let mut tasks = fallible(&[(60, true), (1, true)]);
        tasks[0].cancel();
        tasks.push(spawn(async {
            after(secs(4), ()).await;
            panic!("boom")
        }));
        tasks.push(spawn(after(secs(30), Ok(30))));
        let (done, pending) = wait(tasks).return_when(ReturnWhen::FirstError).await;
        assert_eq!(since(start), secs(4));
        assert_eq!(done.len(), 3, "cancelled, 1 s, the panic");
        assert!(done[2].output().as_ref().unwrap_err().is_panic());
        assert_eq!(pending.len(), 1);
    });
}

#[test]
fn first_error_without_an_error_waits_for_all_or_the_timeout() {
    on_both(|| async {
        let start = Instant::now();
        let (done, pending) = wait(fallible(&[(1, true), (100, true)]))
            .return_when(ReturnWhen::FirstError)
            .timeout(secs(10))
            .await;
        assert_eq!(since(start), secs(10));
        assert_eq!((done.len(), pending.len()), (1, 1));
        let (done, _) = wait(fallible(&[(1, true), (2, true)]))
            .return_when(tulip_task::FirstError)
            .await;
        assert_eq!(done.len(), 2);
    });
}
