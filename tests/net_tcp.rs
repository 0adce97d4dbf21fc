//! TCP through `tulip::net`: binding, accepting (`accept`, `incoming`) and connecting;
//! addresses; socket options (`TCP_NODELAY` on by default for connected and accepted sockets,
//! keepalive, linger, TTL, `SO_REUSEADDR` on by default, `SO_REUSEPORT`); half-close both
//! ways; `peek`; borrowed and owned halves (`reunite`, the FIN of a dropped write half); std
//! interop and `AsFd`; vectored and non-blocking (`try_*`) I/O; IPv6 and dual-stack
//! listeners; bind and connect errors that name their address; a 64 MiB transfer each way;
//! a thousand connections at once; plain `std::net` peers; `sendfile` (parts of a file, past
//! its end, larger than the socket buffers, from a pipe); and the readiness shortcut (data,
//! end of stream and urgent data after a short read are never lost).
//!
//! Everything that waits on readiness runs on both reactor backends; the runners take their
//! worker count from `TULIP_WORKERS`, so CI's two-worker pass covers the work-stealing loop.
//! Cases ported from tokio's `tokio/tests/tcp_*.rs` and CPython's `Lib/test/test_asyncio`
//! say where they come from.

use std::collections::BTreeSet;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};
use std::pin::pin;
use std::time::Duration;

use tulip::future::poll_once;
use tulip::io::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{sendfile, ConnectError, ConnectOptions, ListenOptions, TcpListener, TcpStream};
use tulip::stream::StreamExt;
use tulip_tests::{bounded, has_ipv6, on_each_backend, Latch, TempDir};

/// A listener on an ephemeral loopback port.
async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// A connected pair: (client, accepted server side).
async fn pair() -> (TcpStream, TcpStream) {
    let (l, addr) = listener().await;
    let client = TcpStream::connect(addr).await.unwrap();
    let (server, peer) = l.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (client, server)
}

/// A loopback port nobody listens on (bound, noted, closed).
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A single-worker-or-more runner on the default backend (for tests of socket options, which
/// do not wait on readiness).
fn run<F: std::future::Future<Output = ()>>(f: F) {
    tulip::Runner::new().run(async { bounded("the test", f).await });
}

// tokio tcp_connect.rs (connect_v4, connect_addr_ip_string, connect_addr_host_string) and
// tcp_accept.rs (accept): every address form connects, and both ends agree on the addresses.
#[test]
fn connect_and_accept_agree_on_addresses() {
    on_each_backend(|_| async {
        let (l, addr) = listener().await;
        assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, peer) = l.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        assert_eq!(server.local_addr().unwrap(), addr);
        assert_eq!(client.peer_addr().unwrap(), addr);

        let port = addr.port();
        let others = [
            TcpStream::connect(("127.0.0.1", port)).await.unwrap(),
            TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                .await
                .unwrap(),
            TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap(),
            TcpStream::connect(format!("localhost:{port}"))
                .await
                .unwrap(),
            TcpStream::connect(&[addr][..]).await.unwrap(),
        ];
        let mut want = BTreeSet::new();
        for c in &others {
            assert_eq!(c.peer_addr().unwrap(), addr);
            want.insert(c.local_addr().unwrap());
        }
        let mut got = BTreeSet::new();
        for _ in 0..others.len() {
            got.insert(l.accept().await.unwrap().1);
        }
        assert_eq!(got, want);
    });
}

// tokio tcp_accept.rs (accept_many / the incoming stream): `incoming()` yields each queued
// connection, from a task other than the connecting one.
#[test]
fn incoming_yields_every_connection() {
    on_each_backend(|_| async {
        let (l, addr) = listener().await;
        let acceptor = tulip::spawn(async move {
            let mut incoming = l.incoming();
            let mut peers = BTreeSet::new();
            while peers.len() < 8 {
                let s = incoming.next().await.expect("incoming never ends").unwrap();
                peers.insert(s.peer_addr().unwrap());
            }
            peers
        });
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let want: BTreeSet<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        assert_eq!(acceptor.await.unwrap(), want);
    });
}

