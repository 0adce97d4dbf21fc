//! loom models of this crate's own synchronisation.
//!
//! Run with
//! `RUSTFLAGS="--cfg tulip_loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p tulip-queue --release --test loom`.
//!
//! Under `tulip_loom` the crate's `Arc`, `Mutex`, `RwLock`, atomics and fences are loom's
//! (see `src/sync.rs`), so loom explores every interleaving and weak-memory outcome of *our*
//! code: the wait lists and their waiter-counting protocol (register, fence, re-check /
//! change, fence, load), the unfinished-task counter and its join epochs, the lock-based LIFO
//! and priority stores and shutdown, the mpmc channel's handle counts, and the oneshot,
//! broadcast and watch channels. concurrent-queue is not loom-aware here: it runs as ordinary
//! code inside the models, and loom does not interleave inside it (its own loom suite covers
//! it). Most models poll futures with a plain flag waker and check it after the threads are
//! joined; the last ones block inside the wait lists, which are loom-visible.

#![cfg(tulip_loom)]

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc as StdArc,
    },
    task::{Context, Poll, Wake, Waker},
};

use loom::thread;
use tulip_queue::{channel, LifoQueue, Queue};

/// A waker that only records that it was woken (not a loom object: waking it never yields
/// to loom's scheduler, so it is safe inside event-listener's critical sections).
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: StdArc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    fn new() -> StdArc<Self> {
        StdArc::new(Self::default())
    }

    fn woken(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

fn poll<F: std::future::Future + Unpin>(fut: &mut F, flag: &StdArc<Flag>) -> Poll<F::Output> {
    let waker = Waker::from(StdArc::clone(flag));
    std::pin::Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

/// Counts drops, to check that every item is dropped exactly once.
#[derive(Clone, Default)]
struct Drops(StdArc<AtomicUsize>);

struct Item(Drops);

impl Drop for Item {
    fn drop(&mut self) {
        (self.0).0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drops {
    fn item(&self) -> Item {
        Item(self.clone())
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A getter that registers while a put happens is either served or woken.
#[test]
fn a_get_racing_a_put_is_served_or_woken() {
    loom::model(|| {
        let q = Queue::new(0);
        let putter = thread::spawn({
            let q = q.clone();
            move || q.put_nowait(7).unwrap()
        });
        let flag = Flag::new();
        let mut get = q.get();
        let first = poll(&mut get, &flag);
        putter.join().unwrap();
        match first {
            Poll::Ready(item) => assert_eq!(item, Ok(7)),
            Poll::Pending => {
                assert!(flag.woken(), "lost wake-up");
                assert_eq!(poll(&mut get, &flag), Poll::Ready(Ok(7)));
            }
        }
    });
}

/// A putter waiting for room that registers while a get frees a slot is served or woken.
#[test]
fn a_put_racing_a_get_is_served_or_woken() {
    loom::model(|| {
        let q = LifoQueue::new(1);
        q.put_nowait(1).unwrap();
        let getter = thread::spawn({
            let q = q.clone();
            move || assert_eq!(q.get_nowait(), Ok(1))
        });
        let flag = Flag::new();
        let mut put = q.put(2);
        let first = poll(&mut put, &flag);
        getter.join().unwrap();
        if first.is_pending() {
            assert!(flag.woken(), "lost wake-up");
            assert_eq!(poll(&mut put, &flag), Poll::Ready(Ok(())));
        }
        drop(put);
        assert_eq!(q.get_nowait(), Ok(2));
    });
}

/// A woken getter that is cancelled hands its wake-up to the next getter, whichever of the
/// put and the cancellation comes first; the item stays in the queue.
#[test]
fn a_cancelled_getter_hands_its_wakeup_on() {
    loom::model(|| {
        let q = Queue::new(0);
        let (first_flag, second_flag) = (Flag::new(), Flag::new());
        let mut first = q.get();
        let mut second = q.get();
        assert!(poll(&mut first, &first_flag).is_pending());
        assert!(poll(&mut second, &second_flag).is_pending());
        let putter = thread::spawn({
            let q = q.clone();
            move || q.put_nowait(1).unwrap()
        });
        drop(first);
        putter.join().unwrap();
        assert!(second_flag.woken(), "the hand-off was lost");
        assert_eq!(q.qsize(), 1, "a cancelled getter took the item");
        assert_eq!(poll(&mut second, &second_flag), Poll::Ready(Ok(1)));
    });
}

/// `task_done` on another thread releases a registered joiner.
#[test]
fn task_done_releases_a_concurrent_joiner() {
    loom::model(|| {
        let q = Queue::new(0);
        q.put_nowait(()).unwrap();
        q.get_nowait().unwrap();
        let worker = thread::spawn({
            let q = q.clone();
            move || q.task_done().unwrap()
        });
        let flag = Flag::new();
        let mut join = q.join();
        let first = poll(&mut join, &flag);
        worker.join().unwrap();
        if first.is_pending() {
            assert!(flag.woken(), "lost wake-up");
            assert_eq!(poll(&mut join, &flag), Poll::Ready(()));
        }
    });
}

/// A joiner released by `task_done` returns even if a put makes the count non-zero again
/// before it runs (asyncio's `Event` semantics), however the two threads interleave.
#[test]
fn a_released_joiner_returns_even_after_a_new_put() {
    loom::model(|| {
        let q = Queue::new(0);
        q.put_nowait(0).unwrap();
        q.get_nowait().unwrap();
        let flag = Flag::new();
        let mut join = q.join();
        assert!(poll(&mut join, &flag).is_pending());
        let worker = thread::spawn({
            let q = q.clone();
            move || {
                q.task_done().unwrap();
                q.put_nowait(1).unwrap();
            }
        });
        let second = poll(&mut join, &flag);
        worker.join().unwrap();
        if second.is_pending() {
            assert!(flag.woken(), "lost wake-up");
            assert_eq!(poll(&mut join, &flag), Poll::Ready(()));
        }
        assert_eq!(q.unfinished_tasks(), 1);
    });
}

/// An immediate shutdown racing a put and a get: the queue ends empty, the unfinished count
/// is what the getter holds, and every item is dropped exactly once.
#[test]
fn immediate_shutdown_racing_put_and_get_keeps_the_counts() {
    loom::model(|| {
        let drops = Drops::default();
        let q = LifoQueue::new(0);
        q.put_nowait(drops.item()).unwrap();
        let putter = thread::spawn({
            let (q, item) = (q.clone(), drops.item());
            move || q.put_nowait(item).is_ok()
        });
        let getter = thread::spawn({
            let q = q.clone();
            move || q.get_nowait().ok()
        });
        q.shutdown(true);
        putter.join().unwrap();
        let gotten = getter.join().unwrap();
        assert_eq!(q.qsize(), 0, "an item survived an immediate shutdown");
        assert_eq!(q.unfinished_tasks(), usize::from(gotten.is_some()));
        drop(gotten);
        drop(q);
        assert_eq!(drops.count(), 2);
    });
}

/// The same race on the lock-free FIFO queue (our counter and shutdown logic around
/// concurrent-queue).
#[test]
fn immediate_shutdown_racing_put_on_the_fifo_queue_keeps_the_counts() {
    loom::model(|| {
        let drops = Drops::default();
        let q = Queue::new(0);
        q.put_nowait(drops.item()).unwrap();
        let putter = thread::spawn({
            let (q, item) = (q.clone(), drops.item());
            move || q.put_nowait(item).is_ok()
        });
        q.shutdown(true);
        putter.join().unwrap();
        assert_eq!(q.qsize(), 0);
        assert_eq!(q.unfinished_tasks(), 0);
        drop(q);
        assert_eq!(drops.count(), 2);
    });
}

/// The last two senders and a receiver racing: the channel ends closed, and every message
/// is received or dropped exactly once.
#[test]
fn mpmc_close_on_last_sender_drop_races_send_and_recv() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, rx) = channel::unbounded();
        let tx2 = tx.clone();
        let sender = thread::spawn({
            let item = drops.item();
            move || {
                let sent = tx2.try_send(item).is_ok();
                drop(tx2);
                sent
            }
        });
        let receiver = thread::spawn({
            let rx = rx.clone();
            move || rx.try_recv().is_ok()
        });
        drop(tx);
        assert!(sender.join().unwrap(), "a live sender could not send");
        let received = receiver.join().unwrap();
        assert!(rx.is_closed());
        let rest = rx.try_recv().is_ok();
        assert!(received ^ rest, "the message was lost or duplicated");
        drop(rx);
        assert_eq!(drops.count(), 1);
    });
}

/// A send racing a `recv()` and a receiver used as a stream: while the message is still in
/// the channel, every receiver that went to sleep was woken (one fence covers both lists).
#[test]
fn mpmc_send_wakes_a_recv_and_a_stream() {
    use futures_core::Stream;

    loom::model(|| {
        let (tx, rx) = channel::unbounded();
        let mut stream = rx.clone();
        let sender = thread::spawn(move || tx.try_send(1).unwrap());
        let (recv_flag, stream_flag) = (Flag::new(), Flag::new());
        let mut recv = rx.recv();
        let recv_first = poll(&mut recv, &recv_flag);
        let stream_first = {
            let waker = Waker::from(StdArc::clone(&stream_flag));
            std::pin::Pin::new(&mut stream).poll_next(&mut Context::from_waker(&waker))
        };
        sender.join().unwrap();
        if rx.len() == 1 {
            assert!(recv_first.is_pending() && stream_first.is_pending());
            assert!(recv_flag.woken(), "lost wake-up (recv)");
            assert!(stream_flag.woken(), "lost wake-up (stream)");
        } else {
            assert!(recv_first.is_ready() || stream_first.is_ready());
        }
    });
}

/// The hand-off without a third lock: a woken receiver that takes its message leaves the
/// list by reading `granted` (no lock) while a second send runs on another thread. The
/// second send must wake the second receiver — never the first again, never nobody — and
/// the first must leave nothing behind in the list.
#[test]
fn mpmc_woken_receiver_leaving_races_the_next_send() {
    loom::model(|| {
        let (tx, rx) = channel::bounded(4);
        let (first_flag, second_flag) = (Flag::new(), Flag::new());
        let mut first = rx.recv();
        let mut second = rx.recv();
        assert!(poll(&mut first, &first_flag).is_pending());
        assert!(poll(&mut second, &second_flag).is_pending());
        tx.try_send(1).unwrap();
        assert!(first_flag.woken() && !second_flag.woken());
        let sender = thread::spawn({
            let tx = tx.clone();
            move || tx.try_send(2).unwrap()
        });
        let got = poll(&mut first, &first_flag);
        sender.join().unwrap();
        assert_eq!(got, Poll::Ready(Ok(1)));
        drop(first);
        assert!(second_flag.woken(), "the second send woke nobody");
        assert_eq!(poll(&mut second, &second_flag), Poll::Ready(Ok(2)));
        drop(second);
        // Nobody is left registered: a third receive waits and a third send wakes it.
        let third_flag = Flag::new();
        let mut third = rx.recv();
        assert!(poll(&mut third, &third_flag).is_pending());
        tx.try_send(3).unwrap();
        assert!(third_flag.woken());
        assert_eq!(poll(&mut third, &third_flag), Poll::Ready(Ok(3)));
    });
}

/// A receiver cancelled while a send notifies it, with a second receiver waiting: whichever
/// comes first (the cancellation, or the notification and then the cancellation, which
/// passes the wake-up on without the entry it no longer has), the second receiver is woken
/// and the message stays in the channel.
#[test]
fn mpmc_cancelled_receiver_racing_its_notification_passes_it_on() {
    loom::model(|| {
        let (tx, rx) = channel::bounded::<u32>(4);
        let (first_flag, second_flag) = (Flag::new(), Flag::new());
        let mut first = rx.recv();
        let mut second = rx.recv();
        assert!(poll(&mut first, &first_flag).is_pending());
        assert!(poll(&mut second, &second_flag).is_pending());
        // A clone: the last sender's drop would close the channel and wake everyone.
        let sender = thread::spawn({
            let tx = tx.clone();
            move || tx.try_send(1).unwrap()
        });
        drop(first);
        sender.join().unwrap();
        assert!(
            second_flag.woken(),
            "the wake-up died with the cancelled receiver"
        );
        assert_eq!(rx.len(), 1);
        assert_eq!(poll(&mut second, &second_flag), Poll::Ready(Ok(1)));
    });
}

/// oneshot: a send on another thread completes a blocked receive.
#[test]
fn oneshot_send_wakes_the_receiver() {
    loom::model(|| {
        let (tx, rx) = channel::oneshot();
        let sender = thread::spawn(move || tx.send(5).unwrap());
        assert_eq!(rx.recv_blocking(), Ok(5));
        sender.join().unwrap();
    });
}

/// oneshot: a sender dropped without sending fails a blocked receive.
#[test]
fn oneshot_sender_drop_wakes_the_receiver() {
    loom::model(|| {
        let (tx, rx) = channel::oneshot::<u8>();
        let sender = thread::spawn(move || drop(tx));
        assert_eq!(rx.recv_blocking(), Err(channel::oneshot::RecvError));
        sender.join().unwrap();
    });
}

/// oneshot: a send racing the receiver's drop either succeeds (and the value is dropped with
/// the receiver) or hands the value back; never both, never neither.
#[test]
fn oneshot_send_racing_receiver_drop_drops_the_value_once() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, rx) = channel::oneshot();
        let receiver = thread::spawn(move || drop(rx));
        let result = tx.send(drops.item());
        receiver.join().unwrap();
        match result {
            Ok(()) => assert_eq!(drops.count(), 1),
            Err(back) => {
                assert_eq!(drops.count(), 0);
                drop(back);
                assert_eq!(drops.count(), 1);
            }
        }
    });
}

