//! asyncio's Streams end to end over real loopback sockets: `open_connection`,
//! `start_server`, `StreamReader`/`StreamWriter` on connections (writes that are never
//! drained, flow control across both marks, drain to a peer that is gone, half-close,
//! close/abort/wait_closed), and `Server` (wait_closed waiting for open connections,
//! close_clients, abort_clients, a panicking or failing handler, serve_forever, every
//! interface, Unix servers).
//!
//! Cases ported from CPython's Lib/test/test_asyncio/test_streams.py and test_server.py say
//! which. Every test runs on the flavour CI selects (`TULIP_WORKERS`) and the reactor backend
//! it selects (`TULIP_BACKEND`).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulip::streams::{
    open_connection, open_unix_connection, start_server, start_unix_server, ConnectionOptions,
    ReadError, Server, ServerOptions, StreamReader, StreamWriter,
};
use tulip::sync::Event;
use tulip_tests::Reports;

/// Generous upper bound that turns a hang into a failure.
const BOUND: Duration = Duration::from_secs(20);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tulip::timeout(BOUND, f)
        .await
        .expect("timed out: the test hung")
}

fn addr_of(server: &Server) -> std::net::SocketAddr {
    server.local_addrs()[0].as_inet().expect("a TCP server")
}

async fn echo_lines(mut r: StreamReader, w: StreamWriter) {
    while let Ok(line) = r.readline().await {
        if line.is_empty() {
            break;
        }
        w.write(&line);
        if w.drain().await.is_err() {
            break;
        }
    }
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tulip-net-streams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

// test_streams.test_start_server / test_open_connection
#[test]
fn a_line_goes_round_trip_through_a_server() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        w.write(b"hello world!\n");
        w.drain().await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"hello world!\n");
        assert_eq!(w.peer_addr().unwrap().as_inet(), Some(addr_of(&server)));
        assert!(w
            .local_addr()
            .unwrap()
            .as_inet()
            .unwrap()
            .ip()
            .is_loopback());
        w.close();
        bounded(w.wait_closed()).await.unwrap();
        server.close();
        bounded(server.wait_closed()).await;
    });
    assert_eq!(reports.all(), Vec::<String>::new());
}

