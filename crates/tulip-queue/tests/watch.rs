//! `channel::watch`: the latest value, with change notification.

mod common;

use common::{poll_once, poll_with, within, DropLog, WakeCounter};
use futures_lite::{future, StreamExt};
use std::task::Poll;
use std::time::Duration;
use tulip_queue::channel::{
    self,
    watch::{RecvError, SendError},
};

#[test]
fn receivers_borrow_the_initial_value_then_the_latest() {
    let (tx, rx) = channel::watch(1);
    assert_eq!(*rx.borrow(), 1);
    tx.send(2).unwrap();
    tx.send(3).unwrap();
    assert_eq!(*rx.borrow(), 3);
    assert_eq!(*tx.borrow(), 3);
}

#[test]
fn changed_waits_for_a_new_value_and_a_send_wakes_it() {
    let (tx, mut rx) = channel::watch(0);
    let flag = WakeCounter::new();
    {
        let mut changed = rx.changed();
        assert!(poll_with(&mut changed, &flag).is_pending());
        tx.send(1).unwrap();
        assert!(flag.take());
        assert_eq!(poll_once(&mut changed), Poll::Ready(Ok(())));
    }
    assert_eq!(*rx.borrow(), 1);
    assert_eq!(
        rx.has_changed(),
        Ok(false),
        "changed() marks the value seen"
    );
}

#[test]
fn changed_returns_at_once_when_a_value_is_unseen() {
    let (tx, mut rx) = channel::watch(0);
    tx.send(1).unwrap();
    assert_eq!(poll_once(&mut rx.changed()), Poll::Ready(Ok(())));
    assert!(poll_once(&mut rx.changed()).is_pending());
}

#[test]
fn intermediate_values_may_be_skipped_but_the_latest_is_seen() {
    let (tx, mut rx) = channel::watch(0);
    for n in 1..=5 {
        tx.send(n).unwrap();
    }
    future::block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow(), 5);
}

#[test]
fn after_the_sender_goes_the_last_unseen_value_is_still_reported_then_an_error() {
    let (tx, mut rx) = channel::watch(0);
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.has_changed(), Ok(true));
    assert_eq!(future::block_on(rx.changed()), Ok(()));
    assert_eq!(*rx.borrow(), 1);
    assert_eq!(future::block_on(rx.changed()), Err(RecvError));
    assert_eq!(rx.has_changed(), Err(RecvError));
}

#[test]
fn dropping_the_sender_wakes_waiting_receivers() {
    let (tx, mut rx) = channel::watch(());
    let flag = WakeCounter::new();
    let mut changed = rx.changed();
    assert!(poll_with(&mut changed, &flag).is_pending());
    drop(tx);
    assert!(flag.take());
    assert_eq!(poll_once(&mut changed), Poll::Ready(Err(RecvError)));
}

#[test]
fn send_without_receivers_hands_the_value_back_and_send_replace_stores_anyway() {
    let (tx, rx) = channel::watch(1);
    drop(rx);
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(*tx.borrow(), 1);
    assert_eq!(tx.send_replace(3), 1);
    assert_eq!(*tx.borrow(), 3);
}

#[test]
fn send_if_modified_notifies_only_on_modification() {
    let (tx, rx) = channel::watch(10);
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(tx.send_if_modified(|v| {
        *v += 1;
        true
    }));
    assert_eq!(rx.has_changed(), Ok(true));
    tx.send_modify(|v| *v *= 2);
    assert_eq!(*rx.borrow(), 22);
}

#[test]
fn subscribers_start_with_the_current_value_seen_and_clones_copy_what_was_seen() {
    let (tx, mut rx) = channel::watch(0);
    tx.send(1).unwrap();
    let late = tx.subscribe();
    assert_eq!(late.has_changed(), Ok(false));
    let twin = rx.clone();
    assert_eq!(twin.has_changed(), Ok(true));
    rx.mark_unchanged();
    assert_eq!(rx.has_changed(), Ok(false));
    rx.mark_changed();
    assert_eq!(rx.has_changed(), Ok(true));
    assert!(rx.same_channel(&late));
}

#[test]
fn borrow_and_update_reports_whether_the_value_was_new() {
    let (tx, mut rx) = channel::watch('a');
    assert!(!rx.borrow_and_update().has_changed());
    tx.send('b').unwrap();
    assert!(rx.borrow().has_changed());
    assert!(rx.borrow_and_update().has_changed());
    assert!(!rx.borrow().has_changed());
}

#[test]
fn wait_for_returns_the_first_value_that_satisfies_the_predicate() {
    let (tx, mut rx) = channel::watch(0);
    let flag = WakeCounter::new();
    {
        let mut wait = rx.wait_for(|v| *v >= 3);
        assert!(poll_with(&mut wait, &flag).is_pending());
        tx.send(1).unwrap();
        assert!(flag.take());
        assert!(poll_with(&mut wait, &flag).is_pending());
        tx.send(4).unwrap();
        match poll_once(&mut wait) {
            Poll::Ready(Ok(value)) => assert_eq!(*value, 4),
            other => panic!("expected the value, got {other:?}"),
        }
    }
    drop(tx);
    assert_eq!(
        future::block_on(rx.wait_for(|v| *v == 100)).map(|v| *v),
        Err(RecvError)
    );
}

#[test]
fn the_stream_yields_changes_and_ends_when_the_sender_goes() {
    let (tx, rx) = channel::watch(0);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    // Only the latest value: the intermediate one is skipped.
    assert_eq!(future::block_on(rx.collect::<Vec<_>>()), [2]);
}

#[test]
fn sender_closed_waits_for_every_receiver_to_go() {
    let (tx, rx) = channel::watch(0);
    let rx2 = rx.clone();
    let flag = WakeCounter::new();
    let mut closed = tx.closed();
    assert!(poll_with(&mut closed, &flag).is_pending());
    drop(rx);
    assert!(
        poll_with(&mut closed, &flag).is_pending(),
        "one receiver is left"
    );
    drop(rx2);
    assert!(flag.take());
    assert_eq!(poll_once(&mut closed), Poll::Ready(()));
    assert!(tx.is_closed());
}

#[test]
fn every_replaced_value_is_dropped_once() {
    let log = DropLog::new();
    let (tx, rx) = channel::watch(log.item(0));
    for n in 1..10 {
        tx.send(log.item(n)).unwrap();
    }
    let old = tx.send_replace(log.item(10));
    assert_eq!(old.id, 9);
    drop(old);
    assert_eq!(log.drops(), 10);
    drop((tx, rx));
    log.assert_all_dropped_once();
}

#[test]
fn changed_blocking_sees_values_from_another_thread() {
    within(Duration::from_secs(30), || {
        let (tx, mut rx) = channel::watch(0);
        // Fewer under Miri (cargo xtask miri --all), where each send takes milliseconds.
        const N: i32 = if cfg!(miri) { 50 } else { 1000 };
        let sender = std::thread::spawn(move || {
            for n in 1..=N {
                tx.send(n).unwrap();
            }
        });
        let mut last = 0;
        while rx.changed_blocking().is_ok() {
            let now = *rx.borrow_and_update();
            assert!(now > last, "values only move forward");
            last = now;
        }
        assert_eq!(last, N);
        sender.join().unwrap();
    });
}
