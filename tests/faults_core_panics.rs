//! Panics where the loop does not expect them (issue 20): in a waker, in a `Drop` run by a
//! cancellation, in a timer callback, in a protocol's `connection_made`. The promise: the
//! loop goes on, the panic reaches the exception handler (or the caller whose call ran the
//! panicking code), and no primitive is left broken for its later users.
//!
//! Panics in a task, in `call_soon` callbacks, in `data_received` and in a stream server's
//! handler are tested where those features are (tests/task_panic.rs, tests/rt_callbacks.rs,
//! crates/tulip-protocol/tests/protocols.rs, tests/net_streams.rs).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tulip::sync::{Event, Lock, Semaphore};
use tulip_test_support::{poll_with, WakeCounter};
use tulip_tests::{bounded, until, Counter, Latch, PanicOnDrop, Reports};

/// A waker whose `wake` panics, counting the attempts.
struct PanickingWaker(AtomicUsize);

impl PanickingWaker {
    fn new() -> Arc<PanickingWaker> {
        Arc::new(PanickingWaker(AtomicUsize::new(0)))
    }

    fn attempts(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
        panic!("waker exploded");
    }
}

/// Polls `fut` once with `waker`.
fn poll_by<F: Future + Unpin>(fut: &mut F, waker: &Arc<PanickingWaker>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::clone(waker));
    std::pin::Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

#[test]
fn a_panicking_waker_does_not_rob_the_other_waiters_of_their_wake_up() {
    let event = Event::new();
    let (before, after) = (WakeCounter::new(), WakeCounter::new());
    let bomb = PanickingWaker::new();
    let mut w1 = Box::pin(event.wait());
    let mut w2 = Box::pin(event.wait());
    let mut w3 = Box::pin(event.wait());
    assert!(poll_with(&mut w1, &before).is_pending());
    assert!(poll_by(&mut w2, &bomb).is_pending());
    assert!(poll_with(&mut w3, &after).is_pending());

    // The panic reaches whoever called `set`...
    let res = catch_unwind(AssertUnwindSafe(|| event.set()));
    assert!(res.is_err(), "the waker's panic reaches the caller");
    assert_eq!(bomb.attempts(), 1);
    // ...after every waiter was woken, those after the bad waker included.
    assert_eq!((before.count(), after.count()), (1, 1));
    assert!(event.is_set());
    assert!(poll_with(&mut w1, &before).is_ready());
    assert!(poll_with(&mut w2, &before).is_ready());
    assert!(poll_with(&mut w3, &after).is_ready());
}

#[test]
fn a_lock_released_to_a_panicking_waker_still_works_for_everyone_after() {
    let lock = Lock::new();
    let guard = lock.try_lock().unwrap();
    let bomb = PanickingWaker::new();
    let mut victim = Box::pin(lock.lock());
    assert!(poll_by(&mut victim, &bomb).is_pending());
    let next = WakeCounter::new();
    let mut second = Box::pin(lock.lock());
    assert!(poll_with(&mut second, &next).is_pending());

    assert!(catch_unwind(AssertUnwindSafe(|| drop(guard))).is_err());
    assert_eq!(bomb.attempts(), 1);
    // The lock went to the victim, whose waker failed; when it gives up, the lock goes on.
    drop(victim);
    assert_eq!(next.count(), 1, "the next waiter was woken");
    let Poll::Ready(g) = poll_with(&mut second, &next) else {
        panic!("the lock was lost with the panicking waker")
    };
    drop(g);
    assert!(!lock.locked());
    assert!(lock.try_lock().is_some());
}