/// oneshot: `Sender::closed` racing the receiver's drop.
#[test]
fn oneshot_closed_wakes_the_sender() {
    loom::model(|| {
        let (mut tx, rx) = channel::oneshot::<u8>();
        let receiver = thread::spawn(move || drop(rx));
        loom::future::block_on(tx.closed());
        receiver.join().unwrap();
        assert!(tx.is_closed());
    });
}

// oneshot, who frees the allocation: each half sets its detach bit after its last access, and
// whichever detaches last frees (see src/channel/oneshot.rs). Under loom the free writes every
// cell and the state word, so a free that does not happen after the other half's last access
// is reported; a waker left in a cell keeps its `Flag` alive, so a strong count of one at the
// end says the allocation was freed.

/// oneshot: the sender, still waking the receiver it completed, detaches while the woken
/// receiver takes the value and is dropped: freed once, after both; the value dropped once.
#[test]
fn oneshot_both_halves_detach_concurrently_after_a_send() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, mut rx) = channel::oneshot();
        let flag = Flag::new();
        assert!(poll(&mut rx, &flag).is_pending());
        let item = drops.item();
        let sender = thread::spawn(move || tx.send(item).is_ok());
        // Waits (re-registering a loom waker), takes the value, and drops the receiver.
        let got = loom::future::block_on(rx);
        assert!(got.is_ok());
        drop(got);
        assert_eq!(drops.count(), 1);
        assert!(sender.join().unwrap(), "the receiver was not closed");
        assert_eq!(StdArc::strong_count(&flag), 1, "not freed");
    });
}

