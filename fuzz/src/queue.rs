//! The queues (`Queue`, `LifoQueue`, `PriorityQueue`) and the mpmc channels against a
//! `VecDeque` model (a `Vec` for LIFO, a sorted set for priority): every `_nowait` operation,
//! waiting gets and puts that are polled, left pending and cancelled, `task_done`, and both
//! shutdowns; then for channels, clones and drops of either side and `close`. Checks results,
//! sizes, the unfinished-task count, and that every item is dropped exactly once.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use tulip_queue::channel::{self, TryRecvError, TrySendError};
use tulip_queue::{GetError, LifoQueue, PriorityQueue, PutError, Queue, TooManyTaskDone};

use crate::input::Input;

/// An item that counts its drops; ordered by `(key, id)`, compared by `id`.
#[derive(Debug)]
struct Item {
    key: u8,
    id: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
    }
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.key, self.id).cmp(&(other.key, other.id))
    }
}

/// Items made so far, and their drop counter.
struct Maker {
    next: u64,
    drops: Arc<AtomicUsize>,
}

impl Maker {
    fn make(&mut self, key: u8) -> Item {
        self.next += 1;
        Item {
            key,
            id: self.next,
            drops: self.drops.clone(),
        }
    }

    fn check_all_dropped(&self) {
        assert_eq!(
            self.drops.load(Relaxed) as u64,
            self.next,
            "every item dropped exactly once"
        );
    }
}

/// The queue model: which order items leave in.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Fifo,
    Lifo,
    Priority,
}

struct Model {
    kind: Kind,
    items: VecDeque<(u8, u64)>,
    maxsize: usize,
    unfinished: usize,
    shut: bool,
}

impl Model {
    fn full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }

    fn push(&mut self, item: (u8, u64)) {
        match self.kind {
            Kind::Fifo | Kind::Lifo => self.items.push_back(item),
            Kind::Priority => {
                let at = self.items.partition_point(|x| *x < item);
                self.items.insert(at, item);
            }
        }
        self.unfinished += 1;
    }

    fn pop(&mut self) -> Option<(u8, u64)> {
        match self.kind {
            Kind::Fifo | Kind::Priority => self.items.pop_front(),
            Kind::Lifo => self.items.pop_back(),
        }
    }
}

fn poll<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

type Pending<'a, T> = Option<Pin<Box<dyn Future<Output = T> + 'a>>>;

macro_rules! queue_run {
    ($name:ident, $Queue:ident, $kind:expr) => {
        fn $name(input: &mut Input<'_>, maker: &mut Maker) {
            let maxsize = usize::from(input.u8() % 8);
            let q = $Queue::<Item>::new(maxsize);
            let mut m = Model {
                kind: $kind,
                items: VecDeque::new(),
                maxsize,
                unfinished: 0,
                shut: false,
            };
            // One waiting get and one waiting put at a time (the put's item id beside it).
            let mut get: Pending<'_, Result<Item, tulip_queue::QueueShutDown>> = None;
            let mut put: Pending<'_, Result<(), tulip_queue::QueueShutDown>> = None;
            let mut put_item: (u8, u64) = (0, 0);
            let mut steps = 0;
            while !input.is_empty() && steps < 2_000 {
                steps += 1;
                match input.u8() % 10 {
                    0 | 1 => {
                        let item = maker.make(input.u8() % 4);
                        let key = (item.key, item.id);
                        match q.put_nowait(item) {
                            Ok(()) => {
                                assert!(!m.shut && !m.full(), "put_nowait succeeded");
                                m.push(key);
                            }
                            Err(PutError::Full(i)) => {
                                assert!(!m.shut && m.full(), "Full");
                                assert_eq!((i.key, i.id), key);
                            }
                            Err(PutError::ShutDown(i)) => {
                                assert!(m.shut, "ShutDown");
                                assert_eq!((i.key, i.id), key);
                            }
                        }
                    }
                    2 | 3 => match q.get_nowait() {
                        Ok(i) => assert_eq!(Some((i.key, i.id)), m.pop(), "get_nowait"),
                        Err(GetError::Empty) => assert!(!m.shut && m.items.is_empty()),
                        Err(GetError::ShutDown) => assert!(m.shut && m.items.is_empty()),
                    },
                    4 => {
                        // Start (or poll again) a waiting get.
                        let fut = get.get_or_insert_with(|| Box::pin(q.get()));
                        match poll(fut.as_mut()) {
                            Poll::Ready(Ok(i)) => {
                                assert_eq!(Some((i.key, i.id)), m.pop(), "get");
                                get = None;
                            }
                            Poll::Ready(Err(_)) => {
                                assert!(m.shut && m.items.is_empty(), "get after shutdown");
                                get = None;
                            }
                            Poll::Pending => assert!(m.items.is_empty() && !m.shut, "get waits"),
                        }
                    }
                    5 => {
                        // Start (or poll again) a waiting put.
                        if put.is_none() {
                            let item = maker.make(input.u8() % 4);
                            put_item = (item.key, item.id);
                            put = Some(Box::pin(q.put(item)));
                        }
                        let fut = put.as_mut().expect("just made");
                        match poll(fut.as_mut()) {
                            Poll::Ready(Ok(())) => {
                                assert!(!m.shut && !m.full(), "put");
                                m.push(put_item);
                                put = None;
                            }
                            Poll::Ready(Err(_)) => {
                                assert!(m.shut, "put after shutdown");
                                put = None;
                            }
                            Poll::Pending => assert!(m.full() && !m.shut, "put waits"),
                        }
                    }
                    6 => {
                        // Cancel whichever waits: nothing moves.
                        if input.u8() % 2 == 0 {
                            get = None;
                        } else {
                            put = None;
                        }
                    }
                    7 => match q.task_done() {
                        Ok(()) => {
                            assert!(m.unfinished > 0, "task_done");
                            m.unfinished -= 1;
                        }
                        Err(TooManyTaskDone) => assert_eq!(m.unfinished, 0),
                    },
                    // A shutdown now and then (the guard reads one byte either way).
                    8 if input.u8() % 4 == 0 => {
                        let immediate = input.u8() % 2 == 0;
                        q.shutdown(immediate);
                        m.shut = true;
                        if immediate {
                            let n = m.items.len();
                            m.items.clear();
                            m.unfinished = m.unfinished.saturating_sub(n);
                        }
                    }
                    _ => {}
                }
                assert_eq!(q.qsize(), m.items.len(), "qsize");
                assert_eq!(q.empty(), m.items.is_empty(), "empty");
                assert_eq!(q.full(), m.full(), "full");
                assert_eq!(q.unfinished_tasks(), m.unfinished, "unfinished_tasks");
                assert_eq!(q.is_shut_down(), m.shut, "is_shut_down");
            }
            drop((get, put));
            // What is left comes out in the model's order.
            while let Some(want) = m.pop() {
                let i = q.get_nowait().expect("an item the model holds");
                assert_eq!((i.key, i.id), want, "drain");
            }
            assert!(q.get_nowait().is_err());
        }
    };
}

