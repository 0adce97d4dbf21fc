//! The multi-producer multi-consumer channel: `channel::bounded` and `channel::unbounded`.

mod common;

use common::{
    model::{Heavy, Item},
    poll_once, poll_with, within, DropLog, WakeCounter,
};
use futures_lite::{future, StreamExt};
use std::task::Poll;
use std::time::Duration;
use tulip_queue::channel::{self, RecvError, SendError, TryRecvError, TrySendError};

#[test]
fn messages_arrive_in_send_order() {
    let (tx, rx) = channel::unbounded();
    for n in 0..100 {
        tx.try_send(n).unwrap();
    }
    let got: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn try_send_hands_the_message_back_when_full_or_closed() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(1).unwrap();
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    rx.close();
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    // A closed channel still delivers what it holds.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_waits_while_full_and_a_recv_wakes_it() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(1).unwrap();
    let flag = WakeCounter::new();
    let mut send = tx.send(2);
    assert!(poll_with(&mut send, &flag).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(flag.take(), "the waiting sender was not woken");
    assert_eq!(poll_once(&mut send), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn recv_waits_while_empty_and_a_send_wakes_it() {
    let (tx, rx) = channel::unbounded();
    let flag = WakeCounter::new();
    let mut recv = rx.recv();
    assert!(poll_with(&mut recv, &flag).is_pending());
    tx.try_send('x').unwrap();
    assert!(flag.take());
    assert_eq!(poll_once(&mut recv), Poll::Ready(Ok('x')));
}

#[test]
fn a_woken_recv_that_is_dropped_hands_its_wakeup_to_the_next_receiver() {
    let (tx, rx) = channel::unbounded();
    let (first, second) = (WakeCounter::new(), WakeCounter::new());
    let mut recv1 = rx.recv();
    let mut recv2 = rx.recv();
    assert!(poll_with(&mut recv1, &first).is_pending());
    assert!(poll_with(&mut recv2, &second).is_pending());
    tx.try_send(1).unwrap();
    assert!(
        first.take() && !second.take(),
        "one send wakes one receiver"
    );
    drop(recv1); // cancelled before it ran
    assert!(second.take(), "the wake-up was not handed on");
    assert_eq!(poll_once(&mut recv2), Poll::Ready(Ok(1)));
}

#[test]
fn a_woken_send_that_is_dropped_hands_its_wakeup_to_the_next_sender() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(0).unwrap();
    let (first, second) = (WakeCounter::new(), WakeCounter::new());
    let mut send1 = tx.send(1);
    let mut send2 = tx.send(2);
    assert!(poll_with(&mut send1, &first).is_pending());
    assert!(poll_with(&mut send2, &second).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(first.take() && !second.take());
    drop(send1);
    assert!(second.take());
    assert_eq!(poll_once(&mut send2), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_cancelled_pending_send_never_sends() {
    let log = DropLog::new();
    let (tx, rx) = channel::bounded(1);
    tx.try_send(log.item(1)).unwrap();
    let mut send = tx.send(log.item(2));
    assert!(poll_once(&mut send).is_pending());
    drop(send);
    assert_eq!(log.drops(), 1);
    assert_eq!(rx.try_recv().unwrap().id, 1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn dropping_the_last_sender_closes_the_channel_after_it_drains() {
    let (tx, rx) = channel::bounded(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a sender is still alive");
    tx2.try_send(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(future::block_on(rx.recv()), Ok(1));
    assert_eq!(future::block_on(rx.recv()), Ok(2));
    assert_eq!(future::block_on(rx.recv()), Err(RecvError));
}

#[test]
fn dropping_the_last_sender_wakes_waiting_receivers() {
    let (tx, rx) = channel::unbounded::<u8>();
    let flag = WakeCounter::new();
    let mut recv = rx.recv();
    assert!(poll_with(&mut recv, &flag).is_pending());
    drop(tx);
    assert!(flag.take());
    assert_eq!(poll_once(&mut recv), Poll::Ready(Err(RecvError)));
}

#[test]
fn dropping_the_last_receiver_fails_senders_and_drops_the_messages_left() {
    let log = DropLog::new();
    let (tx, rx) = channel::bounded(2);
    tx.try_send(log.item(1)).unwrap();
    tx.try_send(log.item(2)).unwrap();
    let flag = WakeCounter::new();
    let mut send = tx.send(log.item(3));
    assert!(poll_with(&mut send, &flag).is_pending());
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "a receiver is still alive");
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(
        log.drops(),
        2,
        "messages left are dropped with the last receiver"
    );
    assert!(flag.take(), "the waiting sender was not woken");
    match poll_once(&mut send) {
        Poll::Ready(Err(SendError(item))) => assert_eq!(item.id, 3),
        other => panic!("expected a closed-channel error, got {other:?}"),
    }
    drop(send);
    log.assert_all_dropped_once();
}

#[test]
fn close_wakes_blocked_senders_and_receivers() {
    let (tx, rx) = channel::bounded(1);
    let (s, r) = (WakeCounter::new(), WakeCounter::new());
    tx.try_send(0).unwrap();
    let mut send = tx.send(1);
    assert!(poll_with(&mut send, &s).is_pending());
    let (_tx2, rx2) = channel::unbounded::<u8>();
    let mut recv = rx2.recv();
    assert!(poll_with(&mut recv, &r).is_pending());
    assert!(tx.close());
    assert!(rx2.close());
    assert!(s.take() && r.take());
    assert_eq!(poll_once(&mut send), Poll::Ready(Err(SendError(1))));
    assert_eq!(poll_once(&mut recv), Poll::Ready(Err(RecvError)));
    assert_eq!(rx.try_recv(), Ok(0));
}

#[test]
fn receiver_stream_yields_every_message_then_ends() {
    let (tx, rx) = channel::bounded(3);
    future::block_on(async {
        for n in 0..3 {
            tx.send(n).await.unwrap();
        }
        drop(tx);
        assert_eq!(rx.collect::<Vec<_>>().await, [0, 1, 2]);
    });
}

#[test]
fn a_stream_that_is_not_polled_again_does_not_swallow_wakeups() {
    let (tx, rx) = channel::unbounded();
    let mut stream = rx.clone();
    let stream_flag = WakeCounter::new();
    assert!(poll_with(&mut stream.next(), &stream_flag).is_pending());
    // The stream is now parked and never polled again; a plain receiver must still be
    // woken by the next send.
    let flag = WakeCounter::new();
    let mut recv = rx.recv();
    assert!(poll_with(&mut recv, &flag).is_pending());
    tx.try_send(5).unwrap();
    assert!(flag.take());
    assert_eq!(poll_once(&mut recv), Poll::Ready(Ok(5)));
    drop(stream);
}

#[test]
fn counts_and_capacity_are_reported() {
    let (tx, rx) = channel::bounded::<u8>(3);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(3), Some(3)));
    let tx2 = tx.clone();
    let rx2 = rx.clone();
    assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 2));
    drop((tx2, rx2));
    assert_eq!((rx.sender_count(), rx.receiver_count()), (1, 1));
    tx.try_send(1).unwrap();
    assert_eq!((tx.len(), rx.is_empty(), tx.is_full()), (1, false, false));
    let (utx, _urx) = channel::unbounded::<u8>();
    assert_eq!(utx.capacity(), None);
}

#[test]
#[should_panic(expected = "capacity must be positive")]
fn a_zero_capacity_bounded_channel_is_refused() {
    let _ = channel::bounded::<u8>(0);
}

#[test]
fn blocking_send_and_recv_work_across_threads() {
    within(Duration::from_secs(60), || {
        let (tx, rx) = channel::bounded(1);
        // Fewer under Miri (cargo xtask miri --all), where each hand-over takes milliseconds.
        const N: i32 = if cfg!(miri) { 50 } else { 1000 };
        let producer = std::thread::spawn(move || {
            for n in 0..N {
                tx.send_blocking(n).unwrap();
            }
        });
        let mut expected = 0;
        while let Ok(n) = rx.recv_blocking() {
            assert_eq!(n, expected);
            expected += 1;
        }
        assert_eq!(expected, N);
        producer.join().unwrap();
    });
}

#[test]
fn send_into_inner_recovers_the_message_of_a_pending_send() {
    let (tx, _rx) = channel::bounded(1);
    tx.try_send(1).unwrap();
    let mut send = tx.send(2);
    assert!(poll_once(&mut send).is_pending());
    assert_eq!(send.into_inner(), Some(2));
}

#[test]
fn errors_display_and_convert() {
    let err: Box<dyn std::error::Error> = Box::new(TrySendError::Full(1));
    assert_eq!(err.to_string(), "sending into a full channel");
    assert_eq!(TrySendError::from(SendError(2)), TrySendError::Closed(2));
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Closed);
    assert_eq!(format!("{:?}", SendError(String::new())), "SendError(..)");
}

#[test]
// Volume on one thread: under Miri (cargo xtask miri --all) 10,000 items take minutes.
#[cfg_attr(miri, ignore)]
fn any_capacity_up_to_usize_max_is_accepted() {
    let (tx, rx) = channel::bounded(usize::MAX);
    for n in 0..10_000 {
        tx.try_send(n).unwrap();
    }
    assert_eq!(
        (tx.len(), tx.capacity(), tx.is_full()),
        (10_000, Some(usize::MAX), false)
    );
    let got: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, (0..10_000).collect::<Vec<_>>());
}

/// Messages so large that the channel's ring holds three of them: the other seven of a
/// capacity of ten wait in the overflow behind the ring.
#[test]
fn beyond_its_ring_a_channel_keeps_order_bound_and_wake_ups() {
    let (tx, rx) = channel::bounded::<Heavy>(10);
    for n in 0..10 {
        tx.try_send(Heavy::new(n)).unwrap();
    }
    assert!(tx.is_full());
    assert_eq!(
        tx.try_send(Heavy::new(10))
            .unwrap_err()
            .into_inner()
            .value(),
        10
    );
    let flag = WakeCounter::new();
    let mut send = tx.send(Heavy::new(10));
    assert!(poll_with(&mut send, &flag).is_pending());
    assert_eq!(rx.try_recv().map(|m| m.value()), Ok(0));
    assert!(flag.take(), "the waiting sender was not woken");
    assert!(matches!(poll_once(&mut send), Poll::Ready(Ok(()))));
    drop(send);
    drop(tx);
    let rest: Vec<u32> = std::iter::from_fn(|| rx.try_recv().ok().map(|m| m.value())).collect();
    assert_eq!(rest, (1..=10).collect::<Vec<_>>());
    assert_eq!(rx.try_recv().map(|m| m.value()), Err(TryRecvError::Closed));
}

#[test]
// Volume on one thread (the ring's 2,048 slots must fill): minutes under Miri (cargo xtask
// miri --all). `beyond_its_ring_a_channel_keeps_order_bound_and_wake_ups` reaches the
// overflow there with ten heavy messages.
#[cfg_attr(miri, ignore)]
fn beyond_its_ring_a_channel_drops_every_message_left_once() {
    let log = DropLog::new();
    let (tx, rx) = channel::bounded(usize::MAX);
    for n in 0..10_000 {
        tx.try_send(log.item(n)).unwrap();
    }
    assert_eq!(rx.try_recv().unwrap().id, 0);
    drop(rx); // the last receiver: the messages left are dropped
    assert!(tx.is_closed());
    log.assert_all_dropped_once();
}
