//! `channel::broadcast`: every receiver sees every message; laggards get `Lagged(n)`.

mod common;

use common::{poll_once, poll_with, DropLog, WakeCounter};
use futures_lite::{future, StreamExt};
use proptest::prelude::*;
use std::task::Poll;
use tulip_queue::channel::{
    self,
    broadcast::{Lagged, RecvError, SendError, TryRecvError},
};

#[test]
fn every_receiver_sees_every_message() {
    let (tx, mut a) = channel::broadcast(16);
    let mut b = tx.subscribe();
    let mut c = a.clone();
    for n in 0..10 {
        assert_eq!(tx.send(n), Ok(3));
    }
    for rx in [&mut a, &mut b, &mut c] {
        let got: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }
}

#[test]
fn a_lagging_receiver_learns_how_many_it_missed_then_continues_from_the_oldest_retained() {
    let (tx, mut rx) = channel::broadcast(3);
    for n in 0..8 {
        tx.send(n).unwrap();
    }
    // 0..5 were evicted; 5, 6, 7 are retained.
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(5)));
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Ok(6));
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn senders_never_wait() {
    let (tx, _rx) = channel::broadcast(2);
    // Fewer under Miri (cargo xtask miri --all): any number past the capacity shows it.
    for n in 0..if cfg!(miri) { 100 } else { 10_000 } {
        tx.send(n).unwrap();
    }
    assert_eq!(tx.len(), 2);
}

