//! UDP: [`UdpSocket`].

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
#[cfg(windows)]
use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket, RawSocket};
use std::task::{Context, Poll};

use tulip_reactor::Async;

use crate::addr::{resolve, ToSocketAddrs};
use crate::sys;

/// A UDP socket (asyncio's datagram endpoint socket; tokio's `UdpSocket`).
///
/// Datagrams up to 65 507 bytes (the IPv4 limit) go out whole; a receive buffer shorter than
/// the datagram truncates it, as with `recvfrom(2)`.
///
/// # Examples
///
/// ```
/// use tulip_net::UdpSocket;
///
/// tulip_runtime::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UdpSocket {
    io: Async<std::net::UdpSocket>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("fd", &sys::raw(&self.io))
            .finish()
    }
}

impl UdpSocket {
    /// Binds a UDP socket to `addr` (the first of its addresses that binds).
    ///
    /// # Errors
    ///
    /// Resolution errors, or the last bind error, naming the address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while a name resolves binds nothing.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        UdpSocket::bind_reuse(addr, false).await
    }

    /// Binds with `SO_REUSEADDR` (and `SO_REUSEPORT` when `reuse_port`): several sockets on
    /// one port, as multicast receivers need (asyncio's `reuse_port`). On Windows, which has
    /// no `SO_REUSEPORT`, `reuse_port` sets `SO_REUSEADDR` only (what shares a UDP port there).
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// # Cancel safety
    ///
    /// As [`bind`](Self::bind).
    pub async fn bind_reuse<A: ToSocketAddrs>(addr: A, reuse_port: bool) -> io::Result<UdpSocket> {
        let addrs = resolve(&addr).await?;
        let mut last = None;
        for a in &addrs {
            match UdpSocket::bind_one(a, reuse_port) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    fn bind_one(addr: &SocketAddr, reuse_port: bool) -> io::Result<UdpSocket> {
        let fd = sys::udp_socket(addr)?;
        if reuse_port {
            sys::set_reuse_port(&fd)?;
        }
        sys::bind(&fd, addr)?;
        Ok(UdpSocket {
            io: Async::new_nonblocking(std::net::UdpSocket::from(fd))?,
        })
    }

    /// Sets the default destination (the first address of `addr`) and only receives from it.
    ///
    /// # Errors
    ///
    /// Resolution errors, or the OS's `connect` error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the socket is only connected in the poll that completes.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let addrs = resolve(&addr).await?;
        let mut last = None;
        for a in &addrs {
            match self.io.get_ref().connect(a) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(sys::with_addr(e, "connect to", a)),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    /// Sends one datagram to `target`; returns the bytes sent (all of them).
    ///
    /// # Errors
    ///
    /// Resolution errors, or the OS's `sendto` error (`EMSGSIZE` above the path's limit).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the datagram is sent whole in the poll that completes, or not at all.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let to = resolve(&target).await?[0];
        self.io.write_with(|s| s.send_to(buf, to)).await
    }

    /// Poll form of [`send_to`](Self::send_to) with a resolved address.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_with(cx, |s| s.send_to(buf, target))
    }

    /// Receives one datagram and its sender.
    ///
    /// # Errors
    ///
    /// The OS's `recvfrom` error. On Windows, `ConnectionReset` (WSAECONNRESET) reports an
    /// ICMP port unreachable for a datagram this socket sent earlier, connected or not: the
    /// socket stays usable, receive again (tulip-protocol hands it to `error_received`, as
    /// asyncio does there).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is only taken in the poll that returns it.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|s| s.recv_from(buf)).await
    }

    /// Poll form of [`recv_from`](Self::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_read_with(cx, |s| s.recv_from(buf))
    }

    /// Reads the next datagram and its sender without taking it.
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|s| s.peek_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected`, or the OS's `send` error (`ConnectionRefused` after an ICMP
    /// port-unreachable from the peer).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_with(|s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The OS's `recv` error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|s| s.recv(buf)).await
    }

    /// Reads the next datagram from the connected peer without taking it.
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|s| s.peek(buf)).await
    }

    /// One non-blocking `sendto`.
    ///
    /// # Errors
    ///
    /// The OS's error, `WouldBlock` included.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.get_ref().send_to(buf, target)
    }

    /// One non-blocking `recvfrom`.
    ///
    /// # Errors
    ///
    /// The OS's error, `WouldBlock` included.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.get_ref().recv_from(buf)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` when not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// `SO_BROADCAST`: allow sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is on.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Joins an IPv4 multicast group on the interface with address `interface`
    /// (`UNSPECIFIED`: the system's choice).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface` (0: any).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(&group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(&group, interface)
    }

    /// Whether IPv4 multicast sent here loops back to local receivers.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// The time-to-live of IPv4 multicast sent here.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Whether IPv6 multicast sent here loops back to local receivers.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes (and clears) the pending error (an ICMP error for a connected socket, say).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Wraps a std socket (put in non-blocking mode here) in the current loop.
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Async::new(socket)?,
        })
    }

    /// The std socket (still non-blocking), removed from the loop.
    ///
    /// # Errors
    ///
    /// The OS refuses to deregister it.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_inner()
    }
}

#[cfg(unix)]
impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

#[cfg(unix)]
impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[cfg(windows)]
impl AsSocket for UdpSocket {
    fn as_socket(&self) -> BorrowedSocket<'_> {
        self.io.as_socket()
    }
}

#[cfg(windows)]
impl AsRawSocket for UdpSocket {
    fn as_raw_socket(&self) -> RawSocket {
        self.io.as_raw_socket()
    }
}
