//! Faults: running out of file descriptors, and a peer that resets the connection.
//!
//! - An `EMFILE` storm on a `streams::start_server`: while no descriptor is left, the server
//!   reports the failing accept once per episode (not once per retry), does not spin (the
//!   process's CPU time over a window longer than the retry pause stays far below the wall
//!   time), and accepts again once descriptors are freed.
//! - `EMFILE` from `TcpStream::connect`, `TcpListener::bind`, `UdpSocket::bind`, the Unix
//!   constructors and `accept` is a clean `io::Error`; a failed connect or bind closes the
//!   socket it made (with one descriptor left, the same failure happens twice, not `EMFILE`
//!   the second time), and the process ends with the descriptors it started with.
//! - A peer that resets (`SO_LINGER` 0) while we write 10 MB: an error, no `SIGPIPE` (checked
//!   with `SIGPIPE` at its default, deadly disposition), and the socket keeps failing at once
//!   instead of hanging; the same for a Unix stream whose peer went away.
//!
//! Each test changes process-wide state (the descriptor limit, the `SIGPIPE` disposition) or
//! counts the process's descriptors, so it re-runs this test binary with only itself in a
//! child process (`TULIP_TEST_CHILD`). The limits stay far under the machine's: a storm of 16
//! connections, one process.

use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use tulip::io::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{
    getaddrinfo, sendfile, ConnectError, TcpListener, TcpStream, UdpSocket, UnixDatagram,
    UnixListener, UnixStream,
};
use tulip::streams::{start_server, StreamReader, StreamWriter};
use tulip::time::Instant;
use tulip_tests::{bounded, is_child, on_each_backend, open_fds, run_in_child, Reports, TempDir};

/// The lowest descriptor number free now (the number the next `open` would get).
fn lowest_free_fd() -> u64 {
    let f = File::open("/dev/null").expect("open /dev/null");
    f.as_raw_fd() as u64
}

/// Lets the process open only descriptors below `n` (the hard limit is kept, so it can be
/// raised back).
fn limit_fds(n: u64) {
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(n),
            maximum: hard,
        },
    )
    .expect("lower RLIMIT_NOFILE");
}

/// The process's CPU time so far (every thread).
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn is_emfile(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EMFILE)
}

