//! asyncio's `loop.sock_*` methods (`tulip::net::LoopSockExt`) on the caller's own
//! non-blocking std sockets; blocking sockets refused with `BlockingSocketError`. On both
//! backends and (through `TULIP_WORKERS`) both flavours.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::time::Duration;

use futures_lite::future::zip;
use tulip::net::{BlockingSocketError, LoopSockExt, SockAddr};
use tulip::rt::EventLoop;
use tulip_tests::{bounded, on_each_backend, TempDir};

fn listener() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

/// A fresh non-blocking IPv4 TCP socket, not connected.
fn tcp_socket() -> OwnedFd {
    use rustix::net::{socket_with, AddressFamily, SocketFlags, SocketType};
    socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

/// A connected pair of non-blocking TCP streams.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn is_blocking_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidInput
        && e.get_ref()
            .is_some_and(|inner| inner.is::<BlockingSocketError>())
}

// Case from CPython's Lib/test/test_asyncio/test_events.py (test_sock_client_ops: connect,
// sendall, recv on the loop; and test_sock_accept).
#[test]
fn connect_accept_sendall_recv() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let l = listener();
        let client = tcp_socket();
        let (conn, accepted) = bounded(
            "connect and accept",
            zip(
                lp.sock_connect(&client, l.local_addr().unwrap()),
                lp.sock_accept(&l),
            ),
        )
        .await;
        conn.unwrap();
        let (server, peer) = accepted.unwrap();
        assert!(peer.ip().is_loopback());
        lp.sock_sendall(&client, b"GET / HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let got = bounded("recv", lp.sock_recv(&server, 1024)).await.unwrap();
        assert_eq!(got, b"GET / HTTP/1.0\r\n\r\n");
        // The accepted socket is non-blocking: sock_* take it.
        lp.sock_sendall(&server, b"reply").await.unwrap();
        let mut buf = [0u8; 16];
        let n = bounded("recv_into", lp.sock_recv_into(&client, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"reply");
        // End of stream: an empty read.
        drop(server);
        assert!(lp.sock_recv(&client, 10).await.unwrap().is_empty());
    });
}

#[test]
fn sock_connect_resolves_a_host_name() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let l = listener();
        let port = l.local_addr().unwrap().port();
        let client = tcp_socket();
        let (conn, accepted) = bounded(
            "connect by name",
            zip(
                lp.sock_connect(&client, ("localhost", port)),
                lp.sock_accept(&l),
            ),
        )
        .await;
        conn.unwrap();
        accepted.unwrap();
    });
}

#[test]
fn sock_connect_to_a_closed_port_is_refused() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = tcp_socket();
        let err = bounded(
            "refused connect",
            lp.sock_connect(&client, SocketAddr::from(([127, 0, 0, 1], port))),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn sendall_waits_for_room_while_the_peer_reads() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let (a, b) = tcp_pair();
        let data: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let reader = async {
            let mut got = Vec::with_capacity(data.len());
            while got.len() < data.len() {
                let chunk = lp.sock_recv(&b, 256 * 1024).await.unwrap();
                assert!(!chunk.is_empty(), "early end of stream");
                got.extend_from_slice(&chunk);
            }
            got
        };
        let (sent, got) = bounded(
            "8 MiB through sendall",
            zip(lp.sock_sendall(&a, &data), reader),
        )
        .await;
        sent.unwrap();
        assert!(got == data, "the bytes arrived changed");
    });
}

// Case from CPython's test_events.py (test_sock_recvfrom / test_sock_sendto on UDP).
#[test]
fn udp_sendto_recvfrom_and_recvfrom_into() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(lp.sock_sendto(&a, b"one", b_addr).await.unwrap(), 3);
        assert_eq!(lp.sock_sendto(&a, b"two!", b_addr).await.unwrap(), 4);
        let (data, from) = bounded("recvfrom", lp.sock_recvfrom(&b, 100))
            .await
            .unwrap();
        assert_eq!(data, b"one");
        assert_eq!(from.as_inet(), Some(a_addr));
        let mut buf = [0u8; 2];
        let (n, from) = bounded("recvfrom_into", lp.sock_recvfrom_into(&b, &mut buf))
            .await
            .unwrap();
        // A datagram longer than the buffer is truncated, as recvfrom(2) does.
        assert_eq!((n, &buf), (2, b"tw"));
        assert_eq!(from.as_inet(), Some(a_addr));
    });
}

#[test]
fn unix_datagram_sendto_a_path_and_recvfrom_names_the_sender() {
    let dir = TempDir::new("net_sock_unix_dgram");
    on_each_backend(|backend| {
        let (pa, pb) = (
            dir.join(&format!("a-{backend:?}")),
            dir.join(&format!("b-{backend:?}")),
        );
        async move {
            let lp = EventLoop::current();
            let a = UnixDatagram::bind(&pa).unwrap();
            let b = UnixDatagram::bind(&pb).unwrap();
            a.set_nonblocking(true).unwrap();
            b.set_nonblocking(true).unwrap();
            let to = SockAddr::from(std::os::unix::net::SocketAddr::from_pathname(&pb).unwrap());
            assert_eq!(lp.sock_sendto(&a, b"hi", to).await.unwrap(), 2);
            let (data, from) = bounded("unix recvfrom", lp.sock_recvfrom(&b, 10))
                .await
                .unwrap();
            assert_eq!(data, b"hi");
            assert_eq!(from.as_path(), Some(pa.as_path()));
        }
    });
}

