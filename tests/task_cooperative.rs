//! Cooperative cancellation through the facade, with real sockets: a cancelled child's
//! cleanup awaits a socket close before the group's `join` returns. Runs on the flavour CI
//! selects (`TULIP_WORKERS`).

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulip::streams::{open_connection, start_server, StreamReader, StreamWriter};
use tulip::sync::Event;
use tulip::task::{cancellable, TaskGroup};
use tulip::time::{CancelScope, Cancelled};

const BOUND: Duration = Duration::from_secs(20);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tulip::timeout(BOUND, f)
        .await
        .expect("timed out: the test hung")
}

// Provenance: CPython test_taskgroups' cleanup in `except CancelledError` (here: the
// `writer.close(); await writer.wait_closed()` of the asyncio streams docs).
#[test]
fn a_cancelled_child_says_goodbye_and_closes_its_socket_before_join_returns() {
    tulip::run(async {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let eof = Arc::new(Event::new());
        let (s, e) = (seen.clone(), eof.clone());
        let server = start_server(
            move |mut r: StreamReader, w: StreamWriter| {
                let (seen, eof) = (s.clone(), e.clone());
                async move {
                    // Held until the handler ends: a dropped writer closes the connection
                    // (asyncio's transport does so too), and the client would read end of
                    // stream instead of waiting for its cancel (two workers showed it).
                    let _w = w;
                    loop {
                        let line = r.readline().await.unwrap_or_default();
                        if line.is_empty() {
                            eof.set();
                            return;
                        }
                        seen.lock().unwrap().push(String::from_utf8(line).unwrap());
                    }
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addrs()[0].as_inet().unwrap();

        let connected = Arc::new(Event::new());
        let closed = Arc::new(AtomicBool::new(false));
        let (c, cl) = (connected.clone(), closed.clone());
        let tg = TaskGroup::<Cancelled>::cooperative();
        tg.spawn(async move {
            let (mut r, w) = open_connection(addr).await.unwrap();
            w.write(b"hello\n");
            w.drain().await.unwrap();
            c.set();
            // Blocked on a read that never comes, until the group tells us to stop.
            let told = cancellable(r.readline()).await;
            assert!(told.is_err(), "the read ended before the cancel: {told:?}");
            // Cleanup that awaits: a last line, then close and wait for the close.
            CancelScope::shield()
                .run(async {
                    w.write(b"bye\n");
                    w.drain().await.unwrap();
                    w.close();
                    w.wait_closed().await.unwrap();
                    cl.store(true, SeqCst);
                })
                .await
                .unwrap();
            told.map(drop)
        })
        .unwrap();
        bounded(connected.wait()).await;
        tg.cancel();
        bounded(tg.join()).await.unwrap();
        assert!(
            closed.load(SeqCst),
            "join returned before the child's awaited close"
        );
        // The server sees the goodbye, then EOF.
        bounded(eof.wait()).await;
        assert_eq!(*seen.lock().unwrap(), ["hello\n", "bye\n"]);
        server.close();
        bounded(server.wait_closed()).await;
    });
}
