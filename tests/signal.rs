//! Signals through `tulip::signal` and the loop's `add_signal_handler` /
//! `remove_signal_handler` (asyncio's rules): a handler runs on the loop's thread when the
//! process signals itself; a signal wakes a loop parked in `epoll_wait` on a 60 s timer at once
//! and runs the handler exactly once; removal restores the default disposition (the child
//! then dies of the signal); refused signals; `Signals` streams, `ctrl_c` and `shutdown`.
//!
//! Handling a signal changes process-wide state, so every test that does runs alone in a
//! child process (this test binary again, `TULIP_TEST_CHILD`), and checks from `/proc` that
//! the dispositions are back to what they were. Cases come from CPython's
//! `test_asyncio/test_unix_events.py` (`SelectorEventLoopSignalTests`) and tokio's
//! `tests/signal_*.rs`.

mod sig_support;

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sig_support::{catches, child_output, ignores, is_default, raise, text};
use tulip::signal::{
    ctrl_c, shutdown, Signals, SIGFPE, SIGHUP, SIGILL, SIGINT, SIGKILL, SIGSEGV, SIGSTOP, SIGTERM,
    SIGUSR1, SIGUSR2,
};
use tulip::stream::StreamExt;
use tulip::EventLoop;
use tulip_tests::{bounded, is_child, run_in_child, Reports};

/// In the parent, runs `test` alone in a child process and returns `false`; in that child,
/// returns `true` (run the body).
fn in_child(test: &str) -> bool {
    if is_child(test) {
        true
    } else {
        run_in_child(test, test);
        false
    }
}

