//! Socket system calls: [`unix`] through rustix, [`windows`] through `socket2`. Both offer the
//! items the TCP and UDP types use under the same names (`tcp_socket`, `bind`, `accept`,
//! `start_connect`, the socket options, …); what only Unix has (Unix sockets, `socket` with
//! any family) stays in [`unix`].

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

use std::io;

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

/// Adds the address to an error message, keeping its kind.
pub(crate) fn with_addr(e: io::Error, what: &str, addr: &dyn std::fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("could not {what} {addr}: {e}"))
}

/// The raw handle of a registered socket (for `Debug` output).
#[cfg(unix)]
pub(crate) fn raw<T: std::os::fd::AsFd>(io: &tulip_reactor::Async<T>) -> std::os::fd::RawFd {
    std::os::fd::AsRawFd::as_raw_fd(io)
}

/// The raw handle of a registered socket (for `Debug` output).
#[cfg(windows)]
pub(crate) fn raw<T: std::os::windows::io::AsSocket>(
    io: &tulip_reactor::Async<T>,
) -> std::os::windows::io::RawSocket {
    std::os::windows::io::AsRawSocket::as_raw_socket(io)
}
