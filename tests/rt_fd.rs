//! `LoopHandle::add_reader`/`add_writer`/`remove_reader`/`remove_writer`: level-triggered
//! callbacks on a file descriptor, replacing, removing from inside the callback. On both
//! backends and (through `TULIP_WORKERS`) both flavours.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use tulip::rt::EventLoop;
use tulip_tests::{on_each_backend, until};

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Gives the loop `n` turns.
async fn turns(n: usize) {
    for _ in 0..n {
        tulip::yield_now().await;
    }
}

// Case from CPython's Lib/test/test_asyncio/test_events.py (test_add_reader: the reader is
// called while data is there, and the data read in the callback).
#[test]
fn reader_runs_once_per_byte_read_then_stops_when_drained() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let (a, mut b) = pair();
        let calls = Rc::new(Cell::new(0));
        let (c, r) = (calls.clone(), a.try_clone().unwrap());
        lp.add_reader(&a, move || {
            c.set(c.get() + 1);
            let mut one = [0u8; 1];
            let _ = (&r).read(&mut one); // one byte per call: level-triggered re-fires
        })
        .unwrap();
        b.write_all(b"abc").unwrap();
        until(|| calls.get() == 3).await;
        turns(100).await;
        assert_eq!(calls.get(), 3, "no call once the data is read");
        b.write_all(b"d").unwrap();
        until(|| calls.get() == 4).await;
        assert!(lp.remove_reader(a.as_raw_fd()));
        assert!(!lp.remove_reader(a.as_raw_fd()));
    });
}

#[test]
fn reader_fires_again_every_iteration_while_data_stays_unread() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let (a, mut b) = pair();
        let calls = Rc::new(Cell::new(0u32));
        let c = calls.clone();
        lp.add_reader(&a, move || c.set(c.get() + 1)).unwrap();
        turns(20).await;
        assert_eq!(calls.get(), 0, "not ready: not called");
        b.write_all(b"x").unwrap();
        until(|| calls.get() >= 5).await;
        assert!(lp.remove_reader(a.as_raw_fd()));
        // The removed watcher may finish the iteration it is in; then it is gone.
        turns(2).await;
        let after = calls.get();
        turns(100).await;
        assert_eq!(calls.get(), after);
        // The byte is still there: nobody read it.
        let mut one = [0u8; 1];
        assert_eq!((&a).read(&mut one).unwrap(), 1);
    });
}

// Case from CPython's test_events.py (test_remove_reader inside the callback, as
// asyncio's own readers do once done).
#[test]
fn removing_the_reader_from_inside_its_callback_is_safe() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let (a, mut b) = pair();
        let calls = Rc::new(Cell::new(0));
        let (c, fd, lp2) = (calls.clone(), a.as_raw_fd(), lp.clone());
        lp.add_reader(&a, move || {
            c.set(c.get() + 1);
            assert!(lp2.remove_reader(fd));
        })
        .unwrap();
        b.write_all(b"unread").unwrap();
        until(|| calls.get() == 1).await;
        turns(100).await;
        assert_eq!(calls.get(), 1);
        assert!(!lp.remove_reader(fd));
    });
}

#[test]
fn adding_a_reader_twice_replaces_the_first() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let (a, mut b) = pair();
        let first = Rc::new(Cell::new(0));
        let second = Rc::new(Cell::new(0));
        let f = first.clone();
        lp.add_reader(&a, move || f.set(f.get() + 1)).unwrap();
        let (s, fd, lp2) = (second.clone(), a.as_raw_fd(), lp.clone());
        lp.add_reader(&a, move || {
            s.set(s.get() + 1);
            lp2.remove_reader(fd);
        })
        .unwrap();
        b.write_all(b"x").unwrap();
        until(|| second.get() == 1).await;
        turns(50).await;
        assert_eq!(first.get(), 0);
        assert_eq!(second.get(), 1);
    });
}

// Case from CPython's test_events.py (test_add_writer: a writer is called while the socket
// can take data).
#[test]
fn writer_runs_while_writable_and_reader_and_writer_are_independent() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let (a, mut b) = pair();
        let writes = Rc::new(Cell::new(0));
        let reads = Rc::new(Cell::new(0));
        let (w, wa) = (writes.clone(), a.try_clone().unwrap());
        lp.add_writer(&a, move || {
            w.set(w.get() + 1);
            (&wa).write_all(b"!").unwrap();
        })
        .unwrap();
        let r = reads.clone();
        lp.add_reader(&a, move || r.set(r.get() + 1)).unwrap();
        until(|| writes.get() >= 3).await;
        assert!(lp.remove_writer(a.as_raw_fd()));
        assert_eq!(reads.get(), 0, "nothing arrived for a to read");
        let mut got = [0u8; 3];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"!!!");
        b.write_all(b"?").unwrap();
        until(|| reads.get() >= 1).await;
        assert!(lp.remove_reader(a.as_raw_fd()));
        assert!(!lp.remove_writer(a.as_raw_fd()));
    });
}

#[test]
fn a_panicking_reader_is_reported_and_stays() {
    let reports = tulip_tests::Reports::new();
    reports.builder().build().run(async {
        let lp = EventLoop::current();
        let (a, mut b) = pair();
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        lp.add_reader(&a, move || {
            c.set(c.get() + 1);
            panic!("reader bug");
        })
        .unwrap();
        b.write_all(b"x").unwrap();
        until(|| calls.get() >= 2).await;
        assert!(lp.remove_reader(a.as_raw_fd()));
    });
    assert!(reports.all().iter().any(|r| r.contains("reader bug")));
}

#[test]
fn add_reader_from_another_thread_is_an_error() {
    tulip::run(async {
        let lp = EventLoop::current();
        let (a, _b) = pair();
        let err = std::thread::spawn(move || lp.add_reader(&a, || {}).unwrap_err())
            .join()
            .unwrap();
        assert!(err.to_string().contains("loop's thread"), "{err}");
    });
}

#[test]
fn closing_the_loop_removes_the_watchers() {
    let (a, mut b) = pair();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let runner = tulip::Runner::new();
    runner.run(async {
        EventLoop::current()
            .add_reader(&a, move || c.set(c.get() + 1))
            .unwrap();
    });
    runner.close();
    b.write_all(b"x").unwrap();
    // The callback was dropped with the loop: only our own reference is left.
    assert_eq!(Rc::strong_count(&calls), 1);
    assert_eq!(calls.get(), 0);
}
