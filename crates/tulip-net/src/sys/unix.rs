//! Socket system calls through rustix: creating sockets non-blocking and close-on-exec in one
//! call, binding, listening, non-blocking connects.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};

use super::{with_addr, ListenConfig};

/// An owned socket as this module creates it.
pub(crate) type OwnedSock = OwnedFd;

/// The flags every socket tulip creates carries: non-blocking, and not inherited by children.
pub(crate) fn sock_flags() -> SocketFlags {
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        SocketFlags::empty()
    }
    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    {
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC
    }
}

/// Where the platform cannot set the flags at creation, sets them now.
pub(crate) fn finish_flags(fd: &OwnedFd) -> io::Result<()> {
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        rustix::io::ioctl_fionbio(fd, true)?;
        rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC)?;
        rnet::sockopt::set_socket_nosigpipe(fd, true)?;
    }
    let _ = fd;
    Ok(())
}

/// The family of `addr`.
pub(crate) fn family_of(addr: &SocketAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    }
}

/// A new non-blocking, close-on-exec socket.
pub(crate) fn socket(family: AddressFamily, ty: SocketType) -> io::Result<OwnedFd> {
    let fd = rnet::socket_with(family, ty, sock_flags(), None)?;
    finish_flags(&fd)?;
    Ok(fd)
}

/// A new non-blocking TCP socket of `addr`'s family.
pub(crate) fn tcp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    socket(family_of(addr), SocketType::STREAM)
}

/// A new non-blocking UDP socket of `addr`'s family.
pub(crate) fn udp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    socket(family_of(addr), SocketType::DGRAM)
}

/// Binds `fd` to `addr`; the error names the address.
pub(crate) fn bind(fd: &OwnedFd, addr: &SocketAddr) -> io::Result<()> {
    rnet::bind(fd, addr).map_err(|e| with_addr(e.into(), "bind to", addr))
}

/// `SO_REUSEADDR`, and `SO_REUSEPORT` too (a datagram socket sharing its port).
pub(crate) fn set_reuse_port(fd: &OwnedFd) -> io::Result<()> {
    rnet::sockopt::set_socket_reuseaddr(fd, true)?;
    rnet::sockopt::set_socket_reuseport(fd, true)?;
    Ok(())
}

/// `TCP_NODELAY`.
pub(crate) fn set_nodelay(fd: impl AsFd, on: bool) -> io::Result<()> {
    Ok(rnet::sockopt::set_tcp_nodelay(fd, on)?)
}

/// Accepts one connection from a listener: a non-blocking, close-on-exec socket and the
/// peer's address.
pub(crate) fn accept(listener: impl AsFd) -> io::Result<(OwnedFd, SocketAddr)> {
    let (fd, peer) = rnet::acceptfrom_with(listener, sock_flags())?;
    finish_flags(&fd)?;
    let peer = peer
        .and_then(|p| SocketAddr::try_from(p).ok())
        .ok_or_else(|| io::Error::other("accepted a connection without address"))?;
    Ok((fd, peer))
}

/// `SO_KEEPALIVE`, and with `Some(idle)` the idle time before the first probe.
pub(crate) fn set_keepalive(fd: impl AsFd, idle: Option<Duration>) -> io::Result<()> {
    rnet::sockopt::set_socket_keepalive(&fd, idle.is_some())?;
    if let Some(d) = idle {
        rnet::sockopt::set_tcp_keepidle(&fd, d.max(Duration::from_secs(1)))?;
    }
    Ok(())
}

/// Whether `SO_KEEPALIVE` is on.
pub(crate) fn keepalive(fd: impl AsFd) -> io::Result<bool> {
    Ok(rnet::sockopt::socket_keepalive(fd)?)
}

/// Sets `SO_LINGER`.
pub(crate) fn set_linger(fd: impl AsFd, linger: Option<Duration>) -> io::Result<()> {
    Ok(rnet::sockopt::set_socket_linger(fd, linger)?)
}

/// The `SO_LINGER` setting.
pub(crate) fn linger(fd: impl AsFd) -> io::Result<Option<Duration>> {
    Ok(rnet::sockopt::socket_linger(fd)?)
}

/// A bound, listening TCP socket for `addr`.
pub(crate) fn tcp_listen(addr: &SocketAddr, cfg: &ListenConfig) -> io::Result<OwnedFd> {
    let fd = socket(family_of(addr), SocketType::STREAM)?;
    if cfg.reuse_address {
        rnet::sockopt::set_socket_reuseaddr(&fd, true)?;
    }
    if cfg.reuse_port {
        set_listen_reuse_port(&fd)?;
    }
    if addr.is_ipv6() {
        if let Some(only) = cfg.v6_only {
            rnet::sockopt::set_ipv6_v6only(&fd, only)?;
        }
    }
    if cfg.nodelay {
        // Failing to set it is not worth failing the bind for.
        let _ = rnet::sockopt::set_tcp_nodelay(&fd, true);
    }
    rnet::bind(&fd, addr).map_err(|e| with_addr(e.into(), "bind to", addr))?;
    let backlog = i32::try_from(cfg.backlog).unwrap_or(i32::MAX);
    rnet::listen(&fd, backlog)?;
    Ok(fd)
}

fn set_listen_reuse_port(fd: &OwnedFd) -> io::Result<()> {
    rnet::sockopt::set_socket_reuseport(fd, true).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("SO_REUSEPORT is not supported here: {e}"),
        )
    })
}

/// Starts a non-blocking connect. `Ok(true)`: connected at once; `Ok(false)`: in progress
/// (wait for writability, then call [`take_connect_error`]).
pub(crate) fn start_connect(fd: &OwnedFd, addr: &SocketAddr) -> io::Result<bool> {
    loop {
        match rnet::connect(fd, addr) {
            Ok(()) => return Ok(true),
            Err(rustix::io::Errno::INPROGRESS) | Err(rustix::io::Errno::AGAIN) => return Ok(false),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The outcome of a finished non-blocking connect (`SO_ERROR`).
pub(crate) fn take_connect_error(fd: impl AsFd) -> io::Result<()> {
    match rnet::sockopt::socket_error(&fd)? {
        Ok(()) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Whether an `accept` error means "out of a resource; retry later" (asyncio pauses the
/// listener for a second on these instead of spinning).
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

/// Whether an `accept` error concerns only the connection being accepted (it was reset
/// before we took it), so accepting goes on.
pub(crate) fn is_aborted_accept(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionAborted)
        || matches!(e.raw_os_error(), Some(libc::EPROTO) | Some(libc::EPERM))
}

/// Whether a bind failed because the machine has no such address or family (an IPv6
/// wildcard where IPv6 is off): a server binding several addresses skips it.
pub(crate) fn is_unavailable_address(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EADDRNOTAVAIL) | Some(libc::EAFNOSUPPORT)
    )
}
