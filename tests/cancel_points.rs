//! Cancellation at every await point (issue 20): each operation is polled by hand a given
//! number of times, with the world changing between polls, and then dropped; this is done for
//! every number of polls until the operation completes. After each run the documented
//! cancel-safety must hold: no lost item or byte (still readable afterwards), no leaked
//! permit (the primitive is free again), no lost wake-up (the waiter queued behind the
//! cancelled one is woken).
//!
//! The runtime-agnostic primitives (locks, semaphores, queues, channels) are polled with a
//! counting waker, outside any loop; streams and `Child::wait` are polled on the loop (see
//! the end of the file). Random interleavings against a model are at the end too.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use proptest::prelude::*;
use tulip::channel;
use tulip::queue::Queue;
use tulip::sync::{BoundedSemaphore, Condition, Lock, Mutex, RwLock, Semaphore};
use tulip_test_support::{poll_with, WakeCounter};

/// An operation under test: polled at most `budget` times; the call to [`Op::poll`] after the
/// budget is spent drops the future instead (the cancellation).
struct Op<F: Future> {
    fut: Option<Pin<Box<F>>>,
    budget: usize,
    out: Option<F::Output>,
    wakes: Arc<WakeCounter>,
}

impl<F: Future> Op<F> {
    fn new(fut: F, budget: usize) -> Self {
        Op {
            fut: Some(Box::pin(fut)),
            budget,
            out: None,
            wakes: WakeCounter::new(),
        }
    }

    /// One poll, or the cancellation once the budget is spent; a no-op once it is over.
    fn poll(&mut self) {
        let Some(fut) = self.fut.as_mut() else {
            return;
        };
        if self.budget == 0 {
            self.fut = None;
            return;
        }
        self.budget -= 1;
        let waker = self.wakes.waker();
        if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            self.out = Some(v);
            self.fut = None;
        }
    }

    /// Ends the run: a future still pending is dropped; its output if it completed.
    fn finish(mut self) -> Option<F::Output> {
        self.fut = None;
        self.out.take()
    }
}

/// Runs `scenario(n)` for n = 0, 1, 2, ... polls before the cancellation, until a run
/// reports that the operation completed within its budget.
fn every_cancel_point(what: &str, mut scenario: impl FnMut(usize) -> bool) {
    for n in 0..32 {
        if scenario(n) {
            assert!(n > 0, "{what}: completed without being polled");
            return;
        }
    }
    panic!("{what} never completed");
}

/// The hand-off scenario shared by every lock-like primitive: `op` queues behind a holder,
/// a second waiter queues behind `op`, the holder lets go (which picks `op`), `op` takes the
/// resource. Cancelled anywhere in that, the second waiter must be woken once the resource is
/// free, and the primitive must be free once everybody let go.
macro_rules! hand_off_at_every_cancel_point {
    ($what:literal, $p:ident = $new:expr, hold: $hold:expr, op: $op:expr, second: $second:expr,
     free: $free:expr) => {
        every_cancel_point($what, |n| {
            let $p = $new;
            let holder = $hold.expect("free at the start");
            let mut op = Op::new($op, n);
            op.poll();
            let w2 = WakeCounter::new();
            let mut second = Box::pin($second);
            assert!(
                poll_with(&mut second, &w2).is_pending(),
                "{}: taken twice",
                $what
            );
            op.poll();
            drop(holder); // picks `op`, first in line
            op.poll();
            op.poll();
            let got = op.finish();
            let completed = got.is_some();
            drop(got);
            assert!(
                w2.count() > 0,
                "{} cancelled after {n} polls: lost wake-up",
                $what
            );
            let Poll::Ready(g2) = poll_with(&mut second, &w2) else {
                panic!(
                    "{} cancelled after {n} polls: the second waiter was passed over",
                    $what
                )
            };
            drop(g2);
            drop(second);
            assert!($free, "{} cancelled after {n} polls: leaked", $what);
            completed
        });
    };
}

#[test]
fn semaphore_acquire_at_every_cancel_point() {
    hand_off_at_every_cancel_point!("Semaphore::acquire", s = Semaphore::new(1),
        hold: s.try_acquire(), op: s.acquire(), second: s.acquire(), free: s.available() == 1);
}

#[test]
fn bounded_semaphore_acquire_at_every_cancel_point() {
    hand_off_at_every_cancel_point!("BoundedSemaphore::acquire", s = BoundedSemaphore::new(1),
        hold: s.try_acquire(), op: s.acquire(), second: s.acquire(),
        free: s.available() == 1 && s.release().is_err());
}

