//! A model-based test harness for the three queue kinds.
//!
//! A proptest-generated sequence of operations runs against a real queue and against a model
//! (a `VecDeque`, a `BinaryHeap` or a `Vec`, plus the unfinished-task count, a "join epoch"
//! and the shutdown flag). Items are `u32`s, or [`Heavy`] items carrying a `u32`, whose size
//! leaves room for only a few of them in a FIFO queue's ring, so that the part of the queue
//! beyond the ring is exercised. Blocking operations (`put`, `get`, `join`) become futures that are
//! polled once when created and afterwards only when their waker fired, like a real executor
//! would; `Settle` polls woken futures until none is left, and the other operations (puts,
//! gets, cancellations, shutdowns) may run in between, while futures are woken but have not
//! run yet. Every result is compared with the model, and after every `Settle` no future may
//! be pending that could make progress (a lost wake-up).

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, VecDeque},
    fmt,
    sync::Arc,
    task::Poll,
};

use proptest::{prelude::*, test_runner::TestCaseError};
use tulip_queue::{
    futures::{Get, Join, Put},
    GetError, LifoQueue, PriorityQueue, PutError, Queue, QueueShutDown, TooManyTaskDone,
};

use super::{poll_with, WakeCounter};

/// What the queues under test hold: a `u32` the model tracks, maybe with ballast.
pub(crate) trait Item: fmt::Debug + Sized {
    fn new(v: u32) -> Self;
    fn value(&self) -> u32;
}

impl Item for u32 {
    fn new(v: u32) -> Self {
        v
    }
    fn value(&self) -> u32 {
        *self
    }
}

/// A `u32` with 10 KiB of ballast: a FIFO queue's ring (32 KiB) has room for three, so a
/// queue of them with a larger `maxsize` keeps the rest in the overflow behind the ring.
pub(crate) struct Heavy {
    value: u32,
    ballast: [u8; 10 * 1024],
}

impl Item for Heavy {
    fn new(value: u32) -> Self {
        Self {
            value,
            ballast: [value as u8; 10 * 1024],
        }
    }
    fn value(&self) -> u32 {
        assert!(
            self.ballast.iter().all(|&b| b == self.value as u8),
            "ballast damaged"
        );
        self.value
    }
}

impl fmt::Debug for Heavy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Heavy({})", self.value)
    }
}

impl PartialEq for Heavy {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Heavy {}

impl PartialOrd for Heavy {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Heavy {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

/// A put's result with the item replaced by its value.
fn put_values<I: Item>(result: Result<(), PutError<I>>) -> Result<(), PutError<u32>> {
    result.map_err(|err| match err {
        PutError::Full(item) => PutError::Full(item.value()),
        PutError::ShutDown(item) => PutError::ShutDown(item.value()),
    })
}

/// The queue API the harness drives, implemented by the three kinds.
pub(crate) trait TestQueue {
    /// The reference container.
    type Model: Model;
    /// What the queue holds.
    type Item: Item;
    fn new(maxsize: usize) -> Self;
    fn put(&self, v: Self::Item) -> Put<'_, Self::Item>;
    fn get(&self) -> Get<'_, Self::Item>;
    fn join(&self) -> Join<'_>;
    fn put_nowait(&self, v: Self::Item) -> Result<(), PutError<Self::Item>>;
    fn get_nowait(&self) -> Result<Self::Item, GetError>;
    fn task_done(&self) -> Result<(), TooManyTaskDone>;
    fn shutdown(&self, immediate: bool);
    fn qsize(&self) -> usize;
    fn empty(&self) -> bool;
    fn full(&self) -> bool;
    fn unfinished_tasks(&self) -> usize;
    fn is_shut_down(&self) -> bool;
}

macro_rules! impl_test_queue {
    ($Q:ident, $I:ty, $M:ty) => {
        impl TestQueue for $Q<$I> {
            type Model = $M;
            type Item = $I;
            fn new(maxsize: usize) -> Self {
                $Q::new(maxsize)
            }
            fn put(&self, v: $I) -> Put<'_, $I> {
                $Q::put(self, v)
            }
            fn get(&self) -> Get<'_, $I> {
                $Q::get(self)
            }
            fn join(&self) -> Join<'_> {
                $Q::join(self)
            }
            fn put_nowait(&self, v: $I) -> Result<(), PutError<$I>> {
                $Q::put_nowait(self, v)
            }
            fn get_nowait(&self) -> Result<$I, GetError> {
                $Q::get_nowait(self)
            }
            fn task_done(&self) -> Result<(), TooManyTaskDone> {
                $Q::task_done(self)
            }
            fn shutdown(&self, immediate: bool) {
                $Q::shutdown(self, immediate)
            }
            fn qsize(&self) -> usize {
                $Q::qsize(self)
            }
            fn empty(&self) -> bool {
                $Q::empty(self)
            }
            fn full(&self) -> bool {
                $Q::full(self)
            }
            fn unfinished_tasks(&self) -> usize {
                $Q::unfinished_tasks(self)
            }
            fn is_shut_down(&self) -> bool {
                $Q::is_shut_down(self)
            }
        }
    };
}