/// oneshot: the receiver dropped while the sender sends to its registered waker: either the
/// send wins (and the receiver drops the value) or it fails and hands the value back; the
/// allocation is freed once by whichever half detaches last.
#[test]
fn oneshot_receiver_drop_racing_a_send_to_its_waker_frees_once() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, mut rx) = channel::oneshot();
        let flag = Flag::new();
        assert!(poll(&mut rx, &flag).is_pending());
        let item = drops.item();
        let sender = thread::spawn(move || tx.send(item).map_err(|e| e.into_inner()));
        drop(rx);
        match sender.join().unwrap() {
            Ok(()) => assert_eq!(drops.count(), 1),
            Err(back) => {
                assert_eq!(drops.count(), 0);
                drop(back);
                assert_eq!(drops.count(), 1);
            }
        }
        assert_eq!(StdArc::strong_count(&flag), 1, "not freed");
    });
}

/// oneshot: the sender dropped while the receiver waits: the receiver is woken, fails, and
/// is dropped while the sender may still be detaching (after waking it).
#[test]
fn oneshot_sender_drop_while_the_receiver_waits_frees_once() {
    loom::model(|| {
        let (tx, mut rx) = channel::oneshot::<u8>();
        let flag = Flag::new();
        assert!(poll(&mut rx, &flag).is_pending());
        let sender = thread::spawn(move || drop(tx));
        // Waits (re-registering a loom waker), fails, and drops the receiver.
        assert_eq!(loom::future::block_on(rx), Err(channel::oneshot::RecvError));
        sender.join().unwrap();
        assert_eq!(StdArc::strong_count(&flag), 1, "not freed");
    });
}

