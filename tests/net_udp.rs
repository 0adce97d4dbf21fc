//! UDP through `tulip::net::UdpSocket`: `send_to`/`recv_from` with datagram boundaries kept,
//! connected sockets (`connect`/`send`/`recv`, only the peer's datagrams, ICMP refusals),
//! `peek_from`, the largest IPv4 datagram (65 507 bytes) intact and `EMSGSIZE` one byte
//! above, truncation into a short buffer, `SO_BROADCAST` (on the loopback broadcast address),
//! multicast join and leave on the loopback interface, TTL and multicast options, `try_*`,
//! cancel safety of `recv_from`, std interop, `SO_REUSEPORT`, names, IPv6, and echo traffic
//! from several tasks at once.
//!
//! Everything that waits on readiness runs on both reactor backends. Cases ported from tokio's
//! `tokio/tests/udp.rs` and CPython's `Lib/test/test_asyncio` say where they come from. Every
//! datagram goes to a loopback address (127.0.0.0/8 or ::1); the multicast ones are bound to
//! the loopback interface with a TTL of 0, so nothing leaves the host.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};
use std::pin::pin;

use tulip::future::poll_once;
use tulip::net::UdpSocket;
use tulip_tests::{bounded, has_ipv6, on_each_backend};

/// A socket on an ephemeral loopback port.
async fn socket() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    (s, addr)
}

/// A loopback UDP port nobody is bound to.
fn closed_port() -> SocketAddr {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn run<F: std::future::Future<Output = ()>>(f: F) {
    tulip::Runner::new().run(async { bounded("the test", f).await });
}

// tokio udp.rs (send_to_recv_from): datagrams keep their boundaries and their sender.
#[test]
fn send_to_and_recv_from_keep_boundaries_and_senders() {
    on_each_backend(|_| async {
        let (a, a_addr) = socket().await;
        let (b, b_addr) = socket().await;
        let (c, c_addr) = socket().await;
        for (i, msg) in [&b"one"[..], b"", b"three!"].into_iter().enumerate() {
            let from = if i % 2 == 0 { &a } else { &c };
            assert_eq!(from.send_to(msg, b_addr).await.unwrap(), msg.len());
        }
        let mut buf = [0u8; 64];
        let expected = [(&b"one"[..], a_addr), (b"", c_addr), (b"three!", a_addr)];
        for (msg, sender) in expected {
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (msg, sender));
        }
        // A reply goes back to where the datagram came from.
        b.send_to(b"reply", a_addr).await.unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"reply"[..], b_addr));
    });
}

// tokio udp.rs (send_recv) and CPython test_base_events (create_datagram_endpoint with
// remote_addr): a connected socket sends to its peer and hears only from it.
#[test]
fn a_connected_socket_hears_only_its_peer() {
    on_each_backend(|_| async {
        let (a, a_addr) = socket().await;
        let (b, b_addr) = socket().await;
        let (stranger, _) = socket().await;
        let e = a.peer_addr().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
        a.connect(b_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);

        // The kernel drops the stranger's datagram; the peer's is the first received.
        stranger.send_to(b"not for you", a_addr).await.unwrap();
        b.send_to(b"from the peer", a_addr).await.unwrap();
        let mut buf = [0u8; 64];
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"from the peer");

        a.send(b"to the peer").await.unwrap();
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"to the peer"[..], a_addr));

        // Connecting by name resolves it.
        b.connect(format!("localhost:{}", a_addr.port()))
            .await
            .unwrap();
        assert_eq!(b.peer_addr().unwrap(), a_addr);
    });
}

