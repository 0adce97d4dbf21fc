//! Socket calls on Windows through `socket2` (rustix has no Windows sockets): the same items
//! as the Unix module, for TCP and UDP.
//!
//! Sockets are created non-blocking and not inherited by child processes (`socket2` creates
//! them with `WSA_FLAG_NO_HANDLE_INHERIT`). Writes never raise a signal on Windows, so no
//! `MSG_NOSIGNAL` is needed.

use std::io;
use std::net::SocketAddr;
use std::os::windows::io::AsSocket;
use std::time::Duration;

use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};
use windows_sys::Win32::Networking::WinSock::{
    WSAEADDRNOTAVAIL, WSAEAFNOSUPPORT, WSAECONNRESET, WSAEINPROGRESS, WSAEMFILE, WSAENOBUFS,
    WSAEWOULDBLOCK,
};

use super::{with_addr, ListenConfig};

/// An owned socket as this module creates it.
pub(crate) type OwnedSock = Socket;

/// A new non-blocking socket of `addr`'s family.
fn socket(addr: &SocketAddr, ty: Type) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(*addr), ty, None)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// A new non-blocking TCP socket of `addr`'s family.
pub(crate) fn tcp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    socket(addr, Type::STREAM)
}

/// A new non-blocking UDP socket of `addr`'s family.
pub(crate) fn udp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    socket(addr, Type::DGRAM)
}

/// Binds `s` to `addr`; the error names the address.
pub(crate) fn bind(s: &Socket, addr: &SocketAddr) -> io::Result<()> {
    s.bind(&(*addr).into())
        .map_err(|e| with_addr(e, "bind to", addr))
}

/// Lets several datagram sockets share a port: Windows has no `SO_REUSEPORT`, and its
/// `SO_REUSEADDR` is what shares a UDP port there (multicast receivers).
pub(crate) fn set_reuse_port(s: &Socket) -> io::Result<()> {
    s.set_reuse_address(true)
}

fn no_reuse_port() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_REUSEPORT is not supported here: Windows has no such option",
    )
}

/// `TCP_NODELAY`.
pub(crate) fn set_nodelay(s: impl AsSocket, on: bool) -> io::Result<()> {
    SockRef::from(&s).set_tcp_nodelay(on)
}

/// A bound, listening TCP socket for `addr`.
///
/// `reuse_address` is not applied: on Windows `SO_REUSEADDR` lets another socket take over a
/// port in use, not just one in `TIME_WAIT` (asyncio does not set it there either).
pub(crate) fn tcp_listen(addr: &SocketAddr, cfg: &ListenConfig) -> io::Result<Socket> {
    if cfg.reuse_port {
        return Err(no_reuse_port());
    }
    let s = tcp_socket(addr)?;
    if addr.is_ipv6() {
        if let Some(only) = cfg.v6_only {
            s.set_only_v6(only)?;
        }
    }
    if cfg.nodelay {
        // Failing to set it is not worth failing the bind for.
        let _ = s.set_tcp_nodelay(true);
    }
    bind(&s, addr)?;
    s.listen(i32::try_from(cfg.backlog).unwrap_or(i32::MAX))?;
    Ok(s)
}

/// Accepts one connection from a listener: a non-blocking socket and the peer's address.
pub(crate) fn accept(listener: impl AsSocket) -> io::Result<(Socket, SocketAddr)> {
    let (s, peer) = SockRef::from(&listener).accept()?;
    s.set_nonblocking(true)?;
    let peer = peer
        .as_socket()
        .ok_or_else(|| io::Error::other("accepted a connection without address"))?;
    Ok((s, peer))
}

/// Starts a non-blocking connect. `Ok(true)`: connected at once; `Ok(false)`: in progress
/// (wait for writability, then call [`take_connect_error`]).
pub(crate) fn start_connect(s: &Socket, addr: &SocketAddr) -> io::Result<bool> {
    match s.connect(&(*addr).into()) {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(WSAEWOULDBLOCK) | Some(WSAEINPROGRESS)
            ) || e.kind() == io::ErrorKind::WouldBlock =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// The outcome of a finished non-blocking connect (`SO_ERROR`).
pub(crate) fn take_connect_error(s: impl AsSocket) -> io::Result<()> {
    match SockRef::from(&s).take_error()? {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// `SO_KEEPALIVE`, and with `Some(idle)` the idle time before the first probe.
pub(crate) fn set_keepalive(s: impl AsSocket, idle: Option<Duration>) -> io::Result<()> {
    let s = SockRef::from(&s);
    match idle {
        None => s.set_keepalive(false),
        Some(d) => {
            s.set_keepalive(true)?;
            s.set_tcp_keepalive(&TcpKeepalive::new().with_time(d.max(Duration::from_secs(1))))
        }
    }
}

/// Whether `SO_KEEPALIVE` is on.
pub(crate) fn keepalive(s: impl AsSocket) -> io::Result<bool> {
    SockRef::from(&s).keepalive()
}

/// Sets `SO_LINGER`.
pub(crate) fn set_linger(s: impl AsSocket, linger: Option<Duration>) -> io::Result<()> {
    SockRef::from(&s).set_linger(linger)
}

/// The `SO_LINGER` setting.
pub(crate) fn linger(s: impl AsSocket) -> io::Result<Option<Duration>> {
    SockRef::from(&s).linger()
}

/// Whether an `accept` error means "out of a resource; retry later".
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(WSAEMFILE) | Some(WSAENOBUFS))
}

/// Whether an `accept` error concerns only the connection being accepted (it was reset
/// before we took it), so accepting goes on.
pub(crate) fn is_aborted_accept(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionAborted) || e.raw_os_error() == Some(WSAECONNRESET)
}

/// Whether a bind failed because the machine has no such address or family (an IPv6
/// wildcard where IPv6 is off): a server binding several addresses skips it.
pub(crate) fn is_unavailable_address(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(WSAEADDRNOTAVAIL) | Some(WSAEAFNOSUPPORT)
    )
}
