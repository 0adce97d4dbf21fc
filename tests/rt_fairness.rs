//! A task that is always ready cannot starve timers, I/O or callbacks.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tulip::io::{Async, AsyncReadExt};

/// Spins (yielding each time) until `done` is set; fails if it spins absurdly long.
async fn spinner(done: Arc<AtomicBool>, spins: Arc<AtomicU64>) {
    while !done.load(SeqCst) {
        let n = spins.fetch_add(1, SeqCst);
        assert!(n < 50_000_000, "starved: the other work never ran");
        tulip::yield_now().await;
    }
}

#[test]
fn a_busy_task_does_not_starve_a_timer() {
    tulip::run(async {
        let done = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicU64::new(0));
        let s = tulip::spawn(spinner(done.clone(), spins.clone()));
        tulip::sleep(Duration::from_millis(5)).await;
        done.store(true, SeqCst);
        s.await.unwrap();
        assert!(spins.load(SeqCst) > 0);
    });
}

#[test]
fn a_busy_task_does_not_starve_io() {
    tulip::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut a = Async::new(a).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicU64::new(0));
        let s = tulip::spawn(spinner(done.clone(), spins.clone()));
        let writer = std::thread::spawn(move || {
            b.write_all(b"ping").unwrap();
            b
        });
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        done.store(true, SeqCst);
        s.await.unwrap();
        drop(writer.join().unwrap());
    });
}

#[test]
fn many_busy_tasks_let_a_remote_callback_in() {
    tulip::run(async {
        let done = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| tulip::spawn(spinner(done.clone(), spins.clone())))
            .collect();
        let lp = tulip::EventLoop::current();
        let d = done.clone();
        std::thread::spawn(move || {
            lp.call_soon_threadsafe(move || d.store(true, SeqCst));
        })
        .join()
        .unwrap();
        for t in tasks {
            t.await.unwrap();
        }
    });
}