#[test]
fn a_semaphore_and_a_queue_keep_their_counts_through_a_panicking_waker() {
    let sem = Semaphore::new(1);
    let permit = sem.try_acquire().unwrap();
    let bomb = PanickingWaker::new();
    let mut acquire = Box::pin(sem.acquire());
    assert!(poll_by(&mut acquire, &bomb).is_pending());
    assert!(catch_unwind(AssertUnwindSafe(|| drop(permit))).is_err());
    drop(acquire); // never ran: the permit comes back
    assert_eq!(sem.available(), 1);

    let q = tulip::queue::Queue::new(0);
    let mut get = Box::pin(q.get());
    assert!(poll_by(&mut get, &bomb).is_pending());
    assert!(catch_unwind(AssertUnwindSafe(|| q.put_nowait(7))).is_err());
    drop(get);
    assert_eq!(
        q.get_nowait().unwrap(),
        7,
        "the item survived the panicking wake"
    );

    let (tx, rx) = tulip::channel::bounded(1);
    let mut recv = Box::pin(rx.recv());
    assert!(poll_by(&mut recv, &bomb).is_pending());
    assert!(catch_unwind(AssertUnwindSafe(|| tx.try_send(8))).is_err());
    drop(recv);
    assert_eq!(
        rx.try_recv().unwrap(),
        8,
        "the message survived the panicking wake"
    );
}

/// On the loop, a sender whose send wakes a receiver registered with a panicking waker: the
/// sending task panics (its awaiter sees it, the handler is told), the loop and the channel
/// go on.
#[test]
fn a_panicking_waker_woken_by_a_task_fails_only_that_task() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let (tx, rx) = tulip::channel::unbounded::<u32>();
        let bomb = PanickingWaker::new();
        let mut recv = Box::pin(rx.recv());
        assert!(poll_by(&mut recv, &bomb).is_pending());
        let sender = tulip::spawn(async move {
            tx.try_send(1).unwrap();
            tx
        });
        let err = sender.await.unwrap_err();
        assert!(err.is_panic());
        drop(recv);
        assert_eq!(rx.recv().await.unwrap(), 1);
    });
    let all = reports.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("waker exploded"), "{all:?}");
}

/// A timer registered with a panicking waker fires inside the reactor, where no task is
/// running: the loop must survive it, wake the other timers due with it and report it.
#[test]
fn a_timer_with_a_panicking_waker_does_not_take_the_loop_down() {
    let reports = Reports::new();
    let out = reports.builder().build().run(async {
        let bomb = PanickingWaker::new();
        let mut sleep = pin!(tulip::sleep(Duration::from_millis(1)));
        assert!(poll_by(&mut sleep, &bomb).is_pending());
        // Due at the same time or later: woken despite the bad waker before it.
        tulip::sleep(Duration::from_millis(5)).await;
        until(|| bomb.attempts() == 1).await;
        "alive"
    });
    assert_eq!(out, "alive");
    let all = reports.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("waker exploded"), "{all:?}");
}

#[test]
fn panicking_drops_in_a_task_group_teardown_reach_the_joiner_and_the_rest_are_dropped() {
    let drops = Counter::new();
    let d = drops.clone();
    tulip::run(async move {
        let started = Latch::new(2);
        let group = tulip::TaskGroup::new();
        for i in 0..2 {
            let (s, d) = (started.clone(), d.clone());
            let _ = group.spawn(async move {
                let _guard = d.on_drop();
                let _bomb = PanicOnDrop(if i == 0 {
                    "drop 0 exploded"
                } else {
                    "drop 1 exploded"
                });
                s.arrive();
                std::future::pending::<Result<(), &str>>().await
            });
        }
        let _ = group.spawn(async { Err::<(), _>("fail") });
        started.wait().await;
        let err = bounded("the group's join", group.join()).await.unwrap_err();
        // The failure, and each cancelled sibling's panicking drop, reach the joiner (asyncio's
        // ExceptionGroup), none lost.
        let err = format!("{err:?}");
        for what in ["fail", "drop 0 exploded", "drop 1 exploded"] {
            assert!(err.contains(what), "{what} missing from {err}");
        }
        tulip::yield_now().await;
    });
    assert_eq!(drops.get(), 2, "each cancelled sibling dropped once");
}

#[test]
fn a_panicking_drop_in_a_dropped_group_is_reported() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let started = Latch::new(1);
        let s = started.clone();
        let group = tulip::TaskGroup::new();
        let _ = group.spawn(async move {
            let _bomb = PanicOnDrop("drop in a dropped group");
            s.arrive();
            std::future::pending::<Result<(), ()>>().await
        });
        started.wait().await;
        drop(group); // cancels its tasks
        let r = reports.clone();
        until(move || {
            r.all()
                .iter()
                .any(|r| r.contains("drop in a dropped group"))
        })
        .await;
    });
    let all = reports.all();
    assert!(
        all.iter().any(|r| r.contains("drop in a dropped group")),
        "{all:?}"
    );
}