#[test]
fn lock_at_every_cancel_point() {
    hand_off_at_every_cancel_point!("Lock::lock", l = Lock::new(),
        hold: l.try_lock(), op: l.lock(), second: l.lock(), free: !l.locked());
}

#[test]
fn mutex_at_every_cancel_point() {
    hand_off_at_every_cancel_point!("Mutex::lock", m = Mutex::new(5),
        hold: m.try_lock(), op: m.lock(), second: m.lock(),
        free: m.try_lock().is_some_and(|g| *g == 5));
}

#[test]
fn rwlock_write_at_every_cancel_point() {
    hand_off_at_every_cancel_point!("RwLock::write", l = RwLock::new(()),
        hold: l.try_write(), op: l.write(), second: l.read(), free: l.try_write().is_some());
}

#[test]
fn rwlock_read_at_every_cancel_point() {
    hand_off_at_every_cancel_point!("RwLock::read", l = RwLock::new(()),
        hold: l.try_write(), op: l.read(), second: l.write(), free: l.try_write().is_some());
}

#[test]
fn condition_wait_at_every_cancel_point() {
    every_cancel_point("Condition::wait", |n| {
        let cond = Condition::new();
        let guard = cond.try_lock().unwrap();
        let mut op = Op::new(cond.wait(guard), n);
        op.poll(); // registers and releases the lock (or, cancelled, releases it)
        let w2 = WakeCounter::new();
        let g2 = cond.try_lock().expect("the waiter released the lock");
        let mut second = Box::pin(cond.wait(g2));
        assert!(poll_with(&mut second, &w2).is_pending());
        assert!(!cond.locked());
        op.poll();
        cond.notify(1); // picks `op`, the oldest waiter
        op.poll();
        let got = op.finish();
        let completed = got.is_some();
        drop(got);
        assert!(
            !cond.locked(),
            "cancelled after {n} polls: the lock is still held"
        );
        // The one notification went to `op` if it completed, else on to the second waiter.
        assert_eq!(w2.count() > 0, !completed, "cancelled after {n} polls");
        if completed {
            cond.notify(1);
        }
        let Poll::Ready(g2) = poll_with(&mut second, &w2) else {
            panic!("cancelled after {n} polls: the notification was lost")
        };
        drop(g2);
        drop(second);
        assert!(!cond.locked());
        completed
    });
}

#[test]
fn queue_get_at_every_cancel_point() {
    every_cancel_point("Queue::get", |n| {
        let q = Queue::new(0);
        let mut op = Op::new(q.get(), n);
        op.poll();
        let w2 = WakeCounter::new();
        let mut second = Box::pin(q.get());
        assert!(poll_with(&mut second, &w2).is_pending());
        op.poll();
        q.put_nowait(1).unwrap(); // wakes `op`
        op.poll();
        let got = op.finish().map(Result::unwrap);
        if got.is_some() {
            assert_eq!(got, Some(1));
            assert!(q.empty());
            q.put_nowait(2).unwrap();
        }
        assert!(w2.count() > 0, "cancelled after {n} polls: lost wake-up");
        let want = if got.is_some() { 2 } else { 1 };
        assert_eq!(
            poll_with(&mut second, &w2),
            Poll::Ready(Ok(want)),
            "after {n} polls"
        );
        assert!(q.empty());
        got.is_some()
    });
}

#[test]
fn queue_put_at_every_cancel_point() {
    every_cancel_point("Queue::put", |n| {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let mut op = Op::new(q.put(1), n);
        op.poll();
        let w2 = WakeCounter::new();
        let mut second = Box::pin(q.put(2));
        assert!(poll_with(&mut second, &w2).is_pending());
        op.poll();
        assert_eq!(q.get_nowait().unwrap(), 0); // frees the slot for `op`
        op.poll();
        let put = op.finish().is_some();
        let mut seen = Vec::new();
        if put {
            // Nothing was lost: the item is there, and taking it frees the slot for `second`.
            seen.push(q.get_nowait().unwrap());
        }
        assert!(w2.count() > 0, "cancelled after {n} polls: lost wake-up");
        assert_eq!(poll_with(&mut second, &w2), Poll::Ready(Ok(())));
        seen.push(q.get_nowait().unwrap());
        assert!(q.empty());
        let want: &[i32] = if put { &[1, 2] } else { &[2] };
        assert_eq!(seen, want, "cancelled after {n} polls");
        put
    });
}