// CPython test_unix_events (test_add_signal_handler, test_handle_signal_no_handler) and
// tokio tests/signal_usr1.rs: a handler runs, on the loop's thread, each time the process
// signals itself — from the loop's thread or another one.
#[test]
fn a_handler_runs_on_the_loop_thread_when_the_process_signals_itself() {
    if !in_child("a_handler_runs_on_the_loop_thread_when_the_process_signals_itself") {
        return;
    }
    assert!(is_default(SIGUSR1));
    tulip::run(async {
        let lp = EventLoop::current();
        let hits = Rc::new(Cell::new(0));
        let threads = Rc::new(Cell::new(true));
        let here = std::thread::current().id();
        let (h, t) = (hits.clone(), threads.clone());
        lp.add_signal_handler(SIGUSR1, move || {
            h.set(h.get() + 1);
            t.set(t.get() && std::thread::current().id() == here);
        })
        .unwrap();
        assert!(catches(SIGUSR1));
        raise(SIGUSR1);
        let pid = std::process::id();
        std::thread::spawn(move || sig_support::kill(pid, SIGUSR1))
            .join()
            .unwrap();
        bounded("two runs of the handler", async {
            while hits.get() < 2 {
                tulip::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(hits.get(), 2);
        assert!(threads.get(), "the handler ran off the loop's thread");
        assert!(lp.remove_signal_handler(SIGUSR1));
    });
    assert!(is_default(SIGUSR1));
}

/// Waits until some thread of this process is blocked in `epoll_wait` (or, on the io_uring
/// backend, `io_uring_enter`), as `/proc/self/task/*/syscall` shows (bounded by 10 s).
fn wait_until_a_thread_parks_in_epoll() {
    #[cfg(target_arch = "x86_64")]
    const EPOLL_WAITS: &[&str] = &["232", "281", "441", "426"];
    #[cfg(target_arch = "aarch64")]
    const EPOLL_WAITS: &[&str] = &["22", "441", "426"];
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        // No syscall table here: give the loop time to park instead.
        std::thread::sleep(Duration::from_millis(200));
        return;
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let parked = std::fs::read_dir("/proc/self/task").unwrap().any(|t| {
                let path = t.unwrap().path().join("syscall");
                std::fs::read_to_string(path)
                    .is_ok_and(|s| EPOLL_WAITS.contains(&s.split(' ').next().unwrap_or("")))
            });
            if parked {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the loop never parked in epoll_wait"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

// The reactor's self-pipe (CPython test_selector_events test_write_to_self / the wakeup fd):
// a signal sent while the loop is parked in epoll_wait with a 60 s timer wakes it at once and
// runs the handler exactly once.
#[test]
fn a_signal_wakes_a_loop_parked_in_epoll_with_a_60_s_timer_and_runs_the_handler_once() {
    if !in_child(
        "a_signal_wakes_a_loop_parked_in_epoll_with_a_60_s_timer_and_runs_the_handler_once",
    ) {
        return;
    }
    tulip::run(async {
        let lp = EventLoop::current();
        let hits = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(tulip::sync::Event::new());
        let (h, r) = (hits.clone(), ran.clone());
        lp.add_signal_handler(SIGUSR1, move || {
            h.fetch_add(1, Ordering::SeqCst);
            r.set();
        })
        .unwrap();
        let pid = std::process::id();
        let sender = std::thread::spawn(move || {
            wait_until_a_thread_parks_in_epoll();
            let sent = Instant::now();
            sig_support::kill(pid, SIGUSR1);
            sent
        });
        // Nothing else to do: the loop parks with a 60 s timer.
        let woke = tulip::timeout(Duration::from_secs(60), ran.wait()).await;
        let woke_at = Instant::now();
        assert!(woke.is_ok(), "the handler did not run within 60 s");
        let sent = sender.join().unwrap();
        let latency = woke_at - sent;
        assert!(latency < Duration::from_secs(5), "woke after {latency:?}");
        // Once, and only once.
        for _ in 0..20 {
            tulip::yield_now().await;
        }
        tulip::sleep(Duration::from_millis(20)).await;
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    });
}

// CPython test_unix_events (test_remove_signal_handler, test_remove_signal_handler_2): removal
// restores the default disposition at once, a second removal returns false — and the proof:
// the signal then kills the process.
#[test]
fn remove_signal_handler_restores_the_default_and_the_signal_kills_again() {
    const ROLE: &str = "remove-restores";
    if !is_child(ROLE) {
        let out = child_output(
            "remove_signal_handler_restores_the_default_and_the_signal_kills_again",
            ROLE,
            &[],
        );
        let text = text(&out);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(SIGUSR1),
            "{}:\n{text}",
            out.status
        );
        assert!(text.contains("removed; raising SIGUSR1"), "{text}");
        return;
    }
    // A signal ignored before comes back ignored.
    // SAFETY: a plain signal(2) call with a valid signal number and handler constant.
    let prev = unsafe { libc::signal(SIGUSR2, libc::SIG_IGN) };
    assert_ne!(prev, libc::SIG_ERR);
    tulip::run(async {
        let lp = EventLoop::current();
        lp.add_signal_handler(SIGUSR1, || {}).unwrap();
        lp.add_signal_handler(SIGUSR2, || {}).unwrap();
        assert!(catches(SIGUSR1) && catches(SIGUSR2));
        assert!(lp.remove_signal_handler(SIGUSR1));
        assert!(!lp.remove_signal_handler(SIGUSR1));
        assert!(is_default(SIGUSR1));
        assert!(lp.remove_signal_handler(SIGUSR2));
        assert!(ignores(SIGUSR2) && !catches(SIGUSR2));
        // Closing the loop removes the handlers left (asyncio's loop.close()).
        lp.add_signal_handler(SIGHUP, || {}).unwrap();
    });
    assert!(is_default(SIGHUP));
    println!("removed; raising SIGUSR1");
    std::io::stdout().flush().unwrap();
    raise(SIGUSR1);
    panic!("SIGUSR1 did not end the process");
}

// CPython test_unix_events (test_add_signal_handler_install_error*, test_check_signal,
// _check_signal: SIGKILL/SIGSTOP "cannot be caught", ValueError out of range) and
// signal-hook's forbidden signals: refused with a clear error, nothing changed. No handler
// is installed, so this one runs in the test process itself.
#[test]
fn refused_signals_are_refused_with_a_clear_error() {
    tulip::run(async {
        let lp = EventLoop::current();
        let cases = [
            (SIGKILL, "SIGKILL cannot be caught"),
            (SIGSTOP, "SIGSTOP cannot be caught"),
            (SIGSEGV, "SIGSEGV reports a fault"),
            (SIGILL, "SIGILL reports a fault"),
            (SIGFPE, "SIGFPE reports a fault"),
            (0, "signal number 0 is out of range"),
            (-2, "signal number -2 is out of range"),
            (1000, "signal number 1000 is out of range"),
        ];
        for (sig, message) in cases {
            let e = lp.add_signal_handler(sig, || {}).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{sig}");
            assert!(e.to_string().contains(message), "{sig}: {e}");
            let e = Signals::new([SIGUSR1, sig]).unwrap_err();
            assert!(e.to_string().contains(message), "{sig}: {e}");
            assert!(!lp.remove_signal_handler(sig));
        }
        // Only the loop's thread may add one (asyncio: RuntimeError off the main thread).
        let other = lp.clone();
        let e = std::thread::spawn(move || other.add_signal_handler(SIGUSR1, || {}).unwrap_err())
            .join()
            .unwrap();
        assert!(e.to_string().contains("loop's thread"), "{e}");
    });
}

// CPython test_unix_events (test_add_signal_handler replacing a handler; a callback raising
// is reported by the loop): a second handler replaces the first; a panicking one is reported
// each time and stays.
#[test]
fn a_new_handler_replaces_the_old_and_a_panicking_one_is_reported_and_stays() {
    if !in_child("a_new_handler_replaces_the_old_and_a_panicking_one_is_reported_and_stays") {
        return;
    }
    let reports = Reports::new();
    reports.builder().build().run(async {
        let lp = EventLoop::current();
        let (a, b) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let (a2, b2) = (a.clone(), b.clone());
        lp.add_signal_handler(SIGUSR1, move || a2.set(a2.get() + 1))
            .unwrap();
        lp.add_signal_handler(SIGUSR1, move || b2.set(b2.get() + 1))
            .unwrap();
        raise(SIGUSR1);
        bounded("the new handler", async {
            while b.get() == 0 {
                tulip::yield_now().await;
            }
        })
        .await;
        assert_eq!((a.get(), b.get()), (0, 1));

        lp.add_signal_handler(SIGUSR1, || panic!("handler boom"))
            .unwrap();
        for n in 1..=2 {
            raise(SIGUSR1);
            bounded("the report", async {
                while reports.all().len() < n {
                    tulip::yield_now().await;
                }
            })
            .await;
        }
        assert!(
            reports.all().iter().all(|r| r.contains("handler boom")),
            "{:?}",
            reports.all()
        );
        assert!(catches(SIGUSR1));
        assert!(lp.remove_signal_handler(SIGUSR1));
    });
    assert!(is_default(SIGUSR1));
}

// tokio tests/signal_multi_rt.rs, signal_drop_signal.rs and async-signal's docs: a `Signals`
// created before the loop catches from then on; every delivery is counted (none lost while
// nobody polls), handed out grouped by signal in the set's order; two streams of one signal
// both see it; a stream closed from another thread ends after what it had counted; the last
// subscription gives the default back.
#[test]
fn signals_streams_count_every_delivery_and_give_the_default_back() {
    if !in_child("signals_streams_count_every_delivery_and_give_the_default_back") {
        return;
    }
    let mut early = Signals::new([SIGUSR2, SIGUSR1]).unwrap();
    assert_eq!(early.signals(), [SIGUSR1, SIGUSR2]);
    raise(SIGUSR2);
    tulip::run(async {
        raise(SIGUSR1);
        raise(SIGUSR2);
        raise(SIGUSR1);
        raise(SIGUSR1);
        let got: Vec<i32> = (&mut early).take(5).collect().await;
        assert_eq!(got, [SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR2, SIGUSR2]);

        let mut a = Signals::new([SIGHUP]).unwrap();
        let mut b = Signals::new([SIGHUP]).unwrap();
        raise(SIGHUP);
        assert_eq!(bounded("a", a.next()).await, Some(SIGHUP));
        assert_eq!(bounded("b", b.recv()).await, Some(SIGHUP));

        raise(SIGUSR1);
        let handle = early.handle();
        std::thread::spawn(move || handle.close()).join().unwrap();
        assert!(early.handle().is_closed());
        assert!(is_default(SIGUSR1) && is_default(SIGUSR2));
        assert_eq!(early.next().await, Some(SIGUSR1));
        assert_eq!(early.next().await, None);

        drop(a);
        assert!(catches(SIGHUP));
        drop(b);
        assert!(is_default(SIGHUP));
    });
}

// tokio tests/signal_ctrl_c.rs: ctrl_c completes at a SIGINT, and then SIGINT has its default
// back (a later Ctrl-C is not swallowed). A loop off the main thread (a test's) leaves SIGINT
// alone. `shutdown` completes with the first of its signals and gives them all back.
#[test]
fn ctrl_c_and_shutdown_complete_and_give_their_signals_back() {
    if !in_child("ctrl_c_and_shutdown_complete_and_give_their_signals_back") {
        return;
    }
    tulip::run(async {
        assert!(
            is_default(SIGINT),
            "a loop off the main thread installed a handler"
        );
        let c = ctrl_c();
        assert!(catches(SIGINT));
        raise(SIGINT);
        bounded("ctrl_c", c).await.unwrap();
        assert!(is_default(SIGINT));

        let stop = shutdown([SIGTERM, SIGHUP]).unwrap();
        assert!(catches(SIGTERM) && catches(SIGHUP));
        raise(SIGHUP);
        assert_eq!(bounded("shutdown", stop).await, SIGHUP);
        assert!(is_default(SIGTERM) && is_default(SIGHUP));

        // Dropped before it completes: given back too.
        drop(shutdown([SIGTERM]).unwrap());
        drop(ctrl_c());
        assert!(is_default(SIGTERM) && is_default(SIGINT));
    });
}