/// oneshot: a receiver that waits, closes and then tries to receive while the sender sends:
/// a value sent before the close is received, a later send hands it back; the receiver is
/// dropped while the sender may still be completing; freed once, the value dropped once.
#[test]
fn oneshot_close_then_try_recv_racing_a_send_frees_once() {
    use channel::oneshot::TryRecvError;
    loom::model(|| {
        let drops = Drops::default();
        let (tx, mut rx) = channel::oneshot();
        let flag = Flag::new();
        assert!(poll(&mut rx, &flag).is_pending());
        let item = drops.item();
        let sender = thread::spawn(move || tx.send(item).map_err(|e| e.into_inner()));
        rx.close();
        let got = rx.try_recv();
        drop(rx);
        let sent = sender.join().unwrap();
        match (sent, got) {
            (Ok(()), Ok(v)) => {
                assert_eq!(drops.count(), 0);
                drop(v);
            }
            (Err(back), Err(TryRecvError::Empty | TryRecvError::Closed)) => {
                assert_eq!(drops.count(), 0);
                drop(back);
            }
            (sent, got) => panic!(
                "inconsistent: send {:?}, receive {:?}",
                sent.is_ok(),
                got.map(|_| ())
            ),
        }
        assert_eq!(drops.count(), 1);
        assert_eq!(StdArc::strong_count(&flag), 1, "not freed");
    });
}

/// oneshot: both halves dropped at once, each with a registered waker (so each wakes the
/// other before it detaches): freed once, after both wake-ups.
#[test]
fn oneshot_both_halves_dropped_with_registered_wakers_free_once() {
    loom::model(|| {
        let (mut tx, mut rx) = channel::oneshot::<u8>();
        let tx_flag = Flag::new();
        let rx_flag = Flag::new();
        assert!(poll(&mut tx.closed(), &tx_flag).is_pending());
        assert!(poll(&mut rx, &rx_flag).is_pending());
        let sender = thread::spawn(move || drop(tx));
        drop(rx);
        sender.join().unwrap();
        assert_eq!(StdArc::strong_count(&tx_flag), 1, "not freed");
        assert_eq!(StdArc::strong_count(&rx_flag), 1, "not freed");
    });
}