/// Waits (polling every 10 ms, bounded) until `cond` holds.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    bounded(what, async {
        while !cond() {
            tulip::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

// asyncio's accept loop (selector_events._accept_connection: on EMFILE/ENFILE/ENOBUFS/ENOMEM
// it logs once and pauses accepting for ACCEPT_RETRY_DELAY) and CPython test_selector_events
// (test_accept_connection_exception): a storm of connections that find no descriptor left.
#[test]
fn emfile_storm_is_reported_once_does_not_spin_and_recovers() {
    const ROLE: &str = "emfile-storm";
    if !is_child(ROLE) {
        run_in_child(
            "emfile_storm_is_reported_once_does_not_spin_and_recovers",
            ROLE,
        );
        return;
    }
    const N: usize = 16;
    let reports = Reports::new();
    let runner = reports.builder().build();
    runner.run(async {
        let accepted = Arc::new(AtomicUsize::new(0));
        let handler = {
            let accepted = accepted.clone();
            move |mut r: StreamReader, w: StreamWriter| {
                accepted.fetch_add(1, Ordering::SeqCst);
                async move {
                    w.write(b"hi");
                    let _ = w.drain().await;
                    // Hold the connection until the client goes.
                    let _ = r.read(1).await;
                }
            }
        };
        let server = start_server(handler, "127.0.0.1:0").await.unwrap();
        let addr = server.local_addrs()[0].as_inet().unwrap();

        // The clients' sockets exist before the limit drops; connecting them needs no new
        // descriptor (the kernel completes the handshake; only `accept` needs one).
        let clients: Vec<OwnedFd> = (0..N)
            .map(|_| {
                rustix::net::socket(
                    rustix::net::AddressFamily::INET,
                    rustix::net::SocketType::STREAM,
                    None,
                )
                .unwrap()
            })
            .collect();
        let original = getrlimit(Resource::Nofile);
        limit_fds(lowest_free_fd());
        let connector = std::thread::spawn(move || {
            for c in &clients {
                rustix::net::connect(c, &addr).expect("connect a client");
            }
            clients
        });
        let mut clients = tulip::to_thread(move || connector.join().unwrap()).await;

        // The first failing accept is reported.
        wait_until("the EMFILE report", || !reports.all().is_empty()).await;
        let (cpu0, t0) = (cpu_time(), Instant::now());
        // A window longer than the pause (1 s): the accept is retried in it, fails again, and
        // is not reported again; the loop sleeps meanwhile instead of spinning.
        tulip::sleep(Duration::from_millis(1500)).await;
        let (cpu, wall) = (cpu_time() - cpu0, t0.elapsed());
        assert_eq!(reports.all().len(), 1, "{:#?}", reports.all());
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
        assert!(
            cpu < wall / 4,
            "the process used {cpu:?} of CPU in {wall:?} while accepts kept failing: it spins"
        );
        let report = &reports.all()[0];
        assert!(
            report.contains("accepting a connection failed") && report.contains("pausing"),
            "{report}"
        );
        assert!(
            report.contains("Too many open files") || report.contains("os error 24"),
            "{report}"
        );

        // Four descriptors freed: four connections are accepted at the next retry, then the
        // fifth accept fails again — a new episode, reported once more.
        let freed: Vec<OwnedFd> = clients.drain(..4).collect();
        drop(freed);
        wait_until("accepts after freeing descriptors", || {
            accepted.load(Ordering::SeqCst) >= 4
        })
        .await;
        wait_until("the second episode's report", || reports.all().len() >= 2).await;
        assert!(accepted.load(Ordering::SeqCst) < N);

        // The limit restored: every remaining connection is accepted and served.
        setrlimit(Resource::Nofile, original).unwrap();
        wait_until("every connection accepted", || {
            accepted.load(Ordering::SeqCst) == N
        })
        .await;
        assert_eq!(reports.all().len(), 2, "{:#?}", reports.all());
        let served = tulip::to_thread(move || {
            for c in clients {
                let mut s = std::net::TcpStream::from(c);
                let mut hi = [0u8; 2];
                s.read_exact(&mut hi).unwrap();
                assert_eq!(&hi, b"hi");
            }
        });
        bounded("the clients' greetings", served).await;
        server.close();
        bounded("the server's end", server.wait_closed()).await;
    });
}

// CPython test_sock_lowlevel / test_base_events (socket creation failing inside
// create_connection: the OSError surfaces, nothing is left open): out of descriptors, every
// constructor fails cleanly, and a failed connect or bind leaves no descriptor behind.
#[test]
fn emfile_from_connect_and_bind_is_clean_and_leaks_nothing() {
    const ROLE: &str = "emfile-sockets";
    if !is_child(ROLE) {
        run_in_child(
            "emfile_from_connect_and_bind_is_clean_and_leaks_nothing",
            ROLE,
        );
        return;
    }
    tulip::Runner::new().run(async {
        let dir = TempDir::new("faults-emfile");
        let (stale, missing) = (dir.join("stale.sock"), dir.join("missing.sock"));
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let refused: SocketAddr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let udp_taken = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let udp_addr = udp_taken.local_addr().unwrap();
        // A connection waiting in the listener's queue.
        let queued = std::net::TcpStream::connect(addr).unwrap();
        let original = getrlimit(Resource::Nofile);
        let before = open_fds();

        // No descriptor left at all.
        let free = lowest_free_fd();
        limit_fds(free);
        let err = TcpStream::connect(addr).await.unwrap_err();
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<ConnectError>()
            .unwrap();
        assert!(is_emfile(&inner.attempts()[0].1), "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        assert!(is_emfile(
            &TcpListener::bind("127.0.0.1:0").await.unwrap_err()
        ));
        assert!(is_emfile(
            &UdpSocket::bind("127.0.0.1:0").await.unwrap_err()
        ));
        assert!(is_emfile(&UnixStream::pair().unwrap_err()));
        assert!(is_emfile(&UnixDatagram::unbound().unwrap_err()));
        assert!(is_emfile(&UnixListener::bind(&missing).unwrap_err()));
        assert!(is_emfile(&UnixStream::connect(&missing).await.unwrap_err()));
        // accept says so (a loop over it must pause; see the storm test) and leaves the
        // connection queued.
        let err = listener.accept().await.unwrap_err();
        assert!(is_emfile(&err), "{err}");
        // A lookup that cannot open the resolver's files fails or answers; it never hangs.
        let r = bounded("a lookup without descriptors", getaddrinfo("localhost", 1)).await;
        println!("getaddrinfo with no descriptor left: {r:?}");

        // One descriptor left: each failure below takes it and must give it back, or the
        // second try would fail with EMFILE instead of the same error.
        limit_fds(free + 1);
        for round in 0..2 {
            let err = TcpStream::connect(refused).await.unwrap_err();
            assert_eq!(
                err.kind(),
                io::ErrorKind::ConnectionRefused,
                "{round}: {err}"
            );
            let err = TcpListener::bind(addr).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{round}: {err}");
            let err = UdpSocket::bind(udp_addr).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{round}: {err}");
            let err = UnixListener::bind(&stale).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{round}: {err}");
            let err = UnixStream::connect(&missing).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotFound, "{round}: {err}");
            // A pair needs two: refused as a whole, the one free slot stays free.
            assert!(is_emfile(&UnixStream::pair().unwrap_err()));
        }
        // The slot is still free: a socket that succeeds takes it.
        let ok = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert!(is_emfile(
            &UdpSocket::bind("127.0.0.1:0").await.unwrap_err()
        ));
        drop(ok);

        setrlimit(Resource::Nofile, original).unwrap();
        let (accepted, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, queued.local_addr().unwrap());
        drop(accepted);
        assert_eq!(open_fds(), before, "descriptors leaked");
        drop(queued);
    });
}