#[test]
fn open_connection_resolves_names_and_refusal_is_a_named_error() {
    tulip::run(async {
        let server = start_server(echo_lines, "localhost:0").await.unwrap();
        let port = addr_of(&server).port();
        let (mut r, w) = open_connection(("localhost", port)).await.unwrap();
        w.write(b"by name\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"by name\n");
        drop((r, w));
        server.close();
        bounded(server.wait_closed()).await;
        // Nobody listens there any more.
        let e = open_connection(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        assert!(e.to_string().contains(&port.to_string()), "{e}");
    });
}

#[test]
fn a_write_that_is_never_drained_still_reaches_the_peer() {
    tulip::run(async {
        let server = start_server(
            |r: StreamReader, w: StreamWriter| async move {
                // Read everything the client sends, then report its size.
                let mut r = r;
                let all = r.read_to_end().await.unwrap();
                w.write(all.len().to_string().as_bytes());
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        // 8 MiB: far more than a socket buffer, so most of it is flushed in the background.
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..128 {
            w.write(&chunk);
        }
        assert!(
            w.write_buffer_size() > 0,
            "the kernel cannot have taken 8 MiB at once"
        );
        w.write_eof().unwrap();
        // No drain: the writer's buffer goes out by itself, then EOF.
        let reply = bounded(r.read_to_end()).await.unwrap();
        assert_eq!(reply, (8 * 1024 * 1024).to_string().as_bytes());
        assert_eq!(w.write_buffer_size(), 0);
    });
}

#[test]
fn drain_waits_above_the_high_mark_and_resumes_at_the_low_mark() {
    tulip::run(async {
        // A server that reads only when told to.
        let go = Arc::new(Event::new());
        let go2 = go.clone();
        let server = start_server(
            move |mut r: StreamReader, _w: StreamWriter| {
                let go = go2.clone();
                async move {
                    go.wait().await;
                    let _ = r.read_to_end().await;
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (_r, w) = open_connection(addr_of(&server)).await.unwrap();
        w.set_write_buffer_limits(Some(64 * 1024), None).unwrap();
        assert_eq!(w.write_buffer_limits(), (64 * 1024, 16 * 1024));
        // Fill the kernel's buffers until our own buffer passes the high mark. On io_uring a
        // write that finds the stream's send still in flight waits for it (one loop turn), so
        // the buffer can pass the mark while the kernel still has room: the drain then
        // returns once that send is done, and the filling goes on (bounded).
        let chunk = vec![1u8; 256 * 1024];
        let retries = if std::env::var("TULIP_BACKEND").as_deref() == Ok("uring") {
            200
        } else {
            1
        };
        let mut rounds = 0;
        loop {
            while w.write_buffer_size() <= 64 * 1024 {
                w.write(&chunk);
                tulip::yield_now().await;
            }
            // Paused: drain must wait while nobody reads.
            let early = tulip::timeout(Duration::from_millis(50), w.drain()).await;
            if early.is_err() {
                break;
            }
            rounds += 1;
            assert!(rounds < retries, "drain returned while above the high mark");
        }
        go.set();
        bounded(w.drain()).await.unwrap();
        assert!(
            w.write_buffer_size() <= 16 * 1024,
            "{}",
            w.write_buffer_size()
        );
    });
}

// test_streams.test_multiple_drain: every drainer is released by one resume.
#[test]
fn many_drainers_all_resume() {
    tulip::run(async {
        let go = Arc::new(Event::new());
        let go2 = go.clone();
        let server = start_server(
            move |mut r: StreamReader, _w: StreamWriter| {
                let go = go2.clone();
                async move {
                    go.wait().await;
                    let _ = r.read_to_end().await;
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (_r, w) = open_connection(addr_of(&server)).await.unwrap();
        let w = Arc::new(w);
        let chunk = vec![1u8; 256 * 1024];
        while w.write_buffer_size() <= 64 * 1024 {
            w.write(&chunk);
            tulip::yield_now().await;
        }
        let done = Arc::new(AtomicUsize::new(0));
        let mut drainers = Vec::new();
        for _ in 0..10 {
            let (w, done) = (w.clone(), done.clone());
            drainers.push(tulip::spawn(async move {
                w.drain().await.unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
        tulip::yield_now().await;
        assert_eq!(done.load(Ordering::SeqCst), 0);
        go.set();
        for d in drainers {
            bounded(d).await.unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 10);
    });
}

// test_streams.test_drain_raises: a write/drain loop to a peer that closed ends with an error.
#[test]
fn drain_to_a_peer_that_is_gone_fails_in_finite_time() {
    tulip::run(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (s, _) = std_listener.accept().unwrap();
            drop(s);
        });
        let (_r, w) = open_connection(addr).await.unwrap();
        let err = bounded(async {
            let mut writes = 0u64;
            loop {
                w.write(b"foo\n");
                writes += 1;
                if let Err(e) = w.drain().await {
                    break (e, writes);
                }
                // Yield so the peer's close can arrive; a real program does I/O here.
                tulip::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        let (e, writes) = err;
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionAborted
            ),
            "{e:?} after {writes} writes"
        );
        assert!(w.is_closing());
        // wait_closed reports how it ended.
        assert!(bounded(w.wait_closed()).await.is_err());
        peer.join().unwrap();
    });
}

// test_streams.test_async_writer_api_exception_after_close
#[test]
fn drain_after_close_is_connection_reset_and_writes_are_dropped() {
    tulip::run(async {
        let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
        let (_r, w) = open_connection(addr_of(&server)).await.unwrap();
        assert!(!w.is_closing());
        w.close();
        assert!(w.is_closing());
        w.write(b"data");
        assert_eq!(w.lost_writes(), 1);
        let e = w.drain().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    });
}

// test_streams.test_eof_feed_when_closing_writer
#[test]
fn closing_the_writer_puts_the_reader_at_eof() {
    tulip::run(async {
        let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        w.close();
        bounded(w.wait_closed()).await.unwrap();
        assert!(r.at_eof());
        assert_eq!(r.read(10).await.unwrap(), b"");
    });
}

#[test]
fn write_eof_half_closes_and_the_other_way_still_works() {
    tulip::run(async {
        let server = start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                // Read to EOF, then answer: the connection is half-open.
                let got = r.read_to_end().await.unwrap();
                assert!(r.at_eof());
                w.write(b"got ");
                w.write(&got);
                w.drain().await.unwrap();
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        assert!(w.can_write_eof());
        w.write(b"question");
        w.write_eof().unwrap();
        w.write(b"ignored after eof");
        assert_eq!(bounded(r.read_to_end()).await.unwrap(), b"got question");
    });
}

#[test]
fn dropping_the_writer_flushes_then_sends_eof() {
    tulip::run(async {
        let server = start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                let data = vec![9u8; 4 * 1024 * 1024];
                w.write(&data);
                drop(w); // buffered data still goes out, then FIN
                let _ = r.read(1).await;
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r, _w) = open_connection(addr_of(&server)).await.unwrap();
        let all = bounded(r.read_to_end()).await.unwrap();
        assert_eq!(all.len(), 4 * 1024 * 1024);
        assert!(all.iter().all(|&b| b == 9));
    });
}

#[test]
fn abort_discards_the_buffer_and_the_peer_sees_the_end() {
    tulip::run(async {
        let server = start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                // Never read until the client aborted; then see how it ended.
                let res = r.read_to_end().await;
                w.write(format!("{}", res.is_ok()).as_bytes());
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (r, w) = open_connection(addr_of(&server)).await.unwrap();
        w.write(&vec![0u8; 8 * 1024 * 1024]);
        w.abort();
        assert_eq!(w.write_buffer_size(), 0);
        assert!(w.is_closing());
        bounded(w.wait_closed()).await.unwrap();
        assert!(w.drain().await.is_err());
        assert!(r.at_eof());
        drop(r);
    });
}

// test_server: wait_closed waits for the connections, not only for the listening sockets.
#[test]
fn wait_closed_waits_for_open_connections() {
    tulip::run(async {
        let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        w.write(b"x\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"x\n");
        assert_eq!(server.active_connections(), 1);
        server.close();
        assert!(!server.is_serving());
        // A connection is still open: wait_closed must not return.
        let early = tulip::timeout(Duration::from_millis(50), server.wait_closed()).await;
        assert!(
            early.is_err(),
            "wait_closed returned with a connection open"
        );
        // The client leaves; the handler sees EOF, ends, and the socket is released.
        drop((r, w));
        bounded(server.wait_closed()).await;
        assert_eq!(server.active_connections(), 0);
    });
}

// asyncio 3.12.1: wait_closed on a server that is not closed waits for the close.
#[test]
fn wait_closed_on_an_open_server_waits_for_close() {
    tulip::run(async {
        let server = Arc::new(start_server(echo_lines, "127.0.0.1:0").await.unwrap());
        let early = tulip::timeout(Duration::from_millis(20), server.wait_closed()).await;
        assert!(early.is_err());
        let s2 = server.clone();
        tulip::spawn(async move { s2.close() }).detach();
        bounded(server.wait_closed()).await;
    });
}

#[test]
fn close_stops_listening_at_once() {
    tulip::run(async {
        let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
        let addr = addr_of(&server);
        server.close();
        // The listening socket is closed synchronously: the very next connect is refused.
        let e = open_connection(addr).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    });
}

// asyncio 3.13 close_clients / abort_clients
#[test]
fn close_clients_and_abort_clients_end_idle_connections() {
    for abort in [false, true] {
        tulip::run(async {
            let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
            let mut clients = Vec::new();
            for _ in 0..5 {
                let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
                w.write(b"hi\n");
                assert_eq!(bounded(r.readline()).await.unwrap(), b"hi\n");
                clients.push((r, w));
            }
            assert_eq!(server.active_connections(), 5);
            server.close();
            if abort {
                server.abort_clients();
            } else {
                server.close_clients();
            }
            // Every client sees its connection end.
            for (r, _w) in &mut clients {
                let end = bounded(r.read(10)).await;
                assert!(
                    matches!(&end, Ok(v) if v.is_empty()) || end.is_err(),
                    "{end:?}"
                );
            }
            drop(clients);
            bounded(server.wait_closed()).await;
        });
    }
}

#[test]
fn a_panicking_handler_is_reported_closes_its_connection_and_the_server_goes_on() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let server = start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                let line = r.readline().await.unwrap();
                if line == b"panic\n" {
                    panic!("handler blew up");
                }
                w.write(&line);
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r1, w1) = open_connection(addr_of(&server)).await.unwrap();
        w1.write(b"panic\n");
        // The connection is closed: EOF (or a reset).
        let end = bounded(r1.read(10)).await;
        assert!(
            matches!(&end, Ok(v) if v.is_empty()) || end.is_err(),
            "{end:?}"
        );
        // The server still serves.
        let (mut r2, w2) = open_connection(addr_of(&server)).await.unwrap();
        w2.write(b"fine\n");
        assert_eq!(bounded(r2.readline()).await.unwrap(), b"fine\n");
    });
    let all = reports.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("handler blew up"), "{all:?}");
}

#[test]
fn a_handler_returning_an_error_is_reported_with_the_peer() {
    let reports = Reports::new();
    reports.builder().build().run(async {
        let server = start_server(
            |mut r: StreamReader, _w: StreamWriter| async move {
                r.readexactly(100).await?;
                Ok::<(), ReadError>(())
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        let local = w.local_addr().unwrap();
        w.write(b"too short");
        w.write_eof().unwrap();
        assert_eq!(bounded(r.read_to_end()).await.unwrap(), b"");
        drop((r, w));
        server.close();
        bounded(server.wait_closed()).await;
        let all = reports.all();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(all[0].contains(&local.to_string()), "{all:?}");
        assert!(all[0].contains("9 bytes read on a total of 100"), "{all:?}");
    });
}

#[test]
fn serve_forever_returns_when_closed_and_dropping_it_closes() {
    tulip::run(async {
        let server = Arc::new(
            ServerOptions::new()
                .start_serving(false)
                .start_server(echo_lines, "127.0.0.1:0")
                .await
                .unwrap(),
        );
        assert!(!server.is_serving());
        let s2 = server.clone();
        let forever = tulip::spawn(async move { s2.serve_forever().await });
        // Only serve_forever starts accepting: a round trip proves it runs.
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        w.write(b"served\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"served\n");
        assert!(server.is_serving());
        server.close();
        bounded(forever).await.unwrap().unwrap();
        assert!(server.start_serving().is_err());

        // Cancelling serve_forever closes the server (asyncio's behaviour).
        let server = Arc::new(start_server(echo_lines, "127.0.0.1:0").await.unwrap());
        let s2 = server.clone();
        let started = Arc::new(Event::new());
        let started2 = started.clone();
        let forever = tulip::spawn(async move {
            started2.set();
            // Polled in the same step as the set above.
            s2.serve_forever().await
        });
        bounded(started.wait()).await;
        forever.cancel();
        assert!(bounded(forever).await.unwrap_err().is_cancelled());
        assert!(!server.is_serving());
    });
}

#[test]
fn no_host_binds_every_interface_on_one_port() {
    tulip::run(async {
        let server = start_server(echo_lines, (None, 0)).await.unwrap();
        let addrs = server.local_addrs();
        assert!(!addrs.is_empty());
        let port = addrs[0].as_inet().unwrap().port();
        assert!(
            addrs.iter().all(|a| a.as_inet().unwrap().port() == port),
            "{addrs:?}"
        );
        assert!(addrs
            .iter()
            .all(|a| a.as_inet().unwrap().ip().is_unspecified()));
        let (mut r, w) = open_connection(("127.0.0.1", port)).await.unwrap();
        w.write(b"v4\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"v4\n");
        if addrs.len() > 1 {
            let (mut r, w) = open_connection(("::1", port)).await.unwrap();
            w.write(b"v6\n");
            assert_eq!(bounded(r.readline()).await.unwrap(), b"v6\n");
        } else {
            println!("no IPv6 on this host: only the IPv4 wildcard was bound");
        }
    });
}

#[test]
fn a_zero_limit_is_refused_by_name() {
    tulip::run(async {
        let e = ServerOptions::new()
            .limit(0)
            .start_server(echo_lines, "127.0.0.1:0")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = ConnectionOptions::new()
            .limit(0)
            .open_connection("127.0.0.1:9")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn a_ten_megabyte_line_against_the_default_limit_keeps_memory_bounded() {
    tulip::run(async {
        let server = start_server(
            |_r: StreamReader, w: StreamWriter| async move {
                w.write(&vec![b'x'; 10 * 1024 * 1024]);
                w.write(b"\nafter\n");
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r, _w) = open_connection(addr_of(&server)).await.unwrap();
        let mut peak = 0;
        let mut overruns = 0;
        let line = bounded(async {
            loop {
                let res = r.readline().await;
                peak = peak.max(r.capacity());
                match res {
                    Err(ReadError::LimitOverrun { .. }) => overruns += 1,
                    Ok(line) if line == b"after\n" => break line,
                    Ok(line) => assert!(line.len() <= 64 * 1024 + 1, "{}", line.len()),
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .await;
        assert_eq!(line, b"after\n");
        assert!(overruns >= 40, "{overruns}");
        assert!(
            peak <= 2 * 64 * 1024 + 256 * 1024,
            "buffer grew to {peak} bytes"
        );
    });
}

#[test]
fn many_concurrent_connections_echo() {
    tulip::run(async {
        let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
        let addr = addr_of(&server);
        let mut clients = Vec::new();
        for i in 0..300u32 {
            clients.push(tulip::spawn(async move {
                let (mut r, w) = open_connection(addr).await.unwrap();
                for k in 0..5u32 {
                    let line = format!("{i}:{k}\n");
                    w.write(line.as_bytes());
                    w.drain().await.unwrap();
                    assert_eq!(r.readline().await.unwrap(), line.as_bytes());
                }
            }));
        }
        for c in clients {
            bounded(c).await.unwrap();
        }
        server.close();
        bounded(server.wait_closed()).await;
    });
}

// test_streams.test_start_unix_server / test_open_unix_connection
#[test]
fn unix_servers_echo_and_remove_their_socket_file() {
    let path = temp_path("echo.sock");
    let _ = std::fs::remove_file(&path);
    tulip::run(async {
        let server = start_unix_server(echo_lines, &path).await.unwrap();
        assert_eq!(server.local_addrs()[0].as_path(), Some(path.as_path()));
        let (mut r, w) = open_unix_connection(&path).await.unwrap();
        w.write(b"hello world!\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"hello world!\n");
        // A second server on the same path is refused, naming it.
        let e = start_unix_server(echo_lines, &path).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        drop((r, w));
        server.close();
        bounded(server.wait_closed()).await;
    });
    assert!(!path.exists(), "the socket file was left behind");
}

#[test]
fn sendfile_sends_a_file_after_what_is_buffered() {
    let path = temp_path("sendfile.bin");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    tulip::run(async {
        let server = start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                let all = r.read_to_end().await.unwrap();
                w.write(&all);
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r, w) = open_connection(addr_of(&server)).await.unwrap();
        w.write(b"HEAD");
        let file = std::fs::File::open(&path).unwrap();
        let sent = bounded(w.sendfile(&file, 1000, Some(200_000)))
            .await
            .unwrap();
        assert_eq!(sent, 200_000);
        w.write(b"TAIL");
        w.write_eof().unwrap();
        let back = bounded(r.read_to_end()).await.unwrap();
        let mut want = b"HEAD".to_vec();
        want.extend_from_slice(&content[1000..201_000]);
        want.extend_from_slice(b"TAIL");
        assert_eq!(back.len(), want.len());
        assert!(back == want, "bytes differ");
    });
    let _ = std::fs::remove_file(&path);
}