/// watch: a waiting `changed()` is served or woken by a concurrent send, and a reader never
/// sees a value with another value's version.
#[test]
fn watch_send_racing_changed_is_seen() {
    loom::model(|| {
        let (tx, mut rx) = channel::watch(0);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        let flag = Flag::new();
        let mut changed = rx.changed();
        let first = poll(&mut changed, &flag);
        let tx = sender.join().unwrap();
        match first {
            Poll::Ready(result) => assert_eq!(result, Ok(())),
            Poll::Pending => {
                assert!(flag.woken(), "lost wake-up");
                assert_eq!(poll(&mut changed, &flag), Poll::Ready(Ok(())));
            }
        }
        drop(changed);
        assert_eq!(*rx.borrow_and_update(), 1);
        assert_eq!(rx.has_changed(), Ok(false));
        drop(tx);
        assert!(rx.has_changed().is_err());
    });
}

/// watch: versions and values move together.
#[test]
fn watch_values_and_versions_stay_consistent() {
    loom::model(|| {
        let (tx, mut rx) = channel::watch(0);
        let sender = thread::spawn(move || {
            tx.send_replace(1);
            tx.send_replace(2);
            tx
        });
        let seen = *rx.borrow_and_update();
        let _tx = sender.join().unwrap();
        // Having seen the final value means no change is left to see, and vice versa.
        assert_eq!(rx.has_changed(), Ok(seen != 2));
    });
}

/// broadcast: a receiver racing a sender with eviction accounts for every message, as
/// received or as lagged.
#[test]
fn broadcast_receiver_racing_evicting_sends_accounts_for_every_message() {
    loom::model(|| {
        let (tx, mut rx) = channel::broadcast(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let mut accounted = 0;
        let mut last = 0;
        let mut step = |result| match result {
            Ok(n) => {
                assert!(n > last, "out of order");
                last = n;
                accounted += 1;
            }
            Err(channel::broadcast::TryRecvError::Lagged(n)) => accounted += n,
            Err(_) => {}
        };
        step(rx.try_recv());
        sender.join().unwrap();
        loop {
            match rx.try_recv() {
                Err(channel::broadcast::TryRecvError::Closed) => break,
                result => step(result),
            }
        }
        assert_eq!(accounted, 2);
        assert_eq!(last, 2);
    });
}

// The wait lists are the crate's own (a slab behind a loom mutex), so the models below may
// block inside them, which they could not while event-listener held the waiters.

/// Two getters blocked on two threads, two puts: both are served, whichever order the
/// registrations, wake-ups and re-registrations take.
#[test]
fn blocked_getters_on_two_threads_are_both_served() {
    loom::model(|| {
        let q = Queue::new(0);
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || q.get_blocking().unwrap())
            })
            .collect();
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let mut got: Vec<i32> = getters.into_iter().map(|g| g.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(q.empty());
    });
}

/// A sender blocked on a full channel is woken by the receive that frees the slot, and a
/// blocked receive by the send.
#[test]
fn blocked_sender_and_receiver_wake_each_other() {
    loom::model(|| {
        let (tx, rx) = channel::bounded(1);
        tx.try_send(1).unwrap();
        let sender = thread::spawn(move || tx.send_blocking(2).unwrap());
        assert_eq!(rx.recv_blocking(), Ok(1));
        assert_eq!(rx.recv_blocking(), Ok(2));
        sender.join().unwrap();
        assert!(rx.recv_blocking().is_err(), "the sender is gone");
    });
}

/// Closing the channel wakes a receiver blocked in the wait list.
#[test]
fn close_wakes_a_blocked_receiver() {
    loom::model(|| {
        let (tx, rx) = channel::bounded::<u8>(1);
        let receiver = thread::spawn(move || rx.recv_blocking());
        drop(tx);
        assert!(receiver.join().unwrap().is_err());
    });
}

// The FIFO store beyond its ring. Under loom a ring holds two word-sized items (see
// `RING_BYTES` in src/fifo.rs), so a `Queue` or channel with a bound of three or more keeps
// its newer items in the overflow behind the ring: these models race the spill into the
// overflow, the refills back into the ring, and the end of the spill.

/// Items put on one thread while another takes them come out in order across the ring, the
/// overflow and the refills between them.
#[test]
fn spill_keeps_fifo_order_with_a_concurrent_consumer() {
    loom::model(|| {
        let q = Queue::new(4);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let producer = thread::spawn({
            let q = q.clone();
            move || {
                q.put_blocking(3).unwrap();
                q.put_blocking(4).unwrap();
            }
        });
        let got: Vec<i32> = (0..4).map(|_| q.get_blocking().unwrap()).collect();
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3, 4]);
        assert!(q.empty());
    });
}

