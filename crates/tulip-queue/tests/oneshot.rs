//! `channel::oneshot`: one value, one sender, one receiver.

mod common;

use common::{poll_once, poll_with, within, DropLog, WakeCounter};
use futures_core::{FusedFuture, FusedStream};
use futures_lite::{future, StreamExt};
use std::task::Poll;
use std::time::Duration;
use tulip_queue::channel::{
    self,
    oneshot::{RecvError, SendError, TryRecvError},
};

#[test]
fn a_sent_value_is_received() {
    let (tx, rx) = channel::oneshot();
    tx.send(7).unwrap();
    assert_eq!(future::block_on(rx), Ok(7));
}

#[test]
fn the_receiver_waits_and_a_send_wakes_it() {
    let (tx, mut rx) = channel::oneshot();
    let flag = WakeCounter::new();
    assert!(poll_with(&mut rx, &flag).is_pending());
    tx.send("v").unwrap();
    assert!(flag.take());
    assert_eq!(poll_once(&mut rx), Poll::Ready(Ok("v")));
    assert!(FusedFuture::is_terminated(&rx));
}

#[test]
fn dropping_the_sender_without_sending_fails_the_receiver_and_wakes_it() {
    let (tx, mut rx) = channel::oneshot::<u8>();
    let flag = WakeCounter::new();
    assert!(poll_with(&mut rx, &flag).is_pending());
    drop(tx);
    assert!(flag.take());
    assert_eq!(poll_once(&mut rx), Poll::Ready(Err(RecvError)));
}

#[test]
fn send_after_the_receiver_is_gone_hands_the_value_back() {
    let (tx, rx) = channel::oneshot();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(SendError(1)));
}

#[test]
fn close_refuses_later_sends_but_keeps_an_earlier_value() {
    let (tx, mut rx) = channel::oneshot();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));

    let (tx, mut rx) = channel::oneshot();
    rx.close();
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn try_recv_reports_empty_then_the_value_then_closed() {
    let (tx, mut rx) = channel::oneshot();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_ready());
    tx.send('a').unwrap();
    assert!(rx.is_ready());
    assert_eq!(rx.try_recv(), Ok('a'));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_dropped_recv_future_leaves_the_value_in_the_channel() {
    let (tx, mut rx) = channel::oneshot();
    {
        let mut recv = rx.recv();
        assert!(poll_once(&mut recv).is_pending());
        tx.send(3).unwrap();
        // Dropped before it ran again.
    }
    assert_eq!(future::block_on(rx.recv()), Ok(3));
}

#[test]
fn sender_closed_waits_for_the_receiver_to_go() {
    let (mut tx, rx) = channel::oneshot::<u8>();
    let flag = WakeCounter::new();
    {
        let mut closed = tx.closed();
        assert!(poll_with(&mut closed, &flag).is_pending());
    }
    let mut closed = tx.closed();
    assert!(poll_with(&mut closed, &flag).is_pending());
    drop(rx);
    assert!(flag.take());
    assert_eq!(poll_once(&mut closed), Poll::Ready(()));
}

#[test]
fn the_receiver_stream_yields_the_value_once() {
    let (tx, rx) = channel::oneshot();
    tx.send(9).unwrap();
    let mut rx = rx;
    future::block_on(async {
        assert_eq!(rx.next().await, Some(9));
        assert_eq!(rx.next().await, None);
    });
    assert!(FusedStream::is_terminated(&rx));

    let (tx, rx) = channel::oneshot::<u8>();
    drop(tx);
    assert_eq!(future::block_on(rx.collect::<Vec<_>>()), []);
}

#[test]
fn an_unreceived_value_is_dropped_once_with_the_receiver() {
    let log = DropLog::new();
    let (tx, rx) = channel::oneshot();
    tx.send(log.item(1)).unwrap();
    assert_eq!(log.drops(), 0);
    drop(rx);
    log.assert_all_dropped_once();

    let log = DropLog::new();
    let (tx, rx) = channel::oneshot();
    drop(rx);
    let SendError(item) = tx.send(log.item(2)).unwrap_err();
    assert_eq!(log.drops(), 0, "the value was handed back, not dropped");
    drop(item);
    log.assert_all_dropped_once();
}