queue_run!(run_fifo, Queue, Kind::Fifo);
queue_run!(run_lifo, LifoQueue, Kind::Lifo);
queue_run!(run_priority, PriorityQueue, Kind::Priority);

fn run_channel(input: &mut Input<'_>, maker: &mut Maker) {
    let cap = usize::from(input.u8() % 8);
    let (tx, rx) = if cap == 0 {
        channel::unbounded::<Item>()
    } else {
        channel::bounded::<Item>(cap)
    };
    let mut txs = vec![tx];
    let mut rxs = vec![rx];
    let mut model: VecDeque<u64> = VecDeque::new();
    let mut closed = false;
    let mut steps = 0;
    while !input.is_empty() && steps < 2_000 {
        steps += 1;
        let pick = usize::from(input.u8());
        match input.u8() % 8 {
            0 | 1 => {
                if let Some(tx) = txs.get(pick % txs.len().max(1)) {
                    let item = maker.make(0);
                    let id = item.id;
                    match tx.try_send(item) {
                        Ok(()) => {
                            assert!(!closed && (cap == 0 || model.len() < cap), "try_send");
                            model.push_back(id);
                        }
                        Err(TrySendError::Full(i)) => {
                            assert!(!closed && cap > 0 && model.len() >= cap, "Full");
                            assert_eq!(i.id, id);
                        }
                        Err(TrySendError::Closed(i)) => {
                            assert!(closed, "Closed");
                            assert_eq!(i.id, id);
                        }
                    }
                }
            }
            2 | 3 => {
                if let Some(rx) = rxs.get(pick % rxs.len().max(1)) {
                    match rx.try_recv() {
                        Ok(i) => assert_eq!(Some(i.id), model.pop_front(), "try_recv"),
                        Err(TryRecvError::Empty) => assert!(!closed && model.is_empty()),
                        Err(TryRecvError::Closed) => assert!(closed && model.is_empty()),
                    }
                }
            }
            4 => {
                if let Some(tx) = txs.first() {
                    txs.push(tx.clone());
                }
                if let Some(rx) = rxs.first() {
                    rxs.push(rx.clone());
                }
            }
            5 => {
                if !txs.is_empty() {
                    txs.swap_remove(pick % txs.len());
                    closed |= txs.is_empty();
                }
            }
            6 => {
                if rxs.len() > 1 {
                    rxs.swap_remove(pick % rxs.len());
                }
            }
            _ => {
                if let Some(rx) = rxs.first() {
                    assert_eq!(rx.close(), !closed, "close reports the first close");
                    closed = true;
                }
            }
        }
        if let Some(rx) = rxs.first() {
            assert_eq!(rx.len(), model.len(), "len");
            assert_eq!(rx.is_closed(), closed, "is_closed");
            assert_eq!(rx.is_full(), cap > 0 && model.len() >= cap, "is_full");
            assert_eq!(rx.sender_count(), txs.len(), "sender_count");
            assert_eq!(rx.receiver_count(), rxs.len(), "receiver_count");
        }
    }
}

/// Runs the operations `data` decodes to; panics if a queue or channel and its model
/// disagree, or an item is dropped other than once.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mut maker = Maker {
        next: 0,
        drops: Arc::new(AtomicUsize::new(0)),
    };
    match input.u8() % 4 {
        0 => run_fifo(&mut input, &mut maker),
        1 => run_lifo(&mut input, &mut maker),
        2 => run_priority(&mut input, &mut maker),
        _ => run_channel(&mut input, &mut maker),
    }
    maker.check_all_dropped();
}