/// A `get_nowait` racing a spill and the pops that empty the ring never reports `Empty`
/// while an item waits in the overflow: here three items are put and at most three taken,
/// the taker racing us takes two, so the queue is never empty while we look.
#[test]
fn get_nowait_never_misses_an_item_in_the_overflow() {
    loom::model(|| {
        let q = Queue::new(3);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let other = thread::spawn({
            let q = q.clone();
            move || {
                q.put_nowait(3).unwrap(); // the ring is full unless we took an item
                let a = q.get_nowait().unwrap();
                let b = q.get_nowait().unwrap();
                assert!(a < b, "out of order");
                a + b
            }
        });
        let ours = q.get_nowait();
        let theirs = other.join().unwrap();
        assert_eq!(
            ours.map(|n| n + theirs),
            Ok(6),
            "an item was missed or duplicated"
        );
        assert!(q.empty());
    });
}

/// The same while a spill ends and a new one begins: we find the ring empty with the
/// overflow holding an item, the other thread's put ends that spill (its refill moves the
/// item into the ring), its next put starts a new one, and its gets empty the ring again.
/// The queue holds an item all along (three left, three takers at most, one of them us), so
/// `Empty` is never a right answer: a popper must notice that the epoch moved while it looked.
#[test]
fn get_nowait_notices_a_spill_that_ended_and_began_again() {
    let mut builder = loom::model::Builder::new();
    // Our look spans both of the other thread's spills; loom needs this many switches to
    // reach that.
    builder.preemption_bound = Some(5);
    builder.check(|| {
        let q = Queue::new(3);
        for n in 1..=3 {
            q.put_nowait(n).unwrap(); // 1 and 2 in the ring, 3 in the overflow
        }
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2)); // the ring is empty, 3 is in the overflow
        let other = thread::spawn({
            let q = q.clone();
            move || {
                q.put_nowait(4).unwrap();
                q.put_nowait(5).unwrap();
                let a = q.get_nowait().unwrap();
                let b = q.get_nowait().unwrap();
                assert!(a < b, "out of order");
                a + b
            }
        });
        let ours = q.get_nowait();
        let theirs = other.join().unwrap();
        assert_eq!(
            ours.map(|n| n + theirs),
            Ok(12),
            "an item was missed or duplicated"
        );
        assert!(q.empty());
    });
}

/// A popper that found the ring empty during a spill, and takes the lock only after a refill
/// moved the overflow's items into the ring, takes the ring's oldest item, not the
/// overflow's.
#[test]
fn a_popper_overtaken_by_a_refill_takes_the_oldest_item() {
    loom::model(|| {
        let q = Queue::new(4);
        for n in 1..=4 {
            q.put_nowait(n).unwrap(); // 1 and 2 in the ring, 3 and 4 in the overflow
        }
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2)); // the ring is empty
        let other = thread::spawn({
            let q = q.clone();
            // Moves 3 and 4 into the ring; 5 goes to the overflow.
            move || q.put_nowait(5).unwrap()
        });
        let first = q.get_nowait();
        other.join().unwrap();
        assert_eq!(first, Ok(3));
        assert_eq!(q.get_nowait(), Ok(4));
        assert_eq!(q.get_nowait(), Ok(5));
    });
}

/// Two pushers race for the last free slot (one of them may find the ring full and go to
/// the overflow): exactly one succeeds, and the queue holds exactly its bound.
#[test]
fn racing_pushers_never_exceed_the_bound() {
    loom::model(|| {
        let q = Queue::new(3);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let other = thread::spawn({
            let q = q.clone();
            move || q.put_nowait(3).is_ok()
        });
        let ours = q.put_nowait(4).is_ok();
        let theirs = other.join().unwrap();
        assert!(
            ours ^ theirs,
            "both or neither of the last two puts succeeded"
        );
        assert!(q.full());
        assert_eq!(q.qsize(), 3);
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
    });
}

/// A pusher that read the epoch before a spill began and a pusher behind the spill: every
/// item arrives once, each pusher's items in its order.
#[test]
fn pushers_racing_the_start_of_a_spill_keep_their_own_order() {
    loom::model(|| {
        let q = Queue::new(4);
        q.put_nowait(0).unwrap();
        let first = thread::spawn({
            let q = q.clone();
            move || {
                q.put_nowait(10).unwrap();
                q.put_nowait(11).unwrap();
            }
        });
        q.put_nowait(20).unwrap();
        first.join().unwrap();
        let got: Vec<i32> = (0..4).map(|_| q.get_nowait().unwrap()).collect();
        assert_eq!(got[0], 0);
        let tens: Vec<i32> = got.iter().copied().filter(|&n| n / 10 == 1).collect();
        assert_eq!(tens, [10, 11]);
        assert!(got.contains(&20));
        assert_eq!(q.get_nowait(), Err(tulip_queue::GetError::Empty));
    });
}