// tokio tcp_stream.rs / io_write_all (write to a reset peer) and CPython test_sock_lowlevel
// (sock_sendall to a closed peer): the peer reads a little and closes with SO_LINGER 0 (a
// reset) while 10 MB are being written. The write fails — never a SIGPIPE, which here would
// kill the process (its disposition is back to the default) — and later writes and reads fail
// at once rather than hang. The same for `sendfile`, whose system call has no MSG_NOSIGNAL,
// and for Unix streams whose peer went away.
#[test]
fn a_peer_reset_mid_write_is_an_error_without_sigpipe() {
    const ROLE: &str = "reset";
    if !is_child(ROLE) {
        run_in_child("a_peer_reset_mid_write_is_an_error_without_sigpipe", ROLE);
        return;
    }
    // SAFETY: restoring SIGPIPE's default disposition (std's runtime set it to "ignore") is
    // a plain signal(2) call with a valid signal number and handler constant; no handler
    // code runs in this process.
    let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(prev, libc::SIG_ERR);
    on_each_backend(|_| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let server = server.into_std().unwrap();
        let peer = std::thread::spawn(move || {
            server.set_nonblocking(false).unwrap();
            let mut s = server;
            let mut buf = vec![0u8; 64 << 10];
            s.read_exact(&mut buf).unwrap();
            rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).unwrap();
            drop(s);
        });
        let data = vec![7u8; 10 << 20];
        let err = bounded("the write to a reset peer", client.write_all(&data))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        tulip::to_thread(move || peer.join().unwrap()).await;
        let err = bounded("a write after the reset", client.write_all(b"more"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        let mut buf = [0u8; 16];
        match bounded("a read after the reset", client.read(&mut buf)).await {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("a read after a reset gave {other:?}"),
        }

        // sendfile(2) to a peer that reset: the kernel's splice path has no MSG_NOSIGNAL.
        let dir = TempDir::new(&format!("faults-sendfile-{}", std::process::id()));
        let path = dir.join("big");
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let server = server.into_std().unwrap();
        let peer = std::thread::spawn(move || {
            server.set_nonblocking(false).unwrap();
            let mut s = server;
            let mut buf = vec![0u8; 64 << 10];
            s.read_exact(&mut buf).unwrap();
            rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).unwrap();
            drop(s);
        });
        let err = bounded(
            "sendfile to a reset peer",
            sendfile(&client, &file, 0, None),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        tulip::to_thread(move || peer.join().unwrap()).await;
        let err = bounded(
            "sendfile after the reset",
            sendfile(&client, &file, 0, None),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );

        // A Unix stream whose peer went away: EPIPE, no signal.
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let reader = tulip::spawn(async move {
            let mut buf = vec![0u8; 64 << 10];
            b.read_exact(&mut buf).await.unwrap();
        });
        let err = bounded("the write to a closed Unix peer", a.write_all(&data))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        reader.await.unwrap();
        let err = a.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        let err = bounded(
            "sendfile to a closed Unix peer",
            sendfile(&a, &file, 0, None),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        // And to a TCP stream shut down on our side.
        let c = TcpStream::connect(addr).await.unwrap();
        let (_s, _) = l.accept().await.unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let err = sendfile(&c, &file, 0, Some(10)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
    });
    // Still alive, with SIGPIPE deadly: no write raised it.
    println!("no SIGPIPE");
}