#[test]
fn unix_accept() {
    let dir = TempDir::new("net_sock_unix_accept");
    on_each_backend(|backend| {
        let path = dir.join(&format!("l-{backend:?}"));
        async move {
            let lp = EventLoop::current();
            let l = UnixListener::bind(&path).unwrap();
            l.set_nonblocking(true).unwrap();
            let mut client = UnixStream::connect(&path).unwrap();
            let (server, _) = bounded("unix accept", lp.sock_accept(&l)).await.unwrap();
            client.write_all(b"over unix").unwrap();
            let got = bounded("unix recv", lp.sock_recv(&server, 64))
                .await
                .unwrap();
            assert_eq!(got, b"over unix");
        }
    });
}

// Case from CPython's test_events.py / test_sock_lowlevel.py (test_sock_sendfile): part of
// a file from an offset.
#[test]
fn sendfile_sends_a_slice_of_a_file() {
    let dir = TempDir::new("net_sock_sendfile");
    let path = dir.join("data");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 256) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    on_each_backend(|_| {
        let (path, content) = (path.clone(), content.clone());
        async move {
            let lp = EventLoop::current();
            let (a, b) = tcp_pair();
            let file = std::fs::File::open(&path).unwrap();
            let reader = async {
                let mut got = Vec::new();
                while got.len() < 150_000 {
                    got.extend(lp.sock_recv(&b, 65536).await.unwrap());
                }
                got
            };
            let (sent, got) = bounded(
                "sendfile",
                zip(lp.sock_sendfile(&a, &file, 1000, Some(150_000)), reader),
            )
            .await;
            assert_eq!(sent.unwrap(), 150_000);
            assert!(got == content[1000..151_000], "the bytes arrived changed");
            // Past the end of the file: what is there.
            let (sent, _) = zip(lp.sock_sendfile(&a, &file, 199_990, None), async {
                lp.sock_recv(&b, 100).await.unwrap()
            })
            .await;
            assert_eq!(sent.unwrap(), 10);
        }
    });
}

#[test]
fn blocking_sockets_are_refused_with_a_named_error() {
    tulip::run(async {
        let lp = EventLoop::current();
        let l = TcpListener::bind("127.0.0.1:0").unwrap(); // blocking
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap(); // blocking
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 4];
        let errs = [
            lp.sock_recv(&a, 4).await.unwrap_err(),
            lp.sock_recv_into(&a, &mut buf).await.unwrap_err(),
            lp.sock_sendall(&a, b"x").await.unwrap_err(),
            lp.sock_accept(&l).await.unwrap_err(),
            lp.sock_connect(&a, l.local_addr().unwrap())
                .await
                .unwrap_err(),
            lp.sock_recvfrom(&u, 4).await.unwrap_err(),
            lp.sock_sendto(&u, b"x", l.local_addr().unwrap())
                .await
                .unwrap_err(),
        ];
        for e in &errs {
            assert!(is_blocking_error(e), "{e}");
            assert!(e.to_string().contains("non-blocking"), "{e}");
        }
        let file = tempfile_with(b"x");
        let e = lp.sock_sendfile(&a, &file, 0, None).await.unwrap_err();
        assert!(is_blocking_error(&e));
    });
}

fn tempfile_with(data: &[u8]) -> std::fs::File {
    let dir = TempDir::new("net_sock_blocking_file");
    let path = dir.join("f");
    std::fs::write(&path, data).unwrap();
    std::fs::File::open(&path).unwrap()
}

#[test]
fn a_cancelled_recv_takes_nothing() {
    on_each_backend(|_| async {
        let lp = EventLoop::current();
        let (a, mut b) = tcp_pair();
        // Nothing was sent: the recv cannot finish, and dropping it must lose nothing.
        let r = tulip::timeout(Duration::from_millis(5), lp.sock_recv(&a, 10)).await;
        assert!(r.is_err());
        b.write_all(b"after").unwrap();
        let got = bounded("recv after cancel", lp.sock_recv(&a, 10))
            .await
            .unwrap();
        assert_eq!(got, b"after");
        let mut rest = [0u8; 1];
        assert!((&b).read(&mut rest).is_err(), "nothing to read on b");
    });
}

#[test]
fn sock_futures_are_send_for_std_sockets() {
    fn is_send<T: Send>(_: &T) {}
    tulip::run(async {
        let lp = EventLoop::current();
        let (a, _b) = tcp_pair();
        let f = lp.sock_recv(&a, 1);
        is_send(&f);
        let mut buf = [0u8; 1];
        let g = lp.sock_recv_into(&a, &mut buf);
        is_send(&g);
    });
}