// asyncio sets TCP_NODELAY on every TCP transport (base_events._set_nodelay); Linux copies it
// from the listener to the sockets it accepts.
#[test]
fn nodelay_is_on_for_connected_and_accepted_sockets() {
    run(async {
        let (client, server) = pair().await;
        assert!(client.nodelay().unwrap());
        assert!(server.nodelay().unwrap());
        // The accessors read the socket's real option.
        assert!(rustix::net::sockopt::tcp_nodelay(&client).unwrap());
        assert!(rustix::net::sockopt::tcp_nodelay(&server).unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
        assert!(!rustix::net::sockopt::tcp_nodelay(&client).unwrap());
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());

        // Both defaults can be turned off.
        let l = TcpListener::bind_with("127.0.0.1:0", &ListenOptions::new().nodelay(false))
            .await
            .unwrap();
        let c = TcpStream::connect_with(
            l.local_addr().unwrap(),
            &ConnectOptions::new().nodelay(false),
        )
        .await
        .unwrap();
        let (s, _) = l.accept().await.unwrap();
        assert!(!c.nodelay().unwrap());
        assert!(!s.nodelay().unwrap());
    });
}

// tokio tcp_stream.rs / tcp_socket.rs (set_linger, keepalive, ttl): each option reads back
// what was set, and a listener's TTL passes to the connections it accepts.
#[test]
fn keepalive_linger_and_ttl_read_back() {
    run(async {
        let (client, _server) = pair().await;
        assert!(!client.keepalive().unwrap());
        client.set_keepalive(Some(Duration::from_secs(30))).unwrap();
        assert!(client.keepalive().unwrap());
        assert_eq!(
            rustix::net::sockopt::tcp_keepidle(&client).unwrap(),
            Duration::from_secs(30)
        );
        // Below the kernel's one-second granularity: rounded up, not refused.
        client
            .set_keepalive(Some(Duration::from_millis(10)))
            .unwrap();
        assert_eq!(
            rustix::net::sockopt::tcp_keepidle(&client).unwrap(),
            Duration::from_secs(1)
        );
        client.set_keepalive(None).unwrap();
        assert!(!client.keepalive().unwrap());

        assert_eq!(client.linger().unwrap(), None);
        client.set_linger(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(5)));
        client.set_linger(Some(Duration::ZERO)).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
        client.set_linger(None).unwrap();
        assert_eq!(client.linger().unwrap(), None);

        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        assert!(client.take_error().unwrap().is_none());

        let (l, addr) = listener().await;
        l.set_ttl(7).unwrap();
        assert_eq!(l.ttl().unwrap(), 7);
        let _c = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = l.accept().await.unwrap();
        assert_eq!(accepted.ttl().unwrap(), 7);
        assert!(l.take_error().unwrap().is_none());
    });
}

// tokio tcp_shutdown.rs (shutdown) and CPython test_sock_lowlevel (half-closed sockets): a
// write-side shutdown is an end of stream for the peer, which can still answer; writing
// after it is EPIPE, not a signal.
#[test]
fn shutdown_write_is_eof_for_the_peer_which_can_still_reply() {
    on_each_backend(|_| async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"request").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"request");

        let err = client.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");

        // The other direction is open until the server closes it (`close` is a FIN too).
        server.write_all(b"reply").await.unwrap();
        server.close().await.unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"reply");
        // Closing twice, or shutting down a closed side, is not an error.
        server.close().await.unwrap();
    });
}

// tokio tcp_peek.rs (peek): peeked bytes are still there for the next read, and a peek waits
// for data like a read.
#[test]
fn peek_waits_for_data_and_leaves_it_in_place() {
    on_each_backend(|_| async {
        let (mut client, mut server) = pair().await;
        let mut small = [0u8; 5];
        {
            let mut peek = pin!(server.peek(&mut small));
            assert!(
                poll_once(peek.as_mut()).await.is_none(),
                "nothing to peek yet"
            );
            client.write_all(b"hello world").await.unwrap();
            assert_eq!(bounded("peek", peek).await.unwrap(), 5);
        }
        assert_eq!(&small, b"hello");
        let mut again = [0u8; 5];
        assert_eq!(server.peek(&mut again).await.unwrap(), 5);
        assert_eq!(&again, b"hello");
        let mut all = [0u8; 11];
        server.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"hello world");
    });
}

/// An echo server for one connection, in its own task: copies until end of stream, then
/// closes its side.
fn spawn_echo(server: TcpStream) -> tulip::Task<u64> {
    tulip::spawn(async move {
        let (r, mut w) = server.into_split();
        let n = futures_lite::io::copy(r, &mut w).await.unwrap();
        w.close().await.unwrap();
        n
    })
}

// tokio tcp_split.rs (split): one task writes and reads through the borrowed halves at once.
#[test]
fn borrowed_halves_read_and_write_at_once() {
    on_each_backend(|_| async {
        let (mut client, server) = pair().await;
        let echo = spawn_echo(server);
        let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
        let (mut r, mut w) = client.split();
        assert_eq!(r.get_ref().as_raw_fd(), w.get_ref().as_raw_fd());
        let write = async {
            w.write_all(&data).await.unwrap();
            w.close().await.unwrap();
        };
        let read = async {
            let mut back = Vec::new();
            r.read_to_end(&mut back).await.unwrap();
            back
        };
        let ((), back) = futures_lite::future::zip(write, read).await;
        assert!(back == data, "the echo differs from what was sent");
        assert_eq!(echo.await.unwrap(), data.len() as u64);
    });
}