// CPython test_base_events / test_events (datagram endpoint error_received with
// ConnectionRefusedError): the ICMP port-unreachable for a connected socket's datagram comes
// back as ConnectionRefused.
#[test]
fn a_connected_socket_learns_its_peer_refused() {
    on_each_backend(|_| async {
        let (s, _) = socket().await;
        s.connect(closed_port()).await.unwrap();
        s.send(b"anyone?").await.unwrap();
        let mut buf = [0u8; 16];
        let err = bounded("the refusal", s.recv(&mut buf)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        // The error was taken by that recv; the socket is usable again.
        assert!(s.take_error().unwrap().is_none());
    });
}

// tokio udp.rs (peek_from, send_to_peek_from): a peek shows the next datagram and its sender
// and leaves it for the receive.
#[test]
fn peek_from_leaves_the_datagram() {
    on_each_backend(|_| async {
        let (a, a_addr) = socket().await;
        let (b, b_addr) = socket().await;
        let mut buf = [0u8; 16];
        {
            let mut peek = pin!(b.peek_from(&mut buf));
            assert!(
                poll_once(peek.as_mut()).await.is_none(),
                "nothing to peek yet"
            );
            a.send_to(b"first", b_addr).await.unwrap();
            let (n, from) = bounded("peek_from", peek).await.unwrap();
            assert_eq!((n, from), (5, a_addr));
        }
        assert_eq!(&buf[..5], b"first");
        a.send_to(b"second", b_addr).await.unwrap();
        let mut again = [0u8; 16];
        let (n, _) = b.peek_from(&mut again).await.unwrap();
        assert_eq!(&again[..n], b"first");
        let (n, _) = b.recv_from(&mut again).await.unwrap();
        assert_eq!(&again[..n], b"first");
        // On a connected socket, peek and recv.
        b.connect(a_addr).await.unwrap();
        let n = b.peek(&mut again).await.unwrap();
        assert_eq!(&again[..n], b"second");
        let n = b.recv(&mut again).await.unwrap();
        assert_eq!(&again[..n], b"second");
    });
}

// CPython test_sock_lowlevel / tokio udp.rs (large datagrams): 65 507 bytes is the most an
// IPv4 UDP datagram carries; it arrives whole, and one byte more is EMSGSIZE.
#[test]
fn the_largest_ipv4_datagram_arrives_whole_and_one_more_byte_is_emsgsize() {
    on_each_backend(|_| async {
        let (a, _) = socket().await;
        let (b, b_addr) = socket().await;
        const MAX: usize = 65_507;
        let big: Vec<u8> = (0..MAX).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(a.send_to(&big, b_addr).await.unwrap(), MAX);
        let mut buf = vec![0u8; 1 << 17];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(n, MAX);
        assert!(buf[..n] == big[..], "the datagram was altered");

        let mut too_big = big.clone();
        too_big.push(0);
        let err = a.send_to(&too_big, b_addr).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{err}");
        let err = a.try_send_to(&too_big, b_addr).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{err}");
    });
}

// recvfrom(2) semantics (tokio udp.rs, CPython test_sock_lowlevel recvfrom_into with a small
// buffer): a datagram longer than the buffer is cut to it and the rest is gone.
#[test]
fn a_short_buffer_truncates_the_datagram() {
    on_each_backend(|_| async {
        let (a, a_addr) = socket().await;
        let (b, b_addr) = socket().await;
        a.send_to(b"0123456789abcdef", b_addr).await.unwrap();
        a.send_to(b"next", b_addr).await.unwrap();
        let mut small = [0u8; 10];
        let (n, from) = b.recv_from(&mut small).await.unwrap();
        assert_eq!((n, from), (10, a_addr));
        assert_eq!(&small, b"0123456789");
        // The next receive is the next datagram, not the rest of the first.
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"next");
    });
}

// asyncio's create_datagram_endpoint(allow_broadcast=True) sets SO_BROADCAST: without it a
// datagram to a broadcast address is refused (EACCES); with it, it goes out. The loopback
// network's own broadcast address keeps it on this host.
#[test]
fn broadcast_needs_the_flag() {
    on_each_backend(|_| async {
        let (a, _) = socket().await;
        let rx = match UdpSocket::bind("127.255.255.255:0").await {
            Ok(rx) => rx,
            Err(e) => {
                println!("skipped: cannot bind the loopback broadcast address here: {e}");
                return;
            }
        };
        let to = SocketAddr::from(([127, 255, 255, 255], rx.local_addr().unwrap().port()));
        assert!(!a.broadcast().unwrap());
        let err = a.send_to(b"everyone", to).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");

        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        assert!(rustix::net::sockopt::socket_broadcast(&a).unwrap());
        a.send_to(b"everyone", to).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = bounded("the broadcast", rx.recv_from(&mut buf))
            .await
            .unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"everyone"[..], a.local_addr().unwrap())
        );
        a.set_broadcast(false).unwrap();
        assert!(!a.broadcast().unwrap());
    });
}

