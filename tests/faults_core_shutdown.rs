//! The runtime goes away under its users (issue 20):
//!
//! - dropped while tasks hold sockets, timers, child processes and channel items: every
//!   task's future is dropped exactly once, every descriptor is closed, each child is killed
//!   or left running as its `kill_on_drop` says and reaped either way, every channel item is
//!   dropped exactly once;
//! - wakers of its timers, its reactor's I/O and its channels' waiters kept past its end: a
//!   wake is then a no-op, and what they waited for is still there.
//!
//! Task wakers kept by a thread past the executor's end are tested in tulip-executor's
//! tests/stale_wakers.rs, which Miri runs too.
//!
//! The descriptor count is the whole process's, so that test re-runs this binary with only
//! itself in a child process (`TULIP_TEST_CHILD`).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tulip::net::{TcpListener, TcpStream};
use tulip::process::{Command, Stdio};
use tulip_test_support::{poll_with, WakeCounter};
use tulip_tests::{bounded, is_child, open_fds, run_in_child, Counter, Latch, TempDir};

/// Whether process `pid` is gone (reaped: not even a zombie is left).
fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits (bounded, polling) for `cond`: for what another process or a reaper thread does.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < end, "{what} did not happen within 10 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dropping_the_runtime_drops_every_future_once_and_closes_every_descriptor() {
    if !is_child("shutdown") {
        run_in_child(
            "dropping_the_runtime_drops_every_future_once_and_closes_every_descriptor",
            "shutdown",
        );
        return;
    }
    let dir = TempDir::new("shutdown");
    let witness = dir.path().join("survivor");
    let fds_before = open_fds();
    let futures = Counter::new();
    let items = Counter::new();
    let runner = tulip::Runner::new();
    let (killed, survivor) = {
        let (futures, items, witness) = (futures.clone(), items.clone(), witness.clone());
        runner.run(async move {
            let started = Latch::new(6);
            // A listener and both ends of a connection, each in a task blocked on it.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            for stream in [client, server] {
                let (g, s) = (futures.on_drop(), started.clone());
                tulip::spawn(async move {
                    let _g = g;
                    s.arrive();
                    let mut buf = [0u8; 8];
                    let _ = tulip::io::AsyncReadExt::read(&mut &stream, &mut buf).await;
                    unreachable!("nobody writes");
                })
                .detach();
            }
            let (g, s) = (futures.on_drop(), started.clone());
            tulip::spawn(async move {
                let _g = g;
                s.arrive();
                let _ = listener.accept().await;
                unreachable!("nobody connects");
            })
            .detach();
            // A timer.
            let (g, s) = (futures.on_drop(), started.clone());
            tulip::spawn(async move {
                let _g = g;
                s.arrive();
                tulip::sleep(Duration::from_secs(3600)).await;
            })
            .detach();
            // Two children: one killed when dropped, one left to finish (it writes a file
            // once its stdin, which the task holds, closes).
            let killed = Command::new("sleep")
                .arg("3600")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let survivor = Command::new("sh")
                .args([
                    "-c",
                    "read x; echo alive > \"$0\"",
                    witness.to_str().unwrap(),
                ])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            let pids = (killed.id(), survivor.id());
            for child in [killed, survivor] {
                let (g, s) = (futures.on_drop(), started.clone());
                tulip::spawn(async move {
                    let _g = g;
                    s.arrive();
                    let _ = child.wait().await;
                    unreachable!("the children outlive the loop");
                })
                .detach();
            }
            // Channel items: in the channel, and in a send blocked on the full channel.
            let (tx, rx) = tulip::channel::bounded(2);
            tx.try_send(items.on_drop()).unwrap();
            tx.try_send(items.on_drop()).unwrap();
            let (g, item) = (futures.on_drop(), items.on_drop());
            tulip::spawn(async move {
                let _g = g;
                let _ = tx.send(item).await;
                drop(rx);
            })
            .detach();
            started.wait().await;
            tulip::yield_now().await;
            pids
        })
    };
    // Between runs the loop still holds all of it.
    assert_eq!(futures.get(), 0);
    assert_eq!(items.get(), 0);
    assert!(!gone(killed) && !gone(survivor));
    drop(runner);
    assert_eq!(futures.get(), 7, "every task's future dropped exactly once");
    assert_eq!(items.get(), 3, "every channel item dropped exactly once");
    // kill_on_drop(true): killed; the default: left to run (it finishes on its own, as its
    // stdin closed with the loop). Both reaped, by a thread of their own now the loop is gone.
    eventually("the killed child's reaping", || gone(killed));
    eventually("the surviving child's work", || {
        std::fs::read_to_string(&witness).is_ok_and(|s| s == "alive\n")
    });
    eventually("the surviving child's reaping", || gone(survivor));
    eventually("every descriptor closed", || open_fds() == fds_before);
}