// tokio tcp_into_split.rs (split, reunite): owned halves in separate tasks, then put back
// together into a stream that still works.
#[test]
fn owned_halves_work_in_separate_tasks_and_reunite() {
    on_each_backend(|_| async {
        let (client, server) = pair().await;
        let echo = spawn_echo(server);
        let (mut r, mut w) = client.into_split();
        let writer = tulip::spawn(async move {
            for i in 0..100u32 {
                w.write_all(&i.to_le_bytes()).await.unwrap();
            }
            w
        });
        let reader = tulip::spawn(async move {
            let mut buf = [0u8; 4];
            for i in 0..100u32 {
                r.read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_le_bytes(buf), i);
            }
            r
        });
        let (w, r) = (writer.await.unwrap(), reader.await.unwrap());
        assert_eq!(r.get_ref().as_raw_fd(), w.get_ref().as_raw_fd());
        let mut stream = r.reunite(w).expect("halves of one stream");
        // Reuniting did not shut the write side down.
        stream.write_all(b"after").await.unwrap();
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"after");
        stream.close().await.unwrap();
        assert_eq!(echo.await.unwrap(), 405);
    });
}

// tokio tcp_into_split.rs (reunite error): halves of two streams are refused and given back
// whole.
#[test]
fn reuniting_halves_of_two_streams_gives_both_back() {
    run(async {
        let (c1, mut s1) = pair().await;
        let (c2, mut s2) = pair().await;
        let (mut r1, w1) = c1.into_split();
        let (r2, mut w2) = c2.into_split();
        let err = r1.reunite(w2).unwrap_err();
        assert!(err.to_string().contains("different"), "{err}");
        let tulip::net::ReuniteError(r1_back, w2_back) = err;
        (r1, w2) = (r1_back, w2_back);
        // Nothing was shut down on the way: both halves still work.
        s1.write_all(b"to r1").await.unwrap();
        let mut buf = [0u8; 5];
        r1.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"to r1");
        w2.write_all(b"to s2").await.unwrap();
        s2.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"to s2");
        assert!(r1.reunite(w1).is_ok());
        assert!(r2.reunite(w2).is_ok());
    });
}

// tokio tcp_into_split.rs (drop_write): dropping the owned write half sends FIN; the read half
// still reads.
#[test]
fn dropping_the_owned_write_half_sends_fin() {
    on_each_backend(|_| async {
        let (client, mut server) = pair().await;
        let (mut r, w) = client.into_split();
        drop(w);
        let mut got = Vec::new();
        bounded(
            "EOF after the write half was dropped",
            server.read_to_end(&mut got),
        )
        .await
        .unwrap();
        assert!(got.is_empty());
        server.write_all(b"still open").await.unwrap();
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still open");
    });
}

// tokio tcp_into_std.rs: a socket leaves the loop as a std socket (still non-blocking), is
// used by a plain thread, and comes back; `AsFd` and `AsRawFd` name the same descriptor.
#[test]
fn std_sockets_come_and_go() {
    on_each_backend(|_| async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let l = TcpListener::from_std(std_listener).unwrap();
        let client = TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap()).unwrap();
        let (server, _) = l.accept().await.unwrap();
        assert_eq!(client.as_fd().as_raw_fd(), client.as_raw_fd());
        assert_eq!(l.as_fd().as_raw_fd(), l.as_raw_fd());

        (&client).write_all(b"to std").await.unwrap();
        let fd = server.as_raw_fd();
        let mut std_server = server.into_std().unwrap();
        assert_eq!(std_server.as_raw_fd(), fd);
        let mut buf = [0u8; 6];
        let mut got = 0;
        while got < 6 {
            match std_server.read(&mut buf[got..]) {
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&buf, b"to std");
        // Still non-blocking: nothing more to read is WouldBlock, not a wait.
        let e = std_server.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);

        // A plain thread uses it blocking, then gives it back to the loop.
        let t = std::thread::spawn(move || {
            std_server.set_nonblocking(false).unwrap();
            std_server.write_all(b"from a thread").unwrap();
            std_server
        });
        let mut buf = [0u8; 13];
        (&client).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"from a thread");
        let std_server = tulip::to_thread(move || t.join().unwrap()).await;
        let back = TcpStream::try_from(std_server).unwrap();
        (&back).write_all(b"back").await.unwrap();
        let mut buf = [0u8; 4];
        (&client).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"back");

        let std_l = l.into_std().unwrap();
        let e = std_l.accept().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    });
}