// asyncio's datagram endpoints and tokio udp.rs (multicast options): a receiver that joined a
// group on the loopback interface gets the group's datagrams, and after leaving it does not.
#[test]
fn multicast_join_and_leave_on_loopback() {
    on_each_backend(|_| async {
        let group = Ipv4Addr::new(239, 255, 77, 1);
        let lo = Ipv4Addr::LOCALHOST;
        let rx = UdpSocket::bind_reuse("0.0.0.0:0", true).await.unwrap();
        let port = rx.local_addr().unwrap().port();
        if let Err(e) = rx.join_multicast_v4(group, lo) {
            println!("skipped: joining {group} on the loopback interface was refused: {e}");
            return;
        }
        let (tx, tx_addr) = socket().await;
        // Out through the loopback interface only, looped back, never forwarded.
        rustix::net::sockopt::set_ip_multicast_if(&tx, &lo).unwrap();
        tx.set_multicast_ttl_v4(0).unwrap();
        tx.set_multicast_loop_v4(true).unwrap();
        assert_eq!(rustix::net::sockopt::ip_multicast_ttl(&tx).unwrap(), 0);
        assert!(rustix::net::sockopt::ip_multicast_loop(&tx).unwrap());
        if let Err(e) = tx.send_to(b"to the group", (group, port)).await {
            println!("skipped: sending to {group} on the loopback interface was refused: {e}");
            return;
        }
        let mut buf = [0u8; 32];
        let (n, from) = bounded("the multicast datagram", rx.recv_from(&mut buf))
            .await
            .unwrap();
        assert_eq!((&buf[..n], from), (&b"to the group"[..], tx_addr));

        rx.leave_multicast_v4(group, lo).unwrap();
        // Not a member any more: the group's datagram is dropped, so a unicast marker sent
        // after it is the next thing received.
        tx.send_to(b"after leaving", (group, port)).await.unwrap();
        tx.send_to(b"marker", (lo, port)).await.unwrap();
        let (n, _) = bounded("the marker", rx.recv_from(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"marker");
        // Leaving twice is the OS's error, not a panic.
        assert!(rx.leave_multicast_v4(group, lo).is_err());
    });
}

// tokio udp.rs (set/get ttl) and the multicast options: each reads back what was set.
#[test]
fn ttl_and_multicast_options_read_back() {
    run(async {
        let (s, _) = socket().await;
        s.set_ttl(42).unwrap();
        assert_eq!(s.ttl().unwrap(), 42);
        assert_eq!(rustix::net::sockopt::ip_ttl(&s).unwrap(), 42);
        s.set_multicast_ttl_v4(5).unwrap();
        assert_eq!(rustix::net::sockopt::ip_multicast_ttl(&s).unwrap(), 5);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!rustix::net::sockopt::ip_multicast_loop(&s).unwrap());
        assert!(s.take_error().unwrap().is_none());
        if has_ipv6() {
            let s6 = UdpSocket::bind("[::1]:0").await.unwrap();
            s6.set_multicast_loop_v6(false).unwrap();
            assert!(!rustix::net::sockopt::ipv6_multicast_loop(&s6).unwrap());
        }
    });
}

// tokio udp.rs (try_send_to / try_recv_from): non-blocking attempts say WouldBlock when there
// is nothing to receive.
#[test]
fn try_send_to_and_try_recv_from() {
    on_each_backend(|_| async {
        let (a, a_addr) = socket().await;
        let (b, b_addr) = socket().await;
        let mut buf = [0u8; 16];
        let e = b.try_recv_from(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(a.try_send_to(b"try", b_addr).unwrap(), 3);
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"try"[..], a_addr));
        let (n, from) = b.try_recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"try"[..], a_addr));
        let e = b.try_recv_from(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    });
}