#[test]
fn channel_recv_at_every_cancel_point() {
    every_cancel_point("Receiver::recv", |n| {
        let (tx, rx) = channel::bounded(1);
        let rx2 = rx.clone();
        let mut op = Op::new(rx.recv(), n);
        op.poll();
        let w2 = WakeCounter::new();
        let mut second = Box::pin(rx2.recv());
        assert!(poll_with(&mut second, &w2).is_pending());
        op.poll();
        tx.try_send(1).unwrap();
        op.poll();
        let got = op.finish().map(Result::unwrap);
        if got.is_some() {
            assert_eq!(got, Some(1));
            tx.try_send(2).unwrap();
        }
        assert!(w2.count() > 0, "cancelled after {n} polls: lost wake-up");
        let want = if got.is_some() { 2 } else { 1 };
        assert_eq!(
            poll_with(&mut second, &w2),
            Poll::Ready(Ok(want)),
            "after {n} polls"
        );
        assert!(rx.is_empty());
        got.is_some()
    });
}

#[test]
fn channel_send_at_every_cancel_point() {
    every_cancel_point("Sender::send", |n| {
        let (tx, rx) = channel::bounded(1);
        let tx2 = tx.clone();
        tx.try_send(0).unwrap();
        let mut op = Op::new(tx.send(1), n);
        op.poll();
        let w2 = WakeCounter::new();
        let mut second = Box::pin(tx2.send(2));
        assert!(poll_with(&mut second, &w2).is_pending());
        op.poll();
        assert_eq!(rx.try_recv().unwrap(), 0);
        op.poll();
        let sent = op.finish().is_some();
        let mut seen = Vec::new();
        if sent {
            seen.push(rx.try_recv().unwrap());
        }
        assert!(w2.count() > 0, "cancelled after {n} polls: lost wake-up");
        assert!(matches!(poll_with(&mut second, &w2), Poll::Ready(Ok(()))));
        seen.push(rx.try_recv().unwrap());
        assert!(rx.is_empty());
        let want: &[i32] = if sent { &[1, 2] } else { &[2] };
        assert_eq!(seen, want, "cancelled after {n} polls");
        sent
    });
}

// ---- Random interleavings against a model -------------------------------------------------

/// What a proptest step does to the queue or the semaphore under test.
#[derive(Clone, Debug)]
enum Step {
    /// Puts an item (queue) or releases a held permit (semaphore).
    Give,
    /// Takes without waiting.
    TakeNow,
    /// Starts a waiting operation in slot `i` (if the slot is empty).
    Start(usize),
    /// Polls the operation in slot `i`.
    Poll(usize),
    /// Cancels (drops) the operation in slot `i`.
    Cancel(usize),
}

/// How many waiting operations a random run juggles: two make the interesting cases (the woken
/// one cancelled while the other sleeps) frequent.
const SLOTS: usize = 2;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Give),
        1 => Just(Step::TakeNow),
        3 => (0..SLOTS).prop_map(Step::Start),
        3 => (0..SLOTS).prop_map(Step::Poll),
        2 => (0..SLOTS).prop_map(Step::Cancel),
    ]
}

/// A waiting operation of the random runs: its future, its waker, and the wake count it had
/// when it was last polled (so that a wake since then is visible).
struct Slot<F> {
    fut: Pin<Box<F>>,
    wakes: Arc<WakeCounter>,
    seen: usize,
    polled: bool,
}

impl<F: Future> Slot<F> {
    fn new(fut: F) -> Self {
        Slot {
            fut: Box::pin(fut),
            wakes: WakeCounter::new(),
            seen: 0,
            polled: false,
        }
    }

    fn poll(&mut self) -> Poll<F::Output> {
        self.polled = true;
        self.seen = self.wakes.count();
        let waker = self.wakes.waker();
        self.fut.as_mut().poll(&mut Context::from_waker(&waker))
    }

    /// Waiting (polled, pending) and not woken since.
    fn asleep(&self) -> bool {
        self.polled && self.wakes.count() == self.seen
    }
}