#[test]
fn recv_blocking_waits_for_another_thread() {
    within(Duration::from_secs(30), || {
        // Fewer under Miri (cargo xtask miri --all), where a thread takes a tenth of a second.
        for n in 0..if cfg!(miri) { 10 } else { 1000 } {
            let (tx, rx) = channel::oneshot();
            let sender = std::thread::spawn(move || tx.send(n).unwrap());
            assert_eq!(rx.recv_blocking(), Ok(n));
            sender.join().unwrap();
        }
    });
}

#[test]
fn ping_pong_between_threads_delivers_every_value() {
    within(Duration::from_secs(60), || {
        let (to_pong_tx, to_pong_rx) = channel::bounded::<channel::oneshot::Sender<u32>>(1);
        let ponger = std::thread::spawn(move || {
            let mut n = 0;
            while let Ok(reply) = to_pong_rx.recv_blocking() {
                reply.send(n).unwrap();
                n += 1;
            }
        });
        // Fewer under Miri (cargo xtask miri --all), where each hand-over takes milliseconds.
        for n in 0..if cfg!(miri) { 50 } else { 2000 } {
            let (tx, rx) = channel::oneshot();
            to_pong_tx.send_blocking(tx).unwrap();
            assert_eq!(rx.recv_blocking(), Ok(n));
        }
        drop(to_pong_tx);
        ponger.join().unwrap();
    });
}

#[test]
fn a_send_refused_after_close_still_wakes_a_waiting_receive_which_then_fails() {
    let (tx, mut rx) = channel::oneshot::<u8>();
    let flag = WakeCounter::new();
    assert!(poll_with(&mut rx, &flag).is_pending());
    rx.close();
    assert_eq!(tx.send(4), Err(SendError(4)));
    assert!(flag.take(), "the waiting receive was not woken");
    assert_eq!(poll_once(&mut rx), Poll::Ready(Err(RecvError)));
}

#[test]
fn a_value_sent_before_close_is_still_received_and_a_new_waker_is_the_one_woken() {
    let (tx, mut rx) = channel::oneshot::<u8>();
    let first = WakeCounter::new();
    let second = WakeCounter::new();
    assert!(poll_with(&mut rx, &first).is_pending());
    assert!(poll_with(&mut rx, &second).is_pending());
    tx.send(9).unwrap();
    assert!(second.take(), "the latest waker was not woken");
    assert!(!first.take(), "a replaced waker was woken");
    rx.close();
    assert_eq!(poll_once(&mut rx), Poll::Ready(Ok(9)));
}

/// A waker whose wake panics, and a count of the references to it that are still held.
struct PanickyWaker;

impl std::task::Wake for PanickyWaker {
    fn wake(self: std::sync::Arc<Self>) {
        panic!("this waker panics on purpose");
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        panic!("this waker panics on purpose");
    }
}

#[test]
fn a_waker_that_panics_in_the_send_still_lets_the_channel_be_freed() {
    use std::{future::Future, pin::Pin, sync::Arc, task::Context};
    let handle = Arc::new(PanickyWaker);
    let waker = std::task::Waker::from(Arc::clone(&handle));
    let (tx, mut rx) = channel::oneshot::<u8>();
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(Arc::strong_count(&handle), 3, "the receiver keeps a clone");
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || tx.send(5)));
    assert!(sent.is_err(), "the waker's panic reaches the sender");
    // The value was published before the wake.
    assert_eq!(rx.try_recv(), Ok(5));
    drop(rx);
    drop(waker);
    assert_eq!(
        Arc::strong_count(&handle),
        1,
        "the channel (and its waker clone) leaked"
    );
}

#[test]
fn a_waker_that_panics_in_the_receivers_drop_still_lets_the_channel_be_freed() {
    use std::{future::Future, pin::pin, sync::Arc, task::Context};
    let handle = Arc::new(PanickyWaker);
    let waker = std::task::Waker::from(Arc::clone(&handle));
    let (mut tx, rx) = channel::oneshot::<u8>();
    {
        let closed = pin!(tx.closed());
        assert!(closed.poll(&mut Context::from_waker(&waker)).is_pending());
    }
    assert_eq!(Arc::strong_count(&handle), 3, "the sender keeps a clone");
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rx)));
    assert!(
        dropped.is_err(),
        "the waker's panic reaches the receiver's drop"
    );
    assert!(tx.is_closed());
    drop(tx);
    drop(waker);
    assert_eq!(
        Arc::strong_count(&handle),
        1,
        "the channel (and its waker clone) leaked"
    );
}