/// A future polled by hand with `waker` (so that a reactor or channel keeps that waker).
fn poll_by_hand<F: Future + Unpin>(fut: &mut F, waker: &Arc<WakeCounter>) -> Poll<F::Output> {
    poll_with(fut, waker)
}

#[test]
fn timer_and_io_wakers_kept_past_the_runtime_are_harmless_and_released() {
    let timer_waker = WakeCounter::new();
    let io_waker = WakeCounter::new();
    let runner = tulip::Runner::new();
    let (sleep, stream, _peer) = runner.run(async {
        let mut sleep = Box::pin(tulip::sleep(Duration::from_secs(3600)));
        assert!(poll_by_hand(&mut sleep, &timer_waker).is_pending());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        let waker = io_waker.waker();
        let mut buf = [0u8; 4];
        let read = tulip::io::AsyncRead::poll_read(
            Pin::new(&mut &stream),
            &mut Context::from_waker(&waker),
            &mut buf,
        );
        assert!(read.is_pending());
        (sleep, stream, peer)
    });
    drop(runner);
    // The loop is gone; what registered the wakers outlives it (and keeps the reactor's
    // state alive: no use-after-free). Polled now, it must not crash either.
    let after = WakeCounter::new();
    let mut sleep = sleep;
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_with(&mut sleep, &after).is_pending()
    }));
    assert!(polled.is_ok(), "polling a sleep of a dropped loop panicked");
    // Dropped, they let go of every waker they had handed to the timer wheel and the poller.
    drop(sleep);
    drop(stream);
    assert_eq!(
        Arc::strong_count(&timer_waker),
        1,
        "the timer wheel kept its waker"
    );
    assert_eq!(
        Arc::strong_count(&after),
        1,
        "the timer wheel kept the late waker"
    );
    assert_eq!(
        Arc::strong_count(&io_waker),
        1,
        "the reactor kept the I/O waker"
    );
}

#[test]
fn a_channel_waiter_whose_task_died_with_the_runtime_is_a_no_op_to_wake() {
    let (tx, rx) = tulip::channel::bounded::<u32>(1);
    let rx: &'static tulip::channel::Receiver<u32> = Box::leak(Box::new(rx));
    let (out_tx, out_rx) = std::sync::mpsc::channel();
    let runner = tulip::Runner::new();
    runner.run(async move {
        // A task registers a receive with its own waker, hands the pending future out, and
        // then waits forever: its waker is in the channel when the loop goes.
        let sent = Latch::new(1);
        let s = sent.clone();
        tulip::spawn(async move {
            let mut recv = Box::pin(rx.recv());
            std::future::poll_fn(|cx| {
                assert!(recv.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            out_tx.send(recv).unwrap();
            s.arrive();
            std::future::pending::<()>().await;
        })
        .detach();
        bounded("the waiting task", sent.wait()).await;
    });
    // Kept outside the loop: the receive stays registered with the task's waker.
    let kept = out_rx.recv().unwrap();
    drop(runner);
    // A thread sends: it wakes the dead task's waker, which must do nothing; the message
    // is kept for whoever receives next.
    std::thread::spawn(move || tx.try_send(9).unwrap())
        .join()
        .unwrap();
    let mut again = Box::pin(rx.recv());
    let w = WakeCounter::new();
    assert_eq!(poll_with(&mut again, &w), Poll::Ready(Ok(9)));
    drop(kept);
}
