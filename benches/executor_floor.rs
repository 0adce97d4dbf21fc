//! The hand-written floor of the executor workloads (issue 22): what `spawn_many`,
//! `chained_spawn` and `yield_many` cost with no runtime at all — a `VecDeque` of boxed
//! closures run in order on one thread, no wakers, no reference counts, no cancellation, no
//! panic containment. For callgrind (instructions per operation at `n` and `2n`), not for the
//! bench table: `executor_floor --workload spawn_many --n 100000`.

use std::cell::Cell;
use std::collections::VecDeque;
use std::hint::black_box;
use std::rc::Rc;

/// The run queue.
#[derive(Default)]
struct Queue(VecDeque<Job>);

/// A queued job: gets the queue, so it can queue more.
type Job = Box<dyn FnOnce(&mut Queue)>;

/// Runs queued jobs until none is left.
fn run(queue: &mut Queue) {
    while let Some(job) = queue.0.pop_front() {
        job(queue);
    }
}

/// `n` jobs queued at once (each holds a counter, so each is a real allocation), then run.
fn spawn_many(n: u64) -> u64 {
    let done = Rc::new(Cell::new(0u64));
    let mut queue = Queue::default();
    for _ in 0..n {
        let done = done.clone();
        queue
            .0
            .push_back(Box::new(move |_| done.set(done.get() + 1)));
    }
    run(&mut queue);
    done.get()
}

/// Each job queues the next; the last one counts the chain as done.
fn chain(left: u64, done: Rc<Cell<u64>>) -> Job {
    Box::new(move |q| {
        if left == 0 {
            done.set(done.get() + 1);
        } else {
            q.0.push_back(chain(left - 1, done));
        }
    })
}

fn chained_spawn(n: u64) -> u64 {
    let done = Rc::new(Cell::new(0u64));
    let mut queue = Queue::default();
    queue.0.push_back(chain(n, done.clone()));
    run(&mut queue);
    done.get()
}

/// 1 000 "tasks" (boxed state machines), each run `n` times: a turn pops it, steps it and
/// queues it again, as a yield does.
fn yield_many(n: u64) -> u64 {
    let mut queue: VecDeque<Box<dyn FnMut() -> bool>> = VecDeque::new();
    for _ in 0..1_000 {
        let mut left = n;
        queue.push_back(Box::new(move || {
            left -= 1;
            black_box(left) > 0
        }));
    }
    let mut turns = 0;
    while let Some(mut task) = queue.pop_front() {
        turns += 1;
        if task() {
            queue.push_back(task);
        }
    }
    turns
}

fn main() {
    let mut workload = String::new();
    let mut n = 100_000u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--workload" => workload = args.next().expect("--workload NAME"),
            "--n" => n = args.next().and_then(|v| v.parse().ok()).expect("--n N"),
            // `cargo bench` passes `--bench`; other flags of the shared harness are ignored.
            _ => {}
        }
    }
    let ops = match workload.as_str() {
        "spawn_many" => spawn_many(black_box(n)),
        "chained_spawn" => chained_spawn(black_box(n)),
        "yield_many" => yield_many(black_box(n)),
        "" => {
            for w in ["spawn_many", "chained_spawn", "yield_many"] {
                println!("{w}");
            }
            return;
        }
        other => panic!("unknown workload {other}"),
    };
    println!("{workload} n={n}: {ops} operations");
}