/// No lost wake-up: while something is there to take, a waiting operation that is asleep is
/// only allowed if another waiting one was woken and has not run yet.
fn check_wakeups<F: Future>(slots: &[Option<Slot<F>>], available: bool, when: &str) {
    if !available {
        return;
    }
    let waiting: Vec<&Slot<F>> = slots.iter().flatten().filter(|s| s.polled).collect();
    if waiting.is_empty() {
        return;
    }
    assert!(
        waiting.iter().any(|s| !s.asleep()),
        "lost wake-up: something to take but every waiter asleep ({when})"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Queue gets started, polled and cancelled at random against a `VecDeque` model: every
    /// item is taken once, in FIFO order, and no item waits while every getter sleeps.
    #[test]
    fn queue_gets_cancelled_at_random_lose_nothing(steps in proptest::collection::vec(step(), 1..60)) {
        queue_run(&steps)?;
    }

    /// Semaphore acquires started, polled and cancelled at random against a counter: held
    /// plus available is always the initial count, and a free permit never waits while every
    /// acquirer sleeps.
    #[test]
    fn semaphore_acquires_cancelled_at_random_leak_nothing(steps in proptest::collection::vec(step(), 1..60)) {
        semaphore_run(&steps)?;
    }
}

/// One random run of the queue test.
fn queue_run(steps: &[Step]) -> Result<(), TestCaseError> {
    let q = Queue::new(0);
    let mut model = VecDeque::new();
    let mut next = 0u32;
    let mut slots: Vec<Option<Slot<_>>> = (0..SLOTS).map(|_| None).collect();
    for (i, s) in steps.iter().enumerate() {
        match *s {
            Step::Give => {
                q.put_nowait(next).unwrap();
                model.push_back(next);
                next += 1;
            }
            Step::TakeNow => prop_assert_eq!(q.get_nowait().ok(), model.pop_front()),
            Step::Start(k) => {
                if slots[k].is_none() {
                    slots[k] = Some(Slot::new(q.get()));
                }
            }
            Step::Poll(k) => {
                if let Some(slot) = slots[k].as_mut() {
                    if let Poll::Ready(v) = slot.poll() {
                        prop_assert_eq!(v.ok(), model.pop_front());
                        slots[k] = None;
                    }
                }
            }
            Step::Cancel(k) => slots[k] = None,
        }
        prop_assert_eq!(q.qsize(), model.len());
        check_wakeups(&slots, !model.is_empty(), &format!("step {i}: {s:?}"));
    }
    drop(slots);
    while let Some(want) = model.pop_front() {
        prop_assert_eq!(q.get_nowait().ok(), Some(want));
    }
    prop_assert!(q.empty());
    Ok(())
}

/// One random run of the semaphore test.
fn semaphore_run(steps: &[Step]) -> Result<(), TestCaseError> {
    const PERMITS: usize = 2;
    let sem = Semaphore::new(PERMITS);
    let mut held = Vec::new();
    let mut slots: Vec<Option<Slot<_>>> = (0..SLOTS).map(|_| None).collect();
    for (i, s) in steps.iter().enumerate() {
        match *s {
            Step::Give => drop(held.pop()),
            Step::TakeNow => held.extend(sem.try_acquire()),
            Step::Start(k) => {
                if slots[k].is_none() {
                    slots[k] = Some(Slot::new(sem.acquire()));
                }
            }
            Step::Poll(k) => {
                if let Some(slot) = slots[k].as_mut() {
                    if let Poll::Ready(p) = slot.poll() {
                        held.push(p);
                        slots[k] = None;
                    }
                }
            }
            Step::Cancel(k) => slots[k] = None,
        }
        // A permit handed to a woken acquirer that has not run yet is neither available
        // nor held; every other permit is one or the other.
        let woken = slots
            .iter()
            .flatten()
            .filter(|s| s.polled && !s.asleep())
            .count();
        prop_assert!(held.len() + sem.available() <= PERMITS);
        prop_assert!(
            held.len() + sem.available() + woken >= PERMITS,
            "a permit leaked at step {}",
            i
        );
        check_wakeups(&slots, sem.available() > 0, &format!("step {i}: {s:?}"));
    }
    drop(slots);
    drop(held);
    prop_assert_eq!(sem.available(), PERMITS);
    Ok(())
}

// ---- On the loop: streams and child processes ----------------------------------------------

/// A socket pair: a `StreamReader`/`StreamWriter` on one end, a plain blocking std socket on
/// the other (the peer the test plays).
fn stream_pair() -> (
    tulip::streams::StreamReader,
    tulip::streams::StreamWriter,
    std::os::unix::net::UnixStream,
) {
    let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let ours = tulip::net::UnixStream::from_std(ours).unwrap();
    let (r, w) = tulip::streams::from_stream(ours);
    (r, w, peer)
}

/// Reads of a `StreamReader` cancelled at every point while the peer sends `chunks`: the
/// bytes the read returned plus everything read afterwards are exactly what was sent.
/// Between polls, one chunk is sent and the read's waker must be woken by it (the read
/// registered for readiness, or it would hang).
macro_rules! read_at_every_cancel_point {
    ($what:literal, $chunks:expr, |$r:ident| $op:expr) => {{
        use std::io::Write;
        let chunks: &[&[u8]] = $chunks;
        let all: Vec<u8> = chunks.concat();
        every_cancel_point($what, |n| {
            tulip_tests::single_threaded().run(async {
                let (mut reader, _writer, mut peer) = stream_pair();
                let mut sent = 0;
                let got = {
                    let $r = &mut reader;
                    let mut op = Op::new($op, n);
                    op.poll();
                    for chunk in chunks {
                        if op.fut.is_none() {
                            break;
                        }
                        peer.write_all(chunk).unwrap();
                        sent += 1;
                        let wakes = op.wakes.clone();
                        tulip_tests::until(move || wakes.take()).await;
                        op.poll();
                    }
                    op.finish().map(|r| r.unwrap())
                };
                for chunk in &chunks[sent..] {
                    peer.write_all(chunk).unwrap();
                }
                drop(peer);
                let completed = got.is_some();
                let mut seen = got.unwrap_or_default();
                seen.extend(reader.read_to_end().await.unwrap());
                assert_eq!(
                    seen, all,
                    "{} cancelled after {n} polls lost or repeated bytes",
                    $what
                );
                completed
            })
        });
    }};
}

#[test]
fn stream_readexactly_at_every_cancel_point() {
    read_at_every_cancel_point!(
        "StreamReader::readexactly",
        &[b"abc", b"def", b"ghi", b"jkl"],
        |r| r.readexactly(10)
    );
}

#[test]
fn stream_readline_at_every_cancel_point() {
    read_at_every_cancel_point!(
        "StreamReader::readline",
        &[b"ab", b"cd", b"e\nfg", b"h\n"],
        |r| r.readline()
    );
}

#[test]
fn stream_readuntil_at_every_cancel_point() {
    read_at_every_cancel_point!("StreamReader::readuntil", &[b"ab|", b"|c", b"d||e"], |r| r
        .readuntil(b"||"));
}

#[test]
fn stream_read_at_every_cancel_point() {
    read_at_every_cancel_point!("StreamReader::read", &[b"abc", b"def"], |r| r.read(100));
}

/// `drain` cancelled at every point while a peer thread reads: no byte lost or repeated, and
/// a later `drain` still works.
#[test]
fn stream_drain_at_every_cancel_point() {
    use std::io::Read;
    const BIG: usize = 256 * 1024;
    every_cancel_point("StreamWriter::drain", |n| {
        tulip_tests::single_threaded().run(async {
            let (reader, writer, mut peer) = stream_pair();
            let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
            writer.write(&data);
            let reading = std::thread::spawn(move || {
                let mut all = Vec::new();
                peer.read_to_end(&mut all).unwrap();
                all
            });
            let completed = {
                let mut op = Op::new(writer.drain(), n);
                loop {
                    op.poll();
                    if op.fut.is_none() {
                        break;
                    }
                    let wakes = op.wakes.clone();
                    tulip_tests::until(move || wakes.take()).await;
                }
                op.finish().map(Result::unwrap).is_some()
            };
            writer.write(b"tail");
            tulip_tests::bounded("the second drain", writer.drain())
                .await
                .unwrap();
            drop(reader);
            writer.close();
            tulip_tests::bounded("closing", writer.wait_closed())
                .await
                .unwrap();
            drop(writer);
            let all = reading.join().unwrap();
            assert_eq!(all.len(), BIG + 4, "cancelled after {n} polls");
            assert!(all[..BIG] == data[..] && &all[BIG..] == b"tail");
            completed
        })
    });
}

/// `Child::wait` cancelled at every point: the child is neither killed nor lost, and a later
/// wait gets its exit status.
#[test]
fn child_wait_at_every_cancel_point() {
    every_cancel_point("Child::wait", |n| {
        tulip_tests::single_threaded().run(async {
            let mut child = tulip::process::Command::new("sh")
                .args(["-c", "read x; exit 7"])
                .stdin(tulip::process::Stdio::piped())
                .spawn()
                .unwrap();
            let stdin = child.stdin.take().unwrap();
            let completed = {
                let mut op = Op::new(child.wait(), n);
                op.poll();
                op.poll();
                drop(stdin); // the child reads EOF and exits
                if op.fut.is_some() {
                    let wakes = op.wakes.clone();
                    tulip_tests::until(move || wakes.take()).await;
                }
                op.poll();
                let got = op.finish();
                if let Some(status) = &got {
                    assert_eq!(status.as_ref().unwrap().code(), Some(7));
                }
                got.is_some()
            };
            let status = tulip_tests::bounded("the second wait", child.wait()).await;
            assert_eq!(status.unwrap().code(), Some(7), "cancelled after {n} polls");
            completed
        })
    });
}