#[test]
fn a_panicking_call_later_callback_is_reported_and_the_next_one_runs() {
    let reports = Reports::new();
    let ran = Counter::new();
    let r = ran.clone();
    reports
        .builder()
        .start_paused(true)
        .build()
        .run(async move {
            let lp = tulip::EventLoop::current();
            lp.call_later(Duration::from_secs(1), || panic!("timer callback exploded"));
            let r2 = r.clone();
            lp.call_later(Duration::from_secs(1), move || r2.bump());
            let r3 = r.clone();
            lp.call_at(lp.time() + Duration::from_secs(2), move || r3.bump());
            tulip::sleep(Duration::from_secs(3)).await;
        });
    assert_eq!(ran.get(), 2);
    let all = reports.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("timer callback exploded"), "{all:?}");
}

/// A protocol whose `connection_made` panics for the first connection only.
struct Fragile {
    first: Arc<AtomicUsize>,
    transport: Option<tulip::protocol::Transport>,
}

impl tulip::protocol::Protocol for Fragile {
    fn connection_made(&mut self, t: tulip::protocol::Transport) {
        if self.first.fetch_add(1, SeqCst) == 0 {
            panic!("connection_made exploded");
        }
        self.transport = Some(t);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.transport.as_ref().unwrap().write(data);
    }
}

#[test]
fn a_panicking_connection_made_aborts_that_connection_and_the_server_goes_on() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let factory = move || Fragile {
            first: c.clone(),
            transport: None,
        };
        let server = bounded(
            "create_server",
            tulip::protocol::create_server(factory, "127.0.0.1:0"),
        )
        .await
        .unwrap();
        let addr = server.local_addrs()[0].as_inet().unwrap();
        let (mut r1, _w1) = tulip::streams::open_connection(addr).await.unwrap();
        // The first connection is aborted: end of stream or a reset.
        let first = bounded("the aborted connection", r1.read(10)).await;
        assert!(first.map_or(true, |d| d.is_empty()));
        let (mut r2, w2) = tulip::streams::open_connection(addr).await.unwrap();
        w2.write(b"ping");
        assert_eq!(bounded("echo", r2.readexactly(4)).await.unwrap(), b"ping");
        server.close();
    });
    let all = reports.all();
    assert!(
        all.iter().any(|r| r.contains("connection_made exploded")),
        "{all:?}"
    );
}

/// The same for an I/O event: a read polled by hand with a panicking waker, then data arrives.
#[test]
fn an_io_event_with_a_panicking_waker_does_not_take_the_loop_down() {
    tulip_tests::on_each_backend(|_| async {
        let reports = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let lp = tulip::EventLoop::current();
        let r = reports.clone();
        lp.set_exception_handler(Some(Arc::new(
            move |ctx: &tulip::rt::ExceptionContext<'_>| {
                r.lock().unwrap().push(ctx.to_string());
            },
        )));
        let listener = tulip::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = tulip::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().await.unwrap();
        let bomb = PanickingWaker::new();
        let waker = Waker::from(bomb.clone());
        let mut buf = [0u8; 4];
        let read = tulip::io::AsyncRead::poll_read(
            std::pin::Pin::new(&mut &stream),
            &mut Context::from_waker(&waker),
            &mut buf,
        );
        assert!(read.is_pending());
        tulip::io::AsyncWriteExt::write_all(&mut peer, b"ping")
            .await
            .unwrap();
        let b = bomb.clone();
        until(move || b.attempts() == 1).await;
        // The loop is alive, the data still there.
        let n = bounded(
            "the read",
            tulip::io::AsyncReadExt::read(&mut &stream, &mut buf),
        )
        .await
        .unwrap();
        assert_eq!(&buf[..n], b"ping");
        let r = reports.clone();
        until(move || {
            r.lock()
                .unwrap()
                .iter()
                .any(|r| r.contains("waker exploded"))
        })
        .await;
        lp.set_exception_handler(None);
    });
}