/// An immediate shutdown racing a put into the overflow: the queue ends empty and every item
/// is dropped exactly once.
#[test]
fn immediate_shutdown_racing_a_spill_drops_every_item_once() {
    loom::model(|| {
        let drops = Drops::default();
        let q = Queue::new(3);
        q.put_nowait(drops.item()).unwrap();
        q.put_nowait(drops.item()).unwrap();
        let putter = thread::spawn({
            let (q, item) = (q.clone(), drops.item());
            move || q.put_nowait(item).is_ok()
        });
        q.shutdown(true);
        putter.join().unwrap();
        assert_eq!(q.qsize(), 0, "an item survived an immediate shutdown");
        assert_eq!(q.unfinished_tasks(), 0);
        drop(q);
        assert_eq!(drops.count(), 3);
    });
}

/// A sender blocked on a full channel whose newest message waits in the overflow is woken by
/// a receive from the ring, and the receiver drains ring and overflow in order, then sees the
/// channel closed.
#[test]
fn blocked_sender_behind_the_overflow_is_woken_and_order_kept() {
    loom::model(|| {
        let (tx, rx) = channel::bounded(3);
        for n in 1..=3 {
            tx.try_send(n).unwrap();
        }
        let sender = thread::spawn(move || tx.send_blocking(4).unwrap());
        let got: Vec<i32> = (0..4).map(|_| rx.recv_blocking().unwrap()).collect();
        sender.join().unwrap();
        assert_eq!(got, [1, 2, 3, 4]);
        assert!(rx.recv_blocking().is_err(), "the sender is gone");
    });
}

/// oneshot: a receiver that polls again with a different waker while the send races it is
/// woken through the new waker (the old one may or may not be).
#[test]
fn oneshot_reregistering_a_new_waker_racing_the_send_loses_no_wake_up() {
    loom::model(|| {
        let (tx, mut rx) = channel::oneshot::<u8>();
        let first = Flag::new();
        assert!(poll(&mut rx, &first).is_pending());
        let sender = thread::spawn(move || tx.send(3).unwrap());
        let second = Flag::new();
        let got = poll(&mut rx, &second);
        sender.join().unwrap();
        match got {
            Poll::Ready(v) => assert_eq!(v, Ok(3)),
            Poll::Pending => {
                assert!(second.woken(), "lost wake-up of the new waker");
                assert_eq!(poll(&mut rx, &second), Poll::Ready(Ok(3)));
            }
        }
    });
}

/// oneshot: `Sender::closed` waiting while the receiver is dropped on another thread is
/// woken, and then ready.
#[test]
fn oneshot_closed_is_woken_by_the_receiver_drop() {
    loom::model(|| {
        let (mut tx, rx) = channel::oneshot::<u8>();
        let receiver = thread::spawn(move || drop(rx));
        let flag = Flag::new();
        let first = poll(&mut tx.closed(), &flag);
        receiver.join().unwrap();
        if first.is_pending() {
            assert!(flag.woken(), "lost wake-up (closed)");
        }
        assert!(poll(&mut tx.closed(), &flag).is_ready());
        assert!(tx.is_closed());
    });
}

/// oneshot: a close racing a send: either the send succeeded and the value is still
/// received, or it failed and handed the value back; it is dropped exactly once either way.
#[test]
fn oneshot_close_racing_send_keeps_or_returns_the_value() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, mut rx) = channel::oneshot();
        let item = drops.item();
        let sender = thread::spawn(move || tx.send(item).map_err(|e| e.into_inner()));
        rx.close();
        let result = sender.join().unwrap();
        match (result, rx.try_recv()) {
            (Ok(()), Ok(v)) => {
                assert_eq!(drops.count(), 0);
                drop(v);
            }
            (Err(back), Err(channel::oneshot::TryRecvError::Closed)) => {
                assert_eq!(drops.count(), 0);
                drop(back);
            }
            (sent, received) => panic!(
                "inconsistent: send {:?}, receive {:?}",
                sent.is_ok(),
                received.is_ok()
            ),
        }
        assert_eq!(drops.count(), 1);
        drop(rx);
        assert_eq!(drops.count(), 1);
    });
}

// The single slot of a bound of one (`src/slot.rs`): its state word and cell are loom's, so
// these models explore its claims, moves and releases, and loom reports any access to the
// cell that the state word does not order.