// tokio udp.rs (recv_from cancel safety): a receive dropped while waiting takes nothing; the
// datagram goes to the next one.
#[test]
fn a_dropped_recv_loses_no_datagram() {
    on_each_backend(|_| async {
        let (a, _) = socket().await;
        let (b, b_addr) = socket().await;
        let mut buf = [0u8; 16];
        for round in 0..10u8 {
            {
                let mut recv = pin!(b.recv_from(&mut buf));
                assert!(poll_once(recv.as_mut()).await.is_none());
            }
            a.send_to(&[round], b_addr).await.unwrap();
            let (n, _) = bounded("the receive", b.recv_from(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], &[round]);
        }
    });
}

// tokio udp.rs (from_std / into_std) and AsFd.
#[test]
fn std_sockets_come_and_go() {
    on_each_backend(|_| async {
        let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = std_sock.local_addr().unwrap();
        let s = UdpSocket::from_std(std_sock).unwrap();
        assert_eq!(s.as_fd().as_raw_fd(), s.as_raw_fd());
        let (a, a_addr) = socket().await;
        a.send_to(b"to tulip", addr).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = s.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"to tulip"[..], a_addr));

        let std_sock = s.into_std().unwrap();
        // Still non-blocking.
        let e = std_sock.recv_from(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        std_sock.send_to(b"from std", a_addr).unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"from std"[..], addr));
        let back = UdpSocket::from_std(std_sock).unwrap();
        assert_eq!(back.local_addr().unwrap(), addr);
    });
}

// CPython test_base_events (create_datagram_endpoint on an address in use) and asyncio's
// reuse_port: a second bind is AddrInUse naming the address, unless both sockets ask for
// SO_REUSEPORT.
#[test]
fn binding_an_address_in_use_and_reuse_port() {
    run(async {
        let (_a, addr) = socket().await;
        let err = UdpSocket::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");

        let r1 = UdpSocket::bind_reuse("127.0.0.1:0", true).await.unwrap();
        let shared = r1.local_addr().unwrap();
        let r2 = UdpSocket::bind_reuse(shared, true).await.unwrap();
        assert_eq!(r2.local_addr().unwrap(), shared);
        assert!(rustix::net::sockopt::socket_reuseport(&r2).unwrap());
        let err = UdpSocket::bind(shared).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    });
}

// Names and IPv6: `send_to` resolves a host name; the IPv6 loopback works like IPv4.
#[test]
fn names_and_ipv6() {
    on_each_backend(|_| async {
        let (a, a_addr) = socket().await;
        let (b, b_addr) = socket().await;
        a.send_to(b"by name", ("localhost", b_addr.port()))
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"by name"[..], a_addr));
        let err = a.send_to(b"x", "no-port").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");

        if !has_ipv6() {
            println!("skipped the IPv6 half: no IPv6 loopback on this host");
            return;
        }
        let c = UdpSocket::bind("[::1]:0").await.unwrap();
        let d = UdpSocket::bind("[::1]:0").await.unwrap();
        let d_addr = d.local_addr().unwrap();
        assert!(d_addr.is_ipv6());
        c.send_to(b"v6", d_addr).await.unwrap();
        let (n, from) = d.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"v6"[..], c.local_addr().unwrap()));
    });
}

// tokio udp.rs (split / shared socket across tasks): one server socket echoing for clients in
// several tasks at once (on several workers under TULIP_WORKERS=2); each client keeps one
// datagram in flight, so none is dropped for lack of buffer.
#[test]
fn echo_for_clients_in_several_tasks() {
    const CLIENTS: u32 = 4;
    const ROUNDS: u32 = 50;
    on_each_backend(|_| async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let echo = tulip::spawn(async move {
            let mut buf = [0u8; 64];
            for _ in 0..CLIENTS * ROUNDS {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                tulip::spawn(async move {
                    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    s.connect(addr).await.unwrap();
                    let mut buf = [0u8; 64];
                    for r in 0..ROUNDS {
                        let msg = format!("{c}:{r}");
                        s.send(msg.as_bytes()).await.unwrap();
                        let n = s.recv(&mut buf).await.unwrap();
                        assert_eq!(&buf[..n], msg.as_bytes());
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        echo.await.unwrap();
    });
}