impl_test_queue!(Queue, u32, VecDeque<u32>);
impl_test_queue!(PriorityQueue, u32, BinaryHeap<Reverse<u32>>);
impl_test_queue!(LifoQueue, u32, Vec<u32>);
impl_test_queue!(Queue, Heavy, VecDeque<u32>);

/// A reference container with the queue kind's order.
pub(crate) trait Model: Default {
    fn push(&mut self, v: u32);
    fn pop(&mut self) -> Option<u32>;
    fn len(&self) -> usize;
    fn clear(&mut self);
}

impl Model for VecDeque<u32> {
    fn push(&mut self, v: u32) {
        self.push_back(v);
    }
    fn pop(&mut self) -> Option<u32> {
        self.pop_front()
    }
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn clear(&mut self) {
        VecDeque::clear(self);
    }
}

impl Model for BinaryHeap<Reverse<u32>> {
    fn push(&mut self, v: u32) {
        BinaryHeap::push(self, Reverse(v));
    }
    fn pop(&mut self) -> Option<u32> {
        BinaryHeap::pop(self).map(|Reverse(v)| v)
    }
    fn len(&self) -> usize {
        BinaryHeap::len(self)
    }
    fn clear(&mut self) {
        BinaryHeap::clear(self);
    }
}

impl Model for Vec<u32> {
    fn push(&mut self, v: u32) {
        Vec::push(self, v);
    }
    fn pop(&mut self) -> Option<u32> {
        Vec::pop(self)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

/// One step of a test case.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    PutNowait(u32),
    GetNowait,
    /// Start a `put` and poll it once.
    Put(u32),
    /// Start a `get` and poll it once.
    Get,
    /// Start a `join` and poll it once.
    Join,
    TaskDone,
    Shutdown {
        immediate: bool,
    },
    /// Drop the n-th (modulo) pending future.
    Cancel(usize),
    /// Poll woken futures until none is woken.
    Settle,
}

/// Sequences of operations, with shutdowns rare enough that most of a sequence runs on a
/// live queue.
pub(crate) fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..20u32).prop_map(Op::PutNowait),
        4 => Just(Op::GetNowait),
        4 => (0..20u32).prop_map(Op::Put),
        4 => Just(Op::Get),
        2 => Just(Op::Join),
        4 => Just(Op::TaskDone),
        1 => any::<bool>().prop_map(|immediate| Op::Shutdown { immediate }),
        3 => any::<usize>().prop_map(Op::Cancel),
        5 => Just(Op::Settle),
    ];
    // Shorter under Miri (cargo xtask miri --all), where 80 steps take a case many seconds;
    // 24 still fill small queues, park putters and getters and cancel some.
    prop::collection::vec(op, 0..if cfg!(miri) { 24 } else { 80 })
}

/// The model's state.
struct Expected<M> {
    items: M,
    maxsize: usize,
    unfinished: usize,
    /// Bumped each time `unfinished` reaches zero (asyncio's `_finished.set()`).
    epoch: usize,
    shut_down: bool,
}

impl<M: Model> Expected<M> {
    fn full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }

    fn put(&mut self, v: u32) -> Result<(), PutError<u32>> {
        if self.shut_down {
            Err(PutError::ShutDown(v))
        } else if self.full() {
            Err(PutError::Full(v))
        } else {
            self.items.push(v);
            self.unfinished += 1;
            Ok(())
        }
    }

    fn get(&mut self) -> Result<u32, GetError> {
        match self.items.pop() {
            Some(v) => Ok(v),
            None if self.shut_down => Err(GetError::ShutDown),
            None => Err(GetError::Empty),
        }
    }

    fn task_done(&mut self) -> Result<(), TooManyTaskDone> {
        if self.unfinished == 0 {
            return Err(TooManyTaskDone);
        }
        self.unfinished -= 1;
        if self.unfinished == 0 {
            self.epoch += 1;
        }
        Ok(())
    }

    fn shutdown(&mut self, immediate: bool) {
        self.shut_down = true;
        if immediate {
            let discarded = self.items.len().min(self.unfinished);
            self.items.clear();
            self.unfinished -= discarded;
            if discarded > 0 && self.unfinished == 0 {
                self.epoch += 1;
            }
        }
    }

    /// Whether a joiner that started in `start` is released.
    fn join_released(&self, start: usize) -> bool {
        self.unfinished == 0 || self.epoch != start
    }
}