// tokio tcp_stream.rs (write_vectored) and futures-io's vectored reads: a gathering write
// arrives in order, a scattering read fills its buffers in order.
#[test]
fn vectored_reads_and_writes_keep_order() {
    on_each_backend(|_| async {
        let (mut client, mut server) = pair().await;
        for round in 0..3 {
            let n = client
                .write_vectored(&[
                    IoSlice::new(b"hello "),
                    IoSlice::new(b""),
                    IoSlice::new(b"world"),
                ])
                .await
                .unwrap();
            assert_eq!(n, 11, "round {round}");
            let (mut a, mut b) = ([0u8; 5], [0u8; 20]);
            let mut got = 0;
            while got < 11 {
                let n = if got == 0 {
                    server
                        .read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
                        .await
                        .unwrap()
                } else {
                    server.read(&mut b[got - 5..]).await.unwrap()
                };
                assert!(n > 0);
                got += n;
            }
            assert_eq!(&a, b"hello");
            assert_eq!(&b[..6], b" world");
        }
    });
}

// tokio tcp_stream.rs (try_read_write): non-blocking attempts say WouldBlock when there is
// nothing to read or no room to write, and `readable`/`writable` wait for the change.
#[test]
fn try_read_and_try_write_say_would_block() {
    on_each_backend(|_| async {
        let (client, server) = pair().await;
        let mut buf = vec![0u8; 64 << 10];
        let e = server.try_read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        {
            let mut readable = pin!(server.readable());
            assert!(poll_once(readable.as_mut()).await.is_none());
            client.writable().await.unwrap();
            assert_eq!(client.try_write(b"ping").unwrap(), 4);
            bounded("readable", readable).await.unwrap();
        }
        assert_eq!(server.try_read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");

        // Fill the connection until the kernel refuses more, counting what went in.
        const CHUNK: usize = 64 << 10;
        let chunk: Vec<u8> = (0..CHUNK).map(|i| (i % 253) as u8).collect();
        let mut written = 0usize;
        let mut full = false;
        for _ in 0..100_000 {
            match client.try_write(&chunk[written % chunk.len()..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Full, unless an ACK made room meanwhile.
                    if poll_once(client.writable()).await.is_none() {
                        full = true;
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(full, "the connection never filled up");
        // Draining it from the other end makes room, and everything arrives in order.
        let drain = tulip::spawn(async move {
            let mut read = 0usize;
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = (&server).read(&mut buf).await.unwrap();
                if n == 0 {
                    return read;
                }
                for (k, &b) in buf[..n].iter().enumerate() {
                    assert_eq!(b, ((read + k) % CHUNK % 253) as u8);
                }
                read += n;
            }
        });
        bounded("writable after the peer drained", client.writable())
            .await
            .unwrap();
        drop(client);
        assert_eq!(drain.await.unwrap(), written);
    });
}

// asyncio's create_server sets SO_REUSEADDR on Unix; with it a port whose old connection is
// in TIME_WAIT binds again at once, without it the bind fails naming the address.
#[test]
fn reuse_address_is_on_by_default() {
    run(async {
        let (l, addr) = listener().await;
        assert!(rustix::net::sockopt::socket_reuseaddr(&l).unwrap());
        let no_reuse = ListenOptions::new().reuse_address(false);
        let plain = TcpListener::bind_with("127.0.0.1:0", &no_reuse)
            .await
            .unwrap();
        assert!(!rustix::net::sockopt::socket_reuseaddr(&plain).unwrap());
        drop(plain);

        // The server closes first, so its side of the port stays in FIN_WAIT/TIME_WAIT.
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        drop(l);
        drop(server);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        drop(client);

        let err = TcpListener::bind_with(addr, &no_reuse).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        let again = TcpListener::bind(addr).await.unwrap();
        assert_eq!(again.local_addr().unwrap(), addr);
    });
}

// CPython test_base_events (create_server on an address in use): the error is AddrInUse and
// says which address.
#[test]
fn binding_an_address_in_use_names_it() {
    run(async {
        let (_l, addr) = listener().await;
        let err = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        // The same through a name.
        let err = TcpListener::bind(("localhost", addr.port()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains(&addr.port().to_string()), "{err}");
    });
}

// asyncio's create_server(reuse_port=True): two listeners share one port, a third without the
// option cannot, and the kernel spreads connections over both.
#[test]
fn reuse_port_lets_two_listeners_share_a_port() {
    on_each_backend(|_| async {
        let opts = ListenOptions::new().reuse_port(true);
        let a = TcpListener::bind_with("127.0.0.1:0", &opts).await.unwrap();
        let addr = a.local_addr().unwrap();
        let b = TcpListener::bind_with(addr, &opts).await.unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
        let err = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");

        const N: usize = 64;
        let mut clients = Vec::new();
        for _ in 0..N {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut counts = [0usize; 2];
        for _ in 0..N {
            let which = futures_lite::future::or(async { a.accept().await.map(|_| 0) }, async {
                b.accept().await.map(|_| 1)
            })
            .await
            .unwrap();
            counts[which] += 1;
        }
        // Each of the 64 connections picks a listener by a hash of its address: all 64
        // choosing the same one has a chance of 2^-63.
        assert!(counts[0] > 0 && counts[1] > 0, "{counts:?}");
    });
}

// tokio tcp_connect.rs (connect_v6): the IPv6 loopback.
#[test]
fn ipv6_loopback() {
    if !has_ipv6() {
        println!("skipped: this host has no IPv6 loopback ([::1] does not bind)");
        return;
    }
    on_each_backend(|_| async {
        let l = TcpListener::bind("[::1]:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        assert!(addr.is_ipv6());
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, peer) = l.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(peer.ip().is_loopback() && peer.is_ipv6());
        client.write_all(b"v6").await.unwrap();
        let mut buf = [0u8; 2];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"v6");
    });
}

// CPython test_base_events (create_server dual stack) and asyncio's IPV6_V6ONLY handling: a
// dual-stack `[::]` listener accepts an IPv4 client, seen as an IPv4-mapped address; an
// IPv6-only one does not.
#[test]
fn dual_stack_listener_accepts_ipv4_clients() {
    if !has_ipv6() {
        println!("skipped: this host has no IPv6 loopback ([::1] does not bind)");
        return;
    }
    on_each_backend(|_| async {
        let dual = TcpListener::bind_with("[::]:0", &ListenOptions::new().ipv6_only(false))
            .await
            .unwrap();
        assert!(!rustix::net::sockopt::ipv6_v6only(&dual).unwrap());
        let port = dual.local_addr().unwrap().port();
        let client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (_server, peer) = dual.accept().await.unwrap();
        let SocketAddr::V6(peer6) = peer else {
            panic!("a dual-stack listener reports IPv6 peers, got {peer}")
        };
        assert_eq!(peer6.ip().to_ipv4_mapped(), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(peer.port(), client.local_addr().unwrap().port());

        let only = TcpListener::bind_with("[::]:0", &ListenOptions::new().ipv6_only(true))
            .await
            .unwrap();
        assert!(rustix::net::sockopt::ipv6_v6only(&only).unwrap());
        let port = only.local_addr().unwrap().port();
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    });
}

// CPython test_sock_lowlevel (sock_connect to a closed port) and tokio tcp_connect.rs: a
// refused connect is ConnectionRefused, with a ConnectError inside naming the address.
#[test]
fn a_refused_connect_names_the_address() {
    on_each_backend(|_| async {
        let addr = closed_port();
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        let inner = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<ConnectError>())
            .expect("a ConnectError inside");
        assert_eq!(inner.attempts().len(), 1);
        assert_eq!(inner.attempts()[0].0, addr);
        assert_eq!(
            inner.attempts()[0].1.kind(),
            io::ErrorKind::ConnectionRefused
        );
    });
}

// A local address for the connecting side (asyncio's `local_addr`): the server sees it.
#[test]
fn connect_from_a_chosen_local_address() {
    on_each_backend(|_| async {
        let (l, addr) = listener().await;
        let local: SocketAddr = "127.0.0.2:0".parse().unwrap();
        let client = TcpStream::connect_with(addr, &ConnectOptions::new().local_addr(local))
            .await
            .unwrap();
        let (_server, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip(), local.ip());
        assert_eq!(peer, client.local_addr().unwrap());
        // An IPv6 target with an IPv4 local address has nothing to try.
        let err = TcpStream::connect_with("[::1]:9", &ConnectOptions::new().local_addr(local))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}

/// 64 KiB blocks of a deterministic byte stream: block `i` is a fixed pseudo-random block
/// rotated by `i` and stamped with `i`, so a lost, repeated or reordered block is noticed.
struct Pattern(Vec<u8>);

const BLOCK: usize = 64 << 10;

impl Pattern {
    fn new(seed: u64) -> Pattern {
        let mut x = seed | 1;
        let mut base = Vec::with_capacity(BLOCK);
        while base.len() < BLOCK {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            base.extend_from_slice(&x.to_le_bytes());
        }
        Pattern(base)
    }

    fn block(&self, i: u64, out: &mut [u8]) {
        let r = (i as usize).wrapping_mul(7919) % BLOCK;
        out[..BLOCK - r].copy_from_slice(&self.0[r..]);
        out[BLOCK - r..].copy_from_slice(&self.0[..r]);
        out[..8].copy_from_slice(&i.to_le_bytes());
    }
}

/// Writes `blocks` blocks of `seed`'s pattern, then closes the write side.
async fn send_pattern(mut w: impl tulip::io::AsyncWrite + Unpin, seed: u64, blocks: u64) {
    let p = Pattern::new(seed);
    let mut buf = vec![0u8; BLOCK];
    for i in 0..blocks {
        p.block(i, &mut buf);
        w.write_all(&buf).await.unwrap();
    }
    w.close().await.unwrap();
}

/// Reads to the end, checking every byte against `seed`'s pattern; returns the count.
async fn check_pattern(mut r: impl tulip::io::AsyncRead + Unpin, seed: u64) -> u64 {
    let p = Pattern::new(seed);
    let mut expected = vec![0u8; BLOCK];
    let (mut block, mut off, mut total) = (0u64, 0usize, 0u64);
    p.block(0, &mut expected);
    let mut buf = vec![0u8; 3 * BLOCK / 2 + 17];
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            return total;
        }
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            let take = chunk.len().min(BLOCK - off);
            assert!(
                chunk[..take] == expected[off..off + take],
                "byte {total} differs from what was sent"
            );
            chunk = &chunk[take..];
            off += take;
            total += take as u64;
            if off == BLOCK {
                block += 1;
                off = 0;
                p.block(block, &mut expected);
            }
        }
    }
}

// CPython test_sock_lowlevel (test_huge_content) and tokio tcp_echo.rs: 64 MiB each way at
// once, every byte checked, through owned halves in four tasks.
#[test]
fn sixty_four_mebibytes_each_way() {
    const BLOCKS: u64 = (64 << 20) / BLOCK as u64;
    on_each_backend(|_| async {
        let (client, server) = pair().await;
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let tasks = [
            tulip::spawn(async move {
                send_pattern(cw, 1, BLOCKS).await;
                0
            }),
            tulip::spawn(async move {
                send_pattern(sw, 2, BLOCKS).await;
                0
            }),
            tulip::spawn(check_pattern(sr, 1)),
            tulip::spawn(check_pattern(cr, 2)),
        ];
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        assert_eq!(got, [0, 0, 64 << 20, 64 << 20]);
    });
}

// tokio tcp_echo.rs and CPython test_streams' many-clients cases, scaled up: 1 000
// connections open at the same time (a latch holds every client until all are connected),
// each echoing its own message.
#[test]
fn a_thousand_connections_at_once() {
    const N: usize = 1000;
    on_each_backend(|_| async {
        let (l, addr) = listener().await;
        let server = tulip::spawn(async move {
            let mut handlers = Vec::with_capacity(N);
            for _ in 0..N {
                let (s, _) = l.accept().await.unwrap();
                handlers.push(spawn_echo(s));
            }
            let mut total = 0;
            for h in handlers {
                total += h.await.unwrap();
            }
            total
        });
        let all_connected = Latch::new(N);
        let clients: Vec<_> = (0..N)
            .map(|i| {
                let all_connected = all_connected.clone();
                tulip::spawn(async move {
                    let mut c = TcpStream::connect(addr).await.unwrap();
                    all_connected.arrive();
                    all_connected.wait().await;
                    let msg = format!("client {i:04}");
                    c.write_all(msg.as_bytes()).await.unwrap();
                    c.close().await.unwrap();
                    let mut back = String::new();
                    c.read_to_string(&mut back).await.unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), (N * 11) as u64);
    });
}

// CPython test_sock_lowlevel (test_sock_client_ops: the loop against a plain blocking socket):
// a std client in a thread talking to a tulip server.
#[test]
fn a_std_client_talks_to_a_tulip_server() {
    on_each_backend(|_| async {
        let (l, addr) = listener().await;
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"hello from std").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).unwrap();
            reply
        });
        let (mut s, _) = l.accept().await.unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "hello from std");
        s.write_all(got.to_uppercase().as_bytes()).await.unwrap();
        s.close().await.unwrap();
        let reply = tulip::to_thread(move || client.join().unwrap()).await;
        assert_eq!(reply, "HELLO FROM STD");
    });
}

// The same the other way round: a tulip client against a std server in a thread.
#[test]
fn a_tulip_client_talks_to_a_std_server() {
    on_each_backend(|_| async {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got.reverse();
            s.write_all(&got).unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"stressed").await.unwrap();
        c.close().await.unwrap();
        let mut reply = String::new();
        c.read_to_string(&mut reply).await.unwrap();
        assert_eq!(reply, "desserts");
        tulip::to_thread(move || server.join().unwrap()).await;
    });
}