#[test]
fn send_without_receivers_hands_the_message_back() {
    let (tx, rx) = channel::broadcast(2);
    drop(rx);
    assert_eq!(tx.send(1), Err(SendError(1)));
    // A new subscriber makes sends succeed again.
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(2), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_subscriber_sees_only_later_messages_and_a_clone_sees_the_same_as_its_original() {
    let (tx, mut rx) = channel::broadcast(8);
    tx.send(1).unwrap();
    let mut late = tx.subscribe();
    let mut fresh = rx.resubscribe();
    let mut twin = rx.clone();
    tx.send(2).unwrap();
    assert_eq!(late.try_recv(), Ok(2));
    assert_eq!(fresh.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(twin.try_recv(), Ok(1));
}

#[test]
fn receivers_drain_then_see_closed_after_the_last_sender_goes() {
    let (tx, mut rx) = channel::broadcast(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    tx2.send(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(future::block_on(rx.recv()), Err(RecvError::Closed));
}

#[test]
fn close_refuses_sends_and_wakes_receivers() {
    let (tx, mut rx) = channel::broadcast::<u8>(4);
    let flag = WakeCounter::new();
    let mut recv = rx.recv();
    assert!(poll_with(&mut recv, &flag).is_pending());
    assert!(tx.close());
    assert!(!tx.close());
    assert!(flag.take());
    assert_eq!(poll_once(&mut recv), Poll::Ready(Err(RecvError::Closed)));
    drop(recv);
    assert_eq!(tx.send(1), Err(SendError(1)));
}

#[test]
fn a_send_wakes_every_waiting_receiver() {
    let (tx, mut a) = channel::broadcast(4);
    let mut b = tx.subscribe();
    let (fa, fb) = (WakeCounter::new(), WakeCounter::new());
    let mut ra = a.recv();
    let mut rb = b.recv();
    assert!(poll_with(&mut ra, &fa).is_pending());
    assert!(poll_with(&mut rb, &fb).is_pending());
    tx.send('m').unwrap();
    assert!(fa.take() && fb.take());
    assert_eq!(poll_once(&mut ra), Poll::Ready(Ok('m')));
    assert_eq!(poll_once(&mut rb), Poll::Ready(Ok('m')));
}

#[test]
fn a_dropped_recv_future_loses_nothing() {
    let (tx, mut rx) = channel::broadcast(4);
    {
        let mut recv = rx.recv();
        assert!(poll_once(&mut recv).is_pending());
        tx.send(1).unwrap();
    }
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn the_stream_reports_lag_then_messages_then_ends() {
    let (tx, rx) = channel::broadcast(2);
    for n in 0..5 {
        tx.send(n).unwrap();
    }
    drop(tx);
    let got: Vec<Result<i32, Lagged>> = future::block_on(rx.collect());
    assert_eq!(got, [Err(Lagged(3)), Ok(3), Ok(4)]);
}

#[test]
fn evicted_and_retained_messages_are_each_dropped_once() {
    let log = DropLog::new();
    let (tx, rx) = channel::broadcast(3);
    for n in 0..10 {
        tx.send(std::sync::Arc::new(log.item(n))).unwrap();
    }
    assert_eq!(log.drops(), 7, "evicted messages are dropped at once");
    drop((tx, rx));
    log.assert_all_dropped_once();
}

/// A message whose `Clone` panics on demand.
#[derive(Debug, PartialEq)]
struct Fragile(u32);

impl Clone for Fragile {
    fn clone(&self) -> Self {
        assert!(self.0 != 13, "cannot clone 13");
        Fragile(self.0)
    }
}

#[test]
fn a_panicking_clone_does_not_move_the_receiver() {
    let (tx, mut rx) = channel::broadcast(4);
    tx.send(Fragile(13)).unwrap();
    tx.send(Fragile(1)).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rx.try_recv()));
    assert!(result.is_err());
    assert_eq!(rx.len(), 2, "the receiver still wants message 13");
    // The channel still works for everyone else.
    let mut other = tx.subscribe();
    tx.send(Fragile(2)).unwrap();
    assert_eq!(other.try_recv(), Ok(Fragile(2)));
}

#[test]
#[should_panic(expected = "capacity must be positive")]
fn a_zero_capacity_broadcast_channel_is_refused() {
    let _ = channel::broadcast::<u8>(0);
}

/// One step of the model test.
#[derive(Clone, Debug)]
enum Op {
    Send(u32),
    Recv(usize),
    Subscribe,
    Clone(usize),
    Drop(usize),
    Close,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            5 => any::<u32>().prop_map(Op::Send),
            6 => any::<usize>().prop_map(Op::Recv),
            1 => Just(Op::Subscribe),
            1 => any::<usize>().prop_map(Op::Clone),
            1 => any::<usize>().prop_map(Op::Drop),
            1 => Just(Op::Close),
        ],
        // Shorter under Miri (cargo xtask miri --all), where each step takes milliseconds.
        0..if cfg!(miri) { 30 } else { 100 },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

    /// The channel against a model: the log of every message sent, and each receiver's
    /// position in it; the ring holds the last `cap` entries of the log.
    #[test]
    fn behaves_like_a_log_with_per_receiver_positions(cap in 1..5usize, ops in ops()) {
        let (tx, rx) = channel::broadcast(cap);
        let mut receivers = vec![(rx, 0usize)];
        let mut log: Vec<u32> = Vec::new();
        let mut closed = false;
        for op in ops {
            let first = log.len().saturating_sub(cap);
            match op {
                Op::Send(v) => {
                    let expected = if closed || receivers.is_empty() {
                        Err(SendError(v))
                    } else {
                        log.push(v);
                        Ok(receivers.len())
                    };
                    prop_assert_eq!(tx.send(v), expected);
                }
                Op::Recv(i) if !receivers.is_empty() => {
                    let n = receivers.len();
                    let (rx, pos) = &mut receivers[i % n];
                    let expected = if *pos < first {
                        let missed = (first - *pos) as u64;
                        *pos = first;
                        Err(TryRecvError::Lagged(missed))
                    } else if *pos < log.len() {
                        *pos += 1;
                        Ok(log[*pos - 1])
                    } else if closed {
                        Err(TryRecvError::Closed)
                    } else {
                        Err(TryRecvError::Empty)
                    };
                    prop_assert_eq!(rx.try_recv(), expected);
                    prop_assert_eq!(rx.len(), log.len() - (*pos).max(first));
                }
                Op::Subscribe => receivers.push((tx.subscribe(), log.len())),
                Op::Clone(i) if !receivers.is_empty() => {
                    let (rx, pos) = &receivers[i % receivers.len()];
                    let clone = (rx.clone(), *pos);
                    receivers.push(clone);
                }
                Op::Drop(i) if !receivers.is_empty() => {
                    let n = receivers.len();
                    receivers.remove(i % n);
                }
                Op::Close => {
                    prop_assert_eq!(tx.close(), !closed);
                    closed = true;
                }
                _ => {}
            }
            prop_assert_eq!(tx.receiver_count(), receivers.len());
            prop_assert_eq!(tx.len(), log.len() - log.len().saturating_sub(cap));
        }
    }
}

#[test]
// Volume on one thread: under Miri (cargo xtask miri --all) 10,000 items take minutes.
#[cfg_attr(miri, ignore)]
fn any_capacity_is_a_limit_not_an_allocation() {
    let (tx, mut rx) = channel::broadcast(usize::MAX);
    for n in 0..10_000 {
        tx.send(n).unwrap();
    }
    assert_eq!((tx.len(), tx.capacity()), (10_000, usize::MAX));
    for n in 0..10_000 {
        assert_eq!(rx.try_recv(), Ok(n));
    }
}