enum Pending<'q, I> {
    Put(Put<'q, I>, u32),
    Get(Get<'q, I>),
    Join(Join<'q>, usize),
}

struct Task<'q, I> {
    fut: Pending<'q, I>,
    flag: Arc<WakeCounter>,
}

/// Polls `task` once; applies a completion to the model. Returns whether it completed.
fn poll_task<I: Item, M: Model>(
    task: &mut Task<'_, I>,
    expected: &mut Expected<M>,
) -> Result<bool, TestCaseError> {
    match &mut task.fut {
        Pending::Put(fut, v) => match poll_with(fut, &task.flag) {
            Poll::Ready(Ok(())) => {
                prop_assert_eq!(expected.put(*v), Ok(()), "a put completed");
                Ok(true)
            }
            Poll::Ready(Err(QueueShutDown)) => {
                prop_assert!(expected.shut_down, "a put failed on a live queue");
                Ok(true)
            }
            Poll::Pending => {
                prop_assert!(
                    expected.full() && !expected.shut_down,
                    "a put is pending on a queue with room (or shut down)"
                );
                Ok(false)
            }
        },
        Pending::Get(fut) => match poll_with(fut, &task.flag) {
            Poll::Ready(Ok(item)) => {
                prop_assert_eq!(expected.get(), Ok(item.value()), "a get returned");
                Ok(true)
            }
            Poll::Ready(Err(QueueShutDown)) => {
                prop_assert!(
                    expected.shut_down && expected.items.len() == 0,
                    "a get failed while items were left or the queue was live"
                );
                Ok(true)
            }
            Poll::Pending => {
                prop_assert!(
                    expected.items.len() == 0 && !expected.shut_down,
                    "a get is pending on a non-empty (or shut down) queue"
                );
                Ok(false)
            }
        },
        Pending::Join(fut, start) => match poll_with(fut, &task.flag) {
            Poll::Ready(()) => {
                prop_assert!(expected.join_released(*start), "a join returned early");
                Ok(true)
            }
            Poll::Pending => {
                prop_assert!(!expected.join_released(*start), "a join is stuck");
                Ok(false)
            }
        },
    }
}

/// Polls a new future once; keeps it if it is pending.
fn start<'q, I: Item, M: Model>(
    fut: Pending<'q, I>,
    expected: &mut Expected<M>,
    tasks: &mut Vec<Task<'q, I>>,
) -> Result<(), TestCaseError> {
    let mut task = Task {
        fut,
        flag: WakeCounter::new(),
    };
    if !poll_task(&mut task, expected)? {
        tasks.push(task);
    }
    Ok(())
}

/// Runs `ops` against a queue of kind `Q` and its model.
pub(crate) fn check<Q: TestQueue>(maxsize: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let queue = Q::new(maxsize);
    let mut expected = Expected {
        items: Q::Model::default(),
        maxsize,
        unfinished: 0,
        epoch: 0,
        shut_down: false,
    };
    let mut tasks: Vec<Task<'_, Q::Item>> = Vec::new();

    for op in ops.into_iter().chain([Op::Settle]) {
        match op {
            Op::PutNowait(v) => {
                prop_assert_eq!(put_values(queue.put_nowait(Item::new(v))), expected.put(v));
            }
            Op::GetNowait => {
                prop_assert_eq!(queue.get_nowait().map(|i| i.value()), expected.get());
            }
            Op::Put(v) => start(
                Pending::Put(queue.put(Item::new(v)), v),
                &mut expected,
                &mut tasks,
            )?,
            Op::Get => start(Pending::Get(queue.get()), &mut expected, &mut tasks)?,
            Op::Join => {
                let epoch = expected.epoch;
                start(
                    Pending::Join(queue.join(), epoch),
                    &mut expected,
                    &mut tasks,
                )?;
            }
            Op::TaskDone => {
                prop_assert_eq!(queue.task_done(), expected.task_done());
            }
            Op::Shutdown { immediate } => {
                queue.shutdown(immediate);
                expected.shutdown(immediate);
            }
            Op::Cancel(n) => {
                if !tasks.is_empty() {
                    let n = n % tasks.len();
                    drop(tasks.remove(n));
                }
            }
            Op::Settle => {
                // Poll woken futures, oldest first, until none is woken.
                while let Some(i) = tasks.iter().position(|task| task.flag.take()) {
                    if poll_task(&mut tasks[i], &mut expected)? {
                        tasks.remove(i);
                    }
                }
                // Nothing that could run was left un-woken.
                for task in &mut tasks {
                    prop_assert!(
                        !poll_task(task, &mut expected)?,
                        "a future completed without having been woken (lost wake-up)"
                    );
                }
            }
        }
        prop_assert_eq!(queue.qsize(), expected.items.len(), "qsize");
        prop_assert_eq!(queue.empty(), expected.items.len() == 0, "empty");
        prop_assert_eq!(queue.full(), expected.full(), "full");
        prop_assert_eq!(queue.unfinished_tasks(), expected.unfinished, "unfinished");
        prop_assert_eq!(queue.is_shut_down(), expected.shut_down, "shut down");
    }
    Ok(())
}