/// Reads exactly `want.len()` bytes with reads of at most 64 bytes (so the last is short) and
/// checks them.
async fn read_short(s: &mut (impl tulip::io::AsyncRead + Unpin), want: &[u8]) {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < want.len() {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "end of stream after {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, want);
}

// The readiness shortcut: a short read marks the socket drained, so the next read waits for
// the poller without a system call. Data that arrives later must still wake it, whether the
// read was already waiting when it came (even rounds) or the data came before the loop had
// seen its event (odd rounds).
#[test]
fn data_arriving_after_a_short_read_wakes_the_next_read() {
    on_each_backend(|_| async {
        let (client, mut server) = pair().await;
        for round in 0..40u8 {
            client.try_write(&[round; 10]).unwrap();
            read_short(&mut server, &[round; 10]).await;
            let mut buf = [0u8; 64];
            let n = if round % 2 == 0 {
                let mut next = pin!(server.read(&mut buf));
                assert!(poll_once(next.as_mut()).await.is_none(), "round {round}");
                client.try_write(b"later").unwrap();
                bounded("the read after a short read", next).await.unwrap()
            } else {
                client.try_write(b"later").unwrap();
                bounded("the read after a short read", server.read(&mut buf))
                    .await
                    .unwrap()
            };
            assert_eq!(&buf[..n], b"later", "round {round}");
        }
    });
}

// The readiness shortcut and the end of stream: the peer's FIN may arrive together with the
// last data, and the kernel then takes both in the one (short) read that returns the data.
// The next read must still report the end of stream (0), and so must the one after it.
#[test]
fn end_of_stream_after_a_short_read_is_seen() {
    on_each_backend(|_| async {
        // (a) Data and FIN arrive while the read waits: one readiness event for both.
        let (client, mut server) = pair().await;
        let mut buf = [0u8; 64];
        {
            let mut read = pin!(server.read(&mut buf));
            assert!(poll_once(read.as_mut()).await.is_none());
            client.try_write(b"last words").unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let n = bounded("the short read", read).await.unwrap();
            assert!(n > 0 && n <= 10, "{n}");
        }
        let mut rest = Vec::new();
        bounded(
            "end of stream after a short read",
            server.read_to_end(&mut rest),
        )
        .await
        .unwrap();
        assert_eq!(
            bounded("EOF again", server.read(&mut buf)).await.unwrap(),
            0
        );
        assert_eq!(
            bounded("EOF again", server.read(&mut buf)).await.unwrap(),
            0
        );

        // (b) The FIN comes after the short read, while the next read waits.
        let (client, mut server) = pair().await;
        client.try_write(b"some").unwrap();
        read_short(&mut server, b"some").await;
        {
            let mut next = pin!(server.read(&mut buf));
            assert!(poll_once(next.as_mut()).await.is_none());
            client.shutdown(Shutdown::Write).unwrap();
            assert_eq!(bounded("EOF after a short read", next).await.unwrap(), 0);
        }
        assert_eq!(
            bounded("EOF again", server.read(&mut buf)).await.unwrap(),
            0
        );

        // (c) The same through an owned read half and a vectored read.
        let (client, server) = pair().await;
        let (mut r, _w) = server.into_split();
        {
            let (mut a, mut b) = ([0u8; 4], [0u8; 60]);
            let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
            let mut read = pin!(r.read_vectored(&mut bufs));
            assert!(poll_once(read.as_mut()).await.is_none());
            client.try_write(b"bye").unwrap();
            drop(client);
            let n = bounded("the short vectored read", read).await.unwrap();
            assert!(n > 0 && n <= 3, "{n}");
        }
        let mut rest = Vec::new();
        bounded("EOF on the read half", r.read_to_end(&mut rest))
            .await
            .unwrap();
        assert_eq!(bounded("EOF again", r.read(&mut buf)).await.unwrap(), 0);
    });
}

// The readiness shortcut and urgent data: a read stops at the urgent mark (TCP never reads
// across it), so a short read does not prove the socket empty there. Data queued behind the
// mark must be read without waiting for more to arrive.
#[test]
fn data_behind_an_urgent_mark_is_read() {
    on_each_backend(|_| async {
        let (client, mut server) = pair().await;
        let mut buf = [0u8; 64];
        {
            let mut read = pin!(server.read(&mut buf));
            assert!(poll_once(read.as_mut()).await.is_none());
            // "ab" with MSG_OOB: 'b' is the urgent byte (taken out of band), then "cd".
            rustix::net::send(&client, b"ab", rustix::net::SendFlags::OOB).unwrap();
            client.try_write(b"cd").unwrap();
            let n = bounded("the read before the mark", read).await.unwrap();
            assert_eq!(&buf[..n], b"a");
        }
        let n = bounded("the read behind the urgent mark", server.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"cd");
    });
}

/// A file of `len` pattern bytes in `dir`, opened for reading, with its contents.
fn pattern_file(dir: &TempDir, len: usize) -> (std::fs::File, Vec<u8>) {
    // Byte `i` is `i * 7 % 251`: one period of 251 bytes, repeated by copying (a byte-at-a-time
    // loop over megabytes takes a second in AddressSanitizer's unoptimised std).
    let period: Vec<u8> = (0..251usize).map(|i| (i * 7 % 251) as u8).collect();
    let mut data = period.repeat(len.div_ceil(251));
    data.truncate(len);
    let path = dir.join("data");
    std::fs::write(&path, &data).unwrap();
    (std::fs::File::open(&path).unwrap(), data)
}

// asyncio's loop.sock_sendfile (CPython test_sock_lowlevel / test_sendfile: whole file,
// offset and count, count past the end, offset at the end): zero-copy over TCP; the count
// returned is what the file had.
#[test]
fn sendfile_sends_the_asked_part_of_a_file() {
    on_each_backend(|b| async move {
        let dir = TempDir::new(&format!("sendfile-{b:?}"));
        let (file, data) = pattern_file(&dir, 100_000);
        let (client, mut server) = pair().await;
        let len = data.len() as u64;
        let cases: [(u64, Option<u64>, std::ops::Range<usize>); 5] = [
            (2, Some(5), 2..7),
            (0, None, 0..data.len()),
            (99_990, None, 99_990..data.len()),
            (50_000, Some(len), 50_000..data.len()),
            (len, None, 0..0),
        ];
        for (offset, count, want) in cases {
            let n = bounded("sendfile", sendfile(&client, &file, offset, count))
                .await
                .unwrap();
            assert_eq!(n, want.len() as u64, "offset {offset}, count {count:?}");
            let mut got = vec![0u8; want.len()];
            server.read_exact(&mut got).await.unwrap();
            assert!(
                got == data[want.clone()],
                "offset {offset}, count {count:?}"
            );
        }
    });
}

// The same for a file far larger than the socket's buffers, read at the other end meanwhile:
// the zero-copy steps stop at a full socket and go on when it drains.
#[test]
fn sendfile_of_a_file_larger_than_the_socket_buffers() {
    on_each_backend(|b| async move {
        let dir = TempDir::new(&format!("sendfile-big-{b:?}"));
        let (file, data) = pattern_file(&dir, 8 << 20);
        let (client, mut server) = pair().await;
        // The whole file, then end of stream. Not `read_to_end`: futures-lite's zero-fills the
        // Vec's spare capacity again on every poll that finds the socket empty (hundreds here,
        // megabytes each), which in AddressSanitizer's unoptimised std took this past
        // NET_LIMIT; reading into a buffer of the expected size checks the same bytes.
        let len = data.len();
        let reader = tulip::spawn(async move {
            let mut got = vec![0u8; len];
            server.read_exact(&mut got).await.unwrap();
            let mut more = [0u8; 1];
            assert_eq!(
                server.read(&mut more).await.unwrap(),
                0,
                "bytes past the file"
            );
            got
        });
        let n = bounded("sendfile", sendfile(&client, &file, 0, None))
            .await
            .unwrap();
        assert_eq!(n, data.len() as u64);
        drop(client);
        let got = bounded("the reader", reader).await.unwrap();
        assert!(got == data, "the received file differs");
    });
}

// The fallback when the kernel refuses sendfile(2) for the file (a pipe): reads and writes.
#[test]
fn sendfile_from_a_pipe_falls_back_to_copying() {
    on_each_backend(|_| async {
        let (rx, tx) = rustix::pipe::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            let mut tx = std::fs::File::from(tx);
            tx.write_all(b"through a pipe").unwrap();
        });
        let file = std::fs::File::from(rx);
        let (client, mut server) = pair().await;
        let n = bounded("sendfile from a pipe", sendfile(&client, &file, 0, None))
            .await
            .unwrap();
        assert_eq!(n, 14);
        drop(client);
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"through a pipe");
        tulip::to_thread(move || writer.join().unwrap()).await;
    });
}