/// slot: a push racing a pop of the item already there. The pop always gets the first item;
/// the push succeeds only if the pop emptied the slot first, and then its item is the next
/// one out. Each item is dropped exactly once.
#[test]
fn slot_push_racing_pop_hands_items_over_in_order() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, rx) = channel::bounded::<(u8, Item)>(1);
        tx.try_send((1, drops.item())).unwrap();
        let second = (2, drops.item());
        let pusher = thread::spawn(move || tx.try_send(second).map_err(|e| e.into_inner()));
        let (first, item) = rx.try_recv().expect("the first item is there");
        assert_eq!(first, 1);
        drop(item);
        match pusher.join().unwrap() {
            Ok(()) => assert_eq!(rx.try_recv().map(|(n, _)| n), Ok(2)),
            Err(back) => {
                assert_eq!(back.0, 2);
                assert!(rx.is_empty());
            }
        }
        assert_eq!(drops.count(), 2);
    });
}

/// slot: an empty slot, a push and a pop racing: the pop finds the item or nothing, and in
/// the second case the item is there right after.
#[test]
fn slot_push_racing_pop_of_an_empty_slot() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, rx) = channel::bounded::<Item>(1);
        let item = drops.item();
        let pusher = thread::spawn(move || {
            tx.try_send(item).map_err(|_| ()).expect("room for one");
            tx
        });
        let popped = rx.try_recv();
        let _tx = pusher.join().unwrap();
        match popped {
            Ok(item) => {
                assert_eq!(rx.try_recv().err(), Some(channel::TryRecvError::Empty));
                drop(item);
            }
            Err(err) => {
                assert_eq!(err, channel::TryRecvError::Empty);
                drop(rx.try_recv().expect("the item arrived"));
            }
        }
        assert_eq!(drops.count(), 1);
    });
}

/// slot: two pushers and a popper. Every push that succeeded delivers its item exactly once
/// (the pop, then the drain after the joins); a failed push hands its item back.
#[test]
fn slot_two_pushers_one_popper_lose_nothing() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, rx) = channel::bounded::<(u8, Item)>(1);
        let pushers: Vec<_> = (1..=2u8)
            .map(|n| {
                let tx = tx.clone();
                let item = (n, drops.item());
                thread::spawn(move || tx.try_send(item).is_ok().then_some(n))
            })
            .collect();
        let mut got: Vec<u8> = rx.try_recv().map(|(n, _)| n).into_iter().collect();
        let mut sent: Vec<u8> = pushers
            .into_iter()
            .filter_map(|p| p.join().unwrap())
            .collect();
        while let Ok((n, _)) = rx.try_recv() {
            got.push(n);
        }
        assert!(
            !sent.is_empty(),
            "the first push into the empty slot fails only if another is in"
        );
        got.sort_unstable();
        sent.sort_unstable();
        assert_eq!(got, sent);
        assert_eq!(drops.count(), 2);
    });
}

/// slot: a push racing a close. Either the push went in before the close (and the item is
/// still received, then the channel reports closed), or it failed with `Closed` and handed
/// the item back; never both, never a push accepted after the close.
#[test]
fn slot_push_racing_close_keeps_or_returns_the_item() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, rx) = channel::bounded::<Item>(1);
        let item = drops.item();
        let tx2 = tx.clone();
        let pusher = thread::spawn(move || tx2.try_send(item));
        assert!(tx.close());
        match pusher.join().unwrap() {
            Ok(()) => {
                drop(
                    rx.try_recv()
                        .expect("an item pushed before the close stays"),
                );
            }
            Err(channel::TrySendError::Closed(back)) => drop(back),
            Err(channel::TrySendError::Full(_)) => panic!("a push into an empty slot was refused"),
        }
        assert_eq!(rx.try_recv().err(), Some(channel::TryRecvError::Closed));
        assert!(rx.is_closed() && rx.is_empty());
        assert_eq!(drops.count(), 1);
    });
}

/// slot: a pop of the last item racing a close: the pop gets the item whichever comes first,
/// the close is not lost (it waits for the pop's store), and the slot ends closed and empty.
#[test]
fn slot_pop_racing_close_takes_the_last_item() {
    loom::model(|| {
        let drops = Drops::default();
        let (tx, rx) = channel::bounded::<Item>(1);
        tx.try_send(drops.item()).unwrap();
        let rx2 = rx.clone();
        let popper = thread::spawn(move || rx2.try_recv().map(drop).is_ok());
        assert!(tx.close());
        assert!(
            popper.join().unwrap(),
            "the item was there before the close"
        );
        assert_eq!(drops.count(), 1);
        assert!(tx.is_closed());
        assert_eq!(rx.try_recv().err(), Some(channel::TryRecvError::Closed));
        assert!(matches!(
            tx.try_send(drops.item()),
            Err(channel::TrySendError::Closed(_))
        ));
        assert_eq!(drops.count(), 2);
    });
}
