//! Socket system calls through rustix: creating sockets non-blocking and close-on-exec in one
//! call, binding, listening, non-blocking connects.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};

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

/// How a listening socket is set up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListenConfig {
    pub(crate) backlog: u32,
    pub(crate) reuse_address: bool,
    pub(crate) reuse_port: bool,
    /// `Some(false)`: dual-stack IPv6 (also accepts IPv4); `Some(true)`: IPv6 only; `None`:
    /// the system default.
    pub(crate) v6_only: Option<bool>,
    /// Set `TCP_NODELAY` on the listener (Linux copies it to every accepted socket).
    pub(crate) nodelay: bool,
}

/// A bound, listening TCP socket for `addr`.
pub(crate) fn tcp_listen(addr: &SocketAddr, cfg: &ListenConfig) -> io::Result<OwnedFd> {
    let fd = socket(family_of(addr), SocketType::STREAM)?;
    if cfg.reuse_address {
        rnet::sockopt::set_socket_reuseaddr(&fd, true)?;
    }
    if cfg.reuse_port {
        set_reuse_port(&fd)?;
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

#[cfg(unix)]
fn set_reuse_port(fd: &OwnedFd) -> io::Result<()> {
    rnet::sockopt::set_socket_reuseport(fd, true).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("SO_REUSEPORT is not supported here: {e}"),
        )
    })
}

/// Adds the address to an error message, keeping its kind.
pub(crate) fn with_addr(e: io::Error, what: &str, addr: &dyn std::fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("could not {what} {addr}: {e}"))
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
